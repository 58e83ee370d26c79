//! NETCONF (RFC 6241) over SSH (RFC 6242): `<hello>`, base:1.0 end-of-message and base:1.1
//! chunked framing, and the operations on the `cisco-smart-license` model ([`super::yang`]).
//!
//! A [`Session`] is sans-IO: the SSH channel hands it the client's bytes in any split and
//! writes back what it returns. Edits and RPCs become the CLI lines a user would type, run
//! through the running device ([`Shared::run_line`]) like any terminal's.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use super::Feed;
use super::yang::edit::{BASE_NS, Op};
use super::yang::xml::{self, Element};
use super::yang::{self, NAMESPACE, Tree, YangError};
use crate::commands::Mode;
use crate::service::{ExecOutput, Shared, Terminal};

/// The largest message (and chunk) a session takes.
pub const MAX_MESSAGE: usize = 1024 * 1024;
const EOM: &[u8] = b"]]>]]>";
const BASE_1_0: &str = "urn:ietf:params:netconf:base:1.0";
const BASE_1_1: &str = "urn:ietf:params:netconf:base:1.1";
/// Cisco's `save-config` RPC (ncclient's iosxe `save_config`).
const CISCO_IA: &str = "http://cisco.com/yang/cisco-ia";
/// RFC 6022's `<get-schema>` (YANG Suite and ncclient's `get_schema` fetch models with it).
const MONITORING: &str = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring";

/// The capabilities the server advertises.
pub fn capabilities() -> Vec<String> {
    vec![
        BASE_1_0.to_owned(),
        BASE_1_1.to_owned(),
        "urn:ietf:params:netconf:capability:writable-running:1.0".to_owned(),
        "urn:ietf:params:netconf:capability:validate:1.1".to_owned(),
        "urn:ietf:params:netconf:capability:xpath:1.0".to_owned(),
        format!("{NAMESPACE}?module={}&revision={}", yang::MODULE, yang::REVISION),
        format!("{CISCO_IA}?module=cisco-ia"),
        format!("{MONITORING}?module=ietf-netconf-monitoring&revision=2010-10-04"),
    ]
}

/// The device's NETCONF sessions: who holds the lock of `running`, which sessions are live
/// and which were killed (`<kill-session>`).
#[derive(Debug, Default)]
pub struct Registry {
    inner: Mutex<RegistryInner>,
}

#[derive(Debug, Default)]
struct RegistryInner {
    lock_holder: Option<u32>,
    live: BTreeSet<u32>,
    killed: BTreeSet<u32>,
}

impl Registry {
    fn with<T>(&self, f: impl FnOnce(&mut RegistryInner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The session holding the lock of `running`.
    pub fn lock_holder(&self) -> Option<u32> {
        self.with(|r| r.lock_holder)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// base:1.0, `]]>]]>` after each message.
    EndOfMessage,
    /// base:1.1, RFC 6242 §4.2.
    Chunked,
}

/// Why the byte stream cannot be read on: the session ends after the error is sent.
#[derive(Debug)]
enum FrameError {
    Malformed(String),
    TooBig(usize),
}

/// One NETCONF session.
pub struct Session {
    shared: Arc<Shared>,
    id: u32,
    user: String,
    buf: Vec<u8>,
    framing: Framing,
    hello_done: bool,
    closed: bool,
}

/// An `<rpc-error>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    pub error_type: &'static str,
    pub tag: &'static str,
    pub path: Option<String>,
    pub message: String,
    pub info: Vec<(&'static str, String)>,
}

impl RpcError {
    fn new(error_type: &'static str, tag: &'static str, message: impl Into<String>) -> RpcError {
        RpcError { error_type, tag, path: None, message: message.into(), info: Vec::new() }
    }

    fn info(mut self, name: &'static str, value: impl Into<String>) -> RpcError {
        self.info.push((name, value.into()));
        self
    }

    fn xml(&self) -> String {
        let mut out = String::from("<rpc-error>");
        out.push_str(&format!("<error-type>{}</error-type>", self.error_type));
        out.push_str(&format!("<error-tag>{}</error-tag>", self.tag));
        out.push_str("<error-severity>error</error-severity>");
        if let Some(path) = &self.path {
            let prefixed: Vec<String> =
                path.split('/').filter(|s| !s.is_empty()).map(|s| format!("csl:{s}")).collect();
            out.push_str(&format!(
                "<error-path xmlns:csl=\"{NAMESPACE}\">/{}</error-path>",
                xml::escape(&prefixed.join("/"))
            ));
        }
        out.push_str(&format!(
            "<error-message xml:lang=\"en\">{}</error-message>",
            xml::escape(&self.message)
        ));
        if !self.info.is_empty() {
            out.push_str("<error-info>");
            for (name, value) in &self.info {
                out.push_str(&format!("<{name}>{}</{name}>", xml::escape(value)));
            }
            out.push_str("</error-info>");
        }
        out.push_str("</rpc-error>");
        out
    }
}

impl From<YangError> for RpcError {
    fn from(err: YangError) -> RpcError {
        let mut error = RpcError::new(err.error_type(), err.error_tag(), err.to_string());
        error.path = err.path().map(str::to_owned);
        if let Some(element) = err.bad_element() {
            error = error.info("bad-element", element);
        }
        if let YangError::BadOperation { .. } = err {
            error = error.info("bad-attribute", "operation");
        }
        if let YangError::UnknownNamespace { ns, .. } = &err {
            error = error.info("bad-namespace", ns.clone());
        }
        error
    }
}

/// What an operation answers inside `<rpc-reply>`.
enum Reply {
    Ok,
    Data(String),
    /// Output leaves straight under `<rpc-reply>` (a model RPC).
    Raw(String),
    Error(RpcError),
}

impl Session {
    pub(crate) fn new(shared: Arc<Shared>, session_id: u32, user: String) -> Session {
        shared.netconf.with(|r| {
            r.live.insert(session_id);
        });
        tracing::info!(netconf.session = session_id, netconf.user = %user, "NETCONF session started");
        Session {
            shared,
            id: session_id,
            user,
            buf: Vec::new(),
            framing: Framing::EndOfMessage,
            hello_done: false,
            closed: false,
        }
    }

    /// The server's `<hello>` (framed base:1.0, `]]>]]>`), sent when the subsystem starts.
    pub fn hello(&self) -> Vec<u8> {
        let mut text = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><capabilities>",
        );
        for capability in capabilities() {
            text.push_str(&format!("<capability>{}</capability>", xml::escape(&capability)));
        }
        text.push_str(&format!("</capabilities><session-id>{}</session-id></hello>", self.id));
        let mut out = text.into_bytes();
        out.extend_from_slice(EOM);
        out
    }

    /// Bytes from the client (any split: partial frames are buffered). Blocking (runs device
    /// commands): call it inside spawn_blocking. `Feed.close` after `<close-session>` or a fatal
    /// framing error.
    pub fn input(&mut self, data: &[u8]) -> Feed {
        let mut feed = Feed::default();
        if self.closed {
            feed.close = true;
            return feed;
        }
        if self.shared.netconf.with(|r| r.killed.contains(&self.id)) {
            tracing::info!(netconf.session = self.id, "NETCONF session was killed");
            self.closed = true;
            feed.close = true;
            return feed;
        }
        self.buf.extend_from_slice(data);
        loop {
            match self.next_message() {
                Ok(None) => break,
                Ok(Some(message)) => {
                    self.handle(&message, &mut feed);
                    if feed.close {
                        self.closed = true;
                        break;
                    }
                }
                Err(err) => {
                    let error = match err {
                        FrameError::Malformed(why) => {
                            RpcError::new("rpc", "malformed-message", format!("bad framing: {why}"))
                        }
                        FrameError::TooBig(size) => RpcError::new(
                            "rpc",
                            "too-big",
                            format!(
                                "a message of {size} bytes or more: the limit is {MAX_MESSAGE}"
                            ),
                        ),
                    };
                    tracing::warn!(netconf.session = self.id, error = %error.message, "NETCONF framing error; closing");
                    let reply = reply_xml(&[], &Reply::Error(error));
                    feed.out.extend(self.frame(&reply));
                    feed.close = true;
                    self.closed = true;
                    self.buf.clear();
                    break;
                }
            }
        }
        feed
    }

    fn frame(&self, text: &str) -> Vec<u8> {
        match self.framing {
            Framing::EndOfMessage => {
                let mut out = text.as_bytes().to_vec();
                out.extend_from_slice(EOM);
                out
            }
            Framing::Chunked => {
                let mut out = format!("\n#{}\n", text.len()).into_bytes();
                out.extend_from_slice(text.as_bytes());
                out.extend_from_slice(b"\n##\n");
                out
            }
        }
    }

    /// The next complete message in the buffer (taken out of it), `None` until one is there.
    fn next_message(&mut self) -> Result<Option<String>, FrameError> {
        let (message, used) = match self.framing {
            Framing::EndOfMessage => match find(&self.buf, EOM) {
                Some(at) => (self.buf[..at].to_vec(), at + EOM.len()),
                None if self.buf.len() > MAX_MESSAGE + EOM.len() => {
                    return Err(FrameError::TooBig(self.buf.len()));
                }
                None => return Ok(None),
            },
            Framing::Chunked => match chunked(&self.buf)? {
                Some(done) => done,
                None => return Ok(None),
            },
        };
        self.buf.drain(..used);
        let text = String::from_utf8(message)
            .map_err(|_| FrameError::Malformed("the message is not UTF-8".into()))?;
        // Whitespace between messages (a newline after `]]>]]>`) is no message.
        if text.trim().is_empty() && self.framing == Framing::EndOfMessage {
            return self.next_message();
        }
        Ok(Some(text))
    }

    fn handle(&mut self, text: &str, feed: &mut Feed) {
        let doc = match xml::parse(text) {
            Ok(doc) => doc,
            Err(err) => {
                if !self.hello_done {
                    tracing::warn!(netconf.session = self.id, error = %err, "bad NETCONF hello; closing");
                    feed.close = true;
                    return;
                }
                let error = RpcError::new("rpc", "malformed-message", err.to_string());
                feed.out.extend(self.frame(&reply_xml(&[], &Reply::Error(error))));
                return;
            }
        };
        if !self.hello_done {
            self.client_hello(&doc, feed);
            return;
        }
        if doc.ns.as_deref() != Some(xml_base()) || doc.name != "rpc" {
            let error = if doc.ns.as_deref() != Some(xml_base()) {
                RpcError::new(
                    "protocol",
                    "unknown-namespace",
                    format!("<{}> is not in the NETCONF base namespace", doc.name),
                )
                .info("bad-element", doc.name.clone())
                .info("bad-namespace", doc.ns.clone().unwrap_or_default())
            } else {
                RpcError::new(
                    "protocol",
                    "unknown-element",
                    format!("expected <rpc>, got <{}>", doc.name),
                )
                .info("bad-element", doc.name.clone())
            };
            feed.out.extend(self.frame(&reply_xml(&[], &Reply::Error(error))));
            return;
        }
        let attrs: Vec<(String, String)> = doc
            .attrs
            .iter()
            .filter(|a| a.ns.is_none() && !a.qname.contains(':'))
            .map(|a| (a.name.clone(), a.value.clone()))
            .collect();
        let reply = if doc.attr("message-id").is_none() {
            Reply::Error(
                RpcError::new("rpc", "missing-attribute", "the <rpc> has no message-id attribute")
                    .info("bad-attribute", "message-id")
                    .info("bad-element", "rpc"),
            )
        } else {
            let elements: Vec<&Element> = doc.children.iter().collect();
            match elements.as_slice() {
                [operation] => self.operation(operation, feed),
                [] => Reply::Error(
                    RpcError::new("protocol", "missing-element", "the <rpc> names no operation")
                        .info("bad-element", "rpc"),
                ),
                [_, second, ..] => Reply::Error(
                    RpcError::new("protocol", "unknown-element", "one operation per <rpc>")
                        .info("bad-element", second.name.clone()),
                ),
            }
        };
        feed.out.extend(self.frame(&reply_xml(&attrs, &reply)));
    }

    fn client_hello(&mut self, doc: &Element, feed: &mut Feed) {
        let fail = |why: &str, feed: &mut Feed| {
            tracing::warn!(netconf.session = self.id, reason = why, "bad NETCONF hello; closing");
            feed.close = true;
        };
        if doc.name != "hello" || doc.ns.as_deref() != Some(xml_base()) {
            return fail("the first message is not a <hello>", feed);
        }
        if doc.child("session-id").is_some() {
            return fail("a client <hello> carries a session-id", feed);
        }
        let caps: Vec<&str> = doc
            .child("capabilities")
            .map(|c| {
                c.children.iter().filter(|e| e.name == "capability").map(Element::trimmed).collect()
            })
            .unwrap_or_default();
        if !caps.iter().any(|c| *c == BASE_1_0 || *c == BASE_1_1) {
            return fail("the client offers neither base:1.0 nor base:1.1", feed);
        }
        self.hello_done = true;
        if caps.contains(&BASE_1_1) {
            self.framing = Framing::Chunked;
        }
        tracing::info!(
            netconf.session = self.id,
            netconf.chunked = self.framing == Framing::Chunked,
            "NETCONF hello exchanged"
        );
    }

    fn operation(&mut self, op: &Element, feed: &mut Feed) -> Reply {
        match op.ns.as_deref() {
            Some(ns) if ns == xml_base() => self.base_operation(op, feed),
            Some(NAMESPACE) => self.model_rpc(op),
            Some(CISCO_IA) if op.name == "save-config" => self.save_config(),
            Some(MONITORING) if op.name == "get-schema" => get_schema(op),
            ns => Reply::Error(
                RpcError::new(
                    "protocol",
                    "unknown-namespace",
                    format!("no operation <{}> in namespace {:?}", op.name, ns.unwrap_or("")),
                )
                .info("bad-element", op.name.clone())
                .info("bad-namespace", ns.unwrap_or("").to_owned()),
            ),
        }
    }

    fn base_operation(&mut self, op: &Element, feed: &mut Feed) -> Reply {
        match op.name.as_str() {
            "get" => self.get(op, false),
            "get-config" => self.get(op, true),
            "edit-config" => self.edit_config(op),
            "lock" => self.lock(op),
            "unlock" => self.unlock(op),
            "close-session" => {
                self.release_lock();
                tracing::info!(netconf.session = self.id, "NETCONF session closed by the client");
                feed.close = true;
                Reply::Ok
            }
            "kill-session" => self.kill_session(op),
            "validate" => self.validate(op),
            "copy-config" | "delete-config" | "commit" | "discard-changes" | "cancel-commit" => {
                Reply::Error(
                    RpcError::new(
                        "protocol",
                        "operation-not-supported",
                        format!(
                            "<{}> is not supported: the device has only the running datastore",
                            op.name
                        ),
                    )
                    .info("bad-element", op.name.clone()),
                )
            }
            _ => Reply::Error(
                RpcError::new(
                    "protocol",
                    "unknown-element",
                    format!("unknown operation <{}>", op.name),
                )
                .info("bad-element", op.name.clone()),
            ),
        }
    }

    /// Checks `<source>`/`<target>` names `<running/>`.
    fn datastore(op: &Element, which: &str) -> Result<(), RpcError> {
        let Some(holder) = op.child(which) else {
            return Err(RpcError::new(
                "protocol",
                "missing-element",
                format!("<{}> needs <{which}>", op.name),
            )
            .info("bad-element", which));
        };
        match holder.children.first() {
            Some(store) if store.name == "running" && holder.children.len() == 1 => Ok(()),
            Some(store) => Err(RpcError::new(
                "protocol",
                "invalid-value",
                format!(
                    "datastore <{}> is not supported: the device has only <running/>",
                    store.name
                ),
            )
            .info("bad-element", store.name.clone())),
            None => Err(RpcError::new(
                "protocol",
                "missing-element",
                format!("<{which}> names no datastore"),
            )
            .info("bad-element", which)),
        }
    }

    fn tree(&self) -> Tree {
        let session = self.shared.lock();
        yang::licensing(&session.device)
    }

    fn get(&self, op: &Element, config_only: bool) -> Reply {
        if config_only && let Err(err) = Self::datastore(op, "source") {
            return Reply::Error(err);
        }
        let mut tree = self.tree();
        if config_only {
            tree = tree.config_only();
        }
        let data = match op.child("filter") {
            None => tree,
            Some(filter) => {
                let chosen = match filter.attr("type").unwrap_or("subtree") {
                    "subtree" => tree.filter(filter).map_err(RpcError::from),
                    "xpath" => {
                        xpath_filter(filter).and_then(|f| tree.filter(&f).map_err(RpcError::from))
                    }
                    other => Err(RpcError::new(
                        "protocol",
                        "bad-attribute",
                        format!("filter type {other:?}: expected subtree or xpath"),
                    )
                    .info("bad-attribute", "type")
                    .info("bad-element", "filter")),
                };
                match chosen {
                    Ok(tree) => tree,
                    Err(err) => return Reply::Error(err),
                }
            }
        };
        Reply::Data(data.to_xml())
    }

    fn edit_config(&mut self, op: &Element) -> Reply {
        if let Err(err) = Self::datastore(op, "target") {
            return Reply::Error(err);
        }
        if let Some(holder) = self.shared.netconf.lock_holder()
            && holder != self.id
        {
            return Reply::Error(
                RpcError::new(
                    "protocol",
                    "in-use",
                    format!("running is locked by session {holder}"),
                )
                .info("session-id", holder.to_string()),
            );
        }
        let default = match op.child("default-operation").map(Element::trimmed) {
            None => Op::Merge,
            Some(word) => match Op::parse(word)
                .filter(|op| matches!(op, Op::Merge | Op::Replace | Op::None))
            {
                Some(op) => op,
                None => {
                    return Reply::Error(
                        RpcError::new(
                            "protocol",
                            "invalid-value",
                            format!("default-operation {word:?}: expected merge, replace or none"),
                        )
                        .info("bad-element", "default-operation"),
                    );
                }
            },
        };
        let test_only = match op.child("test-option").map(Element::trimmed) {
            None | Some("test-then-set") | Some("set") => false,
            Some("test-only") => true,
            Some(other) => {
                return Reply::Error(
                    RpcError::new(
                        "protocol",
                        "invalid-value",
                        format!("test-option {other:?}: expected test-then-set, set or test-only"),
                    )
                    .info("bad-element", "test-option"),
                );
            }
        };
        if let Some(option) = op.child("error-option").map(Element::trimmed)
            && !matches!(option, "stop-on-error" | "continue-on-error" | "rollback-on-error")
        {
            return Reply::Error(
                RpcError::new("protocol", "invalid-value", format!("error-option {option:?}: expected stop-on-error, continue-on-error or rollback-on-error"))
                    .info("bad-element", "error-option"),
            );
        }
        let Some(config) = op.child("config") else {
            let what = if op.child("url").is_some() { "url" } else { "config" };
            return Reply::Error(if what == "url" {
                RpcError::new(
                    "protocol",
                    "operation-not-supported",
                    "<url> is not supported: give <config>",
                )
                .info("bad-element", "url")
            } else {
                RpcError::new("protocol", "missing-element", "<edit-config> needs <config>")
                    .info("bad-element", "config")
            });
        };
        let current = self.tree().config_only();
        let lines = match yang::edit_lines_xml(config, default, Some(&current)) {
            Ok(lines) => lines,
            Err(err) => return Reply::Error(err.into()),
        };
        tracing::info!(netconf.session = self.id, netconf.user = %self.user, lines = ?lines, test_only, "NETCONF edit-config");
        if test_only || lines.is_empty() {
            return Reply::Ok;
        }
        let mut terminal = Terminal::of(Mode::Exec, None);
        let mut run = |line: &str| self.shared.run_line(&mut terminal, line);
        let enter = run("configure terminal");
        let mut failed: Option<ExecOutput> = (!enter.ok).then_some(enter);
        if failed.is_none() {
            for line in &lines {
                let out = run(line);
                if !out.ok {
                    failed = Some(out);
                    break;
                }
            }
        }
        let _ = run("end");
        match failed {
            None => Reply::Ok,
            Some(out) => Reply::Error(RpcError::new(
                "application",
                "operation-failed",
                format!("{}: {}", out.command, out.text.trim()),
            )),
        }
    }

    /// `<validate>` of `<running/>` (always valid) or of a `<config>` payload, checked as
    /// `<edit-config>` would check it, without running anything.
    fn validate(&self, op: &Element) -> Reply {
        let Some(source) = op.child("source") else {
            return Reply::Error(
                RpcError::new("protocol", "missing-element", "<validate> needs <source>")
                    .info("bad-element", "source"),
            );
        };
        if let Some(config) = source.child("config") {
            let current = self.tree().config_only();
            return match yang::edit_lines_xml(config, Op::Merge, Some(&current)) {
                Ok(_) => Reply::Ok,
                Err(err) => Reply::Error(err.into()),
            };
        }
        match Self::datastore(op, "source") {
            Ok(()) => Reply::Ok,
            Err(err) => Reply::Error(err),
        }
    }

    fn lock(&self, op: &Element) -> Reply {
        if let Err(err) = Self::datastore(op, "target") {
            return Reply::Error(err);
        }
        let id = self.id;
        let result = self.shared.netconf.with(|r| match r.lock_holder {
            Some(holder) => Err(holder),
            None => {
                r.lock_holder = Some(id);
                Ok(())
            }
        });
        match result {
            Ok(()) => Reply::Ok,
            Err(holder) => Reply::Error(
                RpcError::new(
                    "protocol",
                    "lock-denied",
                    format!("running is already locked by session {holder}"),
                )
                .info("session-id", holder.to_string()),
            ),
        }
    }

    fn unlock(&self, op: &Element) -> Reply {
        if let Err(err) = Self::datastore(op, "target") {
            return Reply::Error(err);
        }
        let id = self.id;
        let holder = self.shared.netconf.with(|r| {
            let holder = r.lock_holder;
            if holder == Some(id) {
                r.lock_holder = None;
            }
            holder
        });
        match holder {
            Some(holder) if holder == id => Reply::Ok,
            Some(holder) => Reply::Error(
                RpcError::new(
                    "protocol",
                    "operation-failed",
                    format!("running is locked by session {holder}, not this one"),
                )
                .info("session-id", holder.to_string()),
            ),
            None => {
                Reply::Error(RpcError::new("protocol", "operation-failed", "running is not locked"))
            }
        }
    }

    fn release_lock(&self) {
        let id = self.id;
        self.shared.netconf.with(|r| {
            if r.lock_holder == Some(id) {
                r.lock_holder = None;
            }
        });
    }

    fn kill_session(&self, op: &Element) -> Reply {
        let Some(target) = op.child("session-id") else {
            return Reply::Error(
                RpcError::new("protocol", "missing-element", "<kill-session> needs <session-id>")
                    .info("bad-element", "session-id"),
            );
        };
        let Ok(target_id) = target.trimmed().parse::<u32>() else {
            return Reply::Error(
                RpcError::new(
                    "protocol",
                    "invalid-value",
                    format!("session-id {:?} is not a number", target.trimmed()),
                )
                .info("bad-element", "session-id"),
            );
        };
        if target_id == self.id {
            return Reply::Error(
                RpcError::new(
                    "protocol",
                    "invalid-value",
                    "a session cannot kill itself: use <close-session>",
                )
                .info("bad-element", "session-id"),
            );
        }
        let known = self.shared.netconf.with(|r| {
            if !r.live.contains(&target_id) {
                return false;
            }
            r.killed.insert(target_id);
            if r.lock_holder == Some(target_id) {
                r.lock_holder = None;
            }
            true
        });
        if known {
            tracing::info!(
                netconf.session = self.id,
                netconf.killed = target_id,
                "NETCONF session killed"
            );
            Reply::Ok
        } else {
            Reply::Error(
                RpcError::new(
                    "protocol",
                    "invalid-value",
                    format!("no NETCONF session {target_id}"),
                )
                .info("bad-element", "session-id"),
            )
        }
    }

    fn model_rpc(&self, op: &Element) -> Reply {
        let call = match yang::rpc_input_xml(op) {
            Ok(call) => call,
            Err(err) => return Reply::Error(err.into()),
        };
        let lines = yang::rpc_lines(&call);
        tracing::info!(netconf.session = self.id, netconf.user = %self.user, rpc = call.name(), lines = ?lines, "NETCONF RPC");
        let mut terminal = Terminal::of(Mode::Exec, None);
        let mut outputs = Vec::new();
        for line in &lines {
            let out = self.shared.run_line(&mut terminal, line);
            let ok = out.ok;
            outputs.push(out);
            if !ok {
                break;
            }
        }
        Reply::Raw(yang::rpc_output(&call, &outputs).children_xml())
    }

    fn save_config(&self) -> Reply {
        let mut terminal = Terminal::of(Mode::Exec, None);
        let out = self.shared.run_line(&mut terminal, "write memory");
        if out.ok {
            Reply::Raw(format!(
                "<result xmlns=\"{CISCO_IA}\">Save running-config successful</result>"
            ))
        } else {
            Reply::Error(RpcError::new(
                "application",
                "operation-failed",
                out.text.trim().to_owned(),
            ))
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let id = self.id;
        self.shared.netconf.with(|r| {
            r.live.remove(&id);
            r.killed.remove(&id);
            if r.lock_holder == Some(id) {
                r.lock_holder = None;
            }
        });
        tracing::info!(netconf.session = id, "NETCONF session ended");
    }
}

fn xml_base() -> &'static str {
    BASE_NS
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One chunked message at the start of `buf` (RFC 6242 §4.2): its bytes and how much of `buf`
/// it used, `None` while incomplete.
fn chunked(buf: &[u8]) -> Result<Option<(Vec<u8>, usize)>, FrameError> {
    let mut pos = 0;
    let mut message = Vec::new();
    loop {
        let rest = &buf[pos..];
        if rest.len() < 3 {
            // A partial header must still look like one.
            if !b"\n#".starts_with(&rest[..rest.len().min(2)]) {
                return Err(FrameError::Malformed(format!(
                    "a chunk starts with \\n#, not {:?}",
                    String::from_utf8_lossy(rest)
                )));
            }
            return Ok(None);
        }
        if &rest[..2] != b"\n#" {
            return Err(FrameError::Malformed(format!(
                "a chunk starts with \\n#, not {:?}",
                String::from_utf8_lossy(&rest[..rest.len().min(8)])
            )));
        }
        if rest[2] == b'#' {
            match rest.get(3) {
                None => return Ok(None),
                Some(b'\n') if !message.is_empty() => return Ok(Some((message, pos + 4))),
                Some(b'\n') => {
                    return Err(FrameError::Malformed("end of message before any chunk".into()));
                }
                Some(_) => {
                    return Err(FrameError::Malformed("end-of-chunks marker is \\n##\\n".into()));
                }
            }
        }
        let digits: Vec<u8> =
            rest[2..].iter().take_while(|b| b.is_ascii_digit()).copied().collect();
        if digits.len() > 10 {
            return Err(FrameError::Malformed("chunk size has more than 10 digits".into()));
        }
        let Some(&after) = rest.get(2 + digits.len()) else {
            return Ok(None);
        };
        if digits.is_empty() || after != b'\n' || digits[0] == b'0' {
            return Err(FrameError::Malformed(format!(
                "bad chunk size {:?}",
                String::from_utf8_lossy(&rest[2..(3 + digits.len()).min(rest.len())])
            )));
        }
        let size: u64 =
            std::str::from_utf8(&digits).ok().and_then(|d| d.parse().ok()).unwrap_or(u64::MAX);
        if size > u64::from(u32::MAX) {
            return Err(FrameError::Malformed(format!("chunk size {size} is above 4294967295")));
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size > MAX_MESSAGE || message.len() + size > MAX_MESSAGE {
            return Err(FrameError::TooBig(message.len() + size));
        }
        let start = 2 + digits.len() + 1;
        if rest.len() < start + size {
            return Ok(None);
        }
        message.extend_from_slice(&rest[start..start + size]);
        pos += start + size;
    }
}

/// A simple XPath (`/licensing/state/state-info/udi`, prefixes allowed, no predicates) as the
/// subtree filter that selects the same data.
fn xpath_filter(filter: &Element) -> Result<Element, RpcError> {
    let select = filter.attr("select").ok_or_else(|| {
        RpcError::new("protocol", "missing-attribute", "an xpath filter needs a select attribute")
            .info("bad-attribute", "select")
            .info("bad-element", "filter")
    })?;
    let unsupported = || {
        RpcError::new(
            "application",
            "operation-not-supported",
            format!(
                "xpath {select:?}: only absolute paths of element names are supported, e.g. /licensing/state/state-info/udi"
            ),
        )
    };
    let path = select.trim();
    if !path.starts_with('/')
        || path.contains(['[', ']', '(', ')', '|', '*', '@'])
        || path.contains("//")
    {
        return Err(unsupported());
    }
    let names: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .map(|step| step.rsplit(':').next().unwrap_or(step))
        .collect();
    if names.iter().any(|n| n.is_empty()) {
        return Err(unsupported());
    }
    let segments: Vec<yang::Segment> =
        names.iter().map(|n| yang::Segment { name: (*n).to_owned(), key: None }).collect();
    yang::schema_at(&segments).map_err(RpcError::from)?;
    let mut node: Option<Element> = None;
    for name in names.iter().rev() {
        let mut element = Element {
            name: (*name).to_owned(),
            ns: Some(NAMESPACE.to_owned()),
            ..Element::default()
        };
        if let Some(inner) = node.take() {
            element.children.push(inner);
        }
        node = Some(element);
    }
    Ok(Element {
        name: "filter".into(),
        children: node.into_iter().collect(),
        ..Element::default()
    })
}

/// `<rpc-reply>` with the request's attributes (RFC 6241 §4.2).
/// `<get-schema>`: the `cisco-smart-license` module as slp generates it from its own
/// description of the tree (not Cisco's file), in format `yang`.
fn get_schema(op: &Element) -> Reply {
    let leaf = |name: &str| op.child(name).map(|e| e.trimmed().to_owned());
    let identifier = leaf("identifier").unwrap_or_default();
    let version = leaf("version").unwrap_or_default();
    let format = leaf("format").unwrap_or_default();
    let format = format.rsplit(':').next().unwrap_or_default();
    if identifier.is_empty() {
        return Reply::Error(
            RpcError::new("protocol", "missing-element", "<get-schema> needs an <identifier>")
                .info("bad-element", "identifier"),
        );
    }
    if identifier != yang::MODULE || !(version.is_empty() || version == yang::REVISION) {
        return Reply::Error(
            RpcError::new(
                "application",
                "invalid-value",
                format!(
                    "no schema {identifier:?}{}: the device serves {}@{}",
                    if version.is_empty() { String::new() } else { format!(" revision {version}") },
                    yang::MODULE,
                    yang::REVISION
                ),
            )
            .info("bad-element", "identifier"),
        );
    }
    if !(format.is_empty() || format == "yang") {
        return Reply::Error(
            RpcError::new(
                "application",
                "invalid-value",
                format!("no schema in format {format:?}: only yang"),
            )
            .info("bad-element", "format"),
        );
    }
    Reply::Raw(format!(
        "<data xmlns=\"{MONITORING}\">{}</data>",
        xml::escape(&yang::schema::yang_module())
    ))
}

fn reply_xml(attrs: &[(String, String)], reply: &Reply) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rpc-reply xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"",
    );
    for (name, value) in attrs {
        out.push_str(&format!(" {name}=\"{}\"", xml::escape(value)));
    }
    out.push('>');
    match reply {
        Reply::Ok => out.push_str("<ok/>"),
        Reply::Data(data) => {
            out.push_str("<data>");
            out.push_str(data);
            out.push_str("</data>");
        }
        Reply::Raw(raw) => out.push_str(raw),
        Reply::Error(error) => out.push_str(&error.xml()),
    }
    out.push_str("</rpc-reply>");
    out
}

#[cfg(test)]
mod tests;
