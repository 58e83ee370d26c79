//! Accounts, virtual accounts, licenses, product instances, ID tokens and transfers
//! (PROTOCOL.md §7.2), with slp's additions in the same style (move requests, events, alerts,
//! reporting policies, usage data files).
//!
//! Member names are Cisco's: camelCase for the classic v1 endpoints, snake_case for
//! `GET /v2/accounts/search` and `POST /v3/licenses/summary`. Requests read tolerantly
//! ([`super::tolerant`]); every reply type reads back what the authority writes, so the remote
//! CLI and other clients use the same types.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::limits;
use super::tolerant::{bool_or_text, i64_or_text, null_as_default, opt_u64_or_text, u64_or_text};

/// `status` of a successful management reply.
pub const SUCCESS: &str = "SUCCESS";
/// `accountStatus` / `status` of an account that can be used.
pub const ACTIVE: &str = "ACTIVE";
/// `accountType` of a customer smart account.
pub const CUSTOMER: &str = "CUSTOMER";
/// The one `precedence` of a license transfer.
pub const LONGEST_TERM_FIRST: &str = "LONGEST_TERM_FIRST";
/// `status` of a move request waiting for a decision, and the move request list's one filter.
pub const PENDING: &str = "PENDING";

/// Cisco's role names in `GET /v2/accounts` (`roles[].role`).
pub mod role {
    /// Full access to a smart account and all its virtual accounts.
    pub const SMART_ACCOUNT_ADMINISTRATOR: &str = "Smart Account Administrator";
    /// Read access to a smart account and all its virtual accounts.
    pub const SMART_ACCOUNT_USER: &str = "Smart Account User";
    /// Full access to one virtual account.
    pub const VIRTUAL_ACCOUNT_ADMINISTRATOR: &str = "Virtual Account Administrator";
    /// Read access to one virtual account.
    pub const VIRTUAL_ACCOUNT_USER: &str = "Virtual Account User";
}

fn yes() -> bool {
    true
}

/// Writes a flag as Cisco's `isDefault` does: the string `"true"` or `"false"`.
fn bool_as_text<S: Serializer>(value: &bool, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(if *value { "true" } else { "false" })
}

/// A list of strings where a client may send `null` or a single string.
fn strings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize, schemars::JsonSchema)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::One(one)) => vec![one],
        Some(OneOrMany::Many(many)) => many,
    })
}

// ---- accounts ---------------------------------------------------------------------------------

/// `GET /v2/accounts`: the smart accounts the caller may see, with its roles in each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Accounts {
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<Account>>")]
    pub accounts: Vec<Account>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub account_name: String,
    pub account_domain: String,
    /// `ACTIVE`.
    pub account_status: String,
    /// `CUSTOMER`.
    pub account_type: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<AccountRole>>")]
    pub roles: Vec<AccountRole>,
}

/// One role of the caller: account-wide (no `virtualAccount`) or in one virtual account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountRole {
    /// One of [`role`].
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_account: Option<String>,
}

/// `GET /v1/accounts/search?domain=D`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DomainSearch {
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<DomainAccount>>")]
    pub accounts: Vec<DomainAccount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DomainAccount {
    pub domain: String,
    pub name: String,
    /// `ACTIVE`.
    pub status: String,
    /// `CUSTOMER`.
    pub account_type: String,
    /// The numeric id (what `X-CSW-SMART-ACCOUNT-ID` takes).
    #[serde(deserialize_with = "i64_or_text")]
    #[schemars(with = "crate::cssm::tolerant::schema::IntOrText")]
    pub account_id: i64,
}

/// The query of `GET /v1/accounts/search`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DomainQuery {
    #[serde(default)]
    pub domain: Option<String>,
}

/// `GET /v2/accounts/search`: the client's smart account with its virtual accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountSearch {
    /// `COMPLETE`.
    pub status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<AccountEntry>>")]
    pub accounts: Vec<AccountEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountEntry {
    #[serde(deserialize_with = "i64_or_text")]
    #[schemars(with = "crate::cssm::tolerant::schema::IntOrText")]
    pub account_id: i64,
    pub domain: String,
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<VaEntry>>")]
    pub virtual_accounts: Vec<VaEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VaEntry {
    pub name: String,
    #[serde(deserialize_with = "i64_or_text")]
    #[schemars(with = "crate::cssm::tolerant::schema::IntOrText")]
    pub virtual_account_id: i64,
    /// The first virtual account created in the smart account.
    #[serde(default, deserialize_with = "bool_or_text")]
    #[schemars(
        with = "crate::cssm::tolerant::schema::NullOr<crate::cssm::tolerant::schema::BoolOrText>"
    )]
    pub default: bool,
}

// ---- virtual accounts -------------------------------------------------------------------------

/// `GET /v1/accounts/{domain}/customer/virtual-accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VirtualAccounts {
    pub status: String,
    /// How many virtual accounts the smart account has (the page holds `virtualAccounts`).
    #[serde(deserialize_with = "i64_or_text")]
    #[schemars(with = "crate::cssm::tolerant::schema::IntOrText")]
    pub total_records: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<VirtualAccount>>")]
    pub virtual_accounts: Vec<VirtualAccount>,
}

/// One virtual account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VirtualAccount {
    pub name: String,
    #[serde(deserialize_with = "i64_or_text")]
    #[schemars(with = "crate::cssm::tolerant::schema::IntOrText")]
    pub virtual_account_id: i64,
    /// Written as Cisco does, the string `"true"` or `"false"` (scripts filter on
    /// `isDefault=='true'`).
    #[serde(serialize_with = "bool_as_text", deserialize_with = "bool_or_text", default)]
    #[schemars(with = "crate::cssm::tolerant::schema::FlagText")]
    pub is_default: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub description: String,
    /// `PUBLIC`.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub commerce_access_level: String,
    /// slp: how many licenses the virtual account holds.
    #[serde(default, deserialize_with = "i64_or_text")]
    #[schemars(with = "crate::cssm::tolerant::schema::IntOrText")]
    pub licenses: i64,
    /// slp: how many product instances it has.
    #[serde(default, deserialize_with = "i64_or_text")]
    #[schemars(with = "crate::cssm::tolerant::schema::IntOrText")]
    pub product_instances: i64,
    /// slp: `allow` or `deny`, whether a UDI never seen before binds on first contact.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub first_contact: String,
}

/// `POST /v1/accounts/{domain}/customer/virtual-accounts`
/// `{"name", "description", "isDefault": "false", "commerceAccessLevel": "PUBLIC"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewVirtualAccount {
    #[schemars(with = "crate::cssm::tolerant::schema::Name<{ limits::MAX_NAME_CHARS }>")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(
        with = "crate::cssm::tolerant::schema::NullOr<crate::cssm::tolerant::schema::Text<{ limits::MAX_VA_DESCRIPTION_CHARS }>>"
    )]
    pub description: String,
    /// Accepted as Cisco's clients send it; slp's default is the first virtual account.
    #[serde(default, deserialize_with = "bool_or_text", skip_serializing)]
    #[schemars(
        with = "crate::cssm::tolerant::schema::NullOr<crate::cssm::tolerant::schema::BoolOrText>"
    )]
    pub is_default: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commerce_access_level: Option<String>,
}

/// The reply to a virtual account's creation (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedVirtualAccount {
    pub status: String,
    pub virtual_account: VirtualAccount,
}

/// `POST …/virtual-accounts/{va}/rename` `{"name": …}` (slp's addition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Rename {
    #[schemars(with = "crate::cssm::tolerant::schema::Name<{ limits::MAX_NAME_CHARS }>")]
    pub name: String,
}

/// The reply to a change without rows of its own (delete, rename).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Done {
    pub status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub message: String,
}

// ---- licenses ---------------------------------------------------------------------------------

/// `POST /v1/accounts/{domain}/licenses` `{"virtualAccounts": [names], "limit", "offset"}`
/// (no virtual account: all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseQuery {
    #[serde(default, deserialize_with = "strings")]
    #[schemars(with = "crate::cssm::tolerant::schema::StringOrList")]
    pub virtual_accounts: Vec<String>,
    #[serde(
        default,
        deserialize_with = "opt_u64_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(
        with = "Option<crate::cssm::tolerant::schema::Count<1, { limits::MAX_PAGE_SIZE }>>"
    )]
    pub limit: Option<u64>,
    #[serde(
        default,
        deserialize_with = "opt_u64_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::cssm::tolerant::schema::Count<0, { limits::MAX_OFFSET }>>")]
    pub offset: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Licenses {
    pub status: String,
    #[serde(deserialize_with = "i64_or_text")]
    #[schemars(with = "crate::cssm::tolerant::schema::IntOrText")]
    pub total_records: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<License>>")]
    pub licenses: Vec<License>,
}

/// One license of one virtual account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct License {
    /// The license's name in slp (`network-advantage`): what transfers and move requests take.
    pub license: String,
    /// The name Cisco shows, e.g. `C9300-24 Network Advantage`.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub display_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub entitlement_tag: String,
    pub virtual_account: String,
    pub quantity: i64,
    pub in_use: i64,
    pub available: i64,
    pub reserved: i64,
    #[serde(default)]
    pub pending_quantity: i64,
    /// `In Compliance` or `Out Of Compliance`.
    pub status: String,
    /// `PREPAID`.
    pub billing_type: String,
    #[serde(default)]
    pub is_portable: bool,
    /// Whether the license is for AHA (application hosting) apps.
    #[serde(default)]
    pub aha_apps: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<String>>")]
    pub license_substitutions: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<LicenseDetail>>")]
    pub license_details: Vec<LicenseDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseDetail {
    pub quantity: i64,
    /// `PERPETUAL` or `TERM`.
    pub license_type: String,
    /// `ACTIVE` or `EXPIRED`.
    pub status: String,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub subscription_id: Option<String>,
}

/// `POST …/virtual-accounts/{va}/licenses/transfer`
/// `{"licenses": [{"license", "licenseType", "quantity", "targetVirtualAccount", "precedence"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = licenses_required)]
pub struct LicenseTransfer {
    /// At least one (`null` or none is refused).
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(length(min = 1))]
    pub licenses: Vec<LicenseTransferItem>,
    /// slp's addition: compute the moves, change nothing.
    #[serde(default, deserialize_with = "bool_or_text")]
    #[schemars(
        with = "crate::cssm::tolerant::schema::NullOr<crate::cssm::tolerant::schema::BoolOrText>"
    )]
    pub preview: bool,
}

fn licenses_required(schema: &mut schemars::Schema) {
    super::tolerant::schema::require(schema, &["licenses"]);
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseTransferItem {
    pub license: String,
    /// `PERPETUAL` or `TERM`; accepted, the entries' own type decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_type: Option<String>,
    #[serde(deserialize_with = "u64_or_text")]
    #[schemars(with = "crate::cssm::tolerant::schema::Count<1, { limits::MAX_QUANTITY }>")]
    pub quantity: u64,
    pub target_virtual_account: String,
    /// Only `LONGEST_TERM_FIRST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = [LONGEST_TERM_FIRST, null]))]
    pub precedence: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseTransferReply {
    /// `SUCCESS` (a refusal is an error reply).
    pub status: String,
    #[serde(default)]
    pub preview: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<LicenseTransferResult>>")]
    pub licenses: Vec<LicenseTransferResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseTransferResult {
    pub license: String,
    pub quantity: i64,
    pub target_virtual_account: String,
    pub status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<LicenseMove>>")]
    pub moves: Vec<LicenseMove>,
}

/// One license entry (or part of one) a transfer moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseMove {
    pub sku: String,
    pub quantity: i64,
    pub license_type: String,
    #[serde(default)]
    pub end_date: Option<String>,
}

// ---- v3 summary -------------------------------------------------------------------------------

/// `POST /v3/licenses/summary` `{"tags": […]}` or `{"data": {"tags": […]}}` (empty: all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SummaryQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<SummaryData>,
    #[serde(default, deserialize_with = "strings")]
    #[schemars(with = "crate::cssm::tolerant::schema::StringOrList")]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SummaryData {
    #[serde(default, deserialize_with = "strings")]
    #[schemars(with = "crate::cssm::tolerant::schema::StringOrList")]
    pub tags: Vec<String>,
}

impl SummaryQuery {
    /// The tags asked for, in either place.
    pub fn tags(&self) -> Vec<String> {
        let mut tags = self.tags.clone();
        if let Some(data) = &self.data {
            tags.extend(data.tags.iter().cloned());
        }
        tags
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LicenseSummary {
    pub status: String,
    #[serde(default)]
    pub out_standing_reports: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<SummaryEntry>>")]
    pub summary: Vec<SummaryEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SummaryEntry {
    pub tag: String,
    /// The name Cisco shows, e.g. `C9300-24 Network Advantage`.
    pub display_name: String,
    /// `IN_COMPLIANCE` or `OUT_OF_COMPLIANCE`.
    pub compliance_status: String,
    pub enforced: bool,
    pub export_restricted: bool,
    pub prepaid_entitled: i64,
    pub prepaid_inuse: i64,
    pub prepaid_reserved: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<SummaryDetail>>")]
    pub license_details: Vec<SummaryDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SummaryDetail {
    pub billing_type: String,
    pub license_type: String,
    pub quantity: i64,
    /// `ACTIVE` or `EXPIRED`.
    pub status: String,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub subscription_id: Option<String>,
}

// ---- product instances ------------------------------------------------------------------------

/// `GET /v1/accounts/{domain}/virtual-accounts/{va}/devices`, with the members of Cisco's
/// "Get Devices" answer (`POST /v1/accounts/{domain}/devices` in the gve-sw Postman sample):
/// `status`, `statusMessage`, `totalRecords`, `devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Devices {
    /// `SUCCESS`.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub status: String,
    /// Empty on success, as Cisco's.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub status_message: String,
    /// How many product instances the virtual account has (the page holds `devices`).
    #[serde(deserialize_with = "i64_or_text")]
    #[schemars(with = "crate::cssm::tolerant::schema::IntOrText")]
    pub total_records: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<Device>>")]
    pub devices: Vec<Device>,
}

/// One product instance, member for member as Cisco's "Get Devices" answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// The hostname, else Cisco's `UDI_PID:<pid>; UDI_SN:<sn>; `.
    pub instance_name: String,
    /// As `instanceName`.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub display_name: String,
    #[serde(default)]
    pub host_name: Option<String>,
    pub sudi: DeviceSudi,
    /// The software tag (`regid.…`) of the product, as its RUM reports name it (`asset.name`);
    /// empty when none named one.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub product_tag_name: String,
    /// Cisco's product catalog names; slp has no catalog of products, so these are empty, as
    /// Cisco's are for a product it does not know.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub product_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub product_description: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub product_type: String,
    pub virtual_account: String,
    /// `In Compliance`, or `Out Of Compliance` when it uses a license its virtual account has
    /// fewer of than are in use.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub status: String,
    pub registration_date: String,
    pub last_contact_date: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<LicenseUsage>>")]
    pub license_usage: Vec<LicenseUsage>,
}

/// A product instance's identity as the management API writes it. Clients send the members
/// they have (`udiVid`, `uuid`, `suvi`, `hostIdentifier`, `macAddress`, often `null`); the
/// UDI is PID and serial number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSudi {
    /// The device-side spelling `udi_pid` is taken too.
    #[serde(alias = "udi_pid")]
    pub udi_pid: String,
    #[serde(alias = "udi_serial_number")]
    pub udi_serial_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udi_vid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suvi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
}

impl DeviceSudi {
    /// The identity of `PID:…,SN:…` parts.
    pub fn of(pid: &str, sn: &str) -> DeviceSudi {
        DeviceSudi {
            udi_pid: pid.to_owned(),
            udi_serial_number: sn.to_owned(),
            ..DeviceSudi::default()
        }
    }

    /// `PID:…,SN:…`.
    pub fn udi(&self) -> String {
        format!("PID:{},SN:{}", self.udi_pid.trim(), self.udi_serial_number.trim())
    }
}

/// One license a product instance uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseUsage {
    pub license: String,
    /// The name the device shows, e.g. `C9300-24 Network Advantage`.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub display_name: String,
    pub quantity: i64,
}

/// `{"productInstances": [...]}` of `…/devices/transfer` and `…/devices/remove`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductInstances<T> {
    #[serde(default = "Vec::<T>::new", deserialize_with = "null_as_default")]
    #[serde(bound(deserialize = "T: Deserialize<'de>"))]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<T>>")]
    pub product_instances: Vec<T>,
}

/// One product instance of `…/devices/transfer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceTransfer {
    pub sudi: DeviceSudi,
    /// Sent by Cisco's clients; the UDI names the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_tag_name: Option<String>,
    pub target_virtual_account: String,
}

/// One product instance of `…/devices/remove` (slp's addition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRemoval {
    pub sudi: DeviceSudi,
    /// The device's return code file (`license smart authorization return`), where it holds
    /// an authorization code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_code: Option<String>,
}

/// The reply to a transfer or removal of product instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DevicesChanged {
    pub status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<DeviceChanged>>")]
    pub product_instances: Vec<DeviceChanged>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceChanged {
    pub sudi: DeviceSudi,
    pub status: String,
    /// Where it went; none when removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_virtual_account: Option<String>,
    /// Authorization codes that moved with it (or were returned).
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<String>>")]
    pub authorization_codes: Vec<String>,
}

// ---- ID tokens --------------------------------------------------------------------------------

/// `GET …/virtual-accounts/{va}/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    pub status: String,
    /// How many ID tokens the virtual account has (the page holds `tokens`).
    #[serde(deserialize_with = "i64_or_text")]
    #[schemars(with = "crate::cssm::tolerant::schema::IntOrText")]
    pub total_records: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<TokenInfo>>")]
    pub tokens: Vec<TokenInfo>,
}

/// One ID token, as Cisco's list shows it (`token`, `expirationDate`, `exportControlled`,
/// `description`, `createdBy`, `status`) with slp's `id`, `maxUses`, `uses`, `usesRemaining`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub id: i64,
    /// The token, to give a device (`license smart trust idtoken …`). `null` for a token
    /// created before slp kept token text (it kept a digest only) or while the authority had
    /// no token key: revoke it and create another to have one to show.
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub description: String,
    pub creation_date: String,
    /// Who created it (`cli:alice`, `api:ops (…)`); `null` when not known.
    #[serde(default)]
    pub created_by: Option<String>,
    pub expiration_date: String,
    /// `Allowed` or `Not Allowed`, as given at creation (slp records it; its tokens restrict no
    /// feature).
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<String>")]
    pub export_controlled: String,
    #[serde(default)]
    pub max_uses: Option<i64>,
    #[serde(default)]
    pub uses: i64,
    /// Uses left before the token is used up (none: unlimited).
    #[serde(default)]
    pub uses_remaining: Option<i64>,
    /// `Active`, `Expired`, `Used up` or `Revoked`.
    pub status: String,
}

/// `POST …/virtual-accounts/{va}/tokens`
/// `{"description", "expiresAfterDays", "exportControlled"}` (+ slp's `maxUses`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewToken {
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(
        with = "crate::cssm::tolerant::schema::NullOr<crate::cssm::tolerant::schema::Text<{ limits::MAX_TOKEN_DESCRIPTION_CHARS }>>"
    )]
    pub description: String,
    #[serde(default = "thirty", deserialize_with = "u64_or_text")]
    #[schemars(with = "crate::cssm::tolerant::schema::Count<1, { limits::MAX_TOKEN_DAYS }>")]
    pub expires_after_days: u64,
    #[serde(
        default,
        deserialize_with = "opt_u64_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(
        with = "Option<crate::cssm::tolerant::schema::Count<1, { limits::MAX_TOKEN_USES }>>"
    )]
    pub max_uses: Option<u64>,
    /// `Allowed` or `Not Allowed` (any case; `Allowed` when absent): recorded and shown in
    /// lists; slp tokens do not restrict export-controlled features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Allowed", "Not Allowed", null]))]
    pub export_controlled: Option<String>,
}

fn thirty() -> u64 {
    30
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    pub status: String,
    pub token_info: TokenInfo,
}

/// `POST …/tokens/revoke` `{"tokens": ["<token>", …]}` (Cisco's) and/or `{"ids": [id, …]}`
/// (slp's: the text is shown only once).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(transform = one_token_at_least)]
pub struct TokenRevocation {
    #[serde(default, deserialize_with = "strings", skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "crate::cssm::tolerant::schema::StringOrList")]
    pub tokens: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<i64>>")]
    pub ids: Vec<i64>,
}

/// A revocation names a token at least: `tokens` (one, or a list of one or more) or `ids`.
fn one_token_at_least(schema: &mut schemars::Schema) {
    schema.insert(
        "anyOf".to_owned(),
        serde_json::json!([
            {"required": ["tokens"], "properties": {"tokens": {"anyOf": [
                {"type": "string"},
                {"type": "array", "minItems": 1},
            ]}}},
            {"required": ["ids"], "properties": {"ids": {"type": "array", "minItems": 1}}},
        ]),
    );
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokensRevoked {
    pub status: String,
    /// The ids of the tokens revoked.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<i64>>")]
    pub revoked: Vec<i64>,
}

// ---- license moves between smart accounts (slp) -----------------------------------------------

/// `POST …/virtual-accounts/{va}/licenses/move-requests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewMoveRequest {
    pub target_smart_account: String,
    pub target_virtual_account: String,
    pub license: String,
    #[schemars(range(min = 1))]
    pub quantity: i64,
    /// Why the licenses move (the operator decides on it).
    #[schemars(with = "crate::cssm::tolerant::schema::Name<{ limits::MAX_NOTE_CHARS }>")]
    pub reason: String,
}

/// A license move request. Serialised in camelCase, the same in `--json` output and in the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MoveRequest {
    pub id: i64,
    pub account: String,
    pub virtual_account: String,
    pub target_account: String,
    pub target_virtual_account: String,
    pub license: String,
    pub entitlement_tag: String,
    pub quantity: i64,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: String,
    /// `PENDING`, `APPROVED` or `REJECTED`.
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OneMoveRequest {
    pub status: String,
    pub move_request: MoveRequest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MoveRequests {
    pub status: String,
    /// How many move requests the smart account has (the page holds `moveRequests`).
    pub total_records: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<MoveRequest>>")]
    pub move_requests: Vec<MoveRequest>,
}

/// `?status=PENDING`: only the requests still waiting for a decision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MoveFilter {
    /// `PENDING` (in any case), or blank for every request.
    #[serde(default)]
    #[schemars(regex(pattern = pending_or_blank()))]
    pub status: Option<String>,
}

fn pending_or_blank() -> String {
    super::tolerant::schema::choice_or_blank(&[PENDING], true)
}

// ---- events and alerts (slp) ------------------------------------------------------------------

/// `?virtualAccount=VA&udi=UDI` of the event and alert lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListFilter {
    #[serde(default)]
    pub virtual_account: Option<String>,
    #[serde(default)]
    pub udi: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Events {
    pub status: String,
    /// How many events match (the page holds `events`).
    pub total_records: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<Event>>")]
    pub events: Vec<Event>,
}

/// One line of the activity log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub event_time: String,
    pub virtual_account: Option<String>,
    pub udi: Option<String>,
    /// Who made the change: `cli:USER`, `api:CLIENT (ID)`, `device` or `system`.
    pub user: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Alerts {
    pub status: String,
    /// How many alerts there are (the page holds `alerts`).
    pub total_records: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<Alert>>")]
    pub alerts: Vec<Alert>,
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `Major` (insufficient, expired, past ACK deadline) or `Minor` (expiring).
    pub severity: String,
    /// `INSUFFICIENT_LICENSES`, `LICENSES_EXPIRING_30`, `…_60`, `…_90`, `LICENSES_EXPIRED`,
    /// `ACK_DEADLINE_PASSED`.
    pub kind: String,
    pub virtual_account: String,
    pub license: Option<String>,
    pub udi: Option<String>,
    /// The date the alert is about: expiry, or the ACK deadline.
    pub due: Option<String>,
    pub message: String,
}

// ---- reporting policies (slp) -----------------------------------------------------------------

/// One class of a reporting policy, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyClass {
    #[schemars(range(max = limits::MAX_POLICY_DAYS))]
    pub first: u32,
    #[schemars(range(max = limits::MAX_POLICY_DAYS))]
    pub ongoing: u32,
    #[schemars(range(max = limits::MAX_POLICY_DAYS))]
    pub on_change: u32,
}

/// `PUT …/reporting-policy`: classes left out keep the Cisco default values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyBody {
    #[schemars(with = "crate::cssm::tolerant::schema::Name<{ limits::MAX_NAME_CHARS }>")]
    pub name: String,
    #[serde(default = "yes")]
    pub ack_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unenforced_perpetual: Option<PolicyClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unenforced_subscription: Option<PolicyClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforced: Option<PolicyClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<PolicyClass>,
}

/// The policy in force for a virtual account (or a smart account's own policy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// The smart account's domain.
    pub smart_account: String,
    /// The virtual account asked about; none for a smart account's own policy.
    pub virtual_account: Option<String>,
    pub name: String,
    /// `Customer Policy` or `CISCO default`.
    pub origin: String,
    /// Where the policy in force is set: `virtual account`, `smart account` or `default`.
    pub set_for: String,
    pub ack_required: bool,
    pub unenforced_perpetual: PolicyClass,
    pub unenforced_subscription: PolicyClass,
    pub enforced: PolicyClass,
    pub export: PolicyClass,
    pub updated_at: Option<String>,
}

// ---- usage data files (slp) -------------------------------------------------------------------

/// `?name=FILE` of an upload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UploadQuery {
    #[serde(default)]
    pub name: Option<String>,
}

/// What the upload of one file did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileResult {
    pub file_name: String,
    pub replayed: bool,
    pub product_instances: u64,
    pub accepted: u64,
    pub duplicate: u64,
    pub trust_codes: u64,
    pub authorizations: u64,
    pub returns: u64,
}

/// The reply to an upload: what each file did and the ACK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Uploaded {
    pub status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<FileResult>>")]
    pub files: Vec<FileResult>,
    /// The ACK document (a single file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<String>,
    /// Base64 of the ACK bundle (a relay's bundle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_bundle: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageFiles {
    pub status: String,
    /// How many usage files the virtual account has (the page holds `usageFiles`).
    pub total_records: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "crate::cssm::tolerant::schema::NullOr<Vec<UsageFile>>")]
    pub usage_files: Vec<UsageFile>,
}

/// One processed usage file ("Usage Data Files"); its members are snake_case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UsageFile {
    pub file_name: String,
    pub uploaded_at: String,
    pub status: String,
    pub product_instances: i64,
    pub reports: i64,
    pub sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_default_is_written_as_the_string_cisco_sends() {
        let va = VirtualAccount {
            name: "Lab".into(),
            virtual_account_id: 1,
            is_default: true,
            description: String::new(),
            commerce_access_level: "PUBLIC".into(),
            licenses: 0,
            product_instances: 0,
            first_contact: "allow".into(),
        };
        let json = serde_json::to_value(&va).unwrap_or_default();
        assert_eq!(json["isDefault"], "true");
        let back: Option<VirtualAccount> = serde_json::from_value(json).ok();
        assert_eq!(back, Some(va));
    }

    #[test]
    fn a_create_body_reads_as_scripts_send_it() {
        let body: Option<NewVirtualAccount> = serde_json::from_str(
            r#"{"name": "Branch", "description": "branch office", "isDefault": "false",
                "commerceAccessLevel": "PUBLIC"}"#,
        )
        .ok();
        assert_eq!(
            body.map(|b| (b.name, b.description)),
            Some(("Branch".into(), "branch office".into()))
        );
    }

    #[test]
    fn a_device_transfer_reads_with_cisco_nulls() {
        let body: Option<ProductInstances<DeviceTransfer>> = serde_json::from_str(
            r#"{"productInstances": [{"sudi": {"suvi": null, "uuid": "", "hostIdentifier": null,
                "udiPid": "UCM", "udiSerialNumber": "X1", "udiVid": null, "macAddress": null},
                "productTagName": "", "targetVirtualAccount": "Lab"}]}"#,
        )
        .ok();
        let udis: Option<Vec<String>> =
            body.map(|b| b.product_instances.iter().map(|p| p.sudi.udi()).collect());
        assert_eq!(udis, Some(vec!["PID:UCM,SN:X1".to_owned()]));
    }

    #[test]
    fn license_queries_take_counts_as_strings_and_null_lists() {
        let query: Option<LicenseQuery> =
            serde_json::from_str(r#"{"virtualAccounts": null, "limit": "50", "offset": 0}"#).ok();
        assert_eq!(
            query,
            Some(LicenseQuery { virtual_accounts: vec![], limit: Some(50), offset: Some(0) })
        );
    }
}
