//! `uoom-bench route`: orders paced at `--rps` for `--seconds` through
//! [`AsyncRouter`] on a tokio runtime, each booked with a partner that
//! answers after `--partner-ms` (a tokio timer), or over real HTTP with the
//! example service's partner client (`--partner-url`). Reports latency from
//! an order's scheduled arrival to its outcome, the threads the process ran
//! and its peak RSS: in-flight bookings must hold no thread.

use crate::stats::{Latency, Machine, latency, machine};
use clap::Args as ClapArgs;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uoom::engine::{
    AsyncGateway, AsyncRouter, BookingAnswer, BookingCall, BookingRef, BoxFuture, CancelCall,
    GatewayError, Router, SimGateway, TokioRuntime,
};
use uoom::{Channel, ChannelKind, GeoPoint, SystemClock, Vehicle};

/// Arguments of `uoom-bench route`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Orders per second.
    #[arg(long, default_value_t = 5_000)]
    rps: u64,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Latency of the in-process partner (a timer), in ms.
    #[arg(long, default_value_t = 50)]
    partner_ms: u64,
    /// Book over HTTP with this partner (e.g. `uoom-example-partner`) instead.
    #[arg(long)]
    partner_url: Option<String>,
    /// Worker threads of the tokio runtime.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    orders: u64,
    confirmed: u64,
    failed: u64,
    errors: u64,
    rps_target: u64,
    rps_sent: f64,
    partner: String,
    workers: usize,
    latency: Latency,
    max_threads: u64,
    max_in_flight: usize,
    peak_rss_mb: f64,
    machine: Machine,
}

/// A partner that answers after a fixed delay.
struct TimerPartner(Duration);

impl AsyncGateway for TimerPartner {
    fn book(&self, call: &BookingCall) -> BoxFuture<'static, BookingAnswer> {
        let (d, reference) = (self.0, format!("BK-{}", call.order.id));
        Box::pin(async move {
            tokio::time::sleep(d).await;
            Ok(BookingRef(reference))
        })
    }
    fn cancel(&self, _: &CancelCall) -> BoxFuture<'static, Result<(), GatewayError>> {
        Box::pin(async { Ok(()) })
    }
}

fn channels() -> Vec<Channel> {
    (0..5)
        .map(|i| {
            Channel::builder(
                format!("c{i}").as_str(),
                ChannelKind::ExternalPartner,
                GeoPoint::new(40.71 + 0.005 * f64::from(i), -74.0),
            )
            .with_capacity(1_000_000)
            .with_radius_km(15.0)
            .with_vehicles([Vehicle::Bike, Vehicle::Car])
            .with_cost(2.0, 0.5)
            .with_quality(0.9)
            .build()
            .expect("valid channel")
        })
        .collect()
}

fn request(i: u64) -> uoom::CreateOrderRequest {
    let body = format!(
        r#"{{"customerId": "{}", "items": [{{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}}],
            "deliveryAddress": {{"street": "1 Main St", "city": "New York", "postalCode": "10001",
                                "latitude": 40.712, "longitude": -74.006}}}}"#,
        uoom::CustomerId::from_u128(u128::from(i) + 1)
    );
    uoom::parse_create_order(body.as_bytes()).expect("valid request")
}

fn proc_status(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.workers)
        .enable_all()
        .build()?;
    let report = rt.block_on(drive(&a))?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{report:#?}");
    }
    Ok(())
}

async fn drive(a: &Args) -> anyhow::Result<Report> {
    let clock = Arc::new(SystemClock);
    let router = Router::builder(channels(), Arc::new(SimGateway::new(clock.clone(), 0)))
        .with_clock(clock)
        .build()?;
    let (gateway, partner): (Arc<dyn AsyncGateway>, String) = match &a.partner_url {
        Some(url) => (
            Arc::new(uoom_example_service::HttpPartner::new(url.clone())),
            format!("http {url}"),
        ),
        None => (
            Arc::new(TimerPartner(Duration::from_millis(a.partner_ms))),
            format!("timer {} ms", a.partner_ms),
        ),
    };
    let router = Arc::new(AsyncRouter::new(router, gateway, Arc::new(TokioRuntime)));
    let total = a.rps * a.seconds;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let start = Instant::now();
    let mut max_threads = 0;
    let mut max_in_flight = 0;
    for i in 0..total {
        let due = start + Duration::from_nanos(i * 1_000_000_000 / a.rps);
        tokio::time::sleep_until(due.into()).await;
        let (r, tx) = (router.clone(), tx.clone());
        tokio::spawn(async move {
            let out = r.route(request(i), None).await;
            let _ = tx.send((
                due.elapsed().as_nanos() as u64,
                out.map(|o| o.is_confirmed()),
            ));
        });
        if i % 1_000 == 0 {
            max_threads = max_threads.max(proc_status("Threads:"));
            max_in_flight = max_in_flight.max(router.router().lock().in_flight());
        }
    }
    let sent_for = start.elapsed().as_secs_f64();
    drop(tx);
    let mut ns = Vec::with_capacity(total as usize);
    let (mut confirmed, mut failed, mut errors) = (0, 0, 0);
    while let Some((t, out)) = rx.recv().await {
        ns.push(t);
        match out {
            Ok(true) => confirmed += 1,
            Ok(false) => failed += 1,
            Err(_) => errors += 1,
        }
    }
    Ok(Report {
        orders: total,
        confirmed,
        failed,
        errors,
        rps_target: a.rps,
        rps_sent: total as f64 / sent_for,
        partner,
        workers: a.workers,
        latency: latency(ns),
        max_threads: max_threads.max(proc_status("Threads:")),
        max_in_flight,
        peak_rss_mb: proc_status("VmHWM:") as f64 / 1024.0,
        machine: machine(),
    })
}
