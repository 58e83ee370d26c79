//! NETCONF with the client engineers use: ncclient (`device_params={"name": "iosxe"}`) against a
//! running `slp device run --netconf …`: `get` with a subtree filter on `licensing/state`,
//! `get-config`, `lock`, `edit-config` of the CSLU URL, `unlock`, iosxe's `save_config`, a bad
//! edit refused with its RFC 6241 error, one model RPC through `dispatch`, `close-session`; each
//! checked against the device's state.json.
//!
//! The Python with ncclient is named by `SLP_GENIE_PYTHON` (`.ci/run` installs it). Without it
//! the test fails under CI and is skipped, saying so, on a developer machine.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::util::{Lab, Running, T0, init_sw1};

const NS: &str = "http://cisco.com/ns/yang/cisco-smart-license";

/// `slp device run` with `--netconf` on an OS-chosen port; returns it and the NETCONF address.
fn start_netconf_device(lab: &Lab, state: &str) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slp"))
        .current_dir(lab.dir.path())
        .args(["--now", T0, "device", "--state", state, "run", "--mgmt", "127.0.0.1:0"])
        .args(["--netconf", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the device");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let (mut netconf, mut url) = (None, None);
    while url.is_none() {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).expect("read") > 0, "the device exited early");
        if let Some(addr) = line.trim().strip_prefix("netconf on ") {
            netconf = Some(addr.to_owned());
        }
        if let Some(found) = line.trim().strip_prefix("listening on ") {
            url = Some(found.to_owned());
        }
    }
    let running = Running { child, url: url.unwrap_or_default() };
    (running, netconf.expect("a `netconf on ADDR` line"))
}

fn state_json(lab: &Lab) -> Value {
    serde_json::from_str(&lab.read("D/state.json")).expect("state.json")
}

#[test]
fn ncclient_reads_edits_and_calls_the_smart_license_model() {
    let Some(python) = crate::util::client_python("ncclient") else { return };
    let lab = Lab::new();
    init_sw1(&lab, T0);
    lab.exec(
        "D",
        T0,
        &[
            "configure terminal",
            "username netops privilege 15 secret N3tconf!",
            "netconf-yang",
            "end",
        ],
    );
    let (_device, addr) = start_netconf_device(&lab, "D");
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let url = "http://relay.example.com:8182/cslu/v1/pi";
    let request = json!({
        "host": host, "port": port.parse::<u16>().unwrap(),
        "username": "netops", "password": "N3tconf!", "url_cslu": url,
    });
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/ncclient_drive.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the ncclient driver");
    child.stdin.take().unwrap().write_all(request.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "ncclient failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).expect("driver JSON");

    let caps: Vec<&str> =
        got["capabilities"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(caps.contains(&"urn:ietf:params:netconf:base:1.1"));
    assert!(
        caps.iter().any(|c| c.starts_with(NS) && c.contains("revision=2021-03-01")),
        "{caps:?}"
    );

    let state = state_json(&lab);
    let get = got["get"].as_str().unwrap();
    let pid = state["units"][0]["udi"]["pid"].as_str().unwrap();
    let sn = state["units"][0]["udi"]["sn"].as_str().unwrap();
    assert!(get.contains(&format!("<pid>{pid}</pid>")), "{get}");
    assert!(get.contains(&format!("<sn>{sn}</sn>")), "{get}");
    assert_eq!(state["running"]["transport"], "Cslu");
    assert!(get.contains("<transport-type>transport-type-cslu</transport-type>"), "{get}");
    assert!(get.contains("<policy-type>cisco-default</policy-type>"), "{get}");
    assert!(
        get.contains("<enforcement-mode>enforcement-in-compliance</enforcement-mode>"),
        "{get}"
    );
    assert!(!get.contains("<config>"), "the filter selects state only: {get}");
    let config = got["get_config"].as_str().unwrap();
    assert!(config.contains("<transport-type>transport-type-cslu</transport-type>"));
    assert!(!config.contains("<state>"), "{config}");

    assert_eq!(got["lock_ok"], true);
    assert_eq!(got["edit_ok"], true);
    assert_eq!(got["unlock_ok"], true);
    // ncclient's iosxe `save_config` (cisco-ia) runs `write memory`: startup has the URL too.
    assert!(got["save_config"].as_str().unwrap().contains("Save running-config successful"));
    assert_eq!(state["startup"]["url_cslu"], url);
    assert_eq!(state["running"]["url_cslu"], url, "edit-config reached the running config");
    assert!(
        got["after_get_config"].as_str().unwrap().contains(&format!("<url-cslu>{url}</url-cslu>"))
    );
    assert_eq!(got["bad_edit"]["tag"], "invalid-value", "{}", got["bad_edit"]);
    assert!(got["bad_edit"]["message"].as_str().unwrap().contains("4000"));
    assert_eq!(state["running"]["usage_interval"], Value::Null, "the refused edit changed nothing");

    let rpc = got["rpc"].as_str().unwrap();
    assert!(rpc.contains(">success</return-code>"), "{rpc}");
    assert!(lab.path("D/bootflash/ncclient.txt").is_file(), "the RPC saved the usage file");

    // get-schema (ietf-netconf-monitoring): slp's own rendering of the tree it serves.
    let schema = got["schema"].as_str().expect("get_schema returned the module text");
    assert!(schema.starts_with("module cisco-smart-license {"), "{schema}");
    assert!(schema.contains(&format!("namespace \"{NS}\";")), "{schema}");
    assert!(schema.contains("revision 2021-03-01"), "{schema}");
    assert!(schema.contains("GENERATED by slp"), "not labelled as generated: {schema}");
    assert!(schema.contains("leaf url-cslu {"), "{schema}");
    assert!(schema.contains("rpc rum-save-usage-all {"), "{schema}");
    assert!(schema.contains("enum \"transport-type-cslu\";"), "{schema}");
    assert!(schema.contains("config false;"), "{schema}");
    assert_eq!(schema.matches('{').count(), schema.matches('}').count(), "unbalanced: {schema}");
    assert_eq!(got["bad_schema"]["tag"], "invalid-value", "{}", got["bad_schema"]);
    assert!(caps.iter().any(|c| c.contains("ietf-netconf-monitoring")), "{caps:?}");
}
