//! The `uoom` command line.
use clap::{Parser, Subcommand};

mod solve;

/// uoom: order routing and assignment from the command line.
#[derive(Parser)]
#[command(name = "uoom", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Solve an assignment instance (shared/bench/SPEC.md) and print its solution JSON.
    Solve(solve::SolveArgs),
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Solve(args) => std::process::exit(solve::run(&args)),
    }
}
