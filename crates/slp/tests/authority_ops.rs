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

/// `slp authority --url … --client-id … --client-secret … <args>` against `url`.
fn remote(lab: &Lab, url: &str, id: &str, secret: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["authority", "--url", url, "--client-id", id, "--client-secret", secret];
    all.extend_from_slice(args);
    lab.run(T0, &all)
}

#[track_caller]
fn remote_ok(lab: &Lab, url: &str, creds: &(String, String), args: &[&str]) -> String {
    let out = remote(lab, url, &creds.0, &creds.1, args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "remote {args:?} failed:\n{text}{err}");
    text
}

#[track_caller]
fn remote_fails(lab: &Lab, url: &str, creds: &(String, String), args: &[&str]) -> String {
    let out = remote(lab, url, &creds.0, &creds.1, args);
    assert!(!out.status.success(), "remote {args:?} should fail");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A new API client: (client id, secret).
fn client(lab: &Lab, account: &str, name: &str, role: &str) -> (String, String) {
    let out = auth(
        lab,
        T0,
        &["client", "create", "--account", account, "--name", name, "--role", role, "--json"],
    );
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    (
        json["client_id"].as_str().unwrap().to_owned(),
        json["client_secret"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn the_remote_cli_scripts_a_served_authority_like_the_local_one() {
    let lab = Lab::new();
    authority(&lab);
    auth(&lab, T0, &["account", "create", "--name", "Other Corp", "--domain", "other.com"]);
    auth(&lab, T0, &["va", "create", "--account", "other.com", "--name", "Main"]);
    let admin = client(&lab, "example.com", "ops", "admin");
    let viewer = client(&lab, "example.com", "look", "viewer");
    let server =
        start_service(&lab, T0, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    let url = server.url.as_str();

    // The key a relay pins: the same over the API (any role) as on the authority's host.
    assert_eq!(remote_ok(&lab, url, &viewer, &["key", "show"]), auth(&lab, T0, &["key", "show"]));

    // Accounts and virtual accounts (a name with a space travels percent-encoded).
    let accounts = remote_ok(&lab, url, &admin, &["account", "list"]);
    assert!(
        accounts.lines().any(|l| l.starts_with("Example Corp") && l.contains("example.com")),
        "{accounts}"
    );
    assert!(!accounts.contains("other.com"), "a client sees only its smart account: {accounts}");
    remote_ok(
        &lab,
        url,
        &admin,
        &["va", "create", "--account", "example.com", "--name", "Branch A"],
    );
    remote_ok(
        &lab,
        url,
        &admin,
        &[
            "va",
            "rename",
            "--account",
            "example.com",
            "--name",
            "Branch A",
            "--new-name",
            "Branch B",
        ],
    );
    let vas = remote_ok(&lab, url, &viewer, &["va", "list", "--account", "example.com", "--json"]);
    let vas: serde_json::Value = serde_json::from_str(&vas).unwrap();
    let names: Vec<&str> =
        vas.as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Branch B", "Lab"], "{vas}");

    // Licenses: list, transfer preview and transfer; the local form sees the same pool.
    let licenses = remote_ok(
        &lab,
        url,
        &viewer,
        &["license", "list", "--account", "example.com", "--va", "Lab"],
    );
    assert!(
        licenses.lines().any(|l| l.starts_with("network-advantage") && l.contains("In Compliance")),
        "{licenses}"
    );
    let transfer = [
        "license",
        "transfer",
        "--account",
        "example.com",
        "--va",
        "Lab",
        "--license",
        "network-advantage",
        "--quantity",
        "3",
        "--to-va",
        "Branch B",
    ];
    let mut preview = transfer.to_vec();
    preview.push("--preview");
    let out = remote_ok(&lab, url, &admin, &preview);
    assert!(out.contains("Would transfer 3 network-advantage"), "{out}");
    let out = remote_ok(&lab, url, &admin, &transfer);
    assert!(out.contains("Transferred 3 network-advantage") && out.contains("C9300-NW-A"), "{out}");
    let local = auth(
        &lab,
        T0,
        &["license", "list", "--account", "example.com", "--va", "Branch B", "--json"],
    );
    let local: serde_json::Value = serde_json::from_str(&local).unwrap();
    assert_eq!(local[0]["purchased"], 3, "{local}");

    // ID tokens: create prints the token; list and revoke by id.
    let token = remote_ok(
        &lab,
        url,
        &admin,
        &[
            "token",
            "create",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "--description",
            "rollout",
            "--max-uses",
            "5",
        ],
    );
    assert!(token.trim().len() > 20, "{token}");
    let tokens = remote_ok(
        &lab,
        url,
        &viewer,
        &["token", "list", "--account", "example.com", "--va", "Lab"],
    );
    assert!(tokens.lines().any(|l| l.contains("rollout") && l.contains("Active")), "{tokens}");
    // The text is listed (sealed with DIR/token-text.key), over the API and locally.
    assert!(tokens.lines().any(|l| l.contains(token.trim())), "{tokens}");
    let local = auth(&lab, T0, &["token", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(local.lines().next().is_some_and(|h| h.contains("Token")), "{local}");
    assert!(local.lines().any(|l| l.contains("rollout") && l.contains(token.trim())), "{local}");
    remote_ok(
        &lab,
        url,
        &admin,
        &["token", "revoke", "--account", "example.com", "--va", "Lab", "--id", "1"],
    );
    let tokens = auth(&lab, T0, &["token", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(tokens.lines().any(|l| l.contains("rollout") && l.contains("Revoked")), "{tokens}");

    // Policies: the smart account's is in force for Lab; download is the signed file.
    remote_ok(
        &lab,
        url,
        &admin,
        &[
            "policy",
            "set",
            "--account",
            "example.com",
            "--name",
            "Account Policy",
            "--unenforced-perpetual",
            "30,45,60",
        ],
    );
    let shown = remote_ok(
        &lab,
        url,
        &viewer,
        &["policy", "show", "--account", "example.com", "--va", "Lab"],
    );
    assert!(
        shown.contains("Policy name: Account Policy")
            && shown.contains("Set for: smart account \"example.com\""),
        "{shown}"
    );
    let local = auth(&lab, T0, &["policy", "show", "--account", "example.com", "--va", "Lab"]);
    assert_eq!(shown, local, "the remote and local forms print the same");
    remote_ok(
        &lab,
        url,
        &viewer,
        &["policy", "download", "--account", "example.com", "--va", "Lab", "--out", "policy.xml"],
    );
    assert!(lab.read("policy.xml").contains("<smartLicensePolicy>"));
    remote_ok(&lab, url, &admin, &["policy", "clear", "--account", "example.com"]);

    // Usage: a device's saved usage goes up, the ACK comes back, the status table lists it.
    init_sw1(&lab, T0);
    lab.exec("D", T0, &["license smart save usage all file bootflash:all_rum.txt"]);
    let out = remote_ok(
        &lab,
        url,
        &admin,
        &[
            "usage",
            "upload",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "D/bootflash/all_rum.txt",
            "--ack",
            "ack.txt",
        ],
    );
    assert!(
        out.contains("all_rum.txt: 1 product instance(s)")
            && out.contains("ACK written to ack.txt"),
        "{out}"
    );
    assert!(lab.read("ack.txt").contains("<smartLicenseRumAck>"));
    let files = remote_ok(
        &lab,
        url,
        &viewer,
        &["usage", "list", "--account", "example.com", "--va", "Lab"],
    );
    assert!(files.lines().any(|l| l.starts_with("all_rum.txt")), "{files}");
    let pis =
        remote_ok(&lab, url, &viewer, &["pi", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(
        pis.lines().any(|l| l.starts_with("PID:C9300-24UX,SN:FOC2233A5ZV") && l.contains("sw1")),
        "{pis}"
    );
    let out = remote_ok(
        &lab,
        url,
        &admin,
        &[
            "pi",
            "transfer",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "--udi",
            "PID:C9300-24UX,SN:FOC2233A5ZV",
            "--to-va",
            "Branch B",
        ],
    );
    assert!(out.contains("Branch B"), "{out}");

    // Moves between smart accounts: filed remotely, decided by the local operator.
    let out = remote_ok(
        &lab,
        url,
        &admin,
        &[
            "move",
            "request",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "--license",
            "network-advantage",
            "--quantity",
            "2",
            "--to-account",
            "other.com",
            "--to-va",
            "Main",
            "--reason",
            "divestiture",
        ],
    );
    assert!(out.contains("PENDING"), "{out}");
    let err = remote_fails(&lab, url, &admin, &["move", "approve", "1"]);
    assert!(err.contains("`move approve/reject` is not available with --url"), "{err}");
    auth(&lab, T0, &["move", "approve", "1"]);
    let list = remote_ok(&lab, url, &viewer, &["move", "list", "--json"]);
    assert!(list.contains("\"status\": \"APPROVED\""), "{list}");

    // The activity log names the API client; alerts come over the API too.
    let events = remote_ok(
        &lab,
        url,
        &viewer,
        &["event", "list", "--account", "example.com", "--va", "Branch B"],
    );
    assert!(events.lines().any(|l| l.contains("api:ops") && l.contains("renamed")), "{events}");
    let alerts =
        remote_ok(&lab, url, &viewer, &["alert", "list", "--account", "example.com", "--json"]);
    assert!(alerts.trim().starts_with('['), "{alerts}");

    // Errors name what is wrong and change nothing.
    let err = remote_fails(&lab, url, &(admin.0.clone(), "wrong".to_owned()), &["account", "list"]);
    assert!(err.contains("the authority refused POST /oauth2/token: 401"), "{err}");
    let err = remote_fails(
        &lab,
        url,
        &viewer,
        &["va", "delete", "--account", "example.com", "--name", "Lab"],
    );
    assert!(err.contains("403"), "{err}");
    let err = remote_fails(
        &lab,
        url,
        &admin,
        &["pi", "list", "--account", "example.com", "--va", "Nope"],
    );
    assert!(err.contains("404") && err.contains("\"Nope\""), "{err}");
    let err = remote_fails(
        &lab,
        url,
        &admin,
        &["license", "list", "--account", "other.com", "--va", "Main"],
    );
    assert!(err.contains("403"), "another smart account is out of scope: {err}");
    let err =
        remote_fails(&lab, url, &admin, &["account", "create", "--name", "X", "--domain", "x.com"]);
    assert!(err.contains("`account create` is not available with --url"), "{err}");
    let err = remote_fails(
        &lab,
        url,
        &admin,
        &["va", "delete", "--account", "example.com", "--name", "Lab"],
    );
    assert!(err.contains("409") && err.contains("still holds"), "{err}");
    let out = lab.run(T0, &["authority", "--url", url, "account", "list"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--url needs --client-id and --client-secret"),
        "{err}"
    );
    let closed = remote_fails(&lab, "http://127.0.0.1:9", &admin, &["account", "list"]);
    assert!(
        closed.contains("cannot reach the authority at http://127.0.0.1:9/oauth2/token"),
        "{closed}"
    );
}

/// Creates a C9300 with serial `sn` in `state` that uses network-advantage, and saves its usage
/// (with trust requests) to `bootflash:u.txt`; returns the file's path for `usage upload`.
fn saved_usage(lab: &Lab, state: &str, sn: &str, now: &str) -> String {
    lab.ok(
        now,
        &["device", "--state", state, "init", "--pid", "C9300-24UX", "--sn", sn, "--hostname", sn],
    );
    lab.exec(
        state,
        now,
        &[
            "configure terminal",
            "license boot level network-advantage",
            "end",
            "write memory",
            "reload",
        ],
    );
    lab.exec(state, now, &["license smart save usage all file bootflash:u.txt"]);
    format!("{state}/bootflash/u.txt")
}

fn upload_fails(lab: &Lab, now: &str, file: &str) -> String {
    auth_fails(
        lab,
        now,
        &["usage", "upload", "--account", "example.com", "--va", "Lab", file, "--ack", "x.txt"],
    )
}

fn pi_json(lab: &Lab, now: &str) -> String {
    auth(lab, now, &["pi", "list", "--account", "example.com", "--va", "Lab", "--json"])
}

/// The 16 hex digits after `marker` in `text`.
fn key_after(text: &str, marker: &str) -> String {
    let at = text.find(marker).unwrap_or_else(|| panic!("{marker:?} not in {text}"));
    text[at + marker.len()..].chars().take(16).collect()
}

/// Defect 1 by file: a second device's usage file (same PID/SN, its own key, a trust request)
/// is refused by `usage upload` with the UDI, both key ids and the command that allows it; the
/// operator's `pi rebind` lets exactly that key bind once, and the log says who allowed it.
#[test]
fn operator_rebind_lets_exactly_the_named_key_bind_once() {
    let lab = Lab::new();
    authority(&lab);
    let t = "2026-11-02T10:00:00Z";
    let genuine = saved_usage(&lab, "D", "FOC1", t);
    upload(&lab, t, &genuine, "ack.txt");
    let before = (pi_json(&lab, t), auth(&lab, t, &["event", "list", "--account", "example.com"]));

    let impostor = saved_usage(&lab, "E", "FOC1", t);
    let err = upload_fails(&lab, t, &impostor);
    let bound = key_after(&err, "is bound to device key ");
    let offered = key_after(&err, "offers key ");
    assert!(err.contains("PID:C9300-24UX,SN:FOC1") && bound != offered, "{err}");
    let hint = format!(
        "slp authority pi rebind --account example.com --va Lab --udi PID:C9300-24UX,SN:FOC1 --key {offered}"
    );
    assert!(err.contains(&hint), "{err}");
    let after = (pi_json(&lab, t), auth(&lab, t, &["event", "list", "--account", "example.com"]));
    assert_eq!(after, before, "nothing changed");
    assert!(pi_json(&lab, t).contains(&bound));

    // A malformed key id or a UDI of nowhere is refused by name.
    let rebind = |udi: &str, key: &str| {
        vec![
            "pi".to_owned(),
            "rebind".to_owned(),
            "--account".to_owned(),
            "example.com".to_owned(),
            "--va".to_owned(),
            "Lab".to_owned(),
            "--udi".to_owned(),
            udi.to_owned(),
            "--key".to_owned(),
            key.to_owned(),
        ]
    };
    let args = rebind("PID:C9300-24UX,SN:FOC1", "xyz");
    let err = auth_fails(&lab, t, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("invalid key \"xyz\"") && err.contains("16 hex digits"), "{err}");

    // The operator allows the new key once.
    let args = rebind("PID:C9300-24UX,SN:FOC1", &offered);
    let out = auth(&lab, t, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains(&format!("Device key {offered} may re-bind")), "{out}");
    let out = upload(&lab, t, &impostor, "ack2.txt");
    assert!(out.contains("1 trust code(s)"), "{out}");
    assert!(pi_json(&lab, t).contains(&offered));
    let events = auth(&lab, t, &["event", "list", "--account", "example.com"]);
    assert!(
        events.contains(&format!("re-bound from device key {bound} to {offered}"))
            && events.contains("allowed by cli:"),
        "{events}"
    );
    // Once only: the old key cannot come back with that grant.
    let t2 = "2026-11-02T11:00:00Z";
    lab.exec("D", t2, &["license smart save usage all file bootflash:u2.txt"]);
    let err = upload_fails(&lab, t2, "D/bootflash/u2.txt");
    assert!(err.contains(&format!("is bound to device key {offered}")), "{err}");
}

/// `va set --first-contact deny` by file: a never-seen UDI is refused (nothing stored), allowed
/// after the operator's `pi rebind` for its key; `va list` shows the setting.
#[test]
fn first_contact_denied_by_file_until_the_operator_allows_the_key() {
    let lab = Lab::new();
    authority(&lab);
    let t = "2026-11-02T10:00:00Z";
    let list = auth(&lab, t, &["va", "list", "--account", "example.com"]);
    assert!(list.contains("First Contact") && list.contains("allow"), "{list}");
    let set = ["va", "set", "--account", "example.com", "--va", "Lab", "--first-contact", "deny"];
    auth(&lab, t, &set);
    let list = auth(&lab, t, &["va", "list", "--account", "example.com"]);
    assert!(list.contains("deny"), "{list}");
    let err = auth_fails(
        &lab,
        t,
        &["va", "set", "--account", "example.com", "--va", "Lab", "--first-contact", "maybe"],
    );
    assert!(err.contains("\"maybe\" is not allow or deny"), "{err}");

    let file = saved_usage(&lab, "D", "FOC1", t);
    let err = upload_fails(&lab, t, &file);
    assert!(
        err.contains("denies first contact") && err.contains("PID:C9300-24UX,SN:FOC1"),
        "{err}"
    );
    assert_eq!(pi_json(&lab, t).trim(), "[]", "nothing stored");
    assert_eq!(pool_figures(&lab, t, "network-advantage"), ["10", "0", "10"]);
    let offered = key_after(&err, "allows device key ");
    auth(
        &lab,
        t,
        &[
            "pi",
            "rebind",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "--udi",
            "PID:C9300-24UX,SN:FOC1",
            "--key",
            &offered,
        ],
    );
    upload(&lab, t, &file, "ack.txt");
    assert_eq!(pool_figures(&lab, t, "network-advantage"), ["10", "1", "9"]);
}

/// Defect 7 by the command line: another smart account's client uploads a device's serial
/// number first (its own device, its own key). The genuine owner's `usage upload` is accepted
/// and counted in its own account, `pi list` of either shows only its own device, the owner's
/// output says nothing of the squatter, and the operator's `pi find` lists both holders.
#[test]
fn a_serial_squatted_by_another_smart_account_blocks_nothing() {
    let lab = Lab::new();
    authority(&lab);
    let t = "2026-11-02T10:00:00Z";
    auth(&lab, t, &["account", "create", "--name", "Rival Inc", "--domain", "rival.com"]);
    auth(&lab, t, &["va", "create", "--account", "rival.com", "--name", "Squat"]);
    let squatted = saved_usage(&lab, "E", "FOC1", t);
    auth(
        &lab,
        t,
        &[
            "usage",
            "upload",
            "--account",
            "rival.com",
            "--va",
            "Squat",
            &squatted,
            "--ack",
            "s.txt",
        ],
    );
    let rival_list =
        auth(&lab, t, &["pi", "list", "--account", "rival.com", "--va", "Squat", "--json"]);
    let squatter_key = key_after(&rival_list, "\"key_id\": \"");

    let genuine = saved_usage(&lab, "D", "FOC1", t);
    let out = upload(&lab, t, &genuine, "ack.txt");
    assert!(out.contains("report(s) accepted, 0 duplicate"), "{out}");
    assert!(!out.contains(" 0 report(s) accepted"), "{out}");
    let mine = pi_json(&lab, t);
    let owner_key = key_after(&mine, "\"key_id\": \"");
    assert_ne!(owner_key, squatter_key);
    assert_eq!(pool_figures(&lab, t, "network-advantage"), ["10", "1", "9"], "counted in A");
    for secret in ["rival", "Rival", "Squat", &squatter_key] {
        assert!(!out.contains(secret) && !mine.contains(secret), "{secret:?}: {out}\n{mine}");
    }
    let rival_after =
        auth(&lab, t, &["pi", "list", "--account", "rival.com", "--va", "Squat", "--json"]);
    assert_eq!(rival_after, rival_list, "the squatter's instance is untouched");

    let found = auth(&lab, t, &["pi", "find", "--udi", "PID:C9300-24UX,SN:FOC1"]);
    assert!(
        found.contains(&format!("virtual account \"Lab\" of smart account \"Example Corp\" (example.com), device key {owner_key}"))
            && found.contains(&format!("virtual account \"Squat\" of smart account \"Rival Inc\" (rival.com), device key {squatter_key}")),
        "{found}"
    );
    let none = auth_fails(&lab, t, &["pi", "find", "--udi", "PID:C9300-24UX,SN:FOC9"]);
    assert!(none.contains("is not registered in any smart account"), "{none}");
}
