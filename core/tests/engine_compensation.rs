//! One test per compensation path of the routing saga: the partner fails
//! after the reservation, the partner times out, a channel goes down
//! mid-stream, capacity runs out, and the hold lapses before the commit.

mod engine_common;

use engine_common::{channel, clock, request};
use std::sync::Arc;
use uoom::engine::{
    BookingRef, BreakerState, ChannelGateway, GatewayError, MemoryStore, Outbox, PartnerProfile,
    Router, SimGateway, WriteModel,
};
use uoom::events::{EventPayload, EventType, FailureReason};
use uoom::ledger::ReservationState;
use uoom::{Channel, ChannelKind, Clock, GeoPoint, ManualClock, Order, OrderStatus};

/// `best` sits on the delivery address, `backup` 3 km away: best ranks first.
fn two_channels(cap_best: u32, cap_backup: u32) -> Vec<Channel> {
    vec![
        channel(
            "best",
            ChannelKind::ExternalPartner,
            GeoPoint::new(40.72, -74.0),
            cap_best,
        ),
        channel(
            "backup",
            ChannelKind::InternalKitchen,
            GeoPoint::new(40.745, -74.0),
            cap_backup,
        ),
    ]
}

fn router(
    channels: Vec<Channel>,
    gw: Arc<SimGateway>,
    clock: Arc<ManualClock>,
) -> (Router, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::default());
    let r = Router::builder(channels, gw)
        .with_clock(clock)
        .with_store(store.clone(), store.clone())
        .with_id_seed(3)
        .build()
        .unwrap();
    (r, store)
}

fn types(store: &MemoryStore) -> Vec<EventType> {
    store
        .pending(usize::MAX)
        .iter()
        .map(|e| e.event.event_type())
        .collect()
}

fn failing() -> PartnerProfile {
    PartnerProfile {
        failure_rate: 1.0,
        ..PartnerProfile::reliable()
    }
}

#[test]
fn partner_fails_after_the_reservation_then_the_next_channel_takes_it() {
    let clock = clock();
    let gw = Arc::new(
        SimGateway::new(clock.clone(), 1)
            .with_channel_profile("best", failing())
            .with_tracking(),
    );
    let (mut r, store) = router(two_channels(10, 10), gw.clone(), clock.clone());
    let out = r.submit(request(1), None).unwrap();
    assert_eq!(out.status, OrderStatus::Confirmed);
    assert_eq!(out.channel.as_ref().unwrap().as_str(), "backup");
    assert_eq!((out.attempts, out.compensations), (2, 1));
    use EventType::*;
    let order_events: Vec<_> = types(&store)
        .into_iter()
        .filter(|t| *t != CapacityUpdated)
        .collect();
    assert_eq!(
        order_events,
        vec![
            OrderCreated,
            OrderValidated,
            CapacityReserved,
            CapacityReleased,
            CapacityReserved,
            ChannelAssigned,
            CapacityCommitted,
            OrderConfirmed
        ]
    );
    let released = store
        .pending(usize::MAX)
        .into_iter()
        .find_map(|e| match e.event.payload {
            EventPayload::CapacityReleased {
                reservation,
                reason,
                channel,
                ..
            } => Some((reservation, reason, channel)),
            _ => None,
        })
        .unwrap();
    assert_eq!(released.1, FailureReason::PartnerFailed);
    assert_eq!(released.2.as_str(), "best");
    assert_eq!(
        r.ledger().get(released.0).unwrap().state,
        ReservationState::Released
    );
    let slot = r.ledger().slot_of(clock.now());
    assert_eq!(r.ledger().balance(&"best".into(), slot).unwrap().pending, 0);
    assert_eq!(
        r.ledger()
            .balance(&"backup".into(), slot)
            .unwrap()
            .committed,
        1
    );
}

#[test]
fn partner_failure_on_the_only_channel_fails_the_order_and_holds_nothing() {
    let clock = clock();
    let gw = Arc::new(SimGateway::new(clock.clone(), 1).with_channel_profile("best", failing()));
    let (mut r, _store) = router(two_channels(10, 10)[..1].to_vec(), gw, clock.clone());
    let out = r.submit(request(1), None).unwrap();
    assert_eq!(out.status, OrderStatus::Failed);
    assert_eq!(out.failure, Some(FailureReason::PartnerFailed));
    let slot = r.ledger().slot_of(clock.now());
    let b = r.ledger().balance(&"best".into(), slot).unwrap();
    assert_eq!((b.pending, b.committed), (0, 0));
}

#[test]
fn partner_timeout_cancels_the_booking_it_never_saw_and_releases() {
    let clock = clock();
    let slow = PartnerProfile {
        slow_share: 1.0,
        slow_latency_ms: 5_000,
        ..PartnerProfile::reliable()
    };
    let gw = Arc::new(
        SimGateway::new(clock.clone(), 1)
            .with_channel_profile("best", slow)
            .with_tracking(),
    );
    let (mut r, store) = router(two_channels(10, 10), gw.clone(), clock);
    let out = r.submit(request(1), None).unwrap();
    assert_eq!(out.channel.as_ref().unwrap().as_str(), "backup");
    assert_eq!(out.compensations, 2, "cancel the booking, release the hold");
    let evs = events_of(&store);
    let cancel = evs
        .iter()
        .position(|e| {
            matches!(
                e,
                EventPayload::BookingCancelled {
                    reason: FailureReason::PartnerTimeout,
                    ..
                }
            )
        })
        .unwrap();
    let release = evs
        .iter()
        .position(|e| {
            matches!(
                e,
                EventPayload::CapacityReleased {
                    reason: FailureReason::PartnerTimeout,
                    ..
                }
            )
        })
        .unwrap();
    assert!(cancel < release, "compensation runs in reverse order");
    let live = gw.live_bookings().unwrap();
    assert_eq!(live.len(), 1);
    assert!(live.iter().all(|(_, c)| c.as_str() == "backup"));
    assert_eq!(gw.stats().timed_out, 1);
}

fn events_of(store: &MemoryStore) -> Vec<EventPayload> {
    store
        .pending(usize::MAX)
        .into_iter()
        .map(|e| e.event.payload)
        .collect()
}

#[test]
fn a_channel_down_mid_stream_trips_its_breaker_and_recovers_through_a_probe() {
    let clock = clock();
    let t0 = clock.now();
    let gw = Arc::new(
        SimGateway::new(clock.clone(), 1)
            .with_outage("best", t0.plus_ms(1_000), t0.plus_ms(20_000))
            .with_tracking(),
    );
    let (mut r, _store) = router(two_channels(1_000, 1_000), gw.clone(), clock.clone());
    let on = |o: &uoom::engine::Outcome| o.channel.as_ref().unwrap().as_str().to_owned();

    let before = r.submit(request(1), None).unwrap();
    assert_eq!(on(&before), "best");

    clock.advance_ms(1_000); // the outage starts
    for i in 0..5 {
        let o = r.submit(request(2 + i), None).unwrap();
        assert_eq!(
            (on(&o).as_str(), o.compensations),
            ("backup", 1),
            "order {i} retried on backup"
        );
    }
    assert_eq!(r.breaker_state(0), Some(BreakerState::Open));
    assert_eq!(r.metrics().breaker_trips, 1);
    let o = r.submit(request(9), None).unwrap();
    assert_eq!(
        (on(&o).as_str(), o.attempts, o.compensations),
        ("backup", 1, 0),
        "open breaker: not even tried"
    );

    clock.advance_ms(30_000); // outage over, open period over: one probe
    let probe = r.submit(request(10), None).unwrap();
    assert_eq!(on(&probe), "best");
    assert_eq!(r.breaker_state(0), Some(BreakerState::Closed));
    let failed_bookings = gw.stats().failed;
    assert_eq!(failed_bookings, 5);
}

#[test]
fn capacity_running_out_moves_orders_on_then_fails_them_without_holding_anything() {
    let clock = clock();
    let gw = Arc::new(SimGateway::new(clock.clone(), 1).with_tracking());
    let (mut r, store) = router(two_channels(2, 1), gw, clock.clone());
    let mut chans: Vec<String> = (0..3)
        .map(|i| r.submit(request(i), None).unwrap().channel.unwrap().0)
        .collect();
    chans.sort();
    assert_eq!(
        chans,
        vec!["backup", "best", "best"],
        "every unit of both channels used"
    );
    let out = r.submit(request(9), None).unwrap();
    assert_eq!(out.status, OrderStatus::Failed);
    assert_eq!(out.failure, Some(FailureReason::CapacityExhausted));
    let last = events_of(&store)
        .into_iter()
        .rev()
        .take_while(|e| e.order_id() == Some(out.order_id))
        .count();
    assert_eq!(
        last, 3,
        "created, validated, failed: no reservation was made"
    );
    let slot = r.ledger().slot_of(clock.now());
    for c in ["best", "backup"] {
        let b = r.ledger().balance(&c.into(), slot).unwrap();
        assert_eq!((b.pending, b.available()), (0, 0), "{c}");
    }
}

/// A gateway whose bookings take longer than the reservation TTL in
/// (manual) time: the hold lapses before the commit.
struct SlowerThanTtl {
    clock: Arc<ManualClock>,
    cancelled: std::sync::atomic::AtomicU32,
}

impl ChannelGateway for SlowerThanTtl {
    fn book(&self, _: &Order, _: &Channel, _: u64) -> Result<BookingRef, GatewayError> {
        self.clock.advance_ms(60_000);
        Ok(BookingRef("late".into()))
    }
    fn cancel(&self, _: &Order, _: &Channel, b: Option<&BookingRef>) -> Result<(), GatewayError> {
        assert_eq!(b.unwrap().0, "late");
        self.cancelled
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn a_hold_that_lapses_before_commit_cancels_the_booking_and_fails_the_order() {
    let clock = clock();
    let gw = Arc::new(SlowerThanTtl {
        clock: clock.clone(),
        cancelled: 0.into(),
    });
    let store = Arc::new(MemoryStore::default());
    let mut r = Router::builder(two_channels(5, 5)[..1].to_vec(), gw.clone())
        .with_clock(clock.clone())
        .with_store(store.clone(), store.clone())
        .with_reservation_ttl_ms(30_000)
        // A booking timeout past the TTL: the answer is on time, the hold is not.
        .with_booking_timeout_ms(90_000)
        .build()
        .unwrap();
    let out = r.submit(request(1), None).unwrap();
    assert_eq!(out.status, OrderStatus::Failed);
    assert_eq!(out.failure, Some(FailureReason::CommitFailed));
    assert_eq!(gw.cancelled.load(std::sync::atomic::Ordering::SeqCst), 1);
    let statuses: Vec<_> = events_of(&store)
        .iter()
        .filter_map(uoom::events::EventPayload::status_change)
        .map(|c| c.1)
        .collect();
    assert_eq!(
        statuses,
        vec![
            OrderStatus::Pending,
            OrderStatus::Validated,
            OrderStatus::Routed,
            OrderStatus::Failed
        ]
    );
}

#[test]
fn cancelling_a_confirmed_order_cancels_its_booking_and_refunds_its_capacity() {
    let clock = clock();
    let gw = Arc::new(SimGateway::new(clock.clone(), 1).with_tracking());
    let (mut r, store) = router(two_channels(10, 10), gw.clone(), clock.clone());
    let out = r.submit(request(1), None).unwrap();
    assert_eq!(out.status, OrderStatus::Confirmed);
    let slot = r.ledger().slot_of(clock.now());
    let best = "best".into();
    assert_eq!(r.ledger().balance(&best, slot).unwrap().committed, 1);
    assert_eq!(gw.live_bookings().unwrap().len(), 1);
    let placement = store.order(&out.order_id).unwrap().placement.unwrap();
    assert_eq!(placement.channel.as_str(), "best");
    store
        .pending(usize::MAX)
        .iter()
        .for_each(|e| store.acknowledge(e.seq).unwrap());

    r.advance(&out.order_id, OrderStatus::Preparing).unwrap();
    let view = r.advance(&out.order_id, OrderStatus::Cancelled).unwrap();
    assert_eq!(view.status, OrderStatus::Cancelled);
    // The partner no longer holds the booking, the units are available again.
    assert!(gw.live_bookings().unwrap().is_empty());
    let b = r.ledger().balance(&best, slot).unwrap();
    assert_eq!((b.committed, b.pending, b.available()), (0, 0, 10));
    assert_eq!(
        r.ledger().get(placement.reservation).unwrap().state,
        ReservationState::Refunded
    );
    use EventType::*;
    assert_eq!(
        types(&store),
        [
            OrderStatusChanged,
            OrderStatusChanged,
            BookingCancelled,
            CapacityReleased
        ]
    );
    let reasons: Vec<_> = store
        .pending(usize::MAX)
        .iter()
        .filter_map(|e| match &e.event.payload {
            EventPayload::BookingCancelled { reason, .. }
            | EventPayload::CapacityReleased { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [FailureReason::OrderCancelled; 2]);
    assert_eq!(r.metrics().compensations, 2);
    // Cancelling twice is an illegal transition and gives nothing back twice.
    assert!(r.advance(&out.order_id, OrderStatus::Cancelled).is_err());
    assert_eq!(r.ledger().balance(&best, slot).unwrap().available(), 10);
}

#[test]
fn cancelling_before_confirmation_has_nothing_to_undo() {
    let clock = clock();
    let gw = Arc::new(SimGateway::new(clock.clone(), 1).with_tracking());
    let (mut r, _store) = router(vec![], gw.clone(), clock.clone());
    let out = r.submit(request(1), None).unwrap();
    assert_eq!(out.status, OrderStatus::Failed);
    assert!(r.advance(&out.order_id, OrderStatus::Cancelled).is_err());
    assert_eq!(r.metrics().compensations, 0);
}
