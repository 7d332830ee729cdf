//! JSON-shaped inputs as JS passes them: a plain object, JSON text, or a
//! `Buffer` of JSON text (an HTTP body not yet parsed: the cheapest path, no
//! JS object to walk). Copied into owned Rust values on the JS thread, so the
//! work can then move to another thread.

use napi::bindgen_prelude::*;
use napi::sys;

/// An owned JSON input.
pub enum JsonInput {
    /// A JS value converted to JSON.
    Value(serde_json::Value),
    /// JSON text (from a string or a Buffer).
    Text(Vec<u8>),
    /// A JS value that has no JSON form (`NaN`, `Infinity`, a function, …).
    Unrepresentable(String),
}

impl JsonInput {
    /// Parses with `parse` (bytes) or checks with `check` (a JSON value); a
    /// value with no JSON form is a validation error on the whole body.
    pub fn with<T>(
        &self,
        parse: impl FnOnce(&[u8]) -> uoom::Result<T>,
        check: impl FnOnce(&serde_json::Value) -> uoom::Result<T>,
    ) -> uoom::Result<T> {
        match self {
            JsonInput::Value(v) => check(v),
            JsonInput::Text(b) => parse(b),
            JsonInput::Unrepresentable(why) => Err(uoom::Error::invalid(
                "",
                "not_json",
                format!("the value has no JSON form: {why}"),
            )),
        }
    }
}

impl TypeName for JsonInput {
    fn type_name() -> &'static str {
        "JsonInput"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ValidateNapiValue for JsonInput {
    unsafe fn validate(_env: sys::napi_env, _napi_val: sys::napi_value) -> Result<sys::napi_value> {
        // Anything is accepted here; the core reports what is wrong with it.
        Ok(std::ptr::null_mut())
    }
}

impl FromNapiValue for JsonInput {
    unsafe fn from_napi_value(env: sys::napi_env, v: sys::napi_value) -> Result<Self> {
        let mut ty = 0;
        // SAFETY: env and v come from napi for this call.
        check_status!(unsafe { sys::napi_typeof(env, v, &mut ty) })?;
        if ValueType::from(ty) == ValueType::String {
            // SAFETY: v is a string.
            return Ok(JsonInput::Text(
                unsafe { String::from_napi_value(env, v)? }.into_bytes(),
            ));
        }
        let mut is_buffer = false;
        // SAFETY: as above.
        check_status!(unsafe { sys::napi_is_buffer(env, v, &mut is_buffer) })?;
        if is_buffer {
            // SAFETY: v is a Buffer.
            let b = unsafe { BufferSlice::from_napi_value(env, v)? };
            return Ok(JsonInput::Text(b.to_vec()));
        }
        // SAFETY: as above.
        Ok(
            match unsafe { serde_json::Value::from_napi_value(env, v) } {
                Ok(value) => JsonInput::Value(value),
                Err(e) => JsonInput::Unrepresentable(e.reason.clone()),
            },
        )
    }
}
