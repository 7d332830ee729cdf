//! Orders, items, delivery addresses and the lifecycle state machine.
