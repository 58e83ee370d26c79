//! Sanity checks on what devices send, in one place for every ingest path (file upload,
//! bundles, `reportusage`, smart transport): each RUM report's times against the authority's
//! clock ([`ReportWindow`]), and the length of every free-text member a device names itself
//! with. Counts, report ids and measurement order are checked where reports are read
//! ([`slp_wire::rum::Envelope::report`]).

use slp_wire::docs::SystemInfo;
use slp_wire::rum::Report;

use crate::{AuthorityError, Result, rfc3339_ts};

/// Default of [`ReportWindow::future_skew_secs`]: 24 hours.
pub const DEFAULT_REPORT_SKEW_HOURS: u32 = 24;
/// Default of [`ReportWindow::max_age_secs`]: 10 years (3650 days).
pub const DEFAULT_REPORT_MAX_AGE_DAYS: u32 = 3650;

/// The times a RUM report may state, relative to the authority's clock: no later than the clock
/// plus `future_skew_secs` (a device clock a little ahead), no earlier than the clock minus
/// `max_age_secs`. A report from the future would otherwise stand as the newest usage and hide
/// every correct report after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportWindow {
    pub future_skew_secs: i64,
    pub max_age_secs: i64,
}

impl Default for ReportWindow {
    fn default() -> Self {
        ReportWindow::new(DEFAULT_REPORT_SKEW_HOURS, DEFAULT_REPORT_MAX_AGE_DAYS)
    }
}

impl ReportWindow {
    /// A window of `skew_hours` into the future and `max_age_days` into the past.
    pub fn new(skew_hours: u32, max_age_days: u32) -> ReportWindow {
        ReportWindow {
            future_skew_secs: i64::from(skew_hours) * 3_600,
            max_age_secs: i64::from(max_age_days) * 86_400,
        }
    }

    /// Refuses a report with a time outside the window around `now` (epoch seconds), naming
    /// the file, the UDI, the report id, the measurement, the member and its value.
    pub(crate) fn check(&self, file: &str, report: &Report, now: i64) -> Result<()> {
        let latest = now.saturating_add(self.future_skew_secs);
        let earliest = now.saturating_sub(self.max_age_secs);
        let refuse = |reason: String| AuthorityError::Report {
            file: file.to_owned(),
            udi: report.udi.to_string(),
            report_id: report.report_id,
            reason,
        };
        for (index, m) in report.measurements.iter().enumerate() {
            for (name, value) in [("start_time", m.start_time), ("end_time", m.end_time)] {
                if value > latest {
                    return Err(refuse(format!(
                        "measurement {} {name} {value} ({}) is later than the authority's clock ({}) plus the allowed skew of {} hour(s); check the device clock (slp authority --report-skew-hours)",
                        index + 1,
                        rfc3339_ts(value),
                        rfc3339_ts(now),
                        self.future_skew_secs / 3_600,
                    )));
                }
                if value < earliest {
                    return Err(refuse(format!(
                        "measurement {} {name} {value} ({}) is more than {} day(s) before the authority's clock ({}); check the device clock (slp authority --report-max-age-days)",
                        index + 1,
                        rfc3339_ts(value),
                        self.max_age_secs / 86_400,
                        rfc3339_ts(now),
                    )));
                }
            }
        }
        for (name, value, max) in [
            ("meta.entitlement_tag", Some(report.entitlement_tag.as_str()), MAX_TAG_CHARS),
            ("asset_identification.asset.name", Some(report.software_tag.as_str()), MAX_TAG_CHARS),
            ("meta.software_version", report.software_version.as_deref(), MAX_VERSION_CHARS),
        ] {
            if let Some(value) = value {
                bounded(name, value, max).map_err(refuse)?;
            }
        }
        for (index, unit) in report.ha_udi.iter().enumerate() {
            bounded(&format!("meta.ha_udi[{index}].role"), &unit.role, MAX_ROLE_CHARS)
                .map_err(refuse)?;
        }
        Ok(())
    }
}

/// Longest software or entitlement tag taken (Cisco's are under 100 characters).
pub const MAX_TAG_CHARS: usize = 256;
/// Longest software version taken.
pub const MAX_VERSION_CHARS: usize = 64;
/// Longest host name taken (a DNS name is at most 253 characters).
pub const MAX_HOSTNAME_CHARS: usize = 253;
/// Longest HA role taken (`Active`, `Standby`, `Member`).
pub const MAX_ROLE_CHARS: usize = 32;
/// Longest nonce taken.
pub const MAX_NONCE_CHARS: usize = 128;

/// `Ok` when `value` has at most `max` characters and no control characters; otherwise why not,
/// naming `name` and the limit.
fn bounded(name: &str, value: &str, max: usize) -> std::result::Result<(), String> {
    let chars = value.chars().count();
    if chars > max {
        return Err(format!("{name} is {chars} characters long; at most {max} are allowed"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{name} must not contain control characters"));
    }
    Ok(())
}

/// Longest ID token description taken.
pub const MAX_DESCRIPTION_CHARS: usize = slp_wire::cssm::limits::MAX_TOKEN_DESCRIPTION_CHARS;
/// Longest reason or note taken on a license move request.
pub const MAX_NOTE_CHARS: usize = slp_wire::cssm::limits::MAX_NOTE_CHARS;

/// Free text an operator or API client gives (a description, a reason): trimmed, at most
/// `max` characters, no control characters; the error names `field` and the limit and shows
/// only the start of a long value.
pub(crate) fn check_text(field: &'static str, value: &str, max: usize) -> Result<String> {
    let trimmed = value.trim();
    bounded(field, trimmed, max).map_err(|reason| AuthorityError::Invalid {
        field,
        value: shortened(value),
        reason,
    })?;
    Ok(trimmed.to_owned())
}

/// The first 40 characters of `value`, with `…` when there were more: what an error shows of
/// an input that may be megabytes long.
pub(crate) fn shortened(value: &str) -> String {
    match value.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

/// Refuses a system information whose free-text members are too long (the host name is stored
/// and listed with the product instance).
pub(crate) fn check_system_info(file: &str, info: &SystemInfo) -> Result<()> {
    let refuse = |reason: String| AuthorityError::Refused {
        file: file.to_owned(),
        reason: format!("the system information: {reason}"),
    };
    if let Some(hostname) = &info.hostname {
        bounded("hostname", hostname, MAX_HOSTNAME_CHARS).map_err(refuse)?;
    }
    bounded("software_tag_identifier", &info.software_tag_identifier, MAX_TAG_CHARS)
        .map_err(refuse)?;
    if let Some(version) = &info.software_version {
        bounded("software_version", version, MAX_VERSION_CHARS).map_err(refuse)?;
    }
    bounded("nonce", &info.nonce, MAX_NONCE_CHARS).map_err(refuse)?;
    for (index, unit) in info.device_list.iter().enumerate() {
        bounded(&format!("device_list[{index}].role"), &unit.role, MAX_ROLE_CHARS)
            .map_err(refuse)?;
        bounded(
            &format!("device_list[{index}].software_tag_identifier"),
            &unit.software_tag_identifier,
            MAX_TAG_CHARS,
        )
        .map_err(refuse)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use slp_core::udi::Udi;
    use slp_wire::rum::Measurement;

    const NOW: i64 = 1_780_000_000; // 2026-05-28

    fn report(start: i64, end: i64) -> Report {
        Report {
            report_id: 42,
            udi: Udi::new("C9300-24UX", "FOC1").unwrap(),
            software_tag: "regid.sw".to_owned(),
            entitlement_tag: "regid.tag".to_owned(),
            software_version: None,
            ha_udi: Vec::new(),
            measurements: vec![Measurement {
                log_time: end,
                start_time: start,
                end_time: end,
                count: 1,
                termination_reason: None,
            }],
        }
    }

    fn error(window: ReportWindow, start: i64, end: i64) -> Option<String> {
        window.check("f.xml", &report(start, end), NOW).err().map(|e| e.to_string())
    }

    #[test]
    fn the_window_is_the_clock_plus_skew_and_minus_max_age() {
        let window = ReportWindow::default();
        assert_eq!(error(window, NOW - 3_600, NOW), None);
        assert_eq!(error(window, NOW, NOW + 24 * 3_600), None, "a day ahead is within the skew");
        let err = error(window, NOW, NOW + 24 * 3_600 + 1).unwrap();
        assert!(
            err.starts_with(
                "f.xml: RUM report 42 of PID:C9300-24UX,SN:FOC1 rejected: measurement 1 end_time"
            ),
            "{err}"
        );
        assert!(err.contains("plus the allowed skew of 24 hour(s)"), "{err}");
        let year_2100 = 4_102_444_800;
        let err = error(window, year_2100, year_2100).unwrap();
        assert!(err.contains("start_time 4102444800 (2100-01-01T00:00:00Z)"), "{err}");
        let err = error(window, 0, 0).unwrap();
        assert!(
            err.contains("start_time 0 (1970-01-01T00:00:00Z) is more than 3650 day(s)"),
            "{err}"
        );
        // Beyond what a date can show: the number alone, no panic.
        let err = error(window, NOW, 1 << 62).unwrap();
        assert!(err.contains(&format!("end_time {} ({})", 1_i64 << 62, 1_i64 << 62)), "{err}");
        let err = error(window, i64::MIN, NOW).unwrap();
        assert!(err.contains("start_time -9223372036854775808"), "{err}");

        let tight = ReportWindow::new(0, 1);
        assert!(error(tight, NOW, NOW + 1).is_some());
        assert!(error(tight, NOW - 86_401, NOW).is_some());
        assert_eq!(error(tight, NOW - 86_400, NOW), None);
    }

    #[test]
    fn long_text_in_a_report_is_refused_with_its_member_and_limit() {
        let window = ReportWindow::default();
        let mut long = report(NOW - 10, NOW);
        long.entitlement_tag = "x".repeat(MAX_TAG_CHARS + 1);
        let err = window.check("f.xml", &long, NOW).unwrap_err().to_string();
        assert!(err.contains("meta.entitlement_tag is 257 characters long; at most 256"), "{err}");
        let mut control = report(NOW - 10, NOW);
        control.software_version = Some("17.9\u{1b}[2J".to_owned());
        let err = window.check("f.xml", &control, NOW).unwrap_err().to_string();
        assert!(err.contains("meta.software_version must not contain control characters"), "{err}");
    }
}
