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
            if self
                .side
                .get(&id)
                .is_some_and(|r| r.forget_at(retention_ms) <= now)
            {
                self.side.remove(&id);
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
