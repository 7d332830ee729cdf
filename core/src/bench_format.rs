//! The assignment instance and solution formats, kept under their former
//! path: the same types as [`crate::wire`]'s.
//!
//! ```
//! let err = uoom::bench_format::Instance::from_json(b"{}").unwrap_err();
//! assert!(err.field_errors().iter().any(|f| f.field == "orders"));
//! ```

pub use crate::wire::instance::{
    AssignedRecord, AssignmentRecord, ExplanationsRecord, Instance, OrderRecord, RunnerUpRecord,
    SolutionFile, UnassignedRecord,
};
