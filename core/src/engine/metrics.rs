//! Engine metrics in the Prometheus text exposition format.
//!
//! Each router owns a plain [`Metrics`] (no atomics on the hot path); a
//! service with several routers merges them with [`Metrics::merge`] when it is
//! scraped. Gauges that belong to shared state (breakers, ledger, outbox) are
//! read at scrape time into [`Gauges`].

use super::breaker::BreakerState;
use super::decision::DecisionKind;
use std::fmt::Write as _;
use std::time::Duration;

/// Upper bounds of the `order_processing_duration_seconds` buckets: fine
/// below a millisecond, where an in-process router lives, and up to the
/// platform's 2 s P99 promise.
pub const DURATION_BUCKETS_S: [f64; 16] = [
    0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005,
    0.01, 0.025, 0.1, 0.5, 1.0, 2.0,
];

/// A cumulative-bucket histogram of durations.
///
/// ```
/// use std::time::Duration;
/// let mut h = uoom::engine::DurationHistogram::default();
/// h.record(Duration::from_micros(7));
/// h.record(Duration::from_secs(3));
/// assert_eq!(h.count(), 2);
/// assert_eq!(h.bucket_counts()[1], 1); // the 10 µs bucket holds the 7 µs sample
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DurationHistogram {
    counts: [u64; DURATION_BUCKETS_S.len()],
    count: u64,
    sum_s: f64,
}

impl DurationHistogram {
    /// Adds one observation.
    #[inline]
    pub fn record(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = DURATION_BUCKETS_S.iter().position(|&b| s <= b) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum_s += s;
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Non-cumulative count per bucket of [`DURATION_BUCKETS_S`] (values above
    /// the last bound are only in the total count).
    pub fn bucket_counts(&self) -> &[u64] {
        &self.counts
    }

    fn merge(&mut self, other: &DurationHistogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum_s += other.sum_s;
    }
}

/// Counters one router keeps while it routes.
///
/// ```
/// use uoom::engine::{DecisionKind, Gauges, Metrics};
/// let mut m = Metrics::default();
/// m.record_decision(DecisionKind::Realtime);
/// m.record_duration(std::time::Duration::from_micros(12));
/// let text = m.render(&Gauges::default());
/// assert!(text.contains("uoom_routing_decisions_total{kind=\"realtime\"} 1"));
/// assert!(text.contains("uoom_order_processing_duration_seconds_count 1"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Submit-to-outcome duration per order.
    pub duration: DurationHistogram,
    /// Decisions by how they were made, indexed by [`DecisionKind::index`].
    pub decisions: [u64; DecisionKind::ALL.len()],
    /// Orders confirmed on a channel.
    pub routed: u64,
    /// Orders that ended `FAILED` (no channel could take them).
    pub unrouted: u64,
    /// Compensating actions run (booking cancelled, reservation released).
    pub compensations: u64,
    /// Breaker openings.
    pub breaker_trips: u64,
    /// Booking attempts that failed, timed out or were refused.
    pub booking_failures: u64,
}

/// Point-in-time values read from shared state when metrics are scraped.
///
/// ```
/// let g = uoom::engine::Gauges { utilisation: 0.5, ..Default::default() };
/// assert_eq!(g.outbox_depth, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    /// Channels per breaker state, indexed like [`BreakerState::ALL`].
    pub breaker_states: [u64; 3],
    /// Committed plus pending over capacity, in [0, 1].
    pub utilisation: f64,
    /// Events in the outbox not yet relayed.
    pub outbox_depth: u64,
}

impl Metrics {
    /// Counts one decision.
    #[inline]
    pub fn record_decision(&mut self, kind: DecisionKind) {
        self.decisions[kind.index()] += 1;
    }

    /// Records one order's processing time.
    #[inline]
    pub fn record_duration(&mut self, d: Duration) {
        self.duration.record(d);
    }

    /// Adds another router's counters into this one.
    pub fn merge(&mut self, other: &Metrics) {
        self.duration.merge(&other.duration);
        for (a, b) in self.decisions.iter_mut().zip(other.decisions) {
            *a += b;
        }
        self.routed += other.routed;
        self.unrouted += other.unrouted;
        self.compensations += other.compensations;
        self.breaker_trips += other.breaker_trips;
        self.booking_failures += other.booking_failures;
    }

    /// The Prometheus text exposition of these counters and `gauges`.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::with_capacity(2048);
        let name = "uoom_order_processing_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Wall time from submit to outcome per order.\n# TYPE {name} histogram"
        );
        let mut cumulative = 0;
        for (bound, n) in DURATION_BUCKETS_S.iter().zip(self.duration.counts) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.duration.count);
        let _ = writeln!(out, "{name}_sum {}", self.duration.sum_s);
        let _ = writeln!(out, "{name}_count {}", self.duration.count);

        let name = "uoom_routing_decisions_total";
        let _ = writeln!(
            out,
            "# HELP {name} Routing decisions by how they were made.\n# TYPE {name} counter"
        );
        for kind in DecisionKind::ALL {
            let n = self.decisions[kind.index()];
            let _ = writeln!(out, "{name}{{kind=\"{}\"}} {n}", kind.as_str());
        }
        let counters = [
            (
                "uoom_orders_routed_total",
                "Orders confirmed on a channel.",
                self.routed,
            ),
            (
                "uoom_orders_unrouted_total",
                "Orders that failed to route.",
                self.unrouted,
            ),
            (
                "uoom_compensations_total",
                "Compensating actions run.",
                self.compensations,
            ),
            (
                "uoom_breaker_trips_total",
                "Circuit breaker openings.",
                self.breaker_trips,
            ),
            (
                "uoom_booking_failures_total",
                "Partner bookings that failed or timed out.",
                self.booking_failures,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        }

        let name = "uoom_breaker_state";
        let _ = writeln!(
            out,
            "# HELP {name} Channels per circuit breaker state.\n# TYPE {name} gauge"
        );
        for (state, n) in BreakerState::ALL.iter().zip(gauges.breaker_states) {
            let _ = writeln!(out, "{name}{{state=\"{}\"}} {n}", state.as_str());
        }
        let gauges = [
            (
                "uoom_capacity_utilisation_ratio",
                "Committed plus pending units over capacity.",
                gauges.utilisation,
            ),
            (
                "uoom_outbox_depth",
                "Events waiting in the outbox.",
                gauges.outbox_depth as f64,
            ),
        ];
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_inf_counts_everything() {
        let mut m = Metrics::default();
        m.record_duration(Duration::from_micros(3));
        m.record_duration(Duration::from_micros(30));
        m.record_duration(Duration::from_secs(10));
        let text = m.render(&Gauges::default());
        assert!(text.contains("_bucket{le=\"0.000005\"} 1\n"), "{text}");
        assert!(text.contains("_bucket{le=\"0.00005\"} 2\n"), "{text}");
        assert!(text.contains("_bucket{le=\"2\"} 2\n"), "{text}");
        assert!(text.contains("_bucket{le=\"+Inf\"} 3\n"), "{text}");
    }

    #[test]
    fn merge_adds_counters_and_gauges_render() {
        let mut a = Metrics::default();
        a.record_decision(DecisionKind::Fallback);
        a.compensations = 2;
        let mut b = a.clone();
        b.record_duration(Duration::from_micros(1));
        a.merge(&b);
        assert_eq!(a.decisions[DecisionKind::Fallback.index()], 2);
        assert_eq!(a.compensations, 4);
        assert_eq!(a.duration.count(), 1);
        let g = Gauges {
            breaker_states: [3, 1, 0],
            utilisation: 0.25,
            outbox_depth: 7,
        };
        let text = a.render(&g);
        assert!(text.contains("uoom_breaker_state{state=\"open\"} 1"));
        assert!(text.contains("uoom_capacity_utilisation_ratio 0.25"));
        assert!(text.contains("uoom_outbox_depth 7"));
    }
}
