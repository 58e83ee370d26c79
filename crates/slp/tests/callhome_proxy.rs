//! Call Home's own `http-proxy ADDR port N` (call-home mode) carries the callhome transport's
//! messages: a loopback proxy in the test records each request and forwards it to the served
//! authority; the profile's destination names a host that cannot resolve, so only the proxy
//! can deliver the report.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::util::{Lab, field, init_sw1, served_with_token};

const T1: &str = "2026-11-10T10:00:00Z";
const T2: &str = "2026-11-11T10:00:00Z";

/// Reads one HTTP message (headers and the body its Content-Length announces) from `stream`.
fn read_message(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = stream.read(&mut buf).unwrap_or(0);
        if n == 0 {
            return seen;
        }
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                return seen;
            }
        }
    }
}

/// An HTTP proxy on loopback that forwards every request to `upstream` (`host:port`) and
/// answers with its reply (one request per connection). Returns its port and the request lines
/// it saw (`POST http://host/path HTTP/1.1`).
fn recording_proxy(upstream: String) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut device) = stream else { continue };
            let request = read_message(&mut device);
            let text = String::from_utf8_lossy(&request).to_string();
            record.lock().unwrap().push(text.lines().next().unwrap_or_default().to_owned());
            let Ok(mut peer) = TcpStream::connect(&upstream) else { continue };
            let _ = peer.write_all(&request);
            let reply = read_message(&mut peer);
            // One request per connection: tell the device not to reuse it.
            let reply =
                String::from_utf8_lossy(&reply).replacen("\r\n", "\r\nconnection: close\r\n", 1);
            let _ = device.write_all(reply.as_bytes());
            let _ = device.shutdown(std::net::Shutdown::Both);
        }
    });
    (port, seen)
}

#[test]
fn callhome_sync_goes_through_the_call_home_http_proxy() {
    let lab = Lab::new();
    let (server, token) = served_with_token(&lab, T1);
    let upstream = server.url.trim_start_matches("http://").to_owned();
    let (port, seen) = recording_proxy(upstream);
    init_sw1(&lab, T1);
    let destination = "http://cssm.invalid/licservice/license";
    let out = lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "license smart transport callhome",
            "call-home",
            &format!("http-proxy 127.0.0.1 port {port}"),
            "profile CiscoTAC-1",
            &format!("destination address http {destination}"),
            "end",
            &format!("license smart trust idtoken {token} local"),
            "license smart sync all",
            "show license status",
        ],
    );
    assert!(out.contains("TRUST_CODE_INSTALL_SUCCESS"), "{out}");
    assert!(out.contains("Import Data Successful"), "the ACK came back: {out}");
    assert!(!out.contains("COMM_FAILED"), "{out}");
    assert_eq!(field(&out, "Last ACK received:"), "Nov 10 10:00:00 2026 UTC");
    let requests = seen.lock().unwrap().clone();
    // The trust request and the usage report, both to the profile's destination.
    assert_eq!(requests.len(), 2, "{requests:?}");
    for line in &requests {
        assert_eq!(line, &format!("POST {destination} HTTP/1.1"), "{requests:?}");
    }

    // Without Call Home's proxy the destination cannot be reached: nothing more through it.
    let out = lab.exec(
        "D",
        T2,
        &["configure terminal", "call-home", "no http-proxy", "end", "license smart sync all"],
    );
    assert!(out.contains("%SMART_LIC-3-COMM_FAILED"), "{out}");
    assert_eq!(seen.lock().unwrap().len(), 2);
}
