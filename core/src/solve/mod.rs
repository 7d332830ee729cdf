//! The assignment solver: which channel takes which order of a batch, under
//! capacity, minimising the objective of the assignment benchmark (docs/bench-format.md).
//!
//! * **Budgeted** (default, 100 ms): when every order's cheapest channel
//!   fits, that is the optimum and the answer comes back at once (a single
//!   real-time order always ends there). Small batches then try the LP
//!   relaxation, solved exactly as a transportation problem (successive
//!   shortest paths; exact bound and channel prices), and a branch and bound
//!   on it, and stop as soon as the optimum is proven. Otherwise regret
//!   greedy, then two searches on two cores: the LP relaxation with
//!   fix-and-resolve rounding, and Lagrangian prices from coordinate ascent
//!   and subgradient steps steering the greedy. Local search (shift and
//!   ejection moves, then iterated) polishes the best. Every phase is
//!   bounded by *work* (pair visits), so the same input gives the same
//!   answer on every run; the wall clock is only a safety net, and
//!   [`Solution::clock_cut`] tells when it had to act (see [`SolveOptions`]).
//! * **Exact** (`exact` feature): the LP's exact prices fix every pair that
//!   cannot beat the heuristic's answer, and HiGHS solves the rest to a proven
//!   optimum.
//! * **Real time**: [`ChannelIndex`] decides one order against N channels
//!   without allocating.
//!
//! ```
//! use uoom::{Channel, ChannelKind, GeoPoint, Vehicle};
//! use uoom::solve::{solve, Demand, Method, Problem, SolveOptions, Weights};
//! let c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.69))
//!     .with_radius_km(8.0).with_vehicles([Vehicle::Bike]).build().unwrap();
//! let d = Demand { location: GeoPoint::new(24.71, 46.67), units: 1, vehicle: Vehicle::Bike,
//!                  deadline_min: 60.0, priority: 1 };
//! let p = Problem::new(vec![d; 3], &[c], &[2], Weights::default(), 100.0).unwrap();
//! let s = solve(&p, &SolveOptions::default()).unwrap();
//! assert_eq!(s.assignment.iter().filter(|a| a.is_some()).count(), 2);
//! assert_eq!(s.method, Method::Optimal);
//! ```

mod bnb;
mod explain;
mod flow;
mod greedy;
mod lagrange;
mod local;
mod problem;
mod realtime;
mod state;

#[cfg(feature = "exact")]
mod exact;

pub use explain::{Alternative, AssignedExplanation, Explanations, UnassignedReason};
pub use problem::{Criteria, Demand, Problem, SLACK, Weights};
pub use realtime::{ChannelIndex, Pick};

use crate::error::Result;
use problem::NONE;
use serde::{Deserialize, Serialize};
use state::State;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Pair visits per millisecond of budget. One core of the 2-core benchmark
/// machine does about 4·10⁵ when idle; the budget buys half that, so that
/// the work (problem building aside) fits the budget on a machine that gives
/// the solver half its cores, and the answer is then the same as when idle.
const WORK_PER_MS: u64 = 200_000;

/// How the solver should work.
///
/// ```
/// use uoom::solve::SolveOptions;
/// let o = SolveOptions::default().with_time_limit_ms(50).with_explain(true);
/// assert_eq!(o.time_limit_ms(), 50);
/// assert!(!o.exact());
/// ```
#[derive(Debug, Clone)]
pub struct SolveOptions {
    time_limit_ms: u64,
    exact: bool,
    explain: bool,
    started: Option<Instant>,
    clock_net: bool,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self {
            time_limit_ms: 100,
            exact: false,
            explain: false,
            started: None,
            clock_net: true,
        }
    }
}

impl SolveOptions {
    /// Time budget of the budgeted mode in ms (default 100). The answer comes
    /// back within it plus a small constant. The work done is fixed by the
    /// budget, not by the clock, so answers are reproducible; only when the
    /// machine is so loaded that the work would overrun the budget does the
    /// clock cut a phase short, and only then can the answer differ between runs.
    pub fn with_time_limit_ms(mut self, ms: u64) -> Self {
        self.time_limit_ms = ms;
        self
    }

    /// Solve to proven optimality (relative gap ≤ 1e-6) however long it takes.
    /// Needs the `exact` feature; without it the budgeted answer comes back
    /// tagged with its gap.
    pub fn with_exact(mut self, exact: bool) -> Self {
        self.exact = exact;
        self
    }

    /// Attach [`Explanations`] to the solution.
    pub fn with_explain(mut self, explain: bool) -> Self {
        self.explain = explain;
        self
    }

    /// Count the budget from `t` (e.g. when the instance was read, so that
    /// building the problem is inside the budget) instead of from the call.
    pub fn with_started_at(mut self, t: Instant) -> Self {
        self.started = Some(t);
        self
    }

    /// Turn the wall-clock safety net off (default on): the budget is then
    /// spent by work alone, so the answer is the same on every run however
    /// loaded the machine is, but it may come back after the time limit.
    /// For benchmarks of solution quality on a shared machine.
    ///
    /// ```
    /// let o = uoom::solve::SolveOptions::default().with_clock_net(false);
    /// assert!(!o.clock_net());
    /// ```
    pub fn with_clock_net(mut self, on: bool) -> Self {
        self.clock_net = on;
        self
    }

    /// Whether the wall-clock safety net is on.
    pub fn clock_net(&self) -> bool {
        self.clock_net
    }

    /// The time budget in ms.
    pub fn time_limit_ms(&self) -> u64 {
        self.time_limit_ms
    }

    /// Whether exact mode is on.
    pub fn exact(&self) -> bool {
        self.exact
    }

    /// Whether explanations are requested.
    pub fn explain(&self) -> bool {
        self.explain
    }
}

/// How an answer was found.
///
/// ```
/// assert_eq!(uoom::solve::Method::Improved.as_str(), "improved");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Proven optimal (the lower bound meets the answer within 1e-6 relative).
    Optimal,
    /// Better than the greedy answer, not proven optimal.
    Improved,
    /// The greedy answer.
    Greedy,
    /// The exact solver failed; this is the budgeted answer instead.
    Fallback,
}

impl Method {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Optimal => "optimal",
            Method::Improved => "improved",
            Method::Greedy => "greedy",
            Method::Fallback => "fallback",
        }
    }
}

/// A solver answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    /// Channel index per demand (`None`: unassigned).
    pub assignment: Vec<Option<usize>>,
    /// Objective of `assignment` (scores plus penalties).
    pub objective: f64,
    /// How it was found.
    pub method: Method,
    /// A proven lower bound on the optimum, when known.
    pub lower_bound: Option<f64>,
    /// `(objective − lower_bound) / |objective|`, when the bound is known.
    pub gap: Option<f64>,
    /// Wall time from the start (see [`SolveOptions::with_started_at`]) to the answer.
    pub solve_ms: f64,
    /// Why each demand went where it went (when asked for).
    pub explanations: Option<Explanations>,
    /// True when the wall-clock safety net stopped the work before its
    /// budget was spent (a loaded machine, or a budget too small for the
    /// instance): only then may the same input give another answer on
    /// another run. False: the answer is the one every run gives.
    #[serde(default)]
    pub clock_cut: bool,
}

/// Relative gap under which an answer counts as optimal.
pub const OPTIMAL_GAP: f64 = 1e-6;

/// Solves a batch: budgeted by default, exact with [`SolveOptions::with_exact`].
pub fn solve(problem: &Problem, opts: &SolveOptions) -> Result<Solution> {
    let started = opts.started.unwrap_or_else(Instant::now);
    let mut out = if opts.exact {
        // A longer price phase buys a tighter bound, hence more pairs fixed.
        let pre = opts
            .clone()
            .with_time_limit_ms(opts.time_limit_ms.max(1000));
        let (sol, b) = budgeted_full(problem, &pre, started);
        exact_phase(problem, sol, b)
    } else {
        budgeted_full(problem, opts, started).0
    };
    if problem.cut {
        // Orders were left unscored: no bound or proof holds for the whole batch.
        out.clock_cut = true;
        out.lower_bound = None;
        out.gap = None;
        if out.method == Method::Optimal {
            out.method = Method::Greedy;
        }
    }
    if opts.explain {
        out.explanations = Some(explain::explain(problem, &out.assignment));
    }
    out.solve_ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(out)
}

/// What the budgeted phases hand to the exact phase.
#[cfg_attr(not(feature = "exact"), allow(dead_code))]
pub(crate) struct Budgeted {
    pub best: State,
    pub lambda: Vec<f64>,
}

#[cfg(feature = "exact")]
fn exact_phase(p: &Problem, sol: Solution, b: Budgeted) -> Solution {
    if sol.method == Method::Optimal {
        return sol;
    }
    exact::solve_exact(p, sol, b)
}

#[cfg(not(feature = "exact"))]
fn exact_phase(_p: &Problem, sol: Solution, _b: Budgeted) -> Solution {
    tracing::warn!("exact mode requested but uoom was built without the `exact` feature");
    sol
}

/// A phase of the budgeted solve, at debug level, with the time since the start.
macro_rules! tr {
    ($started:expr, $($a:tt)*) => {
        tracing::debug!(ms = $started.elapsed().as_secs_f64() * 1e3, "{}", format!($($a)*))
    };
}

pub(crate) fn budgeted_full(
    p: &Problem,
    opts: &SolveOptions,
    started: Instant,
) -> (Solution, Budgeted) {
    let pen_total: f64 = p.pen.iter().sum();
    let limit = Duration::from_millis(opts.time_limit_ms);
    // The safety net: leave 3 ms for explanations and output.
    let net = limit.saturating_sub(Duration::from_millis(3));
    let budget = opts.time_limit_ms.saturating_mul(WORK_PER_MS);
    let pairs = p.num_pairs().max(1) as u64;
    tr!(started, "start pairs={pairs}");

    // Every order on its cheapest channel, when that fits, is optimal: no
    // search, no thread (a single real-time order ends here).
    if let Some(st) = trivially_optimal(p) {
        let lambda = vec![0.0; p.num_channels()];
        let sol = make_solution(p, &st, st.cost, st.cost, pen_total, started);
        return (sol, Budgeted { best: st, lambda });
    }
    let t_greedy = Instant::now();
    let greedy_st = greedy::regret_greedy(p, &[]);
    // The safety net looks one phase ahead: a phase (a sweep over the pairs,
    // a greedy pass) takes about as long as the first greedy did, so none
    // starts that would overrun the budget.
    let lookahead = t_greedy.elapsed();
    let cut = AtomicBool::new(false);
    let late = || {
        let l = opts.clock_net && !opts.exact && started.elapsed() + lookahead >= net;
        if l {
            cut.store(true, Ordering::Relaxed);
        }
        l
    };
    let greedy_cost = greedy_st.exact_cost();
    tr!(started, "greedy {greedy_cost}");
    if late() {
        // No time for anything else: the greedy answer, with the bound of
        // every order on its cheapest channel.
        let bound: f64 = (0..p.num_orders())
            .map(|i| p.range(i).map(|k| p.pcost[k]).fold(0.0, f64::min))
            .sum();
        let mut sol = make_solution(p, &greedy_st, bound, greedy_cost, pen_total, started);
        sol.clock_cut = true;
        let lambda = vec![0.0; p.num_channels()];
        return (
            sol,
            Budgeted {
                best: greedy_st,
                lambda,
            },
        );
    }
    let ba = local::best_any(p);
    // Small instances: the LP, its rounding and a branch and bound often
    // prove the optimum in a fraction of the budget; stop there if so.
    // (Exact mode leaves the proof to HiGHS, whose cuts close the gap faster.)
    let small = if p.num_orders() <= PROVE_ORDERS && !opts.exact {
        prove_small(p, &greedy_st, &ba, budget, &late)
    } else {
        None
    };
    let mut spent = 0;
    let mut start_best = greedy_st;
    if let Some(sm) = small {
        if sm.proven {
            let best = sm.best;
            let tol = OPTIMAL_GAP * 0.1 * (best.cost + pen_total).abs().max(1.0);
            let mut sol = make_solution(p, &best, best.cost - tol, greedy_cost, pen_total, started);
            sol.clock_cut = cut.load(Ordering::Relaxed);
            return (
                sol,
                Budgeted {
                    best,
                    lambda: sm.lambda,
                },
            );
        }
        spent = sm.work;
        start_best = sm.best;
    }
    let budget = budget.saturating_sub(spent);
    let greedy_st = start_best;
    tr!(started, "small done spent={spent} best={}", greedy_st.cost);
    // Two searches side by side, each with its own work budget (so the pair
    // is as deterministic as either): the exact LP relaxation, rounded and
    // polished, and the subgradient-priced greedy with local search. The LP
    // gives the bound and usually the answer; the priced search stands in
    // when the LP does not fit the budget and sometimes wins on scarce
    // capacity, where rounding the LP's split orders costs most. Each side
    // gets the whole budget (they run at once); the iterated local search
    // after them uses what they leave.
    let side = budget;
    let ((lp, lp_st, lp_work), (mut asc, pr_st, pr_work)) = rayon::join(
        || {
            // Cut short, the LP still places the orders it searched; the
            // rounding puts the rest on their cheapest channel with room.
            let (lp, mut work) = flow::solve_lp(p, side, &late);
            tr!(
                started,
                "lp done complete={} work={work} value={}",
                lp.complete,
                lp.value
            );
            let lp_work = work;
            // Fix-and-resolve from the LP: each round fixes the orders the
            // LP places whole with a clear margin (then the split ones) and
            // solves the LP of the rest, which shrinks fast.
            let dived = if lp.complete {
                // Past a sixth of the budget per LP, only the geometric
                // dive fits (with the local search after it).
                let geometric = lp_work.saturating_mul(6) > side;
                let (d, w) = flow::dive(
                    p,
                    Some(lp.clone()),
                    geometric,
                    side.saturating_sub(work),
                    &late,
                );
                work += w;
                d
            } else {
                None
            };
            tr!(
                started,
                "dive {:?} work={work}",
                dived.as_ref().map(|d| d.cost)
            );
            let mut st = match dived {
                Some(mut d) => {
                    work += local::improve(p, &mut d, &ba, side.saturating_sub(work), &late);
                    d
                }
                None => {
                    let mut st = flow::round(p, &lp);
                    work += local::improve(p, &mut st, &ba, side.saturating_sub(work), &late);
                    st
                }
            };
            st.cost = st.exact_cost();
            tr!(started, "lp path {} work={work}", st.cost);
            (lp, st, work)
        },
        || priced(p, &greedy_st, &ba, side, &late),
    );
    tr!(
        started,
        "join done priced={} work={pr_work} lp={} work={lp_work}",
        pr_st.cost,
        lp_st.cost
    );
    let mut best = pr_st;
    let mut work = pr_work.max(lp_work) + 2 * pairs;
    if lp_st.cost < best.cost - 1e-12 {
        best = lp_st;
    }
    if lp.complete {
        // A valid bound whatever rounding did to the LP's own figure.
        let mut choice = vec![NONE; p.num_orders()];
        let v = lagrange::evaluate(p, &lp.lambda, &mut choice).value;
        work += pairs;
        if v > asc.best_value {
            asc.best_value = v;
            asc.best_lambda.clone_from(&lp.lambda);
        }
        tracing::debug!(
            lp = lp.value,
            bound = v,
            best = best.cost,
            "LP relaxation solved"
        );
    }
    let gap_ok = |ub: f64, lb: f64| ub - lb <= OPTIMAL_GAP * 0.1 * (ub + pen_total).abs().max(1.0);
    if !gap_ok(best.cost, asc.best_value) && work < budget && !late() {
        // Iterated local search with the rest of the budget (in exact mode
        // only a little: HiGHS closes the gap, the search only lowers the cutoff).
        let rest = budget.saturating_sub(work);
        let rest = if opts.exact {
            rest.min(50 * pairs)
        } else {
            rest
        };
        work += local::perturb_and_improve(p, &mut best, &ba, rest, &late);
    }
    best.cost = best.exact_cost();
    tr!(
        started,
        "perturb done {} work={work} bound={}",
        best.cost,
        asc.best_value
    );
    tracing::debug!(work, lp = lp.complete, "budgeted solve done");
    let mut sol = make_solution(p, &best, asc.best_value, greedy_cost, pen_total, started);
    sol.clock_cut = cut.load(Ordering::Relaxed);
    (
        sol,
        Budgeted {
            best,
            lambda: std::mem::take(&mut asc.best_lambda),
        },
    )
}

/// Instances with at most this many orders try [`prove_small`] first.
const PROVE_ORDERS: usize = 1000;

/// What [`prove_small`] found.
struct Small {
    best: State,
    proven: bool,
    lambda: Vec<f64>,
    work: u64,
}

/// The LP relaxation, its rounding polished by local search, then a branch
/// and bound on the LP within a third of the budget. `None` when the LP
/// alone does not fit a tenth of it.
fn prove_small(
    p: &Problem,
    greedy_st: &State,
    ba: &[f64],
    budget: u64,
    late: &dyn Fn() -> bool,
) -> Option<Small> {
    let pen_total: f64 = p.pen.iter().sum();
    let (lp, mut work) = flow::solve_lp(p, budget / 10, late);
    if !lp.complete {
        return None;
    }
    let mut best = flow::round(p, &lp);
    work += local::improve(p, &mut best, ba, budget / 10, late);
    best.cost = best.exact_cost();
    if greedy_st.cost < best.cost {
        best = greedy_st.clone();
    }
    let tol = OPTIMAL_GAP * 0.1 * (best.cost + pen_total).abs().max(1.0);
    let proven = if best.cost - lp.value <= tol {
        true
    } else {
        let out = bnb::search(p, &mut best, tol, (budget / 3).saturating_sub(work), late);
        work += out.work;
        tracing::debug!(proven = out.proven, work, "branch and bound");
        out.proven
    };
    Some(Small {
        best,
        proven,
        lambda: lp.lambda,
        work,
    })
}

/// The priced search: coordinate ascent and subgradient steps on the
/// capacity prices, a price-guided greedy every few steps, local search on
/// each. Returns the prices' state, the best answer and the work spent.
fn priced(
    p: &Problem,
    greedy_st: &State,
    ba: &[f64],
    price_budget: u64,
    late: &(dyn Fn() -> bool + Sync),
) -> (lagrange::Ascent, State, u64) {
    let pairs = p.num_pairs().max(1) as u64;
    let mut best = greedy_st.clone();
    let mut work = 2 * pairs;
    let mut asc = lagrange::Ascent::new(p);
    // Coordinate ascent gives a strong start when capacity is not scarce; when
    // demand exceeds capacity its thresholds swing too far and subgradient
    // steps from zero prices do better (measured on the t- family).
    let demand: u64 = p.units.iter().map(|&u| u64::from(u)).sum();
    let supply: u64 = p.capacity.iter().map(|&c| u64::from(c)).sum();
    if demand <= supply {
        work += lagrange::coordinate_ascent(p, &mut asc.lambda, 8, &late);
        // Records the bound of these prices (one sweep).
        asc.step(p, best.cost);
        work += pairs;
        let mut st = greedy::regret_greedy(p, &asc.best_lambda);
        work += 2 * pairs;
        let cap = (price_budget.saturating_sub(work)).min(4 * pairs);
        work += local::improve(p, &mut st, ba, cap, &late);
        st.cost = st.exact_cost();
        if st.cost < best.cost - 1e-12 {
            best = st;
        }
    }
    let mut iter = 0u32;
    while work + pairs <= price_budget && !late() {
        asc.step(p, best.cost);
        work += pairs;
        iter += 1;
        if iter % 10 == 0 || asc.converged() {
            let mut st = greedy::regret_greedy(p, &asc.lambda);
            work += 2 * pairs;
            let cap = (price_budget.saturating_sub(work)).min(4 * pairs);
            work += local::improve(p, &mut st, ba, cap, &late);
            st.cost = st.exact_cost();
            if st.cost < best.cost - 1e-12 {
                best = st;
            }
            if asc.converged() {
                break;
            }
        }
    }
    if !late() {
        work += local::improve(p, &mut best, ba, price_budget.saturating_sub(work), &late);
        best.cost = best.exact_cost();
    }
    (asc, best, work)
}

/// Every order on its cheapest useful channel, if that keeps every channel
/// within capacity: then no assignment is cheaper. With a single order, its
/// cheapest channel with room. `None` otherwise.
fn trivially_optimal(p: &Problem) -> Option<State> {
    let mut st = State::empty(p);
    let n = p.num_orders();
    for i in 0..n {
        let u = i64::from(p.units[i]);
        let mut best = (0.0, NONE);
        for k in p.range(i) {
            if p.pcost[k] < best.0 && (n > 1 || st.free[p.pch[k] as usize] >= u) {
                best = (p.pcost[k], p.pch[k]);
            }
        }
        if best.1 != NONE {
            if st.free[best.1 as usize] < u {
                return None;
            }
            st.set(p, i, best.1, best.0);
        }
    }
    st.cost = st.exact_cost();
    Some(st)
}

pub(crate) fn make_solution(
    p: &Problem,
    best: &State,
    dual: f64,
    greedy_cost: f64,
    pen_total: f64,
    started: Instant,
) -> Solution {
    let assignment = best.to_assignment();
    let objective = p.objective(&assignment);
    let lb = if dual.is_finite() {
        Some((pen_total + dual).min(objective))
    } else {
        None
    };
    let gap = lb.map(|lb| (objective - lb).max(0.0) / objective.abs().max(1e-12));
    let method = if gap.is_some_and(|g| g <= OPTIMAL_GAP) {
        Method::Optimal
    } else if best.cost < greedy_cost - 1e-9 {
        Method::Improved
    } else {
        Method::Greedy
    };
    Solution {
        assignment,
        objective,
        method,
        lower_bound: lb,
        gap,
        solve_ms: started.elapsed().as_secs_f64() * 1e3,
        explanations: None,
        clock_cut: false,
    }
}
