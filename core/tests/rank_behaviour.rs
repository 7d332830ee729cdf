//! Ranking behaviour across modules: staleness policy, ledger-fed headroom,
//! typed errors for bad queries.

use std::sync::Arc;
use uoom::ledger::{Ledger, SlotId};
use uoom::rank::{Exclusion, RankQuery, Ranker, StalePolicy};
use uoom::{Channel, ChannelKind, ErrorKind, GeoPoint, ManualClock, Millis, Vehicle};

fn channels() -> Vec<Channel> {
    ["a", "b"]
        .iter()
        .map(|id| {
            Channel::builder(*id, ChannelKind::DarkStore, GeoPoint::new(24.70, 46.67))
                .with_capacity(10)
                .with_radius_km(10.0)
                .build()
                .unwrap()
        })
        .collect()
}

fn q() -> RankQuery {
    RankQuery::new(GeoPoint::new(24.71, 46.67), Vehicle::Bike, 1)
}

#[test]
fn stale_signals_are_excluded_or_zeroed_by_policy() {
    let clock = Arc::new(ManualClock::new(Millis(0)));
    let mut r = Ranker::new(channels(), clock.clone())
        .unwrap()
        .with_max_signal_age_ms(1_000);
    clock.advance_ms(1_500);
    r.update_headroom(1, 10, 10).unwrap();
    r.update_quality(1, 1.0).unwrap();
    r.update_health(1, uoom::Health::Up).unwrap();
    // Channel a has signals from t=0, older than 1 s.
    let ex = r.explain(&q(), 5).unwrap();
    assert_eq!(ex.ranked.len(), 1);
    assert_eq!(ex.ranked[0].id.as_str(), "b");
    assert_eq!(ex.excluded[0].reason, Exclusion::StaleSignals);

    let r = r.with_stale_policy(StalePolicy::ZeroScore);
    let ex = r.explain(&q(), 5).unwrap();
    assert_eq!(ex.ranked.len(), 2);
    let a = ex.ranked.iter().find(|e| e.id.as_str() == "a").unwrap();
    assert_eq!(a.ranked.contributions.capacity, 0.0);
    assert_eq!(a.ranked.contributions.quality, 0.0);
    assert_eq!(a.stale, vec!["headroom", "quality", "health"]);
    assert_eq!(ex.ranked[0].id.as_str(), "b", "fresh good news wins");
}

#[test]
fn headroom_from_the_ledger_filters_by_units() {
    let clock = Arc::new(ManualClock::new(Millis(0)));
    let ledger = Ledger::new(clock.clone());
    let chans = channels();
    for c in &chans {
        ledger.set_capacity(&c.id, SlotId(0), 4).unwrap();
    }
    ledger
        .reserve(1u128.into(), &chans[0].id, SlotId(0), 3, 60_000)
        .unwrap();
    let mut r = Ranker::new(chans, clock).unwrap();
    r.sync_headroom(&ledger, SlotId(0));
    let two_units = RankQuery { units: 2, ..q() };
    let ex = r.explain(&two_units, 5).unwrap();
    assert_eq!(ex.ranked.len(), 1);
    assert_eq!(ex.excluded[0].reason, Exclusion::NoCapacity);
    // With one unit both qualify; the emptier account ranks first.
    let top = r.top_k(&q(), 5).unwrap();
    assert_eq!(
        top.iter().map(|t| t.channel).collect::<Vec<_>>(),
        vec![1, 0]
    );
    assert!(top[0].contributions.capacity > top[1].contributions.capacity);
}

#[test]
fn bad_queries_and_unknown_channels_are_typed_errors() {
    let mut r = Ranker::new(channels(), Arc::new(ManualClock::new(Millis(0)))).unwrap();
    let mut bad = q();
    bad.weights.cost = f64::NAN;
    bad.deadline_min = Some(-1.0);
    let err = r.top_k(&bad, 3).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let fields: Vec<_> = err
        .field_errors()
        .iter()
        .map(|f| f.field.as_str())
        .collect();
    assert_eq!(fields, vec!["deadline_min", "weights.cost"]);
    assert_eq!(
        r.update_health(7, uoom::Health::Down).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        r.update_quality("zzz", 0.5).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        r.update_quality(0, 1.5).unwrap_err().kind(),
        ErrorKind::Validation
    );
}
