//! The routing engine: saga, circuit breakers, fallback routing.
//!
//! See `docs/engine.md` for the flow of one order through the router.

pub mod breaker;
pub mod decision;
pub mod fallback;
pub mod metrics;
pub mod needs;

pub use breaker::{Breaker, BreakerConfig, BreakerState, Transition};
pub use decision::DecisionKind;
pub use fallback::RoundRobin;
pub use metrics::{DURATION_BUCKETS_S, DurationHistogram, Gauges, Metrics};
pub use needs::{DEFAULT_DEADLINE_MIN, RouteNeeds};
