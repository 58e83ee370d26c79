//! Show output laid out as a real IOS-XE 17.9 Catalyst 9300 prints it (issue #18, "Output
//! fidelity"): the expected lines are written from real 17.x captures' layout.

use crate::util::{Lab, T0 as AUTH_T0, authority, init_stack, init_sw1, upload};

const T0: &str = "2026-11-01T10:00:00Z";

fn advantage_sw1(lab: &Lab) {
    init_sw1(lab, T0);
    lab.exec(
        "D",
        T0,
        &[
            "configure terminal",
            "license boot level network-advantage addon dna-advantage",
            "end",
            "write memory",
            "reload",
        ],
    );
}

#[test]
fn show_version_tables_uptime_and_air_level_match_a_real_cat9300() {
    let lab = Lab::new();
    advantage_sw1(&lab);
    // 1 day, 1 hour and 1 minute after the reload.
    let version = lab.exec("D", "2026-11-02T11:01:00Z", &["show version"]);
    let lines: Vec<&str> = version.lines().collect();
    assert!(lines.contains(&"Cisco IOS XE Software, Version 17.09.04"), "{version}");
    assert!(
        version.contains("(CAT9K_IOSXE), Version 17.9.4, RELEASE SOFTWARE"),
        "the second line says the release unpadded: {version}"
    );
    assert!(lines.contains(&"sw1 uptime is 1 day, 1 hour, 1 minute"), "{version}");
    assert!(
        lines.contains(&"Uptime for this control processor is 1 day, 1 hour, 1 minute"),
        "{version}"
    );
    assert!(
        lines.contains(
            &"network-advantage   \tSmart License                 \t network-advantage   "
        ),
        "{version}"
    );
    assert!(
        lines.contains(
            &"dna-advantage       \tSubscription Smart License    \t dna-advantage                 "
        ),
        "{version}"
    );
    assert!(lines.contains(&"AIR License Level: AIR DNA Advantage"), "{version}");
    assert!(lines.contains(&"Next reload AIR license Level: AIR DNA Advantage"), "{version}");
    let header = lines.iter().position(|l| l.starts_with("Switch Ports Model")).expect("table");
    assert_eq!(
        &lines[header..header + 3],
        &[
            "Switch Ports Model              SW Version        SW Image              Mode   ",
            "------ ----- -----              ----------        ----------            ----   ",
            "*    1 41    C9300-24UX         17.09.04          CAT9K_IOSXE           INSTALL",
        ]
    );
    assert!(lines.contains(&"CLEI Code Number                   : "), "{version}");
    // Zero units are left out.
    let fresh = lab.exec("D", "2026-11-22T10:00:00Z", &["show version"]);
    assert!(fresh.contains("sw1 uptime is 3 weeks\n"), "{fresh}");
}

#[test]
fn show_version_of_a_stack_lists_every_switch_and_its_own_block() {
    let lab = Lab::new();
    init_stack(&lab, T0, true);
    let version = lab.exec("S", "2026-11-01T12:00:00Z", &["show version"]);
    for row in [
        "*    1 65    C9300-48UXM        17.09.04          CAT9K_IOSXE           INSTALL",
        "     2 65    C9300-48UXM        17.09.04          CAT9K_IOSXE           INSTALL",
        "     3 65    C9300-48UXM        17.09.04          CAT9K_IOSXE           INSTALL",
        "Switch 02",
        "Switch 03",
        "Switch uptime                      : 2 hours ",
        "System Serial Number               : FOC3",
    ] {
        assert!(version.lines().any(|l| l == row), "{row:?} in:\n{version}");
    }
}

#[test]
fn show_license_summary_truncates_long_tags_as_a_real_device() {
    let lab = Lab::new();
    advantage_sw1(&lab);
    let summary = lab.exec("D", T0, &["show license summary"]);
    assert!(
        summary
            .contains("\n  network-advantage       (C9300-24 Network Advan...)       1 IN USE\n"),
        "{summary}"
    );
    assert!(
        summary
            .contains("\n  dna-advantage           (C9300-24 DNA Advantage)          1 IN USE\n"),
        "{summary}"
    );
    let status = lab.exec("D", T0, &["show license status"]);
    assert!(status.contains("\n  Reporting push interval: 30  days\n"), "{status}");
    let history = lab.exec("D", T0, &["show license history message"]);
    assert!(history.contains("Import RUM ACK:\n  No past Import history\n"), "{history}");
    assert!(history.contains("Trust Sync:\n  No past history\n"), "{history}");
}

#[test]
fn output_modifiers_work_on_every_show_command_and_show_clock_tells_the_time() {
    let lab = Lab::new();
    advantage_sw1(&lab);
    let run = lab.exec("D", T0, &["show running-config | section license"]);
    assert_eq!(run, "license boot level network-advantage addon dna-advantage\n");
    let run = lab.exec("D", T0, &["sh run | i ^hostname"]);
    assert_eq!(run, "hostname sw1\n");
    let status = lab.exec("D", T0, &["show license status | include push"]);
    assert_eq!(status.lines().count(), 4, "{status}");
    assert!(status.lines().all(|l| l.contains("push")), "{status}");
    let summary = lab.exec("D", T0, &["show license summary | exclude IN USE"]);
    assert!(!summary.contains("IN USE"), "{summary}");
    assert!(summary.contains("Account Information:"), "{summary}");
    let version = lab.exec("D", T0, &["show version | begin Switch Ports"]);
    assert!(version.starts_with("Switch Ports Model"), "{version}");
    for command in [
        "show license all",
        "show license usage",
        "show license udi",
        "show license authorization",
        "show license rum id all",
        "show license eventlog",
        "show license tech support",
        "show license history message",
        "show clock",
        "show logging",
    ] {
        let all = lab.exec("D", T0, &[command]);
        let none = lab.exec("D", T0, &[&format!("{command} | exclude .")]);
        assert!(!all.trim().is_empty(), "{command}");
        assert_eq!(none.trim(), "", "{command} | exclude . leaves nothing: {none}");
    }
    let refused = lab.fails(T0, &["device", "--state", "D", "exec", "show version | count x"]);
    assert!(refused.contains("% Invalid input"), "{refused}");
    let clock = lab.exec("D", "2026-11-01T10:05:07Z", &["show clock"]);
    assert_eq!(clock, "*10:05:07.000 UTC Sun Nov 1 2026\n");
}

#[test]
fn the_event_log_has_saevt_entries_and_syslog_messages_stay_in_the_log() {
    let lab = Lab::new();
    advantage_sw1(&lab);
    let eventlog = lab.exec("D", T0, &["show license eventlog"]);
    let entries: Vec<&str> = eventlog.lines().skip(1).collect();
    assert!(!entries.is_empty(), "{eventlog}");
    assert!(
        entries.iter().all(|l| l.starts_with("2026-11-01 10:00:00.000 UTC SAEVT_")),
        "{eventlog}"
    );
    let logging = lab.exec("D", T0, &["show logging"]);
    assert!(
        logging.contains(
            "\n*Nov  1 2026 10:00:00.000 UTC: %SMART_LIC-6-REPORTING_REQUIRED: A Usage report"
        ),
        "{logging}"
    );
    assert!(!logging.contains("SAEVT_"), "{logging}");
}

/// The `Trust Code Installed:` block of a show output, up to the blank line that ends it.
fn trust_block(text: &str) -> String {
    let start = text.find("Trust Code Installed:").expect("trust block");
    let rest = &text[start..];
    rest[..rest.find("\n\n").unwrap_or(rest.len())].to_owned()
}

/// A 17.9 device's Smart Agent (5.5) prints `Trust Code Installed` in `show license all` and
/// `show license status` only: tech support leaves it out, trusted or not (genieparser's captures
/// of agents 5.1 to 5.9), and lists the trust per unit under Other Info. The two agree.
#[test]
fn tech_support_and_show_license_all_print_one_form_of_trust_code_installed() {
    let lab = Lab::new();
    authority(&lab);
    init_sw1(&lab, AUTH_T0);
    let t1 = "2026-11-15T10:00:00Z";
    let before = lab.exec("D", t1, &["show license tech support"]);
    lab.exec("D", t1, &["license smart save usage all file bootflash:u.txt"]);
    upload(&lab, t1, "D/bootflash/u.txt", "ack.txt");
    lab.exec("D", t1, &[&format!("license smart import {}", lab.path("ack.txt").display())]);
    let all = lab.exec("D", t1, &["show license all"]);
    let tech = lab.exec("D", t1, &["show license tech support"]);
    assert!(trust_block(&all).contains("INSTALLED on Nov 15 10:00:00 2026 UTC"), "{all}");
    assert!(!tech.contains("Trust Code Installed"), "{tech}");
    assert!(before.contains("\nP:C9300-24UX,S:FOC2233A5ZV: No Trust Data\n"), "{before}");
    assert!(before.contains("\nOverall Trust: No ID\n"), "{before}");
    assert!(
        tech.contains(
            "\nP:C9300-24UX,S:FOC2233A5ZV: P:C9300-24UX,S:FOC2233A5ZV, state[2], Trust Data INSTALLED  TrustId:"
        ),
        "{tech}"
    );
    assert!(tech.contains("\nOverall Trust: INSTALLED (2)\n"), "{tech}");
}

#[test]
fn show_license_rum_id_all_is_laid_out_as_a_real_device() {
    let lab = Lab::new();
    advantage_sw1(&lab);
    let rum = lab.exec("D", T0, &["show license rum id all"]);
    let lines: Vec<&str> = rum.lines().collect();
    assert_eq!(
        &lines[..3],
        &[
            "Smart Licensing Usage Report:",
            "====================================",
            "Report Id,          State,    Flag, Feature Name",
        ],
        "{rum}"
    );
    let row = lines[3..].iter().find(|l| l.ends_with(" dna-advantage")).expect("a row");
    let (id, rest) = row.split_at(20);
    assert!(id.trim_end().chars().all(|c| c.is_ascii_digit()), "{row:?}");
    assert!(rest.starts_with("OPEN      N     dna-advantage"), "{row:?}");
}
