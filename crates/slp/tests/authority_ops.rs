//! `slp authority` operations from the command line: moves between smart accounts decided by
//! the operator, the activity log's Who column, alerts, product instance errors, scheduled jobs.

use crate::util::*;

#[test]
fn operator_decides_moves_and_sees_who_did_what() {
    let lab = Lab::new();
    authority(&lab);
    auth(&lab, T0, &["account", "create", "--name", "Other Corp", "--domain", "other.com"]);
    auth(&lab, T0, &["va", "create", "--account", "other.com", "--name", "Main"]);
    let request = [
        "move",
        "request",
        "--account",
        "example.com",
        "--va",
        "Lab",
        "--license",
        "network-advantage",
        "--quantity",
        "4",
        "--to-account",
        "other.com",
        "--to-va",
        "Main",
        "--reason",
        "divestiture",
    ];
    let out = auth(&lab, T0, &request);
    assert!(out.contains("PENDING") && out.contains("example.com/Lab"), "{out}");
    // Too many: refused with the figures, nothing filed.
    let mut too_many = request;
    too_many[9] = "11";
    let err = auth_fails(&lab, T0, &too_many);
    assert!(err.contains("only 10 available"), "{err}");
    let pending = auth(&lab, T0, &["move", "list", "--pending", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&pending).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{pending}");
    assert!(rows[0]["requestedBy"].as_str().unwrap().starts_with("cli:"), "{pending}");

    let out = auth(&lab, T0, &["move", "approve", "1", "--note", "case 123"]);
    assert!(out.contains("APPROVED"), "{out}");
    let err = auth_fails(&lab, T0, &["move", "reject", "1", "--reason", "late"]);
    assert!(err.contains("was approved already"), "{err}");
    let theirs = auth(&lab, T0, &["license", "list", "--account", "other.com", "--va", "Main"]);
    assert!(
        theirs.lines().any(|l| l.starts_with("network-advantage") && l.contains(" 4 ")),
        "{theirs}"
    );

    // The activity log says who.
    let events = auth(&lab, T0, &["event", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(events.lines().next().unwrap().contains("Who"), "{events}");
    assert!(
        events.lines().any(|l| l.contains("request 1 approved by cli:") && l.contains("cli:")),
        "{events}"
    );

    // Alerts, device errors, scheduled jobs.
    let alerts = auth(&lab, T0, &["alert", "list", "--account", "example.com", "--json"]);
    assert_eq!(alerts.trim(), "[]", "nothing to alert on yet");
    let err = auth_fails(
        &lab,
        T0,
        &[
            "pi",
            "remove",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "--udi",
            "PID:C9300-24UX,SN:NOPE",
        ],
    );
    assert!(err.contains("PID:C9300-24UX,SN:NOPE not found in virtual account \"Lab\""), "{err}");
    let jobs = auth(&lab, T0, &["jobs", "run"]);
    for job in ["license-expiry", "alert-digest", "token-purge"] {
        assert!(jobs.contains(job), "{jobs}");
    }
    let again = auth(&lab, T0, &["jobs", "run"]);
    assert!(again.contains("no job due"), "{again}");
}
