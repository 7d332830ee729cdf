//! Fenced capacity leases: capacity that holds across several replicas.
//!
//! One process's [`Ledger`](crate::ledger::Ledger) never overbooks, but
//! several replicas of a service each with its own ledger would overbook a
//! channel up to once per replica. Leases split a channel's capacity
//! between replicas without a round trip per order (escrow, as in Doorman
//! and the demarcation protocol):
//!
//! - An **authority** ([`LeaseAuthority`], the port) holds, per channel and
//!   slot, the capacity, the units *granted* in live leases and the units
//!   *committed*. It grants a replica a [`Lease`]: some units, an expiry on
//!   the authority's own clock, and an [`Epoch`], a fencing token that is
//!   strictly increasing across every grant.
//! - A **replica** ([`LeasedLedger`]) reserves, releases and expires holds
//!   against its leases in memory; a hold dies with the lease it draws on.
//! - **Commit is fenced**: the authority accepts a commit only on a live
//!   lease with the epoch it was granted under, and moves the units from the
//!   lease's grant to committed. A replica that was paused past its lease
//!   (or replaced by a newer incarnation) gets a [`StaleLease`] refusal and
//!   the order can be routed again, never overbooked.
//!
//! The invariant the authority keeps at every step, per channel and slot:
//! `committed + Σ units of live leases ≤ capacity` (lowering the capacity
//! revokes leases to keep it; only lowering it below `committed` itself
//! breaks `committed ≤ capacity`, which is reported as overcommitted).
//!
//! [`MemoryAuthority`] is the in-process authority (the default for one
//! process and the reference model for tests); the durable authority behind
//! the same port is `uoom::adapters::postgres::PgLeaseAuthority` (feature
//! `postgres`: PostgreSQL's tables and clock, the commit written in the
//! order's transaction; see `docs/ledger.md`).
//!
//! ```
//! use std::sync::Arc;
//! use uoom::ledger::SlotId;
//! use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
//! use uoom::{ChannelId, ManualClock, Millis};
//! let clock = Arc::new(ManualClock::new(Millis(0)));
//! let authority = Arc::new(MemoryAuthority::new(clock.clone()));
//! let kitchen = ChannelId::from("kitchen-1");
//! authority.set_capacity(&kitchen, SlotId(0), 10).unwrap();
//!
//! let a = LeasedLedger::new("a", authority.clone(), clock.clone(), LeaseSettings::default()).unwrap();
//! let b = LeasedLedger::new("b", authority.clone(), clock.clone(), LeaseSettings::default()).unwrap();
//! a.reserve(1u128.into(), &kitchen, SlotId(0), 6, 5_000).unwrap();
//! b.reserve(2u128.into(), &kitchen, SlotId(0), 4, 5_000).unwrap();
//! // The channel is fully leased: a third order is refused, not overbooked.
//! assert!(b.reserve(3u128.into(), &kitchen, SlotId(0), 1, 5_000).is_err());
//! a.commit(1u128.into(), None).unwrap();
//! assert_eq!(authority.state(&kitchen, SlotId(0)).unwrap().committed, 6);
//! ```

mod authority;
mod memory;
mod quota;
mod replica;

pub use authority::{LeaseAuthority, LeaseRequest};
pub use memory::MemoryAuthority;
pub use quota::{CommitCall, Committed, Hold, LeaseSettings, LeaseStats, LocalQuota};
pub use replica::LeasedLedger;

use super::ids::SlotId;
use crate::clock::Millis;
use crate::error::{Error, ErrorKind};
use crate::model::ids::ChannelId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest lease an authority grants: one hour. Leases are meant to be
/// short (seconds) and renewed; a long lease strands capacity when its
/// replica dies.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::SlotId;
/// use uoom::ledger::lease::{LeaseAuthority, MAX_LEASE_TTL_MS, MemoryAuthority, ReplicaId};
/// use uoom::{ChannelId, ErrorKind, ManualClock, Millis};
/// let auth = MemoryAuthority::new(Arc::new(ManualClock::new(Millis(0))));
/// let c = ChannelId::from("c1");
/// auth.set_capacity(&c, SlotId(0), 5).unwrap();
/// let err = auth.grant(&ReplicaId::from("r"), &c, SlotId(0), 1, MAX_LEASE_TTL_MS + 1).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Validation);
/// ```
pub const MAX_LEASE_TTL_MS: u64 = 60 * 60 * 1000;

/// The name of one lease row at the authority: one per replica, channel and
/// slot, reused by every grant on that account (each grant a new [`Epoch`]).
///
/// ```
/// assert_eq!(uoom::ledger::lease::LeaseId(7).to_string(), "lease-7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeaseId(pub u64);

impl fmt::Display for LeaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lease-{}", self.0)
    }
}

/// A fencing token: the incarnation of a lease. Every grant takes the next
/// epoch of the authority (strictly increasing over all grants, so also per
/// channel and slot); renewals, resizes and commits keep it. A commit or
/// renewal that presents an older epoch than the lease's is refused.
///
/// ```
/// use uoom::ledger::lease::Epoch;
/// assert!(Epoch(2) > Epoch(1));
/// assert_eq!(Epoch(3).to_string(), "epoch 3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Epoch(pub u64);

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "epoch {}", self.0)
    }
}

/// The identity of one replica (a process that routes orders).
///
/// A replica restarted under the same id takes over its lease rows: its
/// first grant on each account starts a new epoch, which fences whatever the
/// previous incarnation still tries to commit.
///
/// ```
/// use uoom::ledger::lease::ReplicaId;
/// assert_eq!(ReplicaId::from("api-1").to_string(), "api-1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReplicaId(pub String);

impl From<&str> for ReplicaId {
    fn from(s: &str) -> Self {
        ReplicaId(s.to_owned())
    }
}

impl From<String> for ReplicaId {
    fn from(s: String) -> Self {
        ReplicaId(s)
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A lease as the authority sees it.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::SlotId;
/// use uoom::ledger::lease::{LeaseAuthority, MemoryAuthority, ReplicaId};
/// use uoom::{ChannelId, ManualClock, Millis};
/// let auth = MemoryAuthority::new(Arc::new(ManualClock::new(Millis(100))));
/// let c = ChannelId::from("c1");
/// auth.set_capacity(&c, SlotId(0), 5).unwrap();
/// let lease = auth.grant(&ReplicaId::from("r1"), &c, SlotId(0), 8, 1_000).unwrap().lease;
/// assert_eq!((lease.units, lease.expires_at), (5, Millis(1_100)));
/// assert!(lease.is_live(Millis(1_099)) && !lease.is_live(Millis(1_100)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The lease row.
    pub id: LeaseId,
    /// The incarnation: what a commit must present.
    pub epoch: Epoch,
    /// The replica holding it.
    pub replica: ReplicaId,
    /// The channel.
    pub channel: ChannelId,
    /// The slot.
    pub slot: SlotId,
    /// Units granted and not yet committed or returned.
    pub units: u32,
    /// Units committed through this incarnation.
    pub committed: u32,
    /// When this incarnation was granted (authority's clock).
    pub granted_at: Millis,
    /// When it expires (authority's clock); it is live while `now < expires_at`.
    pub expires_at: Millis,
    /// Whether it was ended before its expiry (revoked by a capacity cut,
    /// or superseded by a newer grant on the same row).
    pub ended: bool,
}

impl Lease {
    /// Whether this lease is live at `now` (authority's clock).
    pub fn is_live(&self, now: Millis) -> bool {
        !self.ended && now < self.expires_at
    }
}

/// One channel and slot at the authority.
///
/// ```
/// use uoom::ledger::lease::AccountState;
/// use uoom::{ChannelId, ledger::SlotId};
/// let s = AccountState { channel: ChannelId::from("c"), slot: SlotId(0), capacity: 10, granted: 4, committed: 3 };
/// assert_eq!((s.free(), s.overcommitted()), (3, 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    /// The channel.
    pub channel: ChannelId,
    /// The slot.
    pub slot: SlotId,
    /// Units the channel can take in this slot.
    pub capacity: u32,
    /// Units granted in live leases (not yet committed).
    pub granted: u32,
    /// Units committed (never forgotten).
    pub committed: u32,
}

impl AccountState {
    /// Units neither committed nor granted: what a new grant can take.
    pub fn free(&self) -> u32 {
        u64::from(self.capacity).saturating_sub(u64::from(self.committed) + u64::from(self.granted))
            as u32
    }

    /// Units committed beyond capacity (non-zero only after the capacity was
    /// lowered below what was already committed).
    pub fn overcommitted(&self) -> u32 {
        self.committed.saturating_sub(self.capacity)
    }
}

/// What the authority answers to a grant, renewal, resize or commit: the
/// lease after the call and its account.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::SlotId;
/// use uoom::ledger::lease::{LeaseAuthority, MemoryAuthority, ReplicaId};
/// use uoom::{ChannelId, ManualClock, Millis};
/// let auth = MemoryAuthority::new(Arc::new(ManualClock::new(Millis(0))));
/// let c = ChannelId::from("c1");
/// auth.set_capacity(&c, SlotId(0), 5).unwrap();
/// let reply = auth.grant(&ReplicaId::from("r1"), &c, SlotId(0), 2, 1_000).unwrap();
/// assert_eq!((reply.lease.units, reply.account.granted, reply.account.free()), (2, 2, 3));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseReply {
    /// The lease after the call.
    pub lease: Lease,
    /// Its channel and slot after the call.
    pub account: AccountState,
}

/// Why the authority refused to honour a lease.
///
/// ```
/// use uoom::ledger::lease::{Epoch, FenceReason};
/// let r = FenceReason::Superseded { current: Epoch(9) };
/// assert!(r.to_string().contains("epoch 9"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum FenceReason {
    /// The lease's expiry has passed on the authority's clock.
    Expired {
        /// The expiry.
        expires_at: Millis,
        /// The authority's time of the refusal.
        now: Millis,
    },
    /// A newer grant on the same row replaced this incarnation.
    Superseded {
        /// The row's current epoch.
        current: Epoch,
    },
    /// A capacity cut took the lease back.
    Revoked,
}

impl fmt::Display for FenceReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FenceReason::Expired { expires_at, now } => write!(
                f,
                "expired at {} ms, authority time {} ms",
                expires_at.0, now.0
            ),
            FenceReason::Superseded { current } => write!(f, "superseded by {current}"),
            FenceReason::Revoked => f.write_str("revoked by a capacity cut"),
        }
    }
}

/// A refusal by the fence: the lease (at this epoch) is no longer honoured.
/// Nothing was changed; the caller routes the order again or fails it.
///
/// ```
/// use uoom::ledger::lease::{Epoch, FenceReason, LeaseId, StaleLease};
/// let s = StaleLease { lease: LeaseId(1), epoch: Epoch(2), reason: FenceReason::Revoked };
/// assert_eq!(s.to_string(), "stale lease: lease-1 at epoch 2 revoked by a capacity cut");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleLease {
    /// The lease presented.
    pub lease: LeaseId,
    /// The epoch presented.
    pub epoch: Epoch,
    /// Why it is refused.
    pub reason: FenceReason,
}

impl StaleLease {
    /// The refusal of `lease` at `epoch` that a store reported as `error`
    /// (a stale-lease [`Error::Conflict`], see [`Error::is_stale_lease`]):
    /// the reason is read from its message (expired, revoked, else
    /// superseded); the message itself keeps the details.
    ///
    /// ```
    /// use uoom::ledger::lease::{Epoch, FenceReason, LeaseError, LeaseId, StaleLease};
    /// let sent = StaleLease { lease: LeaseId(3), epoch: Epoch(4), reason: FenceReason::Revoked };
    /// let e: uoom::Error = LeaseError::Stale(sent).into();
    /// let back = StaleLease::from_refusal(LeaseId(3), Epoch(4), &e);
    /// assert_eq!(back.reason, FenceReason::Revoked);
    /// ```
    pub fn from_refusal(lease: LeaseId, epoch: Epoch, error: &Error) -> StaleLease {
        let text = error.to_string();
        let reason = if text.contains("expired") {
            FenceReason::Expired {
                expires_at: Millis(0),
                now: Millis(0),
            }
        } else if text.contains("revoked") {
            FenceReason::Revoked
        } else {
            FenceReason::Superseded { current: epoch }
        };
        StaleLease {
            lease,
            epoch,
            reason,
        }
    }
}

impl fmt::Display for StaleLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stale lease: {} at {} {}",
            self.lease, self.epoch, self.reason
        )
    }
}

/// The error of every lease operation: either the fence refused a stale
/// lease, or an ordinary [`Error`] (validation, capacity, not found, io).
///
/// Converts into [`Error`] (a stale lease becomes a [`ErrorKind::Conflict`]
/// whose message starts with `stale lease:`), so `?` works in code that
/// returns `uoom::Result`; match on [`LeaseError::Stale`] to route again.
///
/// ```
/// use uoom::ledger::lease::{Epoch, FenceReason, LeaseError, LeaseId, StaleLease};
/// use uoom::{Error, ErrorKind};
/// let stale = LeaseError::Stale(StaleLease { lease: LeaseId(1), epoch: Epoch(1), reason: FenceReason::Revoked });
/// assert!(stale.is_stale());
/// assert_eq!(stale.kind(), ErrorKind::Conflict);
/// let e: Error = stale.into();
/// assert!(e.to_string().starts_with("conflict: stale lease:"));
/// let other = LeaseError::from(Error::not_found("lease-9"));
/// assert_eq!((other.is_stale(), other.kind()), (false, ErrorKind::NotFound));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LeaseError {
    /// The fence refused the lease.
    #[error("{0}")]
    Stale(StaleLease),
    /// Any other failure.
    #[error(transparent)]
    Other(#[from] Error),
}

impl LeaseError {
    /// Whether the fence refused (the order may be routed again).
    pub fn is_stale(&self) -> bool {
        matches!(self, LeaseError::Stale(_))
    }

    /// The category: `Conflict` for a stale lease.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LeaseError::Stale(_) => ErrorKind::Conflict,
            LeaseError::Other(e) => e.kind(),
        }
    }
}

impl From<StaleLease> for LeaseError {
    fn from(s: StaleLease) -> Self {
        LeaseError::Stale(s)
    }
}

impl From<LeaseError> for Error {
    fn from(e: LeaseError) -> Self {
        match e {
            LeaseError::Stale(s) => Error::conflict(s.to_string()),
            LeaseError::Other(e) => e,
        }
    }
}

/// Checks a TTL given to a lease operation.
/// The arguments of a grant, checked alike by every authority.
pub(crate) fn check_grant(want: u32, ttl_ms: u64) -> Result<(), Error> {
    if want == 0 {
        return Err(Error::invalid(
            "want",
            "out_of_range",
            "a grant wants at least 1 unit",
        ));
    }
    check_ttl(ttl_ms)
}

pub(crate) fn check_ttl(ttl_ms: u64) -> Result<(), Error> {
    if ttl_ms == 0 || ttl_ms > MAX_LEASE_TTL_MS {
        return Err(Error::invalid(
            "ttl_ms",
            "out_of_range",
            format!("a lease TTL must be in [1, {MAX_LEASE_TTL_MS}] ms, got {ttl_ms}"),
        ));
    }
    Ok(())
}
