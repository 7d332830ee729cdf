//! At least once through failures: Kafka stopped mid-batch and restarted, a
//! relay killed with SIGKILL mid-batch (`make test-adapters`). These tests
//! stop shared servers, so they run one at a time.
#![cfg(all(feature = "postgres", feature = "outbox", feature = "kafka"))]

mod adapters_common;

use adapters_common::*;
use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uoom::adapters::kafka::{KafkaConfig, KafkaPublisher};
use uoom::adapters::outbox::{Relay, RelayConfig};
use uoom::adapters::postgres::{PgOutboxStore, PgStore};
use uoom::*;

static SERIAL: Mutex<()> = Mutex::new(());

fn write_orders(store: &PgStore, from: u128, count: u128) {
    for n in from..from + count {
        let o = order(n, n % 17, None, 1_000);
        store.save(&o, &events_for(&o, n * 10, 2)).unwrap();
    }
}

/// Every written event arrived; per aggregate, first arrivals in step order.
/// Returns the number of duplicates.
fn check_delivery(got: &[Received], orders: std::ops::Range<u128>) -> usize {
    let expected: HashSet<String> = orders
        .clone()
        .flat_map(|n| [EventId::from_u128(n * 10), EventId::from_u128(n * 10 + 1)])
        .map(|e| e.to_string())
        .collect();
    let mut seen = HashSet::new();
    let mut firsts: HashMap<String, Vec<i64>> = HashMap::new();
    for r in got {
        let id = r.envelope["id"].as_str().unwrap().to_string();
        if seen.insert(id) {
            firsts
                .entry(r.key.clone())
                .or_default()
                .push(r.envelope["payload"]["step"].as_i64().unwrap());
        }
    }
    let missing: Vec<_> = expected.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "{} events lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    for (key, steps) in firsts {
        assert_eq!(steps, vec![0, 1], "aggregate {key} out of order");
    }
    got.len() - seen.len()
}

/// Counts `topic`'s records into `n` as they arrive, for `time`.
fn count_records(topic: &str, n: &std::sync::atomic::AtomicUsize, time: Duration) {
    use uoom::adapters::kafka::rdkafka::ClientConfig;
    use uoom::adapters::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .set("group.id", unique("count"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "5")
        .set("topic.metadata.refresh.interval.ms", "100")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let start = std::time::Instant::now();
    while start.elapsed() < time && n.load(std::sync::atomic::Ordering::SeqCst) < 4_000 {
        if let Some(Ok(_)) = consumer.poll(Duration::from_millis(20)) {
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

fn kafka_script(action: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/servers/kafka.sh");
    let status = Command::new(script).arg(action).status().unwrap();
    assert!(status.success(), "kafka.sh {action} failed");
}

#[test]
fn kafka_stopped_mid_batch_and_restarted_loses_nothing() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (url, rt, store) = migrated_schema();
    let store = Arc::new(store);
    let topic = unique("kafka_down");
    write_orders(&store, 0, 1_000);
    let publisher = KafkaPublisher::new(
        KafkaConfig::new(kafka_brokers())
            .with_topic(&topic)
            .with_message_timeout(Duration::from_secs(3))
            // Each publish round waits >= 200 ms, so the 2,000 events take
            // >= 8 s (20 batches of two rounds) and the stop (~2 s) lands
            // mid-way; at the default 1 ms, a fresh CI machine's relay had
            // published them all before the broker was down.
            .with_linger(Duration::from_millis(200)),
    )
    .unwrap();
    let relay = Relay::new(
        // An outage longer than the retry schedule parks events in the DLQ
        // by design; this test is about surviving the outage, so its schedule
        // (1 s … 32 s) outlasts a slow stop and restart on a loaded machine.
        RelayConfig::new("kafka-down")
            .with_batch(100)
            .with_backoff([1, 2, 4, 8, 16, 32].map(Duration::from_secs).to_vec()),
        PgOutboxStore::connect(&url, rt.clone()).unwrap(),
        publisher,
        SystemClock,
    )
    .spawn()
    .unwrap();
    assert!(wait_until(Duration::from_secs(30), || relay
        .metrics()
        .snapshot()
        .published
        > 0));
    kafka_script("stop");
    let at_stop = relay.metrics().snapshot().published;
    assert!(
        at_stop < 2_000,
        "Kafka stopped only after everything was delivered"
    );
    write_orders(&store, 1_000, 500); // written while Kafka is down
    std::thread::sleep(Duration::from_secs(4));
    kafka_script("start");
    assert!(
        wait_until(Duration::from_secs(120), || store.outbox_depth().unwrap()
            == 0),
        "outbox not drained after the restart: {} left",
        store.outbox_depth().unwrap()
    );
    let m = relay.metrics().snapshot();
    relay.stop();
    assert!(m.retries > 0, "the outage was seen: {m:?}");
    assert_eq!(m.dead_letters, 0);
    let got = consume(
        &topic,
        3_000,
        Duration::from_secs(60),
        Duration::from_secs(1),
    );
    let dups = check_delivery(&got, 0..1_500);
    eprintln!(
        "kafka outage: {} records for 3000 events, {dups} duplicates; relay {m:?}",
        got.len()
    );
}

#[test]
fn a_relay_killed_mid_batch_loses_nothing_and_duplicates_stay_within_its_batch() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (url, rt, store) = migrated_schema();
    let topic = unique("sigkill");
    write_orders(&store, 0, 2_000);
    let batch = 500;
    let mut victim = Command::new(env!("CARGO_BIN_EXE_uoom-outbox-relay"))
        .env("UOOM_POSTGRES_URL", &url)
        .env("UOOM_KAFKA_BROKERS", kafka_brokers())
        .env("UOOM_KAFKA_TOPIC", &topic)
        .env("UOOM_RELAY_ID", "victim")
        .env("UOOM_RELAY_BATCH", batch.to_string())
        // Each publish round waits ≥ 200 ms, so a batch's first round sits
        // in Kafka unrecorded for a while: a window the kill can hit.
        .env("UOOM_KAFKA_LINGER_MS", "200")
        .spawn()
        .unwrap();
    // Kill it mid-batch: once Kafka holds more of the topic than the outbox
    // has recorded as published, a batch is out but not acknowledged.
    let in_kafka = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counting = {
        let in_kafka = in_kafka.clone();
        let topic = topic.clone();
        std::thread::spawn(move || count_records(&topic, &in_kafka, Duration::from_secs(60)))
    };
    // The victim is frozen (SIGSTOP) before the state is read, so that it
    // cannot record the batch as published between the check and the kill;
    // if the frozen state shows no batch out, it is thawed and watched again.
    let pid = victim.id().to_string();
    let signal = |sig: &str| {
        let ok = Command::new("kill")
            .args([sig, pid.as_str()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig} failed");
    };
    let mut acked_at_kill = None;
    let killed = wait_until(Duration::from_secs(60), || {
        let acked = 4_000 - store.outbox_depth().unwrap() as usize;
        let seen = in_kafka.load(std::sync::atomic::Ordering::SeqCst);
        if seen <= acked || acked >= 4_000 {
            return false;
        }
        signal("-STOP");
        std::thread::sleep(Duration::from_millis(1_500)); // the counter catches up
        let acked = 4_000 - store.outbox_depth().unwrap() as usize;
        let seen = in_kafka.load(std::sync::atomic::Ordering::SeqCst);
        if seen > acked && acked < 4_000 {
            victim.kill().unwrap(); // SIGKILL
            acked_at_kill = Some((acked, seen));
            true
        } else {
            signal("-CONT");
            false
        }
    });
    assert!(killed, "never caught the victim mid-batch");
    victim.wait().unwrap();
    let (acked, seen) = acked_at_kill.unwrap();
    let left = store.outbox_depth().unwrap();
    assert!(left > 0, "the victim finished before it was killed");

    let survivor = spawn_kafka_relay("survivor", &url, &rt, &topic);
    assert!(drained(&store, Duration::from_secs(60)));
    survivor.stop();
    let _ = counting.join();
    let got = consume(
        &topic,
        4_000,
        Duration::from_secs(60),
        Duration::from_secs(1),
    );
    let dups = check_delivery(&got, 0..2_000);
    eprintln!(
        "sigkill: killed with {acked} acknowledged and at least {seen} in Kafka; {left} left; {} records for 4000 events, {dups} duplicates",
        got.len()
    );
    assert!(dups >= 1, "the batch out at the kill is delivered again");
    assert!(
        dups <= batch,
        "{dups} duplicates: more than the victim's one unacknowledged batch"
    );
}
