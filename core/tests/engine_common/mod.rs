//! Code shared by the engine tests: run a seeded scenario on a manual
//! clock and check the saga's invariants over everything it wrote.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use uoom::engine::{MemoryStore, Outbox, Outcome, Router, SimGateway, WriteModel};
#[cfg(feature = "sim")]
use uoom::engine::{Scenario, ScenarioConfig};
use uoom::events::{DomainEvent, EventPayload, FailureReason};
use uoom::ledger::{ReservationId, ReservationState};
use uoom::{
    Channel, ChannelId, ChannelKind, GeoPoint, ManualClock, Millis, OrderId, OrderStatus, Vehicle,
    parse_create_order,
};

/// One city's router with the pieces the checks look into.
pub struct Shard {
    pub router: Router,
    pub gateway: Arc<SimGateway>,
    pub store: Arc<MemoryStore>,
}

/// Everything a simulated run left behind.
pub struct Run {
    pub clock: Arc<ManualClock>,
    pub shards: Vec<Shard>,
    pub outcomes: Vec<Outcome>,
}

/// Runs `config`'s scenario order by order on a manual clock, real time.
#[cfg(feature = "sim")]
pub fn run_scenario(config: &ScenarioConfig) -> Run {
    run_scenario_with(config, None)
}

/// Runs `config`'s scenario on a manual clock; with `batch_window_ms`, orders
/// are queued and routed in batches by the solver (`poll` after each
/// submit, `flush` at the end), and `outcomes` holds the final outcomes.
#[cfg(feature = "sim")]
pub fn run_scenario_with(config: &ScenarioConfig, batch_window_ms: Option<u64>) -> Run {
    let scenario = Scenario::generate(config);
    let clock = Arc::new(ManualClock::new(config.start));
    let mut shards: Vec<Shard> = (0..scenario.cities.len())
        .map(|ci| {
            let gateway = Arc::new(scenario.gateway(ci, clock.clone()).with_tracking());
            let store = Arc::new(MemoryStore::default());
            let router = scenario
                .router(ci, clock.clone(), gateway.clone())
                .with_store(store.clone(), store.clone())
                .with_batch_window_ms(batch_window_ms)
                .with_batch_max(64)
                .build()
                .unwrap();
            Shard {
                router,
                gateway,
                store,
            }
        })
        .collect();
    let mut outcomes = Vec::with_capacity(scenario.orders.len());
    for (n, o) in scenario.orders.iter().enumerate() {
        clock.set(o.at);
        let key = format!("k{n}");
        let router = &mut shards[o.city].router;
        let out = router.submit(o.request.clone(), Some(&key)).unwrap();
        let new = if batch_window_ms.is_some() {
            router.poll().unwrap()
        } else {
            vec![out]
        };
        // Customers cancel about one confirmed order in thirteen, right away:
        // the booking and the committed capacity must come back.
        for out in &new {
            if out.is_confirmed() && out.order_id.0.as_u128() % 13 == 0 {
                router
                    .advance(&out.order_id, OrderStatus::Cancelled)
                    .unwrap();
            }
        }
        outcomes.extend(new);
    }
    for shard in &mut shards {
        outcomes.extend(shard.router.flush().unwrap());
    }
    Run {
        clock,
        shards,
        outcomes,
    }
}

/// Every event the shard wrote (nothing is relayed in tests).
pub fn events(shard: &Shard) -> Vec<DomainEvent> {
    shard
        .store
        .pending(usize::MAX)
        .into_iter()
        .map(|e| e.event)
        .collect()
}

/// Checks the four invariants of the saga over one shard; panics with the
/// first violation.
pub fn check_invariants(shard: &Shard) {
    let events = events(shard);
    let ledger = shard.router.ledger();
    let orders: HashMap<OrderId, uoom::Order> = shard
        .store
        .orders()
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let live = shard.gateway.live_bookings().expect("tracking is on");

    let mut chain: HashMap<OrderId, Vec<(Option<OrderStatus>, OrderStatus)>> = HashMap::new();
    let mut reserved: HashMap<ReservationId, (OrderId, ChannelId, u32)> = HashMap::new();
    let mut finished: HashMap<ReservationId, &'static str> = HashMap::new();
    let mut confirmed_on: HashMap<OrderId, (ChannelId, ReservationId)> = HashMap::new();
    let mut cancelled: Vec<(OrderId, ChannelId)> = Vec::new();
    let mut last_commit: HashMap<OrderId, ReservationId> = HashMap::new();
    for e in &events {
        if let Some(change) = e.payload.status_change() {
            chain
                .entry(e.payload.order_id().unwrap())
                .or_default()
                .push(change);
        }
        match &e.payload {
            EventPayload::CapacityReserved {
                reservation,
                order_id,
                channel,
                units,
                ..
            } => {
                assert!(
                    reserved
                        .insert(*reservation, (*order_id, channel.clone(), *units))
                        .is_none(),
                    "reservation {reservation:?} reserved twice"
                );
            }
            EventPayload::CapacityCommitted {
                reservation,
                order_id,
                ..
            } => {
                assert!(
                    finished.insert(*reservation, "committed").is_none(),
                    "{reservation:?} finished twice"
                );
                last_commit.insert(*order_id, *reservation);
            }
            EventPayload::CapacityReleased {
                reservation,
                reason: FailureReason::OrderCancelled,
                ..
            } => {
                // A refund: only of a committed reservation, only once.
                assert_eq!(
                    finished.insert(*reservation, "refunded"),
                    Some("committed"),
                    "{reservation:?} refunded without a commit, or twice"
                );
            }
            EventPayload::CapacityReleased { reservation, .. } => {
                assert!(
                    finished.insert(*reservation, "released").is_none(),
                    "{reservation:?} finished twice"
                );
            }
            EventPayload::OrderConfirmed {
                order_id, channel, ..
            } => {
                confirmed_on.insert(*order_id, (channel.clone(), last_commit[order_id]));
            }
            EventPayload::BookingCancelled {
                order_id, channel, ..
            } => {
                cancelled.push((*order_id, channel.clone()));
            }
            _ => {}
        }
    }

    // Every state change produced exactly one event: the status events of
    // each order form one unbroken chain from PENDING to its stored status,
    // and every reservation has exactly one reserve and one finish event.
    for (id, order) in &orders {
        let changes = &chain[id];
        assert_eq!(
            changes[0],
            (None, OrderStatus::Pending),
            "order {id} starts PENDING"
        );
        for w in changes.windows(2) {
            assert_eq!(w[1].0, Some(w[0].1), "order {id}: broken chain {changes:?}");
            assert!(
                w[0].1.can_transition_to(w[1].1),
                "order {id}: illegal {changes:?}"
            );
        }
        assert_eq!(
            changes.last().unwrap().1,
            order.status,
            "order {id}: last event != state"
        );
    }
    assert_eq!(chain.len(), orders.len(), "events for unknown orders");

    // No reservation outlives its order: each one is committed or released
    // in the ledger and in the events, none still pending.
    for (rid, (order_id, channel, units)) in &reserved {
        let r = ledger.get(*rid).unwrap();
        let how = finished
            .get(rid)
            .unwrap_or_else(|| panic!("{rid:?} of {order_id} never finished"));
        match *how {
            "committed" => assert_eq!(r.state, ReservationState::Committed),
            "refunded" => assert_eq!(r.state, ReservationState::Refunded),
            _ => assert_eq!(r.state, ReservationState::Released),
        }
        assert_eq!(r.units, *units);
        assert_eq!(&r.account.key().channel, channel);
    }
    assert_eq!(finished.len(), reserved.len());

    // Every confirmed order has committed capacity, and per channel the
    // committed units are exactly those of its confirmed orders.
    let mut committed_units: HashMap<ChannelId, u32> = HashMap::new();
    for (id, order) in &orders {
        if order.status == OrderStatus::Confirmed {
            let (channel, rid) = &confirmed_on[id];
            let r = ledger.get(*rid).unwrap();
            assert_eq!(r.state, ReservationState::Committed, "order {id}");
            assert_eq!(&r.account.key().channel, channel);
            *committed_units.entry(channel.clone()).or_default() += r.units;
        }
    }
    for c in shard.router.channels() {
        let slot = ledger.slot_of(shard.router.ledger().now());
        if let Ok(b) = ledger.balance(&c.id, slot) {
            assert_eq!(b.pending, 0, "pending units left on {}", c.id);
            assert_eq!(
                b.committed,
                committed_units.get(&c.id).copied().unwrap_or(0),
                "{}",
                c.id
            );
            assert!(b.committed <= b.capacity, "overbooked {}", c.id);
        }
    }

    // No order both confirmed and compensated: a confirmed order holds
    // exactly one live booking, on its channel, never cancelled; a failed
    // order holds none.
    let cancelled: HashSet<(OrderId, ChannelId)> = cancelled.into_iter().collect();
    for (id, order) in &orders {
        let held: Vec<_> = live.iter().filter(|(o, _)| o == id).collect();
        match order.status {
            OrderStatus::Confirmed => {
                let (channel, _) = &confirmed_on[id];
                assert_eq!(held, vec![&(*id, channel.clone())], "order {id}");
                assert!(
                    !cancelled.contains(&(*id, channel.clone())),
                    "order {id} confirmed and cancelled"
                );
            }
            _ => assert!(
                held.is_empty(),
                "order {id} ({}) still holds {held:?}",
                order.status
            ),
        }
    }
}

/// A counted view of an outcome list.
pub fn count(outcomes: &[Outcome], f: impl Fn(&Outcome) -> bool) -> usize {
    outcomes.iter().filter(|o| f(o)).count()
}

/// A reason count.
pub fn failures(outcomes: &[Outcome], r: FailureReason) -> usize {
    count(outcomes, |o| o.failure == Some(r))
}

/// A channel at `at` serving bikes and cars, with `capacity` units.
pub fn channel(id: &str, kind: ChannelKind, at: GeoPoint, capacity: u32) -> Channel {
    Channel::builder(id, kind, at)
        .with_radius_km(10.0)
        .with_capacity(capacity)
        .with_vehicles([Vehicle::Bike, Vehicle::Car])
        .with_cost(2.0, 0.5)
        .with_prep_min(8.0)
        .with_speed_kmh(25.0)
        .with_quality(0.9)
        .build()
        .unwrap()
}

/// The New York centre.
pub const NYC: GeoPoint = GeoPoint {
    lat: 40.7128,
    lon: -74.0060,
};

/// A create-order request for one unit near `NYC`, for customer `customer`.
pub fn request(customer: u128) -> uoom::CreateOrderRequest {
    let body = format!(
        r#"{{"customerId": "{}",
            "items": [{{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}}],
            "deliveryAddress": {{"street": "1 Main St", "city": "New York", "postalCode": "10001",
                                "latitude": 40.72, "longitude": -74.0}}}}"#,
        uoom::CustomerId::from_u128(customer)
    );
    parse_create_order(body.as_bytes()).unwrap()
}

/// A manual clock at t = 1,000 s.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Millis(1_000_000)))
}

/// Read-model lookup kept here so tests read the same way.
pub fn stored_status(shard_store: &MemoryStore, id: &OrderId) -> OrderStatus {
    shard_store.order(id).unwrap().status
}
