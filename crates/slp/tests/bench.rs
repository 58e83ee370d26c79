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

    // Bad options are named.
    let out = Command::new(env!("CARGO_BIN_EXE_slp"))
        .args(["bench", "ingest", "--reports", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reports"));
}
