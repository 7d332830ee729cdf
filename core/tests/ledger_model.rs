//! A reference model of the ledger for property tests: the simplest code
//! that states the semantics (expiry by scanning, balances by summing), so
//! that the real ledger can be compared against it after every operation.
#![allow(dead_code)]

use std::collections::HashMap;
use uoom::ErrorKind;
use uoom::ledger::{Balance, LedgerEvent, ReleaseReason, ReservationId, ReservationState};

/// A reservation in the model.
#[derive(Debug, Clone)]
pub struct MRes {
    pub account: usize,
    pub units: u32,
    pub committed: u32,
    pub state: ReservationState,
    pub expires_at: u64,
    pub ttl: u64,
    pub batch: Option<u128>,
    /// When it left the pending state (or was refunded).
    pub finished_at: u64,
}

/// A batch in the model.
#[derive(Debug, Clone)]
pub struct MBatch {
    pub items: Vec<(usize, u32)>,
    pub ttl: u64,
    pub legs: Vec<u128>,
    pub expires_at: u64,
}

/// The model ledger.
#[derive(Debug, Default, Clone)]
pub struct Model {
    pub now: u64,
    /// capacity per account (None: not created).
    pub capacity: Vec<Option<u32>>,
    pub res: HashMap<u128, MRes>,
    pub batches: HashMap<u128, MBatch>,
    /// Committed units of reservations the ledger has forgotten (their
    /// units stay committed on the account).
    pub forgotten_committed: Vec<u32>,
}

impl Model {
    pub fn new(accounts: usize) -> Self {
        Model {
            capacity: vec![None; accounts],
            forgotten_committed: vec![0; accounts],
            ..Default::default()
        }
    }

    fn state(&self, r: &MRes) -> ReservationState {
        if r.state == ReservationState::Pending && r.expires_at <= self.now {
            ReservationState::Expired
        } else {
            r.state
        }
    }

    fn settle(&mut self) {
        let now = self.now;
        for r in self.res.values_mut() {
            if r.state == ReservationState::Pending && r.expires_at <= now {
                r.state = ReservationState::Expired;
                r.finished_at = r.expires_at;
            }
        }
    }

    pub fn balance(&self, a: usize) -> Option<Balance> {
        let capacity = self.capacity[a]?;
        let mut b = Balance {
            capacity,
            pending: 0,
            committed: self.forgotten_committed[a],
        };
        for r in self.res.values().filter(|r| r.account == a) {
            match self.state(r) {
                ReservationState::Pending => b.pending += r.units,
                ReservationState::Committed => b.committed += r.committed,
                _ => {}
            }
        }
        Some(b)
    }

    pub fn set_capacity(&mut self, a: usize, cap: u32) -> Result<u32, ErrorKind> {
        self.settle();
        self.capacity[a] = Some(cap);
        Ok(self.balance(a).unwrap().overcommitted())
    }

    pub fn reserve(
        &mut self,
        id: u128,
        a: usize,
        units: u32,
        ttl: u64,
    ) -> Result<ReservationState, ErrorKind> {
        self.settle();
        if units == 0 || ttl == 0 {
            return Err(ErrorKind::Validation);
        }
        if self.capacity[a].is_none() {
            return Err(ErrorKind::NotFound);
        }
        if let Some(r) = self.res.get(&id) {
            return if r.batch.is_none() && r.account == a && r.units == units && r.ttl == ttl {
                Ok(self.state(r))
            } else {
                Err(ErrorKind::Conflict)
            };
        }
        if self.batches.contains_key(&id) {
            return Err(ErrorKind::Conflict);
        }
        let b = self.balance(a).ok_or(ErrorKind::NotFound)?;
        if b.available() < units {
            return Err(ErrorKind::Capacity);
        }
        self.res.insert(
            id,
            MRes {
                account: a,
                units,
                committed: 0,
                state: ReservationState::Pending,
                expires_at: self.now + ttl,
                ttl,
                batch: None,
                finished_at: 0,
            },
        );
        Ok(ReservationState::Pending)
    }

    pub fn reserve_batch(
        &mut self,
        id: u128,
        items: &[(usize, u32)],
        ttl: u64,
    ) -> Result<usize, ErrorKind> {
        self.settle();
        for (a, u) in items {
            if *u == 0 || ttl == 0 {
                return Err(ErrorKind::Validation);
            }
            if self.capacity[*a].is_none() {
                return Err(ErrorKind::NotFound);
            }
        }
        if items.is_empty() {
            return Err(ErrorKind::Validation);
        }
        if let Some(b) = self.batches.get(&id) {
            return if b.items == items && b.ttl == ttl {
                if b.legs.iter().any(|l| !self.res.contains_key(l)) {
                    return Err(ErrorKind::NotFound); // a leg was forgotten
                }
                Ok(b.legs.len())
            } else {
                Err(ErrorKind::Conflict)
            };
        }
        if self.res.contains_key(&id) {
            return Err(ErrorKind::Conflict);
        }
        // Legs of a forgotten batch that are still remembered block the id.
        if (0..items.len() as u32).any(|i| self.res.contains_key(&ReservationId(id).leg(i).0)) {
            return Err(ErrorKind::Conflict);
        }
        let mut want: HashMap<usize, u32> = HashMap::new();
        for (a, u) in items {
            *want.entry(*a).or_default() += u;
            if self.balance(*a).unwrap().available() < want[a] {
                return Err(ErrorKind::Capacity);
            }
        }
        let legs: Vec<u128> = (0..items.len() as u32)
            .map(|i| ReservationId(id).leg(i).0)
            .collect();
        for (i, (a, u)) in items.iter().enumerate() {
            self.res.insert(
                legs[i],
                MRes {
                    account: *a,
                    units: *u,
                    committed: 0,
                    state: ReservationState::Pending,
                    expires_at: self.now + ttl,
                    ttl,
                    batch: Some(id),
                    finished_at: 0,
                },
            );
        }
        self.batches.insert(
            id,
            MBatch {
                items: items.to_vec(),
                ttl,
                legs,
                expires_at: self.now + ttl,
            },
        );
        Ok(items.len())
    }

    pub fn commit(&mut self, id: u128, units: Option<u32>) -> Result<u32, ErrorKind> {
        self.settle();
        if self.batches.contains_key(&id) {
            return Err(ErrorKind::Validation);
        }
        let r = self.res.get_mut(&id).ok_or(ErrorKind::NotFound)?;
        let c = units.unwrap_or(r.units);
        if c > r.units {
            return Err(ErrorKind::Validation);
        }
        match r.state {
            ReservationState::Pending => {
                r.state = ReservationState::Committed;
                r.committed = c;
                r.finished_at = self.now;
                Ok(c)
            }
            ReservationState::Committed | ReservationState::Refunded if r.committed == c => Ok(c),
            _ => Err(ErrorKind::Conflict),
        }
    }

    /// Gives committed units back; returns the units refunded.
    pub fn refund(&mut self, id: u128) -> Result<u32, ErrorKind> {
        self.settle();
        if self.batches.contains_key(&id) {
            return Err(ErrorKind::Validation);
        }
        let r = self.res.get_mut(&id).ok_or(ErrorKind::NotFound)?;
        match r.state {
            ReservationState::Committed => {
                r.state = ReservationState::Refunded;
                r.finished_at = self.now;
                Ok(r.committed)
            }
            ReservationState::Refunded => Ok(r.committed),
            _ => Err(ErrorKind::Conflict),
        }
    }

    pub fn release(&mut self, id: u128) -> Result<ReservationState, ErrorKind> {
        self.settle();
        if self.batches.contains_key(&id) {
            return Err(ErrorKind::Validation);
        }
        let r = self.res.get_mut(&id).ok_or(ErrorKind::NotFound)?;
        match r.state {
            ReservationState::Pending => {
                r.state = ReservationState::Released;
                r.finished_at = self.now;
                Ok(ReservationState::Released)
            }
            ReservationState::Committed | ReservationState::Refunded => Err(ErrorKind::Conflict),
            s => Ok(s),
        }
    }

    pub fn finish_batch(&mut self, id: u128, commit: bool) -> Result<(), ErrorKind> {
        self.settle();
        if self.res.contains_key(&id) {
            return Err(ErrorKind::Validation);
        }
        let b = self.batches.get(&id).ok_or(ErrorKind::NotFound)?.clone();
        if b.legs.iter().any(|l| !self.res.contains_key(l)) {
            return Err(ErrorKind::NotFound); // a leg was forgotten
        }
        for l in &b.legs {
            let r = &self.res[l];
            let bad = match (commit, r.state) {
                (true, ReservationState::Pending) => false,
                (true, ReservationState::Committed | ReservationState::Refunded) => {
                    r.committed != r.units
                }
                (true, _) => true,
                (false, ReservationState::Committed | ReservationState::Refunded) => true,
                (false, _) => false,
            };
            if bad {
                return Err(ErrorKind::Conflict);
            }
        }
        for l in &b.legs {
            let now = self.now;
            let r = self.res.get_mut(l).unwrap();
            if r.state == ReservationState::Pending {
                r.finished_at = now;
                if commit {
                    r.state = ReservationState::Committed;
                    r.committed = r.units;
                } else {
                    r.state = ReservationState::Released;
                }
            }
        }
        Ok(())
    }
}

impl Model {
    /// When the ledger may forget `id` (a reservation or a batch), given
    /// its retention; `None` if the model does not hold it.
    pub fn forget_at(&self, id: u128, retention: u64) -> Option<u64> {
        if let Some(r) = self.res.get(&id) {
            let base = match self.state(r) {
                ReservationState::Pending => r.expires_at,
                ReservationState::Expired if r.state == ReservationState::Pending => r.expires_at,
                _ => r.finished_at,
            };
            return Some(base + retention);
        }
        self.batches.get(&id).map(|b| b.expires_at + retention)
    }

    /// Drops `id` as the ledger did (its committed units stay on the account).
    pub fn forget(&mut self, id: u128) {
        if let Some(r) = self.res.remove(&id)
            && r.state == ReservationState::Committed
        {
            self.forgotten_committed[r.account] += r.committed;
        }
        self.batches.remove(&id);
    }
}

/// Balances rebuilt from nothing but the event history.
#[derive(Debug, Default, Clone)]
pub struct Replay {
    pub balances: HashMap<String, Balance>,
}

impl Replay {
    pub fn apply(&mut self, e: &LedgerEvent) {
        let b = self.balances.entry(e.account().to_string()).or_default();
        match e {
            LedgerEvent::CapacityUpdated { new, .. } => b.capacity = *new,
            LedgerEvent::CapacityReserved { units, .. } => b.pending += units,
            LedgerEvent::CapacityCommitted { units, .. } => {
                b.pending -= units;
                b.committed += units;
            }
            LedgerEvent::CapacityReleased {
                units,
                reason: ReleaseReason::Refunded,
                ..
            } => b.committed -= units,
            LedgerEvent::CapacityReleased { units, .. } => b.pending -= units,
            LedgerEvent::LowCapacityAlert { .. } => {}
        }
    }
}
