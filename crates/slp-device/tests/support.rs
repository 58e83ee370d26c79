//! What the device tests share: times, and running CLI lines that must succeed or be refused.

use slp_device::agent::{Device, InitOptions};
use slp_device::commands::{Mode, Session};
use slp_device::state::StateDir;

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

/// A new standalone C9300-24UX `sw1` (17.9.4, network-advantage) in `dir`, at the EXEC prompt.
pub fn sw1(dir: &tempfile::TempDir) -> Session {
    let options = InitOptions {
        pid: "C9300-24UX".to_owned(),
        sn: "FOC2233A5ZV".to_owned(),
        hostname: "sw1".to_owned(),
        version: "17.9.4".to_owned(),
        standby: vec![],
        members: vec![],
        boot_level: "network-advantage".to_owned(),
        factory_trust: false,
        authority_key: None,
    };
    let device = Device::init(StateDir::new(dir.path()), &options, at(T0)).unwrap();
    Session::new(device, Mode::Exec)
}
