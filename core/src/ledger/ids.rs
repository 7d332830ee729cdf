//! Identifiers of the ledger: reservation ids (idempotency keys), slots and
//! account keys.

use crate::model::ids::{ChannelId, OrderId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Number of reservation shards; a power of two so the shard is a mask of the id.
pub(crate) const SHARDS: usize = 64;

/// The idempotency key of a reservation: 128 bits.
///
/// Order ids (UUIDs) convert losslessly; strings are hashed with 128-bit
/// FNV-1a, so two different strings collide with negligible probability
/// (about 2^-64 after 2^32 ids). The low six bits pick the reservation shard,
/// which is why legs of a batch keep the low bits of their batch id.
///
/// ```
/// use uoom::ledger::ReservationId;
/// assert_eq!(ReservationId::from(7u128), ReservationId(7));
/// assert_eq!(ReservationId::from("order-1"), ReservationId::from(String::from("order-1")));
/// assert_ne!(ReservationId::from("order-1"), ReservationId::from("order-2"));
/// let order = uoom::OrderId::from_u128(9);
/// assert_eq!(ReservationId::from(order), ReservationId(9));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReservationId(pub u128);

impl ReservationId {
    /// The id of leg `index` of the batch whose id is `self`.
    ///
    /// Each leg of a linked batch is an ordinary reservation afterwards (it
    /// can be committed or released on its own), like TigerBeetle's linked
    /// transfers; its id is derived so that it is deterministic and lives in
    /// the same shard as the batch.
    ///
    /// ```
    /// use uoom::ledger::ReservationId;
    /// let b = ReservationId(42);
    /// assert_eq!(b.leg(0), b.leg(0));
    /// assert_ne!(b.leg(0), b.leg(1));
    /// assert_ne!(b.leg(0), b);
    /// ```
    pub fn leg(self, index: u32) -> ReservationId {
        let lo = self.0 as u64;
        let hi = (self.0 >> 64) as u64;
        let a = splitmix(lo ^ splitmix(hi ^ (u64::from(index) + 1)));
        let b = splitmix(a ^ hi ^ 0x9e37_79b9_7f4a_7c15);
        let mixed = (u128::from(b) << 64) | u128::from(a);
        let mask = (SHARDS - 1) as u128;
        ReservationId((mixed & !mask) | (self.0 & mask))
    }

    pub(crate) fn shard(self) -> usize {
        (self.0 as usize) & (SHARDS - 1)
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 128-bit FNV-1a: stable across runs and platforms, unlike `std`'s hasher.
pub(crate) fn fnv1a_128(bytes: &[u8]) -> u128 {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in bytes {
        h ^= u128::from(*b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    h
}

impl From<u128> for ReservationId {
    fn from(v: u128) -> Self {
        ReservationId(v)
    }
}

impl From<&str> for ReservationId {
    fn from(s: &str) -> Self {
        ReservationId(fnv1a_128(s.as_bytes()))
    }
}

impl From<String> for ReservationId {
    fn from(s: String) -> Self {
        ReservationId::from(s.as_str())
    }
}

impl From<OrderId> for ReservationId {
    fn from(o: OrderId) -> Self {
        ReservationId(o.0.as_u128())
    }
}

impl fmt::Display for ReservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A time slot: the index of a fixed-length window since the Unix epoch
/// (15 minutes by default, see [`crate::ledger::Ledger::slot_of`]).
///
/// ```
/// use uoom::ledger::SlotId;
/// assert!(SlotId(3) < SlotId(4));
/// assert_eq!(SlotId(3).to_string(), "3");
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SlotId(pub u32);

impl fmt::Display for SlotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One ledger account: a channel's capacity in one time slot.
///
/// ```
/// use uoom::ledger::{AccountKey, SlotId};
/// let k = AccountKey::new("c1", SlotId(2));
/// assert_eq!(k.to_string(), "c1@2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccountKey {
    /// The channel.
    pub channel: ChannelId,
    /// The slot.
    pub slot: SlotId,
}

impl AccountKey {
    /// A key from a channel id (or anything that converts into one) and a slot.
    pub fn new(channel: impl Into<ChannelId>, slot: SlotId) -> Self {
        AccountKey {
            channel: channel.into(),
            slot,
        }
    }
}

impl fmt::Display for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.channel, self.slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_share_the_shard_of_their_batch() {
        for root in [0u128, 1, 63, 64, u128::MAX, 0xdead_beef] {
            let r = ReservationId(root);
            for i in 0..10 {
                assert_eq!(r.leg(i).shard(), r.shard());
            }
        }
    }

    #[test]
    fn string_ids_are_stable() {
        // FNV-1a 128 of the empty string is the offset basis.
        assert_eq!(
            ReservationId::from("").0,
            0x6c62_272e_07bb_0142_62b8_2175_6295_c58d
        );
    }
}
