//! The product instance's SLAC commands against a real `slp authority serve` (issue #18 item
//! 4): `request replace` refused while the key is in use, returns after a switchover that are
//! neither lost nor sent for ever, and an authority that always counts what the device holds.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use serde_json::Value;

use crate::util::{Lab, T0, auth, authority, start_service};

const T1: &str = "2026-11-10T10:00:00Z";
const T2: &str = "2026-11-11T10:00:00Z";

/// The keys the authority holds reserved for `feature` in example.com / Lab.
fn reserved(lab: &Lab, feature: &str) -> i64 {
    let list =
        auth(lab, T1, &["license", "list", "--account", "example.com", "--va", "Lab", "--json"]);
    let rows: Value = serde_json::from_str(&list).unwrap();
    let row = rows.as_array().unwrap().iter().find(|r| r["license"] == feature).unwrap().clone();
    row["reserved"].as_i64().unwrap_or_else(|| panic!("{row}"))
}

/// Reads one HTTP message (headers and the body its Content-Length announces) from `stream`.
fn read_message(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = stream.read(&mut buf).unwrap_or(0);
        if n == 0 {
            return seen;
        }
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                return seen;
            }
        }
    }
}

/// A forwarder to `upstream` (`host:port`) that loses every answer: the message reaches the
/// authority, which acts on it, and the device sees the connection close. Returns its URL.
fn answer_losing_forwarder(upstream: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut device) = stream else { continue };
            let request = read_message(&mut device);
            let Ok(mut peer) = TcpStream::connect(&upstream) else { continue };
            let _ = peer.write_all(&request);
            let _ = read_message(&mut peer);
            // The answer is dropped with the connection.
            let _ = device.shutdown(std::net::Shutdown::Both);
        }
    });
    url
}

fn point_at(lab: &Lab, now: &str, url: &str) {
    lab.exec(
        "S",
        now,
        &[
            "configure terminal",
            "license smart transport smart",
            &format!("license smart url smart {url}/licservice/license"),
            "end",
        ],
    );
}

/// A Catalyst 9300X stack (the guide's platform for HSECK9 in a stack) trusts the authority
/// and gets a SLAC for both units. `replace` is refused while the key is in use and the
/// authority keeps both keys. After a switchover the device returns both codes online while
/// every answer is lost: the codes leave the device, the returns stay queued, and the next sync
/// delivers them once, without the authority's "returned already" coming back at every contact.
/// A return queued while the authority is down, followed by a replace, is delivered before the
/// replace. At every step the authority's reserved count is what the device shows installed.
#[test]
fn slac_returns_after_a_switchover_never_loop_and_the_authority_agrees() {
    let lab = Lab::new();
    authority(&lab);
    let token = auth(
        &lab,
        T0,
        &[
            "token",
            "create",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "--description",
            "stack",
            "--expires-after-days",
            "30",
        ],
    )
    .trim()
    .to_owned();
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
    lab.ok(
        T1,
        &[
            "device",
            "--state",
            "S",
            "init",
            "--pid",
            "C9300X-24HX",
            "--sn",
            "FOC1",
            "--hostname",
            "stack1",
            "--standby",
            "PID:C9300X-24HX,SN:FOC2",
        ],
    );
    point_at(&lab, T1, &server.url);
    let out = lab.exec("S", T1, &[&format!("license smart trust idtoken {token} all")]);
    assert_eq!(out.matches("%SMART_LIC-6-TRUST_CODE_INSTALL_SUCCESS").count(), 2, "{out}");
    let out = lab.exec(
        "S",
        T1,
        &["license smart authorization request add hseck9 all", "license smart sync all"],
    );
    assert_eq!(out.matches("%SMART_LIC-6-AUTHORIZATION_INSTALL_SUCCESS").count(), 2, "{out}");
    assert_eq!(reserved(&lab, "hseck9"), 2);

    // The key in use: replace is refused and nothing reaches the authority.
    lab.exec(
        "S",
        T1,
        &["configure terminal", "interface Tunnel0", "tunnel mode ipsec ipv4", "end"],
    );
    let out = lab.fails(
        T1,
        &[
            "device",
            "--state",
            "S",
            "exec",
            "license smart authorization request replace hseck9 all",
        ],
    );
    assert!(out.contains("% Error: The HSECK9 key of the existing authorization code on PID:C9300X-24HX,SN:FOC1, PID:C9300X-24HX,SN:FOC2 is in use: first disable the cryptographic feature that uses it and release the key (platform hsec-license-release)"), "{out}");
    let out = lab.exec("S", T1, &["license smart sync all", "show license authorization"]);
    assert_eq!(out.matches("Status: SMART AUTHORIZATION INSTALLED").count(), 2, "{out}");
    assert_eq!(reserved(&lab, "hseck9"), 2);
    let out = lab.exec(
        "S",
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
    assert!(out.contains("HSEC license is released"), "{out}");

    // Switchover, then both codes go back while every answer is lost.
    let out = lab.exec("S", T2, &["redundancy force-switchover"]);
    assert!(out.contains("the active is now PID:C9300X-24HX,SN:FOC2"), "{out}");
    let upstream = server.url.trim_start_matches("http://").to_owned();
    point_at(&lab, T2, &answer_losing_forwarder(upstream));
    let out = lab.exec("S", T2, &["license smart authorization return all online"]);
    assert_eq!(out.matches("%SMART_LIC-6-AUTHORIZATION_REMOVED").count(), 2, "{out}");
    assert!(out.contains("%SMART_LIC-3-COMM_FAILED"), "{out}");
    let state: Value = serde_json::from_str(&lab.read("S/state.json")).unwrap();
    assert_eq!(state["pending_auth_return"].as_array().unwrap().len(), 2, "one return per unit");
    // The first return reached the authority; the device never heard.
    assert_eq!(reserved(&lab, "hseck9"), 1);

    point_at(&lab, T2, &server.url);
    let out = lab.exec("S", T2, &["license smart sync all", "show license authorization"]);
    assert!(!out.contains("% Error"), "{out}");
    assert!(!out.contains("returned already"), "{out}");
    assert!(!out.contains("INSTALL_FAILED"), "an empty answer is no failure: {out}");
    assert!(out.contains("%SMART_LIC-3-COMM_RESTORED"), "{out}");
    assert_eq!(out.matches("Status: NOT INSTALLED").count(), 2, "{out}");
    assert_eq!(reserved(&lab, "hseck9"), 0, "both keys are back in the pool");
    let state: Value = serde_json::from_str(&lab.read("S/state.json")).unwrap();
    assert_eq!(state["pending_auth_return"], serde_json::json!([]), "nothing left to send");

    // Later contacts send no return again.
    let out = lab.exec("S", T2, &["license smart sync all", "license smart sync all"]);
    assert!(!out.contains("% Error") && !out.contains("returned already"), "{out}");
    assert_eq!(reserved(&lab, "hseck9"), 0);

    // Codes for both units again; the active's goes back while the authority cannot be
    // reached, and a replace for the stack follows before the next contact. That contact
    // returns the queued code first, then replaces: no "returned already", then or later.
    let out = lab.exec(
        "S",
        T2,
        &["license smart authorization request add hseck9 all", "license smart sync all"],
    );
    assert_eq!(out.matches("%SMART_LIC-6-AUTHORIZATION_INSTALL_SUCCESS").count(), 2, "{out}");
    assert_eq!(reserved(&lab, "hseck9"), 2);
    let unreachable = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    point_at(&lab, T2, &unreachable);
    let out = lab.exec("S", T2, &["license smart authorization return local online"]);
    assert!(out.contains("%SMART_LIC-6-AUTHORIZATION_REMOVED: A licensing authorization code has been removed from PID:C9300X-24HX,SN:FOC2"), "{out}");
    assert!(out.contains("%SMART_LIC-3-COMM_FAILED"), "{out}");
    assert_eq!(reserved(&lab, "hseck9"), 2, "the authority has not heard of the return");
    point_at(&lab, T2, &server.url);
    let out = lab.exec(
        "S",
        T2,
        &[
            "license smart authorization request replace hseck9 all",
            "license smart sync all",
            "show license authorization",
        ],
    );
    assert!(!out.contains("% Error") && !out.contains("returned already"), "{out}");
    assert_eq!(out.matches("%SMART_LIC-6-AUTHORIZATION_INSTALL_SUCCESS").count(), 2, "{out}");
    assert_eq!(out.matches("Status: SMART AUTHORIZATION INSTALLED").count(), 2, "{out}");
    assert_eq!(reserved(&lab, "hseck9"), 2, "two codes on the device, two keys reserved");
    let out = lab.exec("S", T2, &["license smart sync all", "license smart sync all"]);
    assert!(!out.contains("% Error") && !out.contains("returned already"), "{out}");
    assert_eq!(reserved(&lab, "hseck9"), 2);
    drop(server);
}
