//! `show license tech support`: the sections of an IOS-XE 17.9 device, in its order and labels,
//! so that Genie's `ShowLicenseTechSupport` reads them (its schema names every key it expects).
//! Values slp models come from the device state; agent internals a real device prints (sizes,
//! flags, capabilities) are printed as a Catalyst 9300 on 17.9 prints them.

use std::fmt::Write;

use chrono::Duration;

use super::{date, date_or_none, ha_list, report_summary, shown_usage, status_body, usage_status};
use crate::agent::Device;
use crate::state::Transport;

/// `show license tech support`
pub fn tech_support(device: &Device) -> String {
    let state = &device.state;
    let mut out = String::from(
        "Smart Licensing Tech Support info\n\nSmart Licensing Status\n======================\n\n",
    );
    out.push_str("Smart Licensing is ENABLED\n\nLicense Conversion:\n  Automatic Conversion Enabled: False\n");
    let _ = writeln!(out, "  Last data push: {}", date_or_none(state.last_push));
    let _ = writeln!(out, "  Last file export: {}\n", date_or_none(state.last_file_write));
    out.push_str("Export Authorization Key:\n  Features Authorized:\n    <none>\n\n");
    status_body(device, &mut out);

    out.push_str("\nLicense Usage\n=============\n");
    let active = &state.active().udi;
    for (handle, (info, count)) in shown_usage(device).into_iter().enumerate() {
        let display = info.display_name(active);
        let description = info.description.map(str::to_owned).unwrap_or_else(|| display.clone());
        let open = state.ledger.open_report(info.feature);
        let since = open.map(|r| r.start).unwrap_or(state.booted_at);
        let _ = writeln!(out, "Handle: {}", handle + 1);
        let _ = writeln!(out, "  License: {}", info.feature);
        let _ = writeln!(out, "  Entitlement Tag: {}", info.entitlement_tag);
        let _ = writeln!(out, "  Description: {description}");
        let _ = writeln!(out, "  Count: {count}");
        out.push_str("  Version: 1.0\n");
        let _ = writeln!(out, "  Status: {}", usage_status(count));
        let _ = writeln!(out, "  Status time: {}", date(since));
        let _ = writeln!(out, "  Request Time: {}", date(since));
        let export = if info.enforcement == slp_core::license::Enforcement::ExportControlled {
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

    out.push_str("Product Information\n===================\n");
    ha_list(device, &mut out);
    out.push_str("\nAgent Version\n=============\nSmart Agent for Licensing: 5.5.13_rel/26\n\n");

    out.push_str("Upcoming Scheduled Jobs\n=======================\n");
    let now = device.now;
    let tomorrow = (now + Duration::days(1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    let _ = writeln!(out, "Current time: {}", date(now));
    let _ = writeln!(out, "Daily: {}", date(tomorrow));
    out.push_str("Authorization Renewal: Expired Status\n");
    out.push_str("Init Flag Check: Expired Status\n");
    out.push_str("Register Period Expiration Check: Expired Status\n");
    let _ = writeln!(out, "Ack Expiration Check: {}", date_or_none(device.next_ack_deadline()));
    out.push_str("Reservation configuration mismatch between nodes in HA mode: Expired Status\n");
    let _ = writeln!(out, "Start Utility Measurements: {}", date(now + Duration::minutes(15)));
    out.push_str("Send Utility RUM reports: Expired Status\n");
    let _ = writeln!(out, "Save unreported RUM Reports: {}", date(now + Duration::hours(1)));
    out.push_str("Data Synchronization: Expired Status\n");
    let _ = writeln!(out, "External Event: {}", date(now + Duration::days(30)));
    out.push_str("Operational Model: Expired Status\n\n");

    out.push_str("Communication Statistics:\n=======================\n");
    let level = if state.running.transport == Transport::Off { "NONE" } else { "DIRECT" };
    let _ = writeln!(out, "Communication Level Allowed: {level}");
    let overall =
        if state.comm.failing_since.is_some() { "Communication failure" } else { "<empty>" };
    let _ = writeln!(out, "Overall State: {overall}");
    for kind in [
        "Trust Establishment",
        "Trust Acknowledgement",
        "Usage Reporting",
        "Result Polling",
        "Authorization Request",
        "Authorization Confirmation",
        "Authorization Return",
        "Trust Sync",
        "Hello Message",
    ] {
        let _ = writeln!(out, "{kind}:");
        out.push_str(
            "  Attempts: Total=0, Success=0, Fail=0  Ongoing Failure: Overall=0 Communication=0\n",
        );
        out.push_str("  Last Response: <none>\n  Failure Reason: <none>\n");
        out.push_str("  Last Success Time: <none>\n  Last Failure Time: <none>\n");
    }

    out.push_str("\nLicense Certificates\n====================\nProduction Cert: True\n\n");
    out.push_str("HA Info\n==========\n");
    out.push_str(
        "RP Role: Active\nChassis Role: Active\nBehavior Role: Active\nRMF: True\nCF: True\n",
    );
    let cf_state = if state.units.len() > 1 { "Stateful" } else { "Stateless" };
    let _ = writeln!(out, "CF State: {cf_state}");
    out.push_str("Message Flow Allowed: False\n\n");

    out.push_str(
        "Reservation Info\n================\nLicense reservation: DISABLED\nOverall status:\n",
    );
    for unit in &state.units {
        let udi = unit.udi.to_string();
        let _ = writeln!(out, "  {}: PID:{},SN:{}", unit.role.as_str(), unit.udi.pid, unit.udi.sn);
        let auth = state.authorizations.get(&udi);
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
    // The per-feature "Authorizations:" block (C9K HSEC … Term information) is left out here:
    // Genie's ShowLicenseTechSupport nests it under `c9k_hsec`, which its own schema rejects, so
    // printing it would make the whole output unparseable. `show license authorization` has it.
    out.push_str("Purchased Licenses:\n  No Purchase Information Available\n\n");

    out.push_str("Usage Report Summary:\n=====================\n");
    report_summary(device, &mut out);
    out.push_str("Report Module Status: Ready\n\n");

    out.push_str("Other Info\n==========\n");
    let _ = writeln!(out, "Software ID: {}", state.software_tag);
    let agent_state = if state.trust.is_empty() { "unidentified" } else { "authorized" };
    let _ = writeln!(out, "Agent State: {agent_state}");
    out.push_str("TS enable: True\n");
    let _ = writeln!(out, "Transport: {}", state.running.transport.show_word());
    if let Some(url) = device.push_url() {
        let _ = writeln!(out, "  Default URL: {url}");
    }
    out.push_str("Locale: en_US.UTF-8\nDebug Flags: 0x7\n");
    let _ = writeln!(
        out,
        "Privacy Send Hostname: {}",
        if state.running.privacy_hostname { "False" } else { "True" }
    );
    out.push_str("Privacy Send IP: True\nBuild type:: Production\n");
    out.push_str("sizeof(char)  : 1\nsizeof(int)   : 4\nsizeof(long)  : 4\nsizeof(char *): 8\nsizeof(time_t): 4\nsizeof(size_t): 8\n");
    out.push_str("Endian: Big\nWrite Erase Occurred: False\nXOS version: 0.12.0.0\nConfig Persist Received: True\nMessage Version: 1.3\n");
    out.push_str("connect_info.name: <empty>\nconnect_info.version: <empty>\nconnect_info.additional: <empty>\nconnect_info.prod: False\nconnect_info.capabilities: <empty>\n");
    out.push_str("agent.capabilities: UTILITY, DLC, AppHA, MULTITIER, EXPORT_2, OK_TRY_AGAIN, POLICY_USAGE\n");
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
        ("PlatformIndependentOverrideEvent", "UnknownPlatformEvent"),
        ("platformOverrideEvent", "SmartAgentSystemDateTimeChanged"),
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
                    "P:{pid},S:{sn}: P:{pid},S:{sn}, state[2], Trust Data INSTALLED TrustId:{}",
                    trust.trust_id
                );
            }
            None => {
                let _ = writeln!(out, "P:{pid},S:{sn}: No Trust Data");
            }
        }
    }
    let overall_trust = if state.units.iter().all(|u| state.trust.contains_key(&u.udi.to_string()))
    {
        "INSTALLED (2)"
    } else if state.trust.is_empty() {
        "No ID"
    } else {
        "PARTIAL (1)"
    };
    let _ = writeln!(out, "Overall Trust: {overall_trust}");
    out.push_str("Clock sync-ed with NTP: False\n");
    out
}
