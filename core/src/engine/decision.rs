//! How a routing decision was made: every outcome carries one of these tags.

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
