//! The assignment problem: demands, channels and what they have left, with
//! every useful feasible pair precomputed once so that every solver phase
//! reads flat arrays instead of recomputing geometry.

use crate::error::{Error, FieldError, Result};
use crate::model::channel::{Channel, Vehicle};
use crate::model::geo::{EARTH_RADIUS_KM, GeoPoint};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Slack allowed on the radius and deadline inequalities, as the benchmark verifier does.
pub const SLACK: f64 = 1e-9;

/// Sentinel for "no channel" in the solvers' flat assignment arrays.
pub(crate) const NONE: u32 = u32::MAX;

/// Weights of the three scoring criteria (the objective of docs/bench-format.md).
///
/// ```
/// let w = uoom::solve::Weights::default();
/// assert_eq!((w.cost, w.time, w.quality), (1.0, 0.1, 10.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// Weight of delivery cost.
    pub cost: f64,
    /// Weight of the ETA in minutes.
    pub time: f64,
    /// Weight of `1 - quality`.
    pub quality: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            cost: 1.0,
            time: 0.1,
            quality: 10.0,
        }
    }
}

/// What one order needs from a channel: the solver does not care about items or customers.
///
/// ```
/// use uoom::{GeoPoint, Vehicle, solve::Demand};
/// let d = Demand { location: GeoPoint::new(24.7, 46.7), units: 2, vehicle: Vehicle::Car,
///                  deadline_min: 45.0, priority: 1 };
/// assert_eq!(d.units, 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Demand {
    /// Delivery location.
    pub location: GeoPoint,
    /// Capacity units the order consumes (positive).
    pub units: u32,
    /// Vehicle the order needs.
    pub vehicle: Vehicle,
    /// Latest acceptable ETA in minutes.
    pub deadline_min: f64,
    /// Priority (positive); the unassigned penalty is multiplied by it.
    pub priority: u32,
}

/// Score of one pair split by criterion, each already multiplied by its weight.
///
/// ```
/// let s = uoom::solve::Criteria { cost: 3.0, time: 1.5, quality: 0.9 };
/// assert!((s.total() - 5.4).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Criteria {
    /// Weighted delivery cost.
    pub cost: f64,
    /// Weighted ETA.
    pub time: f64,
    /// Weighted `1 - quality`.
    pub quality: f64,
}

impl Criteria {
    /// The score: the sum of the weighted criteria, in the spec's order of addition.
    pub fn total(&self) -> f64 {
        self.cost + self.time + self.quality
    }
}

/// A channel's geometry prepared once (radians, cosine), so that each pair costs
/// one haversine in the verifier's exact order of operations.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChanGeo {
    pub lon: f64,
    pub lat_rad: f64,
    pub cos_lat: f64,
}

impl ChanGeo {
    pub fn new(c: &Channel) -> Self {
        let lat_rad = c.location.lat.to_radians();
        Self {
            lon: c.location.lon,
            lat_rad,
            cos_lat: lat_rad.cos(),
        }
    }
}

/// Verdict on one (order, channel) pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PairCheck {
    /// Feasible, with its score split by criterion.
    Feasible(Criteria),
    /// The channel is down.
    Down,
    /// The channel does not dispatch the order's vehicle.
    Vehicle,
    /// The order lies beyond the channel's radius.
    Radius,
    /// The ETA exceeds the order's deadline.
    Deadline,
}

/// Haversine from an order (latitude already in radians, with its cosine) to a
/// prepared channel: `model.py`'s order of operations, bit for bit.
#[inline]
pub(crate) fn distance(o_lon: f64, o_rad: f64, o_cos: f64, g: &ChanGeo) -> f64 {
    let dp = g.lat_rad - o_rad;
    let dl = (g.lon - o_lon).to_radians();
    let a = (dp / 2.0).sin();
    let b = (dl / 2.0).sin();
    let h = a * a + o_cos * g.cos_lat * (b * b);
    2.0 * EARTH_RADIUS_KM * h.sqrt().asin()
}

/// Criteria of a pair at distance `d` (the spec's formulas, same order of operations).
#[inline]
pub(crate) fn criteria(c: &Channel, w: &Weights, d: f64) -> (Criteria, f64) {
    let eta = c.prep_min + 60.0 * d / c.speed_kmh;
    let cost = c.cost.base + c.cost.per_km * d;
    (
        Criteria {
            cost: w.cost * cost,
            time: w.time * eta,
            quality: w.quality * (1.0 - c.quality),
        },
        eta,
    )
}

/// Full check of one pair, in the explanation's order: status, vehicle, radius, deadline.
pub(crate) fn check_pair(d: &Demand, c: &Channel, w: &Weights) -> PairCheck {
    let dist = d.location.distance_km(&c.location);
    let (crit, eta) = criteria(c, w, dist);
    if !c.health.is_available() {
        PairCheck::Down
    } else if !c.serves(d.vehicle) {
        PairCheck::Vehicle
    } else if dist > c.radius_km + SLACK {
        PairCheck::Radius
    } else if eta > d.deadline_min + SLACK {
        PairCheck::Deadline
    } else {
        PairCheck::Feasible(crit)
    }
}

/// One batch to assign: demands, channels with what they have left, weights and
/// penalty, plus every useful feasible pair (score below the order's penalty),
/// computed once in parallel.
///
/// ```
/// use uoom::{Channel, ChannelKind, GeoPoint, Vehicle};
/// use uoom::solve::{Demand, Problem, Weights};
/// let c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.69))
///     .with_radius_km(8.0).with_capacity(10).with_vehicles([Vehicle::Bike]).build().unwrap();
/// let d = Demand { location: GeoPoint::new(24.71, 46.67), units: 1, vehicle: Vehicle::Bike,
///                  deadline_min: 60.0, priority: 1 };
/// let p = Problem::new(vec![d], &[c], &[10], Weights::default(), 100.0).unwrap();
/// assert_eq!(p.num_pairs(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Problem {
    pub(crate) demands: Vec<Demand>,
    pub(crate) channels: Vec<Channel>,
    pub(crate) capacity: Vec<u32>,
    pub(crate) weights: Weights,
    pub(crate) unassigned_penalty: f64,
    /// Penalty of leaving order i unassigned.
    pub(crate) pen: Vec<f64>,
    /// CSR over orders: pairs of order i are `start[i]..start[i+1]`, sorted by channel.
    pub(crate) start: Vec<usize>,
    pub(crate) pch: Vec<u32>,
    /// Score of the pair.
    pub(crate) pscore: Vec<f64>,
    /// Score minus the order's penalty (negative: better than leaving it out).
    pub(crate) pcost: Vec<f64>,
    pub(crate) units: Vec<u32>,
    /// CSR over channels: pair indices of channel j are `cpair[cstart[j]..cstart[j+1]]`.
    pub(crate) cstart: Vec<usize>,
    pub(crate) cpair: Vec<u32>,
    /// Order of each pair.
    pub(crate) porder: Vec<u32>,
    /// True when building stopped at its deadline: the orders not reached
    /// have no pairs (see [`Problem::new_until`]).
    pub(crate) cut: bool,
}

impl Problem {
    /// Builds the problem and its feasible pairs. `capacity[j]` is what channel
    /// `j` has left (a ledger passes its availability; `Channel::capacity` is not read).
    ///
    /// Errors name the culprit: `demands[3].units`, `capacity`, `weights.time`, …
    ///
    /// ```
    /// use uoom::solve::{Problem, Weights};
    /// let err = Problem::new(vec![], &[], &[1], Weights::default(), 100.0).unwrap_err();
    /// assert_eq!(err.field_errors()[0].field, "capacity");
    /// ```
    pub fn new(
        demands: Vec<Demand>,
        channels: &[Channel],
        capacity: &[u32],
        weights: Weights,
        unassigned_penalty: f64,
    ) -> Result<Problem> {
        Self::new_until(
            demands,
            channels,
            capacity,
            weights,
            unassigned_penalty,
            None,
        )
    }

    /// [`Problem::new`], but scoring pairs stops at `deadline`: the orders
    /// not scored by then get no pair (the solver leaves them unassigned) and
    /// [`Problem::cut_short`] says so. For a solve whose time budget starts
    /// before the problem is built.
    ///
    /// ```
    /// # use uoom::{Channel, ChannelKind, GeoPoint, Vehicle};
    /// # use uoom::solve::{Demand, Problem, Weights};
    /// # let c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.69))
    /// #     .with_radius_km(8.0).with_vehicles([Vehicle::Bike]).build().unwrap();
    /// # let d = Demand { location: GeoPoint::new(24.71, 46.67), units: 1, vehicle: Vehicle::Bike,
    /// #                  deadline_min: 60.0, priority: 1 };
    /// let late = std::time::Instant::now();
    /// let p = Problem::new_until(vec![d], &[c], &[10], Weights::default(), 100.0, Some(late)).unwrap();
    /// assert!(p.cut_short());
    /// assert_eq!(p.num_pairs(), 0);
    /// ```
    pub fn new_until(
        demands: Vec<Demand>,
        channels: &[Channel],
        capacity: &[u32],
        weights: Weights,
        unassigned_penalty: f64,
        deadline: Option<std::time::Instant>,
    ) -> Result<Problem> {
        let mut errs = Vec::new();
        if capacity.len() != channels.len() {
            errs.push(FieldError::new(
                "capacity",
                "length_mismatch",
                format!(
                    "{} capacities for {} channels",
                    capacity.len(),
                    channels.len()
                ),
            ));
        }
        for (name, v) in [
            ("weights.cost", weights.cost),
            ("weights.time", weights.time),
            ("weights.quality", weights.quality),
        ] {
            if !v.is_finite() {
                errs.push(FieldError::new(name, "not_finite", "weight must be finite"));
            }
        }
        if !unassigned_penalty.is_finite() || unassigned_penalty < 0.0 {
            errs.push(FieldError::new(
                "unassigned_penalty",
                "out_of_range",
                format!("must be a finite number >= 0, got {unassigned_penalty}"),
            ));
        }
        // The field paths are formatted only for the items that fail: a
        // real-time batch of one order against 1,000 channels must not pay
        // 1,000 allocations for them.
        for (i, d) in demands.iter().enumerate() {
            if !check_demand(d, "").is_empty() {
                errs.extend(check_demand(d, &format!("demands[{i}]")));
            }
        }
        for (j, c) in channels.iter().enumerate() {
            if !c.check("").is_empty() {
                errs.extend(c.check(&format!("channels[{j}]")));
            }
        }
        if !errs.is_empty() {
            return Err(Error::Validation(errs));
        }
        Ok(Self::build(
            demands,
            channels.to_vec(),
            capacity.to_vec(),
            weights,
            unassigned_penalty,
            deadline,
        ))
    }

    /// True when building stopped at the deadline of [`Problem::new_until`]
    /// before every order was scored.
    pub fn cut_short(&self) -> bool {
        self.cut
    }

    fn build(
        demands: Vec<Demand>,
        channels: Vec<Channel>,
        capacity: Vec<u32>,
        weights: Weights,
        unassigned_penalty: f64,
        deadline: Option<std::time::Instant>,
    ) -> Problem {
        let geo: Vec<ChanGeo> = channels.iter().map(ChanGeo::new).collect();
        let pen: Vec<f64> = demands
            .iter()
            .map(|d| unassigned_penalty * f64::from(d.priority))
            .collect();
        // Per channel: the largest distance that can be feasible (radius and
        // deadline-independent travel bound) for the cheap pre-filter.
        let cut = std::sync::atomic::AtomicBool::new(false);
        let pairs_of = |(i, d): (usize, &Demand)| {
            if let Some(t) = deadline
                && (i % 16 == 0 || cut.load(std::sync::atomic::Ordering::Relaxed))
                && std::time::Instant::now() >= t
            {
                cut.store(true, std::sync::atomic::Ordering::Relaxed);
                return Vec::new();
            }
            order_pairs(d, pen[i], &channels, &geo, &weights)
        };
        // Handing a small batch to the thread pool costs more than it saves
        // (and, on a loaded machine, waits for a worker to be scheduled).
        let per_order: Vec<Vec<(u32, f64)>> = if demands.len() * channels.len() < 20_000 {
            demands.iter().enumerate().map(pairs_of).collect()
        } else {
            demands
                .par_iter()
                .with_min_len(64)
                .enumerate()
                .map(pairs_of)
                .collect()
        };
        let mut start = Vec::with_capacity(demands.len() + 1);
        start.push(0);
        let total: usize = per_order.iter().map(Vec::len).sum();
        let mut pch = Vec::with_capacity(total);
        let mut pscore = Vec::with_capacity(total);
        let mut pcost = Vec::with_capacity(total);
        for (i, v) in per_order.iter().enumerate() {
            for &(j, s) in v {
                pch.push(j);
                pscore.push(s);
                pcost.push(s - pen[i]);
            }
            start.push(pch.len());
        }
        let units = demands.iter().map(|d| d.units).collect();
        let m = channels.len();
        let mut porder = Vec::with_capacity(total);
        for (i, v) in per_order.iter().enumerate() {
            porder.extend(std::iter::repeat_n(i as u32, v.len()));
        }
        let mut cstart = vec![0usize; m + 1];
        for &j in &pch {
            cstart[j as usize + 1] += 1;
        }
        for j in 0..m {
            cstart[j + 1] += cstart[j];
        }
        let mut fill = cstart.clone();
        let mut cpair = vec![0u32; total];
        for (k, &j) in pch.iter().enumerate() {
            cpair[fill[j as usize]] = k as u32;
            fill[j as usize] += 1;
        }
        Problem {
            cut: cut.into_inner(),
            cstart,
            cpair,
            porder,
            demands,
            channels,
            capacity,
            weights,
            unassigned_penalty,
            pen,
            start,
            pch,
            pscore,
            pcost,
            units,
        }
    }

    /// Number of demands (orders).
    pub fn num_orders(&self) -> usize {
        self.demands.len()
    }

    /// Number of channels.
    pub fn num_channels(&self) -> usize {
        self.channels.len()
    }

    /// Number of useful feasible pairs (feasible, and cheaper than leaving the order out).
    pub fn num_pairs(&self) -> usize {
        self.pch.len()
    }

    /// The demands, in input order.
    pub fn demands(&self) -> &[Demand] {
        &self.demands
    }

    /// The channels, in input order.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// What each channel has left.
    pub fn capacity(&self) -> &[u32] {
        &self.capacity
    }

    /// The scoring weights.
    pub fn weights(&self) -> Weights {
        self.weights
    }

    /// Penalty per unassigned demand, before the priority multiplier.
    pub fn unassigned_penalty(&self) -> f64 {
        self.unassigned_penalty
    }

    /// Penalty of leaving demand `i` unassigned (`unassigned_penalty · priority`).
    pub fn penalty(&self, i: usize) -> f64 {
        self.pen[i]
    }

    /// Pair index range of order `i`.
    #[inline]
    pub(crate) fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.start[i]..self.start[i + 1]
    }

    /// Pair index of (i, j), if that pair is feasible and useful.
    #[inline]
    pub(crate) fn find(&self, i: usize, j: u32) -> Option<usize> {
        let r = self.range(i);
        self.pch[r.clone()]
            .binary_search(&j)
            .ok()
            .map(|k| r.start + k)
    }

    /// Score of demand `i` on channel `j`, `None` when the pair is infeasible
    /// (or no better than leaving the order out).
    ///
    /// ```
    /// # use uoom::{Channel, ChannelKind, GeoPoint, Vehicle};
    /// # use uoom::solve::{Demand, Problem, Weights};
    /// # let c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.69))
    /// #     .with_radius_km(8.0).with_vehicles([Vehicle::Bike]).build().unwrap();
    /// # let d = Demand { location: GeoPoint::new(24.71, 46.67), units: 1, vehicle: Vehicle::Bike,
    /// #                  deadline_min: 60.0, priority: 1 };
    /// let p = Problem::new(vec![d], &[c], &[10], Weights::default(), 100.0).unwrap();
    /// assert!(p.score(0, 0).unwrap() > 0.0);
    /// ```
    pub fn score(&self, i: usize, j: usize) -> Option<f64> {
        let j = u32::try_from(j).ok()?;
        self.find(i, j).map(|k| self.pscore[k])
    }

    /// The objective of an assignment (channel index per demand): the sum of
    /// assigned scores plus the penalties of unassigned demands. Infeasible
    /// pairs count as unassigned; use [`Problem::check`] to detect them.
    pub fn objective(&self, assignment: &[Option<usize>]) -> f64 {
        let mut total = 0.0;
        for (i, a) in assignment.iter().enumerate() {
            total += match a.and_then(|j| self.score(i, j)) {
                Some(s) => s,
                None => self.pen[i],
            };
        }
        total
    }

    /// Checks an assignment: every pair feasible, no channel over what it has left.
    ///
    /// ```
    /// # use uoom::{Channel, ChannelKind, GeoPoint, Vehicle};
    /// # use uoom::solve::{Demand, Problem, Weights};
    /// # let c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.69))
    /// #     .with_radius_km(8.0).with_vehicles([Vehicle::Bike]).build().unwrap();
    /// # let d = Demand { location: GeoPoint::new(24.71, 46.67), units: 2, vehicle: Vehicle::Bike,
    /// #                  deadline_min: 60.0, priority: 1 };
    /// let p = Problem::new(vec![d], &[c], &[1], Weights::default(), 100.0).unwrap();
    /// assert!(p.check(&[Some(0)]).is_err());   // 2 units, 1 left
    /// assert!(p.check(&[None]).is_ok());
    /// ```
    pub fn check(&self, assignment: &[Option<usize>]) -> Result<()> {
        if assignment.len() != self.num_orders() {
            return Err(Error::invalid(
                "assignment",
                "length_mismatch",
                "one entry per demand",
            ));
        }
        let mut used = vec![0u64; self.num_channels()];
        for (i, a) in assignment.iter().enumerate() {
            if let Some(j) = *a {
                if j >= self.num_channels() || self.score(i, j).is_none() {
                    return Err(Error::Infeasible(format!(
                        "demand {i} cannot go to channel {j}"
                    )));
                }
                used[j] += u64::from(self.units[i]);
            }
        }
        for (j, &u) in used.iter().enumerate() {
            if u > u64::from(self.capacity[j]) {
                return Err(Error::Capacity(format!(
                    "channel {j} over capacity: {u} > {}",
                    self.capacity[j]
                )));
            }
        }
        Ok(())
    }
}

fn check_demand(d: &Demand, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if !d.location.is_valid() {
        errs.push(FieldError::new(
            format!("{path}.location"),
            "out_of_range",
            "latitude must be in [-90, 90] and longitude in [-180, 180]",
        ));
    }
    if d.units == 0 {
        errs.push(FieldError::new(
            format!("{path}.units"),
            "out_of_range",
            "units must be positive",
        ));
    }
    if d.priority == 0 {
        errs.push(FieldError::new(
            format!("{path}.priority"),
            "out_of_range",
            "priority must be positive",
        ));
    }
    if !d.deadline_min.is_finite() {
        errs.push(FieldError::new(
            format!("{path}.deadline_min"),
            "not_finite",
            "deadline_min must be a finite number",
        ));
    }
    errs
}

/// Cheap, conservative pre-filter: false only when the pair is surely out of
/// radius or deadline reach. The flat-earth distance is within a fraction of a
/// percent of the haversine below a few hundred km, so a 2 % margin (and no
/// filtering beyond 300 km) never rejects a feasible pair; the exact test follows.
#[inline]
pub(crate) fn maybe_reachable(
    d: &Demand,
    o_rad: f64,
    o_cos: f64,
    c: &Channel,
    g: &ChanGeo,
) -> bool {
    let travel = (d.deadline_min + SLACK - c.prep_min) * c.speed_kmh / 60.0;
    let reach = (c.radius_km + SLACK).min(travel.max(0.0));
    if reach > 300.0 || (g.lon - d.location.lon).abs() > 180.0 {
        return true;
    }
    let dy = g.lat_rad - o_rad;
    let dx = (g.lon - d.location.lon).to_radians() * 0.5 * (o_cos + g.cos_lat);
    let approx = EARTH_RADIUS_KM * (dx * dx + dy * dy).sqrt();
    approx <= reach * 1.02 + 1e-3
}

/// Feasible, useful pairs of one order, sorted by channel index.
fn order_pairs(
    d: &Demand,
    pen: f64,
    channels: &[Channel],
    geo: &[ChanGeo],
    w: &Weights,
) -> Vec<(u32, f64)> {
    let o_rad = d.location.lat.to_radians();
    let o_cos = o_rad.cos();
    let mut out = Vec::new();
    for (j, (c, g)) in channels.iter().zip(geo).enumerate() {
        if !c.health.is_available() || !c.serves(d.vehicle) {
            continue;
        }
        if !maybe_reachable(d, o_rad, o_cos, c, g) {
            continue;
        }
        let dist = distance(d.location.lon, o_rad, o_cos, g);
        if dist > c.radius_km + SLACK {
            continue;
        }
        let (crit, eta) = criteria(c, w, dist);
        if eta > d.deadline_min + SLACK {
            continue;
        }
        let s = crit.total();
        if s < pen {
            out.push((j as u32, s));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::geo::haversine_km;

    #[test]
    fn prepared_distance_matches_reference_bit_for_bit() {
        let c = Channel::builder(
            "c",
            crate::ChannelKind::DarkStore,
            GeoPoint::new(24.7012, 46.6913),
        )
        .build()
        .unwrap();
        let g = ChanGeo::new(&c);
        for k in 0..200 {
            let lat = 24.5 + f64::from(k) * 0.0031;
            let lon = 46.5 + f64::from(k) * 0.0027;
            let r = lat.to_radians();
            let a = distance(lon, r, r.cos(), &g);
            let b = haversine_km(lat, lon, c.location.lat, c.location.lon);
            assert_eq!(a.to_bits(), b.to_bits(), "k={k}");
        }
    }
}
