//! `uoom-example-service`: the order-routing service of this example.
//!
//! Configured by environment:
//! - `PORT` (default 8080), bound on 127.0.0.1 unless `HOST` says otherwise;
//! - `PARTNER_URL`: the partners' booking API (required);
//! - `CHANNEL_CAPACITY`: units per channel per slot of the demo channels (default 50);
//! - `BOOKING_TIMEOUT_MS`: how long a partner may take (default 2000);
//! - `DATABASE_URL` (built with the feature `postgres`): PostgreSQL for
//!   orders, their events (the outbox) and idempotency records, migrated at
//!   start and written on this service's tokio runtime; without it they are
//!   kept in memory.

use anyhow::Context;
use std::sync::Arc;
#[cfg(feature = "postgres")]
use uoom::adapters::postgres::{PgConfig, PgStore};
#[cfg(feature = "postgres")]
use uoom::engine::MemoryReadModel;
use uoom::engine::{AsyncRouter, Router, SimGateway, TokioRuntime};
use uoom::{Channel, ChannelKind, GeoPoint, SystemClock, Vehicle};
use uoom_example_service::{HttpPartner, app};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .ok()
            .with_context(|| format!("{name}={v} is not valid")),
        Err(_) => Ok(default),
    }
}

/// Three channels around lower Manhattan: an own kitchen, a dark store and
/// an external partner, each with `capacity` units per 15-minute slot.
fn channels(capacity: u32) -> anyhow::Result<Vec<Channel>> {
    let spots = [
        ("kitchen-1", ChannelKind::InternalKitchen, 40.7128, -74.0060),
        ("darkstore-1", ChannelKind::DarkStore, 40.7200, -73.9950),
        ("partner-1", ChannelKind::ExternalPartner, 40.7050, -74.0100),
    ];
    spots
        .into_iter()
        .map(|(id, kind, lat, lon)| {
            Channel::builder(id, kind, GeoPoint::new(lat, lon))
                .with_capacity(capacity)
                .with_radius_km(15.0)
                .with_vehicles([Vehicle::Bike, Vehicle::Car])
                .with_cost(2.0, 0.5)
                .with_quality(0.9)
                .build()
                .map_err(anyhow::Error::from)
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let port: u16 = env_or("PORT", 8080)?;
    let host: String = env_or("HOST", "127.0.0.1".to_owned())?;
    let partner = std::env::var("PARTNER_URL").context("PARTNER_URL is required")?;
    let capacity: u32 = env_or("CHANNEL_CAPACITY", 50)?;
    let timeout_ms: u64 = env_or("BOOKING_TIMEOUT_MS", 2_000)?;
    let clock = Arc::new(SystemClock);
    // The synchronous gateway is what Router::submit would use; this
    // service only routes through the async partner below.
    let router = Router::builder(
        channels(capacity)?,
        Arc::new(SimGateway::new(clock.clone(), 0)),
    )
    .with_clock(clock)
    .with_booking_timeout_ms(timeout_ms)
    .build()?;
    #[cfg_attr(not(feature = "postgres"), allow(unused_mut))]
    let mut router = AsyncRouter::new(
        router,
        Arc::new(HttpPartner::new(partner)),
        Arc::new(TokioRuntime),
    );
    #[cfg(not(feature = "postgres"))]
    if std::env::var_os("DATABASE_URL").is_some() {
        anyhow::bail!("DATABASE_URL needs a build with `--features postgres`");
    }
    #[cfg(feature = "postgres")]
    if let Ok(url) = std::env::var("DATABASE_URL") {
        // Opened on this runtime: every write and lookup is a future here,
        // and no request holds a thread while PostgreSQL commits.
        let pg = PgStore::connect_async(PgConfig::new(url))
            .await
            .context("DATABASE_URL: cannot connect")?;
        pg.migrate_async()
            .await
            .context("DATABASE_URL: migrations")?;
        router = router.with_stores(Arc::new(pg), Arc::new(MemoryReadModel::default()))?;
    }
    let router = Arc::new(router);
    let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app(router))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
