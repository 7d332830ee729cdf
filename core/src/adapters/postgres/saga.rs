//! `saga_state`: where an order's reserve → book → confirm saga stands.

use super::io;
use crate::{OrderId, Result};
use tokio_postgres::Client;

/// One order's saga position, so a restarted engine can resume or compensate.
///
/// ```
/// let s = uoom::adapters::postgres::SagaState::new(uoom::OrderId::from_u128(1), "reserved");
/// assert_eq!(s.step, "reserved");
/// assert!(s.channel_id.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SagaState {
    /// The order (must exist in `orders`).
    pub order_id: OrderId,
    /// The engine's step name.
    pub step: String,
    /// The channel being booked.
    pub channel_id: Option<String>,
    /// The ledger reservation.
    pub reservation_id: Option<String>,
    /// The partner's booking reference.
    pub booking_ref: Option<String>,
    /// Why compensation ran.
    pub compensation_reason: Option<String>,
}

impl SagaState {
    /// A state at `step` with nothing else known yet.
    pub fn new(order_id: OrderId, step: impl Into<String>) -> Self {
        Self {
            order_id,
            step: step.into(),
            channel_id: None,
            reservation_id: None,
            booking_ref: None,
            compensation_reason: None,
        }
    }
}

pub(crate) async fn save(client: &Client, s: &SagaState) -> Result<()> {
    client
        .execute(
            "INSERT INTO saga_state (order_id, step, channel_id, reservation_id, booking_ref, \
             compensation_reason, updated_at) VALUES ($1, $2, $3, $4, $5, $6, now()) \
             ON CONFLICT (order_id) DO UPDATE SET step = EXCLUDED.step, \
             channel_id = EXCLUDED.channel_id, reservation_id = EXCLUDED.reservation_id, \
             booking_ref = EXCLUDED.booking_ref, \
             compensation_reason = EXCLUDED.compensation_reason, updated_at = now()",
            &[
                &s.order_id.0,
                &s.step,
                &s.channel_id,
                &s.reservation_id,
                &s.booking_ref,
                &s.compensation_reason,
            ],
        )
        .await
        .map_err(io("saga write"))?;
    Ok(())
}

pub(crate) async fn load(client: &Client, id: &OrderId) -> Result<Option<SagaState>> {
    let row = client
        .query_opt(
            "SELECT step, channel_id, reservation_id, booking_ref, compensation_reason \
             FROM saga_state WHERE order_id = $1",
            &[&id.0],
        )
        .await
        .map_err(io("saga read"))?;
    let Some(r) = row else { return Ok(None) };
    let e = io("saga read");
    Ok(Some(SagaState {
        order_id: *id,
        step: r.try_get(0).map_err(&e)?,
        channel_id: r.try_get(1).map_err(&e)?,
        reservation_id: r.try_get(2).map_err(&e)?,
        booking_ref: r.try_get(3).map_err(&e)?,
        compensation_reason: r.try_get(4).map_err(&e)?,
    }))
}
