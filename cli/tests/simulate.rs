//! `uoom simulate`'s contract: one JSON object with at least
//! `orders, routed, unrouted, throughput_per_s, latency_us {p50, p95, p99, max}`.

use std::process::Command;

fn simulate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_uoom"))
        .arg("simulate")
        .args(args)
        .output()
        .unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = simulate(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().count(),
        1,
        "one JSON object on one line: {text}"
    );
    serde_json::from_str(&text).unwrap()
}

#[test]
fn json_report_has_the_contract_fields_and_adds_up() {
    let v = json(&["--orders", "400", "--seed", "3", "--json"]);
    assert_eq!(v["orders"], 400);
    let routed = v["routed"].as_u64().unwrap();
    let unrouted = v["unrouted"].as_u64().unwrap();
    assert_eq!(v["rejected"], 0, "generated requests are valid");
    assert_eq!(routed + unrouted, 400);
    assert!(routed > 300, "{v}");
    assert!(v["throughput_per_s"].as_f64().unwrap() > 0.0);
    let l = &v["latency_us"];
    let (p50, p95, p99, max) = (
        l["p50"].as_f64().unwrap(),
        l["p95"].as_f64().unwrap(),
        l["p99"].as_f64().unwrap(),
        l["max"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p95 && p95 <= p99 && p99 <= max, "{l}");
    for key in [
        "fallback_share",
        "compensations",
        "breaker_trips",
        "utilisation",
    ] {
        assert!(v[key].is_number(), "missing {key}: {v}");
    }
    let decided: u64 = v["decisions"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(decided, routed);
}

#[test]
fn the_same_seed_routes_the_same_way_and_json_input_matches_parsed() {
    let a = json(&["--orders", "300", "--seed", "9", "--json", "--threads", "2"]);
    let b = json(&[
        "--orders",
        "300",
        "--seed",
        "9",
        "--json",
        "--threads",
        "1",
        "--from-json",
    ]);
    for key in [
        "routed",
        "unrouted",
        "compensations",
        "breaker_trips",
        "decisions",
        "failures",
    ] {
        assert_eq!(a[key], b[key], "{key}");
    }
    assert_eq!(b["input"], "json");
}

#[test]
fn a_batch_window_routes_through_the_solver() {
    let v = json(&[
        "--orders",
        "300",
        "--seed",
        "4",
        "--json",
        "--batch-window-ms",
        "50",
    ]);
    let d = &v["decisions"];
    let batch = d["batch_optimal"].as_u64().unwrap()
        + d["batch_improved"].as_u64().unwrap()
        + d["batch_greedy"].as_u64().unwrap();
    assert!(batch > 0, "{v}");
    assert_eq!(d["realtime"], 0);
}

#[test]
fn the_table_names_every_figure() {
    let out = simulate(&["--orders", "200", "--seed", "1"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for row in [
        "throughput",
        "engine latency",
        "routed",
        "unrouted",
        "fallback share",
        "compensations",
        "breaker trips",
        "capacity utilisation",
    ] {
        assert!(text.contains(row), "missing {row}:\n{text}");
    }
}

#[test]
fn bad_options_exit_2_with_a_one_line_error() {
    let out = simulate(&["--orders", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--orders"), "{err}");
    let out = simulate(&["--orders", "10", "--rps", "-5"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_adapter_options_go_together() {
    // --postgres without --kafka is refused by the argument parser (exit 2).
    let out = simulate(&["--orders", "10", "--postgres", "postgres://127.0.0.1:1/x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--kafka"), "{err}");
}

#[cfg(not(feature = "adapters"))]
#[test]
fn without_the_adapters_feature_the_adapter_run_says_how_to_get_it() {
    let out = simulate(&[
        "--orders",
        "10",
        "--postgres",
        "postgres://127.0.0.1:1/x",
        "--kafka",
        "127.0.0.1:1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--features adapters"), "{err}");
}
