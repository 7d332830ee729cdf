//! One account (channel × slot): its balance, its pending reservations ordered
//! by expiry, and its event buffer. Everything here runs under the account's
//! own lock, so operations on distinct accounts never contend.

use super::events::{RawEvent, ReleaseReason};
use super::ids::{AccountKey, ReservationId};
use crate::clock::Millis;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

/// The balance of one account at one instant (expiries already applied).
///
/// `pending + committed <= capacity` holds unless capacity was lowered below
/// what was already held; then [`Balance::overcommitted`] says by how much and
/// [`Balance::available`] is zero, never negative.
///
/// ```
/// let b = uoom::ledger::Balance { capacity: 10, pending: 3, committed: 4 };
/// assert_eq!(b.available(), 3);
/// let low = uoom::ledger::Balance { capacity: 5, pending: 3, committed: 4 };
/// assert_eq!((low.available(), low.overcommitted()), (0, 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Balance {
    /// Units the account can hold.
    pub capacity: u32,
    /// Units reserved and not yet committed, released or expired.
    pub pending: u32,
    /// Units committed.
    pub committed: u32,
}

impl Balance {
    /// Units that can still be reserved.
    pub fn available(&self) -> u32 {
        let held = u64::from(self.pending) + u64::from(self.committed);
        u64::from(self.capacity).saturating_sub(held) as u32
    }

    /// Units held beyond capacity (non-zero only after capacity was lowered).
    pub fn overcommitted(&self) -> u32 {
        let held = u64::from(self.pending) + u64::from(self.committed);
        held.saturating_sub(u64::from(self.capacity)) as u32
    }

    /// Share of capacity held, in [0, 1] (1 for a zero-capacity account, and
    /// capped at 1 when over-committed).
    pub fn utilisation(&self) -> f64 {
        if self.capacity == 0 {
            return 1.0;
        }
        let held = f64::from(self.pending) + f64::from(self.committed);
        (held / f64::from(self.capacity)).min(1.0)
    }
}

/// What [`crate::ledger::Ledger::set_capacity`] did.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::{Ledger, SlotId};
/// use uoom::{ChannelId, ManualClock, Millis};
/// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
/// let c = ChannelId::from("kitchen");
/// let created = ledger.set_capacity(&c, SlotId(1), 10).unwrap();
/// assert_eq!(created.old, None);
/// ledger.reserve(1u128.into(), &c, SlotId(1), 8, 60_000).unwrap();
/// // The kitchen closes early: capacity drops below what is held.
/// let lowered = ledger.set_capacity(&c, SlotId(1), 5).unwrap();
/// assert_eq!((lowered.old, lowered.overcommitted), (Some(10), 3));
/// assert_eq!(ledger.available(&c, SlotId(1)), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityChange {
    /// The account.
    pub account: AccountKey,
    /// Capacity before (`None` if the account was created by this call).
    pub old: Option<u32>,
    /// Capacity now.
    pub new: u32,
    /// Balance after the change.
    pub balance: Balance,
    /// Units held beyond the new capacity (0 unless lowered below what is held).
    pub overcommitted: u32,
}

/// A pending leg in an account's expiry queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PendingLeg {
    pub expires_at: Millis,
    pub id: ReservationId,
    pub units: u32,
}

/// The mutable part of an account.
#[derive(Debug, Default)]
pub(crate) struct AccountState {
    pub balance: Balance,
    /// Pending legs sorted by (expires_at, id). A deque: with one TTL per
    /// caller inserts land at the back and expiries leave from the front, and
    /// it never reallocates once warm (a B-tree allocates per node).
    pub pending: VecDeque<PendingLeg>,
    pub low_alert: bool,
    pub events: Vec<RawEvent>,
}

impl AccountState {
    /// Moves every leg due at `now` (expires_at <= now) back to available.
    #[inline]
    pub fn expire_due(&mut self, now: Millis, record: bool, alert_pct: u32) -> usize {
        let mut n = 0;
        while let Some(front) = self.pending.front() {
            if front.expires_at > now {
                break;
            }
            let leg = *front;
            self.pending.pop_front();
            self.balance.pending -= leg.units;
            if record {
                self.events.push(RawEvent::Released {
                    id: leg.id,
                    units: leg.units,
                    reason: ReleaseReason::Expired,
                    at: leg.expires_at,
                });
            }
            n += 1;
        }
        if n > 0 {
            // Availability only grew: this can re-arm the alert, never fire it.
            self.check_alert(now, alert_pct, record);
        }
        n
    }

    fn position(&self, expires_at: Millis, id: ReservationId) -> Result<usize, usize> {
        // Fast path: the newest leg is usually the one asked about.
        if let Some(back) = self.pending.back()
            && back.expires_at == expires_at
            && back.id == id
        {
            return Ok(self.pending.len() - 1);
        }
        self.pending
            .binary_search_by(|p| (p.expires_at, p.id).cmp(&(expires_at, id)))
    }

    /// Adds a pending leg (the caller checked availability).
    #[inline]
    pub fn add_pending(&mut self, leg: PendingLeg) {
        self.balance.pending += leg.units;
        match self.pending.back() {
            Some(b) if (b.expires_at, b.id) > (leg.expires_at, leg.id) => {
                let at = self.position(leg.expires_at, leg.id).unwrap_or_else(|e| e);
                self.pending.insert(at, leg);
            }
            _ => self.pending.push_back(leg),
        }
    }

    /// Removes a pending leg; false if it is no longer pending (it expired).
    #[inline]
    pub fn take_pending(&mut self, expires_at: Millis, id: ReservationId) -> Option<u32> {
        let at = self.position(expires_at, id).ok()?;
        // The newest leg (a commit right after its reserve) is the usual one.
        let leg = if at + 1 == self.pending.len() {
            self.pending.pop_back()?
        } else {
            self.pending.remove(at)?
        };
        self.balance.pending -= leg.units;
        Some(leg.units)
    }

    /// Fires the low-availability alert once per downward crossing.
    #[inline]
    pub fn check_alert(&mut self, at: Millis, threshold_pct: u32, record: bool) {
        let b = self.balance;
        let low = b.capacity > 0
            && u64::from(b.available()) * 100 < u64::from(b.capacity) * u64::from(threshold_pct);
        if low && !self.low_alert {
            self.low_alert = true;
            if record {
                self.events.push(RawEvent::Alert {
                    available: b.available(),
                    capacity: b.capacity,
                    at,
                });
            }
        } else if !low {
            self.low_alert = false;
        }
    }
}

pub(crate) struct AccountCell {
    pub key: AccountKey,
    /// Creation order, for deterministic listings.
    pub ordinal: usize,
    pub state: Mutex<AccountState>,
}

/// A resolved account: the fast path for callers that reserve against the
/// same account many times (resolve `(channel, slot)` once with
/// [`crate::ledger::Ledger::account`], then skip the lookup).
///
/// Cheap to clone (an `Arc`); compares by account identity.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::{Ledger, SlotId};
/// use uoom::{ChannelId, ManualClock, Millis};
/// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
/// let c = ChannelId::from("c1");
/// ledger.set_capacity(&c, SlotId(0), 5).unwrap();
/// let h = ledger.account(&c, SlotId(0)).unwrap();
/// assert_eq!(h.key().to_string(), "c1@0");
/// ledger.reserve_on(7u128.into(), &h, 2, 1_000).unwrap();
/// assert_eq!(ledger.balance_of(&h).pending, 2);
/// ```
#[derive(Clone)]
pub struct AccountHandle(pub(crate) Arc<AccountCell>);

impl AccountHandle {
    /// The account's key.
    pub fn key(&self) -> &AccountKey {
        &self.0.key
    }

    pub(crate) fn addr(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
}

impl PartialEq for AccountHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for AccountHandle {}

impl fmt::Debug for AccountHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountHandle({})", self.0.key)
    }
}

impl Serialize for AccountHandle {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.key.serialize(s)
    }
}
