//! `show license tech support`'s `Communication Statistics:` count the exchanges the device
//! really made with a served authority: a usage report refused before trust, an ID-token trust,
//! then a SLAC request and a usage report on one sync.

use crate::util::{Lab, init_sw1x, served_with_token};

const T1: &str = "2026-11-10T10:00:00Z";

/// The five lines under `kind:` in the Communication Statistics section.
fn exchange(tech: &str, kind: &str) -> Vec<String> {
    let section = &tech[tech.find("Communication Statistics:").expect(tech)..];
    let lines: Vec<&str> = section.lines().collect();
    let at = lines.iter().position(|l| *l == format!("{kind}:")).unwrap_or_else(|| {
        panic!("no {kind}: in\n{section}");
    });
    lines[at + 1..at + 6].iter().map(|l| (*l).to_owned()).collect()
}

fn attempts(total: u32, ok: u32, fail: u32, ongoing: u32, comm: u32) -> String {
    format!(
        "  Attempts: Total={total}, Success={ok}, Fail={fail}  Ongoing Failure: Overall={ongoing} Communication={comm}"
    )
}

#[test]
fn trust_slac_and_usage_exchanges_are_counted_as_they_happened() {
    let lab = Lab::new();
    let (server, token) = served_with_token(&lab, T1);
    init_sw1x(&lab, T1);

    // Nothing sent yet: every kind at zero, as a fresh device shows it.
    let tech = lab.exec("D", T1, &["show license tech support"]);
    for kind in ["Trust Establishment", "Usage Reporting", "Authorization Request", "Hello Message"]
    {
        let block = exchange(&tech, kind);
        assert_eq!(block[0], attempts(0, 0, 0, 0, 0), "{kind}");
        assert_eq!(block[1], "  Last Response: <none>", "{kind}");
    }

    lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "license smart transport smart",
            &format!("license smart url smart {}/licservice/license", server.url),
            "end",
        ],
    );
    // Before trust the authority refuses the report (and the trust requests riding on it).
    let out = lab.exec("D", T1, &["license smart sync all", "show license tech support"]);
    assert!(out.contains("no trust is established"), "{out}");
    let usage = exchange(&out, "Usage Reporting");
    assert_eq!(usage[0], attempts(1, 0, 1, 1, 0));
    assert_eq!(usage[1], "  Last Response: ERROR on Nov 10 10:00:00 2026 UTC");
    assert!(usage[2].contains("no trust is established"), "{usage:?}");
    assert_eq!(usage[4], "  Last Failure Time: Nov 10 10:00:00 2026 UTC");
    assert_eq!(exchange(&out, "Trust Sync")[0], attempts(1, 0, 1, 1, 0));

    let out = lab.exec(
        "D",
        T1,
        &[
            &format!("license smart trust idtoken {token} local"),
            "license smart authorization request add hseck9 local",
            "license smart sync all",
            "show license tech support",
        ],
    );
    assert!(out.contains("TRUST_CODE_INSTALL_SUCCESS"), "{out}");
    assert!(out.contains("AUTHORIZATION_INSTALL_SUCCESS"), "{out}");
    let trust = exchange(&out, "Trust Establishment");
    assert_eq!(trust[0], attempts(1, 1, 0, 0, 0));
    assert_eq!(trust[1], "  Last Response: OK on Nov 10 10:00:00 2026 UTC");
    assert_eq!(trust[2], "    Failure Reason: <none>");
    assert_eq!(trust[3], "  Last Success Time: Nov 10 10:00:00 2026 UTC");
    assert_eq!(trust[4], "  Last Failure Time: <none>");
    let request = exchange(&out, "Authorization Request");
    assert_eq!(request[0], attempts(1, 1, 0, 0, 0));
    assert_eq!(request[1], "  Last Response: OK on Nov 10 10:00:00 2026 UTC");
    // The second report went through: the run of failures is over, the failure stays counted.
    let usage = exchange(&out, "Usage Reporting");
    assert_eq!(usage[0], attempts(2, 1, 1, 0, 0));
    assert_eq!(usage[1], "  Last Response: OK on Nov 10 10:00:00 2026 UTC");
    assert_eq!(usage[2], "    Failure Reason: <none>");
    assert_eq!(usage[4], "  Last Failure Time: Nov 10 10:00:00 2026 UTC");
    // The unit is trusted now: no trust request rode on the second report.
    assert_eq!(exchange(&out, "Trust Sync")[0], attempts(1, 0, 1, 1, 0));
    // Exchanges slp does not make, and none of the others happened.
    for kind in [
        "Trust Acknowledgement",
        "Result Polling",
        "Authorization Confirmation",
        "Authorization Return",
        "Hello Message",
    ] {
        assert_eq!(exchange(&out, kind)[0], attempts(0, 0, 0, 0, 0), "{kind}");
    }

    // The authority gone: the next report gets no reply.
    drop(server);
    let out = lab.exec("D", T1, &["license smart sync all", "show license tech support"]);
    assert!(out.contains("%SMART_LIC-3-COMM_FAILED"), "{out}");
    let usage = exchange(&out, "Usage Reporting");
    assert_eq!(usage[0], attempts(3, 1, 2, 1, 1));
    assert_eq!(usage[1], "  Last Response: NO REPLY on Nov 10 10:00:00 2026 UTC");
}
