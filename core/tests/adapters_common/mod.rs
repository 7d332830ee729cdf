//! Shared set-up of the adapter integration tests: server addresses from the
//! environment `scripts/servers/all.sh env` prints (its defaults otherwise),
//! a fresh Postgres schema per test, unique topic and table names, orders.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use uoom::adapters::EventRecord;
use uoom::*;

/// The one-kitchen channel set the engine-over-adapters tests route to:
/// `k1`, an internal kitchen in lower Manhattan with capacity 10.
pub fn kitchen() -> Channel {
    Channel::builder(
        "k1",
        ChannelKind::InternalKitchen,
        GeoPoint::new(40.71, -74.0),
    )
    .with_capacity(10)
    .build()
    .unwrap()
}

pub fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

pub fn pg_url() -> String {
    env_or(
        "UOOM_TEST_POSTGRES_URL",
        "postgres://uoom:uoom@127.0.0.1:25432/uoom",
    )
}

pub fn kafka_brokers() -> String {
    env_or("UOOM_TEST_KAFKA_BROKERS", "127.0.0.1:29092")
}

/// A test server's CA certificate: the file `key` names, else `under_servers`
/// inside `target/servers/` (where the scripts of `scripts/servers/` make it).
pub fn test_ca(key: &str, under_servers: &str) -> String {
    let default = format!(
        "{}/../target/servers/{under_servers}",
        env!("CARGO_MANIFEST_DIR")
    );
    let ca = env_or(key, &default);
    assert!(std::path::Path::new(&ca).is_file(), "no test CA at {ca}");
    ca
}

pub fn dynamodb_endpoint() -> String {
    env_or("UOOM_TEST_DYNAMODB_ENDPOINT", "http://127.0.0.1:28000")
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}_{}_{nanos}_{n}", std::process::id())
}

/// A URL whose sessions use a fresh schema with the migrations applied.
#[cfg(feature = "postgres")]
pub fn fresh_schema() -> String {
    use uoom::adapters::postgres::{PgConfig, PgStore};
    let schema = unique("t");
    let admin = PgStore::connect(PgConfig::new(pg_url()).with_writers(1).with_readers(1))
        .expect("postgres is running (make servers-up)");
    admin
        .execute_batch(&format!("CREATE SCHEMA {schema}"))
        .unwrap();
    let sep = if pg_url().contains('?') { '&' } else { '?' };
    format!("{}{sep}options=-csearch_path%3D{schema}", pg_url())
}

/// A fresh schema, migrated: its URL, the runtime and the store over it.
#[cfg(feature = "postgres")]
pub fn migrated_schema() -> (
    String,
    uoom::adapters::AdapterRuntime,
    uoom::adapters::postgres::PgStore,
) {
    use uoom::adapters::postgres::{PgConfig, PgStore};
    let url = fresh_schema();
    let rt = uoom::adapters::AdapterRuntime::new(2).unwrap();
    let store = PgStore::connect_with(PgConfig::new(&url), rt.clone()).unwrap();
    store.migrate().unwrap();
    (url, rt, store)
}

/// A running relay named `name` publishing `url`'s outbox to Kafka topic
/// `topic` on the wall clock, with the default settings.
#[cfg(all(feature = "postgres", feature = "outbox", feature = "kafka"))]
pub fn spawn_kafka_relay(
    name: &str,
    url: &str,
    rt: &uoom::adapters::AdapterRuntime,
    topic: &str,
) -> uoom::adapters::outbox::RelayHandle {
    use uoom::adapters::kafka::{KafkaConfig, KafkaPublisher};
    use uoom::adapters::outbox::{Relay, RelayConfig};
    use uoom::adapters::postgres::PgOutboxStore;
    Relay::new(
        RelayConfig::new(name),
        PgOutboxStore::connect(url, rt.clone()).unwrap(),
        KafkaPublisher::new(KafkaConfig::new(kafka_brokers()).with_topic(topic)).unwrap(),
        SystemClock,
    )
    .spawn()
    .unwrap()
}

/// Whether `store`'s outbox drains (no pending event) within `timeout`.
#[cfg(feature = "postgres")]
pub fn drained(store: &uoom::adapters::postgres::PgStore, timeout: std::time::Duration) -> bool {
    wait_until(timeout, || store.outbox_depth().unwrap() == 0)
}

pub fn order(n: u128, customer: u128, restaurant: Option<u128>, at: u64) -> Order {
    let req = parse_create_order(include_bytes!("../../../examples/orders/sample.json")).unwrap();
    let mut o = Order::from_request(OrderId::from_u128(n), req, Millis(at)).unwrap();
    o.customer_id = CustomerId::from_u128(customer);
    o.restaurant_id = restaurant.map(RestaurantId::from_u128);
    o
}

/// The events of an order's change, numbered after `base`.
pub fn events_for(order: &Order, base: u128, n: usize) -> Vec<EventRecord> {
    (0..n)
        .map(|i| {
            EventRecord::new(
                EventId::from_u128(base + i as u128),
                "order",
                order.id.to_string(),
                if i == 0 {
                    "OrderCreated"
                } else {
                    "OrderStatusChanged"
                },
                serde_json::json!({"orderId": order.id, "step": i}),
                order.updated_at,
            )
        })
        .collect()
}

/// One record read back from Kafka.
#[cfg(feature = "kafka")]
#[derive(Debug, Clone)]
pub struct Received {
    pub key: String,
    pub envelope: serde_json::Value,
    pub headers: Vec<(String, String)>,
}

/// Reads `topic` back over the plain listener (30 s at most) and checks that
/// it holds exactly `n` events, all keyed `key`; `how` says how they were
/// published, for the failure message.
#[cfg(feature = "kafka")]
pub fn assert_topic_holds(topic: &str, n: usize, key: &str, how: &str) {
    let got = consume(
        topic,
        n,
        std::time::Duration::from_secs(30),
        std::time::Duration::from_millis(300),
    );
    assert_eq!(got.len(), n, "the events published {how} are in the topic");
    assert!(
        got.iter().all(|m| m.key == key),
        "{how}: a record under another key"
    );
}

/// Reads `topic` from the beginning until `expected` records arrived (then
/// `linger` more, to catch duplicates) or `timeout` passed.
#[cfg(feature = "kafka")]
pub fn consume(
    topic: &str,
    expected: usize,
    timeout: std::time::Duration,
    linger: std::time::Duration,
) -> Vec<Received> {
    use uoom::adapters::kafka::rdkafka::ClientConfig;
    use uoom::adapters::kafka::rdkafka::Message;
    use uoom::adapters::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
    use uoom::adapters::kafka::rdkafka::message::Headers;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .set("group.id", unique("g"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("topic.metadata.refresh.interval.ms", "500")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let start = std::time::Instant::now();
    let mut got = Vec::new();
    let mut full_at = None;
    while start.elapsed() < timeout {
        if full_at.is_some_and(|t| std::time::Instant::now() > t) {
            break;
        }
        if let Some(Ok(m)) = consumer.poll(std::time::Duration::from_millis(100)) {
            {
                let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
                let envelope = serde_json::from_slice(m.payload().unwrap_or_default()).unwrap();
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|x| {
                                (
                                    x.key.to_string(),
                                    String::from_utf8_lossy(x.value.unwrap_or_default())
                                        .into_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                got.push(Received {
                    key,
                    envelope,
                    headers,
                });
                if got.len() >= expected && full_at.is_none() {
                    full_at = Some(std::time::Instant::now() + linger);
                }
            }
        }
    }
    got
}

/// Waits until `f` is true or `timeout` passes; whether it became true.
pub fn wait_until(timeout: std::time::Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    f()
}
