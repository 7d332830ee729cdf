//! The one error type of uoom, with a variant per category.
//!
//! Bindings map each category to its own exception class (`uoom.ValidationError`,
//! …) or error code (`UOOM_VALIDATION`, …), so the categories are part of the
//! public contract: add variants, never repurpose one.

use serde::{Deserialize, Serialize};

/// One problem found in an input, located by its JSON path.
///
/// ```
/// use uoom::FieldError;
/// let e = FieldError::new("items[0].quantity", "out_of_range", "quantity must be between 1 and 999");
/// assert_eq!(e.field, "items[0].quantity");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Path of the offending field, e.g. `items[0].quantity` (empty for the whole body).
    pub field: String,
    /// Stable, machine-readable code, e.g. `required`, `invalid_type`, `out_of_range`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl FieldError {
    /// Builds a field error.
    ///
    /// ```
    /// let e = uoom::FieldError::new("customerId", "invalid_uuid", "not a UUID");
    /// assert_eq!(e.code, "invalid_uuid");
    /// ```
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.code, self.message)
        } else {
            write!(f, "{}: {} ({})", self.field, self.message, self.code)
        }
    }
}

/// Category of an [`Error`], stable across releases and bindings.
///
/// ```
/// use uoom::{Error, ErrorKind};
/// assert_eq!(Error::not_found("order 42").kind(), ErrorKind::NotFound);
/// assert_eq!(ErrorKind::NotFound.code(), "UOOM_NOT_FOUND");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Input failed validation.
    Validation,
    /// No feasible answer exists (or none was found within the rules).
    Infeasible,
    /// Not enough capacity.
    Capacity,
    /// Something named does not exist.
    NotFound,
    /// An id was reused with different contents, or a state change is illegal.
    Conflict,
    /// The operation ran out of its time budget.
    Timeout,
    /// An external system (database, broker, partner) failed.
    Io,
}

impl ErrorKind {
    /// The stable error code used by the Node binding and HTTP examples.
    ///
    /// ```
    /// assert_eq!(uoom::ErrorKind::Validation.code(), "UOOM_VALIDATION");
    /// ```
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Validation => "UOOM_VALIDATION",
            ErrorKind::Infeasible => "UOOM_INFEASIBLE",
            ErrorKind::Capacity => "UOOM_CAPACITY",
            ErrorKind::NotFound => "UOOM_NOT_FOUND",
            ErrorKind::Conflict => "UOOM_CONFLICT",
            ErrorKind::Timeout => "UOOM_TIMEOUT",
            ErrorKind::Io => "UOOM_IO",
        }
    }
}

/// Every error uoom returns.
///
/// ```
/// use uoom::{Error, FieldError};
/// let err = Error::Validation(vec![FieldError::new("items", "empty", "at least one item")]);
/// assert_eq!(err.kind(), uoom::ErrorKind::Validation);
/// assert!(err.to_string().contains("items"));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// One or more fields are invalid; every problem is listed.
    #[error("validation failed: {}", join(.0))]
    Validation(Vec<FieldError>),
    /// No feasible assignment or route.
    #[error("infeasible: {0}")]
    Infeasible(String),
    /// Capacity is insufficient.
    #[error("capacity: {0}")]
    Capacity(String),
    /// The named entity does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// Conflicting request: id reuse with different contents, illegal transition, duplicate.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A time budget was exhausted.
    #[error("timeout: {0}")]
    Timeout(String),
    /// An external system failed.
    #[error("io: {0}")]
    Io(String),
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// The category of this error.
    ///
    /// ```
    /// assert_eq!(uoom::Error::conflict("x").kind(), uoom::ErrorKind::Conflict);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Validation(_) => ErrorKind::Validation,
            Error::Infeasible(_) => ErrorKind::Infeasible,
            Error::Capacity(_) => ErrorKind::Capacity,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::Io(_) => ErrorKind::Io,
        }
    }

    /// A validation error with a single field problem.
    ///
    /// ```
    /// let e = uoom::Error::invalid("capacity", "negative", "capacity must be >= 0");
    /// assert_eq!(e.field_errors()[0].field, "capacity");
    /// ```
    pub fn invalid(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Validation(vec![FieldError::new(field, code, message)])
    }

    /// A not-found error.
    ///
    /// ```
    /// assert!(uoom::Error::not_found("channel c9").to_string().contains("c9"));
    /// ```
    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound(what.into())
    }

    /// A conflict error.
    ///
    /// ```
    /// assert!(uoom::Error::conflict("id r1 reused").to_string().contains("r1"));
    /// ```
    pub fn conflict(what: impl Into<String>) -> Self {
        Error::Conflict(what.into())
    }

    /// The field errors of a validation error (empty for other kinds).
    ///
    /// ```
    /// assert!(uoom::Error::not_found("x").field_errors().is_empty());
    /// ```
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Error::Validation(v) => v,
            _ => &[],
        }
    }
}

/// Result alias used throughout uoom.
pub type Result<T, E = Error> = std::result::Result<T, E>;
