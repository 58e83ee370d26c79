//! `slp device run`: the product instance as a service.
//!
//! One process owns the device state while it runs: it serves the management REST API that
//! relays and controllers pull from (Cisco's `/smartlic-service/*` paths, HTTP basic auth with a
//! `username … privilege 15 password …` from the configuration), and it takes `exec` commands
//! from the command line over a local endpoint guarded by a token in `run.json`, so there is
//! never a second writer of `state.json` (the state directory's lock, [`StateLock`], is held
//! for the service's lifetime).
//!
//! The device is behind one mutex, held only while a request reads or changes it, never while a
//! message is on the wire: a command that talks to the peer (`license smart sync`, the
//! scheduler's contacts) prepares each message under the lock, releases it, sends, and locks
//! again to apply the answer to the device as it is then ([`Device::next_exchange`],
//! [`Device::apply_exchange`]). One conversation with the peer runs at a time.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use slp_clock::{Clock, VirtualClock};
use slp_core::ledger::Selection;

mod probe;

use crate::DeviceError;
use crate::agent::Conversation;
use crate::agent::Device;
use crate::commands::{Mode, Session, Step};
use crate::state::{StateDir, StateLock, write_atomic};
use crate::uplink::Uplink;

/// Largest request body of the management API (an ACK or code document to import).
pub const MGMT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The file that tells `exec` a device service is running, and how to reach it.
pub const RUN_FILE: &str = "run.json";

/// Contents of `run.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    /// Base URL of the management API, e.g. `http://127.0.0.1:4100` (on loopback when the
    /// service listens on every address), `https://…` when it serves TLS.
    pub url: String,
    /// Bearer token for the local exec endpoint.
    pub token: String,
    pub pid: u32,
    /// With TLS: the service's own certificate (DER, base64), which `exec` pins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
}

/// Request body of `POST /slp/v1/exec`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecRequest {
    pub commands: Vec<String>,
    /// The terminal the commands run in (a `shell` keeps its own); privileged EXEC without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal: Option<Terminal>,
}

/// Response of `POST /slp/v1/exec`: one entry per command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecResponse {
    pub outputs: Vec<ExecOutput>,
    /// The terminal after the last command, and its prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal: Option<Terminal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

/// A CLI terminal's own state: its mode (`user`, `exec`, `config`, `config-if`) and the
/// interface under configuration. Every exec request (and every `shell`) has its own, so
/// terminals that share the device never share a mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terminal {
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

impl Terminal {
    pub fn of(mode: Mode, interface: Option<String>) -> Terminal {
        Terminal { mode: mode.as_str().to_owned(), interface }
    }

    fn enter(&self, session: &mut Session) {
        session.mode = Mode::parse(&self.mode).unwrap_or(Mode::Exec);
        session.interface = self.interface.clone();
    }

    fn leave(&mut self, session: &Session) {
        *self = Terminal::of(session.mode, session.interface.clone());
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecOutput {
    pub prompt: String,
    pub command: String,
    pub text: String,
    pub ok: bool,
}

/// The running device, shared by every way in: the REST API, `exec`, the scheduler and the
/// management plane ([`crate::mgmt`]).
pub(crate) struct Shared {
    session: Mutex<Session>,
    clock: Arc<VirtualClock>,
    token: String,
    /// Held for a whole conversation with the peer (never with `session`'s lock across I/O):
    /// one at a time, so a scheduled contact and a `license smart sync` never send the same
    /// reports twice.
    uplink: Mutex<()>,
    /// Logins already checked against a user's type 9 secret: the secret and a SHA-256 of the
    /// password, so a relay's repeated requests do not each pay for scrypt.
    logins: Mutex<HashMap<String, (String, [u8; 32])>>,
    /// scrypt takes 16 MiB and tens of milliseconds: a flood of logins waits here rather than
    /// filling the blocking pool (and memory).
    scrypt_slots: tokio::sync::Semaphore,
    /// Logins refused since the service started, on every protocol (`show`-able, logged).
    login_failures: std::sync::atomic::AtomicU64,
    /// The last session id given to a management-plane session (NETCONF `<session-id>`, SSH).
    session_ids: std::sync::atomic::AtomicU32,
    /// NETCONF sessions of the device: the lock of `running`, live and killed sessions.
    pub(crate) netconf: crate::mgmt::netconf::Registry,
    /// Failed-login buckets (per name, per source address) of every protocol: the management
    /// API, HTTPS, SSH and NETCONF draw on the same ones, so brute force is slowed everywhere.
    pub(crate) login_limiter: Arc<slp_http::ops::limit::Limiter>,
}

/// How many logins are checked against a secret at once.
const SCRYPT_SLOTS: usize = 2;

impl Shared {
    /// The session with the device clock set to now.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Session> {
        let mut session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        session.device.now = self.clock.now();
        session
    }

    /// Runs one command line in `terminal`. The device is locked to plan and to apply, never
    /// while a message is on the wire.
    pub(crate) fn run_line(&self, terminal: &mut Terminal, line: &str) -> ExecOutput {
        let (prompt, step) = {
            let mut session = self.lock();
            terminal.enter(&mut session);
            let prompt = session.prompt();
            let step = session.begin(line);
            terminal.leave(&session);
            (prompt, step)
        };
        let output = match step {
            Step::Done(output) => output,
            Step::Converse(conversation) => {
                let result = {
                    let _one = self.uplink.lock().unwrap_or_else(PoisonError::into_inner);
                    self.converse(conversation)
                };
                let mut session = self.lock();
                terminal.enter(&mut session);
                let output = session.finish(result);
                terminal.leave(&session);
                output
            }
        };
        ExecOutput { prompt, command: line.to_owned(), text: output.text, ok: output.ok }
    }

    /// The prompt of `terminal` now (`sw1#`, `sw1(config)#`): the SSH shell prints it after
    /// each command.
    pub(crate) fn prompt(&self, terminal: &Terminal) -> String {
        let mut session = self.lock();
        terminal.enter(&mut session);
        session.prompt()
    }

    /// Drives a conversation with the peer; the caller holds `uplink`.
    fn converse(&self, mut conversation: Conversation) -> Result<Vec<String>, DeviceError> {
        loop {
            let (exchange, uplink) = {
                let mut session = self.lock();
                let exchange = session.device.next_exchange(&mut conversation)?;
                // Reports the message carries were closed and signed for it: on disk before
                // the peer can see them.
                session.device.save()?;
                // The proxy and trust pool as configured now; the send runs without the lock.
                (exchange, session.device.http_uplink())
            };
            let Some(exchange) = exchange else { return Ok(conversation.into_lines()) };
            let reply = uplink.send(&exchange.url, &exchange.request);
            let mut session = self.lock();
            session.device.apply_exchange(&mut conversation, exchange, reply)?;
        }
    }
}

/// Why the management API refused a request.
#[derive(Debug)]
enum ApiError {
    Unauthorized,
    /// No or a wrong exec token on an endpoint of `exec` (`/slp/v1/*`).
    BadToken,
    BadRequest(String),
    NotFound(String),
    Device(DeviceError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::Unauthorized => {
                let body = Json(
                    json!({"status": "ERROR", "message": "authentication required: HTTP basic auth with a privilege 15 user of the device"}),
                );
                return (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, "Basic realm=\"smartlic-service\"")],
                    body,
                )
                    .into_response();
            }
            ApiError::BadToken => {
                let body = Json(
                    json!({"status": "ERROR", "message": format!("authentication required: the service's exec token from {RUN_FILE} (Authorization: Bearer TOKEN), as `slp device --state D exec` sends it")}),
                );
                return (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, "Bearer realm=\"slp-device\"")],
                    body,
                )
                    .into_response();
            }
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, message),
            ApiError::Device(DeviceError::Refused(message)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, message)
            }
            ApiError::Device(err @ (DeviceError::Wire { .. } | DeviceError::BadPath { .. })) => {
                (StatusCode::BAD_REQUEST, err.to_string())
            }
            ApiError::Device(err) => {
                tracing::error!(error = %err, "management API request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the device log".to_owned())
            }
        };
        (status, Json(json!({"status": "ERROR", "message": message}))).into_response()
    }
}

impl From<DeviceError> for ApiError {
    fn from(err: DeviceError) -> ApiError {
        ApiError::Device(err)
    }
}

/// HTTP basic auth against the `username … privilege 15` users of the running configuration.
async fn basic_auth(shared: &Arc<Shared>, headers: &HeaderMap) -> Result<(), ApiError> {
    let (user, password) = basic_credentials(headers).ok_or(ApiError::Unauthorized)?;
    if shared.login(&user, &password, "https").await { Ok(()) } else { Err(ApiError::Unauthorized) }
}

/// The user and password of an `Authorization: Basic …` header.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = B64.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

impl Shared {
    /// Checks a login against the `username … privilege 15` users of the running
    /// configuration; a refusal is counted and logged with the protocol (`via`). The device is
    /// locked only to read the user's secret; scrypt runs off the async workers.
    pub(crate) async fn login(&self, user: &str, password: &str, via: &'static str) -> bool {
        use sha2::{Digest, Sha256};
        use subtle::ConstantTimeEq;
        let secret = self.lock().device.state.running.users.get(user).cloned();
        let digest: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        let remembered = secret.as_ref().is_some_and(|secret| {
            let logins = self.logins.lock().unwrap_or_else(PoisonError::into_inner);
            logins.get(user).is_some_and(|(known, known_digest)| {
                known == secret && bool::from(known_digest.ct_eq(&digest))
            })
        });
        let good = remembered || {
            let Ok(_slot) = self.scrypt_slots.acquire().await else { return false };
            let secret = secret.clone();
            let password = password.to_owned();
            // An unknown user costs the same scrypt as a known one: the answer's time does not
            // tell which users exist.
            tokio::task::spawn_blocking(move || match secret {
                Some(secret) => crate::secret::verify(&secret, &password),
                None => {
                    let _ = crate::secret::verify(UNKNOWN_USER_SECRET, &password);
                    false
                }
            })
            .await
            .unwrap_or(false)
        };
        if good {
            if let Some(secret) = secret {
                let mut logins = self.logins.lock().unwrap_or_else(PoisonError::into_inner);
                logins.insert(user.to_owned(), (secret, digest));
            }
        } else {
            let failures =
                self.login_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            tracing::warn!(login.user = %user, login.via = via, login.failures = failures, "login refused");
        }
        good
    }

    /// Logins refused since the service started.
    pub(crate) fn login_failures(&self) -> u64 {
        self.login_failures.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A new session id (1, 2, …) for a management-plane session.
    pub(crate) fn next_session_id(&self) -> u32 {
        self.session_ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    }
}

impl Shared {
    /// A running device around `session` with no listener and no scheduler, its clock frozen
    /// at the device's time: unit tests, and [`crate::mgmt::netconf::Offline`] (fuzzing).
    pub(crate) fn for_tests(session: Session) -> Arc<Shared> {
        let clock = Arc::new(VirtualClock::frozen(session.device.now));
        let clock_for_limiter: Arc<dyn Clock> = clock.clone();
        Arc::new(Shared {
            session: Mutex::new(session),
            clock,
            token: String::new(),
            uplink: Mutex::new(()),
            logins: Mutex::new(HashMap::new()),
            scrypt_slots: tokio::sync::Semaphore::new(SCRYPT_SLOTS),
            login_failures: std::sync::atomic::AtomicU64::new(0),
            session_ids: std::sync::atomic::AtomicU32::new(0),
            netconf: Default::default(),
            login_limiter: login_limiter(clock_for_limiter),
        })
    }
}

/// A type 9 secret no password is known for, checked when the user does not exist.
const UNKNOWN_USER_SECRET: &str = "$9$LS4cPJLtveZQ5w$gtFWeGby0KBywL2DX0OChWNAcJpT6riRWe9ILhD6xTY";

fn save(session: &Session) -> Result<(), ApiError> {
    session.device.save().map_err(ApiError::Device)
}

/// The management API router: `/smartlic-service/*` and `exec`'s `/slp/v1/*`.
fn router(shared: Arc<Shared>) -> Router {
    smartlic_router()
        .route("/slp/v1/exec", post(exec))
        .route("/slp/v1/tick", post(tick))
        .route("/slp/v1/clock", post(set_clock))
        .with_state(shared)
}

/// Cisco's `/smartlic-service/*` API (basic auth), served on `--mgmt` and on `--https`.
pub(crate) fn smartlic_router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/smartlic-service/close-reports", post(close_reports))
        .route("/smartlic-service/list", get(list))
        .route("/smartlic-service/all-reports", get(all_reports))
        .route("/smartlic-service/days", get(days_default))
        .route("/smartlic-service/days/{days}", get(days))
        .route("/smartlic-service/rum-report-id/{id}", get(report_by_id))
        .route("/smartlic-service/import", post(import))
}

async fn close_reports(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    basic_auth(&shared, &headers).await?;
    let mut session = shared.lock();
    let closed = session.device.close_reports();
    save(&session)?;
    Ok(Json(json!({"status": "OK", "closed": closed})))
}

async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    basic_auth(&shared, &headers).await?;
    let session = shared.lock();
    let usage_list: Vec<Value> = session
        .device
        .state
        .ledger
        .reports
        .values()
        .map(|r| {
            json!({
                "report_id": r.id,
                "feature_name": r.feature,
                "state": r.state.show_word(),
                "start_time": r.start.timestamp(),
                "end_time": r.end.map(|e| e.timestamp()),
            })
        })
        .collect();
    Ok(Json(json!({"usage_list": usage_list})))
}

/// The Cisco `usage` array plus `smart_license`: the whole document (system information and
/// trust requests included) as a saved usage file would hold it.
async fn collect(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    selection: Selection,
) -> Result<Json<Value>, ApiError> {
    basic_auth(shared, headers).await?;
    let mut session = shared.lock();
    let doc = session.device.collect_usage(selection)?;
    save(&session)?;
    let usage: Vec<Value> =
        doc.reports.iter().filter_map(|r| serde_json::from_str(r).ok()).collect();
    Ok(Json(json!({"usage": usage, "smart_license": doc.to_xml()})))
}

async fn all_reports(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    collect(&shared, &headers, Selection::All).await
}

async fn days_default(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    collect(&shared, &headers, Selection::Days(90)).await
}

async fn days(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(days): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let days: u32 = days.parse().ok().filter(|d| (1..=3650).contains(d)).ok_or_else(|| {
        ApiError::BadRequest(format!("days must be a number from 1 to 3650, not {days:?}"))
    })?;
    collect(&shared, &headers, Selection::Days(days)).await
}

async fn report_by_id(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("report id must be a number, not {id:?}")))?;
    basic_auth(&shared, &headers).await?;
    {
        let session = shared.lock();
        if !session.device.state.ledger.reports.contains_key(&id) {
            return Err(ApiError::NotFound(format!("RUM report {id} not found")));
        }
    }
    collect(&shared, &headers, Selection::ReportId(id)).await
}

/// `POST /smartlic-service/import`: an ACK, policy, trust or authorization code document, as
/// XML or base64 of it (the Cisco API documents base64).
async fn import(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, ApiError> {
    basic_auth(&shared, &headers).await?;
    let trimmed = body.trim();
    let text = if trimmed.starts_with('<') {
        trimmed.to_owned()
    } else {
        let bytes = B64.decode(trimmed).map_err(|_| {
            ApiError::BadRequest("the body is neither XML nor base64 of it".to_owned())
        })?;
        String::from_utf8(bytes)
            .map_err(|_| ApiError::BadRequest("the decoded body is not UTF-8 text".to_owned()))?
    };
    let mut session = shared.lock();
    let result = session.device.import_text(&text, "management API import");
    // A refused import still logged its failure message; keep the event log.
    save(&session)?;
    let lines = result?;
    Ok(Json(json!({"status": "OK", "messages": lines})))
}

fn bearer(shared: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::BadToken)?;
    if crate::secret::same_token(token, &shared.token) { Ok(()) } else { Err(ApiError::BadToken) }
}

/// Runs blocking device work (commands may talk HTTP to the peer) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|err| ApiError::Device(DeviceError::Refused(format!("device task failed: {err}"))))
}

async fn exec(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(request): Json<ExecRequest>,
) -> Result<Json<ExecResponse>, ApiError> {
    bearer(&shared, &headers)?;
    let mut terminal = request.terminal.unwrap_or_else(|| Terminal::of(Mode::Exec, None));
    if Mode::parse(&terminal.mode).is_none() {
        return Err(ApiError::BadRequest(format!(
            "terminal mode {:?} is not one of user, exec, config, config-if",
            terminal.mode
        )));
    }
    let commands = request.commands;
    let (outputs, terminal, prompt) = blocking(move || {
        let outputs: Vec<ExecOutput> =
            commands.iter().map(|command| shared.run_line(&mut terminal, command)).collect();
        let mut session = shared.lock();
        terminal.enter(&mut session);
        let prompt = session.prompt();
        (outputs, terminal, prompt)
    })
    .await?;
    Ok(Json(ExecResponse { outputs, terminal: Some(terminal), prompt: Some(prompt) }))
}

/// One scheduler step: talk to the peer if contact is due. Returns the messages it logged.
fn scheduler_step(shared: &Shared) -> Vec<String> {
    // A conversation in flight (a sync, or the last tick's contact) is the contact: skip.
    let _one = match shared.uplink.try_lock() {
        Ok(guard) => guard,
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return Vec::new(),
    };
    let (reminders, conversation) = {
        let mut session = shared.lock();
        let reminders = session.device.remind_overdue();
        (reminders, crate::migration::begin_contact(&mut session.device))
    };
    let Some(conversation) = conversation else {
        if !reminders.is_empty()
            && let Err(err) = shared.lock().device.save()
        {
            tracing::error!(error = %err, "saving the device state after a reminder failed");
        }
        return reminders;
    };
    let mut lines = reminders;
    match shared.converse(conversation) {
        Ok(more) => lines.extend(more),
        Err(err) => lines.push(err.to_string()),
    }
    if let Err(err) = shared.lock().device.save() {
        tracing::error!(error = %err, "saving the device state after a scheduled contact failed");
    }
    lines
}

/// `POST /slp/v1/tick`: run the scheduler once now (tests and simulations drive time explicitly).
async fn tick(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    bearer(&shared, &headers)?;
    let lines = blocking(move || scheduler_step(&shared)).await?;
    Ok(Json(json!({"status": "OK", "messages": lines})))
}

/// The largest step of `POST /slp/v1/clock`'s `advance_secs`, either way: ten years.
pub const MAX_CLOCK_STEP_SECS: i64 = 10 * 366 * 24 * 3600;

fn clock_range_holds(at: chrono::DateTime<chrono::Utc>) -> bool {
    use chrono::Datelike;
    (1970..=9999).contains(&at.year())
}

/// `POST /slp/v1/clock {"advance_secs": N}` or `{"set": "<RFC 3339>"}`: move the device's virtual clock.
async fn set_clock(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    bearer(&shared, &headers)?;
    if let Some(step) = body.get("advance_secs") {
        let secs = step.as_i64().filter(|secs| secs.unsigned_abs() <= MAX_CLOCK_STEP_SECS.unsigned_abs()).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "advance_secs: {step} is not a whole number of seconds from -{MAX_CLOCK_STEP_SECS} to {MAX_CLOCK_STEP_SECS} (ten years)"
            ))
        })?;
        let at = shared
            .clock
            .now()
            .checked_add_signed(chrono::Duration::seconds(secs))
            .filter(|at| clock_range_holds(*at))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "advance_secs: {secs} takes the clock outside 1970-01-01..9999-12-31"
                ))
            })?;
        shared.clock.set(at);
    } else if let Some(text) = body.get("set").and_then(Value::as_str) {
        let at = chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| ApiError::BadRequest(format!("set: {text:?} is not an RFC 3339 time")))?
            .to_utc();
        if !clock_range_holds(at) {
            return Err(ApiError::BadRequest(format!(
                "set: {text:?} is outside 1970-01-01..9999-12-31"
            )));
        }
        shared.clock.set(at);
    } else {
        return Err(ApiError::BadRequest(
            "give advance_secs (a number) or set (RFC 3339)".to_owned(),
        ));
    }
    Ok(Json(json!({"status": "OK", "now": shared.clock.now().to_rfc3339()})))
}

/// The failed-login buckets of a device, with the HTTP layer's rules.
fn login_limiter(clock: Arc<dyn Clock>) -> Arc<slp_http::ops::limit::Limiter> {
    use slp_http::ops::limit::{Limiter, Rule};
    Arc::new(Limiter::new(clock, Rule::PER_NAME, Rule::PER_ADDRESS))
}

/// The service's clock, as the failed-login limits read it.
pub(crate) fn clock_of(shared: &Shared) -> Arc<dyn Clock> {
    shared.clock.clone()
}

/// How the service runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// Only `POST /slp/v1/tick` runs the scheduler (deterministic tests and simulations).
    pub manual_ticks: bool,
}

/// Runs the device service on `listener` (over TLS when `tls` is given) until `shutdown`
/// completes; removes `run.json` on exit. `ready` is called with the management URL once
/// `run.json` is written and `exec` can reach it.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    dir: StateDir,
    clock: Arc<VirtualClock>,
    listener: tokio::net::TcpListener,
    tls: Option<slp_http::TlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
    planes: crate::mgmt::Planes,
    ready: impl FnOnce(&str),
) -> Result<(), DeviceError> {
    // The one writer: refused while another process (or service) holds the state directory.
    let lock: StateLock = match dir.try_lock()? {
        Some(lock) => lock,
        None => {
            let run_file = dir.root().join(RUN_FILE);
            let holder = std::fs::read_to_string(&run_file)
                .ok()
                .and_then(|text| serde_json::from_str::<RunInfo>(&text).ok())
                .map(|info| format!("`slp device run` (pid {}, {})", info.pid, info.url))
                .unwrap_or_else(|| "another slp process".to_owned());
            return Err(DeviceError::Locked { dir: dir.root().to_owned(), holder });
        }
    };
    let device = Device::open(dir.clone(), clock.now())?;
    // Rewrites a state file of an earlier version: passwords hashed, owner-only mode.
    device.save()?;
    let addr = listener
        .local_addr()
        .map_err(|source| DeviceError::Io { path: dir.root().to_owned(), source })?;
    let token: String = {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        (0..32).map(|_| format!("{:x}", rng.gen_range(0..16u8))).collect()
    };
    // `exec` runs on this machine: it reaches an every-address listener on loopback.
    let mut local = addr;
    if local.ip().is_unspecified() {
        local.set_ip(if local.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let cert = tls.as_ref().map(|tls| B64.encode(tls.leaf_der()));
    let info = RunInfo {
        url: format!("{}://{local}", slp_http::tls::scheme(tls.as_ref())),
        token: token.clone(),
        pid: std::process::id(),
        cert,
    };
    let run_file = dir.root().join(RUN_FILE);
    let text = serde_json::to_string_pretty(&info).unwrap_or_default();
    write_atomic(&run_file, text.as_bytes())?;
    tracing::info!(device.udi = %device.state.active().udi, mgmt.url = %info.url, "device service started");
    let clock_for_limiter: Arc<dyn Clock> = clock.clone();
    let shared = Arc::new(Shared {
        session: Mutex::new(Session::new(device, Mode::Exec)),
        clock,
        token,
        uplink: Mutex::new(()),
        logins: Mutex::new(HashMap::new()),
        scrypt_slots: tokio::sync::Semaphore::new(SCRYPT_SLOTS),
        login_failures: std::sync::atomic::AtomicU64::new(0),
        session_ids: std::sync::atomic::AtomicU32::new(0),
        netconf: Default::default(),
        login_limiter: login_limiter(clock_for_limiter),
    });
    let planes = crate::mgmt::start(&shared, planes);
    ready(&info.url);
    // The scheduler: once a (real) second, contact the peer if a push, poll or retry is due.
    let scheduler = {
        let shared = shared.clone();
        tokio::spawn(async move {
            if options.manual_ticks {
                return;
            }
            let mut ticks = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                ticks.tick().await;
                let shared = shared.clone();
                if let Ok(lines) =
                    tokio::task::spawn_blocking(move || scheduler_step(&shared)).await
                {
                    for line in lines {
                        tracing::info!("{line}");
                    }
                }
            }
        })
    };
    // The layers every slp server has: security headers, closed CORS, bounds, request ids,
    // `/metrics`, `/healthz`, `/readyz`, limits on failed logins (Basic auth, exec token).
    let ops = slp_http::ops::Ops::builder("device", clock_of(&shared))
        .probe(probe::DeviceProbe(dir.clone()))
        .body_limit(MGMT_BODY_LIMIT)
        .shared_limiter(shared.login_limiter.clone())
        .build();
    let app = slp_http::ops::wrap(router(shared), &ops);
    let result = slp_http::serve(listener, app, tls, shutdown).await;
    scheduler.abort();
    for plane in planes {
        plane.abort();
    }
    let _ = std::fs::remove_file(&run_file);
    drop(lock);
    result.map_err(|source| DeviceError::Io { path: run_file, source })
}
