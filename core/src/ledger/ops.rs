//! Single-reservation operations: reserve, commit, release.

use super::account::{AccountHandle, PendingLeg};
use super::events::{RawEvent, ReleaseReason};
use super::ids::ReservationId;
use super::ids::SlotId;
use super::reservation::{Leg, Record, Reservation, ReservationState};
use super::{Ledger, leg_mut};
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::model::ids::ChannelId;

pub(crate) fn check_units_ttl(units: u32, ttl_ms: u64, field: &str) -> Result<()> {
    if units == 0 {
        return Err(Error::invalid(
            field,
            "out_of_range",
            "units must be at least 1",
        ));
    }
    if ttl_ms == 0 {
        return Err(Error::invalid(
            "ttl_ms",
            "out_of_range",
            "ttl must be at least 1 ms",
        ));
    }
    Ok(())
}

pub(crate) fn capacity_error(what: &str, h: &AccountHandle, units: u32, available: u32) -> Error {
    Error::Capacity(format!(
        "{what}account {} needs {units} units, {available} available",
        h.key()
    ))
}

impl Ledger {
    /// Reserves `units` on `(channel, slot)` for `ttl_ms`: they are pending
    /// until committed, released or expired. Repeating the call with the same
    /// id and contents returns the reservation (in its current state) without
    /// reserving again; the same id with other contents is a conflict.
    ///
    /// Errors: `NotFound` (no such account), `Capacity` (not enough
    /// available), `Conflict` (id reused), `Validation` (0 units or 0 ttl).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ErrorKind, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// let c = ChannelId::from("c1");
    /// ledger.set_capacity(&c, SlotId(0), 5).unwrap();
    /// let a = ledger.reserve("order-1".into(), &c, SlotId(0), 2, 1_000).unwrap();
    /// let again = ledger.reserve("order-1".into(), &c, SlotId(0), 2, 1_000).unwrap();
    /// assert_eq!(a, again);
    /// assert_eq!(ledger.balance(&c, SlotId(0)).unwrap().pending, 2);
    /// let clash = ledger.reserve("order-1".into(), &c, SlotId(0), 3, 1_000).unwrap_err();
    /// assert_eq!(clash.kind(), ErrorKind::Conflict);
    /// ```
    pub fn reserve(
        &self,
        id: ReservationId,
        channel: &ChannelId,
        slot: SlotId,
        units: u32,
        ttl_ms: u64,
    ) -> Result<Reservation> {
        check_units_ttl(units, ttl_ms, "units")?;
        let h = self.account(channel, slot)?;
        self.reserve_on(id, &h, units, ttl_ms)
    }

    /// [`Ledger::reserve`] on a resolved account: the fast path.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// let c = ChannelId::from("c1");
    /// ledger.set_capacity(&c, SlotId(0), 5).unwrap();
    /// let h = ledger.account(&c, SlotId(0)).unwrap();
    /// assert_eq!(ledger.reserve_on(1u128.into(), &h, 5, 100).unwrap().units, 5);
    /// assert!(ledger.reserve_on(2u128.into(), &h, 1, 100).is_err());
    /// ```
    pub fn reserve_on(
        &self,
        id: ReservationId,
        h: &AccountHandle,
        units: u32,
        ttl_ms: u64,
    ) -> Result<Reservation> {
        check_units_ttl(units, ttl_ms, "units")?;
        let now = self.clock.now();
        let rec = self.cfg.record_events;
        let mut shard = self.shards[id.shard()].0.lock();
        shard.collect(now, self.cfg.retention_ms);
        if let Some(existing) = shard.map.get(&id) {
            return match existing {
                Record::Leg(l)
                    if l.batch.is_none()
                        && l.account == *h
                        && l.units == units
                        && l.ttl_ms == ttl_ms =>
                {
                    Ok(l.view(id, now))
                }
                _ => Err(Error::conflict(format!(
                    "reservation {id} already exists with other contents"
                ))),
            };
        }
        let expires_at = now.plus_ms(ttl_ms);
        {
            let mut st = h.0.state.lock();
            st.expire_due(now, rec, self.cfg.alert_pct);
            let available = st.balance.available();
            if available < units {
                return Err(capacity_error("", h, units, available));
            }
            st.add_pending(PendingLeg {
                expires_at,
                id,
                units,
            });
            if rec {
                st.events.push(RawEvent::Reserved {
                    id,
                    batch: None,
                    units,
                    expires_at,
                    at: now,
                });
            }
            st.check_alert(now, self.cfg.alert_pct, rec);
        }
        let leg = Leg {
            account: h.clone(),
            batch: None,
            units,
            committed: 0,
            state: ReservationState::Pending,
            expires_at,
            ttl_ms,
            finished_ms: 0,
        };
        let view = leg.view(id, now);
        shard.map.insert(id, Record::Leg(leg));
        Ok(view)
    }

    /// Commits a pending reservation: `None` commits every reserved unit,
    /// `Some(n)` commits `n` (at most the reserved units) and releases the
    /// rest. Repeating the same commit returns the committed reservation.
    ///
    /// Errors: `NotFound`, `Conflict` (released, expired, or committed with
    /// another amount), `Validation` (`n` above the reserved units, or a batch id).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ErrorKind, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let ledger = Ledger::new(clock.clone());
    /// let c = ChannelId::from("c1");
    /// ledger.set_capacity(&c, SlotId(0), 5).unwrap();
    /// ledger.reserve(1u128.into(), &c, SlotId(0), 4, 1_000).unwrap();
    /// assert_eq!(ledger.commit(1u128.into(), Some(3)).unwrap().committed, 3);
    /// assert_eq!(ledger.commit(1u128.into(), Some(3)).unwrap().committed, 3); // idempotent
    /// let b = ledger.balance(&c, SlotId(0)).unwrap();
    /// assert_eq!((b.committed, b.pending, b.available()), (3, 0, 2));
    /// ledger.reserve(2u128.into(), &c, SlotId(0), 1, 1_000).unwrap();
    /// clock.advance_ms(1_000);
    /// assert_eq!(ledger.commit(2u128.into(), None).unwrap_err().kind(), ErrorKind::Conflict);
    /// ```
    pub fn commit(&self, id: ReservationId, units: Option<u32>) -> Result<Reservation> {
        self.finish(id, Finish::Commit(units))
    }

    /// Releases a pending reservation (its units become available again).
    /// Releasing a released or expired reservation returns it unchanged;
    /// releasing a committed one is a conflict.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, ReservationState, SlotId};
    /// use uoom::{ChannelId, ErrorKind, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// let c = ChannelId::from("c1");
    /// ledger.set_capacity(&c, SlotId(0), 5).unwrap();
    /// ledger.reserve(1u128.into(), &c, SlotId(0), 4, 1_000).unwrap();
    /// assert_eq!(ledger.release(1u128.into()).unwrap().state, ReservationState::Released);
    /// assert_eq!(ledger.available(&c, SlotId(0)), 5);
    /// ledger.reserve(2u128.into(), &c, SlotId(0), 1, 1_000).unwrap();
    /// ledger.commit(2u128.into(), None).unwrap();
    /// assert_eq!(ledger.release(2u128.into()).unwrap_err().kind(), ErrorKind::Conflict);
    /// ```
    pub fn release(&self, id: ReservationId) -> Result<Reservation> {
        self.finish(id, Finish::Release)
    }

    /// Gives a committed reservation's units back to its account (an order
    /// cancelled after it was confirmed): committed units become available
    /// again and the reservation ends in [`ReservationState::Refunded`],
    /// with a `CapacityReleased { reason: refunded }` event. Like
    /// TigerBeetle's reversal transfer, the commit is not undone in the
    /// history, it is offset. Repeating the refund returns the refunded
    /// reservation; a partially committed reservation refunds what was
    /// committed.
    ///
    /// Errors: `NotFound`, `Conflict` (pending, released or expired: only
    /// committed units can be refunded), `Validation` (a batch id).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, ReservationState, SlotId};
    /// use uoom::{ChannelId, ErrorKind, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// let c = ChannelId::from("c1");
    /// ledger.set_capacity(&c, SlotId(0), 5).unwrap();
    /// ledger.reserve(1u128.into(), &c, SlotId(0), 4, 1_000).unwrap();
    /// ledger.commit(1u128.into(), Some(3)).unwrap();
    /// assert_eq!(ledger.available(&c, SlotId(0)), 2);
    /// let r = ledger.refund(1u128.into()).unwrap();
    /// assert_eq!((r.state, r.committed), (ReservationState::Refunded, 3));
    /// assert_eq!(ledger.available(&c, SlotId(0)), 5);
    /// assert_eq!(ledger.refund(1u128.into()).unwrap(), r); // idempotent
    /// ledger.reserve(2u128.into(), &c, SlotId(0), 1, 1_000).unwrap();
    /// assert_eq!(ledger.refund(2u128.into()).unwrap_err().kind(), ErrorKind::Conflict);
    /// ```
    pub fn refund(&self, id: ReservationId) -> Result<Reservation> {
        let now = self.clock.now();
        let rec = self.cfg.record_events;
        let mut guard = self.shards[id.shard()].0.lock();
        let shard = &mut *guard;
        let leg = leg_mut(&mut shard.map, id)?;
        match leg.view(id, now).state {
            ReservationState::Refunded => return Ok(leg.view(id, now)),
            ReservationState::Committed => {}
            s => {
                return Err(Error::conflict(format!(
                    "reservation {id} cannot be refunded: it is {} (only committed units can be)",
                    state_name(s)
                )));
            }
        }
        {
            let mut st = leg.account.0.state.lock();
            st.expire_due(now, rec, self.cfg.alert_pct);
            // Never negative, even if a snapshot was edited by hand.
            st.balance.committed = st.balance.committed.saturating_sub(leg.committed);
            if rec && leg.committed > 0 {
                st.events.push(RawEvent::Released {
                    id,
                    units: leg.committed,
                    reason: ReleaseReason::Refunded,
                    at: now,
                });
            }
            st.check_alert(now, self.cfg.alert_pct, rec);
        }
        leg.state = ReservationState::Refunded;
        leg.set_finished_at(now);
        let view = leg.view(id, now);
        shard.map.finished(id, now);
        Ok(view)
    }

    fn finish(&self, id: ReservationId, op: Finish) -> Result<Reservation> {
        let now = self.clock.now();
        let rec = self.cfg.record_events;
        let mut guard = self.shards[id.shard()].0.lock();
        let shard = &mut *guard;
        let leg = leg_mut(&mut shard.map, id)?;
        if let Finish::Commit(Some(n)) = op
            && n > leg.units
        {
            return Err(Error::invalid(
                "units",
                "out_of_range",
                format!("cannot commit {n} units of a reservation of {}", leg.units),
            ));
        }
        if !leg.state.is_pending() {
            return repeat(id, leg, op, now);
        }
        {
            let mut st = leg.account.0.state.lock();
            st.expire_due(now, rec, self.cfg.alert_pct);
            if st.take_pending(leg.expires_at, id).is_none() {
                drop(st);
                let leg_expiry = leg.expires_at;
                leg.state = ReservationState::Expired;
                leg.set_finished_at(leg.expires_at);
                let view = repeat(id, leg, op, now);
                shard.map.finished(id, leg_expiry);
                return view;
            }
            match op {
                Finish::Commit(n) => {
                    let c = n.unwrap_or(leg.units);
                    st.balance.committed += c;
                    if rec {
                        if c > 0 {
                            st.events.push(RawEvent::Committed {
                                id,
                                units: c,
                                at: now,
                            });
                        }
                        if c < leg.units {
                            st.events.push(RawEvent::Released {
                                id,
                                units: leg.units - c,
                                reason: ReleaseReason::PartialCommit,
                                at: now,
                            });
                        }
                    }
                    leg.committed = c;
                    leg.state = ReservationState::Committed;
                }
                Finish::Release => {
                    if rec {
                        st.events.push(RawEvent::Released {
                            id,
                            units: leg.units,
                            reason: ReleaseReason::Released,
                            at: now,
                        });
                    }
                    leg.state = ReservationState::Released;
                }
            }
            st.check_alert(now, self.cfg.alert_pct, rec);
        }
        leg.set_finished_at(now);
        let view = leg.view(id, now);
        shard.map.finished(id, now);
        Ok(view)
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Finish {
    Commit(Option<u32>),
    Release,
}

/// The answer for an operation on a reservation that is no longer pending.
fn repeat(id: ReservationId, leg: &Leg, op: Finish, now: Millis) -> Result<Reservation> {
    match (op, leg.state) {
        // A refunded reservation was committed: the same commit repeated
        // gets its first answer (in the reservation's current state).
        (Finish::Commit(n), ReservationState::Committed | ReservationState::Refunded)
            if n.unwrap_or(leg.units) == leg.committed =>
        {
            Ok(leg.view(id, now))
        }
        (Finish::Commit(_), ReservationState::Committed) => Err(Error::conflict(format!(
            "reservation {id} was already committed with {} units",
            leg.committed
        ))),
        (Finish::Commit(_), s) => Err(Error::conflict(format!(
            "reservation {id} cannot be committed: it is {}",
            state_name(s)
        ))),
        (Finish::Release, s @ (ReservationState::Committed | ReservationState::Refunded)) => {
            Err(Error::conflict(format!(
                "reservation {id} cannot be released: it is {}",
                state_name(s)
            )))
        }
        (Finish::Release, _) => Ok(leg.view(id, now)),
    }
}

pub(crate) fn state_name(s: ReservationState) -> &'static str {
    match s {
        ReservationState::Pending => "pending",
        ReservationState::Committed => "committed",
        ReservationState::Released => "released",
        ReservationState::Expired => "expired",
        ReservationState::Refunded => "refunded",
    }
}
