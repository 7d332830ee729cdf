//! Adapters to real infrastructure, one Cargo feature each, each pulling only
//! its own client: [`postgres`] (write model, outbox writes, status fallback),
//! [`outbox`] (the relay engine), [`kafka`] (the publisher) and [`dynamodb`]
//! (the status read model).
//!
//! The storage adapters serve both kinds of engine port. Opened with their
//! `connect_async` on the host's tokio runtime, PostgreSQL's and DynamoDB's
//! implement the async ports ([`crate::engine::AsyncWriteModel`],
//! [`crate::engine::AsyncOutbox`], [`crate::engine::AsyncStatusReadModel`])
//! with futures of that runtime, and nothing blocks. Opened with `connect`,
//! they own a small tokio runtime ([`AdapterRuntime`]) and also implement
//! the synchronous ports by blocking on it: the façade for plain threads
//! (`Router::submit`, `uoom simulate`, the relay). A blocking method called
//! from inside a tokio runtime would stall that runtime's worker, so it is
//! refused with [`crate::Error::Io`] instead.

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
