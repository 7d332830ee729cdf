//! Node.js bindings for uoom (napi-rs): the npm package `uoom`.
//!
//! Conversions live here, one file per domain; the core stays free of napi.
//! CPU-heavy calls run as `AsyncTask`s (see `tasks/`) on libuv's thread pool,
//! so the event loop keeps serving requests while Rust works.
#![deny(clippy::all)]

#[macro_use]
extern crate napi_derive;

mod channel;
mod clock;
mod errors;
mod input;
mod ledger;
mod lifecycle;
mod order;
mod rank;
mod router;
mod solve;
mod tasks;

/// The version of the native addon (the uoom crate version it was built from).
#[napi]
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
