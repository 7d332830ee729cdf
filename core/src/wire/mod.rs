//! Every JSON contract the bindings and the CLI exchange, read and written
//! in one place: parsing, defaults and error paths (`{field, code}`) are
//! defined here once, and the Python and Node packages only wrap them in
//! classes and apply their language's key convention.
//!
//! | contract | reader | keys |
//! |---|---|---|
//! | channel spec | [`parse_channel`], [`parse_channels`] | caller's case |
//! | router options | [`RouterOptions::parse`] | caller's case |
//! | order status | [`parse_order_status`] | `PENDING`, `VALIDATED`, … (exact, upper case) |
//! | reservation request | [`ReserveRequest::parse`], [`ReserveRequest::parse_list`] | caller's case |
//! | create-order request | [`crate::validate_create_order`] | camelCase everywhere |
//! | assignment instance | [`Instance::from_json`], [`Instance::from_value`] | snake_case everywhere |
//!
//! and the views written back: [`channel_to_value`], [`RouterOptions::to_value`],
//! [`OutcomeView`], [`OrderStatusView`], [`ReservationView`], [`SolutionFile`].
//!
//! # Case
//!
//! Keys are snake_case on the wire and in Python ([`Case::Snake`]); Node
//! passes camelCase ([`Case::Camel`]: `radius_km` is `radiusKm`). A reader
//! looks keys up in the caller's case and names fields in it in its errors,
//! so a Node caller reads `channels[2].speedKmh` and a Python caller
//! `channels[2].speed_kmh`: the same error.
//!
//! # Errors
//!
//! A reader reports every problem it finds, not only the first, each as a
//! [`crate::FieldError`] with a stable code: `required` (a required key is
//! absent or `null`), `invalid_type`, `not_finite`, `out_of_range`, `empty`,
//! `duplicate` (an id repeated in a list), `unknown_field` (a key the contract
//! does not have: option objects, channel specs, reservation requests and the
//! records of an instance reject them, so a typo is never silently ignored),
//! `unsupported` (a `gateway` key: a host object, not an option value),
//! `invalid_value` (an order status that is not one of the names),
//! `unknown_kind`, `unknown_vehicle`, `unknown_status` (a channel's `status`),
//! `all_zero` (ranking weights that are all 0).
//!
//! # Channel defaults
//!
//! A channel must say everything that decides whether and how well it ranks:
//! `id`, `kind`, `lat`, `lon`, `radius_km`, `base_cost`, `cost_per_km`,
//! `prep_min`, `speed_kmh` and `quality` are required. A default there would
//! rank a partly described channel against fully described ones on invented
//! figures (a missing cost scoring as free, a missing quality as perfect).
//! Only `capacity` (0: takes nothing until given capacity), `vehicles`
//! (`["bike"]`) and `status` (`up`) have defaults.
//!
//! ```
//! use uoom::wire::{Case, parse_channels};
//! let list = serde_json::json!([
//!     {"id": "a", "kind": "dark_store", "lat": 0, "lon": 0, "radiusKm": 5, "baseCost": 1,
//!      "costPerKm": 0.5, "prepMin": 10, "speedKmh": 0, "quality": 0.9},
//!     {"id": "b", "kind": "dark_store", "lat": 0, "lon": 0}]);
//! let err = parse_channels(&list, Case::Camel).unwrap_err();
//! let fields: Vec<_> = err.field_errors().iter().map(|f| f.field.as_str()).collect();
//! assert!(fields.contains(&"channels[0].speedKmh"));
//! assert!(fields.contains(&"channels[1].quality"));
//! ```

mod channel;
pub mod instance;
mod ledger;
mod options;
mod read;
mod views;

pub use channel::{CHANNEL_FIELDS, channel_to_value, parse_channel, parse_channels};
pub use instance::{Instance, OrderRecord, SolutionFile};
pub use ledger::{
    DEFAULT_TTL_MS, RESERVATION_STATES, RESERVE_FIELDS, ReservationKey, ReservationView,
    ReserveRequest,
};
pub use options::{ROUTER_OPTION_FIELDS, RouterOptions, unsupported_gateway};
pub use views::{OrderStatusView, OutcomeView};

use crate::error::{Error, Result};
use crate::model::order::OrderStatus;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The key convention of a caller.
///
/// ```
/// use uoom::wire::Case;
/// assert_eq!(Case::Camel.key("speed_kmh"), "speedKmh");
/// assert_eq!(Case::Snake.key("speed_kmh"), "speed_kmh");
/// assert_eq!(Case::Camel.path("channels[2].speed_kmh"), "channels[2].speedKmh");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Case {
    /// `speed_kmh`: the wire's own, and Python's.
    #[default]
    Snake,
    /// `speedKmh`: JavaScript's.
    Camel,
}

impl Case {
    /// A snake_case key in this case.
    pub fn key(self, snake: &str) -> Cow<'_, str> {
        match self {
            Case::Snake => Cow::Borrowed(snake),
            Case::Camel if !snake.contains('_') => Cow::Borrowed(snake),
            Case::Camel => Cow::Owned(camel(snake)),
        }
    }

    /// A snake_case field path (`channels[2].speed_kmh`) in this case.
    pub fn path(self, snake: &str) -> String {
        self.key(snake).into_owned()
    }

    /// `v` with every object key (at any depth) in this case; values are untouched.
    ///
    /// ```
    /// use uoom::wire::Case;
    /// let v = Case::Camel.keys(serde_json::json!({"rank_weights": {"cost": 1}, "id": "a_b"}));
    /// assert_eq!(v, serde_json::json!({"rankWeights": {"cost": 1}, "id": "a_b"}));
    /// ```
    pub fn keys(self, v: Value) -> Value {
        if self == Case::Snake {
            return v;
        }
        match v {
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| (self.key(&k).into_owned(), self.keys(v)))
                    .collect::<Map<_, _>>(),
            ),
            Value::Array(a) => Value::Array(a.into_iter().map(|v| self.keys(v)).collect()),
            other => other,
        }
    }
}

fn camel(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper = false;
    for c in s.chars() {
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

/// An order status from its exact name (`PENDING`, `VALIDATED`, `ROUTED`,
/// `CONFIRMED`, `PREPARING`, `OUT_FOR_DELIVERY`, `DELIVERED`, `CANCELLED`,
/// `FAILED`); anything else is `{field: "status", code: "invalid_value"}`.
///
/// ```
/// use uoom::wire::parse_order_status;
/// assert_eq!(parse_order_status("DELIVERED").unwrap(), uoom::OrderStatus::Delivered);
/// let err = parse_order_status("delivered").unwrap_err();
/// assert_eq!(err.field_errors()[0].code, "invalid_value");
/// ```
pub fn parse_order_status(s: &str) -> Result<OrderStatus> {
    s.parse()
}

/// The contracts [`validate`] knows, by name.
pub const CONTRACTS: [&str; 7] = [
    "channel",
    "channels",
    "router_options",
    "order_status",
    "reserve_request",
    "create_order",
    "instance",
];

/// Checks `input` against a contract without building anything, and returns
/// its normalized form (every default written, keys in `case`), or every
/// problem. This is what the bindings' `validate` functions call.
///
/// ```
/// use uoom::wire::{Case, validate};
/// let v = validate("order_status", &serde_json::json!("FAILED"), Case::Camel).unwrap();
/// assert_eq!(v, "FAILED");
/// let err = validate("router_options", &serde_json::json!({"gateway": {}}), Case::Snake).unwrap_err();
/// assert_eq!(err.field_errors()[0].code, "unsupported");
/// assert!(validate("nope", &serde_json::json!(1), Case::Snake).is_err());
/// ```
pub fn validate(contract: &str, input: &Value, case: Case) -> Result<Value> {
    match contract {
        "channel" => parse_channel(input, case).map(|c| channel_to_value(&c, case)),
        "channels" => parse_channels(input, case)
            .map(|cs| Value::Array(cs.iter().map(|c| channel_to_value(c, case)).collect())),
        "router_options" => RouterOptions::parse(input, case).map(|o| o.to_value(case)),
        "order_status" => match input {
            Value::String(s) => parse_order_status(s).map(|s| Value::String(s.as_str().into())),
            _ => Err(Error::invalid(
                "status",
                "invalid_type",
                "an order status is a string",
            )),
        },
        "reserve_request" => ReserveRequest::parse(input, case).map(|r| r.to_value(case)),
        "create_order" => crate::validate_create_order(input).map(|r| r.to_json()),
        "instance" => Instance::from_value(input).map(|i| i.to_value()),
        other => Err(Error::invalid(
            "contract",
            "invalid_value",
            format!(
                "unknown contract {other:?}; the contracts are {}",
                CONTRACTS.join(", ")
            ),
        )),
    }
}
