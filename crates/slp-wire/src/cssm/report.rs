//! `POST {BASE}/v2/devices/reportusage`, `…/v2/devices/authrequest` and `…/v2/accounts/poll`
//! (PROTOCOL.md §7.3): every request and reply body, as Cisco's clients send them and as
//! Cisco's API answers.
//!
//! Reading is tolerant ([`super::tolerant`]): `null` for any optional member, timestamps,
//! counts and ids sent as strings, Cisco's extra members (`is_consuming`, `is_ha`,
//! `reporting_device`, `errors`, `transaction_id`, `license_pool_id`, top-level `sudi` and
//! `product_instance_identifier`) accepted, RUM reports without `header`.
//!
//! slp's additions to Cisco's request shape are signed items
//! `{"data": "<json text>", "signature": {"alg", "key", "value"}}` ([`SignedJson`]):
//! `system_info` and `trust_requests` on a report entry; `system_info`, `auth_request`,
//! `auth_return` and `trust_request` on a license entry. A client that leaves them out (every
//! Cisco script) sends Cisco's shape.
//!
//! `poll_id` is a JSON number in the replies, as Cisco sends it; it may exceed 2^53, so a
//! client reads it as a 64-bit integer ([`PollAccepted::poll_id`]), never as a float.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::tolerant::{
    null_as_default, opt_bool_or_text, opt_i64_or_text, opt_text_or_number, opt_u64_or_text,
    u64_or_text,
};
use crate::docs::Key;
use crate::rum::{Envelope, EnvelopeSignature, Header, Sudi};
use crate::xml::{Kind, Signature, Signed};

/// Seconds a client should wait before polling (Cisco's `poll_interval`).
pub const POLL_INTERVAL_SECS: u64 = 300;
/// `action` of a `reportusage` poll.
pub const ACKNOWLEDGEMENTS: &str = "acknowledgements";
/// `action` of an `authrequest` poll.
pub const AUTHORIZATIONS: &str = "authorizations";
/// `status` of the immediate reply, and of a poll whose result is not ready.
pub const OK_POLL: &str = "OK_POLL";
/// `status` of a poll whose result is ready.
pub const COMPLETE: &str = "COMPLETE";

// ---- request bodies ---------------------------------------------------------------------------

/// A signed slp item as JSON: the exact `<data>` text and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SignedJson {
    /// JSON text; the signature covers its exact UTF-8 bytes.
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureJson>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SignatureJson {
    pub alg: String,
    pub key: String,
    pub value: String,
}

impl SignedJson {
    /// The JSON form of a document item.
    pub fn of(item: &Signed) -> SignedJson {
        SignedJson {
            data: item.data.clone(),
            signature: item.signature.as_ref().map(|s| SignatureJson {
                alg: s.alg.clone(),
                key: s.key.clone(),
                value: s.value.clone(),
            }),
        }
    }

    /// The document item of kind `kind` this JSON carries.
    pub fn to_item(&self, kind: Kind) -> Signed {
        Signed {
            kind,
            data: self.data.clone(),
            signature: self.signature.as_ref().map(|s| Signature {
                alg: s.alg.clone(),
                key: s.key.clone(),
                value: s.value.clone(),
            }),
        }
    }
}

/// `POST /v2/devices/reportusage` body. Cisco's clients add top-level `requesting_user_id`
/// and `locale` (ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReportUsageRequest {
    pub data: ReportUsageData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(transform = reports_required)]
pub struct ReportUsageData {
    /// Epoch milliseconds (a number or a string).
    #[serde(
        default,
        deserialize_with = "opt_i64_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::IntOrText>")]
    pub timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Cisco's optional reporting product instance (the first entry's, as a client copies it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sudi: Option<Sudi>,
    #[serde(
        default,
        deserialize_with = "opt_text_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::TextOrNumber>")]
    pub product_instance_identifier: Option<String>,
    /// One entry or more (`null` or none is refused).
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(length(min = 1))]
    pub reports: Vec<UsageEntry>,
}

/// One product instance's reports: RUM reports (`usage`), trust requests or its system
/// information, one of them at least.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(transform = usage_entry_carries_something)]
pub struct UsageEntry {
    pub sudi: Sudi,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_tag_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Epoch milliseconds (a number or a string).
    #[serde(
        default,
        deserialize_with = "opt_i64_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::IntOrText>")]
    pub timestamp: Option<i64>,
    /// slp addition: signed trust requests.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<SignedJson>>")]
    pub trust_requests: Vec<SignedJson>,
    #[serde(
        default,
        deserialize_with = "opt_text_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::TextOrNumber>")]
    pub transaction_id: Option<String>,
    /// Cisco's numeric virtual account id (a number or a string).
    #[serde(
        default,
        deserialize_with = "opt_i64_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::IntOrText>")]
    pub license_pool_id: Option<i64>,
    /// The RUM reports.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<UsageItem>>")]
    pub usage: Vec<UsageItem>,
    /// slp addition: the signed system information (the device key's proof of possession).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_info: Option<SignedJson>,
}

/// One RUM report of a [`UsageEntry`]: the envelope `{payload, header, signature}` (`header`
/// optional) and Cisco's per-report members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UsageItem {
    /// The payload, exactly as signed.
    pub payload: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Header>,
    pub signature: EnvelopeSignature,
    #[serde(
        default,
        deserialize_with = "opt_bool_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::BoolOrText>")]
    pub is_consuming: Option<bool>,
    #[serde(
        default,
        deserialize_with = "opt_bool_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::BoolOrText>")]
    pub is_ha: Option<bool>,
    /// Shape not public; kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_device: Option<Value>,
    /// Shape not public; kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Value>,
}

impl UsageItem {
    /// The RUM envelope (`header` `{"type": "rum"}` when it was left out).
    pub fn envelope(&self) -> Envelope {
        Envelope {
            payload: self.payload.clone(),
            header: self.header.clone().unwrap_or_default(),
            signature: self.signature.clone(),
        }
    }

    /// A report as slp's clients send it: the envelope, with its header, and nothing else.
    pub fn of(envelope: Envelope) -> UsageItem {
        UsageItem {
            payload: envelope.payload,
            header: Some(envelope.header),
            signature: envelope.signature,
            is_consuming: None,
            is_ha: None,
            reporting_device: None,
            errors: None,
        }
    }
}

/// `POST /v2/devices/authrequest` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuthRequestRequest {
    pub data: AuthRequestData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(transform = licenses_required)]
pub struct AuthRequestData {
    /// Epoch milliseconds (a number or a string).
    #[serde(
        default,
        deserialize_with = "opt_i64_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::IntOrText>")]
    pub timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Cisco's numeric virtual account id (a number or a string).
    #[serde(
        default,
        deserialize_with = "opt_i64_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::IntOrText>")]
    pub license_pool_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    /// One entry or more (`null` or none is refused).
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(length(min = 1))]
    pub licenses: Vec<LicenseEntry>,
}

/// One product instance's authorization request and/or return: a signed `auth_request` or
/// `auth_return`, or `keys` to reserve, or a `remove_code` to return a code, one of them at
/// least.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(transform = license_entry_asks_something)]
pub struct LicenseEntry {
    pub sudi: Sudi,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_tag_identifier: Option<String>,
    /// What is asked for (`count` a number or a string); with a signed `auth_request` it must
    /// match it.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<Key>>")]
    pub keys: Vec<Key>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_code: Option<String>,
    /// slp's signed trust request; anything else there (dbrown's script sends the hostname as
    /// text) reads as none.
    #[serde(
        default,
        deserialize_with = "super::tolerant::object_or_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "crate::cssm::tolerant::schema::AnyOr<SignedJson>")]
    pub trust_request: Option<SignedJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_request: Option<SignedJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_return: Option<SignedJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_info: Option<SignedJson>,
}

fn reports_required(schema: &mut schemars::Schema) {
    crate::cssm::tolerant::schema::require(schema, &["reports"]);
}

fn licenses_required(schema: &mut schemars::Schema) {
    crate::cssm::tolerant::schema::require(schema, &["licenses"]);
}

fn poll_action_or_blank() -> String {
    crate::cssm::tolerant::schema::choice_or_blank(&[ACKNOWLEDGEMENTS, AUTHORIZATIONS], false)
}

/// A schema transform: the object needs one of `alternatives` (member name, and the schema
/// that member must then have).
fn one_of_members(schema: &mut schemars::Schema, alternatives: &[(&str, Value)]) {
    let any: Vec<Value> = alternatives
        .iter()
        .map(|(name, member)| {
            serde_json::json!({"required": [name], "properties": {(*name): member}})
        })
        .collect();
    schema.insert("anyOf".to_owned(), Value::Array(any));
}

fn usage_entry_carries_something(schema: &mut schemars::Schema) {
    let list = serde_json::json!({"type": "array", "minItems": 1});
    let object = serde_json::json!({"type": "object"});
    one_of_members(
        schema,
        &[("usage", list.clone()), ("trust_requests", list), ("system_info", object)],
    );
}

fn license_entry_asks_something(schema: &mut schemars::Schema) {
    use crate::cssm::tolerant::schema::SPACE;
    let object = serde_json::json!({"type": "object"});
    // Not blank: a `remove_code` is trimmed.
    let code = format!("[^{SPACE}]");
    one_of_members(
        schema,
        &[
            ("auth_request", object.clone()),
            ("auth_return", object),
            ("keys", serde_json::json!({"type": "array", "minItems": 1})),
            ("remove_code", serde_json::json!({"type": "string", "pattern": code})),
        ],
    );
}

/// `POST /v2/accounts/poll` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PollRequest {
    pub data: PollData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PollData {
    /// Epoch milliseconds (Cisco's samples send it as a string here).
    #[serde(
        default,
        deserialize_with = "opt_i64_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::IntOrText>")]
    pub timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// A JSON number (it may exceed 2^53) or a decimal string.
    pub poll_id: PollId,
    /// `acknowledgements` or `authorizations` (that of the poll), or blank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = poll_action_or_blank()))]
    pub action: Option<String>,
    /// Sent by some clients beside `action`; not used.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PollId {
    Number(u64),
    Text(String),
}

/// What the poll endpoint takes: a whole number up to `i64::MAX` (the ids it hands out), as a
/// number or as digits with space around.
impl schemars::JsonSchema for PollId {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PollId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let max = i64::MAX as u64;
        schemars::json_schema!({"anyOf": [
            {"type": "integer", "minimum": 0, "maximum": max},
            {"type": "string", "pattern": crate::cssm::tolerant::schema::number_pattern(0, max, false)},
        ]})
    }
}

impl PollId {
    /// The id as text, trimmed.
    pub fn text(&self) -> String {
        match self {
            PollId::Number(n) => n.to_string(),
            PollId::Text(t) => t.trim().to_owned(),
        }
    }

    /// The id a client keeps as text, sent back as Cisco's clients do: a number when it is
    /// one.
    pub fn of_text(text: &str) -> PollId {
        match text.trim().parse::<u64>() {
            Ok(n) => PollId::Number(n),
            Err(_) => PollId::Text(text.to_owned()),
        }
    }
}

// ---- replies ----------------------------------------------------------------------------------

/// The first members of every reply of these endpoints, as a client reads them before the
/// rest: `OK_POLL`, `COMPLETE`, or a refusal (`FAILED`, `ERROR`) with its `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatusReply {
    pub status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub message: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub message_code: String,
}

/// The immediate reply to `reportusage` / `authrequest` (HTTP 202), member for member as
/// Cisco sends it: `message_code`, `message` and `type` are `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PollAccepted {
    /// `OK_POLL`.
    pub status: String,
    #[serde(default)]
    pub message_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// Epoch milliseconds: the request's, echoed (else the time of the answer).
    #[serde(default, deserialize_with = "opt_i64_or_text")]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::IntOrText>")]
    pub timestamp: Option<i64>,
    /// The request's nonce, echoed.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub nonce: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// A JSON number; read as a number or a string.
    #[serde(deserialize_with = "u64_or_text")]
    #[schemars(with = "crate::cssm::tolerant::schema::CountOrText")]
    pub poll_id: u64,
    #[serde(default, deserialize_with = "opt_u64_or_text")]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::CountOrText>")]
    pub poll_interval: Option<u64>,
    /// `acknowledgements` or `authorizations`.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub action: String,
}

/// The reply to a poll whose result is ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PollComplete {
    /// `COMPLETE`.
    pub status: String,
    /// Empty.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub message_code: String,
    /// Empty.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub message: String,
    /// Epoch milliseconds: the poll request's, echoed (else the time of the answer).
    #[serde(default, deserialize_with = "opt_i64_or_text")]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::IntOrText>")]
    pub timestamp: Option<i64>,
    /// The poll request's nonce, echoed.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub nonce: String,
    /// `acknowledgements` or `authorizations`.
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub kind: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub correlation_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<PollResultData>")]
    pub data: PollResultData,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PollResultData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledgements: Option<Vec<Acknowledgement>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizations: Option<Vec<AuthorizationResult>>,
}

/// The ACK of one report entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Acknowledgement {
    pub sudi: Sudi,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub software_tag_identifier: String,
    /// Base64 of the ACK `<smartLicense>` document (import it with `license smart import`).
    pub smart_license: String,
}

/// The outcome of one license entry. Cisco's members `product_instance_identifier`,
/// `auth_status`, `error_code` and `correlation_id` are always sent (`null` or empty when
/// slp has nothing for them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuthorizationResult {
    /// The product instance's UUID (Cisco's CSSM assigns one), on every `SUCCESS` entry, also
    /// for a device reserved by PID and serial number alone; `null` on `FAILED`.
    #[serde(default, deserialize_with = "opt_text_or_number")]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::TextOrNumber>")]
    pub product_instance_identifier: Option<String>,
    pub sudi: Sudi,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub software_tag_identifier: String,
    /// Base64 of the answer document (authorization codes); `null` when nothing was issued
    /// (a return, or `FAILED`).
    #[serde(default)]
    pub smart_license: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<Value>>")]
    pub auth_status: Vec<Value>,
    #[serde(default)]
    pub error_code: Option<String>,
    /// `SUCCESS` or `FAILED`.
    pub status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub status_message: String,
    #[serde(default)]
    pub correlation_id: Option<String>,
}

impl AuthorizationResult {
    /// `SUCCESS`, with the answer document (base64) when codes were issued.
    pub fn success(
        sudi: Sudi,
        software_tag_identifier: String,
        smart_license: Option<String>,
        status_message: String,
    ) -> AuthorizationResult {
        AuthorizationResult {
            product_instance_identifier: None,
            sudi,
            software_tag_identifier,
            smart_license,
            auth_status: Vec::new(),
            error_code: None,
            status: "SUCCESS".to_owned(),
            status_message,
            correlation_id: None,
        }
    }

    /// `FAILED`, saying why.
    pub fn failed(
        sudi: Sudi,
        software_tag_identifier: String,
        status_message: String,
    ) -> AuthorizationResult {
        AuthorizationResult {
            product_instance_identifier: None,
            sudi,
            software_tag_identifier,
            smart_license: None,
            auth_status: Vec::new(),
            error_code: None,
            status: "FAILED".to_owned(),
            status_message,
            correlation_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `02 - report license usage.py` (gve-sw/…_offline_reservation_tools): `{payload,
    /// signature}` per report, no `header`, and a `"SHA-256"` signing type in its Postman
    /// sample.
    #[test]
    fn a_report_without_header_reads_and_gives_a_rum_envelope() {
        let body = r#"{"data": {"timestamp": 1644340472292, "nonce": "random1234", "reports": [{
            "sudi": {"udi_pid": "C8000V", "udi_serial_number": "ASDF12345"},
            "usage": [{"payload": "{\"a\":1}", "signature": {"sudi": {"udi_pid": "C8000V",
              "udi_serial_number": "ASDF12345"}, "signing_type": "SHA-256", "key": "k",
              "value": "FhWJQorLD="}}]}]}}"#;
        let request: ReportUsageRequest = serde_json::from_str(body).expect("Cisco's body reads");
        let item = &request.data.reports[0].usage[0];
        assert_eq!(item.header, None);
        let envelope = item.envelope();
        assert_eq!(envelope.header.kind, "rum");
        assert_eq!(envelope.payload, "{\"a\":1}");
        assert_eq!(request.data.timestamp, Some(1_644_340_472_292));
    }

    /// `rum_report.py` (dbrown92700/SmartLicensing): `null` for every optional member and
    /// Cisco's extra members.
    #[test]
    fn nulls_and_cisco_extra_members_read() {
        let body = r#"{"data": {"sudi": {"udi_pid": "C9300-24UX", "udi_serial_number": "FOC1"},
            "timestamp": 1700000000000, "nonce": "n1", "product_instance_identifier": null,
            "reports": [{"sudi": {"udi_pid": "C9300-24UX", "udi_serial_number": "FOC1"},
              "hostname": null, "software_tag_identifier": "tag", "nonce": "n1",
              "timestamp": "1700000000000", "trust_requests": null, "transaction_id": null,
              "requesting_user_id": null, "locale": null, "license_pool_id": "123456",
              "product_instance_controller_id": null,
              "usage": [{"payload": "{}", "signature": {"sudi": {"udi_pid": "C9300-24UX",
                "udi_serial_number": "FOC1"}, "signing_type": "builtin", "key": "tag",
                "value": "AAAA"}, "is_consuming": null, "is_ha": null, "reporting_device": null,
                "errors": null}]}]},
            "requesting_user_id": null, "locale": null}"#;
        let request: ReportUsageRequest = serde_json::from_str(body).expect("Cisco's body reads");
        let entry = &request.data.reports[0];
        assert!(entry.trust_requests.is_empty());
        assert_eq!(entry.hostname, None);
        assert_eq!(entry.timestamp, Some(1_700_000_000_000));
        assert_eq!(entry.license_pool_id, Some(123_456));
        assert_eq!(entry.usage[0].is_consuming, None);
        assert_eq!(entry.usage[0].errors, None);
    }

    /// `smartaccount.py` (gve-sw/…): `"count": "1"` in `keys`, `keys: []` with a
    /// `remove_code`, and the poll's `timestamp` as a string.
    #[test]
    fn authrequest_counts_and_poll_timestamps_read_as_strings() {
        let body = r#"{"data": {"timestamp": 1656010025453, "nonce": "random1234", "licenses": [{
            "sudi": {"udi_pid": "C8000V", "udi_serial_number": "ASDF1234"},
            "hostname": "Test-Device-01", "keys": [{"entitlement": "regid.hsec", "count": "1"}],
            "confirm_code": null}]}}"#;
        let request: AuthRequestRequest = serde_json::from_str(body).expect("Cisco's body reads");
        assert_eq!(request.data.licenses[0].keys[0].count, 1);
        let poll = r#"{"data": {"timestamp": "1656610485678", "nonce": "dft0qRN2fLw4kpaR",
            "poll_id": 775133662461034514, "action": "authorizations"}}"#;
        let poll: PollRequest = serde_json::from_str(poll).expect("Cisco's poll reads");
        assert_eq!(poll.data.poll_id.text(), "775133662461034514");
        assert_eq!(poll.data.timestamp, Some(1_656_610_485_678));
        let bad = r#"{"data": {"licenses": [{"sudi": {"udi_pid": "P", "udi_serial_number": "S"},
            "keys": [{"entitlement": "e", "count": "one"}]}]}}"#;
        let err = serde_json::from_str::<AuthRequestRequest>(bad).err().map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("\"one\" is not a whole number"));
    }

    /// Cisco's 202 reply in the Postman collection: `poll_id` a number above 2^53, `null`
    /// members; a client reads the id exactly.
    #[test]
    fn the_accepted_reply_reads_and_writes_poll_id_as_a_number() {
        let reply = r#"{"status": "OK_POLL", "message_code": null, "message": null,
            "timestamp": 1656010025453, "nonce": "random1234", "type": null,
            "poll_id": 773126444402795033, "poll_interval": 300, "action": "authorizations"}"#;
        let accepted: PollAccepted = serde_json::from_str(reply).expect("Cisco's reply reads");
        assert_eq!(accepted.poll_id, 773_126_444_402_795_033);
        let written = serde_json::to_value(&accepted).expect("writes");
        assert_eq!(written["poll_id"].as_u64(), Some(773_126_444_402_795_033));
        assert!(written["message"].is_null() && written["type"].is_null());
        let text: PollAccepted =
            serde_json::from_str(r#"{"status": "OK_POLL", "poll_id": "773126444402795033"}"#)
                .expect("a string id reads");
        assert_eq!(text.poll_id, 773_126_444_402_795_033);
        assert_eq!(PollId::of_text("773126444402795033"), PollId::Number(773_126_444_402_795_033));
    }

    /// Cisco's COMPLETE reply for `authorizations` in the Postman collection.
    #[test]
    fn cisco_authorization_results_read() {
        let reply = r#"{"status":"COMPLETE","message_code":"","message":"","timestamp":1656610485678,
            "nonce":"dft0qRN2fLw4kpaR","type":"authorizations",
            "correlation_id":"6cef0ec9-6a0e-43c6-a8a9-e6e0e572156b","data":{"authorizations":[{
            "product_instance_identifier":"5278df84-7316-4332-88be-62623dd30b9e",
            "sudi":{"udi_pid":"C8000V","udi_serial_number":"123451234"},
            "smart_license":"PD94","auth_status":[],"error_code":"None","status":"SUCCESS",
            "status_message":"None","correlation_id":"62bddeb3-84c66b78"}]}}"#;
        let complete: PollComplete = serde_json::from_str(reply).expect("Cisco's reply reads");
        let result = &complete.data.authorizations.expect("authorizations")[0];
        assert_eq!(result.status, "SUCCESS");
        assert_eq!(result.smart_license.as_deref(), Some("PD94"));
        assert_eq!(result.software_tag_identifier, "");
    }
}
