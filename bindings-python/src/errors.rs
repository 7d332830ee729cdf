//! Maps `uoom::Error` categories onto the Python exception tree of
//! `uoom/exceptions.py`, so Python callers catch by category
//! (`except uoom.CapacityError`) instead of parsing messages.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

mod py_exceptions {
    pyo3::import_exception!(uoom.exceptions, UoomError);
    pyo3::import_exception!(uoom.exceptions, ValidationError);
    pyo3::import_exception!(uoom.exceptions, InfeasibleError);
    pyo3::import_exception!(uoom.exceptions, CapacityError);
    pyo3::import_exception!(uoom.exceptions, NotFoundError);
    pyo3::import_exception!(uoom.exceptions, ConflictError);
    pyo3::import_exception!(uoom.exceptions, TimeoutError);
    pyo3::import_exception!(uoom.exceptions, IoError);
}

pub use py_exceptions::{
    CapacityError, ConflictError, InfeasibleError, IoError, NotFoundError, TimeoutError,
    ValidationError,
};

/// Converts a core error into the matching Python exception. The message is
/// the error with its causes (`io: postgres connect: connection refused`):
/// an I/O error's cause would be lost otherwise.
pub fn to_py_err(err: uoom::Error) -> PyErr {
    let msg = err.chain().to_string();
    match err {
        uoom::Error::Validation(fields) => {
            Python::attach(|py| match field_errors_list(py, &fields) {
                Ok(list) => ValidationError::new_err((msg, list.unbind())),
                Err(e) => e,
            })
        }
        uoom::Error::Infeasible(_) => InfeasibleError::new_err(msg),
        uoom::Error::Capacity(_) => CapacityError::new_err(msg),
        uoom::Error::NotFound(_) => NotFoundError::new_err(msg),
        uoom::Error::Conflict(_) => ConflictError::new_err(msg),
        uoom::Error::Timeout(_) => TimeoutError::new_err(msg),
        uoom::Error::Io { .. } => IoError::new_err(msg),
    }
}

/// A `ValidationError` for one bad argument, raised before the core is reached
/// (wrong Python type, unknown enum name), so such mistakes carry a field path too.
pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> PyErr {
    to_py_err(uoom::Error::invalid(field, code, message))
}

fn field_errors_list<'py>(
    py: Python<'py>,
    fields: &[uoom::FieldError],
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for f in fields {
        let d = PyDict::new(py);
        d.set_item("field", &f.field)?;
        d.set_item("code", &f.code)?;
        d.set_item("message", &f.message)?;
        list.append(d)?;
    }
    Ok(list)
}

/// `?`-friendly conversion of core results.
pub trait IntoPyResult<T> {
    /// Maps the error into its Python exception class.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for uoom::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py_err)
    }
}
