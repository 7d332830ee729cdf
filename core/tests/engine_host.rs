//! [`AsyncRouter`] on tokio (paused time, so a 50 ms partner and a 2 s
//! timeout cost no wall time and replay alike): thousands of routes in
//! flight at once, every failure path of a partner, a route dropped while
//! its booking is out, and the ledger whole afterwards.
#![cfg(feature = "tokio")]

mod engine_common;

use engine_common::{channel, clock, request};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use uoom::engine::{
    AsyncGateway, AsyncRouter, BookingAnswer, BookingCall, BookingRef, BoxFuture, CancelCall,
    GatewayError, Router, SimGateway, TokioRuntime,
};
use uoom::events::FailureReason;
use uoom::{Channel, ChannelKind, Clock, GeoPoint, OrderStatus};

/// A partner whose behaviour depends on the order's customer number: all
/// answer after 50 ms, but on channel c0 customers ending in 3 are refused
/// and those ending in 7 never get an answer; every third cancel fails.
#[derive(Default)]
struct Partner {
    cancels: AtomicU64,
}

fn customer_no(call: &BookingCall) -> u128 {
    call.order.customer_id.0.as_u128()
}

impl AsyncGateway for Partner {
    fn book(&self, call: &BookingCall) -> BoxFuture<'static, BookingAnswer> {
        let n = customer_no(call);
        let channel = call.channel_id.clone();
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            match n % 10 {
                // Refuses on its first channel only: the next candidate books.
                3 if channel.as_str() == "c0" => Err(GatewayError::Failed("sold out".into())),
                // Never answers on c0: the engine's timeout moves on.
                7 if channel.as_str() == "c0" => std::future::pending().await,
                _ => Ok(BookingRef(format!("P-{n}-{channel}"))),
            }
        })
    }

    fn cancel(&self, _: &CancelCall) -> BoxFuture<'static, Result<(), GatewayError>> {
        let k = self.cancels.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            if k % 3 == 0 {
                Err(GatewayError::Failed("partner API down".into()))
            } else {
                Ok(())
            }
        })
    }
}

fn channels() -> Vec<Channel> {
    (0..3)
        .map(|i| {
            channel(
                &format!("c{i}"),
                ChannelKind::ExternalPartner,
                GeoPoint::new(40.72 + 0.01 * f64::from(i), -74.0),
                4_000,
            )
        })
        .collect()
}

fn async_router(partner: Arc<Partner>) -> (Arc<AsyncRouter>, Arc<uoom::ManualClock>) {
    let clock = clock();
    let router = Router::builder(channels(), Arc::new(SimGateway::new(clock.clone(), 1)))
        .with_clock(clock.clone())
        .with_booking_timeout_ms(2_000)
        // Keep every channel in play: this test is about the boundary, not breakers.
        .with_breaker(uoom::engine::BreakerConfig {
            failure_threshold: u32::MAX,
            open_ms: 1,
        })
        .build()
        .unwrap();
    (
        Arc::new(AsyncRouter::new(router, partner, Arc::new(TokioRuntime))),
        clock,
    )
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_concurrent_routes_all_settle_and_balance() {
    let partner = Arc::new(Partner::default());
    let (router, clock) = async_router(partner.clone());
    let mut tasks = Vec::new();
    for i in 0..10_000u128 {
        let r = router.clone();
        tasks.push(tokio::spawn(async move { r.route(request(i), None).await }));
    }
    let mut confirmed = 0;
    let mut timeouts = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        let o = t.await.unwrap().unwrap();
        assert_eq!(o.status, OrderStatus::Confirmed, "{o:?}");
        confirmed += 1;
        let (channel, b) = (o.channel.unwrap(), o.booking.unwrap());
        assert_eq!(b, format!("P-{i}-{channel}"));
        match i % 10 {
            // c0 never books these: a second attempt when c0 ranked first.
            3 | 7 => assert_ne!(channel.as_str(), "c0"),
            _ => assert_eq!(o.attempts, 1),
        }
        if i % 10 == 7 && o.attempts == 2 {
            timeouts += 1;
        }
    }
    assert_eq!(confirmed, 10_000);
    assert!(
        timeouts > 100,
        "c0 was tried first often enough: {timeouts}"
    );
    {
        let r = router.router().lock();
        assert_eq!(r.in_flight(), 0);
        let slot = r.ledger().slot_of(clock.now());
        let mut committed = 0;
        for c in r.channels() {
            let b = r.ledger().balance(&c.id, slot).unwrap();
            assert_eq!(b.pending, 0, "{}: a hold was left", c.id);
            assert!(b.committed <= b.capacity);
            committed += b.committed;
        }
        assert_eq!(committed, 10_000);
    }
    // Let the background cancels run; one per never-answered booking
    // (a refusal needs none), failures included (logged, not fatal).
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(partner.cancels.load(Ordering::Relaxed), timeouts);
}

#[tokio::test(start_paused = true)]
async fn a_route_dropped_mid_booking_fails_its_order_and_frees_the_hold() {
    let partner = Arc::new(Partner::default());
    let (router, clock) = async_router(partner.clone());
    // Customer 7 never gets an answer from c0; drop the route after 100 ms.
    let r = router.clone();
    let route = tokio::spawn(async move { r.route(request(7), None).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(router.router().lock().in_flight(), 1);
    route.abort();
    assert!(route.await.unwrap_err().is_cancelled());
    let r = router.router().lock();
    assert_eq!(r.in_flight(), 0);
    let slot = r.ledger().slot_of(clock.now());
    let b = r.ledger().balance(&"c0".into(), slot).unwrap();
    assert_eq!((b.pending, b.committed), (0, 0));
    let orders = r
        .read_model()
        .by_customer(&uoom::CustomerId::from_u128(7), 5);
    assert_eq!(orders[0].status, OrderStatus::Failed);
    assert_eq!(orders[0].failure, Some(FailureReason::PartnerTimeout));
}
