//! Property tests of the ranker against a brute-force reference: filter
//! every channel with the model's own functions (`Channel::serves`,
//! `haversine_km`, `Channel::eta_min`), score with the documented formulas,
//! sort everything, take k. Also: explanations agree with `top_k`, and
//! incremental signal updates equal a ranker built from the final signals.
//!
//! Case counts: `RANK_CASES` (default 30 000) and `RANK_UPDATE_CASES`
//! (default 10 000); `PROPTEST_CASES` overrides both.

use proptest::prelude::*;
use std::sync::Arc;
use uoom::model::geo::haversine_km;
use uoom::rank::{RankQuery, RankWeights, Ranked, Ranker, StalePolicy};
use uoom::{Channel, ChannelKind, GeoPoint, Health, ManualClock, Millis, Vehicle};

fn cases(var: &str, default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .or_else(|_| std::env::var(var))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone)]
struct Sig {
    available: u32,
    capacity: u32,
    quality: f64,
    health: Health,
    breaker: bool,
    /// Ages in ms of headroom, quality, health at query time.
    ages: [u64; 3],
}

fn vehicle() -> impl Strategy<Value = Vehicle> {
    prop::sample::select(Vehicle::ALL.to_vec())
}

fn channel(i: usize) -> impl Strategy<Value = Channel> {
    // A quarter of the channels are clones of one standard channel, so that
    // equal scores and equal ETAs occur and the tie-breaks are exercised.
    let standard = Channel::builder(
        format!("c{i}"),
        ChannelKind::DarkStore,
        GeoPoint::new(24.70, 46.67),
    )
    .with_radius_km(20.0)
    .with_vehicles(Vehicle::ALL)
    .build()
    .unwrap();
    prop_oneof![1 => Just(standard), 3 => random_channel(i)]
}

fn random_channel(i: usize) -> impl Strategy<Value = Channel> {
    (
        (24.60f64..24.80, 46.55f64..46.80),
        prop_oneof![Just(3.0f64), 1.0f64..15.0],
        prop::collection::vec(vehicle(), 1..3),
        (0.0f64..5.0, 0.0f64..2.0),
        (0.0f64..20.0, 10.0f64..40.0),
        0.0f64..=1.0,
    )
        .prop_map(move |((lat, lon), r, vs, (b, k), (prep, speed), q)| {
            Channel::builder(
                format!("c{i}"),
                ChannelKind::DarkStore,
                GeoPoint::new(lat, lon),
            )
            .with_radius_km(r)
            .with_vehicles(vs)
            .with_cost(b, k)
            .with_prep_min(prep)
            .with_speed_kmh(speed)
            .with_quality(q)
            .build()
            .unwrap()
        })
}

fn sig() -> impl Strategy<Value = Sig> {
    let standard = Sig {
        available: 3,
        capacity: 3,
        quality: 1.0,
        health: Health::Up,
        breaker: false,
        ages: [0; 3],
    };
    prop_oneof![1 => Just(standard), 3 => random_sig()]
}

fn random_sig() -> impl Strategy<Value = Sig> {
    (
        0u32..6,
        0u32..6,
        prop_oneof![Just(0.5f64), 0.0f64..=1.0],
        prop::sample::select(vec![Health::Up, Health::Up, Health::Degraded, Health::Down]),
        prop::bool::weighted(0.1),
        [0u64..120, 0u64..120, 0u64..120],
    )
        .prop_map(|(a, extra, quality, health, breaker, ages)| Sig {
            available: a,
            capacity: a + extra,
            quality,
            health,
            breaker,
            ages,
        })
}

fn weights() -> impl Strategy<Value = RankWeights> {
    prop_oneof![
        Just(RankWeights::default()),
        [0.0f64..1.0, 0.0f64..1.0, 0.0f64..1.0, 0.01f64..1.0].prop_map(|w| RankWeights {
            capacity: w[0],
            quality: w[1],
            latency: w[2],
            cost: w[3],
        }),
        // Equal weights on equal channels exercise the tie-breaks.
        Just(RankWeights {
            capacity: 1.0,
            quality: 0.0,
            latency: 0.0,
            cost: 0.0
        }),
    ]
}

fn query() -> impl Strategy<Value = RankQuery> {
    (
        (24.60f64..24.80, 46.55f64..46.80),
        vehicle(),
        1u32..4,
        prop::option::weighted(0.3, 5.0f64..60.0),
        weights(),
    )
        .prop_map(|((lat, lon), v, units, deadline, w)| RankQuery {
            location: GeoPoint::new(lat, lon),
            vehicle: v,
            units,
            deadline_min: deadline,
            weights: w,
        })
}

fn world() -> impl Strategy<Value = (Vec<Channel>, Vec<Sig>)> {
    (0usize..40).prop_flat_map(|n| {
        let chans: Vec<_> = (0..n).map(channel).collect();
        (chans, prop::collection::vec(sig(), n))
    })
}

const NOW: u64 = 1_000;

fn arctic_point(p: GeoPoint) -> GeoPoint {
    let lon = 179.9 + (p.lon - 46.55);
    GeoPoint::new(
        65.0 + (p.lat - 24.6),
        if lon > 180.0 { lon - 360.0 } else { lon },
    )
}

/// Builds a ranker whose signals have the given ages at time NOW.
fn build(chans: &[Channel], sigs: &[Sig], max_age: Option<u64>, policy: StalePolicy) -> Ranker {
    let clock = Arc::new(ManualClock::new(Millis(0)));
    let mut r = Ranker::new(chans.to_vec(), clock.clone())
        .unwrap()
        .with_stale_policy(policy);
    if let Some(a) = max_age {
        r = r.with_max_signal_age_ms(a);
    }
    // Apply updates in time order so each signal gets its own timestamp.
    let mut updates: Vec<(u64, usize, usize)> = Vec::new();
    for (i, s) in sigs.iter().enumerate() {
        for (k, age) in s.ages.iter().enumerate() {
            updates.push((NOW - age, i, k));
        }
    }
    updates.sort_unstable();
    for (t, i, k) in updates {
        clock.set(Millis(t));
        let s = &sigs[i];
        match k {
            0 => r.update_headroom(i, s.available, s.capacity).unwrap(),
            1 => r.update_quality(i, s.quality).unwrap(),
            _ => {
                r.update_health(i, s.health).unwrap();
                r.set_breaker_open(i, s.breaker).unwrap();
            }
        }
    }
    clock.set(Millis(NOW));
    r
}

/// The brute-force reference.
fn reference(
    chans: &[Channel],
    sigs: &[Sig],
    q: &RankQuery,
    k: usize,
    max_age: Option<u64>,
    policy: StalePolicy,
) -> Vec<Ranked> {
    let w = q.weights.normalised();
    let mut all = Vec::new();
    for (i, (c, s)) in chans.iter().zip(sigs).enumerate() {
        let stale = |age: u64| max_age.is_some_and(|m| age > m);
        let any_stale = s.ages.iter().any(|a| stale(*a));
        if s.health == Health::Down || s.breaker {
            continue;
        }
        if any_stale && policy == StalePolicy::Exclude {
            continue;
        }
        if !c.serves(q.vehicle) || s.available < q.units {
            continue;
        }
        let d = haversine_km(
            c.location.lat,
            c.location.lon,
            q.location.lat,
            q.location.lon,
        );
        if d > c.radius_km {
            continue;
        }
        let eta = c.eta_min(d);
        if q.deadline_min.is_some_and(|dl| eta > dl) {
            continue;
        }
        let cost = c.cost.cost(d);
        let mut headroom = if s.capacity == 0 {
            0.0
        } else {
            (f64::from(s.available) / f64::from(s.capacity)).min(1.0)
        };
        let factor = if s.health == Health::Degraded {
            0.5
        } else {
            1.0
        };
        let mut quality = s.quality * factor;
        if stale(s.ages[0]) {
            headroom = 0.0;
        }
        if stale(s.ages[1]) || stale(s.ages[2]) {
            quality = 0.0;
        }
        let lref = q.deadline_min.unwrap_or(30.0);
        let contributions = uoom::rank::Contributions {
            capacity: w.capacity * headroom,
            quality: w.quality * quality,
            latency: w.latency * (lref / (lref + eta)),
            cost: w.cost * (10.0 / (10.0 + cost)),
        };
        all.push(Ranked {
            channel: i,
            score: contributions.total(),
            contributions,
            distance_km: d,
            eta_min: eta,
            cost,
        });
    }
    all.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.eta_min.total_cmp(&b.eta_min))
            .then(a.channel.cmp(&b.channel))
    });
    all.truncate(k);
    all
}

fn stale_cfg() -> impl Strategy<Value = (Option<u64>, StalePolicy)> {
    (
        prop::option::of(10u64..110),
        prop::sample::select(vec![StalePolicy::Exclude, StalePolicy::ZeroScore]),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases("RANK_CASES", 30_000)))]
    #[test]
    fn top_k_equals_brute_force_and_explain_agrees(
        (chans, sigs) in world(),
        q in query(),
        k in 0usize..8,
        (max_age, policy) in stale_cfg(),
        arctic in prop::bool::weighted(0.25),
    ) {
        let (mut chans, mut q) = (chans, q);
        if arctic {
            // Move the world to 65–69°N across the antimeridian, where a
            // degree of longitude is short and longitudes wrap.
            for c in &mut chans {
                c.location = arctic_point(c.location);
            }
            q.location = arctic_point(q.location);
        }
        let r = build(&chans, &sigs, max_age, policy);
        let got = r.top_k(&q, k).unwrap();
        let want = reference(&chans, &sigs, &q, k, max_age, policy);
        prop_assert_eq!(&got, &want);
        let ex = r.explain(&q, k).unwrap();
        let explained: Vec<Ranked> = ex.ranked.iter().map(|e| e.ranked).collect();
        prop_assert_eq!(&explained, &got);
        prop_assert_eq!(ex.eligible + ex.excluded.len(), chans.len());
        let all_eligible = reference(&chans, &sigs, &q, usize::MAX, max_age, policy);
        prop_assert_eq!(ex.eligible, all_eligible.len());
        for e in &ex.ranked {
            let sum: f64 = e.ranked.contributions.as_array().iter().sum();
            prop_assert!((sum - e.ranked.score).abs() < 1e-12);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases("RANK_UPDATE_CASES", 10_000)))]
    /// A ranker updated signal by signal ranks like one built with the final signals.
    #[test]
    fn incremental_updates_equal_a_rebuild(
        (chans, first) in world(),
        q in query(),
        updates in prop::collection::vec((0usize..40, sig()), 0..30),
    ) {
        let mut live = build(&chans, &first, None, StalePolicy::Exclude);
        let mut last = first.clone();
        for (i, s) in &updates {
            if *i >= chans.len() {
                prop_assert!(live.update_health(*i, s.health).is_err());
                continue;
            }
            live.update_headroom(*i, s.available, s.capacity).unwrap();
            live.update_quality(&chans[*i].id, s.quality).unwrap();
            live.update_health(chans[*i].id.as_str(), s.health).unwrap();
            live.set_breaker_open(*i, s.breaker).unwrap();
            last[*i] = Sig { ages: [0; 3], ..s.clone() };
        }
        let rebuilt = build(&chans, &last, None, StalePolicy::Exclude);
        prop_assert_eq!(live.top_k(&q, 5).unwrap(), rebuilt.top_k(&q, 5).unwrap());
    }
}
