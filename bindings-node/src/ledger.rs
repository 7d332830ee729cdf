//! The two-phase capacity ledger as a JS class: reserve → commit | release |
//! expire, per channel and time slot, idempotent by reservation id.

use crate::clock::{ClockChoice, ClockOptions, ms, to_ms};
use crate::errors::{ErrorInfo, OrThrow};
use crate::input::JsonInput;
use napi::bindgen_prelude::*;
use uoom::ledger::{self as core, Ledger as CoreLedger, ReservationId, SlotId};
use uoom::wire::{Case, ReservationKey, ReservationView, ReserveRequest as WireRequest};
use uoom::{ChannelId, Millis};

/// Options of `new Ledger(...)`.
#[napi(object)]
#[derive(Clone, Copy, Default)]
pub struct LedgerOptions {
    /// Slot length in ms (default 15 minutes).
    pub slot_ms: Option<f64>,
    /// Alert when availability drops under this percentage (default 10).
    pub alert_pct: Option<u32>,
    /// Use a manual clock (advanced with `advanceMs`) instead of wall time.
    pub manual_clock: Option<bool>,
    /// Start of the manual clock, ms since the epoch (default 0).
    pub start_ms: Option<f64>,
}

/// An account's balance; `committed + pending <= capacity` always holds
/// unless capacity was lowered below it (then `overcommitted > 0`).
#[napi(object)]
pub struct Balance {
    /// Units the account can take.
    pub capacity: u32,
    /// Units held by pending reservations.
    pub pending: u32,
    /// Units committed.
    pub committed: u32,
    /// `capacity - pending - committed`, never negative.
    pub available: u32,
    /// Units held beyond capacity after a capacity cut.
    pub overcommitted: u32,
}

impl From<core::Balance> for Balance {
    fn from(b: core::Balance) -> Self {
        Balance {
            capacity: b.capacity,
            pending: b.pending,
            committed: b.committed,
            available: b.available(),
            overcommitted: b.overcommitted(),
        }
    }
}

/// The result of `setCapacity`.
#[napi(object)]
pub struct CapacityChange {
    /// Channel id.
    pub channel: String,
    /// Slot index.
    pub slot: u32,
    /// Capacity before (absent for a new account).
    pub old: Option<u32>,
    /// Capacity now.
    pub new: u32,
    /// Balance after the change.
    pub balance: Balance,
    /// Units held beyond the new capacity (a kitchen closing early).
    pub overcommitted: u32,
}

impl From<core::CapacityChange> for CapacityChange {
    fn from(c: core::CapacityChange) -> Self {
        CapacityChange {
            channel: c.account.channel.0.clone(),
            slot: c.account.slot.0,
            old: c.old,
            new: c.new,
            balance: c.balance.into(),
            overcommitted: c.overcommitted,
        }
    }
}

/// A reservation as the ledger sees it now.
#[napi(object)]
pub struct Reservation {
    /// The id it was made with (`id#leg` for a leg of a batch).
    pub id: String,
    /// The ledger's id (a hash of the id it was made with), as text.
    pub ledger_id: String,
    /// The batch of a leg, as the ledger's id.
    pub batch: Option<String>,
    /// Channel id.
    pub channel: String,
    /// Slot index.
    pub slot: u32,
    /// Units reserved.
    pub units: u32,
    /// Units committed (0 until committed).
    pub committed: u32,
    /// `pending` | `committed` | `released` | `expired` | `refunded`.
    #[napi(ts_type = "'pending' | 'committed' | 'released' | 'expired' | 'refunded'")]
    pub state: String,
    /// When it was made, ms.
    pub created_at_ms: f64,
    /// When it lapses if not committed, ms.
    pub expires_at_ms: f64,
}

fn view(id: String, r: &core::Reservation) -> Reservation {
    let v = ReservationView::new(None, r);
    Reservation {
        id,
        ledger_id: v.ledger_id,
        batch: v.batch,
        channel: v.channel,
        slot: v.slot,
        units: v.units,
        committed: v.committed,
        state: v.state.to_owned(),
        created_at_ms: ms(Millis(v.created_at_ms)),
        expires_at_ms: ms(Millis(v.expires_at_ms)),
    }
}

/// `op` on one reservation's id, its outcome as a view (or thrown).
fn on_one(
    env: &Env,
    id: String,
    op: impl FnOnce(ReservationId) -> uoom::Result<core::Reservation>,
) -> Result<Reservation> {
    let r = op(ReservationId::from(id.as_str())).or_throw(env)?;
    Ok(view(id, &r))
}

/// `op` on a batch's id, its legs as views (or thrown).
fn on_batch(
    env: &Env,
    id: &str,
    op: impl FnOnce(ReservationId) -> uoom::Result<Vec<core::Reservation>>,
) -> Result<Vec<Reservation>> {
    let rs = op(ReservationId::from(id)).or_throw(env)?;
    Ok(legs(id, &rs))
}

fn legs(id: &str, rs: &[core::Reservation]) -> Vec<Reservation> {
    rs.iter()
        .enumerate()
        .map(|(i, r)| view(format!("{id}#{i}"), r))
        .collect()
}

/// One leg of `reserveBatch`.
#[napi(object)]
pub struct BatchItem {
    /// Channel id.
    pub channel: String,
    /// Slot index.
    pub slot: u32,
    /// Units to hold.
    pub units: u32,
}

/// One independent reservation of `reserveMany` (the reservation request
/// of `uoom::wire`, in camelCase; unknown keys are refused).
#[napi(object, object_to_js = false)]
#[allow(dead_code)] // a shape for index.d.ts: requests are read by uoom::wire
pub struct ReserveRequest {
    /// Idempotency key: a string or a non-negative integer.
    #[napi(ts_type = "string | number")]
    pub id: String,
    /// Channel id.
    pub channel: String,
    /// Units to hold (>= 1).
    pub units: u32,
    /// Slot index (default 0).
    pub slot: Option<u32>,
    /// Time to live in ms (default 30 s).
    pub ttl_ms: Option<f64>,
}

/// The outcome of one entry of `reserveMany`: a reservation or an error.
#[napi(object)]
pub struct ReserveResult {
    /// True when reserved.
    pub ok: bool,
    /// The reservation when `ok`.
    pub reservation: Option<Reservation>,
    /// The error otherwise (`UOOM_CAPACITY`, `UOOM_CONFLICT`, …).
    pub error: Option<ErrorInfo>,
}

/// One account's utilisation.
#[napi(object)]
pub struct Utilisation {
    /// Channel id.
    pub channel: String,
    /// Slot index.
    pub slot: u32,
    /// `(pending + committed) / capacity`, in [0, 1].
    pub utilisation: f64,
}

/// Capacity per channel and time slot with two-phase reservations. Safe to
/// share: every method is short and synchronous (microseconds), so none is
/// worth a thread hop; batch methods cross the boundary once per batch.
#[napi]
pub struct Ledger {
    inner: CoreLedger,
    clock: ClockChoice,
}

#[napi]
impl Ledger {
    /// A ledger with 15-minute slots on the system clock unless told otherwise.
    #[napi(constructor)]
    pub fn new(env: Env, options: Option<LedgerOptions>) -> Result<Self> {
        let o = options.unwrap_or_default();
        let clock = ClockOptions {
            manual_clock: o.manual_clock,
            start_ms: o.start_ms,
        }
        .build();
        let mut b = CoreLedger::builder(clock.shared());
        if let Some(s) = o.slot_ms {
            b = b.with_slot_ms(to_ms("slotMs", s).or_throw(&env)?);
        }
        if let Some(p) = o.alert_pct {
            b = b.with_alert_pct(p);
        }
        Ok(Ledger {
            inner: b.build().or_throw(&env)?,
            clock,
        })
    }

    /// Rebuilds a ledger from `snapshot()`'s JSON (pending reservations whose
    /// expiry passed meanwhile expire on first touch).
    #[napi(factory)]
    pub fn restore(env: Env, snapshot: String, options: Option<ClockOptions>) -> Result<Self> {
        let snap = serde_json::from_str(&snapshot)
            .map_err(|e| uoom::Error::invalid("snapshot", "invalid_json", e.to_string()))
            .or_throw(&env)?;
        let clock = options.unwrap_or_default().build();
        let inner = CoreLedger::restore(clock.shared(), snap).or_throw(&env)?;
        Ok(Ledger { inner, clock })
    }

    /// The whole state as JSON, for `Ledger.restore`.
    #[napi]
    pub fn snapshot(&self, env: Env) -> Result<String> {
        serde_json::to_string(&self.inner.snapshot())
            .map_err(|e| uoom::Error::io_with("ledger snapshot to JSON", e))
            .or_throw(&env)
    }

    /// The slot holding instant `timeMs`.
    #[napi]
    pub fn slot_of(&self, env: Env, time_ms: f64) -> Result<u32> {
        let t = to_ms("timeMs", time_ms).or_throw(&env)?;
        Ok(self.inner.slot_of(uoom::Millis(t)).0)
    }

    /// The slot of the ledger's clock's now.
    #[napi]
    pub fn current_slot(&self) -> u32 {
        self.inner.slot_of(self.inner.now()).0
    }

    /// The clock's now, ms.
    #[napi]
    pub fn now_ms(&self) -> f64 {
        self.clock.now_ms()
    }

    /// Advances a manual clock (expiries apply as soon as time passes them);
    /// `UOOM_CONFLICT` on the system clock. Returns the new now.
    #[napi]
    pub fn advance_ms(&self, env: Env, ms: f64) -> Result<f64> {
        self.clock.advance_ms(ms).or_throw(&env)
    }

    /// Creates an account or changes its capacity (lowering below what is
    /// held is allowed and reported as `overcommitted`); `slot` defaults to 0.
    #[napi]
    pub fn set_capacity(
        &self,
        env: Env,
        channel: String,
        capacity: u32,
        slot: Option<u32>,
    ) -> Result<CapacityChange> {
        self.inner
            .set_capacity(
                &ChannelId::from(channel),
                SlotId(slot.unwrap_or(0)),
                capacity,
            )
            .map(Into::into)
            .or_throw(&env)
    }

    /// Holds `units` until commit, release or `ttlMs`. Repeating with the same
    /// id returns the first result; the same id with other contents is
    /// `UOOM_CONFLICT`; not enough room is `UOOM_CAPACITY`; an unknown
    /// account is `UOOM_NOT_FOUND`. `slot` defaults to 0, `ttlMs` to 30 s
    /// (the same order as Python's `reserve(id, channel, units, slot=0, ttl_ms=30000)`).
    #[napi]
    pub fn reserve(
        &self,
        env: Env,
        id: String,
        channel: String,
        units: u32,
        slot: Option<u32>,
        ttl_ms: Option<f64>,
    ) -> Result<Reservation> {
        let ttl = match ttl_ms {
            Some(t) => to_ms("ttlMs", t).or_throw(&env)?,
            None => uoom::wire::DEFAULT_TTL_MS,
        };
        let r = self
            .inner
            .reserve(
                ReservationId::from(id.as_str()),
                &ChannelId::from(channel),
                SlotId(slot.unwrap_or(0)),
                units,
                ttl,
            )
            .or_throw(&env)?;
        Ok(view(id, &r))
    }

    /// Many independent reservations in one call. Each request is
    /// `{id, channel, units, slot?, ttlMs?}` (slot 0 and 30 s by default); a
    /// malformed request throws `UOOM_VALIDATION` listing every problem of
    /// every request (`items[2].units`) before anything is reserved. Then each
    /// entry succeeds or fails on its own (a full channel does not throw).
    #[napi(ts_args_type = "requests: Array<ReserveRequest>")]
    pub fn reserve_many(&self, env: Env, requests: JsonInput) -> Result<Vec<ReserveResult>> {
        let requests = requests
            .value()
            .and_then(|v| WireRequest::parse_list(&v, Case::Camel))
            .or_throw(&env)?;
        Ok(requests
            .into_iter()
            .map(|q| {
                let id = match &q.id {
                    ReservationKey::Str(s) => s.clone(),
                    ReservationKey::Int(v) => v.to_string(),
                };
                match self
                    .inner
                    .reserve(q.id.id(), &q.channel, q.slot, q.units, q.ttl_ms)
                {
                    Ok(r) => ReserveResult {
                        ok: true,
                        reservation: Some(view(id, &r)),
                        error: None,
                    },
                    Err(e) => ReserveResult {
                        ok: false,
                        reservation: None,
                        error: Some(ErrorInfo::from(&e)),
                    },
                }
            })
            .collect())
    }

    /// Reserves several (channel, slot, units) all-or-nothing under one id;
    /// the error names the item that failed (`items[2]`).
    #[napi]
    pub fn reserve_batch(
        &self,
        env: Env,
        id: String,
        items: Vec<BatchItem>,
        ttl_ms: f64,
    ) -> Result<Vec<Reservation>> {
        let ttl = to_ms("ttlMs", ttl_ms).or_throw(&env)?;
        let items: Vec<_> = items
            .into_iter()
            .map(|i| (ChannelId::from(i.channel), SlotId(i.slot), i.units))
            .collect();
        let rs = self
            .inner
            .reserve_batch(ReservationId::from(id.as_str()), &items, ttl)
            .or_throw(&env)?;
        Ok(legs(&id, &rs))
    }

    /// Commits every leg of a batch.
    #[napi]
    pub fn commit_batch(&self, env: Env, id: String) -> Result<Vec<Reservation>> {
        on_batch(&env, &id, |rid| self.inner.commit_batch(rid))
    }

    /// Releases every pending leg of a batch.
    #[napi]
    pub fn release_batch(&self, env: Env, id: String) -> Result<Vec<Reservation>> {
        on_batch(&env, &id, |rid| self.inner.release_batch(rid))
    }

    /// Commits a pending reservation, all of it or `units` (the rest goes back).
    #[napi]
    pub fn commit(&self, env: Env, id: String, units: Option<u32>) -> Result<Reservation> {
        on_one(&env, id, |rid| self.inner.commit(rid, units))
    }

    /// Releases a pending reservation.
    #[napi]
    pub fn release(&self, env: Env, id: String) -> Result<Reservation> {
        on_one(&env, id, |rid| self.inner.release(rid))
    }

    /// Refunds a committed reservation (an order cancelled after it was
    /// confirmed): its committed units become available again and it is
    /// `refunded`. Repeating it returns the same reservation; a pending,
    /// released or expired one is `UOOM_CONFLICT`.
    #[napi]
    pub fn refund(&self, env: Env, id: String) -> Result<Reservation> {
        on_one(&env, id, |rid| self.inner.refund(rid))
    }

    /// A reservation by id.
    #[napi]
    pub fn get(&self, env: Env, id: String) -> Result<Reservation> {
        on_one(&env, id, |rid| self.inner.get(rid))
    }

    /// The balance of an account (`UOOM_NOT_FOUND` if none); `slot` defaults to 0.
    #[napi]
    pub fn balance(&self, env: Env, channel: String, slot: Option<u32>) -> Result<Balance> {
        self.inner
            .balance(&ChannelId::from(channel), SlotId(slot.unwrap_or(0)))
            .map(Into::into)
            .or_throw(&env)
    }

    /// Units available in an account (0 if none); `slot` defaults to 0.
    #[napi]
    pub fn available(&self, channel: String, slot: Option<u32>) -> u32 {
        self.inner
            .available(&ChannelId::from(channel), SlotId(slot.unwrap_or(0)))
    }

    /// Utilisation of every account.
    #[napi]
    pub fn utilisation(&self) -> Vec<Utilisation> {
        self.inner
            .utilisation()
            .into_iter()
            .map(|(k, u)| Utilisation {
                channel: k.channel.0.clone(),
                slot: k.slot.0,
                utilisation: u,
            })
            .collect()
    }

    /// Applies every expiry due now; returns how many reservations expired.
    #[napi]
    pub fn expire_due(&self) -> u32 {
        self.inner.expire_due() as u32
    }

    /// Takes the events recorded since the last call (`CapacityReserved`,
    /// `CapacityCommitted`, `CapacityReleased`, `CapacityUpdated`,
    /// `LowCapacityAlert`), oldest first.
    #[napi]
    pub fn drain_events(&self) -> Vec<LedgerEvent> {
        self.inner
            .drain_events()
            .iter()
            .map(LedgerEvent::from)
            .collect()
    }
}

impl Ledger {
    /// The core ledger, for other classes of this package (`Ranker.syncHeadroom`).
    pub fn core(&self) -> &CoreLedger {
        &self.inner
    }
}

/// Something that happened to an account. Fields beyond `type`, `channel`,
/// `slot` and `atMs` depend on the type.
#[napi(object)]
#[derive(Default)]
pub struct LedgerEvent {
    /// `CapacityReserved` | `CapacityCommitted` | `CapacityReleased` |
    /// `CapacityUpdated` | `LowCapacityAlert`.
    #[napi(js_name = "type")]
    pub kind: String,
    /// Channel id of the account.
    pub channel: String,
    /// Slot of the account.
    pub slot: u32,
    /// When it happened, ms.
    pub at_ms: f64,
    /// The ledger's id of the reservation (a hash of the id you gave).
    pub reservation: Option<String>,
    /// The batch of a reserved leg.
    pub batch: Option<String>,
    /// Units reserved, committed or released.
    pub units: Option<u32>,
    /// Expiry of a reservation, ms.
    pub expires_at_ms: Option<f64>,
    /// Why units were released: `released` | `expired` | `partial_commit` | `refunded`.
    pub reason: Option<String>,
    /// Capacity before an update.
    pub old: Option<u32>,
    /// Capacity after an update.
    pub new: Option<u32>,
    /// Units held beyond capacity after an update.
    pub overcommitted: Option<u32>,
    /// Units available when an alert fired.
    pub available: Option<u32>,
    /// Capacity when an alert fired.
    pub capacity: Option<u32>,
}

impl From<&core::LedgerEvent> for LedgerEvent {
    fn from(e: &core::LedgerEvent) -> Self {
        use core::LedgerEvent as E;
        let key = e.account();
        let mut out = LedgerEvent {
            kind: e.name().to_owned(),
            channel: key.channel.0.clone(),
            slot: key.slot.0,
            at_ms: ms(e.at()),
            ..Default::default()
        };
        match e {
            E::CapacityReserved {
                id,
                batch,
                units,
                expires_at,
                ..
            } => {
                out.reservation = Some(id.to_string());
                out.batch = batch.map(|b| b.to_string());
                out.units = Some(*units);
                out.expires_at_ms = Some(ms(*expires_at));
            }
            E::CapacityCommitted { id, units, .. } => {
                out.reservation = Some(id.to_string());
                out.units = Some(*units);
            }
            E::CapacityReleased {
                id, units, reason, ..
            } => {
                out.reservation = Some(id.to_string());
                out.units = Some(*units);
                out.reason = Some(
                    match reason {
                        core::ReleaseReason::Released => "released",
                        core::ReleaseReason::Expired => "expired",
                        core::ReleaseReason::PartialCommit => "partial_commit",
                        core::ReleaseReason::Refunded => "refunded",
                    }
                    .to_owned(),
                );
            }
            E::CapacityUpdated {
                old,
                new,
                overcommitted,
                ..
            } => {
                out.old = *old;
                out.new = Some(*new);
                out.overcommitted = Some(*overcommitted);
            }
            E::LowCapacityAlert {
                available,
                capacity,
                ..
            } => {
                out.available = Some(*available);
                out.capacity = Some(*capacity);
            }
        }
        out
    }
}
