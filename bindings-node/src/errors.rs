//! uoom errors as JavaScript `Error` objects with a stable `code`.
//!
//! napi's own errors carry a `Status` as their code (`GenericFailure`, …);
//! callers of uoom switch on the category instead (`UOOM_VALIDATION`,
//! `UOOM_CONFLICT`, …, exactly `uoom::ErrorKind::code()`), and a validation
//! error also carries every field problem as `fieldErrors`. Building the
//! object needs an `Env`, so synchronous functions take one and async tasks
//! convert in `resolve`, on the JS thread.

use napi::bindgen_prelude::*;

/// A uoom error turned into a thrown JS `Error` with `code` and `fieldErrors`.
pub fn to_js(env: &Env, err: &uoom::Error) -> napi::Error {
    match build(env, err) {
        Ok(obj) => napi::Error::from(obj.to_unknown()),
        // Creating the object failed (e.g. out of memory): still say what went wrong.
        Err(_) => napi::Error::new(Status::GenericFailure, err.chain().to_string()),
    }
}

fn build<'e>(env: &'e Env, err: &uoom::Error) -> Result<Object<'e>> {
    // The message carries the error's causes (`io: kafka delivery: …`): an
    // I/O error's cause would be lost otherwise.
    let mut obj = env.create_error(napi::Error::new(
        Status::GenericFailure,
        err.chain().to_string(),
    ))?;
    obj.set_named_property("code", err.kind().code())?;
    obj.set_named_property("fieldErrors", field_errors(err))?;
    Ok(obj)
}

/// One problem of a validation error, located by its JSON path.
#[napi(object)]
pub struct FieldError {
    /// Path of the offending field, e.g. `items[0].quantity` (empty for the whole body).
    pub field: String,
    /// Stable snake_case code, e.g. `required`, `invalid_uuid`, `out_of_range`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// Maps a core result into a napi result, building the JS error on failure.
pub trait OrThrow<T> {
    /// The value, or the uoom error as a JS `Error` with its `code`.
    fn or_throw(self, env: &Env) -> Result<T>;
}

impl<T> OrThrow<T> for uoom::Result<T> {
    fn or_throw(self, env: &Env) -> Result<T> {
        self.map_err(|e| to_js(env, &e))
    }
}

/// An error as data, for batch results that report failures per entry
/// instead of throwing.
#[napi(object)]
pub struct ErrorInfo {
    /// Stable code, e.g. `UOOM_VALIDATION`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Field problems (validation only; empty otherwise).
    pub field_errors: Vec<FieldError>,
}

impl From<&uoom::Error> for ErrorInfo {
    fn from(e: &uoom::Error) -> Self {
        ErrorInfo {
            code: e.kind().code().to_owned(),
            message: e.chain().to_string(),
            field_errors: field_errors(e),
        }
    }
}

fn field_errors(err: &uoom::Error) -> Vec<FieldError> {
    err.field_errors()
        .iter()
        .map(|f| FieldError {
            field: f.field.clone(),
            code: f.code.clone(),
            message: f.message.clone(),
        })
        .collect()
}
