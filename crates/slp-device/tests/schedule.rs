//! The reporting schedule as a user sees it, on a virtual clock (no sleeping): the device's CLI
//! (`show license status`, `show logging`, `show running-config`) and where it sends,
//! against a scripted peer that plays CSLU (OK_POLL, then the ACK when polled) or CSSM (the ACK
//! at once). Issue #18 items 1, 2, 3 and 13.

// Test code: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use slp_core::Timestamp;
use slp_device::agent::{Device, InitOptions};
use slp_device::commands::{Mode, Session, Step};
use slp_device::state::StateDir;
use slp_device::uplink::{CommError, Uplink};
use slp_wire::docs::{self, AckedReport, RumAck};
use slp_wire::keys::KeyPair;
use slp_wire::online::{MessageType, Request, Response};
use slp_wire::rum::{Envelope, Sudi};
use slp_wire::xml::{Document, Kind};

use crate::support::{T0, at};

/// When the device is created and its add-on license starts counting.
const CSLU_LOCAL: &str = "http://cslu-local:8182/cslu/v1/pi";
const REMINDER: &str =
    "%SMART_LIC-6-REPORTING_REQUIRED: A Usage report acknowledgement will be required in 0 days.";

/// A scripted peer: CSLU (`relay`: usage answered with OK_POLL, the ACK when polled once
/// `acks_ready`) or CSSM (the ACK in the answer). Records every message it is sent and where.
struct Peer {
    key: KeyPair,
    relay: bool,
    now: Mutex<Timestamp>,
    acks_ready: Mutex<bool>,
    down: Mutex<bool>,
    polls: Mutex<BTreeMap<String, Vec<u64>>>,
    sent: Mutex<Vec<(String, MessageType)>>,
}

impl Peer {
    fn new(relay: bool) -> Peer {
        Peer {
            key: KeyPair::generate(),
            relay,
            now: Mutex::new(at(T0)),
            acks_ready: Mutex::new(false),
            down: Mutex::new(false),
            polls: Mutex::new(BTreeMap::new()),
            sent: Mutex::new(Vec::new()),
        }
    }

    fn sent(&self) -> Vec<(String, MessageType)> {
        self.sent.lock().unwrap().clone()
    }

    fn kinds(&self) -> Vec<MessageType> {
        self.sent().into_iter().map(|(_, kind)| kind).collect()
    }

    /// The signed ACK of `ids` for `udi`, issued now.
    fn ack(&self, sudi: &Sudi, ids: &[u64]) -> String {
        let now = *self.now.lock().unwrap();
        let ack = RumAck {
            ack_id: format!("ack-{}", now.timestamp()),
            issued_at: slp_core::text::rfc3339(now),
            sudi: sudi.clone(),
            smart_account: "Example Corp".to_owned(),
            virtual_account: "Lab".to_owned(),
            reports: ids
                .iter()
                .map(|id| AckedReport {
                    report_id: *id,
                    sudi: sudi.clone(),
                    status: "ACCEPTED".to_owned(),
                    reason: None,
                })
                .collect(),
            authority_key: self.key.public_b64(),
        };
        Document { reports: vec![], items: vec![docs::sign_json(Kind::RumAck, &ack, &self.key)] }
            .to_xml()
    }
}

/// The report ids a `<smartLicense>` document carries.
fn report_ids(xml: &str) -> Vec<u64> {
    Document::parse(xml)
        .unwrap()
        .reports
        .iter()
        .map(|e| Envelope::parse(e).unwrap().report().unwrap().report_id)
        .collect()
}

impl Uplink for Peer {
    fn send(&self, url: &str, request: &Request) -> Result<Response, CommError> {
        self.sent.lock().unwrap().push((url.to_owned(), request.header.kind));
        if *self.down.lock().unwrap() {
            return Err(CommError::new("Unable to connect to the server"));
        }
        let sudi = &request.header.udi;
        match request.header.kind {
            MessageType::Usage => {
                let ids = report_ids(request.data.smart_license.as_deref().unwrap());
                if self.relay {
                    let mut polls = self.polls.lock().unwrap();
                    let id = format!("p{}", polls.len() + 1);
                    polls.insert(id.clone(), ids);
                    Ok(Response::poll(id, 300))
                } else {
                    Ok(Response::ok(Some(self.ack(sudi, &ids))))
                }
            }
            MessageType::Poll => {
                let id = request.data.poll_id.clone().unwrap();
                if !*self.acks_ready.lock().unwrap() {
                    return Ok(Response::no_data());
                }
                let ids = self.polls.lock().unwrap().get(&id).cloned().unwrap_or_default();
                Ok(Response::ok(Some(self.ack(sudi, &ids))))
            }
            _ => Ok(Response::ok(None)),
        }
    }
}

/// A standalone C9300 at network-advantage with the dna-advantage add-on (a subscription:
/// first report and reporting frequency 90 days under the Cisco default policy), both in use
/// from T0, configured with `config`.
fn switch(dir: &tempfile::TempDir, config: &[&str]) -> Session {
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
    let mut session = Session::new(device, Mode::Exec);
    let peer = Peer::new(true);
    let mut lines =
        vec!["configure terminal", "license boot level network-advantage addon dna-advantage"];
    lines.extend(config);
    lines.extend(["end", "copy running-config startup-config", "reload"]);
    for line in lines {
        cli(&mut session, &peer, T0, line);
    }
    session
}

/// Runs one command line at `now` as the CLI does, talking to `peer`; returns what it printed.
fn cli(session: &mut Session, peer: &Peer, now: &str, line: &str) -> String {
    session.device.now = at(now);
    *peer.now.lock().unwrap() = at(now);
    let output = match session.begin(line) {
        Step::Done(output) => output,
        Step::Converse(conversation) => {
            let result = session.device.converse(conversation, peer);
            session.finish(result)
        }
    };
    assert!(output.ok, "{line}: {}", output.text);
    output.text
}

/// One step of a running device's scheduler at `now` (what `slp device run` does on its
/// clock): reminders, then the contact if one is due.
fn tick(session: &mut Session, peer: &Peer, now: &str) -> Vec<String> {
    session.device.now = at(now);
    *peer.now.lock().unwrap() = at(now);
    let mut lines = session.device.remind_overdue();
    if let Some(conversation) = session.device.begin_contact() {
        lines.extend(session.device.converse(conversation, peer).unwrap());
    }
    session.device.save().unwrap();
    lines
}

fn field(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|line| line.trim_start().strip_prefix(label).map(|rest| rest.trim().to_owned()))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
}

fn status(session: &mut Session, peer: &Peer, now: &str) -> String {
    cli(session, peer, now, "show license status")
}

/// `Mon DD HH:MM:SS YYYY UTC` as `show` prints it, to compare dates.
fn shown(text: &str) -> Timestamp {
    chrono::NaiveDateTime::parse_from_str(text, "%b %d %H:%M:%S %Y UTC").unwrap().and_utc()
}

#[test]
fn transport_automatic_is_cslu_and_reports_to_cslu_local() {
    let dir = tempfile::tempdir().unwrap();
    let mut sw =
        switch(&dir, &["license smart transport smart", "license smart transport automatic"]);
    let peer = Peer::new(true);

    let out = status(&mut sw, &peer, T0);
    assert_eq!(field(&out, "Type:"), "cslu", "{out}");
    assert_eq!(field(&out, "Cslu address:"), CSLU_LOCAL, "{out}");
    assert!(!out.contains("URL:"), "no CSSM URL: {out}");
    // "automatic: Sets the transport mode cslu": the configuration is that of cslu, the default.
    let running = cli(&mut sw, &peer, T0, "show running-config");
    assert!(!running.contains("license smart transport"), "{running}");
    let plain_dir = tempfile::tempdir().unwrap();
    let mut plain = switch(&plain_dir, &["license smart transport cslu"]);
    let plain_running = cli(&mut plain, &peer, T0, "show running-config");
    assert_eq!(running, plain_running);

    // It reports to CSLU, found as cslu-local (zero-touch DNS discovery), never to CSSM.
    let out = cli(&mut sw, &peer, "2026-11-01T09:30:00Z", "license smart sync all");
    assert_eq!(peer.sent(), vec![(CSLU_LOCAL.to_owned(), MessageType::Usage)], "{out}");
    // A CSLU that does not answer is named as a real device names it.
    *peer.down.lock().unwrap() = true;
    let out = cli(&mut sw, &peer, "2026-11-02T09:30:00Z", "license smart sync all");
    assert!(
        out.contains("%SMART_LIC-3-COMM_FAILED: Communications failure with the Cisco Smart License Utility (CSLU) : Unable to connect to the server"),
        "{out}"
    );
    *peer.down.lock().unwrap() = false;

    // A configured CSLU URL is where automatic sends, as cslu does.
    let other_dir = tempfile::tempdir().unwrap();
    let mut other = switch(
        &other_dir,
        &[
            "license smart url cslu http://192.0.2.7:8182/cslu/v1/pi",
            "license smart transport smart",
            "license smart transport automatic",
        ],
    );
    let other_peer = Peer::new(true);
    cli(&mut other, &other_peer, "2026-11-01T09:30:00Z", "license smart sync all");
    assert_eq!(
        other_peer.sent(),
        vec![("http://192.0.2.7:8182/cslu/v1/pi".to_owned(), MessageType::Usage)]
    );
}

#[test]
fn report_push_comes_before_the_ack_deadline_and_the_ack_check_is_never_past() {
    let dir = tempfile::tempdir().unwrap();
    let mut sw = switch(&dir, &[]);
    let peer = Peer::new(true);

    let out = status(&mut sw, &peer, T0);
    assert_eq!(field(&out, "Reporting push interval:"), "30  days");
    assert_eq!(field(&out, "Next ACK deadline:"), "Jan 30 09:00:00 2027 UTC");
    assert_eq!(field(&out, "Next report push:"), "Nov 01 09:02:00 2026 UTC");
    assert_eq!(field(&out, "Next ACK push check:"), "<none>");

    // The scheduler pushes two minutes after first use; CSLU answers OK_POLL.
    tick(&mut sw, &peer, "2026-11-01T09:02:00Z");
    let out = status(&mut sw, &peer, "2026-11-01T09:02:00Z");
    assert_eq!(field(&out, "Last report push:"), "Nov 01 09:02:00 2026 UTC");
    assert_eq!(field(&out, "Next ACK push check:"), "Nov 01 09:07:00 2026 UTC");
    // The next push is one push interval (30 days) later, long before the ACK is due.
    assert_eq!(field(&out, "Next report push:"), "Dec 01 09:02:00 2026 UTC");
    assert_eq!(field(&out, "Next ACK deadline:"), "Jan 30 09:00:00 2027 UTC");

    // The poll brings the ACK: the deadline moves 90 days past it, the push stays 30 days
    // after the last one, and there is no ACK to check for.
    *peer.acks_ready.lock().unwrap() = true;
    tick(&mut sw, &peer, "2026-11-01T09:07:00Z");
    let out = status(&mut sw, &peer, "2026-11-01T09:07:00Z");
    assert_eq!(field(&out, "Last ACK received:"), "Nov 01 09:07:00 2026 UTC");
    assert_eq!(field(&out, "Next ACK deadline:"), "Jan 30 09:07:00 2027 UTC");
    assert_eq!(field(&out, "Next report push:"), "Dec 01 09:02:00 2026 UTC");
    assert_eq!(field(&out, "Next ACK push check:"), "<none>");
    let out = status(&mut sw, &peer, "2026-11-20T00:00:00Z");
    assert_eq!(field(&out, "Next ACK push check:"), "<none>");
    assert_eq!(peer.kinds(), vec![MessageType::Usage, MessageType::Poll]);

    // Month after month: each push 30 days after the last, each before the deadline.
    let mut now = shown(&field(&out, "Next report push:"));
    for _ in 0..4 {
        let text = slp_core::text::rfc3339(now);
        tick(&mut sw, &peer, &text);
        let check = text_plus(now, 5);
        tick(&mut sw, &peer, &check);
        let out = status(&mut sw, &peer, &check);
        let (push, deadline) =
            (shown(&field(&out, "Next report push:")), shown(&field(&out, "Next ACK deadline:")));
        assert_eq!(push, now + chrono::Duration::days(30), "{out}");
        assert_eq!(deadline, now + chrono::Duration::minutes(5) + chrono::Duration::days(90));
        assert!(push < deadline, "{out}");
        assert_eq!(field(&out, "Next ACK push check:"), "<none>", "{out}");
        now = push;
    }

    // A push whose ACK is still awaited, and a look days later without the scheduler having
    // run: the check is due, shown as now, not in the past.
    *peer.acks_ready.lock().unwrap() = false;
    let text = slp_core::text::rfc3339(now);
    tick(&mut sw, &peer, &text);
    let later = now + chrono::Duration::days(3);
    let out = status(&mut sw, &peer, &slp_core::text::rfc3339(later));
    assert_eq!(shown(&field(&out, "Next ACK push check:")), later, "{out}");
}

fn text_plus(at: Timestamp, minutes: i64) -> String {
    slp_core::text::rfc3339(at + chrono::Duration::minutes(minutes))
}

#[test]
fn sync_sends_pending_data_while_a_push_awaits_its_ack_and_a_reload_moves_the_push() {
    let dir = tempfile::tempdir().unwrap();
    let mut sw = switch(&dir, &[]);
    let peer = Peer::new(true);

    cli(&mut sw, &peer, "2026-11-01T10:00:00Z", "license smart sync all");
    assert_eq!(peer.kinds(), vec![MessageType::Usage]);
    let out = status(&mut sw, &peer, "2026-11-01T10:00:00Z");
    assert_eq!(field(&out, "Next report push:"), "Dec 01 10:00:00 2026 UTC");

    // A reload is a reporting trigger: Next report push moves to two minutes after it, though
    // the last push still awaits its ACK.
    cli(&mut sw, &peer, "2026-11-04T08:00:00Z", "reload");
    let out = status(&mut sw, &peer, "2026-11-04T08:00:00Z");
    assert_eq!(field(&out, "Next report push:"), "Nov 04 08:02:00 2026 UTC");

    // `license smart sync` asks for the awaited answer (none yet) and sends what is pending.
    cli(&mut sw, &peer, "2026-11-04T09:00:00Z", "license smart sync all");
    assert_eq!(peer.kinds(), vec![MessageType::Usage, MessageType::Poll, MessageType::Usage]);
    let out = status(&mut sw, &peer, "2026-11-04T09:00:00Z");
    assert_eq!(field(&out, "Last report push:"), "Nov 04 09:00:00 2026 UTC");
    assert_eq!(field(&out, "Next report push:"), "Dec 04 09:00:00 2026 UTC");
    assert_eq!(field(&out, "Last ACK received:"), "<none>");
    // Nothing new since: a sync asks for the answer and has nothing else to send.
    cli(&mut sw, &peer, "2026-11-04T09:10:00Z", "license smart sync all");
    assert_eq!(peer.kinds()[3..], [MessageType::Poll]);

    // Another reload, then the scheduler's contact: its poll brings the ACK, and the same
    // contact sends the report the reload made due.
    cli(&mut sw, &peer, "2026-11-06T08:00:00Z", "reload");
    *peer.acks_ready.lock().unwrap() = true;
    tick(&mut sw, &peer, "2026-11-06T08:02:00Z");
    assert_eq!(
        peer.kinds(),
        vec![
            MessageType::Usage,
            MessageType::Poll,
            MessageType::Usage,
            MessageType::Poll,
            MessageType::Poll,
            MessageType::Usage
        ]
    );
    let out = status(&mut sw, &peer, "2026-11-06T08:02:00Z");
    assert_eq!(field(&out, "Last ACK received:"), "Nov 06 08:02:00 2026 UTC");
    assert_eq!(field(&out, "Last report push:"), "Nov 06 08:02:00 2026 UTC");
    assert_eq!(field(&out, "Next report push:"), "Dec 06 08:02:00 2026 UTC");
    assert_eq!(field(&out, "Next ACK push check:"), "Nov 06 08:07:00 2026 UTC");
    // Its ACK comes at the next poll; nothing is left waiting, nothing more is due.
    tick(&mut sw, &peer, "2026-11-06T08:07:00Z");
    let out = status(&mut sw, &peer, "2026-11-06T08:07:00Z");
    assert_eq!(field(&out, "Last ACK received:"), "Nov 06 08:07:00 2026 UTC");
    assert_eq!(field(&out, "Next ACK push check:"), "<none>");
    let rum = cli(&mut sw, &peer, "2026-11-06T08:07:00Z", "show license rum id all");
    let closed: Vec<&str> =
        rum.lines().filter(|l| l.starts_with(char::is_numeric) && !l.contains("OPEN")).collect();
    assert!(!closed.is_empty() && closed.iter().all(|l| l.contains(" ACK ")), "{rum}");
    assert_eq!(peer.kinds().len(), 7, "the scheduler sent nothing more: {:?}", peer.kinds());
    assert!(tick(&mut sw, &peer, "2026-11-07T08:07:00Z").is_empty());
    assert_eq!(peer.kinds().len(), 7);
}

#[test]
fn an_overdue_device_logs_daily_reminders_until_an_ack_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let mut sw = switch(&dir, &["license smart transport off"]);
    let peer = Peer::new(false);
    let reminders = |sw: &mut Session, now: &str| -> Vec<String> {
        let log = cli(sw, &peer, now, "show logging");
        log.lines().filter(|l| l.ends_with(REMINDER)).map(str::to_owned).collect()
    };
    // The first report is due 90 days after first use, as the usage change said.
    let out = status(&mut sw, &peer, "2027-01-29T09:00:00Z");
    assert_eq!(field(&out, "Next ACK deadline:"), "Jan 30 09:00:00 2027 UTC");
    let log = cli(&mut sw, &peer, "2027-01-29T09:00:00Z", "show logging");
    assert!(
        log.contains("*Nov  1 2026 09:00:00.000 UTC: %SMART_LIC-6-REPORTING_REQUIRED: A Usage report acknowledgement will be required in 90 days."),
        "{log}"
    );
    assert!(reminders(&mut sw, "2027-01-29T09:00:00Z").is_empty());

    // Two days and an hour past the deadline, no ACK: a reminder at the deadline and one a day;
    // the status still shows the deadline that passed.
    let out = status(&mut sw, &peer, "2027-02-01T10:00:00Z");
    assert_eq!(field(&out, "Next ACK deadline:"), "Jan 30 09:00:00 2027 UTC");
    assert_eq!(field(&out, "Last ACK received:"), "<none>");
    assert_eq!(
        reminders(&mut sw, "2027-02-01T10:00:00Z"),
        [
            format!("*Jan 30 2027 09:00:00.000 UTC: {REMINDER}"),
            format!("*Jan 31 2027 09:00:00.000 UTC: {REMINDER}"),
            format!("*Feb  1 2027 09:00:00.000 UTC: {REMINDER}"),
        ]
    );
    assert_eq!(reminders(&mut sw, "2027-02-01T11:00:00Z").len(), 3, "each once");

    // The report saved and its ACK imported: the deadline moves, the reminders stop.
    let t = "2027-02-01T12:00:00Z";
    cli(&mut sw, &peer, t, "license smart save usage all file bootflash:u.txt");
    let saved = std::fs::read_to_string(dir.path().join("bootflash/u.txt")).unwrap();
    *peer.now.lock().unwrap() = at(t);
    let sudi = Sudi::of(&sw.device.state.active().udi);
    std::fs::write(dir.path().join("bootflash/ack.txt"), peer.ack(&sudi, &report_ids(&saved)))
        .unwrap();
    let out = cli(&mut sw, &peer, t, "license smart import bootflash:ack.txt");
    assert!(out.contains("Import Data Successful"), "{out}");
    let out = status(&mut sw, &peer, "2027-02-10T12:00:00Z");
    assert_eq!(field(&out, "Next ACK deadline:"), "May 02 12:00:00 2027 UTC");
    assert_eq!(reminders(&mut sw, "2027-02-10T12:00:00Z").len(), 3);

    // A device nobody looked at for a year logs the last 30 reminders, not 300.
    let late = reminders(&mut sw, "2028-05-01T12:00:00Z");
    assert_eq!(late.len(), 3 + 30, "{late:?}");
    assert!(late.last().unwrap().starts_with("*May  1 2028 12:00:00.000 UTC:"), "{late:?}");
}
