//! The authority's error type: every variant names the input that was wrong.

use slp_store::StoreError;
use slp_wire::WireError;

/// Why the authority refused a request. A refused request changes nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// No smart account has this domain or name.
    #[error("smart account {0:?} not found")]
    AccountNotFound(String),
    /// The smart account has no virtual account of this name.
    #[error("virtual account {va:?} not found in smart account {account:?}")]
    VaNotFound { account: String, va: String },
    /// There is no custom policy to remove.
    #[error("{} has no custom policy to remove", match va {
        Some(va) => format!("virtual account {va:?} of smart account {account:?}"),
        None => format!("smart account {account:?}"),
    })]
    NoCustomPolicy { account: String, va: Option<String> },
    /// No ID token of the virtual account is the one named (`what`: `tokens[1]`, `ids[0]: 7`,
    /// `token id 7`).
    #[error("{what}: not an ID token of virtual account {va:?}")]
    TokenNotFound { what: String, va: String },
    /// The virtual account named holds no valid license of this name.
    #[error("license {license:?}: virtual account {va:?} holds no such license")]
    LicenseNotFound { license: String, va: String },
    /// A move's target is where the thing is already (the source virtual account, the smart
    /// account itself).
    #[error("{field} {value:?}: {reason}")]
    TargetIsSource { field: &'static str, value: String, reason: String },
    /// A value given by the caller is not acceptable.
    #[error("invalid {field} {value:?}: {reason}")]
    Invalid { field: &'static str, value: String, reason: String },
    /// A virtual account still holds licenses or product instances.
    #[error(
        "virtual account {va:?} still holds {licenses} license(s) and {product_instances} product instance(s); move or remove them first"
    )]
    VaNotEmpty { va: String, licenses: i64, product_instances: i64 },
    /// The uploaded file is not a readable `<smartLicense>` document, or an item of it is malformed
    /// or badly signed.
    #[error("{file}: {error}")]
    Wire { file: String, error: WireError },
    /// The uploaded file holds something the authority does not take.
    #[error("{file}: {reason}")]
    Refused { file: String, reason: String },
    /// A RUM report failed its checks; nothing of the upload was stored.
    #[error("{file}: RUM report {report_id} of {udi} rejected: {reason}")]
    Report { file: String, udi: String, report_id: u64, reason: String },
    /// The UDI belongs to another virtual account.
    #[error("{file}: product instance {udi} is registered in {location}, not in {va:?}")]
    UdiElsewhere { file: String, udi: String, va: String, location: String },
    /// The UDI is bound to another device key and the file holds no trust request to re-bind it.
    #[error(
        "{file}: product instance {udi} is bound to device key {bound}, but the file is signed with key {found}; a trust request from the new key is needed to re-bind it"
    )]
    KeyMismatch { file: String, udi: String, bound: String, found: String },
    /// A trust request from a new device key for a UDI already bound to another key, with no
    /// proof: neither an ID token of the virtual account nor an operator's grant for the key.
    #[error(
        "{}: product instance {} is bound to device key {}; the request offers key {}, which may bind it only with proof: establish trust with an ID token of virtual account {:?} (`license smart trust idtoken TOKEN all force` on the device), or an operator allows the key once ({})",
        .0.file, .0.udi, .0.bound.as_deref().unwrap_or("?"), .0.offered, .0.va, .0.rebind_command()
    )]
    BindRefused(Box<BindRefusal>),
    /// A UDI never seen before, in a virtual account whose first contact is denied.
    #[error(
        "{}: product instance {} is not registered in virtual account {:?}, which denies first contact: establish trust with an ID token of the virtual account (`license smart trust idtoken TOKEN all`), or an operator allows device key {} once ({})",
        .0.file, .0.udi, .0.va, .0.offered, .0.rebind_command()
    )]
    FirstContactDenied(Box<BindRefusal>),
    /// An authorization code asks for an entitlement the pool does not have.
    #[error(
        "{file}: {udi} asks for {entitlement}, but virtual account {va:?} has no enforced or export-controlled license with that entitlement"
    )]
    UnknownEntitlement { file: String, udi: String, entitlement: String, va: String },
    /// Not enough licenses are left to reserve for an authorization code.
    #[error(
        "{file}: not enough {feature} licenses in virtual account {va:?} for {udi}: requested {requested}, available {available}"
    )]
    Insufficient {
        file: String,
        udi: String,
        feature: String,
        va: String,
        requested: u64,
        available: i64,
    },
    /// A license transfer asks for more than is available in the source virtual account.
    #[error(
        "cannot transfer {requested} {license} license(s) from virtual account {va:?}: only {available} available ({purchased} purchased, {in_use} in use, {reserved} reserved)"
    )]
    OverTransfer {
        license: String,
        va: String,
        requested: i64,
        available: i64,
        purchased: i64,
        in_use: i64,
        reserved: i64,
    },
    /// An authorization return names a code that was not issued to that UDI, or was returned already.
    #[error("{file}: cannot return authorization code {code_id} of {udi}: {reason}")]
    BadReturn { file: String, udi: String, code_id: String, reason: String },
    /// The authority's signing key in the database is unreadable.
    #[error("the authority signing key stored in the database is unusable: {0}")]
    AuthorityKey(WireError),
    /// The file of the key ID token text is sealed with cannot be used.
    #[error("token key file {path}: {reason}")]
    TokenKey { path: String, reason: String },
    /// An ID token this authority never issued (counted as a failed login of the source).
    #[error("ID token refused: the ID token is not known to this authority")]
    UnknownToken,
    /// An ID token that cannot be used (unknown, expired, used up, revoked).
    #[error("ID token refused: {reason}")]
    Token { reason: String },
    /// A device message over smart transport that cannot be taken.
    #[error("{udi}: {reason}")]
    Device { udi: String, reason: String },
    /// API client credentials or an access token that cannot be accepted.
    #[error("{reason}")]
    Unauthorized { reason: String },
    /// An authenticated API client asked for something outside its smart account or role.
    #[error("{reason}")]
    Forbidden { reason: String },
    /// A request body member is missing or unusable; `field` is its JSON path.
    #[error("{field}: {reason}")]
    Request { field: String, reason: String },
    /// The virtual account has no product instance with this UDI.
    #[error("product instance {udi} not found in virtual account {va:?}")]
    DeviceNotFound { udi: String, va: String },
    /// A product instance still holds authorization codes (SLAC/SLR) and no return code freed them.
    #[error(
        "product instance {udi} holds authorization code(s) {codes}: give the device's return code (license smart authorization return …) to remove it"
    )]
    AuthorizationHeld { udi: String, codes: String },
    /// No license move request has this id (in the caller's smart account).
    #[error("license move request {0} not found")]
    MoveRequestNotFound(i64),
    /// The license move request was approved or rejected already.
    #[error("license move request {id} was {status} already by {by}")]
    MoveRequestDecided { id: i64, status: String, by: String },
    /// No poll result has this id (in the caller's smart account).
    #[error("poll id {0:?} not found")]
    PollNotFound(String),
    /// The poll of this id is of the other action: there is none of the action asked for.
    #[error("data.action: poll {poll_id} is for {action:?}, not {asked:?}")]
    PollOfOtherAction { poll_id: String, action: String, asked: String },
    /// A usage bundle that cannot be read (names the archive and the member).
    #[error(transparent)]
    Bundle(#[from] slp_wire::bundle::BundleError),
    /// The store failed while applying the group of requests this one was committed with;
    /// nothing of the request was stored.
    #[error("the request was not stored ({reason}); send it again")]
    GroupFailed { reason: String },
    /// The database refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T, E = AuthorityError> = std::result::Result<T, E>;

/// A binding refused for want of proof: what it would have bound, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindRefusal {
    pub file: String,
    pub udi: String,
    /// The smart account's domain.
    pub account: String,
    pub va: String,
    /// The key id the UDI is bound to (`None`: never seen).
    pub bound: Option<String>,
    /// The key id the request offers.
    pub offered: String,
}

impl BindRefusal {
    /// The operator's command that lets the offered key bind once.
    pub fn rebind_command(&self) -> String {
        format!(
            "`slp authority pi rebind --account {} --va {} --udi {} --key {}`",
            self.account, self.va, self.udi, self.offered
        )
    }
}
