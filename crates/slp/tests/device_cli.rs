//! The device's IOS-style CLI on its own.

use crate::util::{Lab, field, init_sw1};

const T0: &str = "2026-11-01T10:00:00Z";
const T1: &str = "2026-11-01T10:05:00Z";

#[test]
fn boot_level_takes_effect_at_reload_and_show_version_tells_both() {
    let lab = Lab::new();
    init_sw1(&lab, T0);
    lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "license boot level network-advantage addon dna-advantage",
            "end",
            "copy running-config startup-config",
        ],
    );
    let version = lab.exec("D", T1, &["show version"]);
    let row = version.lines().find(|l| l.starts_with("network-essentials")).expect("license row");
    assert!(
        row.trim_end().ends_with("network-advantage"),
        "current essentials, next reboot advantage: {row:?}"
    );
    let summary = lab.exec("D", T1, &["show license summary"]);
    assert!(
        summary.contains("network-essentials") && !summary.contains("dna-advantage"),
        "{summary}"
    );

    lab.exec("D", T1, &["reload"]);
    let summary = lab.exec("D", T1, &["show license summary"]);
    assert!(
        summary.contains("network-advantage       (C9300-24 Network Advan...)       1 IN USE"),
        "{summary}"
    );
    assert!(
        summary.contains("dna-advantage           (C9300-24 DNA Advantage)          1 IN USE"),
        "{summary}"
    );
    assert!(!summary.contains("network-essentials"), "{summary}");

    // Unsaved configuration is lost at reload, as on a real device.
    lab.exec(
        "D",
        T1,
        &["configure terminal", "license boot level network-essentials", "end", "reload"],
    );
    let summary = lab.exec("D", T1, &["show license summary"]);
    assert!(summary.contains("network-advantage"), "{summary}");
}

#[test]
fn usage_changes_start_new_reports_chained_per_license() {
    let lab = Lab::new();
    init_sw1(&lab, T0);
    lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "license boot level network-advantage",
            "end",
            "write memory",
            "reload",
        ],
    );
    let rum = lab.exec("D", T1, &["show license rum id all"]);
    let rows: Vec<&str> = rum.lines().filter(|l| l.starts_with(char::is_numeric)).collect();
    assert_eq!(rows.len(), 2, "{rum}");
    assert!(rows[0].contains("CLOSED") && rows[0].ends_with("network-essentials"), "{rum}");
    assert!(rows[1].contains("OPEN") && rows[1].ends_with("network-advantage"), "{rum}");
    let open_id = rows[1].split_whitespace().next().unwrap();
    let detail = lab.exec("D", T1, &[&format!("show license rum id {open_id} detail")]);
    assert!(detail.contains("Feature Name: network-advantage"), "{detail}");
    assert!(detail.contains("Storage State: EXIST"), "{detail}");
    // 0 -> n is a change: report on change 90 days (the perpetual first report is 365).
    let status = lab.exec("D", T1, &["show license status"]);
    assert_eq!(field(&status, "Next ACK deadline:"), "Jan 30 10:00:00 2027 UTC");
    assert_eq!(field(&status, "Next report push:"), "Nov 01 10:02:00 2026 UTC");
}

#[test]
fn usage_interval_zero_stops_pushing_but_not_the_ack_deadline() {
    let lab = Lab::new();
    init_sw1(&lab, T0);
    let status = lab.exec(
        "D",
        T0,
        &["configure terminal", "license smart usage interval 0", "end", "show license status"],
    );
    assert_eq!(field(&status, "Reporting push interval:"), "0 (no reporting)");
    assert_eq!(field(&status, "Next report push:"), "<none>");
    assert_eq!(field(&status, "Next ACK deadline:"), "Jan 30 10:00:00 2027 UTC");
    let status = lab.exec(
        "D",
        T0,
        &["configure terminal", "license smart usage interval 40", "end", "show license status"],
    );
    // Transport is cslu by default, so the configured interval applies as is.
    assert_eq!(field(&status, "Reporting push interval:"), "40  days");
    let status = lab.exec(
        "D",
        T0,
        &[
            "configure terminal",
            "license smart transport off",
            "no license smart usage interval",
            "end",
            "show license status",
        ],
    );
    assert_eq!(field(&status, "Type:"), "Transport Off");
    assert_eq!(field(&status, "Reporting push interval:"), "30  days");
}

#[test]
fn shell_has_ios_prompts_help_and_errors() {
    let lab = Lab::new();
    init_sw1(&lab, T0);
    let out = lab.shell("D", T1, "enable\nshow licens summry\nshow license ?\nconfigure terminal\ninterface Tunnel0\nexit\nlicense smart\nend\nexit\n");
    assert!(out.starts_with("sw1>sw1#"), "{out}");
    assert!(out.contains("                ^\n% Invalid input detected at '^' marker."), "{out}");
    assert!(out.contains("  summary        Display summary of license usage"), "{out}");
    assert!(out.contains("sw1(config)#sw1(config-if)#sw1(config)#% Incomplete command."), "{out}");
}

#[test]
fn exec_reports_invalid_input_with_a_caret_and_fails() {
    let lab = Lab::new();
    init_sw1(&lab, T0);
    let out = lab.fails(T0, &["device", "--state", "D", "exec", "show license bogus"]);
    assert!(
        out.contains(
            "sw1#show license bogus\n                 ^\n% Invalid input detected at '^' marker."
        ),
        "{out}"
    );
    let out = lab.fails(
        T0,
        &[
            "device",
            "--state",
            "D",
            "exec",
            "configure terminal",
            "license smart usage interval 3651",
        ],
    );
    assert!(out.contains("% Invalid input"), "{out}");
}

#[test]
fn ha_stack_lists_every_udi_and_counts_each_unit() {
    let lab = Lab::new();
    lab.ok(
        T0,
        &[
            "device",
            "--state",
            "H",
            "init",
            "--pid",
            "C9300-48UXM",
            "--sn",
            "FOC1",
            "--hostname",
            "stack1",
            "--standby",
            "PID:C9300-48UXM,SN:FOC2",
            "--member",
            "PID:C9300-48UXM,SN:FOC3",
        ],
    );
    let udi = lab.exec("H", T0, &["show license udi"]);
    assert_eq!(
        udi,
        "UDI: PID:C9300-48UXM,SN:FOC1\n\nHA UDI List:\n    Active:PID:C9300-48UXM,SN:FOC1\n    Standby:PID:C9300-48UXM,SN:FOC2\n    Member:PID:C9300-48UXM,SN:FOC3\n"
    );
    let summary = lab.exec("H", T0, &["show license summary"]);
    assert!(
        summary.contains("network-advantage       (C9300-48 Network Advan...)       3 IN USE"),
        "{summary}"
    );
    let out = lab.fails(
        T0,
        &[
            "device",
            "--state",
            "H2",
            "init",
            "--pid",
            "C9300",
            "--sn",
            "A",
            "--member",
            "PID:C9300,SN:A",
        ],
    );
    assert!(out.contains("UDI PID:C9300,SN:A is given twice"), "{out}");
    let out = lab.fails(
        T0,
        &["device", "--state", "H3", "init", "--pid", "C9300", "--sn", "A", "--standby", "garbage"],
    );
    assert!(out.contains("invalid UDI \"garbage\""), "{out}");
}

#[test]
fn bootflash_paths_cannot_escape_the_state_directory() {
    let lab = Lab::new();
    init_sw1(&lab, T0);
    let before = lab.read("D/state.json");
    let out = lab.fails(
        T0,
        &[
            "device",
            "--state",
            "D",
            "exec",
            "license smart save usage all file bootflash:../../escape.txt",
        ],
    );
    assert!(out.contains("the path leaves the device file system"), "{out}");
    assert!(!lab.path("escape.txt").exists());
    assert_eq!(lab.read("D/state.json"), before, "a refused command changes nothing");
}

#[test]
fn state_survives_between_invocations_and_rejects_a_corrupt_file() {
    let lab = Lab::new();
    init_sw1(&lab, T0);
    lab.exec("D", T0, &["configure terminal", "hostname core1", "end"]);
    let out = lab.exec("D", T1, &["show license udi", "show license summary"]);
    assert!(out.starts_with("core1#show license udi"), "{out}");
    std::fs::write(lab.path("D/state.json"), "{ not json").unwrap();
    let out = lab.fails(T1, &["device", "--state", "D", "exec", "show license udi"]);
    assert!(out.contains("state.json is unreadable"), "{out}");
    let out = lab.fails(T1, &["device", "--state", "nowhere", "exec", "show license udi"]);
    assert!(out.contains("no device in nowhere"), "{out}");
}

#[test]
fn save_usage_selects_reports_and_respects_privacy() {
    let lab = Lab::new();
    init_sw1(&lab, T0);
    lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "license boot level network-advantage",
            "license smart privacy all",
            "end",
            "write memory",
            "reload",
        ],
    );
    lab.exec("D", "2026-11-20T10:00:00Z", &["license smart save usage all file bootflash:all.txt"]);
    let all = lab.read("D/bootflash/all.txt");
    assert_eq!(
        all.matches("<RUMReport>").count(),
        2,
        "essentials (closed at reload) and advantage (closed by the save):\n{all}"
    );
    assert!(!all.contains("\"hostname\""), "hostname privacy keeps the hostname out");
    assert!(!all.contains("software_version"), "version privacy keeps the version out");

    // Nothing new since: "unreported" is empty; the first report is older than 10 days.
    lab.exec(
        "D",
        "2026-11-20T11:00:00Z",
        &["license smart save usage unreported file bootflash:unreported.txt"],
    );
    assert_eq!(
        lab.read("D/bootflash/unreported.txt").matches("<RUMReport>").count(),
        1,
        "only the report closed by this save"
    );
    lab.exec(
        "D",
        "2026-11-20T12:00:00Z",
        &["license smart save usage days 10 file bootflash:days.txt"],
    );
    assert_eq!(
        lab.read("D/bootflash/days.txt").matches("<RUMReport>").count(),
        3,
        "reports that ended in the last 10 days"
    );

    let rum = lab.exec("D", "2026-11-20T12:00:00Z", &["show license rum id all"]);
    let first_id = rum
        .lines()
        .find(|l| l.starts_with(char::is_numeric))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    lab.exec(
        "D",
        "2026-11-20T12:00:00Z",
        &[&format!("license smart save usage rum-id {first_id} file bootflash:one.txt")],
    );
    assert_eq!(lab.read("D/bootflash/one.txt").matches("<RUMReport>").count(), 1);
    let out = lab.fails(
        "2026-11-20T12:00:00Z",
        &[
            "device",
            "--state",
            "D",
            "exec",
            "license smart save usage rum-id 42 file bootflash:none.txt",
        ],
    );
    assert!(out.contains("RUM report 42 is not stored"), "{out}");
}

#[cfg(unix)]
#[test]
fn bootflash_symlinks_cannot_lead_out_of_the_state_directory() {
    let lab = Lab::new();
    init_sw1(&lab, T0);
    std::fs::create_dir(lab.path("outside")).unwrap();
    std::fs::write(lab.path("outside/ack.xml"), "<smartLicense></smartLicense>").unwrap();
    // A folder of bootflash: that is a link to elsewhere, and a file that is one.
    std::os::unix::fs::symlink(lab.path("outside"), lab.path("D/bootflash/link")).unwrap();
    std::os::unix::fs::symlink(lab.path("outside/ack.xml"), lab.path("D/bootflash/ack.xml"))
        .unwrap();
    let before = lab.read("D/state.json");
    for command in [
        "license smart import bootflash:link/ack.xml",
        "license smart import bootflash:ack.xml",
        "license smart save usage all file bootflash:link/usage.txt",
        "license smart save usage all file bootflash:link/new/usage.txt",
    ] {
        let out = lab.fails(T1, &["device", "--state", "D", "exec", command]);
        assert!(out.contains("leaves the state directory"), "{command}: {out}");
        assert!(out.contains("outside"), "the error names where the link leads: {out}");
    }
    assert!(!lab.path("outside/usage.txt").exists());
    assert!(!lab.path("outside/new").exists());
    assert_eq!(lab.read("D/state.json"), before, "a refused command changes nothing");
}

#[test]
fn import_reads_only_regular_files_of_bounded_size() {
    let lab = Lab::new();
    init_sw1(&lab, T0);
    let before = lab.read("D/state.json");
    // A device never ends; an import of it used to read until memory ran out.
    let out = lab.fails(T1, &["device", "--state", "D", "exec", "license smart import /dev/zero"]);
    assert!(out.contains("/dev/zero: not a regular file"), "{out}");
    let out = lab.fails(T1, &["device", "--state", "D", "exec", "license smart import bootflash:"]);
    assert!(out.contains("no file name"), "{out}");
    std::fs::create_dir(lab.path("D/bootflash/folder.xml")).unwrap();
    let out = lab.fails(
        T1,
        &["device", "--state", "D", "exec", "license smart import bootflash:folder.xml"],
    );
    assert!(out.contains("bootflash:folder.xml: not a regular file"), "{out}");
    // One byte over the limit (a sparse file: nothing is written).
    let big = std::fs::File::create(lab.path("D/bootflash/big.xml")).unwrap();
    big.set_len(16 * 1024 * 1024 + 1).unwrap();
    let out = lab
        .fails(T1, &["device", "--state", "D", "exec", "license smart import bootflash:big.xml"]);
    assert!(out.contains("bootflash:big.xml: larger than 16 MiB"), "{out}");
    assert_eq!(lab.read("D/state.json"), before, "a refused import changes nothing");
}
