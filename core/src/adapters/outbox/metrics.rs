//! Counters a relay keeps, read without locking.

use std::sync::atomic::{AtomicU64, Ordering};

/// The relay's running totals.
///
/// Delivery lag is the wall time from an event's storing (its outbox row's
/// `created_at`) to the broker's acknowledgement, counted in buckets so that "99.9 % within 5 s" can be
/// checked from a snapshot.
///
/// ```
/// let m = uoom::adapters::outbox::RelayMetrics::default();
/// m.record_lag(120);
/// m.record_lag(6_000);
/// let s = m.snapshot();
/// assert_eq!(s.published, 2);
/// assert_eq!(s.lag_le_1s, 1);
/// assert_eq!(s.lag_over_5s, 1);
/// assert_eq!(s.max_lag_ms, 6_000);
/// ```
#[derive(Debug, Default)]
pub struct RelayMetrics {
    batches: AtomicU64,
    claimed: AtomicU64,
    published: AtomicU64,
    retries: AtomicU64,
    dead_letters: AtomicU64,
    errors: AtomicU64,
    lag_le_100ms: AtomicU64,
    lag_le_1s: AtomicU64,
    lag_le_5s: AtomicU64,
    lag_over_5s: AtomicU64,
    max_lag_ms: AtomicU64,
}

/// A copy of [`RelayMetrics`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct RelayMetricsSnapshot {
    /// Claims that returned events.
    pub batches: u64,
    /// Events claimed (a redelivery counts again).
    pub claimed: u64,
    /// Events the broker acknowledged.
    pub published: u64,
    /// Failed attempts scheduled for a retry.
    pub retries: u64,
    /// Events parked in the dead-letter queue.
    pub dead_letters: u64,
    /// Store errors (claim or bookkeeping failed).
    pub errors: u64,
    /// Delivered within 100 ms of occurring.
    pub lag_le_100ms: u64,
    /// Delivered within (100 ms, 1 s].
    pub lag_le_1s: u64,
    /// Delivered within (1 s, 5 s].
    pub lag_le_5s: u64,
    /// Delivered later than 5 s.
    pub lag_over_5s: u64,
    /// The longest delivery lag seen.
    pub max_lag_ms: u64,
}

impl RelayMetrics {
    pub(crate) fn add_batch(&self, claimed: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.claimed.fetch_add(claimed as u64, Ordering::Relaxed);
    }

    pub(crate) fn add_retries(&self, n: u64) {
        self.retries.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_dead_letters(&self, n: u64) {
        self.dead_letters.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one delivered event that took `lag_ms` from occurring to the broker.
    pub fn record_lag(&self, lag_ms: u64) {
        self.published.fetch_add(1, Ordering::Relaxed);
        let bucket = match lag_ms {
            0..=100 => &self.lag_le_100ms,
            101..=1_000 => &self.lag_le_1s,
            1_001..=5_000 => &self.lag_le_5s,
            _ => &self.lag_over_5s,
        };
        bucket.fetch_add(1, Ordering::Relaxed);
        self.max_lag_ms.fetch_max(lag_ms, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> RelayMetricsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RelayMetricsSnapshot {
            batches: g(&self.batches),
            claimed: g(&self.claimed),
            published: g(&self.published),
            retries: g(&self.retries),
            dead_letters: g(&self.dead_letters),
            errors: g(&self.errors),
            lag_le_100ms: g(&self.lag_le_100ms),
            lag_le_1s: g(&self.lag_le_1s),
            lag_le_5s: g(&self.lag_le_5s),
            lag_over_5s: g(&self.lag_over_5s),
            max_lag_ms: g(&self.max_lag_ms),
        }
    }
}
