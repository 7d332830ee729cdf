//! `uoom._uoom.Router`: the routing engine (validate → rank → reserve → book
//! → confirm, with compensation, breakers and an optional batch window) over
//! in-memory stores, driven from Python one order or one batch per call.
//! `submit` books through simulated partners; `begin`/`resume`/`abandon`
//! expose the saga's steps so that the package's `uoom.Router` (a Python
//! subclass) books through a caller's gateway object instead.

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::sync::Arc;
use uoom::engine::{Outcome, Router, SimGateway, StatusView, Ticket};
use uoom::wire::{
    Case, OrderStatusView, OutcomeView, RouterOptions, parse_order_status, unsupported_gateway,
};
use uoom::{CreateOrderRequest, OrderId};

use crate::channel::channels_arg;
use crate::clock::PyClock;
use crate::convert::{serialize_to_py, to_py, to_value};
use crate::errors::{IntoPyResult, invalid, to_py_err};

mod steps;

fn outcome_dict<'py>(py: Python<'py>, o: &Outcome) -> PyResult<Bound<'py, PyAny>> {
    serialize_to_py(py, &OutcomeView::from(o))
}

fn outcome_list<'py>(py: Python<'py>, os: &[Outcome]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for o in os {
        out.append(outcome_dict(py, o)?)?;
    }
    Ok(out)
}

fn status_dict<'py>(py: Python<'py>, v: &StatusView) -> PyResult<Bound<'py, PyAny>> {
    serialize_to_py(py, &OrderStatusView::from(v))
}

/// The router options from `Router(channels, **options)`. A `gateway` is a
/// host object, not data: the package's `uoom.Router` takes it out before
/// the options reach this class, which refuses one that gets here.
fn options_arg(options: Option<&Bound<'_, PyDict>>) -> PyResult<RouterOptions> {
    let Some(options) = options else {
        return Ok(RouterOptions::default());
    };
    if options.contains("gateway")? {
        return Err(to_py_err(uoom::Error::Validation(vec![
            unsupported_gateway(),
        ])));
    }
    RouterOptions::parse(&to_value(options.as_any(), "")?, Case::Snake).py()
}

fn request_arg(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<CreateOrderRequest> {
    uoom::validate_create_order(&to_value(obj, path)?).map_err(|e| match e {
        // Prefix field paths of a batch item with its position.
        uoom::Error::Validation(fs) if !path.is_empty() => {
            crate::errors::to_py_err(uoom::Error::Validation(
                fs.into_iter()
                    .map(|f| {
                        let field = if f.field.is_empty() {
                            path.to_owned()
                        } else {
                            format!("{path}.{}", f.field)
                        };
                        uoom::FieldError::new(field, f.code, f.message)
                    })
                    .collect(),
            ))
        }
        other => crate::errors::to_py_err(other),
    })
}

fn order_id_arg(s: &str) -> PyResult<OrderId> {
    OrderId::parse(s)
        .ok_or_else(|| invalid("order_id", "invalid_uuid", format!("{s:?} is not a UUID")))
}

/// Routes orders to channels: ranking, capacity reservation, partner
/// booking with compensation, and batch optimisation when a window is set.
/// Subclassable: `uoom.Router` adds `route()` and a gateway on top.
#[pyclass(module = "uoom._uoom", name = "Router", frozen, subclass)]
pub struct PyRouter {
    inner: Mutex<Router>,
    clock: PyClock,
    options: RouterOptions,
}

#[pymethods]
impl PyRouter {
    /// A router over `channels` (`Channel`s or spec dicts); `options` are the
    /// router options of `uoom::wire::RouterOptions` (an unknown one is a
    /// `ValidationError` naming it).
    #[new]
    #[pyo3(signature = (channels, **options))]
    fn new(channels: &Bound<'_, PyAny>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let channels = channels_arg(channels)?;
        let o = options_arg(options)?;
        let clock = PyClock::new(o.manual_clock.then_some(o.start_ms));
        let mut gateway = SimGateway::new(clock.arc(), o.seed);
        for kind in uoom::ChannelKind::ALL {
            gateway = gateway.with_kind_profile(kind, o.partner_profile());
        }
        let router = o
            .configure(Router::builder(channels, Arc::new(gateway)).with_clock(clock.arc()))
            .build()
            .py()?;
        Ok(Self {
            inner: Mutex::new(router),
            clock,
            options: o,
        })
    }

    /// The options this router runs with, every default written.
    #[getter]
    fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.options.to_value(Case::Snake))
    }

    /// Routes one create-order request (the camelCase dict) through the
    /// simulated partners, blocking; with an `idempotency_key` seen before,
    /// returns the first outcome marked `replayed`. An order that cannot be
    /// routed is an outcome with status `FAILED` and its `failure` reason;
    /// only an invalid request raises (`ValidationError`).
    #[pyo3(signature = (request, idempotency_key=None))]
    fn submit<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
        idempotency_key: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let req = request_arg(request, "")?;
        let lock = &self.inner;
        let out = py
            .detach(|| lock.lock().submit(req, idempotency_key.as_deref()))
            .py()?;
        outcome_dict(py, &out)
    }

    /// Starts routing one order for a gateway: validates and writes it,
    /// reserves on the best channel and returns the step `{cancels, book,
    /// outcome}`: the booking to make (`book`: `{ticket, timeout_ms,
    /// request}`) or, when no partner is needed, the outcome. `route()` and
    /// `submit()` of `uoom.Router` drive this; the GIL is released while
    /// the engine works.
    #[pyo3(signature = (request, idempotency_key=None))]
    fn begin<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
        idempotency_key: Option<String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let req = request_arg(request, "")?;
        let lock = &self.inner;
        let step = py
            .detach(|| lock.lock().begin(req, idempotency_key.as_deref()))
            .py()?;
        steps::step_dict(py, &step)
    }

    /// Hands the partner's answer for `ticket` back to its saga: exactly one
    /// of `reference` (booked), `error` (refused or failed, the message) or
    /// `timeout=True`; returns the next step (another booking after a
    /// failure, or the outcome). An answer after the booking's deadline
    /// counts as a timeout and its booking is among the step's cancels. An
    /// unknown or already answered ticket is a `NotFoundError`.
    #[pyo3(signature = (ticket, *, reference=None, error=None, timeout=false))]
    fn resume<'py>(
        &self,
        py: Python<'py>,
        ticket: u64,
        reference: Option<String>,
        error: Option<String>,
        timeout: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let answer = steps::answer_arg(reference, error, timeout)?;
        let lock = &self.inner;
        let step = py
            .detach(|| lock.lock().resume(Ticket(ticket), answer))
            .py()?;
        steps::step_dict(py, &step)
    }

    /// Gives up on the order waiting under `ticket` (its caller went away):
    /// the order fails, its hold is released, and the step's cancels name
    /// the booking to take back.
    fn abandon<'py>(&self, py: Python<'py>, ticket: u64) -> PyResult<Bound<'py, PyDict>> {
        let lock = &self.inner;
        let step = py.detach(|| lock.lock().abandon(Ticket(ticket))).py()?;
        steps::step_dict(py, &step)
    }

    /// Bookings out with partners right now (begun or resumed, not yet answered).
    fn in_flight(&self) -> usize {
        self.inner.lock().in_flight()
    }

    /// Every channel's `{channel_id, capacity, pending, committed}` in the
    /// current slot (a channel the router has not used in this slot is left
    /// out). `pending` is what orders still being booked hold.
    fn balances<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows: Vec<(String, uoom::ledger::Balance)> = {
            let router = self.inner.lock();
            let ledger = router.ledger();
            let slot = ledger.slot_of(uoom::Millis(self.clock.now_ms()));
            router
                .channels()
                .iter()
                .filter_map(|c| Some((c.id.0.clone(), ledger.balance(&c.id, slot).ok()?)))
                .collect()
        };
        let out = PyList::empty(py);
        for (id, b) in rows {
            let d = PyDict::new(py);
            d.set_item("channel_id", id)?;
            d.set_item("capacity", b.capacity)?;
            d.set_item("pending", b.pending)?;
            d.set_item("committed", b.committed)?;
            out.append(d)?;
        }
        Ok(out)
    }

    /// Routes many requests in one call (the GIL released for the whole
    /// batch). Each result is an outcome dict, or `{"error": {"code",
    /// "message", "errors"}}` for a request that failed validation, so one bad
    /// request does not abort the batch. `keys`, if given, pairs up with
    /// `requests` (None for no key).
    #[pyo3(signature = (requests, *, keys=None))]
    fn route_many<'py>(
        &self,
        py: Python<'py>,
        requests: &Bound<'py, PyAny>,
        keys: Option<Vec<Option<String>>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut parsed: Vec<Result<CreateOrderRequest, uoom::Error>> = Vec::new();
        for (i, r) in requests.try_iter()?.enumerate() {
            let path = format!("requests[{i}]");
            let v = to_value(&r?, &path)?;
            parsed.push(uoom::validate_create_order(&v));
        }
        if let Some(k) = &keys
            && k.len() != parsed.len()
        {
            return Err(invalid(
                "keys",
                "length_mismatch",
                format!("{} keys for {} requests", k.len(), parsed.len()),
            ));
        }
        let lock = &self.inner;
        let results: Vec<Result<Outcome, uoom::Error>> = py.detach(|| {
            let mut router = lock.lock();
            parsed
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    let key = keys.as_ref().and_then(|k| k[i].as_deref());
                    p.and_then(|req| router.submit(req, key))
                })
                .collect()
        });
        let out = PyList::empty(py);
        for r in results {
            match r {
                Ok(o) => out.append(outcome_dict(py, &o)?)?,
                Err(e) => {
                    let err = PyDict::new(py);
                    err.set_item("code", e.kind().code())?;
                    err.set_item("message", e.chain().to_string())?;
                    let fields = PyList::empty(py);
                    for f in e.field_errors() {
                        let fd = PyDict::new(py);
                        fd.set_item("field", &f.field)?;
                        fd.set_item("code", &f.code)?;
                        fd.set_item("message", &f.message)?;
                        fields.append(fd)?;
                    }
                    err.set_item("errors", fields)?;
                    let d = PyDict::new(py);
                    d.set_item("error", err)?;
                    out.append(d)?;
                }
            }
        }
        Ok(out)
    }

    /// With a batch window: routes the queued batch if the window is over or
    /// the batch is full, returning its outcomes (else `[]`).
    fn poll<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let lock = &self.inner;
        let out = py.detach(|| lock.lock().poll()).py()?;
        outcome_list(py, &out)
    }

    /// Routes whatever is queued now, window over or not.
    fn flush<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let lock = &self.inner;
        let out = py.detach(|| lock.lock().flush()).py()?;
        outcome_list(py, &out)
    }

    /// Orders waiting in the batch window.
    #[getter]
    fn queued(&self) -> usize {
        self.inner.lock().queued()
    }

    /// Moves a routed order along its lifecycle (`PREPARING`, ...,
    /// `DELIVERED`, `CANCELLED`); returns its status view.
    fn advance<'py>(
        &self,
        py: Python<'py>,
        order_id: &str,
        status: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = order_id_arg(order_id)?;
        let to = parse_order_status(status).py()?;
        let v = self.inner.lock().advance(&id, to).py()?;
        status_dict(py, &v)
    }

    /// `advance` for a router that books through a gateway: returns the
    /// status view and the cancels to send (`CANCELLED` on a confirmed order
    /// takes its booking back) instead of sending them to the simulated
    /// partners. `uoom.Router.advance` sends them through the gateway.
    fn advance_deferred<'py>(
        &self,
        py: Python<'py>,
        order_id: &str,
        status: &str,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyList>)> {
        let id = order_id_arg(order_id)?;
        let to = parse_order_status(status).py()?;
        let (v, cancels) = self.inner.lock().advance_deferred(&id, to).py()?;
        Ok((status_dict(py, &v)?, steps::cancel_list(py, &cancels)?))
    }

    /// The read model's view of an order, or None if it is unknown.
    fn status<'py>(&self, py: Python<'py>, order_id: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        let id = order_id_arg(order_id)?;
        let v = self.inner.lock().read_model().get(&id);
        v.map(|v| status_dict(py, &v)).transpose()
    }

    /// Prometheus text exposition of the router's metrics.
    fn metrics(&self) -> String {
        self.inner.lock().render_metrics()
    }

    /// Moves a manual clock (`Router(..., manual_clock=True)`) forward.
    fn advance_ms(&self, ms: u64) -> PyResult<()> {
        if self.clock.advance_ms(ms) {
            Ok(())
        } else {
            Err(invalid(
                "manual_clock",
                "system_clock",
                "advance_ms needs a router made with manual_clock=True",
            ))
        }
    }

    fn __repr__(&self) -> String {
        let r = self.inner.lock();
        format!(
            "Router(channels={}, queued={})",
            r.channels().len(),
            r.queued()
        )
    }
}
