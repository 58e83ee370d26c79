//! The agent's communication statistics: every exchange the device makes with its peer,
//! counted per kind as `show license tech support` lists them under `Communication
//! Statistics:` (attempts, successes, failures, the ongoing run of failures, the last response
//! and the times of the last success and failure).
//!
//! The kinds and their order are the Smart Agent's (genieparser's ShowLicenseTechSupport golden
//! outputs of 17.x Catalyst switches; the guide's `Authorization Confirmation:` example). slp
//! counts the exchanges its protocol really makes: `Trust Establishment` (an ID-token trust
//! request), `Usage Reporting`, `Result Polling` (the poll after `OK_POLL`), `Authorization
//! Request`, `Authorization Return`, and `Trust Sync` (trust requests for units without a trust
//! code, riding on a usage message). `Trust Acknowledgement`, `Authorization Confirmation` (the
//! confirmation code rides on the next authorization request in slp's protocol) and `Hello
//! Message` are exchanges slp does not make: they stay at zero.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use slp_core::Timestamp;
use slp_wire::online::Status;

/// One kind of exchange, in the order tech support lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeKind {
    TrustEstablishment,
    TrustAcknowledgement,
    UsageReporting,
    ResultPolling,
    AuthorizationRequest,
    AuthorizationConfirmation,
    AuthorizationReturn,
    TrustSync,
    Hello,
}

impl ExchangeKind {
    pub const ALL: [ExchangeKind; 9] = [
        ExchangeKind::TrustEstablishment,
        ExchangeKind::TrustAcknowledgement,
        ExchangeKind::UsageReporting,
        ExchangeKind::ResultPolling,
        ExchangeKind::AuthorizationRequest,
        ExchangeKind::AuthorizationConfirmation,
        ExchangeKind::AuthorizationReturn,
        ExchangeKind::TrustSync,
        ExchangeKind::Hello,
    ];

    /// The heading in tech support (`Trust Establishment:`).
    pub fn label(self) -> &'static str {
        match self {
            ExchangeKind::TrustEstablishment => "Trust Establishment",
            ExchangeKind::TrustAcknowledgement => "Trust Acknowledgement",
            ExchangeKind::UsageReporting => "Usage Reporting",
            ExchangeKind::ResultPolling => "Result Polling",
            ExchangeKind::AuthorizationRequest => "Authorization Request",
            ExchangeKind::AuthorizationConfirmation => "Authorization Confirmation",
            ExchangeKind::AuthorizationReturn => "Authorization Return",
            ExchangeKind::TrustSync => "Trust Sync",
            ExchangeKind::Hello => "Hello Message",
        }
    }
}

/// The counters of one kind of exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeStats {
    pub success: u32,
    pub fail: u32,
    /// Failures in a row since the last success (`Ongoing Failure: Overall=`).
    pub ongoing: u32,
    /// Of those, the ones that got no reply at all (`Communication=`).
    pub ongoing_comm: u32,
    /// The last response's word (`OK`, `OK_POLL`, `NO REPLY`, …) and when it came, if the
    /// agent prints a time with it.
    pub response: Option<(String, Option<Timestamp>)>,
    pub failure_reason: Option<String>,
    pub last_success: Option<Timestamp>,
    pub last_failure: Option<Timestamp>,
}

/// What became of one exchange.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// The peer answered with this status (`ERROR` answers carry their reason).
    Reply(Status, Option<&'a str>),
    /// No answer: the peer could not be reached (the reason).
    NoReply(&'a str),
}

/// Every kind's counters, kept in the device state (older state files have none: all zero).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommStats(BTreeMap<ExchangeKind, ExchangeStats>);

impl CommStats {
    /// The counters of `kind` (zero if it never happened).
    pub fn get(&self, kind: ExchangeKind) -> ExchangeStats {
        self.0.get(&kind).cloned().unwrap_or_default()
    }

    /// Counts one exchange of `kind` at `now`.
    pub fn record(&mut self, kind: ExchangeKind, now: Timestamp, outcome: Outcome<'_>) {
        let stats = self.0.entry(kind).or_default();
        let word = |w: &str, at: Option<Timestamp>| Some((w.to_owned(), at));
        match outcome {
            Outcome::Reply(Status::Error, reason) => {
                // The guide and the captures are silent on the word for an answer that refuses
                // the message; slp prints `ERROR`, the status the peer sent, with the reason.
                stats.fail += 1;
                stats.ongoing += 1;
                stats.response = word("ERROR", Some(now));
                stats.failure_reason = Some(reason.unwrap_or("refused").to_owned());
                stats.last_failure = Some(now);
            }
            Outcome::Reply(status, _) => {
                stats.success += 1;
                stats.ongoing = 0;
                stats.ongoing_comm = 0;
                stats.failure_reason = None;
                match status {
                    // Real captures print `NO DATA TO PROCESS` without a time, and leave the
                    // last success time alone.
                    Status::NoData => stats.response = word("NO DATA TO PROCESS", None),
                    Status::OkPoll => {
                        stats.response = word("OK_POLL", Some(now));
                        stats.last_success = Some(now);
                    }
                    _ => {
                        stats.response = word("OK", Some(now));
                        stats.last_success = Some(now);
                    }
                }
            }
            Outcome::NoReply(reason) => {
                stats.fail += 1;
                stats.ongoing += 1;
                stats.ongoing_comm += 1;
                stats.response = word("NO REPLY", Some(now));
                stats.failure_reason = Some(reason.to_owned());
                stats.last_failure = Some(now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn failures_run_until_a_success_and_no_data_keeps_the_success_time() {
        let mut stats = CommStats::default();
        let k = ExchangeKind::ResultPolling;
        stats.record(k, at("2026-01-01T00:00:00Z"), Outcome::Reply(Status::Ok, None));
        stats.record(k, at("2026-01-02T00:00:00Z"), Outcome::NoReply("refused"));
        stats.record(k, at("2026-01-03T00:00:00Z"), Outcome::Reply(Status::Error, Some("no")));
        let s = stats.get(k);
        assert_eq!((s.success, s.fail, s.ongoing, s.ongoing_comm), (1, 2, 2, 1));
        assert_eq!(s.failure_reason.as_deref(), Some("no"));
        stats.record(k, at("2026-01-04T00:00:00Z"), Outcome::Reply(Status::NoData, None));
        let s = stats.get(k);
        assert_eq!((s.success, s.fail, s.ongoing, s.ongoing_comm), (2, 2, 0, 0));
        assert_eq!(s.last_success, Some(at("2026-01-01T00:00:00Z")));
        assert_eq!(s.response, Some(("NO DATA TO PROCESS".to_owned(), None)));
        assert_eq!(stats.get(ExchangeKind::Hello), ExchangeStats::default());
    }
}
