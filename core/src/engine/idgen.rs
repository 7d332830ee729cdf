//! Fast, seedable UUID generation for order, reservation and event ids.
//!
//! A v4 UUID from the OS random source costs a system call; the router makes
//! several ids per order, so it draws them from a SplitMix64 stream instead
//! (still RFC 4122 version-4 shaped). Seeded, a simulation replays with the
//! same ids.
//!
//! Order and reservation ids are time-ordered (RFC 9562 version 7: Unix ms,
//! then a counter, then random bits) and taken at the engine's clock: the
//! ledger's idempotency store keeps ids in order and finds a new id above
//! everything stored without touching cold memory (see `docs/ledger.md`).
//! Event ids stay v4.

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
    /// Millisecond and counter of the last v7 id: ids never go backwards,
    /// even if the clock does.
    last_ms: u64,
    counter: u64,
    /// Low 6 bits of every v7 id (see [`IdGen::with_lane`]).
    lane: u32,
}

/// Bits of a v7 id's low end that [`IdGen::with_lane`] fixes: the ledger
/// picks a reservation's shard from them (`ledger::SHARDS` = 64).
const LANE_BITS: u32 = 6;

/// Bits of the v7 counter (12 in `rand_a`, 30 at the top of `rand_b`,
/// RFC 9562 §6.2 method 1); 32 random bits follow.
const COUNTER_BITS: u32 = 42;

impl IdGen {
    /// A stream determined by `seed`.
    pub fn seeded(seed: u64) -> Self {
        let mut g = Self {
            state: seed,
            last_ms: 0,
            counter: 0,
            lane: 0,
        };
        g.lane = (g.next_u64() >> (64 - LANE_BITS)) as u32;
        g
    }

    /// Fixes the low 6 bits of every v7 id this generator makes to `lane`
    /// (taken mod 64; by default they are drawn once from the seed). The
    /// ledger shards its reservations by those bits, so the reservations of
    /// one generator (one router, one thread) stay on one shard, in id
    /// order, and two threads with different lanes share no shard: they
    /// scale instead of passing the shards' cache lines back and forth.
    /// The other 26 random bits, the millisecond and the counter keep ids
    /// unique.
    ///
    /// ```
    /// use uoom::engine::IdGen;
    /// let mut g = IdGen::seeded(1).with_lane(5);
    /// let a = g.uuid_v7(uoom::Millis(10)).as_u128();
    /// let b = g.uuid_v7(uoom::Millis(11)).as_u128();
    /// assert_eq!((a & 63, b & 63), (5, 5));
    /// assert!(a < b);
    /// ```
    pub fn with_lane(mut self, lane: u8) -> Self {
        self.lane = u32::from(lane) & ((1 << LANE_BITS) - 1);
        self
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

    /// The next time-ordered (v7) UUID at instant `now`: strictly greater
    /// than every v7 id this generator made before. Within a millisecond a
    /// counter (started at a random value below half its range) orders them.
    ///
    /// ```
    /// use uoom::engine::IdGen;
    /// use uoom::Millis;
    /// let mut g = IdGen::seeded(1);
    /// let a = g.uuid_v7(Millis(1_700_000_000_000));
    /// let b = g.uuid_v7(Millis(1_700_000_000_000));
    /// let c = g.uuid_v7(Millis(1_699_999_999_999)); // the clock went back
    /// assert!(a < b && b < c);
    /// assert_eq!(a.get_version_num(), 7);
    /// let (secs, _) = a.get_timestamp().unwrap().to_unix();
    /// assert_eq!(secs, 1_700_000_000);
    /// ```
    pub fn uuid_v7(&mut self, now: crate::Millis) -> Uuid {
        let max = (1u64 << COUNTER_BITS) - 1;
        if now.0 > self.last_ms {
            self.last_ms = now.0;
            self.counter = self.next_u64() >> (64 - COUNTER_BITS + 1);
        } else if self.counter < max {
            self.counter += 1;
        } else {
            self.last_ms += 1;
            self.counter = 0;
        }
        let ms = u128::from(self.last_ms & ((1 << 48) - 1));
        let c = u128::from(self.counter);
        let rand = u128::from((self.next_u64() as u32) & !((1 << LANE_BITS) - 1) | self.lane);
        let v = (ms << 80)
            | (0x7 << 76)
            | ((c >> 30) << 64)
            | (0b10 << 62)
            | ((c & ((1 << 30) - 1)) << 32)
            | rand;
        Uuid::from_u128(v)
    }

    /// The next order id (random, v4-shaped).
    pub fn order_id(&mut self) -> OrderId {
        OrderId(self.uuid())
    }

    /// The next order id, time-ordered (v7) at `now`: what the router uses.
    ///
    /// ```
    /// use uoom::engine::IdGen;
    /// let mut g = IdGen::seeded(3);
    /// let a = g.order_id_v7(uoom::Millis(5));
    /// assert!(a < g.order_id_v7(uoom::Millis(5)));
    /// ```
    pub fn order_id_v7(&mut self, now: crate::Millis) -> OrderId {
        OrderId(self.uuid_v7(now))
    }

    /// The next event id.
    pub fn event_id(&mut self) -> EventId {
        EventId(self.uuid())
    }

    /// The next time-ordered event id at instant `now` (see [`IdGen::uuid_v7`]).
    ///
    /// ```
    /// let mut g = uoom::engine::IdGen::seeded(3);
    /// let a = g.event_id_v7(uoom::Millis(5));
    /// assert_eq!(a.0.get_version_num(), 7);
    /// assert!(a < g.event_id_v7(uoom::Millis(5)));
    /// ```
    pub fn event_id_v7(&mut self, now: crate::Millis) -> EventId {
        EventId(self.uuid_v7(now))
    }
}
