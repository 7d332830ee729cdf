//! Regret greedy: orders that lose most by not getting their best channel go
//! first. Run on true costs it is the first answer; run on Lagrangian reduced
//! costs it turns prices into a feasible assignment.

use super::problem::{NONE, Problem};
use super::state::State;

/// Builds a feasible assignment by regret on the keys `c_ij + u_i·lambda_j`
/// (`lambda` empty: true costs). Deterministic: ties break by order index.
pub(crate) fn regret_greedy(p: &Problem, lambda: &[f64]) -> State {
    let n = p.num_orders();
    let key = |k: usize, i: usize| -> f64 {
        let j = p.pch[k] as usize;
        if lambda.is_empty() {
            p.pcost[k]
        } else {
            p.pcost[k] + f64::from(p.units[i]) * lambda[j]
        }
    };
    // Regret per order: (second best key, or 0 for "unassigned") − best key.
    let mut regret: Vec<(f64, u32)> = (0..n)
        .map(|i| {
            let (mut b1, mut b2) = (0.0f64, 0.0f64);
            for k in p.range(i) {
                let v = key(k, i);
                if v < b1 {
                    b2 = b1;
                    b1 = v;
                } else if v < b2 {
                    b2 = v;
                }
            }
            ((b2 - b1) / f64::from(p.units[i]), i as u32)
        })
        .collect();
    regret.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut st = State::empty(p);
    for &(_, i) in &regret {
        let i = i as usize;
        let u = i64::from(p.units[i]);
        let mut best = (0.0f64, NONE, 0.0f64);
        for k in p.range(i) {
            let j = p.pch[k];
            if st.free[j as usize] < u {
                continue;
            }
            let v = key(k, i);
            if v < best.0 {
                best = (v, j, p.pcost[k]);
            }
        }
        if best.1 != NONE {
            st.set(p, i, best.1, best.2);
        }
    }
    if !lambda.is_empty() {
        fill(p, &mut st);
    }
    st
}

/// Second phase after a price-guided pass: orders the prices kept out take
/// the room that is left, most valuable per unit first, on true costs.
fn fill(p: &Problem, st: &mut State) {
    let mut rest: Vec<(f64, u32)> = (0..p.num_orders())
        .filter(|&i| st.asg[i] == NONE)
        .map(|i| {
            let best = p.range(i).map(|k| p.pcost[k]).fold(0.0, f64::min);
            (best / f64::from(p.units[i]), i as u32)
        })
        .filter(|&(v, _)| v < 0.0)
        .collect();
    rest.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for &(_, i) in &rest {
        let i = i as usize;
        let u = i64::from(p.units[i]);
        let mut best = (0.0f64, NONE);
        for k in p.range(i) {
            let j = p.pch[k];
            if st.free[j as usize] >= u && p.pcost[k] < best.0 {
                best = (p.pcost[k], j);
            }
        }
        if best.1 != NONE {
            st.set(p, i, best.1, best.0);
        }
    }
}
