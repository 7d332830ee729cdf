//! Snapshot and restore (serde), so an engine can recover its ledger.

use super::account::{AccountHandle, AccountState, Balance, PendingLeg};
use super::ids::{AccountKey, ReservationId};
use super::reservation::{BatchRecord, Leg, Record, ReservationState};
use super::{Config, Ledger};
use crate::clock::{Clock, Millis};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Format version written into snapshots.
pub const SNAPSHOT_VERSION: u32 = 1;

/// The whole ledger at one instant. Undrained events are not part of it:
/// drain them before taking a snapshot if they matter.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::{Ledger, LedgerSnapshot, SlotId};
/// use uoom::{ChannelId, ManualClock, Millis};
/// let clock = Arc::new(ManualClock::new(Millis(0)));
/// let ledger = Ledger::new(clock.clone());
/// let c = ChannelId::from("c1");
/// ledger.set_capacity(&c, SlotId(0), 5).unwrap();
/// ledger.reserve(1u128.into(), &c, SlotId(0), 2, 1_000).unwrap();
/// let json = serde_json::to_string(&ledger.snapshot()).unwrap();
/// let back: LedgerSnapshot = serde_json::from_str(&json).unwrap();
/// let restored = Ledger::restore(clock.clone(), back).unwrap();
/// assert_eq!(restored.balance(&c, SlotId(0)).unwrap().pending, 2);
/// restored.commit(1u128.into(), None).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerSnapshot {
    /// Format version ([`SNAPSHOT_VERSION`]).
    pub version: u32,
    /// When it was taken.
    pub taken_at: Millis,
    /// Slot length in ms.
    pub slot_ms: u64,
    /// Retention of finished reservations in ms.
    pub retention_ms: u64,
    /// Whether events are recorded.
    pub record_events: bool,
    /// Alert threshold in percent.
    pub alert_pct: u32,
    /// Accounts in creation order.
    pub accounts: Vec<AccountSnapshot>,
    /// Reservations (legs), sorted by id.
    pub reservations: Vec<ReservationSnapshot>,
    /// Batches, sorted by id.
    pub batches: Vec<BatchSnapshot>,
}

/// One account in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    /// The account.
    pub key: AccountKey,
    /// Balance (pending equals the sum of the pending reservations on it).
    pub balance: Balance,
    /// Whether the low-availability alert has fired and not re-armed.
    pub low_alert: bool,
}

/// One reservation (leg) in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReservationSnapshot {
    /// Id.
    pub id: ReservationId,
    /// Batch, if a leg.
    pub batch: Option<ReservationId>,
    /// Account.
    pub account: AccountKey,
    /// Units reserved.
    pub units: u32,
    /// Units committed.
    pub committed: u32,
    /// State.
    pub state: ReservationState,
    /// Creation time (informational: restore derives it as `expires_at - ttl_ms`).
    pub created_at: Millis,
    /// Expiry time.
    pub expires_at: Millis,
    /// TTL asked for.
    pub ttl_ms: u64,
    /// When it left the pending state (0 while pending).
    pub finished_at: Millis,
}

/// One batch in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchSnapshot {
    /// Batch id.
    pub id: ReservationId,
    /// Items (account, units).
    pub items: Vec<(AccountKey, u32)>,
    /// TTL.
    pub ttl_ms: u64,
    /// Expiry time.
    pub expires_at: Millis,
}

impl Ledger {
    /// A consistent snapshot: every reservation shard and then every account
    /// is locked while it is copied (the usual lock order), with expiries due
    /// by now applied first.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// let c = ChannelId::from("c1");
    /// ledger.set_capacity(&c, SlotId(0), 5).unwrap();
    /// ledger.reserve(1u128.into(), &c, SlotId(0), 2, 1_000).unwrap();
    /// let snap = ledger.snapshot();
    /// assert_eq!(snap.accounts[0].balance.pending, 2);
    /// assert_eq!(snap.reservations.len(), 1);
    /// ```
    pub fn snapshot(&self) -> LedgerSnapshot {
        self.expire_due();
        let now = self.clock.now();
        let shards: Vec<_> = self.shards.iter().map(|s| s.0.lock()).collect();
        let all = self.accounts.read().clone();
        let mut states: Vec<_> = all.iter().map(|h| h.0.state.lock()).collect();
        let mut accounts = Vec::with_capacity(all.len());
        for (h, st) in all.iter().zip(states.iter_mut()) {
            st.expire_due(now, self.cfg.record_events, self.cfg.alert_pct);
            accounts.push(AccountSnapshot {
                key: h.key().clone(),
                balance: st.balance,
                low_alert: st.low_alert,
            });
        }
        let mut reservations = Vec::new();
        let mut batches = Vec::new();
        let pending_ids: std::collections::HashSet<ReservationId> = states
            .iter()
            .flat_map(|st| st.pending.iter().map(|p| p.id))
            .collect();
        for s in &shards {
            for (id, r) in s.map.iter() {
                match r {
                    Record::Leg(l) => {
                        let (state, finished_at) = if !l.state.is_pending() {
                            (l.state, l.finished_at())
                        } else if pending_ids.contains(id) {
                            (l.state, Millis(0))
                        } else {
                            (ReservationState::Expired, l.expires_at)
                        };
                        reservations.push(ReservationSnapshot {
                            id: *id,
                            batch: l.batch.as_deref().copied(),
                            account: l.account.key().clone(),
                            units: l.units,
                            committed: l.committed,
                            state,
                            created_at: l.created_at(),
                            expires_at: l.expires_at,
                            ttl_ms: l.ttl_ms,
                            finished_at,
                        });
                    }
                    Record::Batch(b) => batches.push(BatchSnapshot {
                        id: *id,
                        items: b.items.iter().map(|(h, u)| (h.key().clone(), *u)).collect(),
                        ttl_ms: b.ttl_ms,
                        expires_at: b.expires_at,
                    }),
                }
            }
        }
        reservations.sort_by_key(|r| r.id);
        batches.sort_by_key(|b| b.id);
        LedgerSnapshot {
            version: super::snapshot::SNAPSHOT_VERSION,
            taken_at: now,
            slot_ms: self.cfg.slot_ms,
            retention_ms: self.cfg.retention_ms,
            record_events: self.cfg.record_events,
            alert_pct: self.cfg.alert_pct,
            accounts,
            reservations,
            batches,
        }
    }

    /// Rebuilds a ledger from a snapshot, checking it is consistent (every
    /// reservation's account exists; each account's pending equals the sum
    /// of its pending reservations). Reservations whose expiry passed while
    /// the engine was down expire on first touch, as usual.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// let c = ChannelId::from("c1");
    /// ledger.set_capacity(&c, SlotId(0), 5).unwrap();
    /// let mut snap = ledger.snapshot();
    /// snap.version = 99;
    /// let err = Ledger::restore(Arc::new(ManualClock::new(Millis(0))), snap).err().unwrap();
    /// assert_eq!(err.field_errors()[0].field, "version");
    /// ```
    pub fn restore(clock: Arc<dyn Clock>, snap: LedgerSnapshot) -> Result<Ledger> {
        if snap.version != SNAPSHOT_VERSION {
            return Err(Error::invalid(
                "version",
                "unsupported",
                format!(
                    "snapshot version {} (expected {SNAPSHOT_VERSION})",
                    snap.version
                ),
            ));
        }
        let ledger = Ledger::builder(clock)
            .with_slot_ms(snap.slot_ms)
            .with_retention_ms(snap.retention_ms)
            .with_events(snap.record_events)
            .with_alert_pct(snap.alert_pct)
            .build()?;
        let _: Config = ledger.cfg;
        let mut handles: HashMap<AccountKey, AccountHandle> = HashMap::new();
        for (i, a) in snap.accounts.iter().enumerate() {
            if handles.contains_key(&a.key) {
                return Err(Error::invalid(
                    format!("accounts[{i}].key"),
                    "duplicate",
                    format!("account {} appears twice", a.key),
                ));
            }
            let (h, _) = ledger.account_or_create(&a.key.channel, a.key.slot);
            *h.0.state.lock() = AccountState {
                balance: Balance {
                    capacity: a.balance.capacity,
                    pending: 0,
                    committed: a.balance.committed,
                },
                low_alert: a.low_alert,
                ..AccountState::default()
            };
            handles.insert(a.key.clone(), h);
        }
        let lookup = |field: String, key: &AccountKey| {
            handles.get(key).cloned().ok_or_else(|| {
                Error::invalid(field, "unknown_account", format!("no account {key}"))
            })
        };
        for (i, r) in snap.reservations.iter().enumerate() {
            let h = lookup(format!("reservations[{i}].account"), &r.account)?;
            if r.state.is_pending() {
                h.0.state.lock().add_pending(PendingLeg {
                    expires_at: r.expires_at,
                    id: r.id,
                    units: r.units,
                });
            }
            let leg = Leg {
                account: h,
                batch: r.batch.map(Box::new),
                units: r.units,
                committed: r.committed,
                state: r.state,
                expires_at: r.expires_at,
                ttl_ms: r.ttl_ms,
                finished_ms: 0,
            };
            let mut leg = leg;
            if !r.state.is_pending() {
                leg.set_finished_at(r.finished_at);
            }
            let mut shard = ledger.shards[r.id.shard()].0.lock();
            if shard.map.contains_key(&r.id) {
                return Err(Error::invalid(
                    format!("reservations[{i}].id"),
                    "duplicate",
                    format!("reservation {} appears twice", r.id),
                ));
            }
            shard.map.insert(r.id, Record::Leg(leg));
        }
        for (i, b) in snap.batches.iter().enumerate() {
            let mut items = Vec::with_capacity(b.items.len());
            for (j, (k, u)) in b.items.iter().enumerate() {
                items.push((lookup(format!("batches[{i}].items[{j}]"), k)?, *u));
            }
            let legs = (0..items.len() as u32).map(|j| b.id.leg(j)).collect();
            let mut shard = ledger.shards[b.id.shard()].0.lock();
            if shard.map.contains_key(&b.id) {
                return Err(Error::invalid(
                    format!("batches[{i}].id"),
                    "duplicate",
                    format!("batch {} clashes with another id", b.id),
                ));
            }
            shard.map.insert(
                b.id,
                Record::Batch(Box::new(BatchRecord {
                    items: items.into_boxed_slice(),
                    ttl_ms: b.ttl_ms,
                    legs,
                    expires_at: b.expires_at,
                })),
            );
        }
        for (i, a) in snap.accounts.iter().enumerate() {
            let got = handles[&a.key].0.state.lock().balance.pending;
            if got != a.balance.pending {
                return Err(Error::invalid(
                    format!("accounts[{i}].balance.pending"),
                    "inconsistent",
                    format!(
                        "account {} says {} pending, its reservations hold {got}",
                        a.key, a.balance.pending
                    ),
                ));
            }
        }
        Ok(ledger)
    }
}
