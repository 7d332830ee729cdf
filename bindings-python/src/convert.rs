//! Python objects ⇄ owned Rust values.
//!
//! Every call copies its Python input into owned Rust data (a
//! `serde_json::Value` tree, then the core's typed structs) while it holds the
//! GIL, so the work that follows can release the GIL without touching a
//! Python object. The walk is hand-written rather than going through
//! `json.dumps`: one pass, no intermediate string, and a field path in every
//! error.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::errors::invalid;

/// Copies a JSON-like Python object (dict, list, tuple, str, int, float,
/// bool, None) into a `serde_json::Value`; `path` names it in errors.
pub fn to_value(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(Value::Number(v.into()));
        }
        if let Ok(v) = i.extract::<u64>() {
            return Ok(Value::Number(v.into()));
        }
        return Err(invalid(
            path,
            "out_of_range",
            "integer does not fit in 64 bits",
        ));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        return Number::from_f64(v).map(Value::Number).ok_or_else(|| {
            invalid(
                path,
                "not_finite",
                format!("number must be finite, got {v}"),
            )
        });
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| invalid(path, "invalid_type", "dict keys must be strings"))?
                .to_cow()?
                .into_owned();
            let child = join(path, &key);
            map.insert(key, to_value(&v, &child)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l
            .iter()
            .enumerate()
            .map(|(i, v)| to_value(&v, &format!("{path}[{i}]")))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t
            .iter()
            .enumerate()
            .map(|(i, v)| to_value(&v, &format!("{path}[{i}]")))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    let type_name = obj.get_type().name()?.to_string();
    Err(invalid(
        path,
        "invalid_type",
        format!(
            "expected a JSON-like value (dict, list, str, number, bool, None), got {type_name}"
        ),
    ))
}

/// Builds the Python object for a `serde_json::Value` (dicts, lists, str,
/// int, float, bool, None).
pub fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for v in items {
                list.append(to_py(py, v)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let d = PyDict::new(py);
            for (k, v) in map {
                d.set_item(k, to_py(py, v)?)?;
            }
            d.into_any()
        }
    })
}

/// Serializes any `serde::Serialize` value into Python objects.
pub fn serialize_to_py<'py, T: serde::Serialize>(
    py: Python<'py>,
    v: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let value = serde_json::to_value(v)
        .map_err(|e| invalid("", "serialize", format!("cannot convert result: {e}")))?;
    to_py(py, &value)
}

/// Python's `repr` of a str (single quotes), for `__repr__` output that
/// reads like Python rather than Rust.
pub fn repr_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Python's `repr` of a list of str.
pub fn repr_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let parts: Vec<String> = items.into_iter().map(repr_str).collect();
    format!("[{}]", parts.join(", "))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_json_like_values() {
        Python::initialize();
        Python::attach(|py| {
            let v: Value = serde_json::json!({"a": [1, 2.5, "x", true, null], "b": {"c": -3}});
            let obj = to_py(py, &v).unwrap();
            assert_eq!(to_value(&obj, "").unwrap(), v);
        });
    }

    #[test]
    fn rejects_nan_with_a_path() {
        Python::initialize();
        Python::attach(|py| {
            let d = PyDict::new(py);
            let inner = PyDict::new(py);
            inner.set_item("lat", f64::NAN).unwrap();
            d.set_item("o", inner).unwrap();
            assert!(to_value(d.as_any(), "").is_err());
        });
    }
}
