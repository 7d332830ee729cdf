//! The authority port: what a replica asks of the holder of the truth.

use super::{AccountState, Epoch, Lease, LeaseError, LeaseId, LeaseReply, ReplicaId};
use crate::ledger::ids::SlotId;
use crate::model::ids::ChannelId;
use serde::{Deserialize, Serialize};

/// One request of a batched [`LeaseAuthority::exchange`].
///
/// ```
/// use uoom::ledger::SlotId;
/// use uoom::ledger::lease::LeaseRequest;
/// use uoom::ChannelId;
/// let r = LeaseRequest::Grant { channel: ChannelId::from("c1"), slot: SlotId(0), want: 3, ttl_ms: 5_000 };
/// assert!(matches!(r, LeaseRequest::Grant { want: 3, .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum LeaseRequest {
    /// [`LeaseAuthority::grant`].
    Grant {
        /// The channel.
        channel: ChannelId,
        /// The slot.
        slot: SlotId,
        /// Units wanted.
        want: u32,
        /// Lease TTL in ms.
        ttl_ms: u64,
    },
    /// [`LeaseAuthority::resize`].
    Resize {
        /// The lease.
        lease: LeaseId,
        /// Its epoch.
        epoch: Epoch,
        /// Units the lease should hold after the call.
        target: u32,
        /// New TTL in ms, from the authority's now.
        ttl_ms: u64,
    },
}

/// The holder of the truth about capacity shared by several replicas.
///
/// Every expiry is judged on the authority's own clock, never the caller's:
/// that is what makes the fence hold when a replica's clock is skewed or its
/// process was paused. Object-safe (`Arc<dyn LeaseAuthority>`) and
/// synchronous: an implementation over a network blocks its caller.
///
/// The guarantee every implementation keeps, per channel and slot and at
/// every step: `committed + Σ units of live leases ≤ capacity` (unless the
/// capacity was set below `committed` itself, reported by
/// [`AccountState::overcommitted`]); committed units are never forgotten.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::SlotId;
/// use uoom::ledger::lease::{LeaseAuthority, MemoryAuthority, ReplicaId};
/// use uoom::{ChannelId, ManualClock, Millis};
/// let clock = Arc::new(ManualClock::new(Millis(0)));
/// let auth: Arc<dyn LeaseAuthority> = Arc::new(MemoryAuthority::new(clock.clone()));
/// let c = ChannelId::from("c1");
/// auth.set_capacity(&c, SlotId(0), 10).unwrap();
/// let l = auth.grant(&ReplicaId::from("r1"), &c, SlotId(0), 4, 1_000).unwrap().lease;
/// auth.commit(l.id, l.epoch, 3).unwrap();
/// clock.advance_ms(1_000); // the lease expires: its last unit goes back
/// let s = auth.state(&c, SlotId(0)).unwrap();
/// assert_eq!((s.committed, s.granted, s.free()), (3, 0, 7));
/// assert!(auth.commit(l.id, l.epoch, 1).unwrap_err().is_stale());
/// ```
pub trait LeaseAuthority: Send + Sync {
    /// Creates the account or changes its capacity. Lowering it below
    /// `committed + Σ live units` revokes live leases (the largest first)
    /// until the invariant holds again; a revoked lease is refused like an
    /// expired one. Committed units are never taken back.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseRequest, MemoryAuthority, ReplicaId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = MemoryAuthority::new(clock.clone());
    /// let c = ChannelId::from("c1");
    /// let r = ReplicaId::from("r1");
    /// auth.set_capacity(&c, SlotId(0), 10).unwrap();
    /// let l = auth.grant(&r, &c, SlotId(0), 8, 1_000).unwrap().lease;
    /// let cut = auth.set_capacity(&c, SlotId(0), 4).unwrap(); // revokes the lease
    /// assert_eq!((cut.capacity, cut.granted), (4, 0));
    /// assert!(auth.commit(l.id, l.epoch, 1).unwrap_err().is_stale());
    /// ```
    fn set_capacity(
        &self,
        channel: &ChannelId,
        slot: SlotId,
        capacity: u32,
    ) -> Result<AccountState, LeaseError>;

    /// The account as it is now (expiries applied): what a replica that
    /// starts reads. `NotFound` if the capacity was never set.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseRequest, MemoryAuthority, ReplicaId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = MemoryAuthority::new(clock.clone());
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 10).unwrap();
    /// assert_eq!(auth.state(&c, SlotId(0)).unwrap().free(), 10);
    /// assert!(auth.state(&c, SlotId(1)).is_err());
    /// ```
    fn state(&self, channel: &ChannelId, slot: SlotId) -> Result<AccountState, LeaseError>;

    /// Every lease row of `replica`, live or not (the latest incarnation of
    /// each): what a restarted replica reads to know where it held units.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseRequest, MemoryAuthority, ReplicaId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = MemoryAuthority::new(clock.clone());
    /// let c = ChannelId::from("c1");
    /// let r = ReplicaId::from("r1");
    /// auth.set_capacity(&c, SlotId(0), 10).unwrap();
    /// auth.grant(&r, &c, SlotId(0), 3, 1_000).unwrap();
    /// auth.grant(&r, &c, SlotId(0), 4, 1_000).unwrap(); // the same row, a new epoch
    /// let rows = auth.leases_of(&r).unwrap();
    /// assert_eq!((rows.len(), rows[0].units), (1, 4));
    /// ```
    fn leases_of(&self, replica: &ReplicaId) -> Result<Vec<Lease>, LeaseError>;

    /// Starts a new incarnation of `replica`'s lease on the account with a
    /// new epoch: the previous incarnation (if live) is superseded and its
    /// units go back to the pool first, then `min(want, free)` units are
    /// granted until `now + ttl_ms` (possibly 0 when nothing is free).
    /// `Validation` for `want = 0` or a TTL out of `[1, MAX_LEASE_TTL_MS]`,
    /// `NotFound` for an unknown account.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseRequest, MemoryAuthority, ReplicaId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = MemoryAuthority::new(clock.clone());
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 3).unwrap();
    /// let reply = auth.grant(&ReplicaId::from("r1"), &c, SlotId(0), 5, 1_000).unwrap();
    /// assert_eq!((reply.lease.units, reply.lease.expires_at), (3, Millis(1_000)));
    /// ```
    fn grant(
        &self,
        replica: &ReplicaId,
        channel: &ChannelId,
        slot: SlotId,
        want: u32,
        ttl_ms: u64,
    ) -> Result<LeaseReply, LeaseError>;

    /// Extends a live lease to `now + ttl_ms` (fenced: [`LeaseError::Stale`]
    /// if it expired, was revoked or superseded).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseRequest, MemoryAuthority, ReplicaId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = MemoryAuthority::new(clock.clone());
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 3).unwrap();
    /// let l = auth.grant(&ReplicaId::from("r1"), &c, SlotId(0), 1, 1_000).unwrap().lease;
    /// clock.advance_ms(900);
    /// assert_eq!(auth.renew(l.id, l.epoch, 1_000).unwrap().lease.expires_at, Millis(1_900));
    /// clock.advance_ms(1_000);
    /// assert!(auth.renew(l.id, l.epoch, 1_000).unwrap_err().is_stale());
    /// ```
    fn renew(&self, lease: LeaseId, epoch: Epoch, ttl_ms: u64) -> Result<LeaseReply, LeaseError>;

    /// Renews a live lease and brings its units towards `target`: surplus
    /// units go back to the pool, a shortfall is granted from the free pool
    /// as far as it goes. Fenced like [`LeaseAuthority::renew`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseRequest, MemoryAuthority, ReplicaId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = MemoryAuthority::new(clock.clone());
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 6).unwrap();
    /// let l = auth.grant(&ReplicaId::from("r1"), &c, SlotId(0), 2, 1_000).unwrap().lease;
    /// assert_eq!(auth.resize(l.id, l.epoch, 9, 1_000).unwrap().lease.units, 6);
    /// assert_eq!(auth.resize(l.id, l.epoch, 1, 1_000).unwrap().account.free(), 5);
    /// ```
    fn resize(
        &self,
        lease: LeaseId,
        epoch: Epoch,
        target: u32,
        ttl_ms: u64,
    ) -> Result<LeaseReply, LeaseError>;

    /// Gives `units` of a live lease back to the pool (the lease stays live).
    /// `Validation` if the lease holds fewer units. Fenced.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseRequest, MemoryAuthority, ReplicaId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = MemoryAuthority::new(clock.clone());
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 6).unwrap();
    /// let l = auth.grant(&ReplicaId::from("r1"), &c, SlotId(0), 4, 1_000).unwrap().lease;
    /// let reply = auth.return_units(l.id, l.epoch, 3).unwrap();
    /// assert_eq!((reply.lease.units, reply.account.free()), (1, 5));
    /// ```
    fn return_units(
        &self,
        lease: LeaseId,
        epoch: Epoch,
        units: u32,
    ) -> Result<LeaseReply, LeaseError>;

    /// Commits `units` of a live lease: they move from the lease's grant to
    /// the account's committed units, for good. Fenced: refused with
    /// [`LeaseError::Stale`] unless the authority's clock is before the
    /// lease's expiry and `epoch` is the lease's; `Capacity` if the lease
    /// holds fewer units; `Validation` for 0 units.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseRequest, MemoryAuthority, ReplicaId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = MemoryAuthority::new(clock.clone());
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 6).unwrap();
    /// let l = auth.grant(&ReplicaId::from("r1"), &c, SlotId(0), 4, 1_000).unwrap().lease;
    /// let reply = auth.commit(l.id, l.epoch, 3).unwrap();
    /// assert_eq!((reply.lease.units, reply.account.committed, reply.account.granted), (1, 3, 1));
    /// ```
    fn commit(&self, lease: LeaseId, epoch: Epoch, units: u32) -> Result<LeaseReply, LeaseError>;

    /// Several grants and resizes in one call (what a replica's refresh
    /// sends: one round trip however many accounts it holds). Each request
    /// succeeds or fails on its own; the answers are in request order. The
    /// default runs them one by one; a remote authority should make it one
    /// round trip.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseRequest, MemoryAuthority, ReplicaId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = MemoryAuthority::new(clock.clone());
    /// let c = ChannelId::from("c1");
    /// let r = ReplicaId::from("r1");
    /// auth.set_capacity(&c, SlotId(0), 6).unwrap();
    /// let l = auth.grant(&r, &c, SlotId(0), 2, 1_000).unwrap().lease;
    /// let answers = auth.exchange(&r, &[
    ///     LeaseRequest::Resize { lease: l.id, epoch: l.epoch, target: 5, ttl_ms: 1_000 },
    ///     LeaseRequest::Grant { channel: c.clone(), slot: SlotId(7), want: 1, ttl_ms: 1_000 },
    /// ]);
    /// assert_eq!(answers[0].as_ref().unwrap().lease.units, 5);
    /// assert!(answers[1].is_err()); // no such account
    /// ```
    fn exchange(
        &self,
        replica: &ReplicaId,
        requests: &[LeaseRequest],
    ) -> Vec<Result<LeaseReply, LeaseError>> {
        requests
            .iter()
            .map(|r| match r {
                LeaseRequest::Grant {
                    channel,
                    slot,
                    want,
                    ttl_ms,
                } => self.grant(replica, channel, *slot, *want, *ttl_ms),
                LeaseRequest::Resize {
                    lease,
                    epoch,
                    target,
                    ttl_ms,
                } => self.resize(*lease, *epoch, *target, *ttl_ms),
            })
            .collect()
    }
}
