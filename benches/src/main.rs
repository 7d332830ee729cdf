//! `uoom-bench`: load and comparison harness. One file per subcommand; this
//! file only dispatches (add a module and a variant to add a subcommand).

mod ledger;
mod rank;
mod route;
mod stats;
mod stream;

use clap::{Parser, Subcommand};

/// uoom load and comparison harness.
#[derive(Parser)]
#[command(name = "uoom-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Capacity ledger throughput: reserve + commit pairs per second.
    Ledger(ledger::Args),
    /// Ranking latency: filtered weighted top-k, optionally against Redis.
    Rank(rank::Args),
    /// Async routing at a paced rate with a partner that takes its time.
    Route(route::Args),
    /// Online against offline: one instance's orders routed as they arrive,
    /// in batch windows, and as one batch.
    Stream(stream::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Ledger(a) => ledger::run(a),
        Cmd::Rank(a) => rank::run(a),
        Cmd::Route(a) => route::run(a),
        Cmd::Stream(a) => stream::run(a),
    }
}
