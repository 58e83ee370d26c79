//! "Connected Directly to CSSM": smart transport to `slp authority serve`, trust with ID tokens
//! created at the authority, then usage reported and acknowledged online.

use crate::util::{
    Lab, T0, auth, authority, control, field, init_sw1, init_sw1x, pool_figures, start_service,
};

const T1: &str = "2026-11-10T10:00:00Z";

fn token(lab: &Lab, now: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "token",
        "create",
        "--account",
        "example.com",
        "--va",
        "Lab",
        "--description",
        "lab switches",
    ];
    args.extend_from_slice(extra);
    auth(lab, now, &args).trim().to_owned()
}

fn point_at(lab: &Lab, state: &str, url: &str) {
    lab.exec(
        state,
        T1,
        &[
            "configure terminal",
            "license smart transport smart",
            &format!("license smart url smart {url}/licservice/license"),
            "end",
        ],
    );
}

#[test]
fn id_token_trust_then_online_reporting() {
    let lab = Lab::new();
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
            "Direct Policy",
            "--unenforced-perpetual",
            "30,60,60",
        ],
    );
    let good = token(&lab, T0, &["--expires-after-days", "30"]);
    let server =
        start_service(&lab, T1, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    init_sw1x(&lab, T1);
    point_at(&lab, "D", &server.url);
    let status = lab.exec("D", T1, &["show license status"]);
    assert_eq!(field(&status, "Type:"), "Smart");
    assert_eq!(field(&status, "URL:"), format!("{}/licservice/license", server.url));

    // Reporting before trust is refused by the authority, with the reason.
    let out = lab.exec("D", T1, &["license smart sync all"]);
    assert!(out.contains("no trust is established"), "{out}");

    let out = lab.exec(
        "D",
        T1,
        &[&format!("license smart trust idtoken {good} local"), "show license status"],
    );
    assert!(out.contains("%SMART_LIC-6-TRUST_CODE_INSTALL_SUCCESS"), "{out}");
    assert!(
        out.contains("%SMART_LIC-6-POLICY_INSTALL_SUCCESS"),
        "after trust, the authority's policy is installed: {out}"
    );
    assert_ne!(field(&out, "Trust Code Installed:"), "<none>");
    assert_eq!(field(&out, "Policy name:"), "Direct Policy");

    // Again without force: refused on the device; with force: accepted.
    let out = lab.fails(
        T1,
        &["device", "--state", "D", "exec", &format!("license smart trust idtoken {good} local")],
    );
    assert!(out.contains("already installed") && out.contains("force"), "{out}");
    let out = lab.exec("D", T1, &[&format!("license smart trust idtoken {good} local force")]);
    assert!(out.contains("TRUST_CODE_INSTALL_SUCCESS"), "{out}");

    // Online reporting: the ACK comes back in the reply.
    let out = lab.exec(
        "D",
        T1,
        &["license smart sync all", "show license status", "show license rum id all"],
    );
    assert!(!out.contains("% Error"), "{out}");
    assert_eq!(field(&out, "Last ACK received:"), "Nov 10 10:00:00 2026 UTC");
    assert_eq!(field(&out, "Smart Account:"), "Example Corp As of Nov 10 10:00:00 2026 UTC");
    assert_ne!(field(&out, "Last report push:"), "<none>");
    let pis = auth(&lab, T1, &["pi", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(pis.contains("FOC2233A5ZV"), "{pis}");

    // SLAC online: the request rides on the next sync; the code comes back in the reply.
    let out = lab.exec(
        "D",
        T1,
        &[
            "license smart authorization request add hseck9 local",
            "license smart sync all",
            "show license authorization",
        ],
    );
    assert!(out.contains("%SMART_LIC-6-AUTHORIZATION_INSTALL_SUCCESS"), "{out}");
    assert!(
        out.contains("Status: SMART AUTHORIZATION INSTALLED on Nov 10 10:00:00 2026 UTC"),
        "{out}"
    );
    let licenses = auth(&lab, T1, &["license", "list", "--account", "example.com", "--va", "Lab"]);
    let hsec = licenses.lines().find(|l| l.starts_with("hseck9")).unwrap_or_default().to_owned();
    assert!(hsec.split_whitespace().any(|w| w == "1"), "one key reserved: {licenses}");
    let tokens = auth(&lab, T1, &["token", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(
        tokens
            .lines()
            .any(|l| l.contains("lab switches") && l.contains(" 2 ") && l.contains("Active")),
        "two uses: {tokens}"
    );

    // Return online: refused while the key is in use; when the authority is down the return
    // stays queued (the code is already off the device) and goes with the next contact.
    let reserved = |lab: &Lab| -> i64 {
        let out = auth(
            lab,
            T1,
            &["license", "list", "--account", "example.com", "--va", "Lab", "--json"],
        );
        let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
        rows.as_array().unwrap().iter().find(|r| r["license"] == "hseck9").unwrap()["reserved"]
            .as_i64()
            .unwrap()
    };
    lab.exec(
        "D",
        T1,
        &["configure terminal", "interface Tunnel1", "tunnel mode ipsec ipv4", "end"],
    );
    let out = lab.fails(
        T1,
        &["device", "--state", "D", "exec", "license smart authorization return local online"],
    );
    assert!(out.contains("while the license is in use"), "{out}");
    lab.exec(
        "D",
        T1,
        &["configure terminal", "no interface Tunnel1", "platform hsec-license-release", "end"],
    );
    drop(server);
    let out = lab.exec(
        "D",
        T1,
        &["license smart authorization return local online", "show license authorization"],
    );
    assert!(out.contains("%SMART_LIC-6-AUTHORIZATION_REMOVED"), "{out}");
    assert!(out.contains("%SMART_LIC-3-COMM_FAILED"), "{out}");
    assert!(out.contains("Last return code:"), "{out}");
    assert_eq!(reserved(&lab), 1, "the authority has not heard of the return yet");
    let server =
        start_service(&lab, T1, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    point_at(&lab, "D", &server.url);
    let out = lab.exec("D", T1, &["license smart sync all"]);
    assert!(out.contains("%SMART_LIC-3-COMM_RESTORED") || !out.contains("% Error"), "{out}");
    assert_eq!(reserved(&lab), 0, "the queued return reached the authority");
    let out = lab.exec("D", T1, &["license smart sync all"]);
    assert!(!out.contains("% Error"), "nothing is sent twice: {out}");
    assert_eq!(reserved(&lab), 0);
    let err = lab.fails(
        T1,
        &["device", "--state", "D", "exec", "license smart authorization return local online"],
    );
    assert!(err.contains("no authorization code is installed"), "{err}");
}

#[test]
fn expired_used_up_revoked_and_unknown_tokens_are_refused() {
    let lab = Lab::new();
    authority(&lab);
    // Created long before the server's clock: expired by T1.
    let expired = token(&lab, "2026-10-01T00:00:00Z", &["--expires-after-days", "1"]);
    let once = token(&lab, T0, &["--max-uses", "1"]);
    let revoked = token(&lab, T0, &[]);
    auth(&lab, T0, &["token", "revoke", "--account", "example.com", "--va", "Lab", "--id", "3"]);
    let server =
        start_service(&lab, T1, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    init_sw1(&lab, T1);
    point_at(&lab, "D", &server.url);

    for (token, reason) in [
        (expired.as_str(), "the ID token expired on 2026-10-02T00:00:00Z"),
        (revoked.as_str(), "the ID token has been revoked"),
        ("bm90LWEtdG9rZW4=", "the ID token is not known to this authority"),
    ] {
        let out = lab.fails(
            T1,
            &[
                "device",
                "--state",
                "D",
                "exec",
                &format!("license smart trust idtoken {token} local"),
            ],
        );
        assert!(
            out.contains("%SMART_LIC-3-TRUST_CODE_INSTALL_FAILED") && out.contains(reason),
            "{reason}: {out}"
        );
    }
    let status = lab.exec("D", T1, &["show license status"]);
    assert_eq!(field(&status, "Trust Code Installed:"), "<none>", "nothing was installed");

    lab.exec("D", T1, &[&format!("license smart trust idtoken {once} local")]);
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
    point_at(&lab, "E", &server.url);
    let out = lab.fails(
        T1,
        &["device", "--state", "E", "exec", &format!("license smart trust idtoken {once} local")],
    );
    assert!(out.contains("used 1 time(s), its limit"), "{out}");

    // With the peer gone, a sync is a communication failure, not a refusal.
    drop(server);
    let out = lab.exec("D", T1, &["license smart sync all", "show logging"]);
    assert!(out.contains("%SMART_LIC-3-COMM_FAILED: Communications failure with the Cisco Smart Software Manager (CSSM) : Unable to connect to the server"), "{out}");
}

#[test]
fn authority_down_then_back_nothing_lost_nothing_counted_twice() {
    let lab = Lab::new();
    authority(&lab);
    let good = token(&lab, T0, &[]);
    let server =
        start_service(&lab, T1, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    let url = server.url.clone();
    init_sw1(&lab, T1);
    point_at(&lab, "D", &url);
    lab.exec("D", T1, &[&format!("license smart trust idtoken {good} local")]);
    let _device = start_service(
        &lab,
        T1,
        &["device", "--state", "D", "run", "--mgmt", "127.0.0.1:0", "--manual-ticks"],
    );
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

    // The authority goes away before the report is due (two minutes after the change).
    drop(server);
    control(&lab, "D", "/slp/v1/clock", serde_json::json!({"advance_secs": 180}));
    let tick = control(&lab, "D", "/slp/v1/tick", serde_json::json!({}));
    assert!(tick["messages"].to_string().contains("COMM_FAILED"), "{tick}");
    let status = lab.exec("D", T1, &["show license status"]);
    assert_eq!(field(&status, "Last ACK received:"), "<none>");
    // Before the retry time nothing is attempted.
    let tick = control(&lab, "D", "/slp/v1/tick", serde_json::json!({}));
    assert_eq!(tick["messages"], serde_json::json!([]), "retry not due yet: {tick}");

    // Back on a new port (same database): re-point, let the retry come, and it goes through once.
    let server =
        start_service(&lab, T1, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    point_at(&lab, "D", &server.url);
    control(&lab, "D", "/slp/v1/clock", serde_json::json!({"advance_secs": 300}));
    let tick = control(&lab, "D", "/slp/v1/tick", serde_json::json!({}));
    let messages = tick["messages"].to_string();
    assert!(messages.contains("COMM_RESTORED"), "{tick}");
    let status = lab.exec("D", T1, &["show license status", "show license rum id all"]);
    assert_ne!(field(&status, "Last ACK received:"), "<none>", "{status}");
    assert!(
        !status.lines().any(|l| l.contains("CLOSED") || l.contains("PENDING")),
        "every closed report is acknowledged:\n{status}"
    );

    // A forced re-send changes nothing in the pool.
    lab.exec("D", T1, &["license smart sync all"]);
    assert_eq!(
        pool_figures(&lab, T1, "network-advantage"),
        ["10", "1", "9"],
        "purchased, in use, balance"
    );
}

/// HA online: the active trusts every unit with one token, requests an authorization code for
/// every unit, reports for all UDIs; a switchover and a member leaving move `Next report push`,
/// and the new active reports.
#[test]
fn ha_stack_trusts_authorizes_and_reports_for_every_unit() {
    let lab = Lab::new();
    authority(&lab);
    auth(
        &lab,
        T0,
        &[
            "license",
            "add",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "--tag",
            "hseck9",
            "--sku",
            "C9K-HSEC",
            "--quantity",
            "1",
            "--type",
            "perpetual",
            "--enforcement",
            "export-controlled",
        ],
    );
    let good = token(&lab, T0, &["--expires-after-days", "30"]);
    // The stack jumps to T2, two days past the server's clock: the server allows that skew.
    let server = start_service(
        &lab,
        T1,
        &[
            "authority",
            "--data",
            "A",
            "--report-skew-hours",
            "72",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ],
    );
    crate::util::init_stack_x(&lab, T1, true);
    lab.exec(
        "S",
        T1,
        &[
            "configure terminal",
            "license boot level network-advantage",
            "end",
            "copy running-config startup-config",
            "reload",
        ],
    );
    point_at(&lab, "S", &server.url);

    let out = lab.exec(
        "S",
        T1,
        &[&format!("license smart trust idtoken {good} all"), "show license status"],
    );
    assert_eq!(out.matches("%SMART_LIC-6-TRUST_CODE_INSTALL_SUCCESS").count(), 3, "{out}");
    assert_eq!(out.matches("    INSTALLED on Nov 10 10:00:00 2026 UTC").count(), 3, "{out}");

    let out = lab.exec(
        "S",
        T1,
        &[
            "license smart authorization request add hseck9 all",
            "license smart sync all",
            "show license authorization",
        ],
    );
    assert!(out.contains("%SMART_LIC-6-AUTHORIZATION_INSTALL_SUCCESS"), "{out}");
    for unit in ["FOC1", "FOC2", "FOC3"] {
        assert!(out.contains(&format!("PID:C9300X-48HX,SN:{unit}")), "{unit}: {out}");
    }
    assert_eq!(out.matches("Status: SMART AUTHORIZATION INSTALLED").count(), 3, "{out}");
    let status = lab.exec("S", T1, &["show license status"]);
    assert_eq!(field(&status, "Last ACK received:"), "Nov 10 10:00:00 2026 UTC");
    let pis = auth(&lab, T1, &["pi", "list", "--account", "example.com", "--va", "Lab"]);
    assert!(pis.contains("FOC1"), "{pis}");

    // HA events are reporting triggers: Next report push moves to the event.
    let before = field(&status, "Next report push:");
    const T2: &str = "2026-11-12T08:00:00Z";
    let out = lab.exec("S", T2, &["redundancy force-switchover", "show license status"]);
    let after = field(&out, "Next report push:");
    assert_ne!(after, before, "{out}");
    assert!(after.starts_with("Nov 12"), "the switchover is reported soon: {after}");
    let out =
        lab.exec("S", T2, &["license smart sync all", "show license status", "show license udi"]);
    assert!(out.contains("Import Data Successful"), "the new active reports: {out}");
    // Last ACK received is when the authority issued the ACK: this test's authority runs on
    // its own clock, started at T1.
    assert!(field(&out, "Last ACK received:").starts_with("Nov 10 10:0"), "{out}");
    const T3: &str = "2026-11-14T08:00:00Z";
    let out = lab.exec(
        "S",
        T3,
        &["test platform stack remove PID:C9300X-48HX,SN:FOC3", "show license status"],
    );
    assert!(field(&out, "Next report push:").starts_with("Nov 14"), "{out}");
}

/// Transport callhome with `license smart url <url>` reports like smart; a proxy carries the
/// traffic (the URL's host does not even resolve); without the proxy the device cannot reach it.
#[test]
fn callhome_transport_and_the_proxy_reach_the_authority() {
    let lab = Lab::new();
    authority(&lab);
    let good = token(&lab, T0, &["--expires-after-days", "30"]);
    let server =
        start_service(&lab, T1, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    init_sw1(&lab, T1);
    let url = format!("{}/licservice/license", server.url);
    let out = lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "license smart transport callhome",
            &format!("license smart url {url}"),
            "end",
            "show running-config",
            "show license status",
        ],
    );
    assert!(out.contains("license smart transport callhome"), "{out}");
    assert!(out.contains(&format!("license smart url {url}\n")), "{out}");
    assert_eq!(field(&out, "Type:"), "Callhome");
    let out = lab.exec(
        "D",
        T1,
        &[
            &format!("license smart trust idtoken {good} local"),
            "license smart sync all",
            "show license status",
        ],
    );
    assert!(out.contains("TRUST_CODE_INSTALL_SUCCESS"), "{out}");
    assert_eq!(field(&out, "Last ACK received:"), "Nov 10 10:00:00 2026 UTC");

    // Through a proxy: the authority's address plays the proxy, the URL names a host that
    // cannot resolve, so only the proxy can carry the report.
    let port = server.url.rsplit(':').next().unwrap().to_owned();
    const T2: &str = "2026-11-11T10:00:00Z";
    let out = lab.exec(
        "D",
        T2,
        &[
            "configure terminal",
            "license smart url http://cssm.invalid/licservice/license",
            "license smart proxy address 127.0.0.1",
            &format!("license smart proxy port {port}"),
            "end",
            "license smart sync all",
            "show license status",
        ],
    );
    assert!(out.contains("Import Data Successful"), "the ACK came back: {out}");
    // The ACK's issue time, on this test authority's clock (started at T1, real speed).
    let acked = field(&out, "Last ACK received:");
    assert!(acked.starts_with("Nov 10 10:0"), "{out}");
    const T3: &str = "2026-11-12T10:00:00Z";
    let out = lab.exec(
        "D",
        T3,
        &[
            "configure terminal",
            "no license smart proxy",
            "end",
            "license smart sync all",
            "show license status",
        ],
    );
    assert!(out.contains("%SMART_LIC-3-COMM_FAILED"), "{out}");
    assert_eq!(field(&out, "Last ACK received:"), acked, "{out}");
}

/// The key id and trust of the one product instance of example.com / Lab (`pi list --json`).
fn bound(lab: &Lab) -> (String, serde_json::Value) {
    let out = auth(lab, T1, &["pi", "list", "--account", "example.com", "--va", "Lab", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = &rows.as_array().unwrap()[0];
    (row["key_id"].as_str().unwrap().to_owned(), row["trust_id"].clone())
}

/// A second device with the genuine one's PID and serial number, without an ID token, cannot
/// take the UDI over by `license smart sync all` (a trust request from its own key): refused
/// with the UDI and both key ids, nothing changes, and the genuine device keeps reporting. With
/// an ID token of the virtual account (and `force`) the new device may take it over, logged.
#[test]
fn a_second_device_with_the_same_udi_cannot_take_it_over_without_a_token() {
    let lab = Lab::new();
    authority(&lab);
    let good = token(&lab, T0, &[]);
    let server =
        start_service(&lab, T1, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    init_sw1(&lab, T1);
    point_at(&lab, "D", &server.url);
    lab.exec("D", T1, &[&format!("license smart trust idtoken {good} local")]);
    let out = lab.exec("D", T1, &["license smart sync all"]);
    assert!(!out.contains("% Error"), "{out}");
    let genuine = bound(&lab);

    // The impostor: same PID/SN, its own key, no trust code, no token.
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
            "FOC2233A5ZV",
            "--hostname",
            "impostor",
        ],
    );
    point_at(&lab, "E", &server.url);
    let out = lab.exec("E", T1, &["license smart sync all", "show license status"]);
    assert!(!out.contains("TRUST_CODE_INSTALL_SUCCESS"), "{out}");
    assert!(
        out.contains("PID:C9300-24UX,SN:FOC2233A5ZV is bound to device key")
            && out.contains(&genuine.0)
            && out.contains("ID token of its virtual account")
            && out.contains("pi rebind"),
        "the refusal names the UDI, the bound key and how to proceed: {out}"
    );
    // A claim of a UDI needs no credentials: the answer names neither the smart account nor
    // the virtual account the UDI is in.
    assert!(!out.contains("example.com") && !out.contains("\"Lab\""), "{out}");
    assert_eq!(field(&out, "Trust Code Installed:"), "<none>");
    assert_eq!(bound(&lab), genuine, "nothing changed at the authority");
    let events = auth(&lab, T1, &["event", "list", "--account", "example.com"]);
    assert!(!events.contains("re-bound") && !events.contains("impostor"), "{events}");

    // The genuine device still reports.
    let out = lab.exec("D", T1, &["license smart sync all", "show license status"]);
    assert!(!out.contains("% Error"), "{out}");
    assert_eq!(field(&out, "Last ACK received:"), "Nov 10 10:00:00 2026 UTC");

    // With an ID token of the virtual account the new device may take over (a replacement).
    let out = lab.exec("E", T1, &[&format!("license smart trust idtoken {good} local force")]);
    assert!(out.contains("TRUST_CODE_INSTALL_SUCCESS"), "{out}");
    let (key, _) = bound(&lab);
    assert_ne!(key, genuine.0);
    let events = auth(&lab, T1, &["event", "list", "--account", "example.com"]);
    assert!(
        events.contains("re-bound") && events.contains("proven by an ID token"),
        "the take-over is logged with its proof: {events}"
    );
}

/// `va set --first-contact deny`: a never-seen UDI cannot bind over smart transport without a
/// token; with an ID token of the virtual account it can.
#[test]
fn first_contact_denied_needs_a_token_over_smart_transport() {
    let lab = Lab::new();
    authority(&lab);
    let good = token(&lab, T0, &[]);
    auth(
        &lab,
        T0,
        &["va", "set", "--account", "example.com", "--va", "Lab", "--first-contact", "deny"],
    );
    let list = auth(&lab, T0, &["va", "list", "--account", "example.com", "--json"]);
    assert!(list.contains(r#""first_contact": "deny""#), "{list}");
    let server =
        start_service(&lab, T1, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    init_sw1(&lab, T1);
    point_at(&lab, "D", &server.url);
    let out = lab.exec("D", T1, &["license smart sync all"]);
    assert!(out.contains("no trust is established"), "{out}");
    let out = lab.exec("D", T1, &[&format!("license smart trust idtoken {good} local")]);
    assert!(out.contains("TRUST_CODE_INSTALL_SUCCESS"), "{out}");
    let out = lab.exec("D", T1, &["license smart sync all"]);
    assert!(!out.contains("% Error"), "{out}");
    let events = auth(&lab, T1, &["event", "list", "--account", "example.com"]);
    assert!(events.contains("registered with device key"), "{events}");
    assert!(
        events.contains("first contact of new UDIs in virtual account \"Lab\" set to deny"),
        "{events}"
    );
}
