//! Orders, items, delivery addresses and the lifecycle state machine.
//!
//! An [`Order`] is built only from a validated [`CreateOrderRequest`], so its
//! total is exact and its fields are in range; after that, its status moves
//! only along the order lifecycle (see [`OrderStatus::can_transition_to`]).

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::ledger::ReservationId;
use crate::model::channel::Vehicle;
use crate::model::geo::GeoPoint;
use crate::model::ids::{ChannelId, CustomerId, OrderId, RestaurantId};
use crate::model::money::Money;
use crate::model::request::CreateOrderRequest;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One line of an order.
///
/// ```
/// use uoom::{Currency, Money, OrderItem};
/// let item = OrderItem {
///     item_id: "item1".into(),
///     name: "Pizza".into(),
///     quantity: 2,
///     unit_price: Money::from_minor(1599, Currency::USD),
/// };
/// assert_eq!(item.line_total().unwrap().minor(), 3198);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    /// The catalogue id of the item (1..=64 chars).
    pub item_id: String,
    /// Display name (1..=200 chars, not blank).
    pub name: String,
    /// How many (1..=999).
    pub quantity: u32,
    /// Price of one unit, exact.
    pub unit_price: Money,
}

impl OrderItem {
    /// `quantity x unit_price`, exact; overflow is an error.
    ///
    /// ```
    /// use uoom::{Currency, Money, OrderItem};
    /// let item = OrderItem { item_id: "x".into(), name: "X".into(), quantity: 3,
    ///     unit_price: Money::from_minor(10, Currency::SAR) };
    /// assert_eq!(item.line_total().unwrap(), Money::from_minor(30, Currency::SAR));
    /// ```
    pub fn line_total(&self) -> Result<Money> {
        self.unit_price.checked_mul(self.quantity)
    }
}

/// Where an order goes. On the wire the location is flat
/// (`latitude`, `longitude`), as in the create-order request.
///
/// ```
/// use uoom::{DeliveryAddress, GeoPoint};
/// let a = DeliveryAddress { street: "123 Main St".into(), city: "New York".into(),
///     postal_code: "10001".into(), location: GeoPoint::new(40.7128, -74.0060) };
/// let json = serde_json::to_value(&a).unwrap();
/// assert_eq!(json["postalCode"], "10001");
/// assert_eq!(json["latitude"], 40.7128);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "AddressWire", into = "AddressWire")]
pub struct DeliveryAddress {
    /// Street and number (1..=200 chars).
    pub street: String,
    /// City (1..=200 chars).
    pub city: String,
    /// Postal code (1..=20 chars).
    pub postal_code: String,
    /// The delivery point.
    pub location: GeoPoint,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddressWire {
    street: String,
    city: String,
    postal_code: String,
    latitude: f64,
    longitude: f64,
}

impl From<AddressWire> for DeliveryAddress {
    fn from(w: AddressWire) -> Self {
        DeliveryAddress {
            street: w.street,
            city: w.city,
            postal_code: w.postal_code,
            location: GeoPoint::new(w.latitude, w.longitude),
        }
    }
}

impl From<DeliveryAddress> for AddressWire {
    fn from(a: DeliveryAddress) -> Self {
        AddressWire {
            street: a.street,
            city: a.city,
            postal_code: a.postal_code,
            latitude: a.location.lat,
            longitude: a.location.lon,
        }
    }
}

/// Optional routing constraints a request may carry (uoom extensions to the
/// create-order contract); absent means "no constraint".
///
/// ```
/// let h = uoom::RoutingHints::default();
/// assert!(h.vehicle.is_none() && h.deadline_min.is_none() && h.priority.is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingHints {
    /// The vehicle the order needs (`"refrigerated"` for cold chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vehicle: Option<Vehicle>,
    /// Latest acceptable delivery, in minutes from creation (> 0).
    #[serde(
        default,
        rename = "deadlineMinutes",
        skip_serializing_if = "Option::is_none"
    )]
    pub deadline_min: Option<f64>,
    /// 1 (highest) ..= 3 (lowest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
}

/// Where an order is in its lifecycle.
///
/// ```text
/// PENDING → VALIDATED → ROUTED → CONFIRMED → PREPARING → OUT_FOR_DELIVERY → DELIVERED
/// CANCELLED from PENDING..=PREPARING; FAILED from any non-final state
/// ```
///
/// ```
/// use uoom::OrderStatus::*;
/// assert!(Pending.can_transition_to(Validated));
/// assert!(Preparing.can_transition_to(Cancelled));
/// assert!(!OutForDelivery.can_transition_to(Cancelled));
/// assert!(OutForDelivery.can_transition_to(Failed));
/// assert!(!Delivered.can_transition_to(Failed));
/// assert_eq!(OutForDelivery.as_str(), "OUT_FOR_DELIVERY");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Created from a valid request, not yet checked by the engine.
    Pending,
    /// Accepted by the engine's business checks.
    Validated,
    /// A channel was chosen and capacity reserved.
    Routed,
    /// The channel (or partner) confirmed the booking.
    Confirmed,
    /// Being prepared.
    Preparing,
    /// On its way.
    OutForDelivery,
    /// Delivered (final).
    Delivered,
    /// Cancelled before dispatch (final).
    Cancelled,
    /// Could not be fulfilled (final).
    Failed,
}

impl OrderStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [OrderStatus; 9] = [
        OrderStatus::Pending,
        OrderStatus::Validated,
        OrderStatus::Routed,
        OrderStatus::Confirmed,
        OrderStatus::Preparing,
        OrderStatus::OutForDelivery,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::Failed,
    ];

    /// The SCREAMING_SNAKE_CASE wire name.
    ///
    /// ```
    /// assert_eq!(uoom::OrderStatus::Pending.as_str(), "PENDING");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Validated => "VALIDATED",
            OrderStatus::Routed => "ROUTED",
            OrderStatus::Confirmed => "CONFIRMED",
            OrderStatus::Preparing => "PREPARING",
            OrderStatus::OutForDelivery => "OUT_FOR_DELIVERY",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::Cancelled => "CANCELLED",
            OrderStatus::Failed => "FAILED",
        }
    }

    /// True for DELIVERED, CANCELLED and FAILED: nothing follows them.
    ///
    /// ```
    /// assert!(uoom::OrderStatus::Cancelled.is_final());
    /// assert!(!uoom::OrderStatus::Routed.is_final());
    /// ```
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::Delivered | OrderStatus::Cancelled | OrderStatus::Failed
        )
    }

    /// The order lifecycle's table: the one forward step, CANCELLED
    /// before dispatch, FAILED from any non-final state. Staying in the same
    /// state is not a transition.
    ///
    /// ```
    /// use uoom::OrderStatus::*;
    /// assert!(Routed.can_transition_to(Confirmed));
    /// assert!(!Pending.can_transition_to(Routed)); // no skipping
    /// assert!(!Pending.can_transition_to(Pending));
    /// ```
    pub fn can_transition_to(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        match (self, next) {
            (Pending, Validated)
            | (Validated, Routed)
            | (Routed, Confirmed)
            | (Confirmed, Preparing)
            | (Preparing, OutForDelivery)
            | (OutForDelivery, Delivered) => true,
            (Pending | Validated | Routed | Confirmed | Preparing, Cancelled) => true,
            (from, Failed) => !from.is_final(),
            _ => false,
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = Error;

    /// ```
    /// assert_eq!("OUT_FOR_DELIVERY".parse::<uoom::OrderStatus>().unwrap(), uoom::OrderStatus::OutForDelivery);
    /// assert!("SHIPPED".parse::<uoom::OrderStatus>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        OrderStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "status",
                    "invalid_value",
                    format!("unknown order status {s:?}"),
                )
            })
    }
}

/// An order: the validated request, its exact total, its status and times.
///
/// ```
/// use uoom::{Clock, ManualClock, Millis, Order, OrderId, OrderStatus, parse_create_order};
/// let clock = ManualClock::new(Millis(1_000));
/// let req = parse_create_order(br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
///   "items": [{"itemId": "item1", "name": "Pizza", "quantity": 2, "unitPrice": 15.99}],
///   "deliveryAddress": {"street": "123 Main St", "city": "New York", "postalCode": "10001",
///                       "latitude": 40.7128, "longitude": -74.0060}}"#).unwrap();
/// let mut order = Order::from_request(OrderId::from_u128(1), req, clock.now()).unwrap();
/// assert_eq!(order.total.to_string(), "31.98 USD");
/// assert_eq!(order.status, OrderStatus::Pending);
///
/// clock.advance_ms(5);
/// assert_eq!(order.transition(OrderStatus::Validated, clock.now()).unwrap(), OrderStatus::Pending);
/// assert_eq!(order.updated_at, Millis(1_005));
/// // An illegal step is a conflict and changes nothing.
/// let before = order.clone();
/// assert!(order.transition(OrderStatus::Delivered, Millis(2_000)).is_err());
/// assert_eq!(order, before);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The order's id.
    pub id: OrderId,
    /// Who ordered.
    pub customer_id: CustomerId,
    /// The restaurant, when the order comes from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restaurant_id: Option<RestaurantId>,
    /// The lines (1..=100, distinct item ids).
    pub items: Vec<OrderItem>,
    /// Where it goes.
    #[serde(rename = "deliveryAddress")]
    pub delivery: DeliveryAddress,
    /// Optional routing constraints.
    #[serde(default)]
    pub hints: RoutingHints,
    /// Sum of the line totals, exact.
    pub total: Money,
    /// Lifecycle state.
    pub status: OrderStatus,
    /// When the order was created (from the injected clock).
    pub created_at: Millis,
    /// When the status last changed.
    pub updated_at: Millis,
    /// Where the order was placed once confirmed: what a later cancellation
    /// must undo (the partner booking and the committed capacity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
}

/// The channel, booking and capacity reservation a confirmed order holds.
///
/// Kept on the order (and so in every write model) rather than in the engine's
/// memory, so that cancelling an order after a restart still cancels the
/// partner booking and gives the channel its capacity back.
///
/// ```
/// use uoom::{ChannelId, Placement};
/// let p = Placement { channel: ChannelId::from("k1"), booking: "bk-7".into(), reservation: 42u128.into() };
/// let json = serde_json::to_value(&p).unwrap();
/// assert_eq!(json["reservation"], "0000000000000000000000000000002a");
/// assert_eq!(serde_json::from_value::<Placement>(json).unwrap(), p);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// The channel that confirmed the order.
    pub channel: ChannelId,
    /// The partner's booking reference.
    pub booking: String,
    /// The ledger reservation whose units were committed for it (32 hex
    /// digits in JSON: a 128-bit number does not survive JSON readers that
    /// parse numbers as doubles, PostgreSQL's jsonb path among them).
    #[serde(with = "hex_reservation")]
    pub reservation: ReservationId,
}

mod hex_reservation {
    use crate::ledger::ReservationId;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(id: &ReservationId, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ReservationId, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        u128::from_str_radix(&text, 16)
            .map(ReservationId)
            .map_err(|e| D::Error::custom(format!("reservation id {text:?}: {e}")))
    }
}

impl Order {
    /// A PENDING order from a request, with its exact total.
    ///
    /// Fails (validation error, code `overflow` or `currency_mismatch`) only for a
    /// hand-built request whose total does not fit or mixes currencies; a
    /// request from [`crate::parse_create_order`] always succeeds.
    ///
    /// ```
    /// use uoom::*;
    /// let mut req = parse_create_order(include_bytes!("../../../examples/orders/sample.json")).unwrap();
    /// req.items[0].unit_price = Money::from_minor(i64::MAX, Currency::USD);
    /// req.items[0].quantity = 2;
    /// let err = Order::from_request(OrderId::from_u128(1), req, Millis(0)).unwrap_err();
    /// assert_eq!(err.field_errors()[0].code, "overflow");
    /// ```
    pub fn from_request(id: OrderId, req: CreateOrderRequest, now: Millis) -> Result<Order> {
        let total = req.total()?;
        Ok(Order {
            id,
            customer_id: req.customer_id,
            restaurant_id: req.restaurant_id,
            items: req.items,
            delivery: req.delivery,
            hints: req.hints,
            total,
            status: OrderStatus::Pending,
            created_at: now,
            updated_at: now,
            placement: None,
        })
    }

    /// Moves the order to `to` and returns the previous status. An illegal
    /// transition is an [`Error::Conflict`] and leaves the order untouched.
    /// `updated_at` never moves backwards, even if `now` does.
    ///
    /// ```
    /// use uoom::*;
    /// let req = parse_create_order(include_bytes!("../../../examples/orders/sample.json")).unwrap();
    /// let mut o = Order::from_request(OrderId::from_u128(9), req, Millis(10)).unwrap();
    /// o.transition(OrderStatus::Cancelled, Millis(20)).unwrap();
    /// assert_eq!(o.transition(OrderStatus::Failed, Millis(30)).unwrap_err().kind(), ErrorKind::Conflict);
    /// assert_eq!(o.status, OrderStatus::Cancelled);
    /// ```
    pub fn transition(&mut self, to: OrderStatus, now: Millis) -> Result<OrderStatus> {
        let from = self.status;
        if !from.can_transition_to(to) {
            return Err(Error::conflict(format!(
                "order {}: illegal transition {from} -> {to}",
                self.id
            )));
        }
        tracing::debug!(order = %self.id, %from, %to, "order status changed");
        self.status = to;
        self.updated_at = self.updated_at.max(now);
        Ok(from)
    }

    /// Number of units over all lines (what capacity is counted in).
    ///
    /// ```
    /// use uoom::*;
    /// let req = parse_create_order(include_bytes!("../../../examples/orders/sample.json")).unwrap();
    /// let o = Order::from_request(OrderId::from_u128(1), req, Millis(0)).unwrap();
    /// assert_eq!(o.total_quantity(), 1);
    /// ```
    pub fn total_quantity(&self) -> u32 {
        self.items
            .iter()
            .fold(0u32, |acc, i| acc.saturating_add(i.quantity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::money::Currency;
    use OrderStatus::*;
    use proptest::prelude::*;

    /// The lifecycle written out as a list, independently of the `match`.
    const LEGAL: &[(OrderStatus, OrderStatus)] = &[
        (Pending, Validated),
        (Validated, Routed),
        (Routed, Confirmed),
        (Confirmed, Preparing),
        (Preparing, OutForDelivery),
        (OutForDelivery, Delivered),
        (Pending, Cancelled),
        (Validated, Cancelled),
        (Routed, Cancelled),
        (Confirmed, Cancelled),
        (Preparing, Cancelled),
        (Pending, Failed),
        (Validated, Failed),
        (Routed, Failed),
        (Confirmed, Failed),
        (Preparing, Failed),
        (OutForDelivery, Failed),
    ];

    fn order(items: Vec<OrderItem>) -> Order {
        let req = CreateOrderRequest {
            customer_id: CustomerId::from_u128(1),
            restaurant_id: None,
            items,
            delivery: DeliveryAddress {
                street: "1 A St".into(),
                city: "Riyadh".into(),
                postal_code: "12211".into(),
                location: GeoPoint::new(24.7, 46.7),
            },
            hints: RoutingHints::default(),
        };
        Order::from_request(OrderId::from_u128(7), req, Millis(100)).unwrap()
    }

    fn item(i: usize, quantity: u32, minor: i64) -> OrderItem {
        OrderItem {
            item_id: format!("i{i}"),
            name: format!("Item {i}"),
            quantity,
            unit_price: Money::from_minor(minor, Currency::SAR),
        }
    }

    #[test]
    fn transition_table_matches_design() {
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert_eq!(
                    from.can_transition_to(to),
                    LEGAL.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn happy_path_reaches_delivered() {
        let mut o = order(vec![item(0, 1, 100)]);
        let path = [
            Validated,
            Routed,
            Confirmed,
            Preparing,
            OutForDelivery,
            Delivered,
        ];
        let mut prev = Pending;
        for (t, st) in path.into_iter().enumerate() {
            assert_eq!(o.transition(st, Millis(200 + t as u64)).unwrap(), prev);
            prev = st;
        }
        assert!(o.status.is_final());
        assert_eq!(o.updated_at, Millis(205));
        assert_eq!(o.created_at, Millis(100));
    }

    #[test]
    fn status_serializes_screaming() {
        assert_eq!(
            serde_json::to_value(OutForDelivery).unwrap(),
            serde_json::json!("OUT_FOR_DELIVERY")
        );
        for st in OrderStatus::ALL {
            assert_eq!(st.as_str().parse::<OrderStatus>().unwrap(), st);
            assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
        }
    }

    #[test]
    fn order_json_round_trips() {
        let o = order(vec![item(0, 2, 1599), item(1, 1, 1)]);
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["total"]["amount"], "31.99");
        assert_eq!(v["status"], "PENDING");
        assert_eq!(v["deliveryAddress"]["latitude"], 24.7);
        let back: Order = serde_json::from_value(v).unwrap();
        assert_eq!(back, o);
    }

    proptest! {
        #[test]
        fn total_equals_sum_of_lines(lines in proptest::collection::vec((1u32..=999, 0i64..100_000_000), 1..=100)) {
            let items: Vec<_> = lines.iter().enumerate().map(|(i, &(q, p))| item(i, q, p)).collect();
            let o = order(items);
            let expected: i128 = lines.iter().map(|&(q, p)| i128::from(q) * i128::from(p)).sum();
            prop_assert_eq!(i128::from(o.total.minor()), expected);
            let by_lines: i64 = o.items.iter().map(|i| i.line_total().unwrap().minor()).sum();
            prop_assert_eq!(o.total.minor(), by_lines);
            prop_assert_eq!(o.total_quantity(), lines.iter().map(|l| l.0).sum::<u32>());
        }

        #[test]
        fn any_transition_sequence_stays_legal(steps in proptest::collection::vec((0usize..9, 0u64..1_000), 0..40)) {
            let mut o = order(vec![item(0, 1, 100)]);
            let mut history = vec![o.status];
            for (idx, dt) in steps {
                let to = OrderStatus::ALL[idx];
                let before = o.clone();
                let now = Millis(o.updated_at.0 + dt);
                match o.transition(to, now) {
                    Ok(prev) => {
                        prop_assert!(LEGAL.contains(&(prev, to)));
                        prop_assert_eq!(prev, before.status);
                        prop_assert_eq!(o.status, to);
                        prop_assert_eq!(o.updated_at, now);
                        history.push(to);
                    }
                    Err(e) => {
                        prop_assert_eq!(e.kind(), crate::ErrorKind::Conflict);
                        prop_assert!(!LEGAL.contains(&(before.status, to)));
                        prop_assert_eq!(&o, &before);
                    }
                }
            }
            // The visited states form a legal path from PENDING.
            prop_assert_eq!(history[0], Pending);
            for w in history.windows(2) {
                prop_assert!(LEGAL.contains(&(w[0], w[1])));
            }
            prop_assert!(history.iter().filter(|s| s.is_final()).count() <= 1);
        }
    }
}
