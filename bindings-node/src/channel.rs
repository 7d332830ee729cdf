//! Channels from JavaScript: the channel spec of `uoom::wire`, in camelCase.
//! This file only declares the TypeScript shape and hands the JSON over.

use crate::errors::OrThrow;
use crate::input::JsonInput;
use napi::bindgen_prelude::*;
use uoom::Channel;
use uoom::wire::{Case, parse_channels};

/// A fulfillment channel as JavaScript passes it (the channel spec). The
/// fields that decide ranking are required (a missing one is a
/// `UOOM_VALIDATION` error with code `required`); `capacity` (0), `vehicles`
/// (`['bike']`) and `status` (`'up'`) have defaults. Unknown keys are
/// refused (`unknown_field`).
#[napi(object, object_to_js = false)]
#[allow(dead_code)] // a shape for index.d.ts: channels are read by uoom::wire
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
    pub radius_km: f64,
    /// Units the channel can take per planning window (ledger slot); default 0.
    pub capacity: Option<u32>,
    /// Vehicles it dispatches (default `['bike']`).
    #[napi(ts_type = "Array<'bike' | 'car' | 'van' | 'refrigerated'>")]
    pub vehicles: Option<Vec<String>>,
    /// Fixed cost per order.
    pub base_cost: f64,
    /// Cost per km.
    pub cost_per_km: f64,
    /// Preparation minutes before dispatch.
    pub prep_min: f64,
    /// Average travel speed, km/h (> 0).
    pub speed_kmh: f64,
    /// Quality in [0, 1].
    pub quality: f64,
    /// `up` (default) | `degraded` | `down`.
    #[napi(ts_type = "'up' | 'degraded' | 'down'")]
    pub status: Option<String>,
}

/// Reads a list of channel specs, reporting every problem at once
/// (`channels[3].speedKmh`), duplicates included.
pub fn channels_from_js(list: &JsonInput) -> uoom::Result<Vec<Channel>> {
    parse_channels(&list.value()?, Case::Camel)
}

/// Checks channel definitions without building anything: throws a
/// `UOOM_VALIDATION` error listing every problem, else returns how many
/// channels are valid.
#[napi(ts_args_type = "channels: Array<ChannelInput>")]
pub fn validate_channels(env: Env, channels: JsonInput) -> Result<u32> {
    channels_from_js(&channels)
        .map(|c| c.len() as u32)
        .or_throw(&env)
}

/// Checks `value` against a wire contract (`channel`, `channels`,
/// `routerOptions`, `orderStatus`, `reserveRequest`, `createOrder`,
/// `instance`) without building anything, and returns its normalized form
/// with every default written (camelCase keys; an instance keeps its
/// snake_case), or throws `UOOM_VALIDATION` listing every problem.
#[napi(
    ts_args_type = "contract: 'channel' | 'channels' | 'routerOptions' | 'orderStatus' | 'reserveRequest' | 'createOrder' | 'instance', value: unknown",
    ts_return_type = "any"
)]
pub fn validate(env: Env, contract: String, value: serde_json::Value) -> Result<serde_json::Value> {
    // The value is taken as a JS value, not as JSON text: an order status is
    // a string, not the text of one.
    uoom::wire::validate(&snake(&contract), &value, Case::Camel).or_throw(&env)
}

/// `routerOptions` → `router_options`: the contract's name as the core knows it.
fn snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
