//! Property tests of the capacity ledger: random operation sequences
//! (expiries, batches, capacity changes, refunds, snapshot/restore) against
//! a reference model, with the invariant and an event replay checked after
//! every step; random concurrent runs over threads with observers; and the
//! idempotency memory under short retention windows with time-ordered and
//! random ids.
//!
//! Case counts: `LEDGER_SEQ_CASES` (default 60 000) sequential cases,
//! `LEDGER_MT_CASES` (default 1 000) threaded ones and `LEDGER_RET_CASES`
//! (default 40 000) retention ones; `PROPTEST_CASES`, if set, overrides all
//! (the long run in `docs/ledger.md` uses 1 000 000).

mod ledger_model;

use ledger_model::{Model, Replay};
use proptest::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use uoom::ledger::{Ledger, ReservationId, ReservationState, SlotId};
use uoom::{ChannelId, ManualClock, Millis};

const ACCOUNTS: usize = 3;

fn cases(var: &str, default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .or_else(|_| std::env::var(var))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn key(a: usize) -> (ChannelId, SlotId) {
    (ChannelId::from(format!("c{}", a % 2)), SlotId(a as u32 / 2))
}

#[derive(Debug, Clone)]
enum Op {
    SetCapacity(usize, u32),
    Reserve(u128, usize, u32, u64),
    Batch(u128, Vec<(usize, u32)>, u64),
    Commit(u128, Option<u32>),
    CommitLeg(u128, u32),
    Release(u128),
    ReleaseLeg(u128, u32),
    Refund(u128),
    RefundLeg(u128, u32),
    CommitBatch(u128),
    ReleaseBatch(u128),
    Advance(u64),
    ExpireDue,
    SnapshotRestore,
}

fn op() -> impl Strategy<Value = Op> {
    let id = 0u128..10;
    let acct = 0..ACCOUNTS;
    let ttl = prop_oneof![Just(5u64), Just(10), Just(40), 0u64..3];
    prop_oneof![
        2 => (acct.clone(), 0u32..12).prop_map(|(a, c)| Op::SetCapacity(a, c)),
        5 => (id.clone(), acct.clone(), 0u32..5, ttl.clone()).prop_map(|(i, a, u, t)| Op::Reserve(i, a, u, t)),
        2 => (id.clone(), prop::collection::vec((acct.clone(), 0u32..4), 0..4), ttl).prop_map(|(i, v, t)| Op::Batch(i, v, t)),
        3 => (id.clone(), prop::option::of(0u32..6)).prop_map(|(i, u)| Op::Commit(i, u)),
        1 => (id.clone(), 0u32..3).prop_map(|(i, l)| Op::CommitLeg(i, l)),
        2 => id.clone().prop_map(Op::Release),
        1 => (id.clone(), 0u32..3).prop_map(|(i, l)| Op::ReleaseLeg(i, l)),
        2 => id.clone().prop_map(Op::Refund),
        1 => (id.clone(), 0u32..3).prop_map(|(i, l)| Op::RefundLeg(i, l)),
        1 => id.clone().prop_map(Op::CommitBatch),
        1 => id.prop_map(Op::ReleaseBatch),
        3 => (0u64..15).prop_map(Op::Advance),
        1 => Just(Op::ExpireDue),
        1 => Just(Op::SnapshotRestore),
    ]
}

fn kind<T>(r: &uoom::Result<T>) -> Result<(), uoom::ErrorKind> {
    r.as_ref().map(|_| ()).map_err(uoom::Error::kind)
}

fn unit<T, E: Copy>(r: &Result<T, E>) -> Result<(), E> {
    r.as_ref().map(|_| ()).map_err(|e| *e)
}

/// Runs one sequence, checking results, balances, the invariant and the
/// event replay after every step.
#[allow(clippy::needless_range_loop)] // accounts are indices shared by the model and the ledger
fn run_sequence(ops: &[Op]) -> Result<(), TestCaseError> {
    let clock = Arc::new(ManualClock::new(Millis(1_000)));
    let mut ledger = Ledger::new(clock.clone());
    let mut model = Model::new(ACCOUNTS);
    model.now = 1_000;
    let mut replay = Replay::default();
    let mut lowered = [false; ACCOUNTS];
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::SetCapacity(a, c) => {
                let (ch, s) = key(*a);
                let got = ledger.set_capacity(&ch, s, *c).map(|x| x.overcommitted);
                let want = model.set_capacity(*a, *c);
                prop_assert_eq!(got.map_err(|e| e.kind()), want, "step {} {:?}", step, op);
                if want.unwrap_or(0) > 0 {
                    lowered[*a] = true;
                }
            }
            Op::Reserve(id, a, u, t) => {
                let (ch, s) = key(*a);
                let got = ledger.reserve(ReservationId(*id), &ch, s, *u, *t);
                let want = model.reserve(*id, *a, *u, *t);
                prop_assert_eq!(kind(&got), unit(&want), "step {} {:?}", step, op);
                if let (Ok(g), Ok(w)) = (&got, &want) {
                    prop_assert_eq!(g.state, *w);
                }
            }
            Op::Batch(id, items, t) => {
                let real: Vec<_> = items
                    .iter()
                    .map(|(a, u)| {
                        let (c, s) = key(*a);
                        (c, s, *u)
                    })
                    .collect();
                let got = ledger.reserve_batch(ReservationId(*id), &real, *t);
                let want = model.reserve_batch(*id, items, *t);
                prop_assert_eq!(kind(&got), unit(&want), "step {} {:?}", step, op);
                if let (Ok(g), Ok(w)) = (&got, &want) {
                    prop_assert_eq!(g.len(), *w);
                }
            }
            Op::Commit(id, u) => {
                let got = ledger.commit(ReservationId(*id), *u);
                let want = model.commit(*id, *u);
                prop_assert_eq!(kind(&got), unit(&want), "step {} {:?}", step, op);
                if let (Ok(g), Ok(w)) = (&got, &want) {
                    prop_assert_eq!(g.committed, *w);
                }
            }
            Op::CommitLeg(id, l) => {
                let leg = ReservationId(*id).leg(*l);
                let got = ledger.commit(leg, None);
                let want = model.commit(leg.0, None);
                prop_assert_eq!(kind(&got), unit(&want), "step {} {:?}", step, op);
            }
            Op::Release(id) => {
                let got = ledger.release(ReservationId(*id));
                let want = model.release(*id);
                prop_assert_eq!(kind(&got), unit(&want), "step {} {:?}", step, op);
                if let (Ok(g), Ok(w)) = (&got, &want) {
                    prop_assert_eq!(g.state, *w);
                }
            }
            Op::ReleaseLeg(id, l) => {
                let leg = ReservationId(*id).leg(*l);
                let got = ledger.release(leg);
                let want = model.release(leg.0);
                prop_assert_eq!(kind(&got), unit(&want), "step {} {:?}", step, op);
            }
            Op::Refund(id) => {
                let got = ledger.refund(ReservationId(*id));
                let want = model.refund(*id);
                prop_assert_eq!(kind(&got), unit(&want), "step {} {:?}", step, op);
                if let (Ok(g), Ok(w)) = (&got, &want) {
                    prop_assert_eq!(g.state, ReservationState::Refunded);
                    prop_assert_eq!(g.committed, *w);
                }
            }
            Op::RefundLeg(id, l) => {
                let leg = ReservationId(*id).leg(*l);
                let got = ledger.refund(leg);
                let want = model.refund(leg.0);
                prop_assert_eq!(kind(&got), unit(&want), "step {} {:?}", step, op);
            }
            Op::CommitBatch(id) | Op::ReleaseBatch(id) => {
                let commit = matches!(op, Op::CommitBatch(_));
                let got = if commit {
                    ledger.commit_batch(ReservationId(*id))
                } else {
                    ledger.release_batch(ReservationId(*id))
                };
                let want = model.finish_batch(*id, commit);
                prop_assert_eq!(kind(&got), want, "step {} {:?}", step, op);
            }
            Op::Advance(ms) => {
                clock.advance_ms(*ms);
                model.now += ms;
            }
            Op::ExpireDue => {
                ledger.expire_due();
            }
            Op::SnapshotRestore => {
                for e in ledger.drain_events() {
                    replay.apply(&e);
                }
                let snap = ledger.snapshot();
                let json = serde_json::to_string(&snap).unwrap();
                let back = serde_json::from_str(&json).unwrap();
                ledger = Ledger::restore(clock.clone(), back).unwrap();
            }
        }
        for a in 0..ACCOUNTS {
            let (ch, s) = key(a);
            let got = ledger.balance(&ch, s).ok();
            let want = model.balance(a);
            prop_assert_eq!(
                got,
                want,
                "balance of account {} after step {} {:?}",
                a,
                step,
                op
            );
            if let Some(b) = got {
                let held = b.pending + b.committed;
                if held <= b.capacity {
                    lowered[a] = false;
                }
                // Beyond capacity only after capacity was lowered, and then availability is 0.
                prop_assert!(held <= b.capacity || lowered[a], "overbooked {:?}", b);
                prop_assert_eq!(b.available(), b.capacity.saturating_sub(held));
            }
        }
        for e in ledger.drain_events() {
            replay.apply(&e);
        }
        for a in 0..ACCOUNTS {
            let (ch, s) = key(a);
            if let Ok(b) = ledger.balance(&ch, s) {
                let k = format!("{ch}@{s}");
                prop_assert_eq!(replay.balances.get(&k).copied(), Some(b), "replay of {}", k);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases("LEDGER_SEQ_CASES", 60_000)))]
    #[test]
    fn sequences_match_the_model(ops in prop::collection::vec(op(), 1..40)) {
        run_sequence(&ops)?;
    }
}

#[derive(Debug, Clone)]
enum TOp {
    Reserve(u32, usize, u32, u64),
    Commit(u32, Option<u32>),
    Release(u32),
    Refund(u32),
    Advance(u64),
}

fn top() -> impl Strategy<Value = TOp> {
    prop_oneof![
        5 => (0u32..16, 0..ACCOUNTS, 1u32..4, 1u64..30).prop_map(|(i, a, u, t)| TOp::Reserve(i, a, u, t)),
        3 => (0u32..16, prop::option::of(0u32..4)).prop_map(|(i, u)| TOp::Commit(i, u)),
        2 => (0u32..16).prop_map(TOp::Release),
        1 => (0u32..16).prop_map(TOp::Refund),
        2 => (0u64..6).prop_map(TOp::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases("LEDGER_MT_CASES", 1_000)))]
    /// Two worker threads interleave operations on shared accounts while an
    /// observer thread checks the invariant; at the end the committed units
    /// equal the sum of successful commits and the event replay equals the balances.
    #[test]
    fn concurrent_runs_keep_the_invariant(
        caps in prop::collection::vec(1u32..10, ACCOUNTS),
        work in prop::collection::vec(prop::collection::vec(top(), 1..60), 2),
    ) {
        let clock = Arc::new(ManualClock::new(Millis(0)));
        let ledger = Arc::new(Ledger::new(clock.clone()));
        for (a, c) in caps.iter().enumerate() {
            let (ch, s) = key(a);
            ledger.set_capacity(&ch, s, *c).unwrap();
        }
        let done = Arc::new(AtomicBool::new(false));
        let observer = {
            let (ledger, done) = (ledger.clone(), done.clone());
            std::thread::spawn(move || {
                let mut checks = 0u64;
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    for a in 0..ACCOUNTS {
                        let (ch, s) = key(a);
                        let b = ledger.balance(&ch, s).unwrap();
                        assert!(b.pending + b.committed <= b.capacity, "overbooked {b:?}");
                        checks += 1;
                    }
                    if finished {
                        return checks;
                    }
                }
            })
        };
        let workers: Vec<_> = work
            .into_iter()
            .enumerate()
            .map(|(t, ops)| {
                let (ledger, clock) = (ledger.clone(), clock.clone());
                std::thread::spawn(move || {
                    let id = |i: u32| ReservationId((u128::from(i) << 8) | t as u128);
                    let mut committed = [0u32; ACCOUNTS];
                    // Ids whose commit was counted: a repeated commit is idempotent
                    // and must not count twice.
                    let mut counted = std::collections::HashSet::new();
                    let mut refunded = std::collections::HashSet::new();
                    let account = |r: &uoom::ledger::Reservation| {
                        r.account.key().slot.0 as usize * 2
                            + usize::from(r.account.key().channel.as_str() == "c1")
                    };
                    for op in ops {
                        match op {
                            TOp::Reserve(i, a, u, ttl) => {
                                let (ch, s) = key(a);
                                let _ = ledger.reserve(id(i), &ch, s, u, ttl);
                            }
                            TOp::Commit(i, u) => {
                                if let Ok(r) = ledger.commit(id(i), u)
                                    && counted.insert(i)
                                {
                                    committed[account(&r)] += r.committed;
                                }
                            }
                            TOp::Release(i) => {
                                let _ = ledger.release(id(i));
                            }
                            TOp::Refund(i) => {
                                // Ids are per thread, so this thread counted its commit.
                                if let Ok(r) = ledger.refund(id(i))
                                    && refunded.insert(i)
                                {
                                    committed[account(&r)] -= r.committed;
                                }
                            }
                            TOp::Advance(ms) => clock.advance_ms(ms),
                        }
                    }
                    committed
                })
            })
            .collect();
        let mut committed = [0u32; ACCOUNTS];
        for w in workers {
            for (a, c) in w.join().unwrap().into_iter().enumerate() {
                committed[a] += c;
            }
        }
        done.store(true, Ordering::SeqCst);
        prop_assert!(observer.join().unwrap() >= ACCOUNTS as u64);
        clock.advance_ms(1_000);
        let mut replay = Replay::default();
        for e in ledger.drain_events() {
            replay.apply(&e);
        }
        for (a, want) in committed.iter().enumerate() {
            let (ch, s) = key(a);
            let b = ledger.balance(&ch, s).unwrap();
            prop_assert_eq!(b.pending, 0);
            prop_assert_eq!(b.committed, *want, "account {}", a);
            prop_assert!(b.committed <= b.capacity);
        }
        for e in ledger.drain_events() {
            replay.apply(&e);
        }
        for a in 0..ACCOUNTS {
            let (ch, s) = key(a);
            let b = ledger.balance(&ch, s).unwrap();
            prop_assert_eq!(replay.balances.get(&format!("{ch}@{s}")).copied(), Some(b));
        }
        let states: Vec<_> = (0..16u32)
            .flat_map(|i| (0..2u128).map(move |t| ReservationId((u128::from(i) << 8) | t)))
            .filter_map(|id| ledger.get(id).ok())
            .collect();
        prop_assert!(states.iter().all(|r| r.state != ReservationState::Pending));
    }
}

/// Operations of the retention property: ids are indices into a pool that
/// grows with `ReserveNew` (ids increasing, as time-ordered ids arrive).
#[derive(Debug, Clone)]
enum ROp {
    ReserveNew(usize, u32, u64),
    Reserve(usize, usize, u32, u64),
    Batch(usize, Vec<(usize, u32)>, u64),
    Commit(usize, Option<u32>),
    Release(usize),
    Refund(usize),
    CommitBatch(usize),
    Advance(u64),
    SnapshotRestore,
}

fn rop() -> impl Strategy<Value = ROp> {
    let k = 0usize..16;
    let acct = 0..ACCOUNTS;
    let ttl = prop_oneof![Just(3u64), Just(10), Just(40)];
    prop_oneof![
        5 => (acct.clone(), 1u32..4, ttl.clone()).prop_map(|(a, u, t)| ROp::ReserveNew(a, u, t)),
        2 => (k.clone(), acct.clone(), 1u32..4, ttl.clone()).prop_map(|(i, a, u, t)| ROp::Reserve(i, a, u, t)),
        1 => (k.clone(), prop::collection::vec((acct, 1u32..3), 1..3), ttl).prop_map(|(i, v, t)| ROp::Batch(i, v, t)),
        4 => (k.clone(), prop::option::of(0u32..4)).prop_map(|(i, u)| ROp::Commit(i, u)),
        1 => k.clone().prop_map(ROp::Release),
        2 => k.clone().prop_map(ROp::Refund),
        1 => k.prop_map(ROp::CommitBatch),
        4 => (0u64..25).prop_map(ROp::Advance),
        1 => Just(ROp::SnapshotRestore),
    ]
}

/// The ledger must remember every id until its retention window has passed
/// (the model's `forget_at`); past it, the model follows whatever the ledger
/// decided (asked with `get` after a full collection), and from then on both
/// must agree on every result and balance.
fn run_retention(ops: &[ROp], retention: u64, ordered: bool) -> Result<(), TestCaseError> {
    let clock = Arc::new(ManualClock::new(Millis(1_000)));
    let build = |clock: &Arc<ManualClock>| {
        Ledger::builder(clock.clone())
            .with_retention_ms(retention)
            .build()
            .unwrap()
    };
    let mut ledger = build(&clock);
    let mut model = Model::new(ACCOUNTS);
    model.now = 1_000;
    for a in 0..ACCOUNTS {
        let (ch, s) = key(a);
        ledger.set_capacity(&ch, s, 6).unwrap();
        model.set_capacity(a, 6).unwrap();
    }
    // Time-ordered: increasing high half, random low half (like UUIDv7);
    // otherwise random 128-bit ids.
    let mix = |n: u64| {
        let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let make = |n: u64| {
        if ordered {
            (u128::from(n + 1) << 64) | u128::from(mix(n))
        } else {
            (u128::from(mix(n ^ 0xabc)) << 64) | u128::from(mix(n))
        }
    };
    let mut pool: Vec<u128> = Vec::new();
    let pick = |pool: &Vec<u128>, i: usize| pool.get(i % pool.len().max(1)).copied();
    let mut replay = Replay::default();
    for e in ledger.drain_events() {
        replay.apply(&e);
    }
    for (step, op) in ops.iter().enumerate() {
        // Reconcile ids past their window with the ledger's decision.
        let held: Vec<u128> = model
            .res
            .keys()
            .chain(model.batches.keys())
            .copied()
            .collect();
        // Something may be forgotten: let the ledger collect now, so that
        // the operation's own lazy collection finds nothing more.
        if held.iter().any(|id| {
            model
                .forget_at(*id, retention)
                .is_some_and(|at| at <= model.now)
        }) {
            ledger.expire_due();
        }
        for id in held {
            let Some(at) = model.forget_at(id, retention) else {
                continue;
            };
            let known = match ledger.get(ReservationId(id)) {
                Ok(_) => true,
                Err(e) => e.kind() != uoom::ErrorKind::NotFound, // a batch id
            };
            if at > model.now {
                prop_assert!(
                    known,
                    "step {}: {:x} forgotten before its window ended",
                    step,
                    id
                );
            } else if !known {
                model.forget(id);
            }
        }
        match op {
            ROp::ReserveNew(a, u, t) | ROp::Reserve(_, a, u, t) => {
                let id = match op {
                    ROp::ReserveNew(..) => {
                        pool.push(make(pool.len() as u64));
                        *pool.last().unwrap()
                    }
                    ROp::Reserve(i, ..) => match pick(&pool, *i) {
                        Some(id) => id,
                        None => continue,
                    },
                    _ => unreachable!(),
                };
                let (ch, s) = key(*a);
                let got = ledger.reserve(ReservationId(id), &ch, s, *u, *t);
                let want = model.reserve(id, *a, *u, *t);
                prop_assert_eq!(kind(&got), unit(&want), "step {} {:?}", step, op);
                if let (Ok(g), Ok(w)) = (&got, &want) {
                    prop_assert_eq!(g.state, *w);
                }
            }
            ROp::Batch(i, items, t) => {
                let Some(id) = pick(&pool, *i) else { continue };
                let id = id ^ 1; // a batch id beside a reservation id
                let real: Vec<_> = items
                    .iter()
                    .map(|(a, u)| {
                        let (c, s) = key(*a);
                        (c, s, *u)
                    })
                    .collect();
                let got = ledger.reserve_batch(ReservationId(id), &real, *t);
                let want = model.reserve_batch(id, items, *t);
                prop_assert_eq!(kind(&got), unit(&want), "step {} {:?}", step, op);
            }
            ROp::Commit(i, u) => {
                let Some(id) = pick(&pool, *i) else { continue };
                let got = ledger.commit(ReservationId(id), *u);
                let want = model.commit(id, *u);
                prop_assert_eq!(kind(&got), unit(&want), "step {} {:?}", step, op);
            }
            ROp::Release(i) => {
                let Some(id) = pick(&pool, *i) else { continue };
                let got = ledger.release(ReservationId(id));
                let want = model.release(id);
                prop_assert_eq!(kind(&got), unit(&want), "step {} {:?}", step, op);
            }
            ROp::Refund(i) => {
                let Some(id) = pick(&pool, *i) else { continue };
                let got = ledger.refund(ReservationId(id));
                let want = model.refund(id);
                prop_assert_eq!(kind(&got), unit(&want), "step {} {:?}", step, op);
            }
            ROp::CommitBatch(i) => {
                let Some(id) = pick(&pool, *i) else { continue };
                let got = ledger.commit_batch(ReservationId(id ^ 1));
                let want = model.finish_batch(id ^ 1, true);
                prop_assert_eq!(kind(&got), want, "step {} {:?}", step, op);
            }
            ROp::Advance(ms) => {
                clock.advance_ms(*ms);
                model.now += ms;
                // Periodic maintenance: collects every shard, so a reserve
                // at this instant finds nothing more to forget.
                ledger.expire_due();
            }
            ROp::SnapshotRestore => {
                for e in ledger.drain_events() {
                    replay.apply(&e);
                }
                let json = serde_json::to_string(&ledger.snapshot()).unwrap();
                ledger =
                    Ledger::restore(clock.clone(), serde_json::from_str(&json).unwrap()).unwrap();
            }
        }
        for e in ledger.drain_events() {
            replay.apply(&e);
        }
        for a in 0..ACCOUNTS {
            let (ch, s) = key(a);
            let got = ledger.balance(&ch, s).unwrap();
            prop_assert_eq!(
                Some(got),
                model.balance(a),
                "account {} step {} {:?}",
                a,
                step,
                op
            );
            prop_assert!(got.pending + got.committed <= got.capacity);
            let k = format!("{ch}@{s}");
            prop_assert_eq!(
                replay.balances.get(&k).copied(),
                Some(got),
                "replay of {}",
                k
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases("LEDGER_RET_CASES", 40_000)))]
    /// Idempotency memory with a short retention window: repeats within the
    /// window get the first answer, across ring/side-map moves, forgetting,
    /// out-of-order and random ids, and snapshot/restore.
    #[test]
    fn retention_keeps_idempotency_within_the_window(
        ops in prop::collection::vec(rop(), 1..50),
        retention in prop_oneof![Just(0u64), 1u64..30, Just(100)],
        ordered in any::<bool>(),
    ) {
        run_retention(&ops, retention, ordered)?;
    }
}
