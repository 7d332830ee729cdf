//! Criterion benches of the solver: the single-order decision, through the
//! real-time index and through the batch `solve` entry point, and the
//! budgeted batch solve on the public instances (`benches/instances/`).
//!
//! `cargo bench -p uoom-benches --bench solve` (or `make bench-solve`).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;
use uoom::bench_format::Instance;
use uoom::solve::{ChannelIndex, SolveOptions, solve};

/// Reads `benches/instances/NAME.json`; a missing or invalid instance stops the
/// bench with the path and the reason instead of measuring less than asked.
fn instance(name: &str) -> Instance {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("instances")
        .join(format!("{name}.json"));
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("benchmark instance {}: {e}", path.display()));
    Instance::from_json(&bytes)
        .unwrap_or_else(|e| panic!("benchmark instance {}: {e}", path.display()))
}

fn single_order(c: &mut Criterion) {
    for name in ["rt-50-0", "rt-200-0", "rt-1000-0"] {
        let inst = instance(name);
        let idx = ChannelIndex::new(&inst.channels, inst.weights);
        let caps: Vec<u32> = inst.channels.iter().map(|c| c.capacity).collect();
        let d = inst.orders[0].demand;
        c.bench_function(&format!("realtime_best/{name}"), |b| {
            b.iter(|| idx.best(black_box(&d), black_box(&caps)))
        });
        // The batch entry point on a one-order batch: the problem built
        // (pairs scored) and solved, as `uoom solve` does after parsing.
        c.bench_function(&format!("solve_one_order/{name}"), |b| {
            b.iter(|| {
                let p = inst.to_problem().unwrap();
                solve(&p, &SolveOptions::default()).unwrap()
            })
        });
        // The solve alone, on a problem built once.
        let p = inst.to_problem().unwrap();
        c.bench_function(&format!("solve_one_order_prebuilt/{name}"), |b| {
            b.iter(|| solve(black_box(&p), &SolveOptions::default()).unwrap())
        });
    }
}

fn batches(c: &mut Criterion) {
    let mut g = c.benchmark_group("budgeted_100ms");
    g.sample_size(10);
    for name in ["b-s-0", "b-m-0", "t-0", "b-l-0"] {
        let inst = instance(name);
        g.bench_function(name, |b| {
            b.iter(|| {
                let p = inst.to_problem().unwrap();
                solve(&p, &SolveOptions::default()).unwrap().objective
            })
        });
    }
    g.finish();
}

criterion_group!(benches, single_order, batches);
criterion_main!(benches);
