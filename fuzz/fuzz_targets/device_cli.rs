//! Device CLI lines (`slp device exec`, `shell`): every line is parsed against the command
//! table in every mode (`?` help, carets, abbreviations), and run in user mode (show commands
//! only: nothing a line does there writes or reads outside the device).
#![no_main]

#[path = "../common.rs"]
mod common;

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use slp_device::commands::{Mode, Session};

struct Shell {
    session: Session,
    _dir: tempfile::TempDir,
}

fn shell() -> &'static Mutex<Shell> {
    static SHELL: OnceLock<Mutex<Shell>> = OnceLock::new();
    SHELL.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let device = common::new_switch(dir.path());
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
