//! The channel spec: one fulfillment channel as JSON.

use super::Case;
use super::read::{Reader, index};
use crate::error::Result;
use crate::model::channel::{Channel, ChannelKind, CostModel, Health, Vehicle, VehicleSet};
use crate::model::geo::GeoPoint;
use crate::model::ids::ChannelId;
use serde_json::{Map, Value, json};
use std::collections::HashSet;

/// The keys of a channel spec (snake_case; camelCase for callers that use it).
pub const CHANNEL_FIELDS: [&str; 13] = [
    "id",
    "kind",
    "lat",
    "lon",
    "radius_km",
    "capacity",
    "vehicles",
    "base_cost",
    "cost_per_km",
    "prep_min",
    "speed_kmh",
    "quality",
    "status",
];

/// Reads one channel spec; every problem is reported, with paths under
/// `path` (e.g. `channels[3]`).
///
/// ```
/// use uoom::wire::{Case, parse_channel};
/// let spec = serde_json::json!({"id": "k1", "kind": "internal_kitchen", "lat": 40.7, "lon": -74.0,
///     "radiusKm": 6.0, "baseCost": 2.0, "costPerKm": 0.5, "prepMin": 12.0, "speedKmh": 22.0,
///     "quality": 0.9});
/// let c = parse_channel(&spec, Case::Camel).unwrap();
/// assert_eq!(c.capacity, 0); // optional: defaults to 0
///
/// let err = parse_channel(&serde_json::json!({"id": "k2", "kind": "dark_store", "lat": 0, "lon": 0}), Case::Snake)
///     .unwrap_err();
/// assert!(err.field_errors().iter().any(|f| f.field == "quality" && f.code == "required"));
/// ```
pub fn parse_channel(v: &Value, case: Case) -> Result<Channel> {
    let mut r = Reader::new(case);
    let c = read_channel_value(&mut r, v, "");
    r.finish(c)
}

/// Reads a list of channel specs: every problem of every item is reported
/// (`channels[3].cost_per_km`), duplicate ids included.
///
/// ```
/// use uoom::wire::{Case, parse_channels};
/// let err = parse_channels(&serde_json::json!([{"id": "a"}, 7]), Case::Snake).unwrap_err();
/// let fields: Vec<_> = err.field_errors().iter().map(|f| f.field.as_str()).collect();
/// assert!(fields.contains(&"channels[0].kind"));
/// assert!(fields.contains(&"channels[1]"));
/// ```
pub fn parse_channels(v: &Value, case: Case) -> Result<Vec<Channel>> {
    let mut r = Reader::new(case);
    let list = read_channel_list(&mut r, Some(v), "channels");
    r.finish(Some(list))
}

pub(crate) fn read_channel_list(r: &mut Reader, v: Option<&Value>, path: &str) -> Vec<Channel> {
    let Some(v) = v else { return Vec::new() };
    let Some(items) = r.array(v, path, path) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    let mut seen = HashSet::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = index(path, i);
        if let Some(id) = item.get(r.case.key("id").as_ref()).and_then(Value::as_str)
            && !seen.insert(id)
        {
            let f = r.at(&at, "id");
            r.err(
                f,
                "duplicate",
                format!("channel id {id:?} appears more than once"),
            );
        }
        if let Some(c) = read_channel_value(r, item, &at) {
            out.push(c);
        }
    }
    out
}

fn read_channel_value(r: &mut Reader, v: &Value, path: &str) -> Option<Channel> {
    let obj = r.object(v, path, "a channel")?;
    read_channel(r, obj, path)
}

/// Reads the fields of one channel object. Required: `id`, `kind`, `lat`,
/// `lon`, `radius_km` and the fields that decide ranking (`base_cost`,
/// `cost_per_km`, `prep_min`, `speed_kmh`, `quality`). Optional: `capacity`
/// (0), `vehicles` (`["bike"]`), `status` (`up`).
pub(crate) fn read_channel(r: &mut Reader, c: &Map<String, Value>, path: &str) -> Option<Channel> {
    r.deny_unknown(c, path, &CHANNEL_FIELDS);
    let before = r.errs.len();
    let id = r.string(c, path, "id");
    if id == Some("") {
        let at = r.at(path, "id");
        r.err(at, "empty", "channel id must not be empty");
    }
    let kind = r
        .string(c, path, "kind")
        .and_then(|s| match s.parse::<ChannelKind>() {
            Ok(k) => Some(k),
            Err(_) => {
                let at = r.at(path, "kind");
                r.err(at, "unknown_kind", format!("unknown channel kind {s:?}"));
                None
            }
        });
    let lat = r.num(c, path, "lat");
    let lat = r.range(lat, path, "lat", -90.0, 90.0);
    let lon = r.num(c, path, "lon");
    let lon = r.range(lon, path, "lon", -180.0, 180.0);
    let nonneg = |r: &mut Reader, key: &str| {
        let x = r.num(c, path, key);
        r.range(x, path, key, 0.0, f64::INFINITY)
    };
    let radius_km = nonneg(r, "radius_km");
    let base = nonneg(r, "base_cost");
    let per_km = nonneg(r, "cost_per_km");
    let prep_min = nonneg(r, "prep_min");
    let speed_kmh = r.num(c, path, "speed_kmh").and_then(|s| {
        if s > 0.0 {
            Some(s)
        } else {
            let at = r.at(path, "speed_kmh");
            r.err(
                at.clone(),
                "out_of_range",
                format!("{at} must be > 0, got {s}"),
            );
            None
        }
    });
    let quality = r.num(c, path, "quality");
    let quality = r.range(quality, path, "quality", 0.0, 1.0);
    let capacity = r.opt_int(c, path, "capacity", 0, u64::from(u32::MAX));
    let vehicles = match r.opt(c, "vehicles") {
        None => Some([Vehicle::Bike].into_iter().collect()),
        Some(v) => {
            let at = r.at(path, "vehicles");
            r.array(v, &at, &at).map(|vs| {
                let mut set = VehicleSet::EMPTY;
                for (k, v) in vs.iter().enumerate() {
                    let at = index(&at, k);
                    if let Some(s) = r.str_value(v, at.clone()) {
                        match s.parse::<Vehicle>() {
                            Ok(v) => set.insert(v),
                            Err(_) => {
                                r.err(at, "unknown_vehicle", format!("unknown vehicle {s:?}"))
                            }
                        }
                    }
                }
                set
            })
        }
    };
    let health = r.opt_string(c, path, "status").and_then(|s| match s {
        None => Some(Health::Up),
        Some(s) => match s.parse::<Health>() {
            Ok(h) => Some(h),
            Err(_) => {
                let at = r.at(path, "status");
                r.err(
                    at,
                    "unknown_status",
                    format!("channel status must be \"up\", \"degraded\" or \"down\", got {s:?}"),
                );
                None
            }
        },
    });
    if r.errs.len() != before {
        return None;
    }
    Some(Channel {
        id: ChannelId(id?.to_owned()),
        kind: kind?,
        location: GeoPoint::new(lat?, lon?),
        radius_km: radius_km?,
        capacity: capacity?.unwrap_or(0) as u32,
        vehicles: vehicles?,
        cost: CostModel {
            base: base?,
            per_km: per_km?,
        },
        prep_min: prep_min?,
        speed_kmh: speed_kmh?,
        quality: quality?,
        health: health?,
    })
}

/// A channel as its spec, every field written, keys in `case`: what
/// [`parse_channel`] reads back to the same channel.
///
/// ```
/// use uoom::wire::{Case, channel_to_value, parse_channel};
/// let spec = serde_json::json!({"id": "d1", "kind": "dark_store", "lat": 1.0, "lon": 2.0, "radius_km": 3.0,
///     "base_cost": 1.0, "cost_per_km": 0.1, "prep_min": 5.0, "speed_kmh": 20.0, "quality": 0.8});
/// let c = parse_channel(&spec, Case::Snake).unwrap();
/// let v = channel_to_value(&c, Case::Snake);
/// assert_eq!(v["vehicles"], serde_json::json!(["bike"]));
/// assert_eq!(parse_channel(&v, Case::Snake).unwrap(), c);
/// ```
pub fn channel_to_value(c: &Channel, case: Case) -> Value {
    case.keys(json!({
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
    }))
}
