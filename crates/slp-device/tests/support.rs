//! What the device tests share: times, and running CLI lines that must succeed or be refused.

use slp_device::commands::Session;

/// The tests' first instant (a virtual clock starts here).
pub const T0: &str = "2026-11-01T09:00:00Z";

/// An RFC 3339 time of a test.
pub fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// Runs each line, which must succeed; returns what they printed.
#[track_caller]
pub fn ok(session: &mut Session, lines: &[&str]) -> String {
    let mut text = String::new();
    for line in lines {
        let out = session.execute(line);
        assert!(out.ok, "{line}: {}", out.text);
        text.push_str(&out.text);
    }
    text
}

/// Runs a line that must be refused; returns what it printed.
#[track_caller]
pub fn refused(session: &mut Session, line: &str) -> String {
    let out = session.execute(line);
    assert!(!out.ok, "{line} was accepted: {}", out.text);
    out.text
}
