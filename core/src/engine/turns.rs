//! The saga's boundary with its host, one turn at a time (see
//! [`super::step`]): `begin` / `resume` / `abandon` for hosts that only make
//! bookings, and `start` / `booked` / `saved` / `looked_up` / `abandoned`
//! for any host, including those that own the storage I/O (a router with
//! deferred writes).
//!
//! With deferred writes the router keeps each order in its table while the
//! host writes it, exactly as while a partner books it; what the router
//! would have written itself becomes a [`SaveCall`]. A write the store
//! refuses is not the end of the saga: the confirmation it carried is
//! undone (booking cancelled, capacity given back) and the order fails with
//! [`FailureReason::PersistFailed`](crate::events::FailureReason::PersistFailed).

use super::decision::{DecisionKind, Outcome};
use super::ports::{OwnedUnitOfWork, StatusView};
use super::router::{Intake, IntakeWrite, Router};
use super::saga::{Phase, Saga, SagaStep, Saving};
use super::step::{Action, BookingAnswer, BookingCall, LookupCall, SaveCall, Step, Ticket, Turn};
use crate::events::FailureReason;
use crate::{CreateOrderRequest, Error, Millis, Result};
use std::time::Instant;

/// A keyed request waiting for the host's lookup of its key.
pub(super) struct Lookup {
    req: CreateOrderRequest,
    key: String,
    started: Instant,
}

fn done(outcome: Outcome) -> Turn {
    Turn {
        cancels: Vec::new(),
        next: Action::Done(outcome),
    }
}

impl Router {
    /// Starts routing one order for an asynchronous host: validates and
    /// writes it like [`Router::submit`], ranks, reserves on the best
    /// candidate, and returns the [`BookingCall`] to make (or the outcome
    /// when nothing needs a partner: a replay, no feasible channel, no
    /// capacity). Feed the partner's answer to [`Router::resume`]. See
    /// [`super::step`] for the protocol; no thread or lock is held while
    /// the booking is out.
    ///
    /// Not for routers with a batch window (their orders are routed by
    /// [`Router::poll`]) nor with deferred writes (a [`Step`] cannot ask
    /// for a write: use [`Router::start`]): both are a [`Error::Conflict`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{BookingRef, Next, Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let mut router = Router::builder(vec![kitchen], Arc::new(SimGateway::new(clock.clone(), 1)))
    /// #     .with_clock(clock.clone()).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let step = router.begin(uoom::parse_create_order(body).unwrap(), Some("checkout-1")).unwrap();
    /// let Next::Book(call) = step.next else { panic!("a booking was expected") };
    /// assert_eq!(router.in_flight(), 1);
    /// // ... the host books with the partner, without holding the router ...
    /// let done = router.resume(call.ticket, Ok(BookingRef("P-42".into()))).unwrap();
    /// let outcome = done.outcome().unwrap();
    /// assert_eq!(outcome.status, OrderStatus::Confirmed);
    /// assert_eq!(outcome.booking.as_deref(), Some("P-42"));
    /// assert_eq!(router.in_flight(), 0);
    /// ```
    pub fn begin(&mut self, req: CreateOrderRequest, key: Option<&str>) -> Result<Step> {
        if self.config.deferred_writes {
            return Err(Self::deferred_refusal("begin"));
        }
        self.start(req, key)?.into_step()
    }

    /// Hands the partner's answer for `ticket` to its saga and returns the
    /// next step: the outcome, or another booking (the next candidate after
    /// a failure or timeout). Answer [`super::GatewayError::Timeout`] when
    /// the host's timer fires first; an answer after the call's deadline
    /// counts as a timeout whatever it says (its booking is cancelled). An
    /// unknown or already answered ticket is [`Error::NotFound`] and
    /// changes nothing.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{GatewayError, Next, Router, SimGateway};
    /// # use uoom::events::FailureReason;
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let mut router = Router::builder(vec![kitchen], Arc::new(SimGateway::new(clock.clone(), 1)))
    /// #     .with_clock(clock.clone()).with_fallback_attempts(0).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let step = router.begin(uoom::parse_create_order(body).unwrap(), None).unwrap();
    /// let Next::Book(call) = step.next else { panic!() };
    /// clock.advance_ms(call.timeout_ms);
    /// let done = router.resume(call.ticket, Err(GatewayError::Timeout { after_ms: call.timeout_ms })).unwrap();
    /// assert_eq!(done.outcome().unwrap().failure, Some(FailureReason::PartnerTimeout));
    /// // The partner may have booked anyway: the engine asks for a cancel.
    /// assert_eq!(done.cancels.len(), 1);
    /// assert!(done.cancels[0].booking.is_none());
    /// assert!(router.resume(call.ticket, Err(GatewayError::Failed("late".into()))).is_err());
    /// ```
    pub fn resume(&mut self, ticket: Ticket, answer: BookingAnswer) -> Result<Step> {
        if self.config.deferred_writes {
            return Err(Self::deferred_refusal("resume"));
        }
        self.booked(ticket, answer)?.into_step()
    }

    /// Gives up on the order waiting under `ticket` (its caller went away):
    /// the booking counts as timed out and is cancelled, the hold released,
    /// and the order fails without trying another channel. The returned step
    /// is the outcome, with the cancel to send.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Next, Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let a = Channel::builder("a", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let b = Channel::builder("b", ChannelKind::InternalKitchen, GeoPoint::new(40.72, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let mut router = Router::builder(vec![a, b], Arc::new(SimGateway::new(clock.clone(), 1)))
    /// #     .with_clock(clock.clone()).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let Next::Book(call) = router.begin(uoom::parse_create_order(body).unwrap(), None).unwrap().next
    /// # else { panic!() };
    /// let done = router.abandon(call.ticket).unwrap();
    /// assert_eq!(done.outcome().unwrap().status, OrderStatus::Failed);
    /// assert_eq!((done.cancels.len(), router.in_flight()), (1, 0));
    /// ```
    pub fn abandon(&mut self, ticket: Ticket) -> Result<Step> {
        if self.config.deferred_writes {
            return Err(Self::deferred_refusal("abandon"));
        }
        self.abandoned(ticket)?.into_step()
    }

    /// [`Router::begin`] for any router, with deferred writes or not: the
    /// [`Turn`] may also ask the host for a write ([`Action::Save`]) or an
    /// idempotency lookup ([`Action::Lookup`]). A router with deferred
    /// writes asks for the lookup first when a `key` is given, and writes
    /// the validated order before routing it under
    /// [`IntakeWrite::BeforeRouting`]. While an order with a key is in
    /// flight, another request with the same key is a [`Error::Conflict`]
    /// (it is routed once; retry it once the first is answered, and it is
    /// replayed).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Action, BookingRef, MemoryStore, Router, SimGateway, WriteModel};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// let mut router = Router::builder(vec![kitchen], Arc::new(SimGateway::new(clock.clone(), 1)))
    ///     .with_clock(clock).with_deferred_writes(true).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let request = uoom::parse_create_order(body).unwrap();
    /// let store = MemoryStore::default(); // the host's store
    /// let mut turn = router.start(request.clone(), Some("checkout-1")).unwrap();
    /// // The same key again while the first is in flight: refused.
    /// let again = router.start(request, Some("checkout-1")).unwrap_err();
    /// assert_eq!(again.kind(), uoom::ErrorKind::Conflict);
    /// let outcome = loop {
    ///     turn = match turn.next {
    ///         Action::Lookup(call) => router.looked_up(call.ticket, Ok(store.outcome_for_key(&call.key))),
    ///         Action::Save(call) => router.saved(call.ticket, store.save(call.unit.as_unit())),
    ///         Action::Book(call) => router.booked(call.ticket, Ok(BookingRef("P-1".into()))),
    ///         Action::Done(outcome) => break outcome,
    ///     }
    ///     .unwrap();
    /// };
    /// assert_eq!(outcome.status, OrderStatus::Confirmed);
    /// assert_eq!(store.order(&outcome.order_id).unwrap().status, OrderStatus::Confirmed);
    /// ```
    pub fn start(&mut self, req: CreateOrderRequest, key: Option<&str>) -> Result<Turn> {
        if self.config.batch_window_ms.is_some() {
            return Err(Error::conflict(
                "a router with a batch window routes its orders in poll/flush, not begin",
            ));
        }
        let started = Instant::now();
        if self.config.deferred_writes {
            let Some(k) = key else {
                return self.accept_deferred(req, None, started);
            };
            if !self.keys.insert(k.to_owned()) {
                return Err(Error::conflict(format!(
                    "an order with idempotency key {k:?} is being routed; retry once it is answered"
                )));
            }
            let ticket = self.ticket();
            let key = k.to_owned();
            self.lookups.insert(
                ticket.0,
                Lookup {
                    req,
                    key: key.clone(),
                    started,
                },
            );
            return Ok(Turn {
                cancels: Vec::new(),
                next: Action::Lookup(LookupCall { ticket, key }),
            });
        }
        let (order, needs, events) = match self.intake(req, key)? {
            Intake::Replayed(first) => return Ok(done(first)),
            Intake::Accepted(order, needs, events) => (order, needs, events),
        };
        let s = self.saga_realtime(order, needs, key.map(str::to_owned), started, events);
        self.drive(s, None)
    }

    /// [`Router::resume`] for any router: the partner's answer for
    /// `ticket`, and the next [`Turn`]. A ticket that waits for something
    /// else (a write, a lookup) is a [`Error::Conflict`] and changes nothing.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Action, BookingRef, Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let mut router = Router::builder(vec![kitchen], Arc::new(SimGateway::new(clock.clone(), 1)))
    /// #     .with_clock(clock.clone()).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let Action::Book(call) = router.start(uoom::parse_create_order(body).unwrap(), None).unwrap().next
    /// # else { panic!() };
    /// let turn = router.booked(call.ticket, Ok(BookingRef("P-7".into()))).unwrap();
    /// assert_eq!(turn.outcome().unwrap().status, OrderStatus::Confirmed);
    /// ```
    pub fn booked(&mut self, ticket: Ticket, answer: BookingAnswer) -> Result<Turn> {
        let s = self.take_waiting(ticket, false)?;
        self.drive(s, Some(answer))
    }

    /// [`Router::abandon`] for any router. Only a booking can be abandoned:
    /// a ticket waiting for a write or a lookup is a [`Error::Conflict`]
    /// (answer it; its caller's absence changes nothing there). With
    /// deferred writes the failed order still has to be written: the turn
    /// is that [`Action::Save`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Action, Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let mut router = Router::builder(vec![kitchen], Arc::new(SimGateway::new(clock.clone(), 1)))
    /// #     .with_clock(clock.clone()).with_deferred_writes(true)
    /// #     .with_intake_write(uoom::engine::IntakeWrite::WithOutcome).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let Action::Book(call) = router.start(uoom::parse_create_order(body).unwrap(), None).unwrap().next
    /// # else { panic!() };
    /// let turn = router.abandoned(call.ticket).unwrap();
    /// let Action::Save(save) = turn.next else { panic!("the failed order is written") };
    /// assert_eq!(save.unit.order.status, OrderStatus::Failed);
    /// assert_eq!(router.abandoned(save.ticket).unwrap_err().kind(), uoom::ErrorKind::Conflict);
    /// ```
    pub fn abandoned(&mut self, ticket: Ticket) -> Result<Turn> {
        let mut s = self.take_waiting(ticket, false)?;
        s.phase = Phase::Over;
        let after_ms = self.config.booking_timeout_ms;
        self.drive(s, Some(Err(super::GatewayError::Timeout { after_ms })))
    }

    /// The write model's answer to a [`LookupCall`]: the outcome stored
    /// under its key (`Ok(None)` when there is none), or the error that
    /// kept the store from answering. A stored outcome is replayed (marked
    /// `replayed`); none starts the order; an error is returned, and the
    /// request is not routed (it may have been routed before).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Action, Outcome, Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let mut router = Router::builder(vec![kitchen], Arc::new(SimGateway::new(clock.clone(), 1)))
    /// #     .with_clock(clock.clone()).with_deferred_writes(true).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let Action::Lookup(call) = router.start(uoom::parse_create_order(body).unwrap(), Some("k")).unwrap().next
    /// # else { panic!() };
    /// let stored = Outcome::new(uoom::OrderId::from_u128(9), OrderStatus::Confirmed);
    /// let turn = router.looked_up(call.ticket, Ok(Some(stored))).unwrap();
    /// let replay = turn.outcome().unwrap();
    /// assert!(replay.replayed);
    /// assert_eq!(replay.order_id, uoom::OrderId::from_u128(9));
    /// ```
    pub fn looked_up(&mut self, ticket: Ticket, found: Result<Option<Outcome>>) -> Result<Turn> {
        let Some(l) = self.lookups.remove(&ticket.0) else {
            return Err(self.not_waiting(ticket, true));
        };
        match found {
            Ok(None) => self.accept_deferred(l.req, Some(l.key), l.started),
            Ok(Some(mut first)) => {
                self.keys.remove(&l.key);
                first.replayed = true;
                Ok(done(first))
            }
            Err(e) => {
                self.keys.remove(&l.key);
                Err(e)
            }
        }
    }

    /// The result of the write a [`SaveCall`] asked for, and the next
    /// [`Turn`].
    ///
    /// * The validated order written before routing: routing starts.
    /// * The order's final unit written: the outcome.
    /// * A failed write of the validated order: the error (nothing was
    ///   reserved or booked yet), as [`Router::submit`] returns it.
    /// * A failed write of a **confirmed** order (the store down, or
    ///   refusing the unit: a `Conflict`): the confirmation is undone — the
    ///   booking is cancelled (the turn's [`super::CancelCall`], reason
    ///   `persist_failed`), the committed capacity goes back to the ledger
    ///   (`CapacityReleased`), and the order fails with
    ///   [`FailureReason::PersistFailed`](crate::events::FailureReason::PersistFailed).
    ///   That failed state is one more write (its unit carries the whole
    ///   history, compensation included); whatever it answers, the outcome
    ///   is the failure.
    /// * A failed write of an order that had failed already: the error
    ///   (there is nothing to undo).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Action, BookingRef, Router, SimGateway};
    /// # use uoom::events::FailureReason;
    /// # use uoom::{Channel, ChannelKind, Clock, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// let mut router = Router::builder(vec![kitchen], Arc::new(SimGateway::new(clock.clone(), 1)))
    ///     .with_clock(clock.clone()).with_deferred_writes(true)
    ///     .with_intake_write(uoom::engine::IntakeWrite::WithOutcome).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let Action::Book(call) = router.start(uoom::parse_create_order(body).unwrap(), None).unwrap().next
    /// # else { panic!() };
    /// let Action::Save(confirm) = router.booked(call.ticket, Ok(BookingRef("P-1".into()))).unwrap().next
    /// # else { panic!() };
    /// assert_eq!(confirm.unit.order.status, OrderStatus::Confirmed);
    /// // The store refuses the unit (a stale lease, say).
    /// let turn = router.saved(confirm.ticket, Err(uoom::Error::conflict("stale lease"))).unwrap();
    /// assert_eq!(turn.cancels[0].booking, Some(BookingRef("P-1".into())));
    /// let Action::Save(undo) = turn.next else { panic!("the failed order is written") };
    /// assert_eq!(undo.unit.order.status, OrderStatus::Failed);
    /// let done = router.saved(undo.ticket, Ok(())).unwrap();
    /// assert_eq!(done.outcome().unwrap().failure, Some(FailureReason::PersistFailed));
    /// let slot = router.ledger().slot_of(clock.now());
    /// let b = router.ledger().balance(&"k1".into(), slot).unwrap();
    /// assert_eq!((b.pending, b.committed), (0, 0)); // the capacity is back
    /// ```
    pub fn saved(&mut self, ticket: Ticket, result: Result<()>) -> Result<Turn> {
        let mut s = self.take_waiting(ticket, true)?;
        let Some(saving) = s.saving.take() else {
            return Err(Error::conflict(format!(
                "ticket {} waits for no write",
                ticket.0
            )));
        };
        match (saving, result) {
            (Saving::Intake, Ok(())) => {
                let s = self.saga_realtime(s.order, s.needs, s.key, s.started, s.events);
                self.drive(s, None)
            }
            (Saving::Final(outcome) | Saving::Compensation(outcome), Ok(())) => {
                self.settle_lease(s.capacity.take(), None);
                self.count(&outcome, s.started);
                self.release_key(s.key.as_deref());
                Ok(done(outcome))
            }
            (Saving::Compensation(outcome), Err(e)) => {
                tracing::error!(order = %s.order.id, error = %e.chain(),
                    "the failed state of an order whose confirmation could not be written could not be written either");
                self.count(&outcome, s.started);
                self.release_key(s.key.as_deref());
                Ok(done(outcome))
            }
            (Saving::Final(outcome), Err(e)) if outcome.is_confirmed() => {
                tracing::warn!(order = %s.order.id, error = %e.chain(),
                    "the write of a confirmed order failed; undoing the confirmation");
                let reason = if self.settle_lease(s.capacity, Some(&e)) {
                    FailureReason::StaleLease
                } else {
                    FailureReason::PersistFailed
                };
                let failed = self.persist_failed(&mut s, reason);
                let cancels = std::mem::take(&mut self.cancels);
                Ok(self.save_turn(s, cancels, Saving::Compensation(failed)))
            }
            (Saving::Intake | Saving::Final(_), Err(e)) => {
                self.release_key(s.key.as_deref());
                Err(e)
            }
        }
    }

    /// Orders waiting for the host: a partner's answer, a write or a lookup.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len() + self.lookups.len()
    }

    /// Turns deferred writes on or off (see
    /// [`RouterBuilder::with_deferred_writes`](super::RouterBuilder::with_deferred_writes)).
    /// A [`Error::Conflict`] while orders are in flight, or to turn them on
    /// for a router with a batch window.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let k = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// let mut router = Router::builder(vec![k], Arc::new(SimGateway::new(clock, 1))).build().unwrap();
    /// router.set_deferred_writes(true).unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let refused = router.submit_json(body, None).unwrap_err();
    /// assert_eq!(refused.kind(), uoom::ErrorKind::Conflict);
    /// ```
    pub fn set_deferred_writes(&mut self, on: bool) -> Result<()> {
        if on && self.config.batch_window_ms.is_some() {
            return Err(Error::conflict(
                "a router with a batch window writes its batches itself; deferred writes are for the real-time path",
            ));
        }
        if on != self.config.deferred_writes && self.in_flight() > 0 {
            return Err(Error::conflict(
                "orders are in flight; change how the router writes once they are answered",
            ));
        }
        self.config.deferred_writes = on;
        Ok(())
    }

    /// Why a synchronous entry point refuses a router with deferred writes.
    pub(super) fn deferred_refusal(what: &str) -> Error {
        Error::conflict(format!(
            "this router defers its writes to its host: {what} is not available; drive it with start, booked, saved and looked_up (AsyncRouter does)"
        ))
    }

    fn ticket(&mut self) -> Ticket {
        let t = Ticket(self.next_ticket);
        self.next_ticket += 1;
        t
    }

    fn release_key(&mut self, key: Option<&str>) {
        if let Some(k) = key {
            self.keys.remove(k);
        }
    }

    /// The saga waiting under `ticket` for a write (`saving`) or a booking,
    /// out of the table; a ticket waiting for the other, or unknown, stays.
    fn take_waiting(&mut self, ticket: Ticket, saving: bool) -> Result<Saga> {
        match self.in_flight.get(&ticket.0) {
            Some(s) if s.saving.is_some() == saving => {}
            _ => return Err(self.not_waiting(ticket, saving)),
        }
        match self.in_flight.remove(&ticket.0) {
            Some(s) => Ok(s),
            None => Err(self.not_waiting(ticket, saving)),
        }
    }

    /// `NotFound` for an unknown ticket, `Conflict` for one that waits for
    /// another kind of answer.
    fn not_waiting(&self, ticket: Ticket, wanted_write_or_lookup: bool) -> Error {
        let waits_for = if self.lookups.contains_key(&ticket.0) {
            Some("a lookup (answer it with looked_up)")
        } else {
            match self.in_flight.get(&ticket.0) {
                Some(s) if s.saving.is_some() => Some("a write (answer it with saved)"),
                Some(_) => Some("a booking (answer it with booked or resume)"),
                None => None,
            }
        };
        match waits_for {
            Some(what) => Error::conflict(format!("ticket {} waits for {what}", ticket.0)),
            None if wanted_write_or_lookup => Error::not_found(format!("ticket {}", ticket.0)),
            None => Error::not_found(format!("booking ticket {}", ticket.0)),
        }
    }

    /// A validated request on a router with deferred writes: written first
    /// under [`IntakeWrite::BeforeRouting`], else routed at once.
    fn accept_deferred(
        &mut self,
        req: CreateOrderRequest,
        key: Option<String>,
        started: Instant,
    ) -> Result<Turn> {
        let (order, needs, events) = match self.accept(req) {
            Ok(accepted) => accepted,
            Err(e) => {
                self.release_key(key.as_deref());
                return Err(e);
            }
        };
        if self.config.intake_write == IntakeWrite::BeforeRouting {
            // Ranked once written: the saga's candidates come then.
            let kind = DecisionKind::Realtime;
            let s = self.saga(order, needs, key, started, events, Vec::new(), kind);
            return Ok(self.save_turn(s, Vec::new(), Saving::Intake));
        }
        let s = self.saga_realtime(order, needs, key, started, events);
        self.drive(s, None)
    }

    /// Parks `s` until its write is answered and asks the host for it.
    fn save_turn(&mut self, mut s: Saga, cancels: Vec<super::CancelCall>, saving: Saving) -> Turn {
        let ticket = self.ticket();
        let (outcome, events) = match &saving {
            // The intake's events are written now and never again.
            Saving::Intake => (
                Outcome::new(s.order.id, s.order.status),
                std::mem::take(&mut s.events),
            ),
            // Kept: a failed write is followed by one that carries them too.
            Saving::Final(o) | Saving::Compensation(o) => (o.clone(), s.events.clone()),
        };
        let call = SaveCall {
            ticket,
            view: StatusView::of(&s.order, &outcome),
            unit: OwnedUnitOfWork {
                order: s.order.clone(),
                events,
                idempotency: s.key.clone().map(|k| (k, outcome)),
                capacity: match saving {
                    Saving::Final(_) => s.capacity,
                    Saving::Intake | Saving::Compensation(_) => None,
                },
            },
        };
        s.saving = Some(saving);
        self.in_flight.insert(ticket.0, s);
        Turn {
            cancels,
            next: Action::Save(call),
        }
    }

    /// Steps `s` and turns where it stopped into a [`Turn`] for the host.
    pub(super) fn drive(&mut self, mut s: Saga, answer: Option<BookingAnswer>) -> Result<Turn> {
        match self.step_saga(&mut s, answer) {
            SagaStep::Book(c) => {
                let ticket = self.ticket();
                let ch = &self.channels[c];
                let call = BookingCall {
                    ticket,
                    order: s.order.clone(),
                    channel_id: ch.id.clone(),
                    channel_kind: ch.kind,
                    units: s.needs.units,
                    timeout_ms: self.config.booking_timeout_ms,
                    deadline: s.waiting.map_or(Millis(0), |w| w.deadline),
                };
                self.in_flight.insert(ticket.0, s);
                Ok(Turn {
                    cancels: std::mem::take(&mut self.cancels),
                    next: Action::Book(call),
                })
            }
            SagaStep::Done(outcome) => {
                let cancels = std::mem::take(&mut self.cancels);
                self.give_back_candidates(std::mem::take(&mut s.candidates));
                if self.config.deferred_writes {
                    return Ok(self.save_turn(s, cancels, Saving::Final(outcome)));
                }
                let key = s.key.take();
                let outcome = self.finish_saga(&mut s, key.as_deref(), outcome)?;
                let mut cancels = cancels;
                cancels.append(&mut self.cancels);
                Ok(Turn {
                    cancels,
                    next: Action::Done(outcome),
                })
            }
        }
    }
}
