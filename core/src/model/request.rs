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

use crate::error::{Error, FieldError, Result};
use crate::model::channel::Vehicle;
use crate::model::geo::GeoPoint;
use crate::model::ids::{CustomerId, RestaurantId};
use crate::model::money::{Currency, DecimalError, MINOR_PER_MAJOR, Money, parse_minor};
use crate::model::order::{DeliveryAddress, OrderItem, RoutingHints};
use serde_json::{Map, Value, json};
use uuid::Uuid;

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

/// What a non-finite number literal becomes before the second parse; no
/// request has a reason to contain this string.
const NON_FINITE: &str = "\u{0}uoom:non-finite";

/// Rewrites `NaN`, `Infinity`, `-Infinity` and overflowing number literals
/// outside strings into the [`NON_FINITE`] marker string, or `None` if there
/// are none (then the body is simply not JSON).
fn mark_non_finite(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() + 32);
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
        } else if b == b'-' || b.is_ascii_digit() || b == b'N' || b == b'I' {
            let end = bytes[i..]
                .iter()
                .position(|c| matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'))
                .map_or(bytes.len(), |p| i + p);
            let token = &bytes[i..end];
            let non_finite = matches!(token, b"NaN" | b"Infinity" | b"-Infinity")
                || (token.first() != Some(&b'N')
                    && token.first() != Some(&b'I')
                    && std::str::from_utf8(token)
                        .ok()
                        .filter(|t| t.bytes().all(|c| b"-+.eE0123456789".contains(&c)))
                        .and_then(|t| t.parse::<f64>().ok())
                        .is_some_and(f64::is_infinite));
            if non_finite {
                out.extend_from_slice(b"\"\\u0000uoom:non-finite\"");
                changed = true;
            } else {
                out.extend_from_slice(token);
            }
            i = end;
            continue;
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
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

/// The field's value, with `null` treated as absent.
fn present<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn is_non_finite(v: &Value) -> bool {
    v.as_str() == Some(NON_FINITE)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(s) if s == NON_FINITE => "a non-finite number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// An integer read from a JSON number that may be written as a float (`2.0`).
enum Int {
    Value(i128),
    Fractional,
}

fn integer(n: &serde_json::Number) -> Int {
    if let Some(u) = n.as_u64() {
        Int::Value(i128::from(u))
    } else if let Some(i) = n.as_i64() {
        Int::Value(i128::from(i))
    } else {
        let f = n.as_f64().unwrap_or(f64::NAN);
        if f.fract() == 0.0 && f.abs() < 1e30 {
            Int::Value(f as i128)
        } else if f.fract() == 0.0 {
            Int::Value(if f < 0.0 { i128::MIN } else { i128::MAX })
        } else {
            Int::Fractional
        }
    }
}

#[derive(Default)]
struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    fn push(&mut self, field: impl Into<String>, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, code, message));
    }

    fn type_error(&mut self, field: &str, got: &Value, expected: &str) {
        if is_non_finite(got) {
            self.push(
                field,
                "non_finite",
                format!("{field} must be {expected}, got a non-finite number"),
            );
        } else {
            self.push(
                field,
                "invalid_type",
                format!("{field} must be {expected}, got {}", type_name(got)),
            );
        }
    }

    fn required(&mut self, field: &str) {
        self.push(field, "required", format!("{field} is required"));
    }

    fn uuid(&mut self, obj: &Map<String, Value>, key: &str, required: bool) -> Option<Uuid> {
        match present(obj, key) {
            None => {
                if required {
                    self.required(key);
                }
                None
            }
            Some(Value::String(s)) => {
                let parsed = (s.len() == 36).then(|| Uuid::try_parse(s).ok()).flatten();
                if parsed.is_none() {
                    self.push(
                        key,
                        "invalid_uuid",
                        format!("{key} must be a hyphenated UUID, got {s:?}"),
                    );
                }
                parsed
            }
            Some(other) => {
                self.type_error(key, other, "a UUID string");
                None
            }
        }
    }

    fn text(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
        max: usize,
    ) -> Option<String> {
        let field = join(path, key);
        match present(obj, key) {
            None => {
                self.required(&field);
                None
            }
            Some(Value::String(s)) if s != NON_FINITE => {
                let t = s.trim();
                let n = t.chars().count();
                if n == 0 {
                    self.push(field, "empty", format!("{key} must not be empty or blank"));
                    None
                } else if n > max {
                    self.push(
                        field,
                        "too_long",
                        format!("{key} has {n} characters, the limit is {max}"),
                    );
                    None
                } else {
                    Some(t.to_owned())
                }
            }
            Some(other) => {
                self.type_error(&field, other, "a string");
                None
            }
        }
    }

    fn int_in(&mut self, value: &Value, field: &str, lo: i128, hi: i128) -> Option<i128> {
        match value {
            Value::Number(n) => match integer(n) {
                Int::Value(x) if (lo..=hi).contains(&x) => Some(x),
                Int::Value(x) => {
                    self.push(
                        field,
                        "out_of_range",
                        format!("{field} must be between {lo} and {hi}, got {x}"),
                    );
                    None
                }
                Int::Fractional => {
                    self.push(
                        field,
                        "invalid_type",
                        format!("{field} must be an integer, got {n}"),
                    );
                    None
                }
            },
            other => {
                self.type_error(field, other, "an integer");
                None
            }
        }
    }

    fn price(&mut self, value: &Value, field: &str, currency: Currency) -> Option<Money> {
        let n = match value {
            Value::Number(n) => n,
            other => {
                self.type_error(field, other, "a number");
                return None;
            }
        };
        let minor = if let Some(u) = n.as_u64() {
            Ok(i64::try_from(u)
                .ok()
                .and_then(|u| u.checked_mul(MINOR_PER_MAJOR))
                .ok_or(DecimalError::Overflow))
        } else if let Some(i) = n.as_i64() {
            Err(i)
        } else {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f < 0.0 {
                Err(-1)
            } else {
                Ok(parse_minor(&format!("{f}")))
            }
        };
        match minor {
            Err(_) => {
                self.push(
                    field,
                    "out_of_range",
                    format!("{field} must not be negative, got {n}"),
                );
                None
            }
            Ok(Ok(m)) if m <= MAX_UNIT_PRICE_MINOR => Some(Money::from_minor(m, currency)),
            Ok(Ok(_)) | Ok(Err(DecimalError::Overflow)) => {
                self.push(
                    field,
                    "out_of_range",
                    format!("{field} must be at most 1000000.00, got {n}"),
                );
                None
            }
            Ok(Err(DecimalError::TooManyDecimals)) => {
                self.push(
                    field,
                    "too_many_decimals",
                    format!("{field} must have at most two decimals, got {n}"),
                );
                None
            }
            Ok(Err(DecimalError::Malformed)) => {
                self.push(
                    field,
                    "invalid_type",
                    format!("{field} is not a decimal amount: {n}"),
                );
                None
            }
        }
    }

    fn items(&mut self, root: &Map<String, Value>, currency: Currency) -> Option<Vec<OrderItem>> {
        let list = match present(root, "items") {
            None => {
                self.required("items");
                return None;
            }
            Some(Value::Array(list)) => list,
            Some(other) => {
                self.type_error("items", other, "an array");
                return None;
            }
        };
        if list.is_empty() {
            self.push("items", "empty", "items must hold at least one item");
            return None;
        }
        if list.len() > MAX_ITEMS {
            self.push(
                "items",
                "too_many",
                format!(
                    "items holds {} entries, the limit is {MAX_ITEMS}",
                    list.len()
                ),
            );
            return None;
        }
        let before = self.errors.len();
        let mut items = Vec::with_capacity(list.len());
        for (idx, entry) in list.iter().enumerate() {
            let path = format!("items[{idx}]");
            let Some(obj) = entry.as_object() else {
                self.type_error(&path, entry, "an object");
                continue;
            };
            let item_id = self.text(obj, "itemId", &path, MAX_ITEM_ID_CHARS);
            let name = self.text(obj, "name", &path, MAX_NAME_CHARS);
            let qfield = format!("{path}.quantity");
            let quantity = match present(obj, "quantity") {
                None => {
                    self.required(&qfield);
                    None
                }
                Some(q) => self.int_in(q, &qfield, 1, i128::from(MAX_QUANTITY)),
            };
            let pfield = format!("{path}.unitPrice");
            let unit_price = match present(obj, "unitPrice") {
                None => {
                    self.required(&pfield);
                    None
                }
                Some(p) => self.price(p, &pfield, currency),
            };
            if let Some(id) = &item_id
                && let Some(first) = items.iter().position(|i: &OrderItem| &i.item_id == id)
            {
                self.push(
                    format!("{path}.itemId"),
                    "duplicate",
                    format!("itemId {id:?} already appears in items[{first}]; put the quantity on one line"),
                );
            }
            if let (Some(item_id), Some(name), Some(q), Some(unit_price)) =
                (item_id, name, quantity, unit_price)
            {
                items.push(OrderItem {
                    item_id,
                    name,
                    quantity: q as u32,
                    unit_price,
                });
            } else {
                // Keep indexes aligned for the duplicate check with a placeholder id.
                items.push(OrderItem {
                    item_id: String::new(),
                    name: String::new(),
                    quantity: 0,
                    unit_price: Money::zero(currency),
                });
            }
        }
        (self.errors.len() == before).then_some(items)
    }

    fn coordinate(&mut self, obj: &Map<String, Value>, key: &str, bound: f64) -> Option<f64> {
        let field = join("deliveryAddress", key);
        match present(obj, key) {
            None => {
                self.required(&field);
                None
            }
            Some(Value::Number(n)) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                if (-bound..=bound).contains(&x) {
                    Some(x)
                } else {
                    self.push(
                        field,
                        "out_of_range",
                        format!("{key} must be between {} and {bound}, got {n}", -bound),
                    );
                    None
                }
            }
            Some(other) => {
                self.type_error(&field, other, "a number");
                None
            }
        }
    }

    fn delivery(&mut self, root: &Map<String, Value>) -> Option<DeliveryAddress> {
        let obj = match present(root, "deliveryAddress") {
            None => {
                self.required("deliveryAddress");
                return None;
            }
            Some(Value::Object(obj)) => obj,
            Some(other) => {
                self.type_error("deliveryAddress", other, "an object");
                return None;
            }
        };
        let street = self.text(obj, "street", "deliveryAddress", MAX_ADDRESS_CHARS);
        let city = self.text(obj, "city", "deliveryAddress", MAX_ADDRESS_CHARS);
        let postal_code = self.text(obj, "postalCode", "deliveryAddress", MAX_POSTAL_CODE_CHARS);
        let lat = self.coordinate(obj, "latitude", 90.0);
        let lon = self.coordinate(obj, "longitude", 180.0);
        Some(DeliveryAddress {
            street: street?,
            city: city?,
            postal_code: postal_code?,
            location: GeoPoint::new(lat?, lon?),
        })
    }

    fn hints(&mut self, root: &Map<String, Value>) -> RoutingHints {
        let vehicle = match present(root, "vehicle") {
            None => None,
            Some(Value::String(s)) if s != NON_FINITE => match s.parse::<Vehicle>() {
                Ok(v) => Some(v),
                Err(_) => {
                    self.push(
                        "vehicle",
                        "invalid_value",
                        format!("vehicle must be one of bike, car, van, refrigerated; got {s:?}"),
                    );
                    None
                }
            },
            Some(other) => {
                self.type_error("vehicle", other, "a string");
                None
            }
        };
        let deadline_min = match present(root, "deadlineMinutes") {
            None => None,
            Some(Value::Number(n)) => {
                let d = n.as_f64().unwrap_or(f64::NAN);
                if d > 0.0 && d <= MAX_DEADLINE_MINUTES {
                    Some(d)
                } else {
                    self.push(
                        "deadlineMinutes",
                        "out_of_range",
                        format!(
                            "deadlineMinutes must be > 0 and <= {MAX_DEADLINE_MINUTES}, got {n}"
                        ),
                    );
                    None
                }
            }
            Some(other) => {
                self.type_error("deadlineMinutes", other, "a number");
                None
            }
        };
        let priority = present(root, "priority")
            .and_then(|p| self.int_in(p, "priority", 1, 3))
            .map(|p| p as u8);
        RoutingHints {
            vehicle,
            deadline_min,
            priority,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_only_outside_strings() {
        assert_eq!(mark_non_finite(br#"{"a": "NaN"}"#), None);
        assert_eq!(mark_non_finite(br#"{"a": 1.5}"#), None);
        let m = mark_non_finite(br#"{"a":"x\"NaN","b":-Infinity,"c":[1e999]}"#).unwrap();
        let v: Value = serde_json::from_slice(&m).unwrap();
        assert_eq!(v["a"], "x\"NaN");
        assert_eq!(v["b"], NON_FINITE);
        assert_eq!(v["c"][0], NON_FINITE);
    }

    #[test]
    fn integers_from_floats() {
        let n = |s: &str| serde_json::from_str::<serde_json::Number>(s).unwrap();
        assert!(matches!(integer(&n("2.0")), Int::Value(2)));
        assert!(matches!(integer(&n("2.5")), Int::Fractional));
        assert!(matches!(integer(&n("1e300")), Int::Value(i128::MAX)));
        assert!(matches!(integer(&n("-7")), Int::Value(-7)));
    }
}
