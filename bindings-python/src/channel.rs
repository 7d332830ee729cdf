//! `uoom.Channel`: a fulfillment channel, in the flat shape of the benchmark
//! instances (`lat`, `lon`, `base_cost`, `status`, ...), which is also what the
//! seeds' optimization service sends.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;
use uoom::{Channel, ChannelKind, GeoPoint, Health, Vehicle};

use crate::convert::{repr_list, repr_str, to_py, to_value};
use crate::errors::{IntoPyResult, invalid, to_py_err};

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
    #[new]
    #[pyo3(signature = (id, kind, lat, lon, *, radius_km=5.0, capacity=0, vehicles=vec!["bike".to_owned()],
        base_cost=0.0, cost_per_km=0.0, prep_min=10.0, speed_kmh=25.0, quality=1.0, status="up"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        id: String,
        kind: &str,
        lat: f64,
        lon: f64,
        radius_km: f64,
        capacity: u32,
        vehicles: Vec<String>,
        base_cost: f64,
        cost_per_km: f64,
        prep_min: f64,
        speed_kmh: f64,
        quality: f64,
        status: &str,
    ) -> PyResult<Self> {
        let kind: ChannelKind = kind.parse().py()?;
        let health: Health = status.parse().py()?;
        let vehicles = vehicles
            .iter()
            .map(|v| v.parse::<Vehicle>())
            .collect::<uoom::Result<Vec<_>>>()
            .py()?;
        let inner = Channel::builder(id, kind, GeoPoint::new(lat, lon))
            .with_radius_km(radius_km)
            .with_capacity(capacity)
            .with_vehicles(vehicles)
            .with_cost(base_cost, cost_per_km)
            .with_prep_min(prep_min)
            .with_speed_kmh(speed_kmh)
            .with_quality(quality)
            .with_health(health)
            .build()
            .py()?;
        Ok(Self { inner })
    }

    /// Builds a channel from a dict in the benchmark instance shape.
    #[staticmethod]
    fn from_dict(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let value = to_value(data, "")?;
        channel_from_value(&value, "").map(|inner| Self { inner })
    }

    /// The channel as a dict in the benchmark instance shape.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &channel_to_value(&self.inner))
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
            .map(|o| o.get().inner == self.inner)
            .unwrap_or(false)
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

/// Reads a channel in the benchmark instance shape; every bad field is
/// reported at once, prefixed by `path` (e.g. `channels[3]`).
pub fn channel_from_value(v: &Value, path: &str) -> PyResult<Channel> {
    let at = |f: &str| {
        if path.is_empty() {
            f.to_owned()
        } else {
            format!("{path}.{f}")
        }
    };
    let obj = v
        .as_object()
        .ok_or_else(|| invalid(path, "invalid_type", "channel must be an object"))?;
    let mut errs = Vec::new();
    let mut num = |name: &str, default: Option<f64>| -> f64 {
        match obj.get(name) {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
            None if default.is_some() => default.unwrap_or_default(),
            // A missing or mistyped number is reported here and replaced by a
            // valid stand-in, so the builder's range check does not report it twice.
            Some(_) => {
                errs.push(uoom::FieldError::new(
                    at(name),
                    "invalid_type",
                    format!("{name} must be a number"),
                ));
                default.unwrap_or_default()
            }
            None => {
                errs.push(uoom::FieldError::new(
                    at(name),
                    "required",
                    format!("{name} is required"),
                ));
                0.0
            }
        }
    };
    let lat = num("lat", None);
    let lon = num("lon", None);
    let radius_km = num("radius_km", Some(5.0));
    let base_cost = num("base_cost", Some(0.0));
    let cost_per_km = num("cost_per_km", Some(0.0));
    let prep_min = num("prep_min", Some(10.0));
    let speed_kmh = num("speed_kmh", Some(25.0));
    let quality = num("quality", Some(1.0));
    let id = match obj.get("id") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            errs.push(uoom::FieldError::new(
                at("id"),
                "required",
                "id must be a string",
            ));
            String::new()
        }
    };
    let capacity = match obj.get("capacity") {
        None => 0,
        Some(c) => match c.as_u64().and_then(|c| u32::try_from(c).ok()) {
            Some(c) => c,
            None => {
                errs.push(uoom::FieldError::new(
                    at("capacity"),
                    "out_of_range",
                    "capacity must be a non-negative integer",
                ));
                0
            }
        },
    };
    let mut parse_enum = |name: &str, default: &str| -> String {
        match obj.get(name) {
            None => default.to_owned(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                errs.push(uoom::FieldError::new(
                    at(name),
                    "invalid_type",
                    format!("{name} must be a string"),
                ));
                default.to_owned()
            }
        }
    };
    let kind_s = parse_enum("kind", "dark_store");
    let status_s = parse_enum("status", "up");
    let kind = kind_s.parse::<ChannelKind>().unwrap_or_else(|_| {
        errs.push(uoom::FieldError::new(
            at("kind"),
            "unknown_kind",
            format!("unknown channel kind {kind_s:?}"),
        ));
        ChannelKind::DarkStore
    });
    let health = status_s.parse::<Health>().unwrap_or_else(|_| {
        errs.push(uoom::FieldError::new(
            at("status"),
            "unknown_status",
            format!("unknown channel status {status_s:?}"),
        ));
        Health::Up
    });
    let mut vehicles = Vec::new();
    match obj.get("vehicles") {
        None => vehicles.push(Vehicle::Bike),
        Some(Value::Array(vs)) => {
            for (i, v) in vs.iter().enumerate() {
                match v.as_str().map(str::parse::<Vehicle>) {
                    Some(Ok(v)) => vehicles.push(v),
                    _ => errs.push(uoom::FieldError::new(
                        format!("{}[{i}]", at("vehicles")),
                        "unknown_vehicle",
                        format!("unknown vehicle {v}"),
                    )),
                }
            }
        }
        Some(_) => errs.push(uoom::FieldError::new(
            at("vehicles"),
            "invalid_type",
            "vehicles must be a list",
        )),
    }
    let channel = Channel::builder(id, kind, GeoPoint::new(lat, lon))
        .with_radius_km(radius_km)
        .with_capacity(capacity)
        .with_vehicles(vehicles)
        .with_cost(base_cost, cost_per_km)
        .with_prep_min(prep_min)
        .with_speed_kmh(speed_kmh)
        .with_quality(quality)
        .with_health(health);
    match channel.build() {
        Ok(c) if errs.is_empty() => Ok(c),
        Ok(_) => Err(to_py_err(uoom::Error::Validation(errs))),
        Err(e) => {
            errs.extend(
                e.field_errors().iter().map(|f| {
                    uoom::FieldError::new(at(&f.field), f.code.clone(), f.message.clone())
                }),
            );
            Err(to_py_err(uoom::Error::Validation(errs)))
        }
    }
}

/// The channel in the benchmark instance shape.
pub fn channel_to_value(c: &Channel) -> Value {
    serde_json::json!({
        "id": c.id.as_str(),
        "kind": c.kind.as_str(),
        "lat": c.location.lat,
        "lon": c.location.lon,
        "radius_km": c.radius_km,
        "capacity": c.capacity,
        "vehicles": c.vehicles.iter().map(Vehicle::as_str).collect::<Vec<_>>(),
        "base_cost": c.cost.base,
        "cost_per_km": c.cost.per_km,
        "prep_min": c.prep_min,
        "speed_kmh": c.speed_kmh,
        "quality": c.quality,
        "status": c.health.as_str(),
    })
}
