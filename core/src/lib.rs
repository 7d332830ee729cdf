//! # uoom
//!
//! An embeddable order-routing and optimization engine. One in-process
//! library takes a create-order request, validates it into an [`Order`],
//! ranks the fulfillment [`Channel`]s, reserves capacity in a two-phase
//! ledger, assigns orders to channels (one at a time in real time, or a batch
//! with a MILP-grade solver inside a time budget), and runs the routing saga
//! with compensation, circuit breakers and domain events.
//!
//! The default build is pure and synchronous: no I/O, no async runtime.
//! Adapters (Postgres, outbox relay, Kafka, DynamoDB) and the exact MILP
//! backend (HiGHS) are Cargo features.
//!
//! ```
//! use uoom::{Clock, ManualClock, Millis};
//! let clock = ManualClock::new(Millis(0));
//! clock.advance_ms(100);
//! assert_eq!(clock.now(), Millis(100));
//! ```
#![deny(missing_docs)]
// docs.rs (`--cfg docsrs`, nightly) marks what each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(
    feature = "postgres",
    feature = "outbox",
    feature = "kafka",
    feature = "dynamodb"
))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        feature = "postgres",
        feature = "outbox",
        feature = "kafka",
        feature = "dynamodb"
    )))
)]
pub mod adapters;
pub mod bench_format;
pub mod clock;
pub mod engine;
pub mod error;
pub mod events;
pub mod ledger;
pub mod model;
pub mod rank;
pub mod solve;
pub mod wire;

pub use clock::{Clock, ManualClock, Millis, SystemClock};
pub use error::{Error, ErrorKind, FieldError, Result};
pub use model::*;

/// The Rust snippets of the README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
