//! CPU-heavy calls as napi `AsyncTask`s: inputs are copied into owned Rust
//! values on the JS thread, the work runs on libuv's pool, and results (or
//! coded errors) are turned into JS values back on the JS thread.

pub mod route;
pub mod solve;
