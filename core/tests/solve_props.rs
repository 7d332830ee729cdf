//! Invariants of the solver on random small instances: budgeted answers are
//! feasible, bounded below by their own lower bound, and (with the `exact`
//! feature) never better than the proven optimum.

use proptest::prelude::*;
use uoom::solve::{Demand, Problem, SolveOptions, Weights, solve};
use uoom::{Channel, ChannelKind, GeoPoint, Health, Vehicle};

fn vehicle(k: u8) -> Vehicle {
    Vehicle::ALL[(k % 4) as usize]
}

prop_compose! {
    fn arb_channel()(dlat in -0.05f64..0.05, dlon in -0.05f64..0.05, radius in 2.0f64..9.0,
                     vmask in 1u8..16, base in 1.0f64..6.0, per_km in 0.3f64..1.2,
                     prep in 5.0f64..20.0, speed in 20.0f64..40.0, q in 0.5f64..1.0,
                     down in 0u8..20) -> Channel {
        let vs: Vec<Vehicle> = (0..4u8).filter(|b| vmask & (1 << b) != 0).map(vehicle).collect();
        Channel::builder("c", ChannelKind::DarkStore, GeoPoint::new(24.7 + dlat, 46.7 + dlon))
            .with_radius_km(radius).with_vehicles(vs).with_cost(base, per_km)
            .with_prep_min(prep).with_speed_kmh(speed).with_quality(q)
            .with_health(if down == 0 { Health::Down } else { Health::Up })
            .build().unwrap()
    }
}

prop_compose! {
    fn arb_demand()(dlat in -0.05f64..0.05, dlon in -0.05f64..0.05, units in 1u32..5,
                    v in 0u8..4, deadline in 25.0f64..90.0, priority in 1u32..4) -> Demand {
        Demand { location: GeoPoint::new(24.7 + dlat, 46.7 + dlon), units, vehicle: vehicle(v),
                 deadline_min: deadline, priority }
    }
}

prop_compose! {
    fn arb_problem()(channels in prop::collection::vec(arb_channel(), 1..6),
                     demands in prop::collection::vec(arb_demand(), 0..25),
                     caps in prop::collection::vec(0u32..12, 6),
                     penalty in 5.0f64..60.0) -> Problem {
        let caps = &caps[..channels.len()];
        Problem::new(demands, &channels, caps, Weights::default(), penalty).unwrap()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn budgeted_answers_are_feasible_and_above_their_bound(p in arb_problem()) {
        let s = solve(&p, &SolveOptions::default().with_time_limit_ms(20)).unwrap();
        prop_assert!(p.check(&s.assignment).is_ok());
        prop_assert!((p.objective(&s.assignment) - s.objective).abs() < 1e-9);
        let lb = s.lower_bound.unwrap();
        prop_assert!(lb <= s.objective + 1e-9, "bound {} above objective {}", lb, s.objective);
    }

    #[test]
    fn budgeted_is_deterministic(p in arb_problem()) {
        // By work alone (no clock), so that a loaded test machine cannot cut a run.
        let o = SolveOptions::default().with_time_limit_ms(20).with_clock_net(false);
        let a = solve(&p, &o).unwrap();
        let b = solve(&p, &o).unwrap();
        prop_assert!(!a.clock_cut && !b.clock_cut);
        prop_assert_eq!(a.assignment, b.assignment);
        prop_assert_eq!(a.objective.to_bits(), b.objective.to_bits());
    }
}

#[cfg(feature = "exact")]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn budgeted_never_beats_the_exact_optimum(p in arb_problem()) {
        let b = solve(&p, &SolveOptions::default().with_time_limit_ms(20)).unwrap();
        let e = solve(&p, &SolveOptions::default().with_exact(true)).unwrap();
        prop_assert!(p.check(&e.assignment).is_ok());
        prop_assert_eq!(e.method, uoom::solve::Method::Optimal);
        prop_assert!(b.objective >= e.objective - 1e-9 * e.objective.abs().max(1.0),
            "budgeted {} below optimum {}", b.objective, e.objective);
        // The budgeted lower bound is valid for the optimum too.
        prop_assert!(b.lower_bound.unwrap() <= e.objective + 1e-6);
    }

    #[test]
    fn exact_matches_brute_force_on_tiny_instances(p in arb_tiny_problem()) {
        let e = solve(&p, &SolveOptions::default().with_exact(true)).unwrap();
        let brute = brute_force(&p);
        prop_assert!((e.objective - brute).abs() <= 1e-9 * brute.abs().max(1.0),
            "exact {} vs brute force {}", e.objective, brute);
    }
}

prop_compose! {
    #[cfg(feature = "exact")]
    fn arb_tiny_problem()(channels in prop::collection::vec(arb_channel(), 1..4),
                          demands in prop::collection::vec(arb_demand(), 0..7),
                          caps in prop::collection::vec(0u32..8, 4),
                          penalty in 5.0f64..60.0) -> Problem {
        let caps = &caps[..channels.len()];
        Problem::new(demands, &channels, caps, Weights::default(), penalty).unwrap()
    }
}

/// The optimum by enumerating every assignment (tiny instances only).
#[cfg(feature = "exact")]
fn brute_force(p: &Problem) -> f64 {
    let n = p.num_orders();
    let m = p.num_channels();
    let mut best = f64::INFINITY;
    let mut a: Vec<Option<usize>> = vec![None; n];
    fn rec(p: &Problem, i: usize, m: usize, a: &mut Vec<Option<usize>>, best: &mut f64) {
        if i == a.len() {
            if p.check(a).is_ok() {
                *best = best.min(p.objective(a));
            }
            return;
        }
        a[i] = None;
        rec(p, i + 1, m, a, best);
        for j in 0..m {
            if p.score(i, j).is_some() {
                a[i] = Some(j);
                rec(p, i + 1, m, a, best);
            }
        }
        a[i] = None;
    }
    rec(p, 0, m, &mut a, &mut best);
    best
}
