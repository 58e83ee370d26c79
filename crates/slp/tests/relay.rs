//! `slp relay` (the CSLU role) end to end with real processes on loopback:
//! - pull, disconnected: the relay collects over the device API, exports the Cisco-shaped
//!   bundle and per-device files, the authority acknowledges, the ACK bundle is imported and
//!   installed on the device at its next update;
//! - push, disconnected (topology 4): the device pushes to `/cslu/v1/pi`, the ACK comes back by
//!   file and reaches the device on its next poll;
//! - push, connected (topology 1): the relay forwards to `slp authority serve` over the
//!   CSSM-style API and hands the ACK back on the device's next poll.

use serde_json::Value;

use crate::util::{Lab, T0, auth, authority, field, init_sw1, start_device, start_service, upload};

const T1: &str = "2026-11-01T10:00:00Z";
const UDI: &str = "PID:C9300-24UX,SN:FOC2233A5ZV";

/// `slp relay --data R <args>` at T1, which must succeed.
fn relay(lab: &Lab, args: &[&str]) -> String {
    let mut all = vec!["relay", "--data", "R"];
    all.extend_from_slice(args);
    lab.ok(T1, &all)
}

fn relay_fails(lab: &Lab, args: &[&str]) -> String {
    let mut all = vec!["relay", "--data", "R"];
    all.extend_from_slice(args);
    lab.fails(T1, &all)
}

fn pi_row(lab: &Lab, udi: &str) -> Value {
    let list: Value = serde_json::from_str(&relay(lab, &["pi", "list", "--json"])).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r["udi"] == udi)
        .cloned()
        .unwrap_or_else(|| panic!("{udi} not in {list}"))
}

/// Every closed report of the device is acknowledged.
fn assert_reports_acked(lab: &Lab) {
    let rum = lab.exec("D", T1, &["show license rum id all"]);
    let closed: Vec<&str> =
        rum.lines().filter(|l| l.starts_with(char::is_numeric) && !l.contains("OPEN")).collect();
    assert!(!closed.is_empty(), "{rum}");
    assert!(closed.iter().any(|l| l.contains(" ACK ")), "reports acknowledged:\n{rum}");
}

#[test]
fn pull_collect_export_ack_bundle_import_and_install_on_next_update() {
    let lab = Lab::new();
    init_sw1(&lab, T1);
    let device = start_device(&lab, "D", T1);
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
    let host = device.url.strip_prefix("http://").unwrap().to_owned();

    relay(&lab, &["prefs", "set", "--disconnected", "--account", "example.com", "--va", "Lab"]);
    let prefs = relay(&lab, &["prefs", "show"]);
    assert!(prefs.contains("Disconnected") && prefs.contains("example.com"), "{prefs}");
    relay(&lab, &["pi", "add", "--host", &host, "--username", "admin", "--password", "s3cret"]);
    // A device that is not there: COMM FAILED on its row, the others still collected.
    relay(&lab, &["pi", "add", "--host", "127.0.0.1:1", "--username", "a", "--password", "b"]);
    let list = relay(&lab, &["pi", "list"]);
    assert!(list.contains("(not yet contacted)") && list.contains("rest-pull"), "{list}");

    let out = relay_fails(&lab, &["collect"]);
    let collected = out.lines().find(|l| l.contains(&format!("({UDI})"))).unwrap_or_default();
    assert!(
        collected.ends_with("report(s) collected") && !collected.contains(": 0 report"),
        "{out}"
    );
    assert!(out.contains("http://127.0.0.1:1 (UDI unknown): COMM FAILED"), "{out}");
    let list: Value = serde_json::from_str(&relay(&lab, &["pi", "list", "--json"])).unwrap();
    let dead = list.as_array().unwrap().iter().find(|r| r["host"] == "http://127.0.0.1:1").unwrap();
    assert!(dead["alerts"][0].as_str().unwrap().starts_with("COMM FAILED"), "{dead}");
    let row = pi_row(&lab, UDI);
    assert_eq!(row["hostname"], "sw1");
    assert_eq!(row["last_contact"], T1);
    assert_eq!(row["alerts"], serde_json::json!(["ACK pending"]));
    // Collecting again before the ACK: close-reports closed the open reports again, so there is
    // a newer document; the export carries each report once.
    let out = relay(&lab, &["collect", "--host", &host]);
    assert!(out.contains("report(s) collected"), "{out}");

    // Export: the Cisco-shaped bundle, and the per-device files the authority takes.
    let out = relay(&lab, &["export", "--out", "UD_SA.tar.gz"]);
    assert!(out.contains("exported 1 product instance(s)"), "{out}");
    let bundle = std::fs::read(lab.path("UD_SA.tar.gz")).unwrap();
    let (manifest, members) =
        slp_relay::bundle::read_upload_bundle(&bundle, "UD_SA.tar.gz").unwrap();
    assert!(manifest.starts_with("Manifest-Version: 1.0\nCreated-By: {\"uuid\": "), "{manifest}");
    assert!(manifest.contains("\nName: /UD_VA_20261101T100000.tar.gz\n"), "{manifest}");
    assert_eq!(members.len(), 1);
    let name = members[0].0.clone();
    assert_eq!(name, "dev_C9300-24UX_FOC2233A5ZV_20261101T100000.xml");
    relay(&lab, &["export", "--format", "xml", "--out", "xml"]);
    assert_eq!(std::fs::read(lab.path(&format!("xml/{name}"))).unwrap(), members[0].1);

    // The authority acknowledges the file and the ACK goes back as an ACK bundle.
    authority(&lab);
    upload(&lab, T1, &format!("xml/{name}"), "ack.xml");
    let ack = std::fs::read(lab.path("ack.xml")).unwrap();
    let ack_bundle = slp_relay::bundle::ack_bundle(
        &[(format!("ACK_{name}"), ack)],
        "example.com",
        "Lab",
        "20261101T100500",
    )
    .unwrap();
    std::fs::write(lab.path("ACK_UD_SA.tar.gz"), ack_bundle).unwrap();
    let out = relay(&lab, &["import", "ACK_UD_SA.tar.gz"]);
    assert!(out.contains(&format!("ACK_{name}: ACK for {UDI}")), "{out}");
    assert_eq!(pi_row(&lab, UDI)["alerts"], serde_json::json!(["ACK ready"]));

    // The next update installs it on the device.
    let out = relay(&lab, &["collect", "--host", &host]);
    assert!(out.contains("1 answer(s) installed"), "{out}");
    let status = lab.exec("D", T1, &["show license status"]);
    assert_eq!(field(&status, "Last ACK received:"), "Nov 01 10:00:00 2026 UTC");
    assert_eq!(field(&status, "Smart Account:"), "Example Corp As of Nov 01 10:00:00 2026 UTC");
    assert_ne!(field(&status, "Trust Code Installed:"), "<none>");
    assert_reports_acked(&lab);
    let pis = auth(&lab, T1, &["pi", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(pis.contains("FOC2233A5ZV"), "{pis}");
    assert!(!pi_row(&lab, UDI)["alerts"].as_array().unwrap().iter().any(|a| a == "ACK ready"));
    drop(device);
}

/// Points the device in `D` at the relay's push endpoint.
fn point_at_relay(lab: &Lab, url: &str) {
    lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "license boot level network-advantage",
            "license smart transport cslu",
            &format!("license smart url cslu {url}/cslu/v1/pi"),
            "end",
            "write memory",
            "reload",
        ],
    );
}

#[test]
fn push_to_a_disconnected_relay_ack_by_file_delivered_on_next_poll() {
    let lab = Lab::new();
    init_sw1(&lab, T1);
    relay(&lab, &["prefs", "set", "--disconnected", "--account", "example.com", "--va", "Lab"]);
    let server =
        start_service(&lab, T1, &["relay", "--data", "R", "serve", "--listen", "127.0.0.1:0"]);
    point_at_relay(&lab, &server.url);

    let out = lab.exec("D", T1, &["license smart sync all", "show license status"]);
    assert!(!out.contains("COMM_FAILED") && !out.contains("% Error"), "{out}");
    assert_ne!(field(&out, "Last report push:"), "<none>");
    let row = pi_row(&lab, UDI);
    assert_eq!(
        (row["connect_method"].as_str(), row["alerts"][0].as_str()),
        (Some("push"), Some("ACK pending"))
    );

    // Polling before the ACK is back: nothing yet.
    let out = lab.exec("D", T1, &["license smart sync all", "show license status"]);
    assert_eq!(field(&out, "Last ACK received:"), "<none>");

    relay(&lab, &["export", "--format", "xml", "--out", "xml"]);
    let name = std::fs::read_dir(lab.path("xml")).unwrap().next().unwrap().unwrap().file_name();
    let name = name.to_string_lossy().into_owned();
    authority(&lab);
    upload(&lab, T1, &format!("xml/{name}"), "ack.xml");
    // A single ACK file imports as well as a bundle.
    let out = relay(&lab, &["import", "ack.xml"]);
    assert!(out.contains(&format!("ack.xml: ACK for {UDI}")), "{out}");

    let out = lab.exec("D", T1, &["license smart sync all", "show license status"]);
    assert_eq!(field(&out, "Last ACK received:"), "Nov 01 10:00:00 2026 UTC", "{out}");
    assert_eq!(field(&out, "Virtual Account:"), "Lab");
    assert_reports_acked(&lab);
    assert!(pi_row(&lab, UDI)["alerts"].as_array().unwrap().is_empty());
    drop(server);
}

#[test]
fn push_through_a_connected_relay_to_the_authority_api() {
    let lab = Lab::new();
    authority(&lab);
    let client: Value = serde_json::from_str(&auth(
        &lab,
        T0,
        &[
            "client",
            "create",
            "--account",
            "example.com",
            "--name",
            "relay",
            "--role",
            "reporter",
            "--json",
        ],
    ))
    .unwrap();
    let authority_server =
        start_service(&lab, T1, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    relay(
        &lab,
        &[
            "prefs",
            "set",
            "--connected",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "--authority-url",
            &authority_server.url,
            "--client-id",
            client["client_id"].as_str().unwrap(),
            "--client-secret",
            client["client_secret"].as_str().unwrap(),
        ],
    );
    // A long timer: forwarding happens when the test says so (`slp relay sync`).
    let relay_server = start_service(
        &lab,
        T1,
        &["relay", "--data", "R", "serve", "--listen", "127.0.0.1:0", "--sync-interval", "86400"],
    );
    init_sw1(&lab, T1);
    point_at_relay(&lab, &relay_server.url);
    lab.exec("D", T1, &["license smart sync all"]);

    let out = relay(&lab, &["sync"]);
    assert!(out.contains("sent 1 document(s) to the authority, received 1 answer(s)"), "{out}");
    let out = relay(&lab, &["sync"]);
    assert!(out.contains("sent 0 document(s)"), "nothing is sent twice: {out}");

    let out = lab.exec("D", T1, &["license smart sync all", "show license status"]);
    assert_eq!(field(&out, "Last ACK received:"), "Nov 01 10:00:00 2026 UTC", "{out}");
    assert_ne!(field(&out, "Trust Code Installed:"), "<none>");
    assert_reports_acked(&lab);
    let pis = auth(&lab, T1, &["pi", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(pis.contains("FOC2233A5ZV") && pis.contains("sw1"), "{pis}");

    // SLAC through the relay: the request rides on the next push, the relay forwards it with
    // `authrequest`, and the code comes back on the device's next poll.
    lab.exec(
        "D",
        T1,
        &["license smart authorization request add hseck9 local", "license smart sync all"],
    );
    let out = relay(&lab, &["sync"]);
    assert!(out.contains("sent 2 document(s) to the authority, received 2 answer(s)"), "{out}");
    let out = lab.exec("D", T1, &["license smart sync all", "show license authorization"]);
    assert!(out.contains("%SMART_LIC-6-AUTHORIZATION_INSTALL_SUCCESS"), "{out}");
    drop(relay_server);
    drop(authority_server);
}
