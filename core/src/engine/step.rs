//! The saga's I/O boundary, sans I/O: the router says what partner call it
//! needs, the host makes it however it likes (a Promise in Node, a coroutine
//! in Python, a future on tokio) and hands the answer back.
//!
//! [`Router::begin`](super::Router::begin) runs an order as far as it can
//! without a partner and returns a [`Step`]: either the outcome, or a
//! [`BookingCall`] to make. [`Router::resume`](super::Router::resume) takes
//! the partner's answer for that call's [`Ticket`] and returns the next
//! step. Nothing in between holds a thread, a lock or a runtime: an order in
//! flight is a few hundred bytes in the router's table, so a host can keep
//! thousands of bookings outstanding on one event loop.
//!
//! The engine owns the timeout. Each call carries its `deadline` on the
//! router's clock; a host answers [`GatewayError::Timeout`] when its timer
//! fires first, and an answer that reaches the router after the deadline is
//! treated as a timeout too (its booking is cancelled). Cancellations are
//! compensation: every step lists the [`CancelCall`]s to send, fire and
//! forget; their result changes nothing in the engine (the hold is released
//! either way) and is only worth logging.
//!
//! With a manual clock and a host that answers in a scripted order, a run
//! replays exactly: the tests drive interleavings of thousands of sagas this
//! way.
//!
//! # Deferred writes
//!
//! By default the router writes each unit of work itself, through its
//! synchronous [`WriteModel`](super::WriteModel), inside `begin` and
//! `resume`. A router built with
//! [`RouterBuilder::with_deferred_writes`](super::RouterBuilder::with_deferred_writes)
//! hands its storage I/O to the host too, as more kinds of step: drive it
//! with [`Router::start`](super::Router::start), which returns a [`Turn`]
//! whose [`Action`] is a booking, a [`SaveCall`] (write this unit of work,
//! then answer [`Router::saved`](super::Router::saved)), a [`LookupCall`]
//! (find this idempotency key's stored outcome, then answer
//! [`Router::looked_up`](super::Router::looked_up)) or the outcome. Booking
//! answers go to [`Router::booked`](super::Router::booked). A host on an
//! event loop then awaits its database the way it awaits its partners, and
//! the database may refuse a write: the saga compensates (see
//! [`Router::saved`](super::Router::saved)).

use super::decision::Outcome;
use super::ports::{BookingRef, GatewayError, OwnedUnitOfWork, StatusView};
use crate::events::FailureReason;
use crate::{ChannelId, ChannelKind, Millis, Order, OrderId};

/// Names one booking the router waits for; hand it back to
/// [`Router::resume`](super::Router::resume) with the answer.
///
/// ```
/// let t = uoom::engine::Ticket(7);
/// assert_eq!(t.0, 7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub u64);

/// A booking the host must make with a partner, then answer with
/// [`Router::resume`](super::Router::resume).
///
/// ```
/// # use std::sync::Arc;
/// # use uoom::engine::{Next, Router, SimGateway};
/// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis};
/// # let clock = Arc::new(ManualClock::new(Millis(0)));
/// # let k = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
/// #     .with_capacity(10).build().unwrap();
/// # let mut router = Router::builder(vec![k], Arc::new(SimGateway::new(clock.clone(), 1)))
/// #     .with_clock(clock).with_booking_timeout_ms(2_000).build().unwrap();
/// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
/// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 2, "unitPrice": 15.99}],
/// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
/// #                       "latitude": 40.712, "longitude": -74.006}}"#;
/// let step = router.begin(uoom::parse_create_order(body).unwrap(), None).unwrap();
/// let Next::Book(call) = step.next else { panic!("a booking was expected") };
/// assert_eq!(call.channel_id.as_str(), "k1");
/// assert_eq!((call.units, call.timeout_ms, call.deadline), (2, 2_000, Millis(2_000)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BookingCall {
    /// Hand this back with the answer.
    pub ticket: Ticket,
    /// The order to book (status `VALIDATED`).
    pub order: Order,
    /// The channel to book it on.
    pub channel_id: ChannelId,
    /// What kind of channel that is.
    pub channel_kind: ChannelKind,
    /// Capacity units held for it on that channel.
    pub units: u32,
    /// How long the partner may take, in ms (the router's booking timeout).
    pub timeout_ms: u64,
    /// When, on the router's clock, the answer counts as a timeout.
    pub deadline: Millis,
}

/// A booking the host should cancel with a partner: compensation for an
/// attempt the saga abandoned. Send it and forget it; the engine has already
/// released the capacity it held.
///
/// ```
/// use uoom::engine::{BookingRef, CancelCall};
/// use uoom::events::FailureReason;
/// let c = CancelCall {
///     order_id: uoom::OrderId::from_u128(1),
///     channel_id: uoom::ChannelId::from("k1"),
///     booking: Some(BookingRef("ref-1".into())),
///     reason: FailureReason::CommitFailed,
/// };
/// assert_eq!(c.booking.unwrap().0, "ref-1");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CancelCall {
    /// The order whose booking to cancel.
    pub order_id: OrderId,
    /// The channel it was booked on.
    pub channel_id: ChannelId,
    /// The partner's reference; `None` after a timeout (the partner may hold
    /// a booking the engine never saw).
    pub booking: Option<BookingRef>,
    /// Why the saga gave the booking up.
    pub reason: FailureReason,
}

/// What the host must do next for one order.
///
/// ```
/// use uoom::engine::{Next, Outcome};
/// let n = Next::Done(Outcome::new(uoom::OrderId::from_u128(1), uoom::OrderStatus::Failed));
/// assert!(matches!(n, Next::Done(_)));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Next {
    /// Make this booking, then call [`Router::resume`](super::Router::resume).
    Book(BookingCall),
    /// The order is finished (confirmed or failed, and written).
    Done(Outcome),
}

/// One step of a saga: the compensations to send now and what comes next.
///
/// ```
/// use uoom::engine::{Next, Outcome, Step};
/// let s = Step { cancels: vec![], next: Next::Done(Outcome::new(uoom::OrderId::from_u128(1), uoom::OrderStatus::Failed)) };
/// assert!(s.outcome().is_some());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Bookings to cancel with their partners (fire and forget).
    pub cancels: Vec<CancelCall>,
    /// The booking to make, or the outcome.
    pub next: Next,
}

impl Step {
    /// The outcome, when the order is finished.
    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.next {
            Next::Done(o) => Some(o),
            Next::Book(_) => None,
        }
    }
}

/// A partner's answer to a [`BookingCall`].
pub type BookingAnswer = std::result::Result<BookingRef, GatewayError>;

/// A unit of work the host must write, then answer with
/// [`Router::saved`](super::Router::saved): the order, its events and its
/// idempotency record in one transaction, then (when that succeeded) the
/// status view in the read model.
///
/// ```
/// # use std::sync::Arc;
/// # use uoom::engine::{Action, MemoryStore, Router, SimGateway, WriteModel};
/// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
/// # let clock = Arc::new(ManualClock::new(Millis(0)));
/// # let k = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
/// #     .with_capacity(10).build().unwrap();
/// let mut router = Router::builder(vec![k], Arc::new(SimGateway::new(clock.clone(), 1)))
///     .with_clock(clock).with_deferred_writes(true).build().unwrap();
/// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
/// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 2, "unitPrice": 15.99}],
/// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
/// #                       "latitude": 40.712, "longitude": -74.006}}"#;
/// let turn = router.start(uoom::parse_create_order(body).unwrap(), None).unwrap();
/// // The order is written before any partner is booked (IntakeWrite::BeforeRouting).
/// let Action::Save(call) = turn.next else { panic!("a write was expected") };
/// assert_eq!(call.unit.order.status, OrderStatus::Validated);
/// assert_eq!(call.view.status, OrderStatus::Validated);
/// let store = MemoryStore::default();
/// store.save(call.unit.as_unit()).unwrap();
/// let next = router.saved(call.ticket, Ok(())).unwrap();
/// assert!(matches!(next.next, Action::Book(_)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SaveCall {
    /// Hand this back with the result.
    pub ticket: Ticket,
    /// What to write, atomically.
    pub unit: OwnedUnitOfWork,
    /// The order's status view to upsert once the unit is written.
    pub view: StatusView,
}

/// An idempotency key whose stored outcome the router needs before it may
/// route a request; answer with [`Router::looked_up`](super::Router::looked_up).
///
/// ```
/// let call = uoom::engine::LookupCall { ticket: uoom::engine::Ticket(1), key: "checkout-1".into() };
/// assert_eq!(call.key, "checkout-1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupCall {
    /// Hand this back with the answer.
    pub ticket: Ticket,
    /// The key to look up in the write model.
    pub key: String,
}

/// What the host must do next for one order, on any router: [`Next`]'s
/// booking and outcome, plus the storage I/O of a router with deferred
/// writes.
///
/// ```
/// use uoom::engine::{Action, Outcome};
/// let a = Action::Done(Outcome::new(uoom::OrderId::from_u128(1), uoom::OrderStatus::Failed));
/// assert!(matches!(a, Action::Done(_)));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Action {
    /// Make this booking, then call [`Router::booked`](super::Router::booked).
    Book(BookingCall),
    /// Write this unit of work, then call [`Router::saved`](super::Router::saved).
    Save(SaveCall),
    /// Look this key up, then call [`Router::looked_up`](super::Router::looked_up).
    Lookup(LookupCall),
    /// The order is finished (and written).
    Done(Outcome),
}

/// One turn of a saga: the compensations to send now and what comes next.
/// [`Step`] is the same for hosts that only make bookings.
///
/// ```
/// use uoom::engine::{Action, Outcome, Turn};
/// let t = Turn { cancels: vec![], next: Action::Done(Outcome::new(uoom::OrderId::from_u128(1), uoom::OrderStatus::Failed)) };
/// assert!(t.outcome().is_some());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// Bookings to cancel with their partners (fire and forget).
    pub cancels: Vec<CancelCall>,
    /// The I/O to do, or the outcome.
    pub next: Action,
}

impl Turn {
    /// The outcome, when the order is finished.
    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.next {
            Action::Done(o) => Some(o),
            _ => None,
        }
    }

    /// The same turn as a [`Step`]; a `Conflict` for a save or a lookup,
    /// which a [`Step`] cannot carry.
    ///
    /// ```
    /// use uoom::engine::{Action, Next, Outcome, Turn};
    /// let o = Outcome::new(uoom::OrderId::from_u128(1), uoom::OrderStatus::Failed);
    /// let t = Turn { cancels: vec![], next: Action::Done(o.clone()) };
    /// assert_eq!(t.into_step().unwrap().next, Next::Done(o));
    /// ```
    pub fn into_step(self) -> crate::Result<Step> {
        let next = match self.next {
            Action::Book(call) => Next::Book(call),
            Action::Done(outcome) => Next::Done(outcome),
            Action::Save(_) | Action::Lookup(_) => {
                return Err(crate::Error::conflict(
                    "this router defers its writes: drive it with start, booked, saved and looked_up",
                ));
            }
        };
        Ok(Step {
            cancels: self.cancels,
            next,
        })
    }
}

impl From<Step> for Turn {
    fn from(step: Step) -> Self {
        Turn {
            cancels: step.cancels,
            next: match step.next {
                Next::Book(call) => Action::Book(call),
                Next::Done(outcome) => Action::Done(outcome),
            },
        }
    }
}

/// What [`Router::advance_unit`](super::Router::advance_unit) asks of a host
/// that owns its stores: write `unit`, upsert `view`, then send `cancels`.
///
/// ```
/// # use uoom::engine::{Advance, OwnedUnitOfWork, Outcome, StatusView};
/// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
/// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
/// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
/// #                       "latitude": 40.712, "longitude": -74.006}}"#;
/// # let order = uoom::Order::from_request(uoom::OrderId::from_u128(1),
/// #     uoom::parse_create_order(body).unwrap(), uoom::Millis(0)).unwrap();
/// let view = StatusView::of(&order, &Outcome::new(order.id, order.status));
/// let change = Advance { unit: OwnedUnitOfWork { order, events: vec![], idempotency: None, capacity: None }, view, cancels: vec![] };
/// assert!(change.cancels.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Advance {
    /// The changed order and its events.
    pub unit: OwnedUnitOfWork,
    /// The order's new status view.
    pub view: StatusView,
    /// Partner bookings to cancel once the unit is written (a cancelled order's).
    pub cancels: Vec<CancelCall>,
}
