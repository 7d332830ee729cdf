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
//!
//! The fixing is only as strong as the incumbent: with a heuristic 1 % above
//! the bound almost nothing is fixed. So a first HiGHS run on a small core
//! (pairs whose bound is within a sliver of the dual value, nothing forced)
//! lowers the incumbent cheaply; the proving run then fixes with that.

use super::lagrange;
use super::problem::{NONE, Problem};
use super::{Budgeted, Method, OPTIMAL_GAP, Solution};
use good_lp::solvers::highs::highs;
use good_lp::{Expression, ProblemVariables, Solution as _, SolverModel, Variable, variable};

/// Relative gap HiGHS is asked for (tighter than the 1e-6 promised).
const TARGET_GAP: f64 = 5e-7;

pub(crate) fn solve_exact(p: &Problem, sol: Solution, b: Budgeted) -> Solution {
    let mut best_sol = sol;
    if best_sol.method == Method::Optimal {
        return best_sol;
    }
    let pen_total: f64 = p.pen.iter().sum();
    let mut choice = vec![NONE; p.num_orders()];
    let lb_c = lagrange::evaluate(p, &b.lambda, &mut choice).value;
    let mut incumbent = b.best.to_assignment();
    let mut ub_c = b.best.exact_cost();
    let scale = (ub_c + pen_total).abs().max(1.0);
    let target_abs = TARGET_GAP * scale;

    // Phase 1: a small core to lower the incumbent.
    let sliver = (ub_c - lb_c) * 0.05;
    if sliver > target_abs {
        let model = Restricted::new(p, &b.lambda, lb_c, lb_c + sliver, false, &incumbent);
        tracing::info!(kept = model.cols.len(), "exact: core model");
        if let Ok(a) = model.solve(p, target_abs, ub_c, Some(60.0)) {
            let c = p.objective(&a) - pen_total;
            if p.check(&a).is_ok() && c < ub_c {
                ub_c = c;
                incumbent = a;
            }
        }
    }
    // Phase 2: the proving run, with every pair that could beat the incumbent.
    let model = Restricted::new(p, &b.lambda, lb_c, ub_c, true, &incumbent);
    tracing::info!(
        pairs = p.num_pairs(),
        kept = model.cols.len(),
        forced = model.forced,
        "exact: reduced-cost fixing"
    );
    let incumbent_obj = p.objective(&incumbent);
    if incumbent_obj < best_sol.objective {
        best_sol.assignment = incumbent;
        best_sol.objective = incumbent_obj;
    }
    if model.cols.is_empty() {
        return proven(best_sol, pen_total + ub_c);
    }
    match model.solve(p, target_abs, ub_c, None) {
        Ok(a) => {
            if p.check(&a).is_err() {
                tracing::warn!("exact: HiGHS answer failed the feasibility check");
                return fallback(best_sol);
            }
            let obj = p.objective(&a);
            if obj < best_sol.objective {
                best_sol.assignment = a;
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

/// The MILP over the pairs that survive fixing against `cutoff`.
struct Restricted {
    vars: ProblemVariables,
    cols: Vec<(usize, u32, f64, Variable)>,
    forced_rows: Vec<bool>,
    forced: usize,
}

impl Restricted {
    /// Keeps pair (i, j) when its Lagrangian bound `L − m_i + r_ij` is at most
    /// `cutoff`; with `force`, orders whose "out" bound exceeds it must be assigned.
    fn new(
        p: &Problem,
        lambda: &[f64],
        lb_c: f64,
        cutoff: f64,
        force: bool,
        warm: &[Option<usize>],
    ) -> Self {
        let tol = 1e-9 * cutoff.abs().max(1.0);
        let mut vars = ProblemVariables::new();
        let mut cols = Vec::new();
        let mut forced_rows = vec![false; p.num_orders()];
        for i in 0..p.num_orders() {
            let u = f64::from(p.units[i]);
            let m_i = p
                .range(i)
                .map(|k| p.pcost[k] + u * lambda[p.pch[k] as usize])
                .fold(0.0, f64::min);
            forced_rows[i] = force && lb_c - m_i > cutoff + tol;
            for k in p.range(i) {
                let j = p.pch[k];
                let r = p.pcost[k] + u * lambda[j as usize];
                if lb_c - m_i + r <= cutoff + tol {
                    let init = if warm[i] == Some(j as usize) {
                        1.0
                    } else {
                        0.0
                    };
                    let v = vars.add(variable().binary().initial(init));
                    cols.push((i, j, p.pcost[k], v));
                }
            }
        }
        let forced = forced_rows.iter().filter(|f| **f).count();
        Restricted {
            vars,
            cols,
            forced_rows,
            forced,
        }
    }

    fn solve(
        self,
        p: &Problem,
        target_abs: f64,
        ub_c: f64,
        time_limit_s: Option<f64>,
    ) -> Result<Vec<Option<usize>>, good_lp::ResolutionError> {
        let cols = self.cols;
        let objective: Expression = cols.iter().map(|&(_, _, c, v)| c * v).sum();
        let mut model = self.vars.minimise(objective).using(highs);
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
            if self.forced_rows[i] {
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
        // HiGHS sees Σ c·x without the constant Σ penalties: express the
        // promised gap (relative to the full objective) in its terms.
        let rel = (target_abs / ub_c.abs().max(1e-9)).clamp(1e-12, 1e-4);
        model = model
            .set_option("mip_rel_gap", rel)
            .set_option("mip_abs_gap", target_abs);
        if let Some(t) = time_limit_s {
            model = model.set_time_limit(t);
        }
        let s = model.solve()?;
        let mut assignment: Vec<Option<usize>> = vec![None; p.num_orders()];
        for &(i, j, _, v) in &cols {
            if s.value(v) > 0.5 {
                assignment[i] = Some(j as usize);
            }
        }
        Ok(assignment)
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
