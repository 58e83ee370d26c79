//! One RUM report: `{payload, header:{type:"rum"}, signature:{sudi, signing_type, key, value}}`.
//!
//! The payload is Cisco's version "2.0" JSON (PROTOCOL.md §1.2) kept as a *string*: its exact
//! UTF-8 bytes are what the Ed25519 signature covers, so it is never re-serialised after signing.
//! The reader also accepts the older 17.3–17.6 layout (no `version`, `report_id` in `meta`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use slp_core::udi::Udi;

use crate::keys::{self, KeyPair};
use crate::{Result, WireError};

/// The sudi object used in every message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sudi {
    #[schemars(regex(pattern = slp_core::udi::PART_PATTERN))]
    pub udi_pid: String,
    #[schemars(regex(pattern = slp_core::udi::PART_PATTERN))]
    pub udi_serial_number: String,
}

impl Sudi {
    pub fn of(udi: &Udi) -> Sudi {
        Sudi { udi_pid: udi.pid.clone(), udi_serial_number: udi.sn.clone() }
    }

    /// The UDI, checked.
    pub fn udi(&self) -> Result<Udi> {
        Udi::new(&self.udi_pid, &self.udi_serial_number)
            .map_err(|err| WireError::Json { what: "sudi".to_owned(), reason: err.to_string() })
    }

    /// Whether it names `udi`.
    pub fn is(&self, udi: &Udi) -> bool {
        self.udi_pid == udi.pid && self.udi_serial_number == udi.sn
    }
}

/// `PID:<pid>,SN:<serial>`, as a [`Udi`] is written, whether or not it is a valid one (for
/// messages about what a device sent).
impl std::fmt::Display for Sudi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PID:{},SN:{}", self.udi_pid, self.udi_serial_number)
    }
}

/// The outer signature of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EnvelopeSignature {
    pub sudi: Sudi,
    pub signing_type: String,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Header {
    #[serde(rename = "type")]
    pub kind: String,
}

impl Default for Header {
    /// `{"type": "rum"}`, what every RUM report carries.
    fn default() -> Header {
        Header { kind: "rum".to_owned() }
    }
}

/// A signed report as it travels. `header` may be left out (Cisco's clients send
/// `{payload, signature}` only, PROTOCOL.md §7.3): it reads as `{"type": "rum"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub payload: String,
    #[serde(default)]
    pub header: Header,
    pub signature: EnvelopeSignature,
}

/// One HA unit named in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaUdi {
    pub role: String,
    pub sudi: Sudi,
}

/// One measurement (PROTOCOL.md §1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measurement {
    pub log_time: i64,
    pub start_time: i64,
    pub end_time: i64,
    pub count: u64,
    pub termination_reason: Option<String>,
}

/// What the device puts in a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportInput {
    pub report_id: u64,
    pub udi: Udi,
    pub software_tag: String,
    pub entitlement_tag: String,
    /// `None` when version privacy is on.
    pub software_version: Option<String>,
    pub ha_udi: Vec<HaUdi>,
    pub measurements: Vec<Measurement>,
}

/// The data read back out of a report, from either payload layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub report_id: u64,
    pub udi: Udi,
    pub software_tag: String,
    pub entitlement_tag: String,
    pub software_version: Option<String>,
    pub ha_udi: Vec<HaUdi>,
    pub measurements: Vec<Measurement>,
}

impl Report {
    /// The count of the last measurement: the usage this report ends with.
    pub fn final_count(&self) -> u64 {
        self.measurements.iter().max_by_key(|m| m.end_time).map_or(0, |m| m.count)
    }

    pub fn end_time(&self) -> i64 {
        self.measurements.iter().map(|m| m.end_time).max().unwrap_or(0)
    }
}

/// The sampling interval the device states ("Measurements: ENTITLEMENT: Interval: 00:15:00").
pub const SAMPLE_SECONDS: i64 = 900;

fn payload_json(input: &ReportInput) -> String {
    let measurements: Vec<Value> = input
        .measurements
        .iter()
        .map(|m| {
            let interval = (m.end_time - m.start_time).max(0);
            let mut meta = serde_json::Map::new();
            if let Some(reason) = &m.termination_reason {
                meta.insert("termination_reason".to_owned(), Value::String(reason.clone()));
            }
            serde_json::json!({
                "log_time": m.log_time,
                "metric_name": "ENTITLEMENT",
                "start_time": m.start_time,
                "end_time": m.end_time,
                "sample_interval": interval,
                "num_samples": interval / SAMPLE_SECONDS + 1,
                "meta": meta,
                "value": {"type": "COUNT", "value": m.count.to_string()},
            })
        })
        .collect();
    let mut meta = serde_json::json!({
        "entitlement_tag": input.entitlement_tag,
        "utility_enabled": false,
        "ha_udi": input.ha_udi,
    });
    if let Some(version) = &input.software_version {
        meta["software_version"] = Value::String(version.clone());
    }
    serde_json::json!({
        "version": "2.0",
        "asset_identification": {
            "report_id": input.report_id,
            "asset": {"name": input.software_tag},
            "instance": {"sudi": Sudi::of(&input.udi)},
        },
        "meta": meta,
        "measurements": measurements,
    })
    .to_string()
}

/// Builds and signs a report; returns the envelope as JSON text.
pub fn sign_report(input: &ReportInput, key: &KeyPair) -> String {
    let payload = payload_json(input);
    let envelope = Envelope {
        signature: EnvelopeSignature {
            sudi: Sudi::of(&input.udi),
            signing_type: "ed25519".to_owned(),
            key: key.key_id(),
            value: key.sign(payload.as_bytes()),
        },
        payload,
        header: Header { kind: "rum".to_owned() },
    };
    serde_json::to_string(&envelope).unwrap_or_default()
}

impl Envelope {
    /// Reads an envelope from JSON text.
    pub fn parse(text: &str) -> Result<Envelope> {
        serde_json::from_str(text.trim()).map_err(|err| WireError::Json {
            what: "RUM report envelope".to_owned(),
            reason: err.to_string(),
        })
    }

    /// Whether the signature is one slp can check (`ed25519`); `builtin` Cisco reports are not.
    pub fn is_verifiable(&self) -> bool {
        self.signature.signing_type == "ed25519"
    }

    /// Checks the signature over the exact payload bytes with the device's public key.
    pub fn verify(&self, public_b64: &str) -> Result<()> {
        let what = format!("RUM report of {}", self.signature.sudi);
        if !self.is_verifiable() {
            return Err(WireError::Signature {
                what: format!("{what} (signing type {})", self.signature.signing_type),
            });
        }
        if keys::key_id(public_b64)? != self.signature.key {
            return Err(WireError::Signature {
                what: format!("{what} (signed with key {})", self.signature.key),
            });
        }
        keys::verify(public_b64, self.payload.as_bytes(), &self.signature.value, &what)
    }

    /// Reads the payload, in the version 2.0 or the older layout (`report_id` under `meta`).
    ///
    /// Values are checked, not only their presence: a report id is a whole number up to
    /// [`MAX_REPORT_ID`], a count a whole number from 0 to [`MAX_COUNT`], times whole seconds,
    /// and no measurement ends before it starts. Each error says which member is wrong, what
    /// it holds and what it should hold.
    pub fn report(&self) -> Result<Report> {
        let bad =
            |reason: String| WireError::Json { what: "RUM report payload".to_owned(), reason };
        // Typed, so that only the members read are kept (a `Value` of the whole payload cost
        // more than everything else of a report but its signature).
        let payload: PayloadIn =
            serde_json::from_str(&self.payload).map_err(|err| bad(err.to_string()))?;
        let ident = payload
            .asset_identification
            .ok_or_else(|| bad("asset_identification is missing".to_owned()))?;
        let meta = payload.meta.unwrap_or_default();
        // The first of the two places that holds one (2.0: asset_identification, older: meta).
        let (id_name, id_value) = [
            ("asset_identification.report_id", &ident.report_id),
            ("meta.report_id", &meta.report_id),
        ]
        .into_iter()
        .find_map(|(name, id)| id.as_ref().filter(|v| !v.is_null()).map(|v| (name, v)))
        .ok_or_else(|| bad("report_id is missing".to_owned()))?;
        let report_id = whole(id_value, MAX_REPORT_ID).map_err(|got| {
            bad(format!("{id_name} must be a whole number from 0 to {MAX_REPORT_ID}, got {got}"))
        })?;
        let sudi = ident
            .instance
            .and_then(|i| i.sudi)
            .ok_or_else(|| bad("asset_identification.instance.sudi is missing".to_owned()))?;
        let software_tag = ident
            .asset
            .and_then(|a| a.name)
            .and_then(|name| name.as_str().map(str::to_owned))
            .unwrap_or_default();
        let entitlement_tag = meta
            .entitlement_tag
            .as_ref()
            .and_then(Value::as_str)
            .ok_or_else(|| bad("meta.entitlement_tag is missing".to_owned()))?
            .to_owned();
        let software_version =
            meta.software_version.as_ref().and_then(Value::as_str).map(str::to_owned);
        let mut measurements = Vec::new();
        for (index, m) in payload.measurements.unwrap_or_default().into_iter().enumerate() {
            let at = format!("report {report_id}, measurement {}", index + 1);
            let time = |value: &Option<Value>, name: &str| -> Result<Option<i64>> {
                match value.as_ref().filter(|v| !v.is_null()) {
                    None => Ok(None),
                    Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                        bad(format!(
                            "{at}: {name} must be a whole number of seconds since 1970, got {}",
                            shown(v)
                        ))
                    }),
                }
            };
            let required = |value: &Option<Value>, name: &str| -> Result<i64> {
                time(value, name)?.ok_or_else(|| bad(format!("{at}: {name} is missing")))
            };
            let count = match m.value.and_then(|v| v.value).filter(|v| !v.is_null()) {
                None => return Err(bad(format!("{at}: value.value (the count) is missing"))),
                Some(v) => whole(&v, u64::MAX).map_err(|got| {
                    bad(format!("{at}: count must be a whole number ≥ 0, got {got}"))
                })?,
            };
            if count > MAX_COUNT {
                return Err(bad(format!(
                    "{at}: count {count} is above the maximum of {MAX_COUNT} licenses per measurement"
                )));
            }
            let reason = m.meta.and_then(|meta| {
                [meta.termination_reason, meta.close_reason]
                    .into_iter()
                    .find_map(|r| r.as_ref().and_then(Value::as_str).map(str::to_owned))
            });
            let start_time = required(&m.start_time, "start_time")?;
            let end_time = required(&m.end_time, "end_time")?;
            if end_time < start_time {
                return Err(bad(format!(
                    "{at}: end_time {end_time} is before start_time {start_time}"
                )));
            }
            measurements.push(Measurement {
                log_time: time(&m.log_time, "log_time")?.unwrap_or(0),
                start_time,
                end_time,
                count,
                termination_reason: reason,
            });
        }
        Ok(Report {
            report_id,
            udi: sudi.udi()?,
            software_tag,
            entitlement_tag,
            software_version,
            ha_udi: meta.ha_udi.unwrap_or_default(),
            measurements,
        })
    }
}

/// The largest count one measurement may state: no product instance uses more than a million
/// licenses of one kind, and a bound keeps every sum of counts far from overflowing.
pub const MAX_COUNT: u64 = 1_000_000;

/// The largest report id: the authority keeps report ids as signed 64-bit integers.
pub const MAX_REPORT_ID: u64 = i64::MAX as u64;

/// A whole number from 0 to `max`, given as a JSON number or a decimal string (devices send
/// counts as strings); otherwise what was given, as it is to be shown in an error.
fn whole(value: &Value, max: u64) -> std::result::Result<u64, String> {
    let n = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    };
    n.filter(|n| *n <= max).ok_or_else(|| shown(value))
}

/// A JSON value as an error shows it: short, on one line.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The members of a report payload that [`Envelope::report`] reads; others are skipped.
/// Leaves whose type devices vary are kept as small `Value`s.
#[derive(Deserialize)]
struct PayloadIn {
    asset_identification: Option<IdentIn>,
    meta: Option<MetaIn>,
    measurements: Option<Vec<MeasurementIn>>,
}

#[derive(Deserialize)]
struct IdentIn {
    report_id: Option<Value>,
    asset: Option<AssetIn>,
    instance: Option<InstanceIn>,
}

#[derive(Deserialize)]
struct AssetIn {
    name: Option<Value>,
}

#[derive(Deserialize)]
struct InstanceIn {
    sudi: Option<Sudi>,
}

#[derive(Default, Deserialize)]
struct MetaIn {
    report_id: Option<Value>,
    entitlement_tag: Option<Value>,
    software_version: Option<Value>,
    ha_udi: Option<Vec<HaUdi>>,
}

#[derive(Deserialize)]
struct MeasurementIn {
    log_time: Option<Value>,
    start_time: Option<Value>,
    end_time: Option<Value>,
    meta: Option<MeasurementMetaIn>,
    value: Option<CountIn>,
}

#[derive(Deserialize)]
struct MeasurementMetaIn {
    termination_reason: Option<Value>,
    close_reason: Option<Value>,
}

#[derive(Deserialize)]
struct CountIn {
    value: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ReportInput {
        let udi = Udi::new("C9300-24UX", "FOC2233A5ZV").unwrap();
        ReportInput {
            report_id: 1_700_000_000,
            udi: udi.clone(),
            software_tag: "regid.2017-05.com.cisco.C9300,v1_727af1d9-6c39-4444-b301-863f81445b72"
                .to_owned(),
            entitlement_tag: "regid.tag".to_owned(),
            software_version: Some("17.09.04".to_owned()),
            ha_udi: vec![HaUdi { role: "Active".to_owned(), sudi: Sudi::of(&udi) }],
            measurements: vec![Measurement {
                log_time: 1_700_003_600,
                start_time: 1_700_000_000,
                end_time: 1_700_003_600,
                count: 2,
                termination_reason: Some("CurrentUsageRequested".to_owned()),
            }],
        }
    }

    #[test]
    fn signed_report_round_trips_and_detects_tampering() {
        let key = KeyPair::generate();
        let text = sign_report(&input(), &key);
        let envelope = Envelope::parse(&text).unwrap();
        envelope.verify(&key.public_b64()).unwrap();
        let report = envelope.report().unwrap();
        assert_eq!(report.report_id, 1_700_000_000);
        assert_eq!(report.final_count(), 2);
        assert!(envelope.payload.contains("\"num_samples\":5"));

        let tampered = Envelope {
            payload: envelope.payload.replace("\"value\":\"2\"", "\"value\":\"1\""),
            ..envelope.clone()
        };
        assert!(matches!(tampered.verify(&key.public_b64()), Err(WireError::Signature { .. })));
        let other = KeyPair::generate();
        assert!(envelope.verify(&other.public_b64()).is_err());
    }

    #[test]
    fn a_report_without_header_reads_as_rum_and_verifies() {
        // Cisco's clients send `{payload, signature}` only (PROTOCOL.md §7.3).
        let key = KeyPair::generate();
        let mut value: Value = serde_json::from_str(&sign_report(&input(), &key)).unwrap();
        value.as_object_mut().unwrap().remove("header");
        let envelope = Envelope::parse(&value.to_string()).unwrap();
        assert_eq!(envelope.header, Header { kind: "rum".to_owned() });
        envelope.verify(&key.public_b64()).unwrap();
        assert_eq!(envelope.report().unwrap().report_id, 1_700_000_000);
    }

    #[test]
    fn reads_the_cisco_17_9_layout() {
        // Shape of the public C9800-CL 17.9.2 sample (PROTOCOL.md §1.2), values shortened.
        let payload = r#"{"version":"2.0","asset_identification":{"report_id":1671840750,"asset":{"name":"regid.2018-05.com.cisco.WLC_9500C,1.0_85665885-b4f4-4caf-aebc-7e6a9d0c6f6a"},"instance":{"sudi":{"udi_pid":"C9800-CL-K9","udi_serial_number":"9XECPSUU4XN"}}},"signature":{"signing_type":"builtin","key":"regid","value":"AAAA"},"meta":{"entitlement_tag":"regid.2018-06.com.cisco.DNA_NWStack,1.0_e7244e71-3ad5-4608-8bf0-d12f67c80896","utility_enabled":false,"software_version":"17.09.02","ha_udi":[{"role":"Active","sudi":{"udi_pid":"C9800-CL-K9","udi_serial_number":"9XECPSUU4XN"}}]},"measurements":[{"log_time":1671840900,"metric_name":"ENTITLEMENT","start_time":1671840750,"end_time":1671840900,"sample_interval":150,"num_samples":1,"meta":{"termination_reason":"CurrentUsageRequested"},"value":{"type":"COUNT","value":"3"}}]}"#;
        let envelope = Envelope {
            payload: payload.to_owned(),
            header: Header { kind: "rum".to_owned() },
            signature: EnvelopeSignature {
                sudi: Sudi {
                    udi_pid: "C9800-CL-K9".to_owned(),
                    udi_serial_number: "9XECPSUU4XN".to_owned(),
                },
                signing_type: "builtin".to_owned(),
                key: "regid".to_owned(),
                value: "AAAA".to_owned(),
            },
        };
        let report = envelope.report().unwrap();
        assert_eq!(report.report_id, 1671840750);
        assert_eq!(report.final_count(), 3);
        assert!(!envelope.is_verifiable());
        // Older layout: report_id in meta.
        let old = payload
            .replace("\"report_id\":1671840750,", "")
            .replace("\"utility_enabled\"", "\"report_id\":42,\"utility_enabled\"");
        let envelope = Envelope { payload: old, ..envelope };
        assert_eq!(envelope.report().unwrap().report_id, 42);
    }

    #[test]
    fn reads_lenient_measurements_and_names_what_is_missing() {
        let envelope = |payload: &str| Envelope {
            payload: payload.to_owned(),
            header: Header { kind: "rum".to_owned() },
            signature: EnvelopeSignature {
                sudi: Sudi {
                    udi_pid: "C9300-24UX".to_owned(),
                    udi_serial_number: "FOC1".to_owned(),
                },
                signing_type: "ed25519".to_owned(),
                key: "k".to_owned(),
                value: "v".to_owned(),
            },
        };
        // No log_time, the count as a number, the older close_reason, extra members skipped.
        let payload = r#"{"asset_identification":{"report_id":7,"instance":{"sudi":{"udi_pid":"C9300-24UX","udi_serial_number":"FOC1"}},"extra":[1,2]},"meta":{"entitlement_tag":"regid.tag","ha_udi":null},"measurements":[{"start_time":10,"end_time":20,"meta":{"close_reason":"Reload"},"value":{"value":4}},{"start_time":20,"end_time":30,"value":{"value":"5"}}]}"#;
        let report = envelope(payload).report().unwrap();
        assert_eq!(report.report_id, 7);
        assert_eq!(report.software_tag, "");
        assert_eq!(report.measurements[0].log_time, 0);
        assert_eq!(report.measurements[0].termination_reason.as_deref(), Some("Reload"));
        assert_eq!(report.final_count(), 5);
        assert_eq!(report.end_time(), 30);

        let no_tag = payload.replace(r#""entitlement_tag":"regid.tag","#, "");
        let err = envelope(&no_tag).report().unwrap_err().to_string();
        assert!(err.contains("meta.entitlement_tag is missing"), "{err}");
        let no_end = payload.replace(r#""end_time":20,"#, "");
        let err = envelope(&no_end).report().unwrap_err().to_string();
        assert!(err.contains("report 7, measurement 1: end_time is missing"), "{err}");
        let no_id = payload.replace(r#""report_id":7,"#, "");
        let err = envelope(&no_id).report().unwrap_err().to_string();
        assert!(err.contains("report_id is missing"), "{err}");
        let not_json = envelope("{").report().unwrap_err().to_string();
        assert!(not_json.contains("RUM report payload"), "{not_json}");
    }

    /// A payload with one measurement whose members are replaced by `member` (JSON text).
    fn with_measurement(report_id: &str, measurement: &str) -> Envelope {
        let payload = format!(
            r#"{{"asset_identification":{{"report_id":{report_id},"instance":{{"sudi":{{"udi_pid":"C9300-24UX","udi_serial_number":"FOC1"}}}}}},"meta":{{"entitlement_tag":"regid.tag"}},"measurements":[{measurement}]}}"#
        );
        Envelope {
            payload,
            header: Header { kind: "rum".to_owned() },
            signature: EnvelopeSignature {
                sudi: Sudi {
                    udi_pid: "C9300-24UX".to_owned(),
                    udi_serial_number: "FOC1".to_owned(),
                },
                signing_type: "ed25519".to_owned(),
                key: "k".to_owned(),
                value: "v".to_owned(),
            },
        }
    }

    fn error_of(report_id: &str, measurement: &str) -> String {
        with_measurement(report_id, measurement).report().unwrap_err().to_string()
    }

    #[test]
    fn says_what_is_wrong_with_a_value() {
        let good = r#"{"start_time":10,"end_time":20,"value":{"value":"3"}}"#;
        assert_eq!(with_measurement("7", good).report().unwrap().final_count(), 3);
        assert_eq!(
            with_measurement(r#""8""#, good).report().unwrap().report_id,
            8,
            "a report id given as a decimal string is read"
        );

        let err = error_of("7", r#"{"start_time":10,"end_time":20,"value":{"value":"-5"}}"#);
        assert!(
            err.contains(r#"report 7, measurement 1: count must be a whole number ≥ 0, got "-5""#),
            "{err}"
        );
        let err = error_of("7", r#"{"start_time":10,"end_time":20,"value":{"value":-5}}"#);
        assert!(err.contains("count must be a whole number ≥ 0, got -5"), "{err}");
        let err = error_of("7", r#"{"start_time":10,"end_time":20,"value":{"value":2.5}}"#);
        assert!(err.contains("count must be a whole number ≥ 0, got 2.5"), "{err}");
        let err = error_of("7", r#"{"start_time":10,"end_time":20,"value":{"value":"lots"}}"#);
        assert!(err.contains(r#"got "lots""#), "{err}");
        let err = error_of("7", r#"{"start_time":10,"end_time":20}"#);
        assert!(err.contains("measurement 1: value.value (the count) is missing"), "{err}");

        let err = error_of("-5", good);
        assert!(
            err.contains(
                "asset_identification.report_id must be a whole number from 0 to 9223372036854775807, got -5"
            ),
            "{err}"
        );
        let err = error_of("18446744073709551615", good);
        assert!(err.contains("got 18446744073709551615"), "{err}");

        let err = error_of("7", r#"{"start_time":"soon","end_time":20,"value":{"value":1}}"#);
        assert!(
            err.contains(
                r#"measurement 1: start_time must be a whole number of seconds since 1970, got "soon""#
            ),
            "{err}"
        );
        let long = format!(
            r#"{{"start_time":"{}","end_time":20,"value":{{"value":1}}}}"#,
            "x".repeat(10_000)
        );
        let err = error_of("7", &long);
        assert!(err.len() < 300 && err.contains('…'), "a long value is shortened: {err}");
    }

    #[test]
    fn refuses_absurd_counts_and_backwards_measurements() {
        let err = error_of(
            "7",
            r#"{"start_time":10,"end_time":20,"value":{"value":"9223372036854775807"}}"#,
        );
        assert!(
            err.contains(
                "report 7, measurement 1: count 9223372036854775807 is above the maximum of 1000000"
            ),
            "{err}"
        );
        let at_max =
            format!(r#"{{"start_time":10,"end_time":20,"value":{{"value":{MAX_COUNT}}}}}"#);
        assert_eq!(with_measurement("7", &at_max).report().unwrap().final_count(), MAX_COUNT);

        let err = error_of("7", r#"{"start_time":20,"end_time":10,"value":{"value":1}}"#);
        assert!(
            err.contains("report 7, measurement 1: end_time 10 is before start_time 20"),
            "{err}"
        );
        let instant = r#"{"start_time":20,"end_time":20,"value":{"value":1}}"#;
        assert!(with_measurement("7", instant).report().is_ok(), "a measurement may be an instant");
    }
}
