//! The write model in PostgreSQL: orders, their outbox events in the same
//! transaction (group commit), idempotency records, saga state, the status
//! fallback queries, and the capacity lease authority ([`PgLeaseAuthority`]).
//!
//! Built on tokio-postgres. No pool crate: the store holds a fixed set of
//! connections, `writers` for the group-commit writers and `readers` for
//! queries (a tokio-postgres client pipelines concurrent queries).
//!
//! Two ways to run it. On an async host, [`PgStore::connect_async`] opens
//! the connections on the caller's tokio runtime, and the store is the
//! engine's [`AsyncWriteModel`](crate::engine::AsyncWriteModel) and
//! [`AsyncOutbox`](crate::engine::AsyncOutbox): its queries are futures of
//! that runtime, and nothing blocks. From plain threads (the synchronous
//! façade: `Router::submit`, `uoom simulate --postgres`, the relay binary),
//! [`PgStore::connect`] opens them on a runtime of the store's own
//! ([`AdapterRuntime`]) and each blocking method waits on it; such a store
//! serves the async ports too, from any runtime.
//!
//! ```no_run
//! use uoom::adapters::postgres::{PgConfig, PgStore};
//! let store = PgStore::connect(PgConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom")).unwrap();
//! store.migrate().unwrap();
//! assert_eq!(store.order(&uoom::OrderId::from_u128(1)).unwrap(), None);
//! ```

mod bundle;
mod lease;
mod migrate;
mod rows;
mod saga;
mod tls;
mod writer;

#[cfg(feature = "outbox")]
mod outbox_store;
#[cfg(feature = "outbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub use outbox_store::{
    Delivered, OUTBOX_PARTITIONS, OUTBOX_SLOTS, PgClaim, PgOutboxStore, RECYCLE_INTERVAL,
};

pub use lease::{AsyncPgLeaseAuthority, PgLeaseAuthority, PgLeaseConfig};
pub use saga::SagaState;
pub use tls::ROOT_CERT_ENV;

use crate::adapters::{AdapterRuntime, EventRecord};
use crate::{CustomerId, Error, Order, OrderId, OrderStatus, RestaurantId, Result};
use rows::{ORDER_COLUMNS, order_from_row};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::Client;
use writer::{EventRow, Job, OrderRow, Unit};

/// How to reach PostgreSQL and how to write to it.
///
/// ```
/// use std::time::Duration;
/// let c = uoom::adapters::postgres::PgConfig::new("postgres://u:p@127.0.0.1/db")
///     .with_writers(4)
///     .with_group_max(200)
///     .with_group_wait(Duration::from_millis(2));
/// assert_eq!(c.writers, 4);
/// ```
#[derive(Debug, Clone)]
pub struct PgConfig {
    /// libpq-style URL or key=value string; `sslmode=require` connects over
    /// verified TLS (feature `postgres-tls`; extra roots from [`ROOT_CERT_ENV`]).
    pub url: String,
    /// Group-commit writer connections (default 2).
    pub writers: usize,
    /// Most units in one transaction (default 100).
    pub group_max: usize,
    /// Longest a writer waits for more units once it has one (default 1 ms).
    pub group_wait: Duration,
    /// Query connections (default 2).
    pub readers: usize,
    /// Units queued before `save` waits for room (default 10,000).
    pub queue: usize,
    /// PostgreSQL's `synchronous_commit` for the writer sessions (default on).
    /// Off, a commit returns before its WAL reaches disk: a unit stays atomic
    /// (order and events together or neither) but a server crash can lose the
    /// last fraction of a second of acknowledged units. A throughput knob
    /// for deployments that accept that; never the default.
    pub synchronous_commit: bool,
    /// Whether this database is also the capacity lease authority
    /// ([`PgLeaseAuthority`] on the same database) and the store runs each
    /// confirmed order's fenced lease commit in the order's transaction
    /// (default off; see [`crate::engine::WriteModel::applies_lease_commits`]).
    /// Either way a confirmed order's `channel_id`, `slot_start` and
    /// `units` are written when its unit carries them.
    pub lease_commits: bool,
}

impl PgConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            writers: 2,
            group_max: 100,
            group_wait: Duration::from_millis(1),
            readers: 2,
            queue: 10_000,
            synchronous_commit: true,
            lease_commits: false,
        }
    }

    /// Sets whether the store applies lease commits (see the field).
    ///
    /// ```
    /// let c = uoom::adapters::postgres::PgConfig::new("postgres://u:p@h/db").with_lease_commits(true);
    /// assert!(c.lease_commits);
    /// ```
    pub fn with_lease_commits(mut self, on: bool) -> Self {
        self.lease_commits = on;
        self
    }

    /// Sets the number of writer connections (at least 1).
    pub fn with_writers(mut self, n: usize) -> Self {
        self.writers = n.max(1);
        self
    }

    /// Sets the most units per transaction (at least 1; 1 turns group commit off).
    pub fn with_group_max(mut self, n: usize) -> Self {
        self.group_max = n.max(1);
        self
    }

    /// Sets how long a writer waits to fill a group.
    pub fn with_group_wait(mut self, wait: Duration) -> Self {
        self.group_wait = wait;
        self
    }

    /// Sets `synchronous_commit` of the writer sessions (see the field).
    pub fn with_synchronous_commit(mut self, on: bool) -> Self {
        self.synchronous_commit = on;
        self
    }

    /// Sets the number of query connections (at least 1).
    pub fn with_readers(mut self, n: usize) -> Self {
        self.readers = n.max(1);
        self
    }
}

/// A database error with the server's message, not just "db error"; any
/// other with its causes ("error performing TLS handshake: invalid peer
/// certificate: UnknownIssuer", not just the first part).
/// An I/O error of PostgreSQL's: `postgres {context}` (with the SQLSTATE of
/// a database error), `e` kept as its source.
pub(crate) fn pg_error(context: impl std::fmt::Display, e: tokio_postgres::Error) -> Error {
    let context = match e.as_db_error() {
        Some(db) => format!("postgres {context} (SQLSTATE {})", db.code().code()),
        None => format!("postgres {context}"),
    };
    Error::io_with(context, e)
}

pub(crate) fn io(context: &str) -> impl Fn(tokio_postgres::Error) -> Error + '_ {
    move |e| pg_error(context, e)
}

/// Opens one connection (TLS when the URL says `sslmode=require`, see
/// [`tls`]) and drives it on the runtime.
/// The capacity columns (and lease commit) of a confirmed order's unit:
/// none without a placement (its channel names the account).
fn capacity_row(
    order: &Order,
    capacity: Option<crate::engine::CapacityPlacement>,
) -> Result<Option<writer::CapacityRow>> {
    let (Some(c), Some(placed)) = (capacity, order.placement.as_ref()) else {
        return Ok(None);
    };
    let units = i32::try_from(c.units).map_err(|_| {
        Error::invalid(
            "units",
            "out_of_range",
            format!("{} units do not fit a row", c.units),
        )
    })?;
    Ok(Some(writer::CapacityRow {
        order: order.id.0,
        channel: placed.channel.as_str().to_owned(),
        slot_start: rows::at(c.slot_start),
        units,
        lease: c.lease.map(|l| (l.lease, l.epoch, l.units)),
    }))
}

pub(crate) async fn connect_client(url: &str) -> Result<Client> {
    let (client, conn) = tls::connect(url).await?;
    tokio::spawn(tls::drive(conn));
    Ok(client)
}

/// One event's delivery state, for operators and tests (the DLQ view).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// The event.
    pub id: crate::EventId,
    /// Its outbox row's `seq` (shared by the events a unit of work wrote
    /// for one aggregate, listed in their order).
    pub seq: i64,
    /// Its type name.
    pub event_type: String,
    /// Failed publish attempts so far.
    pub attempts: i32,
    /// Delivered to the broker.
    pub published: bool,
    /// Parked in the dead-letter queue.
    pub dead: bool,
    /// The last publish error.
    pub last_error: Option<String>,
}

/// The PostgreSQL write model. Cheap to share behind an `Arc`.
pub struct PgStore {
    /// The runtime of the blocking methods; `None` when connected on the
    /// caller's runtime ([`PgStore::connect_async`]).
    rt: Option<AdapterRuntime>,
    queue: mpsc::Sender<Job>,
    readers: Vec<Client>,
    next_reader: AtomicUsize,
    config: PgConfig,
    written: Arc<AtomicU64>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("writers", &self.config.writers)
            .field("readers", &self.readers.len())
            .field("own_runtime", &self.rt.is_some())
            .finish()
    }
}

impl PgStore {
    /// Connects with a runtime of its own (two threads), for the blocking
    /// methods.
    pub fn connect(config: PgConfig) -> Result<Self> {
        Self::connect_with(config, AdapterRuntime::new(2)?)
    }

    /// Connects on a shared runtime, for the blocking methods.
    pub fn connect_with(config: PgConfig, rt: AdapterRuntime) -> Result<Self> {
        let mut store = rt.block_on(Self::open(config))??;
        store.rt = Some(rt);
        Ok(store)
    }

    /// Connects on the caller's tokio runtime: the writer tasks and the
    /// connections are spawned there, and the store is used through its
    /// async methods and the engine's async ports
    /// ([`AsyncWriteModel`](crate::engine::AsyncWriteModel),
    /// [`AsyncOutbox`](crate::engine::AsyncOutbox)). It has no runtime of
    /// its own: its blocking methods answer `Error::Io`, so no call on it
    /// ever blocks the host's threads.
    ///
    /// ```no_run
    /// # async fn run() -> uoom::Result<()> {
    /// use uoom::adapters::postgres::{PgConfig, PgStore};
    /// let store = PgStore::connect_async(PgConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom")).await?;
    /// store.migrate_async().await?;
    /// assert!(store.runtime().is_none());
    /// # Ok(()) }
    /// ```
    pub async fn connect_async(config: PgConfig) -> Result<Self> {
        Self::open(config).await
    }

    /// Opens the connections and spawns the writers on the current runtime.
    async fn open(config: PgConfig) -> Result<Self> {
        let written = Arc::new(AtomicU64::new(0));
        let (tx, rx) = mpsc::channel::<Job>(config.queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..config.writers.max(1) {
            let client = connect_client(&config.url).await?;
            if !config.synchronous_commit {
                client
                    .batch_execute("SET synchronous_commit = off")
                    .await
                    .map_err(io("session set-up"))?;
            }
            tokio::spawn(writer::run_writer(
                client,
                rx.clone(),
                config.group_max.max(1),
                config.group_wait,
                written.clone(),
            ));
        }
        let mut readers = Vec::new();
        for _ in 0..config.readers.max(1) {
            readers.push(connect_client(&config.url).await?);
        }
        Ok(Self {
            rt: None,
            queue: tx,
            readers,
            next_reader: AtomicUsize::new(0),
            config,
            written,
        })
    }

    /// The runtime the blocking methods run on; `None` for a store opened
    /// with [`PgStore::connect_async`].
    pub fn runtime(&self) -> Option<&AdapterRuntime> {
        self.rt.as_ref()
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &PgConfig {
        &self.config
    }

    fn reader(&self) -> &Client {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        &self.readers[i]
    }

    /// Runs `fut` to completion on the store's own runtime: the blocking
    /// façade. A store without one (opened on the caller's runtime) refuses.
    fn block<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        match &self.rt {
            Some(rt) => rt.block_on(fut)?,
            None => Err(Error::io(
                "this PgStore was opened with connect_async on the caller's runtime: use its async methods or the engine's async ports (PgStore::connect gives a store with blocking methods)",
            )),
        }
    }

    /// Applies the embedded migrations (`core/migrations/postgres/`) not yet
    /// applied; returns their file names. Safe to run from several processes.
    pub fn migrate(&self) -> Result<Vec<&'static str>> {
        self.block(self.migrate_async())
    }

    /// [`PgStore::migrate`] as a future of the caller's runtime.
    ///
    /// ```no_run
    /// # async fn run() -> uoom::Result<()> {
    /// # let store = uoom::adapters::postgres::PgStore::connect_async(
    /// #     uoom::adapters::postgres::PgConfig::new("postgres://u:p@127.0.0.1/db")).await?;
    /// let applied = store.migrate_async().await?;
    /// assert!(store.migrate_async().await?.is_empty() || applied.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn migrate_async(&self) -> Result<Vec<&'static str>> {
        migrate::migrate(self.reader()).await
    }

    /// Queues a unit for a group-commit writer and waits for its commit.
    async fn submit(&self, unit: Unit) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { unit, reply })
            .await
            .map_err(|_| Error::io("postgres writer stopped"))?;
        answer
            .await
            .map_err(|_| Error::io("postgres writer stopped"))?
    }

    /// Writes an order's new state and its events in one transaction (shared
    /// with other callers' units: group commit). A stale write (the stored
    /// order changed later than `order.updated_at`) is a `Conflict` and writes
    /// nothing, events included.
    pub fn save(&self, order: &Order, events: &[EventRecord]) -> Result<()> {
        self.save_with_key(order, events, None)
    }

    /// [`PgStore::save`] plus an idempotency record: `outcome` is stored under
    /// `key` in the same transaction. A key already present keeps its outcome,
    /// unless both are of the same order (an `order_id` field equal in both):
    /// then the new one replaces it, as an order's final outcome replaces its
    /// pending one.
    pub fn save_with_key(
        &self,
        order: &Order,
        events: &[EventRecord],
        key: Option<(&str, &Value)>,
    ) -> Result<()> {
        let unit = Unit::new(
            Some(OrderRow::of(order)?),
            events
                .iter()
                .map(EventRow::of_record)
                .collect::<Result<_>>()?,
            key.map(|(k, v)| (k.to_owned(), v.clone())),
        )?;
        self.block(self.submit(unit))
    }

    /// The engine's unit of work, its events encoded straight from their
    /// typed payloads (on the calling thread, before the future is awaited).
    pub(crate) fn save_events(
        &self,
        order: Option<&Order>,
        events: &[crate::events::DomainEvent],
        key: Option<(String, Value)>,
    ) -> Result<()> {
        self.block(self.write_events(order, events, key))
    }

    /// [`PgStore::save_events`] as a future: the rows are encoded at the
    /// call, so the future holds only them.
    pub(crate) fn write_events(
        &self,
        order: Option<&Order>,
        events: &[crate::events::DomainEvent],
        key: Option<(String, Value)>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let unit = if order.is_none() && events.is_empty() {
            Ok(None)
        } else {
            Self::unit_of(order, events, key).map(Some)
        };
        async move {
            match unit? {
                Some(unit) => self.submit(unit).await,
                None => Ok(()),
            }
        }
    }

    /// [`PgStore::write_placed`], blocking on the store's runtime.
    pub(crate) fn save_placed(
        &self,
        order: &Order,
        events: &[crate::events::DomainEvent],
        key: Option<(String, Value)>,
        capacity: Option<crate::engine::CapacityPlacement>,
    ) -> Result<()> {
        self.block(self.write_placed(order, events, key, capacity))
    }

    /// [`PgStore::write_events`] of a confirmed order's unit that carries
    /// the capacity it took: its `orders` row gets `channel_id`,
    /// `slot_start` and `units`, and the lease commit, if any, is run fenced
    /// in the same transaction (refused: a stale-lease `Conflict`, nothing
    /// of the unit written).
    pub(crate) fn write_placed(
        &self,
        order: &Order,
        events: &[crate::events::DomainEvent],
        key: Option<(String, Value)>,
        capacity: Option<crate::engine::CapacityPlacement>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let unit = Self::unit_of(Some(order), events, key)
            .and_then(|u| Ok(u.with_capacity(capacity_row(order, capacity)?)));
        async move { self.submit(unit?).await }
    }

    fn unit_of(
        order: Option<&Order>,
        events: &[crate::events::DomainEvent],
        key: Option<(String, Value)>,
    ) -> Result<Unit> {
        Unit::new(
            order.map(OrderRow::of).transpose()?,
            events
                .iter()
                .map(EventRow::of_event)
                .collect::<Result<_>>()?,
            key,
        )
    }

    /// Appends events that belong to no order write (e.g. `CapacityUpdated`).
    pub fn append_events(&self, events: &[EventRecord]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let unit = Unit::new(
            None,
            events
                .iter()
                .map(EventRow::of_record)
                .collect::<Result<_>>()?,
            None,
        )?;
        self.block(self.submit(unit))
    }

    /// The stored order, if any.
    pub fn order(&self, id: &OrderId) -> Result<Option<Order>> {
        self.block(self.read_order(id))
    }

    pub(crate) async fn read_order(&self, id: &OrderId) -> Result<Option<Order>> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
        let row = self
            .reader()
            .query_opt(&sql, &[&id.0])
            .await
            .map_err(io("order read"))?;
        row.as_ref().map(order_from_row).transpose()
    }

    /// The outcome stored under an idempotency key.
    pub fn outcome_for_key(&self, key: &str) -> Result<Option<Value>> {
        self.block(self.read_outcome(key))
    }

    pub(crate) async fn read_outcome(&self, key: &str) -> Result<Option<Value>> {
        let row = self
            .reader()
            .query_opt(
                "SELECT outcome FROM idempotency_keys WHERE key = $1",
                &[&key],
            )
            .await
            .map_err(io("idempotency read"))?;
        row.map(|r| r.try_get(0).map_err(io("idempotency read")))
            .transpose()
    }

    /// A customer's orders, newest first, optionally in one status: the status
    /// fallback for `CustomerStatusIndex`.
    pub fn orders_by_customer(
        &self,
        customer: &CustomerId,
        status: Option<OrderStatus>,
        limit: usize,
    ) -> Result<Vec<Order>> {
        self.block(self.orders_by("customer_id", customer.0, status, limit))
    }

    /// A restaurant's orders, newest first, optionally in one status: the
    /// status fallback for `RestaurantStatusIndex`.
    pub fn orders_by_restaurant(
        &self,
        restaurant: &RestaurantId,
        status: Option<OrderStatus>,
        limit: usize,
    ) -> Result<Vec<Order>> {
        self.block(self.orders_by("restaurant_id", restaurant.0, status, limit))
    }

    pub(crate) async fn orders_by(
        &self,
        column: &str,
        key: uuid::Uuid,
        status: Option<OrderStatus>,
        limit: usize,
    ) -> Result<Vec<Order>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE {column} = $1 \
             AND ($2::text IS NULL OR status = $2) ORDER BY created_at DESC, id LIMIT $3"
        );
        let status = status.map(super::super::model::order::OrderStatus::as_str);
        let rows = self
            .reader()
            .query(&sql, &[&key, &status, &limit])
            .await
            .map_err(io("status fallback query"))?;
        rows.iter().map(order_from_row).collect()
    }

    /// Inserts or replaces an order's saga state.
    pub fn save_saga(&self, state: &SagaState) -> Result<()> {
        self.block(saga::save(self.reader(), state))
    }

    /// An order's saga state.
    pub fn saga(&self, id: &OrderId) -> Result<Option<SagaState>> {
        self.block(saga::load(self.reader(), id))
    }

    /// Runs administrative SQL (several statements, no parameters): schema
    /// set-up, operators' repairs. Not for the hot path.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        self.block(self.execute_batch_async(sql))
    }

    /// [`PgStore::execute_batch`] as a future of the caller's runtime.
    ///
    /// ```no_run
    /// # async fn run() -> uoom::Result<()> {
    /// # let store = uoom::adapters::postgres::PgStore::connect_async(
    /// #     uoom::adapters::postgres::PgConfig::new("postgres://u:p@127.0.0.1/db")).await?;
    /// store.execute_batch_async("CREATE SCHEMA IF NOT EXISTS tenant_7").await?;
    /// # Ok(()) }
    /// ```
    pub async fn execute_batch_async(&self, sql: &str) -> Result<()> {
        self.reader()
            .batch_execute(sql)
            .await
            .map_err(io("admin statement"))
    }

    /// Events neither published nor parked.
    pub fn outbox_depth(&self) -> Result<u64> {
        self.block(self.read_outbox_depth())
    }

    pub(crate) async fn read_outbox_depth(&self) -> Result<u64> {
        let row = self
            .reader()
            .query_one(
                "SELECT coalesce(sum(1 + coalesce(json_array_length(tail), 0)), 0)::bigint \
                 FROM outbox_events WHERE published_at IS NULL AND NOT dead",
                &[],
            )
            .await
            .map_err(io("outbox depth"))?;
        let n: i64 = row.try_get(0).map_err(io("outbox depth"))?;
        Ok(n.max(0) as u64)
    }

    /// Events this store has committed to the outbox since it connected.
    ///
    /// ```no_run
    /// # let store = uoom::adapters::postgres::PgStore::connect(uoom::adapters::postgres::PgConfig::new("postgres://u:p@127.0.0.1/db")).unwrap();
    /// assert_eq!(store.events_written(), 0);
    /// ```
    pub fn events_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Up to `max` oldest pending events (neither published nor parked) with
    /// their position (their row's `seq` times 65,536 plus their place in the
    /// row, which orders them as they must be delivered): the engine's
    /// in-process `Outbox::pending`, for callers that relay without
    /// [`PgOutboxStore`]'s claims (one relay only).
    pub fn pending_records(&self, max: usize) -> Result<Vec<(i64, EventRecord)>> {
        self.block(self.read_pending(max))
    }

    pub(crate) async fn read_pending(&self, max: usize) -> Result<Vec<(i64, EventRecord)>> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let rows = self
            .reader()
            .query(
                "SELECT seq, id, aggregate_type, aggregate_id, event_type, schema_version, payload, \
                 occurred_at, pos \
                 FROM outbox_event_list WHERE published_at IS NULL AND NOT dead \
                 ORDER BY seq, pos LIMIT $1",
                &[&max],
            )
            .await
            .map_err(io("outbox read"))?;
        rows.iter()
            .map(|r| {
                let e = io("outbox read");
                let version: i32 = r.try_get(5).map_err(&e)?;
                let at: std::time::SystemTime = r.try_get(7).map_err(&e)?;
                let pos: i32 = r.try_get(8).map_err(&e)?;
                Ok((
                    bundle::position(r.try_get(0).map_err(&e)?, i64::from(pos)),
                    EventRecord {
                        id: crate::EventId(r.try_get(1).map_err(&e)?),
                        aggregate_type: r.try_get(2).map_err(&e)?,
                        aggregate_id: r.try_get(3).map_err(&e)?,
                        event_type: r.try_get(4).map_err(&e)?,
                        schema_version: u16::try_from(version).unwrap_or(u16::MAX),
                        payload: r
                            .try_get::<_, tokio_postgres::types::Json<Box<serde_json::value::RawValue>>>(6)
                            .map_err(&e)?
                            .0,
                        occurred_at: rows::millis(at),
                    },
                ))
            })
            .collect()
    }

    /// Marks every pending event up to and including `position` (from
    /// [`PgStore::pending_records`]) as published. Rows go whole: a row
    /// acknowledged only part way stays pending, and its events are handed
    /// out again (at least once).
    pub fn mark_published_through(&self, position: i64) -> Result<()> {
        self.block(self.write_published_through(position))
    }

    pub(crate) async fn write_published_through(&self, position: i64) -> Result<()> {
        let (seq, index) = bundle::split_position(position);
        let index = i32::try_from(index).unwrap_or(i32::MAX);
        self.reader()
            .execute(
                "UPDATE outbox_events SET published_at = now() \
                 WHERE published_at IS NULL AND NOT dead \
                   AND (seq < $1 OR (seq = $1 \
                        AND first_pos + coalesce(json_array_length(tail), 0) <= $2))",
                &[&seq, &index],
            )
            .await
            .map_err(io("outbox acknowledge"))?;
        Ok(())
    }

    /// Every event of one aggregate with its delivery state, in the order of
    /// delivery (`outbox_event_list`).
    pub fn outbox_events_of(&self, aggregate_id: &str) -> Result<Vec<OutboxRow>> {
        self.block(self.read_outbox_events_of(aggregate_id))
    }

    async fn read_outbox_events_of(&self, aggregate_id: &str) -> Result<Vec<OutboxRow>> {
        let rows = self
            .reader()
            .query(
                "SELECT id, seq, event_type, attempts, published_at IS NOT NULL, dead, last_error \
                 FROM outbox_event_list WHERE aggregate_id = $1 ORDER BY seq, pos",
                &[&aggregate_id],
            )
            .await
            .map_err(io("outbox read"))?;
        rows.iter()
            .map(|r| {
                let e = io("outbox read");
                Ok(OutboxRow {
                    id: crate::EventId(r.try_get(0).map_err(&e)?),
                    seq: r.try_get(1).map_err(&e)?,
                    event_type: r.try_get(2).map_err(&e)?,
                    attempts: r.try_get(3).map_err(&e)?,
                    published: r.try_get(4).map_err(&e)?,
                    dead: r.try_get(5).map_err(&e)?,
                    last_error: r.try_get(6).map_err(&e)?,
                })
            })
            .collect()
    }
}
