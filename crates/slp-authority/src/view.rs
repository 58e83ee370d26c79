//! What the authority shows: plain rows for tables, JSON and (later) the HTTP API. Member names
//! are stable; times are RFC 3339 strings, dates `YYYY-MM-DD`.

use serde::Serialize;

/// A smart account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountView {
    pub name: String,
    pub domain: String,
    pub created_at: String,
    pub virtual_accounts: usize,
}

/// A virtual account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VaView {
    pub smart_account: String,
    pub name: String,
    pub created_at: String,
    pub licenses: i64,
    pub product_instances: i64,
    /// `allow` or `deny`: whether a UDI never seen before binds on first contact (trust on
    /// first use) or only with an ID token of the virtual account or an operator's grant.
    pub first_contact: String,
    /// Free text given at creation (empty when none).
    pub description: String,
}

/// One license of a pool, all entries of one entitlement together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenseView {
    /// Feature name, e.g. `network-advantage`.
    pub license: String,
    pub entitlement_tag: String,
    /// SKUs of the entries, comma separated; empty when used but never purchased.
    pub sku: String,
    /// `Perpetual` or `Subscription`.
    pub license_type: String,
    /// `unenforced`, `enforced` or `export-controlled`.
    pub enforcement: String,
    pub purchased: i64,
    pub in_use: i64,
    /// Purchased − in use; negative when over-used.
    pub balance: i64,
    /// Held by authorization codes not returned.
    pub reserved: i64,
    /// Earliest expiry of the entries still valid (subscriptions).
    pub expires: Option<String>,
    /// `Insufficient Licenses`, `Expiring` (within 90 days) or none.
    pub alert: Option<String>,
}

/// The usage of one entitlement by one product instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageView {
    pub license: String,
    pub entitlement_tag: String,
    /// In use now: the latest report's count, or 0 when the license's report chain ended
    /// before the instance's latest report.
    pub count: i64,
    /// The count the latest report of this license states.
    pub reported: i64,
    /// End of the report the count comes from.
    pub as_of: String,
    pub report_id: i64,
}

/// A product instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductInstanceView {
    pub udi: String,
    pub hostname: Option<String>,
    /// Key id of the device key the UDI is bound to; `unverified` when it has none.
    pub key_id: String,
    /// `verified` (bound to a device key that proved possession) or `unverified` (first seen
    /// in reports the authority cannot verify, e.g. Cisco's `builtin` signing).
    pub key_status: String,
    /// For an unverified binding, what its reports' signature named
    /// (`builtin:<software tag>`, `ed25519:<key id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_seen: Option<String>,
    pub trust_id: Option<i64>,
    pub trusted_at: Option<String>,
    pub first_seen: String,
    pub last_contact: String,
    pub usage: Vec<UsageView>,
    /// Feature names with an authorization code not returned.
    pub authorizations: Vec<String>,
}

/// One processed usage file ("Usage Data Files"), the wire type.
pub use slp_wire::cssm::manage::UsageFile as UploadView;

/// A reporting policy and one of its classes, the wire types.
pub use slp_wire::cssm::manage::{Policy as PolicyView, PolicyClass as PolicyClassView};

/// One line of the activity log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventView {
    pub at: String,
    pub virtual_account: Option<String>,
    pub udi: Option<String>,
    pub message: String,
    /// Who made the change (`cli:alice`, `api:ops (…)`, `device`, `system`).
    pub actor: Option<String>,
}

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadOutcome {
    /// The ACK document (XML) to hand back to the device.
    pub ack: String,
    /// True when a byte-identical file had been uploaded before: `ack` is the stored ACK and
    /// nothing changed.
    pub replayed: bool,
    pub product_instances: usize,
    pub accepted: usize,
    pub duplicate: usize,
    pub trust_codes: usize,
    pub authorizations: usize,
    pub returns: usize,
    pub policy: bool,
}

/// What a bundle upload did: the ACK bundle and each device file's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleOutcome {
    /// The ACK bundle (gzipped tar) for `slp relay import`.
    #[serde(skip)]
    pub ack: Vec<u8>,
    /// (device file name, outcome) in bundle order.
    pub files: Vec<(String, UploadOutcome)>,
}
