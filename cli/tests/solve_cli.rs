//! `uoom solve` end to end: its output passes the benchmark's independent
//! verifier (`benches/compare/verify.py`), and bad input exits 2.

use std::path::PathBuf;
use std::process::Command;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../benches/instances")
        .join(name)
}

fn verifier() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../benches/compare/verify.py")
}

fn uoom() -> Command {
    Command::new(env!("CARGO_BIN_EXE_uoom"))
}

/// Solves `name` with `extra` flags and returns verify.py's JSON verdict.
fn solve_and_verify(name: &str, extra: &[&str]) -> serde_json::Value {
    let dir = std::env::temp_dir().join(format!("uoom-solve-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{name}{}.json", extra.join("")));
    let inst = data(&format!("{name}.json"));
    let st = uoom()
        .arg("solve")
        .arg(&inst)
        .args(extra)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "uoom solve {name} failed");
    let v = Command::new("python3")
        .arg(verifier())
        .arg(&inst)
        .arg(&out)
        .arg("--reference")
        .arg(data("reference.json"))
        .output()
        .unwrap();
    let verdict: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert!(v.status.success(), "verify.py rejected {name}: {verdict}");
    verdict
}

#[test]
fn budgeted_output_passes_the_verifier() {
    for name in ["b-s-0", "b-s-1", "b-s-2", "rt-50-0", "rt-50-1", "rt-200-0"] {
        let v = solve_and_verify(name, &[]);
        assert_eq!(v["feasible"], true);
        let claimed = v["claimed_objective"].as_f64().unwrap();
        let recomputed = v["objective"].as_f64().unwrap();
        assert!(
            (claimed - recomputed).abs() <= 1e-6 * recomputed.abs(),
            "{name}: {v}"
        );
        if name.starts_with("rt-") {
            // best_known is rounded to 6 decimals.
            assert!(v["gap"].as_f64().unwrap().abs() <= 1e-6, "{name}: {v}");
        }
    }
}

#[test]
fn exact_output_reaches_the_best_known_optimum() {
    for name in ["b-s-0", "b-s-1", "b-s-2"] {
        let v = solve_and_verify(name, &["--exact"]);
        assert!(v["gap"].as_f64().unwrap().abs() <= 1e-6, "{name}: {v}");
    }
}

#[test]
fn explain_adds_a_reason_per_order() {
    let out = uoom()
        .args(["solve", "--explain"])
        .arg(data("b-s-1.json"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &v["explanations"];
    assert_eq!(
        e["assigned"].as_array().unwrap().len() + e["unassigned"].as_array().unwrap().len(),
        100
    );
    assert!(["optimal", "improved", "greedy"].contains(&v["method"].as_str().unwrap()));
}

#[test]
fn bad_input_exits_2_naming_the_culprit() {
    let dir = std::env::temp_dir().join(format!("uoom-solve-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(data("b-s-0.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["channels"][3]["capacity"] = (-5).into();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, v.to_string()).unwrap();
    let out = uoom().arg("solve").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("channels[3].capacity"), "{err}");

    let missing = uoom()
        .args(["solve", "/nonexistent/x.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}
