//! The license authority (the CSSM role of Smart Licensing Using Policy).
//!
//! [`Authority`] is the one entry point, used by the `slp authority` command line ([`cli`]) and
//! by the HTTP API ([`api`]: Cisco's CSSM paths, shaped by [`cssm`], with OAuth2 [`clients`]). It keeps smart accounts, virtual accounts, license pools, product
//! instances, received RUM reports, authorization codes (SLACs) and policies in a
//! [`slp_store::Store`], and answers usage uploads ([`Authority::upload`]) with signed ACK
//! documents. Every operation runs in one store transaction: a refused request changes nothing.
//! Time comes only from the [`Clock`] it is given.

pub mod cli;
pub mod domain;
mod error;
pub mod http;
pub mod jobs;
pub mod paging;
mod sanity;
pub mod view;

pub use domain::{actor, clients, cssm, direct, users};
/// The HTTP API ([`http`]), by its earlier name.
pub use http as api;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use slp_clock::Clock;
use slp_core::license::{self, Enforcement, Term};
use slp_core::policy::{Attributes, Policy, PolicyClass, PolicyOrigin};
use slp_store::{
    Account, NewEvent, NewLicense, PolicyClassRecord, PolicyOwner, PolicyRecord, Store, Tx,
    VirtualAccount,
};
use slp_wire::docs::{self, PolicyDoc};
use slp_wire::keys::KeyPair;
use slp_wire::xml::{Document, Kind};

pub use domain::alerts::AlertView;
pub use domain::binding::{BindGrantView, UdiLocation};
pub use domain::clients::{
    AccessToken, ClientCredentials, ClientView, GrantError, Principal, Role,
};
pub use domain::devices::{DeviceChange, DeviceMove, DeviceRemoval};
pub use domain::group::IngestLane;
pub use domain::moves::{MoveRequestView, MoveSpec};
pub use domain::transfer::{TransferMove, TransferSpec, TransferView};
pub use domain::users::UserView;
pub use error::{AuthorityError, BindRefusal, Result};
pub use http::{Endpoint, openapi, router, serve};
pub use sanity::{DEFAULT_REPORT_MAX_AGE_DAYS, DEFAULT_REPORT_SKEW_HOURS, ReportWindow};
pub use slp_store::{Page, Paged};
pub use view::*;

/// Name of the setting that holds the authority's signing key (base64 secret).
const KEY_SETTING: &str = "authority_signing_key";

/// Days before expiry from which a license shows the `Expiring` alert.
pub const EXPIRY_WARNING_DAYS: i64 = 90;
/// Longest virtual account description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// The license authority.
#[derive(Clone)]
pub struct Authority {
    store: Store,
    clock: Arc<dyn Clock>,
    key: KeyPair,
    /// Who changes are logged under outside [`actor::acting_as`].
    actor: String,
    /// `reportusage` requests waiting to be applied together ([`group`]).
    usage_queue: Arc<domain::group::UsageQueue>,
    /// The times a RUM report may state around the clock ([`Authority::with_report_window`]).
    report_window: ReportWindow,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").field("key", &self.key).finish_non_exhaustive()
    }
}

/// A license pool entry to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseSpec {
    /// A feature name from the catalog (`network-advantage`) or an entitlement tag.
    pub tag: String,
    pub sku: String,
    pub quantity: i64,
    /// Required for licenses the catalog does not know; otherwise must match the catalog.
    pub term: Option<Term>,
    /// Defaults to the catalog's, or `unenforced` for unknown licenses.
    pub enforcement: Option<Enforcement>,
    /// The day a subscription ends (required for subscriptions, refused for perpetual).
    pub expires: Option<NaiveDate>,
}

/// A custom policy to set; classes left `None` keep the Cisco default values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySpec {
    pub name: String,
    pub ack_required: bool,
    pub unenforced_perpetual: Option<Attributes>,
    pub unenforced_subscription: Option<Attributes>,
    pub enforced: Option<Attributes>,
    pub export: Option<Attributes>,
}

pub(crate) use slp_core::text::{rfc3339, rfc3339_ts};

pub(crate) fn date_ts(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .map(|at| at.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| ts.to_string())
}

fn check_name(field: &'static str, value: &str) -> Result<String> {
    let trimmed = value.trim();
    let bad = |reason: &str| AuthorityError::Invalid {
        field,
        value: sanity::shortened(value),
        reason: reason.to_owned(),
    };
    if trimmed.is_empty() {
        return Err(bad("must not be empty"));
    }
    if trimmed.chars().count() > 100 {
        return Err(bad("must be at most 100 characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(bad("must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

/// The sum of license counts or quantities, saturating: a sum past `i64::MAX` (only rows
/// stored before counts were bounded could reach it) stays at the largest number, which is
/// more than any pool holds, so the pool shows `Insufficient Licenses` instead of wrapping
/// to a negative "In Use".
pub(crate) fn total(values: impl IntoIterator<Item = i64>) -> i64 {
    values.into_iter().fold(0_i64, i64::saturating_add)
}

/// The count each usage row stands for now. A device keeps an open report for every license in
/// use and closes them all at the same instant when it saves usage, while a license that stopped
/// being used (count to 0, or not in use after a reload) has its chain closed earlier and never
/// continued. So, per product instance, only the tags whose latest report ends at the instance's
/// latest report end are in use; the others count 0.
pub(crate) fn effective_counts(usage: &[slp_store::Usage]) -> Vec<i64> {
    let mut latest: BTreeMap<i64, i64> = BTreeMap::new();
    for u in usage {
        let entry = latest.entry(u.pi_id).or_insert(u.as_of);
        *entry = (*entry).max(u.as_of);
    }
    usage.iter().map(|u| if latest.get(&u.pi_id) == Some(&u.as_of) { u.count } else { 0 }).collect()
}

fn class_record(a: Attributes) -> PolicyClassRecord {
    PolicyClassRecord {
        first: i64::from(a.first),
        ongoing: i64::from(a.ongoing),
        on_change: i64::from(a.on_change),
    }
}

fn class_attributes(c: PolicyClassRecord) -> Attributes {
    let days = |v: i64| u32::try_from(v).unwrap_or(0);
    Attributes { first: days(c.first), ongoing: days(c.ongoing), on_change: days(c.on_change) }
}

pub(crate) fn policy_of(record: &PolicyRecord) -> Policy {
    Policy {
        name: record.name.clone(),
        origin: PolicyOrigin::Customer,
        ack_required: record.ack_required,
        unenforced_perpetual: class_attributes(record.unenforced_perpetual),
        unenforced_subscription: class_attributes(record.unenforced_subscription),
        enforced: class_attributes(record.enforced),
        export: class_attributes(record.export),
    }
}

/// What `policy show` and the policy endpoints print: the policy in force and where it is set.
fn policy_view(
    account: &Account,
    va: Option<&VirtualAccount>,
    record: Option<&PolicyRecord>,
) -> PolicyView {
    let policy = record.map_or_else(Policy::cisco_default, policy_of);
    let class = |c: PolicyClass| {
        let a = policy.attributes(c);
        PolicyClassView { first: a.first, ongoing: a.ongoing, on_change: a.on_change }
    };
    let set_for = match record.map(|r| r.owner) {
        Some(PolicyOwner::VirtualAccount(_)) => "virtual account",
        Some(PolicyOwner::SmartAccount(_)) => "smart account",
        None => "default",
    };
    PolicyView {
        smart_account: account.domain.clone(),
        virtual_account: va.map(|v| v.name.clone()),
        name: policy.name.clone(),
        origin: policy.origin.label().to_owned(),
        set_for: set_for.to_owned(),
        ack_required: policy.ack_required,
        unenforced_perpetual: class(PolicyClass::UnenforcedPerpetual),
        unenforced_subscription: class(PolicyClass::UnenforcedSubscription),
        enforced: class(PolicyClass::Enforced),
        export: class(PolicyClass::Export),
        updated_at: record.map(|r| rfc3339_ts(r.updated_at)),
    }
}

impl Authority {
    /// The authority over `store`; creates its signing key on first use (shared by every
    /// replica on the same database).
    pub async fn open(store: Store, clock: Arc<dyn Clock>) -> Result<Authority> {
        let mut tx = store.begin().await?;
        let secret = tx.setting_or_insert(KEY_SETTING, &KeyPair::generate().secret_b64()).await?;
        tx.commit().await?;
        let key = KeyPair::from_secret_b64(&secret, "authority key")
            .map_err(AuthorityError::AuthorityKey)?;
        tracing::debug!(key_id = %key.key_id(), "authority opened");
        Ok(Authority {
            store,
            clock,
            key,
            actor: "system".to_owned(),
            usage_queue: Arc::default(),
            report_window: ReportWindow::default(),
        })
    }

    /// The same authority refusing RUM reports whose times fall outside `window` around its
    /// clock (default: 24 hours ahead, 10 years back).
    pub fn with_report_window(mut self, window: ReportWindow) -> Authority {
        self.report_window = window;
        self
    }

    /// The same authority with changes logged under `actor` by default (`cli:alice`).
    pub fn with_actor(mut self, actor: impl Into<String>) -> Authority {
        self.actor = actor.into();
        self
    }

    /// Who the change in progress is logged under.
    pub(crate) fn actor(&self) -> String {
        actor::current().unwrap_or_else(|| self.actor.clone())
    }

    /// The authority's public key (base64 Ed25519): devices pin it from the first document.
    pub fn public_key(&self) -> String {
        self.key.public_b64()
    }

    /// The key id of [`Authority::public_key`] (PROTOCOL.md §1.3), as errors name keys.
    pub fn key_id(&self) -> String {
        self.key.key_id()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn resolve_account(tx: &mut Tx, account: &str) -> Result<Account> {
        tx.account_by_key(account.trim())
            .await?
            .ok_or_else(|| AuthorityError::AccountNotFound(account.to_owned()))
    }

    async fn resolve(tx: &mut Tx, account: &str, va: &str) -> Result<(Account, VirtualAccount)> {
        let account_row = Self::resolve_account(tx, account).await?;
        let va_row = tx.va_by_name(account_row.id, va.trim()).await?.ok_or_else(|| {
            AuthorityError::VaNotFound { account: account.to_owned(), va: va.to_owned() }
        })?;
        Ok((account_row, va_row))
    }

    fn event(&self, account: &Account, va: Option<&VirtualAccount>, message: String) -> NewEvent {
        NewEvent {
            at: self.now().timestamp(),
            account_id: Some(account.id),
            va_id: va.map(|v| v.id),
            udi: None,
            message,
            actor: self.actor(),
        }
    }

    // ---- accounts ------------------------------------------------------------------------

    /// Creates a smart account; name and domain are both unique.
    pub async fn create_account(&self, name: &str, domain: &str) -> Result<AccountView> {
        let name = check_name("account name", name)?;
        let domain = check_name("domain", domain)?;
        if domain.contains(char::is_whitespace) {
            return Err(AuthorityError::Invalid {
                field: "domain",
                value: domain,
                reason: "must not contain spaces".to_owned(),
            });
        }
        let now = self.now().timestamp();
        let mut tx = self.store.begin().await?;
        let account = tx.insert_account(&name, &domain, now).await?;
        tx.log(self.event(&account, None, format!("smart account {name:?} ({domain}) created")))
            .await?;
        tx.commit().await?;
        tracing::info!(account = %name, %domain, "smart account created");
        Ok(AccountView { name, domain, created_at: rfc3339_ts(now), virtual_accounts: 0 })
    }

    pub async fn accounts(&self) -> Result<Vec<AccountView>> {
        let mut tx = self.store.read().await?;
        let mut out = Vec::new();
        for account in tx.accounts().await? {
            let vas = tx.vas(account.id).await?.len();
            out.push(AccountView {
                name: account.name,
                domain: account.domain,
                created_at: rfc3339_ts(account.created_at),
                virtual_accounts: vas,
            });
        }
        Ok(out)
    }

    // ---- virtual accounts ----------------------------------------------------------------

    pub async fn create_va(&self, account: &str, name: &str) -> Result<VaView> {
        self.create_va_described(account, name, "").await
    }

    /// Creates a virtual account with a description (Cisco's `description`; may be empty).
    pub async fn create_va_described(
        &self,
        account: &str,
        name: &str,
        description: &str,
    ) -> Result<VaView> {
        let name = check_name("virtual account name", name)?;
        let description = description.trim();
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(AuthorityError::Invalid {
                field: "virtual account description",
                value: description.chars().take(40).collect::<String>() + "…",
                reason: format!("is longer than {MAX_DESCRIPTION_CHARS} characters"),
            });
        }
        let now = self.now().timestamp();
        let mut tx = self.store.begin().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        let va = tx.insert_va(account_row.id, &name, now).await?;
        if !description.is_empty() {
            tx.set_va_description(va.id, description).await?;
        }
        tx.log(self.event(&account_row, Some(&va), format!("virtual account {name:?} created")))
            .await?;
        tx.commit().await?;
        Ok(VaView {
            smart_account: account_row.name,
            name,
            created_at: rfc3339_ts(now),
            licenses: 0,
            product_instances: 0,
            first_contact: va.first_contact.as_str().to_owned(),
            description: description.to_owned(),
        })
    }

    pub async fn vas(&self, account: &str) -> Result<Vec<VaView>> {
        let mut tx = self.store.read().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        let mut out = Vec::new();
        for va in tx.vas(account_row.id).await? {
            let (licenses, product_instances) = tx.va_holdings(va.id).await?;
            out.push(VaView {
                smart_account: account_row.name.clone(),
                name: va.name,
                created_at: rfc3339_ts(va.created_at),
                licenses,
                product_instances,
                first_contact: va.first_contact.as_str().to_owned(),
                description: va.description,
            });
        }
        Ok(out)
    }

    pub async fn rename_va(&self, account: &str, va: &str, new_name: &str) -> Result<()> {
        let new_name = check_name("virtual account name", new_name)?;
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        tx.rename_va(va_row.id, &new_name).await?;
        tx.log(self.event(
            &account_row,
            Some(&va_row),
            format!("virtual account {:?} renamed to {new_name:?}", va_row.name),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes an empty virtual account (refused while it holds licenses or product instances).
    pub async fn delete_va(&self, account: &str, va: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        tx.lock_va(va_row.id).await?;
        let (licenses, product_instances) = tx.va_holdings(va_row.id).await?;
        if licenses > 0 || product_instances > 0 {
            return Err(AuthorityError::VaNotEmpty {
                va: va_row.name,
                licenses,
                product_instances,
            });
        }
        tx.delete_va(va_row.id).await?;
        tx.log(self.event(
            &account_row,
            None,
            format!("virtual account {:?} deleted", va_row.name),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- license pool --------------------------------------------------------------------

    /// Adds licenses to a virtual account's pool.
    pub async fn add_license(&self, account: &str, va: &str, spec: &LicenseSpec) -> Result<()> {
        let tag_input = spec.tag.trim();
        let invalid = |field: &'static str, value: String, reason: String| {
            AuthorityError::Invalid { field, value, reason }
        };
        if tag_input.is_empty() || tag_input.chars().any(char::is_whitespace) {
            return Err(invalid(
                "license tag",
                spec.tag.clone(),
                "expected a feature name such as network-advantage or an entitlement tag"
                    .to_owned(),
            ));
        }
        let sku = check_name("SKU", &spec.sku)?;
        if !(1..=1_000_000).contains(&spec.quantity) {
            return Err(invalid(
                "quantity",
                spec.quantity.to_string(),
                "must be a whole number from 1 to 1000000".to_owned(),
            ));
        }
        let known = license::lookup(tag_input);
        let (feature, tag, term, enforcement) = match known {
            Some(info) => {
                if let Some(term) = spec.term
                    && term != info.term
                {
                    return Err(invalid(
                        "license type",
                        term.as_str().to_owned(),
                        format!("{} is a {} license", info.feature, info.term.as_str()),
                    ));
                }
                if let Some(enforcement) = spec.enforcement
                    && enforcement != info.enforcement
                {
                    return Err(invalid(
                        "enforcement",
                        enforcement.as_str().to_owned(),
                        format!("{} is {}", info.feature, info.enforcement.as_str()),
                    ));
                }
                (
                    info.feature.to_owned(),
                    info.entitlement_tag.to_owned(),
                    info.term,
                    info.enforcement,
                )
            }
            None => {
                let term = spec.term.ok_or_else(|| {
                    invalid(
                        "license tag",
                        tag_input.to_owned(),
                        "not in the catalog; give --type (and --enforcement if it is not unenforced) to add it anyway".to_owned(),
                    )
                })?;
                let enforcement = spec.enforcement.unwrap_or(Enforcement::Unenforced);
                (tag_input.to_owned(), tag_input.to_owned(), term, enforcement)
            }
        };
        let now = self.now();
        let expires_at = match (term, spec.expires) {
            (Term::Subscription, Some(day)) => {
                let at = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()).unwrap_or(0);
                if at <= now.timestamp() {
                    return Err(invalid(
                        "expiry date",
                        day.to_string(),
                        format!("must be after today ({})", now.format("%Y-%m-%d")),
                    ));
                }
                Some(at)
            }
            (Term::Subscription, None) => {
                return Err(invalid(
                    "expiry date",
                    String::new(),
                    format!("{feature} is a subscription license: give --expires YYYY-MM-DD"),
                ));
            }
            (Term::Perpetual, Some(day)) => {
                return Err(invalid(
                    "expiry date",
                    day.to_string(),
                    format!("{feature} is a perpetual license and does not expire"),
                ));
            }
            (Term::Perpetual, None) => None,
        };
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        tx.lock_va(va_row.id).await?;
        let new = NewLicense {
            va_id: va_row.id,
            feature: feature.clone(),
            entitlement_tag: tag,
            sku: sku.clone(),
            quantity: spec.quantity,
            term: term.as_str().to_owned(),
            enforcement: enforcement.as_str().to_owned(),
            starts_at: now.timestamp(),
            expires_at,
            added_at: now.timestamp(),
        };
        tx.insert_license(&new).await?;
        tx.log(self.event(
            &account_row,
            Some(&va_row),
            format!("{} {feature} license(s) added ({sku})", spec.quantity),
        ))
        .await?;
        tx.commit().await?;
        tracing::info!(va = %va_row.name, %feature, quantity = spec.quantity, "licenses added");
        Ok(())
    }

    /// The pool of a virtual account: one row per entitlement, with usage, reservations and alerts.
    pub async fn licenses(&self, account: &str, va: &str) -> Result<Vec<LicenseView>> {
        let now = self.now().timestamp();
        let mut tx = self.store.read().await?;
        let (_, va_row) = Self::resolve(&mut tx, account, va).await?;
        let entries = tx.licenses(va_row.id).await?;
        let usage = tx.va_usage(va_row.id).await?;
        let codes = tx.authorizations(va_row.id).await?;
        let mut in_use: BTreeMap<&str, i64> = BTreeMap::new();
        for (u, count) in usage.iter().zip(effective_counts(&usage)) {
            let sum = in_use.entry(u.entitlement_tag.as_str()).or_default();
            *sum = sum.saturating_add(count);
        }
        let mut reserved: BTreeMap<&str, i64> = BTreeMap::new();
        for code in codes.iter().filter(|c| c.returned_at.is_none()) {
            let sum = reserved.entry(code.entitlement_tag.as_str()).or_default();
            *sum = sum.saturating_add(code.count);
        }
        let mut tags: Vec<&str> = Vec::new();
        for entry in &entries {
            if !tags.contains(&entry.entitlement_tag.as_str()) {
                tags.push(&entry.entitlement_tag);
            }
        }
        let mut out = Vec::new();
        for tag in &tags {
            let of_tag: Vec<_> = entries.iter().filter(|e| e.entitlement_tag == *tag).collect();
            let valid: Vec<_> =
                of_tag.iter().filter(|e| e.expires_at.is_none_or(|at| at > now)).collect();
            let purchased = total(valid.iter().map(|e| e.quantity));
            let used = in_use.get(tag).copied().unwrap_or(0);
            let expires = valid.iter().filter_map(|e| e.expires_at).min();
            let mut skus: Vec<&str> = Vec::new();
            for e in &of_tag {
                if !skus.contains(&e.sku.as_str()) {
                    skus.push(&e.sku);
                }
            }
            let first = of_tag[0];
            let alert = if used > purchased {
                Some("Insufficient Licenses".to_owned())
            } else if expires.is_some_and(|at| at - now <= EXPIRY_WARNING_DAYS * 86_400) {
                Some("Expiring".to_owned())
            } else {
                None
            };
            out.push(LicenseView {
                license: first.feature.clone(),
                entitlement_tag: (*tag).to_owned(),
                sku: skus.join(","),
                license_type: Term::parse(&first.term)
                    .map_or_else(|| first.term.clone(), |t| t.show_word().to_owned()),
                enforcement: first.enforcement.clone(),
                purchased,
                in_use: used,
                balance: purchased.saturating_sub(used),
                reserved: reserved.get(tag).copied().unwrap_or(0),
                expires: expires.map(date_ts),
                alert,
            });
        }
        // Licenses in use that were never purchased.
        for (tag, used) in &in_use {
            if tags.contains(tag) || *used == 0 {
                continue;
            }
            let info = license::lookup(tag);
            let feature = usage
                .iter()
                .find(|u| u.entitlement_tag == *tag)
                .map_or_else(|| license::feature_name(tag), |u| u.feature.clone());
            out.push(LicenseView {
                license: feature,
                entitlement_tag: (*tag).to_owned(),
                sku: String::new(),
                license_type: info.map_or_else(String::new, |i| i.term.show_word().to_owned()),
                enforcement: info.map_or_else(String::new, |i| i.enforcement.as_str().to_owned()),
                purchased: 0,
                in_use: *used,
                balance: 0_i64.saturating_sub(*used),
                reserved: reserved.get(tag).copied().unwrap_or(0),
                expires: None,
                alert: Some("Insufficient Licenses".to_owned()),
            });
        }
        Ok(out)
    }

    // ---- product instances and uploads ---------------------------------------------------

    pub async fn product_instances(
        &self,
        account: &str,
        va: &str,
    ) -> Result<Vec<ProductInstanceView>> {
        let mut tx = self.store.read().await?;
        let (_, va_row) = Self::resolve(&mut tx, account, va).await?;
        let pis = tx.pis(va_row.id).await?;
        let usage = tx.va_usage(va_row.id).await?;
        let codes = tx.authorizations(va_row.id).await?;
        Ok(paging::pi_views(pis, &usage, &codes))
    }

    /// The usage files uploaded to a virtual account, oldest first.
    pub async fn uploads(&self, account: &str, va: &str) -> Result<Vec<UploadView>> {
        let mut tx = self.store.read().await?;
        let (_, va_row) = Self::resolve(&mut tx, account, va).await?;
        Ok(tx
            .uploads(va_row.id)
            .await?
            .into_iter()
            .map(|u| UploadView {
                file_name: u.file_name,
                uploaded_at: rfc3339_ts(u.uploaded_at),
                status: u.status,
                product_instances: u.pi_count,
                reports: u.report_count,
                sha256: u.sha256,
            })
            .collect())
    }

    /// The ACK of an uploaded usage file, by the file's SHA-256 (from [`Authority::uploads`]).
    pub async fn upload_ack(&self, account: &str, va: &str, sha256: &str) -> Result<String> {
        let mut tx = self.store.read().await?;
        let (_, va_row) = Self::resolve(&mut tx, account, va).await?;
        let upload = tx.upload_by_sha(va_row.id, sha256.trim()).await?.ok_or_else(|| {
            AuthorityError::Invalid {
                field: "usage file",
                value: sha256.to_owned(),
                reason: format!(
                    "no usage file with this SHA-256 in virtual account {:?}",
                    va_row.name
                ),
            }
        })?;
        Ok(upload.ack)
    }

    // ---- policies ------------------------------------------------------------------------

    /// The smart account and, when `va` names one, the virtual account a policy command is about.
    async fn resolve_scope(
        tx: &mut Tx,
        account: &str,
        va: Option<&str>,
    ) -> Result<(Account, Option<VirtualAccount>)> {
        match va {
            Some(va) => Self::resolve(tx, account, va).await.map(|(a, v)| (a, Some(v))),
            None => Ok((Self::resolve_account(tx, account).await?, None)),
        }
    }

    /// Sets the custom policy of a virtual account, or (without `va`) of the smart account,
    /// where it is in force for every virtual account without one of its own. It rides in
    /// every later ACK.
    pub async fn set_policy(
        &self,
        account: &str,
        va: Option<&str>,
        spec: &PolicySpec,
    ) -> Result<PolicyView> {
        let name = check_name("policy name", &spec.name)?;
        let default = Policy::cisco_default();
        let pick = |given: Option<Attributes>, class| given.unwrap_or(default.attributes(class));
        let now = self.now().timestamp();
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve_scope(&mut tx, account, va).await?;
        let owner = match &va_row {
            Some(va) => PolicyOwner::VirtualAccount(va.id),
            None => PolicyOwner::SmartAccount(account_row.id),
        };
        let record = PolicyRecord {
            owner,
            name: name.clone(),
            ack_required: spec.ack_required,
            unenforced_perpetual: class_record(pick(
                spec.unenforced_perpetual,
                PolicyClass::UnenforcedPerpetual,
            )),
            unenforced_subscription: class_record(pick(
                spec.unenforced_subscription,
                PolicyClass::UnenforcedSubscription,
            )),
            enforced: class_record(pick(spec.enforced, PolicyClass::Enforced)),
            export: class_record(pick(spec.export, PolicyClass::Export)),
            updated_at: now,
        };
        tx.set_policy(&record).await?;
        let whose = if va_row.is_some() { "" } else { " for the smart account" };
        tx.log(self.event(
            &account_row,
            va_row.as_ref(),
            format!("custom policy {name:?} set{whose}"),
        ))
        .await?;
        let view = policy_view(&account_row, va_row.as_ref(), Some(&record));
        tx.commit().await?;
        Ok(view)
    }

    /// Removes the custom policy of a virtual account (or, without `va`, of the smart account):
    /// the smart account's policy, else the Cisco default, is in force again. Returns the
    /// policy now in force.
    pub async fn clear_policy(&self, account: &str, va: Option<&str>) -> Result<PolicyView> {
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve_scope(&mut tx, account, va).await?;
        let owner = match &va_row {
            Some(va) => PolicyOwner::VirtualAccount(va.id),
            None => PolicyOwner::SmartAccount(account_row.id),
        };
        if !tx.clear_policy(owner).await? {
            return Err(AuthorityError::NoCustomPolicy {
                account: account_row.domain.clone(),
                va: va_row.as_ref().map(|v| v.name.clone()),
            });
        }
        let whose = if va_row.is_some() { "" } else { " of the smart account" };
        tx.log(self.event(&account_row, va_row.as_ref(), format!("custom policy{whose} removed")))
            .await?;
        let record = match &va_row {
            Some(va) => tx.policy_in_force(va.id).await?,
            None => None,
        };
        let view = policy_view(&account_row, va_row.as_ref(), record.as_ref());
        tx.commit().await?;
        Ok(view)
    }

    /// The policy in force for a virtual account (its own custom policy, else its smart
    /// account's, else the Cisco default); without `va`, the smart account's policy (or the
    /// Cisco default).
    pub async fn policy(&self, account: &str, va: Option<&str>) -> Result<PolicyView> {
        let mut tx = self.store.read().await?;
        let (account_row, va_row) = Self::resolve_scope(&mut tx, account, va).await?;
        let record = match &va_row {
            Some(va) => tx.policy_in_force(va.id).await?,
            None => tx.policy(PolicyOwner::SmartAccount(account_row.id)).await?,
        };
        Ok(policy_view(&account_row, va_row.as_ref(), record.as_ref()))
    }

    /// "Reports > Reporting Policy": the stand-alone policy file (root `<smartLicensePolicy>`,
    /// PROTOCOL.md §3.2) with the signed policy in force.
    pub async fn policy_document(&self, account: &str, va: &str) -> Result<String> {
        let mut tx = self.store.read().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        let policy = tx
            .policy_in_force(va_row.id)
            .await?
            .as_ref()
            .map_or_else(Policy::cisco_default, policy_of);
        let doc = PolicyDoc::from_policy(
            &policy,
            rfc3339(self.now()),
            &account_row.name,
            &va_row.name,
            self.public_key(),
        );
        let item = docs::sign_json(Kind::Policy, &doc, &self.key);
        Document::policy_file(&item).map_err(|error| AuthorityError::Wire {
            file: format!("policy file of {}/{}", account_row.domain, va_row.name),
            error,
        })
    }

    // ---- events --------------------------------------------------------------------------

    /// The activity log of a smart account, or of one of its virtual accounts, or (with `udi`)
    /// of one product instance: when, where, which device, who and what.
    pub async fn events(
        &self,
        account: &str,
        va: Option<&str>,
        udi: Option<&str>,
    ) -> Result<Vec<EventView>> {
        let mut tx = self.store.read().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        let va_row = match va {
            Some(va) => Some(Self::resolve(&mut tx, account, va).await?.1),
            None => None,
        };
        let names: BTreeMap<i64, String> =
            tx.vas(account_row.id).await?.into_iter().map(|v| (v.id, v.name)).collect();
        let rows = match (&va_row, udi) {
            (Some(va), Some(udi)) => tx.events_of_udi(va.id, udi.trim()).await?,
            (None, Some(udi)) => tx
                .events(account_row.id, None)
                .await?
                .into_iter()
                .filter(|e| e.udi.as_deref() == Some(udi.trim()))
                .collect(),
            (_, None) => tx.events(account_row.id, va_row.as_ref().map(|v| v.id)).await?,
        };
        Ok(rows
            .into_iter()
            .map(|e| EventView {
                at: rfc3339_ts(e.at),
                virtual_account: e.va_id.and_then(|id| names.get(&id).cloned()),
                udi: e.udi,
                message: e.message,
                actor: e.actor,
            })
            .collect())
    }
}
