//! The NETCONF engine without a network: framing (both, in any split), the operations, and an
//! RFC 6241 error for every kind of bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use super::*;
use crate::mgmt::yang::tests::sw1;

const HELLO_10: &str = r#"<?xml version="1.0" encoding="UTF-8"?><hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>]]>]]>"#;
const HELLO_11: &str = r#"<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>]]>]]>"#;

struct Fixture {
    _dir: tempfile::TempDir,
    shared: Arc<Shared>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let shared = Shared::for_tests(sw1(&dir));
    Fixture { _dir: dir, shared }
}

fn session(f: &Fixture, id: u32, hello: &str) -> Session {
    let mut s = Session::new(f.shared.clone(), id, "admin".into());
    let feed = s.input(hello.as_bytes());
    assert!(feed.out.is_empty() && !feed.close, "{feed:?}");
    s
}

fn rpc(body: &str) -> String {
    format!(r#"<rpc message-id="7" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">{body}</rpc>"#)
}

fn eom(text: &str) -> Vec<u8> {
    let mut out = text.as_bytes().to_vec();
    out.extend_from_slice(EOM);
    out
}

fn chunk(text: &str) -> Vec<u8> {
    let mut out = format!("\n#{}\n", text.len()).into_bytes();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\n##\n");
    out
}

/// The replies in `out`, unframed.
fn replies_eom(out: &[u8]) -> Vec<String> {
    let text = String::from_utf8(out.to_vec()).unwrap();
    let mut parts: Vec<String> = text.split("]]>]]>").map(str::to_owned).collect();
    assert_eq!(parts.pop().as_deref(), Some(""), "unterminated: {text}");
    parts
}

fn replies_chunked(out: &[u8]) -> Vec<String> {
    let mut replies = Vec::new();
    let mut rest = out;
    while !rest.is_empty() {
        let (message, used) = chunked(rest).unwrap().expect("complete chunked reply");
        replies.push(String::from_utf8(message).unwrap());
        rest = &rest[used..];
    }
    replies
}

fn one(s: &mut Session, request: &str) -> String {
    let feed = s.input(&eom(request));
    let mut replies = replies_eom(&feed.out);
    assert_eq!(replies.len(), 1, "{replies:?}");
    replies.remove(0)
}

fn tag(reply: &str) -> &str {
    let start = reply.find("<error-tag>").map(|i| i + "<error-tag>".len()).unwrap_or(0);
    let end = reply.find("</error-tag>").unwrap_or(0);
    &reply[start..end.max(start)]
}

#[test]
fn hello_advertises_the_model_and_a_session_id() {
    let f = fixture();
    let s = Session::new(f.shared.clone(), 42, "admin".into());
    let hello = String::from_utf8(s.hello()).unwrap();
    assert!(hello.ends_with("</hello>]]>]]>"));
    assert!(hello.contains("<session-id>42</session-id>"));
    assert!(hello.contains("<capability>urn:ietf:params:netconf:base:1.1</capability>"));
    assert!(hello.contains(
        "http://cisco.com/ns/yang/cisco-smart-license?module=cisco-smart-license&amp;revision=2021-03-01"
    ));
    xml::parse(hello.trim_end_matches("]]>]]>")).unwrap();
}

#[test]
fn base_1_0_framing_takes_any_split() {
    let f = fixture();
    let mut s = Session::new(f.shared.clone(), 1, "admin".into());
    let mut all = HELLO_10.as_bytes().to_vec();
    all.extend(eom(&rpc("<get-config><source><running/></source></get-config>")));
    let mut out = Vec::new();
    for byte in &all {
        let feed = s.input(std::slice::from_ref(byte));
        assert!(!feed.close);
        out.extend(feed.out);
    }
    let replies = replies_eom(&out);
    assert_eq!(replies.len(), 1);
    assert!(replies[0].contains(r#"message-id="7""#));
    assert!(
        replies[0].contains("<transport-type>transport-type-cslu</transport-type>"),
        "{}",
        replies[0]
    );
    assert!(!replies[0].contains("<state>"));
}

#[test]
fn base_1_1_switches_to_chunks_split_anywhere() {
    let f = fixture();
    let mut s = session(&f, 1, HELLO_11);
    let request = rpc(&format!(
        r#"<get><filter type="subtree"><licensing xmlns="{NAMESPACE}"><state><state-info><udi/></state-info></state></licensing></filter></get>"#
    ));
    // The message in three chunks, fed in odd pieces; then two messages in one read.
    let (a, rest) = request.split_at(10);
    let (b, c) = rest.split_at(25);
    let mut bytes = Vec::new();
    for part in [a, b, c] {
        bytes.extend(format!("\n#{}\n{part}", part.len()).into_bytes());
    }
    bytes.extend_from_slice(b"\n##\n");
    let mut out = Vec::new();
    for piece in bytes.chunks(7) {
        out.extend(s.input(piece).out);
    }
    let replies = replies_chunked(&out);
    assert_eq!(replies.len(), 1);
    assert!(
        replies[0].contains("<udi><pid>C9300-24UX</pid><sn>FOC2233A5ZV</sn></udi>"),
        "{}",
        replies[0]
    );
    let mut two = chunk(&rpc("<get-config><source><running/></source></get-config>"));
    two.extend(chunk(&rpc("<close-session/>")));
    let feed = s.input(&two);
    let replies = replies_chunked(&feed.out);
    assert_eq!(replies.len(), 2);
    assert!(replies[1].contains("<ok/>"));
    assert!(feed.close);
    assert!(s.input(b"more").close);
}

#[test]
fn bad_chunk_headers_end_the_session_with_an_error() {
    for bad in [
        &b"\n#0\n"[..],
        b"\n#abc\n",
        b"xx",
        b"\n#12345678901\n",
        b"\n##\n",
        b"\n#5\nab",
        b"\n#-1\n",
    ] {
        let f = fixture();
        let mut s = session(&f, 1, HELLO_11);
        let feed = s.input(bad);
        if bad == b"\n#5\nab" {
            // Incomplete, not wrong: more is awaited.
            assert!(!feed.close && feed.out.is_empty());
            continue;
        }
        assert!(feed.close, "{:?} kept the session", String::from_utf8_lossy(bad));
        let reply = &replies_chunked(&feed.out)[0];
        assert_eq!(tag(reply), "malformed-message", "{reply}");
    }
}

#[test]
fn too_big_messages_are_refused() {
    let f = fixture();
    let mut s = session(&f, 1, HELLO_11);
    let feed = s.input(format!("\n#{}\n", MAX_MESSAGE + 1).as_bytes());
    assert!(feed.close);
    assert_eq!(tag(&replies_chunked(&feed.out)[0]), "too-big");
    let mut s = session(&f, 2, HELLO_10);
    let feed = s.input(&vec![b'x'; MAX_MESSAGE + 100]);
    assert!(feed.close);
    assert_eq!(tag(&replies_eom(&feed.out)[0]), "too-big");
}

#[test]
fn bad_hellos_close_the_session() {
    let f = fixture();
    for hello in [
        "<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><capabilities><capability>urn:x</capability></capabilities></hello>]]>]]>",
        "<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities><session-id>3</session-id></hello>]]>]]>",
        "<rpc message-id=\"1\" xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><get/></rpc>]]>]]>",
        "<hello]]>]]>",
    ] {
        let mut s = Session::new(f.shared.clone(), 9, "admin".into());
        assert!(s.input(hello.as_bytes()).close, "{hello}");
    }
}

#[test]
fn every_bad_rpc_gets_its_rfc_6241_error_and_the_session_goes_on() {
    let f = fixture();
    let mut s = session(&f, 1, HELLO_10);
    let cases = [
        (
            r#"<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><get/></rpc>"#.to_owned(),
            "missing-attribute",
        ),
        (
            "<rpc message-id=\"1\" xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><get>"
                .to_owned(),
            "malformed-message",
        ),
        (rpc("<frobnicate/>"), "unknown-element"),
        (rpc(r#"<x xmlns="urn:nowhere"/>"#), "unknown-namespace"),
        (r#"<rpc message-id="1" xmlns="urn:other"><get/></rpc>"#.to_owned(), "unknown-namespace"),
        (rpc(""), "missing-element"),
        (rpc("<get-config><source><candidate/></source></get-config>"), "invalid-value"),
        (rpc("<get-config/>"), "missing-element"),
        (rpc(r#"<get><filter type="regex"/></get>"#), "bad-attribute"),
        (rpc(r#"<get><filter type="xpath" select="//udi[1]"/></get>"#), "operation-not-supported"),
        (
            rpc(&format!(
                r#"<get><filter><licensing xmlns="{NAMESPACE}"><nope/></licensing></filter></get>"#
            )),
            "unknown-element",
        ),
        (rpc("<commit/>"), "operation-not-supported"),
        (
            rpc(&format!(
                r#"<edit-config><target><running/></target><config><licensing xmlns="{NAMESPACE}"><config><usage><interval>0</interval></usage></config></licensing></config></edit-config>"#
            )),
            "invalid-value",
        ),
        (
            rpc(&format!(
                r#"<edit-config><target><running/></target><default-operation>sideways</default-operation><config><licensing xmlns="{NAMESPACE}"/></config></edit-config>"#
            )),
            "invalid-value",
        ),
        (rpc("<edit-config><target><running/></target></edit-config>"), "missing-element"),
        (rpc(&format!(r#"<import-file xmlns="{NAMESPACE}"/>"#)), "missing-element"),
        (
            rpc(&format!(
                r#"<rum-save-usage-days xmlns="{NAMESPACE}"><file-path>f</file-path><days>x</days></rum-save-usage-days>"#
            )),
            "invalid-value",
        ),
        (rpc("<kill-session><session-id>1</session-id></kill-session>"), "invalid-value"),
        (rpc("<kill-session><session-id>999</session-id></kill-session>"), "invalid-value"),
        (rpc("<unlock><target><running/></target></unlock>"), "operation-failed"),
        ("<notrpc/>".to_owned(), "unknown-namespace"),
    ];
    for (request, expected) in cases {
        let reply = one(&mut s, &request);
        assert_eq!(tag(&reply), expected, "{request}\n{reply}");
        assert!(reply.contains("<error-severity>error</error-severity>"));
        assert!(reply.contains("<error-message xml:lang=\"en\">"));
    }
    // The missing message-id names it, and the error path names the bad leaf.
    let reply = one(&mut s, r#"<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><get/></rpc>"#);
    assert!(reply.contains("<bad-attribute>message-id</bad-attribute>"));
    let reply = one(
        &mut s,
        &rpc(&format!(
            r#"<edit-config><target><running/></target><config><licensing xmlns="{NAMESPACE}"><config><usage><interval>999</interval></usage></config></licensing></config></edit-config>"#
        )),
    );
    assert!(reply.contains("/csl:licensing/csl:config/csl:usage/csl:interval"), "{reply}");
    // Still serving.
    assert!(
        one(&mut s, &rpc("<get-config><source><running/></source></get-config>"))
            .contains("<data>")
    );
}

fn url_cslu(f: &Fixture) -> Option<String> {
    f.shared.lock().device.state.running.url_cslu.clone()
}

#[test]
fn edit_config_runs_the_cli_lines_and_refuses_bad_input_whole() {
    let f = fixture();
    let mut s = session(&f, 1, HELLO_10);
    let edit = |url: &str, interval: &str| {
        rpc(&format!(
            r#"<edit-config><target><running/></target><config><licensing xmlns="{NAMESPACE}"><config><usage><interval>{interval}</interval></usage><transport><transport-cslu><url-cslu>{url}</url-cslu></transport-cslu></transport></config></licensing></config></edit-config>"#
        ))
    };
    let reply = one(&mut s, &edit("http://relay.example:8182/cslu/v1/pi", "14"));
    assert!(reply.contains("<ok/>"), "{reply}");
    assert_eq!(url_cslu(&f).as_deref(), Some("http://relay.example:8182/cslu/v1/pi"));
    assert_eq!(f.shared.lock().device.state.running.usage_interval, Some(14));
    // A bad interval next to a good URL: nothing changes.
    let reply = one(&mut s, &edit("http://other.example/cslu/v1/pi", "500"));
    assert_eq!(tag(&reply), "invalid-value");
    assert_eq!(url_cslu(&f).as_deref(), Some("http://relay.example:8182/cslu/v1/pi"));
    // test-only checks without changing; delete removes.
    let test_only = rpc(&format!(
        r#"<edit-config><target><running/></target><test-option>test-only</test-option><config><licensing xmlns="{NAMESPACE}"><config><transport><transport-cslu><url-cslu>http://x.example/p</url-cslu></transport-cslu></transport></config></licensing></config></edit-config>"#
    ));
    assert!(one(&mut s, &test_only).contains("<ok/>"));
    assert_eq!(url_cslu(&f).as_deref(), Some("http://relay.example:8182/cslu/v1/pi"));
    let delete = rpc(&format!(
        r#"<edit-config xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><target><running/></target><config><licensing xmlns="{NAMESPACE}"><config><transport><transport-cslu><url-cslu nc:operation="delete"/></transport-cslu></transport></config></licensing></config></edit-config>"#
    ));
    assert!(one(&mut s, &delete).contains("<ok/>"));
    assert_eq!(url_cslu(&f), None);
    assert_eq!(tag(&one(&mut s, &delete)), "data-missing");
    // validate checks a payload without running it.
    let validate = |inner: &str| {
        rpc(&format!(
            r#"<validate><source><config><licensing xmlns="{NAMESPACE}"><config>{inner}</config></licensing></config></source></validate>"#
        ))
    };
    assert!(one(&mut s, &validate("<custom-id>x</custom-id>")).contains("<ok/>"));
    assert_eq!(tag(&one(&mut s, &validate("<custom-id>a b</custom-id>"))), "invalid-value");
    assert!(f.shared.lock().device.state.running.settings.licensing.custom_id.is_none());
    assert!(
        one(&mut s, &rpc("<validate><source><running/></source></validate>")).contains("<ok/>")
    );
    // get shows what the device now runs.
    let got = one(
        &mut s,
        &rpc(&format!(
            r#"<get><filter type="xpath" select="/csl:licensing/csl:config/csl:usage" xmlns:csl="{NAMESPACE}"/></get>"#
        )),
    );
    assert!(got.contains("<usage><interval>14</interval></usage>"), "{got}");
}

#[test]
fn locks_are_per_device_and_kill_session_frees_them() {
    let f = fixture();
    let mut a = session(&f, 1, HELLO_10);
    let mut b = session(&f, 2, HELLO_10);
    let lock = rpc("<lock><target><running/></target></lock>");
    assert!(one(&mut a, &lock).contains("<ok/>"));
    let reply = one(&mut b, &lock);
    assert_eq!(tag(&reply), "lock-denied");
    assert!(reply.contains("<session-id>1</session-id>"));
    assert_eq!(tag(&one(&mut a, &lock)), "lock-denied");
    let edit = rpc(&format!(
        r#"<edit-config><target><running/></target><config><licensing xmlns="{NAMESPACE}"><config><custom-id>b</custom-id></config></licensing></config></edit-config>"#
    ));
    assert_eq!(tag(&one(&mut b, &edit)), "in-use");
    assert_eq!(
        tag(&one(&mut b, &rpc("<unlock><target><running/></target></unlock>"))),
        "operation-failed"
    );
    assert!(
        one(&mut b, &rpc("<kill-session><session-id>1</session-id></kill-session>"))
            .contains("<ok/>")
    );
    assert!(a.input(b" ").close, "a killed session ends at its next input");
    assert!(one(&mut b, &edit).contains("<ok/>"));
    assert!(one(&mut b, &lock).contains("<ok/>"));
    drop(b);
    assert_eq!(f.shared.netconf.lock_holder(), None, "a session's lock ends with it");
}

#[test]
fn model_rpcs_run_exec_lines_and_answer_return_codes() {
    let f = fixture();
    let mut s = session(&f, 1, HELLO_10);
    let reply = one(
        &mut s,
        &rpc(&format!(
            r#"<rum-save-usage-all xmlns="{NAMESPACE}"><file-path>bootflash:all.txt</file-path></rum-save-usage-all>"#
        )),
    );
    assert!(
        reply.contains(&format!("<return-code xmlns=\"{NAMESPACE}\">success</return-code>")),
        "{reply}"
    );
    assert!(f._dir.path().join("bootflash/all.txt").is_file());
    let reply = one(
        &mut s,
        &rpc(&format!(
            r#"<import-file xmlns="{NAMESPACE}"><file-path>bootflash:missing.xml</file-path></import-file>"#
        )),
    );
    assert!(reply.contains(">notfound</return-code>"), "{reply}");
    let reply = one(&mut s, &rpc(&format!(r#"<de-register xmlns="{NAMESPACE}"/>"#)));
    assert!(reply.contains(">notsupported</return-code>"), "{reply}");
    let reply = one(
        &mut s,
        &rpc(r#"<cisco-ia:save-config xmlns:cisco-ia="http://cisco.com/yang/cisco-ia"/>"#),
    );
    assert!(reply.contains("Save running-config successful"), "{reply}");
}

#[test]
fn no_input_makes_it_panic() {
    // A small deterministic generator: garbage, invalid UTF-8, deep nesting, stray markers, in
    // both framings and every split.
    let mut seed: u64 = 0x5eed;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let samples: Vec<Vec<u8>> = vec![
        b"\xff\xfe\x00]]>]]>".to_vec(),
        format!("{}]]>]]>", "<a>".repeat(200)).into_bytes(),
        b"<rpc message-id='1' xmlns='urn:ietf:params:xml:ns:netconf:base:1.0'><get><filter><licensing xmlns='http://cisco.com/ns/yang/cisco-smart-license'><state><state-info><usage><entitlement-tag>x</entitlement-tag></usage></state-info></state></licensing></filter></get></rpc>]]>]]>".to_vec(),
        b"]]>]]>]]>]]>\n#\n##\n#4294967296\n".to_vec(),
        b"<rpc message-id=\"1\" xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><edit-config><target><running/></target><config><licensing xmlns=\"http://cisco.com/ns/yang/cisco-smart-license\"><config operation=\"delete\"/></licensing></config></edit-config></rpc>]]>]]>".to_vec(),
    ];
    for hello in [HELLO_10, HELLO_11] {
        for sample in &samples {
            for round in 0..4 {
                let f = fixture();
                let mut s = session(&f, 1, hello);
                let mut bytes = sample.clone();
                if round > 0 {
                    for _ in 0..8 {
                        let at = (next() as usize) % bytes.len();
                        bytes[at] = next() as u8;
                    }
                }
                let mut rest = &bytes[..];
                while !rest.is_empty() {
                    let n = 1 + (next() as usize) % rest.len();
                    let feed = s.input(&rest[..n]);
                    if feed.close {
                        break;
                    }
                    rest = &rest[n..];
                }
            }
        }
    }
}
