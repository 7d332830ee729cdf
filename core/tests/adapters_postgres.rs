//! The PostgreSQL write model against the real server (`make test-adapters`).
#![cfg(feature = "postgres")]

mod adapters_common;

use adapters_common::*;
use std::sync::Arc;
use uoom::adapters::postgres::{PgConfig, PgStore, SagaState};
use uoom::ledger::ReservationId;
use uoom::*;

fn store() -> PgStore {
    PgStore::connect(PgConfig::new(fresh_schema())).unwrap()
}

fn migrated() -> PgStore {
    let s = store();
    s.migrate().unwrap();
    s
}

#[test]
fn migrations_apply_once_and_record_themselves() {
    let s = store();
    assert_eq!(
        s.migrate().unwrap(),
        vec![
            "0001_init.sql",
            "0002_outbox_claim.sql",
            "0003_adapters.sql",
            "0004_outbox_claim_runs.sql",
            "0005_order_placement.sql",
            "0006_outbox_partitions.sql",
            "0007_outbox_payload_json.sql",
            "0008_outbox_slots.sql",
            "0009_orders_statistics.sql",
            "0010_outbox_bundles.sql",
            "0011_capacity_leases.sql"
        ]
    );
    assert!(s.migrate().unwrap().is_empty());
}

#[test]
fn an_order_round_trips_with_its_hints_items_and_times() {
    let s = migrated();
    let mut o = order(1, 10, Some(20), 1_700_000_000_123);
    o.hints.priority = Some(1);
    o.hints.deadline_min = Some(45.0);
    s.save(&o, &events_for(&o, 100, 2)).unwrap();
    assert_eq!(s.order(&o.id).unwrap(), Some(o.clone()));
    let rows = s.outbox_events_of(&o.id.to_string()).unwrap();
    assert_eq!(rows.len(), 2);
    // One outbox row holds both (0010_outbox_bundles.sql), in their order.
    assert_eq!(rows[0].seq, rows[1].seq);
    assert_eq!(rows[0].event_type, "OrderCreated");
    assert_eq!(rows[1].event_type, "OrderStatusChanged");
    assert_eq!(
        rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![EventId::from_u128(100), EventId::from_u128(101)]
    );
    assert_eq!(s.outbox_depth().unwrap(), 2);
}

#[test]
fn a_confirmed_orders_placement_is_stored_and_read_back() {
    let s = migrated();
    let mut o = order(4, 10, None, 2_000);
    s.save(&o, &events_for(&o, 400, 1)).unwrap();
    assert_eq!(s.order(&o.id).unwrap().unwrap().placement, None);
    // A 128-bit reservation id (v7-shaped): must come back exactly.
    let reservation = ReservationId(0x0190_0000_0000_7abc_8000_0000_dead_beef);
    o.placement = Some(Placement {
        channel: "k9".into(),
        booking: "bk-1".into(),
        reservation,
    });
    o.updated_at = Millis(3_000);
    s.save(&o, &events_for(&o, 410, 1)).unwrap();
    let back = s.order(&o.id).unwrap().unwrap();
    assert_eq!(back.placement.unwrap().reservation, reservation);
    assert_eq!(s.order(&o.id).unwrap(), Some(o));
}

#[test]
fn the_order_and_its_events_roll_back_together() {
    let s = migrated();
    // An event PostgreSQL refuses (an empty aggregate id breaks a CHECK): the
    // outbox insert fails, so the order is not written either.
    let o = order(2, 10, None, 1_000);
    let mut evs = events_for(&o, 200, 2);
    evs[1].aggregate_id = String::new();
    let err = s.save(&o, &evs).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(s.order(&o.id).unwrap(), None);
    assert!(s.outbox_events_of(&o.id.to_string()).unwrap().is_empty());

    // Two events with one id, or an event without a type, are refused before
    // they reach PostgreSQL (a bundled event has no column to check them).
    let mut evs = events_for(&o, 210, 3);
    evs[2].id = evs[0].id;
    let err = s.save(&o, &evs).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(err.to_string().contains("twice"), "{err}");
    let mut evs = events_for(&o, 220, 2);
    evs[1].event_type = String::new();
    let err = s.save(&o, &evs).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert_eq!(s.order(&o.id).unwrap(), None);

    // A stale write (older than the stored order) changes nothing, events included.
    let mut newer = order(3, 10, None, 5_000);
    s.save(&newer, &events_for(&newer, 300, 1)).unwrap();
    let mut stale = newer.clone();
    stale.updated_at = Millis(4_000);
    stale.status = OrderStatus::Cancelled;
    let err = s.save(&stale, &events_for(&stale, 310, 1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert_eq!(
        s.order(&newer.id).unwrap().unwrap().status,
        OrderStatus::Pending
    );
    assert_eq!(s.outbox_events_of(&newer.id.to_string()).unwrap().len(), 1);

    // The next change commits with its event.
    newer
        .transition(OrderStatus::Validated, Millis(6_000))
        .unwrap();
    s.save(&newer, &events_for(&newer, 320, 1)).unwrap();
    assert_eq!(
        s.order(&newer.id).unwrap().unwrap().status,
        OrderStatus::Validated
    );
    assert_eq!(s.outbox_events_of(&newer.id.to_string()).unwrap().len(), 2);
}

#[test]
fn group_commit_gives_each_caller_its_own_outcome() {
    let url = fresh_schema();
    let s = Arc::new(
        PgStore::connect(
            PgConfig::new(url)
                .with_writers(1)
                .with_group_max(64)
                .with_group_wait(std::time::Duration::from_millis(20)),
        )
        .unwrap(),
    );
    s.migrate().unwrap();
    // 40 concurrent writers, one of them with a unit PostgreSQL refuses (an
    // empty aggregate id): they share transactions, yet only the broken one fails.
    let handles: Vec<_> = (0..40u128)
        .map(|i| {
            let s = s.clone();
            std::thread::spawn(move || {
                let o = order(1_000 + i, 7, None, 1_000);
                let mut evs = events_for(&o, 10_000 + i * 10, 3);
                if i == 17 {
                    evs[2].aggregate_id = String::new();
                }
                (i, s.save(&o, &evs))
            })
        })
        .collect();
    for h in handles {
        let (i, r) = h.join().unwrap();
        let id = OrderId::from_u128(1_000 + i);
        if i == 17 {
            assert!(r.is_err());
            assert_eq!(s.order(&id).unwrap(), None);
        } else {
            r.unwrap();
            assert!(s.order(&id).unwrap().is_some());
            assert_eq!(s.outbox_events_of(&id.to_string()).unwrap().len(), 3);
        }
    }
    assert_eq!(s.outbox_depth().unwrap(), 39 * 3);
}

#[test]
fn idempotency_records_and_outbox_appends() {
    let s = migrated();
    let o = order(4, 10, None, 1_000);
    let outcome = serde_json::json!({"status": "ROUTED", "channel": "c1"});
    s.save_with_key(&o, &events_for(&o, 400, 1), Some(("req-1", &outcome)))
        .unwrap();
    assert_eq!(s.outcome_for_key("req-1").unwrap(), Some(outcome));
    assert_eq!(s.outcome_for_key("req-2").unwrap(), None);

    let cap = adapters::EventRecord::new(
        EventId::from_u128(450),
        "channel",
        "c1",
        "CapacityUpdated",
        serde_json::json!({"capacity": 9}),
        Millis(2_000),
    );
    s.append_events(std::slice::from_ref(&cap)).unwrap();
    assert_eq!(s.outbox_events_of("c1").unwrap().len(), 1);

    // The in-process outbox view: oldest first, acknowledged up to a seq.
    let pending = s.pending_records(10).unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[1].1, cap);
    s.mark_published_through(pending[0].0).unwrap();
    assert_eq!(s.outbox_depth().unwrap(), 1);
    assert_eq!(s.pending_records(10).unwrap()[0].1.id, cap.id);
}

#[test]
fn the_in_process_outbox_hands_out_a_rows_events_in_order_and_takes_the_row_back_whole() {
    let s = migrated();
    let o = order(40, 10, None, 1_000);
    let evs = events_for(&o, 4_000, 3);
    s.save(&o, &evs).unwrap();
    let later = order(41, 10, None, 1_000);
    s.save(&later, &events_for(&later, 4_100, 1)).unwrap();
    let pending = s.pending_records(10).unwrap();
    let ids: Vec<EventId> = pending.iter().map(|p| p.1.id).collect();
    assert_eq!(
        ids,
        vec![evs[0].id, evs[1].id, evs[2].id, EventId::from_u128(4_100)]
    );
    assert_eq!(
        pending[1].1, evs[1],
        "a bundled event reads back as written"
    );
    assert!(
        pending.windows(2).all(|w| w[0].0 < w[1].0),
        "positions rise"
    );
    // Acknowledged part way, the row stays: its events come again (at least once).
    s.mark_published_through(pending[1].0).unwrap();
    assert_eq!(s.outbox_depth().unwrap(), 4);
    s.mark_published_through(pending[2].0).unwrap();
    assert_eq!(s.outbox_depth().unwrap(), 1);
    assert_eq!(
        s.pending_records(10).unwrap()[0].1.id,
        EventId::from_u128(4_100)
    );
}

#[test]
fn status_fallback_queries_by_customer_and_restaurant() {
    let s = migrated();
    for (n, cust, rest, at, status) in [
        (11, 1, Some(5), 1_000, OrderStatus::Pending),
        (12, 1, Some(5), 2_000, OrderStatus::Validated),
        (13, 1, Some(6), 3_000, OrderStatus::Pending),
        (14, 2, Some(5), 4_000, OrderStatus::Pending),
        (15, 1, None, 5_000, OrderStatus::Pending),
    ] {
        let mut o = order(n, cust, rest, at);
        if status != OrderStatus::Pending {
            o.transition(status, Millis(at)).unwrap();
        }
        s.save(&o, &[]).unwrap();
    }
    let ids = |v: Vec<Order>| v.iter().map(|o| o.id).collect::<Vec<_>>();
    let c1 = CustomerId::from_u128(1);
    assert_eq!(
        ids(s
            .orders_by_customer(&c1, Some(OrderStatus::Pending), 10)
            .unwrap()),
        vec![
            OrderId::from_u128(15),
            OrderId::from_u128(13),
            OrderId::from_u128(11)
        ]
    );
    assert_eq!(s.orders_by_customer(&c1, None, 2).unwrap().len(), 2);
    let r5 = RestaurantId::from_u128(5);
    assert_eq!(
        ids(s
            .orders_by_restaurant(&r5, Some(OrderStatus::Pending), 10)
            .unwrap()),
        vec![OrderId::from_u128(14), OrderId::from_u128(11)]
    );
    assert_eq!(
        ids(s
            .orders_by_restaurant(&r5, Some(OrderStatus::Validated), 10)
            .unwrap()),
        vec![OrderId::from_u128(12)]
    );
}

#[test]
fn saga_state_is_kept_per_order() {
    let s = migrated();
    let o = order(21, 1, None, 1_000);
    s.save(&o, &[]).unwrap();
    let mut st = SagaState::new(o.id, "reserved");
    st.reservation_id = Some("r-9".into());
    s.save_saga(&st).unwrap();
    st.step = "booked".into();
    st.booking_ref = Some("b-1".into());
    s.save_saga(&st).unwrap();
    assert_eq!(s.saga(&o.id).unwrap(), Some(st));
    assert_eq!(s.saga(&OrderId::from_u128(999)).unwrap(), None);
}

#[test]
fn an_unreachable_server_is_an_io_error() {
    let err = PgStore::connect(PgConfig::new("postgres://uoom:uoom@127.0.0.1:1/uoom")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    // The client's error is kept as the cause, and the chain shows it.
    let cause = std::error::Error::source(&err).expect("the connect error keeps its cause");
    let shown = err.chain().to_string();
    assert!(shown.contains(&cause.to_string()), "{shown}");
}

#[test]
fn the_engine_ports_write_and_read_through_postgres() {
    use uoom::engine::{Outbox, Outcome, UnitOfWork, WriteModel};
    use uoom::events::{Aggregate, DomainEvent, EventPayload};
    let s = migrated();
    let o = order(31, 1, None, 1_000);
    let created = DomainEvent::new(
        EventId::from_u128(3_100),
        Aggregate::Order(o.id),
        Millis(1_000),
        EventPayload::OrderValidated {
            order_id: o.id,
            from: OrderStatus::Pending,
            to: OrderStatus::Validated,
        },
    );
    let outcome = Outcome::new(o.id, OrderStatus::Validated);
    WriteModel::save(
        &s,
        UnitOfWork {
            order: &o,
            events: std::slice::from_ref(&created),
            idempotency: Some(("key-31", &outcome)),
            capacity: None,
        },
    )
    .unwrap();
    assert_eq!(WriteModel::order(&s, &o.id), Some(o.clone()));
    assert!(s.outcome_for_key("key-31").unwrap().is_some());
    assert_eq!(WriteModel::outcome_for_key(&s, "key-31"), Some(outcome));
    let pending = Outbox::pending(&s, 10);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].event, created);
    assert_eq!(Outbox::depth(&s), 1);
    Outbox::acknowledge(&s, pending[0].seq).unwrap();
    assert_eq!(Outbox::depth(&s), 0);
}

#[test]
fn a_restarted_engine_cancels_a_confirmed_order_from_postgres_and_gives_its_capacity_back() {
    use uoom::engine::{Router, SimGateway};
    use uoom::ledger::{Ledger, ReservationState};
    let pg = Arc::new(migrated());
    let clock = Arc::new(ManualClock::new(Millis(1_700_000_000_000)));
    let gateway = Arc::new(SimGateway::new(clock.clone(), 1).with_tracking());
    // The ledger outlives the router here, as a restored snapshot would.
    let ledger = Arc::new(Ledger::new(clock.clone()));
    let router = || {
        Router::builder(vec![kitchen()], gateway.clone())
            .with_clock(clock.clone())
            .with_ledger(ledger.clone())
            .with_store(pg.clone(), pg.clone())
            .build()
            .unwrap()
    };
    let req = parse_create_order(include_bytes!("../../examples/orders/sample.json")).unwrap();
    let out = router().submit(req, None).unwrap();
    assert_eq!(out.status, OrderStatus::Confirmed);
    let slot = ledger.slot_of(clock.now());
    assert_eq!(ledger.balance(&"k1".into(), slot).unwrap().committed, 1);

    // A new router (the engine restarted) reads the placement from PostgreSQL.
    let placement = pg.order(&out.order_id).unwrap().unwrap().placement.unwrap();
    let view = router()
        .advance(&out.order_id, OrderStatus::Cancelled)
        .unwrap();
    assert_eq!(view.status, OrderStatus::Cancelled);
    assert!(gateway.live_bookings().unwrap().is_empty());
    assert_eq!(ledger.balance(&"k1".into(), slot).unwrap().committed, 0);
    assert_eq!(
        ledger.get(placement.reservation).unwrap().state,
        ReservationState::Refunded
    );
}

#[test]
fn an_order_written_with_its_outcome_is_one_transaction_with_all_its_events() {
    use uoom::engine::{IntakeWrite, Outbox, Router, SimGateway, WriteModel};
    use uoom::events::{Aggregate, EventType};
    let pg = Arc::new(migrated());
    let clock = Arc::new(ManualClock::new(Millis(1_700_000_000_000)));
    let mut router = Router::builder(vec![kitchen()], Arc::new(SimGateway::new(clock.clone(), 1)))
        .with_clock(clock)
        .with_store(pg.clone(), pg.clone())
        .with_intake_write(IntakeWrite::WithOutcome)
        .build()
        .unwrap();
    let req = parse_create_order(include_bytes!("../../examples/orders/sample.json")).unwrap();
    let out = router.submit(req, Some("with-outcome-1")).unwrap();
    assert_eq!(out.status, OrderStatus::Confirmed);
    let stored = WriteModel::order(pg.as_ref(), &out.order_id).unwrap();
    assert_eq!(stored.status, OrderStatus::Confirmed);
    assert!(stored.placement.is_some());
    let kept = WriteModel::outcome_for_key(pg.as_ref(), "with-outcome-1").unwrap();
    assert_eq!(kept.status, OrderStatus::Confirmed);
    // Every event of the order, intake's first, in the outbox's seq order.
    let order_events: Vec<EventType> = Outbox::pending(pg.as_ref(), 100)
        .into_iter()
        .filter(|e| e.event.aggregate == Aggregate::Order(out.order_id))
        .map(|e| e.event.event_type())
        .collect();
    assert_eq!(
        order_events,
        [
            EventType::OrderCreated,
            EventType::OrderValidated,
            EventType::ChannelAssigned,
            EventType::OrderConfirmed
        ]
    );
    // One transaction: the row and every event of the order share its xmin.
    pg.execute_batch(&format!(
        "DO $$ BEGIN IF (SELECT count(DISTINCT x) FROM ( \
             SELECT xmin::text AS x FROM orders WHERE id = '{id}' \
             UNION ALL SELECT xmin::text FROM outbox_events WHERE aggregate_id = '{id}') t) <> 1 \
         THEN RAISE EXCEPTION 'the order and its events span transactions'; END IF; END $$",
        id = out.order_id
    ))
    .unwrap();
}

#[test]
fn an_orders_final_outcome_replaces_its_pending_one_and_no_other_orders() {
    let s = migrated();
    let mut o = order(5, 10, None, 1_000);
    use uoom::engine::Outcome;
    let pending = Outcome::new(o.id, OrderStatus::Validated);
    let pending = serde_json::to_value(&pending).unwrap();
    s.save_with_key(&o, &events_for(&o, 500, 1), Some(("req-5", &pending)))
        .unwrap();
    o.updated_at = Millis(2_000);
    let mut done = Outcome::new(o.id, OrderStatus::Confirmed);
    done.channel = Some("k1".into());
    let done = serde_json::to_value(&done).unwrap();
    s.save_with_key(&o, &events_for(&o, 510, 1), Some(("req-5", &done)))
        .unwrap();
    assert_eq!(s.outcome_for_key("req-5").unwrap(), Some(done.clone()));
    // Another order under the same key (a race between replicas) takes
    // nothing over.
    let other = order(6, 10, None, 3_000);
    let theirs = serde_json::to_value(Outcome::new(other.id, OrderStatus::Validated)).unwrap();
    s.save_with_key(
        &other,
        &events_for(&other, 520, 1),
        Some(("req-5", &theirs)),
    )
    .unwrap();
    assert_eq!(s.outcome_for_key("req-5").unwrap(), Some(done));
}
