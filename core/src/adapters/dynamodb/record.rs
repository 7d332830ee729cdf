//! One item of `uoom_order_status`.

use crate::{CustomerId, Error, Millis, Order, OrderId, OrderStatus, RestaurantId, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// An order's status as the read model keeps it.
///
/// `version` is the order's `updated_at` in ms: a write-through only replaces
/// an item whose version is not newer, so a late write never hides a newer
/// status.
///
/// ```
/// use uoom::adapters::dynamodb::StatusRecord;
/// use uoom::*;
/// let order = Order::from_request(OrderId::from_u128(1),
///     parse_create_order(include_bytes!("../../../../examples/orders/sample.json")).unwrap(),
///     Millis(5_000)).unwrap();
/// let r = StatusRecord::of_order(&order);
/// assert_eq!(r.status, OrderStatus::Pending);
/// assert_eq!(r.version(), 5_000);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRecord {
    /// The order.
    pub order_id: OrderId,
    /// Its customer (`CustomerStatusIndex`).
    pub customer_id: CustomerId,
    /// Its restaurant, if any (`RestaurantStatusIndex`).
    pub restaurant_id: Option<RestaurantId>,
    /// The status.
    pub status: OrderStatus,
    /// The channel it is routed to.
    pub channel: Option<String>,
    /// How it was routed (the engine's decision kind).
    pub decision: Option<String>,
    /// Why it failed (a failure reason code).
    pub failure: Option<String>,
    /// Creation time.
    pub created_at: Millis,
    /// Last change.
    pub updated_at: Millis,
    /// TTL (epoch seconds) as stored; set by the store on write.
    pub expires_at: Option<u64>,
}

impl StatusRecord {
    /// The record of an order, with nothing known about its routing.
    pub fn of_order(order: &Order) -> Self {
        Self {
            order_id: order.id,
            customer_id: order.customer_id,
            restaurant_id: order.restaurant_id,
            status: order.status,
            channel: None,
            decision: None,
            failure: None,
            created_at: order.created_at,
            updated_at: order.updated_at,
            expires_at: None,
        }
    }

    /// The optimistic-concurrency version: `updated_at` in ms.
    pub fn version(&self) -> u64 {
        self.updated_at.0
    }

    pub(crate) fn to_item(&self, expires_at: u64) -> HashMap<String, AttributeValue> {
        let mut m = HashMap::new();
        let s = |v: String| AttributeValue::S(v);
        let n = |v: u64| AttributeValue::N(v.to_string());
        m.insert("orderId".into(), s(self.order_id.to_string()));
        m.insert("customerId".into(), s(self.customer_id.to_string()));
        if let Some(r) = self.restaurant_id {
            m.insert("restaurantId".into(), s(r.to_string()));
        }
        m.insert("status".into(), s(self.status.as_str().into()));
        if let Some(c) = &self.channel {
            m.insert("channel".into(), s(c.clone()));
        }
        if let Some(d) = &self.decision {
            m.insert("decision".into(), s(d.clone()));
        }
        if let Some(f) = &self.failure {
            m.insert("failure".into(), s(f.clone()));
        }
        m.insert("createdAt".into(), n(self.created_at.0));
        m.insert("updatedAt".into(), n(self.updated_at.0));
        m.insert("version".into(), n(self.version()));
        m.insert("expiresAt".into(), n(expires_at));
        m
    }

    pub(crate) fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Self> {
        let bad = |what: &str| Error::io(format!("dynamodb status item: bad {what}"));
        let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
        let n = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        let id = |k: &str| s(k).and_then(|v| uuid::Uuid::parse_str(&v).ok());
        let status = s("status").ok_or_else(|| bad("status"))?;
        Ok(Self {
            order_id: OrderId(id("orderId").ok_or_else(|| bad("orderId"))?),
            customer_id: CustomerId(id("customerId").ok_or_else(|| bad("customerId"))?),
            restaurant_id: id("restaurantId").map(RestaurantId),
            status: crate::OrderStatus::ALL
                .into_iter()
                .find(|x| x.as_str() == status)
                .ok_or_else(|| bad("status"))?,
            channel: s("channel"),
            decision: s("decision"),
            failure: s("failure"),
            created_at: Millis(n("createdAt").unwrap_or(0)),
            updated_at: Millis(n("updatedAt").unwrap_or(0)),
            expires_at: n("expiresAt"),
        })
    }
}
