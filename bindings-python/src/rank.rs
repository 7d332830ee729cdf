//! `uoom.Ranker`: filtered, weighted top-k of channels for an order, with
//! explanations, over signals (headroom, quality, health, breaker) that the
//! caller updates as they change.

use parking_lot::RwLock;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use uoom::rank::{RankQuery, RankWeights, Ranked, Ranker, StalePolicy};
use uoom::{GeoPoint, Health, Vehicle};

use crate::channel::{PyChannel, channels_arg};
use crate::clock::PyClock;
use crate::convert::serialize_to_py;
use crate::errors::{IntoPyResult, invalid};
use crate::ledger::PyLedger;

/// Weights from a dict with any of `capacity`, `quality`, `latency`, `cost`
/// (missing ones keep their defaults).
pub fn weights_arg(w: Option<&Bound<'_, PyDict>>) -> PyResult<RankWeights> {
    let mut out = RankWeights::default();
    let Some(w) = w else { return Ok(out) };
    for (k, v) in w.iter() {
        let key: String = k.extract()?;
        let val: f64 = v.extract().map_err(|_| {
            invalid(
                &format!("weights.{key}"),
                "invalid_type",
                "a weight is a number",
            )
        })?;
        match key.as_str() {
            "capacity" => out.capacity = val,
            "quality" => out.quality = val,
            "latency" => out.latency = val,
            "cost" => out.cost = val,
            _ => {
                return Err(invalid(
                    &format!("weights.{key}"),
                    "unknown_field",
                    "weights are capacity, quality, latency and cost",
                ));
            }
        }
    }
    out.validate().py()?;
    Ok(out)
}

fn vehicle_arg(v: &str, field: &str) -> PyResult<Vehicle> {
    v.parse::<Vehicle>()
        .map_err(|_| invalid(field, "unknown_vehicle", format!("unknown vehicle {v:?}")))
}

fn query(
    lat: f64,
    lon: f64,
    vehicle: Vehicle,
    units: u32,
    deadline_min: Option<f64>,
    w: RankWeights,
) -> RankQuery {
    let mut q = RankQuery::new(GeoPoint::new(lat, lon), vehicle, units).with_weights(w);
    if let Some(d) = deadline_min {
        q = q.with_deadline_min(d);
    }
    q
}

fn ranked_dict<'py>(py: Python<'py>, ranker: &Ranker, r: &Ranked) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let id = ranker.channel(r.channel).map_or("", |c| c.id.as_str());
    d.set_item("channel", id)?;
    d.set_item("score", r.score)?;
    d.set_item("distance_km", r.distance_km)?;
    d.set_item("eta_min", r.eta_min)?;
    d.set_item("cost", r.cost)?;
    let c = PyDict::new(py);
    c.set_item("capacity", r.contributions.capacity)?;
    c.set_item("quality", r.contributions.quality)?;
    c.set_item("latency", r.contributions.latency)?;
    c.set_item("cost", r.contributions.cost)?;
    d.set_item("contributions", c)?;
    Ok(d)
}

fn ranked_list<'py>(
    py: Python<'py>,
    ranker: &Ranker,
    rs: &[Ranked],
) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for r in rs {
        out.append(ranked_dict(py, ranker, r)?)?;
    }
    Ok(out)
}

/// A query of `rank_many`, copied out of its dict.
fn query_item(obj: &Bound<'_, PyAny>, i: usize, w: RankWeights) -> PyResult<RankQuery> {
    let at = |f: &str| format!("queries[{i}].{f}");
    let d = obj.cast::<PyDict>().map_err(|_| {
        invalid(
            &format!("queries[{i}]"),
            "invalid_type",
            "each query is a dict {lat, lon, vehicle?, units?, deadline_min?}",
        )
    })?;
    let num = |k: &str| -> PyResult<Option<f64>> {
        match d.get_item(k)? {
            None => Ok(None),
            Some(v) if v.is_none() => Ok(None),
            Some(v) => v
                .extract::<f64>()
                .map(Some)
                .map_err(|_| invalid(&at(k), "invalid_type", format!("{k} is a number"))),
        }
    };
    let lat = num("lat")?.ok_or_else(|| invalid(&at("lat"), "required", "lat is required"))?;
    let lon = num("lon")?.ok_or_else(|| invalid(&at("lon"), "required", "lon is required"))?;
    let vehicle = match d.get_item("vehicle")? {
        None => Vehicle::Bike,
        Some(v) => vehicle_arg(
            &v.extract::<String>()
                .map_err(|_| invalid(&at("vehicle"), "invalid_type", "vehicle is a str"))?,
            &at("vehicle"),
        )?,
    };
    let units = match d.get_item("units")? {
        None => 1,
        Some(v) => v
            .extract::<u32>()
            .map_err(|_| invalid(&at("units"), "invalid_type", "units is a non-negative int"))?,
    };
    Ok(query(lat, lon, vehicle, units, num("deadline_min")?, w))
}

/// Ranks fulfillment channels for orders.
#[pyclass(module = "uoom._uoom", name = "Ranker", frozen)]
pub struct PyRanker {
    inner: RwLock<Ranker>,
    clock: PyClock,
    weights: RankWeights,
}

impl PyRanker {
    /// The query's own weights when given, else the ranker's.
    fn weights_or_default(&self, weights: Option<&Bound<'_, PyDict>>) -> PyResult<RankWeights> {
        match weights {
            None => Ok(self.weights),
            Some(_) => weights_arg(weights),
        }
    }

    /// The query of `rank` and `explain`, from their keyword arguments.
    fn single_query(
        &self,
        lat: f64,
        lon: f64,
        vehicle: &str,
        units: u32,
        deadline_min: Option<f64>,
        weights: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<RankQuery> {
        let w = self.weights_or_default(weights)?;
        Ok(query(
            lat,
            lon,
            vehicle_arg(vehicle, "vehicle")?,
            units,
            deadline_min,
            w,
        ))
    }
}

#[pymethods]
impl PyRanker {
    #[new]
    #[pyo3(signature = (channels, *, weights=None, now_ms=None, max_signal_age_ms=None, stale_policy="exclude"))]
    fn new(
        channels: &Bound<'_, PyAny>,
        weights: Option<&Bound<'_, PyDict>>,
        now_ms: Option<u64>,
        max_signal_age_ms: Option<u64>,
        stale_policy: &str,
    ) -> PyResult<Self> {
        let channels = channels_arg(channels)?;
        let weights = weights_arg(weights)?;
        let clock = PyClock::new(now_ms);
        let policy = match stale_policy {
            "exclude" => StalePolicy::Exclude,
            "zero_score" => StalePolicy::ZeroScore,
            other => {
                return Err(invalid(
                    "stale_policy",
                    "unknown_policy",
                    format!("stale_policy is 'exclude' or 'zero_score', got {other:?}"),
                ));
            }
        };
        let mut r = Ranker::new(channels, clock.arc())
            .py()?
            .with_stale_policy(policy);
        if let Some(ms) = max_signal_age_ms {
            r = r.with_max_signal_age_ms(ms);
        }
        Ok(Self {
            inner: RwLock::new(r),
            clock,
            weights,
        })
    }

    /// The channels, in the order given.
    #[getter]
    fn channels(&self) -> Vec<PyChannel> {
        self.inner
            .read()
            .channels()
            .iter()
            .map(|c| PyChannel { inner: c.clone() })
            .collect()
    }

    fn __len__(&self) -> usize {
        self.inner.read().len()
    }

    /// Moves a manual clock (`Ranker(now_ms=...)`) forward, ageing the signals.
    fn advance_ms(&self, ms: u64) -> PyResult<()> {
        if self.clock.advance_ms(ms) {
            Ok(())
        } else {
            Err(invalid(
                "now_ms",
                "system_clock",
                "advance_ms needs a ranker made with now_ms=...",
            ))
        }
    }

    /// The best `k` eligible channels for one order, best first, each with
    /// its score, distance, ETA, cost and each criterion's contribution.
    #[pyo3(signature = (lat, lon, *, vehicle="bike", units=1, deadline_min=None, weights=None, k=5))]
    #[allow(clippy::too_many_arguments)]
    fn rank<'py>(
        &self,
        py: Python<'py>,
        lat: f64,
        lon: f64,
        vehicle: &str,
        units: u32,
        deadline_min: Option<f64>,
        weights: Option<&Bound<'py, PyDict>>,
        k: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let q = self.single_query(lat, lon, vehicle, units, deadline_min, weights)?;
        let r = self.inner.read();
        let top = r.top_k(&q, k).py()?;
        ranked_list(py, &r, &top)
    }

    /// `rank` for many orders in one call (the GIL released for the work);
    /// each query is a dict `{lat, lon, vehicle?, units?, deadline_min?}`.
    #[pyo3(signature = (queries, *, k=5, weights=None))]
    fn rank_many<'py>(
        &self,
        py: Python<'py>,
        queries: &Bound<'py, PyAny>,
        k: usize,
        weights: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let w = self.weights_or_default(weights)?;
        let qs: Vec<RankQuery> = queries
            .try_iter()?
            .enumerate()
            .map(|(i, q)| query_item(&q?, i, w))
            .collect::<PyResult<_>>()?;
        let lock = &self.inner;
        let results: Vec<uoom::Result<Vec<Ranked>>> = py.detach(|| {
            let r = lock.read();
            let mut buf = Vec::with_capacity(k);
            qs.iter()
                .map(|q| r.top_k_into(q, k, &mut buf).map(|()| buf.clone()))
                .collect()
        });
        let r = self.inner.read();
        let out = PyList::empty(py);
        for res in results {
            out.append(ranked_list(py, &r, &res.py()?)?)?;
        }
        Ok(out)
    }

    /// The ranking with everything behind it: normalised weights, each
    /// ranked channel's criterion values and contributions, and every
    /// excluded channel with the constraint that excluded it.
    #[pyo3(signature = (lat, lon, *, vehicle="bike", units=1, deadline_min=None, weights=None, k=5))]
    #[allow(clippy::too_many_arguments)]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        lat: f64,
        lon: f64,
        vehicle: &str,
        units: u32,
        deadline_min: Option<f64>,
        weights: Option<&Bound<'py, PyDict>>,
        k: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let q = self.single_query(lat, lon, vehicle, units, deadline_min, weights)?;
        let ex = self.inner.read().explain(&q, k).py()?;
        serialize_to_py(py, &ex)
    }

    /// Sets a channel's available units and capacity (e.g. from the ledger).
    fn update_headroom(&self, channel: &str, available: u32, capacity: u32) -> PyResult<()> {
        self.inner
            .write()
            .update_headroom(channel, available, capacity)
            .py()
    }

    /// Sets a channel's quality in [0, 1].
    fn update_quality(&self, channel: &str, quality: f64) -> PyResult<()> {
        self.inner.write().update_quality(channel, quality).py()
    }

    /// Sets a channel's health: `"up"`, `"degraded"` or `"down"`.
    fn update_health(&self, channel: &str, status: &str) -> PyResult<()> {
        let h: Health = status.parse().py()?;
        self.inner.write().update_health(channel, h).py()
    }

    /// Marks a channel's circuit breaker open (excluded) or closed.
    fn set_breaker_open(&self, channel: &str, open: bool) -> PyResult<()> {
        self.inner.write().set_breaker_open(channel, open).py()
    }

    /// A channel's current signals and when each was last updated.
    fn signals<'py>(&self, py: Python<'py>, channel: &str) -> PyResult<Bound<'py, PyAny>> {
        let s = self.inner.read().signals(channel).py()?;
        serialize_to_py(py, &s)
    }

    /// Copies every channel's headroom for `slot` from a ledger; returns how
    /// many channels the ledger knew (the others get no headroom, so they
    /// are not eligible until their capacity is set).
    #[pyo3(signature = (ledger, *, slot=0))]
    fn sync_headroom(&self, ledger: &Bound<'_, PyLedger>, slot: u32) -> usize {
        self.inner
            .write()
            .sync_headroom(&ledger.get().inner, uoom::ledger::SlotId(slot))
    }

    fn __repr__(&self) -> String {
        format!("Ranker(channels={})", self.inner.read().len())
    }
}
