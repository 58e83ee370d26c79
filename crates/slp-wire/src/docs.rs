//! The JSON carried in each `<data>` element (PROTOCOL.md §2.3, §3.2, §4: slp's decisions
//! where the public record has gaps). Timestamps are RFC 3339 strings; every document names the
//! UDI it is for, so a device can refuse one meant for another.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use slp_core::policy::{Attributes, Policy, PolicyClass, PolicyOrigin};

use crate::rum::Sudi;
use crate::xml::{Kind, Signed};
use crate::{Result, WireError};

/// `<smartLicenseSystemInfo>`: who wrote a usage file or a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemInfo {
    pub sudi: Sudi,
    /// Epoch milliseconds.
    pub timestamp: i64,
    pub nonce: String,
    /// Absent when hostname privacy is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    pub software_tag_identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
    /// The device's public key that signs its reports and requests (base64 Ed25519).
    pub public_key: String,
    #[serde(default)]
    pub device_list: Vec<DeviceEntry>,
}

/// One unit of an HA set in [`SystemInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceEntry {
    pub sudi: Sudi,
    pub role: String,
    pub software_tag_identifier: String,
    /// The system's hostname (absent when hostname privacy is on): tools that turn a saved
    /// SLAC request into an `authrequest` read `device_list[0].hostname`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

/// `<smartLicenseTrustRequest>`: a request for a trust code, signed by the device key it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustRequest {
    pub sudi: Sudi,
    pub public_key: String,
    pub nonce: String,
    pub timestamp: String,
}

/// `<smartLicenseTrustCode>`: the authority binds a UDI to a device key and an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustCode {
    pub trust_id: u64,
    pub sudi: Sudi,
    pub public_key: String,
    pub smart_account: String,
    pub virtual_account: String,
    pub issued_at: String,
    pub authority_key: String,
}

/// `<smartLicenseRumAck>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RumAck {
    pub ack_id: String,
    pub issued_at: String,
    /// The product instance the ACK is for (the active of an HA set).
    pub sudi: Sudi,
    pub smart_account: String,
    pub virtual_account: String,
    pub reports: Vec<AckedReport>,
    pub authority_key: String,
}

/// The fate of one report named in an ACK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckedReport {
    pub report_id: u64,
    pub sudi: Sudi,
    /// `ACCEPTED`, `DUPLICATE` or `REJECTED`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `<smartLicensePolicy>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDoc {
    pub name: String,
    pub issued_at: String,
    pub smart_account: String,
    pub virtual_account: String,
    pub ack_required: bool,
    pub classes: BTreeMap<String, ClassAttributes>,
    pub authority_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassAttributes {
    pub first: u32,
    pub ongoing: u32,
    pub on_change: u32,
}

impl PolicyDoc {
    pub fn from_policy(
        policy: &Policy,
        issued_at: String,
        sa: &str,
        va: &str,
        authority_key: String,
    ) -> PolicyDoc {
        let classes = PolicyClass::ALL
            .into_iter()
            .map(|class| {
                let a = policy.attributes(class);
                (
                    class.key().to_owned(),
                    ClassAttributes { first: a.first, ongoing: a.ongoing, on_change: a.on_change },
                )
            })
            .collect();
        PolicyDoc {
            name: policy.name.clone(),
            issued_at,
            smart_account: sa.to_owned(),
            virtual_account: va.to_owned(),
            ack_required: policy.ack_required,
            classes,
            authority_key,
        }
    }

    /// The policy, checked: all four classes present, no unknown class.
    pub fn to_policy(&self) -> Result<Policy> {
        let bad =
            |reason: String| WireError::Json { what: "smartLicensePolicy".to_owned(), reason };
        let mut policy = Policy::cisco_default();
        policy.name = self.name.clone();
        policy.origin = PolicyOrigin::Customer;
        policy.ack_required = self.ack_required;
        for key in self.classes.keys() {
            if PolicyClass::from_key(key).is_none() {
                return Err(bad(format!("unknown policy class {key:?}")));
            }
        }
        for class in PolicyClass::ALL {
            let a = self
                .classes
                .get(class.key())
                .ok_or_else(|| bad(format!("policy class {:?} is missing", class.key())))?;
            policy.set_attributes(
                class,
                Attributes { first: a.first, ongoing: a.ongoing, on_change: a.on_change },
            );
        }
        Ok(policy)
    }
}

/// One entitlement asked for or granted. `count` is read as a number or a string
/// (`"count": "1"`, as Cisco's API takes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Key {
    pub entitlement: String,
    /// A number, or a string as Cisco's clients send it in `authrequest` (`"count": "1"`).
    #[serde(deserialize_with = "crate::tolerant::u64_or_text")]
    #[schemars(with = "crate::tolerant::schema::CountOrText")]
    pub count: u64,
}

/// One item of `<smartLicenseAuthRequest>` (Cisco's layout: a JSON array of these, one per unit
/// of an HA system), signed by the active. Every member of a real device's file is written,
/// `null` where the device has nothing to say, because tools read them by name (PROTOCOL.md
/// §4.3): `sudi`, `hostname`, `software_tag_identifier`, `keys`, `trust_request`,
/// `confirm_code` (the confirmation code of the code the unit holds) and `remove_code` (the
/// return code of the code it gave back last).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequestItem {
    pub sudi: Sudi,
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub software_tag_identifier: Option<String>,
    #[serde(default, deserialize_with = "crate::tolerant::null_as_default")]
    pub keys: Vec<Key>,
    /// Whatever the device puts there (slp writes `null`: trust requests travel as
    /// `<smartLicenseTrustRequest>`).
    #[serde(default)]
    pub trust_request: serde_json::Value,
    /// `true` for `request replace`.
    #[serde(default)]
    pub replace: bool,
    #[serde(default)]
    pub confirm_code: Option<String>,
    #[serde(default)]
    pub remove_code: Option<String>,
}

impl AuthRequestItem {
    /// A request of `keys` for `sudi`, every other member empty.
    pub fn new(sudi: Sudi, keys: Vec<Key>) -> AuthRequestItem {
        AuthRequestItem {
            sudi,
            hostname: None,
            software_tag_identifier: None,
            keys,
            trust_request: serde_json::Value::Null,
            replace: false,
            confirm_code: None,
            remove_code: None,
        }
    }
}

/// `<smartLicenseAuthorization>`: a SLAC for one UDI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    pub code_id: String,
    pub sudi: Sudi,
    pub issued_at: String,
    pub smart_account: String,
    pub virtual_account: String,
    pub entitlements: Vec<Granted>,
    pub authority_key: String,
    /// The code the device prints when it gives this code back (`license smart authorization
    /// return …`): the authority recognizes it as the `remove_code` of an `authrequest`.
    /// Absent in codes issued before it existed (the device then makes one up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Granted {
    pub entitlement: String,
    pub feature: String,
    pub count: u64,
    /// `perpetual` or `subscription`.
    pub license_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
}

/// `<smartLicenseAuthReturn>`: the device gives a SLAC back; signed by the active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthReturn {
    pub sudi: Sudi,
    pub code_id: String,
    pub return_code: String,
    pub timestamp: String,
}

/// Signs a JSON document as an element of `kind`.
pub fn sign_json<T: Serialize>(kind: Kind, value: &T, key: &crate::keys::KeyPair) -> Signed {
    Signed::sign(kind, serde_json::to_string(value).unwrap_or_default(), key)
}

/// Verifies an element signed by the authority whose key the document itself names, and
/// returns that key: the caller checks it against the key it trusts (pinned on first install).
pub fn verify_authority_signed(item: &Signed, authority_key: &str, what: &str) -> Result<()> {
    item.verify(authority_key, what)
}
