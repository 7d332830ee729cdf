//! Load on the write path of the real adapters, without the routing engine:
//! `--writers` threads each write orders one after another the way a router
//! does (two units of work per order: `VALIDATED` with 2 events, then
//! `CONFIRMED` with 3), through the group-commit PostgreSQL write model,
//! while the outbox relay publishes every event to Kafka.
//!
//! ```sh
//! cargo run --release -p uoom --features postgres,outbox,kafka --example adapters_load -- \
//!   --postgres postgres://uoom:uoom@127.0.0.1:25432/uoom --kafka 127.0.0.1:29092 \
//!   --orders 50000 --writers 16 [--sync-commit off] [--relay-workers 2] [--batch 1000]
//! ```
//!
//! Prints one JSON object: orders/s, per-order write latency percentiles (both
//! units), and the relay's delivery lag (event time → Kafka acknowledgement).
//! Runs in a fresh schema, dropped afterwards.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uoom::adapters::kafka::{KafkaConfig, KafkaPublisher};
use uoom::adapters::outbox::{Relay, RelayConfig};
use uoom::adapters::postgres::{PgConfig, PgOutboxStore, PgStore};
use uoom::adapters::{AdapterRuntime, EventRecord};
use uoom::*;

fn args() -> HashMap<String, String> {
    let v: Vec<String> = std::env::args().skip(1).collect();
    v.chunks(2)
        .filter_map(|c| match c {
            [k, val] => Some((k.trim_start_matches("--").to_string(), val.clone())),
            _ => None,
        })
        .collect()
}

fn event(order: &Order, name: &str, clock: &SystemClock) -> EventRecord {
    EventRecord::new(
        EventId::new_v4(),
        "order",
        order.id.to_string(),
        name,
        serde_json::json!({"orderId": order.id, "status": order.status}),
        clock.now(),
    )
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn main() -> Result<()> {
    let a = args();
    let get = |k: &str, d: &str| a.get(k).cloned().unwrap_or_else(|| d.to_string());
    let num = |k: &str, d: usize| get(k, &d.to_string()).parse::<usize>().unwrap_or(d);
    let pg = get("postgres", "postgres://uoom:uoom@127.0.0.1:25432/uoom");
    let brokers = get("kafka", "127.0.0.1:29092");
    let orders = num("orders", 20_000);
    let writers = num("writers", 16).max(1);
    let sync_commit = get("sync-commit", "on") != "off";
    let group_max = num("group-max", 200);
    let write_conns = num("write-connections", 2);
    let relay_workers = num("relay-workers", 2);
    let batch = num("batch", 1_000);

    let rt = AdapterRuntime::new(2)?;
    let admin = PgStore::connect_with(
        PgConfig::new(&pg).with_writers(1).with_readers(1),
        rt.clone(),
    )?;
    let schema = format!("load_{}", std::process::id());
    admin.execute_batch(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))?;
    let sep = if pg.contains('?') { '&' } else { '?' };
    let url = format!("{pg}{sep}options=-csearch_path%3D{schema}");
    let store = Arc::new(PgStore::connect_with(
        PgConfig::new(&url)
            .with_writers(write_conns)
            .with_group_max(group_max)
            .with_group_wait(Duration::from_micros(200))
            .with_synchronous_commit(sync_commit),
        rt.clone(),
    )?);
    store.migrate()?;
    let topic = format!("uoom.load.{}", std::process::id());
    let relay = Relay::new(
        RelayConfig::new("load")
            .with_batch(batch)
            .with_workers(relay_workers),
        PgOutboxStore::connect(&url, rt.clone())?,
        KafkaPublisher::new(KafkaConfig::new(&brokers).with_topic(&topic))?,
        SystemClock,
    )
    .spawn()?;

    let req = parse_create_order(include_bytes!("../../examples/orders/sample.json"))?;
    let began = Instant::now();
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            let req = req.clone();
            std::thread::spawn(move || -> Result<Vec<u64>> {
                let clock = SystemClock;
                let mine = orders / writers + usize::from(w < orders % writers);
                let mut lat = Vec::with_capacity(mine);
                for _ in 0..mine {
                    let t0 = Instant::now();
                    let mut o = Order::from_request(OrderId::new_v4(), req.clone(), clock.now())?;
                    let created = event(&o, "OrderCreated", &clock);
                    o.transition(OrderStatus::Validated, clock.now())?;
                    store.save(&o, &[created, event(&o, "OrderValidated", &clock)])?;
                    o.transition(OrderStatus::Routed, clock.now())?;
                    let assigned = event(&o, "ChannelAssigned", &clock);
                    o.transition(OrderStatus::Confirmed, clock.now())?;
                    store.save(
                        &o,
                        &[
                            event(&o, "CapacityReserved", &clock),
                            assigned,
                            event(&o, "OrderConfirmed", &clock),
                        ],
                    )?;
                    lat.push(t0.elapsed().as_micros() as u64);
                }
                Ok(lat)
            })
        })
        .collect();
    let mut lat = Vec::with_capacity(orders);
    for t in threads {
        lat.extend(t.join().map_err(|_| Error::io("writer panicked"))??);
    }
    let write_s = began.elapsed().as_secs_f64();
    let drain_start = Instant::now();
    while store.outbox_depth()? > 0 && drain_start.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let drained_after_ms = drain_start.elapsed().as_millis() as u64;
    let m = relay.metrics().snapshot();
    relay.stop();
    admin.execute_batch(&format!("DROP SCHEMA {schema} CASCADE"))?;
    lat.sort_unstable();
    let events = orders as u64 * 5;
    let within_1s = m.lag_le_100ms + m.lag_le_1s;
    let report = serde_json::json!({
        "orders": orders,
        "writers": writers,
        "synchronous_commit": sync_commit,
        "group_max": group_max,
        "write_connections": write_conns,
        "relay_workers": relay_workers,
        "relay_batch": batch,
        "throughput_per_s": (orders as f64 / write_s).round(),
        "write_latency_us": {"p50": pct(&lat, 0.50), "p95": pct(&lat, 0.95), "p99": pct(&lat, 0.99), "max": lat.last().copied().unwrap_or(0)},
        "events": events,
        "published": m.published,
        "drained_after_last_write_ms": drained_after_ms,
        "lag": {"le_100ms": m.lag_le_100ms, "le_1s": m.lag_le_1s, "le_5s": m.lag_le_5s, "over_5s": m.lag_over_5s, "max_ms": m.max_lag_ms,
                "share_within_1s": within_1s as f64 / m.published.max(1) as f64},
        "relay": m,
    });
    println!("{report}");
    Ok(())
}
