//! The idempotency store of one reservation shard: every reservation and
//! batch of the retention window, by id.
//!
//! Why not one hash map: the store holds every id of the retention window
//! (about a million records per second of window at full speed), so a hash
//! map keyed by random ids pays a cache and TLB miss to probe each new id and
//! another to forget each old one. Time-ordered ids (UUIDv7, ULID: what
//! TigerBeetle recommends for the same reason) arrive in increasing order, so
//! the store keeps them in an **id-sorted ring**: a new id above everything
//! stored is known to be new without a probe and is appended at the hot end,
//! a recent id is found by a gallop back from that end, and forgetting pops
//! the cold end, oldest first, touching memory sequentially. Ids that arrive
//! out of order (random v4 UUIDs, string ids, batch leg ids, or v7 ids a few
//! places late from another thread) go to a **side map** with the per-id
//! collector; both parts are always searched, so any id is correct, only
//! slower.
//!
//! A record is forgotten `retention` after it finished (for a pending one:
//! after its expiry, which finishes it; for a batch: after its expiry). The
//! ring is forgotten from the front only; a front record that finished late
//! (pending for long, or refunded) would hold the queue up, so once it is
//! older than 1.5 retention windows it moves to the side map instead.

use super::ids::ReservationId;
use super::reservation::{IdMap, Record};
use crate::clock::Millis;
use std::collections::VecDeque;
use std::collections::hash_map::Entry as MapEntry;

/// How far from the back of the ring an out-of-order id is still inserted
/// in place (a short move at the hot end) rather than sent to the side map.
const NEAR_BACK: usize = 64;

#[derive(Debug)]
pub(crate) struct Entry {
    pub id: ReservationId,
    pub rec: Record,
}

#[derive(Default)]
pub(crate) struct IdStore {
    /// Sorted by id, strictly increasing; roughly in creation order too.
    ring: VecDeque<Entry>,
    /// Every stored id (ring or side) is `<= high` (`None`: nothing stored yet).
    /// Lets a new in-order id skip every probe.
    high: Option<ReservationId>,
    side: IdMap<Record>,
    /// Side-map ids with the time they finished, roughly in that order:
    /// the side map's collector.
    done: VecDeque<(Millis, ReservationId)>,
}

impl Record {
    /// When this record may be forgotten (finish or expiry + retention).
    fn forget_at(&self, retention_ms: u64) -> Millis {
        match self {
            Record::Leg(l) if l.state.is_pending() => l.expires_at,
            Record::Leg(l) => l.finished_at(),
            Record::Batch(b) => b.expires_at,
        }
        .plus_ms(retention_ms)
    }

    fn created_at(&self) -> Millis {
        match self {
            Record::Leg(l) => l.created_at(),
            Record::Batch(b) => Millis(b.expires_at.0.saturating_sub(b.ttl_ms)),
        }
    }

    /// The time the side map's collector should look at it again.
    fn finish_key(&self) -> Millis {
        match self {
            Record::Leg(l) if !l.state.is_pending() => l.finished_at(),
            Record::Leg(l) => l.expires_at,
            Record::Batch(b) => b.expires_at,
        }
    }
}

impl IdStore {
    /// Index in the ring, galloping back from the hot end: recent ids (the
    /// usual commit right after its reserve) touch only the last few entries.
    fn ring_pos(&self, id: ReservationId) -> Result<usize, usize> {
        let n = self.ring.len();
        if n == 0 {
            return Err(0);
        }
        let last = self.ring[n - 1].id;
        if id >= last {
            return if id == last { Ok(n - 1) } else { Err(n) };
        }
        // ring[hi].id > id; find lo with ring[lo].id <= id by doubling steps.
        let mut hi = n - 1;
        let mut step = 1;
        let lo = loop {
            if hi < step {
                break 0;
            }
            let probe = hi - step;
            if self.ring[probe].id <= id {
                break probe;
            }
            hi = probe;
            step *= 2;
        };
        let (a, b) = self.ring.as_slices();
        let find = |lo: usize, hi: usize| -> Result<usize, usize> {
            // Search [lo, hi) across the deque's two slices.
            let mut lo = lo;
            let mut hi = hi;
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let m = if mid < a.len() {
                    a[mid].id
                } else {
                    b[mid - a.len()].id
                };
                match m.cmp(&id) {
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                    std::cmp::Ordering::Equal => return Ok(mid),
                }
            }
            Err(lo)
        };
        find(lo, hi)
    }

    pub fn get(&self, id: &ReservationId) -> Option<&Record> {
        if self.high.is_none_or(|h| *id > h) {
            return None;
        }
        if let Ok(i) = self.ring_pos(*id) {
            return Some(&self.ring[i].rec);
        }
        self.side.get(id)
    }

    pub fn get_mut(&mut self, id: &ReservationId) -> Option<&mut Record> {
        if self.high.is_none_or(|h| *id > h) {
            return None;
        }
        if let Ok(i) = self.ring_pos(*id) {
            return Some(&mut self.ring[i].rec);
        }
        self.side.get_mut(id)
    }

    pub fn contains_key(&self, id: &ReservationId) -> bool {
        self.get(id).is_some()
    }

    /// Stores a record under an id the caller checked is absent.
    pub fn insert(&mut self, id: ReservationId, rec: Record) {
        match self.ring_pos(id) {
            Err(i) if i == self.ring.len() && self.high.is_none_or(|h| id > h) => {
                self.ring.push_back(Entry { id, rec });
                self.high = Some(id);
            }
            Err(i) if i > 0 && self.ring.len() - i <= NEAR_BACK => {
                self.ring.insert(i, Entry { id, rec });
            }
            _ => {
                if !matches!(&rec, Record::Leg(l) if l.state.is_pending()) {
                    self.done.push_back((rec.finish_key(), id));
                }
                self.side.insert(id, rec);
                if self.high.is_none_or(|h| id > h) {
                    self.high = Some(id);
                }
            }
        }
    }

    /// Tells the store that the record of `id` finished at `at` (committed,
    /// released, expired or refunded). Ring records need nothing (the front
    /// is checked against each record's own finish time); side-map records
    /// are queued for the collector.
    #[inline]
    pub fn finished(&mut self, id: ReservationId, at: Millis) {
        if !self.side.is_empty() && self.side.contains_key(&id) {
            self.done.push_back((at, id));
        }
    }

    /// Forgets what is past the retention window.
    #[inline]
    pub fn collect(&mut self, now: Millis, retention_ms: u64) {
        let stale_after = retention_ms.saturating_add(retention_ms / 2);
        while let Some(front) = self.ring.front() {
            if front.rec.forget_at(retention_ms) <= now {
                self.ring.pop_front();
            } else if front.rec.created_at().plus_ms(stale_after) <= now {
                // Finished late (or still pending): do not hold up the ring.
                let Some(e) = self.ring.pop_front() else {
                    break;
                };
                self.done.push_back((e.rec.finish_key(), e.id));
                self.side.insert(e.id, e.rec);
            } else {
                break;
            }
        }
        while let Some(&(t, id)) = self.done.front() {
            if t.plus_ms(retention_ms) > now {
                break;
            }
            self.done.pop_front();
            // Another entry was queued if it finished again later (refund).
            if let MapEntry::Occupied(o) = self.side.entry(id)
                && o.get().forget_at(retention_ms) <= now
            {
                o.remove();
            }
        }
    }

    /// Every record, ring first (in id order), then the side map.
    pub fn iter(&self) -> impl Iterator<Item = (&ReservationId, &Record)> {
        self.ring
            .iter()
            .map(|e| (&e.id, &e.rec))
            .chain(self.side.iter())
    }

    /// [`IdStore::iter`], mutable. Callers that finish a record through it
    /// must call [`IdStore::finished`] afterwards.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&ReservationId, &mut Record)> {
        self.ring
            .iter_mut()
            .map(|e| (&e.id, &mut e.rec))
            .chain(self.side.iter_mut())
    }

    /// Records held (ring + side map).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.ring.len() + self.side.len()
    }

    /// Records held in the side map (out-of-order ids).
    #[cfg(test)]
    pub fn side_len(&self) -> usize {
        self.side.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::reservation::BatchRecord;

    /// A record created at `t` that may be forgotten from `t + 1 + retention`
    /// (a batch record: no account needed).
    fn rec(t: u64) -> Record {
        Record::Batch(Box::new(BatchRecord {
            items: Box::new([]),
            ttl_ms: 1,
            legs: Box::new([]),
            expires_at: Millis(t + 1),
        }))
    }

    fn id(n: u64) -> ReservationId {
        ReservationId(u128::from(n) << 64 | 0x55)
    }

    #[test]
    fn in_order_ids_stay_in_the_ring_and_memory_is_bounded() {
        let mut s = IdStore::default();
        let retention = 100;
        for t in 0..10_000u64 {
            s.collect(Millis(t), retention);
            assert!(s.get(&id(t)).is_none());
            s.insert(id(t), rec(t));
            assert!(s.get(&id(t)).is_some());
            // Everything of the last `retention` ms is still known.
            if t >= retention {
                assert!(s.contains_key(&id(t - retention)));
            }
            assert!(s.len() <= 2 + retention as usize, "{} held at {t}", s.len());
        }
        assert_eq!(s.side_len(), 0);
        s.collect(Millis(20_000), retention);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn late_ids_are_inserted_near_the_back_or_kept_aside() {
        let mut s = IdStore::default();
        for n in (0..200u64).map(|n| n * 2 + 1000) {
            s.insert(id(n), rec(0));
        }
        // A few places late: into the ring, which stays sorted.
        s.insert(id(1395), rec(0));
        assert_eq!(s.side_len(), 0);
        assert!(
            s.ring
                .iter()
                .zip(s.ring.iter().skip(1))
                .all(|(a, b)| a.id < b.id)
        );
        // Far behind, and below everything: the side map.
        s.insert(id(1001), rec(0));
        s.insert(id(5), rec(0));
        assert_eq!(s.side_len(), 2);
        for n in [5, 1001, 1395, 1000, 1398] {
            assert!(s.contains_key(&id(n)), "{n}");
        }
        for n in [4, 1003, 1399, 9999] {
            assert!(!s.contains_key(&id(n)), "{n}");
        }
        // Everything is forgotten once its window has passed.
        s.collect(Millis(10), 5);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn a_young_front_does_not_hold_the_ring_past_one_and_a_half_windows() {
        let mut s = IdStore::default();
        // The first record lives long (expires at 1_000); the rest do not.
        s.insert(
            id(0),
            Record::Batch(Box::new(BatchRecord {
                items: Box::new([]),
                ttl_ms: 1_000,
                legs: Box::new([]),
                expires_at: Millis(1_000),
            })),
        );
        for t in 1..400u64 {
            s.collect(Millis(t), 100);
            s.insert(id(t), rec(t));
        }
        // Moved aside at 150 ms, so the ring kept forgetting behind it.
        assert_eq!(s.side_len(), 1);
        assert!(s.len() < 110, "{}", s.len());
        assert!(s.contains_key(&id(0)));
        s.collect(Millis(1_100), 100);
        assert!(!s.contains_key(&id(0)));
    }
}
