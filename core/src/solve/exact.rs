//! Exact mode: a sparse MILP through good_lp + HiGHS, shrunk first by
//! Lagrangian reduced-cost fixing.
//!
//! With prices `λ` and dual value `L`, any solution that uses pair (i, j) costs
//! at least `L − m_i + r_ij` (`r_ij = c_ij + u_i·λ_j`, `m_i = min(0, min_j r_ij)`),
//! and any solution that leaves i out costs at least `L − m_i`. Pairs whose
//! bound exceeds the heuristic's cost cannot be in a strictly better solution,
//! so they are dropped; orders whose "out" bound exceeds it must be assigned.
//! HiGHS then solves what is left, warm-started from the heuristic. If HiGHS
//! finds nothing better (or the restricted model is infeasible), the heuristic
//! answer was optimal.

use super::lagrange;
use super::problem::{NONE, Problem};
use super::state::State;
use super::{Budgeted, Method, OPTIMAL_GAP, Solution};
use good_lp::solvers::highs::highs;
use good_lp::{Expression, ProblemVariables, Solution as _, SolverModel, Variable, variable};

/// Relative gap HiGHS is asked for (tighter than the 1e-6 promised).
const TARGET_GAP: f64 = 5e-7;

pub(crate) fn solve_exact(p: &Problem, sol: Solution, b: Budgeted) -> Solution {
    let mut best_sol = sol;
    let best_state = b.best;
    if best_sol.method == Method::Optimal {
        return best_sol;
    }
    let pen_total: f64 = p.pen.iter().sum();
    let mut choice = vec![NONE; p.num_orders()];
    let ev = lagrange::evaluate(p, &b.lambda, &mut choice);
    let lb_c = ev.value;
    let ub_c = best_state.exact_cost();
    let tol = 1e-9 * (ub_c.abs() + pen_total).max(1.0);

    let mut vars = ProblemVariables::new();
    let mut cols: Vec<(usize, u32, f64, Variable)> = Vec::new();
    let mut forced = vec![false; p.num_orders()];
    let mut kept_by_order = vec![0usize; p.num_orders()];
    for i in 0..p.num_orders() {
        let u = f64::from(p.units[i]);
        let m_i = p
            .range(i)
            .map(|k| p.pcost[k] + u * b.lambda[p.pch[k] as usize])
            .fold(0.0, f64::min);
        forced[i] = lb_c - m_i > ub_c + tol;
        for k in p.range(i) {
            let j = p.pch[k];
            let r = p.pcost[k] + u * b.lambda[j as usize];
            if lb_c - m_i + r <= ub_c + tol {
                let init = if best_state.asg[i] == j { 1.0 } else { 0.0 };
                let v = vars.add(variable().binary().initial(init));
                cols.push((i, j, p.pcost[k], v));
                kept_by_order[i] += 1;
            }
        }
    }
    tracing::info!(
        pairs = p.num_pairs(),
        kept = cols.len(),
        forced = forced.iter().filter(|f| **f).count(),
        "exact: reduced-cost fixing"
    );
    if cols.is_empty() {
        return proven(best_sol, pen_total + ub_c);
    }
    let objective: Expression = cols.iter().map(|&(_, _, c, v)| c * v).sum();
    let mut model = vars.minimise(objective).using(highs);
    let mut by_order: Vec<Vec<Variable>> = vec![Vec::new(); p.num_orders()];
    let mut by_chan: Vec<Vec<(f64, Variable)>> = vec![Vec::new(); p.num_channels()];
    for &(i, j, _, v) in &cols {
        by_order[i].push(v);
        by_chan[j as usize].push((f64::from(p.units[i]), v));
    }
    for (i, vs) in by_order.iter().enumerate() {
        if vs.is_empty() {
            continue;
        }
        let e: Expression = vs.iter().copied().map(Expression::from).sum();
        if forced[i] {
            model = model.with(e.eq(1.0));
        } else if vs.len() > 1 {
            model = model.with(e.leq(1.0));
        }
    }
    for (j, vs) in by_chan.iter().enumerate() {
        let total: f64 = vs.iter().map(|(u, _)| u).sum();
        if total > f64::from(p.capacity[j]) {
            let e: Expression = vs.iter().map(|&(u, v)| u * v).sum();
            model = model.with(e.leq(f64::from(p.capacity[j])));
        }
    }
    let target_abs = TARGET_GAP * (pen_total + ub_c).abs().max(1.0);
    let rel = (target_abs / ub_c.abs().max(1e-9)).clamp(1e-12, 1e-4);
    model = model
        .set_option("mip_rel_gap", rel)
        .set_option("mip_abs_gap", target_abs);
    match model.solve() {
        Ok(s) => {
            let mut assignment: Vec<Option<usize>> = vec![None; p.num_orders()];
            for &(i, j, _, v) in &cols {
                if s.value(v) > 0.5 {
                    assignment[i] = Some(j as usize);
                }
            }
            if p.check(&assignment).is_err() {
                tracing::warn!("exact: HiGHS answer failed the feasibility check");
                return fallback(best_sol);
            }
            let obj = p.objective(&assignment);
            if obj < best_sol.objective {
                best_sol.assignment = assignment;
                best_sol.objective = obj;
            }
            let lb = (best_sol.objective - target_abs).max(pen_total + lb_c);
            proven(best_sol, lb)
        }
        // Nothing strictly better exists: the incumbent is optimal.
        Err(good_lp::ResolutionError::Infeasible) => proven(best_sol, pen_total + ub_c),
        Err(e) => {
            tracing::warn!(error = %e, "exact: HiGHS failed");
            fallback(best_sol)
        }
    }
}

fn proven(mut s: Solution, lb: f64) -> Solution {
    let lb = lb.min(s.objective);
    s.lower_bound = Some(lb);
    s.gap = Some((s.objective - lb).max(0.0) / s.objective.abs().max(1e-12));
    if s.gap.is_some_and(|g| g <= OPTIMAL_GAP) {
        s.method = Method::Optimal;
    }
    s
}

fn fallback(mut s: Solution) -> Solution {
    s.method = Method::Fallback;
    s
}
