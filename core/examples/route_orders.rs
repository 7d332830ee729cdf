//! Route orders in-process: channels, a router on the in-memory default,
//! a submit with an idempotency key, the outcome, the status, the metrics.
use std::sync::Arc;
use uoom::engine::{Router, SimGateway};
use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, Vehicle};

pub fn main() -> uoom::Result<()> {
    let kitchen = Channel::builder(
        "kitchen-ny-1",
        ChannelKind::InternalKitchen,
        GeoPoint::new(40.715, -74.002),
    )
    .with_radius_km(8.0)
    .with_capacity(120)
    .with_vehicles([Vehicle::Bike, Vehicle::Car])
    .build()?;
    let clock = Arc::new(ManualClock::new(Millis(1_767_225_600_000)));
    let partners = Arc::new(SimGateway::new(clock.clone(), 42)); // stands in for real partner APIs
    let mut router = Router::builder(vec![kitchen], partners)
        .with_clock(clock)
        .with_reservation_ttl_ms(30_000)
        .build()?;

    let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
        "items": [{"itemId": "item1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
        "deliveryAddress": {"street": "123 Main St", "city": "New York", "postalCode": "10001",
                            "latitude": 40.7128, "longitude": -74.0060}}"#;
    let outcome = router.submit_json(body, Some("checkout-7f3a"))?;
    println!(
        "{} -> {:?} on {:?} ({:?})",
        outcome.order_id, outcome.status, outcome.channel, outcome.decision
    );
    assert!(outcome.is_confirmed());

    // The same key returns the first outcome; nothing is routed twice.
    assert!(router.submit_json(body, Some("checkout-7f3a"))?.replayed);
    let status = router
        .read_model()
        .get(&outcome.order_id)
        .expect("projected");
    println!("status: {}", status.status.as_str());
    println!(
        "{}",
        router
            .render_metrics()
            .lines()
            .filter(|l| l.starts_with("uoom_routing"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(())
}
