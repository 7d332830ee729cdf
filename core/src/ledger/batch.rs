//! Linked batches: several (channel, slot, units) reserved all-or-nothing,
//! and committed or released together.

use super::Ledger;
use super::account::{AccountHandle, PendingLeg};
use super::events::{RawEvent, ReleaseReason};
use super::ids::{ReservationId, SlotId};
use super::ops::{check_units_ttl, state_name};
use super::reservation::{BatchRecord, Leg, Record, Reservation, ReservationState};
use crate::error::{Error, Result};
use crate::model::ids::ChannelId;

/// The distinct accounts of `handles` in address order (the global lock
/// order), and for each handle the index of its account in that list.
fn lock_plan(handles: &[AccountHandle]) -> (Vec<AccountHandle>, Vec<usize>) {
    let mut uniq: Vec<AccountHandle> = handles.to_vec();
    uniq.sort_by_key(AccountHandle::addr);
    uniq.dedup();
    let pos = handles
        .iter()
        .map(|h| {
            uniq.binary_search_by_key(&h.addr(), AccountHandle::addr)
                .unwrap_or_default()
        })
        .collect();
    (uniq, pos)
}

impl Ledger {
    /// Reserves every item or none (a linked batch). Each item becomes a leg
    /// with id `id.leg(i)` that can later be committed or released on its own,
    /// or all together with [`Ledger::commit_batch`] / [`Ledger::release_batch`].
    /// The same account may appear in several items (their units add up).
    /// Errors name the failing item as `items[i]`. Repeating the batch returns
    /// its legs; the same id with other contents is a conflict.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ErrorKind, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// let (a, b) = (ChannelId::from("a"), ChannelId::from("b"));
    /// ledger.set_capacity(&a, SlotId(0), 5).unwrap();
    /// ledger.set_capacity(&b, SlotId(0), 1).unwrap();
    /// let err = ledger
    ///     .reserve_batch(1u128.into(), &[(a.clone(), SlotId(0), 2), (b.clone(), SlotId(0), 2)], 1_000)
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Capacity);
    /// assert!(err.to_string().contains("items[1]"));
    /// assert_eq!(ledger.available(&a, SlotId(0)), 5); // nothing was kept
    /// let legs = ledger
    ///     .reserve_batch(2u128.into(), &[(a.clone(), SlotId(0), 2), (b.clone(), SlotId(0), 1)], 1_000)
    ///     .unwrap();
    /// assert_eq!(legs.len(), 2);
    /// assert_eq!(legs[1].id, uoom::ledger::ReservationId(2).leg(1));
    /// ```
    pub fn reserve_batch(
        &self,
        id: ReservationId,
        items: &[(ChannelId, SlotId, u32)],
        ttl_ms: u64,
    ) -> Result<Vec<Reservation>> {
        let mut handles = Vec::with_capacity(items.len());
        for (i, (c, s, u)) in items.iter().enumerate() {
            check_units_ttl(*u, ttl_ms, &format!("items[{i}].units"))?;
            let h = self
                .account(c, *s)
                .map_err(|_| Error::not_found(format!("items[{i}]: account {c}@{s}")))?;
            handles.push((h, *u));
        }
        self.reserve_batch_on(id, &handles, ttl_ms)
    }

    /// [`Ledger::reserve_batch`] on resolved accounts.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// let c = ChannelId::from("c1");
    /// ledger.set_capacity(&c, SlotId(0), 5).unwrap();
    /// let h = ledger.account(&c, SlotId(0)).unwrap();
    /// let legs = ledger.reserve_batch_on(3u128.into(), &[(h.clone(), 2), (h, 2)], 1_000).unwrap();
    /// assert_eq!(legs.len(), 2);
    /// assert_eq!(ledger.available(&c, SlotId(0)), 1);
    /// ```
    pub fn reserve_batch_on(
        &self,
        id: ReservationId,
        items: &[(AccountHandle, u32)],
        ttl_ms: u64,
    ) -> Result<Vec<Reservation>> {
        if items.is_empty() {
            return Err(Error::invalid(
                "items",
                "empty",
                "a batch needs at least one item",
            ));
        }
        for (i, (_, u)) in items.iter().enumerate() {
            check_units_ttl(*u, ttl_ms, &format!("items[{i}].units"))?;
        }
        let now = self.clock.now();
        let rec = self.cfg.record_events;
        let mut guard = self.shards[id.shard()].0.lock();
        let shard = &mut *guard;
        shard.collect(now, self.cfg.retention_ms);
        if let Some(existing) = shard.map.get(&id) {
            return match existing {
                Record::Batch(b) if b.ttl_ms == ttl_ms && b.items[..] == items[..] => b
                    .legs
                    .iter()
                    .map(|leg_id| match shard.map.get(leg_id) {
                        Some(Record::Leg(l)) => Ok(l.view(*leg_id, now)),
                        _ => Err(Error::not_found(format!("leg {leg_id} of batch {id}"))),
                    })
                    .collect(),
                _ => Err(Error::conflict(format!(
                    "batch {id} already exists with other contents"
                ))),
            };
        }
        let legs: Vec<ReservationId> = (0..items.len() as u32).map(|i| id.leg(i)).collect();
        if let Some(clash) = legs.iter().find(|l| shard.map.contains_key(l)) {
            return Err(Error::conflict(format!(
                "leg id {clash} of batch {id} is already in use"
            )));
        }
        let handles: Vec<AccountHandle> = items.iter().map(|(h, _)| h.clone()).collect();
        let (uniq, pos) = lock_plan(&handles);
        let mut guards: Vec<_> = uniq.iter().map(|h| h.0.state.lock()).collect();
        let mut want = vec![0u64; uniq.len()];
        for g in guards.iter_mut() {
            g.expire_due(now, rec, self.cfg.alert_pct);
        }
        for (i, (h, u)) in items.iter().enumerate() {
            let g = &guards[pos[i]];
            want[pos[i]] += u64::from(*u);
            let available = u64::from(g.balance.available());
            if want[pos[i]] > available {
                let left = available.saturating_sub(want[pos[i]] - u64::from(*u));
                return Err(Error::Capacity(format!(
                    "items[{i}]: account {} needs {u} units, {left} available",
                    h.key()
                )));
            }
        }
        let expires_at = now.plus_ms(ttl_ms);
        for (i, (_, u)) in items.iter().enumerate() {
            let g = &mut guards[pos[i]];
            g.add_pending(PendingLeg {
                expires_at,
                id: legs[i],
                units: *u,
            });
            if rec {
                g.events.push(RawEvent::Reserved {
                    id: legs[i],
                    batch: Some(id),
                    units: *u,
                    expires_at,
                    at: now,
                });
            }
        }
        for g in guards.iter_mut() {
            g.check_alert(now, self.cfg.alert_pct, rec);
        }
        drop(guards);
        let mut out = Vec::with_capacity(items.len());
        for (i, (h, u)) in items.iter().enumerate() {
            let leg = Leg {
                account: h.clone(),
                batch: Some(Box::new(id)),
                units: *u,
                committed: 0,
                state: ReservationState::Pending,
                expires_at,
                ttl_ms,
                finished_ms: 0,
            };
            out.push(leg.view(legs[i], now));
            shard.map.insert(legs[i], Record::Leg(leg));
        }
        shard.map.insert(
            id,
            Record::Batch(Box::new(BatchRecord {
                items: items.to_vec().into_boxed_slice(),
                ttl_ms,
                legs: legs.into_boxed_slice(),
                expires_at,
            })),
        );
        Ok(out)
    }

    /// Commits every leg of a batch in full, atomically: all legs or none
    /// (if the batch expired, nothing is committed and the error says so).
    /// Legs already committed in full are accepted again (idempotent).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, ReservationState, SlotId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// let a = ChannelId::from("a");
    /// ledger.set_capacity(&a, SlotId(0), 5).unwrap();
    /// ledger.set_capacity(&a, SlotId(1), 5).unwrap();
    /// ledger.reserve_batch(7u128.into(), &[(a.clone(), SlotId(0), 2), (a.clone(), SlotId(1), 3)], 1_000).unwrap();
    /// let legs = ledger.commit_batch(7u128.into()).unwrap();
    /// assert!(legs.iter().all(|l| l.state == ReservationState::Committed));
    /// assert_eq!(ledger.balance(&a, SlotId(1)).unwrap().committed, 3);
    /// ```
    pub fn commit_batch(&self, id: ReservationId) -> Result<Vec<Reservation>> {
        self.finish_batch(id, true)
    }

    /// Releases every pending leg of a batch (committed legs are a conflict;
    /// released or expired legs are returned as they are).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// let a = ChannelId::from("a");
    /// ledger.set_capacity(&a, SlotId(0), 5).unwrap();
    /// ledger.reserve_batch(7u128.into(), &[(a.clone(), SlotId(0), 2), (a.clone(), SlotId(0), 3)], 1_000).unwrap();
    /// ledger.release_batch(7u128.into()).unwrap();
    /// assert_eq!(ledger.available(&a, SlotId(0)), 5);
    /// ```
    pub fn release_batch(&self, id: ReservationId) -> Result<Vec<Reservation>> {
        self.finish_batch(id, false)
    }

    fn finish_batch(&self, id: ReservationId, commit: bool) -> Result<Vec<Reservation>> {
        let now = self.clock.now();
        let rec = self.cfg.record_events;
        let mut guard = self.shards[id.shard()].0.lock();
        let shard = &mut *guard;
        let leg_ids = match shard.map.get(&id) {
            Some(Record::Batch(b)) => b.legs.clone(),
            Some(Record::Leg(_)) => {
                return Err(Error::invalid(
                    "id",
                    "not_a_batch",
                    format!("{id} is a single reservation: use commit/release"),
                ));
            }
            None => return Err(Error::not_found(format!("batch {id}"))),
        };
        let mut legs: Vec<Leg> = Vec::with_capacity(leg_ids.len());
        for l in leg_ids.iter() {
            match shard.map.get(l) {
                Some(Record::Leg(leg)) => legs.push(leg.clone()),
                _ => return Err(Error::not_found(format!("leg {l} of batch {id}"))),
            }
        }
        let handles: Vec<AccountHandle> = legs.iter().map(|l| l.account.clone()).collect();
        let (uniq, pos) = lock_plan(&handles);
        let mut guards: Vec<_> = uniq.iter().map(|h| h.0.state.lock()).collect();
        for g in guards.iter_mut() {
            g.expire_due(now, rec, self.cfg.alert_pct);
        }
        // Decide for every leg before changing anything.
        for (i, leg) in legs.iter_mut().enumerate() {
            if leg.state.is_pending()
                && !guards[pos[i]]
                    .pending
                    .iter()
                    .any(|p| p.id == leg_ids[i] && p.expires_at == leg.expires_at)
            {
                leg.state = ReservationState::Expired;
            }
        }
        for (i, leg) in legs.iter().enumerate() {
            let bad = match (commit, leg.state) {
                (true, ReservationState::Pending) => false,
                // A refunded leg was committed in full before: a repeated
                // commit_batch is accepted (idempotent), a release is not.
                (true, ReservationState::Committed | ReservationState::Refunded) => {
                    leg.committed != leg.units
                }
                (true, _) => true,
                (false, ReservationState::Committed | ReservationState::Refunded) => true,
                (false, _) => false,
            };
            if bad {
                // Persist expiries found on the way; nothing else changed.
                drop(guards);
                for (j, l) in legs.iter().enumerate() {
                    if let Some(Record::Leg(stored)) = shard.map.get_mut(&leg_ids[j])
                        && stored.state.is_pending()
                        && l.state == ReservationState::Expired
                    {
                        stored.state = ReservationState::Expired;
                        stored.set_finished_at(stored.expires_at);
                        let t = stored.expires_at;
                        shard.map.finished(leg_ids[j], t);
                    }
                }
                let verb = if commit { "committed" } else { "released" };
                return Err(Error::conflict(format!(
                    "batch {id} cannot be {verb}: leg {i} is {}",
                    state_name(leg.state)
                )));
            }
        }
        for (i, leg) in legs.iter_mut().enumerate() {
            if !leg.state.is_pending() {
                continue;
            }
            let g = &mut guards[pos[i]];
            g.take_pending(leg.expires_at, leg_ids[i]);
            if commit {
                g.balance.committed += leg.units;
                leg.committed = leg.units;
                leg.state = ReservationState::Committed;
                if rec {
                    g.events.push(RawEvent::Committed {
                        id: leg_ids[i],
                        units: leg.units,
                        at: now,
                    });
                }
            } else {
                leg.state = ReservationState::Released;
                if rec {
                    g.events.push(RawEvent::Released {
                        id: leg_ids[i],
                        units: leg.units,
                        reason: ReleaseReason::Released,
                        at: now,
                    });
                }
            }
        }
        for g in guards.iter_mut() {
            g.check_alert(now, self.cfg.alert_pct, rec);
        }
        drop(guards);
        let mut out = Vec::with_capacity(legs.len());
        for (i, mut leg) in legs.into_iter().enumerate() {
            out.push(leg.view(leg_ids[i], now));
            let mut newly_finished = None;
            if let Some(Record::Leg(stored)) = shard.map.get_mut(&leg_ids[i]) {
                if stored.state.is_pending() && !leg.state.is_pending() {
                    let t = if leg.state == ReservationState::Expired {
                        leg.expires_at
                    } else {
                        now
                    };
                    leg.set_finished_at(t);
                    newly_finished = Some(t);
                }
                *stored = leg;
            }
            if let Some(t) = newly_finished {
                shard.map.finished(leg_ids[i], t);
            }
        }
        Ok(out)
    }
}
