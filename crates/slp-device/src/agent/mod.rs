//! What the product instance does. Every operation loads nothing and saves nothing by itself:
//! the caller opens a [`Device`], runs operations, and calls [`Device::save`]. An operation that
//! fails leaves the in-memory state untouched, so the caller can keep going with the next
//! command (as a real CLI does) and save.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use chrono::Duration;
use rand::Rng;
use slp_core::Timestamp;
use slp_core::ack::{self, Ack};
use slp_core::deadline::{self, Facts};
use slp_core::ledger::{CloseReason, Ledger, Report, Selection};
use slp_core::license::{self, Enforcement, Term};
use slp_core::policy::PolicyClass;
use slp_core::udi::{HaRole, Udi};
use slp_wire::docs::{
    self, AuthRequestItem, AuthReturn, DeviceEntry, Key, SystemInfo, TrustRequest,
};
use slp_wire::keys::KeyPair;
use slp_wire::rum::{self, HaUdi, ReportInput, Sudi};
use slp_wire::xml::{Document, Kind};

mod families;
pub mod stats;
mod sync;

pub use sync::{Conversation, Exchange};

use crate::DeviceError;
use crate::messages::Message;
use crate::state::{
    AccountInfo, Config, DeviceState, Entitlement, ImportedMessage, InstalledAuthorization,
    InstalledPolicy, LoggedEvent, PendingAuthRequest, STATE_VERSION, StateDir, Transport,
    TrustInstalled, Unit, write_atomic,
};

/// The software tag every slp-simulated Catalyst 9300 reports (ISO 19770-2 style).
pub const SOFTWARE_TAG: &str =
    "regid.2017-05.com.cisco.C9300,v1_727af1d9-6c39-4444-b301-863f81445b72";

/// How to create a device.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub pid: String,
    pub sn: String,
    pub hostname: String,
    pub version: String,
    pub standby: Vec<Udi>,
    pub members: Vec<Udi>,
    pub boot_level: String,
    pub factory_trust: bool,
    /// The authority key (base64) to pin from the start, as a real device ships with its
    /// vendor's root: then even the first document imported must be signed by it. `None`: the
    /// first signed document installed pins its key.
    pub authority_key: Option<String>,
}

/// Overdue reminders come once a day.
pub const REMINDER_INTERVAL: Duration = Duration::days(1);
/// At most this many overdue reminders are caught up on at once.
pub const MAX_MISSED_REMINDERS: i64 = 30;

/// The largest file `license smart import` reads. An ACK for thousands of reports is a few MiB.
pub const MAX_IMPORT_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a file to import: a regular file (not a device, pipe or folder) of at most
/// [`MAX_IMPORT_BYTES`], as UTF-8 text. `device_path` is the name the user gave, for errors.
fn read_import_file(path: &Path, device_path: &str) -> Result<String, DeviceError> {
    use std::io::Read;
    let refuse = |why: String| DeviceError::Refused(format!("% Error: {device_path}: {why}"));
    let io = |source| DeviceError::Io { path: path.to_owned(), source };
    // Look before opening: opening a named pipe would wait for a writer.
    let meta = fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(refuse("not a regular file; import reads files only".to_owned()));
    }
    let file = fs::File::open(path).map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(refuse("not a regular file; import reads files only".to_owned()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_IMPORT_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_IMPORT_BYTES {
        return Err(refuse(format!(
            "larger than {} MiB, the most an import reads",
            MAX_IMPORT_BYTES / 1024 / 1024
        )));
    }
    String::from_utf8(bytes).map_err(|_| refuse("not UTF-8 text".to_owned()))
}

/// An open device: its state directory, its state and the time of the operation.
pub struct Device {
    pub dir: StateDir,
    pub state: DeviceState,
    pub now: Timestamp,
    key: KeyPair,
    /// Set while the answer to this device's own trust request (`trust idtoken … force`) is
    /// installed: the trust code it asked for installs even if the same one is installed.
    pub(crate) answering_trust_request: bool,
}

pub use crate::state::{DEFAULT_CALLHOME_URL, DEFAULT_CSLU_URL, DEFAULT_SMART_URL};

impl Config {
    fn factory(hostname: &str, boot_level: &str) -> Config {
        Config {
            hostname: hostname.to_owned(),
            boot_level: Some(boot_level.to_owned()),
            boot_addon: None,
            transport: Transport::Cslu,
            url_cslu: None,
            url_smart: None,
            url_callhome: None,
            proxy_address: None,
            proxy_port: None,
            usage_interval: None,
            privacy_hostname: false,
            privacy_version: false,
            ipsec_tunnels: BTreeSet::new(),
            tunnels: BTreeSet::new(),
            users: Default::default(),
            settings: Default::default(),
        }
    }
}

/// `17.9.4` → `17.09.04`, the form RUM reports and `show version` use.
pub fn long_version(version: &str) -> String {
    let parts: Vec<String> = version
        .split('.')
        .enumerate()
        .map(
            |(idx, part)| {
                if idx > 0 && part.len() == 1 { format!("0{part}") } else { part.to_owned() }
            },
        )
        .collect();
    parts.join(".")
}

fn random_code(groups: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    (0..groups)
        .map(|_| {
            (0..6).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

use slp_core::text::rfc3339;

/// Builds the closure that signs a report at the moment the ledger closes it.
fn signer<'a>(key: &'a KeyPair, state: &DeviceState) -> impl FnMut(&Report) -> String + 'a {
    let active = state.active().udi.clone();
    let ha_udi: Vec<HaUdi> = state
        .units
        .iter()
        .map(|u| HaUdi { role: u.role.as_str().to_owned(), sudi: Sudi::of(&u.udi) })
        .collect();
    let version = (!state.running.privacy_version).then(|| long_version(&state.software_version));
    let software_tag = state.software_tag.clone();
    move |report: &Report| {
        let end = report.end.unwrap_or(report.start);
        let mut input = ReportInput {
            report_id: report.id,
            udi: active.clone(),
            software_tag: software_tag.clone(),
            entitlement_tag: report.entitlement_tag.clone(),
            software_version: version.clone(),
            ha_udi: ha_udi.clone(),
            measurements: vec![rum::Measurement {
                log_time: end.timestamp(),
                start_time: report.start.timestamp(),
                end_time: end.timestamp(),
                count: report.count,
                termination_reason: report.close_reason.map(|r| r.as_str().to_owned()),
            }],
        };
        if report.ended {
            // The chain ends: the license is no longer in use. The last measurement says so,
            // so that usage counted from the latest report (the authority's In Use) drops to 0.
            input.measurements.push(rum::Measurement {
                log_time: end.timestamp(),
                start_time: end.timestamp(),
                end_time: end.timestamp(),
                count: 0,
                termination_reason: report.close_reason.map(|r| r.as_str().to_owned()),
            });
        }
        rum::sign_report(&input, key)
    }
}

impl Device {
    /// Creates a new device in an empty state directory.
    pub fn init(
        dir: StateDir,
        options: &InitOptions,
        now: Timestamp,
    ) -> Result<Device, DeviceError> {
        if dir.exists() {
            return Err(DeviceError::AlreadyInitialized { dir: dir.root().to_owned() });
        }
        if !license::BOOT_LEVELS.contains(&options.boot_level.as_str()) {
            return Err(DeviceError::Refused(format!(
                "unknown boot level {:?}: expected one of {}",
                options.boot_level,
                license::BOOT_LEVELS.join(", ")
            )));
        }
        let mut units =
            vec![Unit { role: HaRole::Active, udi: Udi::new(&options.pid, &options.sn)? }];
        units.extend(
            options.standby.iter().map(|udi| Unit { role: HaRole::Standby, udi: udi.clone() }),
        );
        units.extend(
            options.members.iter().map(|udi| Unit { role: HaRole::Member, udi: udi.clone() }),
        );
        let mut seen = BTreeSet::new();
        for unit in &units {
            if !seen.insert(unit.udi.to_string()) {
                return Err(DeviceError::Refused(format!("UDI {} is given twice", unit.udi)));
            }
        }
        families::check_units(units.iter().map(|u| &u.udi), &[Some(options.boot_level.as_str())])?;
        let software_tag = license::family_of(&options.pid)
            .map_or(SOFTWARE_TAG, |family| family.software_tag)
            .to_owned();
        let key = KeyPair::generate();
        let config = Config::factory(&options.hostname, &options.boot_level);
        let state = DeviceState {
            version: STATE_VERSION,
            software_version: options.version.clone(),
            software_tag,
            units,
            key_secret: key.secret_b64(),
            running: config.clone(),
            startup: config,
            boot_level: Some(options.boot_level.clone()),
            boot_addon: None,
            booted_at: now,
            reloads: 0,
            hsec_in_use: false,
            ledger: Ledger::default(),
            first_use: Default::default(),
            pending_changes: Vec::new(),
            last_ack: None,
            last_push: None,
            last_file_write: None,
            overdue_reminded: None,
            account: None,
            authority_key: options.authority_key.clone(),
            factory_authority_key: options.authority_key.clone(),
            policy: None,
            trust: Default::default(),
            factory_trust: options.factory_trust,
            authorizations: Default::default(),
            pending_auth_request: None,
            pending_auth_return: Vec::new(),
            returned_codes: Default::default(),
            last_return_code: Default::default(),
            events: Vec::new(),
            history: Vec::new(),
            pending_poll: None,
            comm: Default::default(),
            comm_stats: Default::default(),
            migration: Default::default(),
        };
        crate::state::create_private_dir(&dir.root().join(crate::state::BOOTFLASH))?;
        let mut device = Device { dir, state, now, key, answering_trust_request: false };
        device.refresh_usage();
        device.save()?;
        Ok(device)
    }

    /// Opens an existing device.
    pub fn open(dir: StateDir, now: Timestamp) -> Result<Device, DeviceError> {
        let state = dir.load()?;
        let key = KeyPair::from_secret_b64(&state.key_secret, "device key").map_err(|source| {
            DeviceError::Wire { file: dir.state_file().display().to_string(), error: source }
        })?;
        let mut device = Device { dir, state, now, key, answering_trust_request: false };
        // A state of an earlier slp release may hold chains under tags slp no longer knows
        // (made-up ones): they end now and the units' licenses go on under their family's tags.
        let stale =
            device.state.ledger.open_tags().iter().any(|(_, tag)| license::by_tag(tag).is_none());
        if stale {
            device.refresh_usage();
        }
        Ok(device)
    }

    pub fn save(&self) -> Result<(), DeviceError> {
        self.dir.save(&self.state)
    }

    pub fn public_key(&self) -> String {
        self.key.public_b64()
    }

    /// Records a system message in the event log.
    pub fn log(&mut self, message: Message<'_>) -> String {
        self.log_at(self.now, message)
    }

    /// Records a system message that was due at `at` (a reminder the device catches up on).
    fn log_at(&mut self, at: Timestamp, message: Message<'_>) -> String {
        let text = message.text();
        tracing::info!(device.udi = %self.state.active().udi, "{text}");
        self.state.events.push(LoggedEvent { at, text: text.clone() });
        text
    }

    /// Past `Next ACK deadline` with no ACK: the reminders due up to now, logged at the times
    /// they were due, and returned. The guide's product instance "provides alerts and system
    /// messages about overdue reports" ("Product Instance"); its one message about the
    /// requirement is `%SMART_LIC-6-REPORTING_REQUIRED: A Usage report acknowledgement will be
    /// required in [dec] days.`, "[dec] is the amount of time (in days) left to meet this
    /// reporting requirement" ("System Messages"). Overdue, none is left: the device logs it
    /// with 0 days at the deadline and again once a day until an ACK moves the deadline. A
    /// device that was not asked for a long time logs the last [`MAX_MISSED_REMINDERS`] only.
    /// The scheduler of a running device calls this at every step, the CLI before every command.
    pub fn remind_overdue(&mut self) -> Vec<String> {
        let Some(deadline) = self.next_ack_deadline() else { return Vec::new() };
        if deadline > self.now {
            return Vec::new();
        }
        let mut at = match self.state.overdue_reminded {
            Some(last) if last >= deadline => last + REMINDER_INTERVAL,
            _ => deadline,
        };
        let due = (self.now - at).num_days() + 1;
        if due > MAX_MISSED_REMINDERS {
            at += Duration::days(due - MAX_MISSED_REMINDERS);
        }
        let mut lines = Vec::new();
        while at <= self.now {
            lines.push(self.log_at(at, Message::ReportingRequired { days: 0 }));
            self.state.overdue_reminded = Some(at);
            at += REMINDER_INTERVAL;
        }
        lines
    }

    // ---- usage ------------------------------------------------------------------------------

    /// Brings the ledger in line with current usage; every change is a report-on-change trigger.
    pub fn refresh_usage(&mut self) -> bool {
        // (feature, tag, count, policy class) per entitlement tag.
        let mut usage: Vec<(String, String, u64, PolicyClass)> = self
            .current_usage()
            .into_iter()
            .map(|(info, count)| {
                let class = PolicyClass::of(info.enforcement, info.term);
                (info.feature.to_owned(), info.entitlement_tag.to_owned(), count, class)
            })
            .collect();
        // A license whose chain is open but that nothing uses any more (the last unit of its
        // family left the stack; a tag of an earlier slp release) falls to 0.
        for (feature, tag) in self.state.ledger.open_tags() {
            if usage.iter().any(|(_, seen, _, _)| *seen == tag) {
                continue;
            }
            let class = license::by_tag(&tag)
                .or_else(|| license::lookup(&feature))
                .map_or(PolicyClass::of(Enforcement::Unenforced, Term::Perpetual), |info| {
                    PolicyClass::of(info.enforcement, info.term)
                });
            usage.push((feature, tag, 0, class));
        }
        let now = self.now;
        let mut changed_classes = Vec::new();
        {
            let mut sign = signer(&self.key, &self.state);
            for (feature, tag, count, class) in &usage {
                if self.state.ledger.set_usage(feature, tag, *count, now, &mut sign) {
                    changed_classes.push((*class, *count));
                    let text =
                        format!("SAEVT_ENDPOINT_USAGE count=\"{count}\" entitlementTag=\"{tag}\"");
                    self.state.events.push(LoggedEvent { at: now, text });
                }
            }
        }
        for (class, count) in &changed_classes {
            if *count > 0 {
                self.state.first_use.entry(*class).or_insert(now);
            }
            self.add_trigger(*class);
        }
        if !changed_classes.is_empty() {
            self.alert_reporting_required();
        }
        !changed_classes.is_empty()
    }

    fn add_trigger(&mut self, class: PolicyClass) {
        let now = self.now;
        if !self.state.pending_changes.contains(&(now, class)) {
            self.state.pending_changes.push((now, class));
        }
    }

    /// An HA event, a reload or a switchover: a reporting trigger for every license in use.
    fn trigger_all_in_use(&mut self) {
        for class in self.classes_in_use() {
            self.add_trigger(class);
        }
    }

    fn alert_reporting_required(&mut self) {
        if let Some(deadline) = self.next_ack_deadline() {
            // Days left; none once the deadline has passed.
            let days = (deadline - self.now).num_days().max(0);
            self.log(Message::ReportingRequired { days });
        }
    }

    /// Classes of the licenses in use now.
    pub fn classes_in_use(&self) -> Vec<PolicyClass> {
        let mut classes: Vec<PolicyClass> = self
            .current_usage()
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(info, _)| PolicyClass::of(info.enforcement, info.term))
            .collect();
        classes.sort();
        classes.dedup();
        classes
    }

    /// Classes with a closed report still waiting for its ACK.
    fn classes_unacknowledged(&self) -> Vec<PolicyClass> {
        let mut classes: Vec<PolicyClass> = self
            .state
            .ledger
            .reports
            .values()
            .filter(|r| r.in_storage())
            .filter_map(|r| {
                license::by_tag(&r.entitlement_tag).or_else(|| license::lookup(&r.feature))
            })
            .map(|info| PolicyClass::of(info.enforcement, info.term))
            .collect();
        classes.sort();
        classes.dedup();
        classes
    }

    fn with_facts<T>(&self, f: impl FnOnce(&Facts<'_>) -> T) -> T {
        let policy = self.state.effective_policy();
        let in_use = self.classes_in_use();
        let unacknowledged = self.classes_unacknowledged();
        let facts = Facts {
            policy: &policy,
            in_use: &in_use,
            unacknowledged: &unacknowledged,
            first_use: &self.state.first_use,
            last_ack: self.state.last_ack,
            pending_changes: &self.state.pending_changes,
            // A usage file written for an air-gapped upload is this device's report too.
            last_push: self.state.last_push.max(self.state.last_file_write),
            usage_interval: self.state.running.usage_interval,
            transport_off: self.state.running.transport == Transport::Off,
        };
        f(&facts)
    }

    pub fn next_ack_deadline(&self) -> Option<Timestamp> {
        self.with_facts(deadline::next_ack_deadline)
    }

    pub fn next_report_push(&self) -> Option<Timestamp> {
        self.with_facts(deadline::next_report_push)
    }

    pub fn push_interval_days(&self) -> u32 {
        self.with_facts(deadline::push_interval_days)
    }

    // ---- configuration and reload ---------------------------------------------------------

    /// `reload`: the startup configuration becomes the running one and boot levels take effect.
    pub fn reload(&mut self) {
        let now = self.now;
        // Every open report closes at the reload; those of licenses the reloaded product does
        // not use end their chain.
        let startup = &self.state.startup;
        let hsec_next = !startup.ipsec_tunnels.is_empty() && self.hsec_authorized();
        let after: Vec<String> = self
            .usage_with([startup.boot_level.as_deref(), startup.boot_addon.as_deref()], hsec_next)
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(info, _)| info.entitlement_tag.to_owned())
            .collect();
        {
            let mut sign = signer(&self.key, &self.state);
            let ends = |tag: &str| !after.iter().any(|t| t == tag);
            self.state.ledger.close_open_ending(CloseReason::ProductReload, now, &ends, &mut sign);
        }
        self.state.running = self.state.startup.clone();
        self.state.boot_level = self.state.startup.boot_level.clone();
        self.state.boot_addon = self.state.startup.boot_addon.clone();
        self.state.booted_at = now;
        self.state.reloads += 1;
        self.state.hsec_in_use = hsec_next;
        if !self.state.hsec_in_use {
            self.state.running.ipsec_tunnels.clear();
        }
        self.refresh_usage();
        // A reload is a reporting trigger in itself (reference: "Product Instance Functions").
        self.trigger_all_in_use();
    }

    /// `redundancy force-switchover`: the standby becomes the active. A switchover is a reporting
    /// trigger; the new active reports for every unit from now on.
    pub fn switchover(&mut self) -> Result<String, DeviceError> {
        let standby =
            self.state.units.iter().position(|u| u.role == HaRole::Standby).ok_or_else(|| {
                DeviceError::Refused("% Error: there is no standby to switch over to".to_owned())
            })?;
        self.state.units[0].role = HaRole::Standby;
        self.state.units[standby].role = HaRole::Active;
        self.state.units.swap(0, standby);
        {
            let mut sign = signer(&self.key, &self.state);
            self.state.ledger.close_open(CloseReason::CurrentUsageRequested, self.now, &mut sign);
        }
        self.trigger_all_in_use();
        Ok(format!("Switchover complete: the active is now {}", self.state.active().udi))
    }

    /// A unit joins the HA set (stack merge, a new standby). Its license use is counted and the
    /// change triggers a report; without a trust code it gets one through the next report.
    pub fn add_unit(&mut self, role: HaRole, udi: Udi) -> Result<(), DeviceError> {
        if role == HaRole::Active {
            return Err(DeviceError::Refused(
                "% Error: a joining unit is a standby or a member".to_owned(),
            ));
        }
        if self.state.units.iter().any(|u| u.udi == udi) {
            return Err(DeviceError::Refused(format!("% Error: {udi} is already in the stack")));
        }
        if role == HaRole::Standby && self.state.units.iter().any(|u| u.role == HaRole::Standby) {
            return Err(DeviceError::Refused(
                "% Error: the stack already has a standby".to_owned(),
            ));
        }
        families::check_units(
            [&udi],
            &[self.state.boot_level.as_deref(), self.state.boot_addon.as_deref()],
        )?;
        self.state.units.push(Unit { role, udi });
        self.refresh_usage();
        self.trigger_all_in_use();
        Ok(())
    }

    /// A unit leaves the HA set (stack split, a standby removed).
    pub fn remove_unit(&mut self, udi: &Udi) -> Result<(), DeviceError> {
        let idx =
            self.state.units.iter().position(|u| &u.udi == udi).ok_or_else(|| {
                DeviceError::Refused(format!("% Error: {udi} is not in the stack"))
            })?;
        if idx == 0 {
            return Err(DeviceError::Refused(
                "% Error: the active cannot leave; switch over first".to_owned(),
            ));
        }
        self.state.units.remove(idx);
        self.refresh_usage();
        self.trigger_all_in_use();
        Ok(())
    }

    /// Whether the active has a SLAC for the HSEC key.
    pub fn hsec_authorized(&self) -> bool {
        let active = self.state.active().udi.to_string();
        self.state.authorizations.get(&active).is_some_and(|auth| {
            auth.entitlements.iter().any(|e| e.feature == "hseck9" && e.count > 0)
        })
    }

    /// `tunnel mode ipsec ipv4` under `interface <tunnel>`: uses the HSEC key, which needs a SLAC.
    pub fn enable_ipsec(&mut self, tunnel: &str) -> Result<(), DeviceError> {
        let pid = &self.state.active().udi.pid;
        if crate::platform::hsec_feature(pid) != Some(crate::platform::CryptoFeature::Ipsec) {
            return Err(DeviceError::Refused(format!(
                "% IPsec with the HSECK9 license is not supported on {pid}: it is offered on {} only",
                crate::platform::IPSEC_PLATFORMS
            )));
        }
        if !self.hsec_authorized() {
            let active = self.state.active().udi.to_string();
            return Err(DeviceError::Refused(format!(
                "% IPsec requires the HSECK9 license: no authorization code (SLAC) for hseck9 is installed on {active}"
            )));
        }
        self.state.running.ipsec_tunnels.insert(tunnel.to_owned());
        self.state.hsec_in_use = true;
        self.refresh_usage();
        Ok(())
    }

    /// `no tunnel mode ipsec ipv4`: the feature stops, the key stays held until released.
    pub fn disable_ipsec(&mut self, tunnel: &str) {
        self.state.running.ipsec_tunnels.remove(tunnel);
    }

    /// `platform hsec-license-release` (IPsec) or `platform wanmacsec hsec-license-release`
    /// (WAN MACsec), in global configuration mode: marks the HSECK9 key NOT IN USE once the
    /// feature is disabled.
    pub fn hsec_release(&mut self) -> Result<(), DeviceError> {
        if let Some(tunnel) = self.state.running.ipsec_tunnels.iter().next() {
            return Err(DeviceError::Refused(format!(
                "% HSECK9 key is in use by the cryptographic feature on {tunnel}: disable it first (no tunnel mode ipsec ipv4)"
            )));
        }
        self.state.hsec_in_use = false;
        self.refresh_usage();
        Ok(())
    }

    // ---- files ----------------------------------------------------------------------------

    /// The hostname a message names: `None` when hostname privacy is on.
    fn reported_hostname(&self) -> Option<String> {
        (!self.state.running.privacy_hostname).then(|| self.state.hostname().to_owned())
    }

    fn system_info(&self) -> slp_wire::xml::Signed {
        let hostname = self.reported_hostname();
        let info = SystemInfo {
            sudi: Sudi::of(&self.state.active().udi),
            timestamp: self.now.timestamp_millis(),
            nonce: random_code(3).replace('-', ""),
            hostname: hostname.clone(),
            software_tag_identifier: self.state.software_tag.clone(),
            software_version: (!self.state.running.privacy_version)
                .then(|| long_version(&self.state.software_version)),
            public_key: self.key.public_b64(),
            device_list: self
                .state
                .units
                .iter()
                .map(|u| DeviceEntry {
                    sudi: Sudi::of(&u.udi),
                    role: u.role.as_str().to_owned(),
                    software_tag_identifier: self.state.software_tag.clone(),
                    hostname: hostname.clone(),
                })
                .collect(),
        };
        docs::sign_json(Kind::SystemInfo, &info, &self.key)
    }

    fn write_device_file(&self, device_path: &str, doc: &Document) -> Result<(), DeviceError> {
        let path = self.dir.resolve(device_path)?;
        write_atomic(&path, doc.to_xml().as_bytes())
    }

    /// Closes the open reports so current usage can be collected (`close-reports`), and builds
    /// the `<smartLicense>` document of the selected reports with the system information and a
    /// trust-code request for every unit without a trust code. Returns the next ledger (not yet
    /// applied), the document and the ids it carries.
    pub(crate) fn usage_document(
        &self,
        selection: Selection,
    ) -> Result<(Ledger, Document, Vec<u64>), DeviceError> {
        let mut next = self.state.ledger.clone();
        {
            let mut sign = signer(&self.key, &self.state);
            next.close_open(CloseReason::CurrentUsageRequested, self.now, &mut sign);
        }
        let reports: Vec<(u64, String)> = next
            .select(selection, self.now)
            .into_iter()
            .filter_map(|r| r.envelope.clone().map(|e| (r.id, e)))
            .collect();
        if let Selection::ReportId(id) = selection
            && reports.is_empty()
        {
            return Err(DeviceError::Refused(format!(
                "% Error: RUM report {id} is not stored on this device"
            )));
        }
        let mut doc = Document {
            reports: reports.iter().map(|(_, e)| e.clone()).collect(),
            items: vec![self.system_info()],
        };
        for unit in &self.state.units {
            if !self.state.trust.contains_key(&unit.udi.to_string()) {
                let request = TrustRequest {
                    sudi: Sudi::of(&unit.udi),
                    public_key: self.key.public_b64(),
                    nonce: random_code(3).replace('-', ""),
                    timestamp: rfc3339(self.now),
                };
                doc.items.push(docs::sign_json(Kind::TrustRequest, &request, &self.key));
            }
        }
        let ids = reports.iter().map(|(id, _)| *id).collect();
        Ok((next, doc, ids))
    }

    /// System information and a signed trust request for each of `units`.
    pub(crate) fn trust_document(&self, units: &[Udi]) -> Document {
        let mut doc = Document { reports: Vec::new(), items: vec![self.system_info()] };
        for udi in units {
            let request = TrustRequest {
                sudi: Sudi::of(udi),
                public_key: self.key.public_b64(),
                nonce: random_code(3).replace('-', ""),
                timestamp: rfc3339(self.now),
            };
            doc.items.push(docs::sign_json(Kind::TrustRequest, &request, &self.key));
        }
        doc
    }

    /// `license smart save usage {all|unreported|days N|rum-id N} file <path>`. The file carries
    /// the selected reports (open ones are closed first so current usage is included), the
    /// system information, and a trust-code request for every unit without a trust code.
    pub fn save_usage(
        &mut self,
        selection: Selection,
        device_path: &str,
    ) -> Result<usize, DeviceError> {
        let path = self.dir.resolve(device_path)?;
        let (mut next, doc, ids) = self.usage_document(selection)?;
        write_atomic(&path, doc.to_xml().as_bytes())?;
        next.mark_pending(&ids);
        self.state.ledger = next;
        self.state.last_file_write = Some(self.now);
        Ok(ids.len())
    }

    /// Collection through the management API (relay or controller pull): the same document as a
    /// saved file; the reports become UNACK (read at least once, not acknowledged).
    pub fn collect_usage(&mut self, selection: Selection) -> Result<Document, DeviceError> {
        let (mut next, doc, ids) = self.usage_document(selection)?;
        next.mark_read(&ids);
        self.state.ledger = next;
        Ok(doc)
    }

    /// `POST /smartlic-service/close-reports`: closes open reports so current usage is collectable.
    pub fn close_reports(&mut self) -> usize {
        let mut sign = signer(&self.key, &self.state);
        self.state.ledger.close_open(CloseReason::CurrentUsageRequested, self.now, &mut sign).len()
    }

    // ---- import ---------------------------------------------------------------------------

    /// `license smart import <path>`: installs an ACK, policy, trust codes and SLACs, all or
    /// nothing. Every signed item must verify against the authority key it names, and that key
    /// must be the one pinned by the first import.
    pub fn import(&mut self, device_path: &str) -> Result<Vec<String>, DeviceError> {
        let path = self.dir.resolve(device_path)?;
        let text = read_import_file(&path, device_path)?;
        self.import_text(&text, device_path)
    }

    /// Imports a document received some other way (the management API); `source` names it in errors.
    pub fn import_text(&mut self, text: &str, source: &str) -> Result<Vec<String>, DeviceError> {
        let device_path = source;
        let file = device_path.to_owned();
        let wire = |error| DeviceError::Wire { file: file.clone(), error };
        let doc = Document::parse(text).map_err(wire)?;
        if !doc.reports.is_empty()
            || doc.of(Kind::AuthRequest).next().is_some()
            || doc.of(Kind::TrustRequest).next().is_some()
        {
            return Err(DeviceError::Refused(format!(
                "% Error: {device_path} holds usage reports or requests to upload to the authority, not an ACK or code to import"
            )));
        }
        match self.plan_import(&doc) {
            Ok(plan) if plan.is_empty() => Ok(vec![format!(
                "% Nothing new in {device_path}: it names no report waiting for an ACK and no policy, trust code or authorization code other than those installed (a replayed or older answer); nothing changed"
            )]),
            Ok(plan) => Ok(self.apply_import(plan)),
            Err(failure) => {
                let text = self.log(failure.message());
                Err(DeviceError::Refused(format!("{text}\n% Import failed: {}", failure.reason)))
            }
        }
    }

    fn plan_import(&self, doc: &Document) -> Result<ImportPlan, ImportFailure> {
        let active = self.state.active().udi.to_string();
        let mut plan = ImportPlan::default();
        let mut authority: Option<String> = self.state.authority_key.clone();
        let pinned_how = if self.state.factory_authority_key.is_some()
            && self.state.factory_authority_key == self.state.authority_key
        {
            "pinned at init"
        } else {
            "pinned at its first import"
        };
        let mut check_key = |kind: Kind, key: &str, udi: &str| -> Result<(), ImportFailure> {
            match &authority {
                Some(pinned) if pinned != key => {
                    let id = |k: &str| slp_wire::keys::key_id(k).unwrap_or_else(|_| "?".to_owned());
                    Err(ImportFailure::new(
                        kind,
                        udi,
                        format!(
                            "the document is signed by an authority this device does not trust (authority key {}; the device trusts authority key {}, {pinned_how}): check where the file came from",
                            id(key),
                            id(pinned)
                        ),
                    ))
                }
                Some(_) => Ok(()),
                None => {
                    authority = Some(key.to_owned());
                    Ok(())
                }
            }
        };
        let unit_udis: Vec<String> = self.state.units.iter().map(|u| u.udi.to_string()).collect();
        for item in &doc.items {
            match item.kind {
                Kind::RumAck => {
                    let ack: docs::RumAck = item
                        .json()
                        .map_err(|e| ImportFailure::new(item.kind, &active, e.to_string()))?;
                    let udi = sudi_text(&ack.sudi);
                    item.verify(&ack.authority_key, "RUM ACK")
                        .map_err(|e| ImportFailure::new(item.kind, &udi, e.to_string()))?;
                    check_key(item.kind, &ack.authority_key, &udi)?;
                    if udi != active {
                        return Err(ImportFailure::new(
                            item.kind,
                            &udi,
                            format!("the ACK is for {udi}, this product instance is {active}"),
                        ));
                    }
                    let issued = issued_time(&ack.issued_at).map_err(|reason| {
                        ImportFailure::new(item.kind, &udi, format!("ACK {}: {reason}", ack.ack_id))
                    })?;
                    plan.acks.push((ack, issued));
                }
                Kind::Policy => {
                    let policy: docs::PolicyDoc = item
                        .json()
                        .map_err(|e| ImportFailure::new(item.kind, &active, e.to_string()))?;
                    item.verify(&policy.authority_key, "policy")
                        .map_err(|e| ImportFailure::new(item.kind, &active, e.to_string()))?;
                    check_key(item.kind, &policy.authority_key, &active)?;
                    let parsed = policy
                        .to_policy()
                        .map_err(|e| ImportFailure::new(item.kind, &active, e.to_string()))?;
                    let issued = issued_time(&policy.issued_at).map_err(|reason| {
                        ImportFailure::new(item.kind, &active, format!("policy: {reason}"))
                    })?;
                    plan.policy = Some((parsed, issued));
                }
                Kind::TrustCode => {
                    let code: docs::TrustCode = item
                        .json()
                        .map_err(|e| ImportFailure::new(item.kind, &active, e.to_string()))?;
                    let udi = sudi_text(&code.sudi);
                    item.verify(&code.authority_key, "trust code")
                        .map_err(|e| ImportFailure::new(item.kind, &udi, e.to_string()))?;
                    check_key(item.kind, &code.authority_key, &udi)?;
                    if !unit_udis.contains(&udi) {
                        return Err(ImportFailure::new(
                            item.kind,
                            &udi,
                            format!("{udi} is not a unit of this product instance"),
                        ));
                    }
                    if code.public_key != self.key.public_b64() {
                        return Err(ImportFailure::new(
                            item.kind,
                            &udi,
                            "the trust code is for another device key".to_owned(),
                        ));
                    }
                    plan.trust.push(code);
                }
                Kind::Authorization => {
                    let code: docs::Authorization = item
                        .json()
                        .map_err(|e| ImportFailure::new(item.kind, &active, e.to_string()))?;
                    let udi = sudi_text(&code.sudi);
                    item.verify(&code.authority_key, "authorization code")
                        .map_err(|e| ImportFailure::new(item.kind, &udi, e.to_string()))?;
                    check_key(item.kind, &code.authority_key, &udi)?;
                    if !unit_udis.contains(&udi) {
                        return Err(ImportFailure::new(
                            item.kind,
                            &udi,
                            format!(
                                "the authorization code is for {udi}, which is not a unit of this product instance"
                            ),
                        ));
                    }
                    if code
                        .entitlements
                        .iter()
                        .any(|g| is_hsec(&g.feature) || is_hsec(&g.entitlement))
                        && !crate::platform::supports_hsec(&code.sudi.udi_pid)
                    {
                        return Err(ImportFailure::new(
                            item.kind,
                            &udi,
                            format!(
                                "the HSECK9 key is not supported on {}: it is offered on {} only",
                                code.sudi.udi_pid,
                                crate::platform::HSEC_PLATFORMS
                            ),
                        ));
                    }
                    plan.authorizations.push(code);
                }
                Kind::SystemInfo | Kind::TrustRequest | Kind::AuthRequest | Kind::AuthReturn => {}
            }
        }
        if plan.is_empty() {
            return Err(ImportFailure::new(
                Kind::RumAck,
                &active,
                "the file holds nothing to import".to_owned(),
            ));
        }
        plan.authority_key = authority;
        self.drop_stale(&mut plan);
        Ok(plan)
    }

    /// Leaves in `plan` only what tells the device something new: ACKs that acknowledge a
    /// report still waiting ([`slp_core::ack`]), a policy other than the installed one and not
    /// issued before it, trust codes and SLACs other than the installed (or returned) ones. A
    /// document that is a replay (or an older copy) of what was installed leaves an empty plan.
    fn drop_stale(&self, plan: &mut ImportPlan) {
        let ledger = &self.state.ledger;
        let last_ack = self.state.last_ack;
        let now = self.now;
        // An answer to a trust request carries an ACK of no report: it names the accounts
        // and rides along with what is new, but is nothing new by itself.
        let (empty, acks): (Vec<_>, Vec<_>) =
            std::mem::take(&mut plan.acks).into_iter().partition(|(ack, _)| ack.reports.is_empty());
        plan.acks = acks;
        plan.acks.retain(|(ack, issued)| {
            let ids = accepted_ids(ack);
            ack::effect(
                ledger,
                last_ack,
                &Ack { id: &ack.ack_id, issued: *issued, reports: &ids },
                now,
            )
            .is_new()
        });
        if let (Some((policy, issued)), Some(installed)) = (&plan.policy, &self.state.policy)
            && (installed.policy == *policy || installed.issued_at.is_some_and(|at| *issued < at))
        {
            plan.policy = None;
        }
        plan.trust.retain(|code| {
            self.answering_trust_request
                || self
                    .state
                    .trust
                    .get(&sudi_text(&code.sudi))
                    .is_none_or(|t| t.trust_id != code.trust_id)
        });
        // A SLAC returned from this device (its key went back to the pool) never comes back
        // by replaying the old code file.
        plan.authorizations.retain(|code| {
            !self.state.returned_codes.contains(&code.code_id)
                && self
                    .state
                    .authorizations
                    .get(&sudi_text(&code.sudi))
                    .is_none_or(|a| a.code_id != code.code_id)
        });
        if !plan.is_empty() {
            plan.acks.extend(empty);
        }
    }

    fn apply_import(&mut self, plan: ImportPlan) -> Vec<String> {
        let mut lines = Vec::new();
        if self.state.authority_key.is_none() {
            self.state.authority_key = plan.authority_key.clone();
        }
        for (ack, issued) in &plan.acks {
            let ids = accepted_ids(ack);
            // The one rule for every path an ACK arrives by: times from the ACK, replays move
            // nothing (slp_core::ack).
            let effect = ack::install(
                ack::Record {
                    ledger: &mut self.state.ledger,
                    pending_changes: &mut self.state.pending_changes,
                    last_ack: &mut self.state.last_ack,
                },
                &Ack { id: &ack.ack_id, issued: *issued, reports: &ids },
                self.now,
            );
            let acked = effect.acknowledged;
            self.state.account = Some(AccountInfo {
                smart_account: ack.smart_account.clone(),
                virtual_account: ack.virtual_account.clone(),
                // As the authority stated it, when it issued the ACK.
                as_of: (*issued).min(self.now),
            });
            self.state.history.push(ImportedMessage {
                at: self.now,
                kind: "RUM ACK".to_owned(),
                summary: format!("{} report(s) acknowledged, ACK {}", acked.len(), ack.ack_id),
            });
            self.state.history.push(ImportedMessage {
                at: self.now,
                kind: "ACCOUNT INFO".to_owned(),
                summary: format!(
                    "Smart Account: {} Virtual Account: {}",
                    ack.smart_account, ack.virtual_account
                ),
            });
        }
        if let Some((policy, issued)) = plan.policy {
            self.state.history.push(ImportedMessage {
                at: self.now,
                kind: "POLICY".to_owned(),
                summary: policy.name.clone(),
            });
            self.state.policy =
                Some(InstalledPolicy { policy, installed_at: self.now, issued_at: Some(issued) });
            lines.push(self.log(Message::PolicyInstallSuccess));
        }
        for code in plan.trust {
            let udi = sudi_text(&code.sudi);
            self.state.trust.insert(
                udi.clone(),
                TrustInstalled { trust_id: code.trust_id, installed_at: self.now },
            );
            self.state.history.push(ImportedMessage {
                at: self.now,
                kind: "TRUST CODE".to_owned(),
                summary: udi.clone(),
            });
            lines.push(self.log(Message::TrustCodeInstallSuccess { udi: &udi }));
        }
        for code in plan.authorizations {
            let udi = sudi_text(&code.sudi);
            let entitlements = code
                .entitlements
                .iter()
                .map(|g| Entitlement {
                    feature: g.feature.clone(),
                    tag: g.entitlement.clone(),
                    count: g.count,
                    license_type: g.license_type.clone(),
                    end_date: g.end_date.clone(),
                })
                .collect();
            let confirmation_code = confirmation_code(&mut rand::thread_rng());
            // A code this one replaces went back to the authority with the request.
            if let Some(replaced) = self.state.authorizations.get(&udi)
                && replaced.code_id != code.code_id
            {
                self.state.returned_codes.insert(replaced.code_id.clone());
            }
            self.state.authorizations.insert(
                udi.clone(),
                InstalledAuthorization {
                    code_id: code.code_id.clone(),
                    installed_at: self.now,
                    confirmation_code,
                    entitlements,
                    return_code: code.return_code.clone(),
                },
            );
            self.state.last_return_code.remove(&udi);
            if self.state.pending_auth_request.is_some() {
                self.state.pending_auth_request = None;
            }
            self.state.history.push(ImportedMessage {
                at: self.now,
                kind: "AUTH".to_owned(),
                summary: udi.clone(),
            });
            lines.push(self.log(Message::AuthorizationInstallSuccess { udi: &udi }));
        }
        lines.push("Import Data Successful".to_owned());
        lines
    }

    // ---- SLAC -----------------------------------------------------------------------------

    /// The units a SLAC request for `feature` names: the active (`local`), or every unit whose
    /// platform offers the feature (`all`; the guide's options are the active or the stack).
    fn authorization_units(&self, feature: &str, all: bool) -> Vec<&Unit> {
        if !all {
            return vec![self.state.active()];
        }
        self.state
            .units
            .iter()
            .filter(|u| !is_hsec(feature) || crate::platform::supports_hsec(&u.udi.pid))
            .collect()
    }

    /// Whether `udi` holds an installed SLAC with `feature`.
    fn holds_authorization(&self, udi: &Udi, feature: &str) -> bool {
        self.state
            .authorizations
            .get(&udi.to_string())
            .is_some_and(|auth| auth.entitlements.iter().any(|e| e.feature == feature))
    }

    /// `license smart authorization request {add|replace} <feature> {all|local}`.
    ///
    /// `add` asks for the units that do not hold the key yet (a unit's SLAC already holds it);
    /// `replace` asks for a new SLAC for each unit, returning the keys of the existing ones,
    /// and is refused while those keys are in use, as the guide says.
    pub fn authorization_request(
        &mut self,
        replace: bool,
        feature: &str,
        all: bool,
    ) -> Result<(), DeviceError> {
        let info = license::lookup(feature)
            .filter(|info| info.enforcement != Enforcement::Unenforced)
            .ok_or_else(|| {
                DeviceError::Refused(format!(
                    "% Error: {feature} is not a license that needs an authorization code"
                ))
            })?;
        let pid = self.state.active().udi.pid.clone();
        if is_hsec(info.feature) && !crate::platform::supports_hsec(&pid) {
            return Err(DeviceError::Refused(format!(
                "% Error: {} is not supported on {pid}: the HSECK9 key is offered on {} only",
                info.feature,
                crate::platform::HSEC_PLATFORMS
            )));
        }
        let units = self.authorization_units(info.feature, all);
        let holding: Vec<String> = units
            .iter()
            .filter(|u| self.holds_authorization(&u.udi, info.feature))
            .map(|u| u.udi.to_string())
            .collect();
        if replace && self.state.hsec_in_use && !holding.is_empty() {
            return Err(DeviceError::Refused(format!(
                "% Error: The {} key of the existing authorization code on {} is in use: first disable the cryptographic feature that uses it and release the key ({}), then replace the authorization code.",
                info.feature.to_ascii_uppercase(),
                holding.join(", "),
                crate::platform::release_command(&pid)
            )));
        }
        if !replace && holding.len() == units.len() {
            return Err(DeviceError::Refused(format!(
                "% Error: the authorization code installed on {} already holds the {} key: enter `license smart authorization request replace {} {}` for a new one",
                holding.join(", "),
                info.feature,
                info.feature,
                if all { "all" } else { "local" }
            )));
        }
        self.state.pending_auth_request = Some(PendingAuthRequest {
            feature: info.feature.to_owned(),
            all,
            replace,
            requested_at: self.now,
        });
        Ok(())
    }

    /// The SLAC request document of the pending `authorization request`, if there is one (and
    /// it still names a unit).
    pub(crate) fn authorization_request_document(&self) -> Result<Option<Document>, DeviceError> {
        let Some(request) = self.state.pending_auth_request.clone() else { return Ok(None) };
        let info = license::lookup(&request.feature).ok_or_else(|| {
            DeviceError::Refused(format!("% Error: unknown feature {}", request.feature))
        })?;
        let units: Vec<&Unit> = self
            .authorization_units(info.feature, request.all)
            .into_iter()
            .filter(|u| request.replace || !self.holds_authorization(&u.udi, info.feature))
            .collect();
        if units.is_empty() {
            return Ok(None);
        }
        let items: Vec<AuthRequestItem> = units
            .iter()
            .map(|unit| {
                let udi = unit.udi.to_string();
                AuthRequestItem {
                    sudi: Sudi::of(&unit.udi),
                    hostname: self.reported_hostname(),
                    software_tag_identifier: Some(self.state.software_tag.clone()),
                    keys: vec![Key { entitlement: info.entitlement_tag.to_owned(), count: 1 }],
                    trust_request: serde_json::Value::Null,
                    replace: request.replace,
                    confirm_code: self
                        .state
                        .authorizations
                        .get(&udi)
                        .map(|a| a.confirmation_code.clone()),
                    remove_code: self.state.last_return_code.get(&udi).cloned(),
                }
            })
            .collect();
        Ok(Some(Document {
            reports: Vec::new(),
            items: vec![self.system_info(), docs::sign_json(Kind::AuthRequest, &items, &self.key)],
        }))
    }

    /// `license smart authorization request save <path>`.
    pub fn authorization_request_save(&mut self, device_path: &str) -> Result<(), DeviceError> {
        let doc = self.authorization_request_document()?.ok_or_else(|| {
            DeviceError::Refused("% Error: no authorization request: enter `license smart authorization request add <feature> {all|local}` first".to_owned())
        })?;
        self.write_device_file(device_path, &doc)
    }

    /// The signed return of the installed SLAC of `all` units (or the active one), one per
    /// unit, each with its return code. Refused while the feature is in use.
    fn authorization_returns(&self, all: bool) -> Result<Vec<Returned>, DeviceError> {
        if self.state.hsec_in_use {
            return Err(DeviceError::Refused(format!(
                "% Error: The authorization code cannot be returned while the license is in use. Disable the feature and enter `{}` (global configuration) first.",
                crate::platform::release_command(&self.state.active().udi.pid)
            )));
        }
        let targets: Vec<&Unit> =
            if all { self.state.units.iter().collect() } else { vec![self.state.active()] };
        let mut returns = Vec::new();
        for unit in &targets {
            let udi = unit.udi.to_string();
            let Some(auth) = self.state.authorizations.get(&udi) else { continue };
            // The return code the authority issued with the code, which it recognizes alone
            // (Cisco's `remove_code`); a code issued without one gets a fresh one.
            let return_code = auth.return_code.clone().unwrap_or_else(|| random_code(4));
            let ret = AuthReturn {
                sudi: Sudi::of(&unit.udi),
                code_id: auth.code_id.clone(),
                return_code: return_code.clone(),
                timestamp: rfc3339(self.now),
            };
            returns.push(Returned {
                udi,
                return_code,
                item: docs::sign_json(Kind::AuthReturn, &ret, &self.key),
            });
        }
        if returns.is_empty() {
            let names: Vec<String> = targets.iter().map(|u| u.udi.to_string()).collect();
            return Err(DeviceError::Refused(format!(
                "% Error: no authorization code is installed on {}",
                names.join(", ")
            )));
        }
        Ok(returns)
    }

    /// Removes the returned SLACs and keeps each unit's last return code. With `show`, the
    /// return codes are printed as the guide shows them, to enter in the portal.
    fn authorizations_returned(&mut self, returns: &[Returned], show: bool) -> Vec<String> {
        let mut lines = Vec::new();
        if show {
            lines.push("Enter this return code in Cisco Smart Software Manager portal:".to_owned());
            for ret in returns {
                lines.push(format!("UDI: {}", ret.udi));
                lines.push(format!("Return code: {}", ret.return_code));
            }
        }
        for ret in returns {
            if let Some(returned) = self.state.authorizations.remove(&ret.udi) {
                self.state.returned_codes.insert(returned.code_id);
            }
            self.state.last_return_code.insert(ret.udi.clone(), ret.return_code.clone());
            lines.push(self.log(Message::AuthorizationRemoved { udi: &ret.udi }));
        }
        lines
    }

    /// `license smart authorization return {all|local} offline <path>`: writes the return
    /// file for the authority, removes the codes and shows the return codes.
    pub fn authorization_return_offline(
        &mut self,
        all: bool,
        device_path: &str,
    ) -> Result<Vec<String>, DeviceError> {
        let returns = self.authorization_returns(all)?;
        let mut doc = Document { reports: Vec::new(), items: vec![self.system_info()] };
        doc.items.extend(returns.iter().map(|r| r.item.clone()));
        self.write_device_file(device_path, &doc)?;
        Ok(self.authorizations_returned(&returns, true))
    }

    /// `license smart authorization return {all|local} offline` without a path: removes the
    /// codes and shows each unit's return code on screen (`UDI:` and `Return code:` lines), to
    /// enter in the portal.
    pub fn authorization_return_on_screen(
        &mut self,
        all: bool,
    ) -> Result<Vec<String>, DeviceError> {
        let returns = self.authorization_returns(all)?;
        Ok(self.authorizations_returned(&returns, true))
    }

    /// `license smart authorization return {all|local} online`: removes the codes and sends the
    /// return through the configured transport now (smart/callhome directly, or a relay the
    /// device pushes to). When the peer cannot be reached the return stays queued and goes at
    /// the next contact (the retry schedule applies), so it is never lost.
    pub fn authorization_return_online(
        &mut self,
        uplink: &dyn crate::uplink::Uplink,
        all: bool,
    ) -> Result<Vec<String>, DeviceError> {
        let conversation = self.begin_authorization_return_online(all)?;
        self.converse(conversation, uplink)
    }

    /// What [`Device::authorization_return_online`] does on the device; the conversation (a
    /// sync) sends the return. Each unit's return is its own message, queued after any return
    /// still waiting, so that a peer that forwards one return per message forwards them all.
    pub fn begin_authorization_return_online(
        &mut self,
        all: bool,
    ) -> Result<Conversation, DeviceError> {
        if self.push_url().is_none() {
            return Err(DeviceError::Refused(
                "% Error: transport type is off: return the code offline (license smart authorization return {all|local} offline <path>)".to_owned(),
            ));
        }
        let returns = self.authorization_returns(all)?;
        for ret in &returns {
            let doc =
                Document { reports: Vec::new(), items: vec![self.system_info(), ret.item.clone()] };
            self.state.pending_auth_return.push(doc.to_xml());
        }
        let lines = self.authorizations_returned(&returns, false);
        self.begin_sync(lines)
    }

    /// `license smart factory reset`: forgets policy, trust, ACK history, codes and reports.
    /// Removing an installed policy logs `%SMART_LIC-3-POLICY_REMOVED` (the Cisco default
    /// policy is in effect again).
    pub fn factory_reset(&mut self) -> Result<Vec<String>, DeviceError> {
        if self.state.hsec_in_use {
            return Err(DeviceError::Refused(
                "% Error: an authorized license is in use; release it first".to_owned(),
            ));
        }
        let had_policy = self.state.policy.is_some();
        self.state.ledger = Ledger::default();
        self.state.first_use.clear();
        self.state.pending_changes.clear();
        self.state.last_ack = None;
        self.state.last_push = None;
        self.state.last_file_write = None;
        self.state.account = None;
        self.state.authority_key = self.state.factory_authority_key.clone();
        self.state.policy = None;
        self.state.trust.clear();
        self.state.authorizations.clear();
        self.state.pending_auth_request = None;
        self.state.pending_auth_return.clear();
        self.state.last_return_code.clear();
        self.state.history.clear();
        let mut lines = Vec::new();
        if had_policy {
            lines.push(self.log(Message::PolicyRemoved));
        }
        self.refresh_usage();
        Ok(lines)
    }

    /// The moment the device was last reloaded, for `show version` uptime.
    pub fn uptime(&self) -> Duration {
        self.now - self.state.booted_at
    }
}

/// One unit's SLAC return: the signed `<smartLicenseAuthorizationReturn>` and its code.
struct Returned {
    udi: String,
    return_code: String,
    item: slp_wire::xml::Signed,
}

/// Whether `feature` (a name or an entitlement tag) is the HSECK9 key.
fn is_hsec(feature: &str) -> bool {
    license::lookup(feature).is_some_and(|info| info.feature == "hseck9")
}

fn sudi_text(sudi: &Sudi) -> String {
    format!("PID:{},SN:{}", sudi.udi_pid, sudi.udi_serial_number)
}

/// The report ids an ACK accepts (ACCEPTED or DUPLICATE: the authority holds them).
fn accepted_ids(ack: &docs::RumAck) -> Vec<u64> {
    ack.reports
        .iter()
        .filter(|r| r.status == "ACCEPTED" || r.status == "DUPLICATE")
        .map(|r| r.report_id)
        .collect()
}

/// The issue time of a signed answer (`issued_at`, RFC 3339).
fn issued_time(text: &str) -> Result<Timestamp, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|e| format!("issued_at {text:?} is not an RFC 3339 time: {e}"))
}

#[derive(Default)]
struct ImportPlan {
    authority_key: Option<String>,
    /// Each ACK with its issue time.
    acks: Vec<(docs::RumAck, Timestamp)>,
    /// The policy with its issue time.
    policy: Option<(slp_core::policy::Policy, Timestamp)>,
    trust: Vec<docs::TrustCode>,
    authorizations: Vec<docs::Authorization>,
}

impl ImportPlan {
    fn is_empty(&self) -> bool {
        self.acks.is_empty()
            && self.policy.is_none()
            && self.trust.is_empty()
            && self.authorizations.is_empty()
    }
}

struct ImportFailure {
    kind: Kind,
    udi: String,
    reason: String,
}

impl ImportFailure {
    fn new(kind: Kind, udi: &str, reason: String) -> ImportFailure {
        ImportFailure { kind, udi: udi.to_owned(), reason }
    }

    fn message(&self) -> Message<'_> {
        match self.kind {
            Kind::Policy => Message::PolicyInstallFailed { reason: &self.reason },
            Kind::TrustCode => {
                Message::TrustCodeInstallFailed { udi: &self.udi, reason: &self.reason }
            }
            _ => Message::AuthorizationInstallFailed { udi: &self.udi, reason: &self.reason },
        }
    }
}

/// Reads a file the user names for import, for error messages that name it.
pub fn display_path(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use slp_wire::docs::{AckedReport, Authorization, Granted, RumAck};

    use super::*;

    fn at(s: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn device(dir: &tempfile::TempDir) -> Device {
        let options = InitOptions {
            pid: "C9300X-24HX".to_owned(),
            sn: "FOC2519L8R7".to_owned(),
            hostname: "sw1".to_owned(),
            version: "17.9.4".to_owned(),
            standby: vec![],
            members: vec![],
            boot_level: "network-advantage".to_owned(),
            factory_trust: false,
            authority_key: None,
        };
        Device::init(StateDir::new(dir.path()), &options, at("2026-01-01T00:00:00Z")).unwrap()
    }

    fn write(dev: &Device, name: &str, doc: &Document) -> String {
        let path = format!("bootflash:{name}");
        dev.write_device_file(&path, doc).unwrap();
        path
    }

    fn ack_for(udi: &Udi, ids: &[u64], authority: &KeyPair) -> Document {
        let ack = RumAck {
            ack_id: "ack-1".to_owned(),
            issued_at: "2026-01-02T00:00:00Z".to_owned(),
            sudi: Sudi::of(udi),
            smart_account: "Example Corp".to_owned(),
            virtual_account: "Lab".to_owned(),
            reports: ids
                .iter()
                .map(|id| AckedReport {
                    report_id: *id,
                    sudi: Sudi::of(udi),
                    status: "ACCEPTED".to_owned(),
                    reason: None,
                })
                .collect(),
            authority_key: authority.public_b64(),
        };
        Document { reports: vec![], items: vec![docs::sign_json(Kind::RumAck, &ack, authority)] }
    }

    fn slac_for(udi: &Udi, authority: &KeyPair) -> Document {
        let code = Authorization {
            code_id: "slac-1".to_owned(),
            sudi: Sudi::of(udi),
            issued_at: "2026-01-02T00:00:00Z".to_owned(),
            smart_account: "Example Corp".to_owned(),
            virtual_account: "Lab".to_owned(),
            entitlements: vec![Granted {
                entitlement: license::lookup("hseck9").unwrap().entitlement_tag.to_owned(),
                feature: "hseck9".to_owned(),
                count: 1,
                license_type: "perpetual".to_owned(),
                end_date: None,
            }],
            authority_key: authority.public_b64(),
            return_code: None,
        };
        Document {
            reports: vec![],
            items: vec![docs::sign_json(Kind::Authorization, &code, authority)],
        }
    }

    #[test]
    fn ack_for_another_udi_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut dev = device(&dir);
        dev.now = at("2026-01-02T00:00:00Z");
        dev.save_usage(Selection::All, "bootflash:u.txt").unwrap();
        let authority = KeyPair::generate();
        let other = Udi::new("C9300X-24HX", "OTHER").unwrap();
        let path = write(&dev, "ack.txt", &ack_for(&other, &[1], &authority));
        let before = dev.state.clone();
        let err = dev.import(&path).unwrap_err().to_string();
        assert!(err.contains("%SMART_LIC-3-AUTHORIZATION_INSTALL_FAILED"), "{err}");
        assert!(err.contains("the ACK is for PID:C9300X-24HX,SN:OTHER"), "{err}");
        // Only the failure message was logged.
        assert_eq!(dev.state.ledger, before.ledger);
        assert_eq!(dev.state.last_ack, None);
        assert_eq!(dev.state.authority_key, None);
        assert_eq!(dev.state.events.len(), before.events.len() + 1);
    }

    #[test]
    fn a_replayed_ack_months_later_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut dev = device(&dir);
        let me = dev.state.active().udi.clone();
        let authority = KeyPair::generate();
        dev.now = at("2026-01-03T00:00:00Z");
        dev.save_usage(Selection::All, "bootflash:u.txt").unwrap();
        let ids: Vec<u64> =
            dev.state.ledger.select(Selection::All, dev.now).iter().map(|r| r.id).collect();
        assert!(!ids.is_empty());
        let path = write(&dev, "ack.txt", &ack_for(&me, &ids, &authority));
        let lines = dev.import(&path).unwrap();
        assert!(lines.contains(&"Import Data Successful".to_owned()), "{lines:?}");
        // Last ACK received is when the authority issued the ACK, not when it was imported.
        assert_eq!(dev.state.last_ack, Some(at("2026-01-02T00:00:00Z")));
        let deadline = dev.next_ack_deadline();

        dev.now = at("2026-05-01T00:00:00Z");
        let before = dev.state.clone();
        let lines = dev.import(&path).unwrap();
        assert!(lines[0].starts_with("% Nothing new in bootflash:ack.txt"), "{lines:?}");
        assert!(!lines.iter().any(|l| l.contains("Successful")), "{lines:?}");
        assert_eq!(dev.state, before, "a replay changes nothing");
        assert_eq!(dev.next_ack_deadline(), deadline);
    }

    #[test]
    fn an_older_policy_never_replaces_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut dev = device(&dir);
        let authority = KeyPair::generate();
        let policy_doc = |days: u32, issued: &str| {
            let mut policy = slp_core::policy::Policy::cisco_default();
            policy.name = format!("custom {days}");
            policy.origin = slp_core::policy::PolicyOrigin::Customer;
            for class in slp_core::policy::PolicyClass::ALL {
                policy.set_attributes(
                    class,
                    slp_core::policy::Attributes { first: days, ongoing: days, on_change: days },
                );
            }
            let doc = docs::PolicyDoc::from_policy(
                &policy,
                issued.to_owned(),
                "Example Corp",
                "Lab",
                authority.public_b64(),
            );
            Document {
                reports: vec![],
                items: vec![docs::sign_json(Kind::Policy, &doc, &authority)],
            }
        };
        dev.now = at("2026-03-01T00:00:00Z");
        let old = write(&dev, "old.xml", &policy_doc(30, "2026-01-01T00:00:00Z"));
        let new = write(&dev, "new.xml", &policy_doc(60, "2026-02-01T00:00:00Z"));
        let lines = dev.import(&new).unwrap();
        assert!(lines.contains(&"Import Data Successful".to_owned()), "{lines:?}");
        let before = dev.state.clone();
        // The January policy, replayed after the February one: nothing moves back.
        let lines = dev.import(&old).unwrap();
        assert!(lines[0].starts_with("% Nothing new"), "{lines:?}");
        assert_eq!(dev.state, before);
        assert_eq!(dev.state.effective_policy().name, "custom 60");
    }

    #[test]
    fn a_policy_file_imports_as_cisco_writes_it_and_in_the_older_form() {
        let authority = KeyPair::generate();
        let mut policy = slp_core::policy::Policy::cisco_default();
        policy.name = "SLE Policy".to_owned();
        let doc = docs::PolicyDoc::from_policy(
            &policy,
            "2026-01-01T00:00:00Z".to_owned(),
            "Example Corp",
            "Lab",
            authority.public_b64(),
        );
        let item = docs::sign_json(Kind::Policy, &doc, &authority);
        let standalone = Document::policy_file(&item).unwrap();
        assert!(standalone.contains("\n<smartLicensePolicy><data>"), "{standalone}");
        let older = Document { reports: vec![], items: vec![item] }.to_xml();
        for text in [standalone, older] {
            let dir = tempfile::tempdir().unwrap();
            let mut dev = device(&dir);
            dev.now = at("2026-03-01T00:00:00Z");
            let path = dev.dir.resolve("bootflash:policy.xml").unwrap();
            std::fs::write(&path, &text).unwrap();
            let lines = dev.import("bootflash:policy.xml").unwrap();
            assert!(lines.contains(&"Import Data Successful".to_owned()), "{lines:?}\n{text}");
            assert_eq!(dev.state.effective_policy().name, "SLE Policy");
        }
    }

    #[test]
    fn tampered_or_foreign_documents_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut dev = device(&dir);
        let me = dev.state.active().udi.clone();
        let authority = KeyPair::generate();
        let mut doc = ack_for(&me, &[], &authority);
        doc.items[0].data = doc.items[0].data.replace("Lab", "Lab2");
        let path = write(&dev, "tampered.txt", &doc);
        let err = dev.import(&path).unwrap_err().to_string();
        assert!(err.contains("signature check failed for RUM ACK"), "{err}");

        // The first good import pins the authority; another authority is then refused.
        dev.now = at("2026-01-02T00:00:00Z");
        dev.save_usage(Selection::All, "bootflash:u.txt").unwrap();
        let ids: Vec<u64> =
            dev.state.ledger.select(Selection::All, dev.now).iter().map(|r| r.id).collect();
        let path = write(&dev, "ack.txt", &ack_for(&me, &ids, &authority));
        dev.import(&path).unwrap();
        assert_eq!(dev.state.authority_key, Some(authority.public_b64()));
        let impostor = KeyPair::generate();
        let path = write(&dev, "impostor.txt", &ack_for(&me, &ids, &impostor));
        let err = dev.import(&path).unwrap_err().to_string();
        assert!(err.contains("does not trust"), "{err}");
        assert!(
            err.contains(&impostor.key_id()) && err.contains(&authority.key_id()),
            "the refusal names both authority keys: {err}"
        );

        let path = write(&dev, "garbage.txt", &Document::default());
        std::fs::write(dev.dir.resolve(&path).unwrap(), "<smartLicense><RUMReport>").unwrap();
        let err = dev.import(&path).unwrap_err().to_string();
        assert!(err.contains("malformed XML"), "{err}");
    }

    #[test]
    fn slac_lifecycle_gates_the_crypto_feature_and_its_return() {
        let dir = tempfile::tempdir().unwrap();
        let mut dev = device(&dir);
        let me = dev.state.active().udi.clone();
        let authority = KeyPair::generate();
        let err = dev.enable_ipsec("Tunnel0").unwrap_err().to_string();
        assert!(err.contains("no authorization code (SLAC) for hseck9"), "{err}");
        let err =
            dev.authorization_request(false, "network-advantage", false).unwrap_err().to_string();
        assert!(err.contains("not a license that needs an authorization code"), "{err}");
        dev.authorization_request(false, "hseck9", false).unwrap();
        dev.authorization_request_save("bootflash:slac.txt").unwrap();
        let saved = Document::parse(
            &std::fs::read_to_string(dir.path().join("bootflash/slac.txt")).unwrap(),
        )
        .unwrap();
        let items: Vec<AuthRequestItem> =
            saved.of(Kind::AuthRequest).next().unwrap().json().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].keys[0].entitlement,
            license::lookup("hseck9").unwrap().entitlement_tag
        );

        let path = write(&dev, "code.txt", &slac_for(&me, &authority));
        let lines = dev.import(&path).unwrap();
        assert!(lines.iter().any(|l| l.contains("AUTHORIZATION_INSTALL_SUCCESS")), "{lines:?}");
        dev.enable_ipsec("Tunnel0").unwrap();
        assert!(
            dev.current_usage().iter().any(|(info, count)| info.feature == "hseck9" && *count == 1)
        );

        let err =
            dev.authorization_return_offline(false, "bootflash:ret.txt").unwrap_err().to_string();
        assert!(err.contains("while the license is in use"), "{err}");
        dev.disable_ipsec("Tunnel0");
        // Still held until released.
        assert!(dev.authorization_return_offline(false, "bootflash:ret.txt").is_err());
        dev.hsec_release().unwrap();
        let lines = dev.authorization_return_offline(false, "bootflash:ret.txt").unwrap();
        assert!(lines.iter().any(|l| l.contains("AUTHORIZATION_REMOVED")), "{lines:?}");
        assert!(dev.state.authorizations.is_empty());
        assert!(dev.state.last_return_code.contains_key(&me.to_string()));
        let ret = Document::parse(
            &std::fs::read_to_string(dir.path().join("bootflash/ret.txt")).unwrap(),
        )
        .unwrap();
        let item = ret.of(Kind::AuthReturn).next().unwrap();
        item.verify(&dev.public_key(), "return").unwrap();

        // The returned code's file imported again: its key went back to the pool, so the code
        // does not come back.
        let lines = dev.import(&path).unwrap();
        assert!(lines[0].starts_with("% Nothing new"), "{lines:?}");
        assert!(dev.state.authorizations.is_empty());
        assert!(dev.enable_ipsec("Tunnel0").is_err());
    }
}

/// A fresh 8-digit hex confirmation code that always holds a letter: Genie's
/// `ShowLicenseTechSupport` turns an all-digit value into an integer and then fails its
/// schema (`last_confirmation_code: str`), so an all-digit code (about 2% of draws) would
/// make the device's output unreadable to the public parsers.
fn confirmation_code(rng: &mut impl rand::Rng) -> String {
    loop {
        let code = format!("{:08x}", rng.r#gen::<u32>());
        if code.bytes().any(|b| b.is_ascii_alphabetic()) {
            return code;
        }
    }
}

#[cfg(test)]
mod confirmation_code_tests {
    use rand::SeedableRng;

    #[test]
    fn confirmation_codes_are_eight_hex_digits_never_all_decimal() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..5_000 {
            let code = super::confirmation_code(&mut rng);
            assert_eq!(code.len(), 8, "{code}");
            assert!(code.bytes().all(|b| b.is_ascii_hexdigit()), "{code}");
            assert!(!code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        }
    }
}
