//! A router for asynchronous Rust hosts, on whatever runtime they run.
//!
//! [`AsyncRouter`] drives the saga's steps ([`super::step`]) with an
//! [`AsyncGateway`] (a partner reached over HTTP, say) and the host's own
//! timers and tasks, given as a [`Runtime`]. The router's lock is held only
//! for a step's CPU work, never while a partner call is out, so one router
//! serves thousands of concurrent orders on a handful of threads. The core
//! stays free of any runtime: [`TokioRuntime`] (feature `tokio`) is the
//! ready-made one for tokio hosts.
//!
//! [`AsyncRouter::with_stores`] gives it asynchronous storage too (an
//! [`AsyncWriteModel`] and an [`AsyncStatusReadModel`], say PostgreSQL's
//! and DynamoDB's adapters on the host's runtime): the router then defers
//! its writes and idempotency lookups to `route`, which awaits them like
//! bookings, so no thread waits for a database either. Without stores, the
//! router writes through its own synchronous ports (in memory by default)
//! during each step.
//!
//! ```
//! use std::sync::Arc;
//! use uoom::engine::{AsyncGateway, AsyncRouter, BookingAnswer, BookingCall, BookingRef,
//!     BoxFuture, CancelCall, GatewayError, Router, Runtime, SimGateway};
//! use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
//!
//! /// A partner that answers at once (a real one would call its HTTP API).
//! struct Partner;
//! impl AsyncGateway for Partner {
//!     fn book(&self, call: &BookingCall) -> BoxFuture<'static, BookingAnswer> {
//!         let reference = format!("P-{}", call.order.id);
//!         Box::pin(async move { Ok(BookingRef(reference)) })
//!     }
//!     fn cancel(&self, _: &CancelCall) -> BoxFuture<'static, Result<(), GatewayError>> {
//!         Box::pin(async { Ok(()) })
//!     }
//! }
//! /// A runtime whose timers never fire (the partner above never needs one).
//! struct NoTimers;
//! impl Runtime for NoTimers {
//!     fn sleep(&self, _: std::time::Duration) -> BoxFuture<'static, ()> {
//!         Box::pin(std::future::pending())
//!     }
//!     fn spawn(&self, task: BoxFuture<'static, ()>) {
//!         drop(task)
//!     }
//! }
//!
//! let clock = Arc::new(ManualClock::new(Millis(0)));
//! let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
//!     .with_capacity(10).build().unwrap();
//! let router = Router::builder(vec![kitchen], Arc::new(SimGateway::new(clock.clone(), 1)))
//!     .with_clock(clock).build().unwrap();
//! let router = AsyncRouter::new(router, Arc::new(Partner), Arc::new(NoTimers));
//! # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
//! #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
//! #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
//! #                       "latitude": 40.712, "longitude": -74.006}}"#;
//! let request = uoom::parse_create_order(body).unwrap();
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! let outcome = block_on(router.route(request, None)).unwrap();
//! assert_eq!(outcome.status, OrderStatus::Confirmed);
//! assert!(outcome.booking.unwrap().starts_with("P-"));
//! ```

use super::async_ports::{AsyncStatusReadModel, AsyncWriteModel, ReadyStore};
use super::decision::Outcome;
use super::ports::{GatewayError, StatusView};
use super::router::Router;
use super::step::{Action, BookingAnswer, BookingCall, CancelCall, SaveCall, Ticket, Turn};
use crate::{CreateOrderRequest, CustomerId, Error, Order, OrderId, OrderStatus, Result};
use parking_lot::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

/// A boxed, sendable future, as the async ports return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A partner reached asynchronously: books and cancels without blocking a
/// thread. The futures own what they need (they are `'static`), so the
/// router's lock is not held while they run. Time-outs are the engine's: a
/// `book` that never finishes is cut at the call's timeout.
///
/// See the [module example](self).
pub trait AsyncGateway: Send + Sync + 'static {
    /// Books `call.order` on `call.channel_id`; the partner's reference on success.
    fn book(&self, call: &BookingCall) -> BoxFuture<'static, BookingAnswer>;
    /// Cancels a booking the saga abandoned (fire and forget: the result is
    /// logged, the hold is released either way).
    fn cancel(
        &self,
        call: &CancelCall,
    ) -> BoxFuture<'static, std::result::Result<(), GatewayError>>;
}

/// What the host's async runtime lends the router: a timer for booking
/// time-outs and a way to run compensations in the background.
///
/// See the [module example](self).
pub trait Runtime: Send + Sync + 'static {
    /// A future that finishes after `d`.
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()>;
    /// Runs `task` to completion in the background.
    fn spawn(&self, task: BoxFuture<'static, ()>);
}

/// The tokio runtime the calling task runs on (feature `tokio`).
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// rt.block_on(async {
///     use uoom::engine::Runtime;
///     uoom::engine::TokioRuntime.sleep(std::time::Duration::from_millis(1)).await;
/// });
/// # }
/// ```
#[cfg(feature = "tokio")]
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioRuntime;

#[cfg(feature = "tokio")]
impl Runtime for TokioRuntime {
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(d))
    }
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        tokio::spawn(task);
    }
}

/// A [`Router`] for async hosts: `route` awaits partners through an
/// [`AsyncGateway`] with the engine's timeout, and (with
/// [`AsyncRouter::with_stores`]) its writes through asynchronous stores;
/// many routes run at once (the router's lock is held for CPU work only).
/// Cloning it gives another handle to the same router. See the [module
/// example](self).
#[derive(Clone)]
pub struct AsyncRouter {
    router: Arc<Mutex<Router>>,
    gateway: Arc<dyn AsyncGateway>,
    runtime: Arc<dyn Runtime>,
    write: Arc<dyn AsyncWriteModel>,
    read: Arc<dyn AsyncStatusReadModel>,
}

impl std::fmt::Debug for AsyncRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRouter").finish_non_exhaustive()
    }
}

impl AsyncRouter {
    /// Wraps `router`, booking through `gateway` on `runtime`. The router's
    /// own (synchronous) gateway is not used by [`AsyncRouter::route`]; its
    /// own stores are, inside each step (in memory by default): for stores
    /// that do I/O, add [`AsyncRouter::with_stores`].
    pub fn new(router: Router, gateway: Arc<dyn AsyncGateway>, runtime: Arc<dyn Runtime>) -> Self {
        let write = Arc::new(ReadyStore(router.write_model().clone()));
        let read = Arc::new(ReadyStore(router.read_model().clone()));
        Self {
            router: Arc::new(Mutex::new(router)),
            gateway,
            runtime,
            write,
            read,
        }
    }

    /// Routes through asynchronous stores: turns the router's deferred
    /// writes on ([`Router::set_deferred_writes`]), so that every unit of
    /// work and idempotency lookup of [`AsyncRouter::route`] is awaited on
    /// `write` (and each written state upserted into `read`), and reads
    /// ([`AsyncRouter::order`], [`AsyncRouter::status`], ...) go to them.
    /// The router's synchronous stores are then left alone; a
    /// [`Error::Conflict`] for a router with a batch window or orders in
    /// flight. Call it before cloning the router: a handle cloned earlier
    /// keeps the stores it had.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::engine::{AsyncRouter, AsyncWriteModel, MemoryReadModel, MemoryStore, Router, SimGateway};
    /// # use uoom::engine::{AsyncGateway, BookingAnswer, BookingCall, BookingRef, BoxFuture, CancelCall, GatewayError, Runtime};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # struct Partner;
    /// # impl AsyncGateway for Partner {
    /// #     fn book(&self, c: &BookingCall) -> BoxFuture<'static, BookingAnswer> {
    /// #         let r = format!("P-{}", c.order.id);
    /// #         Box::pin(async move { Ok(BookingRef(r)) })
    /// #     }
    /// #     fn cancel(&self, _: &CancelCall) -> BoxFuture<'static, Result<(), GatewayError>> { Box::pin(async { Ok(()) }) }
    /// # }
    /// # struct NoTimers;
    /// # impl Runtime for NoTimers {
    /// #     fn sleep(&self, _: std::time::Duration) -> BoxFuture<'static, ()> { Box::pin(std::future::pending()) }
    /// #     fn spawn(&self, task: BoxFuture<'static, ()>) { drop(task) }
    /// # }
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let router = Router::builder(vec![kitchen], Arc::new(SimGateway::new(clock.clone(), 1)))
    /// #     .with_clock(clock).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// // Any AsyncWriteModel and AsyncStatusReadModel: PgStore and
    /// // StatusWithFallback with the adapters; here the in-memory ones.
    /// let store = Arc::new(MemoryStore::default());
    /// let router = AsyncRouter::new(router, Arc::new(Partner), Arc::new(NoTimers))
    ///     .with_stores(store.clone(), Arc::new(MemoryReadModel::default()))
    ///     .unwrap();
    /// let request = uoom::parse_create_order(body).unwrap();
    /// let outcome = block_on(router.route(request, Some("checkout-1"))).unwrap();
    /// assert_eq!(outcome.status, OrderStatus::Confirmed);
    /// let stored = block_on(AsyncWriteModel::order(store.as_ref(), &outcome.order_id)).unwrap();
    /// assert_eq!(stored.unwrap().status, OrderStatus::Confirmed);
    /// let view = block_on(router.status(&outcome.order_id)).unwrap().unwrap();
    /// assert_eq!(view.status, OrderStatus::Confirmed);
    /// ```
    pub fn with_stores(
        self,
        write: Arc<dyn AsyncWriteModel>,
        read: Arc<dyn AsyncStatusReadModel>,
    ) -> Result<Self> {
        {
            let mut router = self.router.lock();
            router.set_deferred_writes(true)?;
            router.config.lease_commits_in_writes = write.applies_lease_commits();
        }
        Ok(Self {
            write,
            read,
            ..self
        })
    }

    /// The router, for everything but routing (status, metrics, the
    /// ledger). Hold the lock briefly: routes wait for it.
    pub fn router(&self) -> &Arc<Mutex<Router>> {
        &self.router
    }

    /// Runs `f` on the router under its lock (never held across an await).
    fn with_router<T>(&self, f: impl FnOnce(&mut Router) -> T) -> T {
        f(&mut self.router.lock())
    }

    /// Routes one order: validates and writes it, books partners in turn
    /// (each cut at the booking timeout, cancelled and released on failure),
    /// and returns the outcome. Errors as [`Router::submit`] does; with
    /// stores, also as [`Router::start`] (a key already in flight) and
    /// [`Router::saved`] do. If the future is dropped while a booking is
    /// out, the saga is failed at once and its hold released (the booking,
    /// if the partner made it, is cancelled in the background); dropped
    /// while a write is out, the write is finished in the background (with
    /// what follows from it), so no order is left half written.
    pub async fn route(&self, request: CreateOrderRequest, key: Option<&str>) -> Result<Outcome> {
        let mut turn = self.with_router(|r| r.start(request, key))?;
        let mut out = Outstanding {
            owner: self,
            what: None,
        };
        loop {
            self.send_cancels(std::mem::take(&mut turn.cancels));
            turn = match turn.next {
                Action::Done(outcome) => return Ok(outcome),
                Action::Book(call) => {
                    out.what = Some(Awaiting::Booking(call.ticket));
                    let answer = self.book_within(&call).await;
                    out.what = None;
                    self.with_router(|r| r.booked(call.ticket, answer))?
                }
                Action::Lookup(call) => {
                    out.what = Some(Awaiting::Lookup(call.ticket));
                    let found = self.write.outcome_for_key(&call.key).await;
                    out.what = None;
                    self.with_router(|r| r.looked_up(call.ticket, found))?
                }
                Action::Save(call) => {
                    let ticket = call.ticket;
                    out.what = Some(Awaiting::Save(ticket, self.write_of(call)));
                    let result = std::future::poll_fn(|cx| match &mut out.what {
                        Some(Awaiting::Save(_, write)) => write.as_mut().poll(cx),
                        _ => Poll::Ready(Err(Error::conflict("no write is in progress"))),
                    })
                    .await;
                    out.what = None;
                    self.with_router(|r| r.saved(ticket, result))?
                }
            };
        }
    }

    /// The stored order (from the write model).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{AsyncRouter, BoxFuture, Router, Runtime, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis};
    /// # struct NoTimers;
    /// # impl Runtime for NoTimers {
    /// #     fn sleep(&self, _: std::time::Duration) -> BoxFuture<'static, ()> { Box::pin(std::future::pending()) }
    /// #     fn spawn(&self, task: BoxFuture<'static, ()>) { drop(task) }
    /// # }
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # struct Partner;
    /// # impl uoom::engine::AsyncGateway for Partner {
    /// #     fn book(&self, _: &uoom::engine::BookingCall) -> BoxFuture<'static, uoom::engine::BookingAnswer> {
    /// #         Box::pin(async { Ok(uoom::engine::BookingRef("P-1".into())) })
    /// #     }
    /// #     fn cancel(&self, _: &uoom::engine::CancelCall) -> BoxFuture<'static, Result<(), uoom::engine::GatewayError>> { Box::pin(async { Ok(()) }) }
    /// # }
    /// # let gw = Arc::new(SimGateway::new(clock.clone(), 1));
    /// # let router = Router::builder(vec![kitchen], gw).with_clock(clock).build().unwrap();
    /// let router = AsyncRouter::new(router, Arc::new(Partner), Arc::new(NoTimers));
    /// let unknown = uoom::OrderId::from_u128(1);
    /// assert!(block_on(router.order(&unknown)).unwrap().is_none());
    /// ```
    pub async fn order(&self, id: &OrderId) -> Result<Option<Order>> {
        self.write.order(id).await
    }

    /// An order's status view (from the read model).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{AsyncGateway, AsyncRouter, BookingAnswer, BookingCall, BookingRef, BoxFuture,
    /// #     CancelCall, GatewayError, Router, Runtime, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # struct Partner;
    /// # impl AsyncGateway for Partner {
    /// #     fn book(&self, _: &BookingCall) -> BoxFuture<'static, BookingAnswer> { Box::pin(async { Ok(BookingRef("P-1".into())) }) }
    /// #     fn cancel(&self, _: &CancelCall) -> BoxFuture<'static, Result<(), GatewayError>> { Box::pin(async { Ok(()) }) }
    /// # }
    /// # struct NoTimers;
    /// # impl Runtime for NoTimers {
    /// #     fn sleep(&self, _: std::time::Duration) -> BoxFuture<'static, ()> { Box::pin(std::future::pending()) }
    /// #     fn spawn(&self, task: BoxFuture<'static, ()>) { drop(task) }
    /// # }
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let router = Router::builder(vec![kitchen], Arc::new(SimGateway::new(clock.clone(), 1)))
    /// #     .with_clock(clock).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let router = AsyncRouter::new(router, Arc::new(Partner), Arc::new(NoTimers));
    /// let id = block_on(router.route(uoom::parse_create_order(body).unwrap(), None)).unwrap().order_id;
    /// let view = block_on(router.status(&id)).unwrap().unwrap();
    /// assert_eq!(view.status, OrderStatus::Confirmed);
    /// ```
    pub async fn status(&self, id: &OrderId) -> Result<Option<StatusView>> {
        self.read.get(id).await
    }

    /// A customer's orders, newest first, at most `limit` (from the read
    /// model).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{AsyncRouter, BoxFuture, Router, Runtime, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis};
    /// # struct NoTimers;
    /// # impl Runtime for NoTimers {
    /// #     fn sleep(&self, _: std::time::Duration) -> BoxFuture<'static, ()> { Box::pin(std::future::pending()) }
    /// #     fn spawn(&self, task: BoxFuture<'static, ()>) { drop(task) }
    /// # }
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # struct Partner;
    /// # impl uoom::engine::AsyncGateway for Partner {
    /// #     fn book(&self, _: &uoom::engine::BookingCall) -> BoxFuture<'static, uoom::engine::BookingAnswer> {
    /// #         Box::pin(async { Ok(uoom::engine::BookingRef("P-1".into())) })
    /// #     }
    /// #     fn cancel(&self, _: &uoom::engine::CancelCall) -> BoxFuture<'static, Result<(), uoom::engine::GatewayError>> { Box::pin(async { Ok(()) }) }
    /// # }
    /// # let gw = Arc::new(SimGateway::new(clock.clone(), 1));
    /// # let router = Router::builder(vec![kitchen], gw).with_clock(clock).build().unwrap();
    /// let router = AsyncRouter::new(router, Arc::new(Partner), Arc::new(NoTimers));
    /// let customer = uoom::CustomerId::from_u128(7);
    /// assert!(block_on(router.by_customer(&customer, 10)).unwrap().is_empty());
    /// ```
    pub async fn by_customer(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> Result<Vec<StatusView>> {
        self.read.by_customer(customer, limit).await
    }

    /// Moves a routed order along its lifecycle, as [`Router::advance`]
    /// does, through the stores: reads the order and its view, writes the
    /// change ([`Router::advance_unit`]), then sends a cancelled order's
    /// partner cancellations. An illegal transition is a
    /// [`Error::Conflict`] and writes nothing; an unknown order is
    /// [`Error::NotFound`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{AsyncGateway, AsyncRouter, BookingAnswer, BookingCall, BookingRef, BoxFuture,
    /// #     CancelCall, GatewayError, MemoryReadModel, MemoryStore, Router, Runtime, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # struct Partner;
    /// # impl AsyncGateway for Partner {
    /// #     fn book(&self, _: &BookingCall) -> BoxFuture<'static, BookingAnswer> { Box::pin(async { Ok(BookingRef("P-1".into())) }) }
    /// #     fn cancel(&self, _: &CancelCall) -> BoxFuture<'static, Result<(), GatewayError>> { Box::pin(async { Ok(()) }) }
    /// # }
    /// # struct Inline;
    /// # impl Runtime for Inline {
    /// #     fn sleep(&self, _: std::time::Duration) -> BoxFuture<'static, ()> { Box::pin(std::future::pending()) }
    /// #     fn spawn(&self, task: BoxFuture<'static, ()>) { block_on(task) }
    /// # }
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let router = Router::builder(vec![kitchen], Arc::new(SimGateway::new(clock.clone(), 1)))
    /// #     .with_clock(clock.clone()).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let store = Arc::new(MemoryStore::default());
    /// let router = AsyncRouter::new(router, Arc::new(Partner), Arc::new(Inline))
    ///     .with_stores(store, Arc::new(MemoryReadModel::default())).unwrap();
    /// let id = block_on(router.route(uoom::parse_create_order(body).unwrap(), None)).unwrap().order_id;
    /// let view = block_on(router.advance(&id, OrderStatus::Cancelled)).unwrap();
    /// assert_eq!(view.status, OrderStatus::Cancelled);
    /// let illegal = block_on(router.advance(&id, OrderStatus::Delivered)).unwrap_err();
    /// assert_eq!(illegal.kind(), uoom::ErrorKind::Conflict);
    /// ```
    pub async fn advance(&self, id: &OrderId, to: OrderStatus) -> Result<StatusView> {
        let order = self
            .write
            .order(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("order {id}")))?;
        let prior = self.read.get(id).await.unwrap_or_else(|e| {
            tracing::warn!(order = %id, error = %e.chain(), "status read failed; the view keeps no routing details");
            None
        });
        let change = self.with_router(|r| r.advance_unit(order, prior, to))?;
        self.write.save(&change.unit).await?;
        if let Err(e) = self.read.upsert(change.view.clone()).await {
            tracing::warn!(order = %id, error = %e.chain(), "status write-through failed");
        }
        self.send_cancels(change.cancels);
        Ok(change.view)
    }

    /// The write a [`SaveCall`] asks for, then its view's upsert: a future
    /// that owns what it needs, so it can finish in the background.
    fn write_of(&self, call: SaveCall) -> BoxFuture<'static, Result<()>> {
        let (write, read) = (self.write.clone(), self.read.clone());
        Box::pin(async move {
            write.save(&call.unit).await?;
            if let Err(e) = read.upsert(call.view).await {
                tracing::warn!(order = %call.unit.order.id, error = %e.chain(), "status write-through failed");
            }
            Ok(())
        })
    }

    /// The partner's answer, or a timeout when it does not come in time.
    async fn book_within(&self, call: &BookingCall) -> BookingAnswer {
        let mut book = self.gateway.book(call);
        let mut timer = self.runtime.sleep(Duration::from_millis(call.timeout_ms));
        std::future::poll_fn(|cx| {
            if let Poll::Ready(answer) = book.as_mut().poll(cx) {
                return Poll::Ready(answer);
            }
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(GatewayError::Timeout {
                    after_ms: call.timeout_ms,
                })),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    fn send_cancels(&self, cancels: Vec<CancelCall>) {
        for c in cancels {
            let f = self.gateway.cancel(&c);
            self.runtime.spawn(Box::pin(async move {
                if let Err(e) = f.await {
                    tracing::warn!(order = %c.order_id, channel = %c.channel_id, error = %e,
                        "booking cancel failed; partner will see the order lapse");
                }
            }));
        }
    }

    /// Takes a saga whose caller went away to its end: bookings are
    /// abandoned, writes made; in the background unless it is over.
    fn finish_unattended(&self, turn: Turn) {
        if let Action::Done(_) = turn.next {
            self.send_cancels(turn.cancels);
        } else {
            let this = self.clone();
            self.runtime.spawn(Box::pin(this.run_unattended(turn)));
        }
    }

    async fn run_unattended(self, mut turn: Turn) {
        loop {
            self.send_cancels(std::mem::take(&mut turn.cancels));
            let next = match turn.next {
                Action::Done(_) => return,
                Action::Book(call) => self.with_router(|r| r.abandoned(call.ticket)),
                Action::Lookup(call) => {
                    let gone = Error::io("the route was dropped before its key was looked up");
                    let _ = self.with_router(|r| r.looked_up(call.ticket, Err(gone)));
                    return;
                }
                Action::Save(call) => {
                    let ticket = call.ticket;
                    let result = self.write_of(call).await;
                    self.with_router(|r| r.saved(ticket, result))
                }
            };
            match next {
                Ok(t) => turn = t,
                Err(e) => {
                    tracing::warn!(error = %e.chain(), "an order whose route was dropped ended with an error");
                    return;
                }
            }
        }
    }
}

/// What a route is waiting for; see [`Outstanding`].
enum Awaiting {
    Booking(Ticket),
    Lookup(Ticket),
    /// The write in progress, kept so that a dropped route can finish it.
    Save(Ticket, BoxFuture<'static, Result<()>>),
}

/// Takes over a route whose future was dropped mid-wait: a booking is
/// abandoned (its hold released at once, not at the TTL), a lookup
/// answered with an error (its key freed), a write finished in the
/// background and the saga carried on from it.
struct Outstanding<'a> {
    owner: &'a AsyncRouter,
    what: Option<Awaiting>,
}

impl Drop for Outstanding<'_> {
    fn drop(&mut self) {
        let Some(what) = self.what.take() else { return };
        let owner = self.owner;
        match what {
            Awaiting::Booking(ticket) => {
                if let Ok(turn) = owner.with_router(|r| r.abandoned(ticket)) {
                    owner.finish_unattended(turn);
                }
            }
            Awaiting::Lookup(ticket) => {
                let gone = Error::io("the route was dropped before its key was looked up");
                let _ = owner.with_router(|r| r.looked_up(ticket, Err(gone)));
            }
            Awaiting::Save(ticket, write) => {
                let this = owner.clone();
                owner.runtime.spawn(Box::pin(async move {
                    let result = write.await;
                    match this.with_router(|r| r.saved(ticket, result)) {
                        Ok(turn) => this.run_unattended(turn).await,
                        Err(e) => {
                            tracing::warn!(error = %e.chain(), "an order whose route was dropped ended with an error");
                        }
                    }
                }));
            }
        }
    }
}
