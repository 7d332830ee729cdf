//! An order and its lifecycle as a JS class, for services that keep orders
//! themselves: only the lifecycle's transitions (docs/architecture.md) are legal; an illegal one throws
//! `UOOM_CONFLICT` and leaves the order unchanged.

use crate::clock::{ms, to_ms};
use crate::errors::OrThrow;
use crate::order::{Money, NormalizedOrder, RequestInput, parse_request};
use napi::bindgen_prelude::*;
use uoom::wire::parse_order_status as parse_status;
use uoom::{Clock, Millis, OrderId, OrderStatus, SystemClock};

/// Options of `new Order(request, options)`.
#[napi(object)]
#[derive(Default)]
pub struct OrderOptions {
    /// The order id (a UUID); a fresh v4 id when absent.
    pub id: Option<String>,
    /// Creation time in ms since the epoch (default: now).
    pub now_ms: Option<f64>,
}

/// A validated order with an exact total and a status that only moves along
/// the lifecycle `PENDING → VALIDATED → ROUTED → CONFIRMED → PREPARING →
/// OUT_FOR_DELIVERY → DELIVERED` (`CANCELLED` before `OUT_FOR_DELIVERY`,
/// `FAILED` from any non-final state).
#[napi]
pub struct Order {
    inner: uoom::Order,
    request: NormalizedOrder,
}

fn now(at: Option<f64>, field: &str) -> uoom::Result<Millis> {
    match at {
        Some(v) => Ok(Millis(to_ms(field, v)?)),
        None => Ok(SystemClock.now()),
    }
}

#[napi]
impl Order {
    /// Validates `request` (object, JSON text or Buffer) into a `PENDING` order.
    #[napi(
        constructor,
        ts_args_type = "request: CreateOrderRequest | string | Buffer, options?: OrderOptions"
    )]
    pub fn new(env: Env, request: RequestInput, options: Option<OrderOptions>) -> Result<Self> {
        let o = options.unwrap_or_default();
        let build = || -> uoom::Result<Self> {
            let req = parse_request(&request)?;
            let id = match o.id.as_deref() {
                Some(s) => OrderId::parse(s).ok_or_else(|| {
                    uoom::Error::invalid("id", "invalid_uuid", format!("{s:?} is not a UUID"))
                })?,
                None => OrderId::new_v4(),
            };
            let normalized = NormalizedOrder::from(&req);
            let inner = uoom::Order::from_request(id, req, now(o.now_ms, "nowMs")?)?;
            Ok(Order {
                inner,
                request: normalized,
            })
        };
        build().or_throw(&env)
    }

    /// The order id.
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.inner.id.to_string()
    }

    /// The customer id.
    #[napi(getter)]
    pub fn customer_id(&self) -> String {
        self.inner.customer_id.to_string()
    }

    /// The current status.
    #[napi(
        getter,
        ts_return_type = "'PENDING' | 'VALIDATED' | 'ROUTED' | 'CONFIRMED' | 'PREPARING' | 'OUT_FOR_DELIVERY' | 'DELIVERED' | 'CANCELLED' | 'FAILED'"
    )]
    pub fn status(&self) -> &'static str {
        self.inner.status.as_str()
    }

    /// The exact total.
    #[napi(getter)]
    pub fn total(&self) -> Money {
        Money::from(&self.inner.total)
    }

    /// Sum of the quantities.
    #[napi(getter)]
    pub fn total_quantity(&self) -> u32 {
        self.inner.total_quantity()
    }

    /// Creation time, ms.
    #[napi(getter)]
    pub fn created_at_ms(&self) -> f64 {
        ms(self.inner.created_at)
    }

    /// Last change, ms.
    #[napi(getter)]
    pub fn updated_at_ms(&self) -> f64 {
        ms(self.inner.updated_at)
    }

    /// True when the order may move to `status` now.
    #[napi(
        ts_args_type = "status: 'PENDING' | 'VALIDATED' | 'ROUTED' | 'CONFIRMED' | 'PREPARING' | 'OUT_FOR_DELIVERY' | 'DELIVERED' | 'CANCELLED' | 'FAILED'"
    )]
    pub fn can_transition_to(&self, env: Env, status: String) -> Result<bool> {
        let to = parse_status(&status).or_throw(&env)?;
        Ok(self.inner.status.can_transition_to(to))
    }

    /// Moves the order to `status` and returns the previous one; an illegal
    /// move throws `UOOM_CONFLICT` and changes nothing.
    #[napi(
        ts_args_type = "status: 'PENDING' | 'VALIDATED' | 'ROUTED' | 'CONFIRMED' | 'PREPARING' | 'OUT_FOR_DELIVERY' | 'DELIVERED' | 'CANCELLED' | 'FAILED', nowMs?: number",
        ts_return_type = "'PENDING' | 'VALIDATED' | 'ROUTED' | 'CONFIRMED' | 'PREPARING' | 'OUT_FOR_DELIVERY' | 'DELIVERED' | 'CANCELLED' | 'FAILED'"
    )]
    pub fn transition(
        &mut self,
        env: Env,
        status: String,
        now_ms: Option<f64>,
    ) -> Result<&'static str> {
        let to = parse_status(&status).or_throw(&env)?;
        let at = now(now_ms, "nowMs").or_throw(&env)?;
        let prev = self.inner.transition(to, at).or_throw(&env)?;
        Ok(prev.as_str())
    }

    /// The normalized request this order was made from.
    #[napi]
    pub fn request(&self) -> NormalizedOrder {
        self.request.clone()
    }
}

/// Every order status, in lifecycle order (a runtime list for validation and UIs).
#[napi(
    ts_return_type = "Array<'PENDING' | 'VALIDATED' | 'ROUTED' | 'CONFIRMED' | 'PREPARING' | 'OUT_FOR_DELIVERY' | 'DELIVERED' | 'CANCELLED' | 'FAILED'>"
)]
pub fn order_statuses() -> Vec<&'static str> {
    OrderStatus::ALL.iter().map(|s| s.as_str()).collect()
}
