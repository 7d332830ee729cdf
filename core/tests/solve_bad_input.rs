//! Bad instances give a typed validation error naming the culprit, never a panic.

use uoom::ErrorKind;
use uoom::bench_format::Instance;

fn base() -> serde_json::Value {
    serde_json::json!({
        "name": "t", "weights": {"cost": 1.0, "time": 0.1, "quality": 10.0},
        "unassigned_penalty": 100.0,
        "orders": [
            {"id": "o1", "lat": 24.71, "lon": 46.67, "units": 2, "vehicle": "bike",
             "deadline_min": 45.0, "priority": 1},
            {"id": "o2", "lat": 24.72, "lon": 46.68, "units": 1, "vehicle": "car",
             "deadline_min": 45.0, "priority": 2}],
        "channels": [
            {"id": "c1", "kind": "dark_store", "lat": 24.70, "lon": 46.69, "radius_km": 8.0,
             "capacity": 60, "vehicles": ["bike", "car"], "base_cost": 2.1, "cost_per_km": 0.65,
             "prep_min": 9.0, "speed_kmh": 24.0, "quality": 0.91, "status": "up"}]
    })
}

fn culprit(v: serde_json::Value) -> (String, String) {
    let err = Instance::from_json(v.to_string().as_bytes()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let f = &err.field_errors()[0];
    (f.field.clone(), f.code.clone())
}

#[test]
fn the_base_instance_is_valid() {
    let inst = Instance::from_json(base().to_string().as_bytes()).unwrap();
    assert_eq!(inst.orders.len(), 2);
    inst.to_problem().unwrap();
}

type Mutation = fn(&mut serde_json::Value);

#[test]
fn each_bad_field_is_named() {
    let cases: Vec<(Mutation, &str, &str)> = vec![
        (
            |v| v["orders"][1]["id"] = "o1".into(),
            "orders[1].id",
            "duplicate",
        ),
        (
            |v| v["channels"][0]["capacity"] = (-3).into(),
            "channels[0].capacity",
            "out_of_range",
        ),
        (
            |v| v["orders"][0]["vehicle"] = "rocket".into(),
            "orders[0].vehicle",
            "unknown_vehicle",
        ),
        (
            |v| v["channels"][0]["status"] = "sleepy".into(),
            "channels[0].status",
            "unknown_status",
        ),
        (
            |v| v["channels"][0]["vehicles"][1] = "boat".into(),
            "channels[0].vehicles[1]",
            "unknown_vehicle",
        ),
        (
            |v| {
                v["orders"][1].as_object_mut().unwrap().remove("units");
            },
            "orders[1].units",
            "required",
        ),
        (
            |v| v["orders"][0]["units"] = 0.into(),
            "orders[0].units",
            "out_of_range",
        ),
        (
            |v| v["orders"][0]["units"] = 1.5.into(),
            "orders[0].units",
            "invalid_type",
        ),
        (
            |v| v["orders"][0]["lat"] = "north".into(),
            "orders[0].lat",
            "invalid_type",
        ),
        (
            |v| v["orders"][0]["deadline_min"] = serde_json::Value::Null,
            "orders[0].deadline_min",
            "required",
        ),
        (
            |v| v["channels"][0]["speed_kmh"] = 0.into(),
            "channels[0].speed_kmh",
            "out_of_range",
        ),
        (
            |v| v["channels"][0]["quality"] = 2.into(),
            "channels[0].quality",
            "out_of_range",
        ),
        (
            |v| v["unassigned_penalty"] = (-1).into(),
            "unassigned_penalty",
            "out_of_range",
        ),
        (
            |v| v["weights"]["time"] = "fast".into(),
            "weights.time",
            "invalid_type",
        ),
        (|v| v["orders"] = 3.into(), "orders", "invalid_type"),
    ];
    for (mutate, field, code) in cases {
        let mut v = base();
        mutate(&mut v);
        assert_eq!(culprit(v), (field.to_owned(), code.to_owned()));
    }
}

#[test]
fn nan_and_garbage_are_json_errors() {
    let err = Instance::from_json(br#"{"name": "x", "unassigned_penalty": NaN}"#).unwrap_err();
    assert_eq!(err.field_errors()[0].code, "invalid_json");
    let err = Instance::from_json(b"[1, 2]").unwrap_err();
    assert_eq!(err.field_errors()[0].code, "invalid_type");
}
