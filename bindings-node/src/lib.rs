//! Node.js bindings for uoom.
