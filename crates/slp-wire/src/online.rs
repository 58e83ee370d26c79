//! Device-initiated messages over HTTP: the push protocol of the relay (`/cslu/v1/pi`,
//! `/cslu/v1/pi/<tenant>` on-prem, port 8182) and of smart transport directly to the authority
//! (`/licservice/license`). The public record has no body for these (PROTOCOL.md §5.1, GAP); this
//! is slp's decision:
//!
//! - One JSON envelope for every message kind, `{header, data}`. The payload is the *same*
//!   `<smartLicense>` document a device writes to a file (`license smart save usage …`,
//!   `… authorization request save …`): signed system information, signed RUM reports, signed
//!   trust and authorization requests. Nothing new to sign, nothing new to verify, and a relay can
//!   keep a pushed document byte for byte to export it later.
//! - The reply carries the status words of the CSSM API (`OK`, `OK_POLL`, `NO_DATA`, `ERROR`) and,
//!   when an answer is ready, the ACK document — again the same document the file flow imports.
//! - Re-sending is harmless: receivers are idempotent on (UDI, report id), and a poll for an
//!   answer already delivered returns it again.

use serde::{Deserialize, Serialize};

use crate::rum::Sudi;
use crate::{Result, WireError};

/// The relay's push path (CSLU default port 8182).
pub const CSLU_PATH: &str = "/cslu/v1/pi";
/// The authority's smart-transport path (as in `https://smartreceiver.cisco.com/licservice/license`).
pub const SMART_PATH: &str = "/licservice/license";
/// The only version of this envelope.
pub const VERSION: &str = "1";

/// What a device message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    /// RUM reports (and any trust requests riding along); the answer is an ACK.
    Usage,
    /// Trust establishment with an ID token (smart transport only).
    TrustRequest,
    /// A SLAC request; the answer holds authorization codes.
    AuthRequest,
    /// A SLAC return.
    AuthReturn,
    /// "Is my answer ready?" for an earlier `OK_POLL`.
    Poll,
    /// Liveness check; nothing is stored.
    Hello,
}

/// Who sends, what and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    #[serde(rename = "type")]
    pub kind: MessageType,
    pub version: String,
    pub nonce: String,
    /// Epoch milliseconds.
    pub timestamp: i64,
    pub udi: Sudi,
}

/// The body of a device message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Data {
    /// A `<smartLicense>` document (usage, trust request, auth request or return).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smart_license: Option<String>,
    /// The poll id of an earlier `OK_POLL` (type `poll`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_id: Option<String>,
    /// The ID token (type `trust_request`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Overwrite an installed trust code (`license smart trust idtoken … force`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
}

/// A device message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub header: Header,
    pub data: Data,
}

/// Reply status words (CSSM API and device message-response words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Done; `data.smart_license` holds the answer if there is one.
    #[serde(rename = "OK")]
    Ok,
    /// Accepted; poll with `poll_id` later (the relay is forwarding, or is disconnected).
    #[serde(rename = "OK_POLL")]
    OkPoll,
    /// Nothing to answer (a poll whose answer is not ready, a hello).
    #[serde(rename = "NO_DATA")]
    NoData,
    /// Refused; `message` says why. Not retried: the same message would fail again.
    #[serde(rename = "ERROR")]
    Error,
}

/// The reply to a device message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_id: Option<String>,
    /// Seconds until a poll is worth it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smart_license: Option<String>,
}

impl Response {
    pub fn ok(answer: Option<String>) -> Response {
        Response {
            status: Status::Ok,
            poll_id: None,
            poll_interval: None,
            message: None,
            smart_license: answer,
        }
    }

    pub fn poll(poll_id: String, interval_secs: u64) -> Response {
        Response {
            status: Status::OkPoll,
            poll_id: Some(poll_id),
            poll_interval: Some(interval_secs),
            message: None,
            smart_license: None,
        }
    }

    pub fn no_data() -> Response {
        Response {
            status: Status::NoData,
            poll_id: None,
            poll_interval: None,
            message: None,
            smart_license: None,
        }
    }

    pub fn error(message: impl Into<String>) -> Response {
        Response {
            status: Status::Error,
            poll_id: None,
            poll_interval: None,
            message: Some(message.into()),
            smart_license: None,
        }
    }
}

impl Request {
    /// Reads a request, checking the version.
    pub fn parse(body: &[u8]) -> Result<Request> {
        let request: Request = serde_json::from_slice(body).map_err(|err| WireError::Json {
            what: "device message".to_owned(),
            reason: err.to_string(),
        })?;
        if request.header.version != VERSION {
            return Err(WireError::Json {
                what: "device message".to_owned(),
                reason: format!(
                    "header.version {:?} is not supported (expected {VERSION:?})",
                    request.header.version
                ),
            });
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_with_cisco_status_words() {
        let request = Request {
            header: Header {
                kind: MessageType::Usage,
                version: VERSION.to_owned(),
                nonce: "n1".to_owned(),
                timestamp: 1,
                udi: Sudi {
                    udi_pid: "C9300-24UX".to_owned(),
                    udi_serial_number: "FOC1".to_owned(),
                },
            },
            data: Data { smart_license: Some("<smartLicense/>".to_owned()), ..Data::default() },
        };
        let text = serde_json::to_string(&request).unwrap();
        assert!(text.contains(r#""type":"usage""#), "{text}");
        assert_eq!(Request::parse(text.as_bytes()).unwrap(), request);
        let reply = serde_json::to_string(&Response::poll("7".to_owned(), 300)).unwrap();
        assert_eq!(reply, r#"{"status":"OK_POLL","poll_id":"7","poll_interval":300}"#);
        let err = Request::parse(text.replace(r#""version":"1""#, r#""version":"9""#).as_bytes())
            .unwrap_err();
        assert!(err.to_string().contains("header.version \"9\""), "{err}");
        assert!(Request::parse(b"{}").unwrap_err().to_string().contains("device message"));
    }
}
