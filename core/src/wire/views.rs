//! What the router answers, as the bindings show it.

use crate::engine::{Outcome, StatusView};
use serde::Serialize;

/// What became of one submitted order.
///
/// ```
/// use uoom::wire::OutcomeView;
/// # use std::sync::Arc;
/// # use uoom::engine::{Router, SimGateway};
/// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis};
/// # let clock = Arc::new(ManualClock::new(Millis(0)));
/// # let k = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
/// #     .with_capacity(10).build().unwrap();
/// # let mut router = Router::builder(vec![k], Arc::new(SimGateway::new(clock.clone(), 1)))
/// #     .with_clock(clock).build().unwrap();
/// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
/// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
/// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
/// #                       "latitude": 40.712, "longitude": -74.006}}"#;
/// let outcome = router.submit_json(body, None).unwrap();
/// let view = serde_json::to_value(OutcomeView::from(&outcome)).unwrap();
/// assert_eq!(view["status"], "CONFIRMED");
/// // The partner's reference of the booking that confirmed the order.
/// assert_eq!(view["booking_reference"].as_str(), outcome.booking.as_deref());
/// assert!(view["booking_reference"].is_string());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeView {
    /// The order's id.
    pub order_id: String,
    /// `CONFIRMED` when routed, `FAILED` when not, `VALIDATED` when queued for a batch.
    pub status: &'static str,
    /// The channel it was routed to.
    pub channel: Option<String>,
    /// How the decision was made (`realtime`, `batch_optimal`, …).
    pub decision: Option<&'static str>,
    /// Why it failed (`no_feasible_channel`, `capacity_exhausted`, …).
    pub failure: Option<&'static str>,
    /// Channels tried.
    pub attempts: u32,
    /// Compensations run.
    pub compensations: u32,
    /// True when this is the stored outcome of an earlier submit with the same key.
    pub replayed: bool,
    /// The partner's reference of the booking that confirmed the order.
    pub booking_reference: Option<String>,
}

impl From<&Outcome> for OutcomeView {
    fn from(o: &Outcome) -> Self {
        OutcomeView {
            order_id: o.order_id.to_string(),
            status: o.status.as_str(),
            channel: o.channel.as_ref().map(|c| c.0.clone()),
            decision: o.decision.map(crate::engine::DecisionKind::as_str),
            failure: o.failure.map(crate::events::FailureReason::as_str),
            attempts: o.attempts,
            compensations: o.compensations,
            replayed: o.replayed,
            booking_reference: o.booking.clone(),
        }
    }
}

/// An order's status as the read model serves it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderStatusView {
    /// Order id.
    pub order_id: String,
    /// Customer id.
    pub customer_id: String,
    /// Restaurant id, when the request named one.
    pub restaurant_id: Option<String>,
    /// `PENDING` … `DELIVERED`, `CANCELLED`, `FAILED`.
    pub status: &'static str,
    /// Assigned channel, if any.
    pub channel: Option<String>,
    /// How it was routed.
    pub decision: Option<&'static str>,
    /// Why it failed, if it did.
    pub failure: Option<&'static str>,
    /// Creation time, ms since the epoch.
    pub created_at_ms: u64,
    /// Last change, ms since the epoch.
    pub updated_at_ms: u64,
}

impl From<&StatusView> for OrderStatusView {
    fn from(v: &StatusView) -> Self {
        OrderStatusView {
            order_id: v.order_id.to_string(),
            customer_id: v.customer_id.to_string(),
            restaurant_id: v.restaurant_id.map(|r| r.to_string()),
            status: v.status.as_str(),
            channel: v.channel.as_ref().map(|c| c.0.clone()),
            decision: v.decision.map(crate::engine::DecisionKind::as_str),
            failure: v.failure.map(crate::events::FailureReason::as_str),
            created_at_ms: v.created_at.0,
            updated_at_ms: v.updated_at.0,
        }
    }
}
