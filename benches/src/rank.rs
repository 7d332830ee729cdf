//! `uoom-bench rank`: latency of one filtered, weighted top-k query.
//!
//! A seeded world of N channels spread over a 55 km × 60 km metro area
//! (radius 3–12 km, random vehicles, capacity, quality; 5 % degraded, 2 %
//! down, 2 % with an open breaker) and random orders in the same area. Each
//! query is timed alone with `top_k_into` (no allocation). With `--redis`,
//! the same world is loaded into Redis sorted sets and the same queries run
//! as today's pipeline (GEOSEARCHSTORE + ZRANGESTORE + ZINTERSTORE with
//! WEIGHTS + ZREVRANGE, one round trip) in the same process and run.

use crate::stats::{Latency, Machine, latency, machine, thread_cpu_ns};
use clap::Args as ClapArgs;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;
use uoom::rank::{RankQuery, Ranker};
use uoom::{Channel, ChannelKind, GeoPoint, Health, ManualClock, Millis, Vehicle};

/// Options of `uoom-bench rank`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Number of channels.
    #[arg(long, default_value_t = 1_000)]
    channels: usize,
    /// Number of timed queries (after a warm-up of a tenth as many).
    #[arg(long, default_value_t = 100_000)]
    queries: usize,
    /// How many to return.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Seed of the world and the queries.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Also run the query through Redis at HOST:PORT.
    #[arg(long)]
    redis: Option<String>,
    /// Number of timed Redis queries.
    #[arg(long, default_value_t = 5_000)]
    redis_queries: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    channels: usize,
    k: usize,
    queries: usize,
    seed: u64,
    p50_us: f64,
    p99_us: f64,
    latency: Latency,
    /// Thread CPU time per query (preemption excluded), same queries, a second pass.
    cpu_p50_us: f64,
    cpu_p99_us: f64,
    cpu: Latency,
    /// Median of an empty CPU-clock interval (included in the cpu figures).
    cpu_clock_overhead_us: f64,
    mean_eligible: f64,
    mean_returned: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis_p50_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis_p99_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis: Option<Latency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis_version: Option<String>,
    machine: Machine,
}

/// One channel of the world with the signals the ranker and Redis both get.
struct World {
    channels: Vec<Channel>,
    available: Vec<u32>,
    capacity: Vec<u32>,
    health: Vec<Health>,
    breaker: Vec<bool>,
}

const LAT: (f64, f64) = (24.50, 25.00);
const LON: (f64, f64) = (46.40, 47.00);
const MAX_RADIUS_KM: f64 = 12.0;

fn world(n: usize, rng: &mut SmallRng) -> anyhow::Result<World> {
    let mut w = World {
        channels: Vec::with_capacity(n),
        available: Vec::with_capacity(n),
        capacity: Vec::with_capacity(n),
        health: Vec::with_capacity(n),
        breaker: Vec::with_capacity(n),
    };
    for i in 0..n {
        let mut vehicles: Vec<Vehicle> = Vehicle::ALL
            .into_iter()
            .filter(|_| rng.random_bool(0.5))
            .collect();
        if vehicles.is_empty() {
            vehicles.push(Vehicle::Bike);
        }
        let c = Channel::builder(
            format!("c{i}"),
            ChannelKind::DarkStore,
            GeoPoint::new(
                rng.random_range(LAT.0..LAT.1),
                rng.random_range(LON.0..LON.1),
            ),
        )
        .with_radius_km(rng.random_range(3.0..MAX_RADIUS_KM))
        .with_vehicles(vehicles)
        .with_cost(rng.random_range(0.5..4.0), rng.random_range(0.2..1.5))
        .with_prep_min(rng.random_range(5.0..20.0))
        .with_speed_kmh(rng.random_range(15.0..40.0))
        .with_quality(rng.random_range(0.5..1.0))
        .build()?;
        let cap = rng.random_range(10..100);
        w.capacity.push(cap);
        w.available.push(rng.random_range(0..=cap));
        let h = rng.random::<f64>();
        w.health.push(if h < 0.02 {
            Health::Down
        } else if h < 0.07 {
            Health::Degraded
        } else {
            Health::Up
        });
        w.breaker.push(rng.random_bool(0.02));
        w.channels.push(c);
    }
    Ok(w)
}

fn queries(n: usize, rng: &mut SmallRng) -> Vec<RankQuery> {
    (0..n)
        .map(|_| {
            let v = if rng.random_bool(0.7) {
                Vehicle::Bike
            } else {
                Vehicle::Car
            };
            RankQuery::new(
                GeoPoint::new(
                    rng.random_range(LAT.0..LAT.1),
                    rng.random_range(LON.0..LON.1),
                ),
                v,
                rng.random_range(1..4),
            )
        })
        .collect()
}

pub fn run(a: Args) -> anyhow::Result<()> {
    anyhow::ensure!(a.k >= 1, "--k must be at least 1");
    let machine = machine();
    let mut rng = SmallRng::seed_from_u64(a.seed);
    let w = world(a.channels, &mut rng)?;
    let mut ranker = Ranker::new(w.channels.clone(), Arc::new(ManualClock::new(Millis(0))))?;
    for i in 0..a.channels {
        ranker.update_headroom(i, w.available[i], w.capacity[i])?;
        ranker.update_health(i, w.health[i])?;
        ranker.set_breaker_open(i, w.breaker[i])?;
    }
    let warm = queries(a.queries / 10 + 1, &mut rng);
    let qs = queries(a.queries, &mut rng);
    let mut buf = Vec::with_capacity(a.k);
    for q in &warm {
        ranker.top_k_into(q, a.k, &mut buf)?;
    }
    let mut ns = Vec::with_capacity(qs.len());
    let mut returned = 0usize;
    for q in &qs {
        let t = Instant::now();
        ranker.top_k_into(q, a.k, &mut buf)?;
        ns.push(t.elapsed().as_nanos() as u64);
        returned += buf.len();
        std::hint::black_box(&buf);
    }
    let mut cpu_ns = Vec::with_capacity(qs.len());
    for q in &qs {
        let t = thread_cpu_ns();
        ranker.top_k_into(q, a.k, &mut buf)?;
        cpu_ns.push(thread_cpu_ns() - t);
        std::hint::black_box(&buf);
    }
    let overhead = latency(
        (0..10_000)
            .map(|_| {
                let t = thread_cpu_ns();
                thread_cpu_ns() - t
            })
            .collect(),
    );
    let cpu = latency(cpu_ns);
    let sample = qs.len().min(1_000);
    let mut eligible = 0usize;
    for q in &qs[..sample] {
        eligible += ranker.explain(q, a.k)?.eligible;
    }
    let ours = latency(ns);
    let mut report = Report {
        bench: "rank",
        channels: a.channels,
        k: a.k,
        queries: qs.len(),
        seed: a.seed,
        p50_us: ours.p50_us,
        p99_us: ours.p99_us,
        latency: ours,
        cpu_p50_us: cpu.p50_us,
        cpu_p99_us: cpu.p99_us,
        cpu,
        cpu_clock_overhead_us: overhead.p50_us,
        mean_eligible: eligible as f64 / sample.max(1) as f64,
        mean_returned: returned as f64 / qs.len().max(1) as f64,
        redis_p50_us: None,
        redis_p99_us: None,
        redis: None,
        redis_version: None,
        machine,
    };
    if let Some(addr) = &a.redis {
        let n = a.redis_queries.min(qs.len());
        let (lat, version) = redis_side(addr, &w, &ranker, &qs[..n], a.k)?;
        report.redis_p50_us = Some(lat.p50_us);
        report.redis_p99_us = Some(lat.p99_us);
        report.redis = Some(lat);
        report.redis_version = version;
    }
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "rank top-{} of {} channels: p50 {:.2} µs, p99 {:.2} µs (cpu p50 {:.2}, p99 {:.2}){}",
            a.k,
            a.channels,
            report.p50_us,
            report.p99_us,
            report.cpu_p50_us,
            report.cpu_p99_us,
            match (report.redis_p50_us, report.redis_p99_us) {
                (Some(p50), Some(p99)) => format!("; redis p50 {p50:.1} µs, p99 {p99:.1} µs"),
                _ => String::new(),
            }
        );
    }
    Ok(())
}

const P: &str = "uoom:bench:";

fn key(k: &str) -> String {
    format!("{P}{k}")
}

/// Loads the world into sorted sets and times the same queries.
fn redis_side(
    addr: &str,
    w: &World,
    ranker: &Ranker,
    qs: &[RankQuery],
    k: usize,
) -> anyhow::Result<(Latency, Option<String>)> {
    let client = redis::Client::open(format!("redis://{addr}/"))?;
    let mut con = client.get_connection()?;
    let info: String = redis::cmd("INFO").arg("server").query(&mut con)?;
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .map(|v| v.trim().to_owned());
    let mut setup = redis::pipe();
    for v in Vehicle::ALL {
        setup.del(key(&format!("veh:{v}"))).ignore();
    }
    for name in ["geo", "avail", "up", "s:headroom", "s:quality"] {
        setup.del(key(name)).ignore();
    }
    for (i, c) in w.channels.iter().enumerate() {
        let id = c.id.as_str();
        let s = ranker.signals(i)?;
        setup
            .cmd("GEOADD")
            .arg(key("geo"))
            .arg(c.location.lon)
            .arg(c.location.lat)
            .arg(id)
            .ignore();
        setup.zadd(key("avail"), id, w.available[i]).ignore();
        for v in c.vehicles.iter() {
            setup.zadd(key(&format!("veh:{v}")), id, 0).ignore();
        }
        if s.health != Health::Down && !s.breaker_open {
            setup.zadd(key("up"), id, 0).ignore();
        }
        let headroom = if w.capacity[i] == 0 {
            0.0
        } else {
            f64::from(w.available[i]) / f64::from(w.capacity[i])
        };
        let quality = c.quality
            * if s.health == Health::Degraded {
                uoom::rank::DEGRADED_QUALITY_FACTOR
            } else {
                1.0
            };
        setup.zadd(key("s:headroom"), id, headroom).ignore();
        setup.zadd(key("s:quality"), id, quality).ignore();
    }
    setup.query::<()>(&mut con)?;

    let run_one =
        |con: &mut redis::Connection, q: &RankQuery| -> anyhow::Result<Vec<(String, f64)>> {
            let wn = q.weights.normalised();
            // Distance stands in for latency and cost (sorted sets cannot do the
            // per-channel ETA and cost arithmetic), scaled to [0, 1] by the radius.
            let dist_weight = -(wn.latency + wn.cost) / MAX_RADIUS_KM;
            let (out, near, cap) = (key("q:out"), key("q:near"), key("q:cap"));
            let (top,): (Vec<(String, f64)>,) = redis::pipe()
                .cmd("GEOSEARCHSTORE")
                .arg(&near)
                .arg(key("geo"))
                .arg("FROMLONLAT")
                .arg(q.location.lon)
                .arg(q.location.lat)
                .arg("BYRADIUS")
                .arg(MAX_RADIUS_KM)
                .arg("km")
                .arg("STOREDIST")
                .ignore()
                .cmd("ZRANGESTORE")
                .arg(&cap)
                .arg(key("avail"))
                .arg(q.units)
                .arg("+inf")
                .arg("BYSCORE")
                .ignore()
                .cmd("ZINTERSTORE")
                .arg(&out)
                .arg(6)
                .arg(&near)
                .arg(&cap)
                .arg(key(&format!("veh:{}", q.vehicle)))
                .arg(key("up"))
                .arg(key("s:headroom"))
                .arg(key("s:quality"))
                .arg("WEIGHTS")
                .arg(dist_weight)
                .arg(0)
                .arg(0)
                .arg(0)
                .arg(wn.capacity)
                .arg(wn.quality)
                .ignore()
                .cmd("ZREVRANGE")
                .arg(&out)
                .arg(0)
                .arg(k as i64 - 1)
                .arg("WITHSCORES")
                .query(con)?;
            Ok(top)
        };
    for q in qs.iter().take(qs.len() / 10 + 1) {
        run_one(&mut con, q)?;
    }
    let mut ns = Vec::with_capacity(qs.len());
    for q in qs {
        let t = Instant::now();
        let top = run_one(&mut con, q)?;
        ns.push(t.elapsed().as_nanos() as u64);
        std::hint::black_box(top);
    }
    Ok((latency(ns), version))
}
