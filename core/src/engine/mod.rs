//! The routing engine: saga, circuit breakers, fallback routing.
