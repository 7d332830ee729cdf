//! `AsyncRouter` over PostgreSQL and DynamoDB (with its PostgreSQL
//! fallback) on the test's own multi-thread tokio runtime, as an axum
//! service runs it (`make test-adapters`). The stores are opened with
//! `connect_async`: they own no runtime, so a blocking call anywhere on the
//! way would answer `Error::Io` (and `AdapterRuntime::block_on` refuses
//! inside a runtime anyway): every route confirming proves the path never
//! blocks.
#![cfg(all(feature = "postgres", feature = "dynamodb"))]

mod adapters_common;

use adapters_common::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use uoom::adapters::dynamodb::{DynamoConfig, DynamoStatusStore, StatusWithFallback};
use uoom::adapters::postgres::{PgConfig, PgStore};
use uoom::engine::{
    AsyncGateway, AsyncOutbox, AsyncRouter, AsyncStatusReadModel, AsyncWriteModel, BookingAnswer,
    BookingCall, BookingRef, BoxFuture, BreakerConfig, CancelCall, GatewayError, Router,
    SimGateway, TokioRuntime, WriteModel,
};
use uoom::events::Aggregate;
use uoom::*;

/// A partner on timers: answers after 20-60 ms; on c0 it refuses customers
/// ending in 3 and never answers those ending in 7 (the engine's 1.5 s
/// timeout moves them on).
#[derive(Default)]
struct TimerPartner {
    cancels: AtomicU64,
}

impl AsyncGateway for TimerPartner {
    fn book(&self, call: &BookingCall) -> BoxFuture<'static, BookingAnswer> {
        let n = call.order.customer_id.0.as_u128();
        let channel = call.channel_id.clone();
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(20 + (n % 41) as u64)).await;
            match n % 10 {
                3 if channel.as_str() == "c0" => Err(GatewayError::Failed("sold out".into())),
                7 if channel.as_str() == "c0" => std::future::pending().await,
                _ => Ok(BookingRef(format!("P-{n}-{channel}"))),
            }
        })
    }

    fn cancel(&self, _: &CancelCall) -> BoxFuture<'static, Result<(), GatewayError>> {
        self.cancels.fetch_add(1, Ordering::Relaxed);
        Box::pin(async { Ok(()) })
    }
}

fn channels() -> Vec<Channel> {
    (0..3)
        .map(|i| {
            Channel::builder(
                format!("c{i}"),
                ChannelKind::ExternalPartner,
                GeoPoint::new(40.72 + 0.01 * f64::from(i), -74.0),
            )
            .with_capacity(500)
            .build()
            .unwrap()
        })
        .collect()
}

/// A one-unit order near the channels for customer `customer`.
fn request(customer: u128) -> CreateOrderRequest {
    let body = format!(
        r#"{{"customerId": "{}",
            "items": [{{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}}],
            "deliveryAddress": {{"street": "1 Main St", "city": "New York", "postalCode": "10001",
                                "latitude": 40.72, "longitude": -74.0}}}}"#,
        CustomerId::from_u128(customer)
    );
    parse_create_order(body.as_bytes()).unwrap()
}

/// A fresh, migrated schema, opened on the caller's runtime.
async fn pg_store() -> Arc<PgStore> {
    let admin = PgStore::connect_async(PgConfig::new(pg_url()).with_writers(1).with_readers(1))
        .await
        .expect("postgres is running (make servers-up)");
    let schema = unique("t");
    admin
        .execute_batch_async(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let sep = if pg_url().contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}options=-csearch_path%3D{schema}", pg_url());
    let store = PgStore::connect_async(PgConfig::new(url)).await.unwrap();
    store.migrate_async().await.unwrap();
    Arc::new(store)
}

async fn dynamo_store() -> Arc<DynamoStatusStore> {
    let cfg = DynamoConfig::default()
        .with_endpoint(dynamodb_endpoint())
        .with_region("us-east-1")
        .with_table_prefix(&format!("{}_", unique("t")))
        .with_ttl(Duration::from_secs(3_600));
    let store = DynamoStatusStore::connect_async(cfg).await.unwrap();
    store.create_tables_async().await.unwrap();
    Arc::new(store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_routes_write_through_postgres_and_dynamodb_on_the_hosts_runtime() {
    let pg = pg_store().await;
    let dynamo = dynamo_store().await;
    let status = Arc::new(StatusWithFallback::new(dynamo.clone(), pg.clone()));
    // Nothing here can block: the stores have no runtime of their own.
    assert!(pg.runtime().is_none() && dynamo.runtime().is_none());
    let blocked = WriteModel::outcome_for_key(pg.as_ref(), "any");
    assert_eq!(
        blocked, None,
        "the blocking port refuses (logged), it does not block"
    );
    assert_eq!(
        pg.order(&OrderId::from_u128(1)).unwrap_err().kind(),
        ErrorKind::Io
    );

    let clock = Arc::new(SystemClock);
    let router = Router::builder(channels(), Arc::new(SimGateway::new(clock.clone(), 1)))
        .with_clock(clock)
        .with_booking_timeout_ms(1_500)
        // Keep every channel in play: this test is about the stores.
        .with_breaker(BreakerConfig {
            failure_threshold: u32::MAX,
            open_ms: 1,
        })
        .build()
        .unwrap();
    let partner = Arc::new(TimerPartner::default());
    let router = AsyncRouter::new(router, partner.clone(), Arc::new(TokioRuntime))
        .with_stores(pg.clone(), status.clone())
        .unwrap();

    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..1_000u128 {
        let r = router.clone();
        tasks.push(tokio::spawn(async move {
            let key = (i % 2 == 0).then(|| format!("checkout-{i}"));
            (i, key.clone(), r.route(request(i), key.as_deref()).await)
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        let (i, key, o) = t.await.unwrap();
        let o = o.unwrap();
        assert_eq!(o.status, OrderStatus::Confirmed, "{o:?}");
        let channel = o.channel.clone().unwrap();
        assert_eq!(
            o.booking.as_deref(),
            Some(format!("P-{i}-{channel}").as_str())
        );
        outcomes.push((i, key, o));
    }
    let elapsed = started.elapsed();
    // 1,000 routes of 20 ms to 1.6 s each, all at once: nothing serialised them.
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    assert_eq!(router.router().lock().in_flight(), 0);

    // PostgreSQL has every order as routed, its placement, and its key.
    for (_, key, o) in &outcomes {
        let stored = AsyncWriteModel::order(pg.as_ref(), &o.order_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, OrderStatus::Confirmed);
        let placement = stored.placement.unwrap();
        assert_eq!(Some(&placement.channel), o.channel.as_ref());
        assert_eq!(Some(&placement.booking), o.booking.as_ref());
        if let Some(k) = key {
            let kept = AsyncWriteModel::outcome_for_key(pg.as_ref(), k)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (kept.order_id, kept.status),
                (o.order_id, OrderStatus::Confirmed)
            );
        }
        let view = router.status(&o.order_id).await.unwrap().unwrap();
        assert_eq!(
            (view.status, view.channel.as_ref()),
            (OrderStatus::Confirmed, o.channel.as_ref())
        );
    }
    // The outbox holds every event written, and each order's events form
    // its chain, ending CONFIRMED.
    let depth = AsyncOutbox::depth(pg.as_ref()).await.unwrap();
    assert_eq!(depth as u64, pg.events_written());
    let pending = AsyncOutbox::pending(pg.as_ref(), depth + 10).await.unwrap();
    let mut chains: HashMap<OrderId, Vec<(Option<OrderStatus>, OrderStatus)>> = HashMap::new();
    for e in pending
        .iter()
        .filter(|e| matches!(e.event.aggregate, Aggregate::Order(_)))
    {
        let change = e.event.payload.status_change().unwrap();
        let id = e.event.payload.order_id().unwrap();
        chains.entry(id).or_default().push(change);
    }
    assert_eq!(chains.len(), 1_000);
    for (id, changes) in &chains {
        assert_eq!(changes[0], (None, OrderStatus::Pending), "{id}");
        for w in changes.windows(2) {
            assert_eq!(w[1].0, Some(w[0].1), "order {id}: broken chain");
        }
        assert_eq!(changes.last().unwrap().1, OrderStatus::Confirmed);
    }
    {
        let r = router.router().lock();
        let slot = r.ledger().slot_of(SystemClock.now());
        let committed: u32 = r
            .channels()
            .iter()
            .map(|c| r.ledger().balance(&c.id, slot).unwrap().committed)
            .sum();
        assert_eq!(committed, 1_000);
    }
    // Timed-out bookings were cancelled (in the background).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let timed_out = outcomes
        .iter()
        .filter(|(i, _, o)| i % 10 == 7 && o.attempts > 1)
        .count() as u64;
    assert!(timed_out > 0);
    // (On a busy machine an ordinary booking may miss its 1.5 s too.)
    assert!(partner.cancels.load(Ordering::Relaxed) >= timed_out);

    // A retry with a key is answered from PostgreSQL, not routed again.
    let (_, key, first) = &outcomes[0];
    let again = router.route(request(0), key.as_deref()).await.unwrap();
    assert!(again.replayed);
    assert_eq!(
        (again.order_id, again.status),
        (first.order_id, OrderStatus::Confirmed)
    );
    assert_eq!(AsyncOutbox::depth(pg.as_ref()).await.unwrap(), depth);

    // A customer's orders, from DynamoDB; and from PostgreSQL when DynamoDB
    // misses (a table of another prefix: empty), written back.
    let (i, _, o) = &outcomes[1];
    let mine = router
        .by_customer(&CustomerId::from_u128(*i), 5)
        .await
        .unwrap();
    assert_eq!(mine[0].order_id, o.order_id);
    let empty = dynamo_store().await;
    let fallback = StatusWithFallback::new(empty.clone(), pg.clone());
    let found = AsyncStatusReadModel::get(&fallback, &o.order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.status, OrderStatus::Confirmed);
    let written_back = AsyncStatusReadModel::get(empty.as_ref(), &o.order_id)
        .await
        .unwrap();
    assert_eq!(written_back.unwrap().order_id, o.order_id);

    // Moving an order on goes through the same stores.
    let view = router
        .advance(&o.order_id, OrderStatus::Preparing)
        .await
        .unwrap();
    assert_eq!(view.status, OrderStatus::Preparing);
    let stored = AsyncWriteModel::order(pg.as_ref(), &o.order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, OrderStatus::Preparing);
    let view = router.status(&o.order_id).await.unwrap().unwrap();
    assert_eq!(view.status, OrderStatus::Preparing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_opened_on_its_own_runtime_serves_the_async_ports_too() {
    // Opened from a plain thread (the synchronous façade's way), used from
    // the host's runtime through the async ports: its connections run on
    // its own runtime, and nothing blocks the host's.
    let url = std::thread::spawn(fresh_schema).join().unwrap();
    let pg = std::thread::spawn(move || {
        let s = PgStore::connect(PgConfig::new(url)).unwrap();
        s.migrate().unwrap();
        Arc::new(s)
    })
    .join()
    .unwrap();
    assert!(pg.runtime().is_some());
    let clock = Arc::new(SystemClock);
    let router = Router::builder(channels(), Arc::new(SimGateway::new(clock.clone(), 1)))
        .with_clock(clock)
        .build()
        .unwrap();
    let status = Arc::new(uoom::engine::MemoryReadModel::default());
    let router = AsyncRouter::new(
        router,
        Arc::new(TimerPartner::default()),
        Arc::new(TokioRuntime),
    )
    .with_stores(pg.clone(), status)
    .unwrap();
    let o = router
        .route(request(1), Some("own-runtime-1"))
        .await
        .unwrap();
    assert!(o.is_confirmed());
    let stored = AsyncWriteModel::order(pg.as_ref(), &o.order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, OrderStatus::Confirmed);
    // Its blocking methods refuse on the host's runtime instead of stalling it.
    assert_eq!(pg.order(&o.order_id).unwrap_err().kind(), ErrorKind::Io);
    // Its runtime is dropped where blocking is allowed: a plain thread.
    drop(router);
    std::thread::spawn(move || drop(pg)).join().unwrap();
}
