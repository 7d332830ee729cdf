//! `uoom simulate --postgres URL --replicas N`: several replica processes of
//! the engine against one PostgreSQL, sharing one order stream, with faults.
//!
//! The harness plays the load balancer and the clients. It starts `N`
//! processes of `uoom replica` (this binary), each with its own routers and
//! ledgers over the same PostgreSQL schema, and sends them the stream
//! round-robin at `--rps`. A replica reads order numbers on stdin (it
//! regenerates the same seeded scenario, so no order crosses the pipe) and
//! answers one JSON line per order on stdout.
//!
//! Faults, each at a fixed point of the run (`--faults`):
//! - `kill`: SIGKILL of a replica; what it had not answered is sent again,
//!   with the same idempotency key, to another replica (what a client that
//!   retries does), and the replica is started again.
//! - `pause`: SIGSTOP of the replica with the most orders in flight for
//!   `--pause-ms`, then SIGCONT; the load balancer sends it nothing
//!   meanwhile, and what it held completes late (past its leases: refused).
//! - `pg-restart`: `--pg-restart-cmd` (an immediate restart of the server);
//!   an order that fails on the lost connections is sent again, and a
//!   replica whose store stays down exits and is started again.
//!
//! Capacity (`--ledger`): with `leases` (the default) every replica reserves
//! on one `LeasedLedger` shared by its routers, leased from PostgreSQL
//! (`PgLeaseAuthority`, the same schema), and commits each confirmed order's
//! units fenced, in the order's own transaction; a background thread
//! refreshes the leases every quarter of `--lease-ttl-ms`. The harness sets
//! every channel's capacity at the authority (the current slot and the
//! next) before the replicas start. With `local` each replica counts
//! capacity in its own in-process ledgers, as one process would: replicas
//! then overbook, and the audit shows it.
//!
//! Afterwards an audit reads the orders table alone: the `capacity_audit`
//! view (committed units per channel and slot against capacity) and every
//! order the harness saw confirmed.

use crate::simulate::{
    DEFAULT_LEASE_HEADROOM, DEFAULT_LEASE_TTL_MS, Intake, LedgerMode, SimulateArgs,
};
use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uoom::adapters::AdapterRuntime;
use uoom::adapters::postgres::{PgConfig, PgLeaseAuthority, PgLeaseConfig, PgStore};
use uoom::engine::{Metrics, Outbox, Scenario, ScenarioConfig, WriteModel};
use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger};
use uoom::ledger::{DEFAULT_SLOT_MS, Ledger, SlotId};
use uoom::{Clock, ErrorKind, SystemClock};

/// Options of the hidden `uoom replica` command: one replica process.
#[derive(clap::Args, Debug, Clone)]
pub struct ReplicaArgs {
    /// PostgreSQL URL, with the run's schema as `search_path`.
    #[arg(long)]
    pub postgres: String,
    /// This replica's name in reports.
    #[arg(long)]
    pub replica_id: String,
    /// Orders in the scenario (to regenerate the harness's stream).
    #[arg(long)]
    pub orders: usize,
    /// Seed of the scenario.
    #[arg(long)]
    pub seed: u64,
    /// Channels of the scenario.
    #[arg(long)]
    pub channels: usize,
    /// Cities of the scenario.
    #[arg(long)]
    pub cities: usize,
    /// Arrival rate of the scenario.
    #[arg(long)]
    pub rps: f64,
    /// Capacity over demand of the scenario.
    #[arg(long)]
    pub capacity_headroom: f64,
    /// Threads routing orders (the write model's group commit needs
    /// concurrent callers).
    #[arg(long, default_value_t = 32)]
    pub workers: usize,
    /// How capacity is counted.
    #[arg(long, value_enum, default_value_t = LedgerMode::Leases)]
    pub ledger: LedgerMode,
    /// Lease TTL in ms (leases are refreshed every quarter of it).
    #[arg(long, default_value_t = DEFAULT_LEASE_TTL_MS)]
    pub lease_ttl_ms: u64,
    /// Lease headroom in refresh periods.
    #[arg(long, default_value_t = DEFAULT_LEASE_HEADROOM)]
    pub lease_headroom: u32,
    /// When an order is first written.
    #[arg(long, value_enum, default_value_t = Intake::BeforeRouting)]
    pub intake_write: Intake,
}

/// The scenario both sides generate from the same options.
fn scenario_config(
    orders: usize,
    seed: u64,
    channels: usize,
    cities: usize,
    rps: f64,
    headroom: f64,
) -> ScenarioConfig {
    let mut c = ScenarioConfig::new(orders, seed);
    c.channels = channels.max(1);
    c.cities = cities.clamp(1, uoom::engine::CITIES.len());
    c.rps = rps;
    // Partner outages are scheduled on the scenario's virtual time, which a
    // replica on the wall clock never reaches: none.
    c.outage_share = 0.0;
    c.capacity_headroom = headroom.max(0.0);
    c
}

/// One line a replica writes per order.
#[derive(Debug, Deserialize)]
struct Answer {
    seq: usize,
    #[serde(default)]
    order_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    failure: Option<String>,
    #[serde(default)]
    replayed: bool,
    #[serde(default)]
    error: Option<String>,
}

/// Orders in a row that fail on I/O before a replica gives up and exits.
const GIVE_UP_AFTER_IO_ERRORS: u32 = 8;

/// Runs one replica: orders by number on stdin, one JSON answer per line on
/// stdout, then one `{"stats": …}` line when stdin closes.
pub fn run_replica(a: &ReplicaArgs) -> Result<()> {
    let started = Instant::now();
    let config = scenario_config(
        a.orders,
        a.seed,
        a.channels,
        a.cities,
        a.rps,
        a.capacity_headroom,
    );
    let scenario = Arc::new(Scenario::generate(&config));
    let rt = AdapterRuntime::new(2).context("starting the adapters' runtime")?;
    let leased = a.ledger == LedgerMode::Leases;
    let store = Arc::new(
        PgStore::connect_with(
            PgConfig::new(&a.postgres)
                .with_writers(2)
                .with_lease_commits(leased),
            rt.clone(),
        )
        .context("connecting to PostgreSQL")?,
    );
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // One quota per process, under a name of its own per incarnation: a
    // restarted replica's predecessor's holds die with its leases.
    let leases = if leased {
        let authority = Arc::new(
            PgLeaseAuthority::connect_with(PgLeaseConfig::new(&a.postgres), rt)
                .context("connecting the lease authority")?,
        );
        let settings = LeaseSettings::default()
            .with_lease_ttl_ms(a.lease_ttl_ms)
            .with_margin_ms(a.lease_ttl_ms / 10)
            .with_headroom(a.lease_headroom);
        let name = format!("{}-{}", a.replica_id, std::process::id());
        let leases = Arc::new(LeasedLedger::new(name, authority, clock.clone(), settings)?);
        leases.recover().map_err(uoom::Error::from)?;
        let refresher = leases.clone();
        let period = Duration::from_millis((a.lease_ttl_ms / 4).max(1));
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(period);
                if let Err(e) = refresher.refresh() {
                    eprintln!("replica: lease refresh failed: {e}");
                }
            }
        });
        Some(leases)
    } else {
        None
    };
    // One ledger per city in this process, shared by its workers: capacity
    // is counted once per replica.
    let ledgers: Vec<Arc<Ledger>> = (0..scenario.cities.len())
        .map(|_| {
            Ledger::builder(clock.clone())
                .with_slot_ms(15 * 60 * 1000)
                .with_events(false)
                .build()
                .map(Arc::new)
        })
        .collect::<uoom::Result<_>>()?;

    let (to_workers, work) = mpsc::channel::<usize>();
    let work = Arc::new(Mutex::new(work));
    let (answers, to_stdout) = mpsc::channel::<String>();
    let incarnation = u64::from(std::process::id());
    let broken = Arc::new(AtomicU32::new(0));
    let mut workers = Vec::new();
    let (failed, failure) = mpsc::channel::<String>();
    for w in 0..a.workers.max(1) {
        let failed = failed.clone();
        let (scenario, store, clock) = (scenario.clone(), store.clone(), clock.clone());
        let (ledgers, work, answers) = (ledgers.clone(), work.clone(), answers.clone());
        let leases = leases.clone();
        let intake = a.intake_write;
        let broken = broken.clone();
        let seed = a.seed ^ (incarnation << 24) ^ ((w as u64) << 48);
        workers.push(std::thread::spawn(move || -> Result<Metrics> {
            let run = || -> Result<Metrics> {
                let mut routers = Vec::with_capacity(scenario.cities.len());
                for (ci, ledger) in ledgers.iter().enumerate() {
                    let gateway = Arc::new(scenario.gateway(ci, clock.clone()));
                    let builder = scenario
                        .router(ci, clock.clone(), gateway)
                        .with_store(
                            store.clone() as Arc<dyn WriteModel>,
                            store.clone() as Arc<dyn Outbox>,
                        )
                        .with_id_seed(seed ^ (ci as u64).wrapping_mul(0x9e37_79b9))
                        .with_intake_write(intake.into());
                    let builder = match &leases {
                        Some(l) => builder.with_leases(l.clone()),
                        None => builder.with_ledger(ledger.clone()),
                    };
                    routers.push(builder.build().context("building a router")?);
                }
                loop {
                    let next = work.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.recv();
                    let Ok(seq) = next else { break };
                    let Some(o) = scenario.orders.get(seq) else {
                        answers.send(json!({"seq": seq, "error": "no such order"}).to_string())?;
                        continue;
                    };
                    let t0 = Instant::now();
                    let key = format!("sim-{seq}");
                    let line = match routers[o.city].submit(o.request.clone(), Some(&key)) {
                        Ok(out) => json!({
                            "seq": seq,
                            "order_id": out.order_id.to_string(),
                            "status": out.status.as_str(),
                            "channel": out.channel.as_ref().map(|c| c.0.clone()),
                            "failure": out.failure.map(uoom::events::FailureReason::as_str),
                            "replayed": out.replayed,
                            "us": t0.elapsed().as_micros() as u64,
                        }),
                        Err(e) if e.kind() == ErrorKind::Validation => {
                            json!({"seq": seq, "status": "REJECTED", "failure": "validation"})
                        }
                        Err(e) => {
                            // The store's connections do not come back after
                            // the server restarts: a replica that keeps failing
                            // on I/O exits, and is started again on fresh ones.
                            let failing = broken.fetch_add(1, Ordering::SeqCst) + 1;
                            answers.send(
                                json!({"seq": seq, "error": format!("{}", e.chain())}).to_string(),
                            )?;
                            if failing >= GIVE_UP_AFTER_IO_ERRORS {
                                bail!("{failing} orders in a row failed on I/O: {}", e.chain());
                            }
                            continue;
                        }
                    };
                    broken.store(0, Ordering::SeqCst);
                    answers.send(line.to_string())?;
                }
                let mut m = Metrics::default();
                for r in &routers {
                    m.merge(r.metrics());
                }
                Ok(m)
            };
            let result = run();
            if let Err(e) = &result {
                failed.send(format!("{e:#}")).ok();
            }
            result
        }));
    }
    drop(failed);
    // A worker that gives up takes the process down (the harness restarts
    // it), even while the main thread waits on stdin.
    std::thread::spawn(move || {
        if let Ok(why) = failure.recv() {
            eprintln!("replica: {why}; exiting");
            std::process::exit(3);
        }
    });
    drop(answers);
    // Ready goes out before the answers' writer takes stdout's lock for
    // good (after it, this thread would wait for that lock forever).
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{}",
            json!({"ready": true, "startup_ms": started.elapsed().as_secs_f64() * 1e3})
        )?;
        out.flush()?;
    }
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut out = BufWriter::new(std::io::stdout().lock());
        while let Ok(line) = to_stdout.recv() {
            writeln!(out, "{line}")?;
            // Flush when nothing else is queued: answers go out at once
            // under light load and in batches under heavy load.
            while let Ok(more) = to_stdout.try_recv() {
                writeln!(out, "{more}")?;
            }
            out.flush()?;
        }
        out.flush()
    });
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let seq: usize = line.trim().parse().context("an order number on stdin")?;
        to_workers.send(seq)?;
    }
    drop(to_workers);
    let mut metrics = Metrics::default();
    for w in workers {
        metrics.merge(
            &w.join()
                .map_err(|_| anyhow::anyhow!("a replica worker panicked"))??,
        );
    }
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the replica's writer panicked"))??;
    let lease = leases.as_ref().map(|l| l.stats()).unwrap_or_default();
    let stats = json!({"stats": {
        "replica": a.replica_id,
        "routed": metrics.routed,
        "unrouted": metrics.unrouted,
        "ledger": a.ledger.name(),
        "reserves": lease.reserves,
        "served_locally": lease.local,
        "lease_round_trips": lease.lease_round_trips,
        "stale_commits_refused": lease.stale_commits_refused,
        "lost_holds": lease.lost_holds,
        "local_quota_share": leases.as_ref().map(|_| lease.local_quota_share()),
    }});
    let mut out = std::io::stdout().lock();
    writeln!(out, "{stats}")?;
    out.flush()?;
    Ok(())
}

/// A fault of `--faults`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Kill,
    Pause,
    PgRestart,
}

impl Fault {
    fn parse(list: &str) -> Result<Vec<Fault>> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s {
                "kill" => Ok(Fault::Kill),
                "pause" => Ok(Fault::Pause),
                "pg-restart" => Ok(Fault::PgRestart),
                other => bail!("unknown fault {other:?} (kill, pause, pg-restart)"),
            })
            .collect()
    }

    fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Pause => "pause",
            Fault::PgRestart => "pg-restart",
        }
    }
}

/// What a replica's stdout reader reports to the harness.
enum Event {
    Ready {
        replica: usize,
        at: Instant,
    },
    Answer {
        replica: usize,
        answer: Answer,
        at: Instant,
    },
    Stats {
        replica: usize,
        stats: Value,
    },
    Exited {
        replica: usize,
        incarnation: u32,
    },
}

/// One replica as the harness sees it.
struct Replica {
    child: Child,
    stdin: Option<BufWriter<ChildStdin>>,
    incarnation: u32,
    spawned: Instant,
    ready: Option<Instant>,
    first_answer: Option<Instant>,
    paused_until: Option<Instant>,
    /// Killed or exited (a new incarnation takes its place).
    gone: bool,
    /// Orders sent and not answered yet.
    holding: Vec<usize>,
    latency: Histogram<u64>,
    answered: u64,
    first_sent: Option<Instant>,
    last_answer: Option<Instant>,
    stats: Option<Value>,
}

/// How each order ended, as the harness saw it.
#[derive(Debug, Clone, Default)]
struct Seen {
    order_id: Option<String>,
    status: Option<String>,
    failure: Option<String>,
}

struct Harness {
    args: SimulateArgs,
    exe: std::path::PathBuf,
    url: String,
    replicas: Vec<Replica>,
    events: mpsc::Sender<Event>,
    next: usize,
    restarts: Vec<Value>,
}

impl Harness {
    fn spawn(&self, index: usize, incarnation: u32, headroom: f64) -> Result<Replica> {
        let a = &self.args;
        let mut child = Command::new(&self.exe)
            .arg("replica")
            .args(["--postgres", &self.url])
            .args(["--replica-id", &format!("r{index}")])
            .args(["--orders", &a.orders.to_string()])
            .args(["--seed", &a.seed.to_string()])
            .args(["--channels", &a.channels.to_string()])
            .args(["--cities", &a.cities.to_string()])
            .args(["--rps", &a.rps.unwrap_or(DEFAULT_RPS).to_string()])
            .args(["--capacity-headroom", &headroom.to_string()])
            .args(["--ledger", a.ledger.name()])
            .args(["--lease-ttl-ms", &a.lease_ttl_ms.to_string()])
            .args(["--lease-headroom", &a.lease_headroom.to_string()])
            .args(["--intake-write", &a.intake_write.name()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting a replica process")?;
        let stdout = child.stdout.take().context("the replica's stdout")?;
        let stdin = child.stdin.take().map(BufWriter::new);
        let events = self.events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let at = Instant::now();
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    eprintln!("replica r{index}: {line}");
                    continue;
                };
                let event = if v.get("ready").is_some() {
                    Event::Ready { replica: index, at }
                } else if let Some(stats) = v.get("stats") {
                    Event::Stats {
                        replica: index,
                        stats: stats.clone(),
                    }
                } else {
                    match serde_json::from_value::<Answer>(v) {
                        Ok(answer) => Event::Answer {
                            replica: index,
                            answer,
                            at,
                        },
                        Err(_) => continue,
                    }
                };
                if events.send(event).is_err() {
                    break;
                }
            }
            let _ = events.send(Event::Exited {
                replica: index,
                incarnation,
            });
        });
        Ok(Replica {
            child,
            stdin,
            incarnation,
            spawned: Instant::now(),
            ready: None,
            first_answer: None,
            paused_until: None,
            gone: false,
            holding: Vec::new(),
            latency: Histogram::new_with_bounds(1, 600_000_000, 3)?,
            answered: 0,
            first_sent: None,
            last_answer: None,
            stats: None,
        })
    }

    /// The next replica a load balancer would pick: round-robin over those
    /// running and not paused.
    fn pick(&mut self) -> Option<usize> {
        let n = self.replicas.len();
        for _ in 0..n {
            let i = self.next % n;
            self.next += 1;
            let r = &self.replicas[i];
            if r.paused_until.is_none() && r.stdin.is_some() && r.ready.is_some() {
                return Some(i);
            }
        }
        None
    }

    fn send(&mut self, i: usize, seq: usize) -> bool {
        let r = &mut self.replicas[i];
        let Some(stdin) = r.stdin.as_mut() else {
            return false;
        };
        if writeln!(stdin, "{seq}")
            .and_then(|()| stdin.flush())
            .is_err()
        {
            r.stdin = None;
            return false;
        }
        r.first_sent.get_or_insert_with(Instant::now);
        r.holding.push(seq);
        true
    }
}

const DEFAULT_RPS: f64 = 1_000.0;

/// Orders in flight the `pause` fault waits for on some replica.
const PAUSE_IN_FLIGHT: usize = 3;

/// Runs the multi-replica simulation and prints its report.
pub fn run(args: &SimulateArgs) -> Result<()> {
    let Some(pg_url) = args.postgres.as_deref() else {
        bail!("--replicas needs --postgres");
    };
    let n = usize::try_from(args.replicas.unwrap_or(1).max(1)).unwrap_or(1);
    let faults = Fault::parse(args.faults.as_deref().unwrap_or(""))?;
    if faults.contains(&Fault::PgRestart) && args.pg_restart_cmd.is_none() {
        bail!(
            "--faults pg-restart needs --pg-restart-cmd (or UOOM_PG_RESTART_CMD): the command that restarts the server"
        );
    }
    let rps = args.rps.unwrap_or(DEFAULT_RPS);
    // Scarce by default: some channels see more demand than capacity.
    let headroom = args.capacity_headroom.min(0.9);

    let rt = AdapterRuntime::new(1).context("starting the adapters' runtime")?;
    let schema = format!("uoom_rep_{}_{}", std::process::id(), args.seed);
    PgStore::connect_with(
        PgConfig::new(pg_url).with_writers(1).with_readers(1),
        rt.clone(),
    )
    .context("connecting to PostgreSQL")?
    .execute_batch(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))?;
    let sep = if pg_url.contains('?') { '&' } else { '?' };
    let url = format!("{pg_url}{sep}options=-csearch_path%3D{schema}");
    PgStore::connect_with(PgConfig::new(&url).with_writers(1), rt.clone())?
        .migrate()
        .context("applying the migrations")?;

    set_capacities(args, &url, headroom, rt.clone())?;

    let (events, inbox) = mpsc::channel();
    let mut h = Harness {
        args: args.clone(),
        exe: std::env::current_exe().context("locating the uoom binary")?,
        url: url.clone(),
        replicas: Vec::new(),
        events,
        next: 0,
        restarts: Vec::new(),
    };
    for i in 0..n {
        let r = h.spawn(i, 0, headroom)?;
        h.replicas.push(r);
    }
    // Every replica ready before the stream starts.
    let deadline = Instant::now() + Duration::from_secs(60);
    while h.replicas.iter().any(|r| r.ready.is_none()) {
        match inbox.recv_timeout(Duration::from_millis(100)) {
            Ok(Event::Ready { replica, at }) => h.replicas[replica].ready = Some(at),
            Ok(Event::Exited { replica, .. }) => bail!("replica r{replica} exited at start"),
            Ok(_) | Err(_) => {}
        }
        if Instant::now() > deadline {
            bail!("the replicas did not start within 60 s");
        }
    }

    let total = args.orders;
    let run_for = Duration::from_secs_f64(total as f64 / rps);
    let began = Instant::now();
    // Faults at fixed points of the stream, on different replicas.
    let mut schedule: VecDeque<(Instant, Fault, usize)> = faults
        .iter()
        .enumerate()
        .map(|(k, &f)| {
            let at = match f {
                Fault::Kill => 0.25,
                Fault::Pause => 0.45,
                Fault::PgRestart => 0.65,
            };
            (began + run_for.mul_f64(at), f, k % n)
        })
        .collect();
    schedule.make_contiguous().sort_by_key(|s| s.0);
    let pause = Duration::from_millis(args.pause_ms);
    let mut fault_log: Vec<Value> = Vec::new();
    let mut seen: Vec<Seen> = vec![Seen::default(); total];
    let mut answered = vec![false; total];
    let mut retry: VecDeque<(Instant, usize)> = VecDeque::new();
    let mut sent = 0usize;
    let mut done = 0usize;
    let mut errors_retried = 0u64;
    let mut replayed = 0u64;
    let mut restart_pending: Vec<(usize, Instant)> = Vec::new();
    let give_up_at = began + run_for + Duration::from_secs(120);
    let restart_cmd = args.pg_restart_cmd.clone();
    let mut pg_restart: Option<std::thread::JoinHandle<Result<Duration>>> = None;

    while done < total {
        let now = Instant::now();
        if now > give_up_at {
            break;
        }
        // The stream, paced by arrival.
        while sent < total && began + Duration::from_secs_f64(sent as f64 / rps) <= now {
            let Some(i) = h.pick() else { break };
            if h.send(i, sent) {
                sent += 1;
            }
        }
        while retry.front().is_some_and(|r| r.0 <= now) {
            let (_, seq) = retry.pop_front().expect("checked");
            if answered[seq] {
                continue;
            }
            match h.pick() {
                Some(i) if h.send(i, seq) => {}
                _ => retry.push_back((now + Duration::from_millis(50), seq)),
            }
        }
        // Faults.
        while schedule.front().is_some_and(|s| s.0 <= now) {
            let (due, fault, i) = schedule.pop_front().expect("checked");
            // A pause waits (up to a second) for a replica with a few
            // orders in flight: one that catches nothing proves nothing.
            let busiest = h
                .replicas
                .iter()
                .map(|r| r.holding.len())
                .max()
                .unwrap_or(0);
            if fault == Fault::Pause
                && busiest < PAUSE_IN_FLIGHT
                && now < due + Duration::from_secs(1)
            {
                schedule.push_front((due, fault, i));
                break;
            }
            let at_ms = now.duration_since(began).as_secs_f64() * 1e3;
            match fault {
                Fault::Kill => {
                    let r = &mut h.replicas[i];
                    let pid = r.child.id();
                    r.child.kill().ok();
                    r.child.wait().ok();
                    r.stdin = None;
                    r.gone = true;
                    for seq in std::mem::take(&mut r.holding) {
                        retry.push_back((now, seq));
                    }
                    fault_log.push(json!({"fault": fault.name(), "replica": format!("r{i}"), "pid": pid, "at_ms": at_ms}));
                    restart_pending.push((i, now));
                }
                Fault::Pause => {
                    // The busiest replica: a pause that catches commits in
                    // flight is the one the fence must stop.
                    let i = (0..n)
                        .filter(|&j| {
                            h.replicas[j].stdin.is_some() && h.replicas[j].paused_until.is_none()
                        })
                        .max_by_key(|&j| (h.replicas[j].holding.len(), j == i))
                        .unwrap_or(i);
                    let r = &mut h.replicas[i];
                    signal(&r.child, libc::SIGSTOP)?;
                    r.paused_until = Some(now + pause);
                    fault_log.push(json!({"fault": fault.name(), "replica": format!("r{i}"),
                        "at_ms": at_ms, "for_ms": pause.as_millis() as u64,
                        "in_flight": r.holding.len()}));
                }
                Fault::PgRestart => {
                    let cmd = restart_cmd.clone().expect("checked at start");
                    fault_log.push(json!({"fault": fault.name(), "at_ms": at_ms, "command": cmd}));
                    pg_restart = Some(std::thread::spawn(move || {
                        let t = Instant::now();
                        let status = Command::new("sh").args(["-c", &cmd]).status()?;
                        if !status.success() {
                            bail!("{cmd:?} failed: {status}");
                        }
                        Ok(t.elapsed())
                    }));
                }
            }
        }
        for r in &mut h.replicas {
            if r.paused_until.is_some_and(|t| t <= now) {
                signal(&r.child, libc::SIGCONT)?;
                r.paused_until = None;
            }
        }
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut restart_pending)
            .into_iter()
            .partition(|&(_, at)| at <= now);
        restart_pending = later;
        for (i, _) in due {
            let inc = h.replicas[i].incarnation + 1;
            let fresh = h.spawn(i, inc, headroom)?;
            let old = std::mem::replace(&mut h.replicas[i], fresh);
            h.replicas[i].latency = old.latency;
            h.replicas[i].answered = old.answered;
            h.replicas[i].first_sent = old.first_sent;
            h.replicas[i].last_answer = old.last_answer;
        }
        // Answers.
        let wait = Duration::from_millis(1);
        let Ok(event) = inbox.recv_timeout(wait) else {
            continue;
        };
        let mut pending = vec![event];
        while let Ok(e) = inbox.try_recv() {
            pending.push(e);
        }
        for event in pending {
            match event {
                Event::Ready { replica, at } => {
                    let r = &mut h.replicas[replica];
                    r.ready = Some(at);
                }
                Event::Answer {
                    replica,
                    answer,
                    at,
                } => {
                    let r = &mut h.replicas[replica];
                    r.holding.retain(|&s| s != answer.seq);
                    if r.first_answer.is_none() {
                        r.first_answer = Some(at);
                        if r.incarnation > 0 {
                            h.restarts.push(json!({
                                "replica": format!("r{replica}"),
                                "first_order_ms": at.duration_since(r.spawned).as_secs_f64() * 1e3,
                                "ready_ms": r.ready.map(|t| t.duration_since(r.spawned).as_secs_f64() * 1e3),
                            }));
                        }
                    }
                    let seq = answer.seq;
                    if seq >= total || answered[seq] {
                        continue;
                    }
                    if answer.error.is_some() {
                        // As a client would: the same key again, a little
                        // later, until the run's deadline.
                        errors_retried += 1;
                        retry.push_back((at + Duration::from_millis(250), seq));
                        continue;
                    }
                    answered[seq] = true;
                    done += 1;
                    let arrival = began + Duration::from_secs_f64(seq as f64 / rps);
                    let r = &mut h.replicas[replica];
                    r.latency
                        .saturating_record(at.saturating_duration_since(arrival).as_micros() as u64);
                    r.answered += 1;
                    r.last_answer = Some(at);
                    replayed += u64::from(answer.replayed);
                    seen[seq] = Seen {
                        order_id: answer.order_id,
                        status: answer.status,
                        failure: answer.failure,
                    };
                }
                Event::Stats { replica, stats } => h.replicas[replica].stats = Some(stats),
                Event::Exited {
                    replica,
                    incarnation,
                } => {
                    let r = &mut h.replicas[replica];
                    if r.incarnation != incarnation || r.gone {
                        continue;
                    }
                    r.gone = true;
                    // It died by itself (its store gave up): what it held
                    // goes elsewhere and it is started again.
                    r.stdin = None;
                    r.child.wait().ok();
                    let now = Instant::now();
                    for seq in std::mem::take(&mut r.holding) {
                        retry.push_back((now, seq));
                    }
                    fault_log.push(json!({"exited": format!("r{replica}"),
                        "at_ms": now.duration_since(began).as_secs_f64() * 1e3}));
                    // One that dies at once (the server still down) waits a little.
                    let soon = now.duration_since(r.spawned) < Duration::from_secs(1);
                    let at = if soon {
                        now + Duration::from_millis(500)
                    } else {
                        now
                    };
                    restart_pending.push((replica, at));
                }
            }
        }
    }
    let wall = began.elapsed();
    let pg_restart_ms = match pg_restart {
        Some(t) => Some(
            t.join()
                .map_err(|_| anyhow::anyhow!("the restart thread panicked"))??
                .as_secs_f64()
                * 1e3,
        ),
        None => None,
    };
    // Close every replica's stdin: each prints its stats and exits.
    for r in &mut h.replicas {
        if r.paused_until.take().is_some() {
            signal(&r.child, libc::SIGCONT)?;
        }
        r.stdin = None;
    }
    let stop_by = Instant::now() + Duration::from_secs(30);
    while h.replicas.iter().any(|r| r.stats.is_none()) && Instant::now() < stop_by {
        if let Ok(Event::Stats { replica, stats }) = inbox.recv_timeout(Duration::from_millis(100))
        {
            h.replicas[replica].stats = Some(stats);
        }
    }
    for r in &mut h.replicas {
        r.child.wait().ok();
    }

    let audit = audit(&url, &seen)?;
    if !args.keep_schema {
        // A new connection: the server may have restarted since the first.
        PgStore::connect_with(PgConfig::new(pg_url).with_writers(1).with_readers(1), rt)?
            .execute_batch(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))?;
    }
    let mut failed_by_reason: BTreeMap<String, u64> = BTreeMap::new();
    let mut confirmed = 0u64;
    for s in &seen {
        match s.status.as_deref() {
            Some("CONFIRMED") => confirmed += 1,
            // An order whose replica died between its first write and its
            // outcome replays that first write's status (`VALIDATED`) to
            // a retry with its key: in doubt, not routed.
            status => {
                let why = match (&s.failure, status) {
                    (Some(f), _) => f.clone(),
                    (None, Some(st)) => format!("in_doubt_{}", st.to_lowercase()),
                    (None, None) => "unanswered".to_owned(),
                };
                *failed_by_reason.entry(why).or_default() += 1;
            }
        }
    }
    let per_replica: Vec<Value> = h
        .replicas
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let active = r
                .first_sent
                .zip(r.last_answer)
                .map_or(0.0, |(a, b)| b.duration_since(a).as_secs_f64());
            json!({
                "replica": format!("r{i}"),
                "orders": r.answered,
                "throughput_per_s": if active > 0.0 { r.answered as f64 / active } else { 0.0 },
                "latency_ms": {
                    "p50": r.latency.value_at_quantile(0.5) as f64 / 1e3,
                    "p99": r.latency.value_at_quantile(0.99) as f64 / 1e3,
                    "max": r.latency.max() as f64 / 1e3,
                },
                "restarts": r.incarnation,
                "stats": r.stats,
            })
        })
        .collect();
    let sum_stat = |k: &str| -> u64 {
        h.replicas
            .iter()
            .filter_map(|r| r.stats.as_ref()?.get(k)?.as_u64())
            .sum()
    };
    let round_trips = sum_stat("lease_round_trips");
    let reserves = sum_stat("reserves");
    let served_locally = sum_stat("served_locally");
    let leased = args.ledger == LedgerMode::Leases;
    let report = json!({
        "orders": total,
        "replicas": n,
        "rps_target": rps,
        "wall_s": wall.as_secs_f64(),
        "throughput_per_s": done as f64 / wall.as_secs_f64(),
        "confirmed": confirmed,
        "failed_by_reason": failed_by_reason,
        "overbooked_slots": audit.overbooked_slots,
        "lost_confirmed": audit.lost_confirmed,
        "stale_commits_refused": failed_by_reason.get("stale_lease").copied().unwrap_or(0),
        "stale_commits_fenced_by_postgres": sum_stat("stale_commits_refused"),
        "lease_round_trips": round_trips,
        "lease_round_trips_per_s": round_trips as f64 / wall.as_secs_f64(),
        "lease_round_trips_per_100_orders": if total > 0 { round_trips as f64 * 100.0 / total as f64 } else { 0.0 },
        "local_quota_share": leased.then(|| if reserves > 0 { served_locally as f64 / reserves as f64 } else { 0.0 }),
        "ledger": args.ledger.name(),
        "lease_ttl_ms": leased.then_some(args.lease_ttl_ms),
        "errors_retried": errors_retried,
        "replayed": replayed,
        "unanswered": total - done,
        "faults": fault_log,
        "pg_restart_ms": pg_restart_ms,
        "restarts": h.restarts,
        "per_replica": per_replica,
        "capacity_headroom": headroom,
        "schema": schema,
        "schema_kept": args.keep_schema,
    });
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{report}")?;
    } else {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    }
    Ok(())
}

/// Every channel's capacity at the authority, for the current slot and the
/// next (a run may cross a slot's end): what the leases split between the
/// replicas, and what `capacity_audit` checks the orders against.
fn set_capacities(args: &SimulateArgs, url: &str, headroom: f64, rt: AdapterRuntime) -> Result<()> {
    let config = scenario_config(
        args.orders,
        args.seed,
        args.channels,
        args.cities,
        args.rps.unwrap_or(DEFAULT_RPS),
        headroom,
    );
    let scenario = Scenario::generate(&config);
    let authority = PgLeaseAuthority::connect_with(PgLeaseConfig::new(url), rt)
        .context("connecting the lease authority")?;
    let now = SystemClock.now().0 / DEFAULT_SLOT_MS;
    let slot = u32::try_from(now).context("a slot number")?;
    for city in &scenario.cities {
        for c in &city.channels {
            for s in [slot, slot + 1] {
                authority
                    .set_capacity(&c.id, SlotId(s), c.capacity)
                    .map_err(uoom::Error::from)?;
            }
        }
    }
    Ok(())
}

fn signal(child: &Child, sig: libc::c_int) -> Result<()> {
    let pid = libc::pid_t::try_from(child.id()).context("a process id")?;
    // SAFETY: kill(2) with the pid of a child this process started and has
    // not reaped yet.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, sig) };
    if rc != 0 {
        bail!(
            "signal {sig} to replica {pid}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// What the orders table says, independently of the ledgers.
struct Audit {
    overbooked_slots: Option<i64>,
    lost_confirmed: i64,
}

fn audit(url: &str, seen: &[Seen]) -> Result<Audit> {
    let confirmed: Vec<uuid::Uuid> = seen
        .iter()
        .filter(|s| s.status.as_deref() == Some("CONFIRMED"))
        .filter_map(|s| s.order_id.as_deref()?.parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .context("connecting for the audit")?;
        tokio::spawn(conn);
        let has_view: bool = client
            .query_one("SELECT to_regclass('capacity_audit') IS NOT NULL", &[])
            .await?
            .get(0);
        let overbooked_slots = if has_view {
            Some(
                client
                    .query_one(
                        "SELECT count(*) FROM capacity_audit WHERE committed_units > capacity",
                        &[],
                    )
                    .await?
                    .get::<_, i64>(0),
            )
        } else {
            None
        };
        let lost_confirmed: i64 = client
            .query_one(
                "SELECT count(*) FROM unnest($1::uuid[]) AS c(id) WHERE NOT EXISTS (
                   SELECT 1 FROM orders o WHERE o.id = c.id
                   AND o.status IN ('CONFIRMED', 'PREPARING', 'OUT_FOR_DELIVERY', 'DELIVERED'))",
                &[&confirmed],
            )
            .await?
            .get(0);
        Ok(Audit {
            overbooked_slots,
            lost_confirmed,
        })
    })
}
