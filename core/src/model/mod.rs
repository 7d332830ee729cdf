//! The order and channel model: ids, exact money, locations, orders and their
//! lifecycle, the create-order request and its validation, channels.

pub mod channel;
pub mod geo;
pub mod ids;
pub mod money;
pub mod order;
pub mod request;

pub use channel::*;
pub use geo::GeoPoint;
pub use ids::*;
pub use money::*;
pub use order::*;
pub use request::*;
