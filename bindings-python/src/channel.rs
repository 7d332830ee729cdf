//! `uoom.Channel`: a fulfillment channel in the channel spec shape (`lat`,
//! `lon`, `base_cost`, `status`, ...) that `uoom::wire` reads and writes;
//! this file only wraps it in a class.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde_json::{Map, Value};
use uoom::wire::{Case, channel_to_value, parse_channel, parse_channels};
use uoom::{Channel, GeoPoint, Vehicle};

use crate::convert::{repr_list, repr_str, to_py, to_value};
use crate::errors::IntoPyResult;

/// Positional constructor arguments, for pickling.
type NewArgs = (String, &'static str, f64, f64);

/// A fulfillment channel (kitchen, dark store, partner).
#[pyclass(module = "uoom._uoom", name = "Channel", frozen, from_py_object)]
#[derive(Clone)]
pub struct PyChannel {
    pub inner: Channel,
}

#[pymethods]
impl PyChannel {
    /// The fields that decide ranking are required keywords; `capacity`,
    /// `vehicles` and `status` have the channel spec's defaults.
    #[new]
    #[pyo3(signature = (id, kind, lat, lon, *, radius_km, base_cost, cost_per_km, prep_min, speed_kmh,
        quality, capacity=None, vehicles=None, status=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        id: &Bound<'_, PyAny>,
        kind: &Bound<'_, PyAny>,
        lat: &Bound<'_, PyAny>,
        lon: &Bound<'_, PyAny>,
        radius_km: &Bound<'_, PyAny>,
        base_cost: &Bound<'_, PyAny>,
        cost_per_km: &Bound<'_, PyAny>,
        prep_min: &Bound<'_, PyAny>,
        speed_kmh: &Bound<'_, PyAny>,
        quality: &Bound<'_, PyAny>,
        capacity: Option<&Bound<'_, PyAny>>,
        vehicles: Option<&Bound<'_, PyAny>>,
        status: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut spec = Map::new();
        let given = [
            ("id", Some(id)),
            ("kind", Some(kind)),
            ("lat", Some(lat)),
            ("lon", Some(lon)),
            ("radius_km", Some(radius_km)),
            ("base_cost", Some(base_cost)),
            ("cost_per_km", Some(cost_per_km)),
            ("prep_min", Some(prep_min)),
            ("speed_kmh", Some(speed_kmh)),
            ("quality", Some(quality)),
            ("capacity", capacity),
            ("vehicles", vehicles),
            ("status", status),
        ];
        for (key, v) in given {
            if let Some(v) = v {
                spec.insert(key.to_owned(), to_value(v, key)?);
            }
        }
        let inner = parse_channel(&Value::Object(spec), Case::Snake).py()?;
        Ok(Self { inner })
    }

    /// Builds a channel from a dict in the channel spec shape.
    #[staticmethod]
    fn from_dict(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let value = to_value(data, "")?;
        let inner = parse_channel(&value, Case::Snake).py()?;
        Ok(Self { inner })
    }

    /// The channel as a dict in the benchmark instance shape.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &channel_to_value(&self.inner, Case::Snake))
    }

    #[getter]
    fn id(&self) -> &str {
        self.inner.id.as_str()
    }
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.as_str()
    }
    #[getter]
    fn lat(&self) -> f64 {
        self.inner.location.lat
    }
    #[getter]
    fn lon(&self) -> f64 {
        self.inner.location.lon
    }
    #[getter]
    fn radius_km(&self) -> f64 {
        self.inner.radius_km
    }
    #[getter]
    fn capacity(&self) -> u32 {
        self.inner.capacity
    }
    #[getter]
    fn vehicles(&self) -> Vec<&'static str> {
        self.inner.vehicles.iter().map(Vehicle::as_str).collect()
    }
    #[getter]
    fn base_cost(&self) -> f64 {
        self.inner.cost.base
    }
    #[getter]
    fn cost_per_km(&self) -> f64 {
        self.inner.cost.per_km
    }
    #[getter]
    fn prep_min(&self) -> f64 {
        self.inner.prep_min
    }
    #[getter]
    fn speed_kmh(&self) -> f64 {
        self.inner.speed_kmh
    }
    #[getter]
    fn quality(&self) -> f64 {
        self.inner.quality
    }
    #[getter]
    fn status(&self) -> &'static str {
        self.inner.health.as_str()
    }

    /// Great-circle distance in km from the channel to a point.
    fn distance_km(&self, lat: f64, lon: f64) -> f64 {
        self.inner.location.distance_km(&GeoPoint::new(lat, lon))
    }

    /// Minutes to deliver to a point: preparation plus travel.
    fn eta_min(&self, lat: f64, lon: f64) -> f64 {
        self.inner.eta_min(self.distance_km(lat, lon))
    }

    /// Delivery cost to a point (base fee plus per-km rate).
    fn cost_to(&self, lat: f64, lon: f64) -> f64 {
        self.inner.cost.cost(self.distance_km(lat, lon))
    }

    fn __repr__(&self) -> String {
        let c = &self.inner;
        format!(
            "Channel(id={}, kind={}, lat={}, lon={}, capacity={}, vehicles={}, status={})",
            repr_str(c.id.as_str()),
            repr_str(c.kind.as_str()),
            c.location.lat,
            c.location.lon,
            c.capacity,
            repr_list(c.vehicles.iter().map(Vehicle::as_str)),
            repr_str(c.health.as_str()),
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyChannel>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __getnewargs_ex__<'py>(&self, py: Python<'py>) -> PyResult<(NewArgs, Bound<'py, PyDict>)> {
        let c = &self.inner;
        let kw = PyDict::new(py);
        kw.set_item("radius_km", c.radius_km)?;
        kw.set_item("capacity", c.capacity)?;
        kw.set_item("vehicles", self.vehicles())?;
        kw.set_item("base_cost", c.cost.base)?;
        kw.set_item("cost_per_km", c.cost.per_km)?;
        kw.set_item("prep_min", c.prep_min)?;
        kw.set_item("speed_kmh", c.speed_kmh)?;
        kw.set_item("quality", c.quality)?;
        kw.set_item("status", c.health.as_str())?;
        Ok((
            (
                c.id.0.clone(),
                c.kind.as_str(),
                c.location.lat,
                c.location.lon,
            ),
            kw,
        ))
    }
}

/// Channels given as `Channel` objects or spec dicts, read as one list so
/// that every problem of every item is reported (`channels[3].quality`),
/// duplicate ids included.
pub fn channels_arg(channels: &Bound<'_, PyAny>) -> PyResult<Vec<Channel>> {
    if channels.is_instance_of::<PyDict>() || channels.is_instance_of::<PyString>() {
        // Not a list: the reader says so (`channels` must be an array).
        return parse_channels(&to_value(channels, "channels")?, Case::Snake).py();
    }
    let mut items = Vec::new();
    for (j, item) in channels.try_iter()?.enumerate() {
        let item = item?;
        items.push(match item.cast::<PyChannel>() {
            Ok(c) => channel_to_value(&c.get().inner, Case::Snake),
            Err(_) => to_value(&item, &format!("channels[{j}]"))?,
        });
    }
    parse_channels(&Value::Array(items), Case::Snake).py()
}
