//! Multi-criteria channel ranking: filtered, weighted top-k with explanations.
