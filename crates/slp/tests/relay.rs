//! `slp relay` (the CSLU role) end to end with real processes on loopback:
//! - pull, disconnected: the relay collects over the device API, exports the Cisco-shaped
//!   bundle and per-device files, the authority acknowledges, the ACK bundle is imported and
//!   installed on the device at its next update;
//! - push, disconnected (topology 4): the device pushes to `/cslu/v1/pi`, the ACK comes back by
//!   file and reaches the device on its next poll;
//! - push, connected (topology 1): the relay forwards to `slp authority serve` over the
//!   CSSM-style API and hands the ACK back on the device's next poll.

use serde_json::Value;

use crate::util::{
    Lab, Running, T0, auth, auth_fails, authority, control, field, init_sw1x, pool_figures,
    start_device, start_service, upload,
};

const T1: &str = "2026-11-01T10:00:00Z";
const UDI: &str = "PID:C9300X-24HX,SN:FOC2233A5ZV";

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

/// What an operator does before importing answers: `slp authority key show` on the authority,
/// the output carried to the relay and pinned with `prefs set --authority-key FILE`.
fn pin_authority_key(lab: &Lab) {
    let shown = auth(lab, T1, &["key", "show"]);
    assert!(shown.starts_with("Public key: ") && shown.contains("\nKey id: "), "{shown}");
    std::fs::write(lab.path("authority.key"), shown).unwrap();
    relay(lab, &["prefs", "set", "--authority-key", "authority.key"]);
    let key_id = auth(lab, T1, &["key", "show", "--json"]);
    let key_id: Value = serde_json::from_str(&key_id).unwrap();
    let prefs = relay(lab, &["prefs", "show"]);
    assert!(prefs.contains(&format!("{} (pinned)", key_id["key_id"].as_str().unwrap())), "{prefs}");
}

/// A rogue authority in `EVIL` with the same account names: its ACK for `usage` is well formed
/// and well signed, by a key nobody pinned.
fn rogue_ack(lab: &Lab, usage: &str, out: &str) {
    let evil = |args: &[&str]| {
        let mut all = vec!["authority", "--data", "EVIL"];
        all.extend_from_slice(args);
        lab.ok(T1, &all)
    };
    evil(&["account", "create", "--name", "Example Corp", "--domain", "example.com"]);
    evil(&["va", "create", "--account", "example.com", "--name", "Lab"]);
    evil(&[
        "license",
        "add",
        "--account",
        "example.com",
        "--va",
        "Lab",
        "--tag",
        "network-advantage",
        "--sku",
        "C9300-NW-A",
        "--quantity",
        "10",
        "--type",
        "perpetual",
    ]);
    evil(&["usage", "upload", "--account", "example.com", "--va", "Lab", usage, "--ack", out]);
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
    init_sw1x(&lab, T1);
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
    // Wrong credentials: the row's alert names the 401, nothing is collected; editing fixes it.
    relay(&lab, &["pi", "add", "--host", &host, "--username", "admin", "--password", "wrong"]);
    let out = relay_fails(&lab, &["collect"]);
    assert!(out.contains("authentication refused (HTTP 401)"), "{out}");
    let list: Value = serde_json::from_str(&relay(&lab, &["pi", "list", "--json"])).unwrap();
    let alert = list[0]["alerts"][0].as_str().unwrap_or_default().to_owned();
    assert!(alert.starts_with("COMM FAILED") && alert.contains("HTTP 401"), "{list}");
    let out = relay(&lab, &["export", "--out", "none.tar.gz"]);
    assert!(out.contains("nothing to export"), "nothing was collected: {out}");
    let out = relay(
        &lab,
        &["pi", "edit", "--host", &host, "--username", "admin", "--password", "s3cret"],
    );
    assert!(out.contains("now pulls as admin"), "{out}");
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
    let read = slp_wire::bundle::read_upload(&bundle, "UD_SA.tar.gz").unwrap();
    let manifest = &read.manifest.text;
    assert!(manifest.starts_with("Manifest-Version: 1.0\nCreated-By: {\"uuid\": "), "{manifest}");
    assert!(manifest.contains("\nName: /UD_VA_20261101T100000.tar.gz\n"), "{manifest}");
    assert_eq!(read.files.len(), 1);
    let name = read.files[0].1.clone();
    assert_eq!(name, "dev_C9300X-24HX_FOC2233A5ZV_20261101T100000.xml");
    relay(&lab, &["export", "--format", "xml", "--out", "xml"]);
    assert_eq!(std::fs::read(lab.path(&format!("xml/{name}"))).unwrap(), read.files[0].2);

    // The authority takes the bundle as it is and answers with an ACK bundle.
    authority(&lab);
    let out = upload(&lab, T1, "UD_SA.tar.gz", "ACK_UD_SA.tar.gz");
    assert!(
        out.contains(&format!("{name}: 1 product instance(s), ")),
        "one line per device file: {out}"
    );
    assert!(out.contains("1 device file(s); ACK bundle written to ACK_UD_SA.tar.gz"), "{out}");
    // A bundle with a `../` member is refused by name and stores nothing.
    let evil = {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..11].copy_from_slice(b"../evil.xml");
        header.set_size(0);
        header.set_cksum();
        let mut bytes = header.as_bytes().to_vec();
        bytes.resize(2048, 0);
        bytes
    };
    std::fs::write(lab.path("evil.tar"), evil).unwrap();
    let out = auth_fails(
        &lab,
        T1,
        &["usage", "upload", "--account", "example.com", "--va", "Lab", "evil.tar", "--ack", "x"],
    );
    assert!(out.contains("evil.tar: member \"../evil.xml\": path with `..` refused"), "{out}");
    assert!(!lab.path("x").exists());
    pin_authority_key(&lab);
    let out = relay(&lab, &["import", "ACK_UD_SA.tar.gz"]);
    assert!(out.contains(&format!("ACK_{name}: ACK for {UDI}")), "{out}");
    assert_eq!(pi_row(&lab, UDI)["alerts"], serde_json::json!(["ACK ready"]));

    // The next update installs it on the device.
    let out = relay(&lab, &["collect", "--host", &host]);
    assert!(out.contains("1 answer(s) installed"), "{out}");
    let status = lab.exec("D", T1, &["show license status"]);
    // The running device service keeps its own clock, started at T1 at real speed: under load
    // (a busy CI machine) a second or more may pass before the answer is installed.
    let received = field(&status, "Last ACK received:");
    assert!(received.starts_with("Nov 01 10:0") && received.ends_with(" 2026 UTC"), "{received}");
    // The same clock dates the account information ("As of" the install).
    let account = field(&status, "Smart Account:");
    assert!(account.starts_with("Example Corp As of Nov 01 10:0"), "{account}");
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

/// sw1 in `D` pushing to a disconnected relay (example.com / Lab) that serves from `R`.
fn device_pushing_to_a_disconnected_relay(lab: &Lab) -> Running {
    init_sw1x(lab, T1);
    relay(lab, &["prefs", "set", "--disconnected", "--account", "example.com", "--va", "Lab"]);
    let server =
        start_service(lab, T1, &["relay", "--data", "R", "serve", "--listen", "127.0.0.1:0"]);
    point_at_relay(lab, &server.url);
    server
}

#[test]
fn push_to_a_disconnected_relay_ack_by_file_delivered_on_next_poll() {
    let lab = Lab::new();
    let server = device_pushing_to_a_disconnected_relay(&lab);

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
    // Without a pinned authority key nothing can be verified: refused, saying how to pin.
    let out = relay_fails(&lab, &["import", "ack.xml"]);
    assert!(
        out.contains("ack.xml: no authority key is pinned")
            && out.contains("slp relay prefs set --authority-key"),
        "{out}"
    );
    pin_authority_key(&lab);

    // A forged ACK (a rogue authority's, well signed by its own key): refused by name, UDI and
    // key id; the relay stores nothing and the device, polling, gets nothing.
    rogue_ack(&lab, &format!("xml/{name}"), "evil.xml");
    let out = relay_fails(&lab, &["import", "evil.xml"]);
    assert!(
        out.contains(
            "evil.xml: the answer for PID:C9300X-24HX,SN:FOC2233A5ZV is signed by authority key"
        ) && out.contains("not by the pinned authority key")
            && out.contains("nothing imported"),
        "{out}"
    );
    assert_eq!(pi_row(&lab, UDI)["alerts"], serde_json::json!(["ACK pending"]));
    let out = lab.exec("D", T1, &["license smart sync all", "show license status"]);
    assert_eq!(field(&out, "Last ACK received:"), "<none>", "{out}");
    let rum = lab.exec("D", T1, &["show license rum id all"]);
    assert!(!rum.contains(" ACK "), "no report acknowledged by the forged ACK:\n{rum}");

    // An ACK, genuinely signed, for a product instance this relay never knew: refused, and no
    // inventory row appears.
    lab.ok(
        T1,
        &[
            "device",
            "--state",
            "E",
            "init",
            "--pid",
            "C9300X-24HX",
            "--sn",
            "FOC0000SW2",
            "--hostname",
            "sw2",
        ],
    );
    lab.exec(
        "E",
        T1,
        &[
            "configure terminal",
            "license boot level network-advantage",
            "end",
            "write memory",
            "reload",
        ],
    );
    lab.exec("E", T1, &["license smart save usage all file bootflash:u.txt"]);
    upload(&lab, T1, "E/bootflash/u.txt", "stranger.xml");
    let out = relay_fails(&lab, &["import", "stranger.xml"]);
    assert!(
        out.contains("stranger.xml: the answer is for PID:C9300X-24HX,SN:FOC0000SW2, which is not in the relay's inventory"),
        "{out}"
    );
    assert!(!relay(&lab, &["pi", "list"]).contains("FOC0000SW2"));

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

/// Connected preferences: example.com / Lab at the authority `url`, as API `client`.
fn connect(lab: &Lab, url: &str, client: &Value) {
    relay(
        lab,
        &[
            "prefs",
            "set",
            "--connected",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "--authority-url",
            url,
            "--client-id",
            client["client_id"].as_str().unwrap(),
            "--client-secret",
            client["client_secret"].as_str().unwrap(),
        ],
    );
}

/// A reporter API client of example.com: (id, secret).
fn reporter_client(lab: &Lab) -> Value {
    serde_json::from_str(&auth(
        lab,
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
    .unwrap()
}

#[test]
fn push_through_a_connected_relay_to_the_authority_api() {
    let lab = Lab::new();
    authority(&lab);
    let client = reporter_client(&lab);
    let authority_server =
        start_service(&lab, T1, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    connect(&lab, &authority_server.url, &client);
    // A long timer: forwarding happens when the test says so (`slp relay sync`).
    let relay_server = start_service(
        &lab,
        T1,
        &["relay", "--data", "R", "serve", "--listen", "127.0.0.1:0", "--sync-interval", "86400"],
    );
    init_sw1x(&lab, T1);
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

/// Re-points the running device in `D` at the relay at `url` (no reload).
fn repoint(lab: &Lab, url: &str) {
    lab.exec(
        "D",
        T1,
        &["configure terminal", &format!("license smart url cslu {url}/cslu/v1/pi"), "end"],
    );
}

fn tick(lab: &Lab, advance_secs: i64) -> String {
    if advance_secs > 0 {
        control(lab, "D", "/slp/v1/clock", serde_json::json!({ "advance_secs": advance_secs }));
    }
    control(lab, "D", "/slp/v1/tick", serde_json::json!({}))["messages"].to_string()
}

/// Topology 1 under failure: the relay goes down under a pushing device, then the authority goes
/// down under the relay; both come back on their data directories. The device says
/// COMM_FAILED and COMM_RESTORED, the relay keeps what it holds and says why it could not
/// forward, and in the end every report reaches the pool exactly once.
#[test]
fn relay_and_authority_stop_and_restart_nothing_lost_nothing_counted_twice() {
    let lab = Lab::new();
    authority(&lab);
    let client = reporter_client(&lab);
    let serve_authority = || {
        start_service(&lab, T1, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"])
    };
    let serve_relay = || {
        start_service(
            &lab,
            T1,
            &[
                "relay",
                "--data",
                "R",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--sync-interval",
                "86400",
            ],
        )
    };
    let authority_server = serve_authority();
    connect(&lab, &authority_server.url, &client);
    let relay_server = serve_relay();
    init_sw1x(&lab, T1);
    point_at_relay(&lab, &relay_server.url);
    let _device = start_service(
        &lab,
        T1,
        &["device", "--state", "D", "run", "--mgmt", "127.0.0.1:0", "--manual-ticks"],
    );

    // 1. The relay is down when the first report is due: COMM_FAILED, retried later.
    drop(relay_server);
    let messages = tick(&lab, 180);
    assert!(messages.contains("%SMART_LIC-3-COMM_FAILED"), "{messages}");
    assert_eq!(tick(&lab, 0), "[]", "no retry before it is due");
    let status = lab.exec("D", T1, &["show license status"]);
    assert_eq!(field(&status, "Last report push:"), "<none>", "{status}");

    // 2. The relay comes back on its data directory (a new port): the retry gets through.
    let relay_server = serve_relay();
    repoint(&lab, &relay_server.url);
    let messages = tick(&lab, 300);
    assert!(messages.contains("%SMART_LIC-3-COMM_RESTORED"), "{messages}");
    let row = pi_row(&lab, UDI);
    assert_eq!(row["alerts"], serde_json::json!(["ACK pending"]), "{row}");

    // 3. The authority is down when the relay forwards: a clear failure, the document kept.
    drop(authority_server);
    let out = relay_fails(&lab, &["sync"]);
    assert!(out.contains("%SMART_LIC-3-COMM_FAILED"), "{out}");
    assert!(out.contains("sent 0 document(s)"), "{out}");
    let alerts = pi_row(&lab, UDI)["alerts"].to_string();
    assert!(
        alerts.contains("COMM FAILED: authority") && alerts.contains("ACK pending"),
        "{alerts}"
    );

    // 4. The authority comes back on its database (a new port): forwarded once, answered.
    let authority_server = serve_authority();
    relay(&lab, &["prefs", "set", "--authority-url", &authority_server.url]);
    let out = relay(&lab, &["sync"]);
    assert!(out.contains("sent 1 document(s) to the authority, received 1 answer(s)"), "{out}");
    assert_eq!(pi_row(&lab, UDI)["alerts"], serde_json::json!(["ACK ready"]));
    // The device's next poll brings the ACK home.
    tick(&lab, i64::try_from(slp_relay::POLL_INTERVAL_SECS).unwrap());
    let status = lab.exec("D", T1, &["show license status"]);
    assert_ne!(field(&status, "Last ACK received:"), "<none>", "{status}");
    assert_reports_acked(&lab);

    // 5. Nothing twice: another sync sends nothing, a forced device sync is recognised, and
    // the authority accepted each report once.
    assert!(relay(&lab, &["sync"]).contains("sent 0 document(s)"));
    let events: Value = serde_json::from_str(&auth(
        &lab,
        T1,
        &["event", "list", "--account", "example.com", "--va", "Lab", "--json"],
    ))
    .unwrap();
    let accepted: u64 = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["message"].as_str())
        .filter_map(|m| {
            m.split_once(" RUM report(s) accepted").map(|(n, _)| n.parse::<u64>().unwrap())
        })
        .sum();
    let rum = lab.exec("D", T1, &["show license rum id all"]);
    let closed =
        rum.lines().filter(|l| l.starts_with(char::is_numeric) && !l.contains("OPEN")).count();
    assert_eq!(
        accepted,
        u64::try_from(closed).unwrap(),
        "each report accepted once:\n{rum}\n{events}"
    );
    assert_eq!(
        pool_figures(&lab, T1, "network-advantage"),
        ["10", "1", "9"],
        "purchased, in use, balance"
    );
    drop(relay_server);
    drop(authority_server);
}

/// "Authorization Code Request" through a disconnected relay: the relay writes the request CSV,
/// the authority generates the codes for every line (all or nothing), the relay imports the
/// codes CSV and the device installs its SLAC on its next poll.
#[test]
fn slac_request_csv_codes_csv_and_install_through_a_disconnected_relay() {
    let lab = Lab::new();
    let server = device_pushing_to_a_disconnected_relay(&lab);
    lab.exec("D", T1, &["license smart sync all"]);

    let out = relay(&lab, &["pi", "auth-request", "--out", "req.csv"]);
    assert!(out.contains(UDI) && out.contains("for 1 UDI(s) written to req.csv"), "{out}");
    assert_eq!(lab.read("req.csv"), "PID,Serial Number\r\nC9300X-24HX,FOC2233A5ZV\r\n");
    let out = relay_fails(&lab, &["pi", "auth-request", "--udi", "PID:X,SN:Y", "--out", "x.csv"]);
    assert!(out.contains("PID:X,SN:Y is not in the inventory"), "{out}");

    authority(&lab);
    fn generate<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "authority",
            "--data",
            "A",
            "slac",
            "generate",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "--license",
            "hseck9",
        ];
        args.extend_from_slice(extra);
        args
    }
    // A request file with no device, and more keys than the pool holds: refused, nothing
    // reserved.
    std::fs::write(lab.path("empty.csv"), "PID,Serial Number\r\n").unwrap();
    let out = lab.fails(T1, &generate(&["--csv", "empty.csv", "--out", "codes.csv"]));
    assert!(out.contains("names no device to generate a code for"), "{out}");
    let out = lab.fails(T1, &generate(&["--count", "3", "--csv", "req.csv", "--out", "codes.csv"]));
    assert!(
        out.contains("not enough hseck9 licenses in virtual account \"Lab\" for PID:C9300X-24HX,SN:FOC2233A5ZV: requested 3, available 2"),
        "{out}"
    );
    assert!(!lab.path("codes.csv").exists());
    let out = lab.ok(T1, &generate(&["--csv", "req.csv", "--out", "codes.csv"]));
    assert!(out.contains(&format!("authorization code for {UDI}: 1 x hseck9")), "{out}");
    let licenses = auth(&lab, T1, &["license", "list", "--account", "example.com", "--va", "Lab"]);
    let hsec: Vec<&str> =
        licenses.lines().find(|l| l.starts_with("hseck9")).unwrap().split_whitespace().collect();
    assert!(hsec.contains(&"1"), "one key reserved: {licenses}");

    // A code edited after signing is refused by line; nothing imported.
    let codes = lab.read("codes.csv");
    std::fs::write(lab.path("bad.csv"), codes.replacen("hseck9", "hseck8", 1)).unwrap();
    pin_authority_key(&lab);
    let out = relay_fails(&lab, &["import", "bad.csv"]);
    assert!(out.contains("bad.csv: line 2"), "{out}");

    let out = relay(&lab, &["import", "codes.csv"]);
    assert!(out.contains(&format!("line 2: ACK for {UDI}")), "{out}");
    let alerts = pi_row(&lab, UDI)["alerts"].to_string();
    assert!(alerts.contains("Authorization message received from CSSM"), "{alerts}");
    let out = lab.exec("D", T1, &["license smart sync all", "show license authorization"]);
    assert!(out.contains("%SMART_LIC-6-AUTHORIZATION_INSTALL_SUCCESS"), "{out}");
    assert!(!pi_row(&lab, UDI)["alerts"].to_string().contains("Authorization message"));

    // One device without a relay: --udi writes the code file the device imports.
    lab.ok(T1, &generate(&["--udi", "PID:C9300X-24HX,SN:FOC9", "--out", "slac.txt"]));
    assert!(lab.read("slac.txt").contains("<smartLicenseAuthorization>"));
    drop(server);
}

/// The authority's device key id for `UDI` (`pi list --json`).
fn authority_key_of(lab: &Lab) -> String {
    let out = auth(lab, T1, &["pi", "list", "--account", "example.com", "--va", "Lab", "--json"]);
    let rows: Value = serde_json::from_str(&out).unwrap();
    let row = rows.as_array().unwrap().iter().find(|r| r["udi"] == UDI).unwrap();
    row["key_id"].as_str().unwrap().to_owned()
}

/// Defect 1 through a relay: a second device with the genuine one's PID/SN pushes its own key's
/// trust request to a connected relay; the relay, which bound the UDI to the genuine key at its
/// first push, refuses it, nothing changes at the authority, and the genuine device keeps
/// reporting through the same relay.
#[test]
fn a_device_pushed_through_a_relay_cannot_take_over_a_bound_udi() {
    let lab = Lab::new();
    authority(&lab);
    let client = reporter_client(&lab);
    let authority_server =
        start_service(&lab, T1, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    connect(&lab, &authority_server.url, &client);
    let relay_server = start_service(
        &lab,
        T1,
        &["relay", "--data", "R", "serve", "--listen", "127.0.0.1:0", "--sync-interval", "86400"],
    );
    init_sw1x(&lab, T1);
    point_at_relay(&lab, &relay_server.url);
    lab.exec("D", T1, &["license smart sync all"]);
    relay(&lab, &["sync"]);
    let out = lab.exec("D", T1, &["license smart sync all", "show license status"]);
    assert_ne!(field(&out, "Trust Code Installed:"), "<none>", "{out}");
    let genuine = authority_key_of(&lab);
    let events_before = auth(&lab, T1, &["event", "list", "--account", "example.com", "--json"]);

    // The impostor pushes to the same relay.
    lab.ok(
        T1,
        &[
            "device",
            "--state",
            "E",
            "init",
            "--pid",
            "C9300X-24HX",
            "--sn",
            "FOC2233A5ZV",
            "--hostname",
            "impostor",
        ],
    );
    // Later than the genuine device's reports, so that its report ids are its own (the relay
    // stores a document once per UDI and content).
    let later = "2026-11-01T10:07:00Z";
    lab.exec(
        "E",
        later,
        &[
            "configure terminal",
            "license boot level network-advantage",
            "license smart transport cslu",
            &format!("license smart url cslu {}/cslu/v1/pi", relay_server.url),
            "end",
            "write memory",
            "reload",
        ],
    );
    // The relay bound the UDI to the genuine device's key at its first push: it refuses the
    // impostor itself, with no poll id (so no answer of the genuine device), naming the keys.
    let pushed = lab.exec("E", later, &["license smart sync all", "show license status"]);
    assert!(
        pushed.contains("% Error")
            && pushed.contains("is bound to device key")
            && pushed.contains("slp relay pi rebind --udi PID:C9300X-24HX,SN:FOC2233A5ZV"),
        "the relay refuses the push: {pushed}"
    );
    // A careless operator lets the new key in at the relay: the authority still refuses it.
    relay(&lab, &["pi", "rebind", "--udi", "PID:C9300X-24HX,SN:FOC2233A5ZV"]);
    let pushed = lab.exec("E", later, &["license smart sync all", "show license status"]);
    assert!(!pushed.contains("% Error"), "the relay takes the push now: {pushed}");
    let out = lab.run(T1, &["relay", "--data", "R", "sync"]);
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("is bound to device key") && text.contains(&genuine),
        "the relay reports the authority's refusal: {text}"
    );
    assert_eq!(authority_key_of(&lab), genuine, "the binding is unchanged");
    let events = auth(&lab, T1, &["event", "list", "--account", "example.com", "--json"]);
    assert_eq!(events, events_before, "nothing was logged, nothing changed");
    let out = lab.exec("E", later, &["license smart sync all", "show license status"]);
    assert_eq!(field(&out, "Trust Code Installed:"), "<none>", "{out}");

    // The genuine device still reports through the relay (re-bound there) and gets its ACK.
    relay(&lab, &["pi", "rebind", "--udi", "PID:C9300X-24HX,SN:FOC2233A5ZV"]);
    lab.exec(
        "D",
        T1,
        &["configure terminal", "license boot level network-essentials", "end", "reload"],
    );
    lab.exec("D", T1, &["license smart sync all"]);
    let out = lab.run(T1, &["relay", "--data", "R", "sync"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("received 1 answer(s)") || text.contains("received 2 answer(s)"),
        "{text}"
    );
    let out = lab.exec("D", T1, &["license smart sync all", "show license status"]);
    assert_eq!(field(&out, "Last ACK received:"), "Nov 01 10:00:00 2026 UTC", "{out}");
    assert_eq!(authority_key_of(&lab), genuine);
    drop(relay_server);
    drop(authority_server);
}
