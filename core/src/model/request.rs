//! The create-order request (camelCase JSON) and its validation.
