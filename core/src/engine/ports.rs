//! The engine's ports: what storage, messaging and partner adapters implement.
//!
//! These ports are synchronous and object-safe: the blocking façade
//! ([`super::Router::submit`], batches) calls them directly, and an adapter
//! (Postgres, Kafka relay, DynamoDB, a partner's HTTP API) plugs in as an
//! `Arc<dyn …>`. The in-memory implementations in [`crate::engine::memory`]
//! are the embedded default. Their asynchronous twins, for hosts on an
//! event loop, are in [`super::async_ports`].

use super::decision::{DecisionKind, Outcome};
use crate::events::{DomainEvent, FailureReason};
use crate::ledger::SlotId;
use crate::ledger::lease::CommitCall;
use crate::{
    Channel, ChannelId, CustomerId, Millis, Order, OrderId, OrderStatus, RestaurantId, Result,
};
use serde::{Deserialize, Serialize};

/// One atomic write: an order's new state, the events that describe the
/// change, and optionally the idempotency key the outcome is stored under.
/// A database adapter writes all of it in one transaction (the transactional
/// outbox), so an event exists exactly when its state change does.
#[derive(Debug, Clone, Copy)]
pub struct UnitOfWork<'a> {
    /// The order as it is now.
    pub order: &'a Order,
    /// Events produced by this change, in order.
    pub events: &'a [DomainEvent],
    /// Idempotency key and the outcome to return for it from now on.
    pub idempotency: Option<(&'a str, &'a Outcome)>,
    /// The capacity the order took, on the unit that confirms it (its
    /// channel is the order's placement).
    pub capacity: Option<CapacityPlacement>,
}

/// The capacity a confirmed order took, carried by the unit of work that
/// confirms it: where a database keeps it beside the order (so an audit can
/// add up what each channel's slot committed) and, when the router reserves
/// on leases ([`super::RouterBuilder::with_leases`]) and the write model
/// applies lease commits ([`WriteModel::applies_lease_commits`]), the
/// fenced commit to run in the same transaction as the order.
///
/// ```
/// use uoom::engine::CapacityPlacement;
/// use uoom::ledger::SlotId;
/// use uoom::Millis;
/// let p = CapacityPlacement { slot: SlotId(4), slot_start: Millis(3_600_000), units: 2, lease: None };
/// assert_eq!(p.slot_start.0, 4 * 900_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityPlacement {
    /// The capacity slot.
    pub slot: SlotId,
    /// When the slot starts (ms since the epoch of the engine's clock).
    pub slot_start: Millis,
    /// Units committed for the order.
    pub units: u32,
    /// The fenced commit the write must apply with the order, if any: the
    /// write is refused with a stale-lease error
    /// ([`crate::Error::is_stale_lease`]) when the fence refuses it.
    pub lease: Option<CommitCall>,
}

/// A [`UnitOfWork`] that owns its parts: what a router with deferred writes
/// hands its host to write ([`super::SaveCall`]), and what the asynchronous
/// write model ([`super::AsyncWriteModel`]) takes.
///
/// ```
/// use uoom::engine::{MemoryStore, OwnedUnitOfWork, Outcome, WriteModel};
/// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
/// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
/// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
/// #                       "latitude": 40.712, "longitude": -74.006}}"#;
/// let req = uoom::parse_create_order(body).unwrap();
/// let order = uoom::Order::from_request(uoom::OrderId::from_u128(1), req, uoom::Millis(0)).unwrap();
/// let outcome = Outcome::new(order.id, order.status);
/// let unit = OwnedUnitOfWork { order, events: vec![], idempotency: Some(("k1".into(), outcome)), capacity: None };
/// let store = MemoryStore::default();
/// store.save(unit.as_unit()).unwrap();
/// assert_eq!(store.outcome_for_key("k1").unwrap().order_id, unit.order.id);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedUnitOfWork {
    /// The order as it is now.
    pub order: Order,
    /// Events produced by this change, in order (they may belong to other
    /// aggregates too: the channels whose capacity the change moved).
    pub events: Vec<DomainEvent>,
    /// Idempotency key and the outcome to return for it from now on.
    pub idempotency: Option<(String, Outcome)>,
    /// The capacity the order took, on the unit that confirms it.
    pub capacity: Option<CapacityPlacement>,
}

impl OwnedUnitOfWork {
    /// The unit borrowed, for a synchronous [`WriteModel`].
    pub fn as_unit(&self) -> UnitOfWork<'_> {
        UnitOfWork {
            order: &self.order,
            events: &self.events,
            idempotency: self.idempotency.as_ref().map(|(k, o)| (k.as_str(), o)),
            capacity: self.capacity,
        }
    }
}

/// The write side: orders, their events (the outbox) and idempotency records.
///
/// ```
/// use uoom::engine::{MemoryStore, WriteModel};
/// let store = MemoryStore::default();
/// assert!(store.outcome_for_key("k1").is_none());
/// ```
pub trait WriteModel: Send + Sync {
    /// Writes one unit of work atomically.
    fn save(&self, unit: UnitOfWork<'_>) -> Result<()>;
    /// The stored order, if any.
    fn order(&self, id: &OrderId) -> Option<Order>;
    /// The outcome stored under an idempotency key, if any.
    fn outcome_for_key(&self, key: &str) -> Option<Outcome>;
    /// Whether [`WriteModel::save`] applies a unit's lease commit
    /// ([`CapacityPlacement::lease`]) in its own transaction (a database
    /// that is also the lease authority). When it does not (the default),
    /// a router on leases commits with the authority just before the save.
    ///
    /// ```
    /// use uoom::engine::{MemoryStore, WriteModel};
    /// assert!(!MemoryStore::default().applies_lease_commits());
    /// ```
    fn applies_lease_commits(&self) -> bool {
        false
    }
}

/// One event waiting in the outbox, with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    /// Monotonic position in the outbox (acknowledge up to it).
    pub seq: u64,
    /// The event.
    pub event: DomainEvent,
}

/// The relay's side of the outbox: read what is pending, acknowledge what was
/// published. Delivery is at least once: an entry stays until acknowledged.
///
/// ```
/// use uoom::engine::{MemoryStore, Outbox};
/// let store = MemoryStore::default();
/// assert_eq!(store.depth(), 0);
/// assert!(store.pending(10).is_empty());
/// ```
pub trait Outbox: Send + Sync {
    /// Appends events that belong to no order write (e.g. `CapacityUpdated`).
    fn append(&self, events: &[DomainEvent]) -> Result<()>;
    /// Up to `max` oldest unpublished entries.
    fn pending(&self, max: usize) -> Vec<OutboxEntry>;
    /// Marks every entry up to and including `seq` as published.
    fn acknowledge(&self, seq: u64) -> Result<()>;
    /// Entries not yet acknowledged.
    fn depth(&self) -> usize;
}

/// What a status query returns about one order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    /// The order.
    pub order_id: OrderId,
    /// Its customer.
    pub customer_id: CustomerId,
    /// The restaurant it comes from, when the request named one: the key of
    /// the read model's per-restaurant index (DynamoDB's `RestaurantStatusIndex`).
    pub restaurant_id: Option<RestaurantId>,
    /// Current status.
    pub status: OrderStatus,
    /// Channel it is routed to.
    pub channel: Option<ChannelId>,
    /// How it was routed.
    pub decision: Option<DecisionKind>,
    /// Why it failed.
    pub failure: Option<FailureReason>,
    /// When it was created.
    pub created_at: Millis,
    /// When it last changed.
    pub updated_at: Millis,
}

impl StatusView {
    /// The view of `order` given the router's `outcome` for it.
    pub fn of(order: &Order, outcome: &Outcome) -> Self {
        Self {
            order_id: order.id,
            customer_id: order.customer_id,
            restaurant_id: order.restaurant_id,
            status: order.status,
            channel: outcome.channel.clone(),
            decision: outcome.decision,
            failure: outcome.failure,
            created_at: order.created_at,
            updated_at: order.updated_at,
        }
    }
}

/// The query side: order status by id and a customer's orders, newest first.
///
/// ```
/// use uoom::engine::{MemoryReadModel, StatusReadModel};
/// let rm = MemoryReadModel::default();
/// assert!(rm.get(&uoom::OrderId::from_u128(1)).is_none());
/// assert!(rm.by_customer(&uoom::CustomerId::from_u128(1), 10).is_empty());
/// ```
pub trait StatusReadModel: Send + Sync {
    /// Inserts or replaces the view of an order.
    fn upsert(&self, view: StatusView);
    /// The view of one order.
    fn get(&self, id: &OrderId) -> Option<StatusView>;
    /// A customer's orders, newest (by creation) first, at most `limit`.
    fn by_customer(&self, customer: &CustomerId, limit: usize) -> Vec<StatusView>;
}

/// A partner's reference for a booking, needed to cancel it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BookingRef(pub String);

/// Why a booking did not happen. A timeout is kept apart from a failure
/// because the partner may have booked anyway: the saga must cancel it.
///
/// ```
/// use uoom::engine::GatewayError;
/// assert!(GatewayError::Timeout { after_ms: 800 }.to_string().contains("800"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The partner answered no, or failed.
    #[error("partner failed: {0}")]
    Failed(String),
    /// The partner did not answer within the timeout.
    #[error("partner timed out after {after_ms} ms")]
    Timeout {
        /// The timeout that elapsed.
        after_ms: u64,
    },
}

/// Books an order with a channel (a kitchen's queue, a partner's API).
pub trait ChannelGateway: Send + Sync {
    /// Books `order` on `channel`; must answer within `timeout_ms` or report
    /// [`GatewayError::Timeout`].
    fn book(
        &self,
        order: &Order,
        channel: &Channel,
        timeout_ms: u64,
    ) -> std::result::Result<BookingRef, GatewayError>;
    /// Cancels a booking of `order` on `channel`; `booking` is `None` after a
    /// timeout (the partner may hold a booking the engine never saw).
    fn cancel(
        &self,
        order: &Order,
        channel: &Channel,
        booking: Option<&BookingRef>,
    ) -> std::result::Result<(), GatewayError>;
}
