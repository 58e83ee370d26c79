//! `show license tech support` fed to Genie's `ShowLicenseTechSupport`; the parsed values must
//! equal the device's state (`state.json`) and what the device's other show commands say.

use serde_json::Value;

use crate::genie::parse_all;
use crate::util::{Lab, T0, auth, authority, init_stack_x, init_sw1, upload};

/// A `state.json` time as the device prints it: `Nov 15 10:00:00 2026 UTC`.
fn shown(rfc3339: &Value) -> String {
    let text = rfc3339.as_str().unwrap_or_else(|| panic!("not a time: {rfc3339}"));
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|err| panic!("{text}: {err}"))
        .format("%b %d %H:%M:%S %Y UTC")
        .to_string()
}

fn state(lab: &Lab, dir: &str) -> Value {
    serde_json::from_str(&lab.read(&format!("{dir}/state.json"))).unwrap()
}

/// The usage report summary must count the ledger's reports by state.
fn assert_summary_matches_ledger(tech: &Value, state: &Value) {
    let summary = &tech["usage_report_summary"];
    let reports = state["ledger"]["reports"].as_object().expect("ledger");
    let count = |states: &[&str]| {
        reports.values().filter(|r| states.iter().any(|s| r["state"] == *s)).count()
    };
    assert_eq!(summary["total"], reports.len(), "{summary}");
    assert_eq!(summary["total_acknowledged_received"], count(&["Acknowledged"]), "{summary}");
    assert_eq!(summary["available_to_report"], count(&["Closed"]), "{summary}");
    assert_eq!(summary["collecting_data"], count(&["Open"]), "{summary}");
    let waiting = count(&["Pending", "Unacknowledged"]);
    assert_eq!(
        summary["waiting_for_ack"],
        format!("{waiting}({})", waiting + count(&["Closed"])),
        "{summary}"
    );
    assert_eq!(summary["maximum_display"], reports.len(), "{summary}");
}

/// One handle per license in use, each matching its open report and `show license usage`.
fn assert_handles_match(tech: &Value, usage: &Value, state: &Value, expected: &[&str]) {
    let handles = tech["license_usage"]["handle"].as_object().expect("handles");
    let reports = state["ledger"]["reports"].as_object().expect("ledger");
    let in_use: Vec<&Value> = handles.values().filter(|h| h["count"] != 0).collect();
    let mut licenses: Vec<&str> = in_use.iter().map(|h| h["license"].as_str().unwrap()).collect();
    licenses.sort_unstable();
    assert_eq!(licenses, expected, "{handles:?}");
    let usage = usage["license_name"].as_object().expect("show license usage entries");
    for handle in in_use {
        let license = handle["license"].as_str().unwrap();
        let open = reports
            .values()
            .find(|r| r["feature"] == license && r["state"] == "Open")
            .unwrap_or_else(|| panic!("no open report for {license} in {reports:?}"));
        assert_eq!(handle["status"], "IN USE(15)", "{handle}");
        assert_eq!(handle["count"], open["count"], "{handle}");
        assert_eq!(handle["entitlement_tag"], open["entitlement_tag"], "{handle}");
        assert_eq!(handle["feature_name"], license, "{handle}");
        assert_eq!(handle["status_time"], shown(&open["start"]), "{handle}");
        let measured = &handle["measurements"]["entitlement"];
        assert_eq!(measured["current_value"], open["count"], "{handle}");
        assert_eq!(measured["current_report"], open["id"], "{handle}");
        let previous =
            if open["previous"].is_null() { Value::from(0) } else { open["previous"].clone() };
        assert_eq!(measured["previous"], previous, "{handle}");
        let (_, entry) = usage
            .iter()
            .find(|(name, _)| name.starts_with(&format!("{license} (")))
            .unwrap_or_else(|| panic!("{license} not in show license usage: {usage:?}"));
        assert_eq!(handle["count"], entry["count"], "{handle} vs {entry}");
        assert_eq!(handle["description"], entry["description"], "{handle} vs {entry}");
        assert_eq!(handle["license_type"], entry["license_type"], "{handle} vs {entry}");
        assert_eq!(handle["enforcement_type"], entry["enforcement_type"], "{handle} vs {entry}");
        assert_eq!(handle["export_status"], entry["export_status"], "{handle} vs {entry}");
    }
}

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
            "end",
            "write memory",
            "reload",
        ],
    );
    let cases = ["show license tech support", "show license usage", "show license status"]
        .map(|command| lab.exec("D", now, &[command]));
    let [tech, usage, status] = cases;
    let Some(parsed) = parse_all(&[
        ("ShowLicenseTechSupport", tech),
        ("ShowLicenseUsage", usage),
        ("ShowLicenseStatus", status),
    ]) else {
        return;
    };
    let [tech, usage, status] = parsed.try_into().expect("three results");
    let state = state(&lab, "D");

    assert_handles_match(&tech, &usage, &state, &["dna-advantage", "network-advantage"]);
    assert_summary_matches_ledger(&tech, &state);

    assert_agent_5_5_sections(&tech);
    let sls = &tech["smart_licensing_status"];
    assert_eq!(state["running"]["transport"], "Cslu");
    assert_eq!(sls["transport"]["type"], "cslu", "{sls}");
    assert_eq!(sls["transport"]["cslu_address"], "http://cslu-local:8182/cslu/v1/pi", "{sls}");
    assert_eq!(sls["transport"]["proxy"]["address"], "<empty>", "{sls}");
    assert_eq!(sls["data_privacy"]["sending_hostname"], "yes", "{sls}");
    assert_eq!(sls["account_information"]["smart_account"], "<none>", "{sls}");
    assert_eq!(sls["policy"]["policy_in_use"], "Merged from multiple sources.", "{sls}");
    // An agent 5.5 prints no `Trust Code Installed` in tech support (see Other Info below).
    assert!(sls.get("trust_code_installed").is_none(), "{sls}");
    // The reporting times are the ones `show license status` prints; before the first ACK the
    // tightest first-report requirement in use (DNA Advantage, 90 days) is the one that counts.
    let reporting = &sls["usage_reporting"];
    assert_eq!(reporting["last_ack_received"], "<none>");
    for key in ["next_ack_deadline", "next_report_push", "last_report_push"] {
        assert_eq!(reporting[key], status["usage_reporting"][key], "{key}");
    }
    assert_eq!(reporting["next_ack_deadline"], "Jan 30 10:00:00 2027 UTC");
    // Pushes every 30 days (the guide's default) against the 90-day requirement, as real
    // captures print it ("30  days State(4) InPolicy(90)").
    assert_eq!(reporting["reporting_push_interval"], "30  days State(2) InPolicy(90)");

    let udi = &state["units"][0]["udi"];
    assert_eq!(tech["product_information"]["udi"]["pid"], udi["pid"]);
    assert_eq!(tech["product_information"]["udi"]["sn"], udi["sn"]);
    assert!(tech["product_information"].get("ha_udi_list").is_none(), "a standalone switch");
    assert_eq!(tech["upcoming_scheduled_jobs"]["current_time"], "Nov 01 10:05:00 2026 UTC");
    assert_eq!(tech["communication_statistics"]["communication_level_allowed"], "INDIRECT");

    let overall = &tech["reservation_info"]["overall_status"]["active"];
    assert_eq!(overall["sn"], udi["sn"], "{overall}");
    assert_eq!(overall["reservation_status"], "NOT INSTALLED", "{overall}");
    assert_eq!(overall["last_confirmation_code"], "<none>", "{overall}");

    let other = &tech["other_info"];
    assert_eq!(other["software_id"], state["software_tag"]);
    assert_eq!(other["transport"], "cslu");
    assert_eq!(other["config_persist_received"], "True", "write memory saved the config");
    let trust = &other["trust_data"]["foc2233a5zv"];
    assert_eq!(trust["p"], "C9300-24UX", "{trust}");
    assert_eq!(trust["trustvalue"], "No Trust Data", "{trust}");
    assert_eq!(other["overall_trust"], "No ID");
}

#[test]
fn acknowledged_stack_with_a_slac_tech_support_parses_and_matches_state() {
    let lab = Lab::new();
    authority(&lab);
    auth(
        &lab,
        T0,
        &[
            "policy",
            "set",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "--name",
            "SLE Policy",
            "--unenforced-perpetual",
            "30,60,60",
        ],
    );
    init_stack_x(&lab, T0, true);
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
    let [tech, usage, all] =
        ["show license tech support", "show license usage", "show license all"]
            .map(|command| lab.exec("S", t1, &[command]));
    let Some(parsed) = parse_all(&[
        ("ShowLicenseTechSupport", tech),
        ("ShowLicenseUsage", usage),
        ("ShowLicenseAll", all),
    ]) else {
        return;
    };
    let [tech, usage, all] = parsed.try_into().expect("three results");
    let state = state(&lab, "S");
    let units = state["units"].as_array().expect("units");
    assert_eq!(units.len(), 3);

    let sls = &tech["smart_licensing_status"];
    let account = &state["account"];
    assert_eq!(
        sls["account_information"]["smart_account"],
        format!(
            "{} As of {}",
            account["smart_account"].as_str().unwrap(),
            shown(&account["as_of"])
        ),
        "{sls}"
    );
    assert_eq!(sls["account_information"]["virtual_account"], account["virtual_account"]);
    assert_eq!(sls["account_information"]["virtual_account"], "Lab");
    assert_eq!(sls["policy"]["policy_name"], "SLE Policy", "{sls}");
    assert_eq!(sls["usage_reporting"]["last_ack_received"], shown(&state["last_ack"]));
    // After the ACK, network-advantage (perpetual) must report every 60 days (customer policy,
    // InPolicy); the device pushes every 30 days, the guide's default.
    assert_eq!(
        sls["usage_reporting"]["reporting_push_interval"], "30  days State(4) InPolicy(60)",
        "{sls}"
    );

    // Per unit, by HA role: trust code (`show license all`; tech support's Other Info), HA UDI
    // list, reservation status (tech support) against authorization status (`show license all`).
    assert!(
        sls.get("trust_code_installed").is_none(),
        "an agent 5.5 prints it in show license all"
    );
    let trust = &all["smart_licensing_status"]["trust_code_installed"];
    let authorized = &all["license_authorizations"]["overall_status"];
    let ha = &tech["product_information"]["ha_udi_list"];
    let overall = &tech["reservation_info"]["overall_status"];
    let trust_data = tech["other_info"]["trust_data"].as_object().expect("trust data");
    assert_eq!(trust_data.len(), units.len(), "{trust_data:?}");
    for unit in units {
        let role = unit["role"].as_str().unwrap().to_lowercase();
        let (pid, sn) = (&unit["udi"]["pid"], &unit["udi"]["sn"]);
        let udi = format!("PID:{},SN:{}", pid.as_str().unwrap(), sn.as_str().unwrap());
        let installed = &state["trust"][&udi];
        assert!(installed.is_object(), "{udi} has a trust code in {}", state["trust"]);

        assert_eq!((&trust[&role]["pid"], &trust[&role]["sn"]), (pid, sn), "{trust}");
        assert_eq!(
            trust[&role]["info"],
            format!("INSTALLED on {}", shown(&installed["installed_at"])),
            "{trust}"
        );
        assert_eq!((&ha[&role]["pid"], &ha[&role]["sn"]), (pid, sn), "{ha}");

        let status = &overall[&role];
        assert_eq!((&status["pid"], &status["sn"]), (pid, sn), "{overall}");
        match state["authorizations"].get(&udi) {
            Some(slac) => {
                assert_eq!(
                    status["reservation_status"],
                    format!("SMART AUTHORIZATION INSTALLED on {}", shown(&slac["installed_at"])),
                    "{overall}"
                );
                assert_eq!(status["last_confirmation_code"], slac["confirmation_code"]);
            }
            None => {
                assert_eq!(status["reservation_status"], "NOT INSTALLED", "{overall}");
                assert_eq!(status["last_confirmation_code"], "<none>", "{overall}");
            }
        }
        // `show license all` says the same of the unit's authorization.
        assert_eq!((&authorized[&role]["pid"], &authorized[&role]["sn"]), (pid, sn), "{all}");
        assert_eq!(authorized[&role]["status"], status["reservation_status"], "{all}");

        let data = &trust_data[&sn.as_str().unwrap().to_lowercase()];
        assert_eq!(data["p"], *pid, "{data}");
        assert_eq!(data["trustid"], installed["trust_id"], "{data}");
    }
    // The SLAC went to the active switch only; the loop above checked both branches.
    let slac_holders: Vec<&String> = state["authorizations"].as_object().unwrap().keys().collect();
    assert_eq!(slac_holders, ["PID:C9300X-48HX,SN:FOC1"]);
    assert_eq!(overall["standby"]["reservation_status"], "NOT INSTALLED", "{overall}");
    assert_eq!(tech["other_info"]["overall_trust"], "INSTALLED (2)");
    assert_eq!(tech["product_information"]["udi"]["sn"], "FOC1");

    // network-advantage on three C9300X-48 switches (a C9300-48 starts at network-advantage:
    // no real output shows its network-essentials tag); the authorized HSEC key is listed,
    // not in use.
    assert_handles_match(&tech, &usage, &state, &["network-advantage"]);
    let handles = tech["license_usage"]["handle"].as_object().unwrap();
    let hsec = handles.values().find(|h| h["license"] == "hseck9").expect("hseck9 handle");
    assert_eq!(hsec["status"], "NOT IN USE(1)", "{hsec}");
    assert_eq!(hsec["request_time"], "None", "{hsec}");
    assert_eq!(hsec["export_status"], "RESTRICTED - ALLOWED", "{hsec}");
    assert_eq!(hsec["enforcement_type"], "EXPORT RESTRICTED", "{hsec}");
    let advantage = handles.values().find(|h| h["license"] == "network-advantage").unwrap();
    assert_eq!(advantage["count"], 3, "{advantage}");

    assert_summary_matches_ledger(&tech, &state);
    let mapping = &tech["platform_provided_mapping_table"]["enforced_licenses"];
    for sn in ["foc1", "foc2", "foc3"] {
        assert_eq!(mapping[sn]["hseck9_entitlement_tag"], hsec["entitlement_tag"], "{mapping}");
    }
}

/// The scheduled jobs and communication statistics a 17.9 Catalyst 9300 (Smart Agent 5.5.11,
/// genieparser's capture) lists: every one of them, nothing more, and no Telemetry sections
/// (later agents add `Telemetry Reporting` and `Device Telemetry Report Summary`).
fn assert_agent_5_5_sections(tech: &Value) {
    let keys = |v: &Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().expect("a section").keys().cloned().collect();
        keys.sort();
        keys
    };
    let mut jobs = vec![
        "current_time",
        "daily",
        "authorization_renewal",
        "init_flag_check",
        "reservation_configuration_mismatch_between_nodes_in_ha_mode",
        "start_utility_measurements",
        "send_utility_rum_reports",
        "save_unreported_rum_reports",
        "data_synchronization",
        "external_event",
        "operational_model",
    ];
    jobs.sort_unstable();
    assert_eq!(keys(&tech["upcoming_scheduled_jobs"]), jobs);
    let mut exchanges = vec![
        "communication_level_allowed",
        "overall_state",
        "trust_establishment",
        "trust_acknowledgement",
        "usage_reporting",
        "result_polling",
        "authorization_request",
        "authorization_confirmation",
        "authorization_return",
        "trust_sync",
        "hello_message",
    ];
    exchanges.sort_unstable();
    assert_eq!(keys(&tech["communication_statistics"]), exchanges);
    assert!(tech.get("device_telemetry_report_summary").is_none(), "{tech}");
    assert_eq!(tech["agent_version"]["smart_agent_for_licensing"], "5.5.13_rel/26");
}
