//! `license smart sync`, scheduled pushes, polling for answers, and `%SMART_LIC-3-COMM_FAILED` /
//! `COMM_RESTORED` with the documented retry schedule: the conversations a device holds with its
//! peer over an [`Uplink`].
//!
//! Messages use the push protocol of `slp_wire::online`: the same `<smartLicense>` documents the
//! air-gapped flow writes to files, sent to the relay (transport `cslu`) or to the authority
//! (transport `smart`, `callhome`). Answers are installed with the same import as an
//! ACK file, so every transport ends in one code path.

use slp_core::Timestamp;
use slp_core::deadline;
use slp_core::ledger::Selection;
use slp_wire::online::{self, Data, Header, MessageType, Request, Response, Status};
use slp_wire::rum::Sudi;

use super::Device;
use super::stats::{ExchangeKind, Outcome};
use crate::DeviceError;
use crate::messages::Message;
use crate::state::{CommState, DEFAULT_SMART_URL, PendingPoll, Transport};
use crate::uplink::{CommError, HttpUplink, Uplink};

/// A conversation with the peer: the messages of one `license smart sync`, `trust idtoken` or
/// scheduled contact, sent one after the other ([`Device::next_exchange`],
/// [`Device::apply_exchange`]), and the lines the command prints.
#[derive(Debug)]
pub struct Conversation {
    kind: Talk,
    stage: Stage,
    /// When the exchange was scheduled (for the retry schedule).
    scheduled: Timestamp,
    /// The conversation asked for the answer to an earlier push.
    polled: bool,
    lines: Vec<String>,
    /// The last queued SLAC return sent in this conversation: each goes once per contact.
    last_return: Option<String>,
}

#[derive(Debug)]
enum Talk {
    /// `license smart sync` (`manual`: send everything pending now, unthrottled) or a contact
    /// the scheduler makes (poll when the poll is due, push when `Next report push` comes).
    Sync {
        manual: bool,
    },
    Trust {
        token: String,
        units: Vec<slp_core::udi::Udi>,
        force: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Start,
    AuthRequest,
    AuthReturn,
    Usage,
    Done,
}

/// One message to send: where, through which proxy, and what it carried.
#[derive(Debug)]
pub struct Exchange {
    pub url: String,
    pub request: Request,
    pub proxy: Option<String>,
    sent: Sent,
}

#[derive(Debug)]
enum Sent {
    Poll,
    AuthRequest(Option<crate::state::PendingAuthRequest>),
    AuthReturn(String),
    /// The reports' ids, and whether trust requests rode along (a trust sync).
    Usage(Vec<u64>, bool),
    Trust,
}

impl Sent {
    /// The kinds of exchange this message counts as in `Communication Statistics:`.
    fn kinds(&self) -> &'static [ExchangeKind] {
        match self {
            Sent::Poll => &[ExchangeKind::ResultPolling],
            Sent::AuthRequest(_) => &[ExchangeKind::AuthorizationRequest],
            Sent::AuthReturn(_) => &[ExchangeKind::AuthorizationReturn],
            Sent::Usage(_, false) => &[ExchangeKind::UsageReporting],
            Sent::Usage(_, true) => &[ExchangeKind::UsageReporting, ExchangeKind::TrustSync],
            Sent::Trust => &[ExchangeKind::TrustEstablishment],
        }
    }
}

impl Conversation {
    /// What the command prints.
    pub fn into_lines(self) -> Vec<String> {
        self.lines
    }
}

impl Device {
    /// Where device-initiated messages go, by transport; `None` when the transport is off.
    pub fn push_url(&self) -> Option<String> {
        let running = &self.state.running;
        match running.transport {
            Transport::Off => None,
            Transport::Cslu => Some(crate::config::ip::cslu_url(running)),
            Transport::Callhome => crate::config::callhome::push_url(running),
            Transport::Smart => {
                Some(running.url_smart.clone().unwrap_or_else(|| DEFAULT_SMART_URL.to_owned()))
            }
        }
    }

    /// The peer's name in system messages, as a real device names it
    /// (`%SMART_LIC-3-COMM_FAILED: Communications failure with the Cisco Smart License Utility
    /// (CSLU) : …`).
    pub fn peer_name(&self) -> &'static str {
        match self.state.running.transport {
            Transport::Cslu => "Cisco Smart License Utility (CSLU)",
            _ => "Cisco Smart Software Manager (CSSM)",
        }
    }

    fn proxy(&self) -> Option<String> {
        let running = &self.state.running;
        if running.transport == Transport::Callhome
            && let Some(proxy) = crate::config::callhome::proxy(running)
        {
            return Some(proxy);
        }
        running.proxy_address.as_ref().map(|address| match running.proxy_port {
            Some(port) => format!("http://{address}:{port}"),
            None => format!("http://{address}"),
        })
    }

    /// The uplink for the configured transport.
    pub fn http_uplink(&self) -> HttpUplink {
        HttpUplink::new(
            self.proxy(),
            crate::trust::roots(&self.dir).map_err(|err| format!("the trust pool: {err}")),
        )
        .with_hosts(self.state.running.settings.ip.static_hosts())
    }

    /// `Next ACK push check`: when the device next asks its peer for the ACK of a push (the poll
    /// after `OK_POLL`, or the retry while communication fails), `<none>` when it awaits no
    /// answer. A check that is due runs at the scheduler's next step, so it shows as now, never
    /// in the past.
    pub fn next_ack_push_check(&self) -> Option<Timestamp> {
        self.push_url()?;
        let poll = self.state.pending_poll.as_ref()?.poll_after;
        let at = self.state.comm.next_retry.map_or(poll, |retry| retry.max(poll));
        Some(at.max(self.now))
    }

    /// When the scheduler should next talk to the peer: a due report push, a poll for an
    /// answer, or a retry after a failure. `None` with transport off or nothing to do.
    pub fn next_contact(&self) -> Option<Timestamp> {
        self.push_url()?;
        // While communication is failing, the retry schedule governs everything that is due.
        if let Some(retry) = self.state.comm.next_retry {
            return Some(retry);
        }
        let poll = self.state.pending_poll.as_ref().map(|p| p.poll_after);
        let push = self.next_report_push();
        [poll, push].into_iter().flatten().min()
    }

    fn request(&self, kind: MessageType, data: Data) -> Request {
        Request {
            header: Header {
                kind,
                version: online::VERSION.to_owned(),
                nonce: format!("{:016x}", rand::random::<u64>()),
                timestamp: self.now.timestamp_millis(),
                udi: Sudi::of(&self.state.active().udi),
            },
            data,
        }
    }

    /// `license smart sync {all|local}`: "synchronizes the product instance with CSLU [or
    /// CSSM], to send and receive any pending data" (guide, "Configuring a Base or Add-On
    /// License"). It polls for an awaited answer and installs it, then sends what is pending
    /// even while an earlier push still awaits its ACK: a SLAC request or return, and usage
    /// (every stored report with current usage, trust requests riding along), unthrottled.
    /// While an answer is awaited, usage goes when there is some no push carried yet (a closed
    /// report, a change since the push); otherwise the answer is all there is to receive.
    /// Communication failures are logged and scheduled for retry; they are not errors of the
    /// command.
    pub fn sync(&mut self, uplink: &dyn Uplink) -> Result<Vec<String>, DeviceError> {
        let conversation = self.begin_sync(Vec::new())?;
        self.converse(conversation, uplink)
    }

    /// Runs a conversation to its end, holding the device throughout (one process, no one else
    /// to serve). `slp device run` drives the same steps itself, releasing the device while a
    /// message is on the wire. Unlike other operations this one saves the device: before each
    /// message, so reports it carries are on disk, closed, before the peer can hold them.
    pub fn converse(
        &mut self,
        mut conversation: Conversation,
        uplink: &dyn Uplink,
    ) -> Result<Vec<String>, DeviceError> {
        while let Some(exchange) = self.next_exchange(&mut conversation)? {
            self.save()?;
            let reply = uplink.send(&exchange.url, &exchange.request);
            self.apply_exchange(&mut conversation, exchange, reply)?;
        }
        Ok(conversation.lines)
    }

    /// A sync (see [`Device::sync`]); `lines` are what the command printed before it.
    pub fn begin_sync(&self, lines: Vec<String>) -> Result<Conversation, DeviceError> {
        self.push_url().ok_or_else(|| {
            if self.state.running.transport == Transport::Callhome
                && let Some(why) = crate::config::callhome::unavailable(&self.state.running)
            {
                return DeviceError::Refused(why.to_owned());
            }
            DeviceError::Refused("% Error: transport type is off: use license smart save usage and license smart import".to_owned())
        })?;
        Ok(self.sync_conversation(true, lines))
    }

    /// The contact the scheduler makes when [`Device::next_contact`] has come, `None` before
    /// then (or with transport off): the poll if it is due, then a SLAC request or return if
    /// one is pending, then the usage push if `Next report push` has come — also when the poll
    /// just installed an ACK, so one contact both receives the ACK and sends what is due.
    pub fn begin_contact(&self) -> Option<Conversation> {
        let due = self.next_contact()?;
        (due <= self.now).then(|| self.sync_conversation(false, Vec::new()))
    }

    fn sync_conversation(&self, manual: bool, lines: Vec<String>) -> Conversation {
        let scheduled =
            self.state.comm.scheduled.or(self.next_report_push()).unwrap_or(self.now).min(self.now);
        Conversation {
            kind: Talk::Sync { manual },
            stage: Stage::Start,
            scheduled,
            polled: false,
            lines,
            last_return: None,
        }
    }

    /// `license smart trust idtoken <token> {local|all} [force]`: asks the authority (smart
    /// transport) for trust codes with an ID token. Refused when a trust code is installed and
    /// `force` is not given; the authority's refusals (expired, used up, revoked, another virtual
    /// account) are reported as `%SMART_LIC-3-TRUST_CODE_INSTALL_FAILED`.
    pub fn trust_idtoken(
        &mut self,
        uplink: &dyn Uplink,
        token: &str,
        all: bool,
        force: bool,
    ) -> Result<Vec<String>, DeviceError> {
        let conversation = self.begin_trust_idtoken(token, all, force)?;
        self.converse(conversation, uplink)
    }

    /// The checks of [`Device::trust_idtoken`]; the conversation sends the request. A trust
    /// code already installed, the factory-installed one included, is overwritten only with
    /// `force` (the guide's "A trust code is already installed"): without it the device logs
    /// `%SMART_LIC-3-TRUST_CODE_INSTALL_FAILED` and sends nothing.
    pub fn begin_trust_idtoken(
        &mut self,
        token: &str,
        all: bool,
        force: bool,
    ) -> Result<Conversation, DeviceError> {
        if !matches!(self.state.running.transport, Transport::Smart | Transport::Callhome) {
            return Err(DeviceError::Refused(
                "% Error: trust with an ID token needs a direct connection: license smart transport smart".to_owned(),
            ));
        }
        if token.is_empty() || token.len() > 255 {
            return Err(DeviceError::Refused(
                "% Error: an ID token has 1 to 255 characters".to_owned(),
            ));
        }
        let units: Vec<slp_core::udi::Udi> = if all {
            self.state.units.iter().map(|u| u.udi.clone()).collect()
        } else {
            vec![self.state.active().udi.clone()]
        };
        if !force
            && let Some(udi) = units.iter().find(|udi| {
                self.state.factory_trust || self.state.trust.contains_key(&udi.to_string())
            })
        {
            let udi = udi.to_string();
            let reason = if self.state.trust.contains_key(&udi) {
                "A trust code is already installed; enter the command again with the force keyword to overwrite it"
            } else {
                "A factory-installed trust code is already installed; enter the command again with the force keyword to overwrite it"
            };
            let line = self.log(Message::TrustCodeInstallFailed { udi: &udi, reason });
            return Err(DeviceError::Refused(line));
        }
        Ok(Conversation {
            kind: Talk::Trust { token: token.to_owned(), units, force },
            stage: Stage::Start,
            scheduled: self.now,
            polled: false,
            lines: Vec::new(),
            last_return: None,
        })
    }

    /// The next message of `conversation`, prepared from the device as it is now (the device
    /// may have changed since the last step), or `None` when the conversation is over. Reports
    /// a usage message carries are closed here, in the device, before they are sent: save the
    /// device before sending, so what the peer receives is never lost or signed twice.
    pub fn next_exchange(
        &mut self,
        conversation: &mut Conversation,
    ) -> Result<Option<Exchange>, DeviceError> {
        loop {
            let stage = conversation.stage;
            if stage == Stage::Done {
                return Ok(None);
            }
            let proxy = self.proxy();
            let exchange = |url: String, request: Request, sent: Sent| {
                Some(Exchange { url, request, proxy: proxy.clone(), sent })
            };
            if let Talk::Trust { token, units, force } = &conversation.kind {
                conversation.stage = Stage::Done;
                let url = self.push_url().unwrap_or_default();
                let doc = self.trust_document(units);
                let request = self.request(
                    MessageType::TrustRequest,
                    Data {
                        smart_license: Some(doc.to_xml()),
                        id_token: Some(token.clone()),
                        force: *force,
                        ..Data::default()
                    },
                );
                return Ok(exchange(url, request, Sent::Trust));
            }
            // The configuration may have changed since the conversation began.
            let Some(url) = self.push_url() else {
                conversation.stage = Stage::Done;
                return Ok(None);
            };
            let manual = matches!(conversation.kind, Talk::Sync { manual: true });
            match stage {
                // The answer awaited from an earlier push first: a sync asks for it now, the
                // scheduler when the poll is due. The conversation goes on after it.
                Stage::Start => {
                    conversation.stage = Stage::AuthReturn;
                    if let Some(poll) = self.state.pending_poll.clone()
                        && (manual || poll.poll_after <= self.now)
                    {
                        conversation.polled = true;
                        let request = self.request(
                            MessageType::Poll,
                            Data { poll_id: Some(poll.poll_id.clone()), ..Data::default() },
                        );
                        return Ok(exchange(poll.url.clone(), request, Sent::Poll));
                    }
                }
                // A pending SLAC request goes after the returns (the keys they free are in the
                // pool again, and a code the request replaces is not returned twice); its answer
                // installs the authorization codes. A refusal (say, no license left in the pool)
                // is shown and the request dropped, so that it cannot hold up usage reporting.
                Stage::AuthRequest => {
                    conversation.stage = Stage::Usage;
                    if let Some(doc) = self.authorization_request_document()? {
                        let request = self.request(
                            MessageType::AuthRequest,
                            Data { smart_license: Some(doc.to_xml()), ..Data::default() },
                        );
                        let pending = self.state.pending_auth_request.clone();
                        return Ok(exchange(url, request, Sent::AuthRequest(pending)));
                    }
                }
                // Queued SLAC returns go first, oldest first, one message each; every answer
                // takes its return off the queue.
                Stage::AuthReturn => {
                    let next = self.state.pending_auth_return.first().cloned();
                    match next {
                        Some(doc) if conversation.last_return.as_ref() != Some(&doc) => {
                            conversation.last_return = Some(doc.clone());
                            let request = self.request(
                                MessageType::AuthReturn,
                                Data { smart_license: Some(doc.clone()), ..Data::default() },
                            );
                            return Ok(exchange(url, request, Sent::AuthReturn(doc)));
                        }
                        _ => conversation.stage = Stage::AuthRequest,
                    }
                }
                // Usage: on a sync, current usage, or, when the sync asked for the answer to an
                // earlier push, what no push has carried yet; on a scheduled contact, when
                // `Next report push` has come, as it may have after the poll's answer (an ACK
                // installed just now), or when it is the retry of a failed exchange.
                Stage::Usage => {
                    conversation.stage = Stage::Done;
                    let due = if manual {
                        !conversation.polled || self.has_unsent_usage()
                    } else {
                        self.next_report_push().is_some_and(|push| push <= self.now)
                            || self.state.comm.next_retry.is_some_and(|retry| retry <= self.now)
                    };
                    if !due {
                        return Ok(None);
                    }
                    let (next, doc, ids) = self.usage_document_for_push()?;
                    self.state.ledger = next;
                    // `usage_document` asks trust for every unit without a trust code.
                    let trust_sync = self
                        .state
                        .units
                        .iter()
                        .any(|u| !self.state.trust.contains_key(&u.udi.to_string()));
                    let request = self.request(
                        MessageType::Usage,
                        Data { smart_license: Some(doc), ..Data::default() },
                    );
                    return Ok(exchange(url, request, Sent::Usage(ids, trust_sync)));
                }
                Stage::Done => return Ok(None),
            }
        }
    }

    /// Applies the peer's answer (or the failure to get one) to the device as it is now.
    pub fn apply_exchange(
        &mut self,
        conversation: &mut Conversation,
        exchange: Exchange,
        reply: Result<Response, CommError>,
    ) -> Result<(), DeviceError> {
        let scheduled = conversation.scheduled;
        let url = exchange.url;
        let outcome = match &reply {
            Ok(reply) => Outcome::Reply(reply.status, reply.message.as_deref()),
            Err(err) => Outcome::NoReply(&err.reason),
        };
        for kind in exchange.sent.kinds() {
            self.state.comm_stats.record(*kind, self.now, outcome);
        }
        let reply = match reply {
            Err(err) => {
                // Nothing more goes out until the retry.
                conversation.stage = Stage::Done;
                let failed = self.comm_failed(scheduled, &err);
                conversation.lines.extend(failed);
                return Ok(());
            }
            Ok(reply) => reply,
        };
        if matches!(exchange.sent, Sent::Trust) && reply.status == Status::Error {
            let reason = reply.message.unwrap_or_else(|| "refused".to_owned());
            let udi = self.state.active().udi.to_string();
            let line = self.log(Message::TrustCodeInstallFailed { udi: &udi, reason: &reason });
            return Err(DeviceError::Refused(line));
        }
        let restored = self.comm_ok();
        conversation.lines.extend(restored);
        let answering_trust_request = matches!(exchange.sent, Sent::Trust);
        let mut sent_ids: Vec<u64> = Vec::new();
        match exchange.sent {
            Sent::Poll | Sent::Trust => {}
            Sent::AuthRequest(pending) => {
                // Unless a new request was entered meanwhile.
                if self.state.pending_auth_request == pending {
                    self.state.pending_auth_request = None;
                }
            }
            // Taken, or refused: a refusal is shown (below) and not sent again, since the same
            // message would be refused again (a return the authority already holds is taken
            // again without error). The unit's last return code stays on the device
            // (`show license authorization`) for the portal.
            Sent::AuthReturn(doc) => {
                self.state.pending_auth_return.retain(|queued| *queued != doc);
            }
            Sent::Usage(ids, _) => {
                if reply.status != Status::Error {
                    self.state.ledger.mark_pending(&ids);
                    self.state.last_push = Some(self.now);
                }
                sent_ids = ids;
            }
        }
        // A forced re-trust installs its answer even when the trust code is unchanged.
        self.answering_trust_request = answering_trust_request;
        let answered = self.answer(reply, &url, &sent_ids);
        self.answering_trust_request = false;
        conversation.lines.extend(answered?);
        Ok(())
    }

    /// Usage no push or file has carried yet: a closed report never sent, or a usage change
    /// (a license starting to count, a reload, an HA event) after the last push.
    fn has_unsent_usage(&self) -> bool {
        let last = self.state.last_push.max(self.state.last_file_write);
        self.state.ledger.reports.values().any(|r| r.state == slp_core::ledger::ReportState::Closed)
            || self.state.pending_changes.iter().any(|(at, _)| last.is_none_or(|last| *at > last))
    }

    fn usage_document_for_push(
        &self,
    ) -> Result<(slp_core::ledger::Ledger, String, Vec<u64>), DeviceError> {
        let (next, doc, ids) = self.usage_document(Selection::All)?;
        Ok((next, doc.to_xml(), ids))
    }

    fn answer(
        &mut self,
        reply: Response,
        url: &str,
        _sent: &[u64],
    ) -> Result<Vec<String>, DeviceError> {
        let mut lines = Vec::new();
        match reply.status {
            Status::Ok => {
                self.state.pending_poll = None;
                // An answer with nothing in it (a SLAC return's) installs nothing and is no
                // failure.
                let answer = reply.smart_license.filter(|text| {
                    slp_wire::xml::Document::parse(text)
                        .map_or(true, |doc| !doc.reports.is_empty() || !doc.items.is_empty())
                });
                if let Some(answer) = answer {
                    match self.import_text(&answer, url) {
                        Ok(more) => lines.extend(more),
                        Err(err) => lines.push(err.to_string()),
                    }
                }
            }
            Status::OkPoll => {
                let poll_id = reply.poll_id.unwrap_or_default();
                // The peer's word, kept to 1 s … 1 day: a huge interval must neither overflow
                // the clock arithmetic nor park the poll for years.
                let interval =
                    i64::try_from(reply.poll_interval.unwrap_or(300).clamp(1, MAX_POLL_SECS))
                        .unwrap_or(300);
                let since = self.state.pending_poll.as_ref().map_or(self.now, |p| p.since);
                self.state.pending_poll = Some(PendingPoll {
                    poll_id,
                    url: url.to_owned(),
                    since,
                    poll_after: self.now + chrono::Duration::seconds(interval),
                });
            }
            Status::NoData => {
                if let Some(poll) = self.state.pending_poll.as_mut() {
                    poll.poll_after = self.now + chrono::Duration::minutes(15);
                }
            }
            Status::Error => {
                let message = reply.message.unwrap_or_else(|| "no reason given".to_owned());
                // A refused message will be refused again: forget the poll and say why.
                self.state.pending_poll = None;
                lines.push(format!("% Error: {} refused the message: {message}", self.peer_name()));
                self.state.events.push(crate::state::LoggedEvent {
                    at: self.now,
                    text: format!(
                        "SAEVT_COMM_REFUSED peer=\"{}\" reason=\"{message}\"",
                        self.peer_name()
                    ),
                });
            }
        }
        Ok(lines)
    }

    fn comm_failed(&mut self, scheduled: Timestamp, err: &CommError) -> Vec<String> {
        let peer = self.peer_name();
        // A CSLU or SSM On-Prem that has no reporting endpoint for this mode is down rev: the
        // device keeps its reports (and tries again on the retry schedule).
        let line = if err.unsupported && self.state.running.transport == Transport::Cslu {
            self.log(Message::ReportingNotSupported)
        } else {
            self.log(Message::CommFailed { peer, reason: &err.reason })
        };
        let comm = &mut self.state.comm;
        comm.scheduled = Some(scheduled);
        comm.failing_since.get_or_insert(self.now);
        comm.next_retry = Some(deadline::next_retry(scheduled, self.now));
        comm.last_error = Some(err.reason.clone());
        vec![line]
    }

    fn comm_ok(&mut self) -> Vec<String> {
        let was_failing = self.state.comm.failing_since.is_some();
        self.state.comm = CommState::default();
        if was_failing {
            let peer = self.peer_name();
            vec![self.log(Message::CommRestored { peer })]
        } else {
            Vec::new()
        }
    }
}

/// Longest wait before polling that a peer's `poll_interval` can ask for: one day.
const MAX_POLL_SECS: u64 = 86_400;

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::DateTime;

    use super::*;
    use crate::agent::InitOptions;
    use crate::state::StateDir;

    fn at(s: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    /// Replies from a script; records what it was sent.
    struct Scripted {
        replies: Mutex<Vec<Result<Response, CommError>>>,
        sent: Mutex<Vec<Request>>,
    }

    impl Uplink for Scripted {
        fn send(&self, _url: &str, request: &Request) -> Result<Response, CommError> {
            self.sent.lock().unwrap().push(request.clone());
            self.replies.lock().unwrap().remove(0)
        }
    }

    fn device(dir: &tempfile::TempDir) -> Device {
        let options = InitOptions {
            pid: "C9300-24UX".to_owned(),
            sn: "FOC1".to_owned(),
            hostname: "sw1".to_owned(),
            version: "17.9.4".to_owned(),
            standby: vec![],
            members: vec![],
            boot_level: "network-advantage".to_owned(),
            factory_trust: false,
            authority_key: None,
        };
        Device::init(StateDir::new(dir.path()), &options, at("2026-01-01T00:00:00Z")).unwrap()
    }

    /// Every exchange is counted in the saved state; a state file of an earlier release, which
    /// has no counters, loads with all of them at zero.
    #[test]
    fn exchanges_are_counted_and_older_state_files_load_without_counters() {
        use crate::agent::stats::ExchangeKind;
        let dir = tempfile::tempdir().unwrap();
        let mut dev = device(&dir);
        dev.state.running.transport = Transport::Smart;
        let uplink = Scripted {
            replies: Mutex::new(vec![Err(CommError::new("connection refused"))]),
            sent: Mutex::new(Vec::new()),
        };
        dev.sync(&uplink).unwrap();
        dev.save().unwrap();
        let usage = dev.state.comm_stats.get(ExchangeKind::UsageReporting);
        assert_eq!((usage.success, usage.fail, usage.ongoing, usage.ongoing_comm), (0, 1, 1, 1));
        // No trust code yet: trust requests rode on the report.
        assert_eq!(dev.state.comm_stats.get(ExchangeKind::TrustSync).fail, 1);
        let file = StateDir::new(dir.path()).state_file();
        let saved = std::fs::read_to_string(&file).unwrap();
        assert_eq!(StateDir::new(dir.path()).load().unwrap().comm_stats, dev.state.comm_stats);

        let mut old: serde_json::Value = serde_json::from_str(&saved).unwrap();
        old.as_object_mut().unwrap().remove("comm_stats").unwrap();
        std::fs::write(&file, old.to_string()).unwrap();
        let loaded = StateDir::new(dir.path()).load().unwrap();
        assert_eq!(loaded.comm_stats, crate::agent::stats::CommStats::default());
    }

    #[test]
    fn failures_are_logged_retried_on_schedule_and_restored() {
        let dir = tempfile::tempdir().unwrap();
        let mut dev = device(&dir);
        let down = || Err(CommError::new("Unable to connect to the server"));
        let uplink = Scripted {
            replies: Mutex::new(vec![
                down(),
                down(),
                Ok(Response::poll("9".to_owned(), 300)),
                Ok(Response::no_data()),
            ]),
            sent: Mutex::new(Vec::new()),
        };
        dev.now = at("2026-01-01T00:02:00Z");
        let lines = dev.sync(&uplink).unwrap();
        assert_eq!(
            lines,
            vec![
                "%SMART_LIC-3-COMM_FAILED: Communications failure with the Cisco Smart License Utility (CSLU) : Unable to connect to the server"
            ]
        );
        assert_eq!(dev.state.comm.next_retry, Some(at("2026-01-01T00:07:00Z")));
        assert_eq!(
            dev.next_contact(),
            Some(at("2026-01-01T00:07:00Z")),
            "the retry schedule governs, not the overdue push"
        );
        // Past the four-hour window: every 15 minutes.
        dev.now = at("2026-01-01T05:00:00Z");
        dev.sync(&uplink).unwrap();
        assert_eq!(dev.state.comm.next_retry, Some(at("2026-01-01T05:15:00Z")));
        assert!(
            dev.state
                .ledger
                .reports
                .values()
                .all(|r| r.state != slp_core::ledger::ReportState::Pending),
            "nothing counts as sent"
        );

        dev.now = at("2026-01-01T05:15:00Z");
        let lines = dev.sync(&uplink).unwrap();
        assert_eq!(
            lines,
            vec![
                "%SMART_LIC-3-COMM_RESTORED: Communications with the Cisco Smart License Utility (CSLU) restored."
            ]
        );
        let poll = dev.state.pending_poll.clone().unwrap();
        assert_eq!((poll.poll_id.as_str(), poll.poll_after), ("9", at("2026-01-01T05:20:00Z")));
        assert_eq!(dev.state.last_push, Some(at("2026-01-01T05:15:00Z")));
        let sent = uplink.sent.lock().unwrap().clone();
        assert_eq!(sent[2].header.kind, MessageType::Usage);
        assert!(
            sent[2].data.smart_license.as_deref().unwrap().contains("<smartLicenseTrustRequest>")
        );

        // The scheduler's contact when the poll is due: the poll alone (no push is due).
        dev.now = at("2026-01-01T05:19:00Z");
        assert!(dev.begin_contact().is_none(), "nothing due before the poll");
        dev.now = at("2026-01-01T05:20:00Z");
        let contact = dev.begin_contact().unwrap();
        dev.converse(contact, &uplink).unwrap();
        assert_eq!(uplink.sent.lock().unwrap().len(), 4);
        assert_eq!(uplink.sent.lock().unwrap()[3].header.kind, MessageType::Poll);
        assert_eq!(dev.state.pending_poll.as_ref().unwrap().poll_after, at("2026-01-01T05:35:00Z"));
        assert_eq!(dev.next_ack_push_check(), Some(at("2026-01-01T05:35:00Z")));
    }

    #[test]
    fn the_retry_of_a_failed_sync_sends_its_report_though_no_push_is_due() {
        let dir = tempfile::tempdir().unwrap();
        let mut dev = device(&dir);
        let uplink = Scripted {
            replies: Mutex::new(vec![
                Ok(Response::ok(None)),
                Err(CommError::new("Unable to connect to the server")),
                Ok(Response::ok(None)),
            ]),
            sent: Mutex::new(Vec::new()),
        };
        dev.now = at("2026-01-01T00:02:00Z");
        dev.sync(&uplink).unwrap();
        // A day later, nothing is due (the next push is 30 days out), but the user syncs.
        dev.now = at("2026-01-02T00:02:00Z");
        assert!(dev.begin_contact().is_none());
        dev.sync(&uplink).unwrap();
        assert_eq!(dev.next_contact(), Some(at("2026-01-02T00:07:00Z")));
        dev.now = at("2026-01-02T00:07:00Z");
        let contact = dev.begin_contact().unwrap();
        let lines = dev.converse(contact, &uplink).unwrap();
        assert_eq!(
            lines,
            vec![
                "%SMART_LIC-3-COMM_RESTORED: Communications with the Cisco Smart License Utility (CSLU) restored."
            ]
        );
        let sent = uplink.sent.lock().unwrap();
        assert_eq!(sent.len(), 3);
        assert_eq!(sent[2].header.kind, MessageType::Usage);
        assert_eq!(dev.state.last_push, Some(at("2026-01-02T00:07:00Z")));
        assert_eq!(dev.next_contact(), Some(at("2026-02-01T00:07:00Z")));
    }

    #[test]
    fn an_absurd_poll_interval_from_the_peer_is_kept_to_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let mut dev = device(&dir);
        let uplink = Scripted {
            replies: Mutex::new(vec![Ok(Response::poll("9".to_owned(), u64::MAX))]),
            sent: Mutex::new(Vec::new()),
        };
        dev.now = at("2026-01-01T00:02:00Z");
        dev.sync(&uplink).unwrap();
        let poll = dev.state.pending_poll.clone().unwrap();
        assert_eq!(poll.poll_after, at("2026-01-02T00:02:00Z"));
    }

    #[test]
    fn id_token_trust_needs_smart_transport_and_force_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let mut dev = device(&dir);
        let refused = || Ok(Response::error("ID token expired"));
        let uplink = Scripted { replies: Mutex::new(vec![refused()]), sent: Mutex::new(vec![]) };
        let err = dev.trust_idtoken(&uplink, "tok", false, false).unwrap_err().to_string();
        assert!(err.contains("license smart transport smart"), "{err}");
        dev.state.running.transport = Transport::Smart;
        let err = dev.trust_idtoken(&uplink, "tok", false, false).unwrap_err().to_string();
        assert_eq!(
            err,
            "%SMART_LIC-3-TRUST_CODE_INSTALL_FAILED: The install of a new licensing trust code has failed on PID:C9300-24UX,SN:FOC1: ID token expired."
        );
        let sent = uplink.sent.lock().unwrap()[0].clone();
        assert_eq!(sent.header.kind, MessageType::TrustRequest);
        assert_eq!(sent.data.id_token.as_deref(), Some("tok"));
        assert!(sent.data.smart_license.unwrap().contains("<smartLicenseTrustRequest>"));

        dev.state.trust.insert(
            "PID:C9300-24UX,SN:FOC1".to_owned(),
            crate::state::TrustInstalled { trust_id: 1, installed_at: dev.now },
        );
        let err = dev.trust_idtoken(&uplink, "tok", false, false).unwrap_err().to_string();
        assert!(err.contains("already installed") && err.contains("force"), "{err}");
    }

    #[test]
    fn an_answer_applies_to_the_device_as_it_is_when_it_arrives() {
        use slp_core::ledger::ReportState;
        let dir = tempfile::tempdir().unwrap();
        let mut dev = device(&dir);
        dev.now = at("2026-01-01T00:02:00Z");
        let mut talk = dev.begin_sync(Vec::new()).unwrap();
        let exchange = dev.next_exchange(&mut talk).unwrap().unwrap();
        assert_eq!(exchange.request.header.kind, MessageType::Usage);
        // The reports it carries are closed (and signed) in the device itself, before sending.
        let sent: Vec<u64> = dev
            .state
            .ledger
            .reports
            .values()
            .filter(|r| r.state == ReportState::Closed)
            .map(|r| r.id)
            .collect();
        assert!(!sent.is_empty());
        // While the message is on the wire, others change the device.
        dev.state.running.hostname = "changed".to_owned();
        let request = crate::state::PendingAuthRequest {
            feature: "hseck9".to_owned(),
            all: false,
            replace: false,
            requested_at: dev.now,
        };
        dev.state.pending_auth_request = Some(request.clone());
        dev.apply_exchange(&mut talk, exchange, Ok(Response::poll("7".to_owned(), 300))).unwrap();
        assert_eq!(dev.state.running.hostname, "changed", "nothing of theirs is lost");
        assert_eq!(
            dev.state.pending_auth_request,
            Some(request),
            "a request entered meanwhile stays"
        );
        for id in &sent {
            assert_eq!(dev.state.ledger.reports[id].state, ReportState::Pending, "{id}");
        }
        assert_eq!(dev.state.pending_poll.as_ref().map(|p| p.poll_id.as_str()), Some("7"));
        assert!(dev.next_exchange(&mut talk).unwrap().is_none(), "the sync is over");
    }

    #[test]
    fn transport_off_refuses_sync() {
        let dir = tempfile::tempdir().unwrap();
        let mut dev = device(&dir);
        dev.state.running.transport = Transport::Off;
        let uplink = Scripted { replies: Mutex::new(vec![]), sent: Mutex::new(vec![]) };
        assert!(dev.sync(&uplink).unwrap_err().to_string().contains("transport type is off"));
        assert_eq!(dev.next_contact(), None);
    }
}
