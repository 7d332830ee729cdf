//! The router's contract: idempotent submits, the order lifecycle with one
//! event per change, the status read model, the batch window with the
//! solver and its fallback, and the metrics exposition.

mod engine_common;

use engine_common::{channel, clock, request};
use std::sync::Arc;
use uoom::engine::{
    DecisionKind, IntakeWrite, MemoryStore, Outbox, Router, SimGateway, WriteModel,
};
use uoom::events::EventType;
use uoom::solve::Weights;
use uoom::{ChannelKind, ErrorKind, GeoPoint, ManualClock, OrderStatus};

fn channels() -> Vec<uoom::Channel> {
    vec![
        channel("a", ChannelKind::DarkStore, GeoPoint::new(40.72, -74.0), 50),
        channel(
            "b",
            ChannelKind::InternalKitchen,
            GeoPoint::new(40.73, -74.01),
            50,
        ),
        channel(
            "c",
            ChannelKind::InternalKitchen,
            GeoPoint::new(40.71, -73.99),
            50,
        ),
    ]
}

fn router(clock: Arc<ManualClock>, batch: Option<u64>) -> (Router, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::default());
    let gw = Arc::new(SimGateway::new(clock.clone(), 7));
    let r = Router::builder(channels(), gw)
        .with_clock(clock)
        .with_store(store.clone(), store.clone())
        .with_batch_window_ms(batch)
        .with_id_seed(5)
        .build()
        .unwrap();
    (r, store)
}

#[test]
fn the_same_idempotency_key_returns_the_first_outcome_and_routes_nothing() {
    let (mut r, store) = router(clock(), None);
    let first = r.submit(request(1), Some("key-1")).unwrap();
    let depth = store.depth();
    let again = r.submit(request(2), Some("key-1")).unwrap();
    assert!(again.replayed && !first.replayed);
    assert_eq!(
        (again.order_id, again.status, &again.channel),
        (first.order_id, first.status, &first.channel)
    );
    assert_eq!(store.depth(), depth, "no new events");
    assert_eq!(store.order_count(), 1);
    let other = r.submit(request(1), Some("key-2")).unwrap();
    assert_ne!(other.order_id, first.order_id);
}

#[test]
fn invalid_requests_are_typed_errors_and_store_nothing() {
    let (mut r, store) = router(clock(), None);
    let err = r
        .submit_json(br#"{"customerId": "nope", "items": []}"#, Some("k"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert!(!err.field_errors().is_empty());
    assert_eq!(store.order_count(), 0);
    assert!(store.outcome_for_key("k").is_none());
}

#[test]
fn the_lifecycle_moves_on_with_one_event_per_change_and_refuses_illegal_steps() {
    let clock = clock();
    let (mut r, store) = router(clock.clone(), None);
    let out = r.submit(request(1), None).unwrap();
    assert_eq!(out.status, OrderStatus::Confirmed);
    let id = out.order_id;
    let before = store.depth();
    for to in [
        OrderStatus::Preparing,
        OrderStatus::OutForDelivery,
        OrderStatus::Delivered,
    ] {
        clock.advance_ms(1_000);
        let view = r.advance(&id, to).unwrap();
        assert_eq!(view.status, to);
        assert_eq!(view.channel, out.channel, "the view keeps the routing");
    }
    assert_eq!(store.depth(), before + 3);
    let err = r.advance(&id, OrderStatus::Cancelled).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(store.depth(), before + 3, "an illegal step writes nothing");
    assert_eq!(store.order(&id).unwrap().status, OrderStatus::Delivered);
    assert_eq!(
        r.read_model().get(&id).unwrap().status,
        OrderStatus::Delivered
    );
    let last = store.pending(usize::MAX).pop().unwrap().event;
    assert_eq!(last.event_type(), EventType::OrderStatusChanged);
    assert_eq!(last.key(), id.to_string());
    let missing = r
        .advance(&uoom::OrderId::from_u128(1), OrderStatus::Preparing)
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[test]
fn the_read_model_lists_a_customers_orders_newest_first() {
    let clock = clock();
    let (mut r, _) = router(clock.clone(), None);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(r.submit(request(42), None).unwrap().order_id);
        clock.advance_ms(10);
    }
    r.submit(request(7), None).unwrap();
    let mine: Vec<_> = r
        .read_model()
        .by_customer(&uoom::CustomerId::from_u128(42), 10)
        .iter()
        .map(|v| v.order_id)
        .collect();
    ids.reverse();
    assert_eq!(mine, ids);
    assert_eq!(
        r.read_model()
            .by_customer(&uoom::CustomerId::from_u128(42), 2)
            .len(),
        2
    );
}

#[test]
fn a_batch_window_routes_queued_orders_together_through_the_solver() {
    let clock = clock();
    let (mut r, _) = router(clock.clone(), Some(100));
    let queued: Vec<_> = (0..4)
        .map(|i| r.submit(request(i), Some(&format!("k{i}"))).unwrap())
        .collect();
    assert!(
        queued
            .iter()
            .all(|o| o.status == OrderStatus::Validated && o.decision.is_none())
    );
    assert_eq!(r.queued(), 4);
    assert!(r.poll().unwrap().is_empty(), "window still open");
    clock.advance_ms(100);
    let done = r.poll().unwrap();
    assert_eq!(done.len(), 4);
    for (q, d) in queued.iter().zip(&done) {
        assert_eq!(q.order_id, d.order_id);
        assert_eq!(d.status, OrderStatus::Confirmed);
        assert!(
            matches!(
                d.decision,
                Some(
                    DecisionKind::BatchOptimal
                        | DecisionKind::BatchImproved
                        | DecisionKind::BatchGreedy
                )
            ),
            "{:?}",
            d.decision
        );
    }
    assert_eq!(r.queued(), 0);
    // The idempotency record now holds the final outcome.
    let replay = r.submit(request(0), Some("k0")).unwrap();
    assert_eq!(replay.status, OrderStatus::Confirmed);
}

#[test]
fn a_failing_solver_sends_the_batch_to_round_robin_fallback() {
    let clock = clock();
    let store = Arc::new(MemoryStore::default());
    let mut r = Router::builder(channels(), Arc::new(SimGateway::new(clock.clone(), 1)))
        .with_clock(clock.clone())
        .with_store(store.clone(), store)
        .with_batch_window_ms(Some(50))
        .with_weights(Weights {
            cost: f64::NAN,
            ..Weights::default()
        }) // the solver rejects it
        .build()
        .unwrap();
    for i in 0..6 {
        r.submit(request(i), None).unwrap();
    }
    let done = r.flush().unwrap();
    assert_eq!(done.len(), 6);
    assert!(
        done.iter()
            .all(|o| o.is_confirmed() && o.decision == Some(DecisionKind::Fallback))
    );
    let mut used: Vec<_> = done.iter().map(|o| o.channel.clone().unwrap()).collect();
    used.sort();
    used.dedup();
    assert_eq!(
        used.len(),
        3,
        "round-robin spreads over every feasible channel"
    );
    assert_eq!(r.metrics().decisions[DecisionKind::Fallback.index()], 6);
}

#[test]
fn metrics_expose_latency_decisions_breakers_utilisation_and_outbox_depth() {
    let (mut r, _) = router(clock(), None);
    for i in 0..10 {
        r.submit(request(i), None).unwrap();
    }
    let text = r.render_metrics();
    assert!(
        text.contains("uoom_order_processing_duration_seconds_count 10"),
        "{text}"
    );
    assert!(
        text.contains("uoom_routing_decisions_total{kind=\"realtime\"} 10"),
        "{text}"
    );
    assert!(
        text.contains("uoom_breaker_state{state=\"closed\"} 3"),
        "{text}"
    );
    let g = r.gauges();
    assert!(
        (g.utilisation - 10.0 / 150.0).abs() < 1e-9,
        "{}",
        g.utilisation
    );
    assert_eq!(
        g.outbox_depth,
        10 * 6 + 3,
        "six events per order, one CapacityUpdated per channel"
    );
    assert!(text.contains(&format!("uoom_outbox_depth {}", g.outbox_depth)));
}

#[test]
fn a_new_slot_gets_fresh_capacity_from_the_channels_with_one_event_per_channel() {
    let clock = clock();
    let store = Arc::new(MemoryStore::default());
    let one = vec![channel(
        "a",
        ChannelKind::DarkStore,
        GeoPoint::new(40.72, -74.0),
        1,
    )];
    let mut r = Router::builder(one, Arc::new(SimGateway::new(clock.clone(), 1)))
        .with_clock(clock.clone())
        .with_store(store.clone(), store.clone())
        .with_slot_ms(60_000)
        .build()
        .unwrap();
    assert!(r.submit(request(1), None).unwrap().is_confirmed());
    assert_eq!(
        r.submit(request(2), None).unwrap().status,
        OrderStatus::Failed,
        "slot full"
    );
    clock.advance_ms(60_000);
    assert!(
        r.submit(request(3), None).unwrap().is_confirmed(),
        "next slot, fresh capacity"
    );
    let updates = store
        .pending(usize::MAX)
        .iter()
        .filter(|e| e.event.event_type() == EventType::CapacityUpdated)
        .count();
    assert_eq!(updates, 2);
}

/// What one unit of work held: the order's status, its events' types and
/// the outcome status stored under its idempotency key.
type Unit = (OrderStatus, Vec<EventType>, Option<OrderStatus>);

/// A write model that records every unit of work, over a [`MemoryStore`].
#[derive(Default)]
struct Recording {
    inner: MemoryStore,
    units: std::sync::Mutex<Vec<Unit>>,
}

impl WriteModel for Recording {
    fn save(&self, unit: uoom::engine::UnitOfWork<'_>) -> uoom::Result<()> {
        self.units.lock().unwrap().push((
            unit.order.status,
            unit.events
                .iter()
                .map(uoom::events::DomainEvent::event_type)
                .collect(),
            unit.idempotency.map(|(_, o)| o.status),
        ));
        self.inner.save(unit)
    }
    fn order(&self, id: &uoom::OrderId) -> Option<uoom::Order> {
        self.inner.order(id)
    }
    fn outcome_for_key(&self, key: &str) -> Option<uoom::engine::Outcome> {
        self.inner.outcome_for_key(key)
    }
}

fn recorded(intake: IntakeWrite) -> Vec<Unit> {
    let clock = clock();
    let store = Arc::new(Recording::default());
    let mut r = Router::builder(channels(), Arc::new(SimGateway::new(clock.clone(), 7)))
        .with_clock(clock)
        .with_store(store.clone(), Arc::new(MemoryStore::default()))
        .with_intake_write(intake)
        .with_id_seed(5)
        .build()
        .unwrap();
    let out = r.submit(request(1), Some("k")).unwrap();
    assert_eq!(out.status, OrderStatus::Confirmed);
    // A replay is answered from the record, whichever write held it.
    let again = r.submit(request(1), Some("k")).unwrap();
    assert!(again.replayed);
    assert_eq!((again.order_id, again.status), (out.order_id, out.status));
    store.units.lock().unwrap().clone()
}

#[test]
fn the_intake_is_written_before_routing_or_with_the_outcome_in_one_unit() {
    let before = recorded(IntakeWrite::BeforeRouting);
    let with = recorded(IntakeWrite::WithOutcome);
    assert_eq!(before.len(), 2, "intake, then outcome: {before:?}");
    assert_eq!(
        before[0],
        (
            OrderStatus::Validated,
            vec![EventType::OrderCreated, EventType::OrderValidated],
            Some(OrderStatus::Validated)
        )
    );
    assert_eq!(before[1].0, OrderStatus::Confirmed);
    assert_eq!(with.len(), 1, "one unit: {with:?}");
    // The same events, in the same order, with the final outcome under the key.
    let all: Vec<EventType> = before.iter().flat_map(|u| u.1.clone()).collect();
    assert_eq!(
        with[0],
        (OrderStatus::Confirmed, all, Some(OrderStatus::Confirmed))
    );
}

#[test]
fn a_batch_window_writes_the_intake_at_submit_whatever_the_setting() {
    let clock = clock();
    let store = Arc::new(Recording::default());
    let mut r = Router::builder(channels(), Arc::new(SimGateway::new(clock.clone(), 7)))
        .with_clock(clock)
        .with_store(store.clone(), Arc::new(MemoryStore::default()))
        .with_intake_write(IntakeWrite::WithOutcome)
        .with_batch_window_ms(Some(100))
        .build()
        .unwrap();
    let out = r.submit(request(1), None).unwrap();
    assert_eq!(out.status, OrderStatus::Validated);
    let units = store.units.lock().unwrap().clone();
    assert_eq!(units.len(), 1, "durable while it waits for the window");
    assert_eq!(units[0].0, OrderStatus::Validated);
}
