//! `slp bench ingest`: the load generator runs end to end and reports its figures (the figures
//! themselves are measured, not asserted: see README "Performance"), in this process or
//! against a served authority (`--url`).

use std::process::Command;

use crate::util::*;

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

/// An API client of example.com: (client id, secret).
fn reporter(lab: &Lab) -> (String, String) {
    let out = auth(
        lab,
        T0,
        &["client", "create", "--account", "example.com", "--name", "bench", "--role", "reporter"]
            .into_iter()
            .chain(["--json"])
            .collect::<Vec<_>>(),
    );
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    (
        json["client_id"].as_str().unwrap().to_owned(),
        json["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// The arguments of `slp bench ingest --url URL …` with the given credentials and virtual
/// account of example.com, then `rest`.
fn remote_bench(url: &str, creds: &(String, String), va: &str, rest: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["bench", "ingest", "--url", url, "--client-id", &creds.0]
        .into_iter()
        .chain(["--client-secret", &creds.1, "--account", "example.com", "--va", va])
        .map(str::to_owned)
        .collect();
    args.extend(rest.iter().map(|a| (*a).to_owned()));
    args
}

#[test]
fn bench_ingest_drives_a_served_authority_and_every_report_is_acknowledged() {
    let lab = Lab::new();
    authority(&lab);
    let creds = reporter(&lab);
    let server =
        start_service(&lab, T0, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    // 6 instances, 10 reports each (one entry of 10 per instance: --per-entry's default).
    let load = ["--reports", "60", "--instances", "6", "--batch", "25", "--json"];
    let args = remote_bench(&server.url, &creds, "Lab", &load);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let figures: serde_json::Value = serde_json::from_str(&lab.ok(T0, &args)).unwrap();
    assert_eq!(figures["url"], server.url.as_str(), "{figures}");
    assert_eq!(figures["reports"], 60, "{figures}");
    let acked = &figures["acknowledged"];
    assert_eq!(
        (&acked["accepted"], &acked["duplicate"], &acked["rejected"]),
        (&60.into(), &0.into(), &0.into()),
        "{figures}"
    );
    assert!(figures["reports_per_second"].as_f64().is_some_and(|v| v > 0.0), "{figures}");
    // The writer lane is inside the served authority: not reported from outside.
    assert!(figures.get("lane").is_none(), "{figures}");

    // The product instances reached the served authority's virtual account; a second run
    // brings new ones (a UDI binds to its first key), and is acknowledged in full again.
    let figures: serde_json::Value = serde_json::from_str(&lab.ok(T0, &args)).unwrap();
    assert_eq!(figures["acknowledged"]["accepted"], 60, "{figures}");
    let pis = auth(&lab, T0, &["pi", "list", "--account", "example.com", "--va", "Lab", "--json"]);
    let pis: serde_json::Value = serde_json::from_str(&pis).unwrap();
    assert_eq!(pis.as_array().map(Vec::len), Some(12), "{pis}");
}

#[test]
fn bench_ingest_names_the_credential_account_or_rule_a_served_authority_refuses() {
    let lab = Lab::new();
    authority(&lab);
    auth(&lab, T0, &["va", "create", "--account", "example.com", "--name", "Closed"]);
    let first_contact = ["va", "set", "--account", "example.com", "--va", "Closed"];
    auth(&lab, T0, &[&first_contact[..], &["--first-contact", "deny"]].concat());
    let creds = reporter(&lab);
    let server =
        start_service(&lab, T0, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    let load = ["--reports", "4", "--instances", "2", "--batch", "2"];
    let fails = |creds: &(String, String), va: &str| {
        let args = remote_bench(&server.url, creds, va, &load);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        lab.fails(T0, &args)
    };

    let wrong = (creds.0.clone(), "not-the-secret".to_owned());
    let text = fails(&wrong, "Lab");
    assert!(text.contains(&server.url) && text.contains(&creds.0), "{text}");
    assert!(text.contains("--client-secret"), "{text}");

    let text = fails(&creds, "Nowhere");
    assert!(text.contains("\"Nowhere\"") && text.contains("--va"), "{text}");

    let text = fails(&creds, "Closed");
    assert!(
        text.contains(
            "slp authority va set --account example.com --va Closed --first-contact allow"
        ),
        "{text}"
    );

    // Without the accounts, --url is refused before anything is sent.
    let out = Command::new(env!("CARGO_BIN_EXE_slp"))
        .args(["bench", "ingest", "--url", &server.url, "--client-id", "x", "--client-secret", "y"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--account") && stderr.contains("--va"), "{stderr}");
}
