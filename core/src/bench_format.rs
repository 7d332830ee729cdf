//! The assignment benchmark's JSON formats (shared/bench/SPEC.md).
