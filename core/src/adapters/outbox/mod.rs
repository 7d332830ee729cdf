//! The outbox relay: claims pending events, publishes them keyed by their
//! aggregate, records the outcome, retries a failure after 1 s → 2 s → 4 s and
//! then parks it in the dead-letter queue.
//!
//! The relay is storage- and broker-neutral: it drives an [`OutboxStore`]
//! (PostgreSQL's is `adapters::postgres::PgOutboxStore`) and a [`Publisher`]
//! (Kafka's is `adapters::kafka::KafkaPublisher`). Backoff decisions read the
//! injected [`crate::Clock`], so tests check the schedule with a manual clock.
//!
//! Ordering: each aggregate's claimed run is published one event at a time
//! (the next only after the broker acknowledged the previous), all aggregates
//! of a batch in parallel rounds; a failure stops its aggregate's run, so a
//! poison event holds back only its own aggregate.

mod metrics;
mod relay;

pub use metrics::{RelayMetrics, RelayMetricsSnapshot};
pub use relay::{BatchReport, Relay, RelayConfig, RelayHandle};

use crate::adapters::EventRecord;
use crate::{EventId, Millis, Result};
use std::time::Duration;

/// An event a relay holds a lease on.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedEvent {
    /// The event.
    pub record: EventRecord,
    /// Its outbox position (per-aggregate order).
    pub seq: i64,
    /// Failed attempts before this claim.
    pub attempts: u32,
    /// When the event was stored (wall clock of the store): the start of
    /// the delivery lag the relay's metrics measure.
    pub stored_at: Millis,
}

/// Where the relay finds events and records what became of them. Every
/// `mark_*` only touches events `relay` still holds (its lease may have run out
/// and another relay taken over).
pub trait OutboxStore: Send + Sync {
    /// Leases up to `max` due events (heads of aggregates and their followers,
    /// in `seq` order) to `relay` until `now + lease`.
    fn claim(
        &self,
        relay: &str,
        max: usize,
        lease: Duration,
        now: Millis,
    ) -> Result<Vec<ClaimedEvent>>;
    /// Records events as delivered.
    fn mark_published(&self, relay: &str, ids: &[EventId]) -> Result<()>;
    /// Records a failed attempt; the event is due again at `next_attempt_at`.
    fn mark_retry(
        &self,
        relay: &str,
        id: EventId,
        error: &str,
        next_attempt_at: Millis,
    ) -> Result<()>;
    /// Parks an event (its dead-letter record is written).
    fn mark_dead(&self, relay: &str, id: EventId, error: &str) -> Result<()>;
    /// Gives back leases on events not attempted.
    fn release(&self, relay: &str, ids: &[EventId]) -> Result<()>;
    /// Blocks until new events may be waiting or `timeout` passes; true when
    /// woken by a notification. The default just sleeps (polling).
    fn wait_for_events(&self, timeout: Duration) -> bool {
        std::thread::sleep(timeout);
        false
    }
}

/// Sends events to the broker.
pub trait Publisher: Send + Sync {
    /// Publishes `events` (at most one per aggregate) concurrently; one
    /// result per event, in order. `Ok` means the broker acknowledged it.
    fn publish(&self, events: &[&EventRecord]) -> Vec<std::result::Result<(), String>>;
    /// Writes an event that exhausted its retries to the dead-letter queue.
    fn publish_dead_letter(
        &self,
        event: &EventRecord,
        error: &str,
        attempts: u32,
    ) -> std::result::Result<(), String>;
}
