//! How a routing decision was made: every outcome carries one of these tags.

use crate::events::FailureReason;
use crate::{ChannelId, OrderId, OrderStatus};
use serde::{Deserialize, Serialize};

/// The path that produced a routing decision.
///
/// ```
/// use uoom::engine::DecisionKind;
/// assert_eq!(DecisionKind::BatchOptimal.as_str(), "batch_optimal");
/// assert_eq!(DecisionKind::ALL[DecisionKind::Fallback.index()], DecisionKind::Fallback);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// The real-time single-order path: ranked top-k, first that books.
    Realtime,
    /// A batch solved to proven optimality.
    BatchOptimal,
    /// A batch solved by local improvement within its budget.
    BatchImproved,
    /// A batch solved greedily.
    BatchGreedy,
    /// Round-robin over healthy, feasible channels, because the solver failed
    /// or overran its budget (or the batch assignment could not be booked).
    Fallback,
}

impl DecisionKind {
    /// Every kind, in declaration order.
    pub const ALL: [DecisionKind; 5] = [
        DecisionKind::Realtime,
        DecisionKind::BatchOptimal,
        DecisionKind::BatchImproved,
        DecisionKind::BatchGreedy,
        DecisionKind::Fallback,
    ];

    /// Position in [`DecisionKind::ALL`], for counter arrays.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The snake_case tag.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Realtime => "realtime",
            DecisionKind::BatchOptimal => "batch_optimal",
            DecisionKind::BatchImproved => "batch_improved",
            DecisionKind::BatchGreedy => "batch_greedy",
            DecisionKind::Fallback => "fallback",
        }
    }
}

/// What became of one submitted order: returned by the router, stored for
/// idempotent replays, and projected into the status read model.
///
/// ```
/// use uoom::engine::Outcome;
/// use uoom::{OrderId, OrderStatus};
/// let o = Outcome::new(OrderId::from_u128(1), OrderStatus::Validated);
/// assert!(!o.is_confirmed());
/// assert!(o.channel.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The order the submit created.
    pub order_id: OrderId,
    /// Its status now (`VALIDATED` while it waits in a batch window).
    pub status: OrderStatus,
    /// The channel that took it.
    pub channel: Option<ChannelId>,
    /// How the routing decision was made.
    pub decision: Option<DecisionKind>,
    /// Why it failed, if it did.
    pub failure: Option<FailureReason>,
    /// Booking attempts made.
    pub attempts: u32,
    /// Compensating actions run (bookings cancelled, reservations released).
    pub compensations: u32,
    /// The partner's reference for the booking that confirmed the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking: Option<String>,
    /// True when this is the stored outcome of an earlier submit with the
    /// same idempotency key, returned without routing again.
    pub replayed: bool,
}

impl Outcome {
    /// An outcome with nothing decided yet.
    pub fn new(order_id: OrderId, status: OrderStatus) -> Self {
        Self {
            order_id,
            status,
            channel: None,
            decision: None,
            failure: None,
            attempts: 0,
            compensations: 0,
            booking: None,
            replayed: false,
        }
    }

    /// True if the order ended confirmed on a channel.
    pub fn is_confirmed(&self) -> bool {
        self.status == OrderStatus::Confirmed
    }
}
