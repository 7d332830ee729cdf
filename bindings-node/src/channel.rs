//! Channels from JavaScript objects (camelCase), checked field by field.

use crate::errors::OrThrow;
use napi::bindgen_prelude::*;
use uoom::{Channel, ChannelKind, FieldError, GeoPoint, Health, Vehicle};

/// A fulfillment channel as JavaScript passes it. Optional fields take the
/// core builder's defaults (5 km, capacity 0, bike, cost 0, 10 min prep,
/// 25 km/h, quality 1, up).
#[napi(object)]
#[derive(Clone)]
pub struct ChannelInput {
    /// Catalogue id, unique among the channels.
    pub id: String,
    /// `internal_kitchen` | `dark_store` | `external_partner` | `partner_network`.
    #[napi(ts_type = "'internal_kitchen' | 'dark_store' | 'external_partner' | 'partner_network'")]
    pub kind: String,
    /// Latitude of the dispatch point, degrees.
    pub lat: f64,
    /// Longitude of the dispatch point, degrees.
    pub lon: f64,
    /// Maximum delivery distance in km.
    pub radius_km: Option<f64>,
    /// Units the channel can take per planning window (ledger slot).
    pub capacity: Option<u32>,
    /// Vehicles it dispatches: `bike` | `car` | `van` | `refrigerated`.
    #[napi(ts_type = "Array<'bike' | 'car' | 'van' | 'refrigerated'>")]
    pub vehicles: Option<Vec<String>>,
    /// Fixed cost per order.
    pub base_cost: Option<f64>,
    /// Cost per km.
    pub cost_per_km: Option<f64>,
    /// Preparation minutes before dispatch.
    pub prep_min: Option<f64>,
    /// Average travel speed, km/h.
    pub speed_kmh: Option<f64>,
    /// Quality in [0, 1].
    pub quality: Option<f64>,
    /// `up` | `degraded` | `down`.
    #[napi(ts_type = "'up' | 'degraded' | 'down'")]
    pub status: Option<String>,
}

/// `speed_kmh` → `speedKmh`, path by path, so errors name the JS field.
pub fn camel_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn to_core(c: &ChannelInput, path: &str, errs: &mut Vec<FieldError>) -> Option<Channel> {
    let at = |f: &str| format!("{path}.{f}");
    let kind = c
        .kind
        .parse::<ChannelKind>()
        .map_err(|e| errs.push(FieldError::new(at("kind"), "unknown_kind", e.to_string())))
        .ok();
    let mut vehicles = Vec::new();
    for (k, v) in c.vehicles.iter().flatten().enumerate() {
        match v.parse::<Vehicle>() {
            Ok(v) => vehicles.push(v),
            Err(e) => errs.push(FieldError::new(
                format!("{path}.vehicles[{k}]"),
                "unknown_vehicle",
                e.to_string(),
            )),
        }
    }
    let health = match c.status.as_deref().map(str::parse::<Health>) {
        None => Some(Health::Up),
        Some(Ok(h)) => Some(h),
        Some(Err(e)) => {
            errs.push(FieldError::new(
                at("status"),
                "unknown_status",
                e.to_string(),
            ));
            None
        }
    };
    let (kind, health) = (kind?, health?);
    let mut ch = Channel::builder(c.id.as_str(), kind, GeoPoint::new(c.lat, c.lon))
        .with_health(health)
        .build()
        .ok()?;
    if c.vehicles.is_some() {
        ch.vehicles = vehicles.into_iter().collect();
    }
    ch.radius_km = c.radius_km.unwrap_or(ch.radius_km);
    ch.capacity = c.capacity.unwrap_or(ch.capacity);
    ch.cost.base = c.base_cost.unwrap_or(ch.cost.base);
    ch.cost.per_km = c.cost_per_km.unwrap_or(ch.cost.per_km);
    ch.prep_min = c.prep_min.unwrap_or(ch.prep_min);
    ch.speed_kmh = c.speed_kmh.unwrap_or(ch.speed_kmh);
    ch.quality = c.quality.unwrap_or(ch.quality);
    let problems = ch.check(path);
    if problems.is_empty() {
        Some(ch)
    } else {
        errs.extend(problems);
        None
    }
}

/// Converts and checks every channel, reporting all problems at once
/// (`channels[3].speedKmh`), duplicates included.
pub fn channels_from_js(list: &[ChannelInput]) -> uoom::Result<Vec<Channel>> {
    let mut errs = Vec::new();
    let mut out = Vec::with_capacity(list.len());
    let mut seen = std::collections::HashSet::with_capacity(list.len());
    for (i, c) in list.iter().enumerate() {
        let path = format!("channels[{i}]");
        if !seen.insert(c.id.as_str()) {
            errs.push(FieldError::new(
                format!("{path}.id"),
                "duplicate",
                format!("channel id {:?} appears more than once", c.id),
            ));
        }
        if let Some(ch) = to_core(c, &path, &mut errs) {
            out.push(ch);
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        for e in &mut errs {
            e.field = camel_path(&e.field);
        }
        Err(uoom::Error::Validation(errs))
    }
}

/// Checks channel definitions without building anything: throws a
/// `UOOM_VALIDATION` error listing every problem, else returns how many
/// channels are valid.
#[napi]
pub fn validate_channels(env: Env, channels: Vec<ChannelInput>) -> Result<u32> {
    channels_from_js(&channels)
        .map(|c| c.len() as u32)
        .or_throw(&env)
}
