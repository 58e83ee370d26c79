//! NETCONF (RFC 6241) over SSH (RFC 6242): `<hello>`, base:1.0 end-of-message and base:1.1
//! chunked framing, and the operations on the `cisco-smart-license` model ([`super::yang`]).
//!
//! PLACEHOLDER (ssh helper, issue #19): the yang helper replaces this file wholesale with the
//! NETCONF engine. Until then a session says `<hello>` (base:1.0), answers `<close-session>`
//! with `<ok/>` and every other `<rpc>` with an `operation-not-supported` `<rpc-error>`, so the
//! SSH subsystem's wiring ([`super::ssh`]) is exercised against the agreed signature.

use std::sync::Arc;

use crate::mgmt::Feed;
use crate::service::Shared;

/// The base:1.0 end-of-message marker.
const EOM: &[u8] = b"]]>]]>";

/// The most a client may send without an end-of-message marker.
const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// One NETCONF session on an SSH channel.
pub struct Session {
    session_id: u32,
    buffer: Vec<u8>,
}

impl Session {
    pub(crate) fn new(shared: Arc<Shared>, session_id: u32, user: String) -> Session {
        let _ = (shared, user);
        Session { session_id, buffer: Vec::new() }
    }

    /// The server's `<hello>` (framed base:1.0, `]]>]]>`), sent when the subsystem starts.
    pub fn hello(&self) -> Vec<u8> {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities><session-id>{}</session-id></hello>]]>]]>",
            self.session_id
        )
        .into_bytes()
    }

    /// Bytes from the client (any split: partial frames are buffered).
    pub fn input(&mut self, data: &[u8]) -> Feed {
        self.buffer.extend_from_slice(data);
        let mut feed = Feed::default();
        while let Some(end) = self.buffer.windows(EOM.len()).position(|w| w == EOM) {
            let message: Vec<u8> = self.buffer.drain(..end + EOM.len()).collect();
            let text = String::from_utf8_lossy(&message[..end]);
            let root = root_name(&text);
            if root == "hello" {
                continue;
            }
            let id = message_id(&text);
            let attr = id.map(|id| format!(" message-id=\"{id}\"")).unwrap_or_default();
            let body = if root == "rpc" && text.contains("close-session") {
                feed.close = true;
                "<ok/>".to_owned()
            } else {
                "<rpc-error><error-type>protocol</error-type><error-tag>operation-not-supported</error-tag><error-severity>error</error-severity></rpc-error>".to_owned()
            };
            feed.out.extend_from_slice(
                format!("<rpc-reply xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"{attr}>{body}</rpc-reply>]]>]]>")
                    .as_bytes(),
            );
            if feed.close {
                return feed;
            }
        }
        if self.buffer.len() > MAX_MESSAGE {
            self.buffer.clear();
            feed.close = true;
        }
        feed
    }
}

/// The `message-id` attribute of an `<rpc>`, if any.
fn message_id(text: &str) -> Option<&str> {
    let start = text.find("message-id=")? + "message-id=".len();
    let quote = text[start..].chars().next()?;
    let rest = &text[start + quote.len_utf8()..];
    Some(&rest[..rest.find(quote)?])
}

/// The local name of a message's root element (`nc:rpc` → `rpc`).
fn root_name(text: &str) -> &str {
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        if rest.starts_with('?') || rest.starts_with('!') {
            continue;
        }
        let end =
            rest.find(|c: char| c.is_whitespace() || c == '>' || c == '/').unwrap_or(rest.len());
        let name = &rest[..end];
        return name.rsplit(':').next().unwrap_or(name);
    }
    ""
}
