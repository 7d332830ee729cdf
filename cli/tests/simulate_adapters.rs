//! `uoom simulate --postgres URL --kafka BROKERS` end to end against the real
//! servers of `scripts/servers/` (run by `make test-adapters`, which exports
//! `UOOM_TEST_POSTGRES_URL` and `UOOM_TEST_KAFKA_BROKERS`).
#![cfg(feature = "adapters")]

use std::process::Command;

/// Runs `cmd`; its stdout, once it exited 0 (its stderr in the failure).
fn stdout_of(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

fn pg_url() -> String {
    env_or(
        "UOOM_TEST_POSTGRES_URL",
        "postgres://uoom:uoom@127.0.0.1:25432/uoom",
    )
}

#[test]
fn a_run_over_postgres_and_kafka_reports_every_event_and_its_latency_over_time_then_cleans_up() {
    let pg = pg_url();
    let kafka = env_or("UOOM_TEST_KAFKA_BROKERS", "127.0.0.1:29092");
    let trace = std::env::temp_dir().join(format!("uoom-sim-trace-{}.csv", std::process::id()));
    let out = stdout_of(
        Command::new(env!("CARGO_BIN_EXE_uoom"))
            .args(["simulate", "--postgres", &pg, "--kafka", &kafka])
            .args([
                "--orders",
                "600",
                "--rps",
                "1000",
                "--submitters",
                "16",
                "--json",
            ])
            .args(["--intake-write", "with-outcome", "--window-ms", "200"])
            .arg("--latency-trace")
            .arg(&trace),
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["orders"], 600);
    let events = v["events"].as_u64().unwrap();
    assert!(events >= 600, "at least an event per order: {v}");
    assert_eq!(v["published"], events, "every event reached Kafka: {v}");
    assert_eq!(v["undelivered"], 0);

    // The windows cover every order, in order, 200 ms apart.
    let windows = v["latency_windows"]["windows"].as_array().unwrap();
    let counted: u64 = windows.iter().map(|w| w["orders"].as_u64().unwrap()).sum();
    assert_eq!(counted, 600);
    assert!(
        windows.len() >= 3,
        "600 orders at 1,000/s span 3 windows: {v}"
    );
    for w in windows {
        let (p50, p99, max) = (
            w["p50_ms"].as_f64().unwrap(),
            w["p99_ms"].as_f64().unwrap(),
            w["max_ms"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{w}");
    }
    let max_ms = v["latency_us"]["max"].as_f64().unwrap() / 1e3;
    let worst = windows
        .iter()
        .map(|w| w["max_ms"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(
        (worst - max_ms).abs() < 0.01 * max_ms + 0.01,
        "{worst} vs {max_ms}"
    );

    // The trace: a header and one line per order, arrivals sorted.
    let text = std::fs::read_to_string(&trace).unwrap();
    std::fs::remove_file(&trace).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("arrival_us,latency_us"));
    let rows: Vec<(u64, u64)> = lines
        .map(|l| {
            let (a, b) = l.split_once(',').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), 600);
    assert!(rows.windows(2).all(|p| p[0].0 <= p[1].0));

    // Nothing left behind: the run's schema and topic are gone.
    let schema = format!(
        "uoom_sim_{}",
        v["adapters"]["topic"]
            .as_str()
            .unwrap()
            .trim_start_matches("uoom.sim.")
    );
    // psql comes with the server's packages (scripts/servers/postgres.sh).
    let schemas = stdout_of(
        Command::new("psql")
            .args(["-X", "-At", &pg, "-c"])
            .arg(format!(
                "SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'"
            )),
    );
    assert_eq!(
        String::from_utf8_lossy(&schemas).trim(),
        "0",
        "{schema} dropped"
    );
    let topic = v["adapters"]["topic"].as_str().unwrap();
    assert!(
        topic_gone(&kafka, topic),
        "{topic} is still listed after the run"
    );
}

/// Whether the cluster stops listing `topic` within 10 s.
fn topic_gone(brokers: &str, topic: &str) -> bool {
    use uoom::adapters::kafka::rdkafka::ClientConfig;
    use uoom::adapters::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(10) {
        let listed = client
            .fetch_metadata(None, std::time::Duration::from_secs(5))
            .unwrap();
        if !listed.topics().iter().any(|t| t.name() == topic) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    false
}

/// The test broker's CA (`kafka.sh ca`).
fn kafka_ca() -> String {
    env_or(
        "UOOM_TEST_KAFKA_CA",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/servers/kafka/tls/ca.pem"
        ),
    )
}

/// A small run over `brokers` with `--kafka-config` a file of `properties`
/// (and `env` for the `uoom` process); checks that the relay published
/// every event through them.
fn run_with_client_properties(name: &str, brokers: &str, properties: &str, env: &[(&str, &str)]) {
    let pg = pg_url();
    let file = std::env::temp_dir().join(format!("uoom-{name}-{}.properties", std::process::id()));
    std::fs::write(&file, properties).unwrap();
    let out = stdout_of(
        Command::new(env!("CARGO_BIN_EXE_uoom"))
            .envs(env.iter().copied())
            .args(["simulate", "--postgres", &pg, "--kafka", brokers])
            .arg("--kafka-config")
            .arg(&file)
            .args(["--orders", "200", "--rps", "1000", "--submitters", "8"])
            .args(["--intake-write", "with-outcome", "--json"]),
    );
    std::fs::remove_file(&file).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let events = v["events"].as_u64().unwrap();
    assert!(events >= 200, "{v}");
    assert_eq!(v["published"], events, "every event reached Kafka: {v}");
    assert_eq!(v["undelivered"], 0);
    assert_eq!(v["relay"]["errors"], 0, "{v}");
}

/// `--kafka-config`: a `client.properties` for the broker's TLS + SCRAM
/// listener (as on Amazon MSK's 9096); the relay publishes every event through it.
#[test]
fn a_run_publishes_over_tls_and_scram_with_a_client_properties_file() {
    run_with_client_properties(
        "scram",
        &env_or("UOOM_TEST_KAFKA_SASL_BROKERS", "127.0.0.1:29096"),
        &format!(
            "# the test broker's SASL_SSL listener\n\
             security.protocol=SASL_SSL\n\
             sasl.mechanisms=SCRAM-SHA-512\n\
             sasl.username={}\n\
             sasl.password={}\n\
             ssl.ca.location={}\n",
            env_or("UOOM_TEST_KAFKA_SCRAM_USER", "uoom"),
            env_or("UOOM_TEST_KAFKA_SCRAM_PASSWORD", "uoom-test-secret"),
            kafka_ca(),
        ),
        &[],
    );
}

/// MSK IAM (as on Amazon MSK's 9098): the `client.properties` MSK gives Java
/// clients, the identity in the environment as on an AWS host; the relay
/// and the run's topic clean-up (admin client) both authenticate with tokens.
#[test]
fn a_run_publishes_over_msk_iam_with_credentials_from_the_environment() {
    let missing = "/nonexistent/uoom-aws";
    run_with_client_properties(
        "iam",
        &env_or("UOOM_TEST_KAFKA_IAM_BROKERS", "127.0.0.1:29098"),
        &format!(
            "security.protocol=SASL_SSL\n\
             sasl.mechanism=AWS_MSK_IAM\n\
             sasl.jaas.config=software.amazon.msk.auth.iam.IAMLoginModule required;\n\
             sasl.client.callback.handler.class=software.amazon.msk.auth.iam.IAMClientCallbackHandler\n\
             ssl.ca.location={}\n",
            kafka_ca(),
        ),
        &[
            (
                "AWS_ACCESS_KEY_ID",
                &env_or("UOOM_TEST_KAFKA_IAM_ACCESS_KEY", "AKIAUOOMTESTKEY01"),
            ),
            (
                "AWS_SECRET_ACCESS_KEY",
                &env_or("UOOM_TEST_KAFKA_IAM_SECRET", "uoom-test-iam-secret"),
            ),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_SHARED_CREDENTIALS_FILE", missing),
            ("AWS_CONFIG_FILE", missing),
        ],
    );
}

#[test]
fn an_unreachable_database_is_reported_with_its_cause() {
    // Nothing listens on port 1: the message says what failed, and why.
    let out = Command::new(env!("CARGO_BIN_EXE_uoom"))
        .args(["simulate", "--orders", "10"])
        .args(["--postgres", "postgres://uoom:uoom@127.0.0.1:1/uoom"])
        .args(["--kafka", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: connecting to PostgreSQL: io: postgres connect: "),
        "{stderr}"
    );
    assert!(stderr.contains("Connection refused"), "{stderr}");
}

/// `uoom simulate --replicas` with `args`: its JSON report. One run at a
/// time: each starts three processes and times their restarts.
fn replicas_run(args: &[&str]) -> serde_json::Value {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let out = stdout_of(
        Command::new(env!("CARGO_BIN_EXE_uoom"))
            .args(["simulate", "--postgres", &pg_url(), "--json"])
            .args(args),
    );
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn three_replicas_on_leases_never_overbook_through_a_kill_and_a_pause() {
    // Whether the pause catches a commit in flight (which the fence then
    // refuses) depends on timing: on an idle machine a replica's orders
    // finish in a few ms and the pause often finds none. The fence itself
    // is tested deterministically (core/tests/adapters_lease.rs,
    // engine_leases.rs); here the invariants must hold whatever it caught.
    let v = leased_run_with_faults();
    eprintln!(
        "commits fenced off by the pause: {}",
        v["stale_commits_refused"]
    );
}

/// One faulted run on leases, every invariant checked; its report.
fn leased_run_with_faults() -> serde_json::Value {
    // Paced for a loaded two-core machine; one city, eight kitchens, so
    // each replica's leases see steady demand; capacity below demand.
    let v = replicas_run(&[
        "--replicas",
        "3",
        "--orders",
        "3000",
        "--rps",
        "600",
        "--cities",
        "1",
        "--channels",
        "8",
        "--faults",
        "kill,pause",
        // One write per order, the one that commits its capacity: whatever
        // a pause catches in flight is a commit.
        "--intake-write",
        "with-outcome",
    ]);
    assert_eq!(v["ledger"], "leases", "{v}");
    assert_eq!(v["orders"], 3000);
    assert_eq!(v["unanswered"], 0, "{v}");
    assert_eq!(v["overbooked_slots"].as_i64(), Some(0), "{v}");
    assert_eq!(v["lost_confirmed"].as_i64(), Some(0), "{v}");
    assert!(v["confirmed"].as_u64().unwrap() > 0, "{v}");
    assert!(
        v["failed_by_reason"]["capacity_exhausted"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "capacity is scarce: {v}"
    );
    let faults: Vec<&str> = v["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["fault"].as_str())
        .collect();
    assert!(faults.contains(&"kill") && faults.contains(&"pause"), "{v}");
    let restarts = v["restarts"].as_array().unwrap();
    assert!(!restarts.is_empty(), "the killed replica came back: {v}");
    for r in restarts {
        // The target (within 1 s) is a benchmark figure (docs/ledger.md);
        // here, beside the rest of the test suite, a bound that only a
        // replica that cannot serve would miss.
        let first = r["first_order_ms"].as_f64().unwrap();
        assert!(
            first < 5_000.0,
            "first order {first} ms after the restart: {v}"
        );
    }
    assert!(v["local_quota_share"].as_f64().unwrap() > 0.0, "{v}");
    assert!(v["lease_round_trips"].as_u64().unwrap() > 0, "{v}");
    for r in v["per_replica"].as_array().unwrap() {
        assert_eq!(r["stats"]["ledger"], "leases", "{r}");
        assert!(r["latency_ms"]["p50"].as_f64().unwrap() > 0.0, "{r}");
    }
    v
}

#[test]
fn three_replicas_each_with_its_own_ledger_overbook_and_the_audit_sees_it() {
    let v = replicas_run(&[
        "--replicas",
        "3",
        "--orders",
        "1200",
        "--rps",
        "300",
        "--cities",
        "1",
        "--channels",
        "8",
        "--ledger",
        "local",
    ]);
    assert_eq!(v["ledger"], "local", "{v}");
    assert_eq!(v["lost_confirmed"].as_i64(), Some(0), "{v}");
    assert!(v["overbooked_slots"].as_i64().unwrap() > 0, "{v}");
    assert!(v["local_quota_share"].is_null(), "{v}");
}
