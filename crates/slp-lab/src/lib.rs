//! `slp lab`: the embedded default. One process on loopback runs an authority, a relay and N
//! simulated product instances, one per topology, on one virtual clock.
//!
//! - [`plan`]: which devices a lab of N has (standalone switches and one HA stack, using relay
//!   push, relay pull, direct and air-gapped).
//! - [`LabFile`]: `DIR/lab.json`, what a second run needs to resume: credentials, ports, the
//!   device list and the clock.
//! - [`cli`]: `slp lab`, which seeds the authority, configures the devices, starts every service
//!   and stops them cleanly on Ctrl-C.
//!
//! Layout of the data directory:
//!
//! ```text
//! DIR/lab.json            the lab's own record
//! DIR/authority/          the authority (`slp authority --data DIR/authority …`)
//! DIR/relay/              the relay (`slp relay --data DIR/relay …`)
//! DIR/devices/<hostname>/ each product instance (`slp device --state DIR/devices/<hostname> …`)
//! ```

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod certs;
pub mod cli;

/// The smart account every lab seeds.
pub const ACCOUNT_DOMAIN: &str = "example.com";
pub const ACCOUNT_NAME: &str = "Example Corp";
/// The virtual account the relay and the air-gapped devices report into.
pub const VA_MAIN: &str = "Lab";
/// The virtual account of the directly connected devices (trusted with the lab's ID token).
pub const VA_DIRECT: &str = "Branch";
/// The device user that relays and controllers use for the management API.
pub const DEVICE_USER: &str = "admin";
/// Largest lab.
pub const MAX_DEVICES: usize = 100;

/// Why the lab's record cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a lab record: {source}")]
    Format { path: PathBuf, source: serde_json::Error },
    #[error("{path}: lab record version {found}; this slp knows version {known}")]
    Version { path: PathBuf, found: u32, known: u32 },
    #[error("--devices {0}: a lab has 1 to {MAX_DEVICES} product instances")]
    DeviceCount(usize),
}

/// How a product instance reaches the authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// Transport `cslu`: pushes to the relay (topology 1).
    RelayPush,
    /// Transport off; the relay pulls over the management API.
    RelayPull,
    /// Transport `smart` straight to the authority, trusted with an ID token (topology 2).
    Direct,
    /// Transport off; usage leaves as a file (no connectivity).
    AirGapped,
}

impl Topology {
    pub fn describe(self) -> &'static str {
        match self {
            Topology::RelayPush => "relay push (transport cslu)",
            Topology::RelayPull => "relay pull (the relay collects)",
            Topology::Direct => "direct (transport smart, ID-token trust)",
            Topology::AirGapped => "air-gapped (usage by file)",
        }
    }

    /// The virtual account the device's usage lands in.
    pub fn virtual_account(self) -> &'static str {
        match self {
            Topology::Direct => VA_DIRECT,
            _ => VA_MAIN,
        }
    }
}

/// One product instance of the lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabDevice {
    pub hostname: String,
    pub pid: String,
    pub sn: String,
    /// Standby and member UDIs (`PID:…,SN:…`) of an HA stack; empty for a standalone switch.
    pub standby: Vec<String>,
    pub members: Vec<String>,
    pub topology: Topology,
    /// The management API port of the last run (reused when free).
    #[serde(default)]
    pub mgmt_port: u16,
    /// The SSH CLI port of the last run (`ssh -p PORT admin@127.0.0.1`).
    #[serde(default)]
    pub ssh_port: u16,
    /// The NETCONF over SSH port of the last run (port 830 on a switch).
    #[serde(default)]
    pub netconf_port: u16,
    /// The HTTPS (RESTCONF and `/smartlic-service/*`) port of the last run.
    #[serde(default)]
    pub https_port: u16,
}

impl LabDevice {
    pub fn udi(&self) -> String {
        format!("PID:{},SN:{}", self.pid, self.sn)
    }

    pub fn is_stack(&self) -> bool {
        !self.standby.is_empty() || !self.members.is_empty()
    }

    /// Its state directory under the lab's data directory.
    pub fn dir(&self, data: &Path) -> PathBuf {
        data.join("devices").join(&self.hostname)
    }
}

/// The devices of a lab of `n`: the first five cover every topology (relay push, relay pull,
/// direct, an HA stack pushing to the relay, air-gapped); the sixth is a second direct switch
/// that requests an HSECK9 authorization code; more cycle through the four topologies.
pub fn plan(n: usize) -> Result<Vec<LabDevice>, LabError> {
    if !(1..=MAX_DEVICES).contains(&n) {
        return Err(LabError::DeviceCount(n));
    }
    let cycle = [Topology::RelayPush, Topology::RelayPull, Topology::Direct, Topology::AirGapped];
    let devices = (0..n)
        .map(|i| {
            let sn = format!("FOC26LAB{:03}", i + 1);
            let (topology, stack) = match i {
                0 => (Topology::RelayPush, false),
                1 => (Topology::RelayPull, false),
                2 => (Topology::Direct, false),
                3 => (Topology::RelayPush, true),
                4 => (Topology::AirGapped, false),
                5 => (Topology::Direct, false),
                _ => (cycle[(i - 6) % cycle.len()], false),
            };
            if stack {
                // A mixed stack, as in a real 17.9 capture (Genie's ShowLicenseTechSupport
                // golden output 10): C9300-48 active and standby, a C9300-24 member. Each unit
                // counts under its own family's entitlement.
                LabDevice {
                    hostname: "stack1".to_owned(),
                    pid: "C9300-48UXM".to_owned(),
                    standby: vec![format!("PID:C9300-48U,SN:{sn}S")],
                    members: vec![format!("PID:C9300-24U,SN:{sn}M")],
                    sn,
                    topology,
                    mgmt_port: 0,
                    ssh_port: 0,
                    netconf_port: 0,
                    https_port: 0,
                }
            } else {
                let number = if i < 3 { i + 1 } else { i };
                LabDevice {
                    hostname: format!("sw{number}"),
                    // sw5 holds an HSECK9 code: a Catalyst 9300X, the platform that offers it.
                    pid: match i {
                        5 => "C9300X-48HX",
                        _ if i % 2 == 0 => "C9300-24UX",
                        _ => "C9300-48P",
                    }
                    .to_owned(),
                    standby: Vec::new(),
                    members: Vec::new(),
                    sn,
                    topology,
                    mgmt_port: 0,
                    ssh_port: 0,
                    netconf_port: 0,
                    https_port: 0,
                }
            }
        })
        .collect();
    Ok(devices)
}

/// OAuth2 client credentials kept in the lab record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
}

/// `DIR/lab.json`: everything a second run needs to resume where the first stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabFile {
    pub version: u32,
    /// The lab's clock when the record was last written; a resumed lab never goes back in time.
    pub clock: DateTime<Utc>,
    pub authority_port: u16,
    pub relay_port: u16,
    /// The relay's client at the authority (role reporter).
    pub relay_client: Credentials,
    /// A client for scripts and curl (role admin).
    pub admin_client: Credentials,
    /// The ID token of the direct devices' virtual account (shown once by the authority).
    pub id_token: String,
    /// The password of the device user [`DEVICE_USER`].
    pub device_password: String,
    pub devices: Vec<LabDevice>,
}

impl LabFile {
    pub const VERSION: u32 = 1;
    pub const NAME: &'static str = "lab.json";

    pub fn path(data: &Path) -> PathBuf {
        data.join(Self::NAME)
    }

    /// The record of the lab in `data`, or `None` for a new lab.
    pub fn load(data: &Path) -> Result<Option<LabFile>, LabError> {
        let path = Self::path(data);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(LabError::Io { path, source }),
        };
        let file: LabFile = serde_json::from_str(&text)
            .map_err(|source| LabError::Format { path: path.clone(), source })?;
        if file.version != Self::VERSION {
            return Err(LabError::Version { path, found: file.version, known: Self::VERSION });
        }
        Ok(Some(file))
    }

    /// Writes the record atomically (temp file, then rename), readable by its owner only (0600):
    /// it holds client secrets, the ID token and the device password.
    pub fn save(&self, data: &Path) -> Result<(), LabError> {
        let path = Self::path(data);
        let temp = data.join(format!("{}.tmp", Self::NAME));
        let text = serde_json::to_string_pretty(self)
            .map_err(|source| LabError::Format { path: path.clone(), source })?;
        write_private(&temp, text.as_bytes())
            .map_err(|source| LabError::Io { path: temp.clone(), source })?;
        std::fs::rename(&temp, &path).map_err(|source| LabError::Io { path, source })
    }
}

use slp_host::write_private;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn six_devices_cover_every_topology_and_one_stack() {
        let devices = plan(6).unwrap();
        let names: Vec<&str> = devices.iter().map(|d| d.hostname.as_str()).collect();
        assert_eq!(names, ["sw1", "sw2", "sw3", "stack1", "sw4", "sw5"]);
        for topology in
            [Topology::RelayPush, Topology::RelayPull, Topology::Direct, Topology::AirGapped]
        {
            assert!(devices.iter().any(|d| d.topology == topology), "{topology:?}");
        }
        assert_eq!(devices.iter().filter(|d| d.is_stack()).count(), 1);
        let mut udis: Vec<String> = devices.iter().map(LabDevice::udi).collect();
        udis.sort();
        udis.dedup();
        assert_eq!(udis.len(), 6, "UDIs are unique");
    }

    #[test]
    fn device_count_is_bounded() {
        assert!(matches!(plan(0), Err(LabError::DeviceCount(0))));
        assert_eq!(plan(MAX_DEVICES).unwrap().len(), MAX_DEVICES);
        assert!(plan(MAX_DEVICES + 1).is_err());
        let names: Vec<String> = plan(9).unwrap().into_iter().map(|d| d.hostname).collect();
        assert_eq!(names[6..], ["sw6", "sw7", "sw8"]);
    }

    #[test]
    fn the_record_round_trips_and_a_bad_one_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(LabFile::load(dir.path()).unwrap(), None);
        let file = LabFile {
            version: LabFile::VERSION,
            clock: "2026-11-22T10:00:00Z".parse().unwrap(),
            authority_port: 1,
            relay_port: 2,
            relay_client: Credentials { client_id: "a".into(), client_secret: "b".into() },
            admin_client: Credentials { client_id: "c".into(), client_secret: "d".into() },
            id_token: "t".into(),
            device_password: "p".into(),
            devices: plan(2).unwrap(),
        };
        file.save(dir.path()).unwrap();
        assert_eq!(LabFile::load(dir.path()).unwrap(), Some(file));
        std::fs::write(LabFile::path(dir.path()), "{").unwrap();
        let err = LabFile::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("lab.json: not a lab record"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn the_record_is_private_even_over_an_earlier_world_readable_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // A lab of an earlier version: its record and a leftover temp file readable by all.
        let public = std::fs::Permissions::from_mode(0o644);
        for name in ["lab.json", "lab.json.tmp"] {
            std::fs::write(dir.path().join(name), "{}").unwrap();
            std::fs::set_permissions(dir.path().join(name), public.clone()).unwrap();
        }
        let file = LabFile {
            version: LabFile::VERSION,
            clock: "2026-11-22T10:00:00Z".parse().unwrap(),
            authority_port: 1,
            relay_port: 2,
            relay_client: Credentials { client_id: "a".into(), client_secret: "b".into() },
            admin_client: Credentials { client_id: "c".into(), client_secret: "secret".into() },
            id_token: "t".into(),
            device_password: "p".into(),
            devices: plan(1).unwrap(),
        };
        file.save(dir.path()).unwrap();
        let mode = std::fs::metadata(LabFile::path(dir.path())).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!dir.path().join("lab.json.tmp").exists());
    }
}
