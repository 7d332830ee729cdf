//! Domain events.
