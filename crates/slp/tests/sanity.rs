//! Absurd input refused through the command line (issue #16, defects 4, 6, 14): a usage file
//! from a device whose clock runs ahead, the operator's skew option, long descriptions and
//! the tables that list them.

use crate::util::{Lab, T0, auth, auth_fails, authority, init_sw1, upload};

const T1: &str = "2026-11-01T10:00:00Z";
/// Two days after T1: a device clock that runs ahead.
const AHEAD: &str = "2026-11-03T10:00:00Z";

/// sw1 at network-advantage, transport off, with usage saved at `at` to bootflash:u.txt.
fn saved_usage(lab: &Lab, at: &str) {
    init_sw1(lab, T1);
    lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "license boot level network-advantage",
            "license smart transport off",
            "end",
            "copy running-config startup-config",
            "reload",
        ],
    );
    lab.exec("D", at, &["license smart save usage all file bootflash:u.txt"]);
}

#[test]
fn a_usage_file_from_a_clock_ahead_is_refused_unless_the_operator_allows_the_skew() {
    let lab = Lab::new();
    authority(&lab);
    saved_usage(&lab, AHEAD);
    let pool_before =
        auth(&lab, T1, &["license", "list", "--account", "example.com", "--va", "Lab"]);

    let err = auth_fails(
        &lab,
        T1,
        &[
            "usage",
            "upload",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "D/bootflash/u.txt",
            "--ack",
            "ack.txt",
        ],
    );
    assert!(
        err.contains("uploading D/bootflash/u.txt: u.txt: RUM report"),
        "names the file: {err}"
    );
    assert!(err.contains("of PID:C9300-24UX,SN:FOC2233A5ZV rejected: measurement 1"), "{err}");
    assert!(
        err.contains("is later than the authority's clock (2026-11-01T10:00:00Z) plus the allowed skew of 24 hour(s)"),
        "{err}"
    );
    assert!(!lab.path("ack.txt").exists(), "no ACK is written");
    let pool = auth(&lab, T1, &["license", "list", "--account", "example.com", "--va", "Lab"]);
    assert_eq!(pool, pool_before, "nothing counted");
    let pis = auth(&lab, T1, &["pi", "list", "--account", "example.com", "--va", "Lab", "--json"]);
    assert_eq!(pis.trim(), "[]", "no product instance registered");

    // The operator allows three days of skew: the same file is taken.
    lab.ok(
        T1,
        &[
            "authority",
            "--data",
            "A",
            "--report-skew-hours",
            "72",
            "usage",
            "upload",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "D/bootflash/u.txt",
            "--ack",
            "ack.txt",
        ],
    );
    assert!(lab.path("ack.txt").exists());
    let help = lab.ok(T1, &["authority", "--help"]);
    assert!(
        help.contains("--report-skew-hours") && help.contains("--report-max-age-days"),
        "{help}"
    );
}

#[test]
fn a_usage_file_years_old_is_refused() {
    let lab = Lab::new();
    authority(&lab);
    saved_usage(&lab, "2026-11-02T10:00:00Z");
    // Read by an authority whose clock is eleven years on.
    let err = auth_fails(
        &lab,
        "2037-11-02T10:00:00Z",
        &[
            "usage",
            "upload",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "D/bootflash/u.txt",
            "--ack",
            "ack.txt",
        ],
    );
    assert!(
        err.contains(
            "is more than 3650 day(s) before the authority's clock (2037-11-02T10:00:00Z)"
        ),
        "{err}"
    );
    upload(&lab, "2026-11-02T10:00:00Z", "D/bootflash/u.txt", "ack.txt");
}

#[test]
fn long_descriptions_are_refused_and_tables_never_break() {
    let lab = Lab::new();
    authority(&lab);
    let at = ["--account", "example.com", "--va", "Lab"];
    let huge = "d".repeat(100_000);
    let mut args = vec!["token", "create"];
    args.extend_from_slice(&at);
    args.extend_from_slice(&["--description", &huge]);
    let err = auth_fails(&lab, T0, &args);
    assert!(
        err.contains("description is 100000 characters long; at most 256 are allowed"),
        "{err}"
    );
    assert!(err.len() < 1_000, "the error does not repeat the input: {} bytes", err.len());

    let longest = "w".repeat(256);
    let mut args = vec!["token", "create"];
    args.extend_from_slice(&at);
    args.extend_from_slice(&["--description", &longest]);
    auth(&lab, T0, &args);
    let mut args = vec!["token", "list"];
    args.extend_from_slice(&at);
    let table = auth(&lab, T0, &args);
    let row = table.lines().nth(1).unwrap_or_default();
    assert!(row.contains(&format!("{}…", "w".repeat(199))) && !row.contains(&longest), "{table}");
    args.push("--json");
    let json: serde_json::Value = serde_json::from_str(&auth(&lab, T0, &args)).unwrap();
    assert_eq!(json[0]["description"], longest.as_str(), "--json keeps the whole text");
    let events = auth(&lab, T0, &["event", "list", "--account", "example.com"]);
    assert!(events.contains("ID token 1 created (www"), "{events}");
}
