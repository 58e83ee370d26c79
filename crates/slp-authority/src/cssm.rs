//! The authority's operations in the shape of Cisco's CSSM REST API (PROTOCOL.md §7.2/§7.3):
//! request and reply types with Cisco's JSON member names, and the [`Authority`] methods the
//! HTTP handlers call ([`crate::api`] only adds HTTP). Every method takes the authenticated
//! [`Principal`] and enforces its smart account and role here, in one place.
//!
//! `reportusage` and `authrequest` convert each entry of the request into the same
//! `<smartLicense>` document a device saves to a file and run it through the file-upload path
//! ([`Authority::upload`]): verification, idempotency on (UDI, report id), key binding and the
//! usage rule are identical. slp's additions to Cisco's request shape, both signed items
//! `{"data": "<json text>", "signature": {"alg", "key", "value"}}`: `system_info` (the signed
//! `<smartLicenseSystemInfo>`) and `trust_requests` (signed `<smartLicenseTrustRequest>`s) on a
//! report entry; `system_info`, `auth_request`, `auth_return` (and `trust_request`) on a
//! license entry. A license entry without `auth_request` / `auth_return` is Cisco's own shape:
//! the reserve step for a device named by PID and serial number (`keys`), and the return by the
//! `remove_code` the device printed ([`Authority::auth_request`]).
//!
//! The answer is stored under a poll id derived from the request's content (SHA-256 of action,
//! virtual account and body; for `reportusage`, of each entry's document digest and the entry
//! fields outside it), so a replayed request gets the same poll id and the same ACK, and any
//! replica on the same database answers the poll.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use slp_core::license::{Enforcement, Term};
use slp_store::{Account, PollRecord, Tx, VirtualAccount};
use slp_wire::cssm::tolerant;
use slp_wire::docs::{AuthRequestItem, Key, SystemInfo, TrustRequest};
use slp_wire::keys;
use slp_wire::rum::{Envelope, Sudi};
use slp_wire::xml::{Document, Kind, Signature, Signed};

use crate::clients::{Access, Principal};
use crate::{Authority, AuthorityError, Result};

/// Seconds a client should wait before polling (Cisco's `poll_interval`).
pub const POLL_INTERVAL_SECS: u64 = 300;
/// `action` of a `reportusage` poll.
pub const ACKNOWLEDGEMENTS: &str = "acknowledgements";
/// `action` of an `authrequest` poll.
pub const AUTHORIZATIONS: &str = "authorizations";

// ---- request bodies ---------------------------------------------------------------------------

/// A signed slp item as JSON: the exact `<data>` text and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedJson {
    /// JSON text; the signature covers its exact UTF-8 bytes.
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureJson>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

    fn to_item(&self, kind: Kind) -> Signed {
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

/// `POST /v2/devices/reportusage` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportUsageRequest {
    pub data: ReportUsageData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportUsageData {
    /// Epoch milliseconds.
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub nonce: Option<String>,
    pub reports: Vec<UsageEntry>,
}

/// One product instance's reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEntry {
    pub sudi: Sudi,
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub software_tag_identifier: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// slp addition: signed trust requests.
    #[serde(default)]
    pub trust_requests: Vec<SignedJson>,
    /// RUM report envelopes `{payload, header, signature}`; Cisco's extra members
    /// (`is_consuming`, `errors`, …) are ignored.
    #[serde(default)]
    pub usage: Vec<Envelope>,
    /// slp addition: the signed system information (the device key's proof of possession).
    #[serde(default)]
    pub system_info: Option<SignedJson>,
}

/// `POST /v2/devices/authrequest` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequestRequest {
    pub data: AuthRequestData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequestData {
    #[serde(default, deserialize_with = "tolerant::opt_i64_or_text")]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub nonce: Option<String>,
    pub licenses: Vec<LicenseEntry>,
    /// The numeric virtual account id; used when the `X-CSW-VIRTUAL-ACCOUNT-ID` header is
    /// missing.
    #[serde(default, deserialize_with = "tolerant::opt_i64_or_text")]
    pub license_pool_id: Option<i64>,
}

/// One product instance's authorization request and/or return. Without a signed
/// `auth_request` or `auth_return` it is CSSM's reserve step for a device named by PID and
/// serial number alone: `keys` are reserved and `remove_code` (a return code the device
/// printed) gives a code back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseEntry {
    pub sudi: Sudi,
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub software_tag_identifier: Option<String>,
    /// What is asked for; when given beside a signed `auth_request` it must match it.
    #[serde(default, deserialize_with = "tolerant::null_as_default")]
    pub keys: Vec<Key>,
    #[serde(default)]
    pub confirm_code: Option<String>,
    #[serde(default)]
    pub remove_code: Option<String>,
    /// A signed trust request; anything else there (a public tool sends the hostname) is
    /// ignored.
    #[serde(default, deserialize_with = "tolerant::object_or_none")]
    pub trust_request: Option<SignedJson>,
    #[serde(default)]
    pub auth_request: Option<SignedJson>,
    #[serde(default)]
    pub auth_return: Option<SignedJson>,
    #[serde(default)]
    pub system_info: Option<SignedJson>,
}

/// `POST /v2/accounts/poll` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollRequest {
    pub data: PollData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollData {
    /// A decimal string, or a JSON number (it may exceed 2^53).
    pub poll_id: PollId,
    #[serde(default)]
    pub action: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PollId {
    Number(u64),
    Text(String),
}

impl PollId {
    pub fn text(&self) -> String {
        match self {
            PollId::Number(n) => n.to_string(),
            PollId::Text(t) => t.trim().to_owned(),
        }
    }
}

// ---- replies ----------------------------------------------------------------------------------

/// The immediate reply to `reportusage` / `authrequest` (HTTP 202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollAccepted {
    /// `OK_POLL`.
    pub status: String,
    pub poll_id: String,
    pub poll_interval: u64,
    pub action: String,
    /// Epoch milliseconds.
    pub timestamp: i64,
    /// The request's nonce, echoed.
    pub nonce: String,
}

/// The reply to a poll whose result is ready.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollComplete {
    /// `COMPLETE`.
    pub status: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub correlation_id: String,
    pub data: PollResultData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollResultData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledgements: Option<Vec<Acknowledgement>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizations: Option<Vec<AuthorizationResult>>,
}

/// The ACK of one report entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub sudi: Sudi,
    pub software_tag_identifier: String,
    /// Base64 of the ACK `<smartLicense>` document (import it with `license smart import`).
    pub smart_license: String,
}

/// How a poll result is stored. An acknowledgement of `reportusage` names the upload record
/// (of the poll's virtual account, by digest) that holds its ACK, so that each ACK is stored
/// once; [`Authority::poll`] gives it its `smart_license` when it is read. Results stored by
/// earlier versions hold the `smart_license` itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredPollResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) acknowledgements: Option<Vec<StoredAcknowledgement>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) authorizations: Option<Vec<AuthorizationResult>>,
}

/// An [`Acknowledgement`] as stored: its ACK inline or in an upload record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredAcknowledgement {
    pub(crate) sudi: Sudi,
    pub(crate) software_tag_identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) smart_license: Option<String>,
    /// Hex SHA-256 of the upload whose record holds the ACK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ack_upload: Option<String>,
}

/// The outcome of one license entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationResult {
    pub sudi: Sudi,
    pub software_tag_identifier: String,
    /// Base64 of the answer document (authorization codes); `null` when nothing was issued
    /// (a return, or `FAILED`).
    #[serde(default)]
    pub smart_license: Option<String>,
    /// `SUCCESS` or `FAILED`.
    pub status: String,
    pub status_message: String,
    /// `null` on success; the refusal's name when `FAILED` (`UNKNOWN_ENTITLEMENT`,
    /// `INSUFFICIENT_LICENSES`, `INVALID_RETURN`).
    #[serde(default)]
    pub error_code: Option<String>,
}

/// `GET /v2/accounts/search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSearch {
    pub status: String,
    pub accounts: Vec<AccountEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEntry {
    pub account_id: i64,
    pub domain: String,
    pub name: String,
    pub virtual_accounts: Vec<VaEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaEntry {
    pub name: String,
    pub virtual_account_id: i64,
    /// The first virtual account created in the smart account.
    pub default: bool,
}

/// One virtual account of `GET /v1/accounts/{domain}/customer/virtual-accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiscoVa {
    pub name: String,
    pub virtual_account_id: i64,
    pub is_default: bool,
    pub description: String,
    pub commerce_access_level: String,
    pub licenses: i64,
    pub product_instances: i64,
    /// `allow` or `deny`: whether a UDI never seen before binds on first contact.
    pub first_contact: String,
}

/// One license row of `POST /v1/accounts/{domain}/licenses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiscoLicense {
    pub license: String,
    pub entitlement_tag: String,
    pub virtual_account: String,
    pub quantity: i64,
    pub in_use: i64,
    pub available: i64,
    pub reserved: i64,
    pub pending_quantity: i64,
    /// `In Compliance` or `Out Of Compliance`.
    pub status: String,
    pub billing_type: String,
    pub is_portable: bool,
    pub license_substitutions: Vec<String>,
    pub license_details: Vec<CiscoLicenseDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiscoLicenseDetail {
    pub quantity: i64,
    /// `PERPETUAL` or `TERM`.
    pub license_type: String,
    /// `Active` or `Expired`.
    pub status: String,
    pub start_date: String,
    pub end_date: Option<String>,
    pub subscription_id: Option<String>,
}

/// `GET /v1/accounts/{domain}/virtual-accounts/{va}/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiscoDevices {
    /// How many product instances the virtual account has (the page holds `devices`).
    pub total_records: i64,
    pub devices: Vec<CiscoDevice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiscoDevice {
    pub instance_name: String,
    pub host_name: Option<String>,
    pub sudi: CiscoSudi,
    pub virtual_account: String,
    pub registration_date: String,
    pub last_contact_date: String,
    pub license_usage: Vec<CiscoUsage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiscoSudi {
    /// `udiPid`; the device-side spelling `udi_pid` is taken too.
    #[serde(alias = "udi_pid")]
    pub udi_pid: String,
    #[serde(alias = "udi_serial_number")]
    pub udi_serial_number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiscoUsage {
    pub license: String,
    pub quantity: i64,
}

/// `POST /v3/licenses/summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseSummary {
    pub status: String,
    pub out_standing_reports: i64,
    pub summary: Vec<SummaryEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryEntry {
    pub tag: String,
    pub display_name: String,
    /// `IN_COMPLIANCE` or `OUT_OF_COMPLIANCE`.
    pub compliance_status: String,
    pub enforced: bool,
    pub export_restricted: bool,
    pub prepaid_entitled: i64,
    pub prepaid_inuse: i64,
    pub prepaid_reserved: i64,
    pub license_details: Vec<SummaryDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryDetail {
    pub billing_type: String,
    pub license_type: String,
    pub quantity: i64,
    pub status: String,
    pub start_date: String,
    pub end_date: Option<String>,
    pub subscription_id: Option<String>,
}

// ---- conversion -------------------------------------------------------------------------------

fn bad(field: String, reason: impl Into<String>) -> AuthorityError {
    AuthorityError::Request { field, reason: reason.into() }
}

fn udi_of(sudi: &Sudi, field: &str) -> Result<String> {
    sudi.udi().map(|u| u.to_string()).map_err(|e| bad(format!("{field}.sudi"), e.to_string()))
}

/// Checks that a system information item is for the entry's UDI; returns its software tag.
fn system_info_of(item: &SignedJson, udi: &str, field: &str) -> Result<SystemInfo> {
    let info: SystemInfo = serde_json::from_str(&item.data)
        .map_err(|e| bad(format!("{field}.system_info.data"), e.to_string()))?;
    let own = udi_of(&info.sudi, &format!("{field}.system_info.data"))?;
    if own != udi {
        return Err(bad(
            format!("{field}.system_info"),
            format!("is the system information of {own}, not of {udi} named in {field}.sudi"),
        ));
    }
    Ok(info)
}

/// The device key an entry names: its system information's, else its trust request's.
fn entry_key(entry: &UsageEntry) -> Option<String> {
    let info =
        entry.system_info.as_ref().and_then(|i| serde_json::from_str::<SystemInfo>(&i.data).ok());
    let trust = || {
        entry
            .trust_requests
            .iter()
            .find_map(|r| serde_json::from_str::<TrustRequest>(&r.data).ok())
            .map(|t| t.public_key)
    };
    info.map(|i| i.public_key).or_else(trust)
}

/// The (key, bytes, signature) of every signature in a reportusage request whose key the entry
/// itself names (system information and trust requests carry the device key; reports are
/// signed with it, [`entry_key`]), for one batch check. Malformed items are left out: the
/// ingest refuses them with their names.
fn signature_triples(data: &ReportUsageData) -> (Vec<(String, String, String)>, Vec<EntryReports>) {
    let mut triples = Vec::new();
    let mut entries = Vec::new();
    for entry in &data.reports {
        if let Some(info) = &entry.system_info
            && let Ok(parsed) = serde_json::from_str::<SystemInfo>(&info.data)
            && let Some(signature) = &info.signature
        {
            triples.push((parsed.public_key, info.data.clone(), signature.value.clone()));
        }
        for request in &entry.trust_requests {
            if let (Ok(parsed), Some(signature)) =
                (serde_json::from_str::<TrustRequest>(&request.data), &request.signature)
            {
                triples.push((parsed.public_key, request.data.clone(), signature.value.clone()));
            }
        }
        entries.push(entry_key(entry).map(|key| {
            let first = triples.len();
            for envelope in &entry.usage {
                triples.push((
                    key.clone(),
                    envelope.payload.clone(),
                    envelope.signature.value.clone(),
                ));
            }
            (key, first..triples.len())
        }));
    }
    (triples, entries)
}

/// Of one entry of a reportusage request: the key it names and where its reports' signatures
/// are among the request's triples ([`signature_triples`]), in the entry's order.
type EntryReports = Option<(String, std::ops::Range<usize>)>;

/// One report entry as the document `license smart save usage` writes: the reports, then the
/// system information, then the trust requests. Deterministic, so a replayed entry is
/// byte-identical to the first and gets the stored ACK.
pub fn usage_document(entry: &UsageEntry, field: &str) -> Result<(String, String, Document)> {
    let udi = udi_of(&entry.sudi, field)?;
    if entry.usage.is_empty() && entry.trust_requests.is_empty() && entry.system_info.is_none() {
        return Err(bad(field.to_owned(), "carries no usage, trust_requests or system_info"));
    }
    let mut tag = entry.software_tag_identifier.clone().unwrap_or_default();
    let mut items = Vec::new();
    if let Some(info) = &entry.system_info {
        let parsed = system_info_of(info, &udi, field)?;
        if tag.is_empty() {
            tag = parsed.software_tag_identifier;
        }
        items.push(info.to_item(Kind::SystemInfo));
    }
    items.extend(entry.trust_requests.iter().map(|t| t.to_item(Kind::TrustRequest)));
    let mut reports = Vec::new();
    for (i, envelope) in entry.usage.iter().enumerate() {
        let text = serde_json::to_string(envelope)
            .map_err(|e| bad(format!("{field}.usage[{i}]"), e.to_string()))?;
        reports.push(text);
    }
    Ok((udi, tag, Document { reports, items }))
}

/// One license entry as a document: system information, trust request, authorization request,
/// authorization return (the order a device writes them).
pub fn license_document(entry: &LicenseEntry, field: &str) -> Result<(String, String, Document)> {
    let udi = udi_of(&entry.sudi, field)?;
    if entry.auth_request.is_none() && entry.auth_return.is_none() {
        return Err(bad(field.to_owned(), "carries neither auth_request nor auth_return"));
    }
    let mut tag = entry.software_tag_identifier.clone().unwrap_or_default();
    let mut items = Vec::new();
    if let Some(info) = &entry.system_info {
        let parsed = system_info_of(info, &udi, field)?;
        if tag.is_empty() {
            tag = parsed.software_tag_identifier;
        }
        items.push(info.to_item(Kind::SystemInfo));
    }
    if let Some(trust) = &entry.trust_request {
        items.push(trust.to_item(Kind::TrustRequest));
    }
    if let Some(request) = &entry.auth_request {
        let asked: Vec<AuthRequestItem> = serde_json::from_str(&request.data)
            .map_err(|e| bad(format!("{field}.auth_request.data"), e.to_string()))?;
        if !entry.keys.is_empty() {
            let signed: Vec<&Key> =
                asked.iter().filter(|a| a.sudi == entry.sudi).flat_map(|a| a.keys.iter()).collect();
            let given: Vec<&Key> = entry.keys.iter().collect();
            if signed != given {
                return Err(bad(
                    format!("{field}.keys"),
                    format!("do not match the keys the signed auth_request asks for {udi}"),
                ));
            }
        }
        items.push(request.to_item(Kind::AuthRequest));
    }
    if let Some(ret) = &entry.auth_return {
        items.push(ret.to_item(Kind::AuthReturn));
    }
    Ok((udi, tag, Document { reports: Vec::new(), items }))
}

/// What one `authrequest` entry asks, checked before the store is touched.
struct LicensePlan {
    field: String,
    sudi: Sudi,
    udi: String,
    tag: String,
    remove_code: Option<String>,
    request: LicenseRequest,
}

enum LicenseRequest {
    /// A device-signed request and/or return, as the document a device saves.
    Signed(String),
    /// Keys for a device named by PID and serial number alone (none: a return only).
    Reserve(slp_core::udi::Udi, Vec<Key>),
}

fn license_plan(entry: &LicenseEntry, field: &str) -> Result<LicensePlan> {
    let remove_code =
        entry.remove_code.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    let (udi, tag, request) = if entry.auth_request.is_some() || entry.auth_return.is_some() {
        let (udi, tag, doc) = license_document(entry, field)?;
        (udi, tag, LicenseRequest::Signed(doc.to_xml()))
    } else {
        let udi = entry.sudi.udi().map_err(|e| bad(format!("{field}.sudi"), e.to_string()))?;
        if entry.keys.is_empty() && remove_code.is_none() {
            return Err(bad(
                field.to_owned(),
                "asks for nothing: give keys to reserve, a remove_code to return a code, or a signed auth_request / auth_return",
            ));
        }
        let tag = entry.software_tag_identifier.clone().unwrap_or_default();
        (udi.to_string(), tag, LicenseRequest::Reserve(udi, entry.keys.clone()))
    };
    Ok(LicensePlan {
        field: field.to_owned(),
        sudi: entry.sudi.clone(),
        udi,
        tag,
        remove_code,
        request,
    })
}

/// The poll id of a request: 63 bits of SHA-256 over action, virtual account and content.
fn poll_id_of<T: Serialize>(action: &str, va_id: i64, body: &T) -> Result<i64> {
    let json = serde_json::to_vec(body).map_err(|e| bad("data".to_owned(), e.to_string()))?;
    let mut hasher = Sha256::new();
    hasher.update(b"slp-poll\0");
    hasher.update(action.as_bytes());
    hasher.update(b"\0");
    hasher.update(va_id.to_be_bytes());
    hasher.update(b"\0");
    hasher.update(&json);
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let id = i64::from_be_bytes(first) & i64::MAX;
    Ok(id.max(1))
}

/// The poll id of a `reportusage` request: 63 bits of SHA-256 over the virtual account and
/// the request's content, like [`poll_id_of`], but taking each entry's document by its digest
/// (computed anyway) instead of writing the whole body out again. The entry's fields that are
/// not in its document are hashed beside it.
fn usage_poll_id(
    va_id: i64,
    data: &ReportUsageData,
    entries: &[crate::group::UsageEntryJob],
) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(b"slp-poll\0reportusage\0");
    hasher.update(va_id.to_be_bytes());
    let field = |hasher: &mut Sha256, text: Option<&str>| match text {
        Some(text) => {
            hasher.update([1]);
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
        None => hasher.update([0]),
    };
    let number = |hasher: &mut Sha256, n: Option<i64>| match n {
        Some(n) => {
            hasher.update([1]);
            hasher.update(n.to_be_bytes());
        }
        None => hasher.update([0]),
    };
    number(&mut hasher, data.timestamp);
    field(&mut hasher, data.nonce.as_deref());
    for (entry, job) in data.reports.iter().zip(entries) {
        field(&mut hasher, Some(&entry.sudi.udi_pid));
        field(&mut hasher, Some(&entry.sudi.udi_serial_number));
        field(&mut hasher, entry.hostname.as_deref());
        field(&mut hasher, entry.software_tag_identifier.as_deref());
        field(&mut hasher, entry.nonce.as_deref());
        number(&mut hasher, entry.timestamp);
        field(&mut hasher, Some(job.document.sha256()));
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (i64::from_be_bytes(first) & i64::MAX).max(1)
}

/// The `error_code` of a refusal that concerns one license entry against the pool (reported
/// as `FAILED` in the poll result), as opposed to a malformed or badly signed request (refused
/// as a whole: `None`).
fn refusal_code(err: &AuthorityError) -> Option<&'static str> {
    match err {
        AuthorityError::Insufficient { .. } => Some("INSUFFICIENT_LICENSES"),
        AuthorityError::UnknownEntitlement { .. } => Some("UNKNOWN_ENTITLEMENT"),
        AuthorityError::BadReturn { .. } => Some("INVALID_RETURN"),
        _ => None,
    }
}

fn parse_id(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn date(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .map(|at| at.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| ts.to_string())
}

fn license_type(term: &str) -> String {
    match Term::parse(term) {
        Some(Term::Perpetual) => "PERPETUAL".to_owned(),
        Some(Term::Subscription) => "TERM".to_owned(),
        None => term.to_uppercase(),
    }
}

impl Authority {
    // ---- scoping ------------------------------------------------------------------------------

    async fn scoped_account(tx: &mut Tx, principal: &Principal, given: &str) -> Result<Account> {
        let given = given.trim();
        let found = match parse_id(given) {
            Some(id) => tx.account(id).await?,
            None => tx.account_by_key(given).await?,
        };
        let account = found.filter(|a| a.id == principal.account_id);
        principal.require_account(account.is_some(), given)?;
        account.ok_or_else(|| AuthorityError::AccountNotFound(given.to_owned()))
    }

    async fn scoped_va(tx: &mut Tx, account: &Account, given: &str) -> Result<VirtualAccount> {
        let given = given.trim();
        if let Some(id) = parse_id(given)
            && let Some(va) = tx.va(id).await?.filter(|va| va.account_id == account.id)
        {
            return Ok(va);
        }
        tx.va_by_name(account.id, given).await?.ok_or_else(|| AuthorityError::VaNotFound {
            account: account.domain.clone(),
            va: given.to_owned(),
        })
    }

    /// The smart and virtual account named by the `X-CSW-SMART-ACCOUNT-ID` and
    /// `X-CSW-VIRTUAL-ACCOUNT-ID` headers: numeric ids (from `/v2/accounts/search`), or a domain
    /// / name and a virtual account name. No smart account header means the client's own.
    pub async fn va_by_ids(
        &self,
        principal: &Principal,
        smart_account: Option<&str>,
        virtual_account: Option<&str>,
    ) -> Result<(Account, VirtualAccount)> {
        let mut tx = self.store.read().await?;
        let account = Self::scoped_account(
            &mut tx,
            principal,
            smart_account.unwrap_or(&principal.account_domain),
        )
        .await?;
        let va = virtual_account.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
            bad(
                "X-CSW-VIRTUAL-ACCOUNT-ID".to_owned(),
                "header is missing: give the virtual account id from /v2/accounts/search or its name",
            )
        })?;
        let va = Self::scoped_va(&mut tx, &account, va).await?;
        Ok((account, va))
    }

    // ---- reporting ----------------------------------------------------------------------------

    /// `reportusage`: ingests every entry, all or nothing, and stores the acknowledgements under
    /// the returned poll id.
    pub async fn report_usage(
        &self,
        principal: &Principal,
        smart_account: Option<&str>,
        virtual_account: Option<&str>,
        data: &ReportUsageData,
    ) -> Result<PollAccepted> {
        principal.require(Access::Report, "reporting usage")?;
        if data.reports.is_empty() {
            return Err(bad("data.reports".to_owned(), "is empty"));
        }
        let mut documents = Vec::new();
        for (i, entry) in data.reports.iter().enumerate() {
            let field = format!("data.reports[{i}]");
            let (udi, tag, doc) = usage_document(entry, &field)?;
            let label = format!("reportusage {field} of {udi}");
            documents.push((label, entry.sudi.clone(), tag, doc, entry.usage.clone(), udi));
        }
        let (account, va) = self.va_by_ids(principal, smart_account, virtual_account).await?;
        // The CPU work is done on a blocking thread before the store's writer is taken, so that
        // requests do it in parallel: the signatures are checked in one batch (the ingest below
        // finds them checked) and every document is read.
        let (triples, entry_reports) = signature_triples(data);
        let (account_name, va_id, va_name) = (account.name.clone(), va.id, va.name.clone());
        let issued_at = crate::rfc3339(self.now());
        let authority = self.key.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            let borrowed: Vec<keys::Triple<'_>> =
                triples.iter().map(|(k, b, s)| (k.as_str(), b.as_bytes(), s.as_str())).collect();
            let good = keys::verify_batch_each(&borrowed);
            documents
                .into_iter()
                .zip(entry_reports)
                .map(|((label, sudi, tag, doc, envelopes, udi), reports)| {
                    let mut prepared = crate::upload::prepare_built(&label, doc, envelopes);
                    if let Some((key, range)) = reports
                        && let Some(good) = good.get(range)
                    {
                        prepared.mark_verified(&key, good);
                    }
                    if let Ok(head) = udi.parse::<slp_core::udi::Udi>() {
                        let head = Sudi::of(&head);
                        prepared.presign(
                            &head,
                            &account_name,
                            (va_id, &va_name),
                            &issued_at,
                            &authority,
                        );
                    }
                    (sudi, tag, udi, prepared)
                })
                .collect::<Vec<_>>()
        })
        .await
        // Only a bug (a panic in the pure code above) ends the task early: it is not the
        // client's fault, so it is not answered as a bad request; the panic goes on.
        .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()));
        let mut entries = Vec::new();
        for (sudi, tag, udi, prepared) in prepared {
            let document = prepared.ready()?;
            entries.push(crate::group::UsageEntryJob { sudi, tag, udi, document });
        }
        let poll_id = usage_poll_id(va.id, data, &entries);
        let job = crate::group::UsageJob { account, va, entries, poll_id, actor: self.actor() };
        self.commit_usage(job).await?;
        Ok(self.accepted(poll_id, ACKNOWLEDGEMENTS, data.nonce.as_deref()))
    }

    /// `authrequest`: each entry is handled on its own; an entry the pool cannot serve
    /// (insufficient or unknown license, bad return) is `FAILED` in the poll result and changes
    /// nothing, while a malformed or badly signed entry refuses the whole request.
    ///
    /// An entry with a signed `auth_request` / `auth_return` is ingested like the file a device
    /// saves (trust and first-contact rules apply). An entry without one is CSSM's reserve step
    /// for a device named by PID and serial number alone, authorized by the caller's role and
    /// scope: its `keys` are reserved as a new code, and its `remove_code` (a return code the
    /// device printed) gives a code back — `keys: []` with a `remove_code` is Cisco's return.
    pub async fn auth_request(
        &self,
        principal: &Principal,
        smart_account: Option<&str>,
        virtual_account: Option<&str>,
        data: &AuthRequestData,
    ) -> Result<PollAccepted> {
        principal.require(Access::Report, "authorization requests")?;
        if data.licenses.is_empty() {
            return Err(bad("data.licenses".to_owned(), "is empty"));
        }
        let mut plans = Vec::new();
        for (i, entry) in data.licenses.iter().enumerate() {
            plans.push(license_plan(entry, &format!("data.licenses[{i}]"))?);
        }
        let pool_id = data.license_pool_id.map(|id| id.to_string());
        let virtual_account =
            virtual_account.filter(|v| !v.trim().is_empty()).or(pool_id.as_deref());
        let (account, va) = self.va_by_ids(principal, smart_account, virtual_account).await?;
        let poll_id = poll_id_of(AUTHORIZATIONS, va.id, data)?;
        let mut tx = self.store.begin().await?;
        tx.lock_va(va.id).await?;
        if let Some(existing) = Self::existing_poll(&mut tx, poll_id, &va, AUTHORIZATIONS).await? {
            tracing::info!(poll_id, va = %va.name, "replayed authrequest: stored result");
            return Ok(self.accepted(existing.poll_id, AUTHORIZATIONS, data.nonce.as_deref()));
        }
        let mut results = Vec::new();
        for plan in plans {
            let label = format!("authrequest {} of {}", plan.field, plan.udi);
            tx.savepoint("slp_license_entry").await?;
            let (sudi, tag) = (plan.sudi.clone(), plan.tag.clone());
            match self.license_entry_in(&mut tx, &account, &va, &label, plan).await {
                Ok((smart_license, status_message)) => {
                    tx.release("slp_license_entry").await?;
                    results.push(AuthorizationResult {
                        sudi,
                        software_tag_identifier: tag,
                        smart_license,
                        status: "SUCCESS".to_owned(),
                        status_message,
                        error_code: None,
                    });
                }
                Err(err) => match refusal_code(&err) {
                    Some(code) => {
                        tx.rollback_to("slp_license_entry").await?;
                        tracing::info!(entry = %label, error = %err, "authorization request entry refused");
                        results.push(AuthorizationResult {
                            sudi,
                            software_tag_identifier: tag,
                            smart_license: None,
                            status: "FAILED".to_owned(),
                            status_message: err.to_string(),
                            error_code: Some(code.to_owned()),
                        });
                    }
                    None => return Err(err),
                },
            }
        }
        let result = StoredPollResult { acknowledgements: None, authorizations: Some(results) };
        self.store_poll(&mut tx, poll_id, &va, AUTHORIZATIONS, &result).await?;
        tx.commit().await?;
        Ok(self.accepted(poll_id, AUTHORIZATIONS, data.nonce.as_deref()))
    }

    /// One entry of an `authrequest` inside the request's transaction: its `remove_code` first,
    /// then its signed document or its keys. Returns the `smart_license` (base64 of the answer
    /// document, when there is one) and the status message.
    async fn license_entry_in(
        &self,
        tx: &mut Tx,
        account: &Account,
        va: &VirtualAccount,
        label: &str,
        plan: LicensePlan,
    ) -> Result<(Option<String>, String)> {
        let mut said = Vec::new();
        if let Some(code) = &plan.remove_code {
            if self.return_by_code_in(tx, account, va, &plan.udi, code, label).await? {
                said.push(format!("authorization code returned by return code {code}"));
            } else {
                said.push(format!("the code of return code {code} was returned already"));
            }
        }
        let answer = match plan.request {
            LicenseRequest::Signed(xml) => {
                let outcome = self.upload_in(tx, account, va, label, xml.as_bytes()).await?;
                said.push(format!(
                    "{} authorization code(s), {} return(s)",
                    outcome.authorizations, outcome.returns
                ));
                Some(outcome.ack)
            }
            LicenseRequest::Reserve(udi, keys) if !keys.is_empty() => {
                let doc = self.reserve_in(tx, account, va, &udi, keys, label).await?;
                said.push("1 authorization code(s), 0 return(s)".to_owned());
                Some(doc.to_xml())
            }
            LicenseRequest::Reserve(..) => None,
        };
        Ok((answer.map(|xml| BASE64.encode(xml.as_bytes())), said.join("; ")))
    }

    pub(crate) async fn existing_poll(
        tx: &mut Tx,
        poll_id: i64,
        va: &VirtualAccount,
        action: &str,
    ) -> Result<Option<PollRecord>> {
        let found = tx.poll(poll_id).await?;
        let owner = found.as_ref().map(|p| (p.va_id, p.action.clone()));
        Self::poll_of_request(poll_id, owner, va, action)?;
        Ok(found)
    }

    /// Whether a poll stored as `owner` (virtual account, action) is this request's: a
    /// replay (`true`), none (`false`), or another request's (an error).
    pub(crate) fn poll_of_request(
        poll_id: i64,
        owner: Option<(i64, String)>,
        va: &VirtualAccount,
        action: &str,
    ) -> Result<bool> {
        match owner {
            Some((va_id, stored)) if va_id == va.id && stored == action => Ok(true),
            Some(_) => Err(AuthorityError::Request {
                field: "data".to_owned(),
                reason: format!(
                    "poll id {poll_id} collides with another request; change the nonce"
                ),
            }),
            None => Ok(false),
        }
    }

    /// The record of a poll result.
    pub(crate) fn poll_record(
        &self,
        poll_id: i64,
        va: &VirtualAccount,
        action: &str,
        result: &StoredPollResult,
    ) -> Result<PollRecord> {
        let result =
            serde_json::to_string(result).map_err(|e| bad("data".to_owned(), e.to_string()))?;
        Ok(PollRecord {
            poll_id,
            va_id: va.id,
            action: action.to_owned(),
            correlation_id: uuid::Uuid::new_v4().to_string(),
            result,
            created_at: self.now().timestamp(),
        })
    }

    pub(crate) async fn store_poll(
        &self,
        tx: &mut Tx,
        poll_id: i64,
        va: &VirtualAccount,
        action: &str,
        result: &StoredPollResult,
    ) -> Result<()> {
        tx.insert_poll(&self.poll_record(poll_id, va, action, result)?).await?;
        Ok(())
    }

    fn accepted(&self, poll_id: i64, action: &str, nonce: Option<&str>) -> PollAccepted {
        PollAccepted {
            status: "OK_POLL".to_owned(),
            poll_id: poll_id.to_string(),
            poll_interval: POLL_INTERVAL_SECS,
            action: action.to_owned(),
            timestamp: self.now().timestamp_millis(),
            nonce: nonce.unwrap_or_default().to_owned(),
        }
    }

    /// `poll`: the stored result of a `reportusage` or `authrequest` of the client's account.
    pub async fn poll(
        &self,
        principal: &Principal,
        poll_id: &str,
        action: Option<&str>,
    ) -> Result<PollComplete> {
        principal.require(Access::Report, "polling")?;
        let id = parse_id(poll_id).ok_or_else(|| {
            bad(
                "data.poll_id".to_owned(),
                format!(
                    "must be a whole number ≥ 0 (the poll_id a reportusage or authrequest answered with), got {:?}",
                    crate::sanity::shortened(poll_id)
                ),
            )
        })?;
        let mut tx = self.store.read().await?;
        let record = tx.poll(id).await?;
        let mut owned = None;
        if let Some(record) = record
            && let Some(va) = tx.va(record.va_id).await?
            && va.account_id == principal.account_id
        {
            owned = Some(record);
        }
        let record = owned.ok_or_else(|| AuthorityError::PollNotFound(poll_id.to_owned()))?;
        if let Some(action) = action.map(str::trim).filter(|a| !a.is_empty())
            && action != record.action
        {
            return Err(bad(
                "data.action".to_owned(),
                format!("poll {poll_id} is for {:?}, not {action:?}", record.action),
            ));
        }
        let unreadable = |reason: String| AuthorityError::Request {
            field: "data.poll_id".to_owned(),
            reason: format!("the stored result is unreadable: {reason}"),
        };
        let stored: StoredPollResult =
            serde_json::from_str(&record.result).map_err(|e| unreadable(e.to_string()))?;
        let acknowledgements = match stored.acknowledgements {
            Some(stored) => {
                let digests: Vec<String> =
                    stored.iter().filter_map(|a| a.ack_upload.clone()).collect();
                let uploads = if digests.is_empty() {
                    Vec::new()
                } else {
                    tx.uploads_by_sha(record.va_id, &digests).await?
                };
                let mut acknowledgements = Vec::with_capacity(stored.len());
                for ack in stored {
                    let smart_license = match (ack.smart_license, ack.ack_upload) {
                        (Some(inline), _) => inline,
                        (None, Some(digest)) => {
                            let upload = uploads.iter().find(|u| u.sha256 == digest);
                            let upload = upload.ok_or_else(|| {
                                unreadable(format!("the upload {digest} holding its ACK is gone"))
                            })?;
                            BASE64.encode(upload.ack.as_bytes())
                        }
                        (None, None) => return Err(unreadable("an ACK is missing".to_owned())),
                    };
                    acknowledgements.push(Acknowledgement {
                        sudi: ack.sudi,
                        software_tag_identifier: ack.software_tag_identifier,
                        smart_license,
                    });
                }
                Some(acknowledgements)
            }
            None => None,
        };
        let data = PollResultData { acknowledgements, authorizations: stored.authorizations };
        Ok(PollComplete {
            status: "COMPLETE".to_owned(),
            kind: record.action,
            correlation_id: record.correlation_id,
            data,
        })
    }

    // ---- accounts -----------------------------------------------------------------------------

    /// `GET /v2/accounts/search`: the client's smart account with its virtual accounts.
    pub async fn search_accounts(&self, principal: &Principal) -> Result<AccountSearch> {
        principal.require(Access::Read, "reading accounts")?;
        let mut tx = self.store.read().await?;
        let account = Self::scoped_account(&mut tx, principal, &principal.account_domain).await?;
        let vas = tx.vas(account.id).await?;
        let default = vas.iter().map(|v| v.id).min();
        Ok(AccountSearch {
            status: "COMPLETE".to_owned(),
            accounts: vec![AccountEntry {
                account_id: account.id,
                domain: account.domain,
                name: account.name,
                virtual_accounts: vas
                    .into_iter()
                    .map(|v| VaEntry {
                        default: Some(v.id) == default,
                        name: v.name,
                        virtual_account_id: v.id,
                    })
                    .collect(),
            }],
        })
    }

    /// `GET /v1/accounts/{domain}/customer/virtual-accounts`.
    pub async fn cisco_virtual_accounts(
        &self,
        principal: &Principal,
        domain: &str,
    ) -> Result<Vec<CiscoVa>> {
        principal.require(Access::Read, "reading virtual accounts")?;
        let mut tx = self.store.read().await?;
        let account = Self::scoped_account(&mut tx, principal, domain).await?;
        let vas = tx.vas(account.id).await?;
        let default = vas.iter().map(|v| v.id).min();
        let mut out = Vec::new();
        for va in vas {
            let (licenses, product_instances) = tx.va_holdings(va.id).await?;
            out.push(CiscoVa {
                is_default: Some(va.id) == default,
                name: va.name,
                virtual_account_id: va.id,
                description: String::new(),
                commerce_access_level: "PUBLIC".to_owned(),
                licenses,
                product_instances,
                first_contact: va.first_contact.as_str().to_owned(),
            });
        }
        Ok(out)
    }

    /// `GET /v1/accounts/{domain}/customer/virtual-accounts`, one page, by name (the oldest
    /// is the default).
    pub async fn cisco_virtual_accounts_page(
        &self,
        principal: &Principal,
        domain: &str,
        page: crate::Page,
    ) -> Result<crate::Paged<CiscoVa>> {
        principal.require(Access::Read, "reading virtual accounts")?;
        let mut tx = self.store.read().await?;
        let account = Self::scoped_account(&mut tx, principal, domain).await?;
        let default = tx.first_va_id(account.id).await?;
        let vas = tx.vas_page(account.id, page).await?;
        let mut items = Vec::with_capacity(vas.items.len());
        for va in vas.items {
            let (licenses, product_instances) = tx.va_holdings(va.id).await?;
            items.push(CiscoVa {
                is_default: Some(va.id) == default,
                name: va.name,
                virtual_account_id: va.id,
                description: String::new(),
                commerce_access_level: "PUBLIC".to_owned(),
                licenses,
                product_instances,
                first_contact: va.first_contact.as_str().to_owned(),
            });
        }
        Ok(crate::Paged { items, total: vas.total })
    }

    /// `POST /v1/accounts/{domain}/customer/virtual-accounts`.
    pub async fn cisco_create_va(
        &self,
        principal: &Principal,
        domain: &str,
        name: &str,
    ) -> Result<CiscoVa> {
        principal.require(Access::Write, "creating virtual accounts")?;
        let account = {
            let mut tx = self.store.read().await?;
            Self::scoped_account(&mut tx, principal, domain).await?
        };
        self.create_va(&account.domain, name).await?;
        self.cisco_virtual_accounts(principal, &account.domain)
            .await?
            .into_iter()
            .find(|v| v.name == name.trim())
            .ok_or_else(|| AuthorityError::VaNotFound {
                account: account.domain.clone(),
                va: name.to_owned(),
            })
    }

    /// The smart account an API path names, within the client's scope.
    pub(crate) async fn scoped_account_of(
        &self,
        principal: &Principal,
        domain: &str,
    ) -> Result<Account> {
        let mut tx = self.store.read().await?;
        Self::scoped_account(&mut tx, principal, domain).await
    }

    /// The smart and virtual account an API path names, within the client's scope.
    pub(crate) async fn scoped_path(
        &self,
        principal: &Principal,
        domain: &str,
        va: &str,
    ) -> Result<(Account, VirtualAccount)> {
        let mut tx = self.store.read().await?;
        let account = Self::scoped_account(&mut tx, principal, domain).await?;
        let va = Self::scoped_va(&mut tx, &account, va).await?;
        Ok((account, va))
    }

    /// `POST /v1/accounts/{domain}/virtual-accounts/{va}/licenses/transfer`: an admin client
    /// moves licenses between virtual accounts of its own smart account.
    pub async fn cisco_transfer_licenses(
        &self,
        principal: &Principal,
        domain: &str,
        va: &str,
        requests: &[crate::TransferSpec],
        preview: bool,
    ) -> Result<Vec<crate::TransferView>> {
        principal.require(Access::Write, "transferring licenses")?;
        let (account, from) = {
            let mut tx = self.store.read().await?;
            let account = Self::scoped_account(&mut tx, principal, domain).await?;
            let from = Self::scoped_va(&mut tx, &account, va).await?;
            (account, from)
        };
        self.transfer_licenses(&account.domain, &from.name, requests, preview).await
    }

    /// The virtual accounts a listing covers: the named ones, or all of the account's.
    async fn selected_vas(
        tx: &mut Tx,
        account: &Account,
        names: &[String],
    ) -> Result<Vec<VirtualAccount>> {
        if names.is_empty() {
            return Ok(tx.vas(account.id).await?);
        }
        let mut out = Vec::new();
        for name in names {
            out.push(Self::scoped_va(tx, account, name).await?);
        }
        Ok(out)
    }

    /// `POST /v1/accounts/{domain}/licenses`: the pools of the named virtual accounts (all when
    /// none is named).
    pub async fn cisco_licenses(
        &self,
        principal: &Principal,
        domain: &str,
        virtual_accounts: &[String],
    ) -> Result<Vec<CiscoLicense>> {
        principal.require(Access::Read, "reading licenses")?;
        let now = self.now().timestamp();
        let (account, vas, entries) = {
            let mut tx = self.store.read().await?;
            let account = Self::scoped_account(&mut tx, principal, domain).await?;
            let vas = Self::selected_vas(&mut tx, &account, virtual_accounts).await?;
            let mut entries = Vec::new();
            for va in &vas {
                entries.push(tx.licenses(va.id).await?);
            }
            (account, vas, entries)
        };
        let mut out = Vec::new();
        for (va, entries) in vas.iter().zip(entries) {
            for row in self.licenses(&account.domain, &va.name).await? {
                let details = entries
                    .iter()
                    .filter(|e| e.entitlement_tag == row.entitlement_tag)
                    .map(|e| CiscoLicenseDetail {
                        quantity: e.quantity,
                        license_type: license_type(&e.term),
                        status: if e.expires_at.is_some_and(|at| at <= now) {
                            "Expired"
                        } else {
                            "Active"
                        }
                        .to_owned(),
                        start_date: date(e.starts_at),
                        end_date: e.expires_at.map(date),
                        subscription_id: None,
                    })
                    .collect();
                out.push(CiscoLicense {
                    license: row.license,
                    entitlement_tag: row.entitlement_tag,
                    virtual_account: va.name.clone(),
                    quantity: row.purchased,
                    in_use: row.in_use,
                    available: row.balance,
                    reserved: row.reserved,
                    pending_quantity: 0,
                    status: if row.in_use > row.purchased {
                        "Out Of Compliance"
                    } else {
                        "In Compliance"
                    }
                    .to_owned(),
                    billing_type: "PREPAID".to_owned(),
                    is_portable: false,
                    license_substitutions: Vec::new(),
                    license_details: details,
                });
            }
        }
        Ok(out)
    }

    /// `GET /v1/accounts/{domain}/virtual-accounts/{va}/devices`: one page, by UDI.
    pub async fn cisco_devices(
        &self,
        principal: &Principal,
        domain: &str,
        virtual_account: &str,
        page: crate::Page,
    ) -> Result<CiscoDevices> {
        principal.require(Access::Read, "reading product instances")?;
        let (account, va) = {
            let mut tx = self.store.read().await?;
            let account = Self::scoped_account(&mut tx, principal, domain).await?;
            let va = Self::scoped_va(&mut tx, &account, virtual_account).await?;
            (account, va)
        };
        let pis = self.product_instances_page(&account.domain, &va.name, page).await?;
        let total_records = pis.total;
        let devices: Vec<CiscoDevice> = pis
            .items
            .into_iter()
            .map(|pi| {
                let (pid, sn) = pi
                    .udi
                    .parse::<slp_core::udi::Udi>()
                    .map(|u| (u.pid, u.sn))
                    .unwrap_or_else(|_| (pi.udi.clone(), String::new()));
                CiscoDevice {
                    instance_name: pi.hostname.clone().unwrap_or_else(|| pi.udi.clone()),
                    host_name: pi.hostname,
                    sudi: CiscoSudi { udi_pid: pid, udi_serial_number: sn },
                    virtual_account: va.name.clone(),
                    registration_date: pi.first_seen,
                    last_contact_date: pi.last_contact,
                    license_usage: pi
                        .usage
                        .into_iter()
                        .filter(|u| u.count > 0)
                        .map(|u| CiscoUsage { license: u.license, quantity: u.count })
                        .collect(),
                }
            })
            .collect();
        Ok(CiscoDevices { total_records, devices })
    }

    /// `POST /v3/licenses/summary`: per entitlement tag (all when `tags` is empty), over the
    /// virtual account of the headers or, without one, the whole smart account.
    pub async fn licenses_summary(
        &self,
        principal: &Principal,
        smart_account: Option<&str>,
        virtual_account: Option<&str>,
        tags: &[String],
    ) -> Result<LicenseSummary> {
        principal.require(Access::Read, "reading the license summary")?;
        let now = self.now().timestamp();
        let (account, vas) = {
            let mut tx = self.store.read().await?;
            let account = Self::scoped_account(
                &mut tx,
                principal,
                smart_account.unwrap_or(&principal.account_domain),
            )
            .await?;
            let names: Vec<String> = virtual_account
                .filter(|v| !v.trim().is_empty())
                .map(|v| vec![v.to_owned()])
                .unwrap_or_default();
            let vas = Self::selected_vas(&mut tx, &account, &names).await?;
            let mut with_entries = Vec::new();
            for va in vas {
                let entries = tx.licenses(va.id).await?;
                with_entries.push((va, entries));
            }
            (account, with_entries)
        };
        let mut by_tag: BTreeMap<String, SummaryEntry> = BTreeMap::new();
        for (va, entries) in &vas {
            for row in self.licenses(&account.domain, &va.name).await? {
                if !tags.is_empty() && !tags.contains(&row.entitlement_tag) {
                    continue;
                }
                let enforcement = Enforcement::parse(&row.enforcement);
                let entry =
                    by_tag.entry(row.entitlement_tag.clone()).or_insert_with(|| SummaryEntry {
                        tag: row.entitlement_tag.clone(),
                        display_name: row.license.clone(),
                        compliance_status: String::new(),
                        enforced: enforcement.is_some_and(|e| e != Enforcement::Unenforced),
                        export_restricted: enforcement == Some(Enforcement::ExportControlled),
                        prepaid_entitled: 0,
                        prepaid_inuse: 0,
                        prepaid_reserved: 0,
                        license_details: Vec::new(),
                    });
                entry.prepaid_entitled = entry.prepaid_entitled.saturating_add(row.purchased);
                entry.prepaid_inuse = entry.prepaid_inuse.saturating_add(row.in_use);
                entry.prepaid_reserved = entry.prepaid_reserved.saturating_add(row.reserved);
                for e in entries.iter().filter(|e| e.entitlement_tag == row.entitlement_tag) {
                    entry.license_details.push(SummaryDetail {
                        billing_type: "PREPAID".to_owned(),
                        license_type: license_type(&e.term),
                        quantity: e.quantity,
                        status: if e.expires_at.is_some_and(|at| at <= now) {
                            "EXPIRED"
                        } else {
                            "ACTIVE"
                        }
                        .to_owned(),
                        start_date: date(e.starts_at),
                        end_date: e.expires_at.map(date),
                        subscription_id: None,
                    });
                }
            }
        }
        let summary = by_tag
            .into_values()
            .map(|mut entry| {
                entry.compliance_status = if entry.prepaid_inuse > entry.prepaid_entitled {
                    "OUT_OF_COMPLIANCE"
                } else {
                    "IN_COMPLIANCE"
                }
                .to_owned();
                entry
            })
            .collect();
        Ok(LicenseSummary { status: "SUCCESS".to_owned(), out_standing_reports: 0, summary })
    }
}
