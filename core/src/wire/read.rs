//! The walker every wire contract is read with: it looks keys up in the
//! caller's case, records every problem with its path and a stable code, and
//! returns stand-in values so that one pass reports everything.

use super::Case;
use crate::error::FieldError;
use serde_json::{Map, Value};

/// At most this many problems are kept per input (a huge bad input must not
/// make a huge error).
pub(crate) const MAX_ERRORS: usize = 100;

/// Collects field errors while walking a JSON value.
pub(crate) struct Reader {
    pub case: Case,
    pub errs: Vec<FieldError>,
}

impl Reader {
    pub fn new(case: Case) -> Self {
        Reader {
            case,
            errs: Vec::new(),
        }
    }

    pub fn err(&mut self, field: String, code: &str, msg: impl Into<String>) {
        if self.errs.len() < MAX_ERRORS {
            self.errs.push(FieldError::new(field, code, msg));
        }
    }

    /// `path.key`, with `key` (given in snake_case) in the caller's case.
    pub fn at(&self, path: &str, key: &str) -> String {
        let key = self.case.key(key);
        if path.is_empty() {
            key.into_owned()
        } else {
            format!("{path}.{key}")
        }
    }

    /// The value of `key` (`null` counts as absent).
    pub fn opt<'a>(&self, obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
        obj.get(self.case.key(key).as_ref())
            .filter(|v| !v.is_null())
    }

    /// The value of a required `key`; absent is `required`.
    pub fn get<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Option<&'a Value> {
        let v = self.opt(obj, key);
        if v.is_none() {
            let at = self.at(path, key);
            self.err(at.clone(), "required", format!("{at} is required"));
        }
        v
    }

    /// Every key of `obj` that is not in `known` (snake_case names) is an
    /// `unknown_field` error named in the caller's case.
    pub fn deny_unknown(&mut self, obj: &Map<String, Value>, path: &str, known: &[&str]) {
        for k in obj.keys() {
            if !known.iter().any(|n| self.case.key(n) == k.as_str()) {
                let at = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let names: Vec<_> = known.iter().map(|n| self.case.key(n)).collect();
                self.err(
                    at,
                    "unknown_field",
                    format!("unknown field {k:?}; the fields are {}", names.join(", ")),
                );
            }
        }
    }

    /// A finite number.
    pub fn num_value(&mut self, v: &Value, at: String) -> Option<f64> {
        match v {
            Value::Number(n) => match n.as_f64() {
                Some(x) if x.is_finite() => Some(x),
                _ => {
                    self.err(at.clone(), "not_finite", format!("{at} must be finite"));
                    None
                }
            },
            _ => {
                self.err(at.clone(), "invalid_type", format!("{at} must be a number"));
                None
            }
        }
    }

    /// A required finite number (0 when missing or bad).
    pub fn num(&mut self, obj: &Map<String, Value>, path: &str, key: &str) -> Option<f64> {
        let v = self.get(obj, path, key)?;
        let at = self.at(path, key);
        self.num_value(v, at)
    }

    /// An optional finite number.
    pub fn opt_num(&mut self, obj: &Map<String, Value>, path: &str, key: &str) -> Option<f64> {
        let v = self.opt(obj, key)?;
        let at = self.at(path, key);
        self.num_value(v, at)
    }

    /// Checks `x` against `[lo, hi]` (inclusive); outside is `out_of_range`.
    pub fn range(
        &mut self,
        x: Option<f64>,
        path: &str,
        key: &str,
        lo: f64,
        hi: f64,
    ) -> Option<f64> {
        let x = x?;
        if x < lo || x > hi {
            let at = self.at(path, key);
            let what = match (lo == f64::NEG_INFINITY, hi == f64::INFINITY) {
                (true, true) => "a number".to_owned(),
                (false, true) => format!(">= {lo}"),
                (true, false) => format!("<= {hi}"),
                (false, false) => format!("in [{lo}, {hi}]"),
            };
            self.err(
                at.clone(),
                "out_of_range",
                format!("{at} must be {what}, got {x}"),
            );
            return None;
        }
        Some(x)
    }

    /// An integer in `[min, max]` (a float with no fraction counts).
    pub fn int_value(&mut self, v: &Value, at: String, min: u64, max: u64) -> Option<u64> {
        let Value::Number(n) = v else {
            self.err(
                at.clone(),
                "invalid_type",
                format!("{at} must be an integer"),
            );
            return None;
        };
        let as_int: Option<i128> = n
            .as_u64()
            .map(i128::from)
            .or_else(|| n.as_i64().map(i128::from))
            .or_else(|| {
                n.as_f64()
                    .filter(|x| x.is_finite() && x.fract() == 0.0 && x.abs() < 1e30)
                    .map(|x| x as i128)
            });
        match as_int {
            Some(x) if x >= i128::from(min) && x <= i128::from(max) => Some(x as u64),
            Some(x) => {
                self.err(
                    at.clone(),
                    "out_of_range",
                    format!("{at} must be an integer in [{min}, {max}], got {x}"),
                );
                None
            }
            None => {
                self.err(
                    at.clone(),
                    "invalid_type",
                    format!("{at} must be an integer"),
                );
                None
            }
        }
    }

    /// A required integer in `[min, max]`.
    pub fn int(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        key: &str,
        min: u64,
        max: u64,
    ) -> Option<u64> {
        let v = self.get(obj, path, key)?;
        let at = self.at(path, key);
        self.int_value(v, at, min, max)
    }

    /// An optional integer in `[min, max]`; `Some(None)` when absent.
    #[allow(clippy::option_option)] // None: an error was recorded; Some(None): absent
    pub fn opt_int(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        key: &str,
        min: u64,
        max: u64,
    ) -> Option<Option<u64>> {
        match self.opt(obj, key) {
            None => Some(None),
            Some(v) => {
                let at = self.at(path, key);
                self.int_value(v, at, min, max).map(Some)
            }
        }
    }

    /// An optional boolean; `Some(None)` when absent.
    #[allow(clippy::option_option)] // None: an error was recorded; Some(None): absent
    pub fn opt_bool(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Option<Option<bool>> {
        match self.opt(obj, key) {
            None => Some(None),
            Some(Value::Bool(b)) => Some(Some(*b)),
            Some(_) => {
                let at = self.at(path, key);
                self.err(
                    at.clone(),
                    "invalid_type",
                    format!("{at} must be a boolean"),
                );
                None
            }
        }
    }

    /// A string value.
    pub fn str_value<'a>(&mut self, v: &'a Value, at: String) -> Option<&'a str> {
        match v {
            Value::String(s) => Some(s),
            _ => {
                self.err(at.clone(), "invalid_type", format!("{at} must be a string"));
                None
            }
        }
    }

    /// A required string.
    pub fn string<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Option<&'a str> {
        let v = self.get(obj, path, key)?;
        let at = self.at(path, key);
        self.str_value(v, at)
    }

    /// An optional string; `Some(None)` when absent.
    #[allow(clippy::option_option)] // None: an error was recorded; Some(None): absent
    pub fn opt_string<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Option<Option<&'a str>> {
        match self.opt(obj, key) {
            None => Some(None),
            Some(v) => {
                let at = self.at(path, key);
                self.str_value(v, at).map(Some)
            }
        }
    }

    /// `v` as an object, or an `invalid_type` error at `path`.
    pub fn object<'a>(
        &mut self,
        v: &'a Value,
        path: &str,
        what: &str,
    ) -> Option<&'a Map<String, Value>> {
        match v {
            Value::Object(o) => Some(o),
            _ => {
                let at = if path.is_empty() {
                    String::new()
                } else {
                    path.to_owned()
                };
                self.err(at, "invalid_type", format!("{what} must be an object"));
                None
            }
        }
    }

    /// `v` as an array, or an `invalid_type` error at `path`.
    pub fn array<'a>(&mut self, v: &'a Value, path: &str, what: &str) -> Option<&'a [Value]> {
        match v {
            Value::Array(a) => Some(a),
            _ => {
                self.err(
                    path.to_owned(),
                    "invalid_type",
                    format!("{what} must be an array"),
                );
                None
            }
        }
    }

    /// The collected problems as a result.
    pub fn finish<T>(self, value: Option<T>) -> crate::Result<T> {
        match value {
            Some(v) if self.errs.is_empty() => Ok(v),
            _ if !self.errs.is_empty() => Err(crate::Error::Validation(self.errs)),
            // Every path that yields no value records a problem; this is a guard.
            _ => Err(crate::Error::invalid(
                "",
                "invalid",
                "the input is not valid",
            )),
        }
    }
}

/// `items[3]`: the path of the `i`-th element of a list at `path`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}
