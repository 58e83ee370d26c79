//! `slp bench ingest`: the load generator runs end to end and reports its figures (the figures
//! themselves are measured, not asserted: see README "Performance").

use std::process::Command;

#[test]
fn bench_ingest_sends_every_report_and_prints_its_figures() {
    let out = Command::new(env!("CARGO_BIN_EXE_slp"))
        .args(["bench", "ingest", "--reports", "60", "--instances", "7", "--batch", "25", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let figures: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(figures["reports"], 60);
    assert_eq!(figures["instances"], 7);
    assert!(figures["backend"].as_str().unwrap().starts_with("SQLite"), "{figures}");
    for name in [
        "reports_per_second",
        "batch_p50_ms",
        "batch_p99_ms",
        "verify_per_second_single_core",
        "ratio",
    ] {
        assert!(figures[name].as_f64().is_some_and(|v| v > 0.0), "{name}: {figures}");
    }
    assert!(figures["batch_p99_ms"].as_f64() >= figures["batch_p50_ms"].as_f64(), "{figures}");
    // The writer lane: every report went through a committed group (60 reports, 3 requests).
    let lane = &figures["lane"];
    let groups = lane["groups"].as_u64().unwrap();
    assert!((1..=3).contains(&groups), "{figures}");
    let per_group = lane["reports_per_group"].as_f64().unwrap();
    assert!((per_group * groups as f64 - 60.0).abs() < 1e-6, "{figures}");
    let phases: f64 = ["prefetch", "apply", "flush", "commit"]
        .iter()
        .map(|p| lane[format!("{p}_us_per_report")].as_f64().unwrap())
        .sum();
    let total = lane["us_per_report"].as_f64().unwrap();
    assert!(total > 0.0 && (phases - total).abs() < 1e-6 * total.max(1.0), "{figures}");

    // Bad options are named.
    let out = Command::new(env!("CARGO_BIN_EXE_slp"))
        .args(["bench", "ingest", "--reports", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reports"));
}

#[test]
fn bench_ingest_over_https_verifies_the_authority_certificate() {
    let out = Command::new(env!("CARGO_BIN_EXE_slp"))
        .args(["bench", "ingest", "--reports", "20", "--instances", "4", "--batch", "10", "--tls"])
        .arg("--json")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let figures: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(figures["transport"], "HTTPS", "{figures}");
    assert_eq!(figures["reports"], 20);
    assert!(figures["reports_per_second"].as_f64().is_some_and(|v| v > 0.0), "{figures}");
}
