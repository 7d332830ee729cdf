//! The solver on the small public benchmark instances of `benches/instances`
//! (format: docs/bench-format.md).

use uoom::bench_format::{Instance, SolutionFile};
use uoom::solve::{Method, SolveOptions, solve};

fn load(name: &str) -> Instance {
    let path = format!(
        "{}/../benches/instances/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    Instance::from_json(&std::fs::read(path).unwrap()).unwrap()
}

fn best_known(name: &str) -> f64 {
    let path = format!(
        "{}/../benches/instances/reference.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v[name]["best_known"].as_f64().unwrap()
}

const SMALL: [&str; 6] = ["b-s-0", "b-s-1", "b-s-2", "rt-50-0", "rt-50-1", "rt-200-0"];

#[test]
fn budgeted_answers_are_feasible_and_never_below_the_optimum() {
    for name in SMALL {
        let inst = load(name);
        let p = inst.to_problem().unwrap();
        let s = solve(&p, &SolveOptions::default()).unwrap();
        p.check(&s.assignment).unwrap();
        let best = best_known(name);
        assert!(
            s.objective >= best - 1e-6 * best,
            "{name}: {} < {best}",
            s.objective
        );
        let lb = s.lower_bound.unwrap();
        assert!(
            lb <= best + 1e-6 * best,
            "{name}: bound {lb} above optimum {best}"
        );
    }
}

#[test]
fn real_time_instances_are_solved_optimally() {
    for name in ["rt-50-0", "rt-50-1", "rt-200-0"] {
        let p = load(name).to_problem().unwrap();
        let s = solve(&p, &SolveOptions::default()).unwrap();
        let best = best_known(name);
        assert!(
            (s.objective - best).abs() <= 1e-6 * best,
            "{name}: {} vs {best}",
            s.objective
        );
        assert_eq!(s.method, Method::Optimal, "{name}");
    }
}

#[test]
fn the_same_instance_and_budget_give_the_same_assignment() {
    // Work budgets, not the clock, bound every phase: with the safety net
    // off, two runs do the same work and must agree bit for bit.
    for (name, ms) in [("b-s-0", 20), ("b-s-1", 100), ("b-m-0", 20), ("b-l-0", 3)] {
        let p = load(name).to_problem().unwrap();
        let o = SolveOptions::default()
            .with_time_limit_ms(ms)
            .with_clock_net(false);
        let a = solve(&p, &o).unwrap();
        let b = solve(&p, &o).unwrap();
        assert!(!a.clock_cut && !b.clock_cut, "{name}");
        assert_eq!(a.assignment, b.assignment, "{name}");
        assert_eq!(a.objective.to_bits(), b.objective.to_bits(), "{name}");
        assert_eq!(a.method, b.method, "{name}");
    }
}

#[test]
fn a_single_order_is_decided_without_search() {
    for name in ["rt-50-0", "rt-50-1", "rt-200-0"] {
        let p = load(name).to_problem().unwrap();
        let s = solve(&p, &SolveOptions::default().with_time_limit_ms(5)).unwrap();
        assert_eq!(s.method, Method::Optimal, "{name}");
        assert!(s.gap.unwrap() <= 1e-12, "{name}");
        assert!(!s.clock_cut, "{name}");
    }
}

#[test]
fn a_problem_cut_at_its_deadline_claims_no_proof() {
    let inst = load("b-s-0");
    let p = inst
        .to_problem_until(Some(std::time::Instant::now()))
        .unwrap();
    assert!(p.cut_short());
    let s = solve(&p, &SolveOptions::default()).unwrap();
    p.check(&s.assignment).unwrap();
    assert!(s.clock_cut);
    assert_ne!(s.method, Method::Optimal);
    assert_eq!(s.lower_bound, None);
    // The objective counts the orders left unscored as unassigned.
    assert!(s.objective >= best_known("b-s-0"));
}

#[test]
fn solution_file_lists_every_order_once() {
    let inst = load("b-s-0");
    let p = inst.to_problem().unwrap();
    let s = solve(&p, &SolveOptions::default().with_explain(true)).unwrap();
    let f = SolutionFile::new(&inst, &s);
    assert_eq!(f.assignments.len() + f.unassigned.len(), inst.orders.len());
    let e = f.explanations.unwrap();
    assert_eq!(e.assigned.len(), f.assignments.len());
    assert_eq!(e.unassigned.len(), f.unassigned.len());
    // The runner-up never beats the chosen channel by more than what capacity explains:
    // its score difference is the sum of its per-criterion parts.
    for a in &e.assigned {
        if let Some(r) = &a.runner_up {
            let parts = r.diff.cost + r.diff.time + r.diff.quality;
            assert!((r.score - a.criteria.total() - parts).abs() < 1e-9);
        }
    }
}

#[cfg(feature = "exact")]
#[test]
fn exact_reaches_the_proven_optimum_of_small_batches() {
    for name in ["b-s-0", "b-s-1", "b-s-2"] {
        let p = load(name).to_problem().unwrap();
        let s = solve(&p, &SolveOptions::default().with_exact(true)).unwrap();
        p.check(&s.assignment).unwrap();
        let best = best_known(name);
        assert!(
            (s.objective - best).abs() <= 1e-6 * best,
            "{name}: {} vs {best}",
            s.objective
        );
        assert_eq!(s.method, Method::Optimal);
    }
}
