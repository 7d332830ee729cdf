//! The outbox relay: claims pending events, publishes them keyed by their
//! aggregate, records the outcome, retries a failure after 1 s → 2 s → 4 s and
//! then parks it in the dead-letter queue.
//!
//! The relay is storage- and broker-neutral: it drives an [`OutboxStore`]
//! (PostgreSQL's is `adapters::postgres::PgOutboxStore`) and a [`Publisher`]
//! (Kafka's is `adapters::kafka::KafkaPublisher`). Backoff decisions read the
//! injected [`crate::Clock`], so tests check the schedule with a manual clock.
//!
//! Ordering: a claim gives a relay whole aggregates (PostgreSQL: whole
//! partitions, locked for the batch). Each aggregate's run is published one
//! event at a time (the next only after the broker acknowledged the
//! previous), all aggregates of a batch in parallel rounds; a failure stops
//! its aggregate's run, and an aggregate whose oldest pending event waits for
//! its retry is skipped whole, so a poison event holds back only its own
//! aggregate.

mod metrics;
mod relay;

pub use metrics::{RelayMetrics, RelayMetricsSnapshot};
pub use relay::{BatchReport, Relay, RelayConfig, RelayHandle};

use crate::adapters::EventRecord;
use crate::{EventId, Millis, Result};
use std::time::Duration;

/// A pending event handed to a relay by [`OutboxStore::claim`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedEvent {
    /// The event.
    pub record: EventRecord,
    /// Its outbox position (per-aggregate order).
    pub seq: i64,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it may be attempted (again): its retry time after a failure.
    /// An event not yet due holds back the rest of its aggregate.
    pub due_at: Millis,
    /// When the event was stored (wall clock of the store): the start of
    /// the delivery lag the relay's metrics measure.
    pub stored_at: Millis,
}

/// What became of a claim's events, recorded by [`OutboxStore::complete`].
///
/// ```
/// use uoom::adapters::outbox::BatchOutcome;
/// use uoom::{EventId, Millis};
/// let mut o = BatchOutcome::default();
/// o.published.push(EventId::from_u128(1));
/// o.retries.push((EventId::from_u128(2), "broker down".into(), Millis(1_000)));
/// assert!(o.dead.is_empty() && !o.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchOutcome {
    /// Acknowledged by the broker.
    pub published: Vec<EventId>,
    /// Failed attempts: the error and when the event is due again.
    pub retries: Vec<(EventId, String, Millis)>,
    /// Out of retries and written to the dead-letter queue: the last error.
    pub dead: Vec<(EventId, String)>,
}

impl BatchOutcome {
    /// Nothing to record.
    pub fn is_empty(&self) -> bool {
        self.published.is_empty() && self.retries.is_empty() && self.dead.is_empty()
    }
}

/// Where the relay finds events and records what became of them.
///
/// A claim gives its holder exclusive use of a share of the outbox (a set
/// of whole aggregates) until [`OutboxStore::complete`] or until the claim
/// is dropped, which records nothing: the events are claimed again later
/// (at least once). Two claims never share an aggregate.
pub trait OutboxStore: Send + Sync {
    /// The store's hold on a claimed share (a transaction, a lock).
    type Claim: Send;
    /// How many shares the outbox is split into (1 when it is not).
    fn partitions(&self) -> usize {
        1
    }
    /// Takes up to `partitions` free shares and returns their oldest pending
    /// events, at most `max` in all, in `seq` order — due or not (see
    /// [`ClaimedEvent::due_at`]); `now` is the relay's clock.
    fn claim(
        &self,
        max: usize,
        partitions: usize,
        now: Millis,
    ) -> Result<(Self::Claim, Vec<ClaimedEvent>)>;
    /// Records `outcome` and gives the claim's shares back, atomically.
    fn complete(&self, claim: Self::Claim, outcome: &BatchOutcome) -> Result<()>;
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
    /// result per event, in order. `Ok` means the broker acknowledged it; a
    /// failure is an [`Error`](crate::Error) (usually [`Error::Io`](crate::Error::Io)
    /// with the broker client's error as its source), which the relay
    /// records with its whole [`chain`](crate::Error::chain).
    fn publish(&self, events: &[&EventRecord]) -> Vec<Result<()>>;
    /// Writes an event that exhausted its retries to the dead-letter queue;
    /// `error` is the last failure's message.
    fn publish_dead_letter(&self, event: &EventRecord, error: &str, attempts: u32) -> Result<()>;
}
