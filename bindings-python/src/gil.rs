//! Running Rust work without the GIL.
//!
//! Short calls use `Python::detach` directly. Long ones (an exact solve can
//! take minutes) run on a worker thread while the calling thread waits in
//! short slices with the GIL released, checking for signals between slices:
//! Ctrl-C then raises `KeyboardInterrupt` within one slice instead of after
//! the solve. The abandoned worker finishes in the background and its result
//! is dropped (the core solver has no cancellation point to stop it early).

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use pyo3::prelude::*;

/// How often a waiting call checks for Ctrl-C.
const SIGNAL_POLL: Duration = Duration::from_millis(20);

/// Runs `work` on a worker thread with the GIL released, raising
/// `KeyboardInterrupt` (or whatever a signal handler raises) promptly.
pub fn run_interruptible<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel::<T>(1);
    thread::Builder::new()
        .name("uoom-solve".into())
        .spawn(move || {
            // The receiver may be gone after an interrupt; nothing to do then.
            let _ = tx.send(work());
        })
        .map_err(|e| {
            pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start a worker thread: {e}"))
        })?;
    let mut rx = rx;
    loop {
        // The receiver moves into the GIL-free closure and back (it is Send, not Sync).
        let (got, back) = py.detach(move || (rx.recv_timeout(SIGNAL_POLL), rx));
        rx = back;
        match got {
            Ok(v) => return Ok(v),
            Err(mpsc::RecvTimeoutError::Timeout) => py.check_signals()?,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "the solver thread stopped without an answer (it panicked)",
                ));
            }
        }
    }
}
