//! `uoom-bench`: load and comparison harness.
fn main() {}
