//! Circuit breakers, one per channel, driven by the injected clock.
//!
//! A partner that keeps failing is taken out of ranking for a while instead of
//! being asked again for every order: after `failure_threshold` consecutive
//! failures the breaker opens; after `open_ms` one probe booking is let through
//! (half-open); its success closes the breaker, its failure opens it again.

use crate::Millis;
use serde::Serialize;

/// Thresholds of a [`Breaker`].
///
/// ```
/// let c = uoom::engine::BreakerConfig::default();
/// assert_eq!((c.failure_threshold, c.open_ms), (5, 30_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker (at least 1).
    pub failure_threshold: u32,
    /// How long an open breaker refuses traffic before one probe, in ms.
    pub open_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_ms: 30_000,
        }
    }
}

/// Where a breaker stands.
///
/// ```
/// assert_eq!(uoom::engine::BreakerState::HalfOpen.as_str(), "half_open");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Traffic flows.
    Closed,
    /// Traffic is refused until the open period is over.
    Open,
    /// One probe is allowed; its outcome decides.
    HalfOpen,
}

impl BreakerState {
    /// All states, in declaration order (for metrics).
    pub const ALL: [BreakerState; 3] = [
        BreakerState::Closed,
        BreakerState::Open,
        BreakerState::HalfOpen,
    ];

    /// The snake_case name used in metrics and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// A change of breaker state, reported so the router can update ranking
/// eligibility and metrics exactly when it happens.
///
/// ```
/// use uoom::engine::{Breaker, BreakerConfig, BreakerState};
/// let mut b = Breaker::new(BreakerConfig { failure_threshold: 1, open_ms: 10 });
/// let t = b.record_failure(uoom::Millis(0)).unwrap();
/// assert_eq!((t.from, t.to), (BreakerState::Closed, BreakerState::Open));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: BreakerState,
    /// State after.
    pub to: BreakerState,
}

/// One channel's breaker.
///
/// ```
/// use uoom::engine::{Breaker, BreakerConfig, BreakerState};
/// use uoom::Millis;
/// let mut b = Breaker::new(BreakerConfig { failure_threshold: 2, open_ms: 1_000 });
/// b.record_failure(Millis(0));
/// b.record_failure(Millis(1));
/// assert!(!b.is_eligible(Millis(500)));
/// assert!(b.is_eligible(Millis(1_001)));
/// assert!(b.try_acquire(Millis(1_001)));        // the half-open probe
/// assert_eq!(b.state(), BreakerState::HalfOpen);
/// assert!(!b.try_acquire(Millis(1_002)));       // only one probe at a time
/// b.record_success();
/// assert_eq!(b.state(), BreakerState::Closed);
/// ```
#[derive(Debug, Clone)]
pub struct Breaker {
    config: BreakerConfig,
    state: BreakerState,
    consecutive_failures: u32,
    opened_at: Millis,
    probe_in_flight: bool,
    trips: u64,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config: BreakerConfig {
                failure_threshold: config.failure_threshold.max(1),
                ..config
            },
            state: BreakerState::Closed,
            consecutive_failures: 0,
            opened_at: Millis(0),
            probe_in_flight: false,
            trips: 0,
        }
    }

    /// The current state (an open breaker whose period is over still reads
    /// `Open` until a booking asks for it through [`Breaker::try_acquire`]).
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// How many times this breaker has opened.
    pub fn trips(&self) -> u64 {
        self.trips
    }

    /// True if a booking could be let through at `now`: what ranking uses to
    /// filter channels, without changing anything.
    pub fn is_eligible(&self, now: Millis) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::Open => now.since(self.opened_at) >= self.config.open_ms,
            BreakerState::HalfOpen => !self.probe_in_flight,
        }
    }

    /// Asks to send one booking at `now`; true if it may go. Moves an open
    /// breaker whose period is over to half-open and counts the probe.
    pub fn try_acquire(&mut self, now: Millis) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::Open => {
                if now.since(self.opened_at) >= self.config.open_ms {
                    self.state = BreakerState::HalfOpen;
                    self.probe_in_flight = true;
                    true
                } else {
                    false
                }
            }
            BreakerState::HalfOpen => {
                if self.probe_in_flight {
                    false
                } else {
                    self.probe_in_flight = true;
                    true
                }
            }
        }
    }

    /// Records a successful booking; closes a half-open breaker.
    pub fn record_success(&mut self) -> Option<Transition> {
        self.consecutive_failures = 0;
        self.probe_in_flight = false;
        self.set(BreakerState::Closed)
    }

    /// Records a failed (or timed-out) booking at `now`; opens the breaker on
    /// the threshold, or at once when the half-open probe fails.
    pub fn record_failure(&mut self, now: Millis) -> Option<Transition> {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.probe_in_flight = false;
        let open = self.state == BreakerState::HalfOpen
            || self.consecutive_failures >= self.config.failure_threshold;
        if open && self.state != BreakerState::Open {
            self.opened_at = now;
            self.trips += 1;
            self.set(BreakerState::Open)
        } else {
            None
        }
    }

    fn set(&mut self, to: BreakerState) -> Option<Transition> {
        let from = self.state;
        self.state = to;
        (from != to).then_some(Transition { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig::default()
    }

    #[test]
    fn opens_after_threshold_consecutive_failures_only() {
        let mut b = Breaker::new(cfg());
        for i in 0..4 {
            assert_eq!(b.record_failure(Millis(i)), None);
        }
        b.record_success();
        for i in 0..4 {
            assert_eq!(b.record_failure(Millis(i)), None, "success reset the count");
        }
        let t = b.record_failure(Millis(10)).expect("fifth failure opens");
        assert_eq!(t.to, BreakerState::Open);
        assert_eq!(b.trips(), 1);
        assert!(!b.try_acquire(Millis(10 + 29_999)));
    }

    #[test]
    fn half_open_probe_failure_reopens_with_a_fresh_period() {
        let mut b = Breaker::new(cfg());
        for _ in 0..5 {
            b.record_failure(Millis(0));
        }
        assert!(b.try_acquire(Millis(30_000)));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let t = b.record_failure(Millis(30_001)).unwrap();
        assert_eq!((t.from, t.to), (BreakerState::HalfOpen, BreakerState::Open));
        assert_eq!(b.trips(), 2);
        assert!(!b.is_eligible(Millis(59_999)));
        assert!(b.is_eligible(Millis(60_001)));
    }

    #[test]
    fn zero_threshold_is_treated_as_one() {
        let mut b = Breaker::new(BreakerConfig {
            failure_threshold: 0,
            open_ms: 5,
        });
        assert!(b.is_eligible(Millis(0)));
        assert!(b.record_failure(Millis(0)).is_some());
    }
}
