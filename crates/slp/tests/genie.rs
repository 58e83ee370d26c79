//! Show-command conformance: the device's output, fed to the public Genie IOS-XE parsers
//! (PyPI `genie` + `pyats`), must parse, and the parsed values must equal the device's state.
//!
//! The Python with Genie is named by `SLP_GENIE_PYTHON` (`.ci/run` installs it). Without it the
//! test fails under CI and is skipped, saying so, on a developer machine.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::util::{Lab, T0, auth, authority, init_stack, init_sw1, upload};

/// Parses each (parser, output) pair; returns the parsed dicts, failing on any parser error.
pub fn parse_all(cases: &[(&str, String)]) -> Option<Vec<Value>> {
    let python = crate::util::client_python("genie and pyats")?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/genie_parse.py");
    let request = json!({"cases": cases.iter().map(|(parser, output)| json!({"parser": parser, "output": output})).collect::<Vec<_>>()});
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the Genie harness");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(request.to_string().as_bytes())
            .expect("write request");
    }
    let out = child.wait_with_output().expect("harness output");
    assert!(out.status.success(), "Genie harness failed: {}", String::from_utf8_lossy(&out.stderr));
    let response: Value = serde_json::from_slice(&out.stdout).expect("harness JSON");
    let results = response["results"].as_array().expect("results").clone();
    let mut parsed = Vec::new();
    for ((parser, output), result) in cases.iter().zip(results) {
        if let Some(err) = result.get("error") {
            panic!("{parser} could not parse the device's output: {err}\n--- output ---\n{output}");
        }
        parsed.push(result["parsed"].clone());
    }
    Some(parsed)
}

/// The outputs of the commands we check, from one device.
fn outputs(
    lab: &Lab,
    state: &str,
    now: &str,
    commands: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    commands.iter().map(|(parser, command)| (*parser, lab.exec(state, now, &[command]))).collect()
}

#[test]
fn fresh_device_output_parses_and_matches_state() {
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
    let state: Value = serde_json::from_str(&lab.read("D/state.json")).unwrap();
    let cases = outputs(
        &lab,
        "D",
        now,
        &[
            ("ShowLicenseSummary", "show license summary"),
            ("ShowLicenseUsage", "show license usage"),
            ("ShowLicenseStatus", "show license status"),
            ("ShowLicenseAll", "show license all"),
            ("ShowLicenseUdi", "show license udi"),
            ("ShowLicenseRumIdAll", "show license rum id all"),
            ("ShowLicenseHistoryMessage", "show license history message"),
            ("ShowLicenseEventlog2", "show license eventlog 2"),
            ("ShowVersion", "show version"),
        ],
    );
    let Some(parsed) = parse_all(&cases) else { return };
    let [summary, usage, status, all, udi, rum, history, eventlog, version] =
        parsed.try_into().expect("nine results");

    let na = &summary["license_usage"]["C9300-24 Network Advan..."];
    assert_eq!(
        (na["license"].as_str(), na["count"].as_str(), na["status"].as_str()),
        (Some("network-advantage"), Some("1"), Some("IN USE"))
    );
    assert_eq!(summary["license_usage"]["C9300-24 DNA Advantage"]["license"], "dna-advantage");

    let entry = &usage["license_name"]["dna-advantage (C9300-24 DNA Advantage):"];
    assert_eq!(entry["count"], 1);
    assert_eq!(entry["license_type"], "Subscription");
    assert_eq!(entry["enforcement_type"], "NOT ENFORCED");

    assert_eq!(status["transport"]["type"], "Transport Off");
    assert_eq!(status["policy"]["reporting_ack_required"], "yes (CISCO default)");
    assert_eq!(status["usage_reporting"]["next_ack_deadline"], "Jan 30 10:00:00 2027 UTC");
    assert_eq!(status["usage_reporting"]["last_ack_received"], "<none>");
    assert_eq!(all["smart_licensing_status"]["transport"]["type"], "Transport Off");

    assert_eq!(udi["udi_details"]["pid"], "C9300-24UX");
    assert_eq!(udi["udi_details"]["sn"], "FOC2233A5ZV");

    let reports = state["ledger"]["reports"].as_object().expect("ledger");
    let parsed_reports = rum["smart_license_usage_reports"].as_object().expect("rum ids");
    assert_eq!(parsed_reports.len(), reports.len());
    for (id, report) in reports {
        let row = &parsed_reports[id];
        assert_eq!(row["feature_name"], report["feature"], "report {id}");
        let word = match report["state"].as_str() {
            Some("Open") => "OPEN",
            Some("Closed") => "CLOSED",
            other => panic!("unexpected state {other:?}"),
        };
        assert_eq!(row["state"], word, "report {id}");
    }

    assert_eq!(history["import_message_history"]["rum_ack"], "No past Import history");
    let log = eventlog["event_log"].as_array().expect("event log");
    assert!(
        log.iter().any(|e| e["log_message"]
            .as_str()
            .is_some_and(|m| m.starts_with("SAEVT_ENDPOINT_USAGE count=\"1\""))),
        "{log:?}"
    );
    assert!(
        log.iter().all(|e| e["log_message"].as_str().is_some_and(|m| m.starts_with("SAEVT_"))),
        "syslog messages stay in the log: {log:?}"
    );

    assert_eq!(version["version"]["hostname"], "sw1");
    assert_eq!(version["version"]["xe_version"], "17.09.04");
    let packages = version["version"]["license_package"].as_object().expect("license packages");
    assert_eq!(packages["network-advantage"]["license_level"], "network-advantage", "{packages:?}");
    assert_eq!(packages["dna-advantage"]["license_type"], "Subscription Smart License");
    assert_eq!(packages["dna-advantage"]["next_reload_license_level"], "dna-advantage");
    assert_eq!(version["version"]["air_license_level"], "AIR DNA Advantage");
    assert_eq!(version["version"]["next_reload_air_license_level"], "AIR DNA Advantage");
    let switch = &version["version"]["switch_num"]["1"];
    assert_eq!(switch["mode"], "INSTALL", "{version}");
    assert_eq!(switch["model"], "C9300-24UX", "{version}");
    assert_eq!(switch["sw_ver"], "17.09.04", "{version}");
}

#[test]
fn acknowledged_ha_stack_output_parses_and_matches_state() {
    let lab = Lab::new();
    let t1 = "2026-11-15T10:00:00Z";
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
    init_stack(&lab, T0, true);
    lab.exec("S", t1, &["license smart save usage all file bootflash:u.txt"]);
    upload(&lab, t1, "S/bootflash/u.txt", "ack.txt");
    lab.exec("S", t1, &[&format!("license smart import {}", lab.path("ack.txt").display())]);

    let state: Value = serde_json::from_str(&lab.read("S/state.json")).unwrap();
    let acked: Vec<&String> = state["ledger"]["reports"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["state"] == "Acknowledged")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(acked.len(), 1, "the network-advantage report was acknowledged");
    let detail_cmd = format!("show license rum id {} detail", acked[0]);
    let cases = outputs(
        &lab,
        "S",
        t1,
        &[
            ("ShowLicenseStatus", "show license status"),
            ("ShowLicenseUdi", "show license udi"),
            ("ShowLicenseSummary", "show license summary"),
            ("ShowLicenseHistoryMessage", "show license history message"),
            ("ShowLicenseAll", "show license all"),
        ],
    );
    let mut cases = cases;
    cases.push(("ShowLicenseRumIdDetail", lab.exec("S", t1, &[&detail_cmd])));
    let Some(parsed) = parse_all(&cases) else { return };
    let [status, udi, summary, history, all, detail] = parsed.try_into().expect("six results");

    assert_eq!(
        status["account_information"]["smart_account"],
        "Example Corp As of Nov 15 10:00:00 2026 UTC"
    );
    assert_eq!(status["account_information"]["virtual_account"], "Lab");
    assert_eq!(status["usage_reporting"]["last_ack_received"], "Nov 15 10:00:00 2026 UTC");
    assert_eq!(status["usage_reporting"]["last_report_file_write"], "Nov 15 10:00:00 2026 UTC");
    assert_eq!(status["policy"]["policy_name"], "SLE Policy");
    assert_eq!(
        status["policy"]["unenforced_non_export_perpetual_attributes"]["reporting_frequency_days"],
        "60 (Customer Policy)"
    );
    let trust = &status["trust_code_installed"];
    assert_eq!(trust["active"]["sn"], "FOC1", "{trust}");
    assert_eq!(trust["active"]["info"], "INSTALLED on Nov 15 10:00:00 2026 UTC", "{trust}");
    assert_eq!(trust["standby"]["sn"], "FOC2", "{trust}");
    assert_eq!(trust["member"]["sn"], "FOC3", "{trust}");

    let ha = &udi["udi_details"];
    assert_eq!(ha["pid"], "C9300-48UXM");
    assert_eq!(ha["sn"], "FOC1");
    let units = serde_json::to_string(&udi).unwrap();
    for sn in ["FOC2", "FOC3"] {
        assert!(units.contains(sn), "{units}");
    }

    // A C9300-48 stack starts at network-advantage: no real output shows its
    // network-essentials tag.
    let advantage = &summary["license_usage"]["C9300-48 Network Advan..."];
    assert_eq!(advantage["count"], "3", "{summary}");

    assert_eq!(history["import_message_history"]["rum_ack"], "1 message imported");
    assert_eq!(history["import_message_history"]["policy"], "1 message imported");
    assert_eq!(history["import_message_history"]["trust_code"], "3 messages imported");
    assert_eq!(all["smart_licensing_status"]["account_information"]["virtual_account"], "Lab");

    let report = &detail["report_id"][acked[0].as_str()];
    assert_eq!(report["state"], "ACK");
    assert_eq!(report["state_change_reason"], "ACKED");
    assert_eq!(report["storage_state"], "DELETED");
    assert_eq!(report["feature_name"], "network-advantage");
    assert_eq!(report["udi"]["sn"], "FOC1");
}

#[test]
fn standalone_with_trust_show_license_all_keeps_trust_and_authorization_apart() {
    let lab = Lab::new();
    authority(&lab);
    init_sw1(&lab, T0);
    let t1 = "2026-11-15T10:00:00Z";
    lab.exec("D", t1, &["license smart save usage all file bootflash:u.txt"]);
    upload(&lab, t1, "D/bootflash/u.txt", "ack.txt");
    lab.exec("D", t1, &[&format!("license smart import {}", lab.path("ack.txt").display())]);
    let cases = outputs(
        &lab,
        "D",
        t1,
        &[("ShowLicenseAll", "show license all"), ("ShowLicenseStatus", "show license status")],
    );
    let Some(parsed) = parse_all(&cases) else { return };
    let [all, status] = parsed.try_into().expect("two results");

    let trust = &all["smart_licensing_status"]["trust_code_installed"];
    assert_eq!(trust["active"]["sn"], "FOC2233A5ZV", "{trust}");
    assert_eq!(trust["active"]["info"], "INSTALLED on Nov 15 10:00:00 2026 UTC", "{trust}");
    let overall = &all["license_authorizations"]["overall_status"]["active"];
    assert_eq!(overall["sn"], "FOC2233A5ZV", "the Overall status line is not lost: {all}");
    assert_eq!(overall["status"], "NOT INSTALLED");
    // `show license status` keeps the one-line form of a standalone device.
    assert_eq!(
        status["trust_code_installed"].as_str().map(str::trim),
        Some("Nov 15 10:00:00 2026 UTC")
    );
}

/// Every key path of a parsed structure, `a.b.c`; the children of maps keyed by data (license
/// names, switch numbers, interface kinds, disks) are written `*`.
fn key_paths(value: &Value) -> std::collections::BTreeSet<String> {
    const KEYED_BY_DATA: &[&str] = &[
        "license_package",
        "switch_num",
        "number_of_intfs",
        "mem_size",
        "disks",
        "license_usage",
        "license_name",
        "trust_code_installed",
        "smart_license_usage_reports",
        "handle",
        "trust_data",
        "enforced_licenses",
        "report_id",
    ];
    fn walk(value: &Value, prefix: &str, wild: bool, out: &mut std::collections::BTreeSet<String>) {
        let Some(map) = value.as_object() else { return };
        for (key, child) in map {
            let name = if wild { "*" } else { key.as_str() };
            let path = if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
            out.insert(path.clone());
            walk(child, &path, KEYED_BY_DATA.contains(&key.as_str()), out);
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(value, "", false, &mut out);
    out
}

fn assert_same_paths(parser: &str, ours: &Value, real: &[&str]) {
    let ours = key_paths(ours);
    let real: std::collections::BTreeSet<String> = real.iter().map(|p| (*p).to_owned()).collect();
    let missing: Vec<_> = real.difference(&ours).collect();
    let invented: Vec<_> = ours.difference(&real).collect();
    assert!(
        missing.is_empty() && invented.is_empty(),
        "{parser}: missing {missing:?}, not in a real device's parse {invented:?}"
    );
}

/// The key paths of Genie's parse of real captures (genieparser's golden outputs: a C9300's
/// `show version`, a 17.x `show license history message` and `show license summary`), written
/// out here; values may differ, the structure may not.
#[test]
fn parsed_structure_has_exactly_the_key_paths_of_real_captures() {
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
    let cases = outputs(
        &lab,
        "D",
        now,
        &[
            ("ShowVersion", "show version"),
            ("ShowLicenseHistoryMessage", "show license history message"),
            ("ShowLicenseSummary", "show license summary"),
            ("ShowLicenseRumIdAll", "show license rum id all"),
        ],
    );
    let Some(parsed) = parse_all(&cases) else { return };
    let [version, history, summary, rum] = parsed.try_into().expect("four results");
    assert_same_paths(
        "ShowLicenseRumIdAll",
        &rum,
        &[
            "smart_license_usage_reports",
            "smart_license_usage_reports.*",
            "smart_license_usage_reports.*.state",
            "smart_license_usage_reports.*.flag",
            "smart_license_usage_reports.*.feature_name",
        ],
    );

    // The C9300 capture's paths; it ran a developer image, so it has `build_label` where a
    // release image prints `System restarted at` instead.
    let mut real_version: Vec<String> = [
        "bootldr",
        "chassis",
        "chassis_sn",
        "compiled_by",
        "compiled_date",
        "copyright_years",
        "location",
        "curr_config_register",
        "disks",
        "disks.*",
        "disks.*.disk_size",
        "disks.*.type_of_disk",
        "hostname",
        "image_id",
        "image_type",
        "label",
        "last_reload_reason",
        "air_license_level",
        "license_package",
        "license_package.*",
        "license_package.*.license_level",
        "license_package.*.license_type",
        "license_package.*.next_reload_license_level",
        "main_mem",
        "mem_size",
        "mem_size.*",
        "next_reload_air_license_level",
        "number_of_intfs",
        "number_of_intfs.*",
        "os",
        "platform",
        "processor_type",
        "returned_to_rom_by",
        "rom",
        "rtr_type",
        "switch_num",
        "switch_num.*",
        "switch_num.*.active",
        "switch_num.*.mac_address",
        "switch_num.*.mb_assembly_num",
        "switch_num.*.mb_rev_num",
        "switch_num.*.mb_sn",
        "switch_num.*.mode",
        "switch_num.*.model",
        "switch_num.*.model_num",
        "switch_num.*.model_rev_num",
        "switch_num.*.ports",
        "switch_num.*.sw_image",
        "switch_num.*.sw_ver",
        "switch_num.*.system_sn",
        "switch_num.*.uptime",
        "system_image",
        "uptime",
        "uptime_this_cp",
        "version",
        "version_short",
        "xe_version",
        "system_restarted_at",
    ]
    .iter()
    .map(|p| format!("version.{p}"))
    .collect();
    real_version.push("version".to_owned());
    let real_version: Vec<&str> = real_version.iter().map(String::as_str).collect();
    assert_same_paths("ShowVersion", &version, &real_version);

    let mut real_history = vec!["message_history", "import_message_history"];
    real_history.extend([
        "message_history.trust_establishment",
        "message_history.usage_reporting",
        "message_history.result_polling",
        "message_history.authorization_request",
        "message_history.authorization_return",
        "message_history.trust_sync",
        "import_message_history.policy",
        "import_message_history.auth",
        "import_message_history.trust_code",
        "import_message_history.rum_ack",
        "import_message_history.conversion_ack",
        "import_message_history.account_info",
    ]);
    assert_same_paths("ShowLicenseHistoryMessage", &history, &real_history);
    assert_eq!(history["import_message_history"]["policy"], "No past Import history");

    // The 17.x capture with an account section (the parser files rows by entitlement).
    assert_same_paths(
        "ShowLicenseSummary",
        &summary,
        &[
            "account_information",
            "account_information.smart_account",
            "account_information.virtual_account",
            "license_usage",
            "license_usage.*",
            "license_usage.*.license",
            "license_usage.*.entitlement",
            "license_usage.*.count",
            "license_usage.*.status",
        ],
    );
}

/// A stack with a customer policy, trust codes and an ACK, as the 17.x capture of
/// `show license status` (cslu transport, customer policy, every unit trusted) and of
/// `show license usage`: the same key paths.
#[test]
fn ha_stack_status_and_usage_have_the_key_paths_of_real_captures() {
    let lab = Lab::new();
    let t1 = "2026-11-15T10:00:00Z";
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
            "Custom Policy",
            "--unenforced-perpetual",
            "30,60,60",
        ],
    );
    init_stack(&lab, T0, true);
    lab.exec("S", t1, &["license smart save usage all file bootflash:u.txt"]);
    upload(&lab, t1, "S/bootflash/u.txt", "ack.txt");
    lab.exec("S", t1, &[&format!("license smart import {}", lab.path("ack.txt").display())]);
    let cases = outputs(
        &lab,
        "S",
        t1,
        &[("ShowLicenseStatus", "show license status"), ("ShowLicenseUsage", "show license usage")],
    );
    let Some(parsed) = parse_all(&cases) else { return };
    let [status, usage] = parsed.try_into().expect("two results");
    let mut real_status = vec![
        "account_information",
        "account_information.smart_account",
        "account_information.virtual_account",
        "data_privacy",
        "data_privacy.callhome_hostname_privacy",
        "data_privacy.sending_hostname",
        "data_privacy.smart_licensing_hostname_privacy",
        "data_privacy.version_privacy",
        "miscellaneous",
        "miscellaneous.custom_id",
        "policy",
        "policy.policy_in_use",
        "policy.policy_name",
        "policy.reporting_ack_required",
        "smart_licensing_using_policy",
        "smart_licensing_using_policy.status",
        "transport",
        "transport.cslu_address",
        "transport.proxy",
        "transport.type",
        "transport.vrf",
        "trust_code_installed",
        "trust_code_installed.*",
        "trust_code_installed.*.info",
        "trust_code_installed.*.pid",
        "trust_code_installed.*.sn",
        "usage_reporting",
        "usage_reporting.last_ack_received",
        "usage_reporting.last_report_file_write",
        "usage_reporting.last_report_push",
        "usage_reporting.next_ack_deadline",
        "usage_reporting.next_ack_push_check",
        "usage_reporting.next_report_push",
        "usage_reporting.reporting_push_interval",
        "utility",
        "utility.status",
    ];
    let classes: Vec<String> = [
        "enforced_perpetual_subscription_license_attributes",
        "export_perpetual_subscription_license_attributes",
        "unenforced_non_export_perpetual_attributes",
        "unenforced_non_export_subscription_attributes",
    ]
    .iter()
    .flat_map(|class| {
        [
            "",
            ".first_report_requirement_days",
            ".report_on_change_days",
            ".reporting_frequency_days",
        ]
        .map(|leaf| format!("policy.{class}{leaf}"))
    })
    .collect();
    real_status.extend(classes.iter().map(String::as_str));
    assert_same_paths("ShowLicenseStatus", &status, &real_status);

    let mut real_usage: Vec<String> =
        ["license_authorization", "license_authorization.status", "license_name", "license_name.*"]
            .map(str::to_owned)
            .to_vec();
    for leaf in [
        "count",
        "description",
        "enforcement_type",
        "export_status",
        "feature_description",
        "feature_name",
        "license_type",
        "status",
        "version",
    ] {
        real_usage.push(format!("license_name.*.{leaf}"));
    }
    let real_usage: Vec<&str> = real_usage.iter().map(String::as_str).collect();
    assert_same_paths("ShowLicenseUsage", &usage, &real_usage);
}

/// The key paths of a real capture's parse, from `tests/data/genie_real_key_paths.json` (written
/// from genieparser's golden outputs; each entry names its file and what the device was doing).
fn real_paths(capture: &str) -> Vec<String> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/genie_real_key_paths.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("real key paths"))
        .expect("real key paths JSON");
    doc["parsers"][capture]["paths"]
        .as_array()
        .unwrap_or_else(|| panic!("no real capture {capture}"))
        .iter()
        .map(|p| p.as_str().expect("a path").to_owned())
        .collect()
}

fn assert_like_capture(parser: &str, capture: &str, ours: &Value, extra: &[&str]) {
    let mut real = real_paths(capture);
    real.extend(extra.iter().map(|p| (*p).to_owned()));
    let real: Vec<&str> = real.iter().map(String::as_str).collect();
    assert_same_paths(parser, ours, &real);
}

/// The licensing parsers the previous tests leave out, each against a real capture of a device
/// in the same state: a three-switch stack on cslu with no trust code and no ACK (tech support,
/// as an agent 5.5 prints it; `show license all` on Callhome), the same stack after a license
/// level change (tech support's `Last Reporting Not Required`), a four-switch stack
/// (`show license udi`), and a standalone switch with an acknowledged report
/// (`show license rum id … detail`, `show license authorization`).
#[test]
fn every_licensing_parser_has_the_key_paths_of_real_captures() {
    let lab = Lab::new();
    authority(&lab);
    init_stack(&lab, T0, true);
    let t1 = "2026-11-01T10:05:00Z";
    let fresh = outputs(
        &lab,
        "S",
        t1,
        &[
            ("ShowLicenseTechSupport", "show license tech support"),
            ("ShowLicenseEventlog2", "show license eventlog 2"),
        ],
    );
    let t2 = "2026-11-01T11:00:00Z";
    lab.exec(
        "S",
        t2,
        &[
            // A C9300-48 starts at network-advantage (slp_core::license::FAMILIES): moving
            // to network-essentials leaves network-advantage's last report not required.
            "configure terminal",
            "license boot level network-essentials addon dna-essentials",
            "end",
            "write memory",
            "reload",
        ],
    );
    let mut cases = fresh;
    cases.push(("ShowLicenseTechSupport", lab.exec("S", t2, &["show license tech support"])));
    lab.exec("S", t2, &["configure terminal", "license smart transport callhome", "end"]);
    cases.push(("ShowLicenseAll", lab.exec("S", t2, &["show license all"])));

    let member = |sn: &str| format!("PID:C9300-48UXM,SN:{sn}");
    let (standby, third, fourth) = (member("FOC2"), member("FOC3"), member("FOC4"));
    lab.ok(
        T0,
        &[
            "device",
            "--state",
            "U",
            "init",
            "--pid",
            "C9300-48UXM",
            "--sn",
            "FOC1",
            "--standby",
            &standby,
            "--member",
            &third,
            "--member",
            &fourth,
        ],
    );
    cases.push(("ShowLicenseUdi", lab.exec("U", t1, &["show license udi"])));

    init_sw1(&lab, T0);
    let t3 = "2026-11-15T10:00:00Z";
    lab.exec("D", t3, &["license smart save usage all file bootflash:u.txt"]);
    upload(&lab, t3, "D/bootflash/u.txt", "ack.txt");
    lab.exec("D", t3, &[&format!("license smart import {}", lab.path("ack.txt").display())]);
    let state: Value = serde_json::from_str(&lab.read("D/state.json")).unwrap();
    let acked = state["ledger"]["reports"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, r)| r["state"] == "Acknowledged")
        .map(|(id, _)| id.clone())
        .expect("an acknowledged report");
    cases.push((
        "ShowLicenseRumIdDetail",
        lab.exec("D", t3, &[&format!("show license rum id {acked} detail")]),
    ));
    cases.push(("ShowLicenseAuthorization", lab.exec("D", t3, &["show license authorization"])));

    let Some(parsed) = parse_all(&cases) else { return };
    let [tech, eventlog, changed, all, udi, detail, authorization] =
        parsed.try_into().expect("seven results");

    assert_like_capture("ShowLicenseTechSupport", "ShowLicenseTechSupport", &tech, &[]);
    assert!(tech["reservation_info"].get("last_reporting_not_required").is_none(), "{tech}");
    // After the change, the agent lists the license no longer in use; the rest is unchanged.
    assert_like_capture(
        "ShowLicenseTechSupport",
        "ShowLicenseTechSupport",
        &changed,
        &[
            "reservation_info.last_reporting_not_required",
            "reservation_info.last_reporting_not_required.entitlement_tag",
        ],
    );
    let after = real_paths("ShowLicenseTechSupportAfterLevelChange");
    for path in [
        "reservation_info.last_reporting_not_required",
        "reservation_info.last_reporting_not_required.entitlement_tag",
    ] {
        assert!(after.iter().any(|p| p == path), "{path} is in the real capture");
    }
    let advantage = slp_core_tag(&lab, "S", "network-advantage");
    assert_eq!(
        changed["reservation_info"]["last_reporting_not_required"]["entitlement_tag"],
        advantage
    );

    assert_like_capture("ShowLicenseAll", "ShowLicenseAll", &all, &[]);
    assert_eq!(all["smart_licensing_status"]["transport"]["type"], "Callhome");
    assert_like_capture("ShowLicenseUdi", "ShowLicenseUdi", &udi, &[]);
    assert_like_capture("ShowLicenseRumIdDetail", "ShowLicenseRumIdDetail", &detail, &[]);
    assert_eq!(detail["report_id"][acked.as_str()]["state"], "ACK", "{detail}");
    assert_like_capture(
        "ShowLicenseAuthorization",
        "ShowLicenseAuthorization",
        &authorization,
        &[],
    );

    // The event log is a list of entries that each hold one `log_message`, as in the capture.
    assert_like_capture("ShowLicenseEventlog2", "ShowLicenseEventlog2", &eventlog, &[]);
    let entries = eventlog["event_log"].as_array().expect("event log entries");
    assert!(!entries.is_empty());
    for entry in entries {
        let keys: Vec<&String> = entry.as_object().expect("an entry").keys().collect();
        assert_eq!(keys, ["log_message"], "{entry}");
    }
}

/// The entitlement tag the device's ledger recorded for a license.
fn slp_core_tag(lab: &Lab, dir: &str, feature: &str) -> Value {
    let state: Value = serde_json::from_str(&lab.read(&format!("{dir}/state.json"))).unwrap();
    state["ledger"]["reports"]
        .as_object()
        .unwrap()
        .values()
        .find(|r| r["feature"] == feature)
        .map(|r| r["entitlement_tag"].clone())
        .unwrap_or_else(|| panic!("no report of {feature}"))
}
