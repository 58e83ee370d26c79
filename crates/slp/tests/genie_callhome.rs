//! `show call-home profile all` and `show call-home smart-licensing` (the guide's
//! troubleshooting for the callhome transport) fed to Genie's IOS-XE parsers: they parse, the
//! values are the device's configuration, and the key paths are those of the real captures in
//! genieparser (`ShowCallHomeProfileAll/golden_output1`, `ShowCallHomeSmartLicensing/golden_output`).

use crate::genie::parse_all;
use crate::util::{Lab, init_sw1};

const T1: &str = "2026-11-01T10:00:00Z";

#[test]
fn call_home_show_output_parses_with_genie_as_real_captures_do() {
    let lab = Lab::new();
    init_sw1(&lab, T1);
    lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "license smart transport callhome",
            "call-home",
            "profile Ops",
            "destination transport-method http",
            "destination address http http://ops.example/its",
            "end",
        ],
    );
    let profiles = lab.exec("D", T1, &["show call-home profile all"]);
    let smart = lab.exec("D", T1, &["show call-home smart-licensing"]);
    let Some(parsed) = parse_all(&[
        ("ShowCallHomeProfileAll", profiles.clone()),
        ("ShowCallHomeSmartLicensing", smart.clone()),
    ]) else {
        return;
    };
    let tac = &parsed[0]["profile"]["name"]["CiscoTAC-1"];
    assert_eq!(tac["status"], "ACTIVE", "{profiles}");
    assert_eq!(tac["transport_method"], "http");
    assert_eq!(
        tac["http_address"],
        "https://tools.cisco.com/its/service/oddce/services/DDCEService"
    );
    assert_eq!(tac["other_address"], "default");
    assert_eq!(tac["message_size_limit_in_bytes"], 3145728);
    assert_eq!(tac["group_pattern"]["crash"]["severity"], "debugging");
    let mut keys: Vec<&String> = tac.as_object().unwrap().keys().collect();
    keys.sort();
    // The keys of CiscoTAC-1 in the real capture (golden_output1).
    assert_eq!(
        keys,
        [
            "group_pattern",
            "http_address",
            "message_size_limit_in_bytes",
            "mode",
            "other_address",
            "periodic_info",
            "preferred_message_format",
            "reporting_data",
            "status",
            "transport_method",
        ]
    );
    assert!(
        tac["periodic_info"]["inventory"]["scheduled"]
            .as_str()
            .unwrap()
            .ends_with(" day of the month")
    );
    let ops = &parsed[0]["profile"]["name"]["Ops"];
    assert_eq!(ops["status"], "ACTIVE");
    assert_eq!(ops["transport_method"], "http and email");
    assert_eq!(ops["http_address"], "http://ops.example/its");
    assert_eq!(ops["email_address"], "Not yet set up");

    let settings = &parsed[1]["smart_licensing_settings"];
    assert_eq!(
        settings,
        &serde_json::json!({
            "destination_url": "https://tools.cisco.com/its/service/oddce/services/DDCEService",
            "profile": "CiscoTAC-1",
            "smart_license_messages": "enabled",
            "status": "ACTIVE",
        }),
        "{smart}"
    );
}
