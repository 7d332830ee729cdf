//! The `uoom` command line.
use clap::{Parser, Subcommand};

mod simulate;

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
    /// Drive the routing engine with a generated order stream and report throughput and latency.
    Simulate(simulate::SimulateArgs),
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Simulate(args) => {
            if let Err(e) = simulate::run(args) {
                eprintln!("error: {e:#}");
                std::process::exit(2);
            }
        }
    }
}
