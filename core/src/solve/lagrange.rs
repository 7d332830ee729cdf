//! Lagrangian relaxation of the capacity rows.
//!
//! With a price `λ_j ≥ 0` per unit of channel `j`, every order independently
//! takes its cheapest reduced cost `c_ij + u_i·λ_j` (or stays out at 0), and
//! `L(λ) = Σ_i min(0, min_j c_ij + u_i·λ_j) − Σ_j cap_j·λ_j` is a lower bound
//! on the optimum for every `λ ≥ 0`; its maximum equals the LP relaxation
//! (the order rows have the integrality property). Subgradient ascent with
//! Polyak steps finds good prices; the prices both bound the gap and steer the
//! regret greedy towards a near-optimal assignment.

use super::problem::{NONE, Problem};
use rayon::prelude::*;

/// Orders per parallel chunk: fixed, so that floating-point sums are
/// reduced in the same order on every run (determinism).
const CHUNK: usize = 512;

/// One evaluation of the dual function.
pub(crate) struct DualEval {
    /// `L(λ)` without the constant Σ penalties.
    pub value: f64,
    /// Units each channel would receive at these prices.
    pub load: Vec<i64>,
}

/// Evaluates `L(λ)` and the orders' choices (written into `choice`).
pub(crate) fn evaluate(p: &Problem, lambda: &[f64], choice: &mut [u32]) -> DualEval {
    let m = p.num_channels();
    let parts: Vec<(f64, Vec<i64>)> = choice
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(c, out)| {
            let base = c * CHUNK;
            let mut sum = 0.0;
            let mut load = vec![0i64; m];
            for (off, slot) in out.iter_mut().enumerate() {
                let i = base + off;
                let u = f64::from(p.units[i]);
                let (mut best, mut bj) = (0.0f64, NONE);
                for k in p.range(i) {
                    let j = p.pch[k];
                    let v = p.pcost[k] + u * lambda[j as usize];
                    if v < best {
                        best = v;
                        bj = j;
                    }
                }
                *slot = bj;
                sum += best;
                if bj != NONE {
                    load[bj as usize] += i64::from(p.units[i]);
                }
            }
            (sum, load)
        })
        .collect();
    let mut value = 0.0;
    let mut load = vec![0i64; m];
    for (s, l) in parts {
        value += s;
        for (a, b) in load.iter_mut().zip(l) {
            *a += b;
        }
    }
    for (&cap, &l) in p.capacity.iter().zip(lambda) {
        value -= f64::from(cap) * l;
    }
    DualEval { value, load }
}

/// Subgradient ascent state.
pub(crate) struct Ascent {
    pub lambda: Vec<f64>,
    pub best_lambda: Vec<f64>,
    /// Best `L(λ)` seen (without the constant Σ penalties).
    pub best_value: f64,
    pub choice: Vec<u32>,
    theta: f64,
    stall: u32,
}

impl Ascent {
    pub fn new(p: &Problem) -> Self {
        Ascent {
            lambda: vec![0.0; p.num_channels()],
            best_lambda: vec![0.0; p.num_channels()],
            best_value: f64::NEG_INFINITY,
            choice: vec![NONE; p.num_orders()],
            theta: 1.0,
            stall: 0,
        }
    }

    /// One subgradient step towards the upper bound `ub` (cost without Σ penalties).
    /// Returns the dual value at the prices before the step.
    pub fn step(&mut self, p: &Problem, ub: f64) -> f64 {
        let ev = evaluate(p, &self.lambda, &mut self.choice);
        if ev.value > self.best_value + 1e-12 * ev.value.abs().max(1.0) {
            self.best_value = ev.value;
            self.best_lambda.clone_from(&self.lambda);
            self.stall = 0;
        } else {
            self.stall += 1;
            if self.stall >= 8 {
                self.theta *= 0.6;
                self.stall = 0;
            }
        }
        // Projected subgradient: a free price cannot fall below zero.
        let mut norm = 0.0;
        let g: Vec<f64> = (0..p.num_channels())
            .map(|j| {
                let gj = (ev.load[j] - i64::from(p.capacity[j])) as f64;
                if self.lambda[j] <= 0.0 && gj < 0.0 {
                    0.0
                } else {
                    gj
                }
            })
            .collect();
        for v in &g {
            norm += v * v;
        }
        if norm > 0.0 {
            let gap = (ub - ev.value).max(1e-9 * ub.abs().max(1.0));
            let t = self.theta * gap / norm;
            for (l, gj) in self.lambda.iter_mut().zip(&g) {
                *l = (*l + t * gj).max(0.0);
            }
        }
        ev.value
    }

    /// Theta has shrunk so far that further steps are noise.
    pub fn converged(&self) -> bool {
        self.theta < 1e-4
    }
}

/// Exact coordinate ascent on the prices, channel by channel: with the other
/// prices fixed, order i prefers channel j while `λ_j < t_i = (alt_i − c_ij)/u_i`
/// (`alt_i` its best other option), so the best `λ_j` is the threshold at which
/// the orders still preferring j just fit. Each pass costs about one sweep over
/// the pairs plus a sort per channel; a few passes take the bound most of the
/// way, subgradient steps finish it. Returns the pair visits spent.
pub(crate) fn coordinate_ascent(
    p: &Problem,
    lambda: &mut [f64],
    passes: usize,
    late: &dyn Fn() -> bool,
) -> u64 {
    let n = p.num_orders();
    let m = p.num_channels();
    let mut work = 0u64;
    // Top two reduced costs per order ("out" = 0 is always an option).
    let mut b1v = vec![0.0f64; n];
    let mut b1c = vec![NONE; n];
    let mut b2v = vec![0.0f64; n];
    let mut b2c = vec![NONE; n];
    let top2 = |i: usize, lambda: &[f64]| -> (f64, u32, f64, u32) {
        let u = f64::from(p.units[i]);
        let (mut v1, mut c1, mut v2, mut c2) = (0.0f64, NONE, f64::INFINITY, NONE);
        for k in p.range(i) {
            let j = p.pch[k];
            let v = p.pcost[k] + u * lambda[j as usize];
            if v < v1 {
                v2 = v1;
                c2 = c1;
                v1 = v;
                c1 = j;
            } else if v < v2 {
                v2 = v;
                c2 = j;
            }
        }
        if c1 != NONE && v2 > 0.0 {
            // "out" is the runner-up.
            v2 = 0.0;
            c2 = NONE;
        }
        (v1, c1, v2, c2)
    };
    for i in 0..n {
        (b1v[i], b1c[i], b2v[i], b2c[i]) = top2(i, lambda);
    }
    work += p.num_pairs() as u64;
    let mut buf: Vec<(f64, u32)> = Vec::new();
    for _ in 0..passes {
        if late() {
            break;
        }
        let mut moved = false;
        for j in 0..m {
            if j % 16 == 15 && late() {
                break;
            }
            let ju = j as u32;
            buf.clear();
            let pairs = &p.cpair[p.cstart[j]..p.cstart[j + 1]];
            for &k in pairs {
                let k = k as usize;
                let i = p.porder[k] as usize;
                let alt = if b1c[i] == ju { b2v[i] } else { b1v[i] };
                let u = p.units[i];
                let t = (alt - p.pcost[k]) / f64::from(u);
                if t > 0.0 {
                    buf.push((t, u));
                }
            }
            work += pairs.len() as u64;
            buf.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
            let cap = i64::from(p.capacity[j]);
            let mut acc = 0i64;
            let mut new = 0.0;
            for &(t, u) in &buf {
                acc += i64::from(u);
                if acc > cap {
                    new = t;
                    break;
                }
            }
            if (new - lambda[j]).abs() <= 1e-12 * new.abs().max(1e-9) {
                continue;
            }
            moved = true;
            lambda[j] = new;
            for &k in pairs {
                let k = k as usize;
                let i = p.porder[k] as usize;
                let v = p.pcost[k] + f64::from(p.units[i]) * new;
                if b1c[i] == ju || b2c[i] == ju || v < b2v[i] {
                    (b1v[i], b1c[i], b2v[i], b2c[i]) = top2(i, lambda);
                    work += p.range(i).len() as u64;
                }
            }
        }
        if !moved {
            break;
        }
    }
    work
}
