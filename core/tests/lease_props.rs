//! Property tests of fenced capacity leases: random interleavings over three
//! replicas of reserve, release, commit, refresh, clock advances, pauses (a
//! commit prepared, then the process stalls while time moves), crashes,
//! restarts and capacity changes, against one in-memory authority on a
//! manual clock. After every step: `committed + Σ live granted ≤ capacity`,
//! `committed ≤ capacity`, the committed total equals the sum of the commits
//! that succeeded, the authority's granted units equal the sum over its
//! live lease rows, and no replica holds more than the lease it draws on
//! (which the authority still honours with the same units).
//!
//! Case counts: `LEASE_CASES` (default 2 000); `PROPTEST_CASES` overrides.

use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use uoom::ledger::SlotId;
use uoom::ledger::lease::{
    CommitCall, FenceReason, Lease, LeaseAuthority, LeaseError, LeaseSettings, LeasedLedger,
    MemoryAuthority, ReplicaId, StaleLease,
};
use uoom::ledger::{Ledger, ReservationId};
use uoom::{ChannelId, Clock, ErrorKind, ManualClock, Millis};

const REPLICAS: usize = 3;
const ACCOUNTS: usize = 2;
const TTL: u64 = 2_000;
const MARGIN: u64 = 200;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .or_else(|_| std::env::var("LEASE_CASES"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn channel(a: usize) -> ChannelId {
    ChannelId::from(format!("c{a}"))
}

fn settings() -> LeaseSettings {
    LeaseSettings::default()
        .with_lease_ttl_ms(TTL)
        .with_margin_ms(MARGIN)
}

#[derive(Debug, Clone)]
enum Op {
    Reserve(usize, usize, u32, u64),
    Release(usize, usize),
    Commit(usize, usize, Option<u32>),
    Refresh(usize),
    Advance(u64),
    /// Replica, hold pick, how long it stalls between check and write.
    Pause(usize, usize, u64),
    Crash(usize),
    Restart(usize),
    SetCapacity(usize, u32),
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..REPLICAS;
    prop_oneof![
        6 => (r.clone(), 0..ACCOUNTS, 1u32..5, 1u64..5_000).prop_map(|(r, a, u, t)| Op::Reserve(r, a, u, t)),
        2 => (r.clone(), 0usize..8).prop_map(|(r, h)| Op::Release(r, h)),
        4 => (r.clone(), 0usize..8, prop::option::of(1u32..4)).prop_map(|(r, h, u)| Op::Commit(r, h, u)),
        3 => r.clone().prop_map(Op::Refresh),
        3 => (0u64..1_500).prop_map(Op::Advance),
        2 => (r.clone(), 0usize..8, 0u64..4_000).prop_map(|(r, h, ms)| Op::Pause(r, h, ms)),
        1 => r.clone().prop_map(Op::Crash),
        1 => r.clone().prop_map(Op::Restart),
        1 => (0..ACCOUNTS, 0u32..40).prop_map(|(a, c)| Op::SetCapacity(a, c)),
    ]
}

struct World {
    clock: Arc<ManualClock>,
    auth: Arc<MemoryAuthority>,
    replicas: Vec<Option<LeasedLedger>>,
    /// Holds each replica believes it made: id, account, units.
    holds: Vec<Vec<(ReservationId, usize, u32)>>,
    committed: [u64; ACCOUNTS],
    next_id: u128,
    stale_refused: u64,
}

impl World {
    fn new(caps: [u32; ACCOUNTS]) -> World {
        let clock = Arc::new(ManualClock::new(Millis(1_000)));
        let auth = Arc::new(MemoryAuthority::new(clock.clone()));
        for (a, cap) in caps.iter().enumerate() {
            auth.set_capacity(&channel(a), SlotId(0), *cap).unwrap();
        }
        let mut w = World {
            clock,
            auth,
            replicas: Vec::new(),
            holds: vec![Vec::new(); REPLICAS],
            committed: [0; ACCOUNTS],
            next_id: 0,
            stale_refused: 0,
        };
        for r in 0..REPLICAS {
            let l = w.start(r);
            w.replicas.push(Some(l));
        }
        w
    }

    fn start(&self, r: usize) -> LeasedLedger {
        let auth: Arc<dyn LeaseAuthority> = self.auth.clone();
        LeasedLedger::new(format!("r{r}"), auth, self.clock.clone(), settings()).unwrap()
    }

    fn row(&self, lease: uoom::ledger::lease::LeaseId) -> Option<Lease> {
        (0..REPLICAS)
            .flat_map(|r| {
                self.auth
                    .leases_of(&ReplicaId::from(format!("r{r}")))
                    .unwrap()
            })
            .find(|l| l.id == lease)
    }

    fn account_of(&self, channel: &ChannelId) -> usize {
        (0..ACCOUNTS)
            .find(|a| &self.channel(*a) == channel)
            .unwrap()
    }

    fn channel(&self, a: usize) -> ChannelId {
        channel(a)
    }

    fn pick(&self, r: usize, h: usize) -> Option<(ReservationId, usize, u32)> {
        let hs = &self.holds[r];
        (!hs.is_empty()).then(|| hs[h % hs.len()])
    }

    fn forget(&mut self, r: usize, id: ReservationId) {
        self.holds[r].retain(|(i, _, _)| *i != id);
    }

    /// Checks a commit's answer against the authority's view just before it.
    fn judge(
        &mut self,
        r: usize,
        acct: usize,
        call: CommitCall,
        before: Option<Lease>,
        answer: Result<uoom::ledger::lease::Committed, LeaseError>,
    ) -> Result<(), TestCaseError> {
        let (id, call_units, call_epoch) = (call.hold, call.units, call.epoch);
        let now = self.clock.now();
        let honoured = before
            .as_ref()
            .is_some_and(|l| l.epoch == call_epoch && l.is_live(now));
        match answer {
            Ok(done) => {
                prop_assert!(honoured, "a commit passed the fence on a dead lease");
                prop_assert_eq!(done.units, call_units);
                self.committed[acct] += u64::from(done.units);
            }
            Err(LeaseError::Stale(StaleLease { reason, .. })) => {
                prop_assert!(!honoured, "a live lease was refused: {reason}");
                self.stale_refused += 1;
            }
            Err(e) => prop_assert!(false, "commit failed unexpectedly: {e}"),
        }
        self.forget(r, id);
        Ok(())
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Reserve(r, a, units, ttl) => {
                let Some(rep) = &self.replicas[r] else {
                    return Ok(());
                };
                self.next_id += 1;
                let id = ReservationId(self.next_id);
                match rep.reserve(id, &channel(a), SlotId(0), units, ttl) {
                    Ok(h) => {
                        prop_assert_eq!(h.units, units);
                        self.holds[r].push((id, a, units));
                    }
                    Err(e) => prop_assert_eq!(e.kind(), ErrorKind::Capacity, "{}", e),
                }
            }
            Op::Release(r, h) => {
                let (Some(rep), Some((id, _, _))) = (&self.replicas[r], self.pick(r, h)) else {
                    return Ok(());
                };
                match rep.release(id) {
                    Ok(_) => {}
                    Err(e) => prop_assert!(
                        e.is_stale() || e.kind() == ErrorKind::NotFound,
                        "release: {}",
                        e
                    ),
                }
                self.forget(r, id);
            }
            Op::Commit(r, h, units) => {
                let (Some(rep), Some((id, a, held))) = (&self.replicas[r], self.pick(r, h)) else {
                    return Ok(());
                };
                let units = units.map(|u| u.min(held));
                let call = match rep.prepare_commit(id, units) {
                    Ok(c) => c,
                    Err(e) => {
                        prop_assert!(e.is_stale() || e.kind() == ErrorKind::NotFound, "{}", e);
                        self.forget(r, id);
                        return Ok(());
                    }
                };
                let before = self.row(call.lease);
                let answer = rep.complete_commit(call);
                self.judge(r, a, call, before, answer)?;
            }
            Op::Refresh(r) => {
                if let Some(rep) = &self.replicas[r] {
                    rep.refresh().unwrap();
                }
            }
            Op::Advance(ms) => self.clock.advance_ms(ms),
            Op::Pause(r, h, ms) => {
                let (Some(rep), Some((id, a, _))) = (&self.replicas[r], self.pick(r, h)) else {
                    return Ok(());
                };
                let call = match rep.prepare_commit(id, None) {
                    Ok(c) => c,
                    Err(e) => {
                        prop_assert!(e.is_stale() || e.kind() == ErrorKind::NotFound, "{}", e);
                        self.forget(r, id);
                        return Ok(());
                    }
                };
                // The process stalls; time moves and the others go on.
                self.clock.advance_ms(ms);
                for (o, other) in self.replicas.iter().enumerate() {
                    if o != r
                        && let Some(other) = other
                    {
                        other.refresh().unwrap();
                    }
                }
                let before = self.row(call.lease);
                let rep = self.replicas[r].as_ref().unwrap();
                let answer = rep.complete_commit(call);
                self.judge(r, a, call, before, answer)?;
            }
            Op::Crash(r) => {
                self.replicas[r] = None;
                self.holds[r].clear();
            }
            Op::Restart(r) => {
                if self.replicas[r].is_none() {
                    let rep = self.start(r);
                    rep.recover().unwrap();
                    self.replicas[r] = Some(rep);
                }
            }
            Op::SetCapacity(a, cap) => {
                // Never below what is committed here (see the unit tests for
                // that case): keeps `committed ≤ capacity` checkable.
                let floor = self.committed[a] as u32;
                self.auth
                    .set_capacity(&channel(a), SlotId(0), cap.max(floor))
                    .unwrap();
            }
        }
        Ok(())
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let now = self.clock.now();
        let rows: Vec<Lease> = (0..REPLICAS)
            .flat_map(|r| {
                self.auth
                    .leases_of(&ReplicaId::from(format!("r{r}")))
                    .unwrap()
            })
            .collect();
        for a in 0..ACCOUNTS {
            let st = self.auth.state(&channel(a), SlotId(0)).unwrap();
            prop_assert!(
                u64::from(st.committed) + u64::from(st.granted) <= u64::from(st.capacity),
                "overbooked: {:?}",
                st
            );
            prop_assert!(st.committed <= st.capacity);
            prop_assert_eq!(u64::from(st.committed), self.committed[a]);
            let live: u32 = rows
                .iter()
                .filter(|l| l.channel == channel(a) && l.is_live(now))
                .map(|l| l.units)
                .sum();
            prop_assert_eq!(live, st.granted);
        }
        let by_id: HashMap<_, _> = rows.iter().map(|l| (l.id, l)).collect();
        for rep in self.replicas.iter().flatten() {
            let mut held = [0u32; ACCOUNTS];
            for q in rep.quotas() {
                let a = self.account_of(&q.channel);
                held[a] += q.held;
                prop_assert!(q.held <= q.units, "holds beyond the lease: {:?}", q);
                let Some((id, epoch)) = q.lease else {
                    prop_assert_eq!(q.held, 0);
                    continue;
                };
                let row = by_id[&id];
                prop_assert_eq!(&row.replica, rep.replica());
                if row.epoch == epoch && !row.ended {
                    // The replica stops using a lease before the authority expires it.
                    prop_assert!(row.is_live(now), "local lease outlives the authority's");
                    prop_assert_eq!(row.units, q.units);
                } else {
                    // Revoked (a capacity cut) and not yet noticed: its holds
                    // cannot commit, the fence refuses them.
                    prop_assert!(row.ended || row.epoch > epoch);
                }
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(2_000), ..ProptestConfig::default() })]

    #[test]
    fn interleavings_never_overbook(
        caps in [0u32..30, 0u32..30],
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let mut w = World::new(caps);
        w.check()?;
        for op in &ops {
            w.step(op)?;
            w.check()?;
        }
    }

    /// Demand of at least 110 % of capacity over three replicas that refresh:
    /// the units confirmed reach at least 99 % of what one process with one
    /// ledger confirms on the same stream, so 99 % of capacity whenever one
    /// ledger fills it (with orders of 1–3 units the stream's last orders
    /// can leave a unit or two that no order fits, for one ledger too).
    #[test]
    fn scarcity_does_not_strand_capacity(
        cap in 100u32..400,
        sizes in prop::collection::vec(1u32..=3, 400),
        every in 1usize..5,
    ) {
        let clock = Arc::new(ManualClock::new(Millis(0)));
        let auth = Arc::new(MemoryAuthority::new(clock.clone()));
        let c = ChannelId::from("scarce");
        auth.set_capacity(&c, SlotId(0), cap).unwrap();
        let reps: Vec<LeasedLedger> = (0..3)
            .map(|r| LeasedLedger::new(format!("r{r}"), auth.clone(), clock.clone(), LeaseSettings::default()).unwrap())
            .collect();
        // The same stream through one process with one ledger.
        let one = Ledger::new(clock.clone());
        one.set_capacity(&c, SlotId(0), cap).unwrap();
        let mut baseline = 0u64;
        let mut demand = 0u64;
        let mut confirmed = 0u64;
        for (i, units) in sizes.iter().enumerate() {
            if demand * 100 >= u64::from(cap) * 110 {
                break;
            }
            demand += u64::from(*units);
            let id = ReservationId(i as u128 + 1);
            if one.reserve(id, &c, SlotId(0), *units, 5_000).is_ok() {
                one.commit(id, None).unwrap();
                baseline += u64::from(*units);
            }
            let rep = &reps[i % 3];
            let id = ReservationId(i as u128 + 1);
            if rep.reserve(id, &c, SlotId(0), *units, 5_000).is_ok() {
                confirmed += u64::from(rep.commit(id, None).unwrap().units);
            }
            if i % every == every - 1 {
                clock.advance_ms(100);
                for r in &reps {
                    r.refresh().unwrap();
                }
            }
        }
        prop_assert!(demand * 100 >= u64::from(cap) * 110, "the stream is long enough");
        let st = auth.state(&c, SlotId(0)).unwrap();
        prop_assert_eq!(u64::from(st.committed), confirmed);
        // Where one ledger fills the channel, three replicas reach 99 % of it.
        prop_assert!(
            baseline < u64::from(cap) || confirmed * 100 >= u64::from(cap) * 99,
            "confirmed {} of capacity {}, one ledger {}", confirmed, cap, baseline
        );
        prop_assert!(confirmed * 100 >= baseline * 99, "confirmed {} against one ledger's {}", confirmed, baseline);
    }
}

/// A replica that stalls between its local check and its commit for longer
/// than its lease is refused by the authority's fence, and the units it held
/// went to another replica without overbooking.
#[test]
fn a_paused_replica_cannot_commit() {
    let mut w = World::new([10, 10]);
    w.step(&Op::Reserve(0, 0, 10, 60_000)).unwrap();
    // r0 prepares, then stalls past its lease; r1 takes the freed units.
    let rep = w.replicas[0].as_ref().unwrap();
    let call = rep.prepare_commit(ReservationId(1), None).unwrap();
    w.clock.advance_ms(TTL);
    let r1 = w.replicas[1].as_ref().unwrap();
    r1.reserve(ReservationId(99), &channel(0), SlotId(0), 10, 60_000)
        .unwrap();
    r1.commit(ReservationId(99), None).unwrap();
    let err = rep.complete_commit(call).unwrap_err();
    let LeaseError::Stale(stale) = err else {
        panic!("expected a stale lease, got {err}")
    };
    assert!(matches!(stale.reason, FenceReason::Expired { .. }));
    assert_eq!(rep.stats().stale_commits_refused, 1);
    let st = w.auth.state(&channel(0), SlotId(0)).unwrap();
    assert_eq!((st.committed, st.granted), (10, 0));

    // The same through random pauses: the fence is exercised, not just present.
    let mut refused = 0;
    for seed in 0..20u64 {
        let mut w = World::new([20, 20]);
        for i in 0..10u64 {
            w.step(&Op::Reserve((i % 3) as usize, (i % 2) as usize, 1, 60_000))
                .unwrap();
        }
        for r in 0..REPLICAS {
            w.step(&Op::Pause(r, seed as usize, TTL + seed * 100))
                .unwrap();
            w.check().unwrap();
        }
        refused += w.stale_refused;
    }
    assert!(refused >= 1, "no stale commit was refused");
}

/// A crashed replica's holds die with its lease; what it committed stays;
/// its successor under the same id fences anything the old one still sends.
#[test]
fn crash_and_restart_keep_commits_and_fence_the_old_process() {
    let w = World::new([10, 10]);
    let c = channel(0);
    let old = w.start(0);
    old.reserve(ReservationId(1), &c, SlotId(0), 3, 60_000)
        .unwrap();
    old.commit(ReservationId(1), None).unwrap();
    old.reserve(ReservationId(2), &c, SlotId(0), 4, 60_000)
        .unwrap();
    let zombie = old.prepare_commit(ReservationId(2), None).unwrap();
    let st = w.auth.state(&c, SlotId(0)).unwrap();
    assert_eq!(st.committed, 3);
    assert!(st.granted >= 4, "{st:?}");

    let new = w.start(0);
    assert_eq!(new.recover().unwrap(), 1);
    assert!(old.complete_commit(zombie).unwrap_err().is_stale());
    let st = w.auth.state(&c, SlotId(0)).unwrap();
    assert_eq!(st.committed, 3, "committed units survive the restart");
    // The successor owns the old lease's units without a round trip.
    new.reserve(ReservationId(3), &c, SlotId(0), 4, 60_000)
        .unwrap();
    assert_eq!(new.stats().local, 1);

    // A crash without a successor: the lease lapses and frees its units.
    drop(new);
    w.clock.advance_ms(TTL);
    let st = w.auth.state(&c, SlotId(0)).unwrap();
    assert_eq!((st.committed, st.granted, st.free()), (3, 0, 7));
}

/// A replica whose clock is ahead of or behind the authority's by a fixed
/// offset still stops using its lease before the authority expires it (its
/// deadline counts from its own send time).
#[test]
fn clock_offset_does_not_break_the_fence() {
    for offset in [0u64, 5_000, 3_600_000] {
        for ahead in [true, false] {
            let auth_clock = Arc::new(ManualClock::new(Millis(10_000_000)));
            let start = if ahead {
                10_000_000 + offset
            } else {
                10_000_000 - offset
            };
            let rep_clock = Arc::new(ManualClock::new(Millis(start)));
            let auth = Arc::new(MemoryAuthority::new(auth_clock.clone()));
            let c = ChannelId::from("c");
            auth.set_capacity(&c, SlotId(0), 5).unwrap();
            let rep = LeasedLedger::new("r", auth.clone(), rep_clock.clone(), settings()).unwrap();
            rep.reserve(ReservationId(1), &c, SlotId(0), 1, 60_000)
                .unwrap();
            for step in (0..TTL + 100).step_by(50) {
                let _ = step;
                auth_clock.advance_ms(50);
                rep_clock.advance_ms(50);
                let local_live = rep.quotas().iter().any(|q| q.lease.is_some());
                let auth_live = auth.state(&c, SlotId(0)).unwrap().granted > 0;
                assert!(!local_live || auth_live, "offset {offset} ahead {ahead}");
            }
        }
    }
}

/// With capacity to spare, refreshes keep most orders off the authority.
#[test]
fn plentiful_capacity_is_served_locally() {
    let clock = Arc::new(ManualClock::new(Millis(0)));
    let auth = Arc::new(MemoryAuthority::new(clock.clone()));
    let c = ChannelId::from("c");
    auth.set_capacity(&c, SlotId(0), 1_000_000).unwrap();
    let reps: Vec<LeasedLedger> = (0..3)
        .map(|r| {
            LeasedLedger::new(
                format!("r{r}"),
                auth.clone(),
                clock.clone(),
                LeaseSettings::default(),
            )
            .unwrap()
        })
        .collect();
    let orders = 30_000u32;
    for i in 0..orders {
        let rep = &reps[(i % 3) as usize];
        let id = ReservationId(u128::from(i) + 1);
        rep.reserve(id, &c, SlotId(0), 1, 5_000).unwrap();
        rep.commit(id, None).unwrap();
        // A refresh every 500 orders: 100 ms at 5,000 orders/s over three replicas.
        if i % 500 == 499 {
            clock.advance_ms(100);
            for r in &reps {
                r.refresh().unwrap();
            }
        }
    }
    let trips: u64 = reps.iter().map(|r| r.stats().lease_round_trips).sum();
    let local: u64 = reps.iter().map(|r| r.stats().local).sum();
    assert_eq!(
        auth.state(&c, SlotId(0)).unwrap().committed,
        orders,
        "every order committed"
    );
    assert!(
        trips * 100 <= u64::from(orders),
        "{trips} round trips for {orders} orders"
    );
    assert!(
        local * 100 >= u64::from(orders) * 95,
        "{local} of {orders} served locally"
    );
}
