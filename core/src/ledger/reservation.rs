//! Reservation records, kept in a sharded map keyed by id (the idempotency
//! store), and the public view of a reservation.

use super::account::AccountHandle;
use super::ids::{ReservationId, SHARDS};
use super::store::IdStore;
use crate::clock::Millis;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Where a reservation is in its life: pending, then exactly one of
/// committed, released or expired (TigerBeetle's post / void / expire); a
/// committed one may later be refunded (TigerBeetle would post a reversal).
///
/// ```
/// use uoom::ledger::ReservationState;
/// assert!(ReservationState::Pending.is_pending());
/// assert!(!ReservationState::Expired.is_pending());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationState {
    /// Holding units until commit, release or expiry.
    Pending,
    /// Committed (possibly partially; the rest went back).
    Committed,
    /// Released by the caller.
    Released,
    /// Its TTL passed before a commit.
    Expired,
    /// Committed, then its committed units were given back with
    /// [`crate::ledger::Ledger::refund`] (an order cancelled after it was
    /// confirmed). Terminal.
    Refunded,
}

impl ReservationState {
    /// The snake_case wire name (`pending`, `committed`, `released`,
    /// `expired`, `refunded`), as serde writes it.
    ///
    /// ```
    /// assert_eq!(uoom::ledger::ReservationState::Pending.as_str(), "pending");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationState::Pending => "pending",
            ReservationState::Committed => "committed",
            ReservationState::Released => "released",
            ReservationState::Expired => "expired",
            ReservationState::Refunded => "refunded",
        }
    }

    /// True while the reservation holds pending units.
    pub fn is_pending(self) -> bool {
        self == ReservationState::Pending
    }
}

/// A reservation (one leg of a batch, or a single reservation) as seen at the
/// time of the call.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::{Ledger, ReservationState, SlotId};
/// use uoom::{ChannelId, ManualClock, Millis};
/// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(1_000))));
/// let c = ChannelId::from("c1");
/// ledger.set_capacity(&c, SlotId(0), 5).unwrap();
/// let r = ledger.reserve(9u128.into(), &c, SlotId(0), 2, 500).unwrap();
/// assert_eq!((r.units, r.state, r.expires_at), (2, ReservationState::Pending, Millis(1_500)));
/// assert_eq!(r.account.key().channel, c);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reservation {
    /// The reservation's id (for a batch leg: the derived leg id).
    pub id: ReservationId,
    /// The batch this leg belongs to, if any.
    pub batch: Option<ReservationId>,
    /// The account it holds units on.
    pub account: AccountHandle,
    /// Units reserved.
    pub units: u32,
    /// Units committed (0 unless committed).
    pub committed: u32,
    /// Current state.
    pub state: ReservationState,
    /// When it was created.
    pub created_at: Millis,
    /// When it expires if still pending.
    pub expires_at: Millis,
}

/// One reservation leg as stored: 48 bytes, so that a store entry with its
/// id is 64 (the store holds every reservation of the retention window and
/// is the ledger's main memory footprint). The batch id is boxed (only batch
/// legs have one); creation time is `expires_at - ttl_ms`; the finish time
/// is kept as ms after creation in 32 bits.
#[derive(Debug, Clone)]
pub(crate) struct Leg {
    pub account: AccountHandle,
    pub batch: Option<Box<ReservationId>>,
    pub expires_at: Millis,
    pub ttl_ms: u64,
    pub units: u32,
    pub committed: u32,
    pub state: ReservationState,
    /// When it left the pending state (or was refunded), in ms after its
    /// creation; the retention window counts from there. Saturates after
    /// 49.7 days (a refund that late is remembered as of that time).
    pub finished_ms: u32,
}

impl Leg {
    /// When it finished (meaningless while pending).
    pub fn finished_at(&self) -> Millis {
        self.created_at().plus_ms(u64::from(self.finished_ms))
    }

    pub fn set_finished_at(&mut self, t: Millis) {
        let after = t.0.saturating_sub(self.created_at().0);
        self.finished_ms = u32::try_from(after).unwrap_or(u32::MAX);
    }

    pub fn created_at(&self) -> Millis {
        Millis(self.expires_at.0.saturating_sub(self.ttl_ms))
    }

    pub fn view(&self, id: ReservationId, now: Millis) -> Reservation {
        // A pending leg past its expiry is expired even if no one touched its account yet.
        let state = if self.state.is_pending() && self.expires_at <= now {
            ReservationState::Expired
        } else {
            self.state
        };
        Reservation {
            id,
            batch: self.batch.as_deref().copied(),
            account: self.account.clone(),
            units: self.units,
            committed: self.committed,
            state,
            created_at: self.created_at(),
            expires_at: self.expires_at,
        }
    }
}

/// A linked batch as stored: its contents (for idempotency) and its legs.
#[derive(Debug, Clone)]
pub(crate) struct BatchRecord {
    pub items: Box<[(AccountHandle, u32)]>,
    pub ttl_ms: u64,
    pub legs: Box<[ReservationId]>,
    pub expires_at: Millis,
}

#[derive(Debug, Clone)]
pub(crate) enum Record {
    Leg(Leg),
    Batch(Box<BatchRecord>),
}

/// Hasher for ids that are already uniformly distributed (UUIDs, FNV hashes,
/// mixed leg ids) or small integers: one multiply-xorshift instead of SipHash.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u128(&mut self, v: u128) {
        let x = (v as u64) ^ ((v >> 64) as u64).rotate_left(32) ^ self.0;
        let m = u128::from(x) * 0x9e37_79b9_7f4a_7c15_u128;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
}

pub(crate) type IdMap<V> = HashMap<ReservationId, V, BuildHasherDefault<IdHasher>>;

#[derive(Default)]
pub(crate) struct ShardState {
    /// Every reservation and batch of the retention window (see `store.rs`).
    pub map: IdStore,
}

impl ShardState {
    /// Forgets finished reservations older than the retention window.
    #[inline]
    pub fn collect(&mut self, now: Millis, retention_ms: u64) {
        self.map.collect(now, retention_ms);
    }
}

/// One shard on its own cache lines so two threads on different shards do
/// not share a line.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct Shard(pub Mutex<ShardState>);

pub(crate) fn new_shards() -> Box<[Shard]> {
    (0..SHARDS).map(|_| Shard::default()).collect()
}
#[cfg(test)]
mod tests {
    #[test]
    fn a_store_entry_is_one_cache_line() {
        assert_eq!(
            std::mem::size_of::<(super::ReservationId, super::Record)>(),
            64
        );
        assert_eq!(std::mem::size_of::<super::super::store::Entry>(), 64);
    }
}
