//! Criterion: filtered weighted top-5 of 1,000 channels spread over a metro
//! area (the `uoom-bench rank` world, smaller generator), and `explain`.

use criterion::{Criterion, criterion_group, criterion_main};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::sync::Arc;
use uoom::rank::{RankQuery, Ranker};
use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, Vehicle};

fn ranker(n: usize, rng: &mut SmallRng) -> Ranker {
    let channels = (0..n)
        .map(|i| {
            Channel::builder(
                format!("c{i}"),
                ChannelKind::DarkStore,
                GeoPoint::new(rng.random_range(24.5..25.0), rng.random_range(46.4..47.0)),
            )
            .with_radius_km(rng.random_range(3.0..12.0))
            .with_vehicles([Vehicle::Bike, Vehicle::Car])
            .with_cost(rng.random_range(0.5..4.0), rng.random_range(0.2..1.5))
            .with_capacity(rng.random_range(10..100))
            .with_quality(rng.random_range(0.5..1.0))
            .build()
            .unwrap()
        })
        .collect();
    Ranker::new(channels, Arc::new(ManualClock::new(Millis(0)))).unwrap()
}

fn top5(c: &mut Criterion) {
    let mut rng = SmallRng::seed_from_u64(7);
    let r = ranker(1_000, &mut rng);
    let qs: Vec<RankQuery> = (0..1024)
        .map(|_| {
            RankQuery::new(
                GeoPoint::new(rng.random_range(24.5..25.0), rng.random_range(46.4..47.0)),
                Vehicle::Bike,
                1,
            )
        })
        .collect();
    let mut buf = Vec::with_capacity(5);
    let mut i = 0;
    c.bench_function("rank/top5_of_1000", |b| {
        b.iter(|| {
            i = (i + 1) % qs.len();
            r.top_k_into(&qs[i], 5, &mut buf).unwrap();
            black_box(&buf);
        })
    });
    c.bench_function("rank/explain_top5_of_1000", |b| {
        b.iter(|| {
            i = (i + 1) % qs.len();
            black_box(r.explain(&qs[i], 5).unwrap());
        })
    });
}

criterion_group!(benches, top5);
criterion_main!(benches);
