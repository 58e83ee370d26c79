//! The air-gapped topology ("No Connectivity to CSSM and No CSLU"), device and authority
//! exchanging files, every step through the real binary on a virtual clock.

use crate::util::{
    Lab, T0, auth, auth_fails, authority, field, init_stack, init_sw1, init_sw1x, upload,
};

const T1: &str = "2026-11-01T10:00:00Z";
const T2: &str = "2026-11-15T10:00:00Z";

/// sw1 at network-advantage + dna-advantage, transport off.
fn device(lab: &Lab) {
    init_sw1(lab, T1);
    lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "license boot level network-advantage addon dna-advantage",
            "license smart transport off",
            "end",
            "copy running-config startup-config",
            "reload",
        ],
    );
}

fn license_row(list: &str, license: &str) -> Vec<String> {
    list.lines()
        .find(|line| line.split_whitespace().next() == Some(license))
        .unwrap_or_else(|| panic!("no {license} row in:\n{list}"))
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn usage_file_upload_and_ack_import_complete_the_cycle() {
    let lab = Lab::new();
    authority(&lab);
    device(&lab);
    let before = lab.exec("D", T1, &["show license status"]);
    assert_eq!(field(&before, "Trust Code Installed:"), "<none>");

    lab.exec("D", T2, &["license smart save usage all file bootflash:all_rum.txt"]);
    let status = lab.exec("D", T2, &["show license status"]);
    assert_eq!(field(&status, "Last report file write:"), "Nov 15 10:00:00 2026 UTC");
    let saved = lab.read("D/bootflash/all_rum.txt");
    assert!(saved.contains("<RUMReport><![CDATA["), "{saved}");
    assert!(saved.contains("<smartLicenseTrustRequest>"), "a device without trust asks for it");

    upload(&lab, T2, "D/bootflash/all_rum.txt", "ack.txt");
    let ack = lab.read("ack.txt");
    assert!(
        ack.contains("<smartLicenseRumAck>") && ack.contains("<smartLicenseTrustCode>"),
        "{ack}"
    );

    let ack_path = lab.path("ack.txt");
    let out = lab.exec("D", T2, &[&format!("license smart import {}", ack_path.display())]);
    assert!(out.contains("%SMART_LIC-6-TRUST_CODE_INSTALL_SUCCESS"), "{out}");
    let status = lab.exec("D", T2, &["show license status"]);
    assert_eq!(field(&status, "Last ACK received:"), "Nov 15 10:00:00 2026 UTC");
    // After the ACK: dna-advantage (subscription) must be reported again 90 days after it.
    assert_eq!(field(&status, "Next ACK deadline:"), "Feb 13 10:00:00 2027 UTC");
    // The saved file was the last report; the next one is due one push interval (30 days, the
    // guide's default) later, well before the ACK deadline.
    assert_eq!(field(&status, "Reporting push interval:"), "30  days");
    assert_eq!(field(&status, "Next report push:"), "Dec 15 10:00:00 2026 UTC");
    assert_eq!(field(&status, "Smart Account:"), "Example Corp As of Nov 15 10:00:00 2026 UTC");
    assert_eq!(field(&status, "Virtual Account:"), "Lab");
    assert_eq!(field(&status, "Trust Code Installed:"), "Nov 15 10:00:00 2026 UTC");

    let rum = lab.exec("D", T2, &["show license rum id all"]);
    let closed: Vec<&str> =
        rum.lines().filter(|l| l.starts_with(char::is_numeric) && !l.contains("OPEN")).collect();
    assert!(!closed.is_empty(), "{rum}");
    assert!(
        closed.iter().all(|l| l.contains(" ACK ")),
        "every saved report is acknowledged:\n{rum}"
    );

    let pis = auth(&lab, T2, &["pi", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(pis.contains("PID:C9300-24UX,SN:FOC2233A5ZV") && pis.contains("sw1"), "{pis}");
    let licenses = auth(&lab, T2, &["license", "list", "--account", "example.com", "--va", "Lab"]);
    let na = license_row(&licenses, "network-advantage");
    assert!(
        na.contains(&"10".to_owned())
            && na.contains(&"1".to_owned())
            && na.contains(&"9".to_owned()),
        "purchased 10, in use 1, balance 9: {na:?}\n{licenses}"
    );
    assert!(!licenses.contains("Insufficient Licenses"), "{licenses}");
}

/// `show license status` without the lines that name the current time.
fn status_lines(status: &str) -> String {
    status.lines().filter(|l| !l.contains("Current time")).collect::<Vec<_>>().join("\n")
}

#[test]
fn a_replayed_or_older_ack_moves_nothing() {
    const T3: &str = "2026-12-15T10:00:00Z";
    const LATER: &str = "2027-04-01T10:00:00Z";
    let lab = Lab::new();
    authority(&lab);
    device(&lab);
    lab.exec("D", T2, &["license smart save usage all file bootflash:u1.txt"]);
    upload(&lab, T2, "D/bootflash/u1.txt", "ack1.txt");
    let ack1 = lab.path("ack1.txt").display().to_string();
    let out = lab.exec("D", T2, &[&format!("license smart import {ack1}")]);
    assert!(out.contains("Import Data Successful"), "{out}");
    let status = lab.exec("D", LATER, &["show license status"]);
    assert_eq!(field(&status, "Last ACK received:"), "Nov 15 10:00:00 2026 UTC");
    assert_eq!(field(&status, "Next ACK deadline:"), "Feb 13 10:00:00 2027 UTC");

    // Months later, the same ACK file again: nothing new, and the status says the same.
    let out = lab.exec("D", LATER, &[&format!("license smart import {ack1}")]);
    assert!(out.contains("% Nothing new in") && out.contains("nothing changed"), "{out}");
    assert!(!out.contains("Import Data Successful"), "{out}");
    let replayed = lab.exec("D", LATER, &["show license status"]);
    assert_eq!(status_lines(&replayed), status_lines(&status));
    let rum = lab.exec("D", LATER, &["show license rum id all"]);

    // A newer ACK, then the older one again: the older one moves nothing back.
    lab.exec("D", T3, &["license smart save usage all file bootflash:u2.txt"]);
    upload(&lab, T3, "D/bootflash/u2.txt", "ack2.txt");
    let ack2 = lab.path("ack2.txt").display().to_string();
    let out = lab.exec("D", T3, &[&format!("license smart import {ack2}")]);
    assert!(out.contains("Import Data Successful"), "{out}");
    let status = lab.exec("D", T3, &["show license status"]);
    assert_eq!(field(&status, "Last ACK received:"), "Dec 15 10:00:00 2026 UTC");
    let out = lab.exec("D", T3, &[&format!("license smart import {ack1}")]);
    assert!(out.contains("% Nothing new in"), "{out}");
    assert_eq!(status_lines(&lab.exec("D", T3, &["show license status"])), status_lines(&status));
    assert_ne!(rum, lab.exec("D", T3, &["show license rum id all"]), "the second cycle acked more");
}

#[test]
fn reupload_is_idempotent_and_overuse_raises_an_alert() {
    let lab = Lab::new();
    authority(&lab);
    device(&lab);
    lab.exec("D", T2, &["license smart save usage all file bootflash:all_rum.txt"]);
    upload(&lab, T2, "D/bootflash/all_rum.txt", "ack1.txt");
    upload(&lab, T2, "D/bootflash/all_rum.txt", "ack2.txt");
    assert_eq!(lab.read("ack1.txt"), lab.read("ack2.txt"), "the same file gets the same ACK");
    let licenses = auth(&lab, T2, &["license", "list", "--account", "example.com", "--va", "Lab"]);
    let dna = license_row(&licenses, "dna-advantage");
    assert!(
        dna.contains(&"1".to_owned()) && dna.contains(&"0".to_owned()),
        "in use 1, balance 0, not doubled: {dna:?}"
    );

    // A second switch using dna-advantage: 2 in use, 1 purchased.
    lab.ok(
        T1,
        &[
            "device",
            "--state",
            "E",
            "init",
            "--pid",
            "C9300-24UX",
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
            "license boot level network-advantage addon dna-advantage",
            "end",
            "write memory",
            "reload",
        ],
    );
    lab.exec("E", T2, &["license smart save usage all file bootflash:u.txt"]);
    upload(&lab, T2, "E/bootflash/u.txt", "ack3.txt");
    let licenses = auth(&lab, T2, &["license", "list", "--account", "example.com", "--va", "Lab"]);
    let dna = license_row(&licenses, "dna-advantage");
    assert!(dna.contains(&"-1".to_owned()), "balance -1: {dna:?}");
    assert!(
        licenses
            .lines()
            .any(|l| l.starts_with("dna-advantage") && l.contains("Insufficient Licenses")),
        "{licenses}"
    );
}

#[test]
fn bad_uploads_are_refused_and_store_nothing() {
    let lab = Lab::new();
    authority(&lab);
    device(&lab);
    lab.exec("D", T2, &["license smart save usage all file bootflash:all_rum.txt"]);
    let good = lab.read("D/bootflash/all_rum.txt");

    // A report whose count was edited no longer matches its signature.
    let tampered = good.replacen(r#"\"value\":\"1\""#, r#"\"value\":\"0\""#, 1);
    assert_ne!(tampered, good, "the file holds a count to tamper with");
    std::fs::write(lab.path("tampered.txt"), tampered).unwrap();
    let out = auth_fails(
        &lab,
        T2,
        &[
            "usage",
            "upload",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "tampered.txt",
            "--ack",
            "t.txt",
        ],
    );
    assert!(out.contains("PID:C9300-24UX,SN:FOC2233A5ZV"), "the error names the UDI: {out}");
    assert!(!lab.path("t.txt").exists());

    std::fs::write(lab.path("broken.txt"), "<smartLicense><RUMReport>").unwrap();
    let out = auth_fails(
        &lab,
        T2,
        &[
            "usage",
            "upload",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "broken.txt",
            "--ack",
            "b.txt",
        ],
    );
    assert!(out.to_lowercase().contains("xml"), "{out}");

    let out = auth_fails(
        &lab,
        T2,
        &[
            "usage",
            "upload",
            "--account",
            "nosuch.com",
            "--va",
            "Lab",
            "D/bootflash/all_rum.txt",
            "--ack",
            "x.txt",
        ],
    );
    assert!(out.contains("nosuch.com"), "{out}");
    let out = auth_fails(
        &lab,
        T2,
        &[
            "usage",
            "upload",
            "--account",
            "example.com",
            "--va",
            "Nope",
            "D/bootflash/all_rum.txt",
            "--ack",
            "x.txt",
        ],
    );
    assert!(out.contains("Nope"), "{out}");

    let pis = auth(&lab, T2, &["pi", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(!pis.contains("FOC2233A5ZV"), "nothing was stored: {pis}");

    // A device refuses an ACK meant for another product instance.
    upload(&lab, T2, "D/bootflash/all_rum.txt", "ack.txt");
    lab.ok(
        T1,
        &[
            "device",
            "--state",
            "E",
            "init",
            "--pid",
            "C9300-24UX",
            "--sn",
            "FOC0000SW2",
            "--hostname",
            "sw2",
        ],
    );
    let before = lab.read("E/state.json");
    let out = lab.fails(
        T2,
        &[
            "device",
            "--state",
            "E",
            "exec",
            &format!("license smart import {}", lab.path("ack.txt").display()),
        ],
    );
    assert!(out.contains("%SMART_LIC-3-AUTHORIZATION_INSTALL_FAILED"), "{out}");
    let after: serde_json::Value = serde_json::from_str(&lab.read("E/state.json")).unwrap();
    let before: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert_eq!(after["ledger"], before["ledger"]);
    assert_eq!(after["last_ack"], serde_json::Value::Null);
}

#[test]
fn slac_by_file_gates_the_export_controlled_feature() {
    let lab = Lab::new();
    authority(&lab);
    init_sw1x(&lab, T1);
    let out = lab.fails(
        T1,
        &[
            "device",
            "--state",
            "D",
            "exec",
            "configure terminal",
            "interface Tunnel0",
            "tunnel mode ipsec ipv4",
        ],
    );
    assert!(out.contains("no authorization code (SLAC) for hseck9"), "{out}");

    lab.exec(
        "D",
        T1,
        &[
            "license smart authorization request add hseck9 local",
            "license smart authorization request save bootflash:slac.txt",
        ],
    );
    upload(&lab, T1, "D/bootflash/slac.txt", "code.txt");
    let licenses = auth(&lab, T1, &["license", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(
        license_row(&licenses, "hseck9").contains(&"1".to_owned()),
        "one key reserved: {licenses}"
    );
    let out = lab.exec(
        "D",
        T1,
        &[
            &format!("license smart import {}", lab.path("code.txt").display()),
            "show license authorization",
        ],
    );
    assert!(out.contains("%SMART_LIC-6-AUTHORIZATION_INSTALL_SUCCESS: A new licensing authorization code was successfully installed on: PID:C9300X-24HX,SN:FOC2233A5ZV."), "{out}");
    assert!(
        out.contains("Status: SMART AUTHORIZATION INSTALLED on Nov 01 10:00:00 2026 UTC"),
        "{out}"
    );

    lab.exec(
        "D",
        T1,
        &["configure terminal", "interface Tunnel0", "tunnel mode ipsec ipv4", "end"],
    );
    let summary = lab.exec("D", T1, &["show license summary"]);
    assert!(
        summary.contains("hseck9                  (Cat9K HSEC)                      1 IN USE"),
        "{summary}"
    );

    let out = lab.fails(
        T1,
        &[
            "device",
            "--state",
            "D",
            "exec",
            "license smart authorization return local offline bootflash:ret.txt",
        ],
    );
    assert!(out.contains("while the license is in use"), "{out}");
    lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "interface Tunnel0",
            "no tunnel mode ipsec ipv4",
            "exit",
            "platform hsec-license-release",
            "end",
        ],
    );
    let out = lab.exec(
        "D",
        T1,
        &[
            "license smart authorization return local offline bootflash:ret.txt",
            "show license authorization",
        ],
    );
    assert!(out.contains("Last return code:"), "{out}");
    auth(
        &lab,
        T1,
        &[
            "usage",
            "upload",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "D/bootflash/ret.txt",
            "--ack",
            "ret-ack.txt",
        ],
    );
    let licenses = auth(&lab, T1, &["license", "list", "--account", "example.com", "--va", "Lab"]);
    let row = license_row(&licenses, "hseck9");
    assert!(row.contains(&"2".to_owned()), "both keys back in the pool: {row:?}");
}

#[test]
fn custom_policy_rides_in_the_ack_and_installs_from_a_file() {
    let lab = Lab::new();
    authority(&lab);
    device(&lab);
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
            "--unenforced-subscription",
            "120,111,111",
            "--enforced",
            "30,90,60",
            "--export",
            "30,30,30",
        ],
    );

    // Downloaded as a file and imported.
    auth(
        &lab,
        T1,
        &["policy", "download", "--account", "example.com", "--va", "Lab", "--out", "policy.xml"],
    );
    // The file is shaped like CSSM's download: `<smartLicensePolicy>` is its root element.
    let file = lab.read("policy.xml");
    assert!(file.lines().nth(1).unwrap().starts_with("<smartLicensePolicy><data>"), "{file}");
    let out = lab.exec(
        "D",
        T1,
        &[
            &format!("license smart import {}", lab.path("policy.xml").display()),
            "show license status",
        ],
    );
    assert!(out.contains("%SMART_LIC-6-POLICY_INSTALL_SUCCESS"), "{out}");
    assert_eq!(field(&out, "Policy in use:"), "Installed On Nov 01 10:00:00 2026 UTC");
    assert_eq!(field(&out, "Policy name:"), "SLE Policy");
    assert!(out.contains("    Reporting frequency (days): 111 (Customer Policy)"), "{out}");

    // Delivered in an ACK.
    lab.ok(
        T1,
        &[
            "device",
            "--state",
            "E",
            "init",
            "--pid",
            "C9300-24UX",
            "--sn",
            "FOC0000SW2",
            "--hostname",
            "sw2",
        ],
    );
    lab.exec("E", T2, &["license smart save usage all file bootflash:u.txt"]);
    upload(&lab, T2, "E/bootflash/u.txt", "ack.txt");
    let out = lab.exec(
        "E",
        T2,
        &[
            &format!("license smart import {}", lab.path("ack.txt").display()),
            "show license status",
        ],
    );
    assert_eq!(field(&out, "Policy name:"), "SLE Policy");
    // ongoing 60 for perpetual now applies after the ACK.
    assert_eq!(field(&out, "Next ACK deadline:"), "Jan 14 10:00:00 2027 UTC");
}

#[test]
fn ha_stack_reports_for_all_units_and_gets_a_trust_code_for_each() {
    let lab = Lab::new();
    authority(&lab);
    init_stack(&lab, T1, true);
    lab.exec("S", T2, &["license smart save usage all file bootflash:u.txt"]);
    let saved = lab.read("S/bootflash/u.txt");
    assert_eq!(
        saved.matches("<smartLicenseTrustRequest>").count(),
        3,
        "one trust request per unit"
    );
    assert!(
        saved.contains(r#"\"role\":\"Standby\""#) && saved.contains(r#"\"role\":\"Member\""#),
        "the report names every unit"
    );
    upload(&lab, T2, "S/bootflash/u.txt", "ack.txt");
    let out = lab.exec(
        "S",
        T2,
        &[
            &format!("license smart import {}", lab.path("ack.txt").display()),
            "show license status",
        ],
    );
    assert_eq!(out.matches("%SMART_LIC-6-TRUST_CODE_INSTALL_SUCCESS").count(), 3, "{out}");
    for (role, sn) in [("Active", "FOC1"), ("Standby", "FOC2"), ("Member", "FOC3")] {
        assert!(
            out.contains(&format!(
                "  {role}: PID:C9300-48UXM,SN:{sn}\n    INSTALLED on Nov 15 10:00:00 2026 UTC"
            )),
            "{out}"
        );
    }
}

#[test]
fn ha_events_move_next_report_push_and_the_new_active_reports() {
    let lab = Lab::new();
    authority(&lab);
    init_stack(&lab, T1, false);
    lab.exec("S", T2, &["license smart save usage all file bootflash:u.txt"]);
    upload(&lab, T2, "S/bootflash/u.txt", "ack.txt");
    let status = lab.exec(
        "S",
        T2,
        &[
            &format!("license smart import {}", lab.path("ack.txt").display()),
            "show license status",
        ],
    );
    assert_eq!(
        field(&status, "Next report push:"),
        "<none>",
        "perpetual only, acknowledged: nothing due\n{status}"
    );

    // A member joins: counted, and a report is due two minutes later.
    let t3 = "2026-12-01T08:00:00Z";
    let out = lab.exec(
        "S",
        t3,
        &[
            "test platform stack add member PID:C9300-48UXM,SN:FOC3",
            "show license summary",
            "show license status",
            "show license udi",
        ],
    );
    assert!(out.contains("(C9300-48 Network Advan...)       3 IN USE"), "{out}");
    assert_eq!(field(&out, "Next report push:"), "Dec 01 08:02:00 2026 UTC");
    assert!(out.contains("    Member:PID:C9300-48UXM,SN:FOC3"), "{out}");

    // A switchover: the standby is the active now and signs the next report for all units.
    let t4 = "2026-12-02T08:00:00Z";
    let out = lab.exec(
        "S",
        t4,
        &["redundancy force-switchover", "show license udi", "show license status"],
    );
    assert!(out.contains("UDI: PID:C9300-48UXM,SN:FOC2"), "{out}");
    assert_eq!(
        field(&out, "Next report push:"),
        "Dec 01 08:02:00 2026 UTC",
        "the earliest unreported change still rules"
    );
    lab.exec("S", t4, &["license smart save usage unreported file bootflash:after.txt"]);
    let saved = lab.read("S/bootflash/after.txt");
    assert!(saved.contains(r#"\"instance\":{\"sudi\":{\"udi_pid\":\"C9300-48UXM\",\"udi_serial_number\":\"FOC2\"}}"#), "{saved}");
    assert_eq!(
        saved.matches("<smartLicenseTrustRequest>").count(),
        1,
        "only the new member lacks trust"
    );
    upload(&lab, t4, "S/bootflash/after.txt", "ack2.txt");
    let out = lab.exec(
        "S",
        t4,
        &[
            &format!("license smart import {}", lab.path("ack2.txt").display()),
            "show license status",
        ],
    );
    assert!(
        out.contains(
            "  Member: PID:C9300-48UXM,SN:FOC3\n    INSTALLED on Dec 02 08:00:00 2026 UTC"
        ),
        "{out}"
    );

    let out = lab.fails(
        t4,
        &["device", "--state", "S", "exec", "test platform stack remove PID:C9300-48UXM,SN:FOC2"],
    );
    assert!(out.contains("the active cannot leave"), "{out}");
    let out = lab.exec(
        "S",
        t4,
        &["test platform stack remove PID:C9300-48UXM,SN:FOC3", "show license summary"],
    );
    assert!(out.contains("(C9300-48 Network Advan...)       2 IN USE"), "{out}");
}

/// A device given its authority's key at `init` refuses even the first ACK when another
/// authority signed it (without the key it would pin the first key it sees); the real ACK
/// then installs, and a factory reset keeps the key.
#[test]
fn a_device_pinned_at_init_refuses_a_rogue_authoritys_first_ack() {
    let lab = Lab::new();
    authority(&lab);
    // A second, rogue authority with the same account names.
    for args in [
        &["account", "create", "--name", "Example Corp", "--domain", "example.com"][..],
        &["va", "create", "--account", "example.com", "--name", "Lab"][..],
    ] {
        let mut all = vec!["authority", "--data", "R"];
        all.extend_from_slice(args);
        lab.ok(T0, &all);
    }
    let key = auth(&lab, T0, &["key", "show"]);
    std::fs::write(lab.path("authority-key.txt"), &key).unwrap();

    // A key that is not one is refused, naming the flag; nothing is created.
    let bad = lab.fails(
        T1,
        &[
            "device",
            "--state",
            "X",
            "init",
            "--pid",
            "C9300-24UX",
            "--sn",
            "FOC1",
            "--authority-key",
            "bm90IGEga2V5",
        ],
    );
    assert!(bad.contains("--authority-key") && bad.contains("32-byte"), "{bad}");
    assert!(!lab.path("X/state.json").exists());

    let key_file = lab.path("authority-key.txt");
    let key_arg = key_file.to_str().unwrap();
    lab.ok(
        T1,
        &[
            "device",
            "--state",
            "D",
            "init",
            "--pid",
            "C9300-24UX",
            "--sn",
            "FOC2233A5ZV",
            "--hostname",
            "sw1",
            "--authority-key",
            key_arg,
        ],
    );
    lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "license boot level network-advantage",
            "license smart transport off",
            "end",
            "reload",
        ],
    );
    lab.exec("D", T2, &["license smart save usage all file bootflash:all_rum.txt"]);
    let before = lab.exec("D", T2, &["show license status", "show license rum id all"]);

    // The rogue authority answers the same file: its ACK is refused on the device.
    lab.ok(
        T2,
        &[
            "authority",
            "--data",
            "R",
            "usage",
            "upload",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "D/bootflash/all_rum.txt",
            "--ack",
            "rogue-ack.txt",
        ],
    );
    let rogue = lab.path("rogue-ack.txt");
    let import_rogue = format!("license smart import {}", rogue.display());
    let refused = lab.fails(T2, &["device", "--state", "D", "exec", &import_rogue]);
    assert!(!refused.contains("Import Data Successful"), "{refused}");
    assert!(refused.contains("does not trust") && refused.contains("pinned at init"), "{refused}");
    let after = lab.exec("D", T2, &["show license status", "show license rum id all"]);
    assert_eq!(before, after, "a refused ACK changes nothing");

    // The real authority's ACK installs.
    upload(&lab, T2, "D/bootflash/all_rum.txt", "ack.txt");
    let real = lab.path("ack.txt");
    let out = lab.exec("D", T2, &[&format!("license smart import {}", real.display())]);
    assert!(out.contains("%SMART_LIC-6-TRUST_CODE_INSTALL_SUCCESS"), "{out}");
    let status = lab.exec("D", T2, &["show license status"]);
    assert_eq!(field(&status, "Last ACK received:"), "Nov 15 10:00:00 2026 UTC");

    // A factory reset keeps the key given at init: the rogue ACK is still refused.
    lab.exec("D", T2, &["license smart factory reset"]);
    let again = lab.fails(T2, &["device", "--state", "D", "exec", &import_rogue]);
    assert!(again.contains("does not trust"), "{again}");
}
