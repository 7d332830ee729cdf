//! The replica's side: a local quota made of leases, holds against it in
//! memory, fenced commits through the authority.

use super::authority::{LeaseAuthority, LeaseRequest};
use super::quota::{CommitCall, Committed, Hold, LeaseSettings, LeaseStats, LocalQuota};
use super::{Epoch, FenceReason, LeaseError, LeaseId, LeaseReply, ReplicaId, StaleLease};
use crate::clock::{Clock, Millis};
use crate::error::Error;
use crate::ledger::ids::{AccountKey, ReservationId, SlotId};
use crate::model::ids::ChannelId;
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
struct LocalLease {
    id: LeaseId,
    epoch: Epoch,
    units: u32,
    deadline: Millis,
}

#[derive(Debug, Clone, Copy)]
struct HoldRec {
    units: u32,
    expires_at: Millis,
    lease: LeaseId,
    epoch: Epoch,
    committing: bool,
    /// Set when the hold's lease died under it.
    lost: Option<FenceReason>,
}

#[derive(Debug, Default)]
struct Local {
    lease: Option<LocalLease>,
    holds: HashMap<ReservationId, HoldRec>,
    expiry: BTreeSet<(Millis, ReservationId)>,
    /// Units of live holds on the current lease.
    held: u32,
    /// Units asked for since the last refresh.
    demand: u64,
    /// Smoothed demand per refresh period.
    rate: f64,
    pool_low: bool,
    /// Free units above the low-water mark at the last reply.
    spare_free: u32,
    /// The account's free units and capacity at the last reply.
    seen: Option<(u32, u32)>,
}

impl Local {
    fn free(&self) -> u32 {
        self.lease.map_or(0, |l| l.units.saturating_sub(self.held))
    }

    /// Drops the lease: every hold on it that is not being committed is lost.
    fn drop_lease(&mut self, reason: FenceReason, stats: &mut LeaseStats) {
        self.lease = None;
        for h in self.holds.values_mut() {
            if h.lost.is_none() && !h.committing {
                h.lost = Some(reason);
                stats.lost_holds += 1;
            }
        }
        self.recount();
    }

    fn recount(&mut self) {
        let lease = self.lease;
        self.held = self
            .holds
            .values()
            .filter(|h| {
                h.lost.is_none() && lease.is_some_and(|l| (l.id, l.epoch) == (h.lease, h.epoch))
            })
            .map(|h| h.units)
            .sum();
    }

    /// Applies the lease's end and the holds' expiries due by `now`; returns
    /// the ids forgotten.
    fn sweep(&mut self, now: Millis, stats: &mut LeaseStats) -> Vec<ReservationId> {
        if let Some(l) = self.lease
            && now >= l.deadline
        {
            self.drop_lease(
                FenceReason::Expired {
                    expires_at: l.deadline,
                    now,
                },
                stats,
            );
        }
        let mut gone = Vec::new();
        while let Some(&(at, id)) = self.expiry.first() {
            if at > now {
                break;
            }
            self.expiry.pop_first();
            if let Some(h) = self.holds.get(&id)
                && !h.committing
            {
                let h = self.holds.remove(&id).expect("present");
                let lease = self.lease;
                if h.lost.is_none() && lease.is_some_and(|l| (l.id, l.epoch) == (h.lease, h.epoch))
                {
                    self.held -= h.units;
                }
                gone.push(id);
            }
        }
        gone
    }

    fn is_idle(&self) -> bool {
        self.lease.is_none() && self.holds.is_empty() && self.rate < 0.01 && self.demand == 0
    }
}

#[derive(Default)]
struct Inner {
    accounts: HashMap<AccountKey, Local>,
    index: HashMap<ReservationId, AccountKey>,
    stats: LeaseStats,
}

impl Inner {
    fn sweep(&mut self, key: &AccountKey, now: Millis) {
        let Some(local) = self.accounts.get_mut(key) else {
            return;
        };
        for id in local.sweep(now, &mut self.stats) {
            self.index.remove(&id);
        }
    }
}

/// A replica's capacity ledger over leases from a [`LeaseAuthority`].
///
/// Holds are made, released and expired in memory against the replica's
/// leases (a round trip only when the local quota is short); commits go to
/// the authority, fenced by the lease's epoch. Call [`LeasedLedger::refresh`]
/// periodically (well within the lease TTL): it renews every lease, returns
/// idle units and asks for more where demand grew, in one call.
///
/// The replica's clock only decides when the replica *stops using* a lease
/// (at `send time + TTL − margin`, which is never later than the authority's
/// expiry if the two clocks' rates differ by less than the margin); the
/// authority's clock alone decides whether a commit is accepted.
///
/// Operations that need a lease round trip hold the replica's lock during
/// the call (the port is synchronous); commits do not.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::SlotId;
/// use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
/// use uoom::{ChannelId, ManualClock, Millis};
/// let clock = Arc::new(ManualClock::new(Millis(0)));
/// let auth = Arc::new(MemoryAuthority::new(clock.clone()));
/// let c = ChannelId::from("c1");
/// auth.set_capacity(&c, SlotId(0), 100).unwrap();
/// let r = LeasedLedger::new("r1", auth.clone(), clock.clone(), LeaseSettings::default()).unwrap();
/// for i in 0..10u128 {
///     r.reserve(i.into(), &c, SlotId(0), 1, 30_000).unwrap();
/// }
/// r.refresh().unwrap(); // demand seen: the lease grows beyond what is held
/// for i in 10..20u128 {
///     r.reserve(i.into(), &c, SlotId(0), 1, 30_000).unwrap();
/// }
/// assert!(r.stats().local >= 10);
/// ```
pub struct LeasedLedger {
    replica: ReplicaId,
    authority: Arc<dyn LeaseAuthority>,
    clock: Arc<dyn Clock>,
    cfg: LeaseSettings,
    inner: Mutex<Inner>,
}

impl LeasedLedger {
    /// A replica named `replica` with no leases yet. `Validation` error for
    /// settings out of range.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::lease::{LeaseSettings, LeasedLedger, MemoryAuthority};
    /// use uoom::{ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = Arc::new(MemoryAuthority::new(clock.clone()));
    /// let bad = LeaseSettings::default().with_lease_ttl_ms(1_000).with_margin_ms(1_000);
    /// assert!(LeasedLedger::new("r1", auth, clock, bad).is_err());
    /// ```
    pub fn new(
        replica: impl Into<ReplicaId>,
        authority: Arc<dyn LeaseAuthority>,
        clock: Arc<dyn Clock>,
        settings: LeaseSettings,
    ) -> Result<LeasedLedger, Error> {
        settings.check()?;
        Ok(LeasedLedger {
            replica: replica.into(),
            authority,
            clock,
            cfg: settings,
            inner: Mutex::new(Inner::default()),
        })
    }

    /// The replica's id.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::lease::{LeaseSettings, LeasedLedger, MemoryAuthority};
    /// use uoom::{ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let r = LeasedLedger::new("api-2", Arc::new(MemoryAuthority::new(clock.clone())), clock, LeaseSettings::default()).unwrap();
    /// assert_eq!(r.replica().to_string(), "api-2");
    /// ```
    pub fn replica(&self) -> &ReplicaId {
        &self.replica
    }

    /// The counters so far.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::lease::{LeaseSettings, LeasedLedger, MemoryAuthority};
    /// use uoom::{ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let r = LeasedLedger::new("r", Arc::new(MemoryAuthority::new(clock.clone())), clock, LeaseSettings::default()).unwrap();
    /// assert_eq!(r.stats().lease_round_trips, 0);
    /// ```
    pub fn stats(&self) -> LeaseStats {
        self.inner.lock().stats
    }

    /// Every account the replica knows, in key order, with expiries applied.
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
    /// let settings = LeaseSettings::default().with_lease_ttl_ms(1_000).with_margin_ms(100);
    /// let r = LeasedLedger::new("r1", auth, clock.clone(), settings).unwrap();
    /// r.reserve(1u128.into(), &c, SlotId(0), 2, 60_000).unwrap();
    /// assert_eq!(r.quotas()[0].deadline, Millis(900));
    /// clock.advance_ms(900); // the lease ends for the replica, and the hold with it
    /// assert_eq!((r.quotas()[0].lease, r.quotas()[0].held), (None, 0));
    /// ```
    pub fn quotas(&self) -> Vec<LocalQuota> {
        let now = self.clock.now();
        let mut inner = self.inner.lock();
        let mut keys: Vec<AccountKey> = inner.accounts.keys().cloned().collect();
        keys.sort();
        keys.into_iter()
            .map(|k| {
                inner.sweep(&k, now);
                let local = &inner.accounts[&k];
                LocalQuota {
                    channel: k.channel.clone(),
                    slot: k.slot,
                    lease: local.lease.map(|l| (l.id, l.epoch)),
                    units: local.lease.map_or(0, |l| l.units),
                    held: local.held,
                    deadline: local.lease.map_or(now, |l| l.deadline),
                }
            })
            .collect()
    }

    /// The low-water mark of an account in units (rounded up).
    fn low_water(&self, capacity: u32) -> u32 {
        (u64::from(capacity) * u64::from(self.cfg.low_water_pct())).div_ceil(100) as u32
    }

    /// Whether the pool is low after `reply`, with hysteresis: once low, it
    /// stays low until twice the low-water mark is free again, so replicas
    /// do not take headroom back while the last units are being sold.
    fn pool_low(&self, was_low: bool, reply: &LeaseReply) -> bool {
        let a = &reply.account;
        let lw = self.low_water(a.capacity);
        if was_low {
            a.free() < lw.saturating_mul(2)
        } else {
            a.free() < lw
        }
    }

    fn headroom_units(&self, local: &Local) -> u32 {
        if local.pool_low {
            0
        } else {
            // Demand since the last refresh counts too, so a replica that
            // just started grows its lease geometrically, not unit by unit.
            // Headroom never eats into the low-water reserve as last seen.
            let rate = local.rate.max(local.demand as f64);
            let want = (rate * f64::from(self.cfg.headroom()))
                .ceil()
                .min(f64::from(u32::MAX)) as u32;
            want.min(local.spare_free)
        }
    }

    /// Takes a reply about `key`'s lease: the lease sent at local time `sent`.
    fn adopt(&self, local: &mut Local, reply: &LeaseReply, sent: Millis) {
        local.lease = Some(LocalLease {
            id: reply.lease.id,
            epoch: reply.lease.epoch,
            units: reply.lease.units,
            deadline: sent.plus_ms(self.cfg.lease_ttl_ms() - self.cfg.margin_ms()),
        });
        local.pool_low = self.pool_low(local.pool_low, reply);
        local.spare_free = reply
            .account
            .free()
            .saturating_sub(self.low_water(reply.account.capacity));
        local.seen = Some((reply.account.free(), reply.account.capacity));
        local.recount();
    }

    /// Reserves `units` on `(channel, slot)` for `ttl_ms` under the id `id`.
    ///
    /// Served from the local quota when it has room; otherwise one
    /// synchronous call to the authority asks for the shortfall (plus
    /// headroom unless the pool is low). `Capacity` if the authority has no
    /// more; `Validation` for 0 units or a 0 TTL; `Conflict` if `id` holds
    /// something else. Repeating a reserve with the same id and contents
    /// returns the live hold.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
    /// use uoom::{ChannelId, ErrorKind, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = Arc::new(MemoryAuthority::new(clock.clone()));
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 3).unwrap();
    /// let r = LeasedLedger::new("r1", auth, clock, LeaseSettings::default()).unwrap();
    /// r.reserve(1u128.into(), &c, SlotId(0), 2, 1_000).unwrap();
    /// let err = r.reserve(2u128.into(), &c, SlotId(0), 2, 1_000).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Capacity);
    /// assert_eq!(r.reserve(1u128.into(), &c, SlotId(0), 5, 1_000).unwrap_err().kind(), ErrorKind::Conflict);
    /// ```
    pub fn reserve(
        &self,
        id: ReservationId,
        channel: &ChannelId,
        slot: SlotId,
        units: u32,
        ttl_ms: u64,
    ) -> Result<Hold, LeaseError> {
        if units == 0 {
            return Err(
                Error::invalid("units", "out_of_range", "a hold needs at least 1 unit").into(),
            );
        }
        if ttl_ms == 0 {
            return Err(
                Error::invalid("ttl_ms", "out_of_range", "a hold needs a TTL > 0 ms").into(),
            );
        }
        let key = AccountKey {
            channel: channel.clone(),
            slot,
        };
        let now = self.clock.now();
        let mut inner = self.inner.lock();
        if let Some(at) = inner.index.get(&id).cloned() {
            inner.sweep(&at, now);
            let found = inner
                .accounts
                .get(&at)
                .and_then(|l| l.holds.get(&id))
                .copied();
            if let Some(h) = found.filter(|h| h.lost.is_some()) {
                // A hold lost with its lease: the order may try again.
                let local = inner.accounts.get_mut(&at).expect("indexed account");
                local.holds.remove(&id);
                local.expiry.remove(&(h.expires_at, id));
                inner.index.remove(&id);
            } else if let Some(h) = found {
                if at == key && h.units == units {
                    return Ok(hold_view(id, &key, &h));
                }
                return Err(Error::conflict(format!(
                    "hold {id} already holds {} units on {at}",
                    h.units
                ))
                .into());
            }
        }
        inner.sweep(&key, now);
        let inner = &mut *inner;
        let local = inner.accounts.entry(key.clone()).or_default();
        local.demand += u64::from(units);
        let served_locally = local.free() >= units;
        if !served_locally {
            self.top_up(local, &key, units, now, &mut inner.stats)?;
        }
        if local.free() < units {
            inner.stats.refused += 1;
            // The authority had nothing left to grant: until a reply says
            // otherwise, this account has no headroom beyond the lease.
            local.seen = Some((0, local.seen.map_or(0, |s| s.1)));
            if !served_locally {
                self.give_back(local, &mut inner.stats);
            }
            return Err(Error::Capacity(format!(
                "{key}: {units} units wanted, the lease has {} free and the authority none to grant",
                local.free()
            ))
            .into());
        }
        let lease = local.lease.expect("a lease with free units");
        let rec = HoldRec {
            units,
            expires_at: now.plus_ms(ttl_ms),
            lease: lease.id,
            epoch: lease.epoch,
            committing: false,
            lost: None,
        };
        local.holds.insert(id, rec);
        local.expiry.insert((rec.expires_at, id));
        local.held += units;
        inner.index.insert(id, key.clone());
        inner.stats.reserves += 1;
        if served_locally {
            inner.stats.local += 1;
        }
        Ok(hold_view(id, &key, &rec))
    }

    /// The synchronous path: asks the authority for the shortfall.
    fn top_up(
        &self,
        local: &mut Local,
        key: &AccountKey,
        units: u32,
        now: Millis,
        stats: &mut LeaseStats,
    ) -> Result<(), LeaseError> {
        let ttl = self.cfg.lease_ttl_ms();
        let extra = self.headroom_units(local);
        if let Some(l) = local.lease {
            let target = local.held.saturating_add(units).saturating_add(extra);
            stats.lease_round_trips += 1;
            match self.authority.resize(l.id, l.epoch, target, ttl) {
                Ok(reply) => {
                    self.adopt(local, &reply, now);
                    if reply.lease.units < target {
                        local.pool_low = true;
                    }
                    return Ok(());
                }
                Err(LeaseError::Stale(s)) => local.drop_lease(s.reason, stats),
                Err(e) => return Err(e),
            }
        }
        let want = units.saturating_add(extra);
        stats.lease_round_trips += 1;
        let reply = self
            .authority
            .grant(&self.replica, &key.channel, key.slot, want, ttl)?;
        self.adopt(local, &reply, now);
        if reply.lease.units < want {
            local.pool_low = true;
        }
        Ok(())
    }

    /// After a refused top-up: what the lease holds beyond its holds goes
    /// back at once (scarce units must not sit in a lease that could not
    /// use them). One more round trip, on the refusal path only.
    fn give_back(&self, local: &mut Local, stats: &mut LeaseStats) {
        let Some(l) = local.lease else { return };
        let spare = l.units.saturating_sub(local.held);
        if spare == 0 {
            return;
        }
        stats.lease_round_trips += 1;
        match self.authority.return_units(l.id, l.epoch, spare) {
            Ok(reply) => {
                if let Some(lease) = local.lease.as_mut() {
                    lease.units = reply.lease.units;
                }
            }
            Err(LeaseError::Stale(s)) => local.drop_lease(s.reason, stats),
            Err(e) => tracing::warn!(lease = %l.id, error = %e, "returning units failed"),
        }
    }

    /// Releases a hold (its units go back to the local quota). `NotFound`
    /// for an unknown, expired or lost hold; `Conflict` while it is being
    /// committed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
    /// use uoom::{ChannelId, ErrorKind, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = Arc::new(MemoryAuthority::new(clock.clone()));
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 3).unwrap();
    /// let r = LeasedLedger::new("r1", auth, clock, LeaseSettings::default()).unwrap();
    /// r.reserve(1u128.into(), &c, SlotId(0), 3, 1_000).unwrap();
    /// assert_eq!(r.release(1u128.into()).unwrap().units, 3);
    /// assert_eq!(r.release(1u128.into()).unwrap_err().kind(), ErrorKind::NotFound);
    /// r.reserve(2u128.into(), &c, SlotId(0), 3, 1_000).unwrap(); // served locally again
    /// assert_eq!(r.stats().local, 1);
    /// ```
    pub fn release(&self, id: ReservationId) -> Result<Hold, LeaseError> {
        let now = self.clock.now();
        let mut inner = self.inner.lock();
        let key = inner
            .index
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("hold {id}")))?;
        inner.sweep(&key, now);
        let inner = &mut *inner;
        let local = inner.accounts.get_mut(&key).expect("indexed account");
        let Some(h) = local.holds.get(&id).copied() else {
            return Err(Error::not_found(format!("hold {id} (expired)")).into());
        };
        if h.committing {
            return Err(Error::conflict(format!("hold {id} is being committed")).into());
        }
        local.holds.remove(&id);
        local.expiry.remove(&(h.expires_at, id));
        inner.index.remove(&id);
        if let Some(reason) = h.lost {
            return Err(lost(id, &h, reason));
        }
        local.held -= h.units;
        Ok(hold_view(id, &key, &h))
    }

    /// First half of a commit: checks the hold locally and marks it
    /// committing; returns the call to send. `Some(n)` commits `n` of its
    /// units (the rest stays in the lease), `None` all. [`LeaseError::Stale`]
    /// if its lease died under it (the hold is then forgotten); `NotFound`
    /// for an unknown or expired hold; `Validation` for `n = 0` or more than
    /// it holds.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = Arc::new(MemoryAuthority::new(clock.clone()));
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 3).unwrap();
    /// let r = LeasedLedger::new("r1", auth, clock.clone(), LeaseSettings::default()).unwrap();
    /// r.reserve(1u128.into(), &c, SlotId(0), 1, 60_000).unwrap();
    /// let call = r.prepare_commit(1u128.into(), None).unwrap();
    /// clock.advance_ms(20_000); // the process stalls past its lease
    /// assert!(r.complete_commit(call).unwrap_err().is_stale());
    /// assert_eq!(r.stats().stale_commits_refused, 1);
    /// ```
    pub fn prepare_commit(
        &self,
        id: ReservationId,
        units: Option<u32>,
    ) -> Result<CommitCall, LeaseError> {
        let now = self.clock.now();
        let mut inner = self.inner.lock();
        let key = inner
            .index
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("hold {id}")))?;
        inner.sweep(&key, now);
        let inner = &mut *inner;
        let local = inner.accounts.get_mut(&key).expect("indexed account");
        let Some(h) = local.holds.get_mut(&id) else {
            return Err(Error::not_found(format!("hold {id} (expired)")).into());
        };
        if h.committing {
            return Err(Error::conflict(format!("hold {id} is already being committed")).into());
        }
        if let Some(reason) = h.lost {
            let h = *h;
            local.holds.remove(&id);
            local.expiry.remove(&(h.expires_at, id));
            inner.index.remove(&id);
            return Err(lost(id, &h, reason));
        }
        let n = units.unwrap_or(h.units);
        if n == 0 || n > h.units {
            return Err(Error::invalid(
                "units",
                "out_of_range",
                format!("hold {id} holds {} units, cannot commit {n}", h.units),
            )
            .into());
        }
        h.committing = true;
        Ok(CommitCall {
            hold: id,
            lease: h.lease,
            epoch: h.epoch,
            units: n,
        })
    }

    /// Second half of a commit: sends it to the authority (without holding
    /// the replica's lock) and applies the answer. Accepted: the hold is
    /// gone and its units are committed for good. Refused by the fence
    /// ([`LeaseError::Stale`]): the hold is gone and so is the lease it drew
    /// on (route the order again). Any other error leaves the hold in place
    /// (not committing), for a retry or a release.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
    /// use uoom::{ChannelId, ErrorKind, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = Arc::new(MemoryAuthority::new(clock.clone()));
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 3).unwrap();
    /// let r = LeasedLedger::new("r1", auth.clone(), clock, LeaseSettings::default()).unwrap();
    /// r.reserve(1u128.into(), &c, SlotId(0), 3, 60_000).unwrap();
    /// let call = r.prepare_commit(1u128.into(), Some(2)).unwrap();
    /// // While it is out, the hold cannot be released.
    /// assert_eq!(r.release(1u128.into()).unwrap_err().kind(), ErrorKind::Conflict);
    /// assert_eq!(r.complete_commit(call).unwrap().units, 2);
    /// assert_eq!(auth.state(&c, SlotId(0)).unwrap().committed, 2);
    /// ```
    pub fn complete_commit(&self, call: CommitCall) -> Result<Committed, LeaseError> {
        let answer = self.authority.commit(call.lease, call.epoch, call.units);
        self.settle_commit(call, answer)
    }

    /// Second half of a commit the caller sent to the authority itself —
    /// typically inside the order's own database transaction, so the order
    /// and its capacity are written together — applied as
    /// [`LeasedLedger::complete_commit`] applies the authority's answer.
    /// Hand it the outcome once the transaction's fate is known: the reply
    /// if it committed, the [`LeaseError::Stale`] refusal if the fence
    /// refused, any other error if nothing was written (the hold then stays,
    /// for a retry or a release).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
    /// use uoom::{ChannelId, Error, ErrorKind, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = Arc::new(MemoryAuthority::new(clock.clone()));
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 3).unwrap();
    /// let r = LeasedLedger::new("r1", auth.clone(), clock, LeaseSettings::default()).unwrap();
    /// r.reserve(1u128.into(), &c, SlotId(0), 2, 60_000).unwrap();
    /// let call = r.prepare_commit(1u128.into(), None).unwrap();
    /// // The write failed before anything was committed: the hold stays.
    /// let failed = r.settle_commit(call, Err(Error::io("connection lost").into()));
    /// assert_eq!(failed.unwrap_err().kind(), ErrorKind::Io);
    /// let call = r.prepare_commit(1u128.into(), None).unwrap();
    /// let answer = auth.commit(call.lease, call.epoch, call.units); // e.g. in the order's transaction
    /// assert_eq!(r.settle_commit(call, answer).unwrap().reply.account.committed, 2);
    /// ```
    pub fn settle_commit(
        &self,
        call: CommitCall,
        answer: Result<LeaseReply, LeaseError>,
    ) -> Result<Committed, LeaseError> {
        self.settle(call, answer.map(Some))?
            .ok_or_else(|| Error::conflict("a commit settled without the authority's reply").into())
    }

    /// Applies a commit's outcome: the authority's reply when there is one
    /// (`Ok(Some(_))`), `Ok(None)` when it was written elsewhere without one.
    fn settle(
        &self,
        call: CommitCall,
        answer: Result<Option<LeaseReply>, LeaseError>,
    ) -> Result<Option<Committed>, LeaseError> {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        let key = inner
            .index
            .get(&call.hold)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("hold {}", call.hold)))?;
        let local = inner.accounts.get_mut(&key).expect("indexed account");
        let Some(h) = local.holds.get(&call.hold).copied() else {
            return Err(Error::not_found(format!("hold {}", call.hold)).into());
        };
        if !h.committing || (h.lease, h.epoch) != (call.lease, call.epoch) {
            return Err(
                Error::conflict(format!("hold {} is not being committed", call.hold)).into(),
            );
        }
        let on_current = local
            .lease
            .is_some_and(|l| (l.id, l.epoch) == (call.lease, call.epoch));
        match answer {
            Ok(reply) => {
                local.holds.remove(&call.hold);
                local.expiry.remove(&(h.expires_at, call.hold));
                inner.index.remove(&call.hold);
                if on_current {
                    if let Some(l) = local.lease.as_mut() {
                        l.units = match &reply {
                            Some(r) => r.lease.units,
                            None => l.units.saturating_sub(call.units),
                        };
                    }
                    local.held -= h.units;
                }
                inner.stats.commits += 1;
                inner.stats.committed_units += u64::from(call.units);
                Ok(reply.map(|reply| Committed {
                    hold: call.hold,
                    units: call.units,
                    reply,
                }))
            }
            Err(LeaseError::Stale(s)) => {
                local.holds.remove(&call.hold);
                local.expiry.remove(&(h.expires_at, call.hold));
                inner.index.remove(&call.hold);
                if on_current {
                    local.drop_lease(s.reason, &mut inner.stats);
                } else {
                    local.recount();
                }
                inner.stats.stale_commits_refused += 1;
                Err(LeaseError::Stale(s))
            }
            Err(e) => {
                if let Some(h) = local.holds.get_mut(&call.hold) {
                    h.committing = false;
                }
                Err(e)
            }
        }
    }

    /// Second half of a commit that a write model applied in the order's
    /// own transaction (it ran the fenced commit there and knows only
    /// whether it held): [`LeasedLedger::settle_commit`] without the
    /// authority's reply. `Ok(())` once written: the hold is gone and the
    /// lease keeps what it had minus the committed units. The
    /// [`LeaseError::Stale`] refusal: the hold and its lease are gone. Any
    /// other error: nothing was written, the hold stays (not committing).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = Arc::new(MemoryAuthority::new(clock.clone()));
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 3).unwrap();
    /// let r = LeasedLedger::new("r1", auth.clone(), clock, LeaseSettings::default().with_headroom(0)).unwrap();
    /// r.reserve(1u128.into(), &c, SlotId(0), 2, 60_000).unwrap();
    /// let call = r.prepare_commit(1u128.into(), None).unwrap();
    /// // The write model commits it with the order, in one transaction.
    /// auth.commit(call.lease, call.epoch, call.units).unwrap();
    /// r.settle_written(call, Ok(())).unwrap();
    /// assert_eq!(r.quotas()[0].units, 0);
    /// assert_eq!(r.stats().commits, 1);
    /// ```
    pub fn settle_written(
        &self,
        call: CommitCall,
        result: Result<(), LeaseError>,
    ) -> Result<(), LeaseError> {
        self.settle(call, result.map(|()| None)).map(|_| ())
    }

    /// What the replica last knew of `channel`'s account in `slot`: units
    /// it may still take (its lease's free units plus the authority's free
    /// pool at the last reply, none after a refusal) and the account's
    /// capacity. `None` before any reply about that account (or once it was
    /// let go as idle): what a router on leases ranks channels by.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = Arc::new(MemoryAuthority::new(clock.clone()));
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 10).unwrap();
    /// let r = LeasedLedger::new("r1", auth, clock, LeaseSettings::default().with_headroom(0)).unwrap();
    /// assert_eq!(r.headroom(&c, SlotId(0)), None);
    /// r.reserve(1u128.into(), &c, SlotId(0), 4, 60_000).unwrap();
    /// assert_eq!(r.headroom(&c, SlotId(0)), Some((6, 10)));
    /// assert!(r.reserve(2u128.into(), &c, SlotId(0), 7, 60_000).is_err());
    /// assert_eq!(r.headroom(&c, SlotId(0)), Some((0, 10))); // refused: none left
    /// ```
    pub fn headroom(&self, channel: &ChannelId, slot: SlotId) -> Option<(u32, u32)> {
        let key = AccountKey {
            channel: channel.clone(),
            slot,
        };
        let now = self.clock.now();
        let mut inner = self.inner.lock();
        inner.sweep(&key, now);
        let local = inner.accounts.get(&key)?;
        let (free, capacity) = local.seen?;
        Some((local.free().saturating_add(free).min(capacity), capacity))
    }

    /// Commits a hold: [`LeasedLedger::prepare_commit`] then
    /// [`LeasedLedger::complete_commit`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = Arc::new(MemoryAuthority::new(clock.clone()));
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 3).unwrap();
    /// let r = LeasedLedger::new("r1", auth.clone(), clock, LeaseSettings::default()).unwrap();
    /// r.reserve(1u128.into(), &c, SlotId(0), 3, 1_000).unwrap();
    /// r.commit(1u128.into(), None).unwrap();
    /// assert_eq!(auth.state(&c, SlotId(0)).unwrap().committed, 3);
    /// ```
    pub fn commit(&self, id: ReservationId, units: Option<u32>) -> Result<Committed, LeaseError> {
        let call = self.prepare_commit(id, units)?;
        self.complete_commit(call)
    }

    /// Renews every lease, returns what recent demand does not need and asks
    /// for more where it grew: one [`LeaseAuthority::exchange`], none if
    /// there is nothing to ask. A lease the authority refuses (expired,
    /// revoked, superseded) is dropped with its holds. Returns the number of
    /// requests sent.
    ///
    /// Per account, the lease is brought to `held + ⌈rate × headroom⌉` units,
    /// where `rate` is the smoothed demand per refresh; when the pool is low,
    /// to `held` alone (new orders then take exactly what they need
    /// synchronously). An account with no holds and no recent demand gives
    /// everything back and its lease is let go.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let auth = Arc::new(MemoryAuthority::new(clock.clone()));
    /// let c = ChannelId::from("c1");
    /// auth.set_capacity(&c, SlotId(0), 50).unwrap();
    /// let r = LeasedLedger::new("r1", auth.clone(), clock, LeaseSettings::default()).unwrap();
    /// r.reserve(1u128.into(), &c, SlotId(0), 4, 1_000).unwrap();
    /// r.release(1u128.into()).unwrap();
    /// for _ in 0..12 { r.refresh().unwrap(); } // demand fades: units go back
    /// assert_eq!(auth.state(&c, SlotId(0)).unwrap().granted, 0);
    /// ```
    pub fn refresh(&self) -> Result<usize, LeaseError> {
        let now = self.clock.now();
        let ttl = self.cfg.lease_ttl_ms();
        let mut inner = self.inner.lock();
        let keys: Vec<AccountKey> = inner.accounts.keys().cloned().collect();
        let mut asks: Vec<(AccountKey, bool)> = Vec::new();
        let mut requests = Vec::new();
        for key in keys {
            inner.sweep(&key, now);
            let local = inner.accounts.get_mut(&key).expect("listed");
            local.rate = 0.5 * local.rate + 0.5 * local.demand as f64;
            local.demand = 0;
            let idle = local.held == 0 && local.rate < 0.5;
            let target = if idle {
                0
            } else {
                local.held.saturating_add(self.headroom_units(local))
            };
            match local.lease {
                Some(l) => {
                    requests.push(LeaseRequest::Resize {
                        lease: l.id,
                        epoch: l.epoch,
                        target,
                        ttl_ms: ttl,
                    });
                    asks.push((key, idle));
                }
                None if target > 0 => {
                    requests.push(LeaseRequest::Grant {
                        channel: key.channel.clone(),
                        slot: key.slot,
                        want: target,
                        ttl_ms: ttl,
                    });
                    asks.push((key, false));
                }
                None => {}
            }
        }
        let sent = requests.len();
        if sent > 0 {
            inner.stats.lease_round_trips += 1;
            let answers = self.authority.exchange(&self.replica, &requests);
            let inner = &mut *inner;
            for (((key, idle), req), answer) in asks.into_iter().zip(&requests).zip(answers) {
                let local = inner.accounts.get_mut(&key).expect("listed");
                match answer {
                    Ok(reply) => {
                        self.adopt(local, &reply, now);
                        let asked = match req {
                            LeaseRequest::Grant { want, .. } => *want,
                            LeaseRequest::Resize { target, .. } => *target,
                        };
                        if reply.lease.units < asked {
                            local.pool_low = true;
                        }
                        if idle {
                            local.lease = None;
                        }
                    }
                    Err(LeaseError::Stale(s)) => local.drop_lease(s.reason, &mut inner.stats),
                    Err(e) => {
                        tracing::warn!(account = %key, error = %e, "lease refresh failed");
                    }
                }
            }
        }
        inner.accounts.retain(|_, l| !l.is_idle());
        Ok(sent)
    }

    /// After a restart: reads the replica's lease rows at the authority and
    /// starts a new incarnation of each live one (a new epoch, which fences
    /// anything the previous process still tries to commit; the previous
    /// incarnation's uncommitted units go back to the pool and are granted
    /// afresh). Two round trips at most. Returns the number of leases taken
    /// over.
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
    /// let old = LeasedLedger::new("r1", auth.clone(), clock.clone(), LeaseSettings::default()).unwrap();
    /// old.reserve(1u128.into(), &c, SlotId(0), 5, 60_000).unwrap();
    /// let call = old.prepare_commit(1u128.into(), None).unwrap();
    /// // The process is replaced before the commit is sent.
    /// let new = LeasedLedger::new("r1", auth.clone(), clock, LeaseSettings::default()).unwrap();
    /// assert_eq!(new.recover().unwrap(), 1);
    /// assert!(old.complete_commit(call).unwrap_err().is_stale());
    /// new.reserve(2u128.into(), &c, SlotId(0), 5, 60_000).unwrap(); // no round trip
    /// assert_eq!(new.stats().local, 1);
    /// ```
    pub fn recover(&self) -> Result<usize, LeaseError> {
        let now = self.clock.now();
        let ttl = self.cfg.lease_ttl_ms();
        let mut inner = self.inner.lock();
        inner.stats.lease_round_trips += 1;
        let rows = self.authority.leases_of(&self.replica)?;
        // `expires_at` is on the authority's clock and `now` on ours: this
        // only skips rows long dead; a grant on a row that just expired is
        // harmless (it takes free units, which the next refresh trims).
        let live: Vec<_> = rows
            .into_iter()
            .filter(|l| l.replica == self.replica && !l.ended && l.expires_at > now && l.units > 0)
            .collect();
        if live.is_empty() {
            return Ok(0);
        }
        let requests: Vec<LeaseRequest> = live
            .iter()
            .map(|l| LeaseRequest::Grant {
                channel: l.channel.clone(),
                slot: l.slot,
                want: l.units,
                ttl_ms: ttl,
            })
            .collect();
        inner.stats.lease_round_trips += 1;
        let answers = self.authority.exchange(&self.replica, &requests);
        let mut taken = 0;
        for (l, answer) in live.iter().zip(answers) {
            let key = AccountKey {
                channel: l.channel.clone(),
                slot: l.slot,
            };
            match answer {
                Ok(reply) => {
                    let local = inner.accounts.entry(key).or_default();
                    self.adopt(local, &reply, now);
                    taken += 1;
                }
                Err(e) => tracing::warn!(account = %key, error = %e, "lease take-over failed"),
            }
        }
        Ok(taken)
    }
}

fn hold_view(id: ReservationId, key: &AccountKey, h: &HoldRec) -> Hold {
    Hold {
        id,
        channel: key.channel.clone(),
        slot: key.slot,
        units: h.units,
        expires_at: h.expires_at,
        lease: h.lease,
        epoch: h.epoch,
    }
}

fn lost(id: ReservationId, h: &HoldRec, reason: FenceReason) -> LeaseError {
    tracing::debug!(hold = %id, lease = %h.lease, "hold lost with its lease");
    LeaseError::Stale(StaleLease {
        lease: h.lease,
        epoch: h.epoch,
        reason,
    })
}
