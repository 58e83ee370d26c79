//! NETCONF over SSH (`slp device run --netconf`): the bytes a client sends the `netconf`
//! subsystem, fed to a real `mgmt::netconf::Session` over a running device: base:1.0
//! (`]]>]]>`) and base:1.1 (chunked) framing in any split, the client's `<hello>`, and each
//! `<rpc>` (get/get-config with subtree and xpath filters, edit-config, lock, kill-session,
//! the model's RPCs, which run the CLI lines they map to on the device).
//!
//! The first byte says where to split the rest (the SSH channel hands the session any
//! split). The device's proxy is a closed local port, so an RPC that talks to a peer fails at
//! once instead of reaching the network (the model cannot change the proxy). An input naming a
//! `file-path` is skipped: the RPCs that take one write or read that path on the host, as the
//! device does (`yang_input` fuzzes how they are read).
#![no_main]

#[path = "../common.rs"]
mod common;

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use slp_device::commands::{Mode, Session};
use slp_device::mgmt::Offline;

struct Plane {
    device: Offline,
    _dir: tempfile::TempDir,
}

fn plane() -> &'static Mutex<Plane> {
    static PLANE: OnceLock<Mutex<Plane>> = OnceLock::new();
    PLANE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let device = common::new_switch(dir.path());
        let mut session = Session::new(device, Mode::Exec);
        for line in [
            "configure terminal",
            "netconf-yang",
            "license smart proxy address 127.0.0.1",
            "license smart proxy port 9",
            "end",
        ] {
            let output = session.execute(line);
            assert!(output.ok, "{line}: {}", output.text);
        }
        Mutex::new(Plane { device: Offline::new(session), _dir: dir })
    })
}

/// Whether `data` has a `file-path` element, also split across base:1.1 chunks (an element's
/// name cannot be written with character references).
fn names_a_file(data: &[u8]) -> bool {
    let mut joined = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\n' && data.get(i + 1) == Some(&b'#') {
            let digits =
                data[i + 2..].iter().take_while(|b| b.is_ascii_digit() || **b == b'#').count();
            if data.get(i + 2 + digits) == Some(&b'\n') {
                i += 3 + digits;
                continue;
            }
        }
        joined.push(data[i]);
        i += 1;
    }
    joined.windows(b"file-path".len()).any(|w| w == b"file-path")
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    if names_a_file(rest) {
        return;
    }
    let Ok(plane) = plane().lock() else { return };
    let mut session = plane.device.netconf("admin");
    let _ = session.hello();
    let at = usize::from(split).min(rest.len());
    let (first, second) = rest.split_at(at);
    let feed = session.input(first);
    if !feed.close {
        let _ = session.input(second);
    }
});
