//! `uoom solve`: solve a benchmark instance (docs/bench-format.md) and write its solution.

use clap::Args;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use uoom::bench_format::{Instance, SolutionFile};
use uoom::solve::{SolveOptions, solve};

/// Arguments of `uoom solve`.
#[derive(Args, Debug)]
pub struct SolveArgs {
    /// Instance JSON file (format: docs/bench-format.md).
    pub instance: PathBuf,
    /// Time budget in milliseconds (budgeted mode).
    #[arg(long, default_value_t = 100)]
    pub time_limit_ms: u64,
    /// Solve to proven optimality (relative gap <= 1e-6), however long it takes.
    #[arg(long)]
    pub exact: bool,
    /// Add explanations: runner-up per assignment, reason per unassigned order.
    #[arg(long)]
    pub explain: bool,
    /// Spend the budget by work alone, without the wall-clock safety net:
    /// the same answer on every run however loaded the machine is (it may
    /// then come back after the time limit). For quality benchmarks.
    #[arg(long)]
    pub no_clock_net: bool,
    /// Write the solution here instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Runs the command; returns the process exit code (2: bad input, 1: other failure).
pub fn run(args: &SolveArgs) -> i32 {
    let bytes = match std::fs::read(&args.instance) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.instance.display());
            return 2;
        }
    };
    let inst = match Instance::from_json(&bytes) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {}: {e}", args.instance.display());
            return 2;
        }
    };
    // solve_ms starts with the instance in memory: building the model counts.
    let t0 = Instant::now();
    // Within the budget, scoring the pairs may take 85 % of it; the orders
    // not scored by then stay unassigned and the answer says the clock cut it.
    let deadline = (!args.exact && !args.no_clock_net)
        .then(|| t0 + Duration::from_micros(args.time_limit_ms.saturating_mul(850)));
    let problem = match inst.to_problem_until(deadline) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {}: {e}", args.instance.display());
            return 2;
        }
    };
    let opts = SolveOptions::default()
        .with_time_limit_ms(args.time_limit_ms)
        .with_exact(args.exact)
        .with_explain(args.explain)
        .with_clock_net(!args.no_clock_net)
        .with_started_at(t0);
    let sol = match solve(&problem, &opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return if e.kind() == uoom::ErrorKind::Validation {
                2
            } else {
                1
            };
        }
    };
    let text = SolutionFile::new(&inst, &sol).to_json();
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text + "\n") {
                eprintln!("error: cannot write {}: {e}", path.display());
                return 1;
            }
        }
        None => println!("{text}"),
    }
    0
}
