//! The SSH CLI (`slp device run --ssh`): the bytes a client types into a shell channel with a
//! PTY, fed to the real shell (`mgmt::ssh`): echo, backspace/DEL, Ctrl-U, CR, LF and CR-LF,
//! Ctrl-C, Ctrl-Z, escape sequences, `?` help, `--More--` paging, `terminal length/width`,
//! and each line run on a running device.
//!
//! The shell starts in user EXEC with no enable secret, so what a line runs is what a user
//! there can run (show commands: nothing writes or reads outside the device); the first byte
//! says where to split the rest (the channel hands the shell any split).
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use slp_device::agent::{Device, InitOptions};
use slp_device::commands::{Mode, Session};
use slp_device::mgmt::Offline;
use slp_device::state::StateDir;

struct Plane {
    device: Offline,
    _dir: tempfile::TempDir,
}

fn plane() -> &'static Mutex<Plane> {
    static PLANE: OnceLock<Mutex<Plane>> = OnceLock::new();
    PLANE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let options = InitOptions {
            pid: "C9300-24UX".to_owned(),
            sn: "FOC2150L0AB".to_owned(),
            hostname: "sw1".to_owned(),
            version: "17.9.1".to_owned(),
            standby: Vec::new(),
            members: Vec::new(),
            boot_level: slp_core::license::BOOT_LEVELS[0].to_owned(),
            factory_trust: false,
            authority_key: None,
        };
        let now = "2026-01-01T00:00:00Z".parse().expect("a time");
        let device = Device::init(StateDir::new(dir.path().join("sw1")), &options, now)
            .expect("a new device");
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
