//! A router with deferred writes driven the way an event-loop host with an
//! asynchronous database drives it: bookings, writes and idempotency
//! lookups all in flight at once, answered in time order on a manual
//! clock, with a store that refuses some writes. Seeded, so a failing case
//! replays exactly.

mod engine_common;

use engine_common::{channel, clock, request};
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use uoom::engine::{
    Action, AsyncStatusReadModel, AsyncWriteModel, BookingCall, BookingRef, BoxFuture, CancelCall,
    ChannelGateway, GatewayError, IntakeWrite, LookupCall, MemoryReadModel, MemoryStore, Outbox,
    Outcome, OwnedUnitOfWork, PartnerProfile, Router, SaveCall, SimGateway, StatusReadModel,
    Ticket, Turn, WriteModel,
};
use uoom::events::{DomainEvent, EventPayload, FailureReason};
use uoom::{
    Channel, ChannelKind, Clock, Error, ErrorKind, GeoPoint, ManualClock, Millis, Order, OrderId,
    OrderStatus, Result,
};

fn channels(caps: &[u32]) -> Vec<Channel> {
    caps.iter()
        .enumerate()
        .map(|(i, &cap)| {
            channel(
                &format!("c{i}"),
                ChannelKind::ExternalPartner,
                GeoPoint::new(40.72 + 0.002 * i as f64, -74.0),
                cap,
            )
        })
        .collect()
}

fn deferred_router(chs: Vec<Channel>, clock: Arc<ManualClock>, intake: IntakeWrite) -> Router {
    Router::builder(chs, Arc::new(SimGateway::new(clock.clone(), 1)))
        .with_clock(clock)
        .with_id_seed(7)
        .with_booking_timeout_ms(2_000)
        .with_intake_write(intake)
        .with_deferred_writes(true)
        .build()
        .unwrap()
}

/// Polls a future that is ready at once (the in-memory stores' are).
fn now<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("an in-memory store's future was not ready"),
    }
}

/// Which units a store refuses.
#[derive(Clone, Copy)]
struct Refusals {
    /// Refuse the validated order's unit of one order in this many.
    intake: u128,
    /// Refuse the confirmed order's unit of one order in this many.
    confirmed: u128,
    /// Of those, refuse the failed state's unit too, one in this many.
    compensation: u128,
}

fn hit(id: &OrderId, every: u128) -> bool {
    // The low bits of a v7 id are random: a fair, seeded draw.
    every > 0 && id.0.as_u128() % every == 0
}

/// An in-memory write model and read model that refuse some units as a
/// fenced database would (a `Conflict`: a stale lease), through the async
/// ports.
struct RefusingStore {
    store: MemoryStore,
    read: MemoryReadModel,
    refuse: Refusals,
    refused: parking_lot::Mutex<Vec<(OrderId, OrderStatus)>>,
}

impl RefusingStore {
    fn new(refuse: Refusals) -> Self {
        Self {
            store: MemoryStore::default(),
            read: MemoryReadModel::default(),
            refuse,
            refused: parking_lot::Mutex::new(Vec::new()),
        }
    }

    fn refuses(&self, unit: &OwnedUnitOfWork) -> bool {
        let o = &unit.order;
        match o.status {
            OrderStatus::Validated => hit(&o.id, self.refuse.intake),
            OrderStatus::Confirmed => hit(&o.id, self.refuse.confirmed),
            OrderStatus::Failed => {
                let undoing = unit.events.iter().any(|e| {
                    matches!(
                        e.payload,
                        EventPayload::OrderFailed {
                            reason: FailureReason::PersistFailed,
                            ..
                        }
                    )
                });
                undoing && hit(&o.id, self.refuse.compensation)
            }
            _ => false,
        }
    }

    fn events(&self) -> Vec<DomainEvent> {
        self.store
            .pending(usize::MAX)
            .into_iter()
            .map(|e| e.event)
            .collect()
    }
}

impl AsyncWriteModel for RefusingStore {
    fn save<'a>(&'a self, unit: &'a OwnedUnitOfWork) -> BoxFuture<'a, Result<()>> {
        if self.refuses(unit) {
            self.refused.lock().push((unit.order.id, unit.order.status));
            return Box::pin(std::future::ready(Err(Error::conflict(
                "stale lease: the unit's capacity commit is fenced off",
            ))));
        }
        AsyncWriteModel::save(&self.store, unit)
    }
    fn order<'a>(&'a self, id: &'a OrderId) -> BoxFuture<'a, Result<Option<Order>>> {
        AsyncWriteModel::order(&self.store, id)
    }
    fn outcome_for_key<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Outcome>>> {
        AsyncWriteModel::outcome_for_key(&self.store, key)
    }
}

/// How the simulated partner answers one booking.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Booked,
    Refused,
    TimedOut,
    LateYes,
}

/// What waits in the host's event queue.
#[allow(clippy::large_enum_variant)] // a test queue: sizes do not matter
enum Pending {
    Book(BookingCall, Answer),
    Save(SaveCall),
    Lookup(LookupCall),
}

/// Everything a host run saw.
#[derive(Default)]
struct HostLog {
    outcomes: Vec<Outcome>,
    /// Requests answered with an error: a refused intake, a refused key.
    errors: Vec<Error>,
    cancels: Vec<CancelCall>,
    late_refs: HashSet<String>,
    max_in_flight: usize,
    saves: usize,
    lookups: usize,
}

/// The requests of a run: customer number and idempotency key.
fn requests(n: u32, rng: &mut SmallRng) -> Vec<(u128, Option<String>)> {
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let key = match rng.random_range(0..10) {
            // A fresh key.
            0..=3 => Some(format!("k{i}")),
            // A key of a few requests back: a retry, often while the first
            // is still in flight.
            4 if i > 3 => Some(format!("k{}", i - rng.random_range(1..=3))),
            // A retry long after: its first is written by now (if it had
            // this key), so it is replayed.
            5 if i > 400 => Some(format!("k{}", i - rng.random_range(250..400))),
            _ => None,
        };
        out.push((u128::from(i) + 1, key));
    }
    out
}

/// A discrete-event host: a request arrives every ms of the manual clock;
/// each booking is answered after 50-200 ms (or refused, or left to time
/// out, or answered just after its deadline), each write after 1-30 ms,
/// each lookup after 1-5 ms. Writes and lookups hit `store` when they are
/// answered, so they overlap with bookings and with each other.
fn run_host(
    router: &mut Router,
    clock: &ManualClock,
    store: &RefusingStore,
    orders: u32,
    seed: u64,
    mix: [u32; 3],
) -> HostLog {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut rng = SmallRng::seed_from_u64(seed);
    let reqs = requests(orders, &mut rng);
    let start = clock.now().0;
    let mut log = HostLog::default();
    let mut queue: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
    let mut waiting: HashMap<u64, Pending> = HashMap::new();
    let mut seq = 0u64;
    let mut begun = 0usize;
    loop {
        let next_arrival = (begun < reqs.len()).then(|| start + begun as u64 + 1);
        let next_answer = queue.peek().map(|Reverse((t, _))| *t);
        let take_arrival = match (next_arrival, next_answer) {
            (None, None) => break,
            (Some(a), Some(b)) => a <= b,
            (a, _) => a.is_some(),
        };
        let turn: Result<Turn> = if take_arrival {
            clock.set(Millis(next_arrival.unwrap()).max(clock.now()));
            let (customer, key) = &reqs[begun];
            begun += 1;
            router.start(request(*customer), key.as_deref())
        } else {
            let Reverse((t, id)) = queue.pop().unwrap();
            clock.set(Millis(t).max(clock.now()));
            match waiting.remove(&id).unwrap() {
                Pending::Book(call, answer) => {
                    let a = match answer {
                        Answer::Booked => Ok(BookingRef(format!("ref-{}", call.ticket.0))),
                        Answer::Refused => Err(GatewayError::Failed("no".into())),
                        Answer::TimedOut => Err(GatewayError::Timeout {
                            after_ms: call.timeout_ms,
                        }),
                        Answer::LateYes => {
                            let r = format!("late-{}", call.ticket.0);
                            log.late_refs.insert(r.clone());
                            Ok(BookingRef(r))
                        }
                    };
                    router.booked(call.ticket, a)
                }
                Pending::Save(call) => {
                    let written = now(AsyncWriteModel::save(store, &call.unit));
                    if written.is_ok() {
                        now(AsyncStatusReadModel::upsert(&store.read, call.view)).unwrap();
                    }
                    router.saved(call.ticket, written)
                }
                Pending::Lookup(call) => {
                    let found = now(AsyncWriteModel::outcome_for_key(store, &call.key));
                    router.looked_up(call.ticket, found)
                }
            }
        };
        match turn {
            Err(e) => log.errors.push(e),
            Ok(turn) => {
                log.cancels.extend(turn.cancels);
                let (at, pending) = match turn.next {
                    Action::Done(o) => {
                        log.outcomes.push(o);
                        (None, None)
                    }
                    Action::Book(call) => {
                        let x = rng.random_range(0..1000);
                        let answer = if x < mix[0] {
                            Answer::Refused
                        } else if x < mix[0] + mix[1] {
                            Answer::TimedOut
                        } else if x < mix[0] + mix[1] + mix[2] {
                            Answer::LateYes
                        } else {
                            Answer::Booked
                        };
                        let at = match answer {
                            Answer::Booked | Answer::Refused => {
                                clock.now().0 + rng.random_range(50..=200)
                            }
                            Answer::TimedOut => call.deadline.0,
                            Answer::LateYes => call.deadline.0 + 1,
                        };
                        (Some(at), Some(Pending::Book(call, answer)))
                    }
                    Action::Save(call) => {
                        log.saves += 1;
                        let at = clock.now().0 + rng.random_range(1..=30);
                        (Some(at), Some(Pending::Save(call)))
                    }
                    Action::Lookup(call) => {
                        log.lookups += 1;
                        let at = clock.now().0 + rng.random_range(1..=5);
                        (Some(at), Some(Pending::Lookup(call)))
                    }
                };
                if let (Some(at), Some(p)) = (at, pending) {
                    seq += 1;
                    queue.push(Reverse((at, seq)));
                    waiting.insert(seq, p);
                }
            }
        }
        log.max_in_flight = log.max_in_flight.max(router.in_flight());
    }
    assert!(waiting.is_empty());
    log
}

/// The status changes of each order, in the order its events were written.
fn chains(events: &[DomainEvent]) -> HashMap<OrderId, Vec<(Option<OrderStatus>, OrderStatus)>> {
    let mut chain: HashMap<OrderId, Vec<_>> = HashMap::new();
    for e in events {
        if let Some(change) = e.payload.status_change() {
            chain
                .entry(e.payload.order_id().unwrap())
                .or_default()
                .push(change);
        }
    }
    chain
}

/// Every request settles once; what is written, the ledger and the cancels
/// agree with the outcomes; a refused confirmation is undone.
fn check(
    router: &Router,
    clock: &ManualClock,
    store: &RefusingStore,
    log: &HostLog,
    requests: u32,
    caps: &[u32],
) {
    assert_eq!(router.in_flight(), 0, "an order was left waiting");
    assert_eq!(
        log.outcomes.len() + log.errors.len(),
        requests as usize,
        "every request is answered once"
    );
    for e in &log.errors {
        // A refused intake write (the store's Conflict), or a key in flight.
        assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    }
    let refused: HashMap<OrderId, Vec<OrderStatus>> =
        store
            .refused
            .lock()
            .iter()
            .fold(HashMap::new(), |mut m, (id, st)| {
                m.entry(*id).or_default().push(*st);
                m
            });
    let persist_cancels: HashMap<OrderId, &CancelCall> = log
        .cancels
        .iter()
        .filter(|c| c.reason == FailureReason::PersistFailed)
        .map(|c| (c.order_id, c))
        .collect();
    let events = store.events();
    let chain = chains(&events);
    let mut seen = HashSet::new();
    let mut confirmed_on: HashMap<String, u32> = HashMap::new();
    for o in log.outcomes.iter().filter(|o| !o.replayed) {
        assert!(
            seen.insert(o.order_id),
            "order {} settled twice",
            o.order_id
        );
        let stored = WriteModel::order(&store.store, &o.order_id);
        match o.failure {
            Some(FailureReason::PersistFailed) => {
                assert_eq!(o.status, OrderStatus::Failed);
                assert!(refused[&o.order_id].contains(&OrderStatus::Confirmed));
                let c = persist_cancels[&o.order_id];
                assert!(c.booking.is_some(), "the booking made is the one cancelled");
                if refused[&o.order_id].contains(&OrderStatus::Failed) {
                    // Neither write went through: the order stays as its
                    // intake left it (or absent).
                    let s = stored.map(|s| s.status);
                    assert!(matches!(s, None | Some(OrderStatus::Validated)), "{s:?}");
                } else {
                    assert_eq!(stored.unwrap().status, OrderStatus::Failed);
                    let tail: Vec<_> = chain[&o.order_id].iter().rev().take(2).collect();
                    assert_eq!(
                        *tail[0],
                        (Some(OrderStatus::Confirmed), OrderStatus::Failed),
                        "the history says it was confirmed, then failed"
                    );
                }
            }
            _ => {
                let stored = stored.expect("a settled order is written");
                assert_eq!(stored.status, o.status, "outcome and write model agree");
                let view = StatusReadModel::get(&store.read, &o.order_id).unwrap();
                assert_eq!(view.status, o.status, "the view follows the write");
                if o.is_confirmed() {
                    let b = o.booking.as_deref().unwrap();
                    assert!(b.starts_with("ref-"), "only an on-time booking confirms");
                    *confirmed_on
                        .entry(o.channel.clone().unwrap().0)
                        .or_default() += 1;
                }
            }
        }
    }
    // Each refused confirmation was undone exactly once.
    let undone = log
        .outcomes
        .iter()
        .filter(|o| !o.replayed && o.failure == Some(FailureReason::PersistFailed))
        .count();
    assert_eq!(undone, persist_cancels.len());
    // Replays answer with an order of the same key that was settled.
    for o in log.outcomes.iter().filter(|o| o.replayed) {
        assert!(
            WriteModel::order(&store.store, &o.order_id).is_some(),
            "a replay names a written order"
        );
    }
    // Every written order's history is one unbroken chain from PENDING.
    for o in store.store.orders() {
        let changes = &chain[&o.id];
        assert_eq!(changes[0], (None, OrderStatus::Pending));
        for w in changes.windows(2) {
            assert_eq!(w[1].0, Some(w[0].1), "order {}: broken chain", o.id);
        }
        assert_eq!(changes.last().unwrap().1, o.status);
    }
    // The ledger holds nothing and has committed exactly the confirmed.
    let slot = router.ledger().slot_of(clock.now());
    for (i, &cap) in caps.iter().enumerate() {
        let id = format!("c{i}");
        let b = router.ledger().balance(&id.as_str().into(), slot).unwrap();
        assert_eq!(b.pending, 0, "{id}: a hold was left behind");
        let confirmed = confirmed_on.get(&id).copied().unwrap_or(0);
        assert_eq!(b.committed, confirmed, "{id}: committed = confirmed");
        assert!(b.committed <= cap, "{id}: overbooked");
    }
    // Every late booking is cancelled; a refused confirmation's too.
    for c in &log.cancels {
        match (&c.booking, c.reason) {
            (None, FailureReason::PartnerTimeout)
            | (Some(_), FailureReason::CommitFailed | FailureReason::PersistFailed) => {}
            (Some(b), FailureReason::PartnerTimeout) => {
                assert!(
                    log.late_refs.contains(&b.0),
                    "cancel of an on-time booking {b:?}"
                );
            }
            other => panic!("unexpected cancel {other:?}"),
        }
    }
}

#[test]
fn thousands_of_sagas_interleave_writes_with_bookings_and_refusals_are_undone() {
    let caps = [1_200, 1_200, 1_200, 1_200, 1_200];
    for intake in [IntakeWrite::BeforeRouting, IntakeWrite::WithOutcome] {
        let clock = clock();
        let mut r = deferred_router(channels(&caps), clock.clone(), intake);
        let refuse = Refusals {
            intake: 13,
            confirmed: 7,
            compensation: 3,
        };
        let store = RefusingStore::new(refuse);
        let log = run_host(&mut r, &clock, &store, 8_000, 42, [20, 20, 10]);
        check(&r, &clock, &store, &log, 8_000, &caps);
        let persist_failed = log
            .outcomes
            .iter()
            .filter(|o| !o.replayed && o.failure == Some(FailureReason::PersistFailed))
            .count();
        let conflicts_in_flight = log
            .errors
            .iter()
            .filter(|e| e.to_string().contains("is being routed"))
            .count();
        let replays = log.outcomes.iter().filter(|o| o.replayed).count();
        assert!(persist_failed > 300, "{intake:?}: {persist_failed} undone");
        let undo_refused = store
            .refused
            .lock()
            .iter()
            .filter(|(_, st)| *st == OrderStatus::Failed)
            .count();
        assert!(
            undo_refused > 50,
            "{intake:?}: {undo_refused} undoings refused"
        );
        assert!(
            conflicts_in_flight > 20,
            "{intake:?}: {conflicts_in_flight}"
        );
        assert!(replays > 20, "{intake:?}: {replays} replays");
        assert!(log.lookups > 2_000 && log.saves > 8_000);
        assert!(log.max_in_flight > 100, "{}", log.max_in_flight);
        if intake == IntakeWrite::BeforeRouting {
            // A refused intake is an error before anything is held.
            assert!(log.errors.len() > conflicts_in_flight);
        }
        assert_eq!(r.metrics().routed + r.metrics().unrouted, {
            log.outcomes.iter().filter(|o| !o.replayed).count() as u64
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn any_interleaving_of_writes_and_answers_keeps_the_ledger_whole(
        seed in any::<u64>(),
        caps in proptest::collection::vec(1u32..40, 1..4),
        orders in 1u32..120,
        confirmed in 0u128..5,
        compensation in 0u128..3,
        with_outcome in any::<bool>(),
    ) {
        let clock = clock();
        let intake = if with_outcome { IntakeWrite::WithOutcome } else { IntakeWrite::BeforeRouting };
        let mut r = deferred_router(channels(&caps), clock.clone(), intake);
        let store = RefusingStore::new(Refusals { intake: 5, confirmed, compensation });
        let log = run_host(&mut r, &clock, &store, orders, seed, [100, 100, 100]);
        check(&r, &clock, &store, &log, orders, &caps);
    }
}

/// Drives one order to its end through `store`, answering bookings from
/// `gw` (a synchronous partner, as the blocking façade books).
fn drive(
    router: &mut Router,
    gw: &dyn ChannelGateway,
    store: &MemoryStore,
    mut turn: Turn,
) -> Outcome {
    let read = MemoryReadModel::default();
    let mut order = None;
    loop {
        for c in &turn.cancels {
            let ch = router
                .channels()
                .iter()
                .find(|ch| ch.id == c.channel_id)
                .unwrap();
            let o: &Order = order.as_ref().unwrap();
            gw.cancel(o, ch, c.booking.as_ref()).unwrap();
        }
        turn = match turn.next {
            Action::Done(o) => return o,
            Action::Book(call) => {
                let ch = router
                    .channels()
                    .iter()
                    .find(|c| c.id == call.channel_id)
                    .unwrap()
                    .clone();
                let answer = gw.book(&call.order, &ch, call.timeout_ms);
                order = Some(call.order);
                router.booked(call.ticket, answer).unwrap()
            }
            Action::Save(call) => {
                order = Some(call.unit.order.clone());
                let r = now(AsyncWriteModel::save(store, &call.unit));
                now(AsyncStatusReadModel::upsert(&read, call.view)).unwrap();
                router.saved(call.ticket, r).unwrap()
            }
            Action::Lookup(call) => {
                let found = now(AsyncWriteModel::outcome_for_key(store, &call.key));
                router.looked_up(call.ticket, found).unwrap()
            }
        };
    }
}

#[test]
fn the_blocking_facade_and_deferred_writes_route_and_write_alike() {
    let caps = [3, 40, 40, 5];
    for intake in [IntakeWrite::BeforeRouting, IntakeWrite::WithOutcome] {
        let run = |deferred: bool| {
            let clock = clock();
            let gw = Arc::new(SimGateway::new(clock.clone(), 11).with_kind_profile(
                ChannelKind::ExternalPartner,
                PartnerProfile {
                    latency_ms: 100,
                    slow_share: 0.1,
                    slow_latency_ms: 5_000,
                    failure_rate: 0.2,
                },
            ));
            let store = Arc::new(MemoryStore::default());
            let mut r = Router::builder(channels(&caps), gw.clone())
                .with_clock(clock.clone())
                .with_store(store.clone(), store.clone())
                .with_id_seed(3)
                .with_intake_write(intake)
                .with_deferred_writes(deferred)
                .build()
                .unwrap();
            let mut outcomes = Vec::new();
            for i in 0..120 {
                clock.advance_ms(10);
                // Every fifth request repeats the key of the one before.
                let key = format!("k{}", i - u128::from(i % 5 == 4));
                let o = if deferred {
                    let turn = r.start(request(i + 1), Some(&key)).unwrap();
                    drive(&mut r, gw.as_ref(), &store, turn)
                } else {
                    r.submit(request(i + 1), Some(&key)).unwrap()
                };
                outcomes.push(o);
            }
            let events: Vec<_> = store
                .pending(usize::MAX)
                .into_iter()
                .map(|e| e.event)
                .collect();
            let mut orders = store.orders();
            orders.sort_by_key(|o| o.id);
            (
                outcomes,
                events,
                orders,
                gw.stats(),
                r.render_metrics()
                    .lines()
                    .filter(|l| l.starts_with("uoom_orders"))
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            )
        };
        let sync = run(false);
        let deferred = run(true);
        assert_eq!(sync.0, deferred.0, "{intake:?}: outcomes");
        assert_eq!(
            sync.1, deferred.1,
            "{intake:?}: events, in the order written"
        );
        assert_eq!(sync.2, deferred.2, "{intake:?}: stored orders");
        assert_eq!(sync.3, deferred.3, "{intake:?}: partner calls");
        assert_eq!(sync.4, deferred.4, "{intake:?}: counters");
        assert!(sync.0.iter().any(|o| o.replayed));
        assert!(sync.3.failed > 0 && sync.3.timed_out > 0 && sync.3.cancelled > 0);
    }
}

fn lookup(turn: Turn) -> LookupCall {
    match turn.next {
        Action::Lookup(call) => call,
        other => panic!("a lookup was expected, not {other:?}"),
    }
}

fn save(turn: Turn) -> SaveCall {
    match turn.next {
        Action::Save(call) => call,
        other => panic!("a write was expected, not {other:?}"),
    }
}

fn book(turn: Turn) -> BookingCall {
    match turn.next {
        Action::Book(call) => call,
        other => panic!("a booking was expected, not {other:?}"),
    }
}

#[test]
fn a_refused_confirmation_cancels_the_booking_refunds_and_fails_the_order() {
    let clock = clock();
    let mut r = deferred_router(channels(&[5]), clock.clone(), IntakeWrite::BeforeRouting);
    let store = MemoryStore::default();
    let l = lookup(r.start(request(1), Some("checkout-1")).unwrap());
    let intake = save(r.looked_up(l.ticket, Ok(None)).unwrap());
    let pending = &intake.unit.idempotency.as_ref().unwrap().1;
    assert_eq!(pending.status, OrderStatus::Validated);
    WriteModel::save(&store, intake.unit.as_unit()).unwrap();
    let call = book(r.saved(intake.ticket, Ok(())).unwrap());
    let confirm = save(r.booked(call.ticket, Ok(BookingRef("P-9".into()))).unwrap());
    assert_eq!(confirm.unit.order.status, OrderStatus::Confirmed);
    let slot = r.ledger().slot_of(clock.now());
    let c0 = "c0".into();
    assert_eq!(r.ledger().balance(&c0, slot).unwrap().committed, 1);

    let turn = r
        .saved(confirm.ticket, Err(Error::conflict("stale lease")))
        .unwrap();
    let id = call.order.id;
    assert_eq!(
        turn.cancels,
        vec![CancelCall {
            order_id: id,
            channel_id: c0.clone(),
            booking: Some(BookingRef("P-9".into())),
            reason: FailureReason::PersistFailed,
        }]
    );
    let undo = save(turn);
    // The failed state carries the saga's whole history, the undoing last.
    let types: Vec<&str> = undo
        .unit
        .events
        .iter()
        .map(|e| e.event_type().as_str())
        .collect();
    assert_eq!(
        types,
        [
            "CapacityUpdated",
            "CapacityReserved",
            "ChannelAssigned",
            "CapacityCommitted",
            "OrderConfirmed",
            "BookingCancelled",
            "CapacityReleased",
            "OrderFailed"
        ]
    );
    assert_eq!(undo.unit.order.placement, None);
    assert_eq!(undo.view.failure, Some(FailureReason::PersistFailed));
    WriteModel::save(&store, undo.unit.as_unit()).unwrap();
    let done = r.saved(undo.ticket, Ok(())).unwrap();
    let o = done.outcome().unwrap().clone();
    assert_eq!(
        (o.status, o.failure, o.booking.as_deref(), o.attempts),
        (
            OrderStatus::Failed,
            Some(FailureReason::PersistFailed),
            None,
            1
        )
    );
    let b = r.ledger().balance(&c0, slot).unwrap();
    assert_eq!((b.pending, b.committed), (0, 0), "the capacity is back");
    assert_eq!(
        WriteModel::order(&store, &id).unwrap().status,
        OrderStatus::Failed
    );
    assert_eq!(
        WriteModel::outcome_for_key(&store, "checkout-1")
            .unwrap()
            .failure,
        Some(FailureReason::PersistFailed)
    );
    assert_eq!((r.metrics().routed, r.metrics().unrouted), (0, 1));
    assert_eq!(r.in_flight(), 0);
    // The key is free again, and a retry replays the failure.
    let l = lookup(r.start(request(1), Some("checkout-1")).unwrap());
    let replay = r
        .looked_up(l.ticket, Ok(WriteModel::outcome_for_key(&store, &l.key)))
        .unwrap();
    let replay = replay.outcome().unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.order_id, id);
}

#[test]
fn a_refused_intake_is_the_callers_error_and_frees_its_key() {
    let clock = clock();
    let mut r = deferred_router(channels(&[5]), clock.clone(), IntakeWrite::BeforeRouting);
    let l = lookup(r.start(request(1), Some("k")).unwrap());
    let intake = save(r.looked_up(l.ticket, Ok(None)).unwrap());
    let err = r
        .saved(intake.ticket, Err(Error::io("database down")))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(r.in_flight(), 0);
    // Nothing was reserved before the write.
    let (held, _) = r.capacity_totals();
    assert_eq!(held, 0);
    assert!(matches!(
        r.start(request(1), Some("k")).unwrap().next,
        Action::Lookup(_)
    ));
}

#[test]
fn a_failed_write_of_a_failed_order_is_the_callers_error() {
    let clock = clock();
    let mut r = deferred_router(channels(&[1]), clock.clone(), IntakeWrite::WithOutcome);
    let first = book(r.start(request(1), None).unwrap());
    let second = r.start(request(2), None).unwrap();
    // No capacity left for the second: it fails at once, and its failure
    // is to be written.
    let failed = save(second);
    assert_eq!(
        failed.unit.idempotency, None,
        "no key, no idempotency record"
    );
    assert_eq!(failed.view.failure, Some(FailureReason::CapacityExhausted));
    let err = r
        .saved(failed.ticket, Err(Error::io("database down")))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    // The first is untouched.
    let confirm = save(r.booked(first.ticket, Ok(BookingRef("B".into()))).unwrap());
    let done = r.saved(confirm.ticket, Ok(())).unwrap();
    assert!(done.outcome().unwrap().is_confirmed());
    assert_eq!(r.in_flight(), 0);
}

#[test]
fn one_key_routes_once_while_in_flight_and_is_replayed_after() {
    let clock = clock();
    let gw = Arc::new(SimGateway::new(clock.clone(), 1));
    let mut r = deferred_router(channels(&[5]), clock.clone(), IntakeWrite::BeforeRouting);
    let store = MemoryStore::default();
    let first = r.start(request(1), Some("k")).unwrap();
    for _ in 0..3 {
        let err = r.start(request(1), Some("k")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert!(err.to_string().contains("\"k\""), "{err}");
    }
    let o = drive(&mut r, gw.as_ref(), &store, first);
    assert!(o.is_confirmed());
    let again = r.start(request(1), Some("k")).unwrap();
    let replay = drive(&mut r, gw.as_ref(), &store, again);
    assert!(replay.replayed);
    assert_eq!(replay.order_id, o.order_id);
    assert_eq!(store.order_count(), 1, "routed once");
    // A lookup the store could not answer is an error, and frees the key.
    let l = lookup(r.start(request(2), Some("k2")).unwrap());
    let err = r
        .looked_up(l.ticket, Err(Error::io("read timed out")))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(matches!(
        r.start(request(2), Some("k2")).unwrap().next,
        Action::Lookup(_)
    ));
}

#[test]
fn answers_to_the_wrong_kind_of_ticket_change_nothing() {
    let clock = clock();
    let mut r = deferred_router(channels(&[5]), clock.clone(), IntakeWrite::WithOutcome);
    let call = book(r.start(request(1), None).unwrap());
    let t = call.ticket;
    assert_eq!(r.saved(t, Ok(())).unwrap_err().kind(), ErrorKind::Conflict);
    assert_eq!(
        r.looked_up(t, Ok(None)).unwrap_err().kind(),
        ErrorKind::Conflict
    );
    let unknown = Ticket(t.0 + 100);
    let err = r.booked(unknown, Ok(BookingRef("x".into()))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(r.in_flight(), 1);
    // The synchronous entry points refuse a router with deferred writes.
    let refused = [
        r.begin(request(2), None).map(|_| ()),
        r.resume(t, Ok(BookingRef("x".into()))).map(|_| ()),
        r.abandon(t).map(|_| ()),
        r.submit(request(2), None).map(|_| ()),
        r.advance(&call.order.id, OrderStatus::Preparing)
            .map(|_| ()),
        r.set_deferred_writes(false),
    ];
    for e in refused {
        assert_eq!(e.unwrap_err().kind(), ErrorKind::Conflict);
    }
    assert_eq!(r.in_flight(), 1);
    let w = save(r.booked(t, Ok(BookingRef("B".into()))).unwrap());
    assert_eq!(
        r.booked(w.ticket, Ok(BookingRef("x".into())))
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    assert_eq!(
        r.abandoned(w.ticket).unwrap_err().kind(),
        ErrorKind::Conflict
    );
    assert!(
        r.saved(w.ticket, Ok(()))
            .unwrap()
            .outcome()
            .unwrap()
            .is_confirmed()
    );
    assert_eq!(
        r.saved(w.ticket, Ok(())).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // With nothing in flight the router may go back to writing itself.
    r.set_deferred_writes(false).unwrap();
    assert!(r.submit(request(3), None).unwrap().is_confirmed());
}
