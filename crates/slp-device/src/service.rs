//! `slp device run`: the product instance as a service.
//!
//! One process owns the device state while it runs: it serves the management REST API that
//! relays and controllers pull from (Cisco's `/smartlic-service/*` paths, HTTP basic auth with a
//! `username … privilege 15 password …` from the configuration), and it takes `exec` commands
//! from the command line over a local endpoint guarded by a token in `run.json`, so there is
//! never a second writer of `state.json`.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

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
use crate::agent::Device;
use crate::commands::{Mode, Session};
use crate::state::{StateDir, write_atomic};

/// Largest request body of the management API (an ACK or code document to import).
pub const MGMT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The file that tells `exec` a device service is running, and how to reach it.
pub const RUN_FILE: &str = "run.json";

/// Contents of `run.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    /// Base URL of the management API, e.g. `http://127.0.0.1:4100`.
    pub url: String,
    /// Bearer token for the local exec endpoint.
    pub token: String,
    pub pid: u32,
}

/// Request body of `POST /slp/v1/exec`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecRequest {
    pub commands: Vec<String>,
}

/// Response of `POST /slp/v1/exec`: one entry per command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecResponse {
    pub outputs: Vec<ExecOutput>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecOutput {
    pub prompt: String,
    pub command: String,
    pub text: String,
    pub ok: bool,
}

struct Shared {
    session: Mutex<Session>,
    clock: Arc<VirtualClock>,
    token: String,
}

impl Shared {
    /// The session with the device clock set to now.
    fn lock(&self) -> MutexGuard<'_, Session> {
        let mut session = self.session.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        session.device.now = self.clock.now();
        session
    }
}

/// Why the management API refused a request.
#[derive(Debug)]
enum ApiError {
    Unauthorized,
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

fn basic_auth(headers: &HeaderMap, session: &Session) -> Result<(), ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized)?;
    let encoded = value.strip_prefix("Basic ").ok_or(ApiError::Unauthorized)?;
    let decoded = B64.decode(encoded.trim()).map_err(|_| ApiError::Unauthorized)?;
    let decoded = String::from_utf8(decoded).map_err(|_| ApiError::Unauthorized)?;
    let (user, password) = decoded.split_once(':').ok_or(ApiError::Unauthorized)?;
    match session.device.state.running.users.get(user) {
        Some(expected) if expected == password => Ok(()),
        _ => {
            tracing::warn!(api.user = %user, "management API login refused");
            Err(ApiError::Unauthorized)
        }
    }
}

fn save(session: &Session) -> Result<(), ApiError> {
    session.device.save().map_err(ApiError::Device)
}

/// The management API router.
fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/smartlic-service/close-reports", post(close_reports))
        .route("/smartlic-service/list", get(list))
        .route("/smartlic-service/all-reports", get(all_reports))
        .route("/smartlic-service/days", get(days_default))
        .route("/smartlic-service/days/{days}", get(days))
        .route("/smartlic-service/rum-report-id/{id}", get(report_by_id))
        .route("/smartlic-service/import", post(import))
        .route("/slp/v1/exec", post(exec))
        .route("/slp/v1/tick", post(tick))
        .route("/slp/v1/clock", post(set_clock))
        .with_state(shared)
}

async fn close_reports(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let mut session = shared.lock();
    basic_auth(&headers, &session)?;
    let closed = session.device.close_reports();
    save(&session)?;
    Ok(Json(json!({"status": "OK", "closed": closed})))
}

async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let session = shared.lock();
    basic_auth(&headers, &session)?;
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
fn collect(
    shared: &Shared,
    headers: &HeaderMap,
    selection: Selection,
) -> Result<Json<Value>, ApiError> {
    let mut session = shared.lock();
    basic_auth(headers, &session)?;
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
    collect(&shared, &headers, Selection::All)
}

async fn days_default(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    collect(&shared, &headers, Selection::Days(90))
}

async fn days(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(days): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let days: u32 = days.parse().ok().filter(|d| (1..=3650).contains(d)).ok_or_else(|| {
        ApiError::BadRequest(format!("days must be a number from 1 to 3650, not {days:?}"))
    })?;
    collect(&shared, &headers, Selection::Days(days))
}

async fn report_by_id(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("report id must be a number, not {id:?}")))?;
    {
        let session = shared.lock();
        basic_auth(&headers, &session)?;
        if !session.device.state.ledger.reports.contains_key(&id) {
            return Err(ApiError::NotFound(format!("RUM report {id} not found")));
        }
    }
    collect(&shared, &headers, Selection::ReportId(id))
}

/// `POST /smartlic-service/import`: an ACK, policy, trust or authorization code document, as
/// XML or base64 of it (the Cisco API documents base64).
async fn import(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let mut session = shared.lock();
    basic_auth(&headers, &session)?;
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
        .ok_or(ApiError::Unauthorized)?;
    if token == shared.token { Ok(()) } else { Err(ApiError::Unauthorized) }
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
    let outputs = blocking(move || {
        let mut session = shared.lock();
        session.mode = Mode::Exec;
        let mut outputs = Vec::new();
        for command in request.commands {
            let prompt = session.prompt();
            let output = session.execute(&command);
            outputs.push(ExecOutput { prompt, command, text: output.text, ok: output.ok });
        }
        outputs
    })
    .await?;
    Ok(Json(ExecResponse { outputs }))
}

/// One scheduler step: talk to the peer if contact is due. Returns the messages it logged.
fn scheduler_step(shared: &Shared) -> Vec<String> {
    let mut session = shared.lock();
    let due = session.device.next_contact();
    if due.is_none_or(|due| due > session.device.now) {
        return Vec::new();
    }
    let uplink = session.device.http_uplink();
    let lines = match session.device.sync(&uplink) {
        Ok(lines) => lines,
        Err(err) => vec![err.to_string()],
    };
    if let Err(err) = session.device.save() {
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

/// `POST /slp/v1/clock {"advance_secs": N}` or `{"set": "<RFC 3339>"}`: move the device's virtual clock.
async fn set_clock(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    bearer(&shared, &headers)?;
    if let Some(secs) = body.get("advance_secs").and_then(Value::as_i64) {
        shared.clock.advance(chrono::Duration::seconds(secs));
    } else if let Some(text) = body.get("set").and_then(Value::as_str) {
        let at = chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| ApiError::BadRequest(format!("set: {text:?} is not an RFC 3339 time")))?;
        shared.clock.set(at.to_utc());
    } else {
        return Err(ApiError::BadRequest(
            "give advance_secs (a number) or set (RFC 3339)".to_owned(),
        ));
    }
    Ok(Json(json!({"status": "OK", "now": shared.clock.now().to_rfc3339()})))
}

/// The service's clock, as the failed-login limits read it.
fn clock_of(shared: &Shared) -> Arc<dyn Clock> {
    shared.clock.clone()
}

/// How the service runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// Only `POST /slp/v1/tick` runs the scheduler (deterministic tests and simulations).
    pub manual_ticks: bool,
}

/// Runs the device service on `listener` until `shutdown` completes; removes `run.json` on exit.
/// `ready` is called with the management URL once `run.json` is written and `exec` can reach it.
pub async fn serve(
    dir: StateDir,
    clock: Arc<VirtualClock>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
    ready: impl FnOnce(&str),
) -> Result<(), DeviceError> {
    let device = Device::open(dir.clone(), clock.now())?;
    let addr = listener
        .local_addr()
        .map_err(|source| DeviceError::Io { path: dir.root().to_owned(), source })?;
    let token: String = {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        (0..32).map(|_| format!("{:x}", rng.gen_range(0..16u8))).collect()
    };
    let info =
        RunInfo { url: format!("http://{addr}"), token: token.clone(), pid: std::process::id() };
    let run_file = dir.root().join(RUN_FILE);
    let text = serde_json::to_string_pretty(&info).unwrap_or_default();
    write_atomic(&run_file, text.as_bytes())?;
    tracing::info!(device.udi = %device.state.active().udi, mgmt.url = %info.url, "device service started");
    let shared =
        Arc::new(Shared { session: Mutex::new(Session::new(device, Mode::Exec)), clock, token });
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
        .build();
    let app = slp_http::ops::wrap(router(shared), &ops)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    scheduler.abort();
    let _ = std::fs::remove_file(&run_file);
    result.map_err(|source| DeviceError::Io { path: run_file, source })
}
