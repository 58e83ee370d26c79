//! `show license …` and `show version`, laid out as an IOS-XE 17.9 device prints them, so the
//! parsers network teams use (Genie, ntc-templates) read them unchanged.

use std::fmt::Write;

use chrono::Duration;
use slp_core::Timestamp;
use slp_core::ledger::ReportState;
use slp_core::license::{self, Enforcement};
use slp_core::policy::{PolicyClass, PolicyOrigin};
use slp_core::udi::HaRole;

use crate::DeviceError;
use crate::agent::{DEFAULT_SMART_URL, Device, long_version};
use crate::state::Transport;

pub(crate) mod tech;
pub use tech::tech_support;

/// `Oct 28 10:29:59 2020 UTC`
pub fn date(at: Timestamp) -> String {
    at.format("%b %d %H:%M:%S %Y UTC").to_string()
}

fn date_or_none(at: Option<Timestamp>) -> String {
    at.map(date).unwrap_or_else(|| "<none>".to_owned())
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn enabled(value: bool) -> &'static str {
    if value { "ENABLED" } else { "DISABLED" }
}

fn account_section(device: &Device, out: &mut String) {
    out.push_str("Account Information:\n");
    match &device.state.account {
        Some(account) => {
            let _ = writeln!(
                out,
                "  Smart Account: {} As of {}",
                account.smart_account,
                date(account.as_of)
            );
            let _ = writeln!(out, "  Virtual Account: {}", account.virtual_account);
        }
        None => {
            out.push_str("  Smart Account: <none>\n  Virtual Account: <none>\n");
        }
    }
}

/// `show license summary`
pub fn summary(device: &Device) -> String {
    let mut out = String::from(crate::migration::reservation_banner(device));
    account_section(device, &mut out);
    out.push('\n');
    out.push_str("License Usage:\n");
    out.push_str("  License                 Entitlement Tag               Count Status\n");
    out.push_str(
        "  -----------------------------------------------------------------------------\n",
    );
    for (info, count) in shown_usage(device) {
        let mut display = info.display_name().to_owned();
        // A real device keeps 25 characters of the tag: 22 and an ellipsis.
        if display.chars().count() > 25 {
            display = format!("{}...", display.chars().take(22).collect::<String>());
        }
        let _ = writeln!(
            out,
            "  {:<23} {:<28} {:>6} {}",
            info.feature,
            format!("({display})"),
            count,
            usage_status(count)
        );
    }
    out
}

fn usage_status(count: u64) -> &'static str {
    if count > 0 { "IN USE" } else { "NOT IN USE" }
}

/// Licenses to list: those in use, plus authorized ones not in use (shown NOT IN USE).
fn shown_usage(device: &Device) -> Vec<(&'static license::LicenseInfo, u64)> {
    let authorized: Vec<String> = device
        .state
        .authorizations
        .values()
        .flat_map(|auth| auth.entitlements.iter().map(|e| e.feature.clone()))
        .collect();
    device
        .current_usage()
        .into_iter()
        .filter(|(info, count)| *count > 0 || authorized.iter().any(|f| f == info.feature))
        .collect()
}

/// `show license usage`
pub fn usage(device: &Device) -> String {
    let mut out = String::from("License Authorization: \n  Status: Not Applicable\n\n");
    usage_entries(device, &mut out);
    out
}

fn usage_entries(device: &Device, out: &mut String) {
    for (info, count) in shown_usage(device) {
        let display = info.display_name();
        let description = info.description.unwrap_or(display);
        let _ = writeln!(out, "{} ({}):", info.feature, display);
        let _ = writeln!(out, "  Description: {description}");
        let _ = writeln!(out, "  Count: {count}");
        out.push_str("  Version: 1.0\n");
        let _ = writeln!(out, "  Status: {}", usage_status(count));
        let export = if info.enforcement == Enforcement::ExportControlled {
            "RESTRICTED - ALLOWED"
        } else {
            "NOT RESTRICTED"
        };
        let _ = writeln!(out, "  Export status: {export}");
        let _ = writeln!(out, "  Feature Name: {}", info.feature);
        let _ = writeln!(out, "  Feature Description: {description}");
        let _ = writeln!(out, "  Enforcement type: {}", info.enforcement.show_word());
        let _ = writeln!(out, "  License type: {}", info.term.show_word());
        crate::migration::usage_reservation(device, info.feature, out);
        out.push('\n');
    }
}

fn policy_section(device: &Device, out: &mut String) {
    let policy = device.state.effective_policy();
    let origin = policy.origin.label();
    out.push_str("Policy:\n");
    match (&device.state.policy, policy.origin) {
        (Some(installed), PolicyOrigin::Customer) => {
            let _ = writeln!(out, "  Policy in use: Installed On {}", date(installed.installed_at));
            let _ = writeln!(out, "  Policy name: {}", installed.policy.name);
        }
        _ => out.push_str("  Policy in use: Merged from multiple sources.\n"),
    }
    let _ = writeln!(out, "  Reporting ACK required: {} ({origin})", yes_no(policy.ack_required));
    for class in PolicyClass::ALL {
        let a = policy.attributes(class);
        let _ = writeln!(out, "  {}", class.heading());
        let _ = writeln!(out, "    First report requirement (days): {} ({origin})", a.first);
        let _ = writeln!(out, "    Reporting frequency (days): {} ({origin})", a.ongoing);
        let _ = writeln!(out, "    Report on change (days): {} ({origin})", a.on_change);
    }
}

fn transport_section(device: &Device, out: &mut String) {
    let running = &device.state.running;
    out.push_str("Transport:\n");
    let _ = writeln!(out, "  Type: {}", running.transport.show_word());
    let proxy = |out: &mut String| {
        out.push_str("  Proxy:\n");
        match (&running.proxy_address, running.proxy_port) {
            (Some(address), port) => {
                let _ = writeln!(out, "    Address: {address}");
                let _ = writeln!(
                    out,
                    "    Port: {}",
                    port.map_or("<empty>".to_owned(), |p| p.to_string())
                );
                out.push_str("    Username: <empty>\n    Password: <empty>\n");
            }
            (None, _) => out.push_str("    Not Configured\n"),
        }
        out.push_str("  VRF:\n    Not Configured\n");
    };
    match running.transport {
        Transport::Cslu => {
            let url = crate::config::ip::cslu_url(running);
            let _ = writeln!(out, "  Cslu address: {url}");
            proxy(out);
        }
        Transport::Smart => {
            let url = running.url_smart.clone().unwrap_or_else(|| DEFAULT_SMART_URL.to_owned());
            let _ = writeln!(out, "  URL: {url}");
            proxy(out);
        }
        // Call Home keeps its URL and proxy in the call-home profile: the agent prints the type
        // alone (the guide's `show license status` examples; genieparser's 17.x captures).
        Transport::Callhome | Transport::Off => {}
    }
}

fn usage_reporting_section(device: &Device, out: &mut String) {
    let state = &device.state;
    out.push_str("Usage Reporting:\n");
    let _ = writeln!(out, "  Last ACK received: {}", date_or_none(state.last_ack));
    let _ = writeln!(out, "  Next ACK deadline: {}", date_or_none(device.next_ack_deadline()));
    let interval = device.push_interval_days();
    if interval == 0 {
        out.push_str("  Reporting push interval: 0 (no reporting)\n");
    } else {
        let _ = writeln!(out, "  Reporting push interval: {interval}  days");
    }
    let _ = writeln!(out, "  Next ACK push check: {}", date_or_none(device.next_ack_push_check()));
    let _ = writeln!(out, "  Next report push: {}", date_or_none(device.next_report_push()));
    let _ = writeln!(out, "  Last report push: {}", date_or_none(state.last_push));
    let _ = writeln!(out, "  Last report file write: {}", date_or_none(state.last_file_write));
}

/// `Trust Code Installed:`. A standalone device prints one line, as `show license status` does;
/// `per_unit` prints every unit on its own lines (HA, and `show license all`, where Genie's
/// parser would otherwise file the later `Overall status: Active:` line under the trust code).
fn trust_section(device: &Device, out: &mut String, per_unit: bool) {
    let state = &device.state;
    let installed = |unit: &crate::state::Unit| state.trust.contains_key(&unit.udi.to_string());
    // A stack where no unit has a trust code prints the one-line `<none>` as a standalone switch
    // does (genieparser's `show license all` capture of a three-switch C9300 stack).
    let none_installed = !state.factory_trust && !state.units.iter().any(installed);
    if none_installed
        || (state.units.len() == 1 && !(per_unit && state.units.iter().any(installed)))
    {
        let udi = state.active().udi.to_string();
        match state.trust.get(&udi) {
            Some(trust) => {
                let _ = writeln!(out, "Trust Code Installed: {}", date(trust.installed_at));
            }
            None if state.factory_trust => {
                out.push_str("Trust Code Installed: Factory-installed\n")
            }
            None => out.push_str("Trust Code Installed: <none>\n"),
        }
        return;
    }
    out.push_str("Trust Code Installed:\n");
    for unit in &state.units {
        let udi = unit.udi.to_string();
        let what = match state.trust.get(&udi) {
            Some(trust) => format!("INSTALLED on {}", date(trust.installed_at)),
            None if state.factory_trust => "FACTORY INSTALLED".to_owned(),
            None => "NOT INSTALLED".to_owned(),
        };
        let _ = writeln!(out, "  {}: {}\n    {}", unit.role.as_str(), udi, what);
    }
}

/// The sections of `show license status`, in the order of the reference's 17.x examples
/// (Transport, Policy, Miscellaneous, Usage Reporting), which is also the order Genie follows.
fn status_body(device: &Device, out: &mut String, trust_per_unit: bool) {
    let running = &device.state.running;
    out.push_str("Utility:\n  Status: DISABLED\n\n");
    // `show license all` has it at its top already.
    if !trust_per_unit {
        out.push_str(crate::migration::reservation_banner(device));
    }
    out.push_str("Smart Licensing Using Policy:\n  Status: ENABLED\n\n");
    account_section(device, out);
    out.push('\n');
    out.push_str("Data Privacy:\n");
    let _ = writeln!(out, "  Sending Hostname: {}", yes_no(!running.privacy_hostname));
    let _ = writeln!(out, "    Callhome hostname privacy: {}", enabled(running.privacy_hostname));
    let _ = writeln!(
        out,
        "    Smart Licensing hostname privacy: {}",
        enabled(running.privacy_hostname)
    );
    let _ = writeln!(out, "  Version privacy: {}", enabled(running.privacy_version));
    out.push('\n');
    transport_section(device, out);
    out.push('\n');
    policy_section(device, out);
    out.push('\n');
    let custom_id = running.settings.licensing.custom_id_text();
    let _ = writeln!(out, "Miscellaneous:\n  Custom Id: {custom_id}\n");
    usage_reporting_section(device, out);
    out.push('\n');
    trust_section(device, out, trust_per_unit);
}

/// `show license status`
pub fn status(device: &Device) -> String {
    let mut out = String::new();
    status_body(device, &mut out, false);
    out
}

fn ha_list(device: &Device, out: &mut String) {
    let _ = writeln!(out, "UDI: {}", device.state.active().udi);
    if device.state.units.len() > 1 {
        out.push_str("\nHA UDI List:\n");
        for unit in &device.state.units {
            let _ = writeln!(out, "    {}:{}", unit.role.as_str(), unit.udi);
        }
    }
}

/// `show license udi`
pub fn udi(device: &Device) -> String {
    let mut out = String::new();
    ha_list(device, &mut out);
    out
}

fn authorization_body(device: &Device, out: &mut String) {
    let state = &device.state;
    out.push_str("Overall status:\n");
    for unit in &state.units {
        let udi = unit.udi.to_string();
        let _ = writeln!(out, "  {}: PID:{},SN:{}", unit.role.as_str(), unit.udi.pid, unit.udi.sn);
        match state.authorizations.get(&udi) {
            Some(auth) => {
                let _ = writeln!(
                    out,
                    "      Status: SMART AUTHORIZATION INSTALLED on {}",
                    date(auth.installed_at)
                );
                let _ = writeln!(out, "      Last Confirmation code: {}", auth.confirmation_code);
            }
            None => {
                if let Some((at, code)) = crate::migration::unit_reservation(device, &udi) {
                    let _ = writeln!(out, "      Status: SPECIFIC INSTALLED on {}", date(at));
                    let _ = writeln!(out, "      Last Confirmation code: {code}");
                    continue;
                }
                out.push_str("      Status: NOT INSTALLED\n");
                if let Some(code) = state.last_return_code.get(&udi) {
                    let _ = writeln!(out, "      Last return code: {code}");
                }
            }
        }
    }
    let mut features: Vec<&str> = state
        .authorizations
        .values()
        .flat_map(|a| a.entitlements.iter().map(|e| e.feature.as_str()))
        .collect();
    features.sort();
    features.dedup();
    if !features.is_empty() {
        out.push_str("\nAuthorizations:\n");
        for feature in features {
            let info = license::lookup(feature);
            let display =
                info.map(|i| i.display_name().to_owned()).unwrap_or_else(|| feature.to_owned());
            let description = info.and_then(|i| i.description).unwrap_or(feature);
            let holders: Vec<(HaRole, String, u64, String)> = state
                .units
                .iter()
                .filter_map(|unit| {
                    let auth = state.authorizations.get(&unit.udi.to_string())?;
                    let ent = auth.entitlements.iter().find(|e| e.feature == feature)?;
                    Some((unit.role, unit.udi.to_string(), ent.count, ent.license_type.clone()))
                })
                .collect();
            let total = holders.iter().map(|h| h.2).fold(0_u64, u64::saturating_add);
            let enforcement = info.map_or("EXPORT RESTRICTED", |i| i.enforcement.show_word());
            let _ = writeln!(out, "  {} ({}):", feature_heading(feature), display);
            let _ = writeln!(out, "    Description: {description}");
            let _ = writeln!(out, "    Total available count: {total}");
            let _ = writeln!(out, "    Enforcement type: {enforcement}");
            out.push_str("    Term information:\n");
            for (role, udi, count, license_type) in holders {
                let _ = writeln!(out, "      {}: {}", role.as_str(), udi);
                out.push_str("        Authorization type: SMART AUTHORIZATION INSTALLED\n");
                let _ =
                    writeln!(out, "        License type: {}", license_type.to_ascii_uppercase());
                let _ = writeln!(out, "          Term Count: {count}");
            }
        }
    }
    crate::migration::specified_reservations(device, out);
    out.push_str("\nPurchased Licenses:\n  No Purchase Information Available\n");
    crate::migration::derived_licenses(device, out);
}

fn feature_heading(feature: &str) -> &str {
    if feature == "hseck9" { "C9K HSEC" } else { feature }
}

/// `show license authorization`
pub fn authorization(device: &Device) -> String {
    let mut out = String::new();
    authorization_body(device, &mut out);
    out
}

fn report_summary(device: &Device, out: &mut String) {
    let ledger = &device.state.ledger;
    let total = ledger.reports.len();
    let acked = ledger.reports.values().filter(|r| r.state == ReportState::Acknowledged).count();
    let waiting = ledger
        .reports
        .values()
        .filter(|r| matches!(r.state, ReportState::Pending | ReportState::Unacknowledged))
        .count();
    let available = ledger.reports.values().filter(|r| r.state == ReportState::Closed).count();
    let collecting = ledger.reports.values().filter(|r| r.state == ReportState::Open).count();
    let _ = writeln!(out, "Total: {total},  Purged: 0");
    let _ = writeln!(out, "Total Acknowledged Received: {acked},  Waiting for Ack: {waiting}");
    // Three lines, as every real `show license all` prints them; `Maximum Display`, `In Storage`
    // and `MIA` are tech support's.
    let _ = writeln!(out, "Available to Report: {available}  Collecting Data: {collecting}");
}

/// `show license all`
pub fn all(device: &Device) -> String {
    let mut out = String::from(
        "Smart Licensing Status\n======================\n\nSmart Licensing is ENABLED\n",
    );
    let banner = crate::migration::reservation_banner(device);
    out.push_str(banner);
    if banner.is_empty() {
        out.push('\n');
    }
    // No `License Conversion:` block: the guide's `show license all` and genieparser's capture
    // of a pre-5.10 agent have none (later agents print one with `Last Data Push`).
    // The Export Authorization Key is Smart Licensing's export key, not a SLAC: real devices
    // print `<none>` here with a SLAC (or an SLR code) installed, which shows under License
    // Authorizations instead (a 17.x C8000V with `SMART AUTHORIZATION INSTALLED`; the guide's
    // SLR migration example). Genie's ShowLicenseAll also needs the `<none>` line to start its
    // status section.
    out.push_str("Export Authorization Key:\n  Features Authorized:\n    <none>\n\n");
    status_body(device, &mut out, true);
    out.push_str("\nLicense Usage\n=============\n");
    usage_entries(device, &mut out);
    out.push_str("Product Information\n===================\n");
    ha_list(device, &mut out);
    out.push_str("\nAgent Version\n=============\nSmart Agent for Licensing: 5.5.13_rel/26\n\n");
    out.push_str("License Authorizations\n======================\n");
    authorization_body(device, &mut out);
    out.push_str("\nUsage Report Summary:\n=====================\n");
    report_summary(device, &mut out);
    out
}

/// `show license rum id all`, laid out as a 17.x device prints it.
pub fn rum_all(device: &Device) -> String {
    rum_table(device.state.ledger.reports.values())
}

fn rum_table<'a>(reports: impl Iterator<Item = &'a slp_core::ledger::Report>) -> String {
    let mut out = String::from("Smart Licensing Usage Report:\n");
    out.push_str("====================================\n");
    out.push_str("Report Id,          State,    Flag, Feature Name\n");
    for report in reports {
        let flag = if report.in_storage() || report.state == ReportState::Open { "N" } else { "D" };
        let _ = writeln!(
            out,
            "{:<19} {:<9} {:<5} {}",
            report.id,
            report.state.show_word(),
            flag,
            report.feature
        );
    }
    out
}

/// `show license rum id <n>`
pub fn rum_one(device: &Device, id: u64) -> Result<String, DeviceError> {
    Ok(rum_table(std::iter::once(find_report(device, id)?)))
}

fn find_report(device: &Device, id: u64) -> Result<&slp_core::ledger::Report, DeviceError> {
    device
        .state
        .ledger
        .reports
        .get(&id)
        .ok_or_else(|| DeviceError::Refused(format!("% Error: RUM report {id} not found")))
}

/// `show license rum id <n> detail`, laid out as genieparser's 17.x capture of a C9300 (its
/// header, and the column gaps after `Previous Report Id`, `State` and `Start Time`).
pub fn rum_detail(device: &Device, id: u64) -> Result<String, DeviceError> {
    let report = find_report(device, id)?;
    let mut out = String::from("Smart Licensing Usage Report Detail:\n");
    out.push_str("====================================\n");
    let _ = writeln!(out, "Report Id: {}", report.id);
    out.push_str("  Metric Name: ENTITLEMENT\n");
    let _ = writeln!(out, "  Feature Name: {}", report.feature);
    let _ = writeln!(out, "  Metric Value: {}", report.entitlement_tag);
    let _ = writeln!(out, "  UDI: {}", device.state.active().udi);
    let _ = writeln!(
        out,
        "  Previous Report Id: {},    Next Report Id: {}",
        report.previous.unwrap_or(0),
        report.next.unwrap_or(0)
    );
    // The capture shows `ACK, … ACKED`; for the other states the guide and the captures are
    // silent, so the reason is why the report closed (`None` while it is open).
    let reason = match report.state {
        ReportState::Acknowledged => "ACKED",
        _ => report.close_reason.map_or("None", |r| r.as_str()),
    };
    let _ =
        writeln!(out, "  State: {},      State Change Reason: {reason}", report.state.show_word());
    let _ = writeln!(
        out,
        "  Start Time: {},      End Time: {}",
        date(report.start),
        report.end.map_or("<none>".to_owned(), date)
    );
    let storage =
        if report.in_storage() || report.state == ReportState::Open { "EXIST" } else { "DELETED" };
    let _ = writeln!(out, "  Storage State: {storage}");
    let _ = writeln!(out, "  Transaction ID: {}", report.transaction_id.as_deref().unwrap_or("0"));
    out.push_str("  Transaction Message: <none>\n");
    Ok(out)
}

/// `show license eventlog [days]`
pub fn eventlog(device: &Device, days: Option<u64>) -> String {
    let since = days
        .map(|d| device.now - Duration::days(i64::try_from(d).unwrap_or(i64::MAX / 86_400_000)));
    // Syslog messages (`%SMART_LIC-…`) stay in the log (`show logging`); the event log has the
    // agent's own `SAEVT_…` entries.
    let events: Vec<_> = device
        .state
        .events
        .iter()
        .filter(|e| e.text.starts_with("SAEVT_"))
        .filter(|e| since.is_none_or(|since| e.at >= since))
        .collect();
    if events.is_empty() {
        return "No EventLog Found.\n".to_owned();
    }
    let mut out = String::from(" **** Event Log ****\n");
    for event in events {
        let _ = writeln!(out, "{} {}", event.at.format("%Y-%m-%d %H:%M:%S%.3f UTC"), event.text);
    }
    out
}

/// `show logging`: the syslog buffer with the device's `%SMART_LIC-…` messages, stamped as
/// `service timestamps log datetime msec show-timezone year` prints them (`*`: no NTP).
pub fn logging(device: &Device) -> String {
    let messages: Vec<_> =
        device.state.events.iter().filter(|e| !e.text.starts_with("SAEVT_")).collect();
    let mut out = String::from(
        "Syslog logging: enabled (0 messages dropped, 0 messages rate-limited, 0 flushes, 0 overruns, xml disabled, filtering disabled)\n\n",
    );
    let _ = writeln!(out, "Log Buffer (102400 bytes):\n");
    for event in messages {
        let _ = writeln!(out, "*{}: {}", event.at.format("%b %e %Y %H:%M:%S%.3f UTC"), event.text);
    }
    out
}

/// `show license history message`: communication history, then imported messages by kind, laid
/// out as a 17.9 device prints it (headings flush left under a `=` rule, `No past Import history`).
pub fn history(device: &Device) -> String {
    const RULE: &str = "====================================================\n";
    let mut out = String::from("\nMessage History (oldest to newest):\n");
    out.push_str(RULE);
    for kind in [
        "Trust Establishment",
        "Usage Reporting",
        "Result Polling",
        "Authorization Request",
        "Authorization Return",
        "Trust Sync",
    ] {
        let _ = writeln!(out, "{kind}:\n  No past history");
    }
    out.push_str("\nImport Message History (oldest to newest):\n");
    out.push_str(RULE);
    let kinds = ["POLICY", "AUTH", "TRUST CODE", "RUM ACK", "CONVERSION ACK", "ACCOUNT INFO"];
    for (idx, kind) in kinds.iter().enumerate() {
        if idx > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "Import {kind}:");
        let entries: Vec<_> = device.state.history.iter().filter(|h| h.kind == *kind).collect();
        match entries.len() {
            0 => out.push_str("  No past Import history\n"),
            1 => out.push_str("  1 message imported\n"),
            n => {
                let _ = writeln!(out, "  {n} messages imported");
            }
        }
        for entry in entries {
            let _ = writeln!(out, "    {}: {}", date(entry.at), entry.summary);
        }
    }
    out
}

/// `show running-config` (the parts slp models).
pub fn running_config(device: &Device) -> String {
    let r = &device.state.running;
    let mut out = String::from("Building configuration...\n\nCurrent configuration:\n!\n");
    let settings = &r.settings;
    out.push_str(crate::config::callhome::service_line(&settings.call_home));
    let _ = writeln!(out, "hostname {}\n!", r.hostname);
    let top = settings.management.top_lines();
    if !top.is_empty() {
        let _ = writeln!(out, "{top}!");
    }
    let dns = settings.ip.dns_lines();
    if !dns.is_empty() {
        let _ = writeln!(out, "{dns}!");
    }
    out.push_str(&settings.trustpoints.lines());
    if let Some(level) = &r.boot_level {
        match &r.boot_addon {
            Some(addon) => {
                let _ = writeln!(out, "license boot level {level} addon {addon}");
            }
            None => {
                let _ = writeln!(out, "license boot level {level}");
            }
        }
    }
    if r.transport != Transport::Cslu {
        let _ = writeln!(out, "license smart transport {}", r.transport.keyword());
    }
    if let Some(url) = &r.url_cslu {
        let _ = writeln!(out, "license smart url cslu {url}");
    }
    if let Some(url) = &r.url_smart {
        let _ = writeln!(out, "license smart url smart {url}");
    }
    if let Some(url) = &r.url_callhome {
        let _ = writeln!(out, "license smart url {url}");
    }
    if let Some(address) = &r.proxy_address {
        let _ = writeln!(out, "license smart proxy address {address}");
    }
    if let Some(port) = r.proxy_port {
        let _ = writeln!(out, "license smart proxy port {port}");
    }
    if let Some(interval) = r.usage_interval {
        let _ = writeln!(out, "license smart usage interval {interval}");
    }
    if r.privacy_hostname {
        out.push_str("license smart privacy hostname\n");
    }
    if r.privacy_version {
        out.push_str("license smart privacy version\n");
    }
    out.push_str(&settings.licensing.lines());
    for (user, secret) in &r.users {
        let _ = writeln!(out, "username {user} privilege 15 secret 9 {secret}");
    }
    for tunnel in &r.tunnels {
        let _ = writeln!(out, "!\ninterface {tunnel}");
        if r.ipsec_tunnels.contains(tunnel) {
            out.push_str(" tunnel mode ipsec ipv4\n");
        }
    }
    let http = format!("{}{}", settings.ip.http_lines(), settings.management.ip_lines());
    if !http.is_empty() {
        let _ = write!(out, "!\n{http}");
    }
    let _ = write!(out, "!\n{}", crate::config::callhome::block(&settings.call_home));
    out.push_str(&settings.ip.ntp_lines());
    let _ = write!(out, "!\n{}", settings.management.line_lines());
    out.push_str("!\nend\n");
    out
}

/// An IOS uptime: `1 year, 2 weeks, 1 day, 3 hours, 1 minute`, zero units left out.
pub fn uptime_words(uptime: Duration) -> String {
    const HOUR: i64 = 60;
    const DAY: i64 = 24 * HOUR;
    const WEEK: i64 = 7 * DAY;
    const YEAR: i64 = 365 * DAY;
    let total = uptime.num_minutes().max(0);
    let in_year = total % YEAR;
    let units = [
        ("year", total / YEAR),
        ("week", in_year / WEEK),
        ("day", in_year % WEEK / DAY),
        ("hour", in_year % DAY / HOUR),
        ("minute", in_year % HOUR),
    ];
    let words: Vec<String> = units
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(unit, n)| if *n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") })
        .collect();
    if words.is_empty() { "0 minutes".to_owned() } else { words.join(", ") }
}

/// The `AIR License Level` a Catalyst 9000 prints for a boot level and add-on.
fn air_level(level: Option<&str>, addon: Option<&str>) -> &'static str {
    match (addon, level) {
        (Some("dna-advantage"), _) => "AIR DNA Advantage",
        (Some("dna-essentials"), _) => "AIR DNA Essentials",
        (_, Some("network-advantage")) => "AIR Network Advantage",
        _ => "AIR Network Essentials",
    }
}

/// Front-panel ports a C9300 family member reports in the switch table.
fn port_count(pid: &str) -> u32 {
    if pid.contains("-48") { 65 } else { 41 }
}

/// `show clock`: the asterisk says the time is not authoritative, as on a device whose clock
/// was set by hand; with an `ntp server` configured it counts as synchronized (slp's clock is
/// the host's or the virtual one, so there is nothing to correct) and has none.
pub fn clock(device: &Device) -> String {
    let mark = if ntp_configured(device) { "" } else { "*" };
    format!("{mark}{}\n", device.now.format("%H:%M:%S%.3f UTC %a %b %-d %Y"))
}

/// Whether `ntp server` is configured (what `show clock` and tech support's NTP line follow).
fn ntp_configured(device: &Device) -> bool {
    !device.state.running.settings.ip.ntp_servers.is_empty()
}

/// Splits `show … | modifier` into the command and the modifier; `None` for other lines.
pub fn split_pipe(line: &str) -> Option<(&str, &str)> {
    let (command, modifier) = line.split_once('|')?;
    let first = command.split_whitespace().next()?.to_ascii_lowercase();
    (first.len() >= 2 && "show".starts_with(&first)).then(|| (command.trim_end(), modifier.trim()))
}

/// Why an output modifier was refused, with the text the device prints.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("% Invalid input detected at '^' marker: unknown output modifier {0:?}")]
    Unknown(String),
    #[error("% Incomplete command: output modifier {0:?} needs a regular expression")]
    Missing(String),
    #[error("% Invalid regular expression {0:?}")]
    Regex(String),
}

/// IOS output modifiers: what follows `|` after a show command.
#[derive(Debug)]
pub enum OutputFilter {
    /// Lines that match.
    Include(regex::Regex),
    /// Lines that do not match.
    Exclude(regex::Regex),
    /// Sections (a line and the indented lines under it) with a line that matches.
    Section(regex::Regex),
    /// Everything from the first line that matches.
    Begin(regex::Regex),
}

impl OutputFilter {
    /// `include REGEX` (any unique abbreviation of the keyword, as IOS allows).
    pub fn parse(modifier: &str) -> Result<OutputFilter, FilterError> {
        let modifier = modifier.trim();
        let (keyword, pattern) = match modifier.split_once(char::is_whitespace) {
            Some((keyword, pattern)) => (keyword, pattern.trim()),
            None => (modifier, ""),
        };
        let keyword = keyword.to_ascii_lowercase();
        let chosen = ["include", "exclude", "section", "begin"]
            .into_iter()
            .find(|k| !keyword.is_empty() && k.starts_with(&keyword))
            .ok_or_else(|| FilterError::Unknown(modifier.to_owned()))?;
        if pattern.is_empty() {
            return Err(FilterError::Missing(chosen.to_owned()));
        }
        let regex =
            regex::Regex::new(pattern).map_err(|_| FilterError::Regex(pattern.to_owned()))?;
        Ok(match chosen {
            "include" => OutputFilter::Include(regex),
            "exclude" => OutputFilter::Exclude(regex),
            "section" => OutputFilter::Section(regex),
            _ => OutputFilter::Begin(regex),
        })
    }

    /// The output as the device prints it after the modifier.
    pub fn apply(&self, text: &str) -> String {
        let kept: Vec<&str> = match self {
            OutputFilter::Include(re) => text.lines().filter(|l| re.is_match(l)).collect(),
            OutputFilter::Exclude(re) => text.lines().filter(|l| !re.is_match(l)).collect(),
            OutputFilter::Begin(re) => text.lines().skip_while(|l| !re.is_match(l)).collect(),
            OutputFilter::Section(re) => {
                let mut sections: Vec<Vec<&str>> = Vec::new();
                for line in text.lines() {
                    match sections.last_mut() {
                        Some(section) if line.starts_with(' ') => section.push(line),
                        _ => sections.push(vec![line]),
                    }
                }
                sections
                    .into_iter()
                    .filter(|section| section.iter().any(|l| re.is_match(l)))
                    .flatten()
                    .collect()
            }
        };
        kept.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// `show version`, as a 17.9 Catalyst 9300 in install mode prints it.
pub fn version(device: &Device) -> String {
    let state = &device.state;
    let v = long_version(&state.software_version);
    let host = state.hostname();
    let uptime = uptime_words(device.uptime());
    let active = &state.active().udi;
    let mut out = String::new();
    let _ = writeln!(out, "Cisco IOS XE Software, Version {v}");
    let _ = writeln!(
        out,
        "Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_IOSXE), Version {}, RELEASE SOFTWARE (fc1)",
        state.software_version
    );
    out.push_str("Technical Support: http://www.cisco.com/techsupport\n");
    out.push_str("Copyright (c) 1986-2023 by Cisco Systems, Inc.\n");
    out.push_str("Compiled Tue 01-Aug-23 12:00 by mcpre\n\n\n");
    out.push_str("Cisco IOS-XE software, Copyright (c) 2005-2023 by cisco Systems, Inc.\n");
    out.push_str("All rights reserved.  Certain components of Cisco IOS-XE software are\n");
    out.push_str("licensed under the GNU General Public License (\"GPL\") Version 2.0.\n\n\n");
    out.push_str("ROM: IOS-XE ROMMON\n");
    out.push_str("BOOTLDR: System Bootstrap, Version 17.9.1r, RELEASE SOFTWARE (P)\n\n");
    let _ = writeln!(out, "{host} uptime is {uptime}");
    let _ = writeln!(out, "Uptime for this control processor is {uptime}");
    out.push_str("System returned to ROM by Reload Command\n");
    let _ =
        writeln!(out, "System restarted at {}", state.booted_at.format("%H:%M:%S UTC %a %b %d %Y"));
    out.push_str("System image file is \"flash:packages.conf\"\n");
    out.push_str("Last reload reason: Reload Command\n\n\n\n");
    out.push_str("This product contains cryptographic features and is subject to United\n");
    out.push_str(
        "States and local country laws governing import, export, transfer and\nuse.\n\n\n",
    );
    out.push_str("Technology Package License Information: \n\n");
    out.push_str(
        "------------------------------------------------------------------------------\n",
    );
    out.push_str("Technology-package                                     Technology-package\n");
    out.push_str("Current                        Type                       Next reboot  \n");
    out.push_str(
        "------------------------------------------------------------------------------\n",
    );
    let current_level = state.boot_level.as_deref().unwrap_or("None");
    let next_level = state.startup.boot_level.as_deref().unwrap_or("None");
    let _ = writeln!(out, "{current_level:<20}\t{:<30}\t {next_level:<20}", "Smart License");
    let current_addon = state.boot_addon.as_deref().unwrap_or("None");
    let next_addon = state.startup.boot_addon.as_deref().unwrap_or("None");
    let _ = writeln!(
        out,
        "{current_addon:<20}\t{:<30}\t {next_addon:<30}",
        "Subscription Smart License"
    );
    let _ = writeln!(
        out,
        "AIR License Level: {}",
        air_level(state.boot_level.as_deref(), state.boot_addon.as_deref())
    );
    let _ = writeln!(
        out,
        "Next reload AIR license Level: {}",
        air_level(state.startup.boot_level.as_deref(), state.startup.boot_addon.as_deref())
    );
    match crate::migration::show::version_status(device) {
        // RTU (before 16.9.1): no Smart Licensing status.
        Some("") => out.push_str("\n\n"),
        // A release before Smart Licensing Using Policy: its registration/authorization status.
        Some(status) => {
            let _ = write!(out, "\n\nSmart Licensing Status: {status}\n\n");
        }
        None => {
            out.push_str(
                "\n\nSmart Licensing Status: Registration Not Applicable/Not Applicable\n\n",
            );
        }
    }
    let _ =
        writeln!(out, "cisco {} (X86) processor with 1418480K/6147K bytes of memory.", active.pid);
    let _ = writeln!(out, "Processor board ID {}", active.sn);
    out.push_str("1 Virtual Ethernet interface\n28 Gigabit Ethernet interfaces\n4 Ten Gigabit Ethernet interfaces\n");
    out.push_str("2048K bytes of non-volatile configuration memory.\n");
    out.push_str("8388608K bytes of physical memory.\n");
    out.push_str("1638400K bytes of Crash Files at crashinfo:.\n");
    out.push_str("11264000K bytes of Flash at flash:.\n\n");
    unit_block(&mut out, &active.pid, &active.sn, "00:00:5e:00:53:01");
    out.push_str(
        "\n\nSwitch Ports Model              SW Version        SW Image              Mode   \n",
    );
    out.push_str(
        "------ ----- -----              ----------        ----------            ----   \n",
    );
    for (idx, unit) in state.units.iter().enumerate() {
        let marker = if idx == 0 { "*" } else { " " };
        let _ = writeln!(
            out,
            "{marker}{:>5} {:<5} {:<19}{:<18}{:<22}INSTALL",
            idx + 1,
            port_count(&unit.udi.pid),
            unit.udi.pid,
            v,
            "CAT9K_IOSXE"
        );
    }
    for (idx, unit) in state.units.iter().enumerate().skip(1) {
        let _ = writeln!(out, "\n\nSwitch {:02}\n---------", idx + 1);
        let _ = writeln!(out, "Switch uptime                      : {uptime} \n");
        let mac = format!("00:00:5e:00:53:{:02x}", idx + 1);
        unit_block(&mut out, &unit.udi.pid, &unit.udi.sn, &mac);
    }
    out.push_str("\n\nConfiguration register is 0x102\n\n");
    out
}

/// One switch's hardware lines in `show version`.
fn unit_block(out: &mut String, pid: &str, sn: &str, mac: &str) {
    let _ = writeln!(out, "Base Ethernet MAC Address          : {mac}");
    out.push_str("Motherboard Assembly Number        : 73-18271-03\n");
    let _ = writeln!(out, "Motherboard Serial Number          : {sn}");
    out.push_str("Model Revision Number              : A0\n");
    out.push_str("Motherboard Revision Number        : A0\n");
    let _ = writeln!(out, "Model Number                       : {pid}");
    let _ = writeln!(out, "System Serial Number               : {sn}");
    out.push_str("CLEI Code Number                   : \n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_leaves_out_zero_units_and_says_singulars() {
        let d = |minutes: i64| uptime_words(Duration::minutes(minutes));
        assert_eq!(d(0), "0 minutes");
        assert_eq!(d(1), "1 minute");
        assert_eq!(d(19), "19 minutes");
        assert_eq!(d(60), "1 hour");
        assert_eq!(d(61), "1 hour, 1 minute");
        assert_eq!(d(24 * 60 + 2), "1 day, 2 minutes");
        assert_eq!(d(7 * 24 * 60 * 3 + 2 * 24 * 60 + 5 * 60), "3 weeks, 2 days, 5 hours");
        assert_eq!(d(366 * 24 * 60), "1 year, 1 day");
    }

    #[test]
    fn air_level_follows_the_addon_then_the_level() {
        assert_eq!(
            air_level(Some("network-advantage"), Some("dna-advantage")),
            "AIR DNA Advantage"
        );
        assert_eq!(
            air_level(Some("network-essentials"), Some("dna-essentials")),
            "AIR DNA Essentials"
        );
        assert_eq!(air_level(Some("network-advantage"), None), "AIR Network Advantage");
        assert_eq!(air_level(None, None), "AIR Network Essentials");
    }

    const TEXT: &str = "hostname sw1\n!\nlicense boot level network-advantage\ninterface Tunnel0\n tunnel mode ipsec ipv4\n description license tunnel\nlicense smart transport off\nend\n";

    fn filtered(modifier: &str) -> String {
        OutputFilter::parse(modifier).expect("modifier").apply(TEXT)
    }

    #[test]
    fn include_exclude_begin_and_section_filter_as_ios_does() {
        assert_eq!(
            filtered("include ^license"),
            "license boot level network-advantage\nlicense smart transport off\n"
        );
        assert_eq!(filtered("i transport"), "license smart transport off\n");
        assert_eq!(filtered("exclude license|!|ipsec"), "hostname sw1\ninterface Tunnel0\nend\n");
        assert_eq!(filtered("begin smart"), "license smart transport off\nend\n");
        assert_eq!(
            filtered("section license"),
            "license boot level network-advantage\ninterface Tunnel0\n tunnel mode ipsec ipv4\n description license tunnel\nlicense smart transport off\n"
        );
        assert_eq!(
            filtered("sec ipsec"),
            "interface Tunnel0\n tunnel mode ipsec ipv4\n description license tunnel\n"
        );
    }

    #[test]
    fn bad_modifiers_are_refused_with_the_input() {
        assert!(
            matches!(OutputFilter::parse("count x"), Err(FilterError::Unknown(m)) if m == "count x")
        );
        assert!(matches!(OutputFilter::parse("include"), Err(FilterError::Missing(_))));
        assert!(matches!(OutputFilter::parse("include ("), Err(FilterError::Regex(r)) if r == "("));
    }

    #[test]
    fn only_show_commands_take_a_modifier() {
        assert_eq!(split_pipe("show version | i uptime"), Some(("show version", "i uptime")));
        assert_eq!(split_pipe("sh run | sec license"), Some(("sh run", "sec license")));
        assert_eq!(split_pipe("license smart url http://a|b"), None);
    }
}
