//! The device's HTTPS server (`slp device run --https`): RESTCONF and `/smartlic-service/*`,
//! driven with Python `requests` over HTTPS, verifying the device's own self-signed certificate
//! (`<state>/https-cert.pem`) as a client that was given it would.
//!
//! The Python with `requests` is named by `SLP_GENIE_PYTHON` (`.ci/run` installs it). Without
//! it the test fails under CI and is skipped, saying so, on a developer machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::util::{Lab, Running, T0, init_sw1};

const USER: &str = "admin";
const PASSWORD: &str = "s3cret-pw";

/// Configures `lines` on the device in `D` (`configure terminal` … `end`).
fn configure(lab: &Lab, lines: &[&str]) {
    let mut commands = vec!["configure terminal"];
    commands.extend_from_slice(lines);
    commands.push("end");
    lab.exec("D", T0, &commands);
}

/// sw1 with a privilege 15 user, the HTTPS server, local authentication and RESTCONF.
fn sw1_with_restconf(lab: &Lab) {
    init_sw1(lab, T0);
    let user = format!("username {USER} privilege 15 secret {PASSWORD}");
    configure(lab, &[&user, "ip http secure-server", "ip http authentication local", "restconf"]);
}

/// `slp device --state D run --https 127.0.0.1:0`: the service and its HTTPS base URL.
fn run_https(lab: &Lab) -> (Running, String) {
    use std::io::{BufRead, BufReader};
    let child = Command::new(env!("CARGO_BIN_EXE_slp"))
        .current_dir(lab.dir.path())
        .args(["--now", T0, "device", "--state", "D", "run", "--manual-ticks"])
        .args(["--mgmt", "127.0.0.1:0", "--https", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the device");
    // Killed and waited for on drop, whatever happens below.
    let mut running = Running { child, url: String::new() };
    let mut reader = BufReader::new(running.child.stdout.take().expect("stdout"));
    let mut https = None;
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).expect("read the addresses");
        if let Some(url) = line.trim().strip_prefix("https on ") {
            https = Some(url.to_owned());
        }
        if let Some(url) = line.trim().strip_prefix("listening on ") {
            running.url = url.to_owned();
            let https = https.expect("an `https on …` line before `listening on`");
            return (running, https);
        }
        assert!(!line.is_empty(), "the device exited before it listened");
    }
}

/// One request for the driver: method, path, headers, body, with the admin's credentials.
fn req(method: &str, path: &str, headers: Value, body: Option<&str>) -> Value {
    json!({"method": method, "path": path, "headers": headers, "body": body, "auth": [USER, PASSWORD]})
}

/// Performs `requests` in order with Python `requests` against `base`, verifying the server
/// with the device's certificate file; their results (status, headers, text, json).
fn drive(lab: &Lab, base: &str, requests: Vec<Value>) -> Option<Vec<Value>> {
    let python = crate::util::client_python("requests")?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/restconf_requests.py");
    let cert = lab.path("D/https-cert.pem");
    let job = json!({"base": base, "verify": cert, "requests": requests});
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the requests driver");
    {
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(job.to_string().as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("driver output");
    assert!(
        out.status.success(),
        "the requests driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let response: Value = serde_json::from_slice(&out.stdout).expect("driver JSON");
    Some(response["results"].as_array().expect("results").clone())
}

fn state_json(lab: &Lab) -> Value {
    serde_json::from_str(&lab.read("D/state.json")).expect("state.json")
}

const JSON: &str = "application/yang-data+json";
const XML: &str = "application/yang-data+xml";

/// The first (only) error of an `ietf-restconf:errors` JSON document.
fn error_of(result: &Value) -> &Value {
    &result["json"]["ietf-restconf:errors"]["error"][0]
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

#[test]
fn https_serves_restconf_root_host_meta_smartlic_and_rfc_errors_on_its_own_certificate() {
    let lab = Lab::new();
    sw1_with_restconf(&lab);
    let (device, base) = run_https(&lab);
    // The device's own certificate, kept in the state directory, its key owner-only.
    let cert = lab.read("D/https-cert.pem");
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
    #[cfg(unix)]
    assert_eq!(mode(&lab.path("D/https-key.pem")), 0o600);
    let mut bad_password = req("GET", "/restconf", json!({"Accept": JSON}), None);
    bad_password["auth"] = json!([USER, "wrong"]);
    let mut anonymous = req("GET", "/restconf", json!({"Accept": XML}), None);
    anonymous["auth"] = Value::Null;
    let Some(results) = drive(
        &lab,
        &base,
        vec![
            req("GET", "/.well-known/host-meta", json!({}), None),
            req("GET", "/restconf", json!({"Accept": JSON}), None),
            req("GET", "/restconf", json!({"Accept": "application/xml"}), None),
            bad_password,
            anonymous,
            req("GET", "/restconf/data/cisco-smart-license:nothing", json!({"Accept": JSON}), None),
            req(
                "GET",
                "/restconf/data/cisco-smart-license:licensing",
                json!({"Accept": "text/html"}),
                None,
            ),
            req("DELETE", "/restconf", json!({"Accept": JSON}), None),
            req(
                "GET",
                "/restconf/data/ietf-yang-library:modules-state",
                json!({"Accept": JSON}),
                None,
            ),
            req(
                "GET",
                "/restconf/data/cisco-smart-license:licensing?depth=zero",
                json!({"Accept": JSON}),
                None,
            ),
            req("GET", "/smartlic-service/list", json!({}), None),
        ],
    ) else {
        return;
    };
    let [host_meta, root_json, root_xml, wrong, none, unknown, html, delete, library, depth, list] =
        &results[..]
    else {
        panic!("{results:?}")
    };
    assert_eq!(host_meta["status"], 200, "{host_meta}");
    assert!(
        host_meta["text"].as_str().unwrap().contains("<Link rel='restconf' href='/restconf'/>"),
        "{host_meta}"
    );
    assert_eq!(root_json["status"], 200, "{root_json}");
    assert_eq!(root_json["headers"]["content-type"], JSON);
    assert_eq!(root_json["json"]["ietf-restconf:restconf"]["yang-library-version"], "2016-06-21");
    assert_eq!(root_xml["headers"]["content-type"], XML);
    assert!(
        root_xml["text"]
            .as_str()
            .unwrap()
            .contains("<restconf xmlns=\"urn:ietf:params:xml:ns:yang:ietf-restconf\">"),
        "{root_xml}"
    );
    // A wrong password: 401, the Basic challenge, an RFC 8040 error.
    assert_eq!(wrong["status"], 401, "{wrong}");
    assert_eq!(wrong["headers"]["www-authenticate"], "Basic realm=\"restconf\"");
    assert_eq!(error_of(wrong)["error-tag"], "access-denied", "{wrong}");
    assert_eq!(error_of(wrong)["error-type"], "protocol", "{wrong}");
    // No credentials, XML asked for: the errors in XML.
    assert_eq!(none["status"], 401, "{none}");
    let text = none["text"].as_str().unwrap();
    assert!(
        text.contains("<errors xmlns=\"urn:ietf:params:xml:ns:yang:ietf-restconf\">"),
        "{text}"
    );
    assert!(text.contains("<error-tag>access-denied</error-tag>"), "{text}");
    assert_eq!(unknown["status"], 404, "{unknown}");
    assert_eq!(error_of(unknown)["error-tag"], "invalid-value", "{unknown}");
    assert_eq!(error_of(unknown)["error-path"], "/cisco-smart-license:nothing", "{unknown}");
    assert_eq!(html["status"], 406, "{html}");
    assert_eq!(delete["status"], 405, "{delete}");
    assert_eq!(delete["headers"]["allow"], "GET, HEAD, OPTIONS");
    assert_eq!(error_of(delete)["error-tag"], "operation-not-supported", "{delete}");
    let module = &library["json"]["ietf-yang-library:modules-state"]["module"][0];
    assert_eq!(module["name"], "cisco-smart-license", "{library}");
    assert_eq!(module["revision"], "2021-03-01", "{library}");
    assert_eq!(depth["status"], 400, "{depth}");
    assert!(error_of(depth)["error-message"].as_str().unwrap().contains("depth"), "{depth}");
    // /smartlic-service/* on the same server, the same users.
    assert_eq!(list["status"], 200, "{list}");
    assert!(list["json"]["usage_list"].is_array(), "{list}");

    // Failed logins are limited per name, as on every slp server: an RFC 8040 error too.
    let guesses: Vec<Value> = (0..11)
        .map(|n| {
            let mut guess = req("GET", "/restconf", json!({"Accept": JSON}), None);
            guess["auth"] = json!(["intruder", format!("guess{n}")]);
            guess
        })
        .collect();
    let results = drive(&lab, &base, guesses).unwrap();
    assert_eq!(results[0]["status"], 401, "{}", results[0]);
    let last = &results[10];
    assert_eq!(last["status"], 429, "{last}");
    assert_eq!(error_of(last)["error-tag"], "resource-denied", "{last}");
    assert!(last["headers"]["retry-after"].is_string(), "{last}");

    // `no restconf`: RESTCONF is gone, the HTTPS server and /smartlic-service/* stay.
    configure(&lab, &["no restconf"]);
    let results = drive(
        &lab,
        &base,
        vec![
            req("GET", "/restconf", json!({"Accept": JSON}), None),
            req("GET", "/smartlic-service/list", json!({}), None),
        ],
    )
    .unwrap();
    assert_eq!(results[0]["status"], 404, "{}", results[0]);
    let message = error_of(&results[0])["error-message"].as_str().unwrap();
    assert!(message.contains("configure `restconf`"), "{message}");
    assert_eq!(results[1]["status"], 200, "{}", results[1]);
    // `no ip http secure-server`: nothing is served.
    configure(&lab, &["no ip http secure-server"]);
    let results =
        drive(&lab, &base, vec![req("GET", "/smartlic-service/list", json!({}), None)]).unwrap();
    assert_eq!(results[0]["status"], 503, "{}", results[0]);
    assert!(
        results[0]["json"]["message"].as_str().unwrap().contains("ip http secure-server"),
        "{}",
        results[0]
    );
    drop(device);

    // A restart serves the same certificate.
    configure(&lab, &["ip http secure-server", "restconf"]);
    let (_device, base) = run_https(&lab);
    assert_eq!(lab.read("D/https-cert.pem"), cert);
    let results = drive(&lab, &base, vec![req("GET", "/restconf", json!({}), None)]).unwrap();
    assert_eq!(results[0]["status"], 200, "{}", results[0]);
    let _ = state_json(&lab);
}

/// The in-use report of `feature` in state.json's ledger.
fn report_of<'a>(state: &'a Value, feature: &str) -> &'a Value {
    state["ledger"]["reports"]
        .as_object()
        .unwrap()
        .values()
        .find(|r| r["feature"] == feature)
        .unwrap_or_else(|| panic!("no {feature} report in {}", state["ledger"]))
}

#[test]
fn restconf_reads_the_model_edits_the_config_and_runs_an_rpc_as_the_cli_would() {
    let lab = Lab::new();
    sw1_with_restconf(&lab);
    let (_device, base) = run_https(&lab);
    let udi = "/restconf/data/cisco-smart-license:licensing/state/state-info/udi";
    let usage = "/restconf/data/cisco-smart-license:licensing/state/state-info/usage";
    let transport = "/restconf/data/cisco-smart-license:licensing/config/transport";
    let saved = lab.path("usage-all.txt");
    let save = json!({"cisco-smart-license:input": {"file-path": saved}}).to_string();
    let json_body = json!({"Accept": JSON, "Content-Type": JSON});
    let Some(results) = drive(
        &lab,
        &base,
        vec![
            req("GET", udi, json!({"Accept": JSON}), None),
            req("GET", udi, json!({"Accept": XML}), None),
            req("GET", usage, json!({"Accept": "application/json"}), None),
            // Off first: a transport the running configuration shows.
            req(
                "PATCH",
                transport,
                json_body.clone(),
                Some(
                    r#"{"cisco-smart-license:transport": {"transport-type": "transport-type-off"}}"#,
                ),
            ),
            req("GET", &format!("{transport}?content=config"), json!({"Accept": JSON}), None),
            req(
                "POST",
                "/restconf/operations/cisco-smart-license:rum-save-usage-all",
                json_body.clone(),
                Some(&save),
            ),
            req(
                "GET",
                "/restconf/data/cisco-smart-license:licensing?depth=2",
                json!({"Accept": JSON}),
                None,
            ),
        ],
    ) else {
        return;
    };
    let state = state_json(&lab);
    // The UDI, in JSON and in XML, is the device's.
    assert_eq!(results[0]["status"], 200, "{}", results[0]);
    let got = &results[0]["json"]["cisco-smart-license:udi"];
    assert_eq!(got["pid"], state["units"][0]["udi"]["pid"], "{}", results[0]);
    assert_eq!(got["sn"], state["units"][0]["udi"]["sn"], "{}", results[0]);
    let xml = results[1]["text"].as_str().unwrap();
    assert_eq!(results[1]["headers"]["content-type"], XML);
    assert!(xml.contains("<udi xmlns=\"http://cisco.com/ns/yang/cisco-smart-license\">"), "{xml}");
    assert!(xml.contains("<sn>FOC2233A5ZV</sn>"), "{xml}");
    // Usage: the entitlement in use and its count, as the ledger has them.
    let report = report_of(&state, "network-essentials");
    let entries = results[2]["json"]["cisco-smart-license:usage"].as_array().unwrap();
    let entry = entries
        .iter()
        .find(|e| e["entitlement-tag"] == report["entitlement_tag"])
        .unwrap_or_else(|| panic!("{}", results[2]));
    assert_eq!(entry["count"], report["count"], "{entry}");
    assert_eq!(entry["short-name"], "network-essentials", "{entry}");
    // PATCH: the transport is off in state.json, the running configuration and a read.
    assert_eq!(results[3]["status"], 204, "{}", results[3]);
    assert_eq!(state["running"]["transport"], "Off", "{}", state["running"]);
    let running = lab.exec("D", T0, &["show running-config"]);
    assert!(running.contains("license smart transport off"), "{running}");
    assert_eq!(
        results[4]["json"]["cisco-smart-license:transport"]["transport-type"], "transport-type-off",
        "{}",
        results[4]
    );
    // The RPC ran `license smart save usage all file …`: the file holds the ledger's report.
    assert_eq!(results[5]["status"], 200, "{}", results[5]);
    assert_eq!(results[5]["json"]["cisco-smart-license:output"]["return-code"], "success");
    let file = std::fs::read_to_string(&saved).expect("the RPC's usage file");
    assert!(file.contains(&report["id"].to_string()), "{file}");
    // depth=2: licensing's children, empty.
    assert_eq!(
        results[6]["json"],
        json!({"cisco-smart-license:licensing": {"config": {}, "state": {}}})
    );

    // PATCH the CSLU transport and its URL; a bad value and a bad body change nothing.
    let cslu = r#"{"cisco-smart-license:transport": {"transport-type": "transport-type-cslu",
        "transport-cslu": {"url-cslu": "http://cslu.example.com:8182/cslu/v1/pi"}}}"#;
    let results = drive(
        &lab,
        &base,
        vec![
            req("PATCH", transport, json_body.clone(), Some(cslu)),
            req(
                "PATCH",
                transport,
                json_body.clone(),
                Some(r#"{"cisco-smart-license:transport": {"transport-type": "pigeon"}}"#),
            ),
            req("PATCH", transport, json_body.clone(), Some("{not json")),
            req("PUT", transport, json!({"Accept": JSON, "Content-Type": "text/plain"}), Some("x")),
            req(
                "PATCH",
                "/restconf/data/cisco-smart-license:licensing/state",
                json_body.clone(),
                Some(r#"{"cisco-smart-license:state": {}}"#),
            ),
            req(
                "POST",
                "/restconf/operations/cisco-smart-license:no-such-rpc",
                json_body.clone(),
                None,
            ),
            // An XML body: the hostname is kept private.
            req(
                "PATCH",
                "/restconf/data/cisco-smart-license:licensing/config/privacy",
                json!({"Content-Type": XML}),
                Some(r#"<privacy xmlns="http://cisco.com/ns/yang/cisco-smart-license"><hostname>true</hostname></privacy>"#),
            ),
            req(
                "GET",
                "/restconf/data/cisco-smart-license:licensing?content=nonconfig&depth=2",
                json!({"Accept": JSON}),
                None,
            ),
        ],
    )
    .unwrap();
    assert_eq!(results[6]["status"], 204, "{}", results[6]);
    assert_eq!(results[7]["json"], json!({"cisco-smart-license:licensing": {"state": {}}}));
    assert_eq!(results[0]["status"], 204, "{}", results[0]);
    assert_eq!(results[1]["status"], 400, "{}", results[1]);
    assert_eq!(error_of(&results[1])["error-tag"], "invalid-value");
    assert_eq!(
        error_of(&results[1])["error-path"],
        "/cisco-smart-license:licensing/config/transport/transport-type"
    );
    assert!(error_of(&results[1])["error-message"].as_str().unwrap().contains("pigeon"));
    assert_eq!(results[2]["status"], 400, "{}", results[2]);
    assert_eq!(error_of(&results[2])["error-tag"], "malformed-message");
    assert_eq!(results[3]["status"], 415, "{}", results[3]);
    assert_eq!(results[4]["status"], 400, "{}", results[4]);
    assert!(error_of(&results[4])["error-message"].as_str().unwrap().contains("config false"));
    assert_eq!(results[5]["status"], 404, "{}", results[5]);
    let state = state_json(&lab);
    assert_eq!(state["running"]["transport"], "Cslu", "{}", state["running"]);
    assert_eq!(
        state["running"]["url_cslu"], "http://cslu.example.com:8182/cslu/v1/pi",
        "{}",
        state["running"]
    );
    let running = lab.exec("D", T0, &["show running-config"]);
    assert!(
        running.contains("license smart url cslu http://cslu.example.com:8182/cslu/v1/pi"),
        "{running}"
    );
    assert!(!running.contains("license smart transport off"), "{running}");
    assert_eq!(state["running"]["privacy_hostname"], true, "{}", state["running"]);
    assert!(running.contains("license smart privacy hostname"), "{running}");
}
