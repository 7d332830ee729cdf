//! Adapters to real infrastructure, one Cargo feature each, each pulling only
//! its own client: [`postgres`] (write model, outbox writes, status fallback),
//! [`outbox`] (the relay engine), [`kafka`] (the publisher) and [`dynamodb`]
//! (the status read model).
//!
//! The engine's ports are synchronous, so every adapter here is too: each owns
//! a small tokio runtime ([`AdapterRuntime`]) and blocks on it. Calling a
//! blocking adapter method from inside another tokio runtime would deadlock
//! that runtime's worker, so it is refused with [`crate::Error::Io`] instead.

mod ports;
mod record;
mod runtime;

pub use record::EventRecord;
pub use runtime::AdapterRuntime;

#[cfg(feature = "dynamodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
pub mod dynamodb;
#[cfg(feature = "kafka")]
#[cfg_attr(docsrs, doc(cfg(feature = "kafka")))]
pub mod kafka;
#[cfg(feature = "outbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub mod outbox;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
