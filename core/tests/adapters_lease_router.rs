//! Routers on leases over PostgreSQL (`make test-adapters`;
//! `UOOM_TEST_POSTGRES_URL`), each test in a schema of its own: the
//! `PgStore` writes a confirmed order, its capacity columns and its fenced
//! lease commit in one transaction; the lease authority is the same
//! database (`PgLeaseAuthority`).
//!
//! - two replicas (two `LeasedLedger`s) route over scarce kitchens:
//!   `capacity_audit` shows no overbooking and counts exactly the
//!   confirmed units, as the authority does;
//! - a confirmed order whose write reaches the database after its lease
//!   expired is refused with the stale-lease error, its booking cancelled
//!   and the order written failed with `stale_lease`;
//! - in one group commit, the refused unit fails alone: the others of the
//!   same group are written.
#![cfg(feature = "postgres")]

mod adapters_common;

use adapters_common::*;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};
use uoom::adapters::postgres::{PgConfig, PgLeaseAuthority, PgLeaseConfig, PgStore};
use uoom::engine::{
    Action, BookingRef, ChannelGateway, GatewayError, IntakeWrite, MemoryStore, Router, SaveCall,
    WriteModel,
};
use uoom::events::FailureReason;
use uoom::ledger::SlotId;
use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger};
use uoom::{
    Channel, ChannelKind, Clock, CreateOrderRequest, GeoPoint, Order, OrderStatus, SystemClock,
};

const SLOT_MS: u64 = 15 * 60 * 1000;

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

fn kitchens() -> Vec<Channel> {
    ["k1", "k2"]
        .iter()
        .map(|id| {
            Channel::builder(
                *id,
                ChannelKind::InternalKitchen,
                GeoPoint::new(40.7128, -74.006),
            )
            .with_radius_km(10.0)
            .with_capacity(100)
            .build()
            .unwrap()
        })
        .collect()
}

fn request(customer: u128) -> CreateOrderRequest {
    let body = format!(
        r#"{{"customerId": "{}",
            "items": [{{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}}],
            "deliveryAddress": {{"street": "1 Main St", "city": "New York", "postalCode": "10001",
                                "latitude": 40.72, "longitude": -74.0}}}}"#,
        uoom::CustomerId::from_u128(customer)
    );
    uoom::parse_create_order(body.as_bytes()).unwrap()
}

/// A migrated schema: its URL, the authority and a store that applies
/// lease commits (`group_wait` long enough to gather concurrent units).
fn database(group_wait: Duration) -> (String, Arc<PgLeaseAuthority>, Arc<PgStore>) {
    let url = fresh_schema();
    let auth = PgLeaseAuthority::connect(PgLeaseConfig::new(&url)).unwrap();
    auth.migrate().unwrap();
    let store = PgStore::connect(
        PgConfig::new(&url)
            .with_lease_commits(true)
            .with_group_wait(group_wait),
    )
    .unwrap();
    store.migrate().unwrap();
    (url, Arc::new(auth), Arc::new(store))
}

/// The current slot and the next (a run may cross the boundary).
fn slots() -> [SlotId; 2] {
    let now = SystemClock.now().0 / SLOT_MS;
    let s = u32::try_from(now).unwrap();
    [SlotId(s), SlotId(s + 1)]
}

fn set_capacity(auth: &PgLeaseAuthority, k1: u32, k2: u32) {
    for slot in slots() {
        auth.set_capacity(&"k1".into(), slot, k1).unwrap();
        auth.set_capacity(&"k2".into(), slot, k2).unwrap();
    }
}

fn replica(name: &str, auth: &Arc<PgLeaseAuthority>, ttl_ms: u64) -> Arc<LeasedLedger> {
    let settings = LeaseSettings::default()
        .with_lease_ttl_ms(ttl_ms)
        .with_margin_ms(ttl_ms / 10);
    Arc::new(LeasedLedger::new(name, auth.clone(), Arc::new(SystemClock), settings).unwrap())
}

fn router(
    leases: Arc<LeasedLedger>,
    store: &Arc<PgStore>,
    partner: Arc<Partner>,
    deferred: bool,
) -> Router {
    Router::builder(kitchens(), partner)
        .with_leases(leases)
        .with_store(store.clone(), Arc::new(MemoryStore::default()))
        .with_intake_write(IntakeWrite::WithOutcome)
        .with_deferred_writes(deferred)
        .build()
        .unwrap()
}

/// Rows of one query, on a connection of its own.
fn query(url: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client.query(sql, &[]).await.unwrap()
    })
}

/// `(channel, committed_units, capacity)` of every audit row with orders.
fn audit(url: &str) -> Vec<(String, i64, i64)> {
    query(
        url,
        "SELECT channel_id, committed_units, capacity FROM capacity_audit \
         WHERE committed_units > 0 ORDER BY channel_id, slot_start",
    )
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

fn overbooked(url: &str) -> i64 {
    query(
        url,
        "SELECT count(*) FROM capacity_audit WHERE committed_units > capacity",
    )[0]
    .get(0)
}

#[test]
fn two_replicas_on_scarce_kitchens_never_overbook_and_the_audit_counts_what_was_confirmed() {
    let (url, auth, store) = database(Duration::from_millis(1));
    set_capacity(&auth, 5, 3);
    let partner = Arc::new(Partner::default());
    let (a, b) = (replica("a", &auth, 10_000), replica("b", &auth, 10_000));
    let mut routers = [
        router(a.clone(), &store, partner.clone(), false),
        router(b.clone(), &store, partner.clone(), false),
    ];
    let mut confirmed = Vec::new();
    for n in 0..30u128 {
        let out = routers[(n % 2) as usize]
            .submit(request(n + 1), None)
            .unwrap();
        if out.is_confirmed() {
            confirmed.push(out.order_id);
        } else {
            assert_eq!(
                out.failure,
                Some(FailureReason::CapacityExhausted),
                "{out:?}"
            );
        }
        if n % 5 == 4 {
            a.refresh().unwrap();
            b.refresh().unwrap();
        }
    }
    assert_eq!(overbooked(&url), 0);
    let rows = audit(&url);
    let sold: i64 = rows.iter().map(|r| r.1).sum();
    assert_eq!(sold, confirmed.len() as i64, "{rows:?}");
    assert_eq!(confirmed.len(), 8, "all the capacity is sold, no more");
    for (channel, units, capacity) in &rows {
        let state = auth
            .state(&channel.as_str().into(), slots()[0])
            .or_else(|_| auth.state(&channel.as_str().into(), slots()[1]))
            .unwrap();
        assert!(units <= capacity);
        assert_eq!(i64::from(state.committed), *units, "{channel}");
    }
    // Every confirmed order is stored confirmed, with its capacity columns.
    for id in confirmed {
        let order = WriteModel::order(store.as_ref(), &id).unwrap();
        assert_eq!(order.status, OrderStatus::Confirmed);
    }
    assert!(a.stats().commits + b.stats().commits == 8);
}

/// Starts an order on a deferred-writes router and books it: the unit that
/// confirms it, not yet written.
fn confirmed_unit(r: &mut Router, customer: u128) -> SaveCall {
    let Action::Book(call) = r.start(request(customer), None).unwrap().next else {
        panic!("a booking first")
    };
    let booking = BookingRef(format!("B-{customer}"));
    let Action::Save(save) = r.booked(call.ticket, Ok(booking)).unwrap().next else {
        panic!("the confirmed order is written")
    };
    assert_eq!(save.unit.order.status, OrderStatus::Confirmed);
    assert!(save.unit.capacity.and_then(|c| c.lease).is_some());
    save
}

#[test]
fn a_write_that_reaches_the_database_after_its_lease_is_refused_with_stale_lease() {
    let (url, auth, store) = database(Duration::from_millis(1));
    set_capacity(&auth, 2, 0);
    let partner = Arc::new(Partner::default());
    let a = replica("a", &auth, 1_000);
    let mut r = router(a.clone(), &store, partner, true);
    assert!(r.config().lease_commits_in_writes);
    let save = confirmed_unit(&mut r, 1);
    std::thread::sleep(Duration::from_millis(1_500)); // paused past the lease
    let written = WriteModel::save(store.as_ref(), save.unit.as_unit());
    let err = written.clone().unwrap_err();
    assert!(err.is_stale_lease(), "{err}");
    let turn = r.saved(save.ticket, written).unwrap();
    assert_eq!(turn.cancels[0].booking, Some(BookingRef("B-1".into())));
    assert_eq!(turn.cancels[0].reason, FailureReason::StaleLease);
    let Action::Save(undo) = turn.next else {
        panic!("the failed order is written")
    };
    let written = WriteModel::save(store.as_ref(), undo.unit.as_unit());
    let done = r.saved(undo.ticket, written).unwrap();
    let out = done.outcome().unwrap();
    assert_eq!(out.failure, Some(FailureReason::StaleLease));
    let stored = WriteModel::order(store.as_ref(), &out.order_id).unwrap();
    assert_eq!(stored.status, OrderStatus::Failed);
    assert!(audit(&url).is_empty(), "nothing was sold");
    assert_eq!(a.stats().stale_commits_refused, 1);
    let committed: u32 = slots()
        .iter()
        .map(|s| auth.state(&"k1".into(), *s).unwrap().committed)
        .sum();
    assert_eq!(committed, 0);
}

#[test]
fn in_one_group_commit_the_refused_unit_fails_alone() {
    // Units saved together within 200 ms go out as one group.
    let (url, auth, store) = database(Duration::from_millis(200));
    set_capacity(&auth, 3, 0);
    let partner = Arc::new(Partner::default());
    let (a, b) = (replica("a", &auth, 1_000), replica("b", &auth, 60_000));
    let mut ra = router(a, &store, partner.clone(), true);
    let mut rb = router(b, &store, partner, true);
    let stale = confirmed_unit(&mut ra, 1);
    let fine = [confirmed_unit(&mut rb, 2), confirmed_unit(&mut rb, 3)];
    std::thread::sleep(Duration::from_millis(1_500)); // a's lease ends, b's lives
    let started = SystemTime::now();
    let results: Vec<uoom::Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = std::iter::once(&stale)
            .chain(fine.iter())
            .map(|call| {
                let store = store.clone();
                s.spawn(move || WriteModel::save(store.as_ref(), call.unit.as_unit()))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(started.elapsed().unwrap() < Duration::from_secs(5));
    assert!(results[0].as_ref().unwrap_err().is_stale_lease());
    assert!(results[1].is_ok() && results[2].is_ok(), "{results:?}");
    let rows = audit(&url);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].0.as_str(), rows[0].1), ("k1", 2));
    assert_eq!(overbooked(&url), 0);
}
