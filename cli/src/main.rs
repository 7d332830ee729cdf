//! The `uoom` command line.
use clap::{Parser, Subcommand};

/// uoom: order routing and assignment from the command line.
#[derive(Parser)]
#[command(name = "uoom", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {}

fn main() {
    let cli = Cli::parse();
    match cli.command {}
}
