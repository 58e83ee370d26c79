//! Migration to Smart Licensing Using Policy (the guide's "Migrating to Smart Licensing Using
//! Policy", "Upgrades" and "Downgrades").
//!
//! A device can be created in the state it had under an earlier licensing model — Smart
//! Licensing (registered), Specific License Reservation (SLR), Right-to-Use (RTU) or evaluation
//! — on a release before 17.3.2 ([`make_pre_slp`]). It then answers the guide's "before
//! upgrade" show commands ([`show`]) and refuses the licensing commands of Smart Licensing
//! Using Policy. [`install`] (`slp device install --version …`, the software upgrade the guide
//! leaves to the release notes) moves it to a release that supports Smart Licensing Using
//! Policy and carries over what the guide says is carried over:
//!
//! - every license in use stays in use (shown `IN USE`, unenforced: "all the licenses that you
//!   are using prior to migration will be available after upgrade");
//! - the transport type per the guide's table "How Upgrade Affects Transport Type for Existing
//!   Licenses" ([`transport_after_upgrade`]);
//! - a registration (Smart Licensing): "The ID token is successfully converted and a trusted
//!   connection has been established with CSSM" — the ID token the device registered with is
//!   kept and sent as a trust request at the first contact ([`begin_sync`], [`begin_contact`]),
//!   over the same signed-document path as `license smart trust idtoken`;
//! - SLR: "The license conversion is automatic and authorization codes are migrated": the
//!   reservation stays installed (`License Reservation is ENABLED`, `SPECIFIC INSTALLED`, the
//!   `Last Confirmation code:` of each unit) and the transport is off;
//! - RTU and evaluation: the license levels in use, the Cisco default policy.
//!
//! "Device-led conversion is not supported for migration to Smart Licensing Using Policy" (the
//! guide, twice): there is no `license smart conversion` command and no `show license data
//! conversion`; `show license all` keeps its `License Conversion:` block at `Not started`.
//! PLR (Permanent License Reservation) is not in the guide (it names SLR, RTU, Smart Licensing
//! and evaluation only), so `--from` does not offer it.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::Duration;
use rand::Rng;
use serde::{Deserialize, Serialize};
use slp_core::Timestamp;
use slp_core::ledger::Ledger;
use slp_core::license;

use crate::DeviceError;
use crate::agent::{Conversation, Device};
use crate::state::Transport;

pub mod show;

/// Smart Licensing Using Policy "is introduced in Cisco IOS XE Amsterdam 17.3.2. This is
/// therefore the minimum required version".
pub const FIRST_SLP: Release = Release(17, 3, 2);
/// "Smart Licensing was introduced starting from Cisco IOS XE Fuji 16.9.1"; RTU before it.
pub const FIRST_SMART_LICENSING: Release = Release(16, 9, 1);
/// "Starting with Cisco IOS XE Cupertino 17.7.1, RUM reports are stored in a format that
/// reduces processing time."
pub const RUM_FORMAT_CHANGE: Release = Release(17, 7, 1);
/// The evaluation period of Smart Licensing (the guide's example: "89 days, 21 hours, …
/// remaining" shortly after first boot).
pub const EVAL_PERIOD_DAYS: i64 = 90;

/// The licensing model before Smart Licensing Using Policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum PriorModel {
    /// Smart Licensing, registered and authorized.
    SmartLicensing,
    /// Specific License Reservation: the licenses in use reserved with an authorization code.
    Slr,
    /// Right-to-Use licensing (releases before 16.9.1).
    Rtu,
    /// Smart Licensing, unregistered: licenses in evaluation mode.
    Eval,
}

impl PriorModel {
    pub fn name(self) -> &'static str {
        match self {
            PriorModel::SmartLicensing => "Smart Licensing",
            PriorModel::Slr => "Specific License Reservation (SLR)",
            PriorModel::Rtu => "Right-to-Use (RTU) Licensing",
            PriorModel::Eval => "evaluation licenses (Smart Licensing)",
        }
    }

    /// The release a device of this model is created with unless told otherwise.
    pub fn default_version(self) -> &'static str {
        match self {
            PriorModel::Rtu => "16.8.1",
            _ => "16.12.4",
        }
    }
}

/// The transport configured before the upgrade (Smart Licensing's `callhome` default, or `smart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum PriorTransport {
    Callhome,
    Smart,
}

/// What the device knows while it runs a release before Smart Licensing Using Policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreSlp {
    pub model: PriorModel,
    /// `None` under RTU, where "the notion of a transport type does not exist".
    pub transport: Option<PriorTransport>,
    pub url: Option<String>,
    pub smart_account: Option<String>,
    pub virtual_account: Option<String>,
    /// Registration (Smart Licensing, SLR) time.
    pub registered_at: Option<Timestamp>,
    /// The ID token the device registered with (Smart Licensing).
    pub id_token: Option<String>,
    /// End of the evaluation period (evaluation).
    pub eval_ends: Option<Timestamp>,
}

/// A Specific License Reservation: before the upgrade, and carried over after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub installed_at: Timestamp,
    /// The reserved licenses (feature names), one of each per unit.
    pub features: Vec<String>,
    /// Last confirmation code by UDI text.
    pub confirmation: BTreeMap<String, String>,
}

/// The migration part of the device state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationState {
    /// Set while the device runs a release before 17.3.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_slp: Option<PreSlp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<Reservation>,
    /// The model the device was upgraded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrated_from: Option<PriorModel>,
    /// The registration's ID token, to convert into trust at the first contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion_token: Option<String>,
}

impl MigrationState {
    pub fn is_empty(&self) -> bool {
        *self == MigrationState::default()
    }
}

/// An IOS-XE release number, `17.9.4` (also `17.09.04`, `16.12.4a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release(pub u32, pub u32, pub u32);

impl Release {
    pub fn parse(text: &str) -> Result<Release, DeviceError> {
        let bad = || {
            DeviceError::Refused(format!(
                "% Error: {text:?} is not an IOS-XE release number (e.g. 16.12.4 or 17.9.4)"
            ))
        };
        let parts: Vec<u32> = text
            .split('.')
            .map(|part| {
                let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                digits.parse::<u32>().map_err(|_| bad())
            })
            .collect::<Result<_, _>>()?;
        match parts.as_slice() {
            [major, minor, patch] if *major > 0 => Ok(Release(*major, *minor, *patch)),
            _ => Err(bad()),
        }
    }
}

/// How the device is created in its state before Smart Licensing Using Policy.
#[derive(Debug, Clone)]
pub struct PriorOptions {
    pub model: PriorModel,
    pub smart_account: Option<String>,
    pub virtual_account: Option<String>,
    pub id_token: Option<String>,
    pub transport: Option<PriorTransport>,
    pub url: Option<String>,
    pub addon: Option<String>,
    pub eval_days_left: Option<u32>,
}

fn refused(text: impl Into<String>) -> DeviceError {
    DeviceError::Refused(text.into())
}

/// Checks `options` against the release the device was created with, before anything is written.
pub fn check_prior(options: &PriorOptions, version: &str) -> Result<(), DeviceError> {
    let release = Release::parse(version)?;
    if release >= FIRST_SLP {
        return Err(refused(format!(
            "% Error: {version} already supports Smart Licensing Using Policy (17.3.2 and later): give --version with a release before 17.3.2 for --from"
        )));
    }
    let model = options.model;
    match model {
        PriorModel::Rtu if release >= FIRST_SMART_LICENSING => {
            return Err(refused(format!(
                "% Error: RTU licensing is available until 16.8.x (\"Smart Licensing was introduced starting from Cisco IOS XE Fuji 16.9.1\"); {version} runs Smart Licensing"
            )));
        }
        PriorModel::SmartLicensing | PriorModel::Slr | PriorModel::Eval
            if release < FIRST_SMART_LICENSING =>
        {
            return Err(refused(format!(
                "% Error: Smart Licensing starts with 16.9.1; {version} runs RTU licensing (--from rtu)"
            )));
        }
        _ => {}
    }
    if model == PriorModel::SmartLicensing
        && (options.smart_account.is_none() || options.virtual_account.is_none())
    {
        return Err(refused(
            "% Error: --from smart-licensing is a registered device: give --smart-account and --virtual-account",
        ));
    }
    if model != PriorModel::SmartLicensing
        && (options.smart_account.is_some()
            || options.virtual_account.is_some()
            || options.id_token.is_some())
    {
        return Err(refused(
            "% Error: --smart-account, --virtual-account and --idtoken describe a registration (--from smart-licensing)",
        ));
    }
    if model == PriorModel::Rtu && (options.transport.is_some() || options.url.is_some()) {
        return Err(refused(
            "% Error: RTU licensing has no transport type (--prior-transport, --prior-url)",
        ));
    }
    if options.eval_days_left.is_some() && model != PriorModel::Eval {
        return Err(refused("% Error: --eval-days-left applies to --from eval"));
    }
    if let Some(days) = options.eval_days_left
        && i64::from(days) > EVAL_PERIOD_DAYS
    {
        return Err(refused(format!(
            "% Error: --eval-days-left {days}: the evaluation period is {EVAL_PERIOD_DAYS} days"
        )));
    }
    if let Some(addon) = &options.addon
        && !license::ADDONS.contains(&addon.as_str())
    {
        return Err(refused(format!(
            "% Error: unknown add-on {addon:?}: expected one of {}",
            license::ADDONS.join(", ")
        )));
    }
    if let Some(token) = &options.id_token
        && (token.is_empty() || token.len() > 255)
    {
        return Err(refused("% Error: an ID token has 1 to 255 characters"));
    }
    Ok(())
}

fn confirmation_code() -> String {
    format!("{:08x}", rand::thread_rng().r#gen::<u32>())
}

/// Turns a device just created by [`Device::init`] into the device it was before Smart
/// Licensing Using Policy: no RUM reports, no policy, the licensing state of `options.model`.
pub fn make_pre_slp(device: &mut Device, options: &PriorOptions) -> Result<(), DeviceError> {
    check_prior(options, &device.state.software_version)?;
    let now = device.now;
    let state = &mut device.state;
    // Nothing of Smart Licensing Using Policy exists yet: no RUM reports, no usage events.
    state.ledger = Ledger::default();
    state.first_use.clear();
    state.pending_changes.clear();
    state.events.clear();
    if let Some(addon) = &options.addon {
        state.boot_addon = Some(addon.clone());
        state.running.boot_addon = Some(addon.clone());
        state.startup.boot_addon = Some(addon.clone());
    }
    let model = options.model;
    let transport = match model {
        PriorModel::Rtu => None,
        _ => Some(options.transport.unwrap_or(PriorTransport::Callhome)),
    };
    let registered = matches!(model, PriorModel::SmartLicensing | PriorModel::Slr);
    let eval_ends = (model == PriorModel::Eval)
        .then(|| now + Duration::days(i64::from(options.eval_days_left.unwrap_or(90).min(90))));
    state.migration.pre_slp = Some(PreSlp {
        model,
        transport,
        url: options.url.clone(),
        smart_account: options.smart_account.clone(),
        virtual_account: options.virtual_account.clone(),
        registered_at: registered.then_some(now),
        id_token: options.id_token.clone(),
        eval_ends,
    });
    if model == PriorModel::Slr {
        let features: Vec<String> =
            [state.boot_level.clone(), state.boot_addon.clone()].into_iter().flatten().collect();
        let confirmation =
            state.units.iter().map(|unit| (unit.udi.to_string(), confirmation_code())).collect();
        state.migration.reservation =
            Some(Reservation { installed_at: now, features, confirmation });
    }
    Ok(())
}

/// The guide's table "How Upgrade Affects Transport Type for Existing Licenses".
pub fn transport_after_upgrade(pre: &PreSlp) -> Transport {
    match (pre.transport, pre.model) {
        // "Not applicable (RTU)" → cslu.
        (None, _) | (_, PriorModel::Rtu) => Transport::Cslu,
        (_, PriorModel::Slr) => Transport::Off,
        (Some(PriorTransport::Callhome), PriorModel::Eval) => Transport::Cslu,
        (Some(PriorTransport::Smart), PriorModel::Eval) => Transport::Off,
        (Some(PriorTransport::Callhome), PriorModel::SmartLicensing) => Transport::Callhome,
        (Some(PriorTransport::Smart), PriorModel::SmartLicensing) => Transport::Smart,
    }
}

/// `slp device install --version <version>`: installs another release and reloads. Returns
/// what the device prints.
pub fn install(device: &mut Device, version: &str) -> Result<Vec<String>, DeviceError> {
    let to = Release::parse(version)?;
    let from = Release::parse(&device.state.software_version)?;
    if to == from {
        return Err(refused(format!("% Error: {version} is the release running already")));
    }
    match (device.state.migration.pre_slp.is_some(), to >= FIRST_SLP) {
        (true, true) => upgrade(device, version),
        (true, false) => Err(refused(format!(
            "% Error: slp models the move from {} to Smart Licensing Using Policy only: install 17.3.2 or later",
            device.state.software_version
        ))),
        (false, true) => Ok(within_slp(device, version, from, to)),
        (false, false) => Ok(downgrade(device, version, to)),
    }
}

fn reboot(device: &mut Device, version: &str) {
    device.state.software_version = version.to_owned();
    device.state.booted_at = device.now;
    device.state.reloads += 1;
}

fn upgrade(device: &mut Device, version: &str) -> Result<Vec<String>, DeviceError> {
    let Some(pre) = device.state.migration.pre_slp.take() else {
        return Err(refused("% Error: the device already runs Smart Licensing Using Policy"));
    };
    let transport = transport_after_upgrade(&pre);
    let state = &mut device.state;
    for config in [&mut state.running, &mut state.startup] {
        config.transport = transport;
        // "your configuration is retained after upgrade (transport type configuration and
        // configuration for connection to CSSM …)".
        if let Some(url) = &pre.url {
            match pre.transport {
                Some(PriorTransport::Smart) => config.url_smart = Some(url.clone()),
                Some(PriorTransport::Callhome) => config.url_callhome = Some(url.clone()),
                None => {}
            }
        }
    }
    state.migration.migrated_from = Some(pre.model);
    if pre.model == PriorModel::SmartLicensing {
        state.migration.conversion_token = pre.id_token.clone();
    }
    reboot(device, version);
    // Every license in use before is in use now; the first measurement starts the reporting
    // rules of the (Cisco default) policy.
    device.refresh_usage();
    let mut lines = vec![format!(
        "% Installed {version} and reloaded: Smart Licensing Using Policy is in effect, migrated from {}; transport type {}",
        pre.model.name(),
        transport.keyword()
    )];
    match pre.model {
        PriorModel::SmartLicensing if device.state.migration.conversion_token.is_some() => lines.push(
            "% The registration's ID token is converted to a trust code at the first contact with CSSM".to_owned(),
        ),
        PriorModel::SmartLicensing => lines.push(
            "% No ID token is known for the registration: establish trust with license smart trust idtoken".to_owned(),
        ),
        PriorModel::Slr => lines.push(
            "% The SLR authorization codes are migrated: License Reservation is ENABLED".to_owned(),
        ),
        PriorModel::Rtu | PriorModel::Eval => {}
    }
    Ok(lines)
}

/// A release change within Smart Licensing Using Policy: a reload on the new release. Across
/// 17.7.1, either way, the guide recommends "completing one round of usage reporting".
fn within_slp(device: &mut Device, version: &str, from: Release, to: Release) -> Vec<String> {
    let crosses = (from < RUM_FORMAT_CHANGE) != (to < RUM_FORMAT_CHANGE);
    device.state.software_version = version.to_owned();
    device.reload();
    let mut lines = vec![format!("% Installed {version} and reloaded")];
    // The guide's advice, word for word, in the direction taken ("Upgrades Within the Smart
    // Licensing Using Policy Environment", "Downgrades Within the Smart Licensing Using Policy
    // Environment"). A real device prints nothing: this is slp's install hint.
    if crosses && to > from {
        lines.push("% Starting with Cisco IOS XE Cupertino 17.7.1, RUM reports are stored in a format that reduces processing time. We recommend completing one round of usage reporting as a standard practice when upgrading from an earlier release that supports Smart Licensing Using Policy, to Cisco IOS XE Cupertino 17.7.1 or a later release.".to_owned());
    } else if crosses {
        lines.push("% Starting with Cisco IOS XE Cupertino 17.7.1, RUM reports are stored in a format that reduces processing time. We recommend completing one round of usage reporting as a standard practice when downgrading from Cisco IOS XE Cupertino 17.7.1 or a later release to an earlier release supporting Smart Licensing Using Policy.".to_owned());
    }
    lines
}

/// Whether the release is one the guide's Table 5 names for "No further action is required":
/// "Cisco IOS XE Amsterdam 17.3.1 OR Cisco IOS XE Gibraltar 16.12.4 and later releases in
/// Cisco IOS XE Gibraltar 16.12.x OR Cisco IOS XE Fuji 16.9.6 and later releases in Cisco IOS
/// XE Fuji 16.9.x".
pub fn renews_trust_after_downgrade(to: Release) -> bool {
    to == Release(17, 3, 1)
        || (to.0 == 16 && to.1 == 12 && to.2 >= 4)
        || (to.0 == 16 && to.1 == 9 && to.2 >= 6)
}

/// "New Deployment Downgrade" to a release without Smart Licensing Using Policy, with the
/// outcome and further action of the guide's Table 5.
fn downgrade(device: &mut Device, version: &str, to: Release) -> Vec<String> {
    let state = &device.state;
    let active = state.active().udi.to_string();
    let trust = state.trust.contains_key(&active);
    let direct = matches!(state.running.transport, Transport::Smart | Transport::Callhome);
    let standalone = state.units.len() == 1;
    let mut lines = vec![format!("% Installed {version} and reloaded")];
    let registered = if to < FIRST_SMART_LICENSING {
        lines.push(
            "% Action is required. Restore licenses to a registered and authorized state by following the procedures that are applicable in the Smart Licensing environment.".to_owned(),
        );
        false
    } else if direct && trust && standalone && renews_trust_after_downgrade(to) {
        lines.push("% No further action is required. The product instance attempts to renew trust with CSSM after downgrade. After a successful renewal, licenses are in a registered state and the earlier version of Smart Licensing is effective on the product instance.".to_owned());
        true
    } else if direct && trust && standalone {
        lines.push("% Action is required: You must reregister the product instance. Generate an ID token in the CSSM Web UI and on the product instance, configure the license smart register idtoken idtoken command in global configuration mode.".to_owned());
        false
    } else if direct && trust {
        lines.push("% Action is required: You must reregister the product instance. Generate an ID token in the CSSM Web UI and on the product instance, configure the license smart register idtoken idtoken all command in global configuration mode.".to_owned());
        false
    } else {
        lines.push("% Action is required. Restore licenses to a registered and authorized state by following the procedures that are applicable in the Smart Licensing environment.".to_owned());
        false
    };
    let now = device.now;
    let account = device.state.account.clone();
    let prior_transport = match device.state.running.transport {
        Transport::Smart => PriorTransport::Smart,
        _ => PriorTransport::Callhome,
    };
    let model = if to < FIRST_SMART_LICENSING {
        PriorModel::Rtu
    } else if registered {
        PriorModel::SmartLicensing
    } else {
        PriorModel::Eval
    };
    let state = &mut device.state;
    // The earlier release keeps none of Smart Licensing Using Policy's own data.
    state.ledger = Ledger::default();
    state.first_use.clear();
    state.pending_changes.clear();
    state.policy = None;
    state.trust.clear();
    state.last_ack = None;
    state.last_push = None;
    state.last_file_write = None;
    state.pending_poll = None;
    state.migration = MigrationState {
        pre_slp: Some(PreSlp {
            model,
            transport: (model != PriorModel::Rtu).then_some(prior_transport),
            url: None,
            smart_account: registered
                .then(|| account.as_ref().map(|a| a.smart_account.clone()))
                .flatten(),
            virtual_account: registered
                .then(|| account.as_ref().map(|a| a.virtual_account.clone()))
                .flatten(),
            registered_at: registered.then_some(now),
            id_token: None,
            // Where the guide is silent: the earlier release starts a full evaluation period.
            eval_ends: (model == PriorModel::Eval).then(|| now + Duration::days(EVAL_PERIOD_DAYS)),
        }),
        ..MigrationState::default()
    };
    state.account = None;
    reboot(device, version);
    lines
}

/// `license smart sync` on a migrated device: the registration's ID token becomes a trust
/// request first (the guide: "The ID token is successfully converted and a trusted connected
/// has been established with CSSM"), then syncs are as usual.
pub fn begin_sync(device: &mut Device) -> Result<Conversation, DeviceError> {
    if let Some(conversation) = begin_conversion(device) {
        return conversation;
    }
    device.begin_sync(Vec::new())
}

/// The scheduler's contact: none before the upgrade; the conversion first after it.
pub fn begin_contact(device: &mut Device) -> Option<Conversation> {
    if device.state.migration.pre_slp.is_some() {
        return None;
    }
    match begin_conversion(device) {
        Some(Ok(conversation)) => Some(conversation),
        // Logged as TRUST_CODE_INSTALL_FAILED; the usual contact goes on.
        Some(Err(_)) => device.begin_contact(),
        None => device.begin_contact(),
    }
}

/// The trust request converting the registration, once: the token is taken from the state,
/// so a refused conversion is not retried (the guide's way out is `license smart trust idtoken`).
fn begin_conversion(device: &mut Device) -> Option<Result<Conversation, DeviceError>> {
    if !matches!(device.state.running.transport, Transport::Smart | Transport::Callhome) {
        return None;
    }
    let active = device.state.active().udi.to_string();
    if device.state.trust.contains_key(&active) {
        device.state.migration.conversion_token = None;
        return None;
    }
    // Nowhere to send it (callhome with Call Home disabled or no active HTTP profile): the
    // token waits for a contact that can carry it.
    device.push_url()?;
    let token = device.state.migration.conversion_token.take()?;
    let all = device.state.units.len() > 1;
    Some(device.begin_trust_idtoken(&token, all, false))
}

/// The commands of a device before Smart Licensing Using Policy: the guide's "before upgrade"
/// show commands; other licensing commands are refused. `None`: not a licensing command (or
/// the device runs Smart Licensing Using Policy), the usual command table answers.
pub fn pre_slp_command(device: &mut Device, line: &str) -> Option<Result<String, DeviceError>> {
    let model = device.state.migration.pre_slp.as_ref()?.model;
    let words: Vec<String> = line.split_whitespace().map(str::to_ascii_lowercase).collect();
    let is = |at: usize, keyword: &str, min: usize| {
        words.get(at).is_some_and(|w| w.len() >= min && keyword.starts_with(w.as_str()))
    };
    let release = device.state.software_version.clone();
    let unsupported = move || {
        Err(refused(format!(
            "% slp: {release} runs {} (before Smart Licensing Using Policy); slp models its show license summary, status, usage, udi, reservation (SLR) and right-to-use (RTU) only. Upgrade with `slp device install --version 17.9.4`",
            model.name()
        )))
    };
    if is(0, "reload", 3) && words.len() == 1 {
        device.state.booted_at = device.now;
        device.state.reloads += 1;
        device.state.running = device.state.startup.clone();
        return Some(Ok(String::new()));
    }
    if is(0, "license", 3) {
        return Some(unsupported());
    }
    if !(is(0, "show", 2) && is(1, "license", 3)) {
        return None;
    }
    let rest: Vec<&str> = words.iter().skip(2).map(String::as_str).collect();
    let text = match rest.as_slice() {
        [w] if "summary".starts_with(w) && w.len() >= 2 && model != PriorModel::Rtu => {
            show::summary(device)
        }
        [w] if "status".starts_with(w) && w.len() >= 3 && model != PriorModel::Rtu => {
            show::status(device)
        }
        [w] if "usage".starts_with(w) && w.len() >= 2 && model != PriorModel::Rtu => {
            show::usage(device)
        }
        [w] if "udi".starts_with(w) && w.len() >= 2 => crate::show::udi(device),
        [w] if "reservation".starts_with(w) && w.len() >= 3 && model == PriorModel::Slr => {
            show::reservation(device)
        }
        [w] if "right-to-use".starts_with(w) && w.len() >= 2 && model == PriorModel::Rtu => {
            show::right_to_use(device)
        }
        [w, s]
            if "right-to-use".starts_with(w)
                && w.len() >= 2
                && "summary".starts_with(s)
                && s.len() >= 2
                && model == PriorModel::Rtu =>
        {
            show::right_to_use_summary(device)
        }
        [w, s]
            if "right-to-use".starts_with(w)
                && w.len() >= 2
                && "usage".starts_with(s)
                && s.len() >= 2
                && model == PriorModel::Rtu =>
        {
            show::right_to_use_usage(device)
        }
        _ => return Some(unsupported()),
    };
    Some(Ok(text))
}

/// `License Reservation is ENABLED` and a blank line, on a device with a migrated SLR; empty otherwise.
pub fn reservation_banner(device: &Device) -> &'static str {
    if device.state.migration.reservation.is_some() {
        "License Reservation is ENABLED\n\n"
    } else {
        ""
    }
}

/// The `Reservation:` block of a reserved license in `show license all` / `usage` (the guide's
/// SLR example after migration).
pub fn usage_reservation(device: &Device, feature: &str, out: &mut String) {
    let Some(reservation) = &device.state.migration.reservation else { return };
    let held = reservation.confirmation.len();
    if held > 0 && reservation.features.iter().any(|f| f == feature) {
        out.push_str("  Reservation:\n    Reservation status: SPECIFIC INSTALLED\n");
        let _ = writeln!(out, "    Total reserved count: {held}");
    }
}

/// `Status: SPECIFIC INSTALLED on …` and `Last Confirmation code:` of a unit in `License
/// Authorizations` (`show license all`, `show license authorization`), or `None`.
pub fn unit_reservation(device: &Device, udi: &str) -> Option<(Timestamp, String)> {
    let reservation = device.state.migration.reservation.as_ref()?;
    let code = reservation.confirmation.get(udi)?;
    Some((reservation.installed_at, code.clone()))
}

/// The `Specified license reservations:` block of `License Authorizations` after an SLR
/// migration (the guide's example, `show license all`).
pub fn specified_reservations(device: &Device, out: &mut String) {
    let Some(reservation) = &device.state.migration.reservation else { return };
    // Units whose code was returned hold no reservation any more.
    let holders: Vec<_> = device
        .state
        .units
        .iter()
        .filter(|unit| reservation.confirmation.contains_key(&unit.udi.to_string()))
        .collect();
    if holders.is_empty() {
        return;
    }
    out.push_str("\nSpecified license reservations:\n");
    for feature in &reservation.features {
        let Some(info) = license_of(device, feature) else { continue };
        let name = info.display_name();
        let _ = writeln!(out, "  {name} ({name}):");
        let _ = writeln!(out, "    Description: {name}");
        let _ = writeln!(out, "    Total reserved count: {}", holders.len());
        let _ = writeln!(out, "    Enforcement type: {}", info.enforcement.show_word());
        out.push_str("    Term information:\n");
        for unit in &holders {
            let _ = writeln!(out, "      {}: {}", unit.role.as_str(), unit.udi);
            let _ = writeln!(
                out,
                "        Authorization type: SPECIFIC INSTALLED on {}",
                crate::show::date(reservation.installed_at)
            );
            // The guide's example prints PERPETUAL here for the add-on too.
            out.push_str("        License type: PERPETUAL\n        Term Count: 1\n");
        }
    }
}

/// `Derived Licenses:` of `show license all` after an SLR migration: the entitlement tag of each
/// reserved license, while a unit still holds its code. The guide's SLR example prints it after
/// `Purchased Licenses:` (its text wraps each tag after the comma); the layout — a blank line
/// before it, one `  Entitlement Tag: TAG` line per license — is a real 17.x `show license all`
/// capture's (Cisco's CUBE configuration guide, a C8000V with an authorization code installed).
pub fn derived_licenses(device: &Device, out: &mut String) {
    let Some(reservation) = &device.state.migration.reservation else { return };
    if reservation.confirmation.is_empty() {
        return;
    }
    out.push_str("\nDerived Licenses:\n");
    for feature in &reservation.features {
        if let Some(info) = license_of(device, feature) {
            let _ = writeln!(out, "  Entitlement Tag: {}", info.entitlement_tag);
        }
    }
}

/// A return code in the shape of the guide's examples (`Cr9Ufx-LlxSRj-…-Rp7`: eight groups of
/// six characters and one of three).
fn return_code() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    let mut group =
        |len: usize| (0..len).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
    let mut groups: Vec<String> = (0..8).map(|_| group(6)).collect();
    groups.push(group(3));
    groups.join("-")
}

/// `license smart authorization return {all|local} offline` on a device whose units hold a
/// migrated SLR code and no SLAC: "You can use this procedure for all authorization codes -
/// SLAC and SLR"; "if you are returning an SLR authorization code, copy the return code that is
/// displayed on the CLI". Each unit's code is removed, its return code shown and kept as `Last
/// return code:`. `None`: no SLR code to return here, the SLAC return answers.
pub fn slr_return(device: &mut Device, all: bool) -> Option<Result<Vec<String>, DeviceError>> {
    let reservation = device.state.migration.reservation.as_ref()?;
    let units: Vec<String> = if all {
        device.state.units.iter().map(|u| u.udi.to_string()).collect()
    } else {
        vec![device.state.active().udi.to_string()]
    };
    if units.iter().any(|udi| device.state.authorizations.contains_key(udi))
        || !units.iter().any(|udi| reservation.confirmation.contains_key(udi))
    {
        return None;
    }
    let mut returned = Vec::new();
    for udi in units {
        let held = device
            .state
            .migration
            .reservation
            .as_mut()
            .and_then(|r| r.confirmation.remove(&udi))
            .is_some();
        if held {
            returned.push((udi, return_code()));
        }
    }
    let mut lines =
        vec!["Enter this return code in Cisco Smart Software Manager portal:".to_owned()];
    for (udi, code) in &returned {
        lines.push(format!("UDI: {udi}"));
        lines.push(format!("Return code: {code}"));
    }
    for (udi, code) in returned {
        device.state.last_return_code.insert(udi.clone(), code);
        lines.push(device.log(crate::messages::Message::AuthorizationRemoved { udi: &udi }));
    }
    Some(Ok(lines))
}

/// `no license smart reservation` (global configuration): "disables SLR configuration on the
/// product instance" — `License Reservation is ENABLED` and the reservation blocks go. The
/// guide asks for the return first; a code not returned is dropped with the configuration
/// (the guide: "the return may not be reflected in CSSM or in the show command").
pub fn no_reservation(device: &mut Device) -> String {
    device.state.migration.reservation = None;
    String::new()
}

/// The license `feature` of the active unit's PID family (its display name and tag).
fn license_of(device: &Device, feature: &str) -> Option<&'static license::LicenseInfo> {
    license::family_of(&device.state.active().udi.pid).ok()?.license(feature)
}
