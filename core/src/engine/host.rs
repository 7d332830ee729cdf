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

use super::decision::Outcome;
use super::ports::GatewayError;
use super::router::Router;
use super::step::{BookingAnswer, BookingCall, CancelCall, Next, Step, Ticket};
use crate::{CreateOrderRequest, Result};
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
/// [`AsyncGateway`] with the engine's timeout, and many routes run at once
/// (the router's lock is held for CPU work only). See the [module
/// example](self).
pub struct AsyncRouter {
    router: Arc<Mutex<Router>>,
    gateway: Arc<dyn AsyncGateway>,
    runtime: Arc<dyn Runtime>,
}

impl std::fmt::Debug for AsyncRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRouter").finish_non_exhaustive()
    }
}

impl AsyncRouter {
    /// Wraps `router`, booking through `gateway` on `runtime`. The router's
    /// own (synchronous) gateway is not used by [`AsyncRouter::route`].
    pub fn new(router: Router, gateway: Arc<dyn AsyncGateway>, runtime: Arc<dyn Runtime>) -> Self {
        Self {
            router: Arc::new(Mutex::new(router)),
            gateway,
            runtime,
        }
    }

    /// The router, for everything but routing (status, metrics, the
    /// ledger). Hold the lock briefly: routes wait for it.
    pub fn router(&self) -> &Arc<Mutex<Router>> {
        &self.router
    }

    /// Routes one order: validates and writes it, books partners in turn
    /// (each cut at the booking timeout, cancelled and released on failure),
    /// and returns the outcome. Errors as [`Router::submit`] does. If the
    /// future is dropped while a booking is out, the saga is failed at once
    /// and its hold released (the booking, if the partner made it, is
    /// cancelled in the background).
    pub async fn route(&self, request: CreateOrderRequest, key: Option<&str>) -> Result<Outcome> {
        let mut step = self.router.lock().begin(request, key)?;
        loop {
            self.send_cancels(std::mem::take(&mut step.cancels));
            let call = match step.next {
                Next::Done(outcome) => return Ok(outcome),
                Next::Book(call) => call,
            };
            let mut guard = Abandon {
                owner: self,
                ticket: Some(call.ticket),
            };
            let answer = self.book_within(&call).await;
            guard.ticket = None;
            step = self.router.lock().resume(call.ticket, answer)?;
        }
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
}

/// Fails the saga of a route whose future was dropped mid-booking, so its
/// hold does not wait for the TTL.
struct Abandon<'a> {
    owner: &'a AsyncRouter,
    ticket: Option<Ticket>,
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket else { return };
        let step = self.owner.router.lock().abandon(ticket);
        if let Ok(Step { cancels, .. }) = step {
            self.owner.send_cancels(cancels);
        }
    }
}
