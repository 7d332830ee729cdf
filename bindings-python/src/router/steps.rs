//! The saga's step protocol as Python dicts: `begin` gives the booking to
//! make (or the outcome), `resume` takes the partner's answer, `abandon`
//! gives up on a booking whose caller went away. The package's `Router`
//! (`uoom/_router.py`) drives them with a gateway's `book`/`cancel`, on
//! asyncio in `route()` or blocking in `submit()`; the engine keeps the
//! deadline of each booking, so no thread waits for a partner inside Rust.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use uoom::engine::{BookingAnswer, BookingCall, BookingRef, CancelCall, GatewayError, Next, Step};

use super::outcome_dict;
use crate::convert::serialize_to_py;
use crate::errors::invalid;

/// What `gateway.cancel` receives: `{order_id, channel_id, reference, reason}`
/// (`reference` is None after a timeout: the partner may hold a booking the
/// engine never saw).
fn cancel_dict<'py>(py: Python<'py>, c: &CancelCall) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("order_id", c.order_id.to_string())?;
    d.set_item("channel_id", c.channel_id.as_str())?;
    d.set_item("reference", c.booking.as_ref().map(|b| b.0.as_str()))?;
    d.set_item("reason", c.reason.as_str())?;
    Ok(d)
}

/// The booking to make: `{ticket, timeout_ms, request}`, where `request` is
/// what `gateway.book` receives: `{order_id, channel_id, channel_kind, units,
/// order}` (the order as `Order.to_dict()` gives it).
fn booking_dict<'py>(py: Python<'py>, call: &BookingCall) -> PyResult<Bound<'py, PyDict>> {
    let request = PyDict::new(py);
    request.set_item("order_id", call.order.id.to_string())?;
    request.set_item("channel_id", call.channel_id.as_str())?;
    request.set_item("channel_kind", call.channel_kind.as_str())?;
    request.set_item("units", call.units)?;
    request.set_item("order", serialize_to_py(py, &call.order)?)?;
    let d = PyDict::new(py);
    d.set_item("ticket", call.ticket.0)?;
    d.set_item("timeout_ms", call.timeout_ms)?;
    d.set_item("request", request)?;
    Ok(d)
}

/// The cancels to send, as `gateway.cancel` receives them.
pub fn cancel_list<'py>(py: Python<'py>, cancels: &[CancelCall]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for c in cancels {
        out.append(cancel_dict(py, c)?)?;
    }
    Ok(out)
}

/// One step as `{cancels, book, outcome}`: the cancels to send, and either
/// the booking to make or the outcome (the other one None).
pub fn step_dict<'py>(py: Python<'py>, step: &Step) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("cancels", cancel_list(py, &step.cancels)?)?;
    match &step.next {
        Next::Book(call) => {
            d.set_item("book", booking_dict(py, call)?)?;
            d.set_item("outcome", py.None())?;
        }
        Next::Done(o) => {
            d.set_item("book", py.None())?;
            d.set_item("outcome", outcome_dict(py, o)?)?;
        }
    }
    Ok(d)
}

/// The partner's answer from `resume`'s keywords: exactly one of a
/// reference (booked), an error message (refused or failed) or a timeout.
pub fn answer_arg(
    reference: Option<String>,
    error: Option<String>,
    timeout: bool,
) -> PyResult<BookingAnswer> {
    match (reference, error, timeout) {
        (Some(r), None, false) => Ok(Ok(BookingRef(r))),
        (None, Some(e), false) => Ok(Err(GatewayError::Failed(e))),
        (None, None, true) => Ok(Err(GatewayError::Timeout { after_ms: 0 })),
        _ => Err(invalid(
            "answer",
            "invalid_value",
            "an answer is exactly one of reference=..., error=... or timeout=True",
        )),
    }
}
