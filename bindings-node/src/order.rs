//! Create-order validation: the request JSON of docs/validation.md in, the normalized
//! order out, or a `UOOM_VALIDATION` error listing every field problem.

use crate::errors::OrThrow;
use crate::input::JsonInput;
use napi::bindgen_prelude::*;
use uoom::CreateOrderRequest as CoreRequest;

/// Exact money: minor units plus the decimal text, never a float to add up.
#[napi(object)]
#[derive(Clone)]
pub struct Money {
    /// Decimal text with two decimals, e.g. `"15.99"`.
    pub amount: String,
    /// Minor units (cents), e.g. `1599`.
    pub minor: i64,
    /// ISO 4217 code, e.g. `"USD"`.
    pub currency: String,
}

impl From<&uoom::Money> for Money {
    fn from(m: &uoom::Money) -> Self {
        Money {
            amount: m.amount_string(),
            minor: m.minor(),
            currency: m.currency().as_str().to_owned(),
        }
    }
}

/// One normalized order line.
#[napi(object)]
#[derive(Clone)]
pub struct OrderItem {
    /// Item id (trimmed).
    pub item_id: String,
    /// Display name (trimmed).
    pub name: String,
    /// Quantity, 1..=999.
    pub quantity: u32,
    /// Unit price as a number with at most two decimals.
    pub unit_price: f64,
    /// Exact quantity × unit price.
    pub line_total: Option<Money>,
}

/// Where an order goes.
#[napi(object)]
#[derive(Clone)]
pub struct DeliveryAddress {
    /// Street and number.
    pub street: String,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// Latitude, degrees.
    pub latitude: f64,
    /// Longitude, degrees.
    pub longitude: f64,
}

/// A validated create-order request in its normalized camelCase form (what
/// `uoom validate-order` prints): trimmed strings, lowercase UUIDs, explicit
/// currency, exact totals; unknown fields dropped.
#[napi(object)]
#[derive(Clone)]
pub struct NormalizedOrder {
    /// Customer UUID.
    pub customer_id: String,
    /// Restaurant UUID, when given.
    pub restaurant_id: Option<String>,
    /// The lines.
    pub items: Vec<OrderItem>,
    /// Delivery address.
    pub delivery_address: DeliveryAddress,
    /// Currency of every line.
    pub currency: String,
    /// Routing hint: required vehicle.
    #[napi(ts_type = "'bike' | 'car' | 'van' | 'refrigerated'")]
    pub vehicle: Option<String>,
    /// Routing hint: delivery deadline in minutes.
    pub deadline_minutes: Option<f64>,
    /// Routing hint: priority 1..=3.
    pub priority: Option<u32>,
    /// Sum of quantities.
    pub total_quantity: u32,
    /// Exact order total.
    pub total: Option<Money>,
}

impl From<&CoreRequest> for NormalizedOrder {
    fn from(r: &CoreRequest) -> Self {
        let items = r
            .items
            .iter()
            .map(|i| OrderItem {
                item_id: i.item_id.clone(),
                name: i.name.clone(),
                quantity: i.quantity,
                unit_price: i.unit_price.amount_string().parse().unwrap_or(f64::NAN),
                line_total: i.line_total().ok().as_ref().map(Money::from),
            })
            .collect();
        NormalizedOrder {
            customer_id: r.customer_id.to_string(),
            restaurant_id: r.restaurant_id.map(|id| id.to_string()),
            items,
            delivery_address: DeliveryAddress {
                street: r.delivery.street.clone(),
                city: r.delivery.city.clone(),
                postal_code: r.delivery.postal_code.clone(),
                latitude: r.delivery.location.lat,
                longitude: r.delivery.location.lon,
            },
            currency: r.currency().as_str().to_owned(),
            vehicle: r.hints.vehicle.map(|v| v.as_str().to_owned()),
            deadline_minutes: r.hints.deadline_min,
            priority: r.hints.priority.map(u32::from),
            total_quantity: r
                .items
                .iter()
                .fold(0u32, |a, i| a.saturating_add(i.quantity)),
            total: r.total().ok().as_ref().map(Money::from),
        }
    }
}

/// A create-order body as JS gives it: an object, or JSON text (a string or
/// a Buffer, e.g. an HTTP body not yet parsed: the cheaper path).
pub type RequestInput = JsonInput;

/// Parses and validates one create-order body.
pub fn parse_request(input: &RequestInput) -> uoom::Result<CoreRequest> {
    uoom::parse_create_order(input.bytes()?)
}

/// Validates a create-order request (an object, or its JSON text) and returns
/// the normalized order. Throws an `Error` with `code: 'UOOM_VALIDATION'` and
/// `fieldErrors` listing every problem (`items[0].quantity`, …).
#[napi(ts_args_type = "request: CreateOrderRequest | string | Buffer")]
pub fn validate_order(env: Env, request: RequestInput) -> Result<NormalizedOrder> {
    parse_request(&request)
        .map(|r| NormalizedOrder::from(&r))
        .or_throw(&env)
}

/// Validates many requests at once: one boundary crossing for the batch.
/// Each entry is either `{ok: true, order}` or `{ok: false, error}` with the
/// same `code`/`fieldErrors` a throw would carry; nothing is thrown.
#[napi(ts_args_type = "requests: Array<CreateOrderRequest | string | Buffer>")]
pub fn validate_orders(requests: Vec<RequestInput>) -> Vec<ValidationResult> {
    requests
        .iter()
        .map(|r| match parse_request(r) {
            Ok(req) => ValidationResult {
                ok: true,
                order: Some(NormalizedOrder::from(&req)),
                error: None,
            },
            Err(e) => ValidationResult {
                ok: false,
                order: None,
                error: Some(crate::errors::ErrorInfo::from(&e)),
            },
        })
        .collect()
}

/// One entry of [`validate_orders`].
#[napi(object)]
pub struct ValidationResult {
    /// True when the request is valid.
    pub ok: bool,
    /// The normalized order when valid.
    pub order: Option<NormalizedOrder>,
    /// What is wrong otherwise.
    pub error: Option<crate::errors::ErrorInfo>,
}

/// The create-order request of docs/validation.md (camelCase). Only a type: requests
/// are checked in Rust, so anything may be passed and is reported precisely.
#[napi(object, object_to_js = false)]
#[allow(dead_code)] // a shape for index.d.ts: requests are read by the core
pub struct CreateOrderRequest {
    /// Customer UUID.
    pub customer_id: String,
    /// Restaurant UUID (optional).
    pub restaurant_id: Option<String>,
    /// At least one line, at most 100.
    pub items: Vec<CreateOrderItem>,
    /// Where to deliver.
    pub delivery_address: DeliveryAddress,
    /// Optional currency extension (default `USD`).
    pub currency: Option<String>,
    /// Optional routing hint: `bike` | `car` | `van` | `refrigerated`.
    pub vehicle: Option<String>,
    /// Optional routing hint: deadline in minutes.
    pub deadline_minutes: Option<f64>,
    /// Optional routing hint: priority 1..=3.
    pub priority: Option<u32>,
}

/// One requested line.
#[napi(object, object_to_js = false)]
#[allow(dead_code)] // a shape for index.d.ts: requests are read by the core
pub struct CreateOrderItem {
    /// Item id.
    pub item_id: String,
    /// Display name.
    pub name: String,
    /// Quantity, 1..=999.
    pub quantity: u32,
    /// Unit price, at most two decimals.
    pub unit_price: f64,
}
