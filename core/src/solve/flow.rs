//! The LP relaxation solved exactly as a transportation problem.
//!
//! With `y_ij = u_i·x_ij` the LP relaxation of the assignment problem is a
//! transportation problem in *units*: order `i` supplies `u_i` units at
//! `a_ij = c_ij / u_i` per unit on channel `j` (or 0 on the "unassigned"
//! sink, whose capacity is unbounded), channel `j` takes at most `cap_j`. Its
//! optimum is the best Lagrangian bound, and its channel potentials are the
//! exact duals of the capacity rows — what subgradient ascent only approaches.
//!
//! Successive shortest paths, one order's units at a time, over a graph of
//! the channels only: an edge `s → t` moves one unit of some order already
//! on `s` to `t` and costs `min_o (a_ot − a_os)`. That minimum depends on
//! which orders sit on `s`, not on the prices, so each channel keeps its row
//! of edge costs and rebuilds it only when a member it relied on leaves and
//! a path needs the row again. Dijkstra stops at the first channel with room
//! (or the sink), and the prices of the channels it settled rise by how much
//! closer they were: that keeps every reduced cost non-negative, which is
//! the LP's optimality condition once every unit is placed. Sequential and
//! deterministic; the work is counted in pair visits like every other phase.

use super::problem::{NONE, Problem};
use super::state::State;

/// An optimal solution of the LP relaxation and its duals.
#[derive(Debug, Clone)]
pub(crate) struct Lp {
    /// Σ a·y: the LP optimum without the constant Σ penalties.
    pub value: f64,
    /// Price of a unit of each channel's capacity (the exact duals, ≥ 0).
    pub lambda: Vec<f64>,
    /// Units of each pair.
    pub flow: Vec<u32>,
    /// Units of each order left unassigned.
    pub out: Vec<u32>,
    /// False when the work or the clock ran out first: the orders searched
    /// so far are placed optimally among themselves, the rest not at all
    /// (neither flow nor "out"), and `value` is no bound.
    pub complete: bool,
}

/// Solves the LP relaxation of `p`, or as much of it as `max_work` pair
/// visits and the clock (`late`) allow (see [`Lp::complete`]). Returns the
/// work spent as well.
pub(crate) fn solve_lp(p: &Problem, max_work: u64, late: &dyn Fn() -> bool) -> (Lp, u64) {
    let all = vec![true; p.num_orders()];
    solve_lp_within(p, &p.capacity, &all, None, max_work, late)
}

/// Cost per unit that keeps a banned pair out of every shortest path (the
/// "unassigned" sink always costs 0, and every useful pair costs less).
const BANNED: f64 = 1e12;

/// The LP over the `active` orders only, with `cap` left on each channel
/// (inactive orders get neither flow nor "out" units) and without the pairs
/// `banned` marks.
pub(crate) fn solve_lp_within(
    p: &Problem,
    cap: &[u32],
    active: &[bool],
    banned: Option<&[bool]>,
    max_work: u64,
    late: &dyn Fn() -> bool,
) -> (Lp, u64) {
    let mut s = Ssp::new(p, cap);
    if let Some(b) = banned {
        for (a, _) in s.a.iter_mut().zip(b).filter(|(_, b)| **b) {
            *a = BANNED;
        }
    }
    let n = p.num_orders();
    // At zero prices every order on its cheapest channel is optimal for the
    // units placed so far: place those that fit without any search.
    let mut rest = Vec::new();
    for i in (0..n).filter(|&i| active[i]) {
        let best = p
            .range(i)
            .map(|k| (s.a[k], k))
            .fold((0.0, usize::MAX), |b, c| if c.0 < b.0 { c } else { b });
        if best.1 == usize::MAX {
            s.out[i] = p.units[i];
        } else if s.free[p.pch[best.1] as usize] >= i64::from(p.units[i]) {
            s.free[p.pch[best.1] as usize] -= i64::from(p.units[i]);
            s.add_flow(best.1, p.units[i]);
        } else {
            rest.push(i);
        }
    }
    // Orders with most to lose by a detour first: fewer of their units get
    // rerouted later (about 5 % less work on b-l and t).
    let regret = |i: usize| {
        let (mut b1, mut b2) = (0.0f64, 0.0f64);
        for k in p.range(i) {
            let v = s.a[k];
            if v < b1 {
                b2 = b1;
                b1 = v;
            } else if v < b2 {
                b2 = v;
            }
        }
        b2 - b1
    };
    let mut keyed: Vec<(f64, usize)> = rest.iter().map(|&i| (regret(i), i)).collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let rest: Vec<usize> = keyed.into_iter().map(|x| x.1).collect();
    let mut complete = true;
    for (idx, &i) in rest.iter().enumerate() {
        if s.work > max_work || (idx % 8 == 7 && late()) {
            complete = false;
            break;
        }
        let mut supply = p.units[i];
        while supply > 0 {
            supply -= s.augment(i, supply);
        }
    }
    tracing::debug!(
        searched = rest.len(),
        augmentations = s.n_aug,
        work = s.work,
        "LP relaxation solved"
    );
    let value = s
        .flow
        .iter()
        .zip(&s.a)
        .map(|(&y, &a)| f64::from(y) * a)
        .sum();
    let work = s.work;
    (
        Lp {
            complete,
            value,
            lambda: s.lambda,
            flow: s.flow,
            out: s.out,
        },
        work,
    )
}

/// Rounds the LP optimum to an assignment: orders the LP places whole keep
/// their channel (or stay out); the few it splits (at most about one per full
/// channel in a basic optimum) go, largest first, to their cheapest channel
/// that still has room on true costs, or stay out. Local search finishes.
pub(crate) fn round(p: &Problem, lp: &Lp) -> State {
    let mut st = State::empty(p);
    let mut split = Vec::new();
    for i in 0..p.num_orders() {
        if lp.out[i] == p.units[i] {
            continue;
        }
        match p.range(i).find(|&k| lp.flow[k] == p.units[i]) {
            Some(k) => st.set(p, i, p.pch[k], p.pcost[k]),
            None => split.push(i),
        }
    }
    split.sort_by_key(|&i| (std::cmp::Reverse(p.units[i]), i));
    for i in split {
        let u = i64::from(p.units[i]);
        let best = p
            .range(i)
            .filter(|&k| st.free[p.pch[k] as usize] >= u)
            .map(|k| (p.pcost[k], p.pch[k]))
            .fold((0.0, NONE), |b, c| if c.0 < b.0 { c } else { b });
        if best.1 != NONE {
            st.set(p, i, best.1, best.0);
        }
    }
    st.cost = st.exact_cost();
    st
}

/// Fix-and-resolve: every order the LP splits goes whole to the channel
/// holding most of its units (when that still fits, else it stays out), and
/// the LP is solved again over the orders not yet fixed, with what the fixed
/// ones left of each channel; until the LP places every order whole. Each
/// round costs one LP, so this pays on instances whose LP is cheap next to
/// the budget. `root`: the LP of the whole problem when already solved (the
/// first round then costs nothing). The first round also fixes the 70 % of
/// whole orders with the clearest margin; with `geometric`, every round does,
/// so the LPs shrink geometrically. `None` when the work or the clock runs
/// out first.
pub(crate) fn dive(
    p: &Problem,
    root: Option<Lp>,
    geometric: bool,
    max_work: u64,
    late: &dyn Fn() -> bool,
) -> (Option<State>, u64) {
    let n = p.num_orders();
    let mut cap = p.capacity.clone();
    let mut active = vec![true; n];
    let mut st = State::empty(p);
    let mut work = 0u64;
    let mut root = root;
    let mut first = true;
    loop {
        let lp = match root.take() {
            Some(lp) => lp,
            None => {
                let (lp, w) =
                    solve_lp_within(p, &cap, &active, None, max_work.saturating_sub(work), late);
                work += w;
                lp
            }
        };
        if !lp.complete {
            return (None, work);
        }
        let mut split = Vec::new();
        for i in (0..n).filter(|&i| active[i]) {
            if lp.out[i] != p.units[i] && !p.range(i).any(|k| lp.flow[k] == p.units[i]) {
                split.push(i);
            }
        }
        if split.is_empty() {
            for i in (0..n).filter(|&i| active[i]) {
                if let Some(k) = p.range(i).find(|&k| lp.flow[k] == p.units[i]) {
                    st.set(p, i, p.pch[k], p.pcost[k]);
                }
            }
            st.cost = st.exact_cost();
            return (Some(st), work);
        }
        if first || geometric {
            first = false;
            // Orders placed whole with a clear margin over their next option
            // (at the exact prices) keep their place: the later LPs then only
            // reshuffle the orders near a decision boundary (with
            // `geometric`, fixed every round: the LPs shrink geometrically).
            let mut margin: Vec<(f64, usize)> = Vec::new();
            for i in (0..n).filter(|&i| active[i] && !split.contains(&i)) {
                let u = f64::from(p.units[i]);
                let on = p.range(i).find(|&k| lp.flow[k] == p.units[i]);
                let rc = |k: usize| p.pcost[k] + u * lp.lambda[p.pch[k] as usize];
                let here = on.map_or(0.0, rc);
                let next = p
                    .range(i)
                    .filter(|&k| Some(k) != on)
                    .map(rc)
                    .fold(if on.is_some() { 0.0 } else { f64::INFINITY }, f64::min);
                margin.push((next - here, i));
            }
            work += p.num_pairs() as u64;
            margin.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(_, i) in &margin[..margin.len() * 7 / 10] {
                active[i] = false;
                if let Some(k) = p.range(i).find(|&k| lp.flow[k] == p.units[i]) {
                    cap[p.pch[k] as usize] -= p.units[i];
                    st.set(p, i, p.pch[k], p.pcost[k]);
                }
            }
        }
        for i in split {
            active[i] = false;
            let u = p.units[i];
            let k = p
                .range(i)
                .filter(|&k| lp.flow[k] > 0 && cap[p.pch[k] as usize] >= u)
                .max_by_key(|&k| (lp.flow[k], std::cmp::Reverse(k)));
            if let Some(k) = k {
                cap[p.pch[k] as usize] -= u;
                st.set(p, i, p.pch[k], p.pcost[k]);
            }
        }
    }
}

struct Ssp<'p> {
    p: &'p Problem,
    m: usize,
    /// Cost per unit of each pair.
    a: Vec<f64>,
    flow: Vec<u32>,
    out: Vec<u32>,
    free: Vec<i64>,
    lambda: Vec<f64>,
    /// Pairs with flow, per channel, and each pair's position in its list.
    members: Vec<Vec<u32>>,
    mpos: Vec<u32>,
    /// Row s of the channel graph: cost, moving pair and target pair of the
    /// cheapest move from channel s to every channel (index m: the sink).
    w: Vec<f64>,
    wfrom: Vec<u32>,
    wto: Vec<u32>,
    /// The second cheapest move of each entry, from another member, so that
    /// the cheapest one leaving rarely forces a recomputation. NaN (with
    /// `NONE`): not known since its member left; infinity: there is none.
    w2: Vec<f64>,
    wfrom2: Vec<u32>,
    wto2: Vec<u32>,
    valid: Vec<bool>,
    /// Entries of a valid row whose cheapest move left, to recompute before use.
    stale: Vec<Vec<u32>>,
    /// Mean number of pairs per order (chooses entry-wise or whole-row repair).
    degree: usize,
    // Dijkstra scratch.
    dist: Vec<f64>,
    pchan: Vec<u32>,
    pfrom: Vec<u32>,
    pto: Vec<u32>,
    settled: Vec<(u32, f64)>,
    work: u64,
    n_aug: u64,
}

impl<'p> Ssp<'p> {
    fn new(p: &'p Problem, cap: &[u32]) -> Self {
        let m = p.num_channels();
        let a = p
            .pcost
            .iter()
            .zip(&p.porder)
            .map(|(&c, &i)| c / f64::from(p.units[i as usize]))
            .collect();
        let row = m + 1;
        Ssp {
            p,
            m,
            a,
            flow: vec![0; p.num_pairs()],
            out: vec![0; p.num_orders()],
            free: cap.iter().map(|&c| i64::from(c)).collect(),
            lambda: vec![0.0; m],
            members: vec![Vec::new(); m],
            mpos: vec![0; p.num_pairs()],
            w: vec![f64::INFINITY; m * row],
            wfrom: vec![NONE; m * row],
            wto: vec![NONE; m * row],
            w2: vec![f64::INFINITY; m * row],
            wfrom2: vec![NONE; m * row],
            wto2: vec![NONE; m * row],
            valid: vec![true; m],
            stale: vec![Vec::new(); m],
            degree: p.num_pairs() / p.num_orders().max(1) + 1,
            dist: vec![f64::INFINITY; row],
            pchan: vec![NONE; row],
            pfrom: vec![NONE; row],
            pto: vec![NONE; row],
            settled: Vec::new(),
            work: p.num_pairs() as u64,
            n_aug: 0,
        }
    }

    /// Folds the moves of member pair `kf` (on channel `s`) into row `s`.
    fn add_to_row(&mut self, s: usize, kf: usize) {
        let p = self.p;
        let row = s * (self.m + 1);
        let base = -self.a[kf];
        let o = p.porder[kf] as usize;
        self.offer(row + self.m, base, kf as u32, NONE);
        let r = p.range(o);
        self.work += r.len() as u64;
        for kt in r {
            let t = p.pch[kt] as usize;
            if t != s {
                self.offer(row + t, self.a[kt] + base, kf as u32, kt as u32);
            }
        }
    }

    /// Offers a move to entry `e`, keeping its two cheapest.
    #[inline]
    fn offer(&mut self, e: usize, v: f64, from: u32, to: u32) {
        if v < self.w[e] {
            self.w2[e] = self.w[e];
            self.wfrom2[e] = self.wfrom[e];
            self.wto2[e] = self.wto[e];
            self.w[e] = v;
            self.wfrom[e] = from;
            self.wto[e] = to;
        } else if v < self.w2[e] {
            self.w2[e] = v;
            self.wfrom2[e] = from;
            self.wto2[e] = to;
        }
    }

    fn rebuild(&mut self, s: usize) {
        let row = s * (self.m + 1);
        self.w[row..row + self.m + 1].fill(f64::INFINITY);
        self.w2[row..row + self.m + 1].fill(f64::INFINITY);
        for idx in 0..self.members[s].len() {
            let kf = self.members[s][idx] as usize;
            self.add_to_row(s, kf);
        }
        self.valid[s] = true;
        self.stale[s].clear();
    }

    /// Recomputes the stale entries of row `s` alone: one binary search per
    /// member and entry instead of every member's every pair.
    fn repair(&mut self, s: usize) {
        let p = self.p;
        let m = self.m;
        let row = s * (m + 1);
        let stale = std::mem::take(&mut self.stale[s]);
        for &t in &stale {
            let e = row + t as usize;
            self.w[e] = f64::INFINITY;
            self.w2[e] = f64::INFINITY;
            self.wfrom2[e] = NONE;
            for idx in 0..self.members[s].len() {
                let kf = self.members[s][idx] as usize;
                if t as usize == m {
                    self.offer(e, -self.a[kf], kf as u32, NONE);
                } else if let Some(kt) = p.find(p.porder[kf] as usize, t) {
                    self.offer(e, self.a[kt] - self.a[kf], kf as u32, kt as u32);
                }
            }
            self.work += self.members[s].len() as u64 * 2;
        }
        self.stale[s] = stale;
        self.stale[s].clear();
    }

    fn add_flow(&mut self, k: usize, d: u32) {
        if self.flow[k] == 0 {
            let s = self.p.pch[k] as usize;
            self.mpos[k] = self.members[s].len() as u32;
            self.members[s].push(k as u32);
            if self.valid[s] {
                self.add_to_row(s, k);
            }
        }
        self.flow[k] += d;
    }

    fn remove_flow(&mut self, k: usize, d: u32) {
        self.flow[k] -= d;
        if self.flow[k] == 0 {
            let s = self.p.pch[k] as usize;
            let pos = self.mpos[k] as usize;
            let list = &mut self.members[s];
            list.swap_remove(pos);
            if pos < list.len() {
                self.mpos[list[pos] as usize] = pos as u32;
            }
            if self.valid[s] {
                let row = s * (self.m + 1);
                let k = k as u32;
                for t in 0..=self.m {
                    let e = row + t;
                    if self.wfrom2[e] == k {
                        self.w2[e] = f64::NAN;
                        self.wfrom2[e] = NONE;
                    }
                    if self.wfrom[e] == k {
                        if self.wfrom2[e] != NONE {
                            self.w[e] = self.w2[e];
                            self.wfrom[e] = self.wfrom2[e];
                            self.wto[e] = self.wto2[e];
                            self.w2[e] = f64::NAN;
                            self.wfrom2[e] = NONE;
                        } else if !self.stale[s].contains(&(t as u32)) {
                            self.stale[s].push(t as u32);
                        }
                    }
                }
                let stale = &mut self.stale[s];
                self.work += (self.m as u64 + 1) / 4;
                if stale.len() * 6 > self.degree {
                    self.valid[s] = false;
                    stale.clear();
                }
            }
        }
    }

    /// One shortest path from order `i` to a channel with room or the sink;
    /// moves as many of `supply` units along it as it carries. Returns them.
    fn augment(&mut self, i: usize, supply: u32) -> u32 {
        let p = self.p;
        let m = self.m;
        self.dist.fill(f64::INFINITY);
        self.settled.clear();
        self.n_aug += 1;
        let r = p.range(i);
        self.work += r.len() as u64;
        for k in r {
            let t = p.pch[k] as usize;
            let v = self.a[k] + self.lambda[t];
            if v < self.dist[t] {
                self.dist[t] = v;
                self.pchan[t] = NONE;
                self.pto[t] = k as u32;
            }
        }
        self.dist[m] = 0.0;
        self.pchan[m] = NONE;
        self.pto[m] = NONE;
        // Settled entries hold NaN: no comparison picks or relaxes them.
        let target = loop {
            let mut t = m;
            let mut dt = self.dist[m];
            for (u, &d) in self.dist[..m].iter().enumerate() {
                if d < dt {
                    t = u;
                    dt = d;
                }
            }
            if t == m || self.free[t] > 0 {
                break t;
            }
            self.dist[t] = f64::NAN;
            self.settled.push((t as u32, dt));
            if !self.valid[t] {
                self.rebuild(t);
            } else if !self.stale[t].is_empty() {
                self.repair(t);
            }
            self.work += (m + 1) as u64 / 4;
            let row = t * (m + 1);
            let base = dt - self.lambda[t];
            let w = &self.w[row..row + m + 1];
            let dist = &mut self.dist[..m + 1];
            let lambda = &self.lambda[..m];
            for u in 0..m {
                let nd = base + w[u] + lambda[u];
                if nd < dist[u] {
                    dist[u] = nd;
                    self.pchan[u] = t as u32;
                    self.pfrom[u] = self.wfrom[row + u];
                    self.pto[u] = self.wto[row + u];
                }
            }
            let nd = base + w[m];
            if nd < dist[m] {
                dist[m] = nd;
                self.pchan[m] = t as u32;
                self.pfrom[m] = self.wfrom[row + m];
                self.pto[m] = NONE;
            }
        };
        let dt = self.dist[target];
        for &(s, ds) in &self.settled {
            self.lambda[s as usize] += dt - ds;
        }
        // Bottleneck: the supply, the target's room, the flow of every moved pair.
        let mut delta = supply;
        if target != m {
            delta = delta.min(self.free[target] as u32);
        }
        let mut v = target;
        while self.pchan[v] != NONE {
            delta = delta.min(self.flow[self.pfrom[v] as usize]);
            v = self.pchan[v] as usize;
        }
        let mut v = target;
        loop {
            let c = self.pchan[v];
            let kt = self.pto[v];
            let kf = self.pfrom[v];
            if kt == NONE {
                // To the sink: the moved order (or `i` itself) stays out.
                let o = if c == NONE {
                    i
                } else {
                    p.porder[kf as usize] as usize
                };
                self.out[o] += delta;
            } else {
                self.add_flow(kt as usize, delta);
            }
            if c == NONE {
                break;
            }
            self.remove_flow(kf as usize, delta);
            v = c as usize;
        }
        if target != m {
            self.free[target] -= i64::from(delta);
        }
        delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::channel::{Channel, ChannelKind, Vehicle};
    use crate::model::geo::GeoPoint;
    use crate::solve::{Demand, Weights};
    use rand::{Rng, SeedableRng, rngs::StdRng};

    fn random_problem(seed: u64, n: usize, m: usize, scarce: bool) -> Problem {
        let mut rng = StdRng::seed_from_u64(seed);
        let channels: Vec<Channel> = (0..m)
            .map(|j| {
                Channel::builder(
                    format!("c{j}"),
                    ChannelKind::DarkStore,
                    GeoPoint::new(
                        24.6 + rng.random::<f64>() * 0.2,
                        46.6 + rng.random::<f64>() * 0.2,
                    ),
                )
                .with_radius_km(6.0 + rng.random::<f64>() * 8.0)
                .with_vehicles([Vehicle::Bike, Vehicle::Car])
                .with_quality(0.5 + rng.random::<f64>() * 0.5)
                .build()
                .unwrap()
            })
            .collect();
        let demands: Vec<Demand> = (0..n)
            .map(|_| Demand {
                location: GeoPoint::new(
                    24.6 + rng.random::<f64>() * 0.2,
                    46.6 + rng.random::<f64>() * 0.2,
                ),
                units: rng.random_range(1..=4),
                vehicle: if rng.random::<bool>() {
                    Vehicle::Bike
                } else {
                    Vehicle::Car
                },
                deadline_min: 30.0 + rng.random::<f64>() * 40.0,
                priority: rng.random_range(1..=2),
            })
            .collect();
        let per = if scarce { n / m } else { 3 * n / m };
        let cap: Vec<u32> = (0..m)
            .map(|_| rng.random_range(0..=per as u32 + 1))
            .collect();
        Problem::new(demands, &channels, &cap, Weights::default(), 40.0).unwrap()
    }

    /// The LP optimality conditions, checked directly: every unit placed,
    /// capacity kept, flow only on pairs of least reduced cost, positive
    /// prices only on full channels, and the value equal to the dual bound.
    fn check_optimal(p: &Problem, lp: &Lp) {
        let tol = 1e-7;
        let mut load = vec![0i64; p.num_channels()];
        for i in 0..p.num_orders() {
            let u = f64::from(p.units[i]);
            let mut units = lp.out[i];
            let best = p
                .range(i)
                .map(|k| p.pcost[k] / u + lp.lambda[p.pch[k] as usize])
                .fold(0.0, f64::min);
            if lp.out[i] > 0 {
                assert!(best >= -tol, "order {i} left out at reduced cost {best}");
            }
            for k in p.range(i) {
                if lp.flow[k] > 0 {
                    let rc = p.pcost[k] / u + lp.lambda[p.pch[k] as usize];
                    assert!(
                        rc <= best + tol,
                        "order {i}: flow on a pair at {rc} > {best}"
                    );
                    units += lp.flow[k];
                    load[p.pch[k] as usize] += i64::from(lp.flow[k]);
                }
            }
            assert_eq!(units, p.units[i], "order {i}: units placed");
        }
        for (j, (&l, &lam)) in load.iter().zip(&lp.lambda).enumerate() {
            assert!(l <= i64::from(p.capacity[j]), "channel {j} over capacity");
            assert!(lam >= 0.0);
            if lam > tol {
                assert_eq!(l, i64::from(p.capacity[j]), "priced channel {j} not full");
            }
        }
        let mut choice = vec![NONE; p.num_orders()];
        let dual = super::super::lagrange::evaluate(p, &lp.lambda, &mut choice).value;
        assert!(
            (dual - lp.value).abs() <= 1e-6 * lp.value.abs().max(1.0),
            "dual {dual} vs primal {}",
            lp.value
        );
    }

    #[test]
    fn flow_meets_the_optimality_conditions() {
        let mut priced = 0;
        for seed in 0..40 {
            let n = 60 + seed as usize * 3;
            let p = random_problem(seed, n, 4 + seed as usize % 9, seed % 2 == 0);
            let (lp, _) = solve_lp(&p, u64::MAX, &|| false);
            assert!(lp.complete);
            check_optimal(&p, &lp);
            priced += usize::from(lp.lambda.iter().any(|&l| l > 0.0));
        }
        // The instances must exercise the prices, not only free capacity.
        assert!(
            priced >= 20,
            "only {priced} instances with a priced channel"
        );
    }

    /// The same LP handed to HiGHS (x_ij in [0, 1]) has the same optimum.
    #[cfg(feature = "exact")]
    #[test]
    fn flow_optimum_equals_highs_lp_optimum() {
        use good_lp::solvers::highs::highs;
        use good_lp::{Expression, ProblemVariables, Solution as _, SolverModel, variable};
        for seed in 100..120 {
            let p = random_problem(
                seed,
                40 + seed as usize % 30,
                3 + seed as usize % 6,
                seed % 2 == 0,
            );
            let (lp, _) = solve_lp(&p, u64::MAX, &|| false);
            let mut vars = ProblemVariables::new();
            let xs: Vec<_> = (0..p.num_pairs())
                .map(|_| vars.add(variable().min(0.0).max(1.0)))
                .collect();
            let obj: Expression = xs.iter().zip(&p.pcost).map(|(&x, &c)| c * x).sum();
            let mut model = vars.minimise(obj).using(highs);
            for i in 0..p.num_orders() {
                let e: Expression = p.range(i).map(|k| Expression::from(xs[k])).sum();
                model = model.with(e.leq(1.0));
            }
            for j in 0..p.num_channels() {
                let e: Expression = p.cpair[p.cstart[j]..p.cstart[j + 1]]
                    .iter()
                    .map(|&k| f64::from(p.units[p.porder[k as usize] as usize]) * xs[k as usize])
                    .sum();
                model = model.with(e.leq(f64::from(p.capacity[j])));
            }
            let sol = model.solve().unwrap();
            let highs_value: f64 = xs
                .iter()
                .zip(&p.pcost)
                .map(|(&x, &c)| c * sol.value(x))
                .sum();
            assert!(
                (highs_value - lp.value).abs() <= 1e-6 * highs_value.abs().max(1.0),
                "seed {seed}: HiGHS {highs_value} vs flow {}",
                lp.value
            );
        }
    }

    #[test]
    fn dive_returns_a_feasible_assignment() {
        for seed in 200..220 {
            let p = random_problem(seed, 80, 3 + seed as usize % 6, seed % 2 == 0);
            let (st, _) = dive(&p, None, seed % 2 == 0, u64::MAX, &|| false);
            let st = st.expect("unbounded work");
            p.check(&st.to_assignment()).unwrap();
            assert!(
                (st.exact_cost() + p.pen.iter().sum::<f64>() - p.objective(&st.to_assignment()))
                    .abs()
                    < 1e-6
            );
        }
    }

    #[test]
    fn work_limit_gives_up_cleanly() {
        let p = random_problem(7, 400, 10, true);
        let (lp, work) = solve_lp(&p, 10, &|| false);
        assert!(!lp.complete);
        // The orders searched before the limit still form a feasible flow.
        let mut load = vec![0i64; p.num_channels()];
        for (k, &y) in lp.flow.iter().enumerate() {
            load[p.pch[k] as usize] += i64::from(y);
        }
        assert!(
            load.iter()
                .zip(&p.capacity)
                .all(|(&l, &c)| l <= i64::from(c))
        );
        round(&p, &lp);
        assert!(work > 10);
    }
}
