//! `uoom-example-partner`: a fulfillment partner's booking API for the
//! example's tests and demos, with latency and failures.
//!
//! Environment: `PORT` (default 8081), `LATENCY_MS` (default 50), and
//! `FAIL_PERCENT` (default 10): that share of bookings, chosen by the order
//! id, is refused with a 503; `HANG_PERCENT` (default 0) more never answer.
//! `GET /stats` returns `{booked, refused, cancelled}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Default)]
struct Stats {
    booked: AtomicU64,
    refused: AtomicU64,
    cancelled: AtomicU64,
}

struct Partner {
    latency: Duration,
    fail_percent: u64,
    hang_percent: u64,
    stats: Stats,
}

/// A stable number in 0..100 from the order id, so a retry sees the same fate.
fn bucket(order_id: &str) -> u64 {
    order_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }) % 100
}

async fn book(State(p): State<Arc<Partner>>, Json(req): Json<Value>) -> impl IntoResponse {
    let order = req["orderId"].as_str().unwrap_or_default().to_owned();
    let channel = req["channelId"].as_str().unwrap_or_default().to_owned();
    tokio::time::sleep(p.latency).await;
    let b = bucket(&format!("{order}/{channel}"));
    if b < p.fail_percent {
        p.stats.refused.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "no courier free"})),
        );
    }
    if b < p.fail_percent + p.hang_percent {
        std::future::pending::<()>().await;
    }
    p.stats.booked.fetch_add(1, Ordering::Relaxed);
    (
        StatusCode::OK,
        Json(json!({"reference": format!("BK-{channel}-{order}")})),
    )
}

async fn cancel(State(p): State<Arc<Partner>>) -> StatusCode {
    p.stats.cancelled.fetch_add(1, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}

async fn stats(State(p): State<Arc<Partner>>) -> Json<Value> {
    let s = &p.stats;
    Json(json!({
        "booked": s.booked.load(Ordering::Relaxed),
        "refused": s.refused.load(Ordering::Relaxed),
        "cancelled": s.cancelled.load(Ordering::Relaxed),
    }))
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let partner = Arc::new(Partner {
        latency: Duration::from_millis(env_u64("LATENCY_MS", 50)),
        fail_percent: env_u64("FAIL_PERCENT", 10),
        hang_percent: env_u64("HANG_PERCENT", 0),
        stats: Stats::default(),
    });
    let app = Router::new()
        .route("/bookings", post(book))
        .route("/cancellations", post(cancel))
        .route("/stats", get(stats))
        .with_state(partner);
    let port = env_u64("PORT", 8081);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port as u16)).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
