//! The capacity ledger: two-phase reservations that never overbook.
//!
//! Modelled on TigerBeetle's two-phase transfers: an account per channel and
//! time slot holds `capacity`; [`Ledger::reserve`] moves units to *pending*
//! with a TTL; [`Ledger::commit`] posts them (a partial commit releases the
//! rest), [`Ledger::release`] voids them, and expiry (read from the injected
//! [`Clock`]) voids them when the TTL passes; [`Ledger::refund`] gives
//! committed units back later (a reversal). Batches are linked: all legs or
//! none. Every operation is idempotent by [`ReservationId`] for the retention
//! window; time-ordered ids (UUIDv7) make that memory cheap. The invariant
//! `committed + pending <= capacity` holds per account under any interleaving,
//! except after capacity was lowered below what was held, which is reported
//! (never a negative balance). See `docs/ledger.md` for the full semantics.
//!
//! Concurrency: each account has its own lock and reservations live in 64
//! id-sharded stores (an id-sorted ring plus a side map, see `store.rs`), so
//! threads working on distinct channels do not contend.
//! Lock order is always shard → accounts (by address), which rules out deadlock.
//!
//! ```
//! use std::sync::Arc;
//! use uoom::ledger::{Ledger, SlotId, ReservationState};
//! use uoom::{ChannelId, ManualClock, Millis, ErrorKind};
//! let clock = Arc::new(ManualClock::new(Millis(0)));
//! let ledger = Ledger::new(clock.clone());
//! let kitchen = ChannelId::from("kitchen-1");
//! let slot = ledger.slot_of(Millis(0));
//! ledger.set_capacity(&kitchen, slot, 10).unwrap();
//!
//! ledger.reserve(1u128.into(), &kitchen, slot, 6, 30_000).unwrap();
//! let err = ledger.reserve(2u128.into(), &kitchen, slot, 6, 30_000).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Capacity);
//!
//! let done = ledger.commit(1u128.into(), Some(4)).unwrap(); // 2 go back
//! assert_eq!(done.state, ReservationState::Committed);
//! ledger.reserve(3u128.into(), &kitchen, slot, 6, 30_000).unwrap();
//! clock.advance_ms(30_000); // reservation 3 expires
//! assert_eq!(ledger.balance(&kitchen, slot).unwrap().available(), 6);
//! ```

mod account;
mod batch;
mod events;
mod ids;
pub mod lease;
mod ops;
mod reservation;
mod snapshot;
mod store;

pub use account::{AccountHandle, Balance, CapacityChange};
pub use events::{LedgerEvent, ReleaseReason};
pub use ids::{AccountKey, ReservationId, SlotId};
pub use reservation::{Reservation, ReservationState};
pub use snapshot::{AccountSnapshot, BatchSnapshot, LedgerSnapshot, ReservationSnapshot};

use crate::clock::{Clock, Millis};
use crate::error::{Error, Result};
use crate::model::ids::ChannelId;
use account::{AccountCell, AccountState};
use events::RawEvent;
use ids::fnv1a_128;
use parking_lot::{Mutex, RwLock};
use reservation::{Record, Shard, new_shards};
use std::collections::HashMap;
use std::sync::Arc;

/// Default slot length: 15 minutes.
pub const DEFAULT_SLOT_MS: u64 = 15 * 60 * 1000;
/// Default time finished reservations are remembered for idempotent repeats: 24 hours.
pub const DEFAULT_RETENTION_MS: u64 = 24 * 60 * 60 * 1000;
/// Default low-availability alert threshold: availability under 10 % of capacity.
pub const DEFAULT_ALERT_PCT: u32 = 10;

const INDEX_SHARDS: usize = 16;

/// Settings of a [`Ledger`]; build one with [`Ledger::builder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Config {
    pub slot_ms: u64,
    pub retention_ms: u64,
    pub record_events: bool,
    pub alert_pct: u32,
}

/// Builder for a [`Ledger`] with non-default settings.
///
/// ```
/// use std::sync::Arc;
/// use uoom::ledger::Ledger;
/// use uoom::{ManualClock, Millis};
/// let ledger = Ledger::builder(Arc::new(ManualClock::new(Millis(0))))
///     .with_slot_ms(60_000)
///     .with_retention_ms(10_000)
///     .with_events(false)
///     .with_alert_pct(20)
///     .build()
///     .unwrap();
/// assert_eq!(ledger.slot_ms(), 60_000);
/// assert!(Ledger::builder(Arc::new(ManualClock::new(Millis(0)))).with_slot_ms(0).build().is_err());
/// ```
pub struct LedgerBuilder {
    clock: Arc<dyn Clock>,
    cfg: Config,
}

impl LedgerBuilder {
    /// Slot length in ms (default 15 min); must be > 0.
    pub fn with_slot_ms(mut self, ms: u64) -> Self {
        self.cfg.slot_ms = ms;
        self
    }
    /// How long finished reservations are remembered for idempotent repeats (default 24 h).
    pub fn with_retention_ms(mut self, ms: u64) -> Self {
        self.cfg.retention_ms = ms;
        self
    }
    /// Whether events are recorded (default on). Off saves a push per state
    /// change for callers that do not drain them.
    pub fn with_events(mut self, on: bool) -> Self {
        self.cfg.record_events = on;
        self
    }
    /// Alert threshold in percent of capacity (default 10); at most 100.
    pub fn with_alert_pct(mut self, pct: u32) -> Self {
        self.cfg.alert_pct = pct;
        self
    }
    /// Checks the settings and builds the ledger.
    pub fn build(self) -> Result<Ledger> {
        if self.cfg.slot_ms == 0 {
            return Err(Error::invalid(
                "slot_ms",
                "out_of_range",
                "slot length must be > 0 ms",
            ));
        }
        if self.cfg.alert_pct > 100 {
            return Err(Error::invalid(
                "alert_pct",
                "out_of_range",
                "alert threshold must be in [0, 100] percent",
            ));
        }
        Ok(Ledger::from_parts(self.clock, self.cfg))
    }
}

type ChannelSlots = HashMap<u32, AccountHandle>;

/// The capacity ledger. `Send + Sync`: share it with an `Arc`.
///
/// ```
/// fn is_send_sync<T: Send + Sync>() {}
/// is_send_sync::<uoom::ledger::Ledger>();
/// ```
pub struct Ledger {
    clock: Arc<dyn Clock>,
    cfg: Config,
    /// channel id → slot → account, sharded by channel hash.
    index: Box<[RwLock<HashMap<String, ChannelSlots>>]>,
    /// Every account in creation order.
    accounts: RwLock<Vec<AccountHandle>>,
    shards: Box<[Shard]>,
    /// Serialises account creation so ordinals are dense and ordered.
    create: Mutex<()>,
}

impl Ledger {
    /// A ledger with 15-minute slots, reading time from `clock`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let ledger = uoom::ledger::Ledger::new(Arc::new(uoom::SystemClock));
    /// assert_eq!(ledger.slot_ms(), 15 * 60 * 1000);
    /// ```
    pub fn new(clock: Arc<dyn Clock>) -> Ledger {
        Ledger::from_parts(clock, Ledger::default_config())
    }

    /// A ledger with slots of `ms` milliseconds (0 is taken as 1).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::{ManualClock, Millis};
    /// let ledger = uoom::ledger::Ledger::with_slot_ms(Arc::new(ManualClock::new(Millis(0))), 60_000);
    /// assert_eq!(ledger.slot_of(Millis(120_000)).0, 2);
    /// ```
    pub fn with_slot_ms(clock: Arc<dyn Clock>, ms: u64) -> Ledger {
        let mut cfg = Ledger::default_config();
        cfg.slot_ms = ms.max(1);
        Ledger::from_parts(clock, cfg)
    }

    /// A builder for other settings (retention, events, alert threshold).
    pub fn builder(clock: Arc<dyn Clock>) -> LedgerBuilder {
        LedgerBuilder {
            clock,
            cfg: Ledger::default_config(),
        }
    }

    fn default_config() -> Config {
        Config {
            slot_ms: DEFAULT_SLOT_MS,
            retention_ms: DEFAULT_RETENTION_MS,
            record_events: true,
            alert_pct: DEFAULT_ALERT_PCT,
        }
    }

    fn from_parts(clock: Arc<dyn Clock>, cfg: Config) -> Ledger {
        Ledger {
            clock,
            cfg,
            index: (0..INDEX_SHARDS)
                .map(|_| RwLock::new(HashMap::new()))
                .collect(),
            accounts: RwLock::new(Vec::new()),
            shards: new_shards(),
            create: Mutex::new(()),
        }
    }

    /// The slot length in ms.
    pub fn slot_ms(&self) -> u64 {
        self.cfg.slot_ms
    }

    /// The slot containing instant `t` (slots count from the Unix epoch;
    /// saturates at `u32::MAX`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::{ManualClock, Millis};
    /// let ledger = uoom::ledger::Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// assert_eq!(ledger.slot_of(Millis(899_999)).0, 0);
    /// assert_eq!(ledger.slot_of(Millis(900_000)).0, 1);
    /// ```
    pub fn slot_of(&self, t: Millis) -> SlotId {
        SlotId(u32::try_from(t.0 / self.cfg.slot_ms).unwrap_or(u32::MAX))
    }

    /// The current time of the ledger's clock.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    fn index_shard(channel: &str) -> usize {
        (fnv1a_128(channel.as_bytes()) as usize) % INDEX_SHARDS
    }

    /// The account for `(channel, slot)`, resolved once for the handle-based fast path.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ErrorKind, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// let err = ledger.account(&ChannelId::from("nope"), SlotId(0)).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::NotFound);
    /// ```
    pub fn account(&self, channel: &ChannelId, slot: SlotId) -> Result<AccountHandle> {
        let idx = self.index[Ledger::index_shard(channel.as_str())].read();
        idx.get(channel.as_str())
            .and_then(|slots| slots.get(&slot.0))
            .cloned()
            .ok_or_else(|| Error::not_found(format!("account {channel}@{slot}")))
    }

    fn account_or_create(&self, channel: &ChannelId, slot: SlotId) -> (AccountHandle, bool) {
        if let Ok(h) = self.account(channel, slot) {
            return (h, false);
        }
        let _serial = self.create.lock();
        if let Ok(h) = self.account(channel, slot) {
            return (h, false);
        }
        let mut all = self.accounts.write();
        let handle = AccountHandle(Arc::new(AccountCell {
            key: AccountKey {
                channel: channel.clone(),
                slot,
            },
            ordinal: all.len(),
            state: parking_lot::Mutex::new(AccountState::default()),
        }));
        all.push(handle.clone());
        let mut idx = self.index[Ledger::index_shard(channel.as_str())].write();
        idx.entry(channel.0.clone())
            .or_default()
            .insert(slot.0, handle.clone());
        (handle, true)
    }

    /// Creates the account or changes its capacity (a kitchen closing early
    /// lowers it). Lowering below what is held is allowed and reported as
    /// `overcommitted`; no reservation is cancelled, new ones are refused
    /// until availability returns.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// let c = ChannelId::from("c1");
    /// assert_eq!(ledger.set_capacity(&c, SlotId(0), 8).unwrap().new, 8);
    /// assert_eq!(ledger.set_capacity(&c, SlotId(0), 12).unwrap().old, Some(8));
    /// ```
    pub fn set_capacity(
        &self,
        channel: &ChannelId,
        slot: SlotId,
        capacity: u32,
    ) -> Result<CapacityChange> {
        let (h, created) = self.account_or_create(channel, slot);
        let now = self.clock.now();
        let rec = self.cfg.record_events;
        let mut st = h.0.state.lock();
        st.expire_due(now, rec, self.cfg.alert_pct);
        let old = (!created).then_some(st.balance.capacity);
        st.balance.capacity = capacity;
        let overcommitted = st.balance.overcommitted();
        if rec {
            st.events.push(RawEvent::Updated {
                old,
                new: capacity,
                overcommitted,
                at: now,
            });
        }
        st.check_alert(now, self.cfg.alert_pct, rec);
        if overcommitted > 0 {
            tracing::warn!(account = %h.key(), capacity, overcommitted, "capacity lowered below held units");
        }
        Ok(CapacityChange {
            account: h.key().clone(),
            old,
            new: capacity,
            balance: st.balance,
            overcommitted,
        })
    }

    /// The balance of an account, with every expiry due by now applied.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let ledger = Ledger::new(clock.clone());
    /// let c = ChannelId::from("c1");
    /// ledger.set_capacity(&c, SlotId(0), 8).unwrap();
    /// ledger.reserve(1u128.into(), &c, SlotId(0), 3, 100).unwrap();
    /// assert_eq!(ledger.balance(&c, SlotId(0)).unwrap().pending, 3);
    /// clock.advance_ms(100);
    /// assert_eq!(ledger.balance(&c, SlotId(0)).unwrap().pending, 0);
    /// ```
    pub fn balance(&self, channel: &ChannelId, slot: SlotId) -> Result<Balance> {
        Ok(self.balance_of(&self.account(channel, slot)?))
    }

    /// [`Ledger::balance`] by handle.
    pub fn balance_of(&self, h: &AccountHandle) -> Balance {
        let now = self.clock.now();
        let mut st = h.0.state.lock();
        st.expire_due(now, self.cfg.record_events, self.cfg.alert_pct);
        st.balance
    }

    /// Units available now; 0 if there is no such account.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// assert_eq!(ledger.available(&ChannelId::from("none"), SlotId(0)), 0);
    /// ```
    pub fn available(&self, channel: &ChannelId, slot: SlotId) -> u32 {
        self.balance(channel, slot).map_or(0, |b| b.available())
    }

    /// Every account with its utilisation (held / capacity, in [0, 1]), in
    /// account creation order.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// let c = ChannelId::from("c1");
    /// ledger.set_capacity(&c, SlotId(0), 4).unwrap();
    /// ledger.reserve(1u128.into(), &c, SlotId(0), 1, 100).unwrap();
    /// assert_eq!(ledger.utilisation()[0].1, 0.25);
    /// ```
    pub fn utilisation(&self) -> Vec<(AccountKey, f64)> {
        let all = self.accounts.read().clone();
        all.iter()
            .map(|h| (h.key().clone(), self.balance_of(h).utilisation()))
            .collect()
    }

    /// Takes every recorded event, ordered by time (ties: account creation
    /// order, then the order they happened in on that account).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// let c = ChannelId::from("c1");
    /// ledger.set_capacity(&c, SlotId(0), 5).unwrap();
    /// ledger.reserve(1u128.into(), &c, SlotId(0), 2, 1_000).unwrap();
    /// let names: Vec<_> = ledger.drain_events().iter().map(|e| e.name()).collect();
    /// assert_eq!(names, ["CapacityUpdated", "CapacityReserved"]);
    /// assert!(ledger.drain_events().is_empty());
    /// ```
    pub fn drain_events(&self) -> Vec<LedgerEvent> {
        let all = self.accounts.read().clone();
        let mut raw: Vec<(Millis, usize, usize, RawEvent)> = Vec::new();
        for h in &all {
            let taken = std::mem::take(&mut h.0.state.lock().events);
            raw.extend(
                taken
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| (e.at(), h.0.ordinal, i, e)),
            );
        }
        raw.sort_by_key(|(at, ord, i, _)| (*at, *ord, *i));
        raw.into_iter()
            .map(|(_, ord, _, e)| e.with_account(all[ord].key().clone()))
            .collect()
    }

    /// Applies every expiry due by now on every account, marks expired
    /// reservations, and forgets finished ones past the retention window.
    /// Expiry already happens lazily whenever an account is touched; call
    /// this periodically (e.g. each second) to emit expiry events promptly
    /// and bound memory. Returns the number of legs that expired.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::{ChannelId, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let ledger = Ledger::new(clock.clone());
    /// let c = ChannelId::from("c1");
    /// ledger.set_capacity(&c, SlotId(0), 4).unwrap();
    /// ledger.reserve(1u128.into(), &c, SlotId(0), 1, 100).unwrap();
    /// clock.advance_ms(100);
    /// assert_eq!(ledger.expire_due(), 1);
    /// ```
    pub fn expire_due(&self) -> usize {
        let now = self.clock.now();
        let all = self.accounts.read().clone();
        let mut n = 0;
        for h in &all {
            n +=
                h.0.state
                    .lock()
                    .expire_due(now, self.cfg.record_events, self.cfg.alert_pct);
        }
        for shard in self.shards.iter() {
            let mut s = shard.0.lock();
            let mut newly = Vec::new();
            for (id, r) in s.map.iter_mut() {
                if let Record::Leg(l) = r
                    && l.state.is_pending()
                    && l.expires_at <= now
                {
                    l.state = ReservationState::Expired;
                    l.set_finished_at(l.expires_at);
                    newly.push((l.expires_at, *id));
                }
            }
            newly.sort();
            for (t, id) in newly {
                s.map.finished(id, t);
            }
            s.collect(now, self.cfg.retention_ms);
        }
        n
    }

    /// The reservation with this id (a leg id for batch legs).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, ReservationId};
    /// use uoom::{ErrorKind, ManualClock, Millis};
    /// let ledger = Ledger::new(Arc::new(ManualClock::new(Millis(0))));
    /// assert_eq!(ledger.get(ReservationId(1)).unwrap_err().kind(), ErrorKind::NotFound);
    /// ```
    pub fn get(&self, id: ReservationId) -> Result<Reservation> {
        let now = self.clock.now();
        let s = self.shards[id.shard()].0.lock();
        match s.map.get(&id) {
            Some(Record::Leg(l)) => Ok(l.view(id, now)),
            Some(Record::Batch(_)) => Err(batch_id_error(id)),
            None => Err(Error::not_found(format!("reservation {id}"))),
        }
    }
}

fn batch_id_error(id: ReservationId) -> Error {
    Error::invalid(
        "id",
        "batch_id",
        format!("{id} names a batch: use its legs or the *_batch operations"),
    )
}

/// The single reservation (not batch) `id` names, for an operation on it.
#[inline]
fn leg_mut(map: &mut store::IdStore, id: ReservationId) -> Result<&mut reservation::Leg> {
    match map.get_mut(&id) {
        Some(Record::Leg(l)) => Ok(l),
        Some(Record::Batch(_)) => Err(batch_id_error(id)),
        None => Err(Error::not_found(format!("reservation {id}"))),
    }
}
