//! The DynamoDB read model against DynamoDB Local (`make test-adapters`).
// The PostgreSQL fallback is tested here too.
#![cfg(all(feature = "dynamodb", feature = "postgres"))]

mod adapters_common;

use adapters_common::*;
use std::time::Duration;
use uoom::adapters::AdapterRuntime;
use uoom::adapters::dynamodb::{DynamoConfig, DynamoStatusStore, StatusRecord};
use uoom::*;

fn store() -> DynamoStatusStore {
    let cfg = DynamoConfig::default()
        .with_endpoint(dynamodb_endpoint())
        .with_region("us-east-1")
        .with_table_prefix(&format!("{}_", unique("t")))
        .with_ttl(Duration::from_secs(3_600));
    let s = DynamoStatusStore::connect(cfg, AdapterRuntime::new(1).unwrap()).unwrap();
    s.create_tables().unwrap();
    s
}

fn record(
    n: u128,
    customer: u128,
    restaurant: Option<u128>,
    status: OrderStatus,
    at: u64,
) -> StatusRecord {
    let mut r = StatusRecord::of_order(&order(n, customer, restaurant, at));
    r.status = status;
    r
}

#[test]
fn tables_have_ttl_and_creating_them_twice_is_harmless() {
    let s = store();
    s.create_tables().unwrap();
    let ttl = s
        .runtime()
        .unwrap()
        .block_on(
            s.client()
                .describe_time_to_live()
                .table_name(&s.config().status_table)
                .send(),
        )
        .unwrap()
        .unwrap();
    let d = ttl.time_to_live_description().unwrap();
    assert_eq!(d.attribute_name(), Some("expiresAt"));
}

#[test]
fn write_through_reads_and_refuses_stale_writes() {
    let s = store();
    let mut r = record(1, 1, Some(2), OrderStatus::Pending, 1_700_000_000_000);
    assert!(s.upsert(&r).unwrap());
    let got = s.get(&r.order_id).unwrap().unwrap();
    assert_eq!(got.status, OrderStatus::Pending);
    assert_eq!(got.expires_at, Some(1_700_000_000 + 3_600), "TTL attribute");

    r.status = OrderStatus::Routed;
    r.channel = Some("kitchen-3".into());
    r.decision = Some("realtime".into());
    r.updated_at = Millis(1_700_000_001_000);
    assert!(s.upsert(&r).unwrap());
    let mut stale = r.clone();
    stale.status = OrderStatus::Validated;
    stale.updated_at = Millis(1_700_000_000_500);
    assert!(
        !s.upsert(&stale).unwrap(),
        "an older status never overwrites a newer one"
    );
    let got = s.get(&r.order_id).unwrap().unwrap();
    assert_eq!(got.status, OrderStatus::Routed);
    assert_eq!(got.channel.as_deref(), Some("kitchen-3"));
    assert_eq!(got.expires_at, Some(1_700_000_001 + 3_600));
    assert!(s.get(&OrderId::from_u128(404)).unwrap().is_none());
}

#[test]
fn both_indexes_answer_status_queries_newest_first() {
    let s = store();
    for (n, c, rest, st, at) in [
        (1, 1, Some(7), OrderStatus::Pending, 1_000),
        (2, 1, Some(7), OrderStatus::Confirmed, 2_000),
        (3, 1, None, OrderStatus::Pending, 3_000),
        (4, 2, Some(7), OrderStatus::Pending, 4_000),
        (5, 2, Some(8), OrderStatus::Pending, 5_000),
    ] {
        s.upsert(&record(n, c, rest, st, at)).unwrap();
    }
    let ids = |v: Vec<StatusRecord>| v.iter().map(|r| r.order_id).collect::<Vec<_>>();
    let c1 = CustomerId::from_u128(1);
    assert_eq!(
        ids(s.by_customer(&c1, Some(OrderStatus::Pending), 10).unwrap()),
        vec![OrderId::from_u128(3), OrderId::from_u128(1)]
    );
    assert_eq!(
        ids(s.by_customer(&c1, None, 2).unwrap()),
        vec![OrderId::from_u128(3), OrderId::from_u128(2)]
    );
    let r7 = RestaurantId::from_u128(7);
    assert_eq!(
        ids(s
            .by_restaurant(&r7, Some(OrderStatus::Pending), 10)
            .unwrap()),
        vec![OrderId::from_u128(4), OrderId::from_u128(1)]
    );
    assert_eq!(
        ids(s
            .by_restaurant(&r7, Some(OrderStatus::Confirmed), 10)
            .unwrap()),
        vec![OrderId::from_u128(2)]
    );
    assert!(
        s.by_restaurant(&RestaurantId::from_u128(9), None, 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn batch_get_spans_requests_and_skips_missing_orders() {
    let s = store();
    for n in 0..150u128 {
        s.upsert(&record(n, 1, None, OrderStatus::Pending, 1_000))
            .unwrap();
    }
    let mut ids: Vec<OrderId> = (0..150u128).map(OrderId::from_u128).collect();
    ids.push(OrderId::from_u128(9_999));
    ids.push(OrderId::from_u128(3)); // a duplicate key is asked once
    let got = s.batch_get(&ids).unwrap();
    assert_eq!(got.len(), 150);

    let o = order(500, 1, Some(2), 2_000);
    s.put_details(&o).unwrap();
    assert_eq!(s.details(&o.id).unwrap(), Some(o.clone()));
    assert_eq!(
        s.batch_details(&[o.id, OrderId::from_u128(501)]).unwrap(),
        vec![o]
    );
}

#[cfg(feature = "postgres")]
#[test]
fn a_miss_falls_back_to_postgres_and_repopulates() {
    use std::sync::Arc;
    use uoom::adapters::dynamodb::StatusWithFallback;
    use uoom::adapters::postgres::{PgConfig, PgStore};
    let dynamo = Arc::new(store());
    let pg = Arc::new(PgStore::connect(PgConfig::new(fresh_schema())).unwrap());
    pg.migrate().unwrap();
    let mut o = order(77, 5, Some(6), 1_000);
    o.transition(OrderStatus::Validated, Millis(2_000)).unwrap();
    pg.save(&o, &[]).unwrap();
    let status = StatusWithFallback::new(dynamo.clone(), pg.clone());

    assert!(dynamo.get(&o.id).unwrap().is_none());
    let got = status.get(&o.id).unwrap().unwrap();
    assert_eq!(got.status, OrderStatus::Validated);
    assert_eq!(
        dynamo.get(&o.id).unwrap().unwrap().status,
        OrderStatus::Validated,
        "repopulated"
    );

    let other = order(78, 9, Some(6), 3_000);
    pg.save(&other, &[]).unwrap();
    let by_customer = status
        .by_customer(&CustomerId::from_u128(9), None, 10)
        .unwrap();
    assert_eq!(by_customer.len(), 1);
    assert!(
        dynamo.get(&other.id).unwrap().is_some(),
        "query fallback repopulates too"
    );
    let by_restaurant = status
        .by_restaurant(&RestaurantId::from_u128(6), Some(OrderStatus::Pending), 10)
        .unwrap();
    assert_eq!(
        by_restaurant.iter().map(|r| r.order_id).collect::<Vec<_>>(),
        vec![other.id]
    );
    assert!(status.get(&OrderId::from_u128(4_040)).unwrap().is_none());
}

/// The engine over PostgreSQL with the fallback as its read model: the
/// router's status write-through carries the restaurant id (so the order is
/// found through `RestaurantStatusIndex`), and a status DynamoDB lacks is
/// answered by PostgreSQL through the engine's port.
#[cfg(feature = "postgres")]
#[test]
fn the_engine_writes_status_through_the_fallback_read_model() {
    use std::sync::Arc;
    use uoom::adapters::dynamodb::StatusWithFallback;
    use uoom::adapters::postgres::{PgConfig, PgStore};
    use uoom::engine::{Router, SimGateway, StatusReadModel};
    let dynamo = Arc::new(store());
    let pg = Arc::new(PgStore::connect(PgConfig::new(fresh_schema())).unwrap());
    pg.migrate().unwrap();
    let fallback = Arc::new(StatusWithFallback::new(dynamo.clone(), pg.clone()));
    // The engine's view of it (the inherent methods answer records, not views).
    let read: Arc<dyn StatusReadModel> = fallback;
    let clock = Arc::new(ManualClock::new(Millis(1_700_000_000_000)));
    let mut router = Router::builder(vec![kitchen()], Arc::new(SimGateway::new(clock.clone(), 1)))
        .with_clock(clock)
        .with_store(pg.clone(), pg.clone())
        .with_read_model(read.clone())
        .build()
        .unwrap();
    let req = parse_create_order(include_bytes!("../../examples/orders/sample.json")).unwrap();
    let restaurant = req.restaurant_id.expect("the sample names a restaurant");
    let out = router.submit(req, None).unwrap();
    assert_eq!(out.status, OrderStatus::Confirmed);

    let view = read.get(&out.order_id).unwrap();
    assert_eq!(view.restaurant_id, Some(restaurant));
    assert_eq!(
        view.channel.as_ref().map(uoom::ChannelId::as_str),
        Some("k1")
    );
    let by_restaurant = dynamo.by_restaurant(&restaurant, None, 10).unwrap();
    assert_eq!(
        by_restaurant.iter().map(|r| r.order_id).collect::<Vec<_>>(),
        vec![out.order_id]
    );

    // An order only PostgreSQL has: the port answers from there.
    let mut o = order(90, 91, None, 5_000);
    o.transition(OrderStatus::Validated, Millis(6_000)).unwrap();
    pg.save(&o, &[]).unwrap();
    assert_eq!(read.get(&o.id).unwrap().status, OrderStatus::Validated);
    let mine = read.by_customer(&CustomerId::from_u128(91), 5);
    assert_eq!(
        mine.iter().map(|v| v.order_id).collect::<Vec<_>>(),
        vec![o.id]
    );
    assert!(read.get(&OrderId::from_u128(4_041)).is_none());
}
