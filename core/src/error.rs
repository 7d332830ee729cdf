//! The one error type of uoom, with a variant per category.
//!
//! Bindings map each category to its own exception class (`uoom.ValidationError`,
//! …) or error code (`UOOM_VALIDATION`, …), so the categories are part of the
//! public contract: add variants, never repurpose one.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The cause of an [`Error::Io`]: the external system's own error, shared so
/// that [`Error`] stays `Clone`.
pub type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

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

/// How the message of a stale-lease [`Error::Conflict`] starts.
pub(crate) const STALE_LEASE_PREFIX: &str = "stale lease:";

/// Every error uoom returns.
///
/// ```
/// use uoom::{Error, FieldError};
/// let err = Error::Validation(vec![FieldError::new("items", "empty", "at least one item")]);
/// assert_eq!(err.kind(), uoom::ErrorKind::Validation);
/// assert!(err.to_string().contains("items"));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
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
    /// An external system failed. `Display` shows what uoom was doing; the
    /// external system's error, when there is one, is the
    /// [`source`](std::error::Error::source): print [`Error::chain`] to see both.
    #[error("io: {context}")]
    Io {
        /// What uoom was doing, e.g. `postgres insert order`.
        context: String,
        /// The external system's error, when one caused this.
        #[source]
        source: Option<Source>,
    },
}

/// Two errors are equal when they have the same category and message; the
/// causes of [`Error::Io`] compare by their messages (the error types behind
/// them rarely implement `PartialEq`).
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Error::Validation(a), Error::Validation(b)) => a == b,
            (Error::Infeasible(a), Error::Infeasible(b))
            | (Error::Capacity(a), Error::Capacity(b))
            | (Error::NotFound(a), Error::NotFound(b))
            | (Error::Conflict(a), Error::Conflict(b))
            | (Error::Timeout(a), Error::Timeout(b)) => a == b,
            (
                Error::Io {
                    context: a,
                    source: sa,
                },
                Error::Io {
                    context: b,
                    source: sb,
                },
            ) => {
                a == b
                    && sa.as_ref().map(ToString::to_string) == sb.as_ref().map(ToString::to_string)
            }
            _ => false,
        }
    }
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
            Error::Io { .. } => ErrorKind::Io,
        }
    }

    /// An I/O error without an underlying cause: `context` says what failed.
    ///
    /// ```
    /// let e = uoom::Error::io("postgres writer stopped");
    /// assert_eq!(e.code(), "UOOM_IO");
    /// assert_eq!(e.to_string(), "io: postgres writer stopped");
    /// ```
    pub fn io(context: impl Into<String>) -> Self {
        Error::Io {
            context: context.into(),
            source: None,
        }
    }

    /// An I/O error caused by `source`, the external system's error, while
    /// doing `context`. The cause stays reachable through
    /// [`std::error::Error::source`] and is printed by [`Error::chain`].
    ///
    /// ```
    /// use std::error::Error as _;
    /// let cause = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
    /// let e = uoom::Error::io_with("kafka producer", cause);
    /// assert_eq!(e.to_string(), "io: kafka producer");
    /// assert_eq!(e.source().unwrap().to_string(), "connection refused");
    /// assert_eq!(e.chain().to_string(), "io: kafka producer: connection refused");
    /// ```
    pub fn io_with(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Io {
            context: context.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// Whether this is a lease fence's refusal: a commit (or a write that
    /// carried one) presented a lease that had expired, been revoked or
    /// been superseded at the authority. It is a [`Error::Conflict`] whose
    /// message starts with `stale lease:`, the form
    /// `From<uoom::ledger::lease::LeaseError>` gives it, so bindings keep
    /// mapping it as a conflict; a router on leases fails such an order
    /// with `stale_lease` instead of `persist_failed`.
    ///
    /// ```
    /// use uoom::ledger::lease::{Epoch, FenceReason, LeaseError, LeaseId, StaleLease};
    /// let stale = StaleLease { lease: LeaseId(1), epoch: Epoch(2), reason: FenceReason::Revoked };
    /// let e: uoom::Error = LeaseError::Stale(stale).into();
    /// assert!(e.is_stale_lease());
    /// assert!(!uoom::Error::conflict("duplicate key").is_stale_lease());
    /// ```
    pub fn is_stale_lease(&self) -> bool {
        matches!(self, Error::Conflict(m) if m.starts_with(STALE_LEASE_PREFIX))
    }

    /// The stable code of this error's category, e.g. `UOOM_IO`.
    ///
    /// ```
    /// assert_eq!(uoom::Error::conflict("x").code(), "UOOM_CONFLICT");
    /// ```
    pub fn code(&self) -> &'static str {
        self.kind().code()
    }

    /// This error followed by each of its causes, `: `-separated — the
    /// message to show a person. A cause whose text is already part of the
    /// message so far is left out (some errors repeat their source's text).
    ///
    /// ```
    /// let cause = std::io::Error::other("broker down");
    /// let e = uoom::Error::io_with("kafka delivery", cause);
    /// assert_eq!(format!("error: {}", e.chain()), "error: io: kafka delivery: broker down");
    /// assert_eq!(uoom::Error::not_found("order 7").chain().to_string(), "not found: order 7");
    /// ```
    pub fn chain(&self) -> Chain<'_> {
        Chain(self)
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

/// An error and its causes, displayed as `error: cause: cause`; made by
/// [`Error::chain`] or, for any error, [`Chain::of`].
///
/// ```
/// let e = std::io::Error::other("disk full");
/// assert_eq!(uoom::error::Chain::of(&e).to_string(), "disk full");
/// ```
#[derive(Clone, Copy)]
pub struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl<'a> Chain<'a> {
    /// The chain of any error.
    ///
    /// ```
    /// let e = uoom::Error::io("writer stopped");
    /// assert_eq!(uoom::error::Chain::of(&e).to_string(), "io: writer stopped");
    /// ```
    pub fn of(err: &'a (dyn std::error::Error + 'static)) -> Self {
        Chain(err)
    }
}

impl std::fmt::Debug for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(err) = cause {
            let part = err.to_string();
            if !part.is_empty() && !text.contains(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
            cause = err.source();
        }
        f.write_str(&text)
    }
}

/// Result alias used throughout uoom.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    /// An error whose message repeats its source's, as some clients' do.
    #[derive(Debug)]
    struct Wrapper(std::io::Error);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "request failed: {}", self.0)
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_chain_shows_every_cause_once() {
        let e = Error::io_with(
            "kafka producer",
            Wrapper(std::io::Error::other("timed out")),
        );
        assert_eq!(
            e.chain().to_string(),
            "io: kafka producer: request failed: timed out"
        );
        assert_eq!(e.source().unwrap().to_string(), "request failed: timed out");
        assert_eq!(e.code(), "UOOM_IO");
    }

    #[test]
    fn a_clone_keeps_the_cause_and_equality_compares_the_messages() {
        let e = Error::io_with("postgres connect", std::io::Error::other("refused"));
        let copy = e.clone();
        assert_eq!(copy.source().unwrap().to_string(), "refused");
        assert_eq!(e, copy);
        assert_eq!(
            e,
            Error::io_with("postgres connect", std::io::Error::other("refused"))
        );
        assert_ne!(
            e,
            Error::io_with("postgres connect", std::io::Error::other("reset"))
        );
        assert_ne!(e, Error::io("postgres connect"));
        assert_ne!(Error::io("x"), Error::conflict("x"));
        assert!(Error::io("postgres writer stopped").source().is_none());
    }
}
