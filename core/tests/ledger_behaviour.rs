//! Behaviour of the ledger across its parts: contention, alerts, expiry
//! events, retention, snapshots that do not add up.

use std::sync::Arc;
use uoom::ledger::{Ledger, LedgerEvent, ReleaseReason, ReservationId, ReservationState, SlotId};
use uoom::{ChannelId, ErrorKind, ManualClock, Millis};

fn setup(cap: u32) -> (Arc<ManualClock>, Ledger, ChannelId) {
    let clock = Arc::new(ManualClock::new(Millis(10_000)));
    let ledger = Ledger::new(clock.clone());
    let c = ChannelId::from("kitchen");
    ledger.set_capacity(&c, SlotId(0), cap).unwrap();
    (clock, ledger, c)
}

#[test]
fn contended_account_never_overbooks() {
    let (_, ledger, c) = setup(100);
    let ledger = Arc::new(ledger);
    let handles: Vec<_> = (0..4u128)
        .map(|t| {
            let (ledger, c) = (ledger.clone(), c.clone());
            std::thread::spawn(move || {
                (0..60u128)
                    .filter(|i| {
                        let id = ReservationId(t * 1_000 + i);
                        let ok = ledger.reserve(id, &c, SlotId(0), 1, 60_000).is_ok();
                        if ok && i % 2 == 0 {
                            ledger.commit(id, None).unwrap();
                        }
                        ok
                    })
                    .count()
            })
        })
        .collect();
    let won: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(won, 100, "exactly the capacity is handed out");
    let b = ledger.balance(&c, SlotId(0)).unwrap();
    assert_eq!(b.pending + b.committed, 100);
    assert_eq!(b.available(), 0);
}

#[test]
fn low_capacity_alert_fires_once_per_crossing() {
    let (_, ledger, c) = setup(20);
    ledger.drain_events();
    ledger
        .reserve(1u128.into(), &c, SlotId(0), 17, 1_000)
        .unwrap(); // 3 left: 15 %
    ledger
        .reserve(2u128.into(), &c, SlotId(0), 2, 1_000)
        .unwrap(); // 1 left: 5 %
    ledger
        .reserve(3u128.into(), &c, SlotId(0), 1, 1_000)
        .unwrap(); // 0 left
    let alerts = |evs: &[LedgerEvent]| {
        evs.iter()
            .filter(|e| matches!(e, LedgerEvent::LowCapacityAlert { .. }))
            .count()
    };
    let evs = ledger.drain_events();
    assert_eq!(alerts(&evs), 1);
    assert!(evs.iter().any(|e| matches!(
        e,
        LedgerEvent::LowCapacityAlert {
            available: 1,
            capacity: 20,
            ..
        }
    )));
    ledger.release(1u128.into()).unwrap(); // back to 17 available: re-armed
    ledger
        .reserve(4u128.into(), &c, SlotId(0), 17, 1_000)
        .unwrap();
    assert_eq!(alerts(&ledger.drain_events()), 1);
}

#[test]
fn expiry_is_visible_as_soon_as_the_clock_passes_it() {
    let (clock, ledger, c) = setup(5);
    ledger.reserve(1u128.into(), &c, SlotId(0), 5, 250).unwrap();
    clock.advance_ms(249);
    assert_eq!(ledger.available(&c, SlotId(0)), 0);
    clock.advance_ms(1);
    assert_eq!(ledger.available(&c, SlotId(0)), 5);
    assert_eq!(
        ledger.get(1u128.into()).unwrap().state,
        ReservationState::Expired
    );
    let expired = ledger.drain_events().into_iter().find_map(|e| match e {
        LedgerEvent::CapacityReleased {
            reason: ReleaseReason::Expired,
            at,
            units,
            ..
        } => Some((at, units)),
        _ => None,
    });
    assert_eq!(expired, Some((Millis(10_250), 5)));
    assert_eq!(
        ledger.commit(1u128.into(), None).unwrap_err().kind(),
        ErrorKind::Conflict
    );
}

#[test]
fn finished_reservations_are_forgotten_after_retention() {
    let clock = Arc::new(ManualClock::new(Millis(0)));
    let ledger = Ledger::builder(clock.clone())
        .with_retention_ms(1_000)
        .build()
        .unwrap();
    let c = ChannelId::from("c");
    ledger.set_capacity(&c, SlotId(0), 5).unwrap();
    ledger.reserve(1u128.into(), &c, SlotId(0), 1, 100).unwrap();
    ledger.commit(1u128.into(), None).unwrap();
    clock.advance_ms(999);
    ledger.expire_due();
    assert!(ledger.get(1u128.into()).is_ok());
    clock.advance_ms(1);
    ledger.expire_due();
    assert_eq!(
        ledger.get(1u128.into()).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn batch_errors_name_the_item() {
    let (_, ledger, c) = setup(5);
    let err = ledger
        .reserve_batch(
            9u128.into(),
            &[
                (c.clone(), SlotId(0), 1),
                (ChannelId::from("ghost"), SlotId(0), 1),
            ],
            1_000,
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("items[1]"), "{err}");
    let err = ledger
        .reserve_batch(
            9u128.into(),
            &[(c.clone(), SlotId(0), 3), (c.clone(), SlotId(0), 3)],
            1_000,
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Capacity);
    assert!(
        err.to_string().contains("items[1]") && err.to_string().contains("2 available"),
        "{err}"
    );
    assert_eq!(ledger.available(&c, SlotId(0)), 5);
}

#[test]
fn restore_rejects_a_snapshot_that_does_not_add_up() {
    let (clock, ledger, c) = setup(5);
    ledger
        .reserve(1u128.into(), &c, SlotId(0), 2, 1_000)
        .unwrap();
    let mut snap = ledger.snapshot();
    snap.accounts[0].balance.pending = 3;
    let err = Ledger::restore(clock.clone(), snap).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(err.field_errors()[0].field, "accounts[0].balance.pending");
}

#[test]
fn lowering_capacity_reports_overcommitment_and_blocks_new_reservations() {
    let (_, ledger, c) = setup(10);
    ledger
        .reserve(1u128.into(), &c, SlotId(0), 6, 1_000)
        .unwrap();
    ledger.commit(1u128.into(), None).unwrap();
    ledger
        .reserve(2u128.into(), &c, SlotId(0), 3, 1_000)
        .unwrap();
    let change = ledger.set_capacity(&c, SlotId(0), 4).unwrap();
    assert_eq!(change.overcommitted, 5);
    let b = ledger.balance(&c, SlotId(0)).unwrap();
    assert_eq!((b.available(), b.overcommitted()), (0, 5));
    assert_eq!(
        ledger
            .reserve(3u128.into(), &c, SlotId(0), 1, 1_000)
            .unwrap_err()
            .kind(),
        ErrorKind::Capacity
    );
    // The pending reservation can still be committed: it was promised before the cut.
    ledger.commit(2u128.into(), None).unwrap();
    assert_eq!(ledger.balance(&c, SlotId(0)).unwrap().committed, 9);
}

#[test]
fn refund_gives_committed_units_back_and_survives_a_snapshot() {
    let (clock, ledger, c) = setup(10);
    ledger
        .reserve(ReservationId(1), &c, SlotId(0), 6, 1_000)
        .unwrap();
    ledger.commit(ReservationId(1), None).unwrap();
    assert_eq!(ledger.utilisation()[0].1, 0.6);
    ledger.drain_events();
    let r = ledger.refund(ReservationId(1)).unwrap();
    assert_eq!((r.state, r.committed), (ReservationState::Refunded, 6));
    assert_eq!(ledger.utilisation()[0].1, 0.0);
    let events = ledger.drain_events();
    assert!(matches!(
        events.as_slice(),
        [LedgerEvent::CapacityReleased {
            units: 6,
            reason: ReleaseReason::Refunded,
            ..
        }]
    ));
    // Repeats answer the same; commit repeated answers its first result, release is refused.
    assert_eq!(ledger.refund(ReservationId(1)).unwrap(), r);
    assert_eq!(
        ledger.commit(ReservationId(1), None).unwrap().state,
        ReservationState::Refunded
    );
    assert_eq!(
        ledger.release(ReservationId(1)).unwrap_err().kind(),
        ErrorKind::Conflict
    );
    assert!(ledger.drain_events().is_empty());
    // Pending, released, expired and unknown ids cannot be refunded.
    ledger
        .reserve(ReservationId(2), &c, SlotId(0), 1, 1_000)
        .unwrap();
    ledger
        .reserve(ReservationId(3), &c, SlotId(0), 1, 1_000)
        .unwrap();
    ledger.release(ReservationId(3)).unwrap();
    assert_eq!(
        ledger.refund(ReservationId(2)).unwrap_err().kind(),
        ErrorKind::Conflict
    );
    assert_eq!(
        ledger.refund(ReservationId(3)).unwrap_err().kind(),
        ErrorKind::Conflict
    );
    assert_eq!(
        ledger.refund(ReservationId(9)).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    clock.advance_ms(1_000);
    assert_eq!(
        ledger.refund(ReservationId(2)).unwrap_err().kind(),
        ErrorKind::Conflict
    );
    // The refunded state and the balance survive snapshot + restore.
    let json = serde_json::to_string(&ledger.snapshot()).unwrap();
    let back = Ledger::restore(clock.clone(), serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(
        back.get(ReservationId(1)).unwrap().state,
        ReservationState::Refunded
    );
    assert_eq!(back.refund(ReservationId(1)).unwrap().committed, 6);
    assert_eq!(back.available(&c, SlotId(0)), 10);
}
