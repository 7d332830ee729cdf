//! An order-routing service as a team would write it on axum: `POST /orders`
//! routes a create-order request through uoom's [`AsyncRouter`], booking the
//! chosen channel with a partner over HTTP ([`HttpPartner`]); `GET
//! /orders/{id}/status` answers from the status read model (and from the
//! write model for an order the read model does not hold, such as one
//! written before a restart); `GET /health`. With PostgreSQL (the
//! binary's `DATABASE_URL`), orders, their events and idempotency records
//! are written there on the service's own tokio runtime.
//!
//! HTTP status codes: 201 for a confirmed order, 422 with the reason when it
//! could not be routed, 400 with `{field, code, message}` errors for an
//! invalid request, 404 for an unknown order. The `Idempotency-Key` header
//! makes a retry return the first outcome.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router as Http};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use uoom::engine::{
    AsyncGateway, AsyncRouter, BookingAnswer, BookingCall, BookingRef, BoxFuture, CancelCall,
    GatewayError, Outcome,
};
use uoom::{Error, ErrorKind, OrderId};

/// A fulfillment partner's booking API over HTTP:
/// `POST {base}/bookings` with `{orderId, channelId, channelKind, units}`
/// answers `{reference}`; `POST {base}/cancellations` with `{orderId,
/// channelId, reference}` cancels. A non-2xx answer or a body without a
/// `reference` is a refusal; the engine cuts a booking at its timeout.
#[derive(Debug, Clone)]
pub struct HttpPartner {
    client: reqwest::Client,
    base: String,
}

impl HttpPartner {
    /// A partner at `base` (for example `http://127.0.0.1:8081`).
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: base.into().trim_end_matches('/').to_owned(),
        }
    }
}

#[derive(Deserialize)]
struct Booked {
    reference: Option<String>,
}

impl AsyncGateway for HttpPartner {
    fn book(&self, call: &BookingCall) -> BoxFuture<'static, BookingAnswer> {
        let req = self
            .client
            .post(format!("{}/bookings", self.base))
            .json(&json!({
                "orderId": call.order.id.to_string(),
                "channelId": call.channel_id.as_str(),
                "channelKind": call.channel_kind.as_str(),
                "units": call.units,
            }));
        Box::pin(async move {
            let failed = |e: String| GatewayError::Failed(e);
            let resp = req.send().await.map_err(|e| failed(e.to_string()))?;
            let status = resp.status();
            if !status.is_success() {
                let body = resp.text().await.unwrap_or_default();
                return Err(failed(format!("partner answered {status}: {body}")));
            }
            let booked: Booked = resp.json().await.map_err(|e| failed(e.to_string()))?;
            booked
                .reference
                .map(BookingRef)
                .ok_or_else(|| failed("the partner's answer has no reference".into()))
        })
    }

    fn cancel(&self, call: &CancelCall) -> BoxFuture<'static, Result<(), GatewayError>> {
        let req = self
            .client
            .post(format!("{}/cancellations", self.base))
            .json(&json!({
                "orderId": call.order_id.to_string(),
                "channelId": call.channel_id.as_str(),
                "reference": call.booking.as_ref().map(|b| b.0.as_str()),
            }));
        Box::pin(async move {
            let resp = req
                .send()
                .await
                .map_err(|e| GatewayError::Failed(e.to_string()))?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(GatewayError::Failed(format!(
                    "partner answered {}",
                    resp.status()
                )))
            }
        })
    }
}

/// The service's answer to `POST /orders` (camelCase, as the callers' JSON).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderOutcome {
    /// The order's id.
    pub order_id: String,
    /// `CONFIRMED` or `FAILED`.
    pub status: String,
    /// The channel that took it.
    pub channel_id: Option<String>,
    /// Why it failed (`capacity_exhausted`, `partner_timeout`, ...).
    pub reason: Option<String>,
    /// Booking attempts made.
    pub attempts: u32,
    /// The partner's reference.
    pub booking_reference: Option<String>,
    /// True when this is an earlier request's answer (same idempotency key).
    pub replayed: bool,
}

impl From<&Outcome> for OrderOutcome {
    fn from(o: &Outcome) -> Self {
        Self {
            order_id: o.order_id.to_string(),
            status: o.status.as_str().to_owned(),
            channel_id: o.channel.as_ref().map(|c| c.0.clone()),
            reason: o.failure.map(|f| f.as_str().to_owned()),
            attempts: o.attempts,
            booking_reference: o.booking.clone(),
            replayed: o.replayed,
        }
    }
}

/// The axum app over `router`.
pub fn app(router: Arc<AsyncRouter>) -> Http {
    Http::new()
        .route("/orders", post(create_order))
        .route("/orders/{id}/status", get(order_status))
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .with_state(router)
}

async fn create_order(
    State(router): State<Arc<AsyncRouter>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let request = match uoom::parse_create_order(&body) {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    match router.route(request, key.as_deref()).await {
        Ok(o) if o.is_confirmed() => {
            (StatusCode::CREATED, Json(OrderOutcome::from(&o))).into_response()
        }
        Ok(o) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(OrderOutcome::from(&o)),
        )
            .into_response(),
        Err(e) => error_response(&e),
    }
}

async fn order_status(State(router): State<Arc<AsyncRouter>>, Path(id): Path<String>) -> Response {
    let Some(id) = OrderId::parse(&id) else {
        let e = Error::not_found(format!("order {id}"));
        return error_response(&e);
    };
    match router.status(&id).await {
        Ok(Some(v)) => Json(json!({
            "orderId": v.order_id.to_string(),
            "status": v.status.as_str(),
            "channelId": v.channel.map(|c| c.0),
            "reason": v.failure.map(uoom::events::FailureReason::as_str),
        }))
        .into_response(),
        Ok(None) => match router.order(&id).await {
            // Written, but not in this process's read model: what the
            // write model knows (its channel, from its placement).
            Ok(Some(o)) => Json(json!({
                "orderId": o.id.to_string(),
                "status": o.status.as_str(),
                "channelId": o.placement.map(|p| p.channel.0),
                "reason": null,
            }))
            .into_response(),
            Ok(None) => error_response(&Error::not_found(format!("order {id}"))),
            Err(e) => error_response(&e),
        },
        Err(e) => error_response(&e),
    }
}

fn error_response(e: &Error) -> Response {
    let status = match e.kind() {
        ErrorKind::Validation => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Io | ErrorKind::Timeout => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let errors: Vec<_> = e
        .field_errors()
        .iter()
        .map(|f| json!({"field": f.field, "code": f.code, "message": f.message}))
        .collect();
    let body = json!({"code": e.kind().code(), "message": e.to_string(), "errors": errors});
    (status, Json(body)).into_response()
}
