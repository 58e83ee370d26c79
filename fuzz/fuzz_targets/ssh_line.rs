//! The SSH CLI (`slp device run --ssh`): the bytes a client types into a shell channel with a
//! PTY, fed to the real shell (`mgmt::ssh`): echo, backspace/DEL, Ctrl-U, CR, LF and CR-LF,
//! Ctrl-C, Ctrl-Z, escape sequences, `?` help, `--More--` paging, `terminal length/width`,
//! and each line run on a running device.
//!
//! The shell starts in user EXEC with no enable secret, so what a line runs is what a user
//! there can run (show commands: nothing writes or reads outside the device); the first byte
//! says where to split the rest (the channel hands the shell any split).
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
        let session = Session::new(device, Mode::User);
        Mutex::new(Plane { device: Offline::new(session), _dir: dir })
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let Ok(plane) = plane().lock() else { return };
    let mut shell = plane.device.shell("admin", Mode::User);
    let at = usize::from(split).min(rest.len());
    let (first, second) = rest.split_at(at);
    let feed = shell.feed(first);
    if !feed.close {
        let _ = shell.feed(second);
    }
});
