//! Device CLI lines (`slp device exec`, `shell`): every line is parsed against the command
//! table in every mode (`?` help, carets, abbreviations), and run in user mode (show commands
//! only: nothing a line does there writes or reads outside the device).
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use slp_device::agent::{Device, InitOptions};
use slp_device::commands::{Mode, Session};
use slp_device::state::StateDir;

struct Shell {
    session: Session,
    _dir: tempfile::TempDir,
}

fn shell() -> &'static Mutex<Shell> {
    static SHELL: OnceLock<Mutex<Shell>> = OnceLock::new();
    SHELL.get_or_init(|| {
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
        Mutex::new(Shell { session: Session::new(device, Mode::User), _dir: dir })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(mut shell) = shell().lock() else { return };
    for line in text.lines().take(16) {
        for mode in [
            Mode::User,
            Mode::Exec,
            Mode::Config,
            Mode::ConfigIf,
            Mode::CallHome,
            Mode::CallHomeProfile,
            Mode::CaTrustpoint,
            Mode::ConfigLine,
        ] {
            shell.session.mode = mode;
            let _ = shell.session.help(line);
            let _ = shell.session.help(&format!("{line}?"));
        }
        shell.session.mode = Mode::User;
        let _ = shell.session.execute(line);
        shell.session.mode = Mode::User;
    }
});
