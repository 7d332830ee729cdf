//! Capacity leases with PostgreSQL as the authority (`0011_capacity_leases.sql`).
//!
//! The durable state is two tables: `capacity_accounts` (per channel and
//! slot: capacity, units granted in leases, units committed) and
//! `capacity_leases` (per replica, channel and slot: the incarnation's epoch,
//! its units, its expiry). Every operation is one short transaction sent in
//! one round trip (`BEGIN`, a `SELECT … FOR UPDATE` of the account rows it
//! touches, one conditional statement per request, `COMMIT`, pipelined):
//!
//! - The **account row is the mutex** of its lease rows: every statement
//!   that changes a lease locks its account first, several accounts in key
//!   order, so two operations never wait on each other in a cycle.
//! - **The database's clock fences**: liveness is `clock_timestamp() <
//!   expires_at`, read by the statement that writes; the replica's clock
//!   is never consulted.
//! - **Expired leases release lazily**: the next statement on the account
//!   (a grant, a renewal, a commit, a capacity change) marks its expired
//!   leases released and takes their units out of `granted`, in the same
//!   statement. Reads ([`AsyncPgLeaseAuthority::state`]) subtract them
//!   without writing. No reaper is needed.
//! - **A commit can join the order's transaction**:
//!   [`AsyncPgLeaseAuthority::commit_fenced`] moves the units from the lease
//!   to `committed` inside the caller's transaction, so the order row, its
//!   outbox events and the capacity commit are written together or not at
//!   all.
//!
//! [`AsyncPgLeaseAuthority`] has the async methods (on the caller's tokio
//! runtime); [`PgLeaseAuthority`] implements the synchronous
//! [`LeaseAuthority`] port over an [`AdapterRuntime`], for
//! [`LeasedLedger`](crate::ledger::lease::LeasedLedger) and other sync callers.
//!
//! ```no_run
//! use std::sync::Arc;
//! use uoom::adapters::postgres::{PgLeaseAuthority, PgLeaseConfig};
//! use uoom::ledger::SlotId;
//! use uoom::ledger::lease::{LeaseAuthority, LeaseSettings, LeasedLedger};
//! use uoom::{ChannelId, SystemClock};
//! let authority = Arc::new(PgLeaseAuthority::connect(PgLeaseConfig::new(
//!     "postgres://uoom:uoom@127.0.0.1:25432/uoom",
//! ))?);
//! authority.migrate()?;
//! let kitchen = ChannelId::from("kitchen-1");
//! authority.set_capacity(&kitchen, SlotId(0), 10)?;
//! let replica = LeasedLedger::new("api-1", authority.clone(), Arc::new(SystemClock), LeaseSettings::default())?;
//! replica.reserve(1u128.into(), &kitchen, SlotId(0), 2, 30_000)?;
//! replica.commit(1u128.into(), None)?;
//! assert_eq!(authority.state(&kitchen, SlotId(0))?.committed, 2);
//! # Ok::<(), uoom::Error>(())
//! ```

mod blocking;
mod sql;

pub use blocking::PgLeaseAuthority;

use sql::{
    Fenced, GRANT, INSERT_ACCOUNT, LEASES_OF, LOCK_MANY, SET_CAPACITY, STATE, Stmt, id_param,
    lock_account, lock_by_lease, ms_param,
};

use super::rows::{at, millis};
use super::{connect_client, pg_error};
#[cfg(doc)]
use crate::adapters::AdapterRuntime;
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::ledger::DEFAULT_SLOT_MS;
#[cfg(doc)]
use crate::ledger::lease::LeaseAuthority;
use crate::ledger::lease::{
    AccountState, Epoch, FenceReason, Lease, LeaseError, LeaseId, LeaseReply, LeaseRequest,
    ReplicaId, StaleLease, check_grant,
};
use crate::ledger::{AccountKey, SlotId};
use crate::model::ids::ChannelId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;
use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row, Statement, Transaction};

/// Slots must start before 10000-01-01T00:00:00Z (ms since the epoch).
const SLOT_START_LIMIT_MS: u64 = 253_402_300_800_000;

/// How to reach the authority's database and how it names slots.
///
/// ```
/// use uoom::adapters::postgres::PgLeaseConfig;
/// let c = PgLeaseConfig::new("postgres://u:p@127.0.0.1/db").with_connections(4).with_slot_ms(60_000);
/// assert_eq!((c.connections, c.slot_ms), (4, 60_000));
/// assert_eq!(PgLeaseConfig::new("postgres://u:p@127.0.0.1/db").slot_ms, uoom::ledger::DEFAULT_SLOT_MS);
/// ```
#[derive(Debug, Clone)]
pub struct PgLeaseConfig {
    /// libpq-style URL or key=value string (`sslmode=require` for TLS with
    /// the `postgres-tls` feature, as for [`super::PgConfig`]).
    pub url: String,
    /// Connections, each running one operation at a time (default 2).
    pub connections: usize,
    /// Slot length in ms (default [`DEFAULT_SLOT_MS`], 15 minutes): slot `n`
    /// is stored as the time `n × slot_ms` after the epoch (`slot_start`).
    /// Every authority and every order writer of a database must agree on it.
    pub slot_ms: u64,
}

impl PgLeaseConfig {
    /// Defaults for `url`.
    ///
    /// ```
    /// let c = uoom::adapters::postgres::PgLeaseConfig::new("postgres://u:p@127.0.0.1/db");
    /// assert_eq!(c.connections, 2);
    /// ```
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            connections: 2,
            slot_ms: DEFAULT_SLOT_MS,
        }
    }

    /// Sets the number of connections (at least 1).
    ///
    /// ```
    /// let c = uoom::adapters::postgres::PgLeaseConfig::new("postgres://u:p@h/db").with_connections(0);
    /// assert_eq!(c.connections, 1);
    /// ```
    pub fn with_connections(mut self, n: usize) -> Self {
        self.connections = n.max(1);
        self
    }

    /// Sets the slot length in ms (at least 1).
    ///
    /// ```
    /// let c = uoom::adapters::postgres::PgLeaseConfig::new("postgres://u:p@h/db").with_slot_ms(0);
    /// assert_eq!(c.slot_ms, 1);
    /// ```
    pub fn with_slot_ms(mut self, ms: u64) -> Self {
        self.slot_ms = ms.max(1);
        self
    }
}

fn corrupt(what: &str, v: i64) -> Error {
    Error::io(format!("capacity lease tables: {what} {v} is out of range"))
}

fn u32_col(row: &Row, col: &str) -> Result<u32> {
    let v: i64 = row.try_get(col).map_err(|e| pg_error("lease row", e))?;
    u32::try_from(v).map_err(|_| corrupt(col, v))
}

fn u64_col(row: &Row, col: &str) -> Result<u64> {
    let v: i64 = row.try_get(col).map_err(|e| pg_error("lease row", e))?;
    u64::try_from(v).map_err(|_| corrupt(col, v))
}

fn col<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, col: &str) -> Result<T> {
    row.try_get(col).map_err(|e| pg_error("lease row", e))
}

/// The capacity lease authority in PostgreSQL, async: every method is one
/// round trip on one of its connections, on the caller's tokio runtime.
/// Cheap to share behind an `Arc`; `Send + Sync`.
///
/// A connection found closed (the server restarted, the network dropped) is
/// reopened by the next operation that picks it; the operation that hit the
/// failure gets an `Io` error.
///
/// ```no_run
/// use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseConfig};
/// use uoom::ledger::SlotId;
/// use uoom::ledger::lease::ReplicaId;
/// use uoom::ChannelId;
/// # async fn run() -> Result<(), uoom::ledger::lease::LeaseError> {
/// let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom")).await?;
/// auth.migrate().await?;
/// let c = ChannelId::from("kitchen-1");
/// auth.set_capacity(&c, SlotId(0), 10).await?;
/// let lease = auth.grant(&ReplicaId::from("api-1"), &c, SlotId(0), 4, 10_000).await?.lease;
/// let reply = auth.commit(lease.id, lease.epoch, 3).await?;
/// assert_eq!((reply.account.committed, reply.lease.units), (3, 1));
/// # Ok(())
/// # }
/// ```
pub struct AsyncPgLeaseAuthority {
    config: PgLeaseConfig,
    conns: Vec<Mutex<Conn>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for AsyncPgLeaseAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncPgLeaseAuthority")
            .field("connections", &self.conns.len())
            .field("slot_ms", &self.config.slot_ms)
            .finish_non_exhaustive()
    }
}

/// One connection. `dirty` while a transaction is in flight on it: set when
/// an operation starts, cleared when its last answer arrives, so a
/// connection whose operation was cancelled (its future dropped) is rolled
/// back before its next use.
///
/// Its statements are prepared on first use and run with generic plans
/// (`plan_cache_mode = force_generic_plan`): they look rows up by key
/// whatever the parameters, and planning the fenced statement afresh cost
/// more than running it (1.5 ms against 0.2–0.8 ms, EXPLAIN ANALYZE on the
/// development machine).
struct Conn {
    client: Client,
    dirty: bool,
    prepared: HashMap<&'static str, Statement>,
}

impl Conn {
    async fn open(url: &str) -> Result<Conn> {
        let client = connect_client(url).await?;
        client
            .batch_execute("SET plan_cache_mode = force_generic_plan")
            .await
            .map_err(|e| pg_error("lease session set-up", e))?;
        Ok(Conn {
            client,
            dirty: false,
            prepared: HashMap::new(),
        })
    }

    /// Prepares the statements of `stmts` this connection has not prepared.
    async fn prepare(&mut self, stmts: &[Stmt]) -> Result<()> {
        for s in stmts {
            if !self.prepared.contains_key(s.sql) {
                let types: Vec<Type> = s.params.iter().map(|(_, t)| t.clone()).collect();
                let st = self
                    .client
                    .prepare_typed(s.sql, &types)
                    .await
                    .map_err(|e| pg_error("lease statement prepare", e))?;
                self.prepared.insert(s.sql, st);
            }
        }
        Ok(())
    }

    async fn run(&self, s: &Stmt) -> Result<Vec<Row>, tokio_postgres::Error> {
        let params: Vec<&(dyn ToSql + Sync)> = s
            .params
            .iter()
            .map(|(v, _)| v.as_ref() as &(dyn ToSql + Sync))
            .collect();
        match self.prepared.get(s.sql) {
            Some(st) => self.client.query(st, &params).await,
            None => s.run(&self.client).await,
        }
    }

    /// Runs one statement outside a transaction (a read).
    async fn read(&mut self, s: &Stmt, context: &str) -> Result<Vec<Row>> {
        self.prepare(std::slice::from_ref(s)).await?;
        self.run(s).await.map_err(|e| pg_error(context, e))
    }

    /// Runs `stmts` in one transaction, pipelined in one round trip. A
    /// failing statement aborts the transaction; the `COMMIT` then rolls it
    /// back and the first error is returned.
    async fn transaction(&mut self, stmts: &[Stmt]) -> Result<Vec<Vec<Row>>> {
        self.prepare(stmts).await?;
        self.dirty = true;
        let this = &*self;
        let begin = this.client.batch_execute("BEGIN");
        let body = futures_util::future::join_all(stmts.iter().map(|s| this.run(s)));
        let commit = this.client.batch_execute("COMMIT");
        let (b, rows, c) = futures_util::future::join3(begin, body, commit).await;
        self.dirty = false;
        b.map_err(|e| pg_error("lease transaction begin", e))?;
        let rows = rows
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pg_error("lease statement", e))?;
        c.map_err(|e| pg_error("lease transaction commit", e))?;
        Ok(rows)
    }
}

impl AsyncPgLeaseAuthority {
    /// Opens `config.connections` connections (on the current tokio runtime,
    /// which drives them).
    ///
    /// ```no_run
    /// # async fn run() -> uoom::Result<()> {
    /// use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseConfig};
    /// let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom").with_connections(4)).await?;
    /// assert_eq!(auth.config().connections, 4);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(config: PgLeaseConfig) -> Result<Self> {
        let mut conns = Vec::new();
        for _ in 0..config.connections.max(1) {
            conns.push(Mutex::new(Conn::open(&config.url).await?));
        }
        Ok(Self {
            config,
            conns,
            next: AtomicUsize::new(0),
        })
    }

    /// The configuration it was built with.
    ///
    /// ```no_run
    /// # async fn run() -> uoom::Result<()> {
    /// use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseConfig};
    /// let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom")).await?;
    /// assert_eq!(auth.config().slot_ms, uoom::ledger::DEFAULT_SLOT_MS);
    /// # Ok(())
    /// # }
    /// ```
    pub fn config(&self) -> &PgLeaseConfig {
        &self.config
    }

    /// A free connection (the next one in turn if all are busy), reopened if
    /// it was closed and rolled back if an operation on it was cancelled.
    async fn conn(&self) -> Result<MutexGuard<'_, Conn>> {
        let n = self.conns.len();
        let first = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let found = (0..n).find_map(|i| self.conns[(first + i) % n].try_lock().ok());
        let mut conn = match found {
            Some(c) => c,
            None => self.conns[first].lock().await,
        };
        if !conn.client.is_closed() && conn.dirty {
            conn.dirty = conn.client.batch_execute("ROLLBACK").await.is_err();
        }
        if conn.client.is_closed() || conn.dirty {
            tracing::info!("reopening a lease authority connection");
            *conn = Conn::open(&self.config.url).await?;
        }
        Ok(conn)
    }

    /// Applies the embedded migrations not yet applied (the same set as
    /// [`super::PgStore::migrate`], `0011_capacity_leases.sql` among them);
    /// returns their names. Safe to run from several processes.
    ///
    /// ```no_run
    /// # async fn run() -> uoom::Result<()> {
    /// use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseConfig};
    /// let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom")).await?;
    /// auth.migrate().await?;
    /// assert!(auth.migrate().await?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn migrate(&self) -> Result<Vec<&'static str>> {
        let conn = self.conn().await?;
        super::migrate::migrate(&conn.client).await
    }

    /// When slot `slot` starts: `slot × slot_ms` after the epoch, the
    /// `slot_start` the tables (and an order row) store. `Validation` error
    /// for a slot starting in the year 10000 or later.
    ///
    /// ```no_run
    /// # async fn run() -> uoom::Result<()> {
    /// use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseConfig};
    /// use uoom::{Millis, ledger::SlotId};
    /// let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom").with_slot_ms(60_000)).await?;
    /// assert_eq!(auth.slot_start(SlotId(3))?, Millis(180_000));
    /// # Ok(())
    /// # }
    /// ```
    pub fn slot_start(&self, slot: SlotId) -> Result<Millis> {
        u64::from(slot.0)
            .checked_mul(self.config.slot_ms)
            .filter(|ms| *ms < SLOT_START_LIMIT_MS)
            .map(Millis)
            .ok_or_else(|| {
                Error::invalid(
                    "slot",
                    "out_of_range",
                    format!(
                        "slot {slot} of {} ms starts after the year 9999",
                        self.config.slot_ms
                    ),
                )
            })
    }

    fn start_param(&self, slot: SlotId) -> Result<SystemTime> {
        Ok(at(self.slot_start(slot)?))
    }

    fn slot_of(&self, start: SystemTime) -> SlotId {
        SlotId(u32::try_from(millis(start).0 / self.config.slot_ms).unwrap_or(u32::MAX))
    }

    fn lease_of(&self, row: &Row) -> Result<Lease> {
        let id: i64 = col(row, "id")?;
        let epoch: i64 = col(row, "epoch")?;
        let replica: String = col(row, "replica_id")?;
        let channel: String = col(row, "channel_id")?;
        Ok(Lease {
            id: LeaseId(u64::try_from(id).map_err(|_| corrupt("id", id))?),
            epoch: Epoch(u64::try_from(epoch).map_err(|_| corrupt("epoch", epoch))?),
            replica: ReplicaId(replica),
            channel: ChannelId::from(channel),
            slot: self.slot_of(col(row, "slot_start")?),
            units: u32_col(row, "units")?,
            committed: u32_col(row, "committed")?,
            granted_at: millis(col(row, "granted_at")?),
            expires_at: millis(col(row, "expires_at")?),
            ended: col(row, "revoked")?,
        })
    }

    fn reply_of(&self, row: &Row) -> Result<LeaseReply> {
        let lease = self.lease_of(row)?;
        let account = account_of(lease.channel.clone(), lease.slot, row)?;
        Ok(LeaseReply { lease, account })
    }

    /// Creates the account or changes its capacity, as
    /// [`LeaseAuthority::set_capacity`]: a cut below `committed + Σ live
    /// units` revokes live leases, the most units first (ties: the lowest
    /// lease id). One transaction.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), uoom::ledger::lease::LeaseError> {
    /// use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseConfig};
    /// use uoom::{ChannelId, ledger::SlotId};
    /// let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom")).await?;
    /// let s = auth.set_capacity(&ChannelId::from("k1"), SlotId(0), 10).await?;
    /// assert_eq!(s.capacity, 10);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn set_capacity(
        &self,
        channel: &ChannelId,
        slot: SlotId,
        capacity: u32,
    ) -> Result<AccountState, LeaseError> {
        let start = self.start_param(slot)?;
        let ch = channel.as_str().to_owned();
        let cap = i64::from(capacity);
        let stmts = [
            Stmt::new(INSERT_ACCOUNT)
                .arg(ch.clone(), Type::TEXT)
                .arg(start, Type::TIMESTAMPTZ)
                .arg(cap, Type::INT8),
            lock_account(&ch, start),
            Stmt::new(SET_CAPACITY)
                .arg(ch, Type::TEXT)
                .arg(start, Type::TIMESTAMPTZ)
                .arg(cap, Type::INT8),
        ];
        let rows = self.conn().await?.transaction(&stmts).await?;
        let row = rows
            .get(2)
            .and_then(|r| r.first())
            .ok_or_else(|| Error::io("postgres set_capacity returned no account"))?;
        let ids: Vec<i64> = col(row, "revoked_ids")?;
        let replicas: Vec<String> = col(row, "revoked_replicas")?;
        for (id, replica) in ids.iter().zip(&replicas) {
            tracing::info!(lease = %LeaseId(id.unsigned_abs()), %replica, "lease revoked by a capacity cut");
        }
        let state = account_of(channel.clone(), slot, row)?;
        if state.overcommitted() > 0 {
            tracing::warn!(account = %AccountKey { channel: channel.clone(), slot }, capacity, committed = state.committed, "capacity set below committed units");
        }
        Ok(state)
    }

    /// The account as it is now, as [`LeaseAuthority::state`]: leases past
    /// their expiry on the database's clock no longer count. One read, no
    /// write. `NotFound` if the capacity was never set.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), uoom::ledger::lease::LeaseError> {
    /// use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseConfig};
    /// use uoom::{ChannelId, ledger::SlotId};
    /// let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom")).await?;
    /// let c = ChannelId::from("k1");
    /// auth.set_capacity(&c, SlotId(0), 10).await?;
    /// assert_eq!(auth.state(&c, SlotId(0)).await?.free(), 10);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn state(
        &self,
        channel: &ChannelId,
        slot: SlotId,
    ) -> Result<AccountState, LeaseError> {
        let stmt = Stmt::new(STATE)
            .arg(channel.as_str().to_owned(), Type::TEXT)
            .arg(self.start_param(slot)?, Type::TIMESTAMPTZ);
        let rows = self.conn().await?.read(&stmt, "lease state read").await?;
        match rows.first() {
            Some(row) => Ok(account_of(channel.clone(), slot, row)?),
            None => Err(not_found_account(channel, slot)),
        }
    }

    /// Every lease row of `replica` (the latest incarnation of each), as
    /// [`LeaseAuthority::leases_of`]. One read.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), uoom::ledger::lease::LeaseError> {
    /// use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseConfig};
    /// use uoom::ledger::lease::ReplicaId;
    /// let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom")).await?;
    /// for lease in auth.leases_of(&ReplicaId::from("api-1")).await? {
    ///     println!("{} {} units until {}", lease.id, lease.units, lease.expires_at.to_rfc3339());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn leases_of(&self, replica: &ReplicaId) -> Result<Vec<Lease>, LeaseError> {
        let stmt = Stmt::new(LEASES_OF).arg(replica.0.clone(), Type::TEXT);
        let rows = self.conn().await?.read(&stmt, "lease rows read").await?;
        Ok(rows
            .iter()
            .map(|r| self.lease_of(r))
            .collect::<Result<_>>()?)
    }

    fn grant_stmt(
        &self,
        replica: &ReplicaId,
        channel: &ChannelId,
        slot: SlotId,
        want: u32,
        ttl_ms: u64,
    ) -> Result<Stmt, LeaseError> {
        check_grant(want, ttl_ms)?;
        Ok(Stmt::new(GRANT)
            .arg(replica.0.clone(), Type::TEXT)
            .arg(channel.as_str().to_owned(), Type::TEXT)
            .arg(self.start_param(slot)?, Type::TIMESTAMPTZ)
            .arg(i64::from(want), Type::INT8)
            .arg(ms_param(ttl_ms), Type::INT8))
    }

    fn grant_answer(
        &self,
        channel: &ChannelId,
        slot: SlotId,
        rows: &[Row],
    ) -> Result<LeaseReply, LeaseError> {
        match rows.first() {
            Some(row) => Ok(self.reply_of(row)?),
            None => Err(not_found_account(channel, slot)),
        }
    }

    /// A new incarnation of `replica`'s lease on the account, as
    /// [`LeaseAuthority::grant`]: `min(want, free)` units until the
    /// database's now + `ttl_ms`, with the next epoch of the
    /// `capacity_lease_epochs` sequence. One transaction.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), uoom::ledger::lease::LeaseError> {
    /// use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseConfig};
    /// use uoom::ledger::lease::ReplicaId;
    /// use uoom::{ChannelId, ledger::SlotId};
    /// let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom")).await?;
    /// let c = ChannelId::from("k1");
    /// auth.set_capacity(&c, SlotId(0), 3).await?;
    /// let reply = auth.grant(&ReplicaId::from("api-1"), &c, SlotId(0), 5, 10_000).await?;
    /// assert_eq!((reply.lease.units, reply.account.free()), (3, 0));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn grant(
        &self,
        replica: &ReplicaId,
        channel: &ChannelId,
        slot: SlotId,
        want: u32,
        ttl_ms: u64,
    ) -> Result<LeaseReply, LeaseError> {
        let grant = self.grant_stmt(replica, channel, slot, want, ttl_ms)?;
        let stmts = [
            lock_account(channel.as_str(), self.start_param(slot)?),
            grant,
        ];
        let rows = self.conn().await?.transaction(&stmts).await?;
        self.grant_answer(channel, slot, &rows[1])
    }

    async fn fenced(
        &self,
        lease: LeaseId,
        epoch: Epoch,
        op: Fenced,
    ) -> Result<LeaseReply, LeaseError> {
        op.check()?;
        let stmts = [lock_by_lease(lease), op.stmt(lease, epoch)];
        let rows = self.conn().await?.transaction(&stmts).await?;
        self.fenced_answer(lease, epoch, op, &rows[1])
    }

    /// Turns a row of the fenced statement (`sql::FENCED`) into the reply or the refusal, judged as
    /// `MemoryAuthority` judges: an older epoch is superseded, a newer one
    /// unknown, then revoked, then expired (on the database's clock), then
    /// too few units.
    fn fenced_answer(
        &self,
        lease: LeaseId,
        epoch: Epoch,
        op: Fenced,
        rows: &[Row],
    ) -> Result<LeaseReply, LeaseError> {
        let Some(row) = rows.first() else {
            return Err(Error::not_found(format!("{lease}")).into());
        };
        if col::<bool>(row, "f_ok")? {
            return Ok(self.reply_of(row)?);
        }
        Err(fenced_refusal(lease, epoch, op, row))
    }

    /// Extends a live lease to the database's now + `ttl_ms`, as
    /// [`LeaseAuthority::renew`]. Fenced. One transaction.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), uoom::ledger::lease::LeaseError> {
    /// use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseConfig};
    /// use uoom::ledger::lease::ReplicaId;
    /// use uoom::{ChannelId, ledger::SlotId};
    /// let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom")).await?;
    /// let c = ChannelId::from("k1");
    /// auth.set_capacity(&c, SlotId(0), 3).await?;
    /// let l = auth.grant(&ReplicaId::from("api-1"), &c, SlotId(0), 1, 1_000).await?.lease;
    /// assert!(auth.renew(l.id, l.epoch, 5_000).await?.lease.expires_at > l.expires_at);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn renew(
        &self,
        lease: LeaseId,
        epoch: Epoch,
        ttl_ms: u64,
    ) -> Result<LeaseReply, LeaseError> {
        self.fenced(lease, epoch, Fenced::Renew { ttl_ms }).await
    }

    /// Renews a live lease and brings its units towards `target`, as
    /// [`LeaseAuthority::resize`]. Fenced. One transaction.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), uoom::ledger::lease::LeaseError> {
    /// use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseConfig};
    /// use uoom::ledger::lease::ReplicaId;
    /// use uoom::{ChannelId, ledger::SlotId};
    /// let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom")).await?;
    /// let c = ChannelId::from("k1");
    /// auth.set_capacity(&c, SlotId(0), 6).await?;
    /// let l = auth.grant(&ReplicaId::from("api-1"), &c, SlotId(0), 2, 10_000).await?.lease;
    /// assert_eq!(auth.resize(l.id, l.epoch, 9, 10_000).await?.lease.units, 6);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn resize(
        &self,
        lease: LeaseId,
        epoch: Epoch,
        target: u32,
        ttl_ms: u64,
    ) -> Result<LeaseReply, LeaseError> {
        self.fenced(lease, epoch, Fenced::Resize { target, ttl_ms })
            .await
    }

    /// Gives `units` of a live lease back to the pool, as
    /// [`LeaseAuthority::return_units`]. Fenced. One transaction.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), uoom::ledger::lease::LeaseError> {
    /// use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseConfig};
    /// use uoom::ledger::lease::ReplicaId;
    /// use uoom::{ChannelId, ledger::SlotId};
    /// let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom")).await?;
    /// let c = ChannelId::from("k1");
    /// auth.set_capacity(&c, SlotId(0), 6).await?;
    /// let l = auth.grant(&ReplicaId::from("api-1"), &c, SlotId(0), 4, 10_000).await?.lease;
    /// assert_eq!(auth.return_units(l.id, l.epoch, 3).await?.account.free(), 5);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn return_units(
        &self,
        lease: LeaseId,
        epoch: Epoch,
        units: u32,
    ) -> Result<LeaseReply, LeaseError> {
        self.fenced(lease, epoch, Fenced::Return { units }).await
    }

    /// Commits `units` of a live lease in a transaction of its own, as
    /// [`LeaseAuthority::commit`]. To write the commit with the order, use
    /// [`AsyncPgLeaseAuthority::commit_fenced`] instead.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), uoom::ledger::lease::LeaseError> {
    /// use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseConfig};
    /// use uoom::ledger::lease::ReplicaId;
    /// use uoom::{ChannelId, ledger::SlotId};
    /// let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom")).await?;
    /// let c = ChannelId::from("k1");
    /// auth.set_capacity(&c, SlotId(0), 6).await?;
    /// let l = auth.grant(&ReplicaId::from("api-1"), &c, SlotId(0), 4, 10_000).await?.lease;
    /// let reply = auth.commit(l.id, l.epoch, 3).await?;
    /// assert_eq!((reply.account.committed, reply.account.granted), (3, 1));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn commit(
        &self,
        lease: LeaseId,
        epoch: Epoch,
        units: u32,
    ) -> Result<LeaseReply, LeaseError> {
        self.fenced(lease, epoch, Fenced::Commit { units }).await
    }

    /// The fenced commit inside the caller's transaction: locks the lease's
    /// account, then moves `units` from the lease to `committed` only if the
    /// lease row holds `epoch`, is neither revoked nor released and expires
    /// after the database's `clock_timestamp()`. Nothing is written on a
    /// refusal ([`LeaseError::Stale`], `Capacity`, `NotFound`): the caller
    /// rolls its transaction back (the order is routed again or fails) —
    /// and so the order row, its outbox events and the commit are durable
    /// together or not at all. One round trip.
    ///
    /// The account's row stays locked until the transaction ends: call it
    /// last, just before `COMMIT`; a transaction that commits several
    /// leases should commit them in (channel, slot) order, as the authority
    /// locks accounts, so that two such transactions cannot deadlock.
    ///
    /// The reply describes the state the transaction will commit; if it
    /// rolls back, nothing happened. (With a
    /// [`LeasedLedger`](crate::ledger::lease::LeasedLedger), hand the outcome
    /// to [`LeasedLedger::settle_commit`](crate::ledger::lease::LeasedLedger::settle_commit)
    /// once the transaction's fate is known.)
    ///
    /// ```no_run
    /// # async fn run(auth: uoom::adapters::postgres::AsyncPgLeaseAuthority, lease: uoom::ledger::lease::Lease) -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut client, conn) = tokio_postgres::connect("postgres://uoom:uoom@127.0.0.1:25432/uoom", tokio_postgres::NoTls).await?;
    /// tokio::spawn(conn);
    /// let tx = client.transaction().await?;
    /// tx.execute("UPDATE orders SET status = 'CONFIRMED', channel_id = $2, slot_start = $3, units = 2 WHERE id = $1",
    ///            &[&uuid::Uuid::nil(), &lease.channel.as_str(), &std::time::SystemTime::UNIX_EPOCH]).await?;
    /// match auth.commit_fenced(&tx, lease.id, lease.epoch, 2).await {
    ///     Ok(_) => tx.commit().await?,
    ///     Err(refused) => {
    ///         tx.rollback().await?; // the order is not confirmed: route it again
    ///         eprintln!("{refused}");
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn commit_fenced(
        &self,
        tx: &Transaction<'_>,
        lease: LeaseId,
        epoch: Epoch,
        units: u32,
    ) -> Result<LeaseReply, LeaseError> {
        let op = Fenced::Commit { units };
        op.check()?;
        let lock = lock_by_lease(lease);
        let commit = op.stmt(lease, epoch);
        let (locked, rows) = futures_util::future::join(lock.run(tx), commit.run(tx)).await;
        locked.map_err(|e| pg_error("lease account lock", e))?;
        let rows = rows.map_err(|e| pg_error("fenced commit", e))?;
        self.fenced_answer(lease, epoch, op, &rows)
    }

    /// Several grants and resizes in one transaction and one round trip, as
    /// [`LeaseAuthority::exchange`] (what a replica's refresh sends): the
    /// accounts are locked in key order, then each request runs as its own
    /// statement, in order; each succeeds or fails on its own (bad input is
    /// answered without being sent).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), uoom::ledger::lease::LeaseError> {
    /// use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseConfig};
    /// use uoom::ledger::lease::{LeaseRequest, ReplicaId};
    /// use uoom::{ChannelId, ledger::SlotId};
    /// let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom")).await?;
    /// let c = ChannelId::from("k1");
    /// let r = ReplicaId::from("api-1");
    /// auth.set_capacity(&c, SlotId(0), 6).await?;
    /// let l = auth.grant(&r, &c, SlotId(0), 2, 10_000).await?.lease;
    /// let answers = auth.exchange(&r, &[
    ///     LeaseRequest::Resize { lease: l.id, epoch: l.epoch, target: 5, ttl_ms: 10_000 },
    ///     LeaseRequest::Grant { channel: c.clone(), slot: SlotId(7), want: 1, ttl_ms: 10_000 },
    /// ]).await;
    /// assert_eq!(answers[0].as_ref().unwrap().lease.units, 5);
    /// assert!(answers[1].is_err()); // no such account
    /// # Ok(())
    /// # }
    /// ```
    pub async fn exchange(
        &self,
        replica: &ReplicaId,
        requests: &[LeaseRequest],
    ) -> Vec<Result<LeaseReply, LeaseError>> {
        let mut answers: Vec<Option<Result<LeaseReply, LeaseError>>> = Vec::new();
        let mut stmts = Vec::new();
        let (mut channels, mut starts, mut leases) = (Vec::new(), Vec::new(), Vec::new());
        for request in requests {
            let stmt = match request {
                LeaseRequest::Grant {
                    channel,
                    slot,
                    want,
                    ttl_ms,
                } => self
                    .grant_stmt(replica, channel, *slot, *want, *ttl_ms)
                    .and_then(|s| {
                        channels.push(channel.as_str().to_owned());
                        starts.push(self.start_param(*slot)?);
                        Ok(s)
                    }),
                LeaseRequest::Resize {
                    lease,
                    epoch,
                    target,
                    ttl_ms,
                } => {
                    let op = Fenced::Resize {
                        target: *target,
                        ttl_ms: *ttl_ms,
                    };
                    op.check().map(|()| {
                        leases.push(id_param(lease.0));
                        op.stmt(*lease, *epoch)
                    })
                }
            };
            match stmt {
                Ok(s) => {
                    stmts.push(s);
                    answers.push(None);
                }
                Err(e) => answers.push(Some(Err(e))),
            }
        }
        if stmts.is_empty() {
            return answers.into_iter().flatten().collect();
        }
        let lock = Stmt::new(LOCK_MANY)
            .arg(channels, Type::TEXT_ARRAY)
            .arg(starts, Type::TIMESTAMPTZ_ARRAY)
            .arg(leases, Type::INT8_ARRAY);
        stmts.insert(0, lock);
        let sent = match self.conn().await {
            Ok(mut conn) => conn.transaction(&stmts).await,
            Err(e) => Err(e),
        };
        let mut rows = match sent {
            Ok(rows) => rows.into_iter().skip(1),
            Err(e) => {
                return answers
                    .into_iter()
                    .map(|a| a.unwrap_or_else(|| Err(e.clone().into())))
                    .collect();
            }
        };
        requests
            .iter()
            .zip(answers)
            .map(|(request, answer)| {
                if let Some(answer) = answer {
                    return answer;
                }
                let rows = rows.next().unwrap_or_default();
                match request {
                    LeaseRequest::Grant { channel, slot, .. } => {
                        self.grant_answer(channel, *slot, &rows)
                    }
                    LeaseRequest::Resize {
                        lease,
                        epoch,
                        target,
                        ttl_ms,
                    } => self.fenced_answer(
                        *lease,
                        *epoch,
                        Fenced::Resize {
                            target: *target,
                            ttl_ms: *ttl_ms,
                        },
                        &rows,
                    ),
                }
            })
            .collect()
    }
}

fn account_of(channel: ChannelId, slot: SlotId, row: &Row) -> Result<AccountState> {
    Ok(AccountState {
        channel,
        slot,
        capacity: u32_col(row, "a_capacity")?,
        granted: u32_col(row, "a_granted")?,
        committed: u32_col(row, "a_committed")?,
    })
}

fn not_found_account(channel: &ChannelId, slot: SlotId) -> LeaseError {
    Error::not_found(format!(
        "account {}",
        AccountKey {
            channel: channel.clone(),
            slot
        }
    ))
    .into()
}

/// Why the fenced statement (`sql::FENCED`) refused, from its row, judged
/// as `MemoryAuthority` judges: an older epoch is superseded, a newer one
/// unknown, then revoked, then expired (on the database's clock), then too
/// few units.
fn fenced_refusal(lease: LeaseId, epoch: Epoch, op: Fenced, row: &Row) -> LeaseError {
    match refusal_of(lease, epoch, op, row) {
        Ok(e) | Err(e) => e,
    }
}

fn refusal_of(
    lease: LeaseId,
    epoch: Epoch,
    op: Fenced,
    row: &Row,
) -> Result<LeaseError, LeaseError> {
    let current = Epoch(u64_col(row, "f_epoch")?);
    let stale = |reason| {
        LeaseError::Stale(StaleLease {
            lease,
            epoch,
            reason,
        })
    };
    if epoch < current {
        return Ok(stale(FenceReason::Superseded { current }));
    }
    if epoch > current {
        return Ok(Error::not_found(format!("{lease} at {epoch}")).into());
    }
    if col::<bool>(row, "f_revoked")? {
        return Ok(stale(FenceReason::Revoked));
    }
    let expires_at = millis(col(row, "f_expires_at")?);
    let now = millis(col(row, "f_now")?);
    let units = u32_col(row, "f_units")?;
    match op {
        Fenced::Commit { units: n } if n > units && now < expires_at => Ok(Error::Capacity(
            format!("{lease} at {epoch} holds {units} units, commit of {n} refused"),
        )
        .into()),
        Fenced::Return { units: n } if n > units && now < expires_at => Ok(Error::invalid(
            "units",
            "out_of_range",
            format!("{lease} holds {units} units, cannot return {n}"),
        )
        .into()),
        // Past its expiry, or released by a statement that saw it expired
        // (a database clock that went back would make that look live).
        _ => Ok(stale(FenceReason::Expired { expires_at, now })),
    }
}

/// [`sql::FENCED`] with a check that raises when the lease is refused, so
/// that a refusal aborts the caller's transaction by itself: the whole
/// transaction (begin, fenced commits, rows, commit) can then go out in one
/// flight, and no account row stays locked while the client waits — a
/// client stopped mid-transaction (a paused replica) holds nothing.
fn fenced_checked_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        sql::FENCED.replacen(
            "SELECT cur.ok AS f_ok,",
            &format!(
                "SELECT CASE WHEN cur.ok THEN 1 ELSE uoom_expect_rows(0, {FENCE_REFUSED}) END AS f_check, \
                 cur.ok AS f_ok,"
            ),
            1,
        )
    })
}

/// The `expected` count of the check that refuses a fenced commit, so the
/// error names it (`stale order write: 0 of … orders changed` otherwise).
const FENCE_REFUSED: i64 = -1;

/// Whether a database error is [`fenced_checked_sql`]'s refusal.
pub(super) fn is_fence_refusal(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|db| db.message().starts_with("stale order write: 0 of -1 "))
}

/// The fenced commit of `units` of `lease` at `epoch` on `client`, inside
/// the transaction the caller began there (the group-commit writer's, on
/// its own connection): locks the lease's account, then commits only if
/// the lease is live at `epoch` on the database's clock, and raises
/// otherwise (see [`is_fence_refusal`]; the transaction is then aborted).
/// Returns the statements' futures' outcome; nothing is awaited in between,
/// so the caller can pipeline the rest of its transaction behind it.
pub(super) async fn commit_fenced_on(
    client: &Client,
    lease: LeaseId,
    epoch: Epoch,
    units: u32,
) -> Result<(), tokio_postgres::Error> {
    let lock = lock_by_lease(lease);
    let mut commit = Fenced::Commit { units }.stmt(lease, epoch);
    commit.sql = fenced_checked_sql();
    let (locked, rows) = futures_util::future::join(lock.run(client), commit.run(client)).await;
    locked?;
    rows.map(|_| ())
}

/// Why the fence refused `lease` at `epoch` (after the refusing transaction
/// rolled back): read from its row, judged as the fenced statement judges.
pub(super) async fn refusal_on(
    client: &Client,
    lease: LeaseId,
    epoch: Epoch,
    units: u32,
) -> LeaseError {
    let read = client
        .query(
            "SELECT false AS f_ok, clock_timestamp() AS f_now, epoch AS f_epoch, \
                    revoked AS f_revoked, expires_at AS f_expires_at, units AS f_units \
             FROM capacity_leases WHERE id = $1",
            &[&sql::id_param(lease.0)],
        )
        .await;
    match read {
        Ok(rows) => match rows.first() {
            Some(row) => fenced_refusal(lease, epoch, Fenced::Commit { units }, row),
            None => Error::not_found(format!("{lease}")).into(),
        },
        Err(e) => pg_error("reading a refused lease", e).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hosts spawn these futures on a multi-threaded runtime and share the
    /// authority between threads: both must stay `Send` (and `Sync`).
    #[allow(dead_code)]
    fn futures_are_send(auth: &AsyncPgLeaseAuthority, tx: &Transaction<'_>) {
        fn send<T: Send>(_: &T) {}
        fn shared<T: Send + Sync>() {}
        shared::<AsyncPgLeaseAuthority>();
        shared::<PgLeaseAuthority>();
        let (r, c) = (ReplicaId::from("r"), ChannelId::from("c"));
        send(&auth.grant(&r, &c, SlotId(0), 1, 1));
        send(&auth.commit(LeaseId(1), Epoch(1), 1));
        send(&auth.commit_fenced(tx, LeaseId(1), Epoch(1), 1));
        send(&auth.exchange(&r, &[]));
        send(&auth.state(&c, SlotId(0)));
        send(&auth.set_capacity(&c, SlotId(0), 1));
    }
}
