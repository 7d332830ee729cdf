//! Simulated partners: a [`ChannelGateway`] with configurable latency,
//! failure rates and outages — a test double for the partner APIs a real
//! deployment books through, for demos and deterministic tests.
//!
//! In production, implement [`ChannelGateway`] over your partners' APIs and
//! hand that to [`Router::builder`](super::Router::builder); use
//! [`SimGateway`] where those APIs are not wanted: unit and integration tests
//! of code that drives a [`Router`](super::Router), local runs, demos. Its
//! profiles, outages and [`with_tracking`](SimGateway::with_tracking) let a
//! test script failures, timeouts and outages, and check what was booked and
//! cancelled.
//!
//! Latency is virtual: a booking draws how long the partner *would* take and
//! compares it with the timeout, but nothing sleeps and the clock is not
//! moved, so a flat-out simulation measures the engine, not the partners.
//! Draws are a pure function of (seed, order, channel), so a run replays
//! exactly whatever the thread interleaving.

use super::ports::{BookingRef, ChannelGateway, GatewayError};
use crate::{Channel, ChannelId, ChannelKind, Clock, Millis, Order, OrderId};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How one partner behaves.
///
/// ```
/// let p = uoom::engine::PartnerProfile::reliable();
/// assert_eq!(p.failure_rate, 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartnerProfile {
    /// Typical booking latency in ms.
    pub latency_ms: u64,
    /// Share of bookings that are slow, in [0, 1].
    pub slow_share: f64,
    /// Latency of a slow booking in ms (above the timeout, it times out).
    pub slow_latency_ms: u64,
    /// Share of bookings the partner refuses or fails, in [0, 1].
    pub failure_rate: f64,
}

impl PartnerProfile {
    /// An own kitchen or dark store: fast, never fails.
    pub fn reliable() -> Self {
        Self {
            latency_ms: 5,
            slow_share: 0.0,
            slow_latency_ms: 5,
            failure_rate: 0.0,
        }
    }

    /// A typical external partner API: 120 ms, 1 % slow (3 s), 2 % failures.
    pub fn external() -> Self {
        Self {
            latency_ms: 120,
            slow_share: 0.01,
            slow_latency_ms: 3_000,
            failure_rate: 0.02,
        }
    }
}

/// A window during which a channel's partner fails every booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    /// The channel that is down.
    pub channel: ChannelId,
    /// First instant of the outage.
    pub from: Millis,
    /// First instant after it.
    pub until: Millis,
}

/// Counters of what the simulated partners saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GatewayStats {
    /// Bookings made.
    pub booked: u64,
    /// Bookings refused or failed (outages included).
    pub failed: u64,
    /// Bookings that timed out.
    pub timed_out: u64,
    /// Cancellations received.
    pub cancelled: u64,
}

/// Simulated partners behind one gateway: the test double of a
/// [`ChannelGateway`] (see the [module docs](self)).
///
/// ```
/// use std::sync::Arc;
/// use uoom::engine::{PartnerProfile, SimGateway};
/// use uoom::{ChannelKind, ManualClock, Millis};
/// let clock = Arc::new(ManualClock::new(Millis(0)));
/// let gw = SimGateway::new(clock, 42)
///     .with_kind_profile(ChannelKind::ExternalPartner, PartnerProfile::external())
///     .with_outage("c7", Millis(1_000), Millis(5_000))
///     .with_tracking();
/// assert_eq!(gw.stats().booked, 0);
/// ```
pub struct SimGateway {
    clock: Arc<dyn Clock>,
    seed: u64,
    default: PartnerProfile,
    by_kind: HashMap<ChannelKind, PartnerProfile>,
    by_channel: HashMap<ChannelId, PartnerProfile>,
    outages: Vec<Outage>,
    next_ref: AtomicU64,
    booked: AtomicU64,
    failed: AtomicU64,
    timed_out: AtomicU64,
    cancelled: AtomicU64,
    live: Option<Mutex<HashSet<(OrderId, ChannelId)>>>,
}

impl std::fmt::Debug for SimGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimGateway")
            .field("seed", &self.seed)
            .field("outages", &self.outages.len())
            .field("stats", &self.stats())
            .finish()
    }
}

impl SimGateway {
    /// Reliable partners everywhere, draws seeded by `seed`.
    pub fn new(clock: Arc<dyn Clock>, seed: u64) -> Self {
        Self {
            clock,
            seed,
            default: PartnerProfile::reliable(),
            by_kind: HashMap::new(),
            by_channel: HashMap::new(),
            outages: Vec::new(),
            next_ref: AtomicU64::new(0),
            booked: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            live: None,
        }
    }

    /// The profile of every channel of `kind` without a channel profile.
    pub fn with_kind_profile(mut self, kind: ChannelKind, p: PartnerProfile) -> Self {
        self.by_kind.insert(kind, p);
        self
    }

    /// The profile of one channel.
    pub fn with_channel_profile(
        mut self,
        channel: impl Into<ChannelId>,
        p: PartnerProfile,
    ) -> Self {
        self.by_channel.insert(channel.into(), p);
        self
    }

    /// An outage of `channel` over `[from, until)`.
    pub fn with_outage(
        mut self,
        channel: impl Into<ChannelId>,
        from: Millis,
        until: Millis,
    ) -> Self {
        self.outages.push(Outage {
            channel: channel.into(),
            from,
            until,
        });
        self
    }

    /// Keeps the set of live bookings (booked or timed out, not cancelled),
    /// so tests can check that every confirmed order holds exactly one.
    pub fn with_tracking(mut self) -> Self {
        self.live = Some(Mutex::new(HashSet::new()));
        self
    }

    /// Counters so far.
    pub fn stats(&self) -> GatewayStats {
        GatewayStats {
            booked: self.booked.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            timed_out: self.timed_out.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
        }
    }

    /// The live bookings, if tracking is on.
    pub fn live_bookings(&self) -> Option<HashSet<(OrderId, ChannelId)>> {
        self.live.as_ref().map(|l| l.lock().clone())
    }

    fn profile(&self, channel: &Channel) -> PartnerProfile {
        if let Some(p) = self.by_channel.get(&channel.id) {
            return *p;
        }
        self.by_kind
            .get(&channel.kind)
            .copied()
            .unwrap_or(self.default)
    }

    fn in_outage(&self, channel: &ChannelId, now: Millis) -> bool {
        self.outages
            .iter()
            .any(|o| o.channel == *channel && o.from <= now && now < o.until)
    }

    /// Two uniform draws in [0, 1) for this (order, channel).
    fn draws(&self, order: OrderId, channel: &ChannelId) -> (f64, f64) {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in channel.as_str().bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let v = order.0.as_u128();
        let a = splitmix(self.seed ^ h ^ (v as u64));
        let b = splitmix(a ^ ((v >> 64) as u64));
        let unit = |x: u64| (x >> 11) as f64 / (1u64 << 53) as f64;
        (unit(a), unit(splitmix(b)))
    }

    fn track(&self, order: OrderId, channel: &ChannelId, live: bool) {
        if let Some(set) = &self.live {
            let mut set = set.lock();
            if live {
                set.insert((order, channel.clone()));
            } else {
                set.remove(&(order, channel.clone()));
            }
        }
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl ChannelGateway for SimGateway {
    fn book(
        &self,
        order: &Order,
        channel: &Channel,
        timeout_ms: u64,
    ) -> Result<BookingRef, GatewayError> {
        let now = self.clock.now();
        if self.in_outage(&channel.id, now) {
            self.failed.fetch_add(1, Ordering::Relaxed);
            return Err(GatewayError::Failed(format!("{} is down", channel.id)));
        }
        let p = self.profile(channel);
        let (fail, slow) = self.draws(order.id, &channel.id);
        if fail < p.failure_rate {
            self.failed.fetch_add(1, Ordering::Relaxed);
            return Err(GatewayError::Failed(format!("{} refused", channel.id)));
        }
        let latency = if slow < p.slow_share {
            p.slow_latency_ms
        } else {
            p.latency_ms
        };
        if latency > timeout_ms {
            // The partner books late: the engine must cancel what it never saw.
            self.timed_out.fetch_add(1, Ordering::Relaxed);
            self.track(order.id, &channel.id, true);
            return Err(GatewayError::Timeout {
                after_ms: timeout_ms,
            });
        }
        self.booked.fetch_add(1, Ordering::Relaxed);
        self.track(order.id, &channel.id, true);
        let n = self.next_ref.fetch_add(1, Ordering::Relaxed);
        Ok(BookingRef(format!("sim-{n}")))
    }

    fn cancel(
        &self,
        order: &Order,
        channel: &Channel,
        _booking: Option<&BookingRef>,
    ) -> Result<(), GatewayError> {
        self.cancelled.fetch_add(1, Ordering::Relaxed);
        self.track(order.id, &channel.id, false);
        Ok(())
    }
}
