//! `uoom.Ledger`: the two-phase capacity ledger (reserve → commit | release |
//! expire). Reservation ids are the caller's idempotency keys: a `str` (an
//! order id, say) or an `int`; repeating a reserve with the same key and
//! contents returns the same reservation instead of reserving twice.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyString};
use serde_json::Value;
use uoom::ChannelId;
use uoom::ledger::{Balance, Ledger, Reservation, ReservationId, SlotId};
use uoom::wire::{Case, ReservationKey, ReservationView, ReserveRequest};

use crate::clock::PyClock;
use crate::convert::{serialize_to_py, to_value};
use crate::errors::{IntoPyResult, invalid, to_py_err};

/// The key a caller gave, kept to echo it back.
#[derive(Clone)]
enum Key {
    Str(String),
    Int(u128),
}

impl Key {
    fn extract(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Key> {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Key::Str(s.to_cow()?.into_owned()));
        }
        if obj.is_instance_of::<PyInt>() {
            return obj
                .extract::<u128>()
                .map(Key::Int)
                .map_err(|_| invalid(field, "out_of_range", "an int id must be in [0, 2**128)"));
        }
        Err(invalid(
            field,
            "invalid_type",
            "a reservation id is a str or an int",
        ))
    }

    fn id(&self) -> ReservationId {
        match self {
            Key::Str(s) => ReservationId::from(s.as_str()),
            Key::Int(v) => ReservationId(*v),
        }
    }

    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            Key::Str(s) => PyString::new(py, s).into_any(),
            Key::Int(v) => v.into_pyobject(py)?.into_any(),
        })
    }
}

fn reservation_dict<'py>(
    py: Python<'py>,
    key: Option<&Key>,
    r: &Reservation,
) -> PyResult<Bound<'py, PyAny>> {
    let d = serialize_to_py(py, &ReservationView::new(None, r))?;
    if let Some(k) = key {
        d.set_item("id", k.to_py(py)?)?;
    }
    Ok(d)
}

fn balance_dict<'py>(py: Python<'py>, b: &Balance) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("capacity", b.capacity)?;
    d.set_item("pending", b.pending)?;
    d.set_item("committed", b.committed)?;
    d.set_item("available", b.available())?;
    d.set_item("overcommitted", b.overcommitted())?;
    Ok(d)
}

/// The error part of a batch result: the category code and message.
fn error_dict<'py>(py: Python<'py>, e: &uoom::Error) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("code", e.kind().code())?;
    d.set_item("message", e.chain().to_string())?;
    Ok(d)
}

impl From<&ReservationKey> for Key {
    fn from(k: &ReservationKey) -> Self {
        match k {
            ReservationKey::Str(s) => Key::Str(s.clone()),
            ReservationKey::Int(v) => Key::Int(u128::from(*v)),
        }
    }
}

/// Capacity per channel and time slot, with two-phase reservations.
#[pyclass(module = "uoom._uoom", name = "Ledger", frozen)]
pub struct PyLedger {
    pub inner: Ledger,
    clock: PyClock,
}

#[pymethods]
impl PyLedger {
    #[new]
    #[pyo3(signature = (*, now_ms=None, slot_ms=uoom::ledger::DEFAULT_SLOT_MS))]
    fn new(now_ms: Option<u64>, slot_ms: u64) -> PyResult<Self> {
        let clock = PyClock::new(now_ms);
        let inner = Ledger::builder(clock.arc())
            .with_slot_ms(slot_ms)
            .build()
            .py()?;
        Ok(Self { inner, clock })
    }

    /// Current time of the ledger's clock, in ms.
    #[getter]
    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Length of a slot in ms.
    #[getter]
    fn slot_ms(&self) -> u64 {
        self.inner.slot_ms()
    }

    /// Moves a manual clock (`Ledger(now_ms=...)`) forward.
    fn advance_ms(&self, ms: u64) -> PyResult<()> {
        if self.clock.advance_ms(ms) {
            Ok(())
        } else {
            Err(invalid(
                "now_ms",
                "system_clock",
                "advance_ms needs a ledger made with now_ms=...",
            ))
        }
    }

    /// The slot a time (ms) falls into.
    fn slot_of(&self, t_ms: u64) -> u32 {
        self.inner.slot_of(uoom::Millis(t_ms)).0
    }

    /// Sets a channel's capacity for a slot (creating the account); returns
    /// the old and new capacity and the balance after.
    #[pyo3(signature = (channel, capacity, slot=0))]
    fn set_capacity<'py>(
        &self,
        py: Python<'py>,
        channel: &str,
        capacity: u32,
        slot: u32,
    ) -> PyResult<Bound<'py, PyDict>> {
        let ch = self
            .inner
            .set_capacity(&ChannelId::from(channel), SlotId(slot), capacity)
            .py()?;
        let d = PyDict::new(py);
        d.set_item("channel", channel)?;
        d.set_item("slot", slot)?;
        d.set_item("old", ch.old)?;
        d.set_item("new", ch.new)?;
        d.set_item("overcommitted", ch.overcommitted)?;
        d.set_item("balance", balance_dict(py, &ch.balance)?)?;
        Ok(d)
    }

    /// Capacity, pending, committed and available units of a channel's slot.
    #[pyo3(signature = (channel, slot=0))]
    fn balance<'py>(
        &self,
        py: Python<'py>,
        channel: &str,
        slot: u32,
    ) -> PyResult<Bound<'py, PyDict>> {
        let b = self
            .inner
            .balance(&ChannelId::from(channel), SlotId(slot))
            .py()?;
        balance_dict(py, &b)
    }

    /// Units that can still be reserved (0 for an unknown account).
    #[pyo3(signature = (channel, slot=0))]
    fn available(&self, channel: &str, slot: u32) -> u32 {
        self.inner
            .available(&ChannelId::from(channel), SlotId(slot))
    }

    /// Holds `units` on a channel's slot until commit, release or `ttl_ms`.
    #[pyo3(signature = (id, channel, units, slot=0, ttl_ms=30_000))]
    fn reserve<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        channel: &str,
        units: u32,
        slot: u32,
        ttl_ms: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = Key::extract(id, "id")?;
        let r = self
            .inner
            .reserve(
                key.id(),
                &ChannelId::from(channel),
                SlotId(slot),
                units,
                ttl_ms,
            )
            .py()?;
        reservation_dict(py, Some(&key), &r)
    }

    /// Many independent reservations in one call (one boundary crossing, the
    /// GIL released for the work). Each item is a reservation request
    /// `{"id", "channel", "units", "slot"?, "ttl_ms"?}` (slot 0 and 30 s by
    /// default); a malformed item raises `ValidationError` listing every
    /// problem of every item (`items[2].units`) before anything is reserved.
    /// Each result is the reservation dict, or `{"id", "error": {"code",
    /// "message"}}` for an item that failed, so one full channel does not
    /// abort the rest. For all-or-nothing, use `reserve_batch`.
    fn reserve_many<'py>(
        &self,
        py: Python<'py>,
        items: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let list: Vec<Value> = items
            .try_iter()?
            .enumerate()
            .map(|(i, obj)| to_value(&obj?, &format!("items[{i}]")))
            .collect::<PyResult<_>>()?;
        let items = ReserveRequest::parse_list(&Value::Array(list), Case::Snake).py()?;
        let ledger = &self.inner;
        let results: Vec<uoom::Result<Reservation>> = py.detach(|| {
            items
                .iter()
                .map(|it| ledger.reserve(it.id.id(), &it.channel, it.slot, it.units, it.ttl_ms))
                .collect()
        });
        let out = PyList::empty(py);
        for (it, r) in items.iter().zip(results) {
            let key = Key::from(&it.id);
            match r {
                Ok(r) => out.append(reservation_dict(py, Some(&key), &r)?)?,
                Err(e) => {
                    let d = PyDict::new(py);
                    d.set_item("id", key.to_py(py)?)?;
                    d.set_item("error", error_dict(py, &e)?)?;
                    out.append(d)?
                }
            }
        }
        Ok(out)
    }

    /// All-or-nothing: reserves every `(channel, units)` or `(channel, units,
    /// slot)` leg under one batch id, or nothing (raising the first failure).
    #[pyo3(signature = (id, legs, *, ttl_ms=30_000))]
    fn reserve_batch<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        legs: Vec<(String, u32, Option<u32>)>,
        ttl_ms: u64,
    ) -> PyResult<Bound<'py, PyList>> {
        let key = Key::extract(id, "id")?;
        let legs: Vec<(ChannelId, SlotId, u32)> = legs
            .into_iter()
            .map(|(c, u, s)| (ChannelId::from(c), SlotId(s.unwrap_or(0)), u))
            .collect();
        let ledger = &self.inner;
        let rs = py
            .detach(|| ledger.reserve_batch(key.id(), &legs, ttl_ms))
            .py()?;
        let out = PyList::empty(py);
        for r in &rs {
            out.append(reservation_dict(py, None, r)?)?;
        }
        Ok(out)
    }

    /// Commits a pending reservation (all its units, or fewer: the rest go back).
    #[pyo3(signature = (id, units=None))]
    fn commit<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
        units: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = Key::extract(id, "id")?;
        let r = self.inner.commit(key.id(), units).py()?;
        reservation_dict(py, Some(&key), &r)
    }

    /// Releases a pending reservation; its units become available again.
    fn release<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let key = Key::extract(id, "id")?;
        let r = self.inner.release(key.id()).py()?;
        reservation_dict(py, Some(&key), &r)
    }

    /// Refunds a committed reservation (an order cancelled after it was
    /// confirmed): its committed units become available again and it is
    /// `refunded`. Repeating it returns the same reservation; a pending,
    /// released or expired one is a `ConflictError`.
    fn refund<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let key = Key::extract(id, "id")?;
        let r = self.inner.refund(key.id()).py()?;
        reservation_dict(py, Some(&key), &r)
    }

    /// Commits every leg of a batch.
    fn commit_batch<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let key = Key::extract(id, "id")?;
        let rs = self.inner.commit_batch(key.id()).py()?;
        let out = PyList::empty(py);
        for r in &rs {
            out.append(reservation_dict(py, None, r)?)?;
        }
        Ok(out)
    }

    /// Releases every leg of a batch.
    fn release_batch<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let key = Key::extract(id, "id")?;
        let rs = self.inner.release_batch(key.id()).py()?;
        let out = PyList::empty(py);
        for r in &rs {
            out.append(reservation_dict(py, None, r)?)?;
        }
        Ok(out)
    }

    /// The reservation with this id, in its current state.
    fn get<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let key = Key::extract(id, "id")?;
        let r = self.inner.get(key.id()).map_err(to_py_err)?;
        reservation_dict(py, Some(&key), &r)
    }

    /// Expires every pending reservation past its TTL now; returns how many.
    fn expire_due(&self) -> usize {
        self.inner.expire_due()
    }

    fn __repr__(&self) -> String {
        format!(
            "Ledger(now_ms={}, slot_ms={})",
            self.clock.now_ms(),
            self.inner.slot_ms()
        )
    }
}
