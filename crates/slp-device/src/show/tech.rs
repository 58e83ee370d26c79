//! `show license tech support`: the sections of a Catalyst 9300 on IOS-XE 17.9 (Smart Agent 5.5),
//! in its order, labels and indentation, so that Genie's `ShowLicenseTechSupport` reads them
//! (its schema names every key it expects). Values slp models come from the device state; agent
//! internals a real device prints (sizes, flags, capabilities) are printed as that device does.
//!
//! Tech support has its own wording in places where `show license status` differs (the proxy
//! fields, `Server Identity Check`, `State(n) InPolicy(n)` after the push interval, `IN USE(15)`,
//! `Purged: 0(0)`), so its status block is written here rather than shared.

use std::fmt::Write;

use chrono::Duration;
use slp_core::Timestamp;
use slp_core::ledger::ReportState;
use slp_core::license::{self, Enforcement};
use slp_core::policy::{PolicyClass, PolicyOrigin};

use super::{date, date_or_none, ha_list, shown_usage};
use crate::agent::stats::ExchangeKind;
use crate::agent::{DEFAULT_SMART_URL, Device};
use crate::state::Transport;

/// The Smart Agent a 17.9 image carries.
pub(crate) const AGENT_VERSION: &str = "5.5.13_rel/26";

/// `show license tech support`
pub fn tech_support(device: &Device) -> String {
    let mut out = String::from("Smart Licensing Tech Support info\n\n");
    status_block(device, &mut out);
    license_usage(device, &mut out);
    out.push_str("Product Information\n===================\n");
    ha_list(device, &mut out);
    let _ = writeln!(
        out,
        "\nAgent Version\n=============\nSmart Agent for Licensing: {AGENT_VERSION}\n"
    );
    scheduled_jobs(device, &mut out);
    communication_statistics(device, &mut out);
    out.push_str("License Certificates\n====================\nProduction Cert: True\n");
    out.push_str("Not registered. No certificates installed\n\n");
    // Every unit runs the same agent; the active one answers. A stack's standby keeps a copy of
    // the licensing state, but the agent reports the check-point flow as stateless.
    out.push_str("HA Info\n==========\nRP Role: Active\nChassis Role: Active\n");
    out.push_str("Behavior Role: Active\nRMF: True\nCF: True\nCF State: Stateless\n");
    out.push_str("Message Flow Allowed: False\n\n");
    reservation_info(device, &mut out);
    usage_report_summary(device, &mut out);
    other_info(device, &mut out);
    mapping_table(device, &mut out);
    out
}

/// `Feb 05 13:28:02 2023 UTC (259 days, 23 hours, 17 minutes, 9 seconds remaining)`, or
/// `Expired Not Rescheduled` for a job with nothing ahead.
fn job(now: Timestamp, at: Option<Timestamp>) -> String {
    let Some(at) = at.filter(|at| *at > now) else {
        return "Expired Not Rescheduled".to_owned();
    };
    let left = (at - now).num_seconds();
    let units = [
        (left / 86_400, "days"),
        (left / 3_600 % 24, "hours"),
        (left / 60 % 60, "minutes"),
        (left % 60, "seconds"),
    ];
    // From the first non-zero unit on, as the agent prints them ("44 days, 0 hours, …").
    let first = units.iter().position(|(n, _)| *n > 0).unwrap_or(units.len() - 1);
    let parts: Vec<String> = units[first..].iter().map(|(n, unit)| format!("{n} {unit}")).collect();
    format!("{} ({} remaining)", date(at), parts.join(", "))
}

/// The next run after `now` of a job that runs every `period` from `since` (the boot).
fn next_tick(since: Timestamp, period: Duration, now: Timestamp) -> Timestamp {
    let period_s = period.num_seconds().max(1);
    let runs = (now - since).num_seconds().div_euclid(period_s) + 1;
    since + Duration::seconds(runs * period_s)
}

fn enabled(value: bool) -> &'static str {
    if value { "ENABLED" } else { "DISABLED" }
}

fn status_block(device: &Device, out: &mut String) {
    let state = &device.state;
    let running = &state.running;
    out.push_str("Smart Licensing Status\n======================\n\n");
    out.push_str("Smart Licensing is ENABLED\n\n");
    out.push_str("Export Authorization Key:\n  Features Authorized:\n    <none>\n\n");
    out.push_str("Utility:\n  Status: DISABLED\n\n");
    out.push_str("Smart Licensing Using Policy:\n  Status: ENABLED\n\n");

    out.push_str("Account Information:\n");
    match &state.account {
        Some(account) => {
            let _ = writeln!(
                out,
                "  Smart Account: {} As of {}",
                account.smart_account,
                date(account.as_of)
            );
            let _ = writeln!(out, "  Virtual Account: {}\n", account.virtual_account);
        }
        None => out.push_str("  Smart Account: <none>\n  Virtual Account: <none>\n\n"),
    }

    out.push_str("Data Privacy:\n");
    let _ = writeln!(
        out,
        "  Sending Hostname: {}",
        if running.privacy_hostname { "no" } else { "yes" }
    );
    let _ = writeln!(out, "    Callhome hostname privacy: {}", enabled(running.privacy_hostname));
    let _ = writeln!(
        out,
        "    Smart Licensing hostname privacy: {}",
        enabled(running.privacy_hostname)
    );
    let _ = writeln!(out, "  Version privacy: {}\n", enabled(running.privacy_version));

    out.push_str("Transport:\n");
    let _ = writeln!(out, "  Type: {}", running.transport.show_word());
    let url = match running.transport {
        Transport::Off => None,
        Transport::Cslu => Some(("Cslu address", crate::config::ip::cslu_url(running))),
        Transport::Smart => {
            Some(("URL", running.url_smart.clone().unwrap_or_else(|| DEFAULT_SMART_URL.to_owned())))
        }
        // Call Home keeps its URL in the call-home profile; the agent prints the type alone
        // (genieparser's 17.x captures, and the guide's `show license status` examples).
        Transport::Callhome => None,
    };
    if let Some((label, url)) = url {
        let _ = writeln!(out, "  {label}: {url}");
        out.push_str("  Proxy:\n");
        let _ =
            writeln!(out, "    Address: {}", running.proxy_address.as_deref().unwrap_or("<empty>"));
        let _ = writeln!(
            out,
            "    Port: {}",
            running.proxy_port.map_or("<empty>".to_owned(), |p| p.to_string())
        );
        out.push_str("    Username: <empty>\n    Password: <empty>\n");
        out.push_str("  Server Identity Check: True\n  VRF: <empty>\n");
    }
    out.push('\n');

    let custom_id = running.settings.licensing.custom_id_text();
    let _ = writeln!(out, "Miscellaneous:\n  Custom Id: {custom_id}\n");

    let policy = state.effective_policy();
    let origin = policy.origin.label();
    out.push_str("Policy:\n");
    match (&state.policy, policy.origin) {
        (Some(installed), PolicyOrigin::Customer) => {
            let _ = writeln!(out, "  Policy in use: Installed On {}", date(installed.installed_at));
            let _ = writeln!(out, "  Policy name: {}", installed.policy.name);
        }
        _ => out.push_str("  Policy in use: Merged from multiple sources.\n"),
    }
    let ack = if policy.ack_required { "yes" } else { "no" };
    let _ = writeln!(out, "  Reporting ACK required: {ack} ({origin})");
    for class in PolicyClass::ALL {
        let a = policy.attributes(class);
        let _ = writeln!(out, "  {}", class.heading());
        let _ = writeln!(out, "    First report requirement (days): {} ({origin})", a.first);
        let _ = writeln!(out, "    Reporting frequency (days): {} ({origin})", a.ongoing);
        let _ = writeln!(out, "    Report on change (days): {} ({origin})", a.on_change);
    }
    out.push('\n');

    // The agent's reporting state: 2 until the first ACK (in policy for the tightest first
    // report requirement of the licenses in use), 4 after it (the tightest reporting frequency).
    let in_use = device.classes_in_use();
    let in_policy = in_use
        .iter()
        .map(|c| policy.attributes(*c))
        .map(|a| if state.last_ack.is_none() { a.first } else { a.ongoing })
        .filter(|d| *d > 0)
        .min()
        .unwrap_or(0);
    let reporting_state = if state.last_ack.is_none() { 2 } else { 4 };
    out.push_str("Usage Reporting:\n");
    let _ = writeln!(out, "  Last ACK received: {}", date_or_none(state.last_ack));
    let _ = writeln!(out, "  Next ACK deadline: {}", date_or_none(device.next_ack_deadline()));
    let _ = writeln!(
        out,
        "  Reporting push interval: {}  days State({reporting_state}) InPolicy({in_policy})",
        device.push_interval_days()
    );
    let _ = writeln!(out, "  Next ACK push check: {}", date_or_none(device.next_ack_push_check()));
    let _ = writeln!(out, "  Next report push: {}", date_or_none(device.next_report_push()));
    let _ = writeln!(out, "  Last report push: {}", date_or_none(state.last_push));
    let _ = writeln!(out, "  Last report file write: {}\n", date_or_none(state.last_file_write));
    // No `Trust Code Installed` here: Smart Agents before 5.10 leave it out of tech support,
    // trusted or not (genieparser's captures of agents 5.1 to 5.9); the trust codes appear under
    // Other Info (`Trust Data INSTALLED  TrustId:…`), per unit as `show license all` lists them.
}

fn license_usage(device: &Device, out: &mut String) {
    let state = &device.state;
    out.push_str("License Usage\n=============\n");
    // The units' families' wireless licenses, never in use, after the switch licenses.
    let mut families: Vec<&'static license::Family> =
        state.units.iter().filter_map(|u| license::family_of(&u.udi.pid).ok()).collect();
    families.sort_by_key(|f| f.name);
    families.dedup_by_key(|f| f.name);
    let air = families.iter().flat_map(|f| f.air_licenses()).map(|info| (info, 0));
    for (handle, (info, count)) in shown_usage(device).into_iter().chain(air).enumerate() {
        let display = info.display_name();
        let description = info.description.unwrap_or(display);
        let open = state.ledger.open_report(info.entitlement_tag);
        let _ = writeln!(out, "Handle: {}", handle + 1);
        let _ = writeln!(out, "  License: {}", info.feature);
        let _ = writeln!(out, "  Entitlement Tag: {}", info.entitlement_tag);
        let _ = writeln!(out, "  Description: {description}");
        let _ = writeln!(out, "  Count: {count}");
        out.push_str("  Version: 1.0\n");
        // The agent's status codes: 15 in use, 1 not in use (authorized but idle).
        match open {
            Some(report) if count > 0 => {
                out.push_str("  Status: IN USE(15)\n");
                let _ = writeln!(out, "  Status time: {}", date(report.start));
                let _ = writeln!(out, "  Request Time: {}", date(report.start));
            }
            _ => {
                out.push_str("  Status: NOT IN USE(1)\n");
                let _ = writeln!(out, "  Status time: {}", date(state.booted_at));
                out.push_str("  Request Time: None\n");
            }
        }
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
        out.push_str("  Measurements:\n    ENTITLEMENT:\n      Interval: 00:15:00\n");
        let _ = writeln!(out, "      Current Value: {count}");
        let _ = writeln!(
            out,
            "      Current Report: {}       Previous: {}",
            open.map_or(0, |r| r.id),
            open.and_then(|r| r.previous).unwrap_or(0)
        );
        out.push_str("  Soft Enforced: True\n\n");
    }
}

fn scheduled_jobs(device: &Device, out: &mut String) {
    let state = &device.state;
    let now = device.now;
    let boot = state.booted_at;
    let deadline = device.next_ack_deadline();
    // The agent raises its reminder event 60 days ahead of the ACK deadline, then at it.
    let external = deadline.map(|d| {
        let reminder = d - Duration::days(60);
        if reminder > now { reminder } else { d }
    });
    out.push_str("Upcoming Scheduled Jobs\n=======================\n");
    let _ = writeln!(out, "Current time: {}", date(now));
    for (name, at) in [
        ("Daily", Some(next_tick(boot, Duration::days(1), now))),
        ("Authorization Renewal", None),
        ("Init Flag Check", None),
        ("Reservation configuration mismatch between nodes in HA mode", None),
        ("Start Utility Measurements", Some(next_tick(boot, Duration::minutes(15), now))),
        ("Send Utility RUM reports", device.next_report_push()),
        ("Save unreported RUM Reports", Some(next_tick(boot, Duration::hours(1), now))),
        (
            "Data Synchronization",
            Some(next_tick(boot + Duration::minutes(3), Duration::hours(1), now)),
        ),
        ("External Event", external),
        ("Operational Model", None),
    ] {
        let _ = writeln!(out, "{name}: {}", job(now, at));
    }
    out.push('\n');
}

/// The agent's counters for every kind of exchange ([`crate::agent::stats`]), in the layout of
/// a 17.x Catalyst (genieparser's ShowLicenseTechSupport golden outputs): agent 5.5 lists no
/// `Telemetry Reporting:` kind.
fn communication_statistics(device: &Device, out: &mut String) {
    let state = &device.state;
    let transport = state.running.transport;
    let trusted = state.trust.contains_key(&state.active().udi.to_string());
    let (level, overall) = match transport {
        Transport::Off => ("INDIRECT", "Device configured for Offline transport"),
        Transport::Cslu => ("INDIRECT", "<empty>"),
        _ if trusted || state.factory_trust => ("DIRECT", "<empty>"),
        _ => ("INDIRECT", "Insufficient trust for direct communication"),
    };
    out.push_str("Communication Statistics:\n=======================\n");
    let _ = writeln!(out, "Communication Level Allowed: {level}");
    let _ = writeln!(out, "Overall State: {overall}");
    for kind in ExchangeKind::ALL {
        let s = state.comm_stats.get(kind);
        let response = match &s.response {
            Some((word, Some(at))) => format!("{word} on {}", date(*at)),
            Some((word, None)) => word.clone(),
            None => "<none>".to_owned(),
        };
        let _ = writeln!(out, "{}:", kind.label());
        let _ = writeln!(
            out,
            "  Attempts: Total={}, Success={}, Fail={}  Ongoing Failure: Overall={} Communication={}",
            s.success + s.fail,
            s.success,
            s.fail,
            s.ongoing,
            s.ongoing_comm
        );
        let _ = writeln!(out, "  Last Response: {response}");
        let _ = writeln!(
            out,
            "    Failure Reason: {}",
            s.failure_reason.as_deref().unwrap_or("<none>")
        );
        let _ = writeln!(out, "  Last Success Time: {}", date_or_none(s.last_success));
        let _ = writeln!(out, "  Last Failure Time: {}", date_or_none(s.last_failure));
    }
    out.push('\n');
}

fn reservation_info(device: &Device, out: &mut String) {
    let state = &device.state;
    out.push_str("Reservation Info\n================\nLicense reservation: DISABLED\n\n");
    out.push_str("Overall status:\n");
    for unit in &state.units {
        let udi = unit.udi.to_string();
        let auth = state.authorizations.get(&udi);
        let _ = writeln!(out, "  {}: {udi}", unit.role.as_str());
        match auth {
            Some(auth) => {
                let _ = writeln!(
                    out,
                    "      Reservation status: SMART AUTHORIZATION INSTALLED on {}",
                    date(auth.installed_at)
                );
            }
            None => out.push_str("      Reservation status: NOT INSTALLED\n"),
        }
        out.push_str("      Request code: <none>\n");
        let _ = writeln!(
            out,
            "      Last return code: {}",
            state.last_return_code.get(&udi).map_or("<none>", String::as_str)
        );
        let _ = writeln!(
            out,
            "      Last Confirmation code: {}",
            auth.map_or("<none>", |a| a.confirmation_code.as_str())
        );
        out.push_str("      Reservation authorization code: <none>\n");
    }
    // A device lists each authorized feature here (`C9K HSEC (Cat9K HSEC):`, its description,
    // count and per-unit `Term information:`). Genie's ShowLicenseTechSupport files those lines
    // under a `c9k_hsec` key its own schema rejects (and turns the counts into ints where the
    // schema wants strings), so any such block makes the whole output unparseable. The SLAC's
    // state stays visible above (status, confirmation code) and in `show license authorization`.
    out.push_str("\nSpecified license reservations:\n\n");
    out.push_str("Purchased Licenses:\n  No Purchase Information Available\n\n");
    last_reporting_not_required(device, out);
}

/// `Last Reporting Not Required:`: the licenses that were in use and are no more (a license
/// level changed at a reload, a key released), whose last report the agent will not send again.
/// A 17.x capture (genieparser's ShowLicenseTechSupport golden output, network-essentials after
/// a change to network-advantage) prints it after Purchased Licenses, one `Entitlement Tag:` line
/// per license, with the Usage Report Summary right after it. The guide is silent on how long
/// the list stays; slp keeps a license there while the ledger holds its reports.
fn last_reporting_not_required(device: &Device, out: &mut String) {
    let ledger = &device.state.ledger;
    let mut tags: Vec<&str> = ledger
        .reports
        .values()
        .filter(|report| ledger.open_report(&report.entitlement_tag).is_none())
        .map(|report| report.entitlement_tag.as_str())
        .collect();
    tags.sort_unstable();
    tags.dedup();
    if tags.is_empty() {
        return;
    }
    out.push_str("\nLast Reporting Not Required:\n");
    for tag in tags {
        let _ = writeln!(out, "  Entitlement Tag: {tag}");
    }
}

fn usage_report_summary(device: &Device, out: &mut String) {
    let reports = &device.state.ledger.reports;
    let count = |f: fn(ReportState) -> bool| reports.values().filter(|r| f(r.state)).count();
    let total = reports.len();
    let acked = count(|s| s == ReportState::Acknowledged);
    let waiting = count(|s| matches!(s, ReportState::Pending | ReportState::Unacknowledged));
    let available = count(|s| s == ReportState::Closed);
    let collecting = count(|s| s == ReportState::Open);
    let stored = reports.values().filter(|r| r.in_storage()).count();
    out.push_str("Usage Report Summary:\n=====================\n");
    let _ = writeln!(out, "Total: {total},  Purged: 0(0)");
    let _ = writeln!(
        out,
        "Total Acknowledged Received: {acked},  Waiting for Ack: {waiting}({})",
        waiting + available
    );
    let _ = writeln!(out, "Available to Report: {available}  Collecting Data: {collecting}");
    let _ = writeln!(out, "Maximum Display: {total}  In Storage: {stored},  MIA: 0(0)");
    out.push_str("Report Module Status: Ready\n\n");
}

fn other_info(device: &Device, out: &mut String) {
    let state = &device.state;
    let running = &state.running;
    out.push_str("Other Info\n==========\n");
    let _ = writeln!(out, "Software ID: {}", state.software_tag);
    out.push_str("Agent State: authorized\nTS enable: True\n");
    let _ = writeln!(out, "Transport: {}", running.transport.show_word());
    if !matches!(running.transport, Transport::Cslu | Transport::Off)
        && let Some(url) = device.push_url()
    {
        let _ = writeln!(out, "  Default URL: {url}");
    }
    out.push_str("Locale: en_US.UTF-8\nDebug flags: 0x7\n");
    let _ = writeln!(
        out,
        "Privacy Send Hostname: {}",
        if running.privacy_hostname { "False" } else { "True" }
    );
    out.push_str("Privacy Send IP: True\nBuild type:: Production\n");
    out.push_str("sizeof(char)  : 1\nsizeof(int)   : 4\nsizeof(long)  : 4\n");
    out.push_str("sizeof(char *): 8\nsizeof(time_t): 4\nsizeof(size_t): 8\n");
    out.push_str("Endian: Big\nWrite Erase Occurred: False\nXOS version: 0.12.0.0\n");
    let persisted = if state.startup == state.running { "True" } else { "False" };
    let _ = writeln!(out, "Config Persist Received: {persisted}");
    out.push_str("Message Version: 1.3\n");
    // Filled in once the agent has talked to CSSM over smart transport.
    let cssm = running.transport == Transport::Smart && state.last_push.is_some();
    if cssm {
        out.push_str("connect_info.name: SSM\nconnect_info.version: 1.3\n");
        out.push_str("connect_info.additional: <empty>\nconnect_info.prod: True\n");
        out.push_str("connect_info.capabilities: DLC, AppHA, EXPORT_2, POLICY_USAGE, UTILITY\n");
    } else {
        out.push_str("connect_info.name: <empty>\nconnect_info.version: <empty>\n");
        out.push_str("connect_info.additional: <empty>\nconnect_info.prod: False\n");
        out.push_str("connect_info.capabilities: <empty>\n");
    }
    out.push_str(
        "agent.capabilities: UTILITY, DLC, AppHA, MULTITIER, EXPORT_2, OK_TRY_AGAIN, POLICY_USAGE\n",
    );
    for (key, value) in [
        ("Check Point Interface", "True"),
        ("Config Management Interface", "False"),
        ("License Map Interface", "True"),
        ("HA Interface", "True"),
        ("Trusted Store Interface", "True"),
        ("Platform Data Interface", "True"),
        ("Crypto Version 2 Interface", "False"),
        ("SAPluginMgmtInterfaceMutex", "True"),
        ("SAPluginMgmtIPDomainName", "True"),
        ("SmartTransportVRFSupport", "True"),
        ("SmartAgentClientWaitForServer", "2000"),
        ("SmartAgentCmReTrySend", "True"),
        ("SmartAgentClientIsUnified", "True"),
        ("SmartAgentCmClient", "True"),
        ("SmartAgentClientName", "UnifiedClient"),
        ("builtInEncryption", "True"),
        ("enableOnInit", "True"),
        ("routingReadyByEvent", "True"),
        ("systemInitByEvent", "True"),
        ("SmartTransportServerIdCheck", "True"),
        ("SmartTransportProxySupport", "True"),
        ("SmartAgentTelemetryRumReportMax", "1000"),
        ("SmartAgentRumTelemetryRumStoreMin", "500"),
        ("SmartAgentPolicyDisplayFormat", "0"),
        ("SmartAgentReportOnUpgrade", "False"),
        ("SmartAgentIndividualRUMEncrypt", "2"),
        ("SmartAgentMaxRumMemory", "50"),
        ("SmartAgentConcurrentThreadMax", "10"),
        ("SmartAgentPolicyControllerModel", "False"),
        ("SmartAgentPolicyModel", "True"),
        ("SmartAgentFederalLicense", "True"),
        ("SmartAgentMultiTenant", "False"),
        ("attr365DayEvalSyslog", "True"),
        ("checkPointWriteOnly", "False"),
        ("SmartAgentDelayCertValidation", "False"),
        ("enableByDefault", "False"),
        ("conversionAutomatic", "False"),
        ("conversionAllowed", "False"),
        ("storageEncryptDisable", "False"),
        ("storageLoadUnencryptedDisable", "False"),
        ("TSPluginDisable", "False"),
        ("bypassUDICheck", "False"),
        ("loggingAddTStamp", "False"),
        ("loggingAddTid", "True"),
        ("HighAvailabilityOverrideEvent", "UnknownPlatformEvent"),
        ("platformIndependentOverrideEvent", "UnknownPlatformEvent"),
        ("platformOverrideEvent", "SmartAgentSystemDataListChanged"),
        ("WaitForHaRole", "False"),
        ("standbyIsHot", "True"),
        ("chkPtType", "2"),
        ("delayCommInit", "False"),
        ("roleByEvent", "True"),
        ("maxTraceLength", "150"),
        ("traceAlwaysOn", "True"),
        ("debugFlags", "0"),
    ] {
        let _ = writeln!(out, "{key}: {value}");
    }
    out.push_str("Event log max size: 5120 KB\n");
    let _ = writeln!(out, "Event log current size: {} KB", state.events.len().div_ceil(16).max(1));
    for unit in &state.units {
        let (pid, sn) = (&unit.udi.pid, &unit.udi.sn);
        match state.trust.get(&unit.udi.to_string()) {
            Some(trust) => {
                let _ = writeln!(
                    out,
                    "P:{pid},S:{sn}: P:{pid},S:{sn}, state[2], Trust Data INSTALLED  TrustId:{}",
                    trust.trust_id
                );
            }
            None => {
                let _ = writeln!(out, "P:{pid},S:{sn}: No Trust Data");
            }
        }
    }
    let with_trust =
        state.units.iter().filter(|u| state.trust.contains_key(&u.udi.to_string())).count();
    let overall_trust = match with_trust {
        0 => "No ID",
        n if n == state.units.len() => "INSTALLED (2)",
        _ => "PARTIAL (1)",
    };
    let _ = writeln!(out, "Overall Trust: {overall_trust}");
    // slp's clock is the host's (or the virtual one), never wrong: a configured `ntp server`
    // counts as synchronized, none as a clock set by hand (real devices print False then).
    let synced = if super::ntp_configured(device) { "True" } else { "False" };
    let _ = writeln!(out, "Clock sync-ed with NTP: {synced}\n");
}

/// The platform's license map: how many licenses the image knows for the PID, and the
/// platform-enforced ones per unit (HSEC on the platforms that offer it, see
/// [`crate::platform`]).
fn mapping_table(device: &Device, out: &mut String) {
    let state = &device.state;
    out.push_str("Platform Provided Mapping Table\n===============================\n");
    let _ = writeln!(out, "  {}: Total licenses found: 215", state.active().udi.pid);
    out.push_str("Enforced Licenses:\n");
    for unit in &state.units {
        let _ = writeln!(out, "  P:{},S:{}:", unit.udi.pid, unit.udi.sn);
        let hsec =
            license::lookup("hseck9").filter(|_| crate::platform::supports_hsec(&unit.udi.pid));
        match hsec {
            Some(info) => {
                let _ = writeln!(out, "    {}: {} (3)", info.feature, info.entitlement_tag);
            }
            None => out.push_str("    No PD enforced licenses\n"),
        }
    }
}
