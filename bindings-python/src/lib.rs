//! Python bindings for uoom: the native module `uoom._uoom`.
//!
//! The pure-Python package `uoom` (in `python/uoom`) re-exports what is
//! defined here and holds the exception tree. Each file holds one domain; the
//! rules they share: inputs are copied into owned Rust values first, the GIL is
//! released for any work that can take long, batch methods cross the boundary
//! once per batch, and core errors become the exception class of their category.

use pyo3::prelude::*;

mod channel;
mod clock;
mod convert;
mod errors;
mod gil;
mod ledger;
mod order;
mod rank;
mod router;
mod solve;
mod wire;

/// The native half of the `uoom` package.
#[pymodule]
fn _uoom(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<channel::PyChannel>()?;
    m.add_class::<order::PyOrder>()?;
    m.add_class::<ledger::PyLedger>()?;
    m.add_class::<rank::PyRanker>()?;
    m.add_class::<router::PyRouter>()?;
    m.add_function(wrap_pyfunction!(order::validate_order, m)?)?;
    m.add_function(wrap_pyfunction!(solve::solve, m)?)?;
    m.add_function(wrap_pyfunction!(wire::validate, m)?)?;
    Ok(())
}
