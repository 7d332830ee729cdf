//! The field-by-field checks behind [`super::validate_create_order`]: each
//! records its problems and returns the value only when it is valid, so one
//! pass reports everything.

use super::non_finite::NON_FINITE;
use super::*;
use crate::error::FieldError;
use crate::model::channel::Vehicle;
use crate::model::geo::GeoPoint;
use crate::model::money::{DecimalError, parse_minor};
use uuid::Uuid;

/// The field's value, with `null` treated as absent.
pub(super) fn present<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

pub(super) fn is_non_finite(v: &Value) -> bool {
    v.as_str() == Some(NON_FINITE)
}

pub(super) fn type_name(v: &Value) -> &'static str {
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
pub(super) struct Validator {
    pub(super) errors: Vec<FieldError>,
}

impl Validator {
    pub(super) fn push(
        &mut self,
        field: impl Into<String>,
        code: &str,
        message: impl Into<String>,
    ) {
        self.errors.push(FieldError::new(field, code, message));
    }

    pub(super) fn type_error(&mut self, field: &str, got: &Value, expected: &str) {
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

    pub(super) fn required(&mut self, field: &str) {
        self.push(field, "required", format!("{field} is required"));
    }

    pub(super) fn uuid(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        required: bool,
    ) -> Option<Uuid> {
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

    pub(super) fn text(
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

    pub(super) fn int_in(
        &mut self,
        value: &Value,
        field: &str,
        lo: i128,
        hi: i128,
    ) -> Option<i128> {
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

    pub(super) fn price(
        &mut self,
        value: &Value,
        field: &str,
        currency: Currency,
    ) -> Option<Money> {
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
            Ok(Ok(_) | Err(DecimalError::Overflow)) => {
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

    pub(super) fn items(
        &mut self,
        root: &Map<String, Value>,
        currency: Currency,
    ) -> Option<Vec<OrderItem>> {
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
        // First index of each valid itemId, to report duplicates.
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
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
            if let Some(id) = &item_id {
                if let Some(first) = seen.get(id.as_str()) {
                    self.push(
                        format!("{path}.itemId"),
                        "duplicate",
                        format!("itemId {id:?} already appears in items[{first}]; put the quantity on one line"),
                    );
                } else {
                    seen.insert(id.clone(), idx);
                }
            }
            if let (Some(item_id), Some(name), Some(q), Some(unit_price)) =
                (item_id, name, quantity, unit_price)
            {
                items.push(OrderItem {
                    item_id,
                    name,
                    // In 1..=MAX_QUANTITY, checked by int_in.
                    quantity: q as u32,
                    unit_price,
                });
            }
        }
        (self.errors.len() == before).then_some(items)
    }

    pub(super) fn coordinate(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        bound: f64,
    ) -> Option<f64> {
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

    pub(super) fn delivery(&mut self, root: &Map<String, Value>) -> Option<DeliveryAddress> {
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

    pub(super) fn hints(&mut self, root: &Map<String, Value>) -> RoutingHints {
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
    fn integers_from_floats() {
        let n = |s: &str| serde_json::from_str::<serde_json::Number>(s).unwrap();
        assert!(matches!(integer(&n("2.0")), Int::Value(2)));
        assert!(matches!(integer(&n("2.5")), Int::Fractional));
        assert!(matches!(integer(&n("1e300")), Int::Value(i128::MAX)));
        assert!(matches!(integer(&n("-7")), Int::Value(-7)));
    }
}
