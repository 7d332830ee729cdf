//! The saga's step protocol for JavaScript: `begin` returns the booking to
//! make (or the outcome), `resume` takes the partner's answer. The package's
//! `Router.route()` (uoom.js) drives it with the `gateway` object's Promises
//! and a timer, so the event loop only ever runs one step's CPU work and no
//! thread waits for a partner.

use super::{RouteOutcome, Router};
use crate::errors::OrThrow;
use crate::order::{RequestInput, parse_request};
use napi::bindgen_prelude::*;
use uoom::engine::Ticket;
use uoom::engine::{BookingAnswer, BookingCall, BookingRef, CancelCall, GatewayError, Next, Step};

/// What `gateway.book` receives: `route()` builds it from a [`BookingStep`],
/// parsing `order` from the step's `orderJson` only when the gateway reads it.
#[napi(object, object_to_js = false)]
#[allow(dead_code)] // a shape for index.d.ts: route() (uoom.js) builds it
pub struct BookingRequest {
    /// The order's id.
    pub order_id: String,
    /// The channel to book it on.
    pub channel_id: String,
    /// What kind of channel that is (`internal_kitchen`, `dark_store`, `external_partner`, `partner_network`).
    pub channel_kind: String,
    /// Capacity units held for it.
    pub units: u32,
    /// The order itself (camelCase, as the create-order request plus its id, status and totals).
    #[napi(ts_type = "Record<string, unknown>")]
    pub order: serde_json::Value,
}

/// What `gateway.cancel` receives: a booking the engine gave up (its hold is already released).
#[napi(object)]
pub struct CancelRequest {
    /// The order whose booking to cancel.
    pub order_id: String,
    /// The channel it was booked on.
    pub channel_id: String,
    /// The partner's reference; absent after a timeout (the partner may hold a booking the engine never saw).
    pub reference: Option<String>,
    /// Why (`partner_timeout`, `commit_failed`, `order_cancelled`).
    pub reason: String,
}

/// A booking to make, then answer with `resume(ticket, answer)`.
#[napi(object)]
pub struct BookingStep {
    /// Hand it back to `resume`.
    pub ticket: f64,
    /// The order's id.
    pub order_id: String,
    /// The channel to book it on.
    pub channel_id: String,
    /// What kind of channel that is (`internal_kitchen`, `dark_store`, `external_partner`, `partner_network`).
    pub channel_kind: String,
    /// Capacity units held for it.
    pub units: u32,
    /// The order as JSON text (camelCase, as the create-order request plus
    /// its id, status and totals): text, because building it as a JS object
    /// here would cost more than the rest of the step, and most partners
    /// need only the ids.
    pub order_json: String,
    /// The engine's booking timeout: answer `{timeout: true}` when it passes.
    pub timeout_ms: f64,
}

/// One step of an order's saga: cancels to send, and a booking to make or the outcome.
#[napi(object)]
pub struct RouteStep {
    /// Bookings to cancel (send them and forget them).
    pub cancels: Vec<CancelRequest>,
    /// The booking to make next, if any.
    pub book: Option<BookingStep>,
    /// The outcome, when the order is finished.
    pub outcome: Option<RouteOutcome>,
}

/// A partner's answer to a booking: exactly one of the fields.
#[napi(object, object_to_js = false)]
pub struct BookingAnswerInput {
    /// The partner's reference: booked.
    pub reference: Option<String>,
    /// Why the partner refused or failed.
    pub error: Option<String>,
    /// True when no answer came within the timeout.
    pub timeout: Option<bool>,
}

fn cancel_request(c: CancelCall) -> CancelRequest {
    CancelRequest {
        order_id: c.order_id.to_string(),
        channel_id: c.channel_id.0,
        reference: c.booking.map(|b| b.0),
        reason: c.reason.as_str().to_owned(),
    }
}

fn booking_step(call: BookingCall) -> uoom::Result<BookingStep> {
    let order_json = serde_json::to_string(&call.order)
        .map_err(|e| uoom::Error::invalid("order", "invalid_value", e.to_string()))?;
    Ok(BookingStep {
        ticket: call.ticket.0 as f64,
        order_id: call.order.id.to_string(),
        channel_id: call.channel_id.0,
        channel_kind: call.channel_kind.as_str().to_owned(),
        units: call.units,
        order_json,
        timeout_ms: call.timeout_ms as f64,
    })
}

fn route_step(step: Step) -> uoom::Result<RouteStep> {
    let cancels = step.cancels.into_iter().map(cancel_request).collect();
    Ok(match step.next {
        Next::Book(call) => RouteStep {
            cancels,
            book: Some(booking_step(call)?),
            outcome: None,
        },
        Next::Done(o) => RouteStep {
            cancels,
            book: None,
            outcome: Some(RouteOutcome::from(&o)),
        },
    })
}

fn ticket_arg(t: f64) -> uoom::Result<Ticket> {
    if t.is_finite() && t >= 0.0 && t.fract() == 0.0 {
        Ok(Ticket(t as u64))
    } else {
        Err(uoom::Error::invalid(
            "ticket",
            "invalid_value",
            "a ticket is a whole number from begin/resume",
        ))
    }
}

fn answer_arg(a: BookingAnswerInput) -> uoom::Result<BookingAnswer> {
    match (a.reference, a.error, a.timeout.unwrap_or(false)) {
        (Some(r), None, false) => Ok(Ok(BookingRef(r))),
        (None, Some(e), false) => Ok(Err(GatewayError::Failed(e))),
        (None, None, true) => Ok(Err(GatewayError::Timeout { after_ms: 0 })),
        _ => Err(uoom::Error::invalid(
            "answer",
            "invalid_value",
            "an answer has exactly one of reference, error or timeout: true",
        )),
    }
}

#[napi]
impl Router {
    /// Starts routing one order for an async gateway: validates and writes
    /// it, reserves on the best channel, and returns the booking to make (or
    /// the outcome when no partner is needed). `route()` drives this for you.
    #[napi(ts_args_type = "request: CreateOrderRequest | string | Buffer, idempotencyKey?: string")]
    pub fn begin(
        &self,
        env: Env,
        request: RequestInput,
        idempotency_key: Option<String>,
    ) -> Result<RouteStep> {
        let req = parse_request(&request).or_throw(&env)?;
        let step = self.inner.lock().begin(req, idempotency_key.as_deref());
        step.and_then(route_step).or_throw(&env)
    }

    /// Hands a partner's answer (`{reference}`, `{error}` or `{timeout: true}`)
    /// for `ticket` back to its saga; returns the next step.
    #[napi]
    pub fn resume(&self, env: Env, ticket: f64, answer: BookingAnswerInput) -> Result<RouteStep> {
        let step = ticket_arg(ticket)
            .and_then(|t| Ok((t, answer_arg(answer)?)))
            .and_then(|(t, a)| self.inner.lock().resume(t, a));
        step.and_then(route_step).or_throw(&env)
    }

    /// Gives up on the order waiting under `ticket` (its caller went away):
    /// cancels the booking, releases the hold, fails the order.
    #[napi]
    pub fn abandon(&self, env: Env, ticket: f64) -> Result<RouteStep> {
        let step = ticket_arg(ticket).and_then(|t| self.inner.lock().abandon(t));
        step.and_then(route_step).or_throw(&env)
    }

    /// Bookings out with partners right now.
    #[napi]
    pub fn in_flight(&self) -> u32 {
        self.inner.lock().in_flight() as u32
    }
}

/// One channel's capacity in the current slot.
#[napi(object)]
pub struct ChannelBalance {
    /// The channel.
    pub channel_id: String,
    /// Units it may take in the slot.
    pub capacity: u32,
    /// Units held by orders still being booked.
    pub pending: u32,
    /// Units of confirmed orders.
    pub committed: u32,
}

#[napi]
impl Router {
    /// Every channel's capacity, held and committed units in the current slot
    /// (a channel the router has not used yet in this slot is left out).
    #[napi]
    pub fn balances(&self) -> Vec<ChannelBalance> {
        let router = self.inner.lock();
        let ledger = router.ledger();
        let slot = ledger.slot_of(uoom::Clock::now(self.clock.shared().as_ref()));
        router
            .channels()
            .iter()
            .filter_map(|c| {
                let b = ledger.balance(&c.id, slot).ok()?;
                Some(ChannelBalance {
                    channel_id: c.id.0.clone(),
                    capacity: b.capacity,
                    pending: b.pending,
                    committed: b.committed,
                })
            })
            .collect()
    }
}
