//! The product instance's persisted state: one JSON file in the state directory, replaced
//! atomically (write to a temporary file, fsync, rename, fsync the directory), so a kill at any
//! moment leaves either the old or the new state, never a torn one.
//!
//! This file is the device's own storage, not a wire format; `version` guards its evolution.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use slp_core::Timestamp;
use slp_core::ledger::Ledger;
use slp_core::policy::{Policy, PolicyClass};
use slp_core::udi::{HaRole, Udi};

use crate::DeviceError;

pub const STATE_VERSION: u32 = 1;
const STATE_FILE: &str = "state.json";
pub const BOOTFLASH: &str = "bootflash";

/// One unit of the HA set; the first unit is the active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub role: HaRole,
    pub udi: Udi,
}

/// How the device reaches CSLU or CSSM (`license smart transport`). `automatic` is no mode of
/// its own: the guide ("Setting the Transport Type, URL, and Reporting Interval") says it "Sets
/// the transport mode cslu", so it configures [`Transport::Cslu`] (a state written when
/// `Automatic` was kept apart reads as `Cslu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transport {
    Callhome,
    #[serde(alias = "Automatic")]
    Cslu,
    Off,
    Smart,
}

impl Transport {
    pub fn keyword(self) -> &'static str {
        match self {
            Transport::Callhome => "callhome",
            Transport::Cslu => "cslu",
            Transport::Off => "off",
            Transport::Smart => "smart",
        }
    }

    /// What `show license status` prints after `Type:`.
    pub fn show_word(self) -> &'static str {
        match self {
            Transport::Callhome => "Callhome",
            Transport::Cslu => "cslu",
            Transport::Off => "Transport Off",
            Transport::Smart => "Smart",
        }
    }
}

/// Configuration (running or startup): the `license …` commands and the few others slp models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub hostname: String,
    pub boot_level: Option<String>,
    pub boot_addon: Option<String>,
    pub transport: Transport,
    pub url_cslu: Option<String>,
    pub url_smart: Option<String>,
    pub url_callhome: Option<String>,
    pub proxy_address: Option<String>,
    pub proxy_port: Option<u16>,
    pub usage_interval: Option<u32>,
    pub privacy_hostname: bool,
    pub privacy_version: bool,
    /// Tunnel interfaces configured with `tunnel mode ipsec ipv4` (the cryptographic feature that uses HSECK9).
    pub ipsec_tunnels: BTreeSet<String>,
    /// Tunnel interfaces that exist.
    pub tunnels: BTreeSet<String>,
    /// `username <name> privilege 15 {password|secret} …`: who may use the management API, with
    /// the type 9 secret (`$9$…`, [`crate::secret`]) of each password; never the password itself.
    #[serde(default)]
    pub users: BTreeMap<String, String>,
    /// Call Home, name resolution, NTP, the HTTP client, trustpoints and the utility / custom
    /// ID settings ([`crate::config`]); a state written before them loads with a new device's.
    #[serde(default)]
    pub settings: crate::config::Settings,
}

/// The account an ACK named, shown with "As of".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub smart_account: String,
    pub virtual_account: String,
    pub as_of: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledPolicy {
    pub policy: Policy,
    pub installed_at: Timestamp,
    /// When the authority issued it (an older policy never replaces it).
    #[serde(default)]
    pub issued_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustInstalled {
    pub trust_id: u64,
    pub installed_at: Timestamp,
}

/// A SLAC installed for one UDI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledAuthorization {
    pub code_id: String,
    pub installed_at: Timestamp,
    pub confirmation_code: String,
    pub entitlements: Vec<Entitlement>,
    /// The return code the authority issued with the code (printed when it is returned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlement {
    pub feature: String,
    pub tag: String,
    pub count: u64,
    pub license_type: String,
    pub end_date: Option<String>,
}

/// `license smart authorization request {add|replace} <feature> {all|local}` waiting to be saved or sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuthRequest {
    pub feature: String,
    pub all: bool,
    pub replace: bool,
    pub requested_at: Timestamp,
}

/// One system message, as kept for `show license eventlog`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedEvent {
    pub at: Timestamp,
    /// The message text, e.g. `%SMART_LIC-6-POLICY_INSTALL_SUCCESS: A new licensing policy was successfully installed`.
    pub text: String,
}

/// One imported message for `show license history message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedMessage {
    pub at: Timestamp,
    /// `RUM ACK`, `POLICY`, `TRUST CODE`, `AUTH`, `ACCOUNT INFO`.
    pub kind: String,
    pub summary: String,
}

/// Everything the product instance remembers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceState {
    pub version: u32,
    pub software_version: String,
    pub software_tag: String,
    pub units: Vec<Unit>,
    /// The device key (base64 Ed25519 secret) that signs reports and requests.
    pub key_secret: String,
    pub running: Config,
    pub startup: Config,
    /// Boot level in effect since the last reload.
    pub boot_level: Option<String>,
    pub boot_addon: Option<String>,
    pub booted_at: Timestamp,
    pub reloads: u32,
    /// The HSEC key is held by the cryptographic feature (sticky until `platform hsec-license-release`).
    pub hsec_in_use: bool,
    pub ledger: Ledger,
    pub first_use: BTreeMap<PolicyClass, Timestamp>,
    pub pending_changes: Vec<(Timestamp, PolicyClass)>,
    pub last_ack: Option<Timestamp>,
    pub last_push: Option<Timestamp>,
    pub last_file_write: Option<Timestamp>,
    /// The last overdue reminder logged (`%SMART_LIC-6-REPORTING_REQUIRED` past `Next ACK
    /// deadline`), so each is logged once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue_reminded: Option<Timestamp>,
    pub account: Option<AccountInfo>,
    /// The authority key pinned when the first signed document from it was installed, or at
    /// `init --authority-key`.
    pub authority_key: Option<String>,
    /// The key pinned at `init --authority-key`, as if installed at the factory: a factory
    /// reset keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factory_authority_key: Option<String>,
    pub policy: Option<InstalledPolicy>,
    /// Trust codes by UDI text.
    pub trust: BTreeMap<String, TrustInstalled>,
    pub factory_trust: bool,
    /// SLACs by UDI text.
    pub authorizations: BTreeMap<String, InstalledAuthorization>,
    pub pending_auth_request: Option<PendingAuthRequest>,
    /// SLAC returns (`authorization return … online`) not yet delivered, oldest first: one
    /// signed `<smartLicense>` document per unit, each sent at the next contact until the peer
    /// takes or refuses it. A later return never replaces an earlier one. (Older state files
    /// hold one document or none here.)
    #[serde(default, deserialize_with = "one_or_many")]
    pub pending_auth_return: Vec<String>,
    pub last_return_code: BTreeMap<String, String>,
    /// Ids of SLACs returned from this device: a copy imported again is not reinstalled.
    #[serde(default)]
    pub returned_codes: std::collections::BTreeSet<String>,
    pub events: Vec<LoggedEvent>,
    pub history: Vec<ImportedMessage>,
    /// An answer awaited after `OK_POLL`.
    #[serde(default)]
    pub pending_poll: Option<PendingPoll>,
    #[serde(default)]
    pub comm: CommState,
    /// Every exchange with the peer, counted for tech support's `Communication Statistics:`.
    #[serde(default)]
    pub comm_stats: crate::agent::stats::CommStats,
    /// The licensing model before Smart Licensing Using Policy, and what the upgrade carried
    /// over ([`crate::migration`]).
    #[serde(default, skip_serializing_if = "crate::migration::MigrationState::is_empty")]
    pub migration: crate::migration::MigrationState,
}

/// A list written as a list, or by older versions as one value or `null`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<String>),
        One(Option<String>),
    }
    Ok(match OneOrMany::deserialize(de)? {
        OneOrMany::Many(all) => all,
        OneOrMany::One(one) => one.into_iter().collect(),
    })
}

impl DeviceState {
    pub fn active(&self) -> &Unit {
        // `init` always creates the active first and nothing removes it.
        &self.units[0]
    }

    pub fn hostname(&self) -> &str {
        &self.running.hostname
    }

    pub fn effective_policy(&self) -> Policy {
        self.policy.as_ref().map(|it| it.policy.clone()).unwrap_or_else(Policy::cisco_default)
    }
}

/// The state directory: `state.json` and the `bootflash/` folder.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn state_file(&self) -> PathBuf {
        self.root.join(STATE_FILE)
    }

    pub fn exists(&self) -> bool {
        self.state_file().is_file()
    }

    pub fn load(&self) -> Result<DeviceState, DeviceError> {
        let path = self.state_file();
        let text = fs::read_to_string(&path).map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound {
                DeviceError::NotInitialized { dir: self.root.clone() }
            } else {
                DeviceError::Io { path: path.clone(), source: err }
            }
        })?;
        let state: DeviceState = serde_json::from_str(&text).map_err(|err| {
            DeviceError::CorruptState { path: path.clone(), reason: err.to_string() }
        })?;
        if state.version != STATE_VERSION {
            return Err(DeviceError::CorruptState {
                path,
                reason: format!(
                    "state version {} is not supported (expected {STATE_VERSION})",
                    state.version
                ),
            });
        }
        let mut state = state;
        migrate_passwords(&mut state);
        Ok(state)
    }

    pub fn save(&self, state: &DeviceState) -> Result<(), DeviceError> {
        let text = serde_json::to_string_pretty(state).map_err(|err| {
            DeviceError::CorruptState { path: self.state_file(), reason: err.to_string() }
        })?;
        write_atomic(&self.state_file(), text.as_bytes())
    }

    /// Takes the state directory's writer lock (an advisory `flock` on `DIR/.lock`), waiting while
    /// another process holds it. See [`StateLock`].
    pub fn lock(&self) -> Result<StateLock, DeviceError> {
        let file = self.lock_file()?;
        fs4::FileExt::lock(&file)
            .map_err(|source| DeviceError::Io { path: self.root.join(LOCK_FILE), source })?;
        Ok(self.locked(file))
    }

    /// Takes the writer lock if no other process holds it; `None` when one does.
    pub fn try_lock(&self) -> Result<Option<StateLock>, DeviceError> {
        let file = self.lock_file()?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => Ok(Some(self.locked(file))),
            Err(fs4::TryLockError::WouldBlock) => Ok(None),
            Err(fs4::TryLockError::Error(source)) => {
                Err(DeviceError::Io { path: self.root.join(LOCK_FILE), source })
            }
        }
    }

    fn lock_file(&self) -> Result<fs::File, DeviceError> {
        if !self.exists() {
            return Err(DeviceError::NotInitialized { dir: self.root.clone() });
        }
        let path = self.root.join(LOCK_FILE);
        let mut options = fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(&path).map_err(|source| DeviceError::Io { path, source })
    }

    /// With the lock held, no other process is writing: temporary files are leftovers of a
    /// writer that died before its rename, and may hold secrets.
    fn locked(&self, file: fs::File) -> StateLock {
        if let Ok(entries) = fs::read_dir(&self.root) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') && name.contains(".tmp-") {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        StateLock { _file: file }
    }

    /// Resolves a device path (`bootflash:name`, `flash:name`, or a host path) to a host path.
    /// Device file systems map to folders in the state directory and may not escape them.
    pub fn resolve(&self, device_path: &str) -> Result<PathBuf, DeviceError> {
        let bad = |reason: &str| DeviceError::BadPath {
            path: device_path.to_owned(),
            reason: reason.to_owned(),
        };
        let (fs_name, rest) = match device_path.split_once(':') {
            Some((fs_name, rest))
                if matches!(fs_name, "bootflash" | "flash" | "usbflash0" | "crashinfo") =>
            {
                (fs_name, rest)
            }
            _ => {
                let path = PathBuf::from(device_path);
                if path.is_absolute() {
                    return Ok(path);
                }
                return Err(bad("use bootflash:<name> or an absolute path"));
            }
        };
        let rest = rest.trim_start_matches('/');
        if rest.is_empty() {
            return Err(bad("no file name"));
        }
        let relative = Path::new(rest);
        if relative.components().any(|it| !matches!(it, std::path::Component::Normal(_))) {
            return Err(bad("the path leaves the device file system"));
        }
        let folder = if fs_name == "flash" { BOOTFLASH } else { fs_name };
        let path = self.root.join(folder).join(relative);
        self.check_contained(&path).map_err(|reason| bad(&reason))?;
        Ok(path)
    }

    /// Refuses a path whose canonical form (symbolic links followed, in any folder or as the
    /// file itself) leaves the state directory. The part of the path that does not exist yet
    /// cannot hold a link, so its deepest existing ancestor is what is resolved.
    fn check_contained(&self, path: &Path) -> Result<(), String> {
        let Ok(root) = fs::canonicalize(&self.root) else {
            // No state directory: nothing inside it can lead out.
            return Ok(());
        };
        let mut existing = path.to_path_buf();
        while fs::symlink_metadata(&existing).is_err() {
            if !existing.pop() {
                return Ok(());
            }
        }
        let canonical = fs::canonicalize(&existing)
            .map_err(|_| format!("{} is a symbolic link that leads nowhere", existing.display()))?;
        if canonical.starts_with(&root) {
            Ok(())
        } else {
            Err(format!(
                "the path leaves the state directory {} through a symbolic link (to {})",
                self.root.display(),
                canonical.display()
            ))
        }
    }
}

/// The file whose `flock` is the state directory's writer lock.
pub const LOCK_FILE: &str = ".lock";

/// The state directory's writer lock: held by `slp device run` for its lifetime and by each
/// local `exec`/`shell` command, so there is never a second writer of `state.json`. The kernel
/// releases it when its holder exits, even by a kill. Advisory: it binds slp processes only.
#[derive(Debug)]
pub struct StateLock {
    _file: fs::File,
}

/// Replaces plain passwords of an earlier state version by their type 9 secrets.
fn migrate_passwords(state: &mut DeviceState) {
    for config in [&mut state.running, &mut state.startup] {
        for secret in config.users.values_mut() {
            if !crate::secret::is_type9(secret) {
                *secret = crate::secret::type9(secret);
            }
        }
    }
}

/// Creates a directory (and its missing parents) that only its owner may enter (0700).
pub fn create_private_dir(path: &Path) -> Result<(), DeviceError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(|source| DeviceError::Io { path: path.to_owned(), source })
}

/// Writes a file so that readers see the old or the new content, never a mix. The file is
/// readable by its owner only (0600) and a folder it needs is created 0700: device files hold
/// the device key, secrets and tokens.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DeviceError> {
    let io = |source| DeviceError::Io { path: path.to_owned(), source };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    slp_host::write_private(path, bytes).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_automatic_of_an_older_state_reads_as_cslu() {
        let read: Transport = serde_json::from_str("\"Automatic\"").unwrap();
        assert_eq!(read, Transport::Cslu);
        assert_eq!(serde_json::to_string(&read).unwrap(), "\"Cslu\"");
    }

    #[test]
    fn device_paths_stay_inside_the_state_directory() {
        let dir = StateDir::new("/tmp/dev");
        assert_eq!(
            dir.resolve("bootflash:all_rum.txt").unwrap(),
            PathBuf::from("/tmp/dev/bootflash/all_rum.txt")
        );
        assert_eq!(
            dir.resolve("flash:x/y.txt").unwrap(),
            PathBuf::from("/tmp/dev/bootflash/x/y.txt")
        );
        assert_eq!(dir.resolve("/abs/ack.txt").unwrap(), PathBuf::from("/abs/ack.txt"));
        for bad in ["bootflash:../state.json", "bootflash:a/../../x", "bootflash:", "relative.txt"]
        {
            assert!(dir.resolve(bad).is_err(), "{bad}");
        }
    }
}

/// An answer the device is waiting for (`OK_POLL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPoll {
    pub poll_id: String,
    pub url: String,
    pub since: Timestamp,
    pub poll_after: Timestamp,
}

/// Communication health, for COMM_FAILED / COMM_RESTORED and retries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommState {
    /// When the failing exchange was scheduled.
    pub scheduled: Option<Timestamp>,
    pub failing_since: Option<Timestamp>,
    pub next_retry: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// The default CSLU URL (`no license smart url cslu`).
pub const DEFAULT_CSLU_URL: &str = "http://cslu-local:8182/cslu/v1/pi";
/// The default smart URL (`license smart url default` with transport smart).
pub const DEFAULT_SMART_URL: &str = "https://smartreceiver.cisco.com/licservice/license";
pub const DEFAULT_CALLHOME_URL: &str =
    "https://tools.cisco.com/its/service/oddce/services/DDCEService";
