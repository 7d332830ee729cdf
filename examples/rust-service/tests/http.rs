//! The service and a partner as two real processes on loopback, driven over
//! real HTTP: scarce capacity, refusals, partners that never answer,
//! idempotent retries, status reads and bad requests.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A child process killed when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `bin` with `env` on a free port and returns it with its address.
fn start(bin: &str, env: &[(&str, String)]) -> (Proc, String) {
    let mut cmd = Command::new(bin);
    cmd.env("PORT", "0").stdout(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start the binary");
    let out = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{bin} said {line:?}"))
        .to_owned();
    (Proc(child), format!("http://{addr}"))
}

fn order(i: usize) -> Value {
    json!({
        "customerId": format!("123e4567-e89b-12d3-a456-{:012}", i),
        "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
        "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
                            "latitude": 40.712, "longitude": -74.006}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_route_through_a_partner_over_http() {
    let (_partner, partner_url) = start(
        env!("CARGO_BIN_EXE_uoom-example-partner"),
        &[
            ("LATENCY_MS", "40".into()),
            ("FAIL_PERCENT", "15".into()),
            ("HANG_PERCENT", "5".into()),
        ],
    );
    let (_service, url) = start(
        env!("CARGO_BIN_EXE_uoom-example-service"),
        &[
            ("PARTNER_URL", partner_url.clone()),
            ("CHANNEL_CAPACITY", "40".into()),
            ("BOOKING_TIMEOUT_MS", "400".into()),
        ],
    );
    let http = reqwest::Client::new();
    let health: Value = http
        .get(format!("{url}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");

    // 200 orders at once over 3 channels of 40: demand is 1.7x capacity.
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(format!("{url}/orders"))
                .json(&order(i))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut by_status: HashMap<u16, Vec<Value>> = HashMap::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        by_status.entry(status).or_default().push(body);
    }
    let confirmed = by_status.remove(&201).unwrap_or_default();
    let failed = by_status.remove(&422).unwrap_or_default();
    assert!(by_status.is_empty(), "only 201 and 422: {by_status:?}");
    assert_eq!(confirmed.len() + failed.len(), 200);
    assert!(confirmed.len() <= 120, "overbooked: {}", confirmed.len());
    assert!(
        confirmed.len() >= 60,
        "too few confirmed: {}",
        confirmed.len()
    );
    for o in &confirmed {
        assert_eq!(o["status"], "CONFIRMED");
        let reference = format!(
            "BK-{}-{}",
            o["channelId"].as_str().unwrap(),
            o["orderId"].as_str().unwrap()
        );
        assert_eq!(o["bookingReference"], reference.as_str());
    }
    for o in &failed {
        assert_eq!(o["status"], "FAILED");
        let reason = o["reason"].as_str().unwrap();
        assert!(
            [
                "capacity_exhausted",
                "partner_failed",
                "partner_timeout",
                "breaker_open"
            ]
            .contains(&reason),
            "{reason}"
        );
    }
    // A confirmed order's status, from the read model.
    let id = confirmed[0]["orderId"].as_str().unwrap();
    let s: Value = http
        .get(format!("{url}/orders/{id}/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["status"], "CONFIRMED");
    assert_eq!(s["channelId"], confirmed[0]["channelId"]);
    let missing = http
        .get(format!(
            "{url}/orders/00000000-0000-0000-0000-000000000000/status"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);

    // The partner saw every confirmed booking and was asked to cancel the
    // ones that never answered (one cancel each, sent in the background).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stats: Value = http
        .get(format!("{partner_url}/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["booked"].as_u64().unwrap(), confirmed.len() as u64);
    assert!(stats["refused"].as_u64().unwrap() > 0);
    assert!(
        stats["cancelled"].as_u64().unwrap() > 0,
        "timeouts were cancelled: {stats}"
    );

    // Idempotent retry: the first outcome, not a second order.
    let send = |key: &'static str| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let r = http
                .post(format!("{url}/orders"))
                .header("Idempotency-Key", key)
                .json(&order(999))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s1, first) = send("checkout-999").await;
    let (s2, again) = send("checkout-999").await;
    assert_eq!(s1, s2);
    assert_eq!(first["orderId"], again["orderId"]);
    assert_eq!(again["replayed"], true);

    // A bad request: 400 with the offending fields.
    let r = http
        .post(format!("{url}/orders"))
        .json(&json!({"items": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "UOOM_VALIDATION");
    assert!(!body["errors"].as_array().unwrap().is_empty());
}

/// The same service with `DATABASE_URL`: its orders, events and idempotency
/// records are written to PostgreSQL on its own runtime, and a restarted
/// service answers from them. Needs the test server (the
/// `UOOM_TEST_POSTGRES_URL` that `scripts/servers/all.sh env` prints);
/// without it the test says so and checks nothing.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_written_to_postgres_when_database_url_is_set() {
    use uoom::adapters::postgres::{PgConfig, PgStore};
    use uoom::engine::AsyncWriteModel;
    let Ok(base) = std::env::var("UOOM_TEST_POSTGRES_URL") else {
        eprintln!(
            "skipped: UOOM_TEST_POSTGRES_URL is not set (scripts/servers/all.sh start, then eval \"$(scripts/servers/all.sh env)\")"
        );
        return;
    };
    let admin = PgStore::connect_async(PgConfig::new(&base).with_writers(1).with_readers(1))
        .await
        .expect("the PostgreSQL test server answers");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("svc_{}_{nanos}", std::process::id());
    admin
        .execute_batch_async(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let db = format!("{base}{sep}options=-csearch_path%3D{schema}");

    let (_partner, partner_url) = start(
        env!("CARGO_BIN_EXE_uoom-example-partner"),
        // A partner that always books: this test is about what is written.
        &[
            ("LATENCY_MS", "20".into()),
            ("FAIL_PERCENT", "0".into()),
            ("HANG_PERCENT", "0".into()),
        ],
    );
    let env = [
        ("PARTNER_URL", partner_url.clone()),
        ("CHANNEL_CAPACITY", "40".into()),
        ("DATABASE_URL", db.clone()),
    ];
    let (service, url) = start(env!("CARGO_BIN_EXE_uoom-example-service"), &env);
    let http = reqwest::Client::new();
    let post = |i: usize, key: Option<String>| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let mut req = http.post(format!("{url}/orders")).json(&order(i));
            if let Some(k) = key {
                req = req.header("Idempotency-Key", k);
            }
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let tasks: Vec<_> = (0..60)
        .map(|i| tokio::spawn(post(i, (i % 2 == 0).then(|| format!("pg-{i}")))))
        .collect();
    let mut confirmed = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 201, "{body}");
        confirmed.push(body);
    }

    // Every order is in PostgreSQL as the service answered it.
    let store = PgStore::connect_async(PgConfig::new(&db)).await.unwrap();
    for o in &confirmed {
        let id = uoom::OrderId::parse(o["orderId"].as_str().unwrap()).unwrap();
        let stored = AsyncWriteModel::order(&store, &id).await.unwrap().unwrap();
        assert_eq!(stored.status, uoom::OrderStatus::Confirmed);
        let placement = stored.placement.unwrap();
        assert_eq!(o["bookingReference"], placement.booking.as_str());
        assert_eq!(o["channelId"], placement.channel.as_str());
    }
    let kept = AsyncWriteModel::outcome_for_key(&store, "pg-0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.order_id.to_string(), confirmed[0]["orderId"]);

    // A restarted service answers from PostgreSQL: the status of an order
    // it never saw, and a retry of a key it never saw.
    drop(service);
    let (_service, url) = start(env!("CARGO_BIN_EXE_uoom-example-service"), &env);
    let id = confirmed[1]["orderId"].as_str().unwrap();
    let s: Value = http
        .get(format!("{url}/orders/{id}/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["status"], "CONFIRMED");
    assert_eq!(s["channelId"], confirmed[1]["channelId"]);
    let r = http
        .post(format!("{url}/orders"))
        .header("Idempotency-Key", "pg-0")
        .json(&order(0))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["replayed"], true);
    assert_eq!(again["orderId"], confirmed[0]["orderId"]);
}
