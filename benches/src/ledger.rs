//! `uoom-bench ledger`: reserve + commit pairs per second.
//!
//! Each worker thread loops `reserve_on` (1 unit) then `commit` with fresh
//! ids. `--mode distinct` gives every thread its own channel (the scaling
//! case); `--mode contended` makes all threads hit one account. `--ids`
//! picks time-ordered (UUIDv7, what the engine makes) or random (v4) ids,
//! both from the engine's `IdGen`.

use crate::stats::{Machine, machine, thread_cpu_ns};
use clap::{Args as ClapArgs, ValueEnum};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uoom::engine::IdGen;
use uoom::ledger::{Ledger, ReservationId, SlotId};
use uoom::{ChannelId, Clock, Millis, SystemClock};

/// How threads share accounts.
#[derive(Debug, Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One channel per thread.
    Distinct,
    /// Every thread on the same account.
    Contended,
}

/// Which entry point the loop uses.
#[derive(Debug, Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// `reserve_on` with a resolved `AccountHandle` (the fast path).
    Handle,
    /// `reserve` with `(&ChannelId, SlotId)` (an index lookup per call).
    Key,
}

/// How reservation ids are made.
#[derive(Debug, Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ids {
    /// Time-ordered UUIDv7 (`IdGen::uuid_v7`, one clock read per 1,024 ids).
    V7,
    /// Random v4-shaped UUIDs (`IdGen::uuid`).
    Random,
}

/// Which clock the ledger reads (twice per pair: once in `reserve_on`,
/// once in `commit`).
#[derive(Debug, Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    /// `SystemClock` (`CLOCK_REALTIME`, ms).
    System,
    /// `CLOCK_REALTIME_COARSE`: the kernel's last tick (1-4 ms steps), no
    /// TSC read; what a deployment that reads the clock millions of times a
    /// second may choose.
    Coarse,
}

/// A clock reading `CLOCK_REALTIME_COARSE`.
struct CoarseClock;

impl Clock for CoarseClock {
    fn now(&self) -> Millis {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime only writes into the timespec we own; the clock id is valid on Linux.
        #[allow(unsafe_code, reason = "clock_gettime has no safe wrapper in std")]
        unsafe {
            libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &raw mut ts)
        };
        Millis(ts.tv_sec as u64 * 1_000 + ts.tv_nsec as u64 / 1_000_000)
    }
}

/// Options of `uoom-bench ledger`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// How long to run, seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Account sharing between threads.
    #[arg(long, value_enum, default_value_t = Mode::Distinct)]
    mode: Mode,
    /// Entry point.
    #[arg(long, value_enum, default_value_t = Api::Handle)]
    api: Api,
    /// Record events (drained by each worker every 65 536 pairs).
    #[arg(long)]
    events: bool,
    /// Reservation TTL, ms.
    #[arg(long, default_value_t = 30_000)]
    ttl_ms: u64,
    /// How long finished reservations are kept for idempotent repeats, ms
    /// (default: the ledger's default, 24 h).
    #[arg(long, default_value_t = uoom::ledger::DEFAULT_RETENTION_MS)]
    retention_ms: u64,
    /// Id kind.
    #[arg(long, value_enum, default_value_t = Ids::V7)]
    ids: Ids,
    /// Clock the ledger reads.
    #[arg(long, value_enum, default_value_t = ClockKind::System)]
    clock: ClockKind,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    mode: Mode,
    api: Api,
    threads: usize,
    events: bool,
    ttl_ms: u64,
    retention_ms: u64,
    ids: Ids,
    clock: ClockKind,
    seconds: f64,
    /// Resident set size at the end (bytes), from /proc/self/statm.
    rss_bytes: Option<u64>,
    pairs: u64,
    ops_per_s: f64,
    per_thread_ops_per_s: Vec<f64>,
    /// Pairs per second of CPU time actually given to each worker thread
    /// (the rate a dedicated core would see, modulo cache pollution).
    per_thread_ops_per_cpu_s: Vec<f64>,
    /// Sum over threads of pairs per CPU-second: the throughput if every
    /// worker had a core of its own.
    ops_per_cpu_s: f64,
    ns_per_pair: f64,
    machine: Machine,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    anyhow::ensure!(a.threads >= 1, "--threads must be at least 1");
    anyhow::ensure!(a.seconds > 0.0, "--seconds must be > 0");
    let machine = machine();
    let ledger = Arc::new(
        Ledger::builder(match a.clock {
            ClockKind::System => Arc::new(SystemClock) as Arc<dyn Clock>,
            ClockKind::Coarse => Arc::new(CoarseClock),
        })
        .with_events(a.events)
        .with_retention_ms(a.retention_ms)
        .build()?,
    );
    let slot = SlotId(0);
    let channels: Vec<ChannelId> = (0..a.threads)
        .map(|t| match a.mode {
            Mode::Distinct => ChannelId::from(format!("bench-{t}")),
            Mode::Contended => ChannelId::from("bench-shared"),
        })
        .collect();
    for c in &channels {
        ledger.set_capacity(c, slot, u32::MAX)?;
    }
    let run_for = Duration::from_secs_f64(a.seconds);
    let barrier = Arc::new(std::sync::Barrier::new(a.threads));
    let workers: Vec<_> = channels
        .into_iter()
        .enumerate()
        .map(|(t, channel)| {
            let (ledger, barrier) = (ledger.clone(), barrier.clone());
            let (api, events, ttl, ids) = (a.api, a.events, a.ttl_ms, a.ids);
            std::thread::spawn(move || -> anyhow::Result<(u64, f64, f64)> {
                let h = ledger.account(&channel, slot)?;
                // One lane per thread, as one router per thread has (IdGen::with_lane).
                let mut idgen = IdGen::seeded(0x001e_d6e7 + t as u64).with_lane(t as u8);
                barrier.wait();
                let start = Instant::now();
                let cpu0 = thread_cpu_ns();
                let mut n: u64 = 0;
                loop {
                    let now = ledger.now();
                    for _ in 0..1024 {
                        let id = ReservationId(match ids {
                            Ids::V7 => idgen.uuid_v7(now).as_u128(),
                            Ids::Random => idgen.uuid().as_u128(),
                        });
                        match api {
                            Api::Handle => ledger.reserve_on(id, &h, 1, ttl)?,
                            Api::Key => ledger.reserve(id, &channel, slot, 1, ttl)?,
                        };
                        ledger.commit(id, None)?;
                        n += 1;
                    }
                    if events && n.is_multiple_of(65_536) {
                        std::hint::black_box(ledger.drain_events());
                    }
                    if start.elapsed() >= run_for {
                        let cpu = (thread_cpu_ns() - cpu0) as f64 / 1e9;
                        return Ok((n, start.elapsed().as_secs_f64(), cpu));
                    }
                }
            })
        })
        .collect();
    let mut pairs = 0;
    let mut per_thread = Vec::new();
    let mut per_thread_cpu = Vec::new();
    let mut longest: f64 = 0.0;
    for w in workers {
        let (n, secs, cpu) = w.join().map_err(|_| anyhow::anyhow!("worker panicked"))??;
        pairs += n;
        per_thread.push(n as f64 / secs);
        per_thread_cpu.push(n as f64 / cpu.max(1e-9));
        longest = longest.max(secs);
    }
    let ops_per_s = pairs as f64 / longest;
    let report = Report {
        bench: "ledger",
        mode: a.mode,
        api: a.api,
        threads: a.threads,
        events: a.events,
        ttl_ms: a.ttl_ms,
        retention_ms: a.retention_ms,
        ids: a.ids,
        clock: a.clock,
        seconds: longest,
        rss_bytes: rss_bytes(),
        pairs,
        ops_per_s,
        per_thread_ops_per_s: per_thread,
        ops_per_cpu_s: per_thread_cpu.iter().sum(),
        per_thread_ops_per_cpu_s: per_thread_cpu,
        ns_per_pair: 1e9 / ops_per_s * a.threads as f64,
        machine,
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "ledger {:?} x{} ({:?} api, {:?} ids, retention {} ms, events {}): {:.0} reserve+commit pairs/s over {:.2}s ({:.0} per CPU-second)",
            report.mode,
            report.threads,
            report.api,
            report.ids,
            report.retention_ms,
            report.events,
            report.ops_per_s,
            report.seconds,
            report.ops_per_cpu_s
        );
    }
    Ok(())
}

/// Resident memory of this process (Linux), to show what a retention window costs.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
