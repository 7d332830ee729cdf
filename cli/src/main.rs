//! The `uoom` command line.
use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod solve;
mod validate;

#[cfg(feature = "adapters")]
mod replicas;
mod simulate;
#[cfg(feature = "adapters")]
mod simulate_adapters;

// The engine allocates small, short-lived values per order (events, views);
// mimalloc handles that pattern far better than glibc's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// uoom: order routing and assignment from the command line.
#[derive(Parser)]
#[command(name = "uoom", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Solve an assignment instance (docs/bench-format.md) and print its solution JSON.
    Solve(solve::SolveArgs),
    /// Validate a create-order request: exit 0 and the normalized order, or exit 2 and the errors.
    ValidateOrder(validate::Args),
    /// Drive the routing engine with a generated order stream and report throughput and latency.
    Simulate(Box<simulate::SimulateArgs>),
    /// One replica process of `uoom simulate --replicas` (started by it).
    #[cfg(feature = "adapters")]
    #[command(hide = true)]
    Replica(replicas::ReplicaArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::ValidateOrder(args) => validate::run(&args),
        Command::Solve(args) => ExitCode::from(u8::try_from(solve::run(&args)).unwrap_or(1)),
        #[cfg(feature = "adapters")]
        Command::Replica(args) => match replicas::run_replica(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("replica {}: {e:#}", args.replica_id);
                ExitCode::from(3)
            }
        },
        Command::Simulate(args) => match simulate::run(*args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}
