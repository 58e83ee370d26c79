//! The guide's migration chapters end to end: a switch registered under Smart Licensing
//! (created with `slp device init --from smart-licensing`) is upgraded with `slp device
//! install`; its transport and URL are kept and the ID token it registered with is converted
//! into a trust code at its first contact with the authority, over the same signed
//! `<smartLicense>` path as `license smart trust idtoken`. The authority then takes its usage:
//! the product instance appears by UDI with the licenses it used before the upgrade in use. An
//! SLR pair keeps its codes and reports by file.

use crate::util::{
    Lab, Running, T0, auth, authority, control, field, pool_figures, served_with_token,
    start_service, upload,
};

const T1: &str = "2026-11-10T10:00:00Z";

/// An authority served with an ID token of `Lab`, and the switch `D` (C9300-24UX FOC2233A5ZV)
/// created registered under Smart Licensing with that token and `options` (`{url}` in one
/// stands for the authority's smart transport URL). Returns the server (keep it), that URL and
/// what `init` printed.
fn registered_switch(lab: &Lab, options: &[&str]) -> (Running, String, String) {
    let (server, token) = served_with_token(lab, T1);
    let url = format!("{}/licservice/license", server.url);
    let options: Vec<String> = options.iter().map(|o| o.replace("{url}", &url)).collect();
    let mut args = vec!["device", "--state", "D", "init", "--pid", "C9300-24UX", "--sn"];
    args.extend(["FOC2233A5ZV", "--from", "smart-licensing", "--smart-account", "Example Corp"]);
    args.extend(["--virtual-account", "Lab", "--idtoken", &token]);
    args.extend(options.iter().map(String::as_str));
    let created = lab.ok(T1, &args);
    (server, url, created)
}

#[test]
fn registered_switch_upgrades_and_its_registration_becomes_trust() {
    let lab = Lab::new();
    let (server, url, created) = registered_switch(
        &lab,
        &[
            "--hostname",
            "sw1",
            "--boot-level",
            "network-advantage",
            "--prior-transport",
            "smart",
            "--prior-url",
            "{url}",
            "--addon",
            "dna-advantage",
        ],
    );
    assert!(created.contains("created sw1"), "{created}");
    let before = lab.exec("D", T1, &["show license summary", "show version"]);
    assert!(before.contains("  Status: REGISTERED\n"), "{before}");
    assert!(before.contains("16.12.04"), "the release before 17.3.2: {before}");
    let refused = lab.fails(T1, &["device", "--state", "D", "exec", "license smart sync all"]);
    assert!(refused.contains("before Smart Licensing Using Policy"), "{refused}");
    // Nothing reached the authority before the upgrade.
    assert_eq!(pool_figures(&lab, T1, "network-advantage")[1], "0");

    let installed = lab.ok(T1, &["device", "--state", "D", "install", "--version", "17.9.4"]);
    assert!(installed.contains("migrated from Smart Licensing"), "{installed}");
    let status = lab.exec("D", T1, &["show license status"]);
    assert_eq!(field(&status, "Type:"), "Smart");
    assert_eq!(field(&status, "URL:"), url);
    assert_eq!(field(&status, "Trust Code Installed:"), "<none>");

    // The first contact converts the registration: trust code and the account's policy.
    let out = lab.exec("D", T1, &["license smart sync all", "show license status"]);
    assert!(out.contains("%SMART_LIC-6-TRUST_CODE_INSTALL_SUCCESS"), "{out}");
    assert_ne!(field(&out, "Trust Code Installed:"), "<none>");
    // Then usage goes to the authority as for any trusted device.
    let out = lab.exec("D", T1, &["license smart sync all", "show license status"]);
    assert_eq!(field(&out, "Last ACK received:"), "Nov 10 10:00:00 2026 UTC", "{out}");
    let pis = auth(&lab, T1, &["pi", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(pis.contains("FOC2233A5ZV"), "{pis}");
    assert_eq!(pool_figures(&lab, T1, "network-advantage")[1], "1");
    assert_eq!(pool_figures(&lab, T1, "dna-advantage")[1], "1");
    let tokens = auth(&lab, T1, &["token", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(tokens.lines().any(|l| l.contains("SL") && l.contains(" 1 ")), "one use: {tokens}");

    // Downgraded again to 16.12.4 (standalone, direct, trust): no further action.
    drop(server);
    let out = lab.ok(T1, &["device", "--state", "D", "install", "--version", "16.12.4"]);
    assert!(out.contains("No further action is required"), "{out}");
    let summary = lab.exec("D", T1, &["show license summary"]);
    assert!(summary.contains("  Status: REGISTERED\n  Smart Account: Example Corp\n"), "{summary}");
}

/// The guide's SLR example: an HA pair with its SLR codes upgraded; transport off, the codes
/// kept. "Reporting After Migration": RUM reports saved to a file, uploaded to the authority,
/// the ACK installed — the authority takes the migrated device's data on the file path.
#[test]
fn slr_pair_upgrades_keeps_its_codes_and_reports_by_file() {
    let lab = Lab::new();
    authority(&lab);
    lab.ok(
        T0,
        &[
            "device",
            "--state",
            "D",
            "init",
            "--pid",
            "C9300-24UX",
            "--sn",
            "FOC2233A5ZV",
            "--standby",
            "PID:C9300-24UX,SN:FOC2233A5ZY",
            "--boot-level",
            "network-advantage",
            "--addon",
            "dna-advantage",
            "--from",
            "slr",
        ],
    );
    let before = lab.exec("D", T0, &["show license reservation"]);
    assert!(before.starts_with("License reservation: ENABLED\n"), "{before}");
    let codes: Vec<String> = before
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Last Confirmation code: ").map(str::to_owned))
        .collect();
    assert_eq!(codes.len(), 2, "{before}");

    let out = lab.ok(T1, &["device", "--state", "D", "install", "--version", "17.9.4"]);
    assert!(out.contains("SLR authorization codes are migrated"), "{out}");
    let all = lab.exec("D", T1, &["show license all"]);
    assert!(all.contains("License Reservation is ENABLED"), "{all}");
    assert_eq!(field(&all, "Type:"), "Transport Off");
    for code in &codes {
        assert!(all.contains(&format!("Last Confirmation code: {code}")), "{all}");
    }

    lab.exec("D", T1, &["license smart save usage all file bootflash:all_rum.txt"]);
    upload(&lab, T1, "D/bootflash/all_rum.txt", "ack.txt");
    let ack = lab.path("ack.txt");
    let out = lab.exec(
        "D",
        T1,
        &[&format!("license smart import {}", ack.display()), "show license status"],
    );
    assert_eq!(field(&out, "Last ACK received:"), "Nov 10 10:00:00 2026 UTC", "{out}");
    let pis = auth(&lab, T1, &["pi", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(pis.contains("FOC2233A5ZV"), "{pis}");
    assert_eq!(pool_figures(&lab, T1, "network-advantage")[1], "2", "both units count");
}

/// A migrated switch left running (`slp device run`): its scheduler's first contact converts
/// the registration's ID token into trust, without a command; device-led conversion stays
/// unsupported ("not supported for migration to Smart Licensing Using Policy").
#[test]
fn running_switch_converts_its_registration_at_the_first_scheduled_contact() {
    let lab = Lab::new();
    let (_server, _, _) =
        registered_switch(&lab, &["--prior-transport", "smart", "--prior-url", "{url}"]);
    lab.ok(T1, &["device", "--state", "D", "install", "--version", "17.9.4"]);
    let _device = start_service(
        &lab,
        T1,
        &["device", "--state", "D", "run", "--mgmt", "127.0.0.1:0", "--manual-ticks"],
    );
    let tick = control(&lab, "D", "/slp/v1/tick", serde_json::json!({}));
    assert!(tick["messages"].to_string().contains("TRUST_CODE_INSTALL_SUCCESS"), "{tick}");
    let status = lab.exec("D", T1, &["show license status", "show license all"]);
    assert_ne!(field(&status, "Trust Code Installed:"), "<none>", "{status}");
    // Device-led conversion is not part of the migration to SLP (the guide): no conversion
    // block (as the guide's `show license all` and a 17.9 agent print none) and no command.
    assert!(!status.contains("License Conversion:"), "{status}");
    let out = lab.fails(T1, &["device", "--state", "D", "exec", "license smart conversion start"]);
    assert!(out.contains("% Invalid input detected"), "{out}");
}

/// The guide's example "Smart Licensing to Smart Licensing Using Policy" on its own transport:
/// a switch registered over Call Home (Smart Licensing's default) keeps `Type: Callhome` after
/// the upgrade, and `license smart sync all` converts its registration into a trust code through
/// the active Call Home profile (`destination address http` of CiscoTAC-1).
#[test]
fn registered_callhome_switch_converts_through_its_call_home_profile() {
    let lab = Lab::new();
    let (_server, url, _) = registered_switch(&lab, &["--boot-level", "network-advantage"]);
    let before = lab.exec("D", T1, &["show license status"]);
    assert_eq!(field(&before, "Type:"), "Callhome");
    let installed = lab.ok(T1, &["device", "--state", "D", "install", "--version", "17.9.4"]);
    assert!(installed.contains("transport type callhome"), "{installed}");
    let out = lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "call-home",
            "profile \"CiscoTAC-1\"",
            &format!("destination address http {url}"),
            "end",
            "license smart sync all",
            "show license status",
        ],
    );
    // No `license smart url`: the profile's destination is the only way to the authority.
    assert!(out.contains("%SMART_LIC-6-TRUST_CODE_INSTALL_SUCCESS"), "{out}");
    assert_eq!(field(&out, "Type:"), "Callhome");
    assert_ne!(field(&out, "Trust Code Installed:"), "<none>");
    // Then its usage reaches the authority over the same profile.
    let out = lab.exec("D", T1, &["license smart sync all", "show license status"]);
    assert_eq!(field(&out, "Last ACK received:"), "Nov 10 10:00:00 2026 UTC", "{out}");
    assert_eq!(pool_figures(&lab, T1, "network-advantage")[1], "1");
}
