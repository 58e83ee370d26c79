//! Connected mode: forwarding stored documents to the authority and fetching its answers.
//!
//! The authority API is Cisco's CSSM shape (PROTOCOL.md §7.3): OAuth2 client credentials at
//! `POST {authority}/oauth2/token`, then under `/services/api/smart-accounts-and-licensing`:
//! `POST /v2/devices/reportusage` (usage and trust requests), `POST /v2/devices/authrequest`
//! (SLAC requests and returns), `POST /v2/accounts/poll` for the answers, `GET
//! /v1/authority/key` once to pin the key every answer must be signed by, with the smart and
//! virtual account in `X-CSW-SMART-ACCOUNT-ID` / `X-CSW-VIRTUAL-ACCOUNT-ID`. The bodies are
//! the one contract's ([`slp_wire::cssm::report`]); slp's signed items travel in them as
//! `{"data": "<json text>", "signature": {"alg", "key", "value"}}`.
//!
//! [`Upstream`] is the seam: [`HttpUpstream`] speaks that contract; tests substitute their own.
//! [`Relay::sync`] is one forwarding cycle: poll what is outstanding, send what is new, poll it,
//! install answers on pulled devices. A failure leaves everything stored and marks the devices
//! `COMM FAILED`; the next cycle retries. Re-sending is harmless: the authority is idempotent on
//! (UDI, report id), and the relay sends a byte-identical body for the same documents.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use slp_wire::cssm::oauth::{TokenReply, TokenRequest};
use slp_wire::cssm::report::{
    AuthRequestData, AuthRequestRequest, COMPLETE, LicenseEntry, OK_POLL, PollAccepted,
    PollComplete, PollData, PollId, PollRequest, ReportUsageData, ReportUsageRequest, SignedJson,
    StatusReply, UsageEntry, UsageItem,
};
use slp_wire::rum::{Envelope, Sudi};
use slp_wire::xml::{Document, Kind};

use crate::check::{self, DocKind};
use crate::intake::NewAnswer;
use crate::store::{self, Bind, DocumentRow};
use crate::{Relay, RelayError, Result, connected_config, read_prefs};

/// API prefix of the CSSM-style paths.
pub const API_PREFIX: &str = slp_wire::cssm::BASE;
/// At most this many product instances per upstream request.
pub const BATCH: usize = 50;

/// Why talking to the authority failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// Not reachable, timed out, or an unreadable reply: retried next cycle.
    #[error("{0}")]
    Unreachable(String),
    /// The authority answered with a refusal (4xx) for the request as a whole.
    #[error("HTTP {status}: {message}")]
    Refused { status: u16, message: String },
    /// The poll id is unknown to the authority (the request must be sent again).
    #[error("poll id {0} is unknown to the authority")]
    PollNotFound(String),
    /// An answer not signed by the pinned authority key: nothing of the poll is stored, and the
    /// next cycle asks again.
    #[error("{0}")]
    Untrusted(String),
}

impl UpstreamError {
    fn is_refusal(&self) -> bool {
        matches!(self, UpstreamError::Refused { status, .. } if (400..500).contains(status) && *status != 401 && *status != 403 && *status != 404)
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The authority's immediate answer: poll later with this id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub poll_id: String,
}

/// The answer to a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollResult {
    /// `OK_POLL`: still working.
    Pending,
    /// `COMPLETE`: one result per entry of the request, in order.
    Complete(Vec<EntryResult>),
}

/// The result for one product instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryResult {
    pub sudi: Sudi,
    /// The answer document (decoded from base64), if any.
    pub smart_license: Option<String>,
    /// `FAILED` with a message, for an authorization the pool cannot serve.
    pub failed: Option<String>,
}

/// The authority, as the relay uses it.
pub trait Upstream: Send + Sync {
    /// `POST /v2/devices/reportusage`.
    fn report_usage(
        &self,
        body: ReportUsageRequest,
    ) -> BoxFuture<'_, Result<Accepted, UpstreamError>>;
    /// `POST /v2/devices/authrequest`.
    fn auth_request(
        &self,
        body: AuthRequestRequest,
    ) -> BoxFuture<'_, Result<Accepted, UpstreamError>>;
    /// `POST /v2/accounts/poll`.
    fn poll(
        &self,
        poll_id: String,
        action: String,
    ) -> BoxFuture<'_, Result<PollResult, UpstreamError>>;
    /// `GET /v1/authority/key`: the authority's public signing key (base64), which the relay
    /// pins at its first sync when the operator has not pinned one.
    fn authority_key(&self) -> BoxFuture<'_, Result<String, UpstreamError>>;
}

// ---- request bodies (PROTOCOL.md §7.3, the contract of `slp_wire::cssm::report`) ----------

fn entry_parts(doc: &DocumentRow) -> Result<(Document, Sudi, i64, String)> {
    let parsed = Document::parse(&doc.xml).map_err(|e| RelayError::Refused {
        udi: doc.udi.clone(),
        reason: format!("stored document {} is unreadable: {e}", doc.id),
    })?;
    let info = parsed
        .of(Kind::SystemInfo)
        .next()
        .and_then(|i| i.json::<slp_wire::docs::SystemInfo>().ok());
    let sudi = match &info {
        Some(info) => info.sudi.clone(),
        None => sudi_of(&doc.udi)?,
    };
    let timestamp = info.as_ref().map_or(doc.received_at * 1000, |i| i.timestamp);
    let nonce = info.map_or_else(|| doc.poll_id.clone(), |i| i.nonce);
    Ok((parsed, sudi, timestamp, nonce))
}

fn sudi_of(udi: &str) -> Result<Sudi> {
    let parsed: slp_core::udi::Udi = udi.parse().map_err(|e| RelayError::Invalid {
        what: format!("UDI {udi:?}"),
        reason: format!("{e}"),
    })?;
    Ok(Sudi::of(&parsed))
}

/// The `reportusage` entry of a stored usage document.
pub fn usage_entry(doc: &DocumentRow) -> Result<UsageEntry> {
    let (parsed, sudi, timestamp, nonce) = entry_parts(doc)?;
    let mut usage = Vec::new();
    for (i, report) in parsed.reports.iter().enumerate() {
        let envelope = Envelope::parse(report).map_err(|e| RelayError::Refused {
            udi: doc.udi.clone(),
            reason: format!(
                "RUM report #{} of stored document {} is unreadable: {e}",
                i + 1,
                doc.id
            ),
        })?;
        usage.push(UsageItem::of(envelope));
    }
    Ok(UsageEntry {
        sudi,
        hostname: doc.hostname.clone(),
        software_tag_identifier: doc.software_tag.clone(),
        nonce: Some(nonce),
        timestamp: Some(timestamp),
        trust_requests: parsed.of(Kind::TrustRequest).map(SignedJson::of).collect(),
        transaction_id: None,
        license_pool_id: None,
        usage,
        system_info: parsed.of(Kind::SystemInfo).next().map(SignedJson::of),
    })
}

/// The `authrequest` entry of a stored SLAC request or return.
pub fn license_entry(doc: &DocumentRow) -> Result<LicenseEntry> {
    let (parsed, sudi, _, _) = entry_parts(doc)?;
    Ok(LicenseEntry {
        sudi,
        hostname: doc.hostname.clone(),
        software_tag_identifier: doc.software_tag.clone(),
        keys: Vec::new(),
        confirm_code: None,
        remove_code: None,
        trust_request: parsed.of(Kind::TrustRequest).next().map(SignedJson::of),
        auth_request: parsed.of(Kind::AuthRequest).next().map(SignedJson::of),
        auth_return: parsed.of(Kind::AuthReturn).next().map(SignedJson::of),
        system_info: parsed.of(Kind::SystemInfo).next().map(SignedJson::of),
    })
}

/// Deterministic top-level nonce and timestamp for a batch, so that re-sending the same
/// documents sends the same body (the authority then answers with the same poll id).
fn batch_stamp(docs: &[DocumentRow]) -> (i64, String) {
    let joined: String = docs.iter().map(|d| d.poll_id.as_str()).collect::<Vec<_>>().join(",");
    let nonce: String = slp_core::text::sha256_hex(joined.as_bytes()).chars().take(16).collect();
    let timestamp = docs.iter().map(|d| d.received_at).max().unwrap_or(0) * 1000;
    (timestamp, nonce)
}

// ---- HTTP client -----------------------------------------------------------------------------

/// The authority over HTTP(S), with a cached OAuth2 token.
pub struct HttpUpstream {
    base: String,
    client_id: String,
    client_secret: String,
    smart_account: String,
    virtual_account: String,
    http: reqwest::Client,
    clock: std::sync::Arc<dyn slp_clock::Clock>,
    token: Mutex<Option<(String, i64)>>,
}

impl std::fmt::Debug for HttpUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpUpstream").field("base", &self.base).finish_non_exhaustive()
    }
}

fn describe(err: &reqwest::Error) -> String {
    if let Some(problem) = slp_http::tls::certificate_problem(err) {
        problem
    } else if err.is_connect() {
        "Unable to connect to the authority".to_owned()
    } else if err.is_timeout() {
        "Timeout waiting for the authority".to_owned()
    } else {
        err.to_string()
    }
}

impl HttpUpstream {
    pub(crate) fn new(
        config: &crate::ConnectedConfig,
        clock: std::sync::Arc<dyn slp_clock::Clock>,
        roots: &slp_http::TrustRoots,
    ) -> Result<HttpUpstream> {
        let http = roots
            .client()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        Ok(HttpUpstream {
            base: config.authority_url.trim_end_matches('/').to_owned(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            smart_account: config.smart_account.clone(),
            virtual_account: config.virtual_account.clone(),
            http,
            clock,
            token: Mutex::new(None),
        })
    }

    async fn token(&self, fresh: bool) -> Result<String, UpstreamError> {
        let now = self.clock.now().timestamp();
        if !fresh
            && let Some((token, expires)) =
                self.token.lock().unwrap_or_else(|p| p.into_inner()).clone()
            && expires > now + 60
        {
            return Ok(token);
        }
        let url = format!("{}/oauth2/token", self.base);
        let response = self
            .http
            .post(&url)
            .form(&TokenRequest::client_credentials(&self.client_id, &self.client_secret))
            .send()
            .await
            .map_err(|e| UpstreamError::Unreachable(describe(&e)))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| UpstreamError::Unreachable(describe(&e)))?;
        if !status.is_success() {
            return Err(UpstreamError::Refused {
                status: status.as_u16(),
                message: format!(
                    "token request for API client {:?} refused: {} (check `prefs set --client-id/--client-secret`)",
                    self.client_id,
                    message_of(&text)
                ),
            });
        }
        let reply: TokenReply = serde_json::from_str(&text).map_err(|e| {
            UpstreamError::Unreachable(format!("unreadable token reply from {url}: {e}"))
        })?;
        let expires = now + reply.expires_in;
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((reply.access_token.clone(), expires));
        Ok(reply.access_token)
    }

    async fn post(&self, path: &str, body: &Value) -> Result<(u16, String), UpstreamError> {
        let url = format!("{}{API_PREFIX}{path}", self.base);
        let mut fresh = false;
        loop {
            let token = self.token(fresh).await?;
            let response = self
                .http
                .post(&url)
                .bearer_auth(&token)
                .header("X-CSW-SMART-ACCOUNT-ID", &self.smart_account)
                .header("X-CSW-VIRTUAL-ACCOUNT-ID", &self.virtual_account)
                .json(body)
                .send()
                .await
                .map_err(|e| UpstreamError::Unreachable(describe(&e)))?;
            let status = response.status().as_u16();
            let text =
                response.text().await.map_err(|e| UpstreamError::Unreachable(describe(&e)))?;
            if status == 401 && !fresh {
                // The cached token expired or the authority restarted its key: once more.
                fresh = true;
                continue;
            }
            return Ok((status, text));
        }
    }

    async fn get(&self, path: &str) -> Result<(u16, String), UpstreamError> {
        let url = format!("{}{API_PREFIX}{path}", self.base);
        let mut fresh = false;
        loop {
            let token = self.token(fresh).await?;
            let response = self
                .http
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await
                .map_err(|e| UpstreamError::Unreachable(describe(&e)))?;
            let status = response.status().as_u16();
            let text =
                response.text().await.map_err(|e| UpstreamError::Unreachable(describe(&e)))?;
            if status == 401 && !fresh {
                fresh = true;
                continue;
            }
            return Ok((status, text));
        }
    }

    async fn submit(&self, path: &str, body: Value) -> Result<Accepted, UpstreamError> {
        let (status, text) = self.post(path, &body).await?;
        if !(200..300).contains(&status) {
            return Err(UpstreamError::Refused { status, message: message_of(&text) });
        }
        let unreadable = |e: serde_json::Error| {
            UpstreamError::Unreachable(format!("unreadable reply to {path}: {e}"))
        };
        let reply: StatusReply = serde_json::from_str(&text).map_err(unreadable)?;
        if reply.status != OK_POLL {
            let message = Some(reply.message)
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| format!("status {}", reply.status));
            return Err(UpstreamError::Refused { status, message });
        }
        // A JSON number above 2^53: read as a 64-bit integer, never a float.
        let accepted: PollAccepted = serde_json::from_str(&text).map_err(unreadable)?;
        Ok(Accepted { poll_id: accepted.poll_id.to_string() })
    }
}

fn message_of(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| text.chars().take(300).collect())
}

fn decode(b64: &str) -> Result<String, UpstreamError> {
    let bytes = BASE64
        .decode(b64.trim())
        .map_err(|e| UpstreamError::Unreachable(format!("smart_license is not base64: {e}")))?;
    String::from_utf8(bytes)
        .map_err(|_| UpstreamError::Unreachable("smart_license is not UTF-8 text".to_owned()))
}

impl Upstream for HttpUpstream {
    fn authority_key(&self) -> BoxFuture<'_, Result<String, UpstreamError>> {
        Box::pin(async move {
            let (status, text) = self.get("/v1/authority/key").await?;
            if !(200..300).contains(&status) {
                return Err(UpstreamError::Refused { status, message: message_of(&text) });
            }
            serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("publicKey").and_then(Value::as_str).map(str::to_owned))
                .ok_or_else(|| {
                    UpstreamError::Unreachable(
                        "the authority's key reply has no publicKey".to_owned(),
                    )
                })
        })
    }

    fn report_usage(
        &self,
        body: ReportUsageRequest,
    ) -> BoxFuture<'_, Result<Accepted, UpstreamError>> {
        Box::pin(async move {
            let body = serde_json::to_value(&body)
                .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
            self.submit("/v2/devices/reportusage", body).await
        })
    }

    fn auth_request(
        &self,
        body: AuthRequestRequest,
    ) -> BoxFuture<'_, Result<Accepted, UpstreamError>> {
        Box::pin(async move {
            let body = serde_json::to_value(&body)
                .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
            self.submit("/v2/devices/authrequest", body).await
        })
    }

    fn poll(
        &self,
        poll_id: String,
        action: String,
    ) -> BoxFuture<'_, Result<PollResult, UpstreamError>> {
        Box::pin(async move {
            let body = PollRequest {
                data: PollData {
                    timestamp: Some(self.clock.now().timestamp_millis()),
                    nonce: None,
                    poll_id: PollId::of_text(&poll_id),
                    action: Some(action),
                    kind: None,
                },
            };
            let body = serde_json::to_value(&body)
                .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
            let (status, text) = self.post("/v2/accounts/poll", &body).await?;
            if status == 404 {
                return Err(UpstreamError::PollNotFound(poll_id));
            }
            if !(200..300).contains(&status) {
                return Err(UpstreamError::Refused { status, message: message_of(&text) });
            }
            let unreadable = |e: serde_json::Error| {
                UpstreamError::Unreachable(format!("unreadable poll reply: {e}"))
            };
            let reply: StatusReply = serde_json::from_str(&text).map_err(unreadable)?;
            match reply.status.as_str() {
                OK_POLL if reply.message.is_empty() => Ok(PollResult::Pending),
                OK_POLL => Err(UpstreamError::Refused { status, message: reply.message }),
                COMPLETE => {
                    let complete: PollComplete = serde_json::from_str(&text).map_err(unreadable)?;
                    let data = complete.data;
                    let mut out = Vec::new();
                    for ack in data.acknowledgements.unwrap_or_default() {
                        let smart_license = Some(decode(&ack.smart_license)?);
                        out.push(EntryResult { sudi: ack.sudi, smart_license, failed: None });
                    }
                    for result in data.authorizations.unwrap_or_default() {
                        let smart_license =
                            result.smart_license.as_deref().map(decode).transpose()?;
                        let failed = (result.status == "FAILED").then(|| {
                            Some(result.status_message)
                                .filter(|m| !m.is_empty())
                                .unwrap_or_else(|| "FAILED".to_owned())
                        });
                        out.push(EntryResult { sudi: result.sudi, smart_license, failed });
                    }
                    Ok(PollResult::Complete(out))
                }
                other => Err(UpstreamError::Refused {
                    status,
                    message: Some(reply.message)
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| format!("poll status {other}")),
                }),
            }
        })
    }
}

// ---- the forwarding cycle ------------------------------------------------------------------

/// What one [`Relay::sync`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Documents sent to the authority.
    pub sent: usize,
    /// Answers received and stored.
    pub answers: usize,
    /// Documents the authority refused (marked REJECTED, not resent).
    pub rejected: Vec<String>,
    /// Upstream requests still being processed.
    pub outstanding: usize,
    /// Answers installed on pulled devices.
    pub installed: Vec<String>,
    /// Failures (COMM FAILED) — everything stays stored for the next cycle.
    pub failures: Vec<String>,
}

const AUTHORITY_ALERT: &str = "COMM FAILED: authority";

/// When `serve` runs the next forwarding cycle, on the relay's clock: one interval after start,
/// then every interval (a failed cycle is retried at the next one; nothing is lost meanwhile).
/// `slp relay sync` forces a cycle at any time.
#[derive(Debug, Clone)]
pub struct SyncSchedule {
    interval: chrono::Duration,
    next: chrono::DateTime<chrono::Utc>,
}

impl SyncSchedule {
    pub fn new(start: chrono::DateTime<chrono::Utc>, interval_secs: u64) -> SyncSchedule {
        let secs = i64::try_from(interval_secs.max(1)).unwrap_or(i64::MAX / 2_000);
        let interval = chrono::Duration::seconds(secs);
        SyncSchedule { interval, next: start + interval }
    }

    /// True when a cycle is due at `now`; the next one is then one interval later.
    pub fn due(&mut self, now: chrono::DateTime<chrono::Utc>) -> bool {
        if now < self.next {
            return false;
        }
        self.next = now + self.interval;
        true
    }

    pub fn next(&self) -> chrono::DateTime<chrono::Utc> {
        self.next
    }
}

impl Relay {
    /// The upstream client for the configured authority.
    pub async fn http_upstream(&self) -> Result<HttpUpstream> {
        let prefs = self.prefs().await?;
        if !prefs.connected {
            return Err(RelayError::Config(
                "the relay is disconnected: use `slp relay export` and `slp relay import`, or `slp relay prefs set --connected …`".into(),
            ));
        }
        HttpUpstream::new(&connected_config(&prefs)?, self.clock.clone(), self.roots())
    }

    /// One forwarding cycle (connected mode).
    pub async fn sync(&self, upstream: &dyn Upstream) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        {
            let mut conn = self.store.pool().acquire().await.map_err(RelayError::Database)?;
            if !read_prefs(&mut conn).await?.connected {
                return Err(RelayError::Config("the relay is disconnected".into()));
            }
        }
        // 0. The authority key every answer is checked against: the pinned one, else learned
        // from the authority now and pinned from then on.
        if let Err(err) = self.learn_authority_key(upstream).await {
            self.comm_failed(&err, &mut report).await?;
            return Ok(report);
        }
        // 1. Answers to what was sent before.
        let open = {
            let mut conn = self.store.pool().acquire().await.map_err(RelayError::Database)?;
            store::open_upstream(&mut conn).await?
        };
        for up in open {
            if let Err(err) = self.poll_upstream(upstream, &up, &mut report).await {
                self.comm_failed(&err, &mut report).await?;
                return Ok(report);
            }
        }
        // 2. What is new.
        for kind in [DocKind::Usage, DocKind::AuthRequest, DocKind::AuthReturn] {
            let pending = {
                let mut conn = self.store.pool().acquire().await.map_err(RelayError::Database)?;
                store::documents_where(
                    &mut conn,
                    "kind = ? AND answer_id IS NULL AND upstream_id IS NULL AND rejected IS NULL",
                    Some(kind.as_str()),
                )
                .await?
            };
            for batch in pending.chunks(BATCH) {
                match self.send_batch(upstream, kind, batch, &mut report).await {
                    Ok(()) => {}
                    Err(err) if err.is_refusal() && batch.len() > 1 => {
                        // One bad document must not hold up the others: send them one by one.
                        for doc in batch {
                            match self
                                .send_batch(upstream, kind, std::slice::from_ref(doc), &mut report)
                                .await
                            {
                                Ok(()) => {}
                                Err(err) if err.is_refusal() => {
                                    self.reject(doc, &err.to_string(), &mut report).await?
                                }
                                Err(err) => {
                                    self.comm_failed(&err, &mut report).await?;
                                    return Ok(report);
                                }
                            }
                        }
                    }
                    Err(err) if err.is_refusal() => {
                        self.reject(&batch[0], &err.to_string(), &mut report).await?;
                    }
                    Err(err) => {
                        self.comm_failed(&err, &mut report).await?;
                        return Ok(report);
                    }
                }
            }
        }
        {
            let mut tx = self.store.begin().await?;
            store::exec(
                &mut tx,
                "UPDATE devices SET comm_alert = NULL WHERE comm_alert LIKE ?",
                &[Bind::Text(&format!("{AUTHORITY_ALERT}%"))],
            )
            .await?;
            report.outstanding = store::open_upstream(&mut tx).await?.len();
            tx.commit().await.map_err(RelayError::Database)?;
        }
        // 3. The next update of pulled devices: install what arrived.
        let installed = self.install_answers(None).await?;
        report.installed = installed.installed;
        report.failures.extend(installed.failures);
        tracing::info!(
            sent = report.sent,
            answers = report.answers,
            outstanding = report.outstanding,
            "forwarding cycle done"
        );
        Ok(report)
    }

    /// Pins the authority's key from its API when no key is pinned yet.
    async fn learn_authority_key(&self, upstream: &dyn Upstream) -> Result<(), UpstreamError> {
        let internal = |e: RelayError| UpstreamError::Unreachable(e.to_string());
        if self.prefs().await.map_err(internal)?.authority_key.is_some() {
            return Ok(());
        }
        let key = upstream.authority_key().await?;
        let key = crate::parse_authority_key(&key).map_err(|e| {
            UpstreamError::Untrusted(format!("the authority's key reply is unusable: {e}"))
        })?;
        let mut tx = self.store.begin().await.map_err(internal)?;
        store::set_pref(&mut tx, "authority_key", Some(&key)).await.map_err(internal)?;
        tx.commit().await.map_err(|e| internal(RelayError::Database(e)))?;
        tracing::info!(key_id = %crate::key_id_of(&key), "authority key learned and pinned");
        Ok(())
    }

    async fn send_batch(
        &self,
        upstream: &dyn Upstream,
        kind: DocKind,
        batch: &[DocumentRow],
        report: &mut SyncReport,
    ) -> Result<(), UpstreamError> {
        let (timestamp, nonce) = batch_stamp(batch);
        let built = match kind {
            DocKind::Usage => {
                batch.iter().map(usage_entry).collect::<Result<Vec<_>>>().map(|reports| {
                    (
                        Some(ReportUsageRequest {
                            data: ReportUsageData {
                                timestamp: Some(timestamp),
                                nonce: Some(nonce.clone()),
                                sudi: None,
                                product_instance_identifier: None,
                                reports,
                            },
                        }),
                        None,
                    )
                })
            }
            DocKind::AuthRequest | DocKind::AuthReturn => {
                batch.iter().map(license_entry).collect::<Result<Vec<_>>>().map(|licenses| {
                    (
                        None,
                        Some(AuthRequestRequest {
                            data: AuthRequestData {
                                timestamp: Some(timestamp),
                                nonce: Some(nonce.clone()),
                                license_pool_id: None,
                                device_type: None,
                                licenses,
                            },
                        }),
                    )
                })
            }
        };
        let (usage, auth) =
            built.map_err(|e| UpstreamError::Refused { status: 400, message: e.to_string() })?;
        let accepted = match (usage, auth) {
            (Some(body), _) => upstream.report_usage(body).await?,
            (_, Some(body)) => upstream.auth_request(body).await?,
            (None, None) => return Ok(()),
        };
        let up = {
            let now = self.now();
            let mut tx =
                self.store.begin().await.map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
            let record = async {
                let row: (i64,) = sqlx::query_as(
                    "INSERT INTO upstream (action, poll_id, sent_at) VALUES (?, ?, ?) RETURNING id",
                )
                .bind(kind.action())
                .bind(&accepted.poll_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(RelayError::Database)?;
                for (index, doc) in batch.iter().enumerate() {
                    store::exec(
                        &mut tx,
                        "UPDATE documents SET upstream_id = ?, upstream_index = ? WHERE id = ?",
                        &[
                            Bind::Int(row.0),
                            Bind::Int(i64::try_from(index).unwrap_or(0)),
                            Bind::Int(doc.id),
                        ],
                    )
                    .await?;
                }
                tx.commit().await.map_err(RelayError::Database)?;
                Ok::<_, RelayError>(row.0)
            };
            record.await.map_err(|e| UpstreamError::Unreachable(e.to_string()))?
        };
        report.sent += batch.len();
        tracing::info!(poll_id = %accepted.poll_id, documents = batch.len(), action = kind.action(), "forwarded to the authority");
        let row = store::UpstreamRow {
            id: up,
            action: kind.action().to_owned(),
            poll_id: accepted.poll_id,
        };
        self.poll_upstream(upstream, &row, report).await
    }

    async fn poll_upstream(
        &self,
        upstream: &dyn Upstream,
        up: &store::UpstreamRow,
        report: &mut SyncReport,
    ) -> Result<(), UpstreamError> {
        let internal = |e: RelayError| UpstreamError::Unreachable(e.to_string());
        let result = match upstream.poll(up.poll_id.clone(), up.action.clone()).await {
            Ok(result) => result,
            Err(UpstreamError::PollNotFound(_)) => {
                // The authority lost or never kept it: send the documents again.
                let mut tx = self.store.begin().await.map_err(internal)?;
                store::exec(&mut tx, "UPDATE documents SET upstream_id = NULL, upstream_index = NULL WHERE upstream_id = ?", &[Bind::Int(up.id)]).await.map_err(internal)?;
                store::exec(
                    &mut tx,
                    "UPDATE upstream SET completed_at = ? WHERE id = ?",
                    &[Bind::Int(self.now()), Bind::Int(up.id)],
                )
                .await
                .map_err(internal)?;
                tx.commit().await.map_err(|e| internal(RelayError::Database(e)))?;
                tracing::warn!(poll_id = %up.poll_id, "the authority does not know the poll id; the documents will be sent again");
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        let PollResult::Complete(entries) = result else {
            report.outstanding += 1;
            return Ok(());
        };
        let pinned = self.prefs().await.map_err(internal)?.authority_key.ok_or_else(|| {
            UpstreamError::Untrusted("no authority key is pinned to check answers against".into())
        })?;
        let mut tx = self.store.begin().await.map_err(internal)?;
        let docs = store::documents_where(&mut tx, &format!("upstream_id = {}", up.id), None)
            .await
            .map_err(internal)?;
        let mut docs: Vec<DocumentRow> = docs;
        docs.sort_by_key(|d| d.upstream_index);
        let mut answers = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let udi = entry.sudi.udi().map(|u| u.to_string()).unwrap_or_default();
            let doc = docs
                .get(index)
                .filter(|d| d.udi == udi)
                .or_else(|| docs.iter().find(|d| d.udi == udi));
            if let Some(reason) = &entry.failed {
                if let Some(doc) = doc {
                    store::exec(
                        &mut tx,
                        "UPDATE documents SET rejected = ? WHERE id = ?",
                        &[Bind::Text(reason), Bind::Int(doc.id)],
                    )
                    .await
                    .map_err(internal)?;
                    report.rejected.push(format!("{udi}: {reason}"));
                }
                continue;
            }
            let Some(xml) = &entry.smart_license else { continue };
            let what = format!("answer for {udi} (poll {})", up.poll_id);
            match check::trusted_answer(xml, &what, &pinned) {
                Ok(_) => answers.push(NewAnswer {
                    udi: udi.clone(),
                    xml: xml.clone(),
                    documents: doc.map(|d| vec![d.id]),
                    what,
                }),
                Err(err @ RelayError::UntrustedAnswer { .. }) => {
                    // Not from the authority the relay trusts: store nothing of this poll.
                    tracing::warn!(error = %err, "answer refused");
                    return Err(UpstreamError::Untrusted(err.to_string()));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "unusable answer from the authority");
                    report.failures.push(err.to_string());
                }
            }
        }
        report.answers +=
            crate::intake::store_answers_in(&mut tx, &answers, "authority", self.now())
                .await
                .map_err(internal)?;
        store::exec(
            &mut tx,
            "UPDATE upstream SET completed_at = ? WHERE id = ?",
            &[Bind::Int(self.now()), Bind::Int(up.id)],
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(|e| internal(RelayError::Database(e)))?;
        tracing::info!(poll_id = %up.poll_id, answers = answers.len(), "authority answered");
        Ok(())
    }

    async fn reject(&self, doc: &DocumentRow, reason: &str, report: &mut SyncReport) -> Result<()> {
        let mut tx = self.store.begin().await?;
        store::exec(
            &mut tx,
            "UPDATE documents SET rejected = ? WHERE id = ?",
            &[Bind::Text(reason), Bind::Int(doc.id)],
        )
        .await?;
        tx.commit().await.map_err(RelayError::Database)?;
        tracing::warn!(udi = %doc.udi, document = doc.id, reason, "the authority refused a document");
        report.rejected.push(format!("{}: {reason}", doc.udi));
        Ok(())
    }

    async fn comm_failed(&self, err: &UpstreamError, report: &mut SyncReport) -> Result<()> {
        let alert = format!("{AUTHORITY_ALERT}: {err}");
        let mut tx = self.store.begin().await?;
        store::exec(
            &mut tx,
            "UPDATE devices SET comm_alert = ? WHERE udi IN (SELECT udi FROM documents WHERE answer_id IS NULL AND rejected IS NULL)",
            &[Bind::Text(&alert)],
        )
        .await?;
        tx.commit().await.map_err(RelayError::Database)?;
        let line = format!(
            "%SMART_LIC-3-COMM_FAILED: Communications failure with the Cisco Smart Software Manager (CSSM) : {err}"
        );
        tracing::warn!(error = %err, "{line}");
        report.failures.push(line);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_follows_the_relay_clock() {
        let start = chrono::DateTime::parse_from_rfc3339("2026-11-01T10:00:00Z").unwrap().to_utc();
        let mut schedule = SyncSchedule::new(start, 300);
        assert!(!schedule.due(start), "the first cycle is one interval after start");
        assert!(!schedule.due(start + chrono::Duration::seconds(299)));
        assert!(schedule.due(start + chrono::Duration::seconds(300)));
        assert!(!schedule.due(start + chrono::Duration::seconds(301)));
        // A clock that jumped (virtual, or the host slept): one cycle, then the interval again.
        let later = start + chrono::Duration::days(3);
        assert!(schedule.due(later));
        assert!(!schedule.due(later));
        assert_eq!(schedule.next(), later + chrono::Duration::seconds(300));
    }

    #[test]
    fn refusals_are_not_retried_but_outages_are() {
        let refused = UpstreamError::Refused { status: 422, message: "bad signature".into() };
        assert!(refused.is_refusal());
        for retried in [
            UpstreamError::Refused { status: 503, message: String::new() },
            UpstreamError::Refused { status: 401, message: String::new() },
            UpstreamError::Unreachable("down".into()),
        ] {
            assert!(!retried.is_refusal(), "{retried}");
        }
    }
}
