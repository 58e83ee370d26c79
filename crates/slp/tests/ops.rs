//! Operations of the served roles through the real binary: guessed device passwords get 429
//! until the device's virtual clock passes the window, failed logins are logged at `warn` by
//! default (text and `--log-format json`, with the request id), `/metrics`, `/healthz` and
//! `/readyz` on the device management API.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::util::{Lab, control, init_sw1};

const T1: &str = "2026-11-01T10:00:00Z";

/// `slp [--now T1] <args>` with stderr kept (and SLP_LOG unset: the default filter), and the
/// URL of its `listening on …` line.
fn spawn(lab: &Lab, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slp"))
        .current_dir(lab.dir.path())
        .args(["--now", T1])
        .args(args)
        .env_remove("SLP_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start slp");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read");
    let url = line.trim().strip_prefix("listening on ").expect("listening line").to_owned();
    (child, url)
}

/// Stops `child` and returns what it wrote to stderr.
fn stop(mut child: Child) -> String {
    let _ = child.kill();
    let output = child.wait_with_output().expect("wait");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::new()
}

fn assert_secure(response: &reqwest::blocking::Response, what: &str) {
    let h = response.headers();
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert!(h["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    assert_eq!(h["cache-control"], "no-store", "{what}");
    assert!(h.get("access-control-allow-origin").is_none(), "{what}");
    assert!(h.get("x-request-id").is_some(), "{what}");
}

fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .and_then(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => Some(v),
            _ => None,
        })
}

#[test]
fn guessed_device_passwords_get_429_until_the_device_clock_passes_the_window() {
    let lab = Lab::new();
    init_sw1(&lab, T1);
    let (device, url) =
        spawn(&lab, &["device", "--state", "D", "run", "--mgmt", "127.0.0.1:0", "--manual-ticks"]);
    lab.exec(
        "D",
        T1,
        &["configure terminal", "username admin privilege 15 password s3cret", "end"],
    );
    let list = format!("{url}/smartlic-service/list");
    for i in 0..10 {
        let response = client()
            .get(&list)
            .basic_auth("admin", Some(format!("guess{i}")))
            .header("x-request-id", format!("guess-{i}"))
            .send()
            .unwrap();
        assert_eq!(response.status(), 401, "guess {i}");
        assert_secure(&response, "401");
    }
    let right = client().get(&list).basic_auth("admin", Some("s3cret")).send().unwrap();
    assert_eq!(right.status(), 429, "the right password waits for the window too");
    assert_eq!(right.headers()["retry-after"], "30");
    assert_secure(&right, "429");
    let body: Value = right.json().unwrap();
    assert!(body["message"].as_str().unwrap().contains("too many failed logins"), "{body}");
    // The device's virtual clock moves only when told: the window passes in device time.
    control(&lab, "D", "/slp/v1/clock", serde_json::json!({"advance_secs": 30}));
    let right = client().get(&list).basic_auth("admin", Some("s3cret")).send().unwrap();
    assert_eq!(right.status(), 200);
    assert_secure(&right, "200");

    let metrics = client().get(format!("{url}/metrics")).send().unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().unwrap();
    assert_eq!(metric(&text, "slp_auth_failures_total", &[]), Some(10.0), "{text}");
    assert_eq!(metric(&text, "slp_auth_limited_total", &[]), Some(1.0), "{text}");
    assert_eq!(
        metric(
            &text,
            "slp_http_requests_total",
            &[("route", "/smartlic-service/list"), ("status", "401")]
        ),
        Some(10.0)
    );
    assert!(metric(&text, "slp_device_reports_pending", &[]).is_some(), "{text}");
    assert!(metric(&text, "slp_device_reports", &[("state", "OPEN")]).is_some(), "{text}");

    // Health: up and ready; not ready while the state file is gone, ready again once back.
    assert_eq!(client().get(format!("{url}/healthz")).send().unwrap().status(), 200);
    assert_eq!(client().get(format!("{url}/readyz")).send().unwrap().status(), 200);
    std::fs::rename(lab.path("D/state.json"), lab.path("D/state.json.away")).unwrap();
    let ready = client().get(format!("{url}/readyz")).send().unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().unwrap();
    assert_eq!(body["message"], "device not ready: the device state does not read");
    std::fs::rename(lab.path("D/state.json.away"), lab.path("D/state.json")).unwrap();
    assert_eq!(client().get(format!("{url}/readyz")).send().unwrap().status(), 200);

    // Every failure was logged at the default level, with user, address and request id.
    let log = stop(device);
    let failures: Vec<&str> = log.lines().filter(|l| l.contains("authentication failed")).collect();
    assert_eq!(failures.len(), 10, "{log}");
    assert!(failures[4].contains("WARN"), "{}", failures[4]);
    assert!(failures[4].contains("user=\"admin\""), "{}", failures[4]);
    assert!(failures[4].contains("peer=127.0.0.1"), "{}", failures[4]);
    assert!(failures[4].contains("request_id=guess-4"), "{}", failures[4]);
}

#[test]
fn failed_oauth_logins_are_logged_as_json_lines_with_the_request_id() {
    let lab = Lab::new();
    let (authority, url) = spawn(
        &lab,
        &["--log-format", "json", "authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"],
    );
    for i in 0..3 {
        let response = client()
            .post(format!("{url}/oauth2/token"))
            .header("x-request-id", format!("login-{i}"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "intruder"),
                ("client_secret", "guess"),
            ])
            .send()
            .unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["x-request-id"], format!("login-{i}").as_str());
    }
    let log = stop(authority);
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let failures: Vec<&Value> =
        lines.iter().filter(|l| l["fields"]["message"] == "authentication failed").collect();
    assert_eq!(failures.len(), 3, "{log}");
    for (i, line) in failures.iter().enumerate() {
        assert_eq!(line["level"], "WARN", "{line}");
        assert_eq!(line["fields"]["request_id"], format!("login-{i}"), "{line}");
        assert_eq!(line["fields"]["user"], "\"intruder\"", "{line}");
        assert_eq!(line["fields"]["peer"], "127.0.0.1", "{line}");
        // The request's span, with its id, is on the line as well.
        let spans = line["spans"].as_array().unwrap();
        assert!(spans.iter().any(|s| s["request_id"] == format!("login-{i}")), "{line}");
    }
}
