//! Ledger events: a typed enum, recorded per account without allocation on
//! the hot path and materialised (with the account key) by
//! [`crate::ledger::Ledger::drain_events`].

use super::ids::{AccountKey, ReservationId};
use crate::clock::Millis;
use serde::{Deserialize, Serialize};

/// Why pending units went back to the account.
///
/// ```
/// use uoom::ledger::ReleaseReason;
/// assert_ne!(ReleaseReason::Expired, ReleaseReason::Released);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    /// The caller released the reservation.
    Released,
    /// The reservation's TTL passed before it was committed.
    Expired,
    /// A partial commit returned the units it did not take.
    PartialCommit,
    /// A committed reservation was refunded: these units leave *committed*
    /// (not pending), see [`crate::ledger::Ledger::refund`].
    Refunded,
}

/// Something that happened to an account. The domain events
/// `CapacityReserved`, `CapacityReleased` and `CapacityUpdated` are built from these.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::{Ledger, LedgerEvent, SlotId};
/// use uoom::{ChannelId, ManualClock, Millis};
/// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
/// let c = ChannelId::from("c1");
/// ledger.set_capacity(&c, SlotId(0), 10).unwrap();
/// ledger.reserve(1u128.into(), &c, SlotId(0), 4, 1_000).unwrap();
/// let events = ledger.drain_events();
/// assert!(matches!(events[0], LedgerEvent::CapacityUpdated { new: 10, .. }));
/// assert!(matches!(events[1], LedgerEvent::CapacityReserved { units: 4, .. }));
/// assert_eq!(events[1].name(), "CapacityReserved");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum LedgerEvent {
    /// Units moved from available to pending.
    CapacityReserved {
        /// The reservation (a leg id for batches).
        id: ReservationId,
        /// The batch the leg belongs to, if any.
        batch: Option<ReservationId>,
        /// The account.
        account: AccountKey,
        /// Units reserved.
        units: u32,
        /// When the reservation expires if not committed.
        expires_at: Millis,
        /// When it happened.
        at: Millis,
    },
    /// Pending units became committed.
    CapacityCommitted {
        /// The reservation.
        id: ReservationId,
        /// The account.
        account: AccountKey,
        /// Units committed.
        units: u32,
        /// When it happened.
        at: Millis,
    },
    /// Pending units went back to available (or, with reason `refunded`,
    /// committed units did).
    CapacityReleased {
        /// The reservation.
        id: ReservationId,
        /// The account.
        account: AccountKey,
        /// Units released.
        units: u32,
        /// Why.
        reason: ReleaseReason,
        /// When it happened (the expiry time for expiries).
        at: Millis,
    },
    /// The account's capacity was set (created, raised or lowered).
    CapacityUpdated {
        /// The account.
        account: AccountKey,
        /// Previous capacity (`None` when the account was created).
        old: Option<u32>,
        /// New capacity.
        new: u32,
        /// Units held (pending + committed) beyond the new capacity.
        overcommitted: u32,
        /// When it happened.
        at: Millis,
    },
    /// Availability fell under the alert threshold (10 % of capacity by
    /// default). Fires once per crossing; re-armed when availability recovers.
    LowCapacityAlert {
        /// The account.
        account: AccountKey,
        /// Units still available.
        available: u32,
        /// Capacity.
        capacity: u32,
        /// When it happened.
        at: Millis,
    },
}

impl LedgerEvent {
    /// The event type name, as used for domain events.
    pub fn name(&self) -> &'static str {
        match self {
            LedgerEvent::CapacityReserved { .. } => "CapacityReserved",
            LedgerEvent::CapacityCommitted { .. } => "CapacityCommitted",
            LedgerEvent::CapacityReleased { .. } => "CapacityReleased",
            LedgerEvent::CapacityUpdated { .. } => "CapacityUpdated",
            LedgerEvent::LowCapacityAlert { .. } => "LowCapacityAlert",
        }
    }

    /// The account the event is about.
    pub fn account(&self) -> &AccountKey {
        match self {
            LedgerEvent::CapacityReserved { account, .. }
            | LedgerEvent::CapacityCommitted { account, .. }
            | LedgerEvent::CapacityReleased { account, .. }
            | LedgerEvent::CapacityUpdated { account, .. }
            | LedgerEvent::LowCapacityAlert { account, .. } => account,
        }
    }

    /// When the event happened.
    pub fn at(&self) -> Millis {
        match self {
            LedgerEvent::CapacityReserved { at, .. }
            | LedgerEvent::CapacityCommitted { at, .. }
            | LedgerEvent::CapacityReleased { at, .. }
            | LedgerEvent::CapacityUpdated { at, .. }
            | LedgerEvent::LowCapacityAlert { at, .. } => *at,
        }
    }
}

/// An event without its account key: what the hot path records (no String clone).
#[derive(Debug, Clone, Copy)]
pub(crate) enum RawEvent {
    Reserved {
        id: ReservationId,
        batch: Option<ReservationId>,
        units: u32,
        expires_at: Millis,
        at: Millis,
    },
    Committed {
        id: ReservationId,
        units: u32,
        at: Millis,
    },
    Released {
        id: ReservationId,
        units: u32,
        reason: ReleaseReason,
        at: Millis,
    },
    Updated {
        old: Option<u32>,
        new: u32,
        overcommitted: u32,
        at: Millis,
    },
    Alert {
        available: u32,
        capacity: u32,
        at: Millis,
    },
}

impl RawEvent {
    pub(crate) fn at(&self) -> Millis {
        match self {
            RawEvent::Reserved { at, .. }
            | RawEvent::Committed { at, .. }
            | RawEvent::Released { at, .. }
            | RawEvent::Updated { at, .. }
            | RawEvent::Alert { at, .. } => *at,
        }
    }

    pub(crate) fn with_account(self, account: AccountKey) -> LedgerEvent {
        match self {
            RawEvent::Reserved {
                id,
                batch,
                units,
                expires_at,
                at,
            } => LedgerEvent::CapacityReserved {
                id,
                batch,
                account,
                units,
                expires_at,
                at,
            },
            RawEvent::Committed { id, units, at } => LedgerEvent::CapacityCommitted {
                id,
                account,
                units,
                at,
            },
            RawEvent::Released {
                id,
                units,
                reason,
                at,
            } => LedgerEvent::CapacityReleased {
                id,
                account,
                units,
                reason,
                at,
            },
            RawEvent::Updated {
                old,
                new,
                overcommitted,
                at,
            } => LedgerEvent::CapacityUpdated {
                account,
                old,
                new,
                overcommitted,
                at,
            },
            RawEvent::Alert {
                available,
                capacity,
                at,
            } => LedgerEvent::LowCapacityAlert {
                account,
                available,
                capacity,
                at,
            },
        }
    }
}
