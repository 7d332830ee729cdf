//! The storage ports for asynchronous hosts: the write model, the outbox and
//! the status read model as futures, so a database adapter runs its queries
//! on the host's runtime instead of blocking a thread on a runtime of its
//! own.
//!
//! They mirror the synchronous ports of [`super::ports`] method for method,
//! with two differences: a unit of work is owned ([`OwnedUnitOfWork`], what
//! a router with deferred writes hands its host in a
//! [`SaveCall`](super::SaveCall)), and reads return a `Result`, so a host
//! tells a missing order from a store that did not answer (an idempotency
//! lookup that failed must not pass for a new key).
//!
//! Like [`AsyncGateway`](super::AsyncGateway), nothing here names a runtime:
//! the futures are [`BoxFuture`]s, borrowing the store for as long as they
//! run. The in-memory stores implement these ports with futures that are
//! ready at once, and [`ReadyStore`] does the same for any synchronous store
//! that never blocks.
//!
//! [`AsyncRouter::with_stores`](super::AsyncRouter::with_stores) takes a
//! write model and a read model, not an outbox: an order's events travel in
//! its unit of work (the transactional outbox), and so do the
//! `CapacityUpdated` events of a new slot. [`AsyncOutbox`] is the relay's
//! side, for hosts that relay in process.

use super::decision::Outcome;
use super::host::BoxFuture;
use super::memory::{MemoryReadModel, MemoryStore};
use super::ports::{Outbox, OutboxEntry, OwnedUnitOfWork, StatusReadModel, StatusView, WriteModel};
use crate::events::DomainEvent;
use crate::{CustomerId, Order, OrderId, Result};
use std::sync::Arc;

/// The write side for asynchronous hosts: orders, their events (the outbox)
/// and idempotency records, each call a future on the host's runtime.
///
/// ```
/// use uoom::engine::{AsyncWriteModel, MemoryStore};
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// let store = MemoryStore::default();
/// let found = block_on(AsyncWriteModel::outcome_for_key(&store, "k1")).unwrap();
/// assert!(found.is_none());
/// ```
pub trait AsyncWriteModel: Send + Sync + 'static {
    /// Writes one unit of work atomically. A store may refuse a unit
    /// (`Conflict`: a stale write); the router then undoes what the unit
    /// confirmed (see [`Router::saved`](super::Router::saved)).
    fn save<'a>(&'a self, unit: &'a OwnedUnitOfWork) -> BoxFuture<'a, Result<()>>;
    /// The stored order, if any.
    fn order<'a>(&'a self, id: &'a OrderId) -> BoxFuture<'a, Result<Option<Order>>>;
    /// The outcome stored under an idempotency key, if any.
    fn outcome_for_key<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Outcome>>>;
    /// Whether [`AsyncWriteModel::save`] applies a unit's lease commit in
    /// its own transaction; see [`WriteModel::applies_lease_commits`](super::WriteModel::applies_lease_commits).
    fn applies_lease_commits(&self) -> bool {
        false
    }
}

/// The relay's side of the outbox for asynchronous hosts: read what is
/// pending, acknowledge what was published (at least once).
///
/// ```
/// use uoom::engine::{AsyncOutbox, MemoryStore};
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// let store = MemoryStore::default();
/// assert_eq!(block_on(AsyncOutbox::depth(&store)).unwrap(), 0);
/// assert!(block_on(AsyncOutbox::pending(&store, 10)).unwrap().is_empty());
/// ```
pub trait AsyncOutbox: Send + Sync + 'static {
    /// Appends events that belong to no order write.
    fn append<'a>(&'a self, events: &'a [DomainEvent]) -> BoxFuture<'a, Result<()>>;
    /// Up to `max` oldest unpublished entries.
    fn pending(&self, max: usize) -> BoxFuture<'_, Result<Vec<OutboxEntry>>>;
    /// Marks every entry up to and including `seq` as published.
    fn acknowledge(&self, seq: u64) -> BoxFuture<'_, Result<()>>;
    /// Entries not yet acknowledged.
    fn depth(&self) -> BoxFuture<'_, Result<usize>>;
}

/// The query side for asynchronous hosts: order status by id and a
/// customer's orders, newest first.
///
/// ```
/// use uoom::engine::{AsyncStatusReadModel, MemoryReadModel};
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// let rm = MemoryReadModel::default();
/// let id = uoom::OrderId::from_u128(1);
/// assert!(block_on(AsyncStatusReadModel::get(&rm, &id)).unwrap().is_none());
/// ```
pub trait AsyncStatusReadModel: Send + Sync + 'static {
    /// Inserts or replaces the view of an order. A failure is the host's to
    /// log: the write model, not the view, is the record.
    fn upsert(&self, view: StatusView) -> BoxFuture<'_, Result<()>>;
    /// The view of one order.
    fn get<'a>(&'a self, id: &'a OrderId) -> BoxFuture<'a, Result<Option<StatusView>>>;
    /// A customer's orders, newest (by creation) first, at most `limit`.
    fn by_customer<'a>(
        &'a self,
        customer: &'a CustomerId,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<StatusView>>>;
}

/// A synchronous store as an asynchronous one whose futures are ready at
/// once: for stores that never block (in memory, or in-process caches). A
/// store that blocks on I/O would hold the host's thread; give such a store
/// native async ports instead.
///
/// ```
/// use std::sync::Arc;
/// use uoom::engine::{AsyncStatusReadModel, MemoryReadModel, ReadyStore, StatusReadModel};
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// let shared: Arc<dyn StatusReadModel> = Arc::new(MemoryReadModel::default());
/// let ready = ReadyStore(shared);
/// let customer = uoom::CustomerId::from_u128(7);
/// assert!(block_on(ready.by_customer(&customer, 5)).unwrap().is_empty());
/// ```
#[derive(Debug)]
pub struct ReadyStore<T: ?Sized>(pub Arc<T>);

impl<T: ?Sized> Clone for ReadyStore<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

fn ready<'a, T: Send + 'a>(v: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(v))
}

impl<T: WriteModel + ?Sized + 'static> AsyncWriteModel for ReadyStore<T> {
    fn save<'a>(&'a self, unit: &'a OwnedUnitOfWork) -> BoxFuture<'a, Result<()>> {
        ready(self.0.save(unit.as_unit()))
    }
    fn order<'a>(&'a self, id: &'a OrderId) -> BoxFuture<'a, Result<Option<Order>>> {
        ready(Ok(self.0.order(id)))
    }
    fn outcome_for_key<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Outcome>>> {
        ready(Ok(self.0.outcome_for_key(key)))
    }
    fn applies_lease_commits(&self) -> bool {
        self.0.applies_lease_commits()
    }
}

impl<T: Outbox + ?Sized + 'static> AsyncOutbox for ReadyStore<T> {
    fn append<'a>(&'a self, events: &'a [DomainEvent]) -> BoxFuture<'a, Result<()>> {
        ready(self.0.append(events))
    }
    fn pending(&self, max: usize) -> BoxFuture<'_, Result<Vec<OutboxEntry>>> {
        ready(Ok(self.0.pending(max)))
    }
    fn acknowledge(&self, seq: u64) -> BoxFuture<'_, Result<()>> {
        ready(self.0.acknowledge(seq))
    }
    fn depth(&self) -> BoxFuture<'_, Result<usize>> {
        ready(Ok(self.0.depth()))
    }
}

impl<T: StatusReadModel + ?Sized + 'static> AsyncStatusReadModel for ReadyStore<T> {
    fn upsert(&self, view: StatusView) -> BoxFuture<'_, Result<()>> {
        self.0.upsert(view);
        ready(Ok(()))
    }
    fn get<'a>(&'a self, id: &'a OrderId) -> BoxFuture<'a, Result<Option<StatusView>>> {
        ready(Ok(self.0.get(id)))
    }
    fn by_customer<'a>(
        &'a self,
        customer: &'a CustomerId,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<StatusView>>> {
        ready(Ok(self.0.by_customer(customer, limit)))
    }
}

impl AsyncWriteModel for MemoryStore {
    fn save<'a>(&'a self, unit: &'a OwnedUnitOfWork) -> BoxFuture<'a, Result<()>> {
        ready(WriteModel::save(self, unit.as_unit()))
    }
    fn order<'a>(&'a self, id: &'a OrderId) -> BoxFuture<'a, Result<Option<Order>>> {
        ready(Ok(WriteModel::order(self, id)))
    }
    fn outcome_for_key<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Outcome>>> {
        ready(Ok(WriteModel::outcome_for_key(self, key)))
    }
}

impl AsyncOutbox for MemoryStore {
    fn append<'a>(&'a self, events: &'a [DomainEvent]) -> BoxFuture<'a, Result<()>> {
        ready(Outbox::append(self, events))
    }
    fn pending(&self, max: usize) -> BoxFuture<'_, Result<Vec<OutboxEntry>>> {
        ready(Ok(Outbox::pending(self, max)))
    }
    fn acknowledge(&self, seq: u64) -> BoxFuture<'_, Result<()>> {
        ready(Outbox::acknowledge(self, seq))
    }
    fn depth(&self) -> BoxFuture<'_, Result<usize>> {
        ready(Ok(Outbox::depth(self)))
    }
}

impl AsyncStatusReadModel for MemoryReadModel {
    fn upsert(&self, view: StatusView) -> BoxFuture<'_, Result<()>> {
        StatusReadModel::upsert(self, view);
        ready(Ok(()))
    }
    fn get<'a>(&'a self, id: &'a OrderId) -> BoxFuture<'a, Result<Option<StatusView>>> {
        ready(Ok(StatusReadModel::get(self, id)))
    }
    fn by_customer<'a>(
        &'a self,
        customer: &'a CustomerId,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<StatusView>>> {
        ready(Ok(StatusReadModel::by_customer(self, customer, limit)))
    }
}
