//! `uoom validate-order` through the real binary: the docs/validation.md contract
//! (exit 0 + normalized order, exit 2 + `{field, code, message}` list) and one
//! fixture per kind of bad input.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn uoom(file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_uoom"))
        .arg("validate-order")
        .arg(file)
        .output()
        .expect("run uoom")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/validate/{name}.json"))
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Asserts exit 2 and that the error list names `field` with `code`; returns the list.
fn assert_rejected(file: &Path, field: &str, code: &str) -> Vec<Value> {
    let out = uoom(file);
    assert_eq!(out.status.code(), Some(2), "{}: exit code", file.display());
    let list = stdout_json(&out).as_array().cloned().expect("a JSON list");
    assert!(
        list.iter()
            .any(|e| e["field"] == field && e["code"] == code && e["message"].is_string()),
        "{}: expected {field} {code}, got {list:?}",
        file.display()
    );
    list
}

/// (fixture, field, code): each fixture changes one thing in the sample request.
const BAD: &[(&str, &str, &str)] = &[
    ("customer-id-malformed", "customerId", "invalid_uuid"),
    ("customer-id-not-string", "customerId", "invalid_type"),
    ("restaurant-id-malformed", "restaurantId", "invalid_uuid"),
    ("customer-id-missing", "customerId", "required"),
    ("items-missing", "items", "required"),
    ("delivery-address-missing", "deliveryAddress", "required"),
    ("item-name-missing", "items[0].name", "required"),
    ("item-id-missing", "items[0].itemId", "required"),
    ("quantity-missing", "items[0].quantity", "required"),
    ("unit-price-missing", "items[0].unitPrice", "required"),
    ("street-missing", "deliveryAddress.street", "required"),
    ("latitude-missing", "deliveryAddress.latitude", "required"),
    ("price-as-string", "items[0].unitPrice", "invalid_type"),
    ("quantity-fractional", "items[0].quantity", "invalid_type"),
    ("quantity-as-string", "items[0].quantity", "invalid_type"),
    ("items-empty", "items", "empty"),
    ("items-not-array", "items", "invalid_type"),
    ("items-too-many", "items", "too_many"),
    ("quantity-zero", "items[0].quantity", "out_of_range"),
    ("quantity-over-999", "items[0].quantity", "out_of_range"),
    ("price-negative", "items[0].unitPrice", "out_of_range"),
    ("price-non-finite", "items[0].unitPrice", "non_finite"),
    ("price-nan", "items[0].unitPrice", "non_finite"),
    (
        "price-three-decimals",
        "items[0].unitPrice",
        "too_many_decimals",
    ),
    ("name-empty", "items[0].name", "empty"),
    ("name-blank", "items[0].name", "empty"),
    ("name-too-long", "items[0].name", "too_long"),
    ("item-id-too-long", "items[0].itemId", "too_long"),
    ("street-too-long", "deliveryAddress.street", "too_long"),
    (
        "postal-code-too-long",
        "deliveryAddress.postalCode",
        "too_long",
    ),
    ("city-empty", "deliveryAddress.city", "empty"),
    (
        "latitude-out-of-range",
        "deliveryAddress.latitude",
        "out_of_range",
    ),
    (
        "longitude-out-of-range",
        "deliveryAddress.longitude",
        "out_of_range",
    ),
    (
        "longitude-infinity",
        "deliveryAddress.longitude",
        "non_finite",
    ),
    (
        "latitude-as-string",
        "deliveryAddress.latitude",
        "invalid_type",
    ),
    ("item-id-duplicate", "items[1].itemId", "duplicate"),
    ("currency-invalid", "currency", "invalid_currency"),
    ("vehicle-invalid", "vehicle", "invalid_value"),
    ("priority-out-of-range", "priority", "out_of_range"),
    ("deadline-not-positive", "deadlineMinutes", "out_of_range"),
    ("not-json", "", "not_json"),
    ("body-not-object", "", "invalid_type"),
];

#[test]
fn each_bad_input_is_rejected_on_its_field() {
    for &(name, field, code) in BAD {
        let list = assert_rejected(&fixture(name), field, code);
        // Each fixture has exactly one defect, so exactly one error.
        assert_eq!(list.len(), 1, "{name}: {list:?}");
    }
}

#[test]
fn every_fixture_is_covered() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/validate");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().path();
        let stem = name.file_stem().unwrap().to_str().unwrap().to_owned();
        assert!(
            stem == "many-problems" || BAD.iter().any(|b| b.0 == stem),
            "fixture {stem} has no expectation"
        );
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let list = assert_rejected(&fixture("many-problems"), "customerId", "invalid_uuid");
    let got: Vec<(String, String)> = list
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        ("customerId", "invalid_uuid"),
        ("items[0].quantity", "out_of_range"),
        ("items[0].unitPrice", "invalid_type"),
        ("deliveryAddress.city", "required"),
        ("deliveryAddress.latitude", "out_of_range"),
    ];
    assert_eq!(
        got,
        want.map(|(f, c)| (f.to_owned(), c.to_owned())),
        "{list:?}"
    );
}

#[test]
fn body_over_one_mib_is_too_large() {
    // Generated rather than committed: a valid request padded past 1 MiB.
    let sample = std::fs::read_to_string(repo().join("examples/orders/sample.json")).unwrap();
    let padded = sample.replacen('{', &format!("{{\"pad\": \"{}\",", "x".repeat(1 << 20)), 1);
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("too-large.json");
    std::fs::write(&path, padded).unwrap();
    assert_rejected(&path, "", "too_large");
}

#[test]
fn design_sample_is_accepted_and_normalized() {
    let out = uoom(&repo().join("examples/orders/sample.json"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = stdout_json(&out);
    assert_eq!(v["customerId"], "123e4567-e89b-12d3-a456-426614174000");
    assert_eq!(v["restaurantId"], "550e8400-e29b-41d4-a716-446655440001");
    assert_eq!(v["items"][0]["unitPrice"], 15.99);
    assert_eq!(v["items"][0]["quantity"], 1);
    assert_eq!(v["deliveryAddress"]["postalCode"], "10001");
    assert_eq!(v["deliveryAddress"]["longitude"], -74.006);
    assert_eq!(v["currency"], "USD");
    assert_eq!(
        v["total"],
        serde_json::json!({"amount": "15.99", "currency": "USD"})
    );
}

#[test]
fn all_example_orders_are_valid_and_normalization_is_idempotent() {
    let dir = repo().join("examples/orders");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let out = uoom(&path);
        assert_eq!(out.status.code(), Some(0), "{}", path.display());
        // The normalized form is itself a valid request with the same normal form.
        let again_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("normalized.json");
        std::fs::write(&again_path, &out.stdout).unwrap();
        let again = uoom(&again_path);
        assert_eq!(again.status.code(), Some(0));
        assert_eq!(stdout_json(&again), stdout_json(&out), "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 3, "expected several example orders, saw {seen}");
}

#[test]
fn totals_are_exact() {
    let out = uoom(&repo().join("examples/orders/riyadh-family.json"));
    let v = stdout_json(&out);
    // 2 x 89.50 + 4 x 18 + 3 x 6.25 = 179.00 + 72.00 + 18.75
    assert_eq!(
        v["total"],
        serde_json::json!({"amount": "269.75", "currency": "SAR"})
    );
    assert_eq!(v["items"][2]["lineTotal"]["amount"], "18.75");
    assert_eq!(v["totalQuantity"], 9);
    assert_eq!(v["vehicle"], "car");
    assert_eq!(v["priority"], 2);
}

#[test]
fn unknown_fields_are_ignored_and_not_echoed() {
    let out = uoom(&repo().join("examples/orders/nyc-office-lunch.json"));
    assert_eq!(out.status.code(), Some(0));
    let v = stdout_json(&out);
    assert!(v.get("clientReference").is_none(), "{v}");
    assert_eq!(v["total"]["amount"], "228.30");
}

#[test]
fn missing_file_is_one_line_on_stderr() {
    let out = uoom(Path::new("/definitely/not/here.json"));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("/definitely/not/here.json"), "{err}");
}
