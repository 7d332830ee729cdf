//! The synchronous port over the async authority.

use super::{AsyncPgLeaseAuthority, PgLeaseConfig};
use crate::adapters::AdapterRuntime;
use crate::clock::Millis;
use crate::error::Result;
use crate::ledger::SlotId;
use crate::ledger::lease::{
    AccountState, Epoch, Lease, LeaseAuthority, LeaseError, LeaseId, LeaseReply, LeaseRequest,
    ReplicaId,
};
use crate::model::ids::ChannelId;

/// The capacity lease authority in PostgreSQL behind the synchronous
/// [`LeaseAuthority`] port: each call blocks the caller on an
/// [`AdapterRuntime`] (refused with an `Io` error from inside a tokio
/// runtime; use [`PgLeaseAuthority::as_async`] there).
///
/// ```no_run
/// use std::sync::Arc;
/// use uoom::adapters::postgres::{PgLeaseAuthority, PgLeaseConfig};
/// use uoom::ledger::SlotId;
/// use uoom::ledger::lease::{LeaseAuthority, ReplicaId};
/// use uoom::ChannelId;
/// let auth: Arc<dyn LeaseAuthority> = Arc::new(PgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom"))?);
/// let c = ChannelId::from("k1");
/// auth.set_capacity(&c, SlotId(0), 10)?;
/// let l = auth.grant(&ReplicaId::from("api-1"), &c, SlotId(0), 4, 10_000)?.lease;
/// auth.commit(l.id, l.epoch, 3)?;
/// assert_eq!(auth.state(&c, SlotId(0))?.committed, 3);
/// # Ok::<(), uoom::ledger::lease::LeaseError>(())
/// ```
#[derive(Debug)]
pub struct PgLeaseAuthority {
    rt: AdapterRuntime,
    inner: AsyncPgLeaseAuthority,
}

impl PgLeaseAuthority {
    /// Connects with a runtime of its own (one thread).
    ///
    /// ```no_run
    /// use uoom::adapters::postgres::{PgLeaseAuthority, PgLeaseConfig};
    /// let auth = PgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom"))?;
    /// auth.migrate()?;
    /// # Ok::<(), uoom::Error>(())
    /// ```
    pub fn connect(config: PgLeaseConfig) -> Result<Self> {
        Self::connect_with(config, AdapterRuntime::new(1)?)
    }

    /// Connects on a shared runtime (e.g. [`PgStore::runtime`](crate::adapters::postgres::PgStore::runtime)'s).
    ///
    /// ```no_run
    /// use uoom::adapters::postgres::{PgConfig, PgLeaseAuthority, PgLeaseConfig, PgStore};
    /// let url = "postgres://uoom:uoom@127.0.0.1:25432/uoom";
    /// let store = PgStore::connect(PgConfig::new(url))?;
    /// // A store opened with `connect` has a runtime of its own.
    /// let rt = store.runtime().expect("a blocking store").clone();
    /// let auth = PgLeaseAuthority::connect_with(PgLeaseConfig::new(url), rt)?;
    /// # Ok::<(), uoom::Error>(())
    /// ```
    pub fn connect_with(config: PgLeaseConfig, rt: AdapterRuntime) -> Result<Self> {
        let inner = rt.block_on(AsyncPgLeaseAuthority::connect(config))??;
        Ok(Self { rt, inner })
    }

    /// The async authority underneath (same connections), for callers on a
    /// tokio runtime and for [`AsyncPgLeaseAuthority::commit_fenced`].
    ///
    /// ```no_run
    /// use uoom::adapters::postgres::{PgLeaseAuthority, PgLeaseConfig};
    /// let auth = PgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom"))?;
    /// assert_eq!(auth.as_async().config().connections, 2);
    /// # Ok::<(), uoom::Error>(())
    /// ```
    pub fn as_async(&self) -> &AsyncPgLeaseAuthority {
        &self.inner
    }

    /// The runtime it blocks on (share it with other adapters).
    ///
    /// ```no_run
    /// use uoom::adapters::postgres::{PgLeaseAuthority, PgLeaseConfig};
    /// let auth = PgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom"))?;
    /// assert_eq!(auth.runtime().block_on(async { 1 })?, 1);
    /// # Ok::<(), uoom::Error>(())
    /// ```
    pub fn runtime(&self) -> &AdapterRuntime {
        &self.rt
    }

    /// Applies the embedded migrations not yet applied
    /// ([`AsyncPgLeaseAuthority::migrate`]).
    ///
    /// ```no_run
    /// use uoom::adapters::postgres::{PgLeaseAuthority, PgLeaseConfig};
    /// let auth = PgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom"))?;
    /// auth.migrate()?;
    /// assert!(auth.migrate()?.is_empty());
    /// # Ok::<(), uoom::Error>(())
    /// ```
    pub fn migrate(&self) -> Result<Vec<&'static str>> {
        self.rt.block_on(self.inner.migrate())?
    }

    /// When slot `slot` starts ([`AsyncPgLeaseAuthority::slot_start`]).
    ///
    /// ```no_run
    /// use uoom::adapters::postgres::{PgLeaseAuthority, PgLeaseConfig};
    /// use uoom::{Millis, ledger::SlotId};
    /// let auth = PgLeaseAuthority::connect(PgLeaseConfig::new("postgres://uoom:uoom@127.0.0.1:25432/uoom"))?;
    /// assert_eq!(auth.slot_start(SlotId(1))?, Millis(900_000));
    /// # Ok::<(), uoom::Error>(())
    /// ```
    pub fn slot_start(&self, slot: SlotId) -> Result<Millis> {
        self.inner.slot_start(slot)
    }

    fn block<T>(&self, fut: impl Future<Output = Result<T, LeaseError>>) -> Result<T, LeaseError> {
        self.rt.block_on(fut)?
    }
}

impl LeaseAuthority for PgLeaseAuthority {
    fn set_capacity(
        &self,
        channel: &ChannelId,
        slot: SlotId,
        capacity: u32,
    ) -> Result<AccountState, LeaseError> {
        self.block(self.inner.set_capacity(channel, slot, capacity))
    }

    fn state(&self, channel: &ChannelId, slot: SlotId) -> Result<AccountState, LeaseError> {
        self.block(self.inner.state(channel, slot))
    }

    fn leases_of(&self, replica: &ReplicaId) -> Result<Vec<Lease>, LeaseError> {
        self.block(self.inner.leases_of(replica))
    }

    fn grant(
        &self,
        replica: &ReplicaId,
        channel: &ChannelId,
        slot: SlotId,
        want: u32,
        ttl_ms: u64,
    ) -> Result<LeaseReply, LeaseError> {
        self.block(self.inner.grant(replica, channel, slot, want, ttl_ms))
    }

    fn renew(&self, lease: LeaseId, epoch: Epoch, ttl_ms: u64) -> Result<LeaseReply, LeaseError> {
        self.block(self.inner.renew(lease, epoch, ttl_ms))
    }

    fn resize(
        &self,
        lease: LeaseId,
        epoch: Epoch,
        target: u32,
        ttl_ms: u64,
    ) -> Result<LeaseReply, LeaseError> {
        self.block(self.inner.resize(lease, epoch, target, ttl_ms))
    }

    fn return_units(
        &self,
        lease: LeaseId,
        epoch: Epoch,
        units: u32,
    ) -> Result<LeaseReply, LeaseError> {
        self.block(self.inner.return_units(lease, epoch, units))
    }

    fn commit(&self, lease: LeaseId, epoch: Epoch, units: u32) -> Result<LeaseReply, LeaseError> {
        self.block(self.inner.commit(lease, epoch, units))
    }

    fn exchange(
        &self,
        replica: &ReplicaId,
        requests: &[LeaseRequest],
    ) -> Vec<Result<LeaseReply, LeaseError>> {
        match self.rt.block_on(self.inner.exchange(replica, requests)) {
            Ok(answers) => answers,
            Err(e) => requests.iter().map(|_| Err(e.clone().into())).collect(),
        }
    }
}
