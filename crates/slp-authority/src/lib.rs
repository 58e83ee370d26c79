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

use std::sync::Arc;

use chrono::{DateTime, Utc};
use slp_clock::Clock;
use slp_store::{Account, NewEvent, Store, Tx, VirtualAccount};
use slp_wire::keys::KeyPair;

pub use domain::alerts::AlertView;
pub use domain::binding::{BindGrantView, UdiLocation};
pub use domain::clients::{
    AccessToken, ClientCredentials, ClientView, GrantError, Principal, Role,
};
pub use domain::devices::{DeviceChange, DeviceMove, DeviceRemoval};
pub use domain::group::IngestLane;
pub use domain::moves::{MoveRequestView, MoveSpec};
pub use domain::policies::PolicySpec;
pub(crate) use domain::policies::policy_of;
pub use domain::pools::LicenseSpec;
pub(crate) use domain::pools::{effective_counts, total};
pub use domain::token_key::{TOKEN_KEY_FILE, TokenKey};
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
pub const MAX_DESCRIPTION_CHARS: usize = slp_wire::cssm::limits::MAX_VA_DESCRIPTION_CHARS;

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
    /// What ID token text is sealed with ([`Authority::with_token_key`]); without one, tokens
    /// are kept by digest only and lists cannot show them.
    token_key: Option<Arc<TokenKey>>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").field("key", &self.key).finish_non_exhaustive()
    }
}

pub(crate) use slp_core::text::{rfc3339, rfc3339_ts};

pub(crate) fn date_ts(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .map(|at| at.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| ts.to_string())
}

pub(crate) fn check_name(field: &'static str, value: &str) -> Result<String> {
    let trimmed = value.trim();
    let bad = |reason: &str| AuthorityError::Invalid {
        field,
        value: sanity::shortened(value),
        reason: reason.to_owned(),
    };
    if trimmed.is_empty() {
        return Err(bad("must not be empty"));
    }
    let max = slp_wire::cssm::limits::MAX_NAME_CHARS;
    if trimmed.chars().count() > max {
        return Err(bad(&format!("must be at most {max} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(bad("must not contain control characters"));
    }
    Ok(trimmed.to_owned())
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
            token_key: None,
        })
    }

    /// The same authority keeping the text of the ID tokens it creates, sealed with `key` (a
    /// secret outside the database: [`TokenKey::load_or_create`]), so that token lists show it.
    pub fn with_token_key(mut self, key: TokenKey) -> Authority {
        self.token_key = Some(Arc::new(key));
        self
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
}
