//! The create-order request (camelCase JSON) and its validation.
//!
//! Validation reports every problem at once, each as a [`FieldError`] located
//! by its JSON path (`items[0].quantity`), with a stable code from the table in
//! `docs/validation.md`. It never panics, whatever the bytes: the body size is
//! capped before parsing, serde_json caps nesting depth, and every number is
//! range-checked before it is converted.
//!
//! Decisions the contract leaves open:
//! - unknown fields are ignored (forward compatibility, as the NestJS services
//!   that produced this format strip them) and not echoed in [`CreateOrderRequest::to_json`];
//! - `null` for an optional field means absent; for a required field it is `required`;
//! - strings are trimmed; lengths are counted in Unicode scalar values after trimming;
//! - ids must be UUIDs in the 36-character hyphenated form (any case; output is lowercase);
//! - prices are JSON numbers with at most two decimals, 0 ..= 1,000,000.00; they become
//!   [`Money`] from their shortest round-trip decimal rendering, never by float arithmetic;
//! - `currency` (3-letter ISO 4217, default `USD`) and the routing hints `vehicle`,
//!   `deadlineMinutes`, `priority` are optional uoom extensions;
//! - two lines with the same `itemId` are rejected (`duplicate`): quantities belong on one line.

mod non_finite;
mod validator;

use crate::error::{Error, Result};
use crate::model::ids::{CustomerId, RestaurantId};
use crate::model::money::{Currency, MINOR_PER_MAJOR, Money};
use crate::model::order::{DeliveryAddress, OrderItem, RoutingHints};
use non_finite::mark_non_finite;
use serde_json::{Map, Value, json};
use validator::{Validator, present, type_name};

/// Largest accepted body: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Most lines in one order.
pub const MAX_ITEMS: usize = 100;
/// Largest quantity on one line.
pub const MAX_QUANTITY: u32 = 999;
/// Largest unit price, in minor units (1,000,000.00): keeps every total exact
/// in `i64` and every price exactly printable as a JSON number.
pub const MAX_UNIT_PRICE_MINOR: i64 = 1_000_000 * MINOR_PER_MAJOR;
/// Longest item name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest item id, in characters.
pub const MAX_ITEM_ID_CHARS: usize = 64;
/// Longest street or city, in characters.
pub const MAX_ADDRESS_CHARS: usize = 200;
/// Longest postal code, in characters.
pub const MAX_POSTAL_CODE_CHARS: usize = 20;
/// Longest accepted delivery deadline: one week, in minutes.
pub const MAX_DEADLINE_MINUTES: f64 = 7.0 * 24.0 * 60.0;

/// A valid create-order request: what [`parse_create_order`] returns and
/// [`crate::Order::from_request`] consumes.
///
/// ```
/// let req = uoom::parse_create_order(br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
///   "items": [{"itemId": "item1", "name": "Pizza", "quantity": 2, "unitPrice": 15.99}],
///   "deliveryAddress": {"street": "123 Main St", "city": "New York", "postalCode": "10001",
///                       "latitude": 40.7128, "longitude": -74.0060}}"#).unwrap();
/// assert_eq!(req.items[0].unit_price.minor(), 1599);
/// assert_eq!(req.total().unwrap().to_string(), "31.98 USD");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CreateOrderRequest {
    /// Who orders.
    pub customer_id: CustomerId,
    /// The restaurant, if any.
    pub restaurant_id: Option<RestaurantId>,
    /// The lines, all in one currency.
    pub items: Vec<OrderItem>,
    /// Where to deliver.
    pub delivery: DeliveryAddress,
    /// Optional routing constraints.
    pub hints: RoutingHints,
}

impl CreateOrderRequest {
    /// The currency of the order (that of its lines; USD when it has none).
    ///
    /// ```
    /// let req = uoom::parse_create_order(include_bytes!("../../../examples/orders/riyadh-family.json")).unwrap();
    /// assert_eq!(req.currency(), uoom::Currency::SAR);
    /// ```
    pub fn currency(&self) -> Currency {
        self.items
            .first()
            .map_or(Currency::USD, |i| i.unit_price.currency())
    }

    /// The exact sum of the line totals. Errors only for hand-built requests
    /// (overflow, mixed currencies): validated ones are bounded.
    ///
    /// ```
    /// let req = uoom::parse_create_order(include_bytes!("../../../examples/orders/sample.json")).unwrap();
    /// assert_eq!(req.total().unwrap().minor(), 1599);
    /// ```
    pub fn total(&self) -> Result<Money> {
        let mut total = Money::zero(self.currency());
        for item in &self.items {
            total = total.checked_add(&item.line_total()?)?;
        }
        Ok(total)
    }

    /// The normalized camelCase form: trimmed strings, lowercase UUIDs, prices
    /// as JSON numbers with at most two decimals, the currency made explicit,
    /// each line's `lineTotal` and the order `total` as exact money objects
    /// (`{"amount": "15.99", "currency": "USD"}`), hints only when present and
    /// unknown fields dropped. It is itself a valid request (the computed
    /// fields are ignored when read back). `total` is `null` only if
    /// [`CreateOrderRequest::total`] fails.
    ///
    /// ```
    /// let req = uoom::parse_create_order(include_bytes!("../../../examples/orders/sample.json")).unwrap();
    /// let v = req.to_json();
    /// assert_eq!(v["items"][0]["unitPrice"], 15.99);
    /// assert_eq!(v["total"]["amount"], "15.99");
    /// assert_eq!(uoom::parse_create_order(v.to_string().as_bytes()).unwrap(), req);
    /// ```
    pub fn to_json(&self) -> Value {
        let items: Vec<Value> = self
            .items
            .iter()
            .map(|i| {
                json!({
                    "itemId": i.item_id,
                    "name": i.name,
                    "quantity": i.quantity,
                    "unitPrice": money_number(&i.unit_price),
                    "lineTotal": i.line_total().ok(),
                })
            })
            .collect();
        let mut out = Map::new();
        out.insert("customerId".into(), json!(self.customer_id.to_string()));
        if let Some(r) = self.restaurant_id {
            out.insert("restaurantId".into(), json!(r.to_string()));
        }
        out.insert("items".into(), Value::Array(items));
        out.insert("deliveryAddress".into(), json!(self.delivery));
        out.insert("currency".into(), json!(self.currency().as_str()));
        if let Some(v) = self.hints.vehicle {
            out.insert("vehicle".into(), json!(v.as_str()));
        }
        if let Some(d) = self.hints.deadline_min {
            out.insert("deadlineMinutes".into(), json!(d));
        }
        if let Some(p) = self.hints.priority {
            out.insert("priority".into(), json!(p));
        }
        let qty = self
            .items
            .iter()
            .fold(0u32, |a, i| a.saturating_add(i.quantity));
        out.insert("totalQuantity".into(), json!(qty));
        out.insert("total".into(), json!(self.total().ok()));
        Value::Object(out)
    }
}

/// A price as a JSON number: the exact decimal text read by serde_json, whose
/// nearest double prints back as the same text (at most 15 significant digits).
fn money_number(m: &Money) -> Value {
    serde_json::from_str(&m.amount_string()).unwrap_or(Value::Null)
}

/// Parses and validates a create-order body, reporting every problem at once.
///
/// Bodies over [`MAX_BODY_BYTES`] fail with `too_large`, non-JSON with
/// `not_json` (both on the empty field, the whole body). `NaN`, `Infinity` and
/// numbers too large for a double are not JSON, but are reported on their field
/// as `non_finite` so the caller learns which value was wrong.
///
/// ```
/// let err = uoom::parse_create_order(br#"{"customerId": "nope", "items": [],
///   "deliveryAddress": {"street": "1 A St", "city": "X", "postalCode": "1",
///                       "latitude": 95, "longitude": NaN}}"#).unwrap_err();
/// let fields: Vec<_> = err.field_errors().iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
/// assert_eq!(fields, [("customerId", "invalid_uuid"), ("items", "empty"),
///     ("deliveryAddress.latitude", "out_of_range"), ("deliveryAddress.longitude", "non_finite")]);
/// assert_eq!(uoom::parse_create_order(b"{").unwrap_err().field_errors()[0].code, "not_json");
/// ```
pub fn parse_create_order(bytes: &[u8]) -> Result<CreateOrderRequest> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::invalid(
            "",
            "too_large",
            format!(
                "body is {} bytes, the limit is {MAX_BODY_BYTES}",
                bytes.len()
            ),
        ));
    }
    let value = match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => v,
        Err(first) => match mark_non_finite(bytes)
            .and_then(|marked| serde_json::from_slice::<Value>(&marked).ok())
        {
            Some(v) => v,
            None => {
                return Err(Error::invalid(
                    "",
                    "not_json",
                    format!("body is not valid JSON: {first}"),
                ));
            }
        },
    };
    validate_create_order(&value)
}

/// Validates an already parsed JSON value as a create-order request.
///
/// ```
/// use serde_json::json;
/// let err = uoom::validate_create_order(&json!({
///     "customerId": "123e4567-e89b-12d3-a456-426614174000",
///     "items": [{"itemId": "a", "name": "  ", "quantity": 1.5, "unitPrice": "9.99"}],
/// })).unwrap_err();
/// let got: Vec<_> = err.field_errors().iter().map(|e| format!("{} {}", e.field, e.code)).collect();
/// assert_eq!(got, ["items[0].name empty", "items[0].quantity invalid_type",
///                  "items[0].unitPrice invalid_type", "deliveryAddress required"]);
/// ```
pub fn validate_create_order(value: &Value) -> Result<CreateOrderRequest> {
    let mut v = Validator::default();
    let Some(root) = value.as_object() else {
        v.push(
            "",
            "invalid_type",
            format!("body must be a JSON object, got {}", type_name(value)),
        );
        return Err(Error::Validation(v.errors));
    };

    let customer_id = v.uuid(root, "customerId", true).map(CustomerId);
    let restaurant_id = v.uuid(root, "restaurantId", false).map(RestaurantId);
    let currency = match present(root, "currency") {
        None => Some(Currency::USD),
        Some(Value::String(s)) => Currency::parse(s)
            .map_err(|e| v.errors.extend(e.field_errors().iter().cloned()))
            .ok(),
        Some(other) => {
            v.type_error("currency", other, "a string such as \"USD\"");
            None
        }
    };
    let items = v.items(root, currency.unwrap_or_default());
    let delivery = v.delivery(root);
    let hints = v.hints(root);

    if !v.errors.is_empty() {
        return Err(Error::Validation(v.errors));
    }
    match (customer_id, items, delivery, currency) {
        (Some(customer_id), Some(items), Some(delivery), Some(_)) => {
            let req = CreateOrderRequest {
                customer_id,
                restaurant_id,
                items,
                delivery,
                hints,
            };
            // Bounded by the limits above, but checked rather than assumed.
            req.total()
                .map_err(|e| Error::invalid("items", "overflow", e.to_string()))?;
            Ok(req)
        }
        _ => Err(Error::invalid("", "invalid", "request is invalid")),
    }
}
