//! The in-process authority: one lock over a few maps. The default for a
//! single process and the reference model the property tests check a
//! durable authority against.

use super::authority::LeaseAuthority;
use super::{
    AccountState, Epoch, FenceReason, Lease, LeaseError, LeaseId, LeaseReply, ReplicaId,
    StaleLease, check_grant, check_ttl,
};
use crate::clock::{Clock, Millis};
use crate::error::Error;
use crate::ledger::ids::{AccountKey, SlotId};
use crate::model::ids::ChannelId;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// A [`LeaseAuthority`] in memory, on an injected [`Clock`] (the clock that
/// fences). `Send + Sync`; every call takes one lock.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::SlotId;
/// use uoom::ledger::lease::{LeaseAuthority, MemoryAuthority, ReplicaId};
/// use uoom::{ChannelId, ManualClock, Millis};
/// let auth = MemoryAuthority::new(Arc::new(ManualClock::new(Millis(0))));
/// let c = ChannelId::from("c1");
/// auth.set_capacity(&c, SlotId(0), 10).unwrap();
/// let a = auth.grant(&ReplicaId::from("a"), &c, SlotId(0), 7, 1_000).unwrap();
/// let b = auth.grant(&ReplicaId::from("b"), &c, SlotId(0), 7, 1_000).unwrap();
/// assert_eq!((a.lease.units, b.lease.units), (7, 3));
/// assert!(b.lease.epoch > a.lease.epoch);
/// ```
pub struct MemoryAuthority {
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    accounts: HashMap<AccountKey, Account>,
    rows: HashMap<LeaseId, Lease>,
    owners: HashMap<(ReplicaId, AccountKey), LeaseId>,
    last_epoch: u64,
    last_row: u64,
}

#[derive(Default)]
struct Account {
    capacity: u32,
    committed: u32,
    rows: Vec<LeaseId>,
}

impl Inner {
    fn account(&self, key: &AccountKey) -> Result<&Account, LeaseError> {
        self.accounts
            .get(key)
            .ok_or_else(|| Error::not_found(format!("account {key}")).into())
    }

    fn granted(&self, acct: &Account, now: Millis) -> u32 {
        acct.rows
            .iter()
            .filter_map(|id| self.rows.get(id))
            .filter(|l| l.is_live(now))
            .map(|l| u64::from(l.units))
            .sum::<u64>()
            .min(u64::from(u32::MAX)) as u32
    }

    fn state(&self, key: &AccountKey, now: Millis) -> Result<AccountState, LeaseError> {
        let acct = self.account(key)?;
        Ok(AccountState {
            channel: key.channel.clone(),
            slot: key.slot,
            capacity: acct.capacity,
            granted: self.granted(acct, now),
            committed: acct.committed,
        })
    }

    /// The row `lease` if it is live at `epoch`, else why not.
    fn fenced(&self, lease: LeaseId, epoch: Epoch, now: Millis) -> Result<&Lease, LeaseError> {
        let row = self
            .rows
            .get(&lease)
            .ok_or_else(|| Error::not_found(format!("{lease}")))?;
        let stale = |reason| {
            LeaseError::Stale(StaleLease {
                lease,
                epoch,
                reason,
            })
        };
        if epoch < row.epoch {
            return Err(stale(FenceReason::Superseded { current: row.epoch }));
        }
        if epoch > row.epoch {
            return Err(Error::not_found(format!("{lease} at {epoch}")).into());
        }
        if row.ended {
            return Err(stale(FenceReason::Revoked));
        }
        if now >= row.expires_at {
            return Err(stale(FenceReason::Expired {
                expires_at: row.expires_at,
                now,
            }));
        }
        Ok(row)
    }

    fn key_of(lease: &Lease) -> AccountKey {
        AccountKey {
            channel: lease.channel.clone(),
            slot: lease.slot,
        }
    }

    fn reply(&self, lease: LeaseId, now: Millis) -> Result<LeaseReply, LeaseError> {
        let lease = self.rows[&lease].clone();
        let account = self.state(&Inner::key_of(&lease), now)?;
        Ok(LeaseReply { lease, account })
    }

    /// Validates a fenced call, then applies `f` to the live row.
    fn with_live(
        &mut self,
        lease: LeaseId,
        epoch: Epoch,
        now: Millis,
        f: impl FnOnce(&mut Lease, u32) -> Result<(), LeaseError>,
    ) -> Result<LeaseReply, LeaseError> {
        let key = Inner::key_of(self.fenced(lease, epoch, now)?);
        let free = self.state(&key, now)?.free();
        let row = self.rows.get_mut(&lease).expect("fenced row exists");
        f(row, free)?;
        self.reply(lease, now)
    }
}

impl MemoryAuthority {
    /// An empty authority reading time from `clock`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::lease::{LeaseAuthority, MemoryAuthority};
    /// use uoom::{ChannelId, ErrorKind, ManualClock, Millis, ledger::SlotId};
    /// let auth = MemoryAuthority::new(Arc::new(ManualClock::new(Millis(0))));
    /// let err = auth.state(&ChannelId::from("c1"), SlotId(0)).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::NotFound);
    /// ```
    pub fn new(clock: Arc<dyn Clock>) -> MemoryAuthority {
        MemoryAuthority {
            clock,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The authority's current time (the clock that fences).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::{ManualClock, Millis};
    /// let auth = uoom::ledger::lease::MemoryAuthority::new(Arc::new(ManualClock::new(Millis(5))));
    /// assert_eq!(auth.now(), Millis(5));
    /// ```
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Every account, in key order (for audits and tests).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::SlotId;
    /// use uoom::ledger::lease::{LeaseAuthority, MemoryAuthority};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let auth = MemoryAuthority::new(Arc::new(ManualClock::new(Millis(0))));
    /// auth.set_capacity(&ChannelId::from("b"), SlotId(0), 1).unwrap();
    /// auth.set_capacity(&ChannelId::from("a"), SlotId(0), 2).unwrap();
    /// let all = auth.accounts();
    /// assert_eq!((all[0].channel.as_str(), all[0].capacity), ("a", 2));
    /// ```
    pub fn accounts(&self) -> Vec<AccountState> {
        let now = self.clock.now();
        let inner = self.inner.lock();
        let mut keys: Vec<&AccountKey> = inner.accounts.keys().collect();
        keys.sort();
        keys.into_iter()
            .filter_map(|k| inner.state(k, now).ok())
            .collect()
    }
}

impl LeaseAuthority for MemoryAuthority {
    fn set_capacity(
        &self,
        channel: &ChannelId,
        slot: SlotId,
        capacity: u32,
    ) -> Result<AccountState, LeaseError> {
        let now = self.clock.now();
        let key = AccountKey {
            channel: channel.clone(),
            slot,
        };
        let mut inner = self.inner.lock();
        inner.accounts.entry(key.clone()).or_default().capacity = capacity;
        loop {
            let st = inner.state(&key, now)?;
            if u64::from(st.committed) + u64::from(st.granted) <= u64::from(capacity) {
                break;
            }
            // Revoke the live lease with the most units (ties: lowest id).
            let victim = inner.accounts[&key]
                .rows
                .iter()
                .filter_map(|id| inner.rows.get(id))
                .filter(|l| l.is_live(now) && l.units > 0)
                .max_by_key(|l| (l.units, std::cmp::Reverse(l.id)))
                .map(|l| l.id);
            let Some(victim) = victim else { break };
            let row = inner.rows.get_mut(&victim).expect("row exists");
            row.ended = true;
            tracing::info!(lease = %victim, replica = %row.replica, units = row.units, "lease revoked by a capacity cut");
        }
        let st = inner.state(&key, now)?;
        if st.overcommitted() > 0 {
            tracing::warn!(account = %key, capacity, committed = st.committed, "capacity set below committed units");
        }
        Ok(st)
    }

    fn state(&self, channel: &ChannelId, slot: SlotId) -> Result<AccountState, LeaseError> {
        let now = self.clock.now();
        self.inner.lock().state(
            &AccountKey {
                channel: channel.clone(),
                slot,
            },
            now,
        )
    }

    fn leases_of(&self, replica: &ReplicaId) -> Result<Vec<Lease>, LeaseError> {
        let inner = self.inner.lock();
        let mut out: Vec<Lease> = inner
            .owners
            .iter()
            .filter(|((r, _), _)| r == replica)
            .map(|(_, id)| inner.rows[id].clone())
            .collect();
        out.sort_by_key(|l| l.id);
        Ok(out)
    }

    fn grant(
        &self,
        replica: &ReplicaId,
        channel: &ChannelId,
        slot: SlotId,
        want: u32,
        ttl_ms: u64,
    ) -> Result<LeaseReply, LeaseError> {
        check_grant(want, ttl_ms)?;
        let now = self.clock.now();
        let key = AccountKey {
            channel: channel.clone(),
            slot,
        };
        let mut inner = self.inner.lock();
        inner.account(&key)?;
        let owner = (replica.clone(), key.clone());
        let id = match inner.owners.get(&owner) {
            Some(id) => *id,
            None => {
                inner.last_row += 1;
                let id = LeaseId(inner.last_row);
                inner.owners.insert(owner, id);
                inner
                    .accounts
                    .get_mut(&key)
                    .expect("account exists")
                    .rows
                    .push(id);
                id
            }
        };
        // The previous incarnation (if any) ends first: its units are free.
        if let Some(old) = inner.rows.get_mut(&id) {
            old.ended = true;
        }
        let free = inner.state(&key, now)?.free();
        inner.last_epoch += 1;
        let lease = Lease {
            id,
            epoch: Epoch(inner.last_epoch),
            replica: replica.clone(),
            channel: channel.clone(),
            slot,
            units: want.min(free),
            committed: 0,
            granted_at: now,
            expires_at: now.plus_ms(ttl_ms),
            ended: false,
        };
        inner.rows.insert(id, lease);
        inner.reply(id, now)
    }

    fn renew(&self, lease: LeaseId, epoch: Epoch, ttl_ms: u64) -> Result<LeaseReply, LeaseError> {
        check_ttl(ttl_ms)?;
        let now = self.clock.now();
        self.inner.lock().with_live(lease, epoch, now, |row, _| {
            row.expires_at = now.plus_ms(ttl_ms);
            Ok(())
        })
    }

    fn resize(
        &self,
        lease: LeaseId,
        epoch: Epoch,
        target: u32,
        ttl_ms: u64,
    ) -> Result<LeaseReply, LeaseError> {
        check_ttl(ttl_ms)?;
        let now = self.clock.now();
        self.inner.lock().with_live(lease, epoch, now, |row, free| {
            row.units = if target <= row.units {
                target
            } else {
                row.units + (target - row.units).min(free)
            };
            row.expires_at = now.plus_ms(ttl_ms);
            Ok(())
        })
    }

    fn return_units(
        &self,
        lease: LeaseId,
        epoch: Epoch,
        units: u32,
    ) -> Result<LeaseReply, LeaseError> {
        let now = self.clock.now();
        self.inner.lock().with_live(lease, epoch, now, |row, _| {
            if units > row.units {
                return Err(Error::invalid(
                    "units",
                    "out_of_range",
                    format!("{lease} holds {} units, cannot return {units}", row.units),
                )
                .into());
            }
            row.units -= units;
            Ok(())
        })
    }

    fn commit(&self, lease: LeaseId, epoch: Epoch, units: u32) -> Result<LeaseReply, LeaseError> {
        if units == 0 {
            return Err(
                Error::invalid("units", "out_of_range", "a commit needs at least 1 unit").into(),
            );
        }
        let now = self.clock.now();
        let mut inner = self.inner.lock();
        let row = inner.fenced(lease, epoch, now)?;
        if units > row.units {
            return Err(Error::Capacity(format!(
                "{lease} at {epoch} holds {} units, commit of {units} refused",
                row.units
            ))
            .into());
        }
        let key = Inner::key_of(row);
        let row = inner.rows.get_mut(&lease).expect("fenced row exists");
        row.units -= units;
        row.committed += units;
        let acct = inner.accounts.get_mut(&key).expect("account exists");
        acct.committed += units;
        inner.reply(lease, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::error::ErrorKind;

    fn setup(cap: u32) -> (Arc<ManualClock>, MemoryAuthority, ChannelId) {
        let clock = Arc::new(ManualClock::new(Millis(0)));
        let auth = MemoryAuthority::new(clock.clone());
        let c = ChannelId::from("c");
        auth.set_capacity(&c, SlotId(0), cap).unwrap();
        (clock, auth, c)
    }

    #[test]
    fn grants_never_exceed_the_free_pool() {
        let (_, auth, c) = setup(10);
        let r = |s: &str| ReplicaId::from(s);
        let a = auth.grant(&r("a"), &c, SlotId(0), 6, 100).unwrap();
        let b = auth.grant(&r("b"), &c, SlotId(0), 6, 100).unwrap();
        assert_eq!((a.lease.units, b.lease.units), (6, 4));
        let z = auth.grant(&r("z"), &c, SlotId(0), 1, 100).unwrap();
        assert_eq!(z.lease.units, 0);
        auth.commit(a.lease.id, a.lease.epoch, 6).unwrap();
        let s = auth.state(&c, SlotId(0)).unwrap();
        assert_eq!((s.committed, s.granted, s.free()), (6, 4, 0));
    }

    #[test]
    fn a_regrant_supersedes_the_previous_incarnation() {
        let (_, auth, c) = setup(10);
        let r = ReplicaId::from("a");
        let first = auth.grant(&r, &c, SlotId(0), 8, 100).unwrap().lease;
        let second = auth.grant(&r, &c, SlotId(0), 9, 100).unwrap().lease;
        assert_eq!(first.id, second.id);
        assert_eq!(
            second.units, 9,
            "the old incarnation's units were freed first"
        );
        let err = auth.commit(first.id, first.epoch, 1).unwrap_err();
        assert_eq!(
            err,
            LeaseError::Stale(StaleLease {
                lease: first.id,
                epoch: first.epoch,
                reason: FenceReason::Superseded {
                    current: second.epoch
                }
            })
        );
        assert_eq!(auth.leases_of(&r).unwrap(), vec![second]);
    }

    #[test]
    fn expiry_is_judged_on_the_authority_clock() {
        let (clock, auth, c) = setup(10);
        let l = auth
            .grant(&ReplicaId::from("a"), &c, SlotId(0), 5, 100)
            .unwrap()
            .lease;
        clock.advance_ms(99);
        auth.renew(l.id, l.epoch, 100).unwrap();
        clock.advance_ms(99);
        auth.commit(l.id, l.epoch, 2).unwrap();
        clock.advance_ms(1);
        let err = auth.commit(l.id, l.epoch, 1).unwrap_err();
        assert!(matches!(
            err,
            LeaseError::Stale(StaleLease {
                reason: FenceReason::Expired { .. },
                ..
            })
        ));
        assert!(auth.renew(l.id, l.epoch, 100).unwrap_err().is_stale());
        let s = auth.state(&c, SlotId(0)).unwrap();
        assert_eq!((s.committed, s.granted), (2, 0));
    }

    #[test]
    fn resize_grows_within_the_pool_and_returns_surplus() {
        let (_, auth, c) = setup(10);
        let a = auth
            .grant(&ReplicaId::from("a"), &c, SlotId(0), 3, 100)
            .unwrap()
            .lease;
        auth.grant(&ReplicaId::from("b"), &c, SlotId(0), 5, 100)
            .unwrap();
        let grown = auth.resize(a.id, a.epoch, 20, 100).unwrap();
        assert_eq!((grown.lease.units, grown.account.free()), (5, 0));
        let shrunk = auth.resize(a.id, a.epoch, 1, 100).unwrap();
        assert_eq!((shrunk.lease.units, shrunk.account.free()), (1, 4));
        let back = auth.return_units(a.id, a.epoch, 1).unwrap();
        assert_eq!(back.lease.units, 0);
        let err = auth.return_units(a.id, a.epoch, 1).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation);
    }

    #[test]
    fn a_capacity_cut_revokes_leases_but_keeps_commits() {
        let (_, auth, c) = setup(10);
        let a = auth
            .grant(&ReplicaId::from("a"), &c, SlotId(0), 6, 100)
            .unwrap()
            .lease;
        let b = auth
            .grant(&ReplicaId::from("b"), &c, SlotId(0), 4, 100)
            .unwrap()
            .lease;
        auth.commit(b.id, b.epoch, 2).unwrap();
        let s = auth.set_capacity(&c, SlotId(0), 5).unwrap();
        assert_eq!((s.committed, s.granted), (2, 2), "a (6 units) was revoked");
        assert!(auth.commit(a.id, a.epoch, 1).unwrap_err().is_stale());
        auth.commit(b.id, b.epoch, 2).unwrap();
        let s = auth.set_capacity(&c, SlotId(0), 1).unwrap();
        assert_eq!((s.committed, s.granted, s.overcommitted()), (4, 0, 3));
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let (_, auth, c) = setup(10);
        let r = ReplicaId::from("a");
        let kind = |e: LeaseError| e.kind();
        assert_eq!(
            kind(auth.grant(&r, &c, SlotId(0), 0, 100).unwrap_err()),
            ErrorKind::Validation
        );
        assert_eq!(
            kind(auth.grant(&r, &c, SlotId(0), 1, 0).unwrap_err()),
            ErrorKind::Validation
        );
        assert_eq!(
            kind(auth.grant(&r, &c, SlotId(9), 1, 10).unwrap_err()),
            ErrorKind::NotFound
        );
        let l = auth.grant(&r, &c, SlotId(0), 2, 100).unwrap().lease;
        assert_eq!(
            kind(auth.commit(l.id, l.epoch, 0).unwrap_err()),
            ErrorKind::Validation
        );
        assert_eq!(
            kind(auth.commit(l.id, l.epoch, 3).unwrap_err()),
            ErrorKind::Capacity
        );
        assert_eq!(
            kind(auth.commit(LeaseId(99), l.epoch, 1).unwrap_err()),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(auth.commit(l.id, Epoch(l.epoch.0 + 1), 1).unwrap_err()),
            ErrorKind::NotFound
        );
    }
}
