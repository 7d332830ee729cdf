//! Routers on fenced capacity leases: several routers (replicas), each with
//! its own `LeasedLedger`, over one in-memory authority on a manual clock.
//! They never commit more than the authority's capacity; a replica whose
//! lease ended mid-saga, or whose write carried a commit the fence refused,
//! fails the order with `stale_lease` and cancels its booking — on the
//! blocking façade, on `begin`/`resume` and with deferred writes.

mod engine_common;

use engine_common::{NYC, channel, clock, request};
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use uoom::engine::{
    Action, BookingRef, ChannelGateway, GatewayError, IntakeWrite, MemoryStore, Next, Outcome,
    Router, UnitOfWork, WriteModel,
};
use uoom::events::FailureReason;
use uoom::ledger::SlotId;
use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
use uoom::{Channel, ChannelId, ChannelKind, Clock, ManualClock, Millis, Order, OrderStatus};

const TTL: u64 = 2_000;
const MARGIN: u64 = 200;
/// The slot of the test clock's start (15-minute slots, t = 1,000 s).
const SLOT: SlotId = SlotId(1);

fn settings() -> LeaseSettings {
    LeaseSettings::default()
        .with_lease_ttl_ms(TTL)
        .with_margin_ms(MARGIN)
}

/// Two kitchens that claim 100 units each; the authority says otherwise.
fn kitchens() -> Vec<Channel> {
    vec![
        channel("k1", ChannelKind::InternalKitchen, NYC, 100),
        channel("k2", ChannelKind::InternalKitchen, NYC, 100),
    ]
}

/// Books everything, names bookings `P-n`, records cancellations.
#[derive(Default)]
struct Partner {
    next: AtomicU64,
    cancelled: Mutex<Vec<Option<BookingRef>>>,
}

impl ChannelGateway for Partner {
    fn book(&self, _: &Order, _: &Channel, _: u64) -> Result<BookingRef, GatewayError> {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(BookingRef(format!("P-{n}")))
    }
    fn cancel(
        &self,
        _: &Order,
        _: &Channel,
        booking: Option<&BookingRef>,
    ) -> Result<(), GatewayError> {
        self.cancelled.lock().push(booking.cloned());
        Ok(())
    }
}

/// A write model that is also where lease commits are written (as
/// PostgreSQL is): a unit's fenced commit goes to the authority in the same
/// critical section as the order, and a refused commit refuses the unit.
/// `stall_ms` moves the clock before the next write (a process paused
/// between confirming an order and writing it).
struct FencedStore {
    inner: MemoryStore,
    authority: Arc<MemoryAuthority>,
    clock: Arc<ManualClock>,
    stall_ms: AtomicU64,
    lock: Mutex<()>,
    /// Units written per channel with confirmed orders (the audit).
    placed: Mutex<Vec<(ChannelId, SlotId, u32)>>,
}

impl FencedStore {
    fn new(authority: Arc<MemoryAuthority>, clock: Arc<ManualClock>) -> Self {
        FencedStore {
            inner: MemoryStore::default(),
            authority,
            clock,
            stall_ms: AtomicU64::new(0),
            lock: Mutex::new(()),
            placed: Mutex::new(Vec::new()),
        }
    }
}

impl WriteModel for FencedStore {
    fn save(&self, unit: UnitOfWork<'_>) -> uoom::Result<()> {
        let stall = self.stall_ms.swap(0, Ordering::Relaxed);
        if stall > 0 {
            self.clock.advance_ms(stall);
        }
        let _tx = self.lock.lock();
        if let Some(p) = unit.capacity {
            if let Some(call) = p.lease {
                self.authority
                    .commit(call.lease, call.epoch, call.units)
                    .map_err(uoom::Error::from)?;
            }
            let channel = unit.order.placement.as_ref().unwrap().channel.clone();
            self.placed.lock().push((channel, p.slot, p.units));
        }
        self.inner.save(unit)
    }
    fn order(&self, id: &uoom::OrderId) -> Option<Order> {
        self.inner.order(id)
    }
    fn outcome_for_key(&self, key: &str) -> Option<Outcome> {
        self.inner.outcome_for_key(key)
    }
    fn applies_lease_commits(&self) -> bool {
        true
    }
}

fn replica(
    name: &str,
    authority: &Arc<MemoryAuthority>,
    clock: &Arc<ManualClock>,
) -> Arc<LeasedLedger> {
    Arc::new(LeasedLedger::new(name, authority.clone(), clock.clone(), settings()).unwrap())
}

fn router(
    leases: Arc<LeasedLedger>,
    clock: &Arc<ManualClock>,
    partner: Arc<Partner>,
    store: Option<Arc<FencedStore>>,
    seed: u64,
) -> Router {
    let b = Router::builder(kitchens(), partner)
        .with_clock(clock.clone())
        .with_leases(leases)
        .with_booking_timeout_ms(60_000)
        .with_id_seed(seed);
    let b = match store {
        Some(s) => b.with_store(s, Arc::new(MemoryStore::default())),
        None => b,
    };
    b.build().unwrap()
}

fn authority(clock: &Arc<ManualClock>, caps: [u32; 2]) -> Arc<MemoryAuthority> {
    let a = Arc::new(MemoryAuthority::new(clock.clone()));
    a.set_capacity(&"k1".into(), SLOT, caps[0]).unwrap();
    a.set_capacity(&"k2".into(), SLOT, caps[1]).unwrap();
    a
}

fn committed(a: &MemoryAuthority, ch: &str) -> u32 {
    a.state(&ch.into(), SLOT).unwrap().committed
}

/// Three replicas route 200 orders in turn over scarce kitchens, refreshing
/// their leases now and then while time moves; returns the confirmed count
/// and what the replicas' counters say.
fn three_replicas(
    with_fenced_store: bool,
) -> (usize, Arc<MemoryAuthority>, Vec<Arc<FencedStore>>, u64) {
    let clock = clock();
    let auth = authority(&clock, [9, 6]);
    let partner = Arc::new(Partner::default());
    let mut stores = Vec::new();
    let mut ledgers = Vec::new();
    let mut routers: Vec<Router> = (0..3)
        .map(|i| {
            let l = replica(&format!("r{i}"), &auth, &clock);
            ledgers.push(l.clone());
            let store =
                with_fenced_store.then(|| Arc::new(FencedStore::new(auth.clone(), clock.clone())));
            if let Some(s) = &store {
                stores.push(s.clone());
            }
            router(l, &clock, partner.clone(), store, 10 + i as u64)
        })
        .collect();
    let mut confirmed = 0;
    for n in 0..200u128 {
        let r = (n % 3) as usize;
        let out = routers[r].submit(request(n + 1), None).unwrap();
        if out.is_confirmed() {
            confirmed += 1;
        } else {
            assert_eq!(
                out.failure,
                Some(FailureReason::CapacityExhausted),
                "{out:?}"
            );
        }
        clock.advance_ms(40);
        if n % 10 == 9 {
            for l in &ledgers {
                l.refresh().unwrap();
            }
        }
    }
    let local: u64 = ledgers.iter().map(|l| l.stats().local).sum();
    (confirmed, auth, stores, local)
}

#[test]
fn three_replicas_never_commit_more_than_the_authority_has() {
    let (confirmed, auth, _, local) = three_replicas(false);
    let (k1, k2) = (committed(&auth, "k1"), committed(&auth, "k2"));
    assert!(k1 <= 9 && k2 <= 6, "committed {k1} and {k2}");
    // Every confirmed order is one committed unit, and all of it was sold.
    assert_eq!(confirmed as u32, k1 + k2);
    assert_eq!(confirmed, 15);
    assert!(local > 0, "some orders were served from a local quota");
}

#[test]
fn three_replicas_whose_writes_commit_the_leases_never_overbook() {
    let (confirmed, auth, stores, _) = three_replicas(true);
    let (k1, k2) = (committed(&auth, "k1"), committed(&auth, "k2"));
    assert_eq!((k1, k2), (9, 6));
    assert_eq!(confirmed, 15);
    // What the stores wrote beside the confirmed orders adds up to it.
    let mut per = std::collections::HashMap::new();
    for s in &stores {
        for (ch, slot, units) in s.placed.lock().iter() {
            assert_eq!(*slot, SLOT);
            *per.entry(ch.to_string()).or_insert(0u32) += units;
        }
    }
    assert_eq!((per["k1"], per["k2"]), (9, 6));
}

#[test]
fn a_replica_paused_mid_booking_past_its_lease_fails_with_stale_lease() {
    let clock = clock();
    let auth = authority(&clock, [1, 0]);
    let partner = Arc::new(Partner::default());
    let (l1, l2) = (replica("r1", &auth, &clock), replica("r2", &auth, &clock));
    let mut r1 = router(l1.clone(), &clock, partner.clone(), None, 1);
    let mut r2 = router(l2, &clock, partner.clone(), None, 2);

    let step = r1.begin(request(1), None).unwrap();
    let Next::Book(call) = step.next else {
        panic!("r1 books: {:?}", step.next)
    };
    // r1 stalls past its lease; the unit goes back to the pool and r2 sells it.
    clock.advance_ms(TTL + 1);
    assert!(r2.submit(request(2), None).unwrap().is_confirmed());
    let done = r1
        .resume(call.ticket, Ok(BookingRef("P-late".into())))
        .unwrap();
    let out = done.outcome().unwrap();
    assert_eq!(out.status, OrderStatus::Failed);
    assert_eq!(out.failure, Some(FailureReason::StaleLease));
    assert_eq!(done.cancels.len(), 1);
    assert_eq!(done.cancels[0].booking, Some(BookingRef("P-late".into())));
    assert_eq!(done.cancels[0].reason, FailureReason::StaleLease);
    assert_eq!(committed(&auth, "k1"), 1);
    let stored = r1.write_model().order(&out.order_id).unwrap();
    assert_eq!(stored.status, OrderStatus::Failed);
}

#[test]
fn a_write_whose_commit_the_fence_refuses_fails_with_stale_lease_and_cancels() {
    let clock = clock();
    let auth = authority(&clock, [2, 0]);
    let partner = Arc::new(Partner::default());
    let store = Arc::new(FencedStore::new(auth.clone(), clock.clone()));
    let leases = replica("r1", &auth, &clock);
    let mut r = Router::builder(kitchens(), partner.clone())
        .with_clock(clock.clone())
        .with_leases(leases.clone())
        .with_booking_timeout_ms(60_000)
        .with_intake_write(IntakeWrite::WithOutcome)
        .with_store(store.clone(), Arc::new(MemoryStore::default()))
        .build()
        .unwrap();
    assert!(r.config().lease_commits_in_writes);
    // The process stalls between confirming and writing: the fence refuses.
    store.stall_ms.store(TTL + 1, Ordering::Relaxed);
    let out = r.submit(request(1), Some("checkout-1")).unwrap();
    assert_eq!(out.failure, Some(FailureReason::StaleLease), "{out:?}");
    assert_eq!(
        partner.cancelled.lock().as_slice(),
        &[Some(BookingRef("P-1".into()))]
    );
    assert_eq!(
        store.order(&out.order_id).unwrap().status,
        OrderStatus::Failed
    );
    assert_eq!(
        store.outcome_for_key("checkout-1").unwrap().failure,
        Some(FailureReason::StaleLease)
    );
    assert_eq!(committed(&auth, "k1"), 0);
    assert_eq!(leases.stats().stale_commits_refused, 1);
    assert!(store.placed.lock().is_empty());
    // The replica takes a new lease and goes on.
    let next = r.submit(request(2), None).unwrap();
    assert!(next.is_confirmed(), "{next:?}");
    assert_eq!(committed(&auth, "k1"), 1);
}

#[test]
fn deferred_writes_refused_by_the_fence_cancel_the_booking_and_fail_with_stale_lease() {
    let clock = clock();
    let auth = authority(&clock, [1, 0]);
    let partner = Arc::new(Partner::default());
    let store = Arc::new(FencedStore::new(auth.clone(), clock.clone()));
    let leases = replica("r1", &auth, &clock);
    let mut r = Router::builder(kitchens(), partner)
        .with_clock(clock.clone())
        .with_leases(leases.clone())
        .with_booking_timeout_ms(60_000)
        .with_intake_write(IntakeWrite::WithOutcome)
        .with_deferred_writes(true)
        .with_lease_commits_in_writes(true)
        .build()
        .unwrap();
    let Action::Book(call) = r.start(request(1), None).unwrap().next else {
        panic!("a booking first")
    };
    let Action::Save(confirm) = r
        .booked(call.ticket, Ok(BookingRef("P-1".into())))
        .unwrap()
        .next
    else {
        panic!("the confirmed order is written")
    };
    assert_eq!(confirm.unit.order.status, OrderStatus::Confirmed);
    let placement = confirm
        .unit
        .capacity
        .expect("the unit carries its capacity");
    assert!(placement.lease.is_some());
    assert_eq!((placement.slot, placement.units), (SLOT, 1));
    assert_eq!(placement.slot_start, Millis(900_000));
    // The write is slow: the lease ends before it reaches the authority.
    store.stall_ms.store(TTL + 1, Ordering::Relaxed);
    let written = store.save(confirm.unit.as_unit());
    assert!(written.as_ref().unwrap_err().is_stale_lease());
    let turn = r.saved(confirm.ticket, written).unwrap();
    assert_eq!(turn.cancels[0].booking, Some(BookingRef("P-1".into())));
    let Action::Save(undo) = turn.next else {
        panic!("the failed order is written")
    };
    assert_eq!(undo.unit.order.status, OrderStatus::Failed);
    assert!(undo.unit.capacity.is_none());
    let written = store.save(undo.unit.as_unit());
    let done = r.saved(undo.ticket, written).unwrap();
    assert_eq!(
        done.outcome().unwrap().failure,
        Some(FailureReason::StaleLease)
    );
    assert_eq!(committed(&auth, "k1"), 0);
    assert_eq!(leases.stats().stale_commits_refused, 1);

    // Written in time, the same path commits through the unit and settles.
    let Action::Book(call) = r.start(request(2), None).unwrap().next else {
        panic!("a booking first")
    };
    let Action::Save(confirm) = r
        .booked(call.ticket, Ok(BookingRef("P-2".into())))
        .unwrap()
        .next
    else {
        panic!("the confirmed order is written")
    };
    let written = store.save(confirm.unit.as_unit());
    let done = r.saved(confirm.ticket, written).unwrap();
    assert!(done.outcome().unwrap().is_confirmed());
    assert_eq!(committed(&auth, "k1"), 1);
    assert_eq!(leases.stats().commits, 1);
    assert_eq!(clock.now().0 / 900_000, 1);
}
