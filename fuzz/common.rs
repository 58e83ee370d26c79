//! What the device targets share: a new switch in a temporary directory.

use slp_device::agent::{Device, InitOptions};
use slp_device::state::StateDir;

/// A new C9300-24UX named `sw1` under `dir`, which the caller keeps while the device is used.
pub fn new_switch(dir: &std::path::Path) -> Device {
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
    Device::init(StateDir::new(dir.join("sw1")), &options, now).expect("a new device")
}
