//! The saga's asynchronous boundary ([`Router::begin`] / [`Router::resume`])
//! driven the way an event-loop host drives it: many orders in flight at
//! once, partners answering in any order, on time, late, with a failure or
//! not at all. Everything runs on a manual clock with seeded answers, so a
//! failing case replays exactly.

mod engine_common;

use engine_common::{channel, clock, request};
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::Arc;
use uoom::engine::{
    BookingCall, BookingRef, CancelCall, ChannelGateway, GatewayError, MemoryStore, Next, Outbox,
    Outcome, PartnerProfile, Router, SimGateway, Step, Ticket, WriteModel,
};
use uoom::events::FailureReason;
use uoom::{Channel, ChannelKind, Clock, ErrorKind, GeoPoint, ManualClock, OrderStatus};

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

fn router(chs: Vec<Channel>, clock: Arc<ManualClock>) -> (Router, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::default());
    let gw = Arc::new(SimGateway::new(clock.clone(), 1));
    let r = Router::builder(chs, gw)
        .with_clock(clock)
        .with_store(store.clone(), store.clone())
        .with_id_seed(7)
        .with_booking_timeout_ms(2_000)
        .build()
        .unwrap();
    (r, store)
}

/// How the simulated host answers one booking.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Booked,
    Refused,
    /// The host's timer fires first.
    TimedOut,
    /// The partner says yes, after the deadline.
    LateYes,
}

/// Shares, in per mille, of refused, timed-out and late answers.
type Mix = [u32; 3];

fn pick(rng: &mut SmallRng, mix: Mix) -> Answer {
    let x = rng.random_range(0..1000);
    if x < mix[0] {
        Answer::Refused
    } else if x < mix[0] + mix[1] {
        Answer::TimedOut
    } else if x < mix[0] + mix[1] + mix[2] {
        Answer::LateYes
    } else {
        Answer::Booked
    }
}

/// What a host run saw: outcomes by order and every cancel it was asked for.
#[derive(Default)]
struct HostLog {
    outcomes: Vec<Outcome>,
    cancels: Vec<CancelCall>,
    late_refs: Vec<String>,
    max_in_flight: usize,
}

impl HostLog {
    fn take(&mut self, step: Step, pool: &mut Vec<BookingCall>) {
        self.cancels.extend(step.cancels);
        match step.next {
            Next::Book(call) => pool.push(call),
            Next::Done(o) => self.outcomes.push(o),
        }
    }
}

/// A discrete-event host: a request arrives every ms of the manual clock;
/// each booking is answered after a seeded latency (50-200 ms), refused,
/// left to the host's timer (answered `Timeout` at its deadline) or
/// answered yes just after its deadline. Events are handled in time order,
/// so bookings overlap and finish out of order.
fn run_host(router: &mut Router, clock: &ManualClock, orders: u32, seed: u64, mix: Mix) -> HostLog {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut rng = SmallRng::seed_from_u64(seed);
    let start = clock.now().0;
    let mut log = HostLog::default();
    // (when, sequence) -> the call and its answer.
    let mut queue: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
    let mut calls: HashMap<u64, (BookingCall, Answer)> = HashMap::new();
    let mut seq = 0u64;
    let mut begun = 0u32;
    loop {
        let next_arrival = (begun < orders).then(|| start + u64::from(begun) + 1);
        let next_answer = queue.peek().map(|Reverse((t, _))| *t);
        let take_arrival = match (next_arrival, next_answer) {
            (None, None) => break,
            (Some(a), Some(b)) => a <= b,
            (a, _) => a.is_some(),
        };
        let mut pool = Vec::new();
        if take_arrival {
            clock.set(uoom::Millis(next_arrival.unwrap()).max(clock.now()));
            begun += 1;
            let step = router.begin(request(u128::from(begun)), None).unwrap();
            log.take(step, &mut pool);
        } else {
            let Reverse((t, id)) = queue.pop().unwrap();
            clock.set(uoom::Millis(t).max(clock.now()));
            let (call, answer) = calls.remove(&id).unwrap();
            let step = match answer {
                Answer::Booked => {
                    let r = format!("ref-{}", call.ticket.0);
                    router.resume(call.ticket, Ok(BookingRef(r)))
                }
                Answer::Refused => {
                    router.resume(call.ticket, Err(GatewayError::Failed("no".into())))
                }
                Answer::TimedOut => {
                    let t = GatewayError::Timeout {
                        after_ms: call.timeout_ms,
                    };
                    router.resume(call.ticket, Err(t))
                }
                Answer::LateYes => {
                    let r = format!("late-{}", call.ticket.0);
                    log.late_refs.push(r.clone());
                    router.resume(call.ticket, Ok(BookingRef(r)))
                }
            };
            log.take(step.unwrap(), &mut pool);
        }
        log.max_in_flight = log.max_in_flight.max(router.in_flight());
        for call in pool {
            let answer = pick(&mut rng, mix);
            let at = match answer {
                Answer::Booked | Answer::Refused => clock.now().0 + rng.random_range(50..=200),
                Answer::TimedOut => call.deadline.0,
                Answer::LateYes => call.deadline.0 + 1,
            };
            seq += 1;
            queue.push(Reverse((at, seq)));
            calls.insert(seq, (call, answer));
        }
    }
    assert!(calls.is_empty());
    log
}

/// Every order settles once, nothing stays held, nothing is overbooked, and
/// the cancels are exactly the abandoned bookings.
fn check(
    router: &Router,
    store: &MemoryStore,
    log: &HostLog,
    orders: u32,
    caps: &[u32],
    now: uoom::Millis,
) {
    assert_eq!(router.in_flight(), 0, "a saga was left waiting");
    let late_refs: std::collections::HashSet<&str> =
        log.late_refs.iter().map(String::as_str).collect();
    assert_eq!(log.outcomes.len(), orders as usize, "every order settles");
    let mut seen = std::collections::HashSet::new();
    for o in &log.outcomes {
        assert!(
            seen.insert(o.order_id),
            "order {} settled twice",
            o.order_id
        );
        let stored = store.order(&o.order_id).unwrap();
        assert_eq!(stored.status, o.status, "outcome and write model agree");
        assert!(matches!(
            o.status,
            OrderStatus::Confirmed | OrderStatus::Failed
        ));
        if o.is_confirmed() {
            let b = o.booking.as_deref().unwrap();
            assert!(
                b.starts_with("ref-"),
                "only an on-time booking confirms: {b}"
            );
        }
    }
    let slot = router.ledger().slot_of(now);
    let mut confirmed_on: HashMap<String, u32> = HashMap::new();
    for o in log.outcomes.iter().filter(|o| o.is_confirmed()) {
        *confirmed_on
            .entry(o.channel.clone().unwrap().0)
            .or_default() += 1;
    }
    for (i, &cap) in caps.iter().enumerate() {
        let id = format!("c{i}");
        let b = router.ledger().balance(&id.as_str().into(), slot).unwrap();
        assert_eq!(b.pending, 0, "{id}: a hold was left behind");
        let confirmed = confirmed_on.get(&id).copied().unwrap_or(0);
        assert_eq!(
            b.committed, confirmed,
            "{id}: committed units = confirmed orders"
        );
        assert!(b.committed <= cap, "{id}: overbooked");
    }
    // Cancels: a timeout's (no reference), a late answer's (with it), and a
    // booking whose hold lapsed before its commit (with it).
    let mut cancelled_late = 0;
    for c in &log.cancels {
        match (&c.booking, c.reason) {
            (None, FailureReason::PartnerTimeout) => {}
            (Some(b), FailureReason::PartnerTimeout) => {
                assert!(
                    late_refs.contains(b.0.as_str()),
                    "cancel of an on-time booking {b:?}"
                );
                cancelled_late += 1;
            }
            (Some(_), FailureReason::CommitFailed) => {}
            other => panic!("unexpected cancel {other:?}"),
        }
    }
    assert_eq!(
        cancelled_late,
        late_refs.len(),
        "every late booking is cancelled"
    );
}

#[test]
fn ten_thousand_interleaved_sagas_settle_with_nothing_held_or_overbooked() {
    let caps = [1_500, 1_500, 1_500, 1_500, 1_500];
    let clock = clock();
    let (mut r, store) = router(channels(&caps), clock.clone());
    let log = run_host(&mut r, &clock, 10_000, 42, [20, 20, 10]);
    check(&r, &store, &log, 10_000, &caps, clock.now());
    let confirmed = log.outcomes.iter().filter(|o| o.is_confirmed()).count();
    let failed = log.outcomes.len() - confirmed;
    // Demand (10,000) is above capacity (7,500): both ends are exercised.
    let mut why: HashMap<String, usize> = HashMap::new();
    for o in &log.outcomes {
        *why.entry(format!("{:?}", o.failure)).or_default() += 1;
    }
    assert!(
        confirmed > 7_000 && failed > 2_000,
        "{confirmed} confirmed, {failed} failed: {why:?}"
    );
    assert!(log.cancels.len() > 200, "timeouts were compensated");
    assert!(
        log.max_in_flight > 100,
        "bookings overlapped: {}",
        log.max_in_flight
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_answer_order_keeps_the_ledger_whole(
        seed in any::<u64>(),
        caps in proptest::collection::vec(1u32..40, 1..5),
        orders in 1u32..150,
    ) {
        let clock = clock();
        let (mut r, store) = router(channels(&caps), clock.clone());
        let log = run_host(&mut r, &clock, orders, seed, [100, 100, 100]);
        check(&r, &store, &log, orders, &caps, clock.now());
    }
}

/// Answers bookings through a synchronous gateway: the same partner
/// behaviour the blocking façade sees.
fn drive_with(router: &mut Router, gw: &dyn ChannelGateway, mut step: Step) -> (Outcome, usize) {
    let mut cancels = 0;
    let mut order = None;
    loop {
        cancels += step.cancels.len();
        for c in &step.cancels {
            let ch = router
                .channels()
                .iter()
                .find(|ch| ch.id == c.channel_id)
                .unwrap();
            let o: &uoom::Order = order.as_ref().unwrap();
            gw.cancel(o, ch, c.booking.as_ref()).unwrap();
        }
        match step.next {
            Next::Done(o) => return (o, cancels),
            Next::Book(call) => {
                let ch = router
                    .channels()
                    .iter()
                    .find(|c| c.id == call.channel_id)
                    .unwrap()
                    .clone();
                let answer = gw.book(&call.order, &ch, call.timeout_ms);
                order = Some(call.order);
                step = router.resume(call.ticket, answer).unwrap();
            }
        }
    }
}

#[test]
fn the_blocking_facade_and_the_async_boundary_route_alike() {
    let caps = [3, 40, 40, 5];
    let run = |asynchronous: bool| {
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
            .build()
            .unwrap();
        let mut outcomes = Vec::new();
        for i in 0..120 {
            clock.advance_ms(10);
            let o = if asynchronous {
                let step = r.begin(request(i + 1), None).unwrap();
                drive_with(&mut r, gw.as_ref(), step).0
            } else {
                r.submit(request(i + 1), None).unwrap()
            };
            outcomes.push(o);
        }
        let events: Vec<_> = store
            .pending(usize::MAX)
            .into_iter()
            .map(|e| e.event)
            .collect();
        (outcomes, events, gw.stats())
    };
    let (sync_out, sync_events, sync_stats) = run(false);
    let (async_out, async_events, async_stats) = run(true);
    assert_eq!(sync_out, async_out);
    assert_eq!(sync_events, async_events);
    assert_eq!(sync_stats, async_stats);
    assert!(sync_stats.failed > 0 && sync_stats.timed_out > 0 && sync_stats.cancelled > 0);
}

#[test]
fn an_unknown_or_answered_ticket_is_not_found_and_changes_nothing() {
    let clock = clock();
    let (mut r, store) = router(channels(&[5]), clock);
    let step = r.begin(request(1), None).unwrap();
    let Next::Book(call) = step.next else {
        panic!("a booking was expected")
    };
    let err = r.resume(Ticket(call.ticket.0 + 100), Ok(BookingRef("x".into())));
    assert_eq!(err.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(r.in_flight(), 1);
    let done = r.resume(call.ticket, Ok(BookingRef("ok".into()))).unwrap();
    assert!(done.outcome().unwrap().is_confirmed());
    let again = r.resume(call.ticket, Ok(BookingRef("ok".into())));
    assert_eq!(again.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(
        store.order(&call.order.id).unwrap().status,
        OrderStatus::Confirmed
    );
}

#[test]
fn a_timeout_releases_the_hold_cancels_and_books_the_next_candidate() {
    let clock = clock();
    let (mut r, _store) = router(channels(&[1, 1]), clock.clone());
    let Next::Book(first) = r.begin(request(1), None).unwrap().next else {
        panic!("a booking was expected")
    };
    clock.set(first.deadline);
    let t = GatewayError::Timeout { after_ms: 2_000 };
    let step = r.resume(first.ticket, Err(t)).unwrap();
    assert_eq!(step.cancels.len(), 1);
    assert_eq!(step.cancels[0].channel_id, first.channel_id);
    assert!(step.cancels[0].booking.is_none());
    let Next::Book(second) = step.next else {
        panic!("the next candidate was expected")
    };
    assert_ne!(second.channel_id, first.channel_id);
    let slot = r.ledger().slot_of(clock.now());
    let b = r.ledger().balance(&first.channel_id, slot).unwrap();
    assert_eq!(
        (b.pending, b.committed),
        (0, 0),
        "the first hold is released"
    );
    let done = r.resume(second.ticket, Ok(BookingRef("B".into()))).unwrap();
    let o = done.outcome().unwrap();
    assert_eq!((o.attempts, o.booking.as_deref()), (2, Some("B")));
}

#[test]
fn a_batch_router_refuses_begin() {
    let clock = clock();
    let gw = Arc::new(SimGateway::new(clock.clone(), 1));
    let mut r = Router::builder(channels(&[5]), gw)
        .with_clock(clock)
        .with_batch_window_ms(Some(100))
        .build()
        .unwrap();
    assert_eq!(
        r.begin(request(1), None).unwrap_err().kind(),
        ErrorKind::Conflict
    );
}
