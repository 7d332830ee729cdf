//! `uoom-bench stream`: online against offline on one benchmark instance.
//!
//! The orders of the instance arrive one by one, in a seeded random order, at
//! seeded uniform times over `--span-s` seconds. Each mode routes the same
//! stream:
//!
//! * **real time**: every order on arrival, alone, by [`ChannelIndex::best`]
//!   against what the channels have left (a capacity ledger decremented by
//!   every placement); an order whose best channel scores no better than its
//!   penalty stays out, as in the batch objective;
//! * **window W s**: the orders that arrived within each window of W seconds
//!   are one batch, solved by [`solve`] with the budget of `--time-limit-ms`
//!   against what the earlier windows left;
//! * **offline**: the whole instance as one batch (the same budget).
//!
//! Each mode's objective is the instance's objective of the assignment it
//! built; the gap is against the instance's best known value (from
//! `reference.json` beside the instance, when it has one), else against offline.

use clap::Args as ClapArgs;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;
use uoom::bench_format::Instance;
use uoom::solve::{ChannelIndex, Problem, SolveOptions, solve};

/// Options of `uoom-bench stream`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Instance JSON file (benches/instances/).
    instance: PathBuf,
    /// Seed of the arrival order and times.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Arrivals spread uniformly over this many simulated seconds.
    #[arg(long, default_value_t = 60.0)]
    span_s: f64,
    /// Batch windows in simulated seconds, comma-separated.
    #[arg(long, default_value = "1,5,30", value_delimiter = ',')]
    windows: Vec<f64>,
    /// Budget of each batch solve.
    #[arg(long, default_value_t = 100)]
    time_limit_ms: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct ModeResult {
    mode: String,
    objective: f64,
    gap: f64,
    assigned: usize,
    batches: usize,
    /// Wall time of all decisions / solves of the mode (problem building included).
    total_ms: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    instance: String,
    orders: usize,
    span_s: f64,
    seed: u64,
    reference: f64,
    reference_is_best_known: bool,
    modes: Vec<ModeResult>,
}

/// Runs the command.
pub fn run(a: Args) -> anyhow::Result<()> {
    let inst = Instance::from_json(&std::fs::read(&a.instance)?)?;
    let full = inst.to_problem()?;
    let n = inst.orders.len();
    let mut rng = SmallRng::seed_from_u64(a.seed);
    let mut arrival: Vec<usize> = (0..n).collect();
    arrival.shuffle(&mut rng);
    let mut times: Vec<f64> = (0..n).map(|_| rng.random::<f64>() * a.span_s).collect();
    times.sort_by(f64::total_cmp);
    let opts = SolveOptions::default().with_time_limit_ms(a.time_limit_ms);

    let mut modes = Vec::new();
    // Real time.
    let t0 = Instant::now();
    let idx = ChannelIndex::new(&inst.channels, inst.weights);
    let mut left: Vec<u32> = inst.channels.iter().map(|c| c.capacity).collect();
    let mut asg: Vec<Option<usize>> = vec![None; n];
    for &i in &arrival {
        let d = &inst.orders[i].demand;
        match idx.best(d, &left) {
            Some(pick) if pick.score < full.penalty(i) => {
                left[pick.channel] -= d.units;
                asg[i] = Some(pick.channel);
            }
            _ => {}
        }
    }
    let rt_ms = t0.elapsed().as_secs_f64() * 1e3;
    modes.push(("real time".to_owned(), asg, n, rt_ms));
    // Windows.
    for &w in &a.windows {
        let t0 = Instant::now();
        let mut left: Vec<u32> = inst.channels.iter().map(|c| c.capacity).collect();
        let mut asg: Vec<Option<usize>> = vec![None; n];
        let mut batches = 0;
        let mut k = 0;
        while k < n {
            let end_t = ((times[k] / w).floor() + 1.0) * w;
            let mut batch = Vec::new();
            while k < n && times[k] < end_t {
                batch.push(arrival[k]);
                k += 1;
            }
            let demands = batch.iter().map(|&i| inst.orders[i].demand).collect();
            let p = Problem::new(
                demands,
                &inst.channels,
                &left,
                inst.weights,
                inst.unassigned_penalty,
            )?;
            let sol = solve(&p, &opts)?;
            for (b, a) in batch.iter().zip(&sol.assignment) {
                if let Some(j) = *a {
                    left[j] -= inst.orders[*b].demand.units;
                    asg[*b] = Some(j);
                }
            }
            batches += 1;
        }
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        modes.push((format!("window {w} s"), asg, batches, ms));
    }
    // Offline.
    let t0 = Instant::now();
    let sol = solve(&full, &opts)?;
    modes.push((
        "offline".to_owned(),
        sol.assignment,
        1,
        t0.elapsed().as_secs_f64() * 1e3,
    ));

    let best_known = reference_of(&a.instance, &inst.name);
    let offline_obj = full.objective(&modes.last().expect("offline").1);
    let reference = best_known.unwrap_or(offline_obj);
    let mut out = Vec::new();
    for (mode, asg, batches, ms) in modes {
        full.check(&asg)?;
        let objective = full.objective(&asg);
        out.push(ModeResult {
            mode,
            objective,
            gap: (objective - reference) / reference.abs().max(1e-12),
            assigned: asg.iter().filter(|a| a.is_some()).count(),
            batches,
            total_ms: ms,
        });
    }
    let report = Report {
        instance: inst.name.clone(),
        orders: n,
        span_s: a.span_s,
        seed: a.seed,
        reference,
        reference_is_best_known: best_known.is_some(),
        modes: out,
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} ({} orders over {} s, seed {}), gap against {} {:.3}:",
            report.instance,
            n,
            a.span_s,
            a.seed,
            if report.reference_is_best_known {
                "best known"
            } else {
                "offline"
            },
            reference
        );
        println!("| mode | objective | gap | assigned | batches | total ms |");
        println!("|---|---|---|---|---|---|");
        for m in &report.modes {
            println!(
                "| {} | {:.3} | {:.3} % | {} | {} | {:.1} |",
                m.mode,
                m.objective,
                100.0 * m.gap,
                m.assigned,
                m.batches,
                m.total_ms
            );
        }
    }
    Ok(())
}

/// `best_known` of `name` in `reference.json` beside the instance file.
fn reference_of(instance: &std::path::Path, name: &str) -> Option<f64> {
    let path = instance.parent()?.join("reference.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v.get(name)?.get("best_known")?.as_f64()
}
