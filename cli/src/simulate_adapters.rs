//! `uoom simulate --postgres URL --kafka BROKERS [--dynamodb URL]`: the real
//! engine over the real adapters (built with `--features adapters`).
//!
//! Every router writes through the PostgreSQL write model (orders, the
//! outbox and idempotency in one transaction, group commit), an outbox relay
//! publishes every event to Kafka, and optionally the status read model is
//! DynamoDB with the PostgreSQL fallback. Each run works in a fresh schema
//! and fresh topics, so runs never see each other's rows.
//!
//! Group commit needs concurrent callers: `--submitters` threads each own one
//! router per city (sharing that city's ledger, so capacity is counted once)
//! and submit their share of the stream one order at a time. An order's
//! latency ends when its final unit of work is durable in PostgreSQL (the
//! router returns only then); with `--rps` it starts at the order's scheduled
//! arrival, so waiting for a free submitter counts too.

use crate::simulate::SimulateArgs;
use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use serde_json::json;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use uoom::adapters::AdapterRuntime;
use uoom::adapters::dynamodb::{DynamoConfig, DynamoStatusStore, StatusWithFallback};
use uoom::adapters::kafka::{KafkaConfig, KafkaPublisher, delete_topics};
use uoom::adapters::outbox::{Relay, RelayConfig, RelayMetricsSnapshot};
use uoom::adapters::postgres::{PgConfig, PgOutboxStore, PgStore};
use uoom::engine::{Metrics, Outbox, Scenario, SimOrder, StatusReadModel, WriteModel};
use uoom::ledger::Ledger;
use uoom::{Clock, ErrorKind, Millis, SystemClock};

/// Virtual time shared by every submitter: it follows the stream's arrival
/// times and never moves backwards (threads race to advance it).
#[derive(Debug)]
struct StreamClock(AtomicU64);

impl StreamClock {
    fn advance_to(&self, t: Millis) {
        self.0.fetch_max(t.0, Ordering::SeqCst);
    }
}

impl Clock for StreamClock {
    fn now(&self) -> Millis {
        Millis(self.0.load(Ordering::SeqCst))
    }
}

/// What one submitter thread measured.
struct Submitted {
    /// Each order's arrival (µs from the run's start) and latency (ns).
    timeline: Vec<(u64, u64)>,
    metrics: Metrics,
    rejected: u64,
}

/// Runs the simulation over the adapters and prints the report.
pub fn run(args: &SimulateArgs, scenario: Scenario, orders: Vec<SimOrder>) -> Result<()> {
    let (Some(pg_url), Some(brokers)) = (args.postgres.as_deref(), args.kafka.as_deref()) else {
        bail!("--postgres and --kafka go together");
    };
    small_pages_only();
    let submitters = args.submitters.max(1);
    let rt = AdapterRuntime::new(2).context("starting the adapters' runtime")?;
    let tag = format!("{}_{}", std::process::id(), args.seed);
    let schema = format!("uoom_sim_{tag}");
    let admin = PgStore::connect_with(
        PgConfig::new(pg_url).with_writers(1).with_readers(1),
        rt.clone(),
    )
    .context("connecting to PostgreSQL")?;
    admin.execute_batch(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))?;
    let sep = if pg_url.contains('?') { '&' } else { '?' };
    let url = format!("{pg_url}{sep}options=-csearch_path%3D{schema}");
    let store = Arc::new(PgStore::connect_with(
        PgConfig::new(&url)
            .with_writers(args.pg_writers.max(1))
            .with_group_max(args.group_max.max(1))
            .with_group_wait(Duration::from_micros(args.group_wait_us))
            .with_synchronous_commit(!args.async_commit),
        rt.clone(),
    )?);
    store.migrate().context("applying the migrations")?;

    let topic = format!("uoom.sim.{tag}");
    let mut kafka = KafkaConfig::new(brokers)
        .with_topic(&topic)
        .with_linger(Duration::from_millis(args.kafka_linger_ms));
    if let Some(file) = &args.kafka_config {
        kafka = kafka.with_properties_file(file)?;
    }
    let relay = Relay::new(
        RelayConfig::new(format!("sim-{tag}"))
            .with_batch(args.relay_batch.max(1))
            .with_workers(args.relay_workers.max(1))
            .with_linger(Duration::from_millis(args.relay_linger_ms)),
        PgOutboxStore::connect(&url, rt.clone())?,
        {
            let publisher =
                KafkaPublisher::new(kafka.clone()).context("creating the Kafka producer")?;
            // Connected, and the run's topic made, before the first order.
            publisher
                .connect(Duration::from_secs(30))
                .context("connecting to Kafka")?;
            publisher
        },
        SystemClock,
    )
    .spawn()?;

    let read: Option<Arc<dyn StatusReadModel>> = match args.dynamodb.as_deref() {
        Some(endpoint) => {
            let cfg = DynamoConfig::default()
                .with_endpoint(endpoint)
                .with_table_prefix(&format!("sim{tag}_"));
            let dynamo = Arc::new(DynamoStatusStore::connect(cfg, rt.clone())?);
            dynamo
                .create_tables()
                .context("creating the DynamoDB tables")?;
            Some(Arc::new(StatusWithFallback::new(dynamo, store.clone())))
        }
        None => None,
    };

    let clock = Arc::new(StreamClock(AtomicU64::new(scenario.config.start.0)));
    let ledgers: Vec<Arc<Ledger>> = (0..scenario.cities.len())
        .map(|_| {
            Ledger::builder(clock.clone())
                .with_slot_ms(15 * 60 * 1000)
                .with_events(false)
                .build()
                .map(Arc::new)
        })
        .collect::<uoom::Result<_>>()?;

    // Order i goes to submitter i % n: every submitter sees every city.
    let mut streams: Vec<Vec<(usize, SimOrder)>> = vec![Vec::new(); submitters];
    for (i, o) in orders.into_iter().enumerate() {
        streams[i % submitters].push((i, o));
    }
    let total: usize = streams.iter().map(Vec::len).sum();
    let scenario = Arc::new(scenario);
    let barrier = Arc::new(Barrier::new(submitters + 1));
    // Every submitter's last order done, before any of them tears down.
    let finished = Arc::new(Barrier::new(submitters + 1));
    let epoch = Instant::now();
    let epoch_wall = std::time::SystemTime::now();
    let handles: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(t, stream)| {
            let (scenario, clock, store) = (scenario.clone(), clock.clone(), store.clone());
            let (ledgers, read, barrier) = (ledgers.clone(), read.clone(), barrier.clone());
            let finished = finished.clone();
            let rps = args.rps;
            let intake = args.intake_write.into();
            let seed = args.seed;
            std::thread::spawn(move || -> Result<Submitted> {
                let mut routers = Vec::with_capacity(scenario.cities.len());
                for (ci, ledger) in ledgers.iter().enumerate() {
                    let gateway = Arc::new(scenario.gateway(ci, clock.clone()));
                    let mut b = scenario
                        .router(ci, clock.clone(), gateway)
                        .with_store(
                            store.clone() as Arc<dyn WriteModel>,
                            store.clone() as Arc<dyn Outbox>,
                        )
                        .with_ledger(ledger.clone())
                        .with_intake_write(intake)
                        .with_id_seed(
                            seed ^ ((t as u64) << 32) ^ (ci as u64).wrapping_mul(0x9e37_79b9),
                        );
                    if let Some(r) = &read {
                        b = b.with_read_model(r.clone());
                    }
                    routers.push(b.build().context("building a router")?);
                }
                let start = scenario.config.start;
                let mut rejected = 0;
                let mut timeline = Vec::with_capacity(stream.len());
                barrier.wait();
                let began = Instant::now();
                let submit_all = || -> Result<()> {
                    for (i, o) in stream {
                        let arrival = match rps {
                            Some(r) => {
                                let due = began + Duration::from_secs_f64(i as f64 / r);
                                // Sleep only: the in-memory run's spin before
                                // each arrival would burn a core across hundreds
                                // of submitters, and a sleep's overshoot (tens of
                                // µs) is counted in the latency anyway.
                                if let Some(left) = due.checked_duration_since(Instant::now()) {
                                    std::thread::sleep(left);
                                }
                                due
                            }
                            None => Instant::now(),
                        };
                        clock.advance_to(o.at.max(start));
                        match routers[o.city].submit(o.request, None) {
                            Ok(_) => {}
                            Err(e) if e.kind() == ErrorKind::Validation => rejected += 1,
                            Err(e) => return Err(e.into()),
                        }
                        timeline.push((
                            arrival.saturating_duration_since(epoch).as_micros() as u64,
                            arrival.elapsed().as_nanos() as u64,
                        ));
                    }
                    Ok(())
                };
                let submitted = submit_all();
                // Tearing down (the routers, the thread's heap) waits for
                // the others' last orders: it is not part of any order's
                // latency, and threads ending one by one while others'
                // orders were still in flight delayed those (traced: ~225
                // of a run's last 1,250 orders over 20 ms, P99 119-126 ms
                // in that last 250 ms; none over 20 ms with this wait).
                finished.wait();
                submitted?;
                let mut metrics = Metrics::default();
                for r in &routers {
                    metrics.merge(r.metrics());
                }
                Ok(Submitted {
                    timeline,
                    metrics,
                    rejected,
                })
            })
        })
        .collect();
    barrier.wait();
    let began = Instant::now();
    finished.wait();
    let wall = began.elapsed();
    let mut results = Vec::with_capacity(handles.len());
    for h in handles {
        results.push(
            h.join()
                .map_err(|_| anyhow::anyhow!("a submitter thread panicked"))??,
        );
    }

    // Wait for the relay to publish what is left, then read its figures.
    let drain = Instant::now();
    while store.outbox_depth()? > 0 && drain.elapsed() < Duration::from_secs(args.drain_timeout_s) {
        // Counting pending rows is not free (deleted rows wait in the index
        // for vacuum): look every 50 ms, not in a tight loop.
        std::thread::sleep(Duration::from_millis(50));
    }
    let drained_ms = drain.elapsed().as_millis() as u64;
    let undelivered = store.outbox_depth()?;
    let relay_metrics = relay.metrics().snapshot();
    relay.stop();
    let events = store.events_written();
    if !args.keep_schema {
        admin.execute_batch(&format!("DROP SCHEMA {schema} CASCADE"))?;
        // A run leaves ~200 MB per 60,000 orders in the broker: without this, runs
        // fill the broker's disk (measured: 23 GB after an hour of runs).
        delete_topics(
            &kafka,
            &[&topic, &kafka.dlq_topic()],
            Duration::from_secs(30),
        )
        .context("deleting the run's Kafka topics")?;
    }

    let mut latency = Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3)?;
    let mut metrics = Metrics::default();
    let mut rejected = 0;
    let mut timeline = Vec::with_capacity(total);
    for r in &mut results {
        timeline.append(&mut r.timeline);
    }
    timeline.sort_unstable();
    if let Some(path) = &args.latency_trace {
        write_trace(path, &timeline)
            .with_context(|| format!("writing the latency trace {}", path.display()))?;
    }
    for &(_, ns) in &timeline {
        latency.saturating_record(ns);
    }
    let windows = windows(&timeline, args.window_ms * 1000);
    for r in &results {
        metrics.merge(&r.metrics);
        rejected += r.rejected;
    }
    let report = Report {
        orders: total as u64,
        rejected,
        metrics,
        latency,
        wall,
        events,
        undelivered,
        drained_ms,
        relay: relay_metrics,
        windows,
        started_at_unix_ms: epoch_wall
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        schema: args.keep_schema.then_some(schema),
        topic,
    };
    report.print(args, submitters)
}

/// Turns transparent huge pages off for this process. The run's many
/// threads each get mimalloc pages that, once purged and touched again, the
/// kernel zeroes 2 MiB at a time: measured (perf), page zeroing was a third
/// of this process's CPU; without it the process's system time halved.
fn small_pages_only() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only changes how
    // the kernel backs this process's future page faults.
    #[allow(unsafe_code, reason = "prctl has no safe wrapper")]
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

struct Report {
    orders: u64,
    rejected: u64,
    metrics: Metrics,
    latency: Histogram<u64>,
    wall: Duration,
    events: u64,
    undelivered: u64,
    drained_ms: u64,
    relay: RelayMetricsSnapshot,
    windows: Vec<Window>,
    /// Wall-clock time that arrivals (the trace, the windows) count from.
    started_at_unix_ms: u64,
    schema: Option<String>,
    topic: String,
}

/// The orders that arrived in one window of the run, and their latency.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
struct Window {
    /// Window start, s from the first arrival.
    start_s: f64,
    orders: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// Splits `timeline` (sorted (arrival µs, latency ns)) into windows of
/// `width_us` from the first arrival; empty windows are left out.
fn windows(timeline: &[(u64, u64)], width_us: u64) -> Vec<Window> {
    let Some(&(first, _)) = timeline.first() else {
        return Vec::new();
    };
    let width = width_us.max(1);
    let mut out = Vec::new();
    for chunk in timeline.chunk_by(|a, b| (a.0 - first) / width == (b.0 - first) / width) {
        let mut lat: Vec<u64> = chunk.iter().map(|&(_, l)| l).collect();
        lat.sort_unstable();
        let at = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)] as f64 / 1e6;
        out.push(Window {
            start_s: ((chunk[0].0 - first) / width * width) as f64 / 1e6,
            orders: lat.len(),
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        });
    }
    out
}

fn write_trace(path: &std::path::Path, timeline: &[(u64, u64)]) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "arrival_us,latency_us")?;
    for (a, ns) in timeline {
        writeln!(w, "{a},{}", ns / 1_000)?;
    }
    w.flush()
}

/// The P99 the report counts windows against (the write path's target: docs/adapters.md).
const P99_TARGET_MS: f64 = 20.0;

impl Report {
    /// How many windows have a P99 over `ms`.
    fn windows_over(&self, ms: f64) -> usize {
        self.windows.iter().filter(|w| w.p99_ms > ms).count()
    }

    fn print(&self, args: &SimulateArgs, submitters: usize) -> Result<()> {
        let ms = |q: f64| self.latency.value_at_quantile(q) as f64 / 1e6;
        let throughput = self.orders as f64 / self.wall.as_secs_f64().max(1e-9);
        let r = &self.relay;
        let within_1s = r.lag_le_100ms + r.lag_le_1s;
        let share_1s = within_1s as f64 / r.published.max(1) as f64;
        let mut out = std::io::stdout().lock();
        if args.json {
            let v = json!({
                "orders": self.orders,
                "routed": self.metrics.routed,
                "unrouted": self.metrics.unrouted,
                "rejected": self.rejected,
                "throughput_per_s": throughput.round(),
                "latency_us": {
                    "p50": ms(0.50) * 1e3, "p95": ms(0.95) * 1e3, "p99": ms(0.99) * 1e3,
                    "max": self.latency.max() as f64 / 1e3,
                },
                "latency_measure": if args.rps.is_some() {
                    "scheduled arrival to durable outcome (final unit committed in PostgreSQL)"
                } else {
                    "submit to durable outcome (final unit committed in PostgreSQL)"
                },
                "wall_s": self.wall.as_secs_f64(),
                "mode": if args.rps.is_some() { "paced" } else { "flat_out" },
                "rps_target": args.rps,
                "submitters": submitters,
                "seed": args.seed,
                "adapters": {
                    "postgres": true, "kafka": true, "dynamodb": args.dynamodb.is_some(),
                    "synchronous_commit": !args.async_commit,
                    "pg_writers": args.pg_writers, "group_max": args.group_max,
                    "group_wait_us": args.group_wait_us,
                    "relay_workers": args.relay_workers, "relay_batch": args.relay_batch,
                    "kafka_linger_ms": args.kafka_linger_ms, "relay_linger_ms": args.relay_linger_ms,
                    "intake_write": args.intake_write.name(),
                    "topic": self.topic, "schema_kept": self.schema,
                },
                "events": self.events,
                "published": r.published,
                "undelivered": self.undelivered,
                "drained_after_last_order_ms": self.drained_ms,
                "delivery_lag": {
                    "le_100ms": r.lag_le_100ms, "le_1s": r.lag_le_1s, "le_5s": r.lag_le_5s,
                    "over_5s": r.lag_over_5s, "max_ms": r.max_lag_ms, "share_within_1s": share_1s,
                },
                "relay": r,
                "latency_windows": {
                    "started_at_unix_ms": self.started_at_unix_ms,
                    "window_ms": args.window_ms,
                    "over_20ms_p99": self.windows_over(P99_TARGET_MS),
                    "windows": self.windows,
                },
            });
            writeln!(out, "{v}")?;
            return Ok(());
        }
        let pace = match args.rps {
            Some(r) => format!("paced at {r} orders/s"),
            None => "flat out".to_owned(),
        };
        writeln!(
            out,
            "uoom simulate over PostgreSQL + Kafka{}: {} orders, seed {}, {submitters} submitters, {pace}, --intake-write {}",
            if args.dynamodb.is_some() {
                " + DynamoDB"
            } else {
                ""
            },
            self.orders,
            args.seed,
            args.intake_write.name()
        )?;
        let rows = [
            (
                "throughput",
                format!(
                    "{throughput:.0} orders/s  ({:.3} s wall)",
                    self.wall.as_secs_f64()
                ),
            ),
            (
                "order latency",
                format!(
                    "p50 {:.2} ms   p95 {:.2} ms   p99 {:.2} ms   max {:.2} ms",
                    ms(0.50),
                    ms(0.95),
                    ms(0.99),
                    self.latency.max() as f64 / 1e6
                ),
            ),
            (
                "routed / unrouted",
                format!("{} / {}", self.metrics.routed, self.metrics.unrouted),
            ),
            (
                "events",
                format!(
                    "{} written, {} published, {} undelivered (drained {} ms after the last order)",
                    self.events, r.published, self.undelivered, self.drained_ms
                ),
            ),
            (
                "outbox -> Kafka lag",
                format!(
                    "{:.2} % within 1 s (<=100 ms {}, <=1 s {}, <=5 s {}, >5 s {}), max {} ms",
                    100.0 * share_1s,
                    r.lag_le_100ms,
                    r.lag_le_1s,
                    r.lag_le_5s,
                    r.lag_over_5s,
                    r.max_lag_ms
                ),
            ),
            (
                "relay",
                format!(
                    "{} batches, {} retries, {} dead letters, {} store errors",
                    r.batches, r.retries, r.dead_letters, r.errors
                ),
            ),
        ];
        for (k, v) in rows {
            writeln!(out, "  {k:<20}  {v}")?;
        }
        if let Some(worst) = self
            .windows
            .iter()
            .max_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms))
        {
            writeln!(
                out,
                "  {:<20}  {} of {} windows of {} ms with p99 over {P99_TARGET_MS} ms; worst p99 {:.2} ms at {:.1} s",
                "latency over time",
                self.windows_over(P99_TARGET_MS),
                self.windows.len(),
                args.window_ms,
                worst.p99_ms,
                worst.start_s
            )?;
            if self.windows.len() <= 120 {
                let p99s: Vec<String> = self
                    .windows
                    .iter()
                    .map(|w| format!("{:.0}", w.p99_ms))
                    .collect();
                writeln!(out, "  {:<20}  p99 ms per window: {}", "", p99s.join(" "))?;
            }
        }
        writeln!(
            out,
            "  (latency: {} to the final unit of work committed in PostgreSQL)",
            if args.rps.is_some() {
                "scheduled arrival"
            } else {
                "submit"
            }
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_split_by_arrival_and_report_each_ones_tail() {
        // 100 orders in the first second (latency 1..=100 ms), one slow order
        // in the third (the second is empty and left out).
        let mut timeline: Vec<(u64, u64)> =
            (1..=100u64).map(|i| (i * 9_000, i * 1_000_000)).collect();
        timeline.push((2_500_000, 42_000_000));
        let w = windows(&timeline, 1_000_000);
        assert_eq!(w.len(), 2);
        assert_eq!(
            (
                w[0].start_s,
                w[0].orders,
                w[0].p50_ms,
                w[0].p99_ms,
                w[0].max_ms
            ),
            (0.0, 100, 51.0, 100.0, 100.0)
        );
        // Windows count from the first arrival (9 ms), not from zero.
        assert_eq!((w[1].start_s, w[1].orders, w[1].max_ms), (2.0, 1, 42.0));
        assert!(windows(&[], 1_000).is_empty());
    }

    #[test]
    fn the_trace_is_one_csv_line_per_order() {
        let path = std::env::temp_dir().join(format!("uoom-trace-{}.csv", std::process::id()));
        write_trace(&path, &[(5, 1_200_000), (9, 800_000)]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(text, "arrival_us,latency_us\n5,1200\n9,800\n");
    }
}
