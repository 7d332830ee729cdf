//! Domain events: what happened to an order or a channel's capacity, as the
//! outbox stores it and a relay publishes it.
//!
//! Payloads are a typed enum so the hot path never builds JSON; adapters call
//! [`DomainEvent::payload_json`] or serialise the whole event with serde. The
//! aggregate id ([`DomainEvent::key`]) is the Kafka message key, so all events
//! of one order (or one channel) stay in order on one partition.

use crate::engine::DecisionKind;
use crate::ledger::{ReservationId, SlotId};
use crate::{ChannelId, CustomerId, EventId, Millis, Money, OrderId, OrderStatus};
use serde::{Deserialize, Serialize};

/// Version of the payload schemas below; bump it when a payload changes shape.
pub const SCHEMA_VERSION: u16 = 1;

/// The entity an event belongs to.
///
/// ```
/// use uoom::events::Aggregate;
/// let a = Aggregate::Channel(uoom::ChannelId::from("c3"));
/// assert_eq!(a.kind(), "channel");
/// assert_eq!(a.key(), "c3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Aggregate {
    /// An order.
    Order(OrderId),
    /// A channel (its capacity and bookings).
    Channel(ChannelId),
}

impl Aggregate {
    /// The aggregate type name: `order` or `channel`.
    pub fn kind(&self) -> &'static str {
        match self {
            Aggregate::Order(_) => "order",
            Aggregate::Channel(_) => "channel",
        }
    }

    /// The aggregate id as a string: the Kafka key.
    pub fn key(&self) -> String {
        match self {
            Aggregate::Order(id) => id.to_string(),
            Aggregate::Channel(id) => id.to_string(),
        }
    }
}

/// Names of the event types the engine publishes (docs/engine.md), capacity
/// and booking events (`CapacityCommitted`, `BookingCancelled`) included.
///
/// ```
/// use uoom::events::EventType;
/// assert_eq!(EventType::OrderConfirmed.as_str(), "OrderConfirmed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// An order was created (`PENDING`).
    OrderCreated,
    /// An order passed the engine's checks (`VALIDATED`).
    OrderValidated,
    /// A channel took the order: capacity reserved and booked (`ROUTED`).
    ChannelAssigned,
    /// Capacity was reserved (pending, with a TTL).
    CapacityReserved,
    /// A pending reservation was committed.
    CapacityCommitted,
    /// A reservation was released (compensation, expiry, or partial commit).
    CapacityReleased,
    /// The order is confirmed (`CONFIRMED`).
    OrderConfirmed,
    /// Any other status change (`PREPARING`, `OUT_FOR_DELIVERY`, `DELIVERED`, `CANCELLED`).
    OrderStatusChanged,
    /// The order could not be routed (`FAILED`).
    OrderFailed,
    /// A channel's capacity for a slot was set.
    CapacityUpdated,
    /// A partner booking was cancelled (compensation).
    BookingCancelled,
}

impl EventType {
    /// The type name as published.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderCreated => "OrderCreated",
            EventType::OrderValidated => "OrderValidated",
            EventType::ChannelAssigned => "ChannelAssigned",
            EventType::CapacityReserved => "CapacityReserved",
            EventType::CapacityCommitted => "CapacityCommitted",
            EventType::CapacityReleased => "CapacityReleased",
            EventType::OrderConfirmed => "OrderConfirmed",
            EventType::OrderStatusChanged => "OrderStatusChanged",
            EventType::OrderFailed => "OrderFailed",
            EventType::CapacityUpdated => "CapacityUpdated",
            EventType::BookingCancelled => "BookingCancelled",
        }
    }
}

/// Why an order failed or a compensation ran: a stable code per cause.
///
/// ```
/// use uoom::events::FailureReason;
/// assert_eq!(FailureReason::PartnerTimeout.as_str(), "partner_timeout");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// No channel is up, in range, with the vehicle, within the deadline.
    NoFeasibleChannel,
    /// Feasible channels exist but none has capacity left in the slot.
    CapacityExhausted,
    /// A partner refused or failed the booking.
    PartnerFailed,
    /// A partner did not answer within the booking timeout.
    PartnerTimeout,
    /// The channel's circuit breaker refused the attempt.
    BreakerOpen,
    /// The reservation could not be committed (expired or released meanwhile).
    CommitFailed,
    /// The saga stopped on an internal error (logged); a hold it made
    /// lapses at its TTL.
    Internal,
    /// The order was cancelled after confirmation: its booking and capacity
    /// were given back (a compensation reason, never an outcome's failure).
    OrderCancelled,
    /// The write model refused or failed the unit of work that confirmed
    /// the order (a router with deferred writes): its booking was cancelled,
    /// its capacity given back, and the order failed.
    PersistFailed,
    /// The order's capacity was reserved on a lease that the authority no
    /// longer honoured when the order was confirmed (the replica was paused
    /// or cut off past the lease's expiry, or a newer incarnation took the
    /// lease over): the fenced commit was refused, its booking cancelled
    /// and the order failed — never overbooked.
    StaleLease,
}

impl FailureReason {
    /// The stable snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::NoFeasibleChannel => "no_feasible_channel",
            FailureReason::CapacityExhausted => "capacity_exhausted",
            FailureReason::PartnerFailed => "partner_failed",
            FailureReason::PartnerTimeout => "partner_timeout",
            FailureReason::BreakerOpen => "breaker_open",
            FailureReason::CommitFailed => "commit_failed",
            FailureReason::Internal => "internal",
            FailureReason::OrderCancelled => "order_cancelled",
            FailureReason::PersistFailed => "persist_failed",
            FailureReason::StaleLease => "stale_lease",
        }
    }
}

/// The typed payload of an event; one variant per [`EventType`].
///
/// ```
/// use uoom::events::EventPayload;
/// use uoom::{OrderId, OrderStatus};
/// let p = EventPayload::OrderStatusChanged {
///     order_id: OrderId::from_u128(1),
///     from: OrderStatus::Confirmed,
///     to: OrderStatus::Preparing,
/// };
/// assert_eq!(p.event_type().as_str(), "OrderStatusChanged");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EventPayload {
    /// See [`EventType::OrderCreated`].
    OrderCreated {
        /// The order.
        order_id: OrderId,
        /// Who ordered.
        customer_id: CustomerId,
        /// Exact order total.
        total: Money,
        /// Units the order consumes.
        units: u32,
        /// Always `PENDING`.
        status: OrderStatus,
    },
    /// See [`EventType::OrderValidated`].
    OrderValidated {
        /// The order.
        order_id: OrderId,
        /// `PENDING`.
        from: OrderStatus,
        /// `VALIDATED`.
        to: OrderStatus,
    },
    /// See [`EventType::ChannelAssigned`].
    ChannelAssigned {
        /// The order.
        order_id: OrderId,
        /// The channel that took it.
        channel: ChannelId,
        /// How the decision was made.
        decision: DecisionKind,
        /// The partner's booking reference.
        booking: String,
        /// 1-based attempt that succeeded.
        attempt: u32,
        /// `VALIDATED`.
        from: OrderStatus,
        /// `ROUTED`.
        to: OrderStatus,
    },
    /// See [`EventType::CapacityReserved`].
    CapacityReserved {
        /// The reservation.
        reservation: ReservationId,
        /// Order it is for.
        order_id: OrderId,
        /// Channel and slot.
        channel: ChannelId,
        /// Slot.
        slot: SlotId,
        /// Units held.
        units: u32,
        /// When the hold lapses unless committed.
        expires_at: Millis,
    },
    /// See [`EventType::CapacityCommitted`].
    CapacityCommitted {
        /// The reservation.
        reservation: ReservationId,
        /// Order it is for.
        order_id: OrderId,
        /// Channel.
        channel: ChannelId,
        /// Units committed.
        units: u32,
    },
    /// See [`EventType::CapacityReleased`].
    CapacityReleased {
        /// The reservation.
        reservation: ReservationId,
        /// Order it was for.
        order_id: OrderId,
        /// Channel.
        channel: ChannelId,
        /// Units returned.
        units: u32,
        /// Why it was released.
        reason: FailureReason,
    },
    /// See [`EventType::OrderConfirmed`].
    OrderConfirmed {
        /// The order.
        order_id: OrderId,
        /// Channel it is confirmed on.
        channel: ChannelId,
        /// `ROUTED`.
        from: OrderStatus,
        /// `CONFIRMED`.
        to: OrderStatus,
    },
    /// See [`EventType::OrderStatusChanged`].
    OrderStatusChanged {
        /// The order.
        order_id: OrderId,
        /// Status before.
        from: OrderStatus,
        /// Status after.
        to: OrderStatus,
    },
    /// See [`EventType::OrderFailed`].
    OrderFailed {
        /// The order.
        order_id: OrderId,
        /// Why.
        reason: FailureReason,
        /// Booking attempts made.
        attempts: u32,
        /// Status before.
        from: OrderStatus,
        /// `FAILED`.
        to: OrderStatus,
    },
    /// See [`EventType::CapacityUpdated`].
    CapacityUpdated {
        /// Channel.
        channel: ChannelId,
        /// Slot.
        slot: SlotId,
        /// New capacity in units.
        capacity: u32,
    },
    /// See [`EventType::BookingCancelled`].
    BookingCancelled {
        /// Order it was for.
        order_id: OrderId,
        /// Channel.
        channel: ChannelId,
        /// The partner's booking reference (empty if it never answered).
        booking: String,
        /// Why it was cancelled.
        reason: FailureReason,
    },
}

impl EventPayload {
    /// The type of this payload.
    pub fn event_type(&self) -> EventType {
        match self {
            EventPayload::OrderCreated { .. } => EventType::OrderCreated,
            EventPayload::OrderValidated { .. } => EventType::OrderValidated,
            EventPayload::ChannelAssigned { .. } => EventType::ChannelAssigned,
            EventPayload::CapacityReserved { .. } => EventType::CapacityReserved,
            EventPayload::CapacityCommitted { .. } => EventType::CapacityCommitted,
            EventPayload::CapacityReleased { .. } => EventType::CapacityReleased,
            EventPayload::OrderConfirmed { .. } => EventType::OrderConfirmed,
            EventPayload::OrderStatusChanged { .. } => EventType::OrderStatusChanged,
            EventPayload::OrderFailed { .. } => EventType::OrderFailed,
            EventPayload::CapacityUpdated { .. } => EventType::CapacityUpdated,
            EventPayload::BookingCancelled { .. } => EventType::BookingCancelled,
        }
    }

    /// The `(from, to)` status change this payload records, if it records one.
    pub fn status_change(&self) -> Option<(Option<OrderStatus>, OrderStatus)> {
        match *self {
            EventPayload::OrderCreated { status, .. } => Some((None, status)),
            EventPayload::OrderValidated { from, to, .. }
            | EventPayload::ChannelAssigned { from, to, .. }
            | EventPayload::OrderConfirmed { from, to, .. }
            | EventPayload::OrderStatusChanged { from, to, .. }
            | EventPayload::OrderFailed { from, to, .. } => Some((Some(from), to)),
            _ => None,
        }
    }

    /// The order this payload concerns, if any.
    pub fn order_id(&self) -> Option<OrderId> {
        match *self {
            EventPayload::OrderCreated { order_id, .. }
            | EventPayload::OrderValidated { order_id, .. }
            | EventPayload::ChannelAssigned { order_id, .. }
            | EventPayload::CapacityReserved { order_id, .. }
            | EventPayload::CapacityCommitted { order_id, .. }
            | EventPayload::CapacityReleased { order_id, .. }
            | EventPayload::OrderConfirmed { order_id, .. }
            | EventPayload::OrderStatusChanged { order_id, .. }
            | EventPayload::OrderFailed { order_id, .. }
            | EventPayload::BookingCancelled { order_id, .. } => Some(order_id),
            EventPayload::CapacityUpdated { .. } => None,
        }
    }
}

/// One domain event as the outbox stores it.
///
/// ```
/// use uoom::events::{Aggregate, DomainEvent, EventPayload};
/// use uoom::{EventId, Millis, OrderId, OrderStatus};
/// let order_id = OrderId::from_u128(5);
/// let e = DomainEvent::new(
///     EventId::from_u128(1),
///     Aggregate::Order(order_id),
///     Millis(1_000),
///     EventPayload::OrderStatusChanged { order_id, from: OrderStatus::Confirmed, to: OrderStatus::Preparing },
/// );
/// assert_eq!(e.event_type().as_str(), "OrderStatusChanged");
/// assert_eq!(e.key(), order_id.to_string());
/// let json = e.payload_json();
/// assert_eq!(json["to"], "PREPARING");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// Unique id (a consumer's deduplication key).
    pub id: EventId,
    /// The entity the event belongs to.
    pub aggregate: Aggregate,
    /// Payload schema version ([`SCHEMA_VERSION`] when produced).
    pub schema_version: u16,
    /// When it happened (injected clock).
    pub at: Millis,
    /// What happened.
    pub payload: EventPayload,
}

impl DomainEvent {
    /// An event of the current schema version.
    pub fn new(id: EventId, aggregate: Aggregate, at: Millis, payload: EventPayload) -> Self {
        Self {
            id,
            aggregate,
            schema_version: SCHEMA_VERSION,
            at,
            payload,
        }
    }

    /// The event type.
    pub fn event_type(&self) -> EventType {
        self.payload.event_type()
    }

    /// The aggregate id as a string: the Kafka message key.
    pub fn key(&self) -> String {
        self.aggregate.key()
    }

    /// The payload as a JSON object, for adapters that store or publish JSON.
    pub fn payload_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.payload).unwrap_or(serde_json::Value::Null)
    }

    /// The whole event as the JSON envelope a relay publishes:
    /// `{id, aggregateType, aggregateId, type, schemaVersion, timestamp, payload}`.
    ///
    /// ```
    /// use uoom::events::{Aggregate, DomainEvent, EventPayload};
    /// use uoom::{ChannelId, EventId, Millis};
    /// let e = DomainEvent::new(EventId::from_u128(2), Aggregate::Channel(ChannelId::from("c1")), Millis(0),
    ///     EventPayload::CapacityUpdated { channel: ChannelId::from("c1"), slot: uoom::ledger::SlotId(0), capacity: 9 });
    /// let v = e.envelope_json();
    /// assert_eq!(v["type"], "CapacityUpdated");
    /// assert_eq!(v["aggregateType"], "channel");
    /// assert_eq!(v["timestamp"], "1970-01-01T00:00:00.000Z");
    /// assert_eq!(v["payload"]["capacity"], 9);
    /// ```
    pub fn envelope_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "aggregateType": self.aggregate.kind(),
            "aggregateId": self.key(),
            "type": self.event_type().as_str(),
            "schemaVersion": self.schema_version,
            "timestamp": self.at.to_rfc3339(),
            "payload": self.payload_json(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_json_with_their_type() {
        let order_id = OrderId::from_u128(3);
        let e = DomainEvent::new(
            EventId::from_u128(9),
            Aggregate::Order(order_id),
            Millis(5),
            EventPayload::OrderValidated {
                order_id,
                from: OrderStatus::Pending,
                to: OrderStatus::Validated,
            },
        );
        let text = serde_json::to_string(&e).unwrap();
        let back: DomainEvent = serde_json::from_str(&text).unwrap();
        // Same fields as OrderStatusChanged: only the tag tells them apart.
        assert_eq!(back, e);
        assert_eq!(back.event_type(), EventType::OrderValidated);
        assert_eq!(e.payload_json()["type"], "OrderValidated");
    }

    #[test]
    fn only_order_status_events_report_a_status_change() {
        let c = ChannelId::from("c1");
        let p = EventPayload::CapacityUpdated {
            channel: c,
            slot: SlotId(1),
            capacity: 3,
        };
        assert_eq!(p.status_change(), None);
        assert_eq!(p.order_id(), None);
    }
}
