//! `slp authority user add|list|remove`: users of a smart account, their passwords from a file
//! (no terminal here: stdin is not one), and the errors that name the account and username.

use crate::util::*;

#[test]
fn users_are_added_listed_and_removed_with_a_password_file() {
    let lab = Lab::new();
    authority(&lab);
    std::fs::write(lab.path("alice.pw"), "correct horse battery\n").unwrap();
    let out = auth(
        &lab,
        T0,
        &[
            "user",
            "add",
            "--account",
            "example.com",
            "--username",
            "alice@example.com",
            "--role",
            "viewer",
            "--password-file",
            "alice.pw",
        ],
    );
    assert!(
        out.contains(
            "\"alice@example.com\" added to smart account \"example.com\" with role viewer"
        ),
        "{out}"
    );
    std::fs::write(lab.path("bob.pw"), "another long one").unwrap();
    auth(
        &lab,
        T0,
        &[
            "user",
            "add",
            "--account",
            "example.com",
            "--username",
            "bob",
            "--role",
            "admin",
            "--password-file",
            "bob.pw",
        ],
    );

    let table = auth(&lab, T0, &["user", "list", "--account", "example.com"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("Username") && lines[0].contains("Role"), "{table}");
    assert!(
        lines.iter().any(|l| l.starts_with("alice@example.com") && l.contains("viewer")),
        "{table}"
    );
    assert!(lines.iter().any(|l| l.starts_with("bob") && l.contains("admin")), "{table}");
    assert!(
        !table.contains("argon2") && !table.contains("correct horse"),
        "no secret shown: {table}"
    );
    let json = auth(&lab, T0, &["user", "list", "--account", "example.com", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rows[0]["username"], "alice@example.com", "{json}");
    assert_eq!(rows[0]["smart_account"], "example.com", "{json}");

    // A second user of the same name is refused, naming both.
    let err = auth_fails(
        &lab,
        T0,
        &[
            "user",
            "add",
            "--account",
            "example.com",
            "--username",
            "bob",
            "--role",
            "viewer",
            "--password-file",
            "bob.pw",
        ],
    );
    assert!(err.contains("\"bob\"") && err.contains("\"example.com\""), "{err}");

    auth(&lab, T0, &["user", "remove", "--account", "example.com", "--username", "bob"]);
    let table = auth(&lab, T0, &["user", "list", "--account", "example.com"]);
    assert!(!table.lines().any(|l| l.starts_with("bob")), "{table}");
    let err =
        auth_fails(&lab, T0, &["user", "remove", "--account", "example.com", "--username", "bob"]);
    assert!(
        err.contains("\"bob\"") && err.contains("no such user in smart account \"example.com\""),
        "{err}"
    );
}

#[test]
fn a_password_needs_a_terminal_or_a_file_and_enough_characters() {
    let lab = Lab::new();
    authority(&lab);
    let add =
        ["user", "add", "--account", "example.com", "--username", "carol", "--role", "reporter"];
    let err = auth_fails(&lab, T0, &add);
    assert!(err.contains("no terminal to ask for the password of user \"carol\""), "{err}");
    assert!(err.contains("--password-file"), "{err}");

    std::fs::write(lab.path("short.pw"), "short\n").unwrap();
    let mut args = add.to_vec();
    args.extend_from_slice(&["--password-file", "short.pw"]);
    let err = auth_fails(&lab, T0, &args);
    assert!(err.contains("carol") && err.contains("at least 8 characters"), "{err}");
    assert!(!err.contains("short\n"), "the password is not shown: {err}");

    std::fs::write(lab.path("long.pw"), "long enough now").unwrap();
    let err = auth_fails(
        &lab,
        T0,
        &[
            "user",
            "add",
            "--account",
            "nowhere.com",
            "--username",
            "carol",
            "--role",
            "viewer",
            "--password-file",
            "long.pw",
        ],
    );
    assert!(err.contains("nowhere.com"), "{err}");
    let err = auth_fails(&lab, T0, &["user", "list", "--account", "nowhere.com"]);
    assert!(err.contains("smart account \"nowhere.com\" not found"), "{err}");
}

#[test]
fn a_password_is_changed_from_a_file_and_the_change_is_logged() {
    let lab = Lab::new();
    authority(&lab);
    std::fs::write(lab.path("dave.pw"), "the first password\n").unwrap();
    let add = [
        "user",
        "add",
        "--account",
        "example.com",
        "--username",
        "dave",
        "--role",
        "admin",
        "--password-file",
        "dave.pw",
    ];
    auth(&lab, T0, &add);
    let passwd = ["user", "passwd", "--account", "example.com", "--username", "dave"];
    let err = auth_fails(&lab, T0, &passwd);
    assert!(err.contains("no terminal to ask for the password of user \"dave\""), "{err}");

    std::fs::write(lab.path("new.pw"), "the second password\nignored line\n").unwrap();
    let mut args = passwd.to_vec();
    args.extend_from_slice(&["--password-file", "new.pw"]);
    let out = auth(&lab, T0, &args);
    assert!(
        out.contains("password of user \"dave\" of smart account \"example.com\" changed"),
        "{out}"
    );
    let log = auth(&lab, T0, &["event", "list", "--account", "example.com"]);
    assert!(log.contains("password of user \"dave\" changed"), "{log}");
    assert!(!log.contains("second password"), "the password is not shown: {log}");

    let mut args = ["user", "passwd", "--account", "example.com", "--username", "erin"].to_vec();
    args.extend_from_slice(&["--password-file", "new.pw"]);
    let err = auth_fails(&lab, T0, &args);
    assert!(err.contains("\"erin\"") && err.contains("no such user"), "{err}");
}
