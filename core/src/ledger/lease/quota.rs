//! The replica side's value types: settings, holds, commits, counters.

use super::{Epoch, LeaseId, LeaseReply, MAX_LEASE_TTL_MS};
use crate::clock::Millis;
use crate::error::Error;
use crate::ledger::ids::{ReservationId, SlotId};
use crate::model::ids::ChannelId;

/// Settings of a [`LeasedLedger`](super::LeasedLedger), with `with_*` setters.
///
/// ```
/// use uoom::ledger::lease::LeaseSettings;
/// let s = LeaseSettings::default().with_lease_ttl_ms(5_000).with_margin_ms(500);
/// assert_eq!((s.lease_ttl_ms(), s.margin_ms()), (5_000, 500));
/// assert_eq!((s.headroom(), s.low_water_pct()), (2, 10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseSettings {
    lease_ttl_ms: u64,
    margin_ms: u64,
    headroom: u32,
    low_water_pct: u32,
}

impl Default for LeaseSettings {
    fn default() -> Self {
        LeaseSettings {
            lease_ttl_ms: 10_000,
            margin_ms: 1_000,
            headroom: 2,
            low_water_pct: 10,
        }
    }
}

impl LeaseSettings {
    /// TTL asked for every lease (default 10 s); refresh well within it.
    pub fn with_lease_ttl_ms(mut self, ms: u64) -> Self {
        self.lease_ttl_ms = ms;
        self
    }
    /// How long before the lease's nominal end the replica stops using it
    /// (default 1 s): room for the drift between the replica's and the
    /// authority's clock rates. Must be below the lease TTL.
    pub fn with_margin_ms(mut self, ms: u64) -> Self {
        self.margin_ms = ms;
        self
    }
    /// Refresh periods of recent demand kept in the lease beyond what is
    /// held (default 2); 0 leases only what is asked for.
    pub fn with_headroom(mut self, periods: u32) -> Self {
        self.headroom = periods;
        self
    }
    /// The free pool is *low* under this percentage of capacity (default
    /// 10): then a replica keeps no headroom and asks for exactly what an
    /// order needs, so scarce units are not stranded in an idle lease.
    pub fn with_low_water_pct(mut self, pct: u32) -> Self {
        self.low_water_pct = pct;
        self
    }
    /// The lease TTL in ms.
    pub fn lease_ttl_ms(&self) -> u64 {
        self.lease_ttl_ms
    }
    /// The safety margin in ms.
    pub fn margin_ms(&self) -> u64 {
        self.margin_ms
    }
    /// The headroom in refresh periods.
    pub fn headroom(&self) -> u32 {
        self.headroom
    }
    /// The low-water mark in percent of capacity.
    pub fn low_water_pct(&self) -> u32 {
        self.low_water_pct
    }

    pub(super) fn check(&self) -> Result<(), Error> {
        if self.lease_ttl_ms == 0 || self.lease_ttl_ms > MAX_LEASE_TTL_MS {
            return Err(Error::invalid(
                "lease_ttl_ms",
                "out_of_range",
                format!("the lease TTL must be in [1, {MAX_LEASE_TTL_MS}] ms"),
            ));
        }
        if self.margin_ms >= self.lease_ttl_ms {
            return Err(Error::invalid(
                "margin_ms",
                "out_of_range",
                "the safety margin must be shorter than the lease TTL",
            ));
        }
        if self.low_water_pct > 100 {
            return Err(Error::invalid(
                "low_water_pct",
                "out_of_range",
                "the low-water mark must be in [0, 100] percent",
            ));
        }
        Ok(())
    }
}

/// A hold: units reserved against the replica's lease, in memory.
///
/// It expires at `expires_at` (the replica's clock) or as soon as the lease
/// it draws on dies, whichever comes first: a hold never outlives its lease.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::SlotId;
/// use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
/// use uoom::{ChannelId, ManualClock, Millis};
/// let clock = Arc::new(ManualClock::new(Millis(0)));
/// let auth = Arc::new(MemoryAuthority::new(clock.clone()));
/// let c = ChannelId::from("c1");
/// auth.set_capacity(&c, SlotId(0), 5).unwrap();
/// let r = LeasedLedger::new("r1", auth, clock, LeaseSettings::default()).unwrap();
/// let hold = r.reserve(1u128.into(), &c, SlotId(0), 2, 30_000).unwrap();
/// assert_eq!((hold.units, hold.expires_at), (2, Millis(30_000)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The hold's id (the order's reservation id).
    pub id: ReservationId,
    /// The channel.
    pub channel: ChannelId,
    /// The slot.
    pub slot: SlotId,
    /// Units held.
    pub units: u32,
    /// Its own expiry (the replica's clock); it dies earlier with its lease.
    pub expires_at: Millis,
    /// The lease it draws on.
    pub lease: LeaseId,
    /// That lease's epoch.
    pub epoch: Epoch,
}

/// A commit on its way to the authority: what [`LeasedLedger::prepare_commit`](super::LeasedLedger::prepare_commit)
/// returns and [`LeasedLedger::complete_commit`](super::LeasedLedger::complete_commit) sends. Between the two the
/// hold is *committing*: it cannot expire, be released or be committed again.
///
/// ```
/// use uoom::ledger::lease::{CommitCall, Epoch, LeaseId};
/// let call = CommitCall { hold: 1u128.into(), lease: LeaseId(1), epoch: Epoch(1), units: 2 };
/// assert_eq!(call.units, 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitCall {
    /// The hold.
    pub hold: ReservationId,
    /// The lease presented to the fence.
    pub lease: LeaseId,
    /// Its epoch.
    pub epoch: Epoch,
    /// Units to commit.
    pub units: u32,
}

/// A commit the authority accepted.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::SlotId;
/// use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
/// use uoom::{ChannelId, ManualClock, Millis};
/// let clock = Arc::new(ManualClock::new(Millis(0)));
/// let auth = Arc::new(MemoryAuthority::new(clock.clone()));
/// let c = ChannelId::from("c1");
/// auth.set_capacity(&c, SlotId(0), 5).unwrap();
/// let r = LeasedLedger::new("r1", auth, clock, LeaseSettings::default()).unwrap();
/// r.reserve(1u128.into(), &c, SlotId(0), 3, 30_000).unwrap();
/// let done = r.commit(1u128.into(), Some(2)).unwrap(); // the third unit stays in the lease
/// assert_eq!((done.units, done.reply.account.committed), (2, 2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The hold that was committed (it is gone from the replica).
    pub hold: ReservationId,
    /// Units committed.
    pub units: u32,
    /// The authority's answer.
    pub reply: LeaseReply,
}

/// Counters of a [`LeasedLedger`](super::LeasedLedger) since it was made.
///
/// ```
/// let s = uoom::ledger::lease::LeaseStats { reserves: 4, local: 3, ..Default::default() };
/// assert_eq!(s.local_quota_share(), 0.75);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaseStats {
    /// Holds made.
    pub reserves: u64,
    /// Holds made from the local quota, without a round trip.
    pub local: u64,
    /// Reserves refused for lack of capacity.
    pub refused: u64,
    /// Calls to the authority for leases (grant, resize, exchange, reads);
    /// commits are not counted here.
    pub lease_round_trips: u64,
    /// Commits the authority accepted.
    pub commits: u64,
    /// Units those commits moved to committed.
    pub committed_units: u64,
    /// Commits the authority's fence refused (stale lease).
    pub stale_commits_refused: u64,
    /// Holds that died with their lease before being committed or released.
    pub lost_holds: u64,
}

impl LeaseStats {
    /// Share of holds served without a round trip (0 when none were made).
    pub fn local_quota_share(&self) -> f64 {
        if self.reserves == 0 {
            0.0
        } else {
            self.local as f64 / self.reserves as f64
        }
    }
}

/// The replica's view of one account: its lease and what it holds on it.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::SlotId;
/// use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
/// use uoom::{ChannelId, ManualClock, Millis};
/// let clock = Arc::new(ManualClock::new(Millis(0)));
/// let auth = Arc::new(MemoryAuthority::new(clock.clone()));
/// let c = ChannelId::from("c1");
/// auth.set_capacity(&c, SlotId(0), 5).unwrap();
/// let r = LeasedLedger::new("r1", auth, clock, LeaseSettings::default()).unwrap();
/// r.reserve(1u128.into(), &c, SlotId(0), 2, 30_000).unwrap();
/// let q = &r.quotas()[0];
/// assert_eq!((q.units, q.held), (2, 2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalQuota {
    /// The channel.
    pub channel: ChannelId,
    /// The slot.
    pub slot: SlotId,
    /// The live lease, if any: id and epoch.
    pub lease: Option<(LeaseId, Epoch)>,
    /// Units of that lease not yet committed (as last heard from the authority).
    pub units: u32,
    /// Units held on it (including holds being committed).
    pub held: u32,
    /// When the replica stops using the lease (its own clock).
    pub deadline: Millis,
}
