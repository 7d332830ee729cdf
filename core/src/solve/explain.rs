//! Why each demand went where it went: for an assignment, the runner-up and
//! the score difference per criterion; for an unassigned demand, the
//! constraint that kept it out.

use super::problem::{Criteria, PairCheck, Problem, check_pair};
use serde::{Deserialize, Serialize};

/// Why a demand is unassigned.
///
/// ```
/// assert_eq!(uoom::solve::UnassignedReason::VehicleMismatch.as_str(), "vehicle_mismatch");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnassignedReason {
    /// No channel (up or down) covers the location.
    NoChannelInRadius,
    /// Every channel covering the location is down.
    ChannelDown,
    /// Channels covering the location are up but none dispatches the vehicle.
    VehicleMismatch,
    /// Channels could serve it, but none in time for the deadline.
    DeadlineUnreachable,
    /// Feasible channels exist, but their capacity went to better assignments.
    CapacityUsed,
    /// Every feasible channel scores worse than the unassigned penalty.
    PenaltyCheaper,
}

impl UnassignedReason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UnassignedReason::NoChannelInRadius => "no_channel_in_radius",
            UnassignedReason::ChannelDown => "channel_down",
            UnassignedReason::VehicleMismatch => "vehicle_mismatch",
            UnassignedReason::DeadlineUnreachable => "deadline_unreachable",
            UnassignedReason::CapacityUsed => "capacity_used",
            UnassignedReason::PenaltyCheaper => "penalty_cheaper",
        }
    }
}

/// A channel the demand could have gone to, and how much worse it scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    /// Channel index.
    pub channel: usize,
    /// Its score.
    pub score: f64,
    /// Its score minus the chosen channel's, per criterion (positive: worse).
    pub diff: Criteria,
}

/// Explanation of one assigned demand.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AssignedExplanation {
    /// Demand index.
    pub demand: usize,
    /// Chosen channel index.
    pub channel: usize,
    /// Its score split by criterion.
    pub criteria: Criteria,
    /// Best other feasible channel (regardless of capacity), if any.
    pub runner_up: Option<Alternative>,
}

/// Explanations of a whole solution.
///
/// ```
/// use uoom::{Channel, ChannelKind, GeoPoint, Vehicle};
/// use uoom::solve::{solve, Demand, Problem, SolveOptions, UnassignedReason, Weights};
/// let c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.69))
///     .with_radius_km(8.0).with_vehicles([Vehicle::Bike]).build().unwrap();
/// let d = Demand { location: GeoPoint::new(24.71, 46.67), units: 1, vehicle: Vehicle::Van,
///                  deadline_min: 60.0, priority: 1 };
/// let p = Problem::new(vec![d], &[c], &[5], Weights::default(), 100.0).unwrap();
/// let s = solve(&p, &SolveOptions::default().with_explain(true)).unwrap();
/// let e = s.explanations.unwrap();
/// assert_eq!(e.unassigned, vec![(0, UnassignedReason::VehicleMismatch)]);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Explanations {
    /// One entry per assigned demand, in demand order.
    pub assigned: Vec<AssignedExplanation>,
    /// (demand index, reason) per unassigned demand, in demand order.
    pub unassigned: Vec<(usize, UnassignedReason)>,
}

/// Explains `assignment` (assumed feasible for `p`).
pub(crate) fn explain(p: &Problem, assignment: &[Option<usize>]) -> Explanations {
    let mut out = Explanations::default();
    for (i, a) in assignment.iter().enumerate() {
        let d = &p.demands[i];
        match *a {
            Some(j) => {
                let chosen = match check_pair(d, &p.channels[j], &p.weights) {
                    PairCheck::Feasible(c) => c,
                    _ => Criteria::default(),
                };
                let mut runner: Option<(usize, Criteria)> = None;
                for (k, c) in p.channels.iter().enumerate() {
                    if k == j {
                        continue;
                    }
                    if let PairCheck::Feasible(cr) = check_pair(d, c, &p.weights)
                        && runner.is_none_or(|(_, r)| cr.total() < r.total())
                    {
                        runner = Some((k, cr));
                    }
                }
                out.assigned.push(AssignedExplanation {
                    demand: i,
                    channel: j,
                    criteria: chosen,
                    runner_up: runner.map(|(k, cr)| Alternative {
                        channel: k,
                        score: cr.total(),
                        diff: Criteria {
                            cost: cr.cost - chosen.cost,
                            time: cr.time - chosen.time,
                            quality: cr.quality - chosen.quality,
                        },
                    }),
                });
            }
            None => out.unassigned.push((i, unassigned_reason(p, i))),
        }
    }
    out
}

/// The constraint that kept demand `i` out, checking the furthest stage any
/// channel reached: radius, then status, then vehicle, then deadline.
pub(crate) fn unassigned_reason(p: &Problem, i: usize) -> UnassignedReason {
    let d = &p.demands[i];
    let (mut in_radius, mut up, mut vehicle, mut feasible) = (false, false, false, false);
    for c in &p.channels {
        let dist = d.location.distance_km(&c.location);
        if dist > c.radius_km + super::problem::SLACK {
            continue;
        }
        in_radius = true;
        match check_pair(d, c, &p.weights) {
            PairCheck::Down => {}
            PairCheck::Vehicle => up = true,
            PairCheck::Deadline => {
                up = true;
                vehicle = true;
            }
            PairCheck::Feasible(cr) => {
                up = true;
                vehicle = true;
                if cr.total() < p.pen[i] {
                    feasible = true;
                }
                // a feasible pair that is not worth it leaves `feasible` false
                if cr.total() >= p.pen[i] && !feasible {
                    return if p.channels.iter().any(|c2| {
                        matches!(check_pair(d, c2, &p.weights),
                            PairCheck::Feasible(x) if x.total() < p.pen[i])
                    }) {
                        UnassignedReason::CapacityUsed
                    } else {
                        UnassignedReason::PenaltyCheaper
                    };
                }
            }
            PairCheck::Radius => {}
        }
    }
    if feasible {
        UnassignedReason::CapacityUsed
    } else if !in_radius {
        UnassignedReason::NoChannelInRadius
    } else if !up {
        UnassignedReason::ChannelDown
    } else if !vehicle {
        UnassignedReason::VehicleMismatch
    } else {
        UnassignedReason::DeadlineUnreachable
    }
}
