//! `show license tech support` fed to Genie's `ShowLicenseTechSupport`; the parsed values must
//! equal the device's state.

use serde_json::Value;

use crate::genie::parse_all;
use crate::util::{Lab, T0, authority, init_stack, init_sw1, upload};

#[test]
fn standalone_tech_support_parses_and_matches_state() {
    let lab = Lab::new();
    init_sw1(&lab, "2026-11-01T10:00:00Z");
    let now = "2026-11-01T10:05:00Z";
    lab.exec(
        "D",
        now,
        &[
            "configure terminal",
            "license boot level network-advantage addon dna-advantage",
            "license smart transport off",
            "end",
            "write memory",
            "reload",
        ],
    );
    let output = lab.exec("D", now, &["show license tech support"]);
    let Some(parsed) = parse_all(&[("ShowLicenseTechSupport", output)]) else { return };
    let tech = &parsed[0];
    let state: Value = serde_json::from_str(&lab.read("D/state.json")).unwrap();

    let handles = tech["license_usage"]["handle"].as_object().expect("handles");
    let mut licenses: Vec<&str> =
        handles.values().map(|h| h["license"].as_str().unwrap()).collect();
    licenses.sort();
    assert_eq!(licenses, ["dna-advantage", "network-advantage"]);
    for handle in handles.values() {
        assert_eq!(handle["count"], 1);
        assert_eq!(handle["status"], "IN USE");
        let open = state["ledger"]["reports"]
            .as_object()
            .unwrap()
            .values()
            .find(|r| r["feature"] == handle["license"] && r["state"] == "Open")
            .expect("an open report per license in use");
        assert_eq!(handle["measurements"]["entitlement"]["current_report"], open["id"]);
        assert_eq!(handle["entitlement_tag"], open["entitlement_tag"]);
    }
    assert_eq!(tech["smart_licensing_status"]["transport"]["type"], "Transport Off");
    let summary = &tech["usage_report_summary"];
    let reports = state["ledger"]["reports"].as_object().unwrap();
    assert_eq!(summary["total"], reports.len());
    let open = reports.values().filter(|r| r["state"] == "Open").count();
    assert_eq!(summary["collecting_data"], open);
    assert_eq!(tech["product_information"]["udi"]["sn"], "FOC2233A5ZV");
    assert_eq!(tech["other_info"]["overall_trust"], "No ID");
}

#[test]
fn acknowledged_stack_with_a_slac_tech_support_parses_and_matches_state() {
    let lab = Lab::new();
    authority(&lab);
    init_stack(&lab, T0, false);
    let t1 = "2026-11-15T10:00:00Z";
    lab.exec("S", t1, &["license smart save usage all file bootflash:u.txt"]);
    upload(&lab, t1, "S/bootflash/u.txt", "ack.txt");
    lab.exec(
        "S",
        t1,
        &[
            "license smart authorization request add hseck9 local",
            "license smart authorization request save bootflash:slac.txt",
        ],
    );
    upload(&lab, t1, "S/bootflash/slac.txt", "code.txt");
    for file in ["ack.txt", "code.txt"] {
        lab.exec("S", t1, &[&format!("license smart import {}", lab.path(file).display())]);
    }
    let output = lab.exec("S", t1, &["show license tech support"]);
    let Some(parsed) = parse_all(&[("ShowLicenseTechSupport", output)]) else { return };
    let tech = &parsed[0];

    let status = &tech["smart_licensing_status"];
    assert_eq!(
        status["account_information"]["smart_account"],
        "Example Corp As of Nov 15 10:00:00 2026 UTC"
    );
    assert_eq!(status["usage_reporting"]["last_ack_received"], "Nov 15 10:00:00 2026 UTC");
    let trust = &status["trust_code_installed"];
    assert_eq!(trust["active"]["sn"], "FOC1", "{trust}");
    assert_eq!(trust["standby"]["info"], "INSTALLED on Nov 15 10:00:00 2026 UTC", "{trust}");

    let ha = &tech["product_information"]["ha_udi_list"];
    assert_eq!(ha["active"]["sn"], "FOC1", "{ha}");
    assert_eq!(ha["standby"]["sn"], "FOC2", "{ha}");

    let overall = &tech["reservation_info"]["overall_status"];
    assert_eq!(
        overall["active"]["reservation_status"],
        "SMART AUTHORIZATION INSTALLED on Nov 15 10:00:00 2026 UTC",
        "{overall}"
    );
    assert_eq!(overall["standby"]["reservation_status"], "NOT INSTALLED", "{overall}");

    let trust_data = tech["other_info"]["trust_data"].as_object().expect("trust data");
    assert_eq!(trust_data.len(), 2, "{trust_data:?}");
    assert!(
        trust_data
            .values()
            .all(|t| t["trustvalue"] == "Trust Data INSTALLED" || t.get("trustid").is_some()),
        "{trust_data:?}"
    );
    assert_eq!(tech["other_info"]["overall_trust"], "INSTALLED (2)");
}
