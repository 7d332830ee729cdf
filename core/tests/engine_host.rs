//! [`AsyncRouter`] on tokio (paused time, so a 50 ms partner and a 2 s
//! timeout cost no wall time and replay alike): thousands of routes in
//! flight at once, every failure path of a partner, a route dropped while
//! its booking or its write is out, asynchronous stores that take their
//! time or refuse a write, one idempotency key twice at once, and the
//! ledger whole afterwards.
#![cfg(feature = "tokio")]

mod engine_common;

use engine_common::{channel, clock, request};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use uoom::engine::{
    AsyncGateway, AsyncRouter, AsyncStatusReadModel, AsyncWriteModel, BookingAnswer, BookingCall,
    BookingRef, BoxFuture, CancelCall, GatewayError, MemoryReadModel, MemoryStore, Outcome,
    OwnedUnitOfWork, Router, SimGateway, StatusView, TokioRuntime, WriteModel,
};
use uoom::events::FailureReason;
use uoom::{Channel, ChannelKind, Clock, GeoPoint, OrderStatus};

/// A partner whose behaviour depends on the order's customer number: all
/// answer after 50 ms, but on channel c0 customers ending in 3 are refused
/// and those ending in 7 never get an answer; every third cancel fails.
#[derive(Default)]
struct Partner {
    cancels: AtomicU64,
}

fn customer_no(call: &BookingCall) -> u128 {
    call.order.customer_id.0.as_u128()
}

impl AsyncGateway for Partner {
    fn book(&self, call: &BookingCall) -> BoxFuture<'static, BookingAnswer> {
        let n = customer_no(call);
        let channel = call.channel_id.clone();
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            match n % 10 {
                // Refuses on its first channel only: the next candidate books.
                3 if channel.as_str() == "c0" => Err(GatewayError::Failed("sold out".into())),
                // Never answers on c0: the engine's timeout moves on.
                7 if channel.as_str() == "c0" => std::future::pending().await,
                _ => Ok(BookingRef(format!("P-{n}-{channel}"))),
            }
        })
    }

    fn cancel(&self, _: &CancelCall) -> BoxFuture<'static, Result<(), GatewayError>> {
        let k = self.cancels.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            if k % 3 == 0 {
                Err(GatewayError::Failed("partner API down".into()))
            } else {
                Ok(())
            }
        })
    }
}

fn channels() -> Vec<Channel> {
    (0..3)
        .map(|i| {
            channel(
                &format!("c{i}"),
                ChannelKind::ExternalPartner,
                GeoPoint::new(40.72 + 0.01 * f64::from(i), -74.0),
                4_000,
            )
        })
        .collect()
}

fn async_router(partner: Arc<Partner>) -> (Arc<AsyncRouter>, Arc<uoom::ManualClock>) {
    let clock = clock();
    let router = Router::builder(channels(), Arc::new(SimGateway::new(clock.clone(), 1)))
        .with_clock(clock.clone())
        .with_booking_timeout_ms(2_000)
        // Keep every channel in play: this test is about the boundary, not breakers.
        .with_breaker(uoom::engine::BreakerConfig {
            failure_threshold: u32::MAX,
            open_ms: 1,
        })
        .build()
        .unwrap();
    (
        Arc::new(AsyncRouter::new(router, partner, Arc::new(TokioRuntime))),
        clock,
    )
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_concurrent_routes_all_settle_and_balance() {
    let partner = Arc::new(Partner::default());
    let (router, clock) = async_router(partner.clone());
    let mut tasks = Vec::new();
    for i in 0..10_000u128 {
        let r = router.clone();
        tasks.push(tokio::spawn(async move { r.route(request(i), None).await }));
    }
    let mut confirmed = 0;
    let mut timeouts = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        let o = t.await.unwrap().unwrap();
        assert_eq!(o.status, OrderStatus::Confirmed, "{o:?}");
        confirmed += 1;
        let (channel, b) = (o.channel.unwrap(), o.booking.unwrap());
        assert_eq!(b, format!("P-{i}-{channel}"));
        match i % 10 {
            // c0 never books these: a second attempt when c0 ranked first.
            3 | 7 => assert_ne!(channel.as_str(), "c0"),
            _ => assert_eq!(o.attempts, 1),
        }
        if i % 10 == 7 && o.attempts == 2 {
            timeouts += 1;
        }
    }
    assert_eq!(confirmed, 10_000);
    assert!(
        timeouts > 100,
        "c0 was tried first often enough: {timeouts}"
    );
    {
        let r = router.router().lock();
        assert_eq!(r.in_flight(), 0);
        let slot = r.ledger().slot_of(clock.now());
        let mut committed = 0;
        for c in r.channels() {
            let b = r.ledger().balance(&c.id, slot).unwrap();
            assert_eq!(b.pending, 0, "{}: a hold was left", c.id);
            assert!(b.committed <= b.capacity);
            committed += b.committed;
        }
        assert_eq!(committed, 10_000);
    }
    // Let the background cancels run; one per never-answered booking
    // (a refusal needs none), failures included (logged, not fatal).
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(partner.cancels.load(Ordering::Relaxed), timeouts);
}

#[tokio::test(start_paused = true)]
async fn a_route_dropped_mid_booking_fails_its_order_and_frees_the_hold() {
    let partner = Arc::new(Partner::default());
    let (router, clock) = async_router(partner.clone());
    // Customer 7 never gets an answer from c0; drop the route after 100 ms.
    let r = router.clone();
    let route = tokio::spawn(async move { r.route(request(7), None).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(router.router().lock().in_flight(), 1);
    route.abort();
    assert!(route.await.unwrap_err().is_cancelled());
    let r = router.router().lock();
    assert_eq!(r.in_flight(), 0);
    let slot = r.ledger().slot_of(clock.now());
    let b = r.ledger().balance(&"c0".into(), slot).unwrap();
    assert_eq!((b.pending, b.committed), (0, 0));
    let orders = r
        .read_model()
        .by_customer(&uoom::CustomerId::from_u128(7), 5);
    assert_eq!(orders[0].status, OrderStatus::Failed);
    assert_eq!(orders[0].failure, Some(FailureReason::PartnerTimeout));
}

/// An in-memory store behind the async ports that takes its time: every
/// write waits `write_ms` of (paused) tokio time, every lookup 1 ms; it
/// refuses the confirmed unit of the customers in `refuse`.
struct SlowStore {
    store: MemoryStore,
    read: MemoryReadModel,
    write_ms: u64,
    refuse: Vec<u128>,
}

impl SlowStore {
    fn new(write_ms: u64) -> Self {
        Self {
            store: MemoryStore::default(),
            read: MemoryReadModel::default(),
            write_ms,
            refuse: Vec::new(),
        }
    }
}

impl AsyncWriteModel for SlowStore {
    fn save<'a>(&'a self, unit: &'a OwnedUnitOfWork) -> BoxFuture<'a, uoom::Result<()>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(self.write_ms)).await;
            let customer = unit.order.customer_id.0.as_u128();
            if unit.order.status == OrderStatus::Confirmed && self.refuse.contains(&customer) {
                return Err(uoom::Error::conflict("stale lease"));
            }
            AsyncWriteModel::save(&self.store, unit).await
        })
    }
    fn order<'a>(
        &'a self,
        id: &'a uoom::OrderId,
    ) -> BoxFuture<'a, uoom::Result<Option<uoom::Order>>> {
        AsyncWriteModel::order(&self.store, id)
    }
    fn outcome_for_key<'a>(&'a self, key: &'a str) -> BoxFuture<'a, uoom::Result<Option<Outcome>>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            AsyncWriteModel::outcome_for_key(&self.store, key).await
        })
    }
}

impl AsyncStatusReadModel for SlowStore {
    fn upsert(&self, view: StatusView) -> BoxFuture<'_, uoom::Result<()>> {
        AsyncStatusReadModel::upsert(&self.read, view)
    }
    fn get<'a>(&'a self, id: &'a uoom::OrderId) -> BoxFuture<'a, uoom::Result<Option<StatusView>>> {
        AsyncStatusReadModel::get(&self.read, id)
    }
    fn by_customer<'a>(
        &'a self,
        customer: &'a uoom::CustomerId,
        limit: usize,
    ) -> BoxFuture<'a, uoom::Result<Vec<StatusView>>> {
        AsyncStatusReadModel::by_customer(&self.read, customer, limit)
    }
}

fn with_store(
    partner: Arc<Partner>,
    store: Arc<SlowStore>,
) -> (AsyncRouter, Arc<uoom::ManualClock>) {
    let (router, clock) = async_router(partner);
    let router = Arc::into_inner(router).unwrap();
    (router.with_stores(store.clone(), store).unwrap(), clock)
}

fn balance(router: &AsyncRouter, clock: &uoom::ManualClock) -> (u32, u32) {
    let r = router.router().lock();
    let slot = r.ledger().slot_of(clock.now());
    r.channels().iter().fold((0, 0), |(p, c), ch| {
        let b = r.ledger().balance(&ch.id, slot).unwrap();
        (p + b.pending, c + b.committed)
    })
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_routes_await_their_writes_and_all_are_written() {
    let partner = Arc::new(Partner::default());
    let store = Arc::new(SlowStore::new(5));
    let (router, clock) = with_store(partner, store.clone());
    let mut tasks = Vec::new();
    for i in 0..10_000u128 {
        let r = router.clone();
        tasks.push(tokio::spawn(async move {
            let key = (i % 2 == 0).then(|| format!("key-{i}"));
            r.route(request(i), key.as_deref()).await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let o = t.await.unwrap().unwrap();
        assert_eq!(o.status, OrderStatus::Confirmed, "{o:?}");
        let stored = router.order(&o.order_id).await.unwrap().unwrap();
        assert_eq!(stored.status, OrderStatus::Confirmed);
        let view = router.status(&o.order_id).await.unwrap().unwrap();
        assert_eq!(view.channel, o.channel);
        if i % 2 == 0 {
            let key = format!("key-{i}");
            let kept = WriteModel::outcome_for_key(&store.store, &key).unwrap();
            assert_eq!(kept.order_id, o.order_id);
        }
    }
    assert_eq!(store.store.order_count(), 10_000);
    assert_eq!(router.router().lock().in_flight(), 0);
    assert_eq!(balance(&router, &clock), (0, 10_000));
    // The router's own (synchronous) store was never written.
    assert_eq!(
        router
            .router()
            .lock()
            .write_model()
            .order(&uoom::OrderId::from_u128(1)),
        None
    );
}

#[tokio::test(start_paused = true)]
async fn a_route_dropped_mid_write_still_writes_its_order() {
    let partner = Arc::new(Partner::default());
    let store = Arc::new(SlowStore::new(500));
    let (router, clock) = with_store(partner, store.clone());
    // Intake written 0-500 ms, booked 500-550 ms, confirmation written
    // 550-1,050 ms: the route is dropped at 700 ms, mid-write.
    let r = router.clone();
    let route = tokio::spawn(async move { r.route(request(1), None).await });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(router.router().lock().in_flight(), 1);
    route.abort();
    assert!(route.await.unwrap_err().is_cancelled());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(router.router().lock().in_flight(), 0);
    let orders = router
        .by_customer(&uoom::CustomerId::from_u128(1), 5)
        .await
        .unwrap();
    assert_eq!(orders[0].status, OrderStatus::Confirmed);
    let stored = router.order(&orders[0].order_id).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Confirmed);
    assert_eq!(balance(&router, &clock), (0, 1));
}

#[tokio::test(start_paused = true)]
async fn a_route_dropped_before_its_booking_answers_fails_and_is_written() {
    let partner = Arc::new(Partner::default());
    let store = Arc::new(SlowStore::new(10));
    let (router, clock) = with_store(partner.clone(), store.clone());
    // Customer 7 never gets an answer from c0: dropped while it waits.
    let r = router.clone();
    let route = tokio::spawn(async move { r.route(request(7), None).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    route.abort();
    assert!(route.await.unwrap_err().is_cancelled());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(router.router().lock().in_flight(), 0);
    let orders = router
        .by_customer(&uoom::CustomerId::from_u128(7), 5)
        .await
        .unwrap();
    assert_eq!(orders[0].status, OrderStatus::Failed);
    assert_eq!(orders[0].failure, Some(FailureReason::PartnerTimeout));
    assert_eq!(balance(&router, &clock), (0, 0));
    assert_eq!(partner.cancels.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn two_routes_with_one_key_route_one_order() {
    let partner = Arc::new(Partner::default());
    let store = Arc::new(SlowStore::new(20));
    let (router, _clock) = with_store(partner, store.clone());
    let (a, b) = (router.clone(), router.clone());
    let first = tokio::spawn(async move { a.route(request(1), Some("checkout-1")).await });
    let second = tokio::spawn(async move { b.route(request(1), Some("checkout-1")).await });
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    let (ok, refused) = match (first, second) {
        (Ok(o), Err(e)) | (Err(e), Ok(o)) => (o, e),
        other => panic!("one route and one refusal were expected: {other:?}"),
    };
    assert!(ok.is_confirmed());
    assert_eq!(refused.kind(), uoom::ErrorKind::Conflict);
    assert_eq!(store.store.order_count(), 1);
    let again = router.route(request(1), Some("checkout-1")).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.order_id, ok.order_id);
    assert_eq!(store.store.order_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_store_refusing_a_confirmation_gets_the_booking_cancelled() {
    let partner = Arc::new(Partner::default());
    let mut slow = SlowStore::new(5);
    slow.refuse = vec![1];
    let store = Arc::new(slow);
    let (router, clock) = with_store(partner.clone(), store.clone());
    let refused = router.route(request(1), None).await.unwrap();
    assert_eq!(refused.status, OrderStatus::Failed);
    assert_eq!(refused.failure, Some(FailureReason::PersistFailed));
    let fine = router.route(request(2), None).await.unwrap();
    assert!(fine.is_confirmed());
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        partner.cancels.load(Ordering::Relaxed),
        1,
        "the refused booking"
    );
    assert_eq!(balance(&router, &clock), (0, 1));
    let stored = router.order(&refused.order_id).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Failed);
    let view = router.status(&refused.order_id).await.unwrap().unwrap();
    assert_eq!(view.failure, Some(FailureReason::PersistFailed));
}
