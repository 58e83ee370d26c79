//! The relay (Cisco Smart License Utility, CSLU role): the single point of contact for product
//! instances.
//!
//! - [`api`]: the push endpoint `POST /cslu/v1/pi` (the `slp_wire::online` protocol).
//! - [`pull`]: relay-initiated collection over the device management API (`/smartlic-service/*`).
//! - [`upstream`]: connected mode — forwarding to the authority's CSSM-style API and fetching
//!   the answers (behind the [`upstream::Upstream`] trait).
//! - [`bundle`]: disconnected mode — the Cisco-shaped `UD_SA_*.tar.gz` export and the ACK
//!   bundle (or a single ACK file) import.
//! - [`intake`]: checking and storing device documents, polls, storing answers.
//! - [`store`]: `R/relay.db` (SQLite) and its migrations.
//! - [`cli`]: `slp relay`.
//!
//! Every document is kept byte for byte as the device signed it; every change is one
//! transaction; re-sending is idempotent on (UDI, report ids) and on identical bytes.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use slp_clock::Clock;
use sqlx::SqliteConnection;

pub mod api;
pub mod bundle;
pub mod check;
pub mod cli;
pub mod intake;
pub mod pull;
pub mod store;
pub mod upstream;

use store::Store;

/// Why the relay refused or failed. Every variant names the bad input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// A device document failed a check; nothing was stored.
    #[error("document of {udi} refused: {reason}")]
    Refused { udi: String, reason: String },
    /// The relay validates devices and this UDI is not in the inventory.
    #[error(
        "{udi} is not in the relay's inventory and the relay validates devices: add it with `slp relay pi add --udi {udi}`"
    )]
    UnknownDevice { udi: String },
    /// A pushed document of a UDI bound to another device key; nothing was stored.
    #[error(
        "document of {udi} refused: it is signed by device key {key_id}, but {udi} is bound to device key {bound_id} (its first contact): another device claims this UDI. If the device was really replaced or re-keyed, re-bind it with `slp relay pi rebind --udi {udi}`"
    )]
    KeyMismatch { udi: String, key_id: String, bound_id: String },
    /// A document that names as a unit of its HA set a UDI bound (itself, or as a unit of
    /// another active UDI) to another device key; nothing was stored.
    #[error(
        "document of {udi} refused: it names {unit} a unit of its HA set, but {unit} is bound to device key {bound_id} and the document is signed by device key {key_id}. If {unit} really joined this HA set, re-bind it with `slp relay pi rebind --udi {bound_udi}`"
    )]
    UnitClaimed { udi: String, unit: String, key_id: String, bound_id: String, bound_udi: String },
    /// A pushed document without a device key for a UDI bound to one; nothing was stored.
    #[error(
        "document of {udi} refused: it has no <smartLicenseSystemInfo> signed by the device key, but {udi} is bound to device key {bound_id}: send the device's signed system information"
    )]
    Unsigned { udi: String, bound_id: String },
    /// A poll for an id the relay never gave.
    #[error("unknown poll id {poll_id:?}")]
    PollNotFound { poll_id: String },
    /// An answer (ACK or code document) is unusable.
    #[error("{what}: not an ACK the relay can deliver: {reason}")]
    BadAnswer { what: String, reason: String },
    /// An answer signed by another key than the authority's pinned one; nothing was stored.
    #[error(
        "{what}: the answer for {udi} is signed by authority key {key_id}, not by the pinned authority key {pinned_id}: refused, nothing imported (check where the file came from; `slp relay prefs show` names the pinned key)"
    )]
    UntrustedAnswer { what: String, udi: String, key_id: String, pinned_id: String },
    /// No authority key to verify answers against; nothing was stored.
    #[error(
        "{what}: no authority key is pinned, so the answers cannot be verified: nothing imported. On the authority run `slp authority key show > authority.key`, then `slp relay prefs set --authority-key authority.key` (a connected relay learns the key at its first sync)"
    )]
    NoAuthorityKey { what: String },
    /// An answer for a product instance the relay does not know; nothing was stored.
    #[error(
        "{what}: the answer is for {udi}, which is not in the relay's inventory (it never reported through this relay): refused, nothing imported"
    )]
    UnknownAnswerDevice { what: String, udi: String },
    /// A bad line of an inventory CSV file.
    #[error("{file}, line {line}: {reason}")]
    Csv { file: String, line: usize, reason: String },
    /// A bad bundle member; nothing was imported.
    #[error("{file}: member {member:?}: {reason}")]
    Bundle { file: String, member: String, reason: String },
    /// A bad command-line value or preference.
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
    /// Connected mode is not configured, or the relay is disconnected.
    #[error("{0}")]
    Config(String),
    /// The device management API failed or refused.
    #[error("device {host}: {reason}")]
    Device { host: String, reason: String },
    /// The authority could not be reached or refused.
    #[error("authority: {0}")]
    Upstream(#[from] upstream::UpstreamError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("opening the relay database {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("relay database migration {version} ({name}) failed: {source}")]
    Migrate { version: i64, name: &'static str, source: sqlx::Error },
    #[error(
        "the relay database has schema version {found}; this slp knows up to {known}: upgrade slp"
    )]
    NewerSchema { found: i64, known: i64 },
    #[error("relay database: {0}")]
    Database(sqlx::Error),
}

pub type Result<T, E = RelayError> = std::result::Result<T, E>;

/// How the relay reaches a product instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ConnectMethod {
    /// The device pushes to `/cslu/v1/pi`.
    #[serde(rename = "push")]
    Push,
    /// The relay pulls over the device's `/smartlic-service/*` REST API.
    #[serde(rename = "rest-pull")]
    RestPull,
}

impl ConnectMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectMethod::Push => "push",
            ConnectMethod::RestPull => "rest-pull",
        }
    }

    /// Parses a method name; CSLU's CSV words (`RESTAPI`, `REST`) are accepted too.
    pub fn parse(text: &str) -> Option<ConnectMethod> {
        match text.trim().to_ascii_lowercase().as_str() {
            "push" => Some(ConnectMethod::Push),
            "rest-pull" | "rest" | "restapi" | "rest-api" | "pull" => Some(ConnectMethod::RestPull),
            _ => None,
        }
    }
}

impl std::str::FromStr for ConnectMethod {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        ConnectMethod::parse(s)
            .ok_or_else(|| format!("{s:?} is not a connect method: use push or rest-pull"))
    }
}

/// The relay's preferences (`slp relay prefs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prefs {
    pub connected: bool,
    pub smart_account: Option<String>,
    pub virtual_account: Option<String>,
    pub authority_url: Option<String>,
    pub client_id: Option<String>,
    /// Never printed: `prefs show` says whether it is set.
    #[serde(skip)]
    pub client_secret: Option<String>,
    pub client_secret_set: bool,
    pub default_connect_method: ConnectMethod,
    pub validate_device: bool,
    /// The relay's identity in export manifests (`Created-By: {"uuid": …}`).
    pub relay_uuid: String,
    /// The authority's public key (base64 Ed25519) every imported or fetched answer must be
    /// signed by: pinned by the operator, or learned at the first connected sync.
    pub authority_key: Option<String>,
    /// The key id of `authority_key`.
    pub authority_key_id: Option<String>,
}

/// A change to the preferences; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct PrefsChange {
    pub connected: Option<bool>,
    pub smart_account: Option<String>,
    pub virtual_account: Option<String>,
    pub authority_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub default_connect_method: Option<ConnectMethod>,
    pub validate_device: Option<bool>,
    /// The authority's public key to pin: base64, or the text of `slp authority key show`.
    pub authority_key: Option<String>,
}

/// Reads an authority public key: the base64 key itself, or the output of `slp authority key
/// show` (its `Public key:` line). Returns the base64 key; the error says what is wrong.
pub fn parse_authority_key(text: &str) -> Result<String> {
    slp_wire::keys::parse_public_key_text(text).map_err(|e| RelayError::Invalid {
        what: "--authority-key".to_owned(),
        reason: match e {
            slp_wire::WireError::Key { reason, .. } => reason,
            other => other.to_string(),
        },
    })
}

/// The key id of a pinned key, for messages (the key itself when it cannot be read).
pub(crate) fn key_id_of(key: &str) -> String {
    slp_wire::keys::key_id(key).unwrap_or_else(|_| key.to_owned())
}

/// One inventory row as `pi list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PiView {
    pub udi: Option<String>,
    pub hostname: Option<String>,
    pub host: Option<String>,
    pub connect_method: String,
    /// RFC 3339, or none before the first contact.
    pub last_contact: Option<String>,
    pub alerts: Vec<String>,
    /// Documents waiting for an ACK.
    pub pending: i64,
}

/// What to add to the inventory.
#[derive(Debug, Clone, Default)]
pub struct PiSpec {
    pub host: Option<String>,
    pub udi: Option<String>,
    pub connect_method: Option<ConnectMethod>,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// The relay: its database and its clock.
pub struct Relay {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Extra trust roots (`--ca`) of its HTTPS clients: to the authority and to pulled devices.
    roots: slp_http::TrustRoots,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("store", &self.store.path()).finish_non_exhaustive()
    }
}

/// The relay's trust pool in its data directory: CA certificates (PEM) its HTTPS clients trust
/// on every command (`slp lab` puts its CA there); `--ca FILE` adds one for one command.
pub const TRUSTPOOL_FILE: &str = "trustpool.pem";

/// Default body limit of the push endpoint.
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;
/// Seconds a device should wait before polling.
pub const POLL_INTERVAL_SECS: u64 = 300;

use slp_core::text::rfc3339_ts as rfc3339;

/// Normalises a device address: `127.0.0.1:4100` or `http://127.0.0.1:4100[/]` →
/// `http://127.0.0.1:4100`.
pub fn normalize_host(text: &str) -> Result<String> {
    let bad = |reason: &str| RelayError::Invalid {
        what: format!("host {text:?}"),
        reason: reason.to_owned(),
    };
    let trimmed = text.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Err(bad("is empty"));
    }
    let with_scheme =
        if trimmed.contains("://") { trimmed.to_owned() } else { format!("http://{trimmed}") };
    let url = reqwest::Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("use http:// or https://"));
    }
    if url.host_str().is_none() {
        return Err(bad("names no host"));
    }
    if url.path() != "/" && !url.path().is_empty() {
        return Err(bad("give the device address only, without a path"));
    }
    Ok(with_scheme)
}

impl Relay {
    /// Opens the relay in `dir` (`dir/relay.db`); its HTTPS clients trust the CAs of
    /// `dir/trustpool.pem` when there is one, besides the public (Mozilla) roots.
    pub async fn open(dir: &std::path::Path, clock: Arc<dyn Clock>) -> Result<Relay> {
        let pool = dir.join(TRUSTPOOL_FILE);
        let roots = if pool.exists() {
            slp_http::TrustRoots::from_pem_file(&pool).map_err(|err| RelayError::Invalid {
                what: "the trust pool".to_owned(),
                reason: err.to_string(),
            })?
        } else {
            slp_http::TrustRoots::system()
        };
        let store = Store::open(dir).await?;
        let relay = Relay { store, clock, roots };
        let mut tx = relay.store.begin().await?;
        if store::pref(&mut tx, "relay_uuid").await?.is_none() {
            let id = uuid::Uuid::new_v4().to_string();
            store::set_pref(&mut tx, "relay_uuid", Some(&id)).await?;
        }
        tx.commit().await.map_err(RelayError::Database)?;
        Ok(relay)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Also trusts `roots` (a `--ca` file) for the authority's and the pulled devices'
    /// certificates, besides the trust pool and the public (Mozilla) roots.
    pub fn with_trust_roots(mut self, roots: slp_http::TrustRoots) -> Relay {
        self.roots = roots.merged(&self.roots);
        self
    }

    pub(crate) fn roots(&self) -> &slp_http::TrustRoots {
        &self.roots
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// The preferences.
    pub async fn prefs(&self) -> Result<Prefs> {
        let mut conn = self.store.pool().acquire().await.map_err(RelayError::Database)?;
        read_prefs(&mut conn).await
    }

    /// Changes the preferences; connected mode needs the authority URL, client credentials and
    /// the smart and virtual account (checked after the change).
    pub async fn set_prefs(&self, change: PrefsChange) -> Result<Prefs> {
        let mut tx = self.store.begin().await?;
        let bool_text = |b: bool| if b { "true" } else { "false" };
        if let Some(c) = change.connected {
            store::set_pref(&mut tx, "connected", Some(bool_text(c))).await?;
        }
        if let Some(url) = &change.authority_url {
            let url = url.trim().trim_end_matches('/');
            let parsed = reqwest::Url::parse(url).map_err(|e| RelayError::Invalid {
                what: format!("--authority-url {url:?}"),
                reason: e.to_string(),
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(RelayError::Invalid {
                    what: format!("--authority-url {url:?}"),
                    reason: "use http:// or https://".into(),
                });
            }
            store::set_pref(&mut tx, "authority_url", Some(url)).await?;
        }
        for (key, value) in [
            ("smart_account", &change.smart_account),
            ("virtual_account", &change.virtual_account),
            ("client_id", &change.client_id),
            ("client_secret", &change.client_secret),
        ] {
            if let Some(value) = value {
                let value = value.trim();
                if value.is_empty() {
                    return Err(RelayError::Invalid {
                        what: key.replace('_', " "),
                        reason: "is empty".into(),
                    });
                }
                store::set_pref(&mut tx, key, Some(value)).await?;
            }
        }
        if let Some(method) = change.default_connect_method {
            store::set_pref(&mut tx, "default_connect_method", Some(method.as_str())).await?;
        }
        if let Some(v) = change.validate_device {
            store::set_pref(&mut tx, "validate_device", Some(bool_text(v))).await?;
        }
        if let Some(text) = &change.authority_key {
            let key = parse_authority_key(text)?;
            store::set_pref(&mut tx, "authority_key", Some(&key)).await?;
            tracing::info!(key_id = %key_id_of(&key), "authority key pinned");
        }
        let prefs = read_prefs(&mut tx).await?;
        if prefs.connected {
            connected_config(&prefs)?;
        }
        tx.commit().await.map_err(RelayError::Database)?;
        tracing::info!(
            connected = prefs.connected,
            validate_device = prefs.validate_device,
            "relay preferences changed"
        );
        Ok(prefs)
    }

    /// Adds one product instance to the inventory.
    pub async fn pi_add(&self, spec: PiSpec) -> Result<PiView> {
        let mut tx = self.store.begin().await?;
        let prefs = read_prefs(&mut tx).await?;
        add_device(&mut tx, &spec, &prefs, self.now(), "pi add").await?;
        tx.commit().await.map_err(RelayError::Database)?;
        let views = self.pi_list().await?;
        let host = spec.host.as_deref().map(normalize_host).transpose()?;
        views
            .into_iter()
            .find(|v| {
                (host.is_some() && v.host == host) || (spec.udi.is_some() && v.udi == spec.udi)
            })
            .ok_or_else(|| RelayError::Config("the added device is not in the inventory".into()))
    }

    /// Changes the credentials a pull uses for the device at `host` (CSLU's "Edit Product
    /// Instance"); the device's documents and answers stay as they are.
    pub async fn pi_edit(&self, host: &str, username: &str, password: &str) -> Result<PiView> {
        let host = normalize_host(host)?;
        let mut tx = self.store.begin().await?;
        let Some(device) = store::device_by_host(&mut tx, &host).await? else {
            return Err(RelayError::Invalid {
                what: "pi edit".to_owned(),
                reason: format!("{host} is not in the inventory"),
            });
        };
        store::exec(
            &mut tx,
            "UPDATE devices SET username = ?, password = ? WHERE id = ?",
            &[
                store::Bind::Text(username),
                store::Bind::Text(password),
                store::Bind::Int(device.id),
            ],
        )
        .await?;
        tx.commit().await.map_err(RelayError::Database)?;
        tracing::info!(host = %host, "credentials changed");
        self.pi_list()
            .await?
            .into_iter()
            .find(|v| v.host.as_deref() == Some(host.as_str()))
            .ok_or_else(|| RelayError::Config("the edited device is not in the inventory".into()))
    }

    /// The operator's re-bind of a UDI whose device was replaced or re-keyed: forgets the device
    /// key `udi` is bound to, so its next signed document binds again. Returns the key id it
    /// was bound to (`None`: it was not bound). Logged at warn.
    pub async fn pi_rebind(&self, udi: &str) -> Result<Option<String>> {
        let mut tx = self.store.begin().await?;
        let Some(device) = store::device_by_udi(&mut tx, udi).await? else {
            return Err(RelayError::Invalid {
                what: "pi rebind".to_owned(),
                reason: format!("{udi} is not in the inventory (see `slp relay pi list`)"),
            });
        };
        let bound = store::device_key(&mut tx, device.id).await?;
        store::set_device_key(&mut tx, device.id, None).await?;
        tx.commit().await.map_err(RelayError::Database)?;
        let bound_id = bound.as_deref().map(key_id_of);
        tracing::warn!(
            udi,
            was = bound_id.as_deref().unwrap_or("-"),
            "device key unbound by the operator: the next signed document binds"
        );
        Ok(bound_id)
    }

    /// "Authorization Code Request": the CSV (`PID,Serial Number`) of the devices that need a
    /// SLAC — the given UDIs, or every device whose UDI the relay knows — with every unit of an
    /// HA set, for the authority's `slac generate --csv`.
    pub async fn auth_request(&self, udis: &[String]) -> Result<(String, Vec<String>)> {
        let mut conn = self.store.pool().acquire().await.map_err(RelayError::Database)?;
        let mut heads: Vec<String> = Vec::new();
        if udis.is_empty() {
            for view in self.pi_list().await? {
                if let Some(udi) = view.udi
                    && !view.alerts.iter().any(|a| a == "Unknown device")
                {
                    heads.push(udi);
                }
            }
        } else {
            for text in udis {
                let udi = text
                    .parse::<slp_core::udi::Udi>()
                    .map_err(|e| RelayError::Invalid {
                        what: "pi auth-request".to_owned(),
                        reason: format!("--udi {text:?}: {e}"),
                    })?
                    .to_string();
                if store::device_by_udi(&mut conn, &udi).await?.is_none() {
                    return Err(RelayError::Invalid {
                        what: "pi auth-request".to_owned(),
                        reason: format!("{udi} is not in the inventory"),
                    });
                }
                heads.push(udi);
            }
        }
        let mut all: Vec<String> = Vec::new();
        for head in heads {
            let units: Vec<String> = sqlx::query_scalar(
                "SELECT unit_udi FROM units WHERE active_udi = ? ORDER BY unit_udi",
            )
            .bind(&head)
            .fetch_all(&mut *conn)
            .await
            .map_err(RelayError::Database)?;
            for udi in std::iter::once(head).chain(units) {
                if !all.contains(&udi) {
                    all.push(udi);
                }
            }
        }
        if all.is_empty() {
            return Err(RelayError::Invalid {
                what: "pi auth-request".to_owned(),
                reason: "no device with a known UDI in the inventory".to_owned(),
            });
        }
        let parsed: Vec<slp_core::udi::Udi> = all.iter().filter_map(|u| u.parse().ok()).collect();
        Ok((slp_wire::slac_csv::write_requests(&parsed), all))
    }

    /// Imports an inventory CSV (`host,connect method,username,password`, header optional):
    /// all rows or none.
    pub async fn pi_import(&self, path: &std::path::Path) -> Result<usize> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| RelayError::Io { path: path.to_owned(), source })?;
        let mut specs = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let bad = |reason: String| RelayError::Csv { file: file.clone(), line: number, reason };
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let fields = split_csv(line).map_err(bad)?;
            if specs.is_empty()
                && fields.first().is_some_and(|f| f.trim().eq_ignore_ascii_case("host"))
            {
                continue;
            }
            if fields.len() > 4 {
                return Err(bad(format!(
                    "{} columns; expected host, connect method, username, password",
                    fields.len()
                )));
            }
            let get =
                |i: usize| fields.get(i).map(|f| f.trim().to_owned()).filter(|f| !f.is_empty());
            let host = get(0).ok_or_else(|| bad("the host column is empty".into()))?;
            normalize_host(&host).map_err(|e| bad(e.to_string()))?;
            let connect_method = get(1)
                .map(|m| {
                    ConnectMethod::parse(&m).ok_or_else(|| {
                        bad(format!("{m:?} is not a connect method: use rest-pull or push"))
                    })
                })
                .transpose()?;
            let (username, password) = (get(2), get(3));
            if username.is_some() != password.is_some() {
                return Err(bad("give both username and password, or neither".into()));
            }
            specs.push((
                number,
                PiSpec { host: Some(host), udi: None, connect_method, username, password },
            ));
        }
        let mut tx = self.store.begin().await?;
        let prefs = read_prefs(&mut tx).await?;
        for (line, spec) in &specs {
            add_device(&mut tx, spec, &prefs, self.now(), &format!("{file}, line {line}"))
                .await
                .map_err(|e| match e {
                    RelayError::Invalid { reason, .. } => {
                        RelayError::Csv { file: file.clone(), line: *line, reason }
                    }
                    other => other,
                })?;
        }
        tx.commit().await.map_err(RelayError::Database)?;
        tracing::info!(file = %file, devices = specs.len(), "inventory imported");
        Ok(specs.len())
    }

    /// The inventory with Last Contact and Alerts.
    pub async fn pi_list(&self) -> Result<Vec<PiView>> {
        Ok(self.pi_page(i64::MAX, 0).await?.0)
    }

    /// At most `limit` rows of the inventory after `offset` (the database pages), and how many
    /// devices the inventory has.
    pub async fn pi_page(&self, limit: i64, offset: i64) -> Result<(Vec<PiView>, i64)> {
        let mut conn = self.store.pool().acquire().await.map_err(RelayError::Database)?;
        let (devices, total) = store::devices_page(&mut conn, limit, offset).await?;
        let mut out = Vec::new();
        for d in devices {
            let mut alerts = Vec::new();
            if let Some(alert) = &d.comm_alert {
                alerts.push(alert.clone());
            }
            if d.unknown {
                alerts.push("Unknown device".to_owned());
            }
            let mut pending = 0;
            if let Some(udi) = &d.udi {
                pending = store::scalar_i64(
                    &mut conn,
                    "SELECT COUNT(*) FROM documents WHERE udi = ? AND answer_id IS NULL AND rejected IS NULL",
                    udi,
                )
                .await?;
                let rejected = store::scalar_i64(
                    &mut conn,
                    "SELECT COUNT(*) FROM documents WHERE udi = ? AND rejected IS NOT NULL AND answer_id IS NULL",
                    udi,
                )
                .await?;
                let undelivered: Vec<String> = sqlx::query_scalar(
                    "SELECT xml FROM answers WHERE udi = ? AND delivered_poll IS NULL AND installed_at IS NULL",
                )
                .bind(udi)
                .fetch_all(&mut *conn)
                .await
                .map_err(RelayError::Database)?;
                if pending > 0 {
                    alerts.push("ACK pending".to_owned());
                }
                if rejected > 0 {
                    alerts.push("REJECTED".to_owned());
                }
                if !undelivered.is_empty() {
                    alerts.push("ACK ready".to_owned());
                }
                if undelivered.iter().any(|xml| check::has_authorization(xml)) {
                    alerts.push("Authorization message received from CSSM".to_owned());
                }
            }
            out.push(PiView {
                udi: d.udi,
                hostname: d.hostname,
                host: d.host,
                connect_method: d.connect_method,
                last_contact: d.last_contact.map(rfc3339),
                alerts,
                pending,
            });
        }
        Ok((out, total))
    }
}

pub(crate) async fn read_prefs(conn: &mut SqliteConnection) -> Result<Prefs> {
    let get = async |conn: &mut SqliteConnection, key: &str| store::pref(conn, key).await;
    let connected = get(conn, "connected").await?.is_some_and(|v| v == "true");
    let validate_device = get(conn, "validate_device").await?.is_some_and(|v| v == "true");
    let default_connect_method = get(conn, "default_connect_method")
        .await?
        .and_then(|v| ConnectMethod::parse(&v))
        .unwrap_or(ConnectMethod::Push);
    let client_secret = get(conn, "client_secret").await?;
    let authority_key = get(conn, "authority_key").await?;
    Ok(Prefs {
        connected,
        smart_account: get(conn, "smart_account").await?,
        virtual_account: get(conn, "virtual_account").await?,
        authority_url: get(conn, "authority_url").await?,
        client_id: get(conn, "client_id").await?,
        client_secret_set: client_secret.is_some(),
        client_secret,
        default_connect_method,
        validate_device,
        relay_uuid: get(conn, "relay_uuid").await?.unwrap_or_default(),
        authority_key_id: authority_key.as_deref().map(key_id_of),
        authority_key,
    })
}

/// What connected mode needs, checked.
pub(crate) struct ConnectedConfig {
    pub authority_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub smart_account: String,
    pub virtual_account: String,
}

pub(crate) fn connected_config(prefs: &Prefs) -> Result<ConnectedConfig> {
    let need = |value: &Option<String>, flag: &str| {
        value.clone().ok_or_else(|| {
            RelayError::Config(format!(
                "connected mode needs {flag}: slp relay prefs set --connected --account DOMAIN --va NAME --authority-url URL --client-id ID --client-secret SECRET"
            ))
        })
    };
    Ok(ConnectedConfig {
        authority_url: need(&prefs.authority_url, "--authority-url")?,
        client_id: need(&prefs.client_id, "--client-id")?,
        client_secret: need(&prefs.client_secret, "--client-secret")?,
        smart_account: need(&prefs.smart_account, "--account")?,
        virtual_account: need(&prefs.virtual_account, "--va")?,
    })
}

async fn add_device(
    conn: &mut SqliteConnection,
    spec: &PiSpec,
    prefs: &Prefs,
    now: i64,
    what: &str,
) -> Result<i64> {
    let invalid = |reason: String| RelayError::Invalid { what: what.to_owned(), reason };
    let method = spec.connect_method.unwrap_or(match spec.host {
        Some(_) if prefs.default_connect_method == ConnectMethod::Push && spec.udi.is_none() => {
            ConnectMethod::RestPull
        }
        _ => prefs.default_connect_method,
    });
    let host = spec.host.as_deref().map(normalize_host).transpose()?;
    let udi = spec
        .udi
        .as_deref()
        .map(|u| {
            u.parse::<slp_core::udi::Udi>()
                .map(|u| u.to_string())
                .map_err(|e| invalid(format!("--udi {u:?}: {e}")))
        })
        .transpose()?;
    if host.is_none() && udi.is_none() {
        return Err(invalid("give --host (pull) or --udi (push)".into()));
    }
    if method == ConnectMethod::RestPull {
        if host.is_none() {
            return Err(invalid("rest-pull needs --host".into()));
        }
        if spec.username.is_none() || spec.password.is_none() {
            return Err(invalid(
                "rest-pull needs --username and --password (a privilege 15 user of the device)"
                    .into(),
            ));
        }
    }
    if let Some(host) = &host
        && store::device_by_host(conn, host).await?.is_some()
    {
        return Err(invalid(format!("{host} is already in the inventory")));
    }
    if let Some(udi) = &udi
        && let Some(existing) = store::device_by_udi(conn, udi).await?
    {
        if existing.unknown {
            // An ACK arrived before the device was added: it is known now.
            store::exec(
                conn,
                "UPDATE devices SET unknown = 0, host = COALESCE(?, host), connect_method = ?, username = ?, password = ? WHERE id = ?",
                &[
                    store::Bind::OptText(host.as_deref()),
                    store::Bind::Text(method.as_str()),
                    store::Bind::OptText(spec.username.as_deref()),
                    store::Bind::OptText(spec.password.as_deref()),
                    store::Bind::Int(existing.id),
                ],
            )
            .await?;
            return Ok(existing.id);
        }
        return Err(invalid(format!("{udi} is already in the inventory")));
    }
    let id = store::insert_device(
        conn,
        &store::NewDevice {
            host: host.as_deref(),
            udi: udi.as_deref(),
            hostname: None,
            connect_method: method.as_str(),
            username: spec.username.as_deref(),
            password: spec.password.as_deref(),
            unknown: false,
        },
        now,
    )
    .await?;
    tracing::info!(host = ?host, udi = ?udi, method = method.as_str(), "product instance added");
    Ok(id)
}

/// Splits one CSV line: commas, optional double quotes (`""` inside quotes is a quote).
fn split_csv(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.trim().is_empty() && !was_quoted => {
                field.clear();
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            (false, '"') => return Err("a quote in the middle of an unquoted field".into()),
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_and_hosts() {
        assert_eq!(split_csv("a, b ,\"c,d\",\"e\"\"f\"").unwrap(), vec!["a", " b ", "c,d", "e\"f"]);
        assert!(split_csv("a,\"b").is_err());
        assert_eq!(normalize_host("127.0.0.1:4100").unwrap(), "http://127.0.0.1:4100");
        assert_eq!(normalize_host("http://h:1/").unwrap(), "http://h:1");
        assert!(normalize_host("ftp://h").is_err());
        assert!(normalize_host("http://h/x").is_err());
        assert_eq!(ConnectMethod::parse("RESTAPI"), Some(ConnectMethod::RestPull));
    }
}
