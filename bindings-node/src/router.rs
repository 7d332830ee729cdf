//! The routing engine as a JS class: submit a create-order request, get the
//! outcome (confirmed on a channel, or failed with the reason); read status;
//! move orders along their lifecycle; drain domain events; metrics.
//!
//! One order takes microseconds, so `submit` is synchronous (a thread hop
//! would cost more than the work); a batch can go off the event loop with
//! `submitManyAsync`.

use crate::channel::channels_from_js;
use crate::clock::{ClockChoice, ms};
use crate::errors::{ErrorInfo, OrThrow, to_js};
use crate::input::{JsonInput, OptionsInput};
use crate::order::{RequestInput, parse_request};
use crate::tasks::route::RouteManyTask;
use napi::bindgen_prelude::*;
use parking_lot::Mutex;
use std::sync::Arc;
use uoom::engine::{Outcome, Router as CoreRouter, SimGateway, StatusView};
use uoom::wire::{
    Case, OrderStatusView as WireStatusView, OutcomeView, RouterOptions as WireOptions,
    parse_order_status,
};
use uoom::{CreateOrderRequest, Millis, OrderId};

mod steps;

/// Options of `new Router(channels, options)`: the router options of
/// `uoom::wire`, in camelCase. An unknown key is a `UOOM_VALIDATION` error
/// naming it (`unknown_field`); the `gateway`
/// object is taken out by the package's `Router` (uoom.js) before the rest
/// reaches this reader.
#[napi(object, object_to_js = false)]
#[allow(dead_code)] // a shape for index.d.ts: options are read by uoom::wire
pub struct RouterOptions {
    /// Use a manual clock (advanced with `advanceMs`) instead of wall time (default false).
    pub manual_clock: Option<bool>,
    /// Start of the manual clock, ms since the epoch (default 0).
    pub start_ms: Option<f64>,
    /// Seed of generated ids and simulated partners (default 1).
    pub seed: Option<u32>,
    /// Ledger slot length in ms (default 15 minutes).
    pub slot_ms: Option<f64>,
    /// How long a reservation holds before it lapses (default 30 s).
    pub reservation_ttl_ms: Option<f64>,
    /// How long a partner may take to book (default 2 s).
    pub booking_timeout_ms: Option<f64>,
    /// Ranked candidates tried on the real-time path (default 3).
    pub top_k: Option<u32>,
    /// Extra round-robin candidates when every ranked one failed (default 2).
    pub fallback_attempts: Option<u32>,
    /// Batch window in ms: orders are queued and routed together by the
    /// solver on `poll()`/`flush()` (default: none, every order at once).
    pub batch_window_ms: Option<f64>,
    /// `poll()` routes a batch early once it holds this many orders (default 512).
    pub batch_max: Option<u32>,
    /// Solver budget of a batch in ms (default 20).
    pub solver_budget_ms: Option<f64>,
    /// Weights of the real-time ranking; keys left out keep their default
    /// (capacity 0.25, quality 0.30, latency 0.30, cost 0.15).
    #[napi(ts_type = "Partial<RankWeights>")]
    pub rank_weights: Option<serde_json::Value>,
    /// Simulated partners: share of bookings that fail, in [0, 1] (default 0).
    pub partner_failure_rate: Option<f64>,
    /// Simulated partners: booking latency in ms (default 5).
    pub partner_latency_ms: Option<f64>,
}

/// What became of one submitted order.
#[napi(object)]
pub struct RouteOutcome {
    /// The new order's id.
    pub order_id: String,
    /// `CONFIRMED` when routed, `FAILED` when not, `VALIDATED` when queued for a batch.
    #[napi(
        ts_type = "'PENDING' | 'VALIDATED' | 'ROUTED' | 'CONFIRMED' | 'PREPARING' | 'OUT_FOR_DELIVERY' | 'DELIVERED' | 'CANCELLED' | 'FAILED'"
    )]
    pub status: String,
    /// The channel it was routed to.
    pub channel: Option<String>,
    /// How the decision was made: `realtime` | `batch_optimal` | `batch_improved` | `batch_greedy` | `fallback`.
    #[napi(
        ts_type = "'realtime' | 'batch_optimal' | 'batch_improved' | 'batch_greedy' | 'fallback'"
    )]
    pub decision: Option<String>,
    /// Why it failed: `no_feasible_channel` | `capacity_exhausted` | `partner_failed` | ….
    #[napi(
        ts_type = "'no_feasible_channel' | 'capacity_exhausted' | 'partner_failed' | 'partner_timeout' | 'breaker_open' | 'commit_failed' | 'persist_failed' | 'stale_lease' | 'internal'"
    )]
    pub failure: Option<String>,
    /// Channels tried.
    pub attempts: u32,
    /// Compensations run (booking cancelled, reservation released).
    pub compensations: u32,
    /// True when this is the stored outcome of an earlier submit with the same idempotency key.
    pub replayed: bool,
    /// The partner's reference of the booking that confirmed the order.
    pub booking_reference: Option<String>,
}

impl From<&Outcome> for RouteOutcome {
    fn from(o: &Outcome) -> Self {
        let v = OutcomeView::from(o);
        RouteOutcome {
            order_id: v.order_id,
            status: v.status.to_owned(),
            channel: v.channel,
            decision: v.decision.map(str::to_owned),
            failure: v.failure.map(str::to_owned),
            attempts: v.attempts,
            compensations: v.compensations,
            replayed: v.replayed,
            booking_reference: v.booking_reference,
        }
    }
}

/// An order's current status, as the read model serves it.
#[napi(object)]
pub struct OrderStatusView {
    /// Order id.
    pub order_id: String,
    /// Customer id.
    pub customer_id: String,
    /// Restaurant id, when the request named one.
    pub restaurant_id: Option<String>,
    /// `PENDING` … `DELIVERED`, `CANCELLED`, `FAILED`.
    #[napi(
        ts_type = "'PENDING' | 'VALIDATED' | 'ROUTED' | 'CONFIRMED' | 'PREPARING' | 'OUT_FOR_DELIVERY' | 'DELIVERED' | 'CANCELLED' | 'FAILED'"
    )]
    pub status: String,
    /// Assigned channel, if any.
    pub channel: Option<String>,
    /// How it was routed.
    #[napi(
        ts_type = "'realtime' | 'batch_optimal' | 'batch_improved' | 'batch_greedy' | 'fallback'"
    )]
    pub decision: Option<String>,
    /// Why it failed, if it did.
    #[napi(
        ts_type = "'no_feasible_channel' | 'capacity_exhausted' | 'partner_failed' | 'partner_timeout' | 'breaker_open' | 'commit_failed' | 'persist_failed' | 'stale_lease' | 'internal'"
    )]
    pub failure: Option<String>,
    /// Creation time, ms since the epoch.
    pub created_at_ms: f64,
    /// Last change, ms since the epoch.
    pub updated_at_ms: f64,
}

impl From<&StatusView> for OrderStatusView {
    fn from(v: &StatusView) -> Self {
        let v = WireStatusView::from(v);
        OrderStatusView {
            order_id: v.order_id,
            customer_id: v.customer_id,
            restaurant_id: v.restaurant_id,
            status: v.status.to_owned(),
            channel: v.channel,
            decision: v.decision.map(str::to_owned),
            failure: v.failure.map(str::to_owned),
            created_at_ms: ms(Millis(v.created_at_ms)),
            updated_at_ms: ms(Millis(v.updated_at_ms)),
        }
    }
}

/// One entry of `submitMany`: an outcome, or the error that request raised.
#[napi(object)]
pub struct SubmitResult {
    /// True when the request became an order (which may still have FAILED to route).
    pub ok: bool,
    /// The outcome when `ok`.
    pub outcome: Option<RouteOutcome>,
    /// The error otherwise (`UOOM_VALIDATION` with `fieldErrors`, …).
    pub error: Option<ErrorInfo>,
}

impl SubmitResult {
    /// Wraps one core result.
    pub fn of(r: &uoom::Result<Outcome>) -> Self {
        match r {
            Ok(o) => SubmitResult {
                ok: true,
                outcome: Some(o.into()),
                error: None,
            },
            Err(e) => SubmitResult {
                ok: false,
                outcome: None,
                error: Some(ErrorInfo::from(e)),
            },
        }
    }
}

/// A request of `submitMany`, with its optional idempotency key.
#[napi(object, object_to_js = false)]
pub struct SubmitRequest {
    /// The create-order request (object or JSON text).
    #[napi(ts_type = "CreateOrderRequest | string | Buffer")]
    pub request: RequestInput,
    /// Idempotency key: a repeat returns the first outcome.
    pub idempotency_key: Option<String>,
}

fn parse_order_id(s: &str) -> uoom::Result<OrderId> {
    OrderId::parse(s).ok_or_else(|| {
        uoom::Error::invalid("orderId", "invalid_uuid", format!("{s:?} is not a UUID"))
    })
}

/// Routes orders in-process: validate → rank → reserve capacity → book the
/// channel (simulated partners) → confirm, compensating on failure; status
/// and events kept in memory.
#[napi]
pub struct Router {
    inner: Arc<Mutex<CoreRouter>>,
    clock: ClockChoice,
    options: WireOptions,
}

#[napi]
impl Router {
    /// A router over `channels` (checked: every problem listed, e.g.
    /// `channels[2].speedKmh`).
    #[napi(
        constructor,
        ts_args_type = "channels: Array<ChannelInput>, options?: RouterOptions"
    )]
    pub fn new(env: Env, channels: JsonInput, options: Option<OptionsInput>) -> Result<Self> {
        Self::build(&channels, options.as_ref()).or_throw(&env)
    }

    fn build(channels: &JsonInput, options: Option<&OptionsInput>) -> uoom::Result<Self> {
        let o = match options {
            Some(o) => WireOptions::parse(&o.value()?, Case::Camel),
            None => Ok(WireOptions::default()),
        };
        // Channels and options are both checked before either error is thrown.
        let (channels, o) = match (channels_from_js(channels), o) {
            (Ok(c), Ok(o)) => (c, o),
            (Err(uoom::Error::Validation(mut a)), Err(uoom::Error::Validation(b))) => {
                a.extend(b);
                return Err(uoom::Error::Validation(a));
            }
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        let clock = ClockChoice::new(o.manual_clock, Some(o.start_ms as f64));
        let mut gateway = SimGateway::new(clock.shared(), o.seed);
        for kind in uoom::ChannelKind::ALL {
            gateway = gateway.with_kind_profile(kind, o.partner_profile());
        }
        let b = CoreRouter::builder(channels, Arc::new(gateway)).with_clock(clock.shared());
        Ok(Router {
            inner: Arc::new(Mutex::new(o.configure(b).build()?)),
            clock,
            options: o,
        })
    }

    /// The options this router runs with, every default written.
    #[napi(
        getter,
        ts_return_type = "Required<Omit<RouterOptions, 'batchWindowMs' | 'rankWeights'>> & { batchWindowMs: number | null; rankWeights: RankWeights }"
    )]
    pub fn options(&self) -> serde_json::Value {
        self.options.to_value(Case::Camel)
    }

    /// Routes one order. A request that cannot become an order throws
    /// `UOOM_VALIDATION` (with `fieldErrors`); an order that cannot be routed
    /// is returned with status `FAILED` and the reason. With an idempotency
    /// key seen before, returns the first outcome (`replayed: true`).
    #[napi(ts_args_type = "request: CreateOrderRequest | string | Buffer, idempotencyKey?: string")]
    pub fn submit(
        &self,
        env: Env,
        request: RequestInput,
        idempotency_key: Option<String>,
    ) -> Result<RouteOutcome> {
        let req = parse_request(&request).or_throw(&env)?;
        let out = self
            .inner
            .lock()
            .submit(req, idempotency_key.as_deref())
            .or_throw(&env)?;
        Ok(RouteOutcome::from(&out))
    }

    /// Routes many orders in one crossing; each entry succeeds or fails on
    /// its own (nothing is thrown).
    #[napi]
    pub fn submit_many(&self, requests: Vec<SubmitRequest>) -> Vec<SubmitResult> {
        let parsed = parse_all(&requests);
        let mut router = self.inner.lock();
        parsed
            .into_iter()
            .map(|(r, k)| SubmitResult::of(&route_one(&mut router, r, k.as_deref())))
            .collect()
    }

    /// `submitMany` on libuv's thread pool: the event loop stays free while a
    /// large batch is routed.
    #[napi(ts_return_type = "Promise<Array<SubmitResult>>")]
    pub fn submit_many_async(&self, requests: Vec<SubmitRequest>) -> AsyncTask<RouteManyTask> {
        AsyncTask::new(RouteManyTask::new(self.inner.clone(), parse_all(&requests)))
    }

    /// The current status of an order (`UOOM_NOT_FOUND` if unknown).
    #[napi]
    pub fn status(&self, env: Env, order_id: String) -> Result<OrderStatusView> {
        let id = parse_order_id(&order_id).or_throw(&env)?;
        let view = self.inner.lock().read_model().get(&id);
        view.as_ref()
            .map(OrderStatusView::from)
            .ok_or_else(|| to_js(&env, &uoom::Error::not_found(format!("order {order_id}"))))
    }

    /// A customer's orders, newest first.
    #[napi]
    pub fn orders_by_customer(
        &self,
        env: Env,
        customer_id: String,
        limit: Option<u32>,
    ) -> Result<Vec<OrderStatusView>> {
        let id = uoom::CustomerId::parse(&customer_id)
            .ok_or_else(|| {
                uoom::Error::invalid(
                    "customerId",
                    "invalid_uuid",
                    format!("{customer_id:?} is not a UUID"),
                )
            })
            .or_throw(&env)?;
        let views = self
            .inner
            .lock()
            .read_model()
            .by_customer(&id, limit.unwrap_or(50) as usize);
        Ok(views.iter().map(OrderStatusView::from).collect())
    }

    /// Moves an order along its lifecycle (`PREPARING`, `OUT_FOR_DELIVERY`,
    /// `DELIVERED`, `CANCELLED`, `FAILED`); an illegal move is `UOOM_CONFLICT`
    /// and changes nothing.
    #[napi(
        ts_args_type = "orderId: string, status: 'PENDING' | 'VALIDATED' | 'ROUTED' | 'CONFIRMED' | 'PREPARING' | 'OUT_FOR_DELIVERY' | 'DELIVERED' | 'CANCELLED' | 'FAILED'"
    )]
    pub fn advance(&self, env: Env, order_id: String, status: String) -> Result<OrderStatusView> {
        let id = parse_order_id(&order_id).or_throw(&env)?;
        let to = parse_order_status(&status).or_throw(&env)?;
        let view = self.inner.lock().advance(&id, to).or_throw(&env)?;
        Ok(OrderStatusView::from(&view))
    }

    /// Routes the queued batch if its window has passed (batch mode only).
    #[napi]
    pub fn poll(&self, env: Env) -> Result<Vec<RouteOutcome>> {
        let out = self.inner.lock().poll().or_throw(&env)?;
        Ok(out.iter().map(RouteOutcome::from).collect())
    }

    /// Routes the queued batch now (batch mode only).
    #[napi]
    pub fn flush(&self, env: Env) -> Result<Vec<RouteOutcome>> {
        let out = self.inner.lock().flush().or_throw(&env)?;
        Ok(out.iter().map(RouteOutcome::from).collect())
    }

    /// Takes up to `max` domain events from the outbox (acknowledging them),
    /// as the JSON envelopes a relay publishes: `{id, aggregateType,
    /// aggregateId, type, schemaVersion, timestamp, payload}`.
    #[napi(
        ts_return_type = "Array<{ id: string; aggregateType: string; aggregateId: string; type: string; schemaVersion: number; timestamp: string; payload: Record<string, unknown> }>"
    )]
    pub fn drain_events(&self, max: Option<u32>) -> Vec<serde_json::Value> {
        let router = self.inner.lock();
        let outbox = router.outbox();
        let entries = outbox.pending(max.unwrap_or(10_000) as usize);
        if let Some(last) = entries.last() {
            // An in-memory outbox cannot fail to acknowledge what it just gave.
            let _ = outbox.acknowledge(last.seq);
        }
        entries.iter().map(|e| e.event.envelope_json()).collect()
    }

    /// Events waiting in the outbox.
    #[napi]
    pub fn outbox_depth(&self) -> u32 {
        self.inner.lock().outbox().depth() as u32
    }

    /// Metrics in Prometheus text format.
    #[napi]
    pub fn metrics(&self) -> String {
        self.inner.lock().render_metrics()
    }

    /// The clock's now, ms.
    #[napi]
    pub fn now_ms(&self) -> f64 {
        self.clock.now_ms()
    }

    /// Advances a manual clock; `UOOM_CONFLICT` on the system clock.
    #[napi]
    pub fn advance_ms(&self, env: Env, ms: f64) -> Result<f64> {
        self.clock.advance_ms(ms).or_throw(&env)
    }
}

/// Parses every request on the JS thread (they borrow JS memory).
fn parse_all(
    requests: &[SubmitRequest],
) -> Vec<(uoom::Result<CreateOrderRequest>, Option<String>)> {
    requests
        .iter()
        .map(|r| (parse_request(&r.request), r.idempotency_key.clone()))
        .collect()
}

/// Submits one parsed request.
pub fn route_one(
    router: &mut CoreRouter,
    req: uoom::Result<CreateOrderRequest>,
    key: Option<&str>,
) -> uoom::Result<Outcome> {
    router.submit(req?, key)
}
