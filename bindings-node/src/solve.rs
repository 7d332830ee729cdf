//! Batch assignment: `solve` (a Promise, off the event loop) and `solveSync`
//! over an instance of the benchmark spec, answering in the spec's solution
//! shape (snake_case keys, as `uoom solve` writes them).

use crate::errors::OrThrow;
use crate::input::JsonInput;
use crate::tasks::solve::SolveTask;
use napi::bindgen_prelude::*;
use uoom::solve::SolveOptions as CoreOptions;
use uoom::wire::SolutionFile;

/// Options of `solve` / `solveSync`.
#[napi(object)]
#[derive(Clone, Copy, Default)]
pub struct SolveOptions {
    /// Time budget in ms (default 100); ignored when `exact` is set.
    pub time_limit_ms: Option<u32>,
    /// Solve to proven optimality (relative gap ≤ 1e-6), however long it takes.
    pub exact: Option<bool>,
    /// Explain every assignment (runner-up, score split) and unassigned order.
    pub explain: Option<bool>,
}

impl SolveOptions {
    fn to_core(self) -> CoreOptions {
        CoreOptions::default()
            .with_time_limit_ms(u64::from(self.time_limit_ms.unwrap_or(100)))
            .with_exact(self.exact.unwrap_or(false))
            .with_explain(self.explain.unwrap_or(false))
    }
}

/// An instance as JS gives it: an object of the spec's shape, or its JSON
/// text (string or Buffer: skips building a JS object, the faster path).
pub type InstanceInput = JsonInput;

/// Reads, solves and renders: the whole CPU-bound job, runnable on any thread.
pub fn run(bytes: uoom::Result<Vec<u8>>, opts: SolveOptions) -> uoom::Result<SolutionFile> {
    let inst = uoom::wire::Instance::from_json(&bytes?)?;
    // solve_ms as the spec and `uoom solve` count it: from the instance in
    // memory, model building included.
    let started = std::time::Instant::now();
    let problem = inst.to_problem()?;
    let sol = uoom::solve::solve(&problem, &opts.to_core().with_started_at(started))?;
    Ok(SolutionFile::new(&inst, &sol))
}

/// `{order, channel}`: one assignment.
#[napi(object)]
pub struct Assignment {
    /// Order id.
    pub order: String,
    /// Channel id.
    pub channel: String,
}

/// A score split by criterion (each already weighted).
#[napi(object)]
pub struct Criteria {
    /// Weighted delivery cost.
    pub cost: f64,
    /// Weighted ETA.
    pub time: f64,
    /// Weighted `1 - quality`.
    pub quality: f64,
}

impl From<uoom::solve::Criteria> for Criteria {
    fn from(c: uoom::solve::Criteria) -> Self {
        Criteria {
            cost: c.cost,
            time: c.time,
            quality: c.quality,
        }
    }
}

/// The best other feasible channel of an assignment.
#[napi(object)]
pub struct RunnerUp {
    /// Channel id.
    pub channel: String,
    /// Its score.
    pub score: f64,
    /// Its score minus the chosen one's, per criterion.
    pub diff: Criteria,
}

/// Why an order went where it went.
#[napi(object)]
pub struct AssignedExplanation {
    /// Order id.
    pub order: String,
    /// Chosen channel id.
    pub channel: String,
    /// Chosen score by criterion.
    pub criteria: Criteria,
    /// Best alternative, if any.
    #[napi(js_name = "runner_up")]
    pub runner_up: Option<RunnerUp>,
}

/// Why an order stayed unassigned.
#[napi(object)]
pub struct UnassignedExplanation {
    /// Order id.
    pub order: String,
    /// `no_channel_in_radius` | `vehicle_mismatch` | `deadline_unreachable` | `channel_down` | `capacity`…
    pub reason: String,
}

/// Explanations of a solution.
#[napi(object)]
pub struct Explanations {
    /// One per assignment.
    pub assigned: Vec<AssignedExplanation>,
    /// One per unassigned order.
    pub unassigned: Vec<UnassignedExplanation>,
}

/// The spec's solution (snake_case keys, as `uoom solve` writes them), plus
/// how it was found.
#[napi(object)]
pub struct Solution {
    /// Instance name.
    pub instance: String,
    /// Assigned pairs.
    pub assignments: Vec<Assignment>,
    /// Ids of unassigned orders.
    pub unassigned: Vec<String>,
    /// Objective (spec's definition).
    pub objective: f64,
    /// Solver wall time, instance in memory to finished assignment.
    #[napi(js_name = "solve_ms")]
    pub solve_ms: f64,
    /// `optimal` | `improved` | `greedy` | `fallback`.
    #[napi(ts_type = "'optimal' | 'improved' | 'greedy' | 'fallback'")]
    pub method: String,
    /// Proven lower bound, when known.
    #[napi(js_name = "lower_bound")]
    pub lower_bound: Option<f64>,
    /// Relative gap to the bound, when known.
    pub gap: Option<f64>,
    /// Present when `explain` was asked for.
    pub explanations: Option<Explanations>,
}

impl From<SolutionFile> for Solution {
    fn from(f: SolutionFile) -> Self {
        Solution {
            instance: f.instance,
            assignments: f
                .assignments
                .into_iter()
                .map(|a| Assignment {
                    order: a.order,
                    channel: a.channel,
                })
                .collect(),
            unassigned: f.unassigned,
            objective: f.objective,
            solve_ms: f.solve_ms,
            method: f.method,
            lower_bound: f.lower_bound,
            gap: f.gap,
            explanations: f.explanations.map(|e| Explanations {
                assigned: e
                    .assigned
                    .into_iter()
                    .map(|a| AssignedExplanation {
                        order: a.order,
                        channel: a.channel,
                        criteria: a.criteria.into(),
                        runner_up: a.runner_up.map(|r| RunnerUp {
                            channel: r.channel,
                            score: r.score,
                            diff: r.diff.into(),
                        }),
                    })
                    .collect(),
                unassigned: e
                    .unassigned
                    .into_iter()
                    .map(|u| UnassignedExplanation {
                        order: u.order,
                        reason: u.reason,
                    })
                    .collect(),
            }),
        }
    }
}

/// Solves a batch on libuv's thread pool: the event loop keeps running, and
/// the Promise resolves to the spec's solution shape or rejects with a coded
/// `Error` (`UOOM_VALIDATION` with `fieldErrors` naming e.g. `orders[3].units`).
#[napi(
    ts_args_type = "instance: Instance | string | Buffer, options?: SolveOptions",
    ts_return_type = "Promise<Solution>"
)]
pub fn solve(instance: InstanceInput, options: Option<SolveOptions>) -> AsyncTask<SolveTask> {
    AsyncTask::new(SolveTask::new(
        instance.bytes().map(<[u8]>::to_vec),
        options.unwrap_or_default(),
    ))
}

/// The blocking twin of `solve`, for scripts and worker threads.
#[napi(ts_args_type = "instance: Instance | string | Buffer, options?: SolveOptions")]
pub fn solve_sync(
    env: Env,
    instance: InstanceInput,
    options: Option<SolveOptions>,
) -> Result<Solution> {
    run(
        instance.bytes().map(<[u8]>::to_vec),
        options.unwrap_or_default(),
    )
    .map(Solution::from)
    .or_throw(&env)
}

/// An assignment instance (the shape `uoom solve` reads; snake_case keys). Only a
/// type: instances are checked by `uoom::wire`, every problem reported with
/// its path.
#[napi(object, object_to_js = false)]
#[allow(dead_code)] // a shape for index.d.ts: instances are read by the core
pub struct Instance {
    /// Instance name.
    pub name: String,
    /// Score weights.
    pub weights: InstanceWeights,
    /// Penalty per unassigned order, times its priority.
    #[napi(js_name = "unassigned_penalty")]
    pub unassigned_penalty: f64,
    /// The orders.
    pub orders: Vec<InstanceOrder>,
    /// The channels.
    pub channels: Vec<InstanceChannel>,
}

/// Weights of the objective.
#[napi(object, object_to_js = false)]
#[allow(dead_code)] // a shape for index.d.ts: instances are read by the core
pub struct InstanceWeights {
    /// Weight of the delivery cost.
    pub cost: f64,
    /// Weight of the ETA (minutes).
    pub time: f64,
    /// Weight of `1 - quality`.
    pub quality: f64,
}

/// One order of an instance.
#[napi(object, object_to_js = false)]
#[allow(dead_code)] // a shape for index.d.ts: instances are read by the core
pub struct InstanceOrder {
    /// Order id.
    pub id: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Capacity units it consumes.
    pub units: u32,
    /// `bike` | `car` | `van` | `refrigerated`.
    #[napi(ts_type = "'bike' | 'car' | 'van' | 'refrigerated'")]
    pub vehicle: String,
    /// Deadline in minutes.
    #[napi(js_name = "deadline_min")]
    pub deadline_min: f64,
    /// Priority (multiplies the unassigned penalty).
    pub priority: u32,
}

/// One channel of an instance: the channel spec, in snake_case.
#[napi(object, object_to_js = false)]
#[allow(dead_code)] // a shape for index.d.ts: instances are read by the core
pub struct InstanceChannel {
    /// Channel id.
    pub id: String,
    /// Channel kind.
    #[napi(ts_type = "'internal_kitchen' | 'dark_store' | 'external_partner' | 'partner_network'")]
    pub kind: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Radius in km.
    #[napi(js_name = "radius_km")]
    pub radius_km: f64,
    /// Units left in the window (default 0).
    pub capacity: Option<u32>,
    /// Vehicles (default `['bike']`).
    #[napi(ts_type = "Array<'bike' | 'car' | 'van' | 'refrigerated'>")]
    pub vehicles: Option<Vec<String>>,
    /// Fixed cost.
    #[napi(js_name = "base_cost")]
    pub base_cost: f64,
    /// Cost per km.
    #[napi(js_name = "cost_per_km")]
    pub cost_per_km: f64,
    /// Preparation minutes.
    #[napi(js_name = "prep_min")]
    pub prep_min: f64,
    /// Speed, km/h.
    #[napi(js_name = "speed_kmh")]
    pub speed_kmh: f64,
    /// Quality in [0, 1].
    pub quality: f64,
    /// `up` (default) | `degraded` | `down`.
    #[napi(ts_type = "'up' | 'degraded' | 'down'")]
    pub status: Option<String>,
}
