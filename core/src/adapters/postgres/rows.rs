//! Orders to and from `orders` rows.

use crate::{
    Currency, CustomerId, DeliveryAddress, Error, GeoPoint, Millis, Money, Order, OrderId,
    OrderItem, OrderStatus, Placement, RestaurantId, Result, RoutingHints,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_postgres::Row;

/// The columns the adapter selects, in [`order_from_row`]'s order.
pub(crate) const ORDER_COLUMNS: &str = "id, customer_id, restaurant_id, items, delivery_street, \
     delivery_city, delivery_postal_code, delivery_latitude, delivery_longitude, total_minor, \
     currency, status, hints, created_at, updated_at, placement";

/// One line of `orders.items`: the request's shape with the price in minor
/// units. Borrowed from the order when written, owned when read back.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ItemRow<'a> {
    item_id: Cow<'a, str>,
    name: Cow<'a, str>,
    quantity: u32,
    unit_price: i64,
}

impl<'a> ItemRow<'a> {
    /// An order's items as `orders.items` holds them.
    pub(crate) fn of(order: &'a Order) -> Vec<Self> {
        order
            .items
            .iter()
            .map(|i| ItemRow {
                item_id: Cow::Borrowed(&i.item_id),
                name: Cow::Borrowed(&i.name),
                quantity: i.quantity,
                unit_price: i.unit_price.minor(),
            })
            .collect()
    }
}

/// A time for a `timestamptz` parameter (sent binary: no text or numeric
/// conversion on either side).
pub(crate) fn at(t: Millis) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(t.0)
}

/// A `timestamptz` column as milliseconds since the epoch (floored; the
/// epoch for earlier times).
pub(crate) fn millis(t: SystemTime) -> Millis {
    Millis(
        t.duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    )
}

fn corrupt(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::io_with(format!("orders row: bad {what}"), e)
}

pub(crate) fn parse_status(s: &str) -> Result<OrderStatus> {
    OrderStatus::ALL
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| Error::io(format!("orders row: bad status: {s}")))
}

pub(crate) fn order_from_row(row: &Row) -> Result<Order> {
    let get_err = |e: tokio_postgres::Error| Error::io_with("orders row", e);
    let currency: String = row.try_get(10).map_err(get_err)?;
    let currency = Currency::parse(currency.trim()).map_err(|e| corrupt("currency", e))?;
    let items: Value = row.try_get(3).map_err(get_err)?;
    let items: Vec<ItemRow<'static>> =
        serde_json::from_value(items).map_err(|e| corrupt("items", e))?;
    let hints: Value = row.try_get(12).map_err(get_err)?;
    let hints: RoutingHints = serde_json::from_value(hints).map_err(|e| corrupt("hints", e))?;
    let status: String = row.try_get(11).map_err(get_err)?;
    let restaurant: Option<uuid::Uuid> = row.try_get(2).map_err(get_err)?;
    let created: SystemTime = row.try_get(13).map_err(get_err)?;
    let updated: SystemTime = row.try_get(14).map_err(get_err)?;
    let placement: Option<Value> = row.try_get(15).map_err(get_err)?;
    let placement: Option<Placement> = placement
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| corrupt("placement", e))?;
    Ok(Order {
        id: OrderId(row.try_get(0).map_err(get_err)?),
        customer_id: CustomerId(row.try_get(1).map_err(get_err)?),
        restaurant_id: restaurant.map(RestaurantId),
        items: items
            .into_iter()
            .map(|i| OrderItem {
                item_id: i.item_id.into_owned(),
                name: i.name.into_owned(),
                quantity: i.quantity,
                unit_price: Money::from_minor(i.unit_price, currency),
            })
            .collect(),
        delivery: DeliveryAddress {
            street: row.try_get(4).map_err(get_err)?,
            city: row.try_get(5).map_err(get_err)?,
            postal_code: row.try_get(6).map_err(get_err)?,
            location: GeoPoint::new(
                row.try_get(7).map_err(get_err)?,
                row.try_get(8).map_err(get_err)?,
            ),
        },
        hints,
        total: Money::from_minor(row.try_get(9).map_err(get_err)?, currency),
        status: parse_status(&status)?,
        created_at: millis(created),
        updated_at: millis(updated),
        placement,
    })
}
