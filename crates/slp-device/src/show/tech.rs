//! `show license tech support`.

use std::fmt::Write;

use super::{date, date_or_none, ha_list, report_summary, shown_usage, status_body, usage_status};
use crate::agent::Device;

/// `show license tech support`: the status sections, then one `Handle:` per license with its
/// measurements, the scheduled jobs, the communication statistics and the report summary.
pub fn tech_support(device: &Device) -> String {
    let state = &device.state;
    let mut out = String::from(
        "Smart Licensing Tech Support info\n\nSmart Licensing Status\n======================\n\nSmart Licensing is ENABLED\n\n",
    );
    out.push_str("License Conversion:\n  Automatic Conversion Enabled: False\n");
    let _ = writeln!(out, "  Last data push: {}", date_or_none(state.last_push));
    let _ = writeln!(out, "  Last file export: {}\n", date_or_none(state.last_file_write));
    status_body(device, &mut out);
    out.push_str("\nLicense Usage\n=============\n");
    let active = &state.active().udi;
    for (handle, (info, count)) in shown_usage(device).into_iter().enumerate() {
        let display = info.display_name(active);
        let open = state.ledger.open_report(info.feature);
        let previous = open.and_then(|r| r.previous).unwrap_or(0);
        let _ = writeln!(out, "Handle: {}", handle + 1);
        let _ = writeln!(out, "  License: {}", info.feature);
        let _ = writeln!(out, "  Entitlement Tag: {}", info.entitlement_tag);
        let _ = writeln!(out, "  Description: {}", info.description.unwrap_or(&display));
        let _ = writeln!(out, "  Count: {count}");
        out.push_str("  Version: 1.0\n");
        let _ = writeln!(out, "  Status: {}", usage_status(count));
        if let Some(report) = open {
            let _ = writeln!(out, "  Status time: {}", date(report.start));
        }
        let _ = writeln!(out, "  Feature Name: {}", info.feature);
        let _ = writeln!(out, "  Enforcement type: {}", info.enforcement.show_word());
        let _ = writeln!(out, "  License type: {}", info.term.show_word());
        out.push_str("  Measurements:\n    ENTITLEMENT:\n      Interval: 00:15:00\n");
        let _ = writeln!(out, "      Current Value: {count}");
        let _ = writeln!(
            out,
            "      Current Report: {}       Previous: {previous}",
            open.map_or(0, |r| r.id)
        );
        out.push_str("  Soft Enforced: True\n");
    }
    out.push_str("\nProduct Information\n===================\n");
    ha_list(device, &mut out);
    out.push_str("\nAgent Version\n=============\nSmart Agent for Licensing: 5.5.13_rel/26\n");
    out.push_str("\nUpcoming Scheduled Jobs\n=======================\n");
    let _ = writeln!(out, "Current time: {}", date(device.now));
    let _ = writeln!(out, "Next ACK deadline: {}", date_or_none(device.next_ack_deadline()));
    let _ = writeln!(out, "Next report push: {}", date_or_none(device.next_report_push()));
    out.push_str("\nCommunication Statistics:\n=======================\n");
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
        let _ = writeln!(
            out,
            "{kind}:\n  Attempts: Total=0, Success=0, Fail=0  Ongoing Failure: Overall=0 Communication=0"
        );
    }
    out.push_str("\nUsage Report Summary:\n=====================\n");
    report_summary(device, &mut out);
    out
}
