//! A standalone outbox relay process: PostgreSQL outbox → Kafka.
//!
//! Configured by environment (it has no other I/O than its logs):
//! `UOOM_POSTGRES_URL` (required), `UOOM_KAFKA_BROKERS` (required),
//! `UOOM_KAFKA_TOPIC` (default `uoom.events`), `UOOM_KAFKA_DLQ_TOPIC`
//! (default topic + `.dlq`), `UOOM_RELAY_ID` (default `relay-<pid>`),
//! `UOOM_RELAY_BATCH` (500), `UOOM_RELAY_WORKERS` (1), `UOOM_RELAY_POLL_MS`
//! (1000), `UOOM_RELAY_DELIVERED` (`delete` or `mark`, default `delete`),
//! `UOOM_KAFKA_LINGER_MS` (1), `UOOM_KAFKA_CONFIG_FILE` (a Java-style
//! `client.properties` of librdkafka settings: TLS, SASL/SCRAM for Amazon
//! MSK; TLS needs the `kafka-tls` feature). Runs until killed; several may
//! run at once against one database (each serves the outbox partitions it
//! holds).

use std::time::Duration;
use uoom::SystemClock;
use uoom::adapters::AdapterRuntime;
use uoom::adapters::kafka::{KafkaConfig, KafkaPublisher};
use uoom::adapters::outbox::{Relay, RelayConfig};
use uoom::adapters::postgres::{Delivered, PgConfig, PgOutboxStore, PgStore};

fn var(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

fn num(key: &str, default: u64) -> Result<u64, String> {
    match var(key) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("{key} must be a whole number, got {v:?}")),
    }
}

fn run() -> Result<(), String> {
    let pg = var("UOOM_POSTGRES_URL").ok_or("UOOM_POSTGRES_URL is required")?;
    let brokers = var("UOOM_KAFKA_BROKERS").ok_or("UOOM_KAFKA_BROKERS is required")?;
    let rt = AdapterRuntime::new(2).map_err(|e| e.chain().to_string())?;
    // Apply the schema if this relay is the first to start.
    PgStore::connect_with(
        PgConfig::new(&pg).with_writers(1).with_readers(1),
        rt.clone(),
    )
    .and_then(|s| s.migrate())
    .map_err(|e| e.chain().to_string())?;
    let mut kafka = KafkaConfig::new(brokers);
    if let Some(t) = var("UOOM_KAFKA_TOPIC") {
        kafka = kafka.with_topic(t);
    }
    if let Some(t) = var("UOOM_KAFKA_DLQ_TOPIC") {
        kafka = kafka.with_dlq_topic(t);
    }
    if var("UOOM_KAFKA_LINGER_MS").is_some() {
        kafka = kafka.with_linger(Duration::from_millis(num("UOOM_KAFKA_LINGER_MS", 1)?));
    }
    if let Some(file) = var("UOOM_KAFKA_CONFIG_FILE") {
        kafka = kafka
            .with_properties_file(file)
            .map_err(|e| e.chain().to_string())?;
    }
    let publisher = KafkaPublisher::new(kafka).map_err(|e| e.chain().to_string())?;
    // Connected before the first claim, so a backlog is not also queued
    // behind the connection's set-up; a broker that is down now is retried
    // like any failed publish, so this only warns.
    if let Err(e) = publisher.connect(Duration::from_secs(10)) {
        eprintln!(
            "uoom-outbox-relay: starting without a ready topic: {}",
            e.chain()
        );
    }
    let delivered = match var("UOOM_RELAY_DELIVERED").as_deref() {
        None | Some("delete") => Delivered::Delete,
        Some("mark") => Delivered::Mark,
        Some(other) => {
            return Err(format!(
                "UOOM_RELAY_DELIVERED must be delete or mark, got {other:?}"
            ));
        }
    };
    let store = PgOutboxStore::connect(&pg, rt)
        .map_err(|e| e.chain().to_string())?
        .with_delivered(delivered);
    let id = var("UOOM_RELAY_ID").unwrap_or_else(|| format!("relay-{}", std::process::id()));
    let config = RelayConfig::new(id)
        .with_batch(num("UOOM_RELAY_BATCH", 500)? as usize)
        .with_workers(num("UOOM_RELAY_WORKERS", 1)? as usize)
        .with_poll_interval(Duration::from_millis(num("UOOM_RELAY_POLL_MS", 1_000)?));
    let handle = Relay::new(config, store, publisher, SystemClock)
        .spawn()
        .map_err(|e| e.chain().to_string())?;
    loop {
        std::thread::sleep(Duration::from_secs(10));
        let m = handle.metrics().snapshot();
        eprintln!(
            "uoom-outbox-relay: published {} retries {} dead {} errors {} max lag {} ms",
            m.published, m.retries, m.dead_letters, m.errors, m.max_lag_ms
        );
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("uoom-outbox-relay: {e}");
        std::process::exit(2);
    }
}
