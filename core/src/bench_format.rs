//! The assignment benchmark's JSON formats (docs/bench-format.md): read an
//! instance with errors that name the culprit (`orders[3].units`,
//! `channels[7].status`), write a solution the verifier accepts.
//!
//! ```
//! use uoom::bench_format::{Instance, SolutionFile};
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

use crate::error::{Error, FieldError, Result};
use crate::model::channel::{Channel, ChannelKind, CostModel, Health, Vehicle, VehicleSet};
use crate::model::geo::GeoPoint;
use crate::model::ids::ChannelId;
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

/// A benchmark instance, validated.
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

/// Collects field errors while walking the JSON.
struct Reader {
    errs: Vec<FieldError>,
}

impl Reader {
    fn err(&mut self, field: String, code: &str, msg: impl Into<String>) {
        if self.errs.len() < 100 {
            self.errs.push(FieldError::new(field, code, msg));
        }
    }

    fn get<'a>(&mut self, obj: &'a Map<String, Value>, path: &str, key: &str) -> Option<&'a Value> {
        match obj.get(key) {
            Some(Value::Null) | None => {
                self.err(field(path, key), "required", format!("{key} is required"));
                None
            }
            Some(v) => Some(v),
        }
    }

    fn num(&mut self, obj: &Map<String, Value>, path: &str, key: &str) -> f64 {
        match self.get(obj, path, key) {
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() => x,
                Some(_) => {
                    self.err(
                        field(path, key),
                        "not_finite",
                        format!("{key} must be finite"),
                    );
                    0.0
                }
                None => {
                    self.err(
                        field(path, key),
                        "invalid_type",
                        format!("{key} must be a number"),
                    );
                    0.0
                }
            },
            None => 0.0,
        }
    }

    fn nonneg(&mut self, obj: &Map<String, Value>, path: &str, key: &str) -> f64 {
        let v = self.num(obj, path, key);
        if v < 0.0 {
            self.err(
                field(path, key),
                "out_of_range",
                format!("{key} must be >= 0, got {v}"),
            );
        }
        v
    }

    fn int(&mut self, obj: &Map<String, Value>, path: &str, key: &str, min: u64) -> u32 {
        let Some(v) = self.get(obj, path, key) else {
            return 0;
        };
        let as_int = v.as_i64().or_else(|| {
            v.as_f64()
                .filter(|x| x.fract() == 0.0 && x.abs() < 9e15)
                .map(|x| x as i64)
        });
        match as_int {
            Some(x) if x >= min as i64 && x <= i64::from(u32::MAX) => x as u32,
            Some(x) => {
                self.err(
                    field(path, key),
                    "out_of_range",
                    format!("{key} must be an integer >= {min}, got {x}"),
                );
                0
            }
            None => {
                self.err(
                    field(path, key),
                    "invalid_type",
                    format!("{key} must be an integer"),
                );
                0
            }
        }
    }

    fn string<'a>(&mut self, obj: &'a Map<String, Value>, path: &str, key: &str) -> &'a str {
        match self.get(obj, path, key) {
            Some(Value::String(s)) => s,
            Some(_) => {
                self.err(
                    field(path, key),
                    "invalid_type",
                    format!("{key} must be a string"),
                );
                ""
            }
            None => "",
        }
    }

    fn vehicle(&mut self, s: &str, at: String) -> Vehicle {
        s.parse().unwrap_or_else(|_| {
            self.err(at, "unknown_vehicle", format!("unknown vehicle {s:?}"));
            Vehicle::Bike
        })
    }
}

fn field(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Instance {
    /// Parses and validates an instance; every problem is reported with its
    /// path (`orders[3].units`), never a panic.
    pub fn from_json(bytes: &[u8]) -> Result<Instance> {
        let root: Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::invalid("", "invalid_json", format!("not valid JSON: {e}")))?;
        let Some(root) = root.as_object() else {
            return Err(Error::invalid(
                "",
                "invalid_type",
                "the instance must be a JSON object",
            ));
        };
        let mut r = Reader { errs: Vec::new() };
        let name = r.string(root, "", "name").to_owned();
        let weights = match r.get(root, "", "weights") {
            Some(Value::Object(w)) => Weights {
                cost: r.num(w, "weights", "cost"),
                time: r.num(w, "weights", "time"),
                quality: r.num(w, "weights", "quality"),
            },
            Some(_) => {
                r.err(
                    "weights".into(),
                    "invalid_type",
                    "weights must be an object",
                );
                Weights::default()
            }
            None => Weights::default(),
        };
        let unassigned_penalty = r.nonneg(root, "", "unassigned_penalty");
        let orders = read_list(&mut r, root, "orders", read_order);
        let channels = read_list(&mut r, root, "channels", read_channel);
        let mut seen = HashSet::new();
        for (i, o) in orders.iter().enumerate() {
            if !seen.insert(o.id.as_str()) {
                r.err(
                    format!("orders[{i}].id"),
                    "duplicate",
                    format!("duplicate order id {:?}", o.id),
                );
            }
        }
        let mut seen = HashSet::new();
        for (j, c) in channels.iter().enumerate() {
            if !seen.insert(c.id.as_str()) {
                r.err(
                    format!("channels[{j}].id"),
                    "duplicate",
                    format!("duplicate channel id {:?}", c.id.0),
                );
            }
        }
        if !r.errs.is_empty() {
            return Err(Error::Validation(r.errs));
        }
        Ok(Instance {
            name,
            weights,
            unassigned_penalty,
            orders,
            channels,
        })
    }

    /// The solver's problem (capacity = each channel's `capacity`).
    pub fn to_problem(&self) -> Result<Problem> {
        self.to_problem_until(None)
    }

    /// [`Instance::to_problem`] with a deadline on scoring the pairs (see
    /// [`Problem::new_until`]).
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

fn read_list<T>(
    r: &mut Reader,
    root: &Map<String, Value>,
    key: &str,
    f: fn(&mut Reader, &Map<String, Value>, &str) -> T,
) -> Vec<T> {
    match r.get(root, "", key) {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let path = format!("{key}[{i}]");
                match v.as_object() {
                    Some(o) => Some(f(r, o, &path)),
                    None => {
                        r.err(path, "invalid_type", "must be an object");
                        None
                    }
                }
            })
            .collect(),
        Some(_) => {
            r.err(
                key.to_owned(),
                "invalid_type",
                format!("{key} must be an array"),
            );
            Vec::new()
        }
        None => Vec::new(),
    }
}

fn read_order(r: &mut Reader, o: &Map<String, Value>, path: &str) -> OrderRecord {
    let id = r.string(o, path, "id").to_owned();
    let lat = r.num(o, path, "lat");
    let lon = r.num(o, path, "lon");
    check_point(r, path, lat, lon);
    let units = r.int(o, path, "units", 1);
    let vs = r.string(o, path, "vehicle");
    let vehicle = if vs.is_empty() {
        Vehicle::Bike
    } else {
        r.vehicle(vs, field(path, "vehicle"))
    };
    let deadline_min = r.num(o, path, "deadline_min");
    let priority = r.int(o, path, "priority", 1);
    OrderRecord {
        id,
        demand: Demand {
            location: GeoPoint::new(lat, lon),
            units,
            vehicle,
            deadline_min,
            priority,
        },
    }
}

fn check_point(r: &mut Reader, path: &str, lat: f64, lon: f64) {
    if !(-90.0..=90.0).contains(&lat) {
        r.err(
            field(path, "lat"),
            "out_of_range",
            format!("lat must be in [-90, 90], got {lat}"),
        );
    }
    if !(-180.0..=180.0).contains(&lon) {
        r.err(
            field(path, "lon"),
            "out_of_range",
            format!("lon must be in [-180, 180], got {lon}"),
        );
    }
}

fn read_channel(r: &mut Reader, c: &Map<String, Value>, path: &str) -> Channel {
    let id = r.string(c, path, "id").to_owned();
    let ks = r.string(c, path, "kind");
    let kind = ks.parse::<ChannelKind>().unwrap_or_else(|_| {
        if !ks.is_empty() {
            r.err(
                field(path, "kind"),
                "unknown_kind",
                format!("unknown channel kind {ks:?}"),
            );
        }
        ChannelKind::DarkStore
    });
    let lat = r.num(c, path, "lat");
    let lon = r.num(c, path, "lon");
    check_point(r, path, lat, lon);
    let radius_km = r.nonneg(c, path, "radius_km");
    let capacity = r.int(c, path, "capacity", 0);
    let mut vehicles = VehicleSet::EMPTY;
    match r.get(c, path, "vehicles") {
        Some(Value::Array(vs)) => {
            for (k, v) in vs.iter().enumerate() {
                let at = format!("{path}.vehicles[{k}]");
                match v.as_str() {
                    Some(s) => vehicles.insert(r.vehicle(s, at)),
                    None => r.err(at, "invalid_type", "vehicle must be a string"),
                }
            }
        }
        Some(_) => r.err(
            field(path, "vehicles"),
            "invalid_type",
            "vehicles must be an array",
        ),
        None => {}
    }
    let base = r.nonneg(c, path, "base_cost");
    let per_km = r.nonneg(c, path, "cost_per_km");
    let prep_min = r.nonneg(c, path, "prep_min");
    let speed_kmh = r.num(c, path, "speed_kmh");
    if speed_kmh <= 0.0 && c.get("speed_kmh").is_some_and(Value::is_number) {
        r.err(
            field(path, "speed_kmh"),
            "out_of_range",
            format!("speed_kmh must be > 0, got {speed_kmh}"),
        );
    }
    let quality = r.num(c, path, "quality");
    if !(0.0..=1.0).contains(&quality) {
        r.err(
            field(path, "quality"),
            "out_of_range",
            format!("quality must be in [0, 1], got {quality}"),
        );
    }
    let health = match r.string(c, path, "status") {
        "up" => Health::Up,
        "down" => Health::Down,
        "" => Health::Up,
        s => {
            r.err(
                field(path, "status"),
                "unknown_status",
                format!("status must be \"up\" or \"down\", got {s:?}"),
            );
            Health::Up
        }
    };
    Channel {
        id: ChannelId(id),
        kind,
        location: GeoPoint::new(lat, lon),
        radius_km,
        capacity,
        vehicles,
        cost: CostModel { base, per_km },
        prep_min,
        speed_kmh: if speed_kmh > 0.0 { speed_kmh } else { 1.0 },
        quality,
        health,
    }
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
