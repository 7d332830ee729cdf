//! `uoom.validate_order` and `uoom.Order`: the create-order contract and the
//! order lifecycle, validated by the core so Python and Rust services reject
//! exactly the same requests with exactly the same field errors.

use pyo3::prelude::*;
use uoom::{Clock, Millis, Order, OrderId, OrderStatus, SystemClock};

use crate::convert::{repr_str, serialize_to_py, to_py, to_value};
use crate::errors::{IntoPyResult, invalid};

/// Validates a create-order request (the camelCase dict of the existing
/// services) and returns its normalized form; raises `ValidationError` with
/// every problem found.
#[pyfunction]
pub fn validate_order<'py>(
    py: Python<'py>,
    request: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let value = to_value(request, "")?;
    let req = uoom::validate_create_order(&value).py()?;
    to_py(py, &req.to_json())
}

fn parse_status(s: &str) -> PyResult<OrderStatus> {
    s.parse::<OrderStatus>().py()
}

fn parse_order_id(s: &str) -> PyResult<OrderId> {
    OrderId::parse(s).ok_or_else(|| invalid("id", "invalid_uuid", format!("{s:?} is not a UUID")))
}

/// An order: built from a valid create-order request, then moved along its
/// lifecycle (`PENDING → VALIDATED → ROUTED → ...`).
#[pyclass(module = "uoom._uoom", name = "Order")]
pub struct PyOrder {
    pub inner: Order,
}

#[pymethods]
impl PyOrder {
    #[new]
    #[pyo3(signature = (request, *, id=None, created_at_ms=None))]
    fn new(
        request: &Bound<'_, PyAny>,
        id: Option<&str>,
        created_at_ms: Option<u64>,
    ) -> PyResult<Self> {
        let value = to_value(request, "")?;
        let req = uoom::validate_create_order(&value).py()?;
        let id = match id {
            Some(s) => parse_order_id(s)?,
            None => OrderId::new_v4(),
        };
        let now = created_at_ms.map_or_else(|| SystemClock.now(), Millis);
        let inner = Order::from_request(id, req, now).py()?;
        Ok(Self { inner })
    }

    /// Restores an order from `to_dict()` output.
    #[staticmethod]
    fn from_dict(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let value = to_value(data, "")?;
        let inner: Order = serde_json::from_value(value)
            .map_err(|e| invalid("", "invalid_order", format!("not an order: {e}")))?;
        Ok(Self { inner })
    }

    /// The order as a camelCase dict (money as `{"amount", "currency"}`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize_to_py(py, &self.inner)
    }

    #[getter]
    fn id(&self) -> String {
        self.inner.id.to_string()
    }
    #[getter]
    fn customer_id(&self) -> String {
        self.inner.customer_id.to_string()
    }
    #[getter]
    fn restaurant_id(&self) -> Option<String> {
        self.inner.restaurant_id.map(|r| r.to_string())
    }
    #[getter]
    fn status(&self) -> &'static str {
        self.inner.status.as_str()
    }
    /// The exact total as a decimal string, e.g. `"31.98"`.
    #[getter]
    fn total(&self) -> String {
        self.inner.total.amount_string()
    }
    /// The total in minor units (cents), exact.
    #[getter]
    fn total_minor(&self) -> i64 {
        self.inner.total.minor()
    }
    #[getter]
    fn currency(&self) -> String {
        self.inner.total.currency().as_str().to_owned()
    }
    #[getter]
    fn total_quantity(&self) -> u32 {
        self.inner.total_quantity()
    }
    #[getter]
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize_to_py(py, &self.inner.items)
    }
    #[getter]
    fn delivery_address<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serialize_to_py(py, &self.inner.delivery)
    }
    #[getter]
    fn lat(&self) -> f64 {
        self.inner.delivery.location.lat
    }
    #[getter]
    fn lon(&self) -> f64 {
        self.inner.delivery.location.lon
    }
    #[getter]
    fn vehicle(&self) -> Option<&'static str> {
        self.inner.hints.vehicle.map(uoom::Vehicle::as_str)
    }
    #[getter]
    fn deadline_min(&self) -> Option<f64> {
        self.inner.hints.deadline_min
    }
    #[getter]
    fn priority(&self) -> Option<u8> {
        self.inner.hints.priority
    }
    #[getter]
    fn created_at_ms(&self) -> u64 {
        self.inner.created_at.0
    }
    #[getter]
    fn updated_at_ms(&self) -> u64 {
        self.inner.updated_at.0
    }

    /// True if the lifecycle allows moving from the current status to `status`.
    fn can_transition_to(&self, status: &str) -> PyResult<bool> {
        Ok(self.inner.status.can_transition_to(parse_status(status)?))
    }

    /// Moves the order to `status` and returns the previous status; an
    /// illegal step raises `ConflictError` and changes nothing.
    #[pyo3(signature = (status, *, now_ms=None))]
    fn transition(&mut self, status: &str, now_ms: Option<u64>) -> PyResult<&'static str> {
        let to = parse_status(status)?;
        let now = now_ms.map_or_else(|| SystemClock.now(), Millis);
        self.inner.transition(to, now).py().map(OrderStatus::as_str)
    }

    fn __repr__(&self) -> String {
        let o = &self.inner;
        format!(
            "Order(id={}, status={}, total={}, items={}, lat={}, lon={})",
            repr_str(&o.id.to_string()),
            repr_str(o.status.as_str()),
            repr_str(&o.total.to_string()),
            o.items.len(),
            o.delivery.location.lat,
            o.delivery.location.lon,
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyOrder>()
            .is_ok_and(|o| o.borrow().inner == self.inner)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyAny>,))> {
        let py = slf.py();
        let ctor = py.get_type::<PyOrder>().getattr("from_dict")?;
        let d = slf.borrow().to_dict(py)?;
        Ok((ctor, (d,)))
    }
}
