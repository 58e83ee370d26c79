//! The show commands of a device before Smart Licensing Using Policy, as the guide's "Before
//! Upgrade" columns print them (Tables 6–9 of "Sample Migration Scenarios"). The guide's text
//! keeps the labels and their order but not always the exact spacing; where it lost them, the
//! indentation follows the same device's Smart Licensing Using Policy output (two spaces per
//! level) and the summary table uses the same columns as `show license summary` after upgrade.

use std::fmt::Write;

use chrono::Duration;
use slp_core::Timestamp;
use slp_core::license::{LicenseInfo, Term};

use super::{PreSlp, PriorModel};
use crate::agent::Device;
use crate::show::date;

fn pre(device: &Device) -> Option<&PreSlp> {
    device.state.migration.pre_slp.as_ref()
}

/// The licenses in use (the boot level and the add-on), each counted once per unit.
fn in_use(device: &Device) -> Vec<(&'static LicenseInfo, u64)> {
    let units = device.state.units.len() as u64;
    [device.state.boot_level.as_deref(), device.state.boot_addon.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(|feature| super::license_of(device, feature))
        .map(|info| (info, units))
        .collect()
}

/// The license name a Smart Licensing device prints in front of the entitlement: the guide shows
/// `C9500 Network Advantage` (the entitlement's display name) for the base level and an SKU
/// (`C9500-DNA-16X-A`) for the add-on. slp's catalog has no SKUs, so both use the display name
/// (where the guide's SKU is not known, slp does not invent one). In evaluation mode the name
/// is empty, as in the guide.
fn name(info: &LicenseInfo) -> String {
    info.display_name().to_owned()
}

fn status_word(device: &Device, pre: &PreSlp) -> &'static str {
    match pre.model {
        PriorModel::Eval if expired(device, pre) => "EVAL EXPIRED",
        PriorModel::Eval => "EVAL MODE",
        _ => "AUTHORIZED",
    }
}

/// Whether the evaluation period is over (the guide's "expired licenses": `--eval-days-left 0`,
/// or 90 days on the clock).
fn expired(device: &Device, pre: &PreSlp) -> bool {
    pre.model == PriorModel::Eval && pre.eval_ends.is_some_and(|end| end <= device.now)
}

/// The `Status:` (and `Evaluation Period Remaining:`) lines of `License Authorization:` in
/// evaluation mode. An expired evaluation: real 16.x captures print `UNREGISTERED/EVAL EXPIRED`
/// as `show version`'s registration/authorization pair, so the authorization status is `EVAL
/// EXPIRED`; the guide shows no expired output, and slp prints the date it expired (`EVAL
/// EXPIRED on …`, as the other authorization states print theirs) and no remaining time.
fn eval_status(device: &Device, pre: &PreSlp, out: &mut String) {
    match pre.eval_ends {
        Some(end) if expired(device, pre) => {
            let _ = writeln!(out, "  Status: EVAL EXPIRED on {}", date(end));
        }
        _ => {
            out.push_str("  Status: EVAL MODE\n");
            let _ = writeln!(out, "  Evaluation Period Remaining: {}", remaining(device, pre));
        }
    }
}

/// `89 days, 21 hours, 37 minutes, 30 seconds`
fn remaining(device: &Device, pre: &PreSlp) -> String {
    let left = pre.eval_ends.map_or(Duration::zero(), |end| end - device.now).max(Duration::zero());
    let secs = left.num_seconds();
    format!(
        "{} days, {} hours, {} minutes, {} seconds",
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn registration(device: &Device, pre: &PreSlp, detail: bool, out: &mut String) {
    out.push_str("Registration:\n");
    let at = pre.registered_at.unwrap_or(device.state.booted_at);
    match pre.model {
        PriorModel::SmartLicensing => {
            out.push_str("  Status: REGISTERED\n");
            let _ =
                writeln!(out, "  Smart Account: {}", pre.smart_account.as_deref().unwrap_or(""));
            let _ = writeln!(
                out,
                "  Virtual Account: {}",
                pre.virtual_account.as_deref().unwrap_or("")
            );
            out.push_str("  Export-Controlled Functionality: ALLOWED\n");
            // The guide's dates: renewal attempt 180 days, expiry 365 days after registration.
            if detail {
                let _ = writeln!(out, "  Initial Registration: SUCCEEDED on {}", date(at));
            }
            out.push_str("  Last Renewal Attempt: None\n");
            let _ = writeln!(out, "  Next Renewal Attempt: {}", date(at + Duration::days(180)));
            if detail {
                let _ = writeln!(out, "  Registration Expires: {}", date(at + Duration::days(365)));
            }
        }
        PriorModel::Slr => {
            out.push_str("  Status: REGISTERED - SPECIFIC LICENSE RESERVATION\n");
            out.push_str("  Export-Controlled Functionality: ALLOWED\n");
            if detail {
                let _ = writeln!(out, "  Initial Registration: SUCCEEDED on {}", date(at));
            }
        }
        PriorModel::Eval | PriorModel::Rtu => {
            out.push_str("  Status: UNREGISTERED\n");
            out.push_str("  Export-Controlled Functionality: NOT ALLOWED\n");
        }
    }
    out.push('\n');
}

fn authorization(device: &Device, pre: &PreSlp, detail: bool, out: &mut String) {
    out.push_str("License Authorization:\n");
    let at = pre.registered_at.unwrap_or(device.state.booted_at);
    match pre.model {
        PriorModel::SmartLicensing => {
            // The guide's dates: next communication 30 days, deadline 90 days after it.
            if detail {
                let _ = writeln!(out, "  Status: AUTHORIZED on {}", date(at));
                let _ = writeln!(out, "  Last Communication Attempt: SUCCEEDED on {}", date(at));
            } else {
                out.push_str("  Status: AUTHORIZED\n  Last Communication Attempt: SUCCEEDED\n");
            }
            let _ =
                writeln!(out, "  Next Communication Attempt: {}", date(at + Duration::days(30)));
            if detail {
                let _ =
                    writeln!(out, "  Communication Deadline: {}", date(at + Duration::days(90)));
            }
        }
        PriorModel::Slr if detail => {
            let _ = writeln!(out, "  Status: AUTHORIZED - RESERVED on {}", date(at));
        }
        PriorModel::Slr => out.push_str("  Status: AUTHORIZED - RESERVED\n"),
        PriorModel::Eval | PriorModel::Rtu => eval_status(device, pre, out),
    }
    out.push('\n');
}

/// `show license summary` before the upgrade (Smart Licensing, SLR, evaluation).
pub fn summary(device: &Device) -> String {
    let Some(pre) = pre(device) else { return String::new() };
    let mut out = String::from("Smart Licensing is ENABLED\n");
    if pre.model == PriorModel::Slr {
        out.push_str("License Reservation is ENABLED\n");
    }
    out.push('\n');
    registration(device, pre, false, &mut out);
    authorization(device, pre, false, &mut out);
    out.push_str("License Usage:\n");
    out.push_str("  License                 Entitlement tag               Count Status\n");
    out.push_str(
        "  -----------------------------------------------------------------------------\n",
    );
    for (info, count) in in_use(device) {
        let display = name(info);
        let shown_name =
            if pre.model == PriorModel::Eval { String::new() } else { display.clone() };
        let _ = writeln!(
            out,
            "  {:<23} {:<28} {:>6} {}",
            shown_name,
            format!("({display})"),
            count,
            status_word(device, pre)
        );
    }
    out
}

/// `show license status` before the upgrade.
pub fn status(device: &Device) -> String {
    let Some(pre) = pre(device) else { return String::new() };
    let running = &device.state.running;
    let mut out = String::from("Smart Licensing is ENABLED\n\n");
    out.push_str("Utility:\n  Status: DISABLED\n\n");
    if pre.model == PriorModel::Slr {
        out.push_str("License Reservation is ENABLED\n\n");
    }
    let flag = |on: bool| if on { "ENABLED" } else { "DISABLED" };
    out.push_str("Data Privacy:\n");
    let _ = writeln!(
        out,
        "  Sending Hostname: {}",
        if running.privacy_hostname { "no" } else { "yes" }
    );
    let _ = writeln!(out, "    Callhome hostname privacy: {}", flag(running.privacy_hostname));
    let _ =
        writeln!(out, "    Smart Licensing hostname privacy: {}", flag(running.privacy_hostname));
    let _ = writeln!(out, "  Version privacy: {}\n", flag(running.privacy_version));
    out.push_str("Transport:\n");
    let transport = match pre.transport {
        Some(super::PriorTransport::Smart) => "Smart",
        _ => "Callhome",
    };
    let _ = writeln!(out, "  Type: {transport}\n");
    registration(device, pre, true, &mut out);
    authorization(device, pre, true, &mut out);
    out.push_str("Export Authorization Key:\n  Features Authorized:\n    <none>\n\n");
    if pre.model != PriorModel::Slr {
        out.push_str("Miscellaneous:\n  Custom Id: <empty>\n");
    }
    out
}

/// `show license usage` before the upgrade.
pub fn usage(device: &Device) -> String {
    let Some(pre) = pre(device) else { return String::new() };
    let mut out = String::from("License Authorization: \n");
    let at = pre.registered_at.unwrap_or(device.state.booted_at);
    match pre.model {
        PriorModel::SmartLicensing => {
            let _ = writeln!(out, "  Status: AUTHORIZED on {}\n", date(at));
        }
        PriorModel::Slr => {
            let _ = writeln!(out, "  Status: AUTHORIZED - RESERVED on {}\n", date(at));
        }
        PriorModel::Eval | PriorModel::Rtu => {
            eval_status(device, pre, &mut out);
            out.push('\n');
        }
    }
    for (info, count) in in_use(device) {
        let display = name(info);
        let (shown_name, description) = if pre.model == PriorModel::Eval {
            (String::new(), String::new())
        } else {
            (format!("{display} "), display.clone())
        };
        let _ = writeln!(out, "{shown_name}({display}):");
        let _ = writeln!(out, "  Description: {description}");
        let _ = writeln!(out, "  Count: {count}");
        out.push_str("  Version: 1.0\n");
        let _ = writeln!(out, "  Status: {}", status_word(device, pre));
        out.push_str("  Export status: NOT RESTRICTED\n\n");
    }
    out
}

/// `show license reservation` of an SLR device before the upgrade.
pub fn reservation(device: &Device) -> String {
    let Some(reservation) = &device.state.migration.reservation else {
        return "License reservation: DISABLED\n".to_owned();
    };
    let mut out = String::from("License reservation: ENABLED\n\nOverall status:\n");
    for unit in &device.state.units {
        let udi = unit.udi.to_string();
        let _ = writeln!(out, "  {}: {udi}", unit.role.as_str());
        let _ = writeln!(
            out,
            "    Reservation status: SPECIFIC INSTALLED on {}",
            date(reservation.installed_at)
        );
        out.push_str("    Export-Controlled Functionality: ALLOWED\n");
        let code = reservation.confirmation.get(&udi).map(String::as_str).unwrap_or_default();
        let _ = writeln!(out, "    Last Confirmation code: {code}");
    }
    out.push_str("\nSpecified license reservations:\n");
    for feature in &reservation.features {
        let Some(info) = super::license_of(device, feature) else { continue };
        let name = info.display_name();
        let _ = writeln!(out, "  {name} ({name}):");
        let _ = writeln!(out, "    Description: {name}");
        let _ = writeln!(out, "    Total reserved count: {}", device.state.units.len());
        out.push_str("    Term information:\n");
        for unit in &device.state.units {
            let _ = writeln!(out, "      {}: {}", unit.role.as_str(), unit.udi);
            match info.term {
                Term::Perpetual => out.push_str("        License type: PERPETUAL\n"),
                Term::Subscription => {
                    // The guide's example reserves the add-on for a one-year term.
                    let start = reservation.installed_at;
                    let day = |at: Timestamp| at.format("%Y-%b-%d UTC").to_string().to_uppercase();
                    out.push_str("        License type: TERM\n");
                    let _ = writeln!(out, "        Start Date: {}", day(start));
                    let _ = writeln!(out, "        End Date: {}", day(start + Duration::days(365)));
                }
            }
            out.push_str("        Term Count: 1\n");
        }
    }
    out
}

/// RTU licenses of one slot: the boot level (Permanent) and the add-on (Subscription).
fn rtu_rows(device: &Device) -> Vec<(String, &'static str, &'static str)> {
    let mut rows = Vec::new();
    if let Some(level) = &device.state.boot_level {
        rows.push((level.clone(), "Permanent", "Lifetime"));
    }
    if let Some(addon) = &device.state.boot_addon {
        rows.push((addon.clone(), "Subscription", "CSSM Managed"));
    }
    rows
}

fn level_words(device: &Device) -> String {
    let level = device.state.boot_level.clone().unwrap_or_default();
    match &device.state.boot_addon {
        Some(addon) => format!("{level}+{addon} Subscription"),
        None => level,
    }
}

const RTU_RULE: &str = "--------------------------------------------------------------";

/// `show license right-to-use` (RTU): one block per slot (unit), as in the guide's Table 7.
pub fn right_to_use(device: &Device) -> String {
    let mut out = String::new();
    for (idx, _) in device.state.units.iter().enumerate() {
        let slot = idx + 1;
        out.push_str("Slot#  License Name          Type          Period left\n");
        let _ = writeln!(out, "{RTU_RULE}");
        for (name, kind, left) in rtu_rows(device) {
            let _ = writeln!(out, "{slot:<6} {name:<21} {kind:<13} {left}");
        }
        let _ = writeln!(out, "{RTU_RULE}");
        let _ = writeln!(out, "License Level on Reboot: {}\n", level_words(device));
    }
    out
}

/// `show license right-to-use summary` (RTU).
pub fn right_to_use_summary(device: &Device) -> String {
    let mut out = String::from("License Name          Type          Period left\n");
    let _ = writeln!(out, "{RTU_RULE}");
    for (name, kind, left) in rtu_rows(device) {
        let _ = writeln!(out, "{name:<21} {kind:<13} {left}");
    }
    let _ = writeln!(out, "{RTU_RULE}");
    let words = level_words(device);
    let _ = writeln!(out, "License Level In Use: {words}");
    let _ = writeln!(out, "License Level on Reboot: {words}");
    out
}

/// `show license right-to-use usage` (RTU): every license and type of each slot, the ones in
/// use `yes yes` (In-Use, EULA), as in the guide's Table 7.
pub fn right_to_use_usage(device: &Device) -> String {
    const ROWS: &[(&str, &str)] = &[
        ("network-essentials", "Permanent"),
        ("network-essentials", "Evaluation"),
        ("network-essentials", "Subscription"),
        ("network-advantage", "Permanent"),
        ("network-advantage", "Evaluation"),
        ("network-advantage", "Subscription"),
        ("dna-essentials", "Evaluation"),
        ("dna-essentials", "Subscription"),
        ("dna-advantage", "Evaluation"),
        ("dna-advantage", "Subscription"),
    ];
    let in_use: Vec<(String, &str)> =
        rtu_rows(device).into_iter().map(|(name, kind, _)| (name, kind)).collect();
    let mut out = String::new();
    for (idx, _) in device.state.units.iter().enumerate() {
        let slot = idx + 1;
        out.push_str(
            "Slot#  License Name          Type          usage-duration(y:m:d)  In-Use  EULA\n",
        );
        let _ = writeln!(out, "{RTU_RULE}");
        for (name, kind) in ROWS {
            let used = in_use.iter().any(|(n, k)| n.as_str() == *name && *k == *kind);
            let yes = if used { "yes" } else { "no" };
            let _ =
                writeln!(out, "{slot:<6} {name:<21} {kind:<13} {:<22} {yes:<7} {yes}", "00:00:00");
        }
        let _ = writeln!(out, "{RTU_RULE}\n");
    }
    out
}

/// The `Smart Licensing Status:` of `show version` before the upgrade, `None` after it. Real
/// 16.x Catalyst 9300 captures print `REGISTERED/AUTHORIZED`, `UNREGISTERED/EVAL MODE` and, once
/// the evaluation period is over, `UNREGISTERED/EVAL EXPIRED` (a C9300-24U on 16.12.3)
/// (registration/authorization, as `show license summary` names them); for SLR the same pair
/// is `show license summary`'s two statuses. RTU releases have no Smart Licensing status and
/// the guide shows none: empty, the line is left out.
pub fn version_status(device: &Device) -> Option<&'static str> {
    let pre = pre(device)?;
    Some(match pre.model {
        PriorModel::SmartLicensing => "REGISTERED/AUTHORIZED",
        PriorModel::Slr => "REGISTERED - SPECIFIC LICENSE RESERVATION/AUTHORIZED - RESERVED",
        PriorModel::Eval if expired(device, pre) => "UNREGISTERED/EVAL EXPIRED",
        PriorModel::Eval => "UNREGISTERED/EVAL MODE",
        PriorModel::Rtu => "",
    })
}
