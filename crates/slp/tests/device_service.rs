//! `slp device run`: the management REST API relays and controllers pull from, and `exec`
//! against a running device (one writer of the state).

use base64::Engine;
use serde_json::Value;

use crate::util::{Lab, field, init_sw1, start_device};

const T1: &str = "2026-11-01T10:00:00Z";

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::new()
}

#[test]
fn management_api_serves_reports_takes_the_ack_and_shares_state_with_exec() {
    let lab = Lab::new();
    init_sw1(&lab, T1);
    let device = start_device(&lab, "D", T1);
    // Configuration goes to the running device, not to state.json behind its back.
    lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "username admin privilege 15 password s3cret",
            "license boot level network-advantage",
            "end",
            "write memory",
            "reload",
        ],
    );
    let running = lab.exec("D", T1, &["show running-config"]);
    // Kept and shown as IOS keeps a `secret`: its type 9 (scrypt) hash, never the password.
    assert!(running.contains("username admin privilege 15 secret 9 $9$"), "{running}");
    assert!(!running.contains("s3cret"), "{running}");

    let url = |path: &str| format!("{}/smartlic-service/{path}", device.url);
    let response = client().get(url("all-reports")).send().unwrap();
    assert_eq!(response.status(), 401);
    let response =
        client().get(url("all-reports")).basic_auth("admin", Some("wrong")).send().unwrap();
    assert_eq!(response.status(), 401);

    let reports: Value = client()
        .get(url("all-reports"))
        .basic_auth("admin", Some("s3cret"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let usage = reports["usage"].as_array().expect("usage array");
    assert_eq!(usage.len(), 2, "network-essentials and network-advantage: {reports}");
    assert!(usage.iter().all(|r| r["header"]["type"] == "rum" && r["payload"].is_string()));
    let document = reports["smart_license"].as_str().expect("document");
    assert!(document.contains("<smartLicenseTrustRequest>"), "a pull also asks for a trust code");
    let list: Value = client()
        .get(url("list"))
        .basic_auth("admin", Some("s3cret"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let states: Vec<&str> = list["usage_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "UNACK").count(),
        2,
        "read but not acknowledged: {list}"
    );

    // The authority acknowledges the pulled document; the ACK goes back through the API.
    std::fs::write(lab.path("pulled.xml"), document).unwrap();
    for args in [
        vec!["account", "create", "--name", "Example Corp", "--domain", "example.com"],
        vec!["va", "create", "--account", "example.com", "--name", "Lab"],
        vec![
            "usage",
            "upload",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "pulled.xml",
            "--ack",
            "ack.xml",
        ],
    ] {
        let mut all = vec!["authority", "--data", "A"];
        all.extend(args);
        lab.ok(T1, &all);
    }
    let ack = base64::engine::general_purpose::STANDARD.encode(lab.read("ack.xml"));
    let reply: Value = client()
        .post(url("import"))
        .basic_auth("admin", Some("s3cret"))
        .body(ack)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(reply["status"], "OK", "{reply}");
    let status = lab.exec("D", T1, &["show license status"]);
    assert_eq!(field(&status, "Smart Account:"), "Example Corp As of Nov 01 10:00:00 2026 UTC");
    assert_eq!(field(&status, "Trust Code Installed:"), "Nov 01 10:00:00 2026 UTC");

    // The same ACK again through the API (a puller replaying it): nothing new, nothing moves.
    let ack = base64::engine::general_purpose::STANDARD.encode(lab.read("ack.xml"));
    let reply: Value = client()
        .post(url("import"))
        .basic_auth("admin", Some("s3cret"))
        .body(ack)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let said = reply["messages"].to_string();
    assert!(said.contains("% Nothing new in management API import"), "{reply}");
    assert!(!said.contains("Import Data Successful"), "{reply}");
    let again = lab.exec("D", T1, &["show license status"]);
    assert_eq!(field(&again, "Last ACK received:"), field(&status, "Last ACK received:"));
    assert_eq!(field(&again, "Next ACK deadline:"), field(&status, "Next ACK deadline:"));

    // Bad input: garbage import is refused with a message and changes nothing.
    let response = client()
        .post(url("import"))
        .basic_auth("admin", Some("s3cret"))
        .body("<smartLicense><oops>")
        .send()
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().unwrap();
    assert!(body["message"].as_str().unwrap().contains("malformed XML"), "{body}");
    let response = client().get(url("days/0")).basic_auth("admin", Some("s3cret")).send().unwrap();
    assert_eq!(response.status(), 400);
    let response =
        client().get(url("rum-report-id/42")).basic_auth("admin", Some("s3cret")).send().unwrap();
    assert_eq!(response.status(), 404);
}

#[test]
fn exec_runs_locally_again_after_the_service_is_killed() {
    let lab = Lab::new();
    init_sw1(&lab, T1);
    let mut device = start_device(&lab, "D", T1);
    assert!(lab.path("D/run.json").exists());
    lab.exec("D", T1, &["configure terminal", "hostname core1", "end"]);
    device.child.kill().unwrap();
    device.child.wait().unwrap();
    // The service saved every command to state.json, so nothing is lost with it.
    let out = lab.exec("D", T1, &["show license udi", "show running-config"]);
    assert!(out.starts_with("core1#"), "{out}");
    assert!(!lab.path("D/run.json").exists(), "the stale run.json was cleaned up");
}

#[test]
fn ten_concurrent_execs_without_a_service_lose_no_update() {
    let lab = Lab::new();
    init_sw1(&lab, T1);
    let children: Vec<_> = (0..10)
        .map(|n| {
            std::process::Command::new(env!("CARGO_BIN_EXE_slp"))
                .current_dir(lab.dir.path())
                .args(["--now", T1, "device", "--state", "D", "exec", "configure terminal"])
                .arg(format!("username user{n} privilege 15 password pw{n}"))
                .arg("end")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let running = lab.exec("D", T1, &["show running-config"]);
    for n in 0..10 {
        assert!(
            running.contains(&format!("username user{n} privilege 15 secret 9 $9$")),
            "{running}"
        );
    }
}

#[test]
fn a_second_run_on_the_same_state_is_refused_naming_the_running_one() {
    let lab = Lab::new();
    init_sw1(&lab, T1);
    let device = start_device(&lab, "D", T1);
    let run_before = lab.read("D/run.json");
    let out = lab.fails(T1, &["device", "--state", "D", "run", "--mgmt", "127.0.0.1:0"]);
    assert!(out.contains("device state D is in use by `slp device run`"), "{out}");
    assert!(out.contains(&format!("pid {}", device.child.id())), "{out}");
    assert!(out.contains(&device.url), "{out}");
    assert_eq!(lab.read("D/run.json"), run_before, "run.json still names the first service");
    let out = lab.exec("D", T1, &["show license udi"]);
    assert!(out.contains("FOC2233A5ZV"), "the first service still answers: {out}");
}

#[test]
fn shell_goes_through_the_running_service() {
    let lab = Lab::new();
    init_sw1(&lab, T1);
    let mut device = start_device(&lab, "D", T1);
    let out = lab.shell(
        "D",
        T1,
        "enable\nconfigure terminal\nhostname core9\ninterface Tunnel1\nexit\nend\nshow license udi\nexit\n",
    );
    assert!(out.starts_with("sw1>sw1#"), "{out}");
    assert!(
        out.contains("sw1(config)#core9(config)#core9(config-if)#core9(config)#core9#"),
        "{out}"
    );
    assert!(out.contains("UDI: PID:C9300-24UX,SN:FOC2233A5ZV"), "{out}");
    // The running service has the change in memory (had the shell written state.json behind its
    // back, the service would show, and later save, the old name).
    let running = lab.exec("D", T1, &["show running-config"]);
    assert!(
        running.contains("hostname core9") && running.contains("interface Tunnel1"),
        "{running}"
    );
    device.child.kill().unwrap();
    device.child.wait().unwrap();
    assert!(lab.read("D/state.json").contains("\"hostname\": \"core9\""));
}
