//! `uoom simulate`: drives the routing engine with a generated, seeded order
//! stream on the in-memory default and reports throughput and latency.
//!
//! One router per city; cities are spread over worker threads, so routers
//! never share a lock. Partner latency is virtual (a manual clock follows the
//! stream's timestamps), so the latency reported is the engine's own wall
//! time per order, from submit to outcome.

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::collections::{BTreeMap, VecDeque};
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use uoom::engine::{
    DecisionKind, GatewayStats, IntakeWrite, MemoryReadModel, MemoryStore, Metrics, Outbox,
    Outcome, Router, Scenario, ScenarioConfig, SimGateway, SimOrder,
};
use uoom::{Clock, ErrorKind, ManualClock};

/// Options of `uoom simulate`.
#[derive(clap::Args, Debug, Clone)]
pub struct SimulateArgs {
    /// Orders in the stream.
    #[arg(long, default_value_t = 100_000)]
    pub orders: usize,
    /// Pace the stream at this many orders per second of wall time (default: flat out).
    #[arg(long)]
    pub rps: Option<f64>,
    /// Channels over all cities.
    #[arg(long, default_value_t = 80)]
    pub channels: usize,
    /// Seed of the scenario (orders, channels, partner failures, outages).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Worker threads (default: available cores, at most one per city).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Cities (1-8, largest first).
    #[arg(long, default_value_t = 8)]
    pub cities: usize,
    /// Submit raw create-order JSON, parsed inside the timed path.
    #[arg(long)]
    pub from_json: bool,
    /// Route in batch windows of this many ms (virtual time) through the solver.
    #[arg(long)]
    pub batch_window_ms: Option<u64>,
    /// Share of partner channels with an outage during the run.
    #[arg(long, default_value_t = 0.25)]
    pub outage_share: f64,
    /// Capacity over expected demand (below 1: scarcity).
    #[arg(long, default_value_t = 1.15)]
    pub capacity_headroom: f64,
    /// Run over the PostgreSQL write model and outbox at this URL (a fresh
    /// schema per run) instead of in memory; needs `--kafka` and a `uoom`
    /// built with `--features adapters`.
    #[arg(long, help_heading = "Adapters")]
    pub postgres: Option<String>,
    /// Run this many replica processes against `--postgres` (no Kafka), fed
    /// round-robin as a load balancer would, and audit the orders table for
    /// overbooked slots and lost confirmations afterwards.
    #[arg(long, requires = "postgres", value_parser = clap::value_parser!(u64).range(1..=16), help_heading = "Replicas")]
    pub replicas: Option<u64>,
    /// Faults injected during a `--replicas` run, comma-separated: `kill`
    /// (SIGKILL of a replica, then restarted), `pause` (SIGSTOP for
    /// `--pause-ms`, then SIGCONT), `pg-restart` (`--pg-restart-cmd`).
    #[arg(long, requires = "replicas", help_heading = "Replicas")]
    pub faults: Option<String>,
    /// How long the `pause` fault stops a replica, ms.
    #[arg(long, default_value_t = 3_000, help_heading = "Replicas")]
    pub pause_ms: u64,
    /// Shell command of the `pg-restart` fault: an immediate restart of the
    /// PostgreSQL server (default: `$UOOM_PG_RESTART_CMD`).
    #[arg(long, help_heading = "Replicas")]
    pub pg_restart_cmd: Option<String>,
    /// How each replica counts capacity: `leases` (fenced leases from
    /// PostgreSQL, shared by the replicas) or `local` (a ledger per
    /// process, which overbooks across replicas: for comparison).
    #[arg(long, value_enum, default_value_t = LedgerMode::Leases, help_heading = "Replicas")]
    pub ledger: LedgerMode,
    /// TTL of the replicas' capacity leases, ms (refreshed every quarter of it).
    #[arg(long, default_value_t = DEFAULT_LEASE_TTL_MS, help_heading = "Replicas")]
    pub lease_ttl_ms: u64,
    /// Refresh periods of recent demand each replica keeps leased beyond
    /// what it holds (more: fewer round trips, more units parked in idle
    /// quotas).
    #[arg(long, default_value_t = DEFAULT_LEASE_HEADROOM, help_heading = "Replicas")]
    pub lease_headroom: u32,
    /// Kafka bootstrap brokers the outbox relay publishes to (a fresh topic per run).
    #[arg(long, requires = "postgres", help_heading = "Adapters")]
    pub kafka: Option<String>,
    /// A Java-style `client.properties` file of librdkafka settings for the
    /// relay's producer (TLS and SASL/SCRAM for Amazon MSK: `security.protocol`,
    /// `ssl.ca.location`, `sasl.mechanisms`, `sasl.username`, `sasl.password`).
    #[arg(long, requires = "kafka", help_heading = "Adapters")]
    pub kafka_config: Option<std::path::PathBuf>,
    /// DynamoDB endpoint for the status read model (PostgreSQL as its fallback).
    #[arg(long, requires = "postgres", help_heading = "Adapters")]
    pub dynamodb: Option<String>,
    /// Concurrent submitter threads, each with a router per city (group
    /// commit needs concurrent callers: each waits for its commit, so the
    /// rate times the latency are busy on average, and bursts need several
    /// times that).
    #[arg(long, default_value_t = 256, help_heading = "Adapters")]
    pub submitters: usize,
    /// Group-commit writer connections to PostgreSQL (two, the library's
    /// default: one group executes while the other's commit waits for its
    /// WAL flush; the effect of one or two: docs/benchmarks.md).
    #[arg(long, default_value_t = 2, help_heading = "Adapters")]
    pub pg_writers: usize,
    /// Most units of work in one group commit.
    #[arg(long, default_value_t = 200, help_heading = "Adapters")]
    pub group_max: usize,
    /// How long a group commit waits for more units, in µs.
    #[arg(long, default_value_t = 200, help_heading = "Adapters")]
    pub group_wait_us: u64,
    /// `synchronous_commit = off` for the write model (a server crash may
    /// lose the last acknowledged units; off by default).
    #[arg(long, help_heading = "Adapters")]
    pub async_commit: bool,
    /// Relay worker threads.
    #[arg(long, default_value_t = 4, help_heading = "Adapters")]
    pub relay_workers: usize,
    /// Events per relay claim.
    #[arg(long, default_value_t = 2000, help_heading = "Adapters")]
    pub relay_batch: usize,
    /// How long a relay worker waits after a partial batch, in ms.
    #[arg(long, default_value_t = 10, help_heading = "Adapters")]
    pub relay_linger_ms: u64,
    /// Seconds to wait for the relay to drain the outbox after the last order.
    #[arg(long, default_value_t = 120, help_heading = "Adapters")]
    pub drain_timeout_s: u64,
    /// Width of the windows the report splits the run into (by order
    /// arrival) to show latency over time, in ms.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Adapters")]
    pub window_ms: u64,
    /// Write every order's arrival (µs from the run's start) and latency (µs)
    /// to this CSV file.
    #[arg(long, help_heading = "Adapters")]
    pub latency_trace: Option<std::path::PathBuf>,
    /// Keep the run's PostgreSQL schema and Kafka topics (dropped by default).
    #[arg(long, help_heading = "Adapters")]
    pub keep_schema: bool,
    /// The relay producer's `linger.ms`: how long it gathers messages before
    /// a produce request (the relay waits for each round of a batch, so this
    /// is paid once per round).
    #[arg(long, default_value_t = 1, help_heading = "Adapters")]
    pub kafka_linger_ms: u64,
    /// When the real-time path first writes an order: before routing it
    /// (two units of work per order; the order is durable before any partner
    /// is booked) or with its outcome (one unit).
    #[arg(long, value_enum, default_value_t = Intake::BeforeRouting)]
    pub intake_write: Intake,
}

/// `--intake-write`: [`IntakeWrite`] on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Intake {
    /// Commit the validated order before routing, then its outcome.
    BeforeRouting,
    /// Commit the order, all its events and its outcome once, after routing.
    WithOutcome,
}

impl Intake {
    /// The option's value as typed on the command line (`with-outcome`).
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }
}

impl From<Intake> for IntakeWrite {
    fn from(i: Intake) -> Self {
        match i {
            Intake::BeforeRouting => IntakeWrite::BeforeRouting,
            Intake::WithOutcome => IntakeWrite::WithOutcome,
        }
    }
}

/// What one worker thread measured.
struct WorkerReport {
    latency: Histogram<u64>,
    metrics: Metrics,
    failures: BTreeMap<&'static str, u64>,
    gateway: GatewayStats,
    held: u64,
    capacity: u64,
    events: u64,
    elapsed: Duration,
    /// Time this thread was on a CPU during the run (Linux), if known.
    cpu: Option<Duration>,
    orders: u64,
    rejected: u64,
}

/// On-CPU time of the calling thread, from `/proc/thread-self/schedstat`
/// (Linux); what separates the engine's cost from waiting for a shared CPU.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Runs the simulation and prints the report.
pub fn run(args: SimulateArgs) -> Result<()> {
    if args.orders == 0 {
        bail!("--orders must be at least 1");
    }
    if let Some(r) = args.rps
        && !(r.is_finite() && r > 0.0)
    {
        bail!("--rps must be a positive number, got {r}");
    }
    let mut config = ScenarioConfig::new(args.orders, args.seed);
    config.channels = args.channels.max(1);
    config.cities = args.cities.clamp(1, uoom::engine::CITIES.len());
    config.rps = args.rps.unwrap_or(5_000.0);
    config.outage_share = args.outage_share.clamp(0.0, 1.0);
    config.capacity_headroom = args.capacity_headroom.max(0.0);
    let mut scenario = Scenario::generate(&config);
    let orders = std::mem::take(&mut scenario.orders);
    if args.replicas.is_some() {
        return over_replicas(args);
    }
    if args.postgres.is_some() {
        if args.kafka.is_none() {
            bail!("--postgres needs --kafka (or --replicas)");
        }
        return over_adapters(&args, scenario, orders);
    }

    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let threads = args
        .threads
        .unwrap_or(cores)
        .clamp(1, scenario.cities.len());
    // Spread cities over threads by order volume (largest first, to the lightest bin).
    let mut load = vec![0usize; scenario.cities.len()];
    for o in &orders {
        load[o.city] += 1;
    }
    let mut by_load: Vec<usize> = (0..scenario.cities.len()).collect();
    by_load.sort_by_key(|&c| std::cmp::Reverse(load[c]));
    let mut bins: Vec<(usize, Vec<usize>)> = vec![(0, Vec::new()); threads];
    for c in by_load {
        let bin = bins.iter_mut().min_by_key(|b| b.0).expect("threads >= 1");
        bin.0 += load[c];
        bin.1.push(c);
    }

    let progress = if std::io::stderr().is_terminal() && !args.json {
        let pb = ProgressBar::new(args.orders as u64);
        pb.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} orders  {per_sec}  eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb
    } else {
        ProgressBar::hidden()
    };

    // Each thread owns the orders of its cities (no clone on the hot path).
    let mut thread_of = vec![0usize; scenario.cities.len()];
    for (t, (_, cities)) in bins.iter().enumerate() {
        for &c in cities {
            thread_of[c] = t;
        }
    }
    let mut streams: Vec<Vec<SimOrder>> = vec![Vec::new(); threads];
    for o in orders {
        streams[thread_of[o.city]].push(o);
    }
    let scenario = Arc::new(scenario);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = bins
        .into_iter()
        .zip(streams)
        .map(|((_, cities), stream)| {
            let scenario = scenario.clone();
            let barrier = barrier.clone();
            let progress = progress.clone();
            let args = args.clone();
            std::thread::spawn(move || {
                worker(&scenario, &cities, stream, &args, &barrier, &progress)
            })
        })
        .collect();
    let mut reports = Vec::with_capacity(threads);
    for h in handles {
        reports.push(
            h.join()
                .map_err(|_| anyhow::anyhow!("a simulation thread panicked"))??,
        );
    }
    progress.finish_and_clear();
    report(&args, &config, threads, &reports)
}

#[cfg(feature = "adapters")]
fn over_adapters(args: &SimulateArgs, scenario: Scenario, orders: Vec<SimOrder>) -> Result<()> {
    crate::simulate_adapters::run(args, scenario, orders)
}

#[cfg(feature = "adapters")]
fn over_replicas(mut args: SimulateArgs) -> Result<()> {
    if args.pg_restart_cmd.is_none() {
        args.pg_restart_cmd = std::env::var("UOOM_PG_RESTART_CMD").ok();
    }
    crate::replicas::run(&args)
}

#[cfg(not(feature = "adapters"))]
fn over_replicas(_: SimulateArgs) -> Result<()> {
    bail!(
        "this uoom was built without the adapters: rebuild with `cargo build --release -p uoom-cli --features adapters`"
    )
}

#[cfg(not(feature = "adapters"))]
fn over_adapters(_: &SimulateArgs, _: Scenario, _: Vec<SimOrder>) -> Result<()> {
    bail!(
        "this uoom was built without the adapters: rebuild with `cargo build --release -p uoom-cli --features adapters`"
    )
}

fn worker(
    scenario: &Scenario,
    cities: &[usize],
    stream: Vec<SimOrder>,
    args: &SimulateArgs,
    barrier: &Barrier,
    progress: &ProgressBar,
) -> Result<WorkerReport> {
    let start = scenario.config.start;
    let clock = Arc::new(ManualClock::new(start));
    let mut routers: Vec<Option<(Router, Arc<SimGateway>)>> =
        (0..scenario.cities.len()).map(|_| None).collect();
    let mut per_city = vec![0usize; scenario.cities.len()];
    for o in &stream {
        per_city[o.city] += 1;
    }
    for &ci in cities {
        let gateway = Arc::new(scenario.gateway(ci, clock.clone()));
        let store = Arc::new(MemoryStore::with_capacity(per_city[ci]));
        let router = scenario
            .router(ci, clock.clone(), gateway.clone())
            .with_store(store.clone(), store)
            .with_read_model(Arc::new(MemoryReadModel::with_capacity(per_city[ci])))
            .with_batch_window_ms(args.batch_window_ms)
            .with_intake_write(args.intake_write.into())
            .build()
            .context("building a router")?;
        routers[ci] = Some((router, gateway));
    }
    // Requests built on this thread, as a service's would be parsed on its
    // worker: their memory is then freed and reused here, not handed back to
    // the generating thread's heap.
    let stream: Vec<SimOrder> = {
        let local = stream.clone();
        drop(stream);
        local
    };
    let total = stream.len();
    let bodies: Vec<Vec<u8>> = if args.from_json {
        stream
            .iter()
            .map(|o| o.request.to_json().to_string().into_bytes())
            .collect()
    } else {
        Vec::new()
    };
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
    let mut failures: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut queued: Vec<VecDeque<Instant>> = vec![VecDeque::new(); scenario.cities.len()];
    let mut events = 0u64;
    let mut rejected = 0u64;
    let tally = |o: &Outcome, failures: &mut BTreeMap<&'static str, u64>| {
        if let Some(r) = o.failure {
            *failures.entry(r.as_str()).or_default() += 1;
        }
    };

    barrier.wait();
    let cpu_before = thread_cpu();
    let began = Instant::now();
    for (n, o) in stream.into_iter().enumerate() {
        if let Some(rps) = args.rps {
            pace(began, o.at.since(start), rps, scenario.config.rps);
        }
        clock.set(o.at.max(clock.now()));
        let (router, _) = routers[o.city].as_mut().expect("city is on this thread");
        let t0 = Instant::now();
        let submitted = if args.from_json {
            router.submit_json(&bodies[n], None)
        } else {
            router.submit(o.request, None)
        };
        let out = match submitted {
            Ok(out) => out,
            Err(e) if e.kind() == ErrorKind::Validation => {
                // A request the model rejects is an answer too (HTTP 400).
                latency.saturating_record(t0.elapsed().as_nanos() as u64);
                rejected += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if args.batch_window_ms.is_some() {
            queued[o.city].push_back(t0);
            for done in router.poll()? {
                let t = queued[o.city].pop_front().unwrap_or(t0);
                latency.saturating_record(t.elapsed().as_nanos() as u64);
                tally(&done, &mut failures);
            }
        } else {
            latency.saturating_record(t0.elapsed().as_nanos() as u64);
            tally(&out, &mut failures);
        }
        if n % 1024 == 1023 {
            for (r, _) in routers.iter().flatten() {
                events += relay(r.outbox().as_ref());
            }
            progress.inc(1024);
        }
    }
    for &ci in cities {
        let (router, _) = routers[ci].as_mut().expect("built above");
        for done in router.flush()? {
            let t = queued[ci].pop_front().unwrap_or_else(Instant::now);
            latency.saturating_record(t.elapsed().as_nanos() as u64);
            tally(&done, &mut failures);
        }
    }
    let elapsed = began.elapsed();
    let cpu = thread_cpu()
        .zip(cpu_before)
        .map(|(b, a)| b.saturating_sub(a));
    progress.inc((total % 1024) as u64);

    let mut metrics = Metrics::default();
    let mut gateway = GatewayStats::default();
    let (mut held, mut capacity) = (0, 0);
    for &ci in cities {
        let (router, gw) = routers[ci].as_ref().expect("built above");
        metrics.merge(router.metrics());
        let (h, c) = router.capacity_totals();
        held += h;
        capacity += c;
        events += relay(router.outbox().as_ref());
        let s = gw.stats();
        gateway.booked += s.booked;
        gateway.failed += s.failed;
        gateway.timed_out += s.timed_out;
        gateway.cancelled += s.cancelled;
    }
    Ok(WorkerReport {
        latency,
        metrics,
        failures,
        gateway,
        held,
        capacity,
        events,
        elapsed,
        cpu,
        orders: total as u64,
        rejected,
    })
}

/// A sink relay: acknowledges everything in the outbox (as if published),
/// so memory stays flat; returns how many events it took.
fn relay(outbox: &dyn Outbox) -> u64 {
    let n = outbox.depth() as u64;
    let _ = outbox.acknowledge(u64::MAX);
    n
}

/// Waits until the order due `offset_ms` of virtual time into the stream is
/// due in wall time at `rps` (virtual time runs at `virtual_rps`).
fn pace(began: Instant, offset_ms: u64, rps: f64, virtual_rps: f64) {
    pace_until(began + Duration::from_secs_f64(offset_ms as f64 / 1e3 * virtual_rps / rps));
}

/// Sleeps until `due`, then spins the last ~200 µs (a sleep alone overshoots
/// by up to a scheduler tick, which would skew paced latencies).
pub(crate) fn pace_until(due: Instant) {
    loop {
        let now = Instant::now();
        if now >= due {
            return;
        }
        let left = due - now;
        if left > Duration::from_micros(300) {
            std::thread::sleep(left.saturating_sub(Duration::from_micros(200)));
        } else {
            std::hint::spin_loop();
        }
    }
}

fn report(
    args: &SimulateArgs,
    config: &ScenarioConfig,
    threads: usize,
    reports: &[WorkerReport],
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
    let mut metrics = Metrics::default();
    let mut failures: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut gw = GatewayStats::default();
    let (mut held, mut capacity, mut events) = (0u64, 0u64, 0u64);
    let mut wall = Duration::ZERO;
    let mut orders = 0u64;
    let rejected: u64 = reports.iter().map(|r| r.rejected).sum();
    let cpu: Option<Duration> = reports.iter().map(|r| r.cpu).sum();
    for r in reports {
        latency.add(&r.latency)?;
        metrics.merge(&r.metrics);
        for (k, v) in &r.failures {
            *failures.entry(k).or_default() += v;
        }
        gw.booked += r.gateway.booked;
        gw.failed += r.gateway.failed;
        gw.timed_out += r.gateway.timed_out;
        gw.cancelled += r.gateway.cancelled;
        held += r.held;
        capacity += r.capacity;
        events += r.events;
        wall = wall.max(r.elapsed);
        orders += r.orders;
    }
    let us = |q: f64| latency.value_at_quantile(q) as f64 / 1e3;
    let throughput = orders as f64 / wall.as_secs_f64().max(1e-9);
    let cpu_s = cpu.map(|c| c.as_secs_f64());
    // Paced runs spin while waiting for the next order: CPU time says nothing there.
    let per_cpu_s = cpu_s
        .filter(|_| args.rps.is_none())
        .map(|c| (orders as f64 / c.max(1e-9)).round());
    let routed = metrics.routed;
    let unrouted = metrics.unrouted;
    let decided: u64 = metrics.decisions.iter().sum();
    let fallback = metrics.decisions[DecisionKind::Fallback.index()];
    let fallback_share = if decided == 0 {
        0.0
    } else {
        fallback as f64 / decided as f64
    };
    let utilisation = if capacity == 0 {
        0.0
    } else {
        held as f64 / capacity as f64
    };
    let decisions: BTreeMap<&str, u64> = DecisionKind::ALL
        .iter()
        .map(|k| (k.as_str(), metrics.decisions[k.index()]))
        .collect();
    let mode = if args.rps.is_some() {
        "paced"
    } else {
        "flat_out"
    };
    if args.json {
        let v = json!({
            "orders": orders,
            "routed": routed,
            "unrouted": unrouted,
            "rejected": rejected,
            "throughput_per_s": throughput.round(),
            "latency_us": {
                "p50": us(0.50), "p95": us(0.95), "p99": us(0.99),
                "max": latency.max() as f64 / 1e3, "mean": (latency.mean() / 1e3 * 1e3).round() / 1e3,
            },
            "latency_measure": "engine wall time per order, submit to outcome (partner latency is virtual)",
            "fallback_share": fallback_share,
            "compensations": metrics.compensations,
            "breaker_trips": metrics.breaker_trips,
            "utilisation": utilisation,
            "decisions": decisions,
            "failures": failures,
            "partners": {"booked": gw.booked, "failed": gw.failed, "timed_out": gw.timed_out, "cancelled": gw.cancelled},
            "events": events,
            "wall_s": wall.as_secs_f64(),
            "cpu_s": cpu_s,
            "orders_per_cpu_s": per_cpu_s,
            "mode": mode,
            "rps_target": args.rps,
            "threads": threads,
            "seed": config.seed,
            "channels": config.channels,
            "cities": config.cities,
            "input": if args.from_json { "json" } else { "parsed" },
            "batch_window_ms": args.batch_window_ms,
        });
        writeln!(out, "{v}")?;
        return Ok(());
    }
    let pct = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    let pace = match args.rps {
        Some(r) => format!("paced at {r} orders/s"),
        None => "flat out".to_owned(),
    };
    writeln!(
        out,
        "uoom simulate: {orders} orders, {} channels in {} cities, seed {}, {threads} thread(s), {pace}",
        config.channels, config.cities, config.seed
    )?;
    let rows: Vec<(&str, String)> = vec![
        (
            "throughput",
            format!(
                "{throughput:.0} orders/s  ({:.3} s wall)",
                wall.as_secs_f64()
            ),
        ),
        (
            "on-CPU",
            match (cpu_s, per_cpu_s) {
                (Some(c), Some(p)) => {
                    format!("{c:.3} s over {threads} thread(s), {p:.0} orders per CPU-second")
                }
                (Some(c), None) => {
                    format!("{c:.3} s over {threads} thread(s), pacing waits included")
                }
                _ => "unknown on this OS".to_owned(),
            },
        ),
        (
            "engine latency",
            format!(
                "p50 {:.1} µs   p95 {:.1} µs   p99 {:.1} µs   max {:.1} µs",
                us(0.50),
                us(0.95),
                us(0.99),
                latency.max() as f64 / 1e3
            ),
        ),
        (
            "routed",
            format!("{routed}  ({:.2} %)", pct(routed, orders)),
        ),
        (
            "unrouted",
            format!("{unrouted}  ({:.2} %)", pct(unrouted, orders)),
        ),
        (
            "decisions",
            decisions
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(" · "),
        ),
        ("fallback share", format!("{:.2} %", 100.0 * fallback_share)),
        ("compensations", metrics.compensations.to_string()),
        ("breaker trips", metrics.breaker_trips.to_string()),
        (
            "capacity utilisation",
            format!("{:.1} %", 100.0 * utilisation),
        ),
        (
            "partners",
            format!(
                "booked {} · failed {} · timed out {} · cancelled {}",
                gw.booked, gw.failed, gw.timed_out, gw.cancelled
            ),
        ),
        (
            "unrouted because",
            if failures.is_empty() {
                "-".to_owned()
            } else {
                failures
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(" · ")
            },
        ),
        ("events written", events.to_string()),
    ];
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (k, v) in rows {
        writeln!(out, "  {k:<width$}  {v}")?;
    }
    writeln!(
        out,
        "  (latency: engine wall time per order, submit to outcome; partner latency is virtual)"
    )?;
    Ok(())
}

/// How a replica counts capacity (`--ledger`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LedgerMode {
    /// Fenced leases from PostgreSQL, one quota per replica process.
    #[default]
    Leases,
    /// One in-process ledger per city in each replica (overbooks across
    /// replicas: for comparison).
    Local,
}

impl LedgerMode {
    /// Its name on the command line (the replicas run, with the adapters).
    #[cfg_attr(not(feature = "adapters"), allow(dead_code))]
    pub fn name(self) -> &'static str {
        match self {
            LedgerMode::Leases => "leases",
            LedgerMode::Local => "local",
        }
    }
}

/// The default lease TTL of `--replicas` runs: shorter than the default
/// `--pause-ms` (3 s), so a paused replica outlives its leases.
pub const DEFAULT_LEASE_TTL_MS: u64 = 2_000;

/// The default lease headroom of `--replicas` runs, in refresh periods.
pub const DEFAULT_LEASE_HEADROOM: u32 = 4;
