//! `uoom.validate`: checks any input against one of the wire contracts of
//! `uoom::wire` without building anything.

use pyo3::prelude::*;
use uoom::wire::Case;

use crate::convert::{to_py, to_value};
use crate::errors::IntoPyResult;

/// Checks `value` against `contract` (`channel`, `channels`,
/// `router_options`, `order_status`, `reserve_request`, `create_order`,
/// `instance`) and returns its normalized form, every default written, or
/// raises `ValidationError` listing every problem.
#[pyfunction]
pub fn validate<'py>(
    py: Python<'py>,
    contract: &str,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let v = to_value(value, "")?;
    let out = uoom::wire::validate(contract, &v, Case::Snake).py()?;
    to_py(py, &out)
}
