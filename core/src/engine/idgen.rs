//! Fast, seedable UUID generation for order and event ids.
//!
//! A v4 UUID from the OS random source costs a system call; the router makes
//! several ids per order, so it draws them from a SplitMix64 stream instead
//! (still RFC 4122 version-4 shaped). Seeded, a simulation replays with the
//! same ids.

use crate::{EventId, OrderId};
use uuid::{Builder, Uuid};

/// A stream of version-4-shaped UUIDs.
///
/// ```
/// use uoom::engine::IdGen;
/// let mut a = IdGen::seeded(7);
/// let mut b = IdGen::seeded(7);
/// assert_eq!(a.order_id(), b.order_id());
/// assert_eq!(a.event_id().0.get_version_num(), 4);
/// ```
#[derive(Debug, Clone)]
pub struct IdGen {
    state: u64,
}

impl IdGen {
    /// A stream determined by `seed`.
    pub fn seeded(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A stream seeded from the process's random hasher keys.
    pub fn random() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x5eed);
        Self::seeded(h.finish())
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The next UUID.
    pub fn uuid(&mut self) -> Uuid {
        let hi = self.next_u64();
        let lo = self.next_u64();
        let bytes = ((u128::from(hi) << 64) | u128::from(lo)).to_be_bytes();
        Builder::from_random_bytes(bytes).into_uuid()
    }

    /// The next order id.
    pub fn order_id(&mut self) -> OrderId {
        OrderId(self.uuid())
    }

    /// The next event id.
    pub fn event_id(&mut self) -> EventId {
        EventId(self.uuid())
    }
}
