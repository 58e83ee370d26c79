//! The rows the store keeps, as plain data. Times are Unix seconds (UTC).

/// A smart account.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub domain: String,
    pub created_at: i64,
}

/// A virtual account inside a smart account.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VirtualAccount {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub created_at: i64,
    /// What a UDI never seen before may do in this virtual account.
    pub first_contact: FirstContact,
    /// Free text given at creation (empty when none).
    pub description: String,
}

/// A virtual account's rule for the first contact of a UDI it has never seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FirstContact {
    /// Bound to the first device key that proves possession (trust on first use).
    #[default]
    Allow,
    /// Bound only with an ID token of the virtual account or an operator's grant.
    Deny,
}

impl FirstContact {
    /// `allow` or `deny`, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            FirstContact::Allow => "allow",
            FirstContact::Deny => "deny",
        }
    }

    /// Reads `allow` or `deny`.
    pub fn parse(text: &str) -> Option<FirstContact> {
        match text {
            "allow" => Some(FirstContact::Allow),
            "deny" => Some(FirstContact::Deny),
            _ => None,
        }
    }
}

/// Stored as its text, `allow` or `deny`.
impl<DB: sqlx::Database> sqlx::Type<DB> for FirstContact
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for FirstContact
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <String as sqlx::Decode<'r, DB>>::decode(value)?;
        FirstContact::parse(&text).ok_or_else(|| format!("{text:?} is not allow or deny").into())
    }
}

/// An operator's grant: device key `key_id` may bind `udi` in virtual account `va_id` once.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BindGrant {
    pub id: i64,
    pub va_id: i64,
    pub udi: String,
    pub key_id: String,
    /// Who granted it (the activity log's actor).
    pub granted_by: String,
    pub granted_at: i64,
    /// When the key used it; a grant is used once.
    pub used_at: Option<i64>,
}

/// One entry of a virtual account's license pool, as added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLicense {
    pub va_id: i64,
    pub feature: String,
    pub entitlement_tag: String,
    pub sku: String,
    pub quantity: i64,
    /// `perpetual` or `subscription`.
    pub term: String,
    /// `unenforced`, `enforced` or `export-controlled`.
    pub enforcement: String,
    pub starts_at: i64,
    pub expires_at: Option<i64>,
    pub added_at: i64,
}

/// One stored pool entry.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct License {
    pub id: i64,
    pub va_id: i64,
    pub feature: String,
    pub entitlement_tag: String,
    pub sku: String,
    pub quantity: i64,
    pub term: String,
    pub enforcement: String,
    pub starts_at: i64,
    pub expires_at: Option<i64>,
    pub added_at: i64,
}

/// A product instance: a UDI bound to a device key, in one virtual account. A UDI is scoped
/// to its smart account: each smart account may hold an instance of it, in one of its virtual
/// accounts.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProductInstance {
    pub id: i64,
    pub va_id: i64,
    /// The smart account of `va_id`.
    pub account_id: i64,
    pub udi: String,
    pub hostname: Option<String>,
    /// Base64 Ed25519 public key the UDI's reports and requests are signed with.
    pub public_key: String,
    pub trust_id: Option<i64>,
    pub trusted_at: Option<i64>,
    pub first_seen: i64,
    pub last_contact: i64,
    /// An unverified binding (no device key: `public_key` is empty): what the reports that
    /// bound it named, `builtin:<key>` or `ed25519:<key id>`. `None`: bound to a verified key.
    pub key_seen: Option<String>,
}

impl ProductInstance {
    /// Whether the UDI is bound without a verified device key.
    pub fn is_unverified(&self) -> bool {
        self.key_seen.is_some()
    }
}

/// A product instance to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProductInstance {
    pub va_id: i64,
    /// The smart account of `va_id`.
    pub account_id: i64,
    pub udi: String,
    pub hostname: Option<String>,
    pub public_key: String,
    pub now: i64,
    /// See [`ProductInstance::key_seen`].
    pub key_seen: Option<String>,
}

impl NewProductInstance {
    /// The record it becomes under `id`: untrusted, first and last seen `now`.
    pub fn registered(&self, id: i64) -> ProductInstance {
        ProductInstance {
            id,
            va_id: self.va_id,
            account_id: self.account_id,
            udi: self.udi.clone(),
            hostname: self.hostname.clone(),
            public_key: self.public_key.clone(),
            trust_id: None,
            trusted_at: None,
            first_seen: self.now,
            last_contact: self.now,
            key_seen: self.key_seen.clone(),
        }
    }
}

/// The usage of one entitlement by one product instance, as of its latest report.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Usage {
    pub pi_id: i64,
    pub udi: String,
    pub entitlement_tag: String,
    pub feature: String,
    pub count: i64,
    /// End time of the report the count comes from.
    pub as_of: i64,
    pub report_id: i64,
}

/// A received RUM report (kept byte for byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedReport {
    pub va_id: i64,
    pub udi: String,
    pub report_id: i64,
    pub entitlement_tag: String,
    pub count: i64,
    pub end_time: i64,
    pub status: String,
    pub received_at: i64,
    /// The signed envelope exactly as received.
    pub envelope: String,
}

/// A processed upload and the ACK it was answered with.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Upload {
    pub id: i64,
    pub va_id: i64,
    pub file_name: String,
    /// Hex SHA-256 of the uploaded bytes.
    pub sha256: String,
    pub uploaded_at: i64,
    pub status: String,
    pub pi_count: i64,
    pub report_count: i64,
    /// The ACK document text.
    pub ack: String,
}

/// An upload to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpload {
    pub va_id: i64,
    pub file_name: String,
    pub sha256: String,
    pub uploaded_at: i64,
    pub status: String,
    pub pi_count: i64,
    pub report_count: i64,
    pub ack: String,
}

/// One entitlement of an issued authorization code (SLAC).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Authorization {
    pub id: i64,
    pub code_id: String,
    pub va_id: i64,
    pub udi: String,
    pub entitlement_tag: String,
    pub feature: String,
    pub count: i64,
    pub issued_at: i64,
    pub returned_at: Option<i64>,
    pub return_code: Option<String>,
}

/// An authorization-code entitlement to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuthorization {
    pub code_id: String,
    pub va_id: i64,
    pub udi: String,
    pub entitlement_tag: String,
    pub feature: String,
    pub count: i64,
    pub issued_at: i64,
}

/// Reporting attributes of one policy class, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyClassRecord {
    pub first: i64,
    pub ongoing: i64,
    pub on_change: i64,
}

/// Whose custom policy it is: a smart account's (in force for its virtual accounts without
/// one of their own) or a virtual account's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyOwner {
    SmartAccount(i64),
    VirtualAccount(i64),
}

impl PolicyOwner {
    /// The table and key column that hold this owner's policy, and the key.
    pub(crate) fn place(self) -> (&'static str, &'static str, i64) {
        match self {
            PolicyOwner::SmartAccount(id) => ("account_policies", "account_id", id),
            PolicyOwner::VirtualAccount(id) => ("policies", "va_id", id),
        }
    }
}

/// A smart or virtual account's custom policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    pub owner: PolicyOwner,
    pub name: String,
    pub ack_required: bool,
    pub unenforced_perpetual: PolicyClassRecord,
    pub unenforced_subscription: PolicyClassRecord,
    pub enforced: PolicyClassRecord,
    pub export: PolicyClassRecord,
    pub updated_at: i64,
}

/// One line of the activity log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub at: i64,
    pub account_id: Option<i64>,
    pub va_id: Option<i64>,
    pub udi: Option<String>,
    pub message: String,
    /// Who made the change (`cli:alice`, `api:ops (client id)`, `device`, `system`); `None`
    /// on lines written before the actor was recorded.
    pub actor: Option<String>,
}

/// An activity-log line to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub at: i64,
    pub account_id: Option<i64>,
    pub va_id: Option<i64>,
    pub udi: Option<String>,
    pub message: String,
    pub actor: String,
}

/// An ID token: looked up by its SHA-256 (`token_hash`); its text only sealed by the
/// authority (`token_text`, none for tokens from before migration 12 or made without a token
/// key).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IdToken {
    pub id: i64,
    pub va_id: i64,
    pub token_hash: String,
    pub description: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub revoked_at: Option<i64>,
    /// The token text as the authority sealed it (opaque to the store).
    pub token_text: Option<String>,
    /// Who created it (`cli:alice`, `api:ops (…)`); none when not known.
    pub created_by: Option<String>,
    /// `Allowed` or `Not Allowed`.
    pub export_controlled: String,
}

/// An OAuth2 API client of one smart account (only a SHA-256 of its secret is stored).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiClient {
    pub id: i64,
    /// The public client id given to `POST /oauth2/token`.
    pub client_id: String,
    pub secret_hash: String,
    pub account_id: i64,
    pub name: String,
    /// `admin`, `reporter` or `viewer`.
    pub role: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// An API client to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiClient {
    pub client_id: String,
    pub secret_hash: String,
    pub account_id: i64,
    pub name: String,
    pub role: String,
    pub created_at: i64,
}

/// An issued access token (only its SHA-256 is stored), with the client it was issued to.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiToken {
    pub token_hash: String,
    #[sqlx(flatten)]
    pub client: ApiClient,
    pub issued_at: i64,
    pub expires_at: i64,
    /// The row id of the user it acts for (the OAuth2 password grant); `None`: the client.
    pub user_id: Option<i64>,
    /// That user, read with the token.
    #[sqlx(skip)]
    pub user: Option<crate::User>,
}

/// The stored answer to a `reportusage` or `authrequest` request, by poll id.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PollRecord {
    /// Below 2^63; clients see it as a decimal string.
    pub poll_id: i64,
    pub va_id: i64,
    /// `acknowledgements` or `authorizations`.
    pub action: String,
    pub correlation_id: String,
    /// The result as JSON text.
    pub result: String,
    pub created_at: i64,
}

/// A request to move licenses to another smart account, decided by a licensing-operations
/// user (CLI operator).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MoveRequest {
    pub id: i64,
    pub account_id: i64,
    pub va_id: i64,
    pub target_account: String,
    pub target_va: String,
    pub feature: String,
    pub entitlement_tag: String,
    pub quantity: i64,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: i64,
    /// `PENDING`, `APPROVED` or `REJECTED`.
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_note: Option<String>,
}

/// A move request to file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMoveRequest {
    pub account_id: i64,
    pub va_id: i64,
    pub target_account: String,
    pub target_va: String,
    pub feature: String,
    pub entitlement_tag: String,
    pub quantity: i64,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: i64,
}
