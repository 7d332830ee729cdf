//! Deterministic simulations with a manual clock and seeded partner failures
//! and outages: after every run, no order is both confirmed and compensated,
//! every confirmed order has committed capacity, no reservation outlives its
//! order, and every state change produced exactly one event.

mod engine_common;

use engine_common::{check_invariants, count, failures, run_scenario, run_scenario_with};
use proptest::prelude::*;
use uoom::engine::{DecisionKind, ScenarioConfig};
use uoom::events::FailureReason;

#[test]
fn a_realistic_run_routes_most_orders_and_keeps_every_invariant() {
    let config = ScenarioConfig::new(3_000, 11);
    let run = run_scenario(&config);
    for shard in &run.shards {
        check_invariants(shard);
    }
    let routed = count(&run.outcomes, uoom::engine::Outcome::is_confirmed);
    assert!(routed > 2_500, "only {routed} of 3000 routed");
    // The scenario's partner failures, timeouts and outages all happened
    // and were compensated.
    let compensated = count(&run.outcomes, |o| o.is_confirmed() && o.compensations > 0);
    assert!(
        compensated > 0,
        "no confirmed order needed a compensation first"
    );
    let trips: u64 = run
        .shards
        .iter()
        .map(|s| s.router.metrics().breaker_trips)
        .sum();
    assert!(trips > 0, "no outage tripped a breaker");
    let timeouts: u64 = run.shards.iter().map(|s| s.gateway.stats().timed_out).sum();
    assert!(timeouts > 0);
    // The run cancelled about one confirmed order in thirteen; the invariants
    // above saw their bookings cancelled and their capacity refunded.
    let cancelled: usize = run
        .shards
        .iter()
        .map(|s| {
            s.store
                .orders()
                .iter()
                .filter(|o| o.status == uoom::OrderStatus::Cancelled)
                .count()
        })
        .sum();
    assert!(
        (routed / 20..routed / 6).contains(&cancelled),
        "{cancelled} of {routed} cancelled"
    );
}

#[test]
fn scarce_capacity_fails_orders_with_capacity_exhausted_and_keeps_invariants() {
    let mut config = ScenarioConfig::new(2_000, 5);
    config.capacity_headroom = 0.6;
    let run = run_scenario(&config);
    for shard in &run.shards {
        check_invariants(shard);
    }
    assert!(failures(&run.outcomes, FailureReason::CapacityExhausted) > 100);
}

#[test]
fn the_same_seed_replays_the_same_outcomes() {
    let config = ScenarioConfig::new(800, 99);
    let a = run_scenario(&config);
    let b = run_scenario(&config);
    assert_eq!(a.outcomes, b.outcomes);
}

#[test]
fn batch_windows_keep_every_invariant_and_route_through_the_solver() {
    let config = ScenarioConfig::new(2_000, 21);
    let run = run_scenario_with(&config, Some(20));
    for shard in &run.shards {
        check_invariants(shard);
        assert_eq!(shard.router.queued(), 0);
    }
    assert_eq!(run.outcomes.len(), 2_000, "every order came out of a batch");
    let batch = count(&run.outcomes, |o| {
        matches!(
            o.decision,
            Some(
                DecisionKind::BatchOptimal
                    | DecisionKind::BatchImproved
                    | DecisionKind::BatchGreedy
            )
        )
    });
    assert!(batch > 1_500, "{batch} batch decisions");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn invariants_hold_for_any_seed(
        seed in any::<u64>(),
        orders in 50usize..600,
        headroom in 0.3f64..1.5,
        outage_share in 0.0f64..1.0,
        channels in 8usize..40,
    ) {
        let mut config = ScenarioConfig::new(orders, seed);
        config.capacity_headroom = headroom;
        config.outage_share = outage_share;
        config.channels = channels;
        let run = run_scenario(&config);
        for shard in &run.shards {
            check_invariants(shard);
        }
        prop_assert_eq!(run.outcomes.len(), orders);
    }

    #[test]
    fn invariants_hold_for_any_seed_in_batch_windows(
        seed in any::<u64>(),
        orders in 50usize..400,
        headroom in 0.3f64..1.5,
        window in 1u64..200,
    ) {
        let mut config = ScenarioConfig::new(orders, seed);
        config.capacity_headroom = headroom;
        let run = run_scenario_with(&config, Some(window));
        for shard in &run.shards {
            check_invariants(shard);
        }
        prop_assert_eq!(run.outcomes.len(), orders);
    }
}
