//! Branch and bound on the LP relaxation, for instances whose LP is cheap.
//!
//! Each node is the transportation LP ([`flow`]) with some orders fixed to a
//! channel and some pairs banned. A node whose LP is no better than the
//! incumbent is pruned; an integral LP is a new incumbent; otherwise the
//! node branches on one order the LP splits: first "the order goes whole to
//! the channel holding most of its units", then "never to that channel".
//! Depth first, in a fixed order, within a work budget: the same input gives
//! the same answer and the same proof on every run.

use super::flow;
use super::problem::Problem;
use super::state::State;

/// What the search ended with.
pub(crate) struct Outcome {
    /// True when every node was settled: the incumbent is optimal (within `tol`).
    pub proven: bool,
    /// Work spent (pair visits).
    pub work: u64,
}

/// One node: orders fixed to a pair, and banned pairs.
struct Node {
    fixed: Vec<(u32, u32)>,
    banned: Vec<u32>,
}

/// Searches for an assignment cheaper than `best` by more than `tol` (in the
/// objective's units), replacing `best` with every one it finds; stops after
/// `max_work` pair visits or when `late` says so.
pub(crate) fn search(
    p: &Problem,
    best: &mut State,
    tol: f64,
    max_work: u64,
    late: &dyn Fn() -> bool,
) -> Outcome {
    let n = p.num_orders();
    let mut work = 0u64;
    let mut stack = vec![Node {
        fixed: Vec::new(),
        banned: Vec::new(),
    }];
    let mut cap = vec![0u32; p.num_channels()];
    let mut active = vec![true; n];
    let mut banned = vec![false; p.num_pairs()];
    while let Some(node) = stack.pop() {
        if work >= max_work || late() {
            return Outcome {
                proven: false,
                work,
            };
        }
        cap.copy_from_slice(&p.capacity);
        active.fill(true);
        banned.fill(false);
        let mut fixed_cost = 0.0;
        for &(i, k) in &node.fixed {
            active[i as usize] = false;
            cap[p.pch[k as usize] as usize] -= p.units[i as usize];
            fixed_cost += p.pcost[k as usize];
        }
        for &k in &node.banned {
            banned[k as usize] = true;
        }
        work += (n + p.num_pairs()) as u64;
        let (lp, w) = flow::solve_lp_within(
            p,
            &cap,
            &active,
            Some(&banned),
            max_work.saturating_sub(work),
            &|| false,
        );
        work += w;
        if !lp.complete {
            return Outcome {
                proven: false,
                work,
            };
        }
        let value = fixed_cost + lp.value;
        if value >= best.cost - tol {
            continue;
        }
        // The split order to branch on: most units, then lowest index.
        let mut branch: Option<(u32, usize)> = None;
        for i in (0..n).filter(|&i| active[i]) {
            if lp.out[i] == p.units[i] || p.range(i).any(|k| lp.flow[k] == p.units[i]) {
                continue;
            }
            if branch.is_none_or(|(u, _)| p.units[i] > u) {
                branch = Some((p.units[i], i));
            }
        }
        let Some((_, i)) = branch else {
            // Integral: a better assignment.
            let mut st = State::empty(p);
            for &(i, k) in &node.fixed {
                st.set(p, i as usize, p.pch[k as usize], p.pcost[k as usize]);
            }
            for i in (0..n).filter(|&i| active[i]) {
                if let Some(k) = p.range(i).find(|&k| lp.flow[k] == p.units[i]) {
                    st.set(p, i, p.pch[k], p.pcost[k]);
                }
            }
            st.cost = st.exact_cost();
            if st.cost < best.cost && p.check(&st.to_assignment()).is_ok() {
                *best = st;
            }
            continue;
        };
        // The pair holding most of its units (lowest index on ties).
        let k = p
            .range(i)
            .filter(|&k| lp.flow[k] > 0)
            .max_by_key(|&k| (lp.flow[k], std::cmp::Reverse(k)));
        let Some(k) = k else {
            // Only "out" units and banned pairs: cannot happen for a split order.
            continue;
        };
        let mut ban = Node {
            fixed: node.fixed.clone(),
            banned: node.banned.clone(),
        };
        ban.banned.push(k as u32);
        stack.push(ban);
        if cap[p.pch[k] as usize] >= p.units[i] {
            let mut fix = node;
            fix.fixed.push((i as u32, k as u32));
            stack.push(fix);
        }
    }
    Outcome { proven: true, work }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::channel::{Channel, ChannelKind, Vehicle};
    use crate::model::geo::GeoPoint;
    use crate::solve::{Demand, Weights};
    use rand::{Rng, SeedableRng, rngs::StdRng};

    fn random_problem(seed: u64, n: usize, m: usize) -> Problem {
        let mut rng = StdRng::seed_from_u64(seed);
        let channels: Vec<Channel> = (0..m)
            .map(|j| {
                Channel::builder(
                    format!("c{j}"),
                    ChannelKind::DarkStore,
                    GeoPoint::new(
                        24.6 + rng.random::<f64>() * 0.1,
                        46.6 + rng.random::<f64>() * 0.1,
                    ),
                )
                .with_radius_km(8.0 + rng.random::<f64>() * 6.0)
                .with_vehicles([Vehicle::Bike, Vehicle::Car])
                .with_quality(0.5 + rng.random::<f64>() * 0.5)
                .build()
                .unwrap()
            })
            .collect();
        let demands: Vec<Demand> = (0..n)
            .map(|_| Demand {
                location: GeoPoint::new(
                    24.6 + rng.random::<f64>() * 0.1,
                    46.6 + rng.random::<f64>() * 0.1,
                ),
                units: rng.random_range(1..=4),
                vehicle: Vehicle::Car,
                deadline_min: 40.0 + rng.random::<f64>() * 40.0,
                priority: rng.random_range(1..=2),
            })
            .collect();
        let cap: Vec<u32> = (0..m).map(|_| rng.random_range(0..=6)).collect();
        Problem::new(demands, &channels, &cap, Weights::default(), 40.0).unwrap()
    }

    /// Every assignment of a tiny instance, enumerated.
    fn brute_force(p: &Problem) -> f64 {
        fn go(p: &Problem, i: usize, free: &mut [i64], acc: f64, best: &mut f64) {
            if i == p.num_orders() {
                *best = best.min(acc);
                return;
            }
            go(p, i + 1, free, acc, best);
            let u = i64::from(p.units[i]);
            for k in p.range(i) {
                let j = p.pch[k] as usize;
                if free[j] >= u {
                    free[j] -= u;
                    go(p, i + 1, free, acc + p.pcost[k], best);
                    free[j] += u;
                }
            }
        }
        let mut free: Vec<i64> = p.capacity.iter().map(|&c| i64::from(c)).collect();
        let mut best = 0.0;
        go(p, 0, &mut free, 0.0, &mut best);
        best
    }

    #[test]
    fn proves_the_brute_force_optimum() {
        let mut improved = 0;
        for seed in 0..30 {
            let p = random_problem(seed, 9, 3 + seed as usize % 3);
            let opt = brute_force(&p);
            let mut st = State::empty(&p);
            let out = search(&p, &mut st, 1e-9, u64::MAX, &|| false);
            assert!(out.proven, "seed {seed}");
            p.check(&st.to_assignment()).unwrap();
            assert!(
                (st.exact_cost() - opt).abs() < 1e-7,
                "seed {seed}: {} vs {opt}",
                st.exact_cost()
            );
            improved += usize::from(opt < 0.0);
        }
        assert!(improved > 20);
    }

    #[test]
    fn gives_up_within_its_work_budget() {
        let p = random_problem(3, 9, 4);
        let mut st = State::empty(&p);
        let out = search(&p, &mut st, 1e-9, 1, &|| false);
        assert!(!out.proven);
        p.check(&st.to_assignment()).unwrap();
    }
}
