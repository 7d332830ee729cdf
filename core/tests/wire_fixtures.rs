//! The wire contract fixtures (`tests/fixtures/wire.json`), shared with the
//! Python and Node test suites: each case gives the same normalized output or
//! the same `{field, code}` errors, in snake_case and in camelCase.

use serde_json::Value;
use uoom::wire::{Case, validate};

fn fixtures() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/wire.json"
    ))
    .expect("the fixture table is in the repository");
    serde_json::from_str(&text).expect("the fixture table is JSON")
}

/// Numbers compare by value (`5` equals `5.0`), everything else structurally.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn run(case: &Value, convention: &str, caller: Case) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or("?");
    let contract = case["contract"].as_str().unwrap_or("?");
    let cased = convention == "caller";
    let conv = |v: &Value| {
        if cased {
            caller.keys(v.clone())
        } else {
            v.clone()
        }
    };
    let case_arg = if cased { caller } else { Case::Snake };
    let got = validate(contract, &conv(&case["input"]), case_arg);
    let expect = &case["expect"];
    match (got, expect.get("ok"), expect.get("errors")) {
        (Ok(v), Some(ok), _) if same(&v, &conv(ok)) => Ok(()),
        (Err(e), _, Some(errs)) => {
            let got: Vec<(String, String)> = e
                .field_errors()
                .iter()
                .map(|f| (f.field.clone(), f.code.clone()))
                .collect();
            let want: Vec<(String, String)> = errs
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    let field = f["field"].as_str().unwrap_or_default();
                    let field = if cased {
                        caller.path(field)
                    } else {
                        field.to_owned()
                    };
                    (field, f["code"].as_str().unwrap_or_default().to_owned())
                })
                .collect();
            if got == want {
                Ok(())
            } else {
                Err(format!(
                    "{name} ({caller:?}): errors {got:?}, expected {want:?}"
                ))
            }
        }
        (Ok(v), _, _) => Err(format!(
            "{name} ({caller:?}): got ok {v}, expected {expect}"
        )),
        (Err(e), _, _) => Err(format!(
            "{name} ({caller:?}): got errors {:?}, expected {expect}",
            e.field_errors()
        )),
    }
}

#[test]
fn every_fixture_gives_its_result_in_both_cases() {
    let doc = fixtures();
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 25, "the table covers every contract");
    let mut failures = Vec::new();
    for case in cases {
        let contract = case["contract"].as_str().expect("contract");
        let convention = doc["contracts"][contract]
            .as_str()
            .expect("each contract has its case");
        for caller in [Case::Snake, Case::Camel] {
            if let Err(e) = run(case, convention, caller) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_contract_has_valid_and_invalid_cases() {
    let doc = fixtures();
    for contract in uoom::wire::CONTRACTS {
        let of: Vec<&Value> = doc["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .filter(|c| c["contract"] == contract)
            .collect();
        assert!(
            of.iter().any(|c| c["expect"].get("ok").is_some()),
            "{contract}: no valid case"
        );
        assert!(
            of.iter().any(|c| c["expect"].get("errors").is_some()),
            "{contract}: no invalid case"
        );
    }
}
