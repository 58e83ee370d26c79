//! Commands of the product instance as the configuration guide shows them (issue #18): what a
//! user sees on the CLI, syslog lines included, for SLAC requests and returns, the HSECK9
//! release commands, `write`, trust with an ID token over a factory-installed trust code,
//! `license boot level`, the platforms that offer HSECK9, the policy removed by a factory reset
//! and a peer that cannot take the report.

// Test code: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Mutex;

use slp_device::agent::{Device, InitOptions};
use slp_device::commands::{Mode, Output, Session, Step};
use slp_device::state::StateDir;
use slp_device::uplink::{CommError, Uplink};
use slp_wire::docs::{self, Authorization, Granted};
use slp_wire::keys::KeyPair;
use slp_wire::online::{MessageType, Request, Response};
use slp_wire::rum::Sudi;
use slp_wire::xml::{Document, Kind};

use crate::support::{T0, at, ok, refused};

const HSEC_PID: &str = "C9300X-24HX";
const SN: &str = "FOC2519L8R7";

/// A device of `pid` in `dir`, in privileged EXEC mode.
fn session(dir: &tempfile::TempDir, pid: &str, factory_trust: bool) -> Session {
    let options = InitOptions {
        pid: pid.to_owned(),
        sn: SN.to_owned(),
        hostname: "sw1".to_owned(),
        version: "17.9.4".to_owned(),
        standby: vec![],
        members: vec![],
        boot_level: "network-advantage".to_owned(),
        factory_trust,
        authority_key: None,
    };
    let device = Device::init(StateDir::new(dir.path()), &options, at(T0)).unwrap();
    Session::new(device, Mode::Exec)
}

/// Runs `lines`; every one must succeed. Returns what they printed.
/// Runs `line`, which must be refused; returns what it printed.
/// `Sudi` of the device's active unit.
fn sudi(pid: &str) -> Sudi {
    Sudi { udi_pid: pid.to_owned(), udi_serial_number: SN.to_owned() }
}

/// Installs a SLAC for hseck9 (with return code `return_code`) on the device's active unit from
/// a file signed by `authority`, as `license smart import` does.
fn install_slac(session: &mut Session, authority: &KeyPair, code_id: &str, return_code: &str) {
    let pid = session.device.state.active().udi.pid.clone();
    let doc = slac_doc(authority, &pid, code_id, return_code);
    let path = session.device.dir.resolve(&format!("bootflash:{code_id}.txt")).unwrap();
    std::fs::write(path, doc.to_xml()).unwrap();
    let out = ok(session, &[&format!("license smart import bootflash:{code_id}.txt")]);
    assert!(out.contains("%SMART_LIC-6-AUTHORIZATION_INSTALL_SUCCESS"), "{out}");
}

fn slac_doc(authority: &KeyPair, pid: &str, code_id: &str, return_code: &str) -> Document {
    let hsec = slp_core::license::lookup("hseck9").unwrap();
    let code = Authorization {
        code_id: code_id.to_owned(),
        sudi: sudi(pid),
        issued_at: "2026-11-01T08:00:00Z".to_owned(),
        smart_account: "Example Corp".to_owned(),
        virtual_account: "Lab".to_owned(),
        entitlements: vec![Granted {
            entitlement: hsec.entitlement_tag.to_owned(),
            feature: "hseck9".to_owned(),
            count: 1,
            license_type: "perpetual".to_owned(),
            end_date: None,
        }],
        authority_key: authority.public_b64(),
        return_code: Some(return_code.to_owned()),
    };
    Document {
        reports: vec![],
        items: vec![docs::sign_json(Kind::Authorization, &code, authority)],
    }
}

/// Item 4 (device side): `request replace` is refused while the HSECK9 key of the existing
/// code is in use, with the guide's advice to disable the feature first; `add` does not ask
/// again for a unit whose code already holds the key.
#[test]
fn slac_replace_is_refused_while_the_key_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(&dir, HSEC_PID, false);
    let authority = KeyPair::generate();
    install_slac(&mut s, &authority, "slac-1", "AAAAAA-BBBBBB-CCCCCC-DDDDDD");
    ok(&mut s, &["configure terminal", "interface Tunnel0", "tunnel mode ipsec ipv4", "end"]);

    let text = refused(&mut s, "license smart authorization request replace hseck9 local");
    assert_eq!(
        text,
        "% Error: The HSECK9 key of the existing authorization code on PID:C9300X-24HX,SN:FOC2519L8R7 is in use: first disable the cryptographic feature that uses it and release the key (platform hsec-license-release), then replace the authorization code.\n"
    );
    assert!(s.device.state.pending_auth_request.is_none());
    // Disabled but not released: the key is still in use.
    ok(&mut s, &["configure terminal", "interface Tunnel0", "no tunnel mode ipsec ipv4", "end"]);
    refused(&mut s, "license smart authorization request replace hseck9 local");
    let out = ok(&mut s, &["configure terminal", "platform hsec-license-release", "end"]);
    assert_eq!(
        out,
        "Enter configuration commands, one per line.  End with CNTL/Z.\nHSEC license is released\n"
    );
    ok(&mut s, &["license smart authorization request replace hseck9 local"]);
    assert!(s.device.state.pending_auth_request.as_ref().is_some_and(|r| r.replace));

    // The installed code holds the key already: `add` would get a second code for it.
    let text = refused(&mut s, "license smart authorization request add hseck9 local");
    assert!(text.contains("already holds the hseck9 key") && text.contains("replace"), "{text}");
}

/// Item 5: a factory reset removes the installed policy and says so with the guide's message;
/// the Cisco default policy is in effect again.
#[test]
fn factory_reset_logs_policy_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(&dir, HSEC_PID, false);
    let authority = KeyPair::generate();
    let mut policy = slp_core::policy::Policy::cisco_default();
    policy.name = "Custom Policy".to_owned();
    policy.origin = slp_core::policy::PolicyOrigin::Customer;
    let doc = docs::PolicyDoc::from_policy(
        &policy,
        "2026-11-01T08:00:00Z".to_owned(),
        "Example Corp",
        "Lab",
        authority.public_b64(),
    );
    let doc =
        Document { reports: vec![], items: vec![docs::sign_json(Kind::Policy, &doc, &authority)] };
    std::fs::write(s.device.dir.resolve("bootflash:policy.xml").unwrap(), doc.to_xml()).unwrap();
    let out = ok(&mut s, &["license smart import bootflash:policy.xml"]);
    assert!(out.contains("%SMART_LIC-6-POLICY_INSTALL_SUCCESS"), "{out}");
    let all = ok(&mut s, &["show license all"]);
    assert!(all.contains("  Policy name: Custom Policy\n"), "{all}");

    let out = ok(&mut s, &["license smart factory reset"]);
    assert_eq!(out, "%SMART_LIC-3-POLICY_REMOVED: The licensing policy has been removed.\n");
    let all = ok(&mut s, &["show license all"]);
    assert!(!all.contains("Custom Policy"), "{all}");
    assert!(all.contains("  Reporting ACK required: yes (CISCO default)"), "{all}");
    // Nothing was installed this time: nothing to say.
    assert_eq!(ok(&mut s, &["license smart factory reset"]), "");
}

/// A peer at `127.0.0.1:<port>` that answers every request with `404 Not Found` and no body,
/// as a CSLU or SSM On-Prem without the Smart Licensing Using Policy endpoint does.
fn down_rev_peer() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 65536];
            let mut seen = Vec::new();
            // Read the headers and the body the Content-Length announces.
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&seen).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if seen.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    port
}

/// Item 5: a CSLU or SSM On-Prem that cannot take the report (it has no reporting endpoint for
/// Smart Licensing Using Policy) makes the device log `%SMART_LIC-4-REPORTING_NOT_SUPPORTED`
/// with the guide's text and keep its reports; CSSM answering the same way is a communication
/// failure.
#[test]
fn a_down_rev_on_prem_gets_reporting_not_supported() {
    let port = down_rev_peer();
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(&dir, HSEC_PID, false);
    ok(
        &mut s,
        &[
            "configure terminal",
            "license smart transport cslu",
            &format!("license smart url cslu http://127.0.0.1:{port}/cslu/v1/pi/tenant1"),
            "end",
        ],
    );
    let out = ok(&mut s, &["license smart sync local"]);
    assert_eq!(
        out,
        "%SMART_LIC-4-REPORTING_NOT_SUPPORTED: The CSSM OnPrem that this product instance is connected to is down rev and does not support the enhanced policy and usage reporting mode.\n"
    );
    assert!(s.device.state.last_push.is_none(), "nothing counts as sent");
    assert!(
        s.device
            .state
            .ledger
            .reports
            .values()
            .all(|r| r.state != slp_core::ledger::ReportState::Pending),
        "the reports stay on the device"
    );

    ok(
        &mut s,
        &[
            "configure terminal",
            "license smart transport smart",
            &format!("license smart url smart http://127.0.0.1:{port}/licservice/license"),
            "end",
        ],
    );
    let out = ok(&mut s, &["license smart sync local"]);
    assert!(out.starts_with("%SMART_LIC-3-COMM_FAILED: Communications failure with the Cisco Smart Software Manager (CSSM) : HTTP 404"), "{out}");
}

/// Item 6: the HSECK9 release commands are global configuration commands that print `HSEC
/// license is released`, each on the platforms whose cryptographic feature it releases.
#[test]
fn hsec_release_is_a_global_configuration_command_of_its_platforms() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(&dir, HSEC_PID, false);
    // Not an EXEC command.
    let text = refused(&mut s, "platform hsec-license-release");
    assert!(text.contains("% Invalid input detected at '^' marker."), "{text}");
    ok(&mut s, &["configure terminal"]);
    assert_eq!(ok(&mut s, &["platform hsec-license-release"]), "HSEC license is released\n");
    // IPsec platform: no WAN MACsec command.
    let text = refused(&mut s, "platform wanmacsec hsec-license-release");
    assert!(text.contains("% Invalid input detected at '^' marker."), "{text}");
    let help = s.help("platform ?");
    assert!(help.contains("hsec-license-release") && !help.contains("wanmacsec"), "{help}");

    let dir = tempfile::tempdir().unwrap();
    let mut s = session(&dir, "C9500X-28C8D", false);
    ok(&mut s, &["configure terminal"]);
    assert_eq!(
        ok(&mut s, &["platform wanmacsec hsec-license-release"]),
        "HSEC license is released\n"
    );
    refused(&mut s, "platform hsec-license-release");

    // No HSECK9 key on this platform: neither command.
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(&dir, "C9300-24UX", false);
    ok(&mut s, &["configure terminal"]);
    refused(&mut s, "platform hsec-license-release");
    refused(&mut s, "platform wanmacsec hsec-license-release");
}

/// Item 7: `authorization return … offline` without a path shows the return code on screen in
/// the guide's format and removes the code.
#[test]
fn return_offline_without_a_path_prints_udi_and_return_code() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(&dir, HSEC_PID, false);
    let authority = KeyPair::generate();
    let code = "Cr9Ufx-LlxSRj-ftwzgl-h9QZAU";
    install_slac(&mut s, &authority, "slac-1", code);
    let out = ok(&mut s, &["license smart authorization return local offline"]);
    assert_eq!(
        out,
        format!(
            "Enter this return code in Cisco Smart Software Manager portal:\n\
             UDI: PID:C9300X-24HX,SN:FOC2519L8R7\n\
             Return code: {code}\n\
             %SMART_LIC-6-AUTHORIZATION_REMOVED: A licensing authorization code has been removed from PID:C9300X-24HX,SN:FOC2519L8R7\n"
        )
    );
    let shown = ok(&mut s, &["show license authorization"]);
    assert!(shown.contains("Status: NOT INSTALLED"), "{shown}");
    assert!(shown.contains(&format!("Last return code: {code}")), "{shown}");
    // Nothing left to return.
    let text = refused(&mut s, "license smart authorization return local offline");
    assert!(text.contains("no authorization code is installed"), "{text}");
}

/// Item 8: `write` alone saves the running configuration like `write memory`.
#[test]
fn write_alone_saves_like_write_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(&dir, HSEC_PID, false);
    let out = ok(
        &mut s,
        &["configure terminal", "license boot level network-advantage addon dna-advantage", "end"],
    );
    assert!(
        out.contains("% use 'write' command to make license boot config take effect on next boot"),
        "{out}"
    );
    assert_ne!(s.device.state.startup, s.device.state.running);
    assert_eq!(ok(&mut s, &["write"]), "Building configuration...\n[OK]\n");
    assert_eq!(s.device.state.startup, s.device.state.running);
    ok(&mut s, &["reload"]);
    let version = ok(&mut s, &["show version"]);
    assert!(version.contains("dna-advantage"), "{version}");
}

/// Answers a trust request with an error; records what it was sent.
struct Refusing {
    sent: Mutex<Vec<Request>>,
}

impl Uplink for Refusing {
    fn send(&self, _url: &str, request: &Request) -> Result<Response, CommError> {
        self.sent.lock().unwrap().push(request.clone());
        Ok(Response::error("ID token expired"))
    }
}

/// Item 9: an ID token does not overwrite a factory-installed trust code without `force`: the
/// device logs the guide's `TRUST_CODE_INSTALL_FAILED` and sends nothing; with `force` it asks.
#[test]
fn an_id_token_needs_force_over_a_factory_installed_trust_code() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(&dir, HSEC_PID, true);
    ok(
        &mut s,
        &[
            "configure terminal",
            "license smart transport smart",
            "license smart url smart http://127.0.0.1:9/licservice/license",
            "end",
        ],
    );
    let status = ok(&mut s, &["show license status"]);
    assert!(status.contains("Trust Code Installed: Factory-installed"), "{status}");
    let text = refused(&mut s, "license smart trust idtoken TOKEN local");
    assert_eq!(
        text,
        "%SMART_LIC-3-TRUST_CODE_INSTALL_FAILED: The install of a new licensing trust code has failed on PID:C9300X-24HX,SN:FOC2519L8R7: A factory-installed trust code is already installed; enter the command again with the force keyword to overwrite it.\n"
    );
    let Step::Converse(talk) = s.begin("license smart trust idtoken TOKEN local force") else {
        panic!("force sends the request")
    };
    let uplink = Refusing { sent: Mutex::new(Vec::new()) };
    let out: Output = {
        let result = s.device.converse(talk, &uplink);
        s.finish(result)
    };
    let sent = uplink.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header.kind, MessageType::TrustRequest);
    assert!(sent[0].data.force);
    assert!(
        out.text.contains("TRUST_CODE_INSTALL_FAILED") && out.text.contains("ID token expired"),
        "{}",
        out.text
    );
}

/// Item 11: `license boot level` takes each base level alone or with its own add-on, nothing
/// else; HSECK9 is offered only on the platforms the guide names.
#[test]
fn boot_levels_pair_with_their_own_addon_and_hsec_only_on_the_guides_pids() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(&dir, "C9300-24UX", false);
    ok(&mut s, &["configure terminal"]);
    for line in [
        "license boot level network-advantage",
        "license boot level network-advantage addon dna-advantage",
        "license boot level network-essentials",
        "license boot level network-essentials addon dna-essentials",
        "lic boot lev network-a add dna-a",
    ] {
        ok(&mut s, &[line]);
    }
    assert_eq!(s.device.state.running.boot_level.as_deref(), Some("network-advantage"));
    assert_eq!(s.device.state.running.boot_addon.as_deref(), Some("dna-advantage"));
    // The other pairs: the caret under the add-on, as IOS shows it.
    let line = "license boot level network-advantage addon dna-essentials";
    let text = refused(&mut s, line);
    let column = "sw1(config)#".len() + line.find("dna-essentials").unwrap();
    assert_eq!(text, format!("{}^\n% Invalid input detected at '^' marker.\n", " ".repeat(column)));
    let text = refused(&mut s, "license boot level network-essentials addon dna-advantage");
    assert!(text.contains("% Invalid input detected at '^' marker."), "{text}");
    let text = refused(&mut s, "license boot level dna-advantage");
    assert!(text.contains("% Invalid input detected at '^' marker."), "{text}");
    let text = refused(&mut s, "license boot level n");
    assert!(text.starts_with("% Ambiguous command:"), "{text}");
    let help = s.help("license boot level network-advantage addon ?");
    assert!(help.contains("dna-advantage") && !help.contains("dna-essentials"), "{help}");
    assert_eq!(s.device.state.running.boot_addon.as_deref(), Some("dna-advantage"));
    ok(&mut s, &["end"]);

    // HSECK9 on a C9300 (not X): not offered.
    let text = refused(&mut s, "license smart authorization request add hseck9 local");
    assert_eq!(
        text,
        "% Error: hseck9 is not supported on C9300-24UX: the HSECK9 key is offered on Catalyst 9300X, 9400X-SUP-2/2XL, 9500X and 9600X-SUP-2 only\n"
    );
    let authority = KeyPair::generate();
    let doc = slac_doc(&authority, "C9300-24UX", "slac-1", "AAAAAA-BBBBBB-CCCCCC-DDDDDD");
    std::fs::write(s.device.dir.resolve("bootflash:slac.txt").unwrap(), doc.to_xml()).unwrap();
    let text = refused(&mut s, "license smart import bootflash:slac.txt");
    assert!(
        text.starts_with("%SMART_LIC-3-AUTHORIZATION_INSTALL_FAILED: The install of a new licensing authorization code has failed on PID:C9300-24UX,SN:FOC2519L8R7: the HSECK9 key is not supported on C9300-24UX"),
        "{text}"
    );
    let tech = ok(&mut s, &["show license tech support"]);
    assert!(
        tech.contains("  P:C9300-24UX,S:FOC2519L8R7:\n    No PD enforced licenses\n"),
        "{tech}"
    );
    ok(&mut s, &["configure terminal", "interface Tunnel0"]);
    let text = refused(&mut s, "tunnel mode ipsec ipv4");
    assert!(text.contains("not supported on C9300-24UX"), "{text}");
    ok(&mut s, &["end"]);

    // The same on a C9300X: offered.
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(&dir, HSEC_PID, false);
    ok(&mut s, &["license smart authorization request add hseck9 local"]);
    let tech = ok(&mut s, &["show license tech support"]);
    assert!(tech.contains("  P:C9300X-24HX,S:FOC2519L8R7:\n    hseck9: regid."), "{tech}");
}
