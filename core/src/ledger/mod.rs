//! The capacity ledger: two-phase reservations that never overbook.
