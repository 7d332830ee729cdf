//! Latency of each operation of the PostgreSQL lease authority, one at a
//! time, and the commit rate of one hot account under four replicas.
//!
//! ```sh
//! cargo run --release -p uoom --features postgres --example lease_latency -- \
//!   postgres://uoom:uoom@127.0.0.1:25432/uoom
//! ```
//!
//! Runs in a fresh schema, dropped afterwards. Figures: docs/ledger.md.

use std::sync::Arc;
use std::time::{Duration, Instant};
use uoom::ChannelId;
use uoom::adapters::postgres::{PgConfig, PgLeaseAuthority, PgLeaseConfig, PgStore};
use uoom::ledger::SlotId;
use uoom::ledger::lease::{Lease, LeaseAuthority, LeaseRequest, ReplicaId};

const LONG: u64 = 60_000;

fn percentiles(mut v: Vec<Duration>) -> String {
    v.sort();
    let n = v.len();
    format!(
        "n={n} p50={:?} p99={:?} max={:?}",
        v[n / 2],
        v[n * 99 / 100],
        v[n - 1]
    )
}

fn timed<T>(n: usize, mut f: impl FnMut(usize) -> T) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed()
        })
        .collect()
}

fn main() -> uoom::Result<()> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "postgres://uoom:uoom@127.0.0.1:25432/uoom".into());
    let schema = format!("lease_latency_{}", std::process::id());
    let admin = PgStore::connect(PgConfig::new(&base).with_writers(1).with_readers(1))?;
    admin.execute_batch(&format!("CREATE SCHEMA {schema}"))?;
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
    let measured = measure(&url);
    admin.execute_batch(&format!("DROP SCHEMA {schema} CASCADE"))?;
    measured
}

fn measure(url: &str) -> uoom::Result<()> {
    let auth = Arc::new(PgLeaseAuthority::connect(
        PgLeaseConfig::new(url).with_connections(4),
    )?);
    auth.migrate()?;
    let m = ReplicaId::from("m");
    let channels: Vec<ChannelId> = (0..10)
        .map(|i| ChannelId::from(format!("c{i}").as_str()))
        .collect();
    for c in &channels {
        auth.set_capacity(c, SlotId(0), 1_000_000)
            .map_err(to_error)?;
    }
    let grants = timed(500, |_| {
        auth.grant(&m, &channels[0], SlotId(0), 1_000, LONG)
    });
    println!("grant: {}", percentiles(grants));
    let l = auth
        .grant(&m, &channels[0], SlotId(0), 100_000, 600_000)
        .map_err(to_error)?
        .lease;
    let commits = timed(1_000, |_| auth.commit(l.id, l.epoch, 1));
    println!("commit: {}", percentiles(commits));
    let reads = timed(1_000, |_| auth.state(&channels[0], SlotId(0)));
    println!("state: {}", percentiles(reads));
    let leases: Vec<Lease> = channels
        .iter()
        .map(|c| auth.grant(&m, c, SlotId(0), 10, LONG).map(|r| r.lease))
        .collect::<Result<_, _>>()
        .map_err(to_error)?;
    let exchanges = timed(300, |i| {
        let requests: Vec<LeaseRequest> = leases
            .iter()
            .map(|l| LeaseRequest::Resize {
                lease: l.id,
                epoch: l.epoch,
                target: 10 + (i % 5) as u32,
                ttl_ms: LONG,
            })
            .collect();
        auth.exchange(&m, &requests)
    });
    println!("exchange of 10 resizes: {}", percentiles(exchanges));
    // One hot account, four replicas committing on their own leases.
    let hot = channels[1].clone();
    let began = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|n| {
            let (auth, hot) = (auth.clone(), hot.clone());
            std::thread::spawn(move || {
                let replica = ReplicaId::from(format!("h{n}").as_str());
                let l = auth
                    .grant(&replica, &hot, SlotId(0), 10_000, 600_000)?
                    .lease;
                for _ in 0..500 {
                    auth.commit(l.id, l.epoch, 1)?;
                }
                Ok::<_, uoom::ledger::lease::LeaseError>(())
            })
        })
        .collect();
    for t in threads {
        t.join()
            .expect("a committing thread panicked")
            .map_err(to_error)?;
    }
    let took = began.elapsed();
    println!(
        "one account, 4 threads x 500 commits: {took:?} = {:.0} commits/s",
        2_000.0 / took.as_secs_f64()
    );
    Ok(())
}

fn to_error(e: uoom::ledger::lease::LeaseError) -> uoom::Error {
    uoom::Error::io(format!("lease authority: {e}"))
}
