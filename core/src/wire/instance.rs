//! The assignment instance and its solution: the batch solver's JSON
//! formats (fields listed on [`Instance::from_value`]). An instance is read
//! with errors that name the culprit (`orders[3].units`,
//! `channels[7].status`); a solution is written in the shape `uoom solve`
//! prints.
//!
//! ```
//! use uoom::wire::{Instance, SolutionFile};
//! use uoom::solve::{solve, SolveOptions};
//! let json = br#"{"name": "tiny", "weights": {"cost": 1.0, "time": 0.1, "quality": 10.0},
//!   "unassigned_penalty": 100.0,
//!   "orders": [{"id": "o1", "lat": 24.71, "lon": 46.67, "units": 2, "vehicle": "bike",
//!               "deadline_min": 45.0, "priority": 1}],
//!   "channels": [{"id": "c3", "kind": "dark_store", "lat": 24.70, "lon": 46.69,
//!     "radius_km": 8.0, "capacity": 60, "vehicles": ["bike", "car"], "base_cost": 2.1,
//!     "cost_per_km": 0.65, "prep_min": 9.0, "speed_kmh": 24.0, "quality": 0.91, "status": "up"}]}"#;
//! let inst = Instance::from_json(json).unwrap();
//! let problem = inst.to_problem().unwrap();
//! let sol = solve(&problem, &SolveOptions::default()).unwrap();
//! let file = SolutionFile::new(&inst, &sol);
//! assert_eq!(file.assignments[0].channel, "c3");
//!
//! let bad = br#"{"name": "x", "weights": {"cost": 1, "time": 0, "quality": 0},
//!   "unassigned_penalty": 1, "orders": [{"id": "o1", "lat": 0, "lon": 0, "units": -1,
//!   "vehicle": "bike", "deadline_min": 1, "priority": 1}], "channels": []}"#;
//! let err = Instance::from_json(bad).unwrap_err();
//! assert_eq!(err.field_errors()[0].field, "orders[0].units");
//! ```

use super::Case;
use super::channel::read_channel_list;
use super::read::{Reader, index};
use crate::error::{Error, Result};
use crate::model::channel::{Channel, Vehicle};
use crate::model::geo::GeoPoint;
use crate::solve::{Criteria, Demand, Explanations, Problem, Solution, Weights};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// One order of an instance: its id and what it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// Order id.
    pub id: String,
    /// What the order needs.
    pub demand: Demand,
}

/// An assignment instance, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Instance name.
    pub name: String,
    /// Scoring weights.
    pub weights: Weights,
    /// Penalty per unassigned order, multiplied by its priority.
    pub unassigned_penalty: f64,
    /// Orders, in file order.
    pub orders: Vec<OrderRecord>,
    /// Channels, in file order (`capacity` is what each has left).
    pub channels: Vec<Channel>,
}

impl Instance {
    /// Parses and validates an instance from JSON text; every problem is
    /// reported with its path (`orders[3].units`), never a panic.
    pub fn from_json(bytes: &[u8]) -> Result<Instance> {
        let root: Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::invalid("", "invalid_json", format!("not valid JSON: {e}")))?;
        Instance::from_value(&root)
    }

    /// Validates an instance already parsed into a JSON value. Keys are
    /// snake_case in every language:
    ///
    /// - `name` (string), `weights` (`{cost, time, quality}`, numbers),
    ///   `unassigned_penalty` (number >= 0), all required;
    /// - `orders`: `{id, lat, lon, units (>= 1), vehicle, deadline_min,
    ///   priority (>= 1)}`, every field required, ids unique;
    /// - `channels`: channel specs ([`crate::wire::parse_channel`]), ids unique.
    ///
    /// Unknown top-level keys (`city`, …) are ignored; unknown keys of a
    /// channel, an order or the weights are `unknown_field`.
    ///
    /// ```
    /// let err = uoom::wire::Instance::from_value(&serde_json::json!([])).unwrap_err();
    /// assert_eq!(err.field_errors()[0].code, "invalid_type");
    /// ```
    pub fn from_value(root: &Value) -> Result<Instance> {
        let Some(root) = root.as_object() else {
            return Err(Error::invalid(
                "",
                "invalid_type",
                "the instance must be a JSON object",
            ));
        };
        let mut r = Reader::new(Case::Snake);
        let name = r.string(root, "", "name").unwrap_or_default().to_owned();
        let weights = r.get(root, "", "weights").and_then(|w| {
            let w = r.object(w, "weights", "weights")?;
            r.deny_unknown(w, "weights", &["cost", "time", "quality"]);
            let cost = r.num(w, "weights", "cost");
            let time = r.num(w, "weights", "time");
            let quality = r.num(w, "weights", "quality");
            Some(Weights {
                cost: cost?,
                time: time?,
                quality: quality?,
            })
        });
        let penalty = r.num(root, "", "unassigned_penalty");
        let unassigned_penalty = r.range(penalty, "", "unassigned_penalty", 0.0, f64::INFINITY);
        let orders = read_orders(&mut r, root);
        let channels_value = r.get(root, "", "channels");
        let channels = read_channel_list(&mut r, channels_value, "channels");
        if !r.errs.is_empty() {
            return Err(Error::Validation(r.errs));
        }
        Ok(Instance {
            name,
            weights: weights.unwrap_or_default(),
            unassigned_penalty: unassigned_penalty.unwrap_or_default(),
            orders,
            channels,
        })
    }

    /// The instance in its JSON shape, every field written: what
    /// [`Instance::from_value`] reads back to the same instance.
    ///
    /// ```
    /// let v = serde_json::json!({"name": "n", "weights": {"cost": 1, "time": 0, "quality": 0},
    ///     "unassigned_penalty": 1, "orders": [], "channels": []});
    /// let inst = uoom::wire::Instance::from_value(&v).unwrap();
    /// assert_eq!(uoom::wire::Instance::from_value(&inst.to_value()).unwrap(), inst);
    /// ```
    pub fn to_value(&self) -> Value {
        let orders: Vec<Value> = self
            .orders
            .iter()
            .map(|o| {
                serde_json::json!({
                    "id": o.id,
                    "lat": o.demand.location.lat,
                    "lon": o.demand.location.lon,
                    "units": o.demand.units,
                    "vehicle": o.demand.vehicle.as_str(),
                    "deadline_min": o.demand.deadline_min,
                    "priority": o.demand.priority,
                })
            })
            .collect();
        serde_json::json!({
            "name": self.name,
            "weights": {"cost": self.weights.cost, "time": self.weights.time, "quality": self.weights.quality},
            "unassigned_penalty": self.unassigned_penalty,
            "orders": orders,
            "channels": self.channels.iter().map(|c| super::channel_to_value(c, Case::Snake)).collect::<Vec<_>>(),
        })
    }

    /// The solver's problem (capacity = each channel's `capacity`).
    pub fn to_problem(&self) -> Result<Problem> {
        self.to_problem_until(None)
    }

    /// [`Instance::to_problem`] with a deadline on scoring the pairs (see
    /// [`Problem::new_until`]).
    ///
    /// ```
    /// # let json = br#"{"name": "tiny", "weights": {"cost": 1.0, "time": 0.0, "quality": 0.0},
    /// #   "unassigned_penalty": 100.0,
    /// #   "channels": [{"id": "c1", "kind": "dark_store", "lat": 0.0, "lon": 0.0, "radius_km": 5.0,
    /// #     "capacity": 2, "vehicles": ["bike"], "base_cost": 1.0, "cost_per_km": 0.1,
    /// #     "prep_min": 5.0, "speed_kmh": 20.0, "quality": 0.9, "status": "up"}],
    /// #   "orders": [{"id": "o1", "lat": 0.01, "lon": 0.0, "units": 1, "vehicle": "bike",
    /// #     "deadline_min": 60.0, "priority": 1}]}"#;
    /// let inst = uoom::wire::Instance::from_json(json).unwrap();
    /// let far = std::time::Instant::now() + std::time::Duration::from_secs(60);
    /// assert_eq!(inst.to_problem_until(Some(far)).unwrap().num_orders(), 1);
    /// ```
    pub fn to_problem_until(&self, deadline: Option<std::time::Instant>) -> Result<Problem> {
        let capacity: Vec<u32> = self.channels.iter().map(|c| c.capacity).collect();
        Problem::new_until(
            self.orders.iter().map(|o| o.demand).collect(),
            &self.channels,
            &capacity,
            self.weights,
            self.unassigned_penalty,
            deadline,
        )
        .map_err(rename_paths)
    }
}

/// Problem paths say `demands[i]`; in an instance the same thing is `orders[i]`.
fn rename_paths(e: Error) -> Error {
    match e {
        Error::Validation(v) => Error::Validation(
            v.into_iter()
                .map(|mut f| {
                    if let Some(rest) = f.field.strip_prefix("demands") {
                        f.field = format!("orders{rest}");
                    }
                    f
                })
                .collect(),
        ),
        other => other,
    }
}

const ORDER_FIELDS: [&str; 7] = [
    "id",
    "lat",
    "lon",
    "units",
    "vehicle",
    "deadline_min",
    "priority",
];

fn read_orders(r: &mut Reader, root: &Map<String, Value>) -> Vec<OrderRecord> {
    let Some(v) = r.get(root, "", "orders") else {
        return Vec::new();
    };
    let Some(items) = r.array(v, "orders", "orders") else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    let mut seen = HashSet::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = index("orders", i);
        if let Some(id) = item.get("id").and_then(Value::as_str)
            && !seen.insert(id)
        {
            r.err(
                format!("{path}.id"),
                "duplicate",
                format!("duplicate order id {id:?}"),
            );
        }
        if let Some(o) = r.object(item, &path, &path)
            && let Some(o) = read_order(r, o, &path)
        {
            out.push(o);
        }
    }
    out
}

fn read_order(r: &mut Reader, o: &Map<String, Value>, path: &str) -> Option<OrderRecord> {
    r.deny_unknown(o, path, &ORDER_FIELDS);
    let before = r.errs.len();
    let id = r.string(o, path, "id");
    let lat = r.num(o, path, "lat");
    let lat = r.range(lat, path, "lat", -90.0, 90.0);
    let lon = r.num(o, path, "lon");
    let lon = r.range(lon, path, "lon", -180.0, 180.0);
    let units = r.int(o, path, "units", 1, u64::from(u32::MAX));
    let vehicle = r
        .string(o, path, "vehicle")
        .and_then(|s| match s.parse::<Vehicle>() {
            Ok(v) => Some(v),
            Err(_) => {
                r.err(
                    format!("{path}.vehicle"),
                    "unknown_vehicle",
                    format!("unknown vehicle {s:?}"),
                );
                None
            }
        });
    let deadline_min = r.num(o, path, "deadline_min");
    let priority = r.int(o, path, "priority", 1, u64::from(u32::MAX));
    if r.errs.len() != before {
        return None;
    }
    Some(OrderRecord {
        id: id?.to_owned(),
        demand: Demand {
            location: GeoPoint::new(lat?, lon?),
            units: units? as u32,
            vehicle: vehicle?,
            deadline_min: deadline_min?,
            priority: priority? as u32,
        },
    })
}

/// One `{order, channel}` line of a solution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentRecord {
    /// Order id.
    pub order: String,
    /// Channel id.
    pub channel: String,
}

/// Runner-up of an assignment, by id, with the score difference per criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunnerUpRecord {
    /// Channel id.
    pub channel: String,
    /// Its score.
    pub score: f64,
    /// Its score minus the chosen one's, per criterion.
    pub diff: Criteria,
}

/// Explanation of one assignment, by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignedRecord {
    /// Order id.
    pub order: String,
    /// Chosen channel id.
    pub channel: String,
    /// Chosen score by criterion.
    pub criteria: Criteria,
    /// Best other feasible channel.
    pub runner_up: Option<RunnerUpRecord>,
}

/// Reason an order is unassigned, by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnassignedRecord {
    /// Order id.
    pub order: String,
    /// Reason (`no_channel_in_radius`, `vehicle_mismatch`, …).
    pub reason: String,
}

/// Explanations keyed by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplanationsRecord {
    /// Per assignment.
    pub assigned: Vec<AssignedRecord>,
    /// Per unassigned order.
    pub unassigned: Vec<UnassignedRecord>,
}

/// The spec's solution JSON, plus `method`, `lower_bound`, `gap` and (when asked) `explanations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SolutionFile {
    /// Instance name.
    pub instance: String,
    /// Assigned pairs, in order index order.
    pub assignments: Vec<AssignmentRecord>,
    /// Ids of unassigned orders.
    pub unassigned: Vec<String>,
    /// The objective.
    pub objective: f64,
    /// Wall time in ms (see the spec).
    pub solve_ms: f64,
    /// How the answer was found.
    pub method: String,
    /// Proven lower bound, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower_bound: Option<f64>,
    /// Relative gap to the bound, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap: Option<f64>,
    /// Explanations, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanations: Option<ExplanationsRecord>,
    /// True when the wall clock stopped the work before its budget was spent
    /// (see `uoom::solve::Solution::clock_cut`).
    #[serde(default)]
    pub clock_cut: bool,
}

impl SolutionFile {
    /// Renders a solution of `inst` with ids.
    pub fn new(inst: &Instance, sol: &Solution) -> Self {
        let oid = |i: usize| inst.orders[i].id.clone();
        let cid = |j: usize| inst.channels[j].id.0.clone();
        let mut assignments = Vec::new();
        let mut unassigned = Vec::new();
        for (i, a) in sol.assignment.iter().enumerate() {
            match a {
                Some(j) => assignments.push(AssignmentRecord {
                    order: oid(i),
                    channel: cid(*j),
                }),
                None => unassigned.push(oid(i)),
            }
        }
        let explanations = sol
            .explanations
            .as_ref()
            .map(|e: &Explanations| ExplanationsRecord {
                assigned: e
                    .assigned
                    .iter()
                    .map(|a| AssignedRecord {
                        order: oid(a.demand),
                        channel: cid(a.channel),
                        criteria: a.criteria,
                        runner_up: a.runner_up.map(|r| RunnerUpRecord {
                            channel: cid(r.channel),
                            score: r.score,
                            diff: r.diff,
                        }),
                    })
                    .collect(),
                unassigned: e
                    .unassigned
                    .iter()
                    .map(|(i, r)| UnassignedRecord {
                        order: oid(*i),
                        reason: r.as_str().to_owned(),
                    })
                    .collect(),
            });
        SolutionFile {
            instance: inst.name.clone(),
            assignments,
            unassigned,
            objective: sol.objective,
            solve_ms: sol.solve_ms,
            method: sol.method.as_str().to_owned(),
            lower_bound: sol.lower_bound,
            gap: sol.gap,
            explanations,
            clock_cut: sol.clock_cut,
        }
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
