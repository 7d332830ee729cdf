//! Create-order validation across the model: it never panics on arbitrary
//! JSON values or bytes, it agrees with the fuzz seed corpus, and whatever it
//! accepts becomes an order whose total is the exact sum of its lines.

use proptest::prelude::*;
use serde_json::{Value, json};
use uoom::{ErrorKind, Millis, Order, OrderId, parse_create_order, validate_create_order};

fn sample() -> Value {
    serde_json::from_slice(include_bytes!("../../examples/orders/sample.json")).unwrap()
}

/// Arbitrary JSON, biased towards the keys and value shapes of a request.
fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("customerId".to_owned()),
        Just("restaurantId".to_owned()),
        Just("items".to_owned()),
        Just("itemId".to_owned()),
        Just("name".to_owned()),
        Just("quantity".to_owned()),
        Just("unitPrice".to_owned()),
        Just("deliveryAddress".to_owned()),
        Just("street".to_owned()),
        Just("city".to_owned()),
        Just("postalCode".to_owned()),
        Just("latitude".to_owned()),
        Just("longitude".to_owned()),
        Just("currency".to_owned()),
        Just("vehicle".to_owned()),
        Just("deadlineMinutes".to_owned()),
        Just("priority".to_owned()),
        "[a-zA-Z]{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<u64>().prop_map(|u| json!(u)),
        any::<f64>().prop_map(|f| json!(f)),
        (-100_000i64..100_000).prop_map(|c| json!(c as f64 / 100.0)),
        ".{0,40}".prop_map(Value::String),
        Just(json!("123e4567-e89b-12d3-a456-426614174000")),
        Just(json!("\u{0}uoom:non-finite")),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Follows an accepted request through to an order and checks its invariants.
fn check_accepted(req: uoom::CreateOrderRequest) -> Result<(), TestCaseError> {
    prop_assert!(!req.items.is_empty() && req.items.len() <= 100);
    let lines: i128 = req
        .items
        .iter()
        .map(|i| i128::from(i.quantity) * i128::from(i.unit_price.minor()))
        .sum();
    let order = Order::from_request(OrderId::from_u128(1), req.clone(), Millis(0)).unwrap();
    prop_assert_eq!(i128::from(order.total.minor()), lines);
    prop_assert_eq!(
        parse_create_order(req.to_json().to_string().as_bytes()).unwrap(),
        req
    );
    Ok(())
}

fn check_rejected(e: &uoom::Error) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.kind(), ErrorKind::Validation);
    prop_assert!(!e.field_errors().is_empty());
    for fe in e.field_errors() {
        prop_assert!(!fe.code.is_empty() && !fe.message.is_empty());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_json(v in arb_json()) {
        match validate_create_order(&v) {
            Ok(req) => check_accepted(req)?,
            Err(e) => check_rejected(&e)?,
        }
        // The same value through the byte parser agrees.
        let bytes = serde_json::to_vec(&v).unwrap();
        prop_assert_eq!(parse_create_order(&bytes).is_ok(), validate_create_order(&v).is_ok());
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        match parse_create_order(&bytes) {
            Ok(req) => check_accepted(req)?,
            Err(e) => check_rejected(&e)?,
        }
    }

    #[test]
    fn one_field_of_the_sample_replaced(path in 0usize..12, v in arb_json()) {
        // Swap one field of a valid request for anything: the result is either
        // valid or only errors on that very field (or under it).
        let mut req = sample();
        let (ptr, field) = [
            ("/customerId", "customerId"),
            ("/restaurantId", "restaurantId"),
            ("/items", "items"),
            ("/items/0", "items[0]"),
            ("/items/0/itemId", "items[0].itemId"),
            ("/items/0/name", "items[0].name"),
            ("/items/0/quantity", "items[0].quantity"),
            ("/items/0/unitPrice", "items[0].unitPrice"),
            ("/deliveryAddress", "deliveryAddress"),
            ("/deliveryAddress/street", "deliveryAddress.street"),
            ("/deliveryAddress/latitude", "deliveryAddress.latitude"),
            ("/deliveryAddress/longitude", "deliveryAddress.longitude"),
        ][path];
        *req.pointer_mut(ptr).unwrap() = v;
        match validate_create_order(&req) {
            Ok(r) => check_accepted(r)?,
            Err(e) => {
                check_rejected(&e)?;
                for fe in e.field_errors() {
                    prop_assert!(fe.field.starts_with(field), "{} not under {}", fe.field, field);
                }
            }
        }
    }

    #[test]
    fn prices_with_two_decimals_are_exact(cents in 0i64..=100_000_000) {
        let mut req = sample();
        let text = format!("{}.{:02}", cents / 100, cents % 100);
        req["items"][0]["unitPrice"] = serde_json::from_str(&text).unwrap();
        req["items"][0]["quantity"] = json!(999);
        let r = validate_create_order(&req).unwrap();
        prop_assert_eq!(r.items[0].unit_price.minor(), cents);
        prop_assert_eq!(r.total().unwrap().minor(), cents * 999);
    }
}

#[test]
fn fuzz_seed_corpus_agrees_with_file_names() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/parse_create_order");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match parse_create_order(&bytes) {
            Ok(req) => {
                assert!(!name.starts_with("bad-"), "{name} should be rejected");
                check_accepted(req).unwrap();
            }
            Err(e) => {
                assert!(name.starts_with("bad-"), "{name} rejected: {e}");
                check_rejected(&e).unwrap();
            }
        }
        seen += 1;
    }
    assert!(seen > 40, "seed corpus has only {seen} files");
}

#[test]
fn integral_floats_are_integers_and_nulls_are_absent() {
    let mut req = sample();
    req["items"][0]["quantity"] = json!(2.0);
    req["restaurantId"] = Value::Null;
    req["vehicle"] = Value::Null;
    let r = validate_create_order(&req).unwrap();
    assert_eq!(r.items[0].quantity, 2);
    assert_eq!(r.restaurant_id, None);
    req["customerId"] = Value::Null;
    let e = validate_create_order(&req).unwrap_err();
    assert_eq!(e.field_errors()[0].field, "customerId");
    assert_eq!(e.field_errors()[0].code, "required");
}

#[test]
fn uuids_must_be_hyphenated_and_are_lowercased() {
    let mut req = sample();
    req["customerId"] = json!("123E4567-E89B-12D3-A456-426614174000");
    let r = validate_create_order(&req).unwrap();
    assert_eq!(
        r.to_json()["customerId"],
        "123e4567-e89b-12d3-a456-426614174000"
    );
    for bad in [
        "123e4567e89b12d3a456426614174000",
        "{123e4567-e89b-12d3-a456-426614174000}",
        "urn:uuid:123e4567-e89b-12d3-a456-426614174000",
        "",
    ] {
        req["customerId"] = json!(bad);
        let e = validate_create_order(&req).unwrap_err();
        assert_eq!(e.field_errors()[0].code, "invalid_uuid", "{bad}");
    }
}

#[test]
fn strings_are_trimmed_and_limits_count_characters() {
    let mut req = sample();
    req["items"][0]["name"] = json!(format!("  {}  ", "é".repeat(200)));
    let r = validate_create_order(&req).unwrap();
    assert_eq!(r.items[0].name.chars().count(), 200);
    req["items"][0]["name"] = json!("é".repeat(201));
    let e = validate_create_order(&req).unwrap_err();
    assert_eq!(e.field_errors()[0].code, "too_long");
}

#[test]
fn price_bounds() {
    let mut req = sample();
    for (price, ok) in [
        (json!(0), true),
        (json!(1_000_000), true),
        (json!(1_000_000.01), false),
        (json!(1e300), false),
        (json!(-0.0), true),
        (json!(0.1), true),
        (json!(1e-7), false),
        (json!(-1), false),
    ] {
        req["items"][0]["unitPrice"] = price.clone();
        assert_eq!(validate_create_order(&req).is_ok(), ok, "{price}");
    }
}

#[test]
fn currency_extension_applies_to_every_price() {
    let mut req = sample();
    req["currency"] = json!("AED");
    let r = validate_create_order(&req).unwrap();
    assert_eq!(r.total().unwrap().to_string(), "15.99 AED");
}

#[test]
fn deeply_nested_bodies_are_rejected_not_overflowed() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = parse_create_order(deep.as_bytes()).unwrap_err();
    assert_eq!(e.field_errors()[0].code, "not_json");
}

#[test]
fn duplicates_are_found_even_next_to_invalid_lines() {
    let mut req = sample();
    let line = req["items"][0].clone();
    let mut bad = line.clone();
    bad["unitPrice"] = json!(-1);
    req["items"] = json!([bad, line.clone(), line]);
    let e = validate_create_order(&req).unwrap_err();
    let got: Vec<_> = e
        .field_errors()
        .iter()
        .map(|f| (f.field.as_str(), f.code.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("items[0].unitPrice", "out_of_range"),
            ("items[1].itemId", "duplicate"),
            ("items[2].itemId", "duplicate"),
        ]
    );
}

/// serde_json's default float parser is not correctly rounded: without its
/// `float_roundtrip` feature this latitude came back one ulp off after
/// normalisation (found by `one_field_of_the_sample_replaced`).
#[test]
fn coordinates_survive_normalisation_bit_for_bit() {
    let mut req = sample();
    let lat = -2.596_710_477_677_103_8e-167_f64;
    *req.pointer_mut("/deliveryAddress/latitude").unwrap() = serde_json::json!(lat);
    let parsed = validate_create_order(&req).unwrap();
    assert_eq!(parsed.delivery.location.lat.to_bits(), lat.to_bits());
    let again = parse_create_order(parsed.to_json().to_string().as_bytes()).unwrap();
    assert_eq!(again, parsed);
}
