//! Python bindings for uoom.
