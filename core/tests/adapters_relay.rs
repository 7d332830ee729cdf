//! The outbox relay over PostgreSQL and Kafka (`make test-adapters`).
#![cfg(all(feature = "postgres", feature = "outbox", feature = "kafka"))]

mod adapters_common;

use adapters_common::*;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uoom::adapters::EventRecord;
use uoom::adapters::kafka::{KafkaConfig, KafkaPublisher};
use uoom::adapters::outbox::{Publisher, Relay, RelayConfig};
use uoom::adapters::postgres::{Delivered, PgOutboxStore};
use uoom::*;

#[test]
fn the_relay_delivers_every_event_in_order_per_aggregate() {
    let (url, rt, store) = migrated_schema();
    let store = Arc::new(store);
    let topic = unique("events");
    let publisher =
        KafkaPublisher::new(KafkaConfig::new(kafka_brokers()).with_topic(&topic)).unwrap();
    // Two relays at once, two workers each: four claimers sharing the
    // outbox's 16 partitions, 4 per claim, so neither relay can hold them all.
    let spawn = |name: &str, publisher| {
        Relay::new(
            RelayConfig::new(name)
                .with_batch(100)
                .with_workers(2)
                .with_partitions_per_claim(4),
            PgOutboxStore::connect(&url, rt.clone()).unwrap(),
            publisher,
            SystemClock,
        )
        .spawn()
        .unwrap()
    };
    let relay = spawn("happy-a", publisher);
    let second = spawn(
        "happy-b",
        KafkaPublisher::new(KafkaConfig::new(kafka_brokers()).with_topic(&topic)).unwrap(),
    );

    // 8 writers x 25 orders, each order written three times with one event each.
    let writers: Vec<_> = (0..8u128)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                for k in 0..25u128 {
                    let n = w * 1_000 + k;
                    let mut o = order(n, w, Some(1), 1_000);
                    store.save(&o, &events_for(&o, n * 10, 1)).unwrap();
                    for (step, status) in [(1, OrderStatus::Validated), (2, OrderStatus::Routed)] {
                        o.transition(status, Millis(1_000 + step)).unwrap();
                        let mut ev = events_for(&o, n * 10 + step as u128, 1);
                        ev[0].payload = serde_json::value::to_raw_value(
                            &serde_json::json!({"orderId": o.id, "step": step}),
                        )
                        .unwrap();
                        store.save(&o, &ev).unwrap();
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let total = 8 * 25 * 3;
    assert!(
        wait_until(Duration::from_secs(60), || store.outbox_depth().unwrap()
            == 0),
        "outbox not drained: {} left",
        store.outbox_depth().unwrap()
    );
    let (m1, m2) = (relay.metrics().snapshot(), second.metrics().snapshot());
    relay.stop();
    second.stop();
    assert_eq!(m1.published + m2.published, total as u64);
    assert!(
        m1.published > 0 && m2.published > 0,
        "both relays delivered: {} and {}",
        m1.published,
        m2.published
    );
    assert_eq!(m1.dead_letters + m2.dead_letters, 0);

    let got = consume(
        &topic,
        total,
        Duration::from_secs(30),
        Duration::from_millis(500),
    );
    let ids: HashSet<String> = got
        .iter()
        .map(|r| r.envelope["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got.len(), total, "no duplicates in the happy path");
    assert_eq!(ids.len(), total);
    let mut steps: HashMap<String, Vec<i64>> = HashMap::new();
    for r in &got {
        assert_eq!(r.key, r.envelope["aggregateId"].as_str().unwrap());
        assert!(r.headers.iter().any(|(k, _)| k == "uoom-event-id"));
        steps
            .entry(r.key.clone())
            .or_default()
            .push(r.envelope["payload"]["step"].as_i64().unwrap());
    }
    assert_eq!(steps.len(), 200);
    for (key, s) in steps {
        assert_eq!(s, vec![0, 1, 2], "order {key} out of order");
    }
}

#[test]
fn the_relay_store_truncates_outbox_slots_once_their_events_are_delivered() {
    let (url, rt, store) = migrated_schema();
    for n in 0..100u128 {
        let o = order(n, n % 7, Some(1), 1_000);
        store.save(&o, &events_for(&o, n * 10, 2)).unwrap();
    }
    // The slots the events were written to, and the pages they hold.
    store
        .execute_batch(
            "CREATE TABLE written AS SELECT DISTINCT slot FROM outbox_events; \
             DO $$ BEGIN ASSERT (SELECT count(*) FROM outbox_events) = 100; \
             ASSERT (SELECT count(*) FROM outbox_event_list) = 200; \
             ASSERT (SELECT sum(pg_relation_size(format('outbox_events_s%s', slot)::regclass)) \
                     FROM written) > 0; END $$",
        )
        .unwrap();
    let topic = unique("slots");
    let relay = spawn_kafka_relay("slots", &url, &rt, &topic);
    assert!(drained(&store, Duration::from_secs(30)));
    // A slot is truncated once it is two slots (4-6 s) old: every written
    // slot ends up with no rows and no pages, with no vacuum involved.
    let truncated = "DO $$ BEGIN ASSERT (SELECT sum(pg_relation_size( \
                     format('outbox_events_s%s', slot)::regclass)) FROM written) = 0; END $$";
    let done = wait_until(Duration::from_secs(20), || {
        store.execute_batch(truncated).is_ok()
    });
    let published = relay.metrics().snapshot().published;
    relay.stop();
    assert!(done, "{:?}", store.execute_batch(truncated));
    assert_eq!(published, 200);
    assert_eq!(
        consume(
            &topic,
            200,
            Duration::from_secs(30),
            Duration::from_millis(500)
        )
        .len(),
        200,
        "every event reached Kafka before its slot went"
    );
}

/// Kafka with one poisoned event, and a log of when (by the injected clock)
/// each attempt at it was made.
struct Poisoned {
    inner: KafkaPublisher,
    poison: EventId,
    clock: Arc<ManualClock>,
    attempts: Mutex<Vec<Millis>>,
}

impl Publisher for Poisoned {
    fn publish(&self, events: &[&EventRecord]) -> Vec<uoom::Result<()>> {
        let healthy: Vec<&EventRecord> = events
            .iter()
            .copied()
            .filter(|e| e.id != self.poison)
            .collect();
        let mut results = self.inner.publish(&healthy).into_iter();
        events
            .iter()
            .map(|e| {
                if e.id == self.poison {
                    self.attempts.lock().unwrap().push(self.clock.now());
                    Err(uoom::Error::io("poisoned: serializer rejected the payload"))
                } else {
                    results.next().unwrap()
                }
            })
            .collect()
    }

    fn publish_dead_letter(&self, e: &EventRecord, error: &str, attempts: u32) -> uoom::Result<()> {
        self.inner.publish_dead_letter(e, error, attempts)
    }
}

type PoisonedRelay = Relay<PgOutboxStore, Poisoned, Arc<ManualClock>>;

/// A relay over PostgreSQL publishing to `topic`, `poison` failing every
/// time, on a manual clock started a second ahead of the wall clock
/// (returned with its start).
fn poisoned_relay(
    name: &str,
    url: &str,
    rt: &uoom::adapters::AdapterRuntime,
    topic: &str,
    poison: EventId,
    delivered: Delivered,
) -> (PoisonedRelay, Arc<ManualClock>, Millis) {
    let t0 = SystemClock.now().plus_ms(1_000);
    let clock = Arc::new(ManualClock::new(t0));
    let relay = Relay::new(
        RelayConfig::new(name),
        PgOutboxStore::connect(url, rt.clone())
            .unwrap()
            .with_delivered(delivered),
        Poisoned {
            inner: KafkaPublisher::new(KafkaConfig::new(kafka_brokers()).with_topic(topic))
                .unwrap(),
            poison,
            clock: clock.clone(),
            attempts: Mutex::new(Vec::new()),
        },
        clock.clone(),
    );
    (relay, clock, t0)
}

#[test]
fn a_poison_event_is_retried_after_1_2_4_s_then_parked_holding_back_only_its_aggregate() {
    let (url, rt, store) = migrated_schema();
    let topic = unique("poison");
    let p = order(1, 1, None, 1_000);
    let q = order(2, 1, None, 1_000);
    let p_events = events_for(&p, 100, 2);
    let q_events = events_for(&q, 200, 2);
    store.save(&p, &p_events).unwrap();
    store.save(&q, &q_events).unwrap();

    // Delivered rows are kept (marked), so the test can read their state.
    let (relay, clock, t0) =
        poisoned_relay("poison", &url, &rt, &topic, p_events[0].id, Delivered::Mark);
    let published = |agg: &Order| -> Vec<bool> {
        store
            .outbox_events_of(&agg.id.to_string())
            .unwrap()
            .iter()
            .map(|r| r.published)
            .collect()
    };

    let r = relay.run_once().unwrap();
    assert_eq!(
        (r.claimed, r.published, r.retried, r.held_back),
        (4, 2, 1, 1)
    );
    assert_eq!(
        published(&q),
        vec![true, true],
        "the other aggregate is not held back"
    );
    assert_eq!(
        published(&p),
        vec![false, false],
        "the poison's follower waits"
    );

    // Not due a millisecond early; due exactly after 1 s, 2 s, 4 s.
    for (wait, last) in [(1_000u64, false), (2_000, false), (4_000, true)] {
        clock.advance_ms(wait - 1);
        let early = relay.run_once().unwrap();
        assert_eq!(
            (
                early.claimed,
                early.held_back,
                early.published + early.retried + early.dead
            ),
            (2, 2, 0),
            "not due: the head and its follower are held back"
        );
        clock.advance_ms(1);
        let r = relay.run_once().unwrap();
        assert_eq!(r.claimed, 2, "the head and its follower are claimed");
        assert_eq!((r.retried, r.dead), if last { (0, 1) } else { (1, 0) });
    }
    // Once parked, the follower is the head and goes out.
    let r = relay.run_once().unwrap();
    assert_eq!((r.claimed, r.published), (1, 1));

    let attempts = relay_attempts(&relay);
    assert_eq!(
        attempts,
        vec![t0, t0.plus_ms(1_000), t0.plus_ms(3_000), t0.plus_ms(7_000)]
    );
    let rows = store.outbox_events_of(&p.id.to_string()).unwrap();
    assert!(rows[0].dead && !rows[0].published);
    assert_eq!(rows[0].attempts, 4);
    assert!(rows[0].last_error.as_deref().unwrap().contains("poisoned"));
    assert!(rows[1].published && !rows[1].dead);
    let m = relay.metrics().snapshot();
    assert_eq!((m.retries, m.dead_letters, m.published), (3, 1, 3));

    let dlq = consume(
        &format!("{topic}.dlq"),
        1,
        Duration::from_secs(30),
        Duration::from_millis(300),
    );
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].envelope["id"], p_events[0].id.to_string());
    assert_eq!(dlq[0].key, p.id.to_string());
    let header = |k: &str| {
        dlq[0]
            .headers
            .iter()
            .find(|(h, _)| h == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("uoom-attempts").as_deref(), Some("4"));
    assert!(header("uoom-error").unwrap().contains("poisoned"));
}

/// A poison event in the middle of a row of four (one save, one aggregate):
/// the two before it go out once, it is retried alone with the one after it
/// held back, then parked; the one after it goes out. Under both delivery
/// modes (the delivered part of a cut row deleted, or kept as published).
fn a_poison_event_inside_a_row(delivered: Delivered) {
    let (url, rt, store) = migrated_schema();
    let topic = unique("poison_row");
    let p = order(7, 1, None, 1_000);
    let events = events_for(&p, 700, 4);
    store.save(&p, &events).unwrap();
    let (relay, clock, t0) =
        poisoned_relay("poison-row", &url, &rt, &topic, events[2].id, delivered);
    let r = relay.run_once().unwrap();
    assert_eq!(
        (r.claimed, r.published, r.retried, r.held_back),
        (4, 2, 1, 1)
    );
    let rows = store.outbox_events_of(&p.id.to_string()).unwrap();
    let pending: Vec<(EventId, i32)> = rows
        .iter()
        .filter(|r| !r.published && !r.dead)
        .map(|r| (r.id, r.attempts))
        .collect();
    assert_eq!(
        pending,
        vec![(events[2].id, 1), (events[3].id, 0)],
        "the failed event heads what is left, with its attempt counted"
    );
    for (wait, last) in [(1_000u64, false), (2_000, false), (4_000, true)] {
        clock.advance_ms(wait - 1);
        let early = relay.run_once().unwrap();
        assert_eq!((early.claimed, early.held_back, early.published), (2, 2, 0));
        clock.advance_ms(1);
        let r = relay.run_once().unwrap();
        assert_eq!(r.claimed, 2, "the failed event and the one after it");
        assert_eq!(
            (r.published, r.retried, r.dead),
            if last { (0, 0, 1) } else { (0, 1, 0) }
        );
    }
    let r = relay.run_once().unwrap();
    assert_eq!((r.claimed, r.published), (1, 1), "the one after it goes on");
    assert_eq!(
        relay_attempts(&relay),
        vec![t0, t0.plus_ms(1_000), t0.plus_ms(3_000), t0.plus_ms(7_000)]
    );
    assert_eq!(store.outbox_depth().unwrap(), 0);
    let rows = store.outbox_events_of(&p.id.to_string()).unwrap();
    let dead: Vec<_> = rows.iter().filter(|r| r.dead).collect();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].id, dead[0].attempts), (events[2].id, 4));
    assert!(dead[0].last_error.as_deref().unwrap().contains("poisoned"));
    let kept: Vec<EventId> = rows.iter().filter(|r| r.published).map(|r| r.id).collect();
    match delivered {
        Delivered::Delete => assert!(kept.is_empty(), "{kept:?}"),
        Delivered::Mark => assert_eq!(kept, vec![events[0].id, events[1].id, events[3].id]),
    }
    // Kafka has the other three once each, in order, and the DLQ the poison.
    let got = consume(
        &topic,
        3,
        Duration::from_secs(30),
        Duration::from_millis(500),
    );
    let ids: Vec<&str> = got
        .iter()
        .map(|r| r.envelope["id"].as_str().unwrap())
        .collect();
    let want: Vec<String> = [0, 1, 3]
        .iter()
        .map(|&i| events[i].id.to_string())
        .collect();
    assert_eq!(ids, want);
    let dlq = consume(
        &format!("{topic}.dlq"),
        1,
        Duration::from_secs(30),
        Duration::from_millis(300),
    );
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].envelope["id"], events[2].id.to_string());
}

#[test]
fn a_poison_event_inside_a_row_holds_back_only_what_follows_it_deleting_delivered_rows() {
    a_poison_event_inside_a_row(Delivered::Delete);
}

#[test]
fn a_poison_event_inside_a_row_holds_back_only_what_follows_it_marking_delivered_rows() {
    a_poison_event_inside_a_row(Delivered::Mark);
}

fn relay_attempts<S, C>(relay: &Relay<S, Poisoned, C>) -> Vec<Millis>
where
    S: uoom::adapters::outbox::OutboxStore,
    C: Clock,
{
    relay.publisher().attempts.lock().unwrap().clone()
}

/// The topics the cluster lists now.
fn topics_listed() -> HashSet<String> {
    use uoom::adapters::kafka::rdkafka::ClientConfig;
    use uoom::adapters::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .create()
        .unwrap();
    let metadata = client
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap();
    metadata
        .topics()
        .iter()
        .map(|t| t.name().to_owned())
        .collect()
}

#[test]
fn delete_topics_removes_a_topic_and_takes_a_missing_one_in_stride() {
    use uoom::adapters::kafka::delete_topics;
    let topic = unique("uoom.test.delete");
    let config = KafkaConfig::new(kafka_brokers()).with_topic(&topic);
    let publisher = KafkaPublisher::new(config.clone()).unwrap();
    let order = order(1, 2, None, 0);
    let events = events_for(&order, 10, 1);
    let refs: Vec<&EventRecord> = events.iter().collect();
    assert_eq!(publisher.publish_events(&refs), vec![Ok(())]);
    drop(publisher);
    assert!(
        topics_listed().contains(&topic),
        "publishing created {topic}"
    );

    let missing = unique("uoom.test.never");
    delete_topics(&config, &[&topic, &missing], Duration::from_secs(10)).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || !topics_listed()
            .contains(&topic)),
        "{topic} is still listed after delete_topics"
    );
}
