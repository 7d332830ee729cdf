//! The tokio runtime an adapter owns, behind synchronous methods.

use crate::{Error, Result};
use std::future::Future;
use std::sync::Arc;

/// A multi-threaded tokio runtime shared by the adapters that use it.
///
/// Adapters are synchronous (the engine's ports are), so each call blocks the
/// calling thread on this runtime. Clone it to share one runtime among
/// several adapters.
///
/// ```
/// let rt = uoom::adapters::AdapterRuntime::new(1).unwrap();
/// assert_eq!(rt.block_on(async { 2 + 2 }).unwrap(), 4);
/// ```
#[derive(Clone, Debug)]
pub struct AdapterRuntime {
    rt: Arc<tokio::runtime::Runtime>,
}

impl AdapterRuntime {
    /// A runtime with `threads` worker threads (at least one).
    pub fn new(threads: usize) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("uoom-adapter")
            .enable_all()
            .build()
            .map_err(|e| Error::io_with("cannot start the adapter runtime", e))?;
        Ok(Self { rt: Arc::new(rt) })
    }

    /// Runs `fut` to completion on this runtime, blocking the caller.
    ///
    /// Refused (an `Io` error, not a panic) when the caller is itself a task
    /// of some tokio runtime, where blocking would stall it.
    ///
    /// ```
    /// let rt = uoom::adapters::AdapterRuntime::new(1).unwrap();
    /// let inner = rt.clone();
    /// let nested = rt.block_on(async move { inner.block_on(async { 1 }).is_err() }).unwrap();
    /// assert!(nested);
    /// ```
    pub fn block_on<F: Future>(&self, fut: F) -> Result<F::Output> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::io(
                "a blocking uoom adapter was called from inside a tokio runtime; call it from a plain thread (e.g. tokio::task::spawn_blocking)",
            ));
        }
        Ok(self.rt.block_on(fut))
    }

    /// The runtime's handle, to spawn background tasks on it.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.rt.handle()
    }
}
