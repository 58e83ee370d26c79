//! Commands and messages of the configuration guide that `docs/guide-coverage.md` lists and no
//! other test proved: `license smart url default` and the `no license smart url …` forms, and
//! `%SMART_LIC-3-POLICY_INSTALL_FAILED`.

// Test code: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use slp_wire::docs;
use slp_wire::keys::KeyPair;
use slp_wire::xml::{Document, Kind};

use crate::support::{ok, sw1};

/// The value of the first `label` line of `text`.
fn field(text: &str, label: &str) -> String {
    let line = text.lines().find(|l| l.trim_start().starts_with(label));
    let line = line.unwrap_or_else(|| panic!("no {label} in {text}"));
    line.trim_start()[label.len()..].trim().to_owned()
}

/// The guide: with transport smart, `license smart url default` configures the Smart URL
/// (`https://smartreceiver.cisco.com/licservice/license`); with transport cslu, the CSLU URL
/// `https://cslu-local:8182/cslu/v1/pi`.
#[test]
fn url_default_sets_the_smart_url_of_the_smart_transport() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    ok(
        &mut s,
        &[
            "configure terminal",
            "license smart transport smart",
            "license smart url smart https://elsewhere.example/licservice/license",
            "license smart url default",
            "end",
        ],
    );
    let status = ok(&mut s, &["show license status"]);
    assert_eq!(field(&status, "Type:"), "Smart", "{status}");
    assert_eq!(field(&status, "URL:"), "https://smartreceiver.cisco.com/licservice/license");
    let config = ok(&mut s, &["show running-config"]);
    assert!(
        config
            .contains("license smart url smart https://smartreceiver.cisco.com/licservice/license"),
        "{config}"
    );

    ok(
        &mut s,
        &["configure terminal", "license smart transport cslu", "license smart url default", "end"],
    );
    let status = ok(&mut s, &["show license status"]);
    assert_eq!(field(&status, "Cslu address:"), "https://cslu-local:8182/cslu/v1/pi", "{status}");
}

/// The guide: `no license smart url cslu` reverts to `http://cslu-local:8182/cslu/v1/pi`, and
/// `no license smart url smart` to the default Smart URL.
#[test]
fn no_url_reverts_to_the_default_urls() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    ok(
        &mut s,
        &["configure terminal", "license smart url cslu http://192.168.0.1:8182/cslu/v1/pi", "end"],
    );
    let status = ok(&mut s, &["show license status"]);
    assert_eq!(field(&status, "Cslu address:"), "http://192.168.0.1:8182/cslu/v1/pi");
    ok(&mut s, &["configure terminal", "no license smart url cslu", "end"]);
    let status = ok(&mut s, &["show license status"]);
    assert_eq!(field(&status, "Cslu address:"), "http://cslu-local:8182/cslu/v1/pi", "{status}");

    ok(
        &mut s,
        &[
            "configure terminal",
            "license smart transport smart",
            "license smart url smart https://elsewhere.example/licservice/license",
            "no license smart url smart",
            "end",
        ],
    );
    let status = ok(&mut s, &["show license status"]);
    assert_eq!(
        field(&status, "URL:"),
        "https://smartreceiver.cisco.com/licservice/license",
        "{status}"
    );
}

/// The guide's `%SMART_LIC-3-POLICY_INSTALL_FAILED: The installation of a new licensing policy
/// has failed: [chars].`, here for a policy whose signature is not its authority's: the import
/// fails, the message goes to the log, and the policy in use stays the Cisco default.
#[test]
fn a_policy_that_fails_to_install_logs_policy_install_failed() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    let (authority, forger) = (KeyPair::generate(), KeyPair::generate());
    let mut policy = slp_core::policy::Policy::cisco_default();
    policy.name = "Forged Policy".to_owned();
    let doc = docs::PolicyDoc::from_policy(
        &policy,
        "2026-10-01T00:00:00Z".to_owned(),
        "Example Corp",
        "Lab",
        authority.public_b64(),
    );
    // Names the authority's key, signed by another.
    let file =
        Document { reports: vec![], items: vec![docs::sign_json(Kind::Policy, &doc, &forger)] };
    let path = s.device.dir.resolve("bootflash:policy.xml").unwrap();
    std::fs::write(path, file.to_xml()).unwrap();

    let out = s.execute("license smart import bootflash:policy.xml");
    assert!(!out.ok, "{}", out.text);
    assert!(
        out.text.contains(
            "%SMART_LIC-3-POLICY_INSTALL_FAILED: The installation of a new licensing policy has failed: "
        ),
        "{}",
        out.text
    );
    let logging = ok(&mut s, &["show logging"]);
    assert!(logging.contains("%SMART_LIC-3-POLICY_INSTALL_FAILED"), "{logging}");
    let status = ok(&mut s, &["show license status"]);
    assert_eq!(field(&status, "Policy in use:"), "Merged from multiple sources.", "{status}");
    assert!(!status.contains("Forged Policy"), "{status}");
}
