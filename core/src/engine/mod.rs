//! The routing engine: the router and its saga, circuit breakers, fallback
//! routing, batching, ports with in-memory defaults, simulated partners and
//! metrics.
//!
//! See `docs/engine.md` for the flow of one order through the router.

pub mod async_ports;
mod batch;
pub mod breaker;
pub mod decision;
pub mod fallback;
pub mod gateway_sim;
pub mod host;
pub mod idgen;
pub mod memory;
pub mod metrics;
pub mod needs;
pub mod ports;
pub mod router;
mod saga;
#[cfg(feature = "sim")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim")))]
pub mod sim;
pub mod step;
mod turns;

pub use async_ports::{AsyncOutbox, AsyncStatusReadModel, AsyncWriteModel, ReadyStore};
pub use breaker::{Breaker, BreakerConfig, BreakerState, Transition};
pub use decision::{DecisionKind, Outcome};
pub use fallback::RoundRobin;
pub use gateway_sim::{GatewayStats, Outage, PartnerProfile, SimGateway};
#[cfg(feature = "tokio")]
pub use host::TokioRuntime;
pub use host::{AsyncGateway, AsyncRouter, BoxFuture, Runtime};
pub use idgen::IdGen;
pub use memory::{MemoryReadModel, MemoryStore};
pub use metrics::{DURATION_BUCKETS_S, DurationHistogram, Gauges, Metrics};
pub use needs::DEFAULT_DEADLINE_MIN;
pub use ports::{
    BookingRef, CapacityPlacement, ChannelGateway, GatewayError, Outbox, OutboxEntry,
    OwnedUnitOfWork, StatusReadModel, StatusView, UnitOfWork, WriteModel,
};
pub use router::{IntakeWrite, Router, RouterBuilder, RouterConfig};
#[cfg(feature = "sim")]
pub use sim::{CITIES, City, CityPlan, Scenario, ScenarioConfig, SimOrder};
pub use step::{
    Action, Advance, BookingAnswer, BookingCall, CancelCall, LookupCall, Next, SaveCall, Step,
    Ticket, Turn,
};
