//! JSON-shaped inputs as JS passes them: a plain object, JSON text, or a
//! `Buffer` of JSON text (an HTTP body not yet parsed: the cheapest path, no
//! JS object to walk). Copied into owned Rust values on the JS thread, so the
//! work can then move to another thread.
// napi's FromNapiValue is an unsafe trait over raw N-API handles.
#![allow(unsafe_code)]

use napi::bindgen_prelude::*;
use napi::sys;

/// An owned JSON input: its text, or why it has none.
pub enum JsonInput {
    /// JSON text (from a string, a Buffer, or `JSON.stringify` of an object).
    Text(Vec<u8>),
    /// A JS value with no JSON form (`undefined`, a function, a cycle, …).
    Unrepresentable(String),
}

impl JsonInput {
    /// The JSON text; a value with no JSON form is a validation error on
    /// the whole body (code `not_json`), like malformed text.
    pub fn bytes(&self) -> uoom::Result<&[u8]> {
        match self {
            JsonInput::Text(b) => Ok(b),
            JsonInput::Unrepresentable(why) => Err(uoom::Error::invalid(
                "",
                "not_json",
                format!("the value has no JSON form: {why}"),
            )),
        }
    }
}

impl JsonInput {
    /// The input as a JSON value; text that is not JSON is `not_json` on the
    /// whole body.
    pub fn value(&self) -> uoom::Result<serde_json::Value> {
        serde_json::from_slice(self.bytes()?).map_err(|e| {
            uoom::Error::invalid("", "not_json", format!("the value is not JSON: {e}"))
        })
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
        check_status!(unsafe { sys::napi_typeof(env, v, &raw mut ty) })?;
        if ValueType::from(ty) == ValueType::String {
            // SAFETY: v is a string.
            return Ok(JsonInput::Text(
                unsafe { String::from_napi_value(env, v)? }.into_bytes(),
            ));
        }
        let mut is_buffer = false;
        // SAFETY: as above.
        check_status!(unsafe { sys::napi_is_buffer(env, v, &raw mut is_buffer) })?;
        if is_buffer {
            // SAFETY: v is a Buffer.
            let b = unsafe { BufferSlice::from_napi_value(env, v)? };
            return Ok(JsonInput::Text(b.to_vec()));
        }
        // An object: V8's own JSON.stringify walks it far faster than one
        // N-API call per property would, and the core parses the text.
        // SAFETY: as above.
        match unsafe { stringify(env, v) }? {
            Some(text) => Ok(JsonInput::Text(text.into_bytes())),
            None => Ok(JsonInput::Unrepresentable(
                "JSON.stringify gives nothing for it (undefined, a function, a symbol, a cycle or a BigInt)".into(),
            )),
        }
    }
}

/// `JSON.stringify(v)`, or `None` when it throws or yields no string.
///
/// # Safety
/// `env` and `v` must be valid for the current call.
unsafe fn stringify(env: sys::napi_env, v: sys::napi_value) -> Result<Option<String>> {
    let mut global = std::ptr::null_mut();
    let mut json = std::ptr::null_mut();
    let mut func = std::ptr::null_mut();
    let mut out = std::ptr::null_mut();
    // SAFETY: plain N-API calls on values of this call; every status checked.
    unsafe {
        check_status!(sys::napi_get_global(env, &raw mut global))?;
        check_status!(sys::napi_get_named_property(
            env,
            global,
            c"JSON".as_ptr(),
            &raw mut json
        ))?;
        check_status!(sys::napi_get_named_property(
            env,
            json,
            c"stringify".as_ptr(),
            &raw mut func
        ))?;
        let args = [v];
        let status = sys::napi_call_function(env, json, func, 1, args.as_ptr(), &raw mut out);
        if status != sys::Status::napi_ok {
            // A cycle or a BigInt makes JSON.stringify throw: clear it, report it as data.
            let mut exception = std::ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &raw mut exception);
            return Ok(None);
        }
        let mut ty = 0;
        check_status!(sys::napi_typeof(env, out, &raw mut ty))?;
        if ValueType::from(ty) != ValueType::String {
            return Ok(None);
        }
        Ok(Some(String::from_napi_value(env, out)?))
    }
}

/// The options object of a constructor, as JSON, with a `gateway` key noted
/// apart: a gateway is a host object (methods, not data), so it is taken out
/// before the rest becomes JSON. Custom gateways are not supported yet: the
/// constructor refuses one (`unsupported`) instead of ignoring it.
pub struct OptionsInput {
    /// True when the object has a `gateway` key that is not `undefined`.
    pub gateway: bool,
    /// The options as JSON (`undefined` and `null` are no options).
    pub json: Option<JsonInput>,
}

impl OptionsInput {
    /// The options as a JSON value (`null` when none were given), or the
    /// `gateway` refusal.
    pub fn value(&self) -> uoom::Result<serde_json::Value> {
        if self.gateway {
            return Err(uoom::Error::Validation(vec![
                uoom::wire::unsupported_gateway(),
            ]));
        }
        match &self.json {
            None => Ok(serde_json::Value::Null),
            Some(j) => j.value(),
        }
    }
}

impl TypeName for OptionsInput {
    fn type_name() -> &'static str {
        "OptionsInput"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ValidateNapiValue for OptionsInput {
    unsafe fn validate(_env: sys::napi_env, _napi_val: sys::napi_value) -> Result<sys::napi_value> {
        Ok(std::ptr::null_mut())
    }
}

impl FromNapiValue for OptionsInput {
    unsafe fn from_napi_value(env: sys::napi_env, v: sys::napi_value) -> Result<Self> {
        let mut ty = 0;
        // SAFETY: env and v come from napi for this call.
        check_status!(unsafe { sys::napi_typeof(env, v, &raw mut ty) })?;
        match ValueType::from(ty) {
            ValueType::Undefined | ValueType::Null => {
                return Ok(OptionsInput {
                    gateway: false,
                    json: None,
                });
            }
            ValueType::Object => {}
            _ => {
                return Ok(OptionsInput {
                    gateway: false,
                    // SAFETY: as above.
                    json: Some(unsafe { JsonInput::from_napi_value(env, v)? }),
                });
            }
        }
        let mut gateway = std::ptr::null_mut();
        let mut gateway_ty = 0;
        // SAFETY: v is an object; reading a property of it.
        unsafe {
            check_status!(sys::napi_get_named_property(
                env,
                v,
                c"gateway".as_ptr(),
                &raw mut gateway
            ))?;
            check_status!(sys::napi_typeof(env, gateway, &raw mut gateway_ty))?;
        }
        Ok(OptionsInput {
            gateway: ValueType::from(gateway_ty) != ValueType::Undefined,
            // SAFETY: as above.
            json: Some(unsafe { JsonInput::from_napi_value(env, v)? }),
        })
    }
}
