//! Identifier newtypes, so an order id can never be passed where a customer id
//! is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random (v4) id.
            pub fn new_v4() -> Self {
                Self(Uuid::new_v4())
            }

            /// Parses the canonical hyphenated form (also accepts simple and braced forms).
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::parse_str(s).ok().map(Self)
            }

            /// An id made from a 128-bit number: deterministic ids for simulations and tests.
            pub fn from_u128(v: u128) -> Self {
                Self(Uuid::from_u128(v))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// Identifies an order.
    ///
    /// ```
    /// let id = uoom::OrderId::parse("123e4567-e89b-12d3-a456-426614174000").unwrap();
    /// assert_eq!(id.to_string(), "123e4567-e89b-12d3-a456-426614174000");
    /// assert!(uoom::OrderId::parse("not-a-uuid").is_none());
    /// ```
    OrderId
);
uuid_id!(
    /// Identifies a customer.
    ///
    /// ```
    /// let id = uoom::CustomerId::from_u128(1);
    /// assert_eq!(id.to_string(), "00000000-0000-0000-0000-000000000001");
    /// ```
    CustomerId
);
uuid_id!(
    /// Identifies a restaurant (optional on an order).
    ///
    /// ```
    /// assert_ne!(uoom::RestaurantId::new_v4(), uoom::RestaurantId::new_v4());
    /// ```
    RestaurantId
);
uuid_id!(
    /// Identifies a domain event.
    ///
    /// ```
    /// let a = uoom::EventId::from_u128(7);
    /// assert_eq!(a, uoom::EventId::from_u128(7));
    /// ```
    EventId
);

/// Identifies a fulfillment channel. Channel ids come from the operator's
/// catalogue (`"c17"`, `"kitchen-riyadh-3"`), so they are strings, not UUIDs.
///
/// ```
/// let id = uoom::ChannelId::from("c3");
/// assert_eq!(id.as_str(), "c3");
/// assert_eq!(id.to_string(), "c3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelId(pub String);

impl ChannelId {
    /// The id as a string slice.
    ///
    /// ```
    /// assert_eq!(uoom::ChannelId::from("k1").as_str(), "k1");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ChannelId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for ChannelId {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
