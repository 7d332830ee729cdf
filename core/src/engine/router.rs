//! The router: one order (or a batch) from request to outcome.
//!
//! `submit` validates the request into an order, picks candidate channels
//! (ranked top-k on the real-time path, the solver's assignment on the batch
//! path), and runs the saga of [`super::saga`] on them: reserve capacity,
//! book the channel, commit, with compensation on any failure. State and
//! events are written together through the [`WriteModel`] port.
//!
//! A router is single-threaded (`&mut self`, no locks of its own); run one per
//! city or per disjoint channel set on each thread to use more cores.

use super::breaker::{Breaker, BreakerConfig, BreakerState};
use super::decision::Outcome;
use super::fallback::RoundRobin;
use super::idgen::IdGen;
use super::memory::{MemoryReadModel, MemoryStore};
use super::metrics::{Gauges, Metrics};
use super::needs::DEFAULT_DEADLINE_MIN;
use super::ports::{
    CapacityPlacement, ChannelGateway, Outbox, OwnedUnitOfWork, StatusReadModel, StatusView,
    UnitOfWork, WriteModel,
};
use super::saga::Saga;
use super::step::{Advance, CancelCall};
use super::turns::Lookup;
use crate::events::{Aggregate, DomainEvent, EventPayload};
use crate::ledger::lease::LeasedLedger;
use crate::ledger::{AccountHandle, Ledger, SlotId};
use crate::rank::{RankWeights, Ranked, Ranker};
use crate::solve::{Demand, Weights};
use crate::{
    Channel, Clock, CreateOrderRequest, Error, Millis, Order, OrderId, OrderStatus, Result,
    SystemClock,
};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

/// When the real-time path first writes an accepted order.
///
/// Each write is one unit of work (order, events, idempotency record) that
/// the caller waits for; over PostgreSQL each is a group commit, so this
/// choice decides whether an order costs the caller one commit or two.
/// The batch path always writes at intake: an order waiting for its batch
/// window must be durable while it waits.
///
/// ```
/// use std::sync::Arc;
/// use uoom::engine::{IntakeWrite, MemoryStore, Outbox, Router, SimGateway};
/// use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis};
/// let clock = Arc::new(ManualClock::new(Millis(0)));
/// let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
///     .with_capacity(10).build().unwrap();
/// let store = Arc::new(MemoryStore::default());
/// let mut router = Router::builder(vec![kitchen], Arc::new(SimGateway::new(clock.clone(), 1)))
///     .with_clock(clock)
///     .with_store(store.clone(), store.clone())
///     .with_intake_write(IntakeWrite::WithOutcome)
///     .build().unwrap();
/// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
/// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
/// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
/// #                       "latitude": 40.712, "longitude": -74.006}}"#;
/// let outcome = router.submit_json(body, None).unwrap();
/// assert!(outcome.is_confirmed());
/// // Created, validated, reserved, assigned, committed, confirmed: one write.
/// assert!(store.depth() >= 6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntakeWrite {
    /// Commit the validated order, its first events and its idempotency
    /// record (with the pending outcome) before routing starts, then the
    /// outcome in a second unit. The order is durable before any partner is
    /// booked: after a crash mid-saga it is found `VALIDATED`, and a retry
    /// with the same idempotency key is answered from that record instead
    /// of creating a second order. The status read model shows `VALIDATED`
    /// while routing runs. Two commits per order.
    #[default]
    BeforeRouting,
    /// Route first, then commit the order, all its events and its
    /// idempotency record (with the final outcome) in one unit of work. One
    /// commit per order, and the caller waits for one group commit instead
    /// of two. A crash between a partner's booking and that commit leaves
    /// nothing of the order in the write model: the booking is not
    /// compensated, and a retry with the same key routes the order afresh
    /// (under a new id). Fits when bookings are in-process or idempotent on
    /// the partner's side, or when the latency budget cannot hold two
    /// commits.
    WithOutcome,
}

/// Everything a router can be configured with; see [`RouterBuilder`].
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// How long a reservation holds before it lapses, in ms.
    pub reservation_ttl_ms: u64,
    /// How long a partner may take to book, in ms.
    pub booking_timeout_ms: u64,
    /// Breaker thresholds.
    pub breaker: BreakerConfig,
    /// Candidates tried on the real-time path before falling back.
    pub top_k: usize,
    /// Extra round-robin candidates tried when every ranked one failed.
    pub fallback_attempts: usize,
    /// Batch window in ms; `None` routes every order at once.
    pub batch_window_ms: Option<u64>,
    /// [`Router::poll`] routes a batch early once it holds this many orders.
    pub batch_max: usize,
    /// Time budget of the batch solver, in ms.
    pub solver_budget_ms: u64,
    /// Objective weights of the batch solver (the benchmark spec's).
    pub weights: Weights,
    /// Criterion weights of the real-time ranking (see [`crate::rank`]).
    pub rank_weights: RankWeights,
    /// Penalty per priority unit of leaving an order unassigned in a batch.
    pub unassigned_penalty: f64,
    /// Set each channel's ledger capacity for a new slot from
    /// [`Channel::capacity`] (off when capacity is managed in the ledger).
    pub capacity_from_channels: bool,
    /// When the real-time path first writes an accepted order.
    pub intake_write: IntakeWrite,
    /// Hand every write and idempotency lookup of the real-time path to
    /// the host as steps ([`Router::start`]) instead of calling the
    /// synchronous ports (see [`super::step`]).
    pub deferred_writes: bool,
    /// On leases: the write model applies each confirmed order's lease
    /// commit in the order's own transaction (the router settles it once
    /// written) instead of the router committing with the authority just
    /// before the save. Set from [`WriteModel::applies_lease_commits`] (or
    /// the host's asynchronous write model) unless given.
    pub lease_commits_in_writes: bool,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            reservation_ttl_ms: 30_000,
            booking_timeout_ms: 2_000,
            breaker: BreakerConfig::default(),
            top_k: 3,
            fallback_attempts: 2,
            batch_window_ms: None,
            batch_max: 512,
            solver_budget_ms: 20,
            weights: Weights::default(),
            rank_weights: RankWeights::default(),
            unassigned_penalty: 100.0,
            capacity_from_channels: true,
            intake_write: IntakeWrite::BeforeRouting,
            deferred_writes: false,
            lease_commits_in_writes: false,
        }
    }
}

/// Builds a [`Router`] with `with_*` setters; everything but the channels
/// and the gateway has an embedded default (system clock, in-memory stores,
/// a ledger with 15-minute slots).
///
/// ```
/// use std::sync::Arc;
/// use uoom::engine::{Router, SimGateway};
/// use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis};
/// let clock = Arc::new(ManualClock::new(Millis(0)));
/// let c = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
///     .with_capacity(10).build().unwrap();
/// let router = Router::builder(vec![c], Arc::new(SimGateway::new(clock.clone(), 1)))
///     .with_clock(clock)
///     .with_reservation_ttl_ms(10_000)
///     .with_top_k(2)
///     .with_id_seed(9)
///     .build()
///     .unwrap();
/// assert_eq!(router.channels().len(), 1);
/// ```
pub struct RouterBuilder {
    channels: Vec<Channel>,
    gateway: Arc<dyn ChannelGateway>,
    clock: Arc<dyn Clock>,
    ledger: Option<Arc<Ledger>>,
    leases: Option<Arc<LeasedLedger>>,
    lease_commits_in_writes: Option<bool>,
    slot_ms: u64,
    store: Option<(Arc<dyn WriteModel>, Arc<dyn Outbox>)>,
    read: Option<Arc<dyn StatusReadModel>>,
    ids: Option<IdGen>,
    config: RouterConfig,
}

impl RouterBuilder {
    /// The clock everything reads (default: the system clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// A shared ledger (default: a private one with [`RouterBuilder::with_slot_ms`] slots).
    pub fn with_ledger(mut self, ledger: Arc<Ledger>) -> Self {
        self.ledger = Some(ledger);
        self
    }
    /// Reserves, releases, expires and commits capacity through `leases`,
    /// a replica's quota of capacity leased from an authority shared with
    /// other replicas, instead of the router's own [`Ledger`] (which then
    /// only names the slots: see [`RouterBuilder::with_slot_ms`]; every
    /// replica must use the same slot length). The authority holds the
    /// capacity, so the router seeds none; ranking sees the quota's
    /// headroom. A confirmed order's capacity is committed fenced by its
    /// lease's epoch, in the order's own transaction when the write model
    /// applies lease commits ([`WriteModel::applies_lease_commits`]); a
    /// fence refusal fails the order with
    /// [`FailureReason::StaleLease`](crate::events::FailureReason::StaleLease)
    /// and cancels its booking. Not with a batch window. Cancelling a
    /// confirmed order does not give its committed units back (the
    /// authority takes no refunds).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::engine::{Router, SimGateway};
    /// use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger, MemoryAuthority};
    /// use uoom::ledger::SlotId;
    /// use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let authority = Arc::new(MemoryAuthority::new(clock.clone()));
    /// let k = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    ///     .with_capacity(10).build().unwrap();
    /// authority.set_capacity(&k.id, SlotId(0), 1).unwrap();
    /// let leases = Arc::new(LeasedLedger::new("api-1", authority.clone(), clock.clone(), LeaseSettings::default()).unwrap());
    /// let mut router = Router::builder(vec![k], Arc::new(SimGateway::new(clock.clone(), 1)))
    ///     .with_clock(clock).with_leases(leases).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// assert!(router.submit_json(body, None).unwrap().is_confirmed());
    /// // The authority's capacity, not the channel's nominal 10, decides.
    /// assert!(!router.submit_json(body, None).unwrap().is_confirmed());
    /// assert_eq!(authority.state(&"k1".into(), SlotId(0)).unwrap().committed, 1);
    /// ```
    pub fn with_leases(mut self, leases: Arc<LeasedLedger>) -> Self {
        self.leases = Some(leases);
        self
    }
    /// Whether the write model applies lease commits in the order's
    /// transaction (default: what the write model says; see
    /// [`RouterConfig::lease_commits_in_writes`]). For a host that drives a
    /// router with deferred writes over its own store.
    pub fn with_lease_commits_in_writes(mut self, on: bool) -> Self {
        self.lease_commits_in_writes = Some(on);
        self
    }
    /// Slot length of the private ledger, in ms (default 15 minutes).
    pub fn with_slot_ms(mut self, ms: u64) -> Self {
        self.slot_ms = ms.max(1);
        self
    }
    /// The write model and the outbox it writes to (default: one [`MemoryStore`]).
    pub fn with_store(mut self, write: Arc<dyn WriteModel>, outbox: Arc<dyn Outbox>) -> Self {
        self.store = Some((write, outbox));
        self
    }
    /// The status read model (default: a [`MemoryReadModel`]).
    pub fn with_read_model(mut self, read: Arc<dyn StatusReadModel>) -> Self {
        self.read = Some(read);
        self
    }
    /// Seeds order and event ids, for replayable runs (default: random).
    pub fn with_id_seed(mut self, seed: u64) -> Self {
        self.ids = Some(IdGen::seeded(seed));
        self
    }
    /// Reservation TTL in ms.
    pub fn with_reservation_ttl_ms(mut self, ms: u64) -> Self {
        self.config.reservation_ttl_ms = ms;
        self
    }
    /// Booking timeout in ms.
    pub fn with_booking_timeout_ms(mut self, ms: u64) -> Self {
        self.config.booking_timeout_ms = ms;
        self
    }
    /// Breaker thresholds.
    pub fn with_breaker(mut self, breaker: BreakerConfig) -> Self {
        self.config.breaker = breaker;
        self
    }
    /// Ranked candidates tried per order on the real-time path.
    pub fn with_top_k(mut self, k: usize) -> Self {
        self.config.top_k = k.max(1);
        self
    }
    /// Round-robin candidates tried after the ranked ones failed.
    pub fn with_fallback_attempts(mut self, n: usize) -> Self {
        self.config.fallback_attempts = n;
        self
    }
    /// Batch window in ms (`None`: real-time only).
    pub fn with_batch_window_ms(mut self, ms: Option<u64>) -> Self {
        self.config.batch_window_ms = ms;
        self
    }
    /// Largest batch before an early flush.
    pub fn with_batch_max(mut self, n: usize) -> Self {
        self.config.batch_max = n.max(1);
        self
    }
    /// Solver time budget per batch in ms.
    pub fn with_solver_budget_ms(mut self, ms: u64) -> Self {
        self.config.solver_budget_ms = ms;
        self
    }
    /// Score weights.
    pub fn with_weights(mut self, w: Weights) -> Self {
        self.config.weights = w;
        self
    }
    /// Criterion weights of the real-time ranking.
    pub fn with_rank_weights(mut self, w: RankWeights) -> Self {
        self.config.rank_weights = w;
        self
    }
    /// Whether to seed ledger capacity per slot from the channels.
    pub fn with_capacity_from_channels(mut self, on: bool) -> Self {
        self.config.capacity_from_channels = on;
        self
    }
    /// When the real-time path first writes an accepted order (default
    /// [`IntakeWrite::BeforeRouting`]; see [`IntakeWrite`]).
    pub fn with_intake_write(mut self, w: IntakeWrite) -> Self {
        self.config.intake_write = w;
        self
    }
    /// Hands the real-time path's storage I/O to the host as steps
    /// (default off): [`Router::start`] and its [`super::Turn`]s then ask
    /// for each unit of work ([`super::SaveCall`]) and idempotency lookup
    /// ([`super::LookupCall`]) instead of calling the synchronous write
    /// model, so a host can await an asynchronous store. Such a router is
    /// driven only through `start`, `booked`, `saved`, `looked_up` and
    /// `abandoned` ([`super::AsyncRouter::with_stores`] does it); `submit`,
    /// `begin`, `advance` and a batch window are refused.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let k = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// let router = Router::builder(vec![k.clone()], Arc::new(SimGateway::new(clock.clone(), 1)))
    ///     .with_deferred_writes(true).build().unwrap();
    /// assert!(router.config().deferred_writes);
    /// let batched = Router::builder(vec![k], Arc::new(SimGateway::new(clock, 1)))
    ///     .with_deferred_writes(true).with_batch_window_ms(Some(100)).build();
    /// assert_eq!(batched.unwrap_err().kind(), uoom::ErrorKind::Validation);
    /// ```
    pub fn with_deferred_writes(mut self, on: bool) -> Self {
        self.config.deferred_writes = on;
        self
    }

    /// Checks the channels and builds the router.
    pub fn build(self) -> Result<Router> {
        let mut errs = Vec::new();
        for (i, c) in self.channels.iter().enumerate() {
            errs.extend(c.check(&format!("channels[{i}]")));
        }
        if self.leases.is_some() && self.config.batch_window_ms.is_some() {
            errs.push(crate::FieldError::new(
                "leases",
                "batch_window",
                "a router on leases routes in real time; batches solve over one process's ledger",
            ));
        }
        if self.config.deferred_writes && self.config.batch_window_ms.is_some() {
            errs.push(crate::FieldError::new(
                "deferred_writes",
                "batch_window",
                "a router with a batch window writes its batches itself; deferred writes are for the real-time path",
            ));
        }
        if !errs.is_empty() {
            return Err(Error::Validation(errs));
        }
        let ledger = match self.ledger {
            Some(l) => l,
            None => Arc::new(
                Ledger::builder(self.clock.clone())
                    .with_slot_ms(self.slot_ms)
                    .with_events(false)
                    .build()?,
            ),
        };
        let (write, outbox) = self.store.unwrap_or_else(|| {
            let s = Arc::new(MemoryStore::default());
            (s.clone() as Arc<dyn WriteModel>, s as Arc<dyn Outbox>)
        });
        let n = self.channels.len();
        let ranker = Ranker::new(self.channels.clone(), self.clock.clone())?;
        let mut config = self.config;
        config.lease_commits_in_writes = self
            .lease_commits_in_writes
            .unwrap_or_else(|| write.applies_lease_commits());
        Ok(Router {
            ranker,
            ranked: Vec::with_capacity(config.top_k),
            breakers: vec![Breaker::new(config.breaker); n],
            open: Vec::new(),
            rr: RoundRobin::default(),
            ids: self.ids.unwrap_or_else(IdGen::random),
            slot: None,
            accounts: Vec::with_capacity(n),
            metrics: Metrics::default(),
            batch: Vec::new(),
            batch_started: Millis(0),
            candidates: Vec::with_capacity(n),
            events: Vec::with_capacity(16),
            cancels: Vec::new(),
            in_flight: HashMap::new(),
            lookups: HashMap::new(),
            keys: HashSet::new(),
            slot_events: Vec::new(),
            next_ticket: 0,
            channels: self.channels,
            gateway: self.gateway,
            clock: self.clock,
            ledger,
            leases: self.leases,
            lease_sync_at: Millis(0),
            write,
            outbox,
            read: self
                .read
                .unwrap_or_else(|| Arc::new(MemoryReadModel::default())),
            config,
        })
    }
}

/// An order waiting in the batch window.
pub(super) struct Queued {
    pub(super) order: Order,
    pub(super) needs: Demand,
    pub(super) key: Option<String>,
    pub(super) started: Instant,
}

/// What [`Router::intake`] made of a request.
// Made once per order and matched at once: boxing the order would cost an
// allocation on the hot path to save a move.
#[allow(clippy::large_enum_variant)]
pub(super) enum Intake {
    /// The idempotency key was seen: the first submit's outcome.
    Replayed(Outcome),
    /// A new order, its routing needs and its first events.
    Accepted(Order, Demand, Vec<DomainEvent>),
}

/// Routes orders over one set of channels. See the module docs.
pub struct Router {
    pub(super) config: RouterConfig,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) channels: Vec<Channel>,
    pub(super) ledger: Arc<Ledger>,
    /// The replica's leased quota, when capacity is leased.
    pub(super) leases: Option<Arc<LeasedLedger>>,
    /// When a router on leases next re-reads every channel's headroom.
    pub(super) lease_sync_at: Millis,
    pub(super) gateway: Arc<dyn ChannelGateway>,
    pub(super) write: Arc<dyn WriteModel>,
    pub(super) outbox: Arc<dyn Outbox>,
    pub(super) read: Arc<dyn StatusReadModel>,
    pub(super) breakers: Vec<Breaker>,
    /// Channels whose breaker is open (few; scanned per order).
    pub(super) open: Vec<usize>,
    pub(super) rr: RoundRobin,
    pub(super) ids: IdGen,
    pub(super) slot: Option<SlotId>,
    /// Ledger accounts of the current slot, by channel index.
    pub(super) accounts: Vec<Option<AccountHandle>>,
    pub(super) metrics: Metrics,
    pub(super) batch: Vec<Queued>,
    pub(super) batch_started: Millis,
    pub(super) ranker: Ranker,
    pub(super) ranked: Vec<Ranked>,
    pub(super) candidates: Vec<usize>,
    pub(super) events: Vec<DomainEvent>,
    /// Compensations queued for the host or the synchronous gateway.
    pub(super) cancels: Vec<CancelCall>,
    /// Sagas waiting for the host (a partner's answer, or a write's), by ticket.
    pub(super) in_flight: HashMap<u64, Saga>,
    /// Keyed requests waiting for the host's lookup of their key (deferred
    /// writes), by ticket.
    pub(super) lookups: HashMap<u64, Lookup>,
    /// Idempotency keys of the orders in flight (deferred writes): a second
    /// request with one of them is refused until the first is written.
    pub(super) keys: HashSet<String>,
    /// `CapacityUpdated` events of a new slot, waiting for the next order's
    /// unit of work (deferred writes: the router makes no write of its own).
    pub(super) slot_events: Vec<DomainEvent>,
    pub(super) next_ticket: u64,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("channels", &self.channels.len())
            .field("config", &self.config)
            .field("queued", &self.batch.len())
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}

impl Router {
    /// Starts a builder over `channels`, booking through `gateway`.
    pub fn builder(channels: Vec<Channel>, gateway: Arc<dyn ChannelGateway>) -> RouterBuilder {
        RouterBuilder {
            channels,
            gateway,
            clock: Arc::new(SystemClock),
            ledger: None,
            leases: None,
            lease_commits_in_writes: None,
            slot_ms: 15 * 60 * 1000,
            store: None,
            read: None,
            ids: None,
            config: RouterConfig::default(),
        }
    }

    /// The channels, in the order their indices refer to.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// The configuration.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// The capacity ledger.
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// The replica's leased quota, when capacity is leased
    /// ([`RouterBuilder::with_leases`]).
    pub fn leases(&self) -> Option<&Arc<LeasedLedger>> {
        self.leases.as_ref()
    }

    /// The write model.
    pub fn write_model(&self) -> &Arc<dyn WriteModel> {
        &self.write
    }

    /// The outbox.
    pub fn outbox(&self) -> &Arc<dyn Outbox> {
        &self.outbox
    }

    /// The status read model.
    pub fn read_model(&self) -> &Arc<dyn StatusReadModel> {
        &self.read
    }

    /// This router's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Breaker state of channel `index`.
    pub fn breaker_state(&self, index: usize) -> Option<BreakerState> {
        self.breakers.get(index).map(Breaker::state)
    }

    /// Orders waiting in the batch window.
    pub fn queued(&self) -> usize {
        self.batch.len()
    }

    /// Point-in-time gauges: breaker states, utilisation of the current
    /// slot, outbox depth.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let gateway = Arc::new(SimGateway::new(clock.clone(), 1));
    /// # let mut router = Router::builder(vec![kitchen], gateway).with_clock(clock.clone()).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// router.submit_json(body, None).unwrap();
    /// let g = router.gauges();
    /// assert_eq!(g.breaker_states, [1, 0, 0]);
    /// assert!((g.utilisation - 0.1).abs() < 1e-9); // 1 unit of 10
    /// ```
    pub fn gauges(&self) -> Gauges {
        let mut g = Gauges::default();
        for b in &self.breakers {
            let i = BreakerState::ALL
                .iter()
                .position(|s| *s == b.state())
                .unwrap_or(0);
            g.breaker_states[i] += 1;
        }
        let (held, cap) = self.capacity_totals();
        g.utilisation = if cap == 0 {
            0.0
        } else {
            held as f64 / cap as f64
        };
        g.outbox_depth = self.outbox.depth() as u64;
        g
    }

    /// Units held (pending + committed) and capacity over the current slot.
    pub fn capacity_totals(&self) -> (u64, u64) {
        self.accounts
            .iter()
            .flatten()
            .map(|h| self.ledger.balance_of(h))
            .fold((0, 0), |(held, cap), b| {
                (
                    held + u64::from(b.pending) + u64::from(b.committed),
                    cap + u64::from(b.capacity),
                )
            })
    }

    /// Prometheus text of this router's metrics and gauges.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let gateway = Arc::new(SimGateway::new(clock.clone(), 1));
    /// # let mut router = Router::builder(vec![kitchen], gateway).with_clock(clock.clone()).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// router.submit_json(body, None).unwrap();
    /// assert!(router.render_metrics().contains("uoom_orders_routed_total 1"));
    /// ```
    pub fn render_metrics(&self) -> String {
        self.metrics.render(&self.gauges())
    }

    /// The routing needs of an order: its hints where given, otherwise the
    /// default policy of [`Demand::from_quantity`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let gateway = Arc::new(SimGateway::new(clock.clone(), 1));
    /// # let mut router = Router::builder(vec![kitchen], gateway).with_clock(clock.clone()).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let req = uoom::parse_create_order(body).unwrap();
    /// let order = uoom::Order::from_request(uoom::OrderId::from_u128(1), req, Millis(0)).unwrap();
    /// let needs = Router::needs_of(&order);
    /// assert_eq!((needs.units, needs.vehicle), (1, uoom::Vehicle::Bike));
    /// ```
    pub fn needs_of(order: &Order) -> Demand {
        let mut n = Demand::from_quantity(order.delivery.location, order.total_quantity());
        if let Some(v) = order.hints.vehicle {
            n.vehicle = v;
        }
        n.deadline_min = order.hints.deadline_min.unwrap_or(DEFAULT_DEADLINE_MIN);
        if let Some(p) = order.hints.priority {
            n.priority = u32::from(p.max(1));
        }
        n
    }

    /// Parses a create-order JSON body and submits it; see [`Router::submit`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let gateway = Arc::new(SimGateway::new(clock.clone(), 1));
    /// # let mut router = Router::builder(vec![kitchen], gateway).with_clock(clock.clone()).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let out = router.submit_json(body, Some("checkout-1")).unwrap();
    /// assert_eq!(out.status, OrderStatus::Confirmed);
    /// let err = router.submit_json(b"{}", None).unwrap_err();
    /// assert_eq!(err.kind(), uoom::ErrorKind::Validation);
    /// ```
    pub fn submit_json(&mut self, body: &[u8], key: Option<&str>) -> Result<Outcome> {
        let req = crate::parse_create_order(body)?;
        self.submit(req, key)
    }

    /// Routes one order. With an idempotency `key` seen before, returns the
    /// first submit's outcome (marked `replayed`) and does nothing else.
    /// With a batch window configured, the order is queued (`VALIDATED`) and
    /// routed by [`Router::poll`] (window over or batch full) or
    /// [`Router::flush`], which return the outcomes.
    ///
    /// Errors only for a request that cannot become an order (validation)
    /// or a store failure; an order that cannot be routed is an `Ok` outcome
    /// with status `FAILED` and the reason.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let gateway = Arc::new(SimGateway::new(clock.clone(), 1));
    /// # let mut router = Router::builder(vec![kitchen], gateway).with_clock(clock.clone()).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let req = uoom::parse_create_order(body).unwrap();
    /// let first = router.submit(req.clone(), Some("k")).unwrap();
    /// let again = router.submit(req, Some("k")).unwrap();
    /// assert!(again.replayed);
    /// assert_eq!(again.order_id, first.order_id);
    /// ```
    pub fn submit(&mut self, req: CreateOrderRequest, key: Option<&str>) -> Result<Outcome> {
        if self.config.deferred_writes {
            return Err(Self::deferred_refusal("submit"));
        }
        let started = Instant::now();
        let (order, needs, events) = match self.intake(req, key)? {
            Intake::Replayed(first) => return Ok(first),
            Intake::Accepted(order, needs, events) => (order, needs, events),
        };
        if self.config.batch_window_ms.is_some() {
            let pending = Outcome::new(order.id, order.status);
            if self.batch.is_empty() {
                self.batch_started = self.clock.now();
            }
            self.batch.push(Queued {
                order,
                needs,
                key: key.map(str::to_owned),
                started,
            });
            self.events = events;
            return Ok(pending);
        }
        let mut s = self.saga_realtime(order, needs, None, started, events);
        let outcome = self.run_saga(&mut s);
        let saved = self.finish_saga(&mut s, key, outcome);
        self.send_cancels(&s.order);
        self.events = std::mem::take(&mut s.events);
        self.give_back_candidates(std::mem::take(&mut s.candidates));
        saved
    }

    /// Validates a request into an order, records its first events and,
    /// on a batch router or with [`IntakeWrite::BeforeRouting`], writes it.
    pub(super) fn intake(&mut self, req: CreateOrderRequest, key: Option<&str>) -> Result<Intake> {
        if let Some(k) = key
            && let Some(mut first) = self.write.outcome_for_key(k)
        {
            first.replayed = true;
            return Ok(Intake::Replayed(first));
        }
        let (order, needs, mut events) = self.accept(req)?;
        let batched = self.config.batch_window_ms.is_some();
        // With the outcome, the intake's events stay in `events` and go out
        // with the saga's in the final unit.
        if batched || self.config.intake_write == IntakeWrite::BeforeRouting {
            let pending = Outcome::new(order.id, order.status);
            if let Err(e) = self.save(&order, &mut events, key, &pending) {
                self.events = events;
                return Err(e);
            }
        }
        Ok(Intake::Accepted(order, needs, events))
    }

    /// Validates a request into a `VALIDATED` order with its routing needs
    /// and first events (`OrderCreated`, `OrderValidated`); writes nothing.
    pub(super) fn accept(
        &mut self,
        req: CreateOrderRequest,
    ) -> Result<(Order, Demand, Vec<DomainEvent>)> {
        let now = self.clock.now();
        let mut order = Order::from_request(self.ids.order_id_v7(now), req, now)?;
        let needs = Self::needs_of(&order);
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        let created = EventPayload::OrderCreated {
            order_id: order.id,
            customer_id: order.customer_id,
            total: order.total,
            units: needs.units,
            status: order.status,
        };
        self.push_event(&mut events, Aggregate::Order(order.id), created);
        if let Err(e) = self.set_status(&mut order, OrderStatus::Validated, &mut events) {
            self.events = events;
            return Err(e);
        }
        Ok((order, needs, events))
    }

    /// Moves a routed order along its lifecycle (`PREPARING`,
    /// `OUT_FOR_DELIVERY`, `DELIVERED`, `CANCELLED`, `FAILED`), writing the
    /// change and its event in one unit of work. An illegal transition is a
    /// [`Error::Conflict`] and changes nothing. Cancelling a confirmed order
    /// also cancels its partner booking and refunds its committed capacity
    /// (compensation events with reason `order_cancelled`).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let gateway = Arc::new(SimGateway::new(clock.clone(), 1));
    /// # let mut router = Router::builder(vec![kitchen], gateway).with_clock(clock.clone()).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let id = router.submit_json(body, None).unwrap().order_id;
    /// assert_eq!(router.advance(&id, OrderStatus::Preparing).unwrap().status, OrderStatus::Preparing);
    /// let illegal = router.advance(&id, OrderStatus::Delivered).unwrap_err();
    /// assert_eq!(illegal.kind(), uoom::ErrorKind::Conflict);
    /// ```
    pub fn advance(&mut self, order_id: &OrderId, to: OrderStatus) -> Result<StatusView> {
        if self.config.deferred_writes {
            return Err(Self::deferred_refusal("advance"));
        }
        let (view, order) = self.transition(order_id, to)?;
        self.send_cancels(&order);
        Ok(view)
    }

    /// [`Router::advance`] for an asynchronous host: the partner
    /// cancellations a `CANCELLED` order needs are returned for the host to
    /// send instead of going through the synchronous gateway.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{BookingRef, Next, Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let mut router = Router::builder(vec![kitchen], Arc::new(SimGateway::new(clock.clone(), 1)))
    /// #     .with_clock(clock.clone()).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let Next::Book(call) = router.begin(uoom::parse_create_order(body).unwrap(), None).unwrap().next
    /// # else { panic!() };
    /// let id = call.order.id;
    /// router.resume(call.ticket, Ok(BookingRef("P-1".into()))).unwrap();
    /// let (view, cancels) = router.advance_deferred(&id, OrderStatus::Cancelled).unwrap();
    /// assert_eq!(view.status, OrderStatus::Cancelled);
    /// assert_eq!(cancels[0].booking, Some(BookingRef("P-1".into())));
    /// ```
    pub fn advance_deferred(
        &mut self,
        order_id: &OrderId,
        to: OrderStatus,
    ) -> Result<(StatusView, Vec<CancelCall>)> {
        if self.config.deferred_writes {
            return Err(Self::deferred_refusal("advance_deferred"));
        }
        let (view, _) = self.transition(order_id, to)?;
        Ok((view, std::mem::take(&mut self.cancels)))
    }

    /// [`Router::advance`] without I/O, for a host that owns its stores
    /// (a router with deferred writes): given the stored `order` and its
    /// `prior` status view, makes the change and returns the unit of work
    /// and view to write, and the partner cancellations to send once it is
    /// written. The ledger is refunded at once for a cancelled order, as
    /// [`Router::advance`] does. An illegal transition is a
    /// [`Error::Conflict`] and changes nothing.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Router, SimGateway, StatusReadModel, WriteModel};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let mut router = Router::builder(vec![kitchen], Arc::new(SimGateway::new(clock.clone(), 1)))
    /// #     .with_clock(clock.clone()).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let id = router.submit_json(body, None).unwrap().order_id;
    /// let order = router.write_model().order(&id).unwrap();
    /// let prior = router.read_model().get(&id);
    /// let change = router.advance_unit(order, prior, OrderStatus::Cancelled).unwrap();
    /// assert_eq!(change.view.status, OrderStatus::Cancelled);
    /// assert_eq!(change.unit.order.status, OrderStatus::Cancelled);
    /// assert_eq!(change.cancels.len(), 1); // the partner booking
    /// ```
    pub fn advance_unit(
        &mut self,
        order: Order,
        prior: Option<StatusView>,
        to: OrderStatus,
    ) -> Result<Advance> {
        let (order, events, outcome) = self.transition_of(order, prior, to)?;
        Ok(Advance {
            view: StatusView::of(&order, &outcome),
            unit: OwnedUnitOfWork {
                order,
                events,
                idempotency: None,
                capacity: None,
            },
            cancels: std::mem::take(&mut self.cancels),
        })
    }

    fn transition(&mut self, order_id: &OrderId, to: OrderStatus) -> Result<(StatusView, Order)> {
        let order = self
            .write
            .order(order_id)
            .ok_or_else(|| Error::not_found(format!("order {order_id}")))?;
        let prior = self.read.get(order_id);
        let (order, mut events, outcome) = self.transition_of(order, prior, to)?;
        self.save(&order, &mut events, None, &outcome)?;
        Ok((StatusView::of(&order, &outcome), order))
    }

    /// The order after the change, its events, and the outcome its view shows.
    fn transition_of(
        &mut self,
        mut order: Order,
        prior: Option<StatusView>,
        to: OrderStatus,
    ) -> Result<(Order, Vec<DomainEvent>, Outcome)> {
        let mut events = Vec::with_capacity(1);
        self.set_status(&mut order, to, &mut events)?;
        if to == OrderStatus::Cancelled
            && let Some(placement) = order.placement.clone()
        {
            self.undo_placement(&order, &placement, &mut events);
        }
        let mut outcome = Outcome::new(order.id, order.status);
        if let Some(p) = prior {
            outcome.channel = p.channel;
            outcome.decision = p.decision;
            outcome.failure = p.failure;
        }
        Ok((order, events, outcome))
    }

    /// Appends an event with a fresh time-ordered id, stamped now. Ordered
    /// ids keep a store's primary-key index appending at its right edge
    /// (PostgreSQL's outbox: fewer pages touched, fewer full-page images in
    /// its WAL) instead of inserting all over it.
    pub(super) fn push_event(
        &mut self,
        events: &mut Vec<DomainEvent>,
        aggregate: Aggregate,
        payload: EventPayload,
    ) {
        let now = self.clock.now();
        let id = self.ids.event_id_v7(now);
        events.push(DomainEvent::new(id, aggregate, now, payload));
    }

    /// Changes the order's status and records the one event that says so
    /// (`OrderValidated` or `OrderStatusChanged`; the saga records the
    /// richer ones through [`Router::set_status_with`]).
    pub(super) fn set_status(
        &mut self,
        order: &mut Order,
        to: OrderStatus,
        events: &mut Vec<DomainEvent>,
    ) -> Result<()> {
        self.set_status_with(order, to, events, |order_id, from, to| match to {
            OrderStatus::Validated => EventPayload::OrderValidated { order_id, from, to },
            _ => EventPayload::OrderStatusChanged { order_id, from, to },
        })
    }

    /// Sets the status and records the event `payload` builds for the change.
    pub(super) fn set_status_with(
        &mut self,
        order: &mut Order,
        to: OrderStatus,
        events: &mut Vec<DomainEvent>,
        payload: impl FnOnce(OrderId, OrderStatus, OrderStatus) -> EventPayload,
    ) -> Result<()> {
        let from = order.transition(to, self.clock.now())?;
        let p = payload(order.id, from, to);
        self.push_event(events, Aggregate::Order(order.id), p);
        Ok(())
    }

    /// One unit of work: order, events, idempotency record; then the read model.
    pub(super) fn save(
        &self,
        order: &Order,
        events: &mut Vec<DomainEvent>,
        key: Option<&str>,
        outcome: &Outcome,
    ) -> Result<()> {
        self.save_with(order, events, key, outcome, None)
    }

    /// [`Router::save`] of a unit that carries the capacity its order took.
    pub(super) fn save_with(
        &self,
        order: &Order,
        events: &mut Vec<DomainEvent>,
        key: Option<&str>,
        outcome: &Outcome,
        capacity: Option<CapacityPlacement>,
    ) -> Result<()> {
        self.write.save(UnitOfWork {
            order,
            events,
            idempotency: key.map(|k| (k, outcome)),
            capacity,
        })?;
        events.clear();
        self.read.upsert(StatusView::of(order, outcome));
        Ok(())
    }

    /// Saves the final state of an order and counts it.
    pub(super) fn finish(
        &mut self,
        order: &Order,
        events: &mut Vec<DomainEvent>,
        key: Option<&str>,
        outcome: &Outcome,
        started: Instant,
    ) -> Result<()> {
        self.save(order, events, key, outcome)?;
        self.count(outcome, started);
        Ok(())
    }

    /// Saves the final state of saga `s` (with the capacity it took), settles
    /// its lease commit if the write carried one, and counts it; returns the
    /// outcome. A write whose lease commit was fenced off undoes the
    /// confirmation (the booking's cancellation queued for the caller to
    /// send, the hold given back) and writes the order failed with
    /// `stale_lease`.
    pub(super) fn finish_saga(
        &mut self,
        s: &mut Saga,
        key: Option<&str>,
        outcome: Outcome,
    ) -> Result<Outcome> {
        let capacity = s.capacity;
        let saved = self.save_with(&s.order, &mut s.events, key, &outcome, capacity);
        let refused = self.settle_lease(capacity, saved.as_ref().err());
        match saved {
            Ok(()) => {
                self.count(&outcome, s.started);
                Ok(outcome)
            }
            Err(e) if refused && outcome.is_confirmed() => {
                tracing::warn!(order = %s.order.id, error = %e, "the lease fence refused a confirmed order's commit");
                let failed = self.persist_failed(s, crate::events::FailureReason::StaleLease);
                self.finish(&s.order, &mut s.events, key, &failed, s.started)?;
                Ok(failed)
            }
            Err(e) => Err(e),
        }
    }

    /// Settles the lease commit a unit carried, given how its write ended
    /// (`None`: written). Returns whether the fence refused it.
    pub(super) fn settle_lease(
        &self,
        capacity: Option<CapacityPlacement>,
        failed: Option<&Error>,
    ) -> bool {
        let (Some(leases), Some(call)) = (&self.leases, capacity.and_then(|p| p.lease)) else {
            return false;
        };
        let stale = failed.is_some_and(Error::is_stale_lease);
        let result = match failed {
            None => Ok(()),
            Some(e) if stale => Err(crate::ledger::lease::LeaseError::Stale(
                crate::ledger::lease::StaleLease::from_refusal(call.lease, call.epoch, e),
            )),
            Some(e) => Err(e.clone().into()),
        };
        if let Err(e) = leases.settle_written(call, result)
            && !e.is_stale()
        {
            tracing::warn!(hold = %call.hold, error = %e, "settling a written lease commit");
        }
        stale
    }

    /// Counts a finished order in the metrics.
    pub(super) fn count(&mut self, outcome: &Outcome, started: Instant) {
        let m = &mut self.metrics;
        if outcome.is_confirmed() {
            m.routed += 1;
        } else {
            m.unrouted += 1;
        }
        if let Some(kind) = outcome.decision {
            m.record_decision(kind);
        }
        m.compensations += u64::from(outcome.compensations);
        m.record_duration(started.elapsed());
    }

    /// Makes sure the ledger accounts of the slot of `now` exist and are
    /// cached, seeding capacity from the channels on a new slot.
    pub(super) fn ensure_slot(&mut self, now: Millis) -> Result<()> {
        let slot = self.ledger.slot_of(now);
        if self.slot == Some(slot) {
            return Ok(());
        }
        if self.leases.is_some() {
            // The authority holds the capacity; ranking sees the quota.
            self.slot = Some(slot);
            self.lease_sync_at = Millis(0);
            return Ok(());
        }
        self.accounts.clear();
        let mut events = Vec::new();
        for i in 0..self.channels.len() {
            let id = self.channels[i].id.clone();
            let id = &id;
            let handle = match self.ledger.account(id, slot) {
                Ok(h) => Some(h),
                Err(_) if self.config.capacity_from_channels => {
                    let capacity = self.channels[i].capacity;
                    self.ledger.set_capacity(id, slot, capacity)?;
                    let payload = EventPayload::CapacityUpdated {
                        channel: id.clone(),
                        slot,
                        capacity,
                    };
                    let agg = Aggregate::Channel(id.clone());
                    self.push_event(&mut events, agg, payload);
                    self.ledger.account(id, slot).ok()
                }
                Err(_) => None,
            };
            self.accounts.push(handle);
        }
        if self.config.deferred_writes {
            // They go out with the next order's unit of work.
            self.slot_events.append(&mut events);
        } else {
            self.outbox.append(&events)?;
        }
        self.ranker.sync_headroom(&self.ledger, slot);
        self.slot = Some(slot);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_router_can_move_to_another_thread() {
        fn send<T: Send>() {}
        send::<Router>();
    }

    #[test]
    fn invalid_channels_are_reported_with_their_index() {
        let clock = Arc::new(crate::ManualClock::new(Millis(0)));
        let mut bad = Channel::builder(
            "c",
            crate::ChannelKind::DarkStore,
            crate::GeoPoint::new(0.0, 0.0),
        )
        .build()
        .unwrap();
        bad.speed_kmh = 0.0;
        let gw = Arc::new(super::super::SimGateway::new(clock, 1));
        let err = Router::builder(vec![bad], gw).build().unwrap_err();
        assert_eq!(err.field_errors()[0].field, "channels[0].speed_kmh");
    }
}
