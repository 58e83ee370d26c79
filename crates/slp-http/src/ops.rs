//! The layers every slp router is wrapped in: [`wrap`] with a server's [`Ops`].
//!
//! - **Security headers** on every response: `X-Content-Type-Options: nosniff`,
//!   `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`, a `Content-Security-Policy` that
//!   allows nothing (these are API answers, never pages), `Cross-Origin-Resource-Policy:
//!   same-origin` and `Cache-Control: no-store` (unless the handler chose one).
//! - **CORS closed**: no response carries `Access-Control-Allow-Origin`; a preflight (`OPTIONS`
//!   with `Origin` and `Access-Control-Request-Method`) and any request whose `Origin` is not
//!   the server itself get `403`, so a web page in a browser can neither read an answer nor make
//!   a change (a form post with the browser's cached Basic credentials included).
//! - **Bounds**: the request body ([`Limits::body`], `413`), the number and total size of the
//!   headers (`431`), and the length of the URI (`414`), on every route.
//! - **Request ids**: `x-request-id` is taken when sane (1–128 characters of `A–Z a–z 0–9 - _ .
//!   : + = / @`), otherwise generated; it is echoed in the response and recorded in the span
//!   `request` that every log line of the request is written in (a span of the error level, so
//!   that it is there at every log level).
//! - **`/metrics`** ([`metrics`]: requests and latency per route and status, failed logins,
//!   and the role's [`Probe::samples`]), served to loopback clients only; **`/healthz`** (the
//!   process answers) and **`/readyz`** (the role's store answers: [`Probe::ready`], `503`
//!   with the reason otherwise), served to anyone.
//! - **Failed logins** ([`limit`]): a request with credentials (`Authorization`) that gets
//!   `401` counts as a failed authentication of its Basic user name (if any) and of its source
//!   address; a handler that checks credentials from elsewhere (the OAuth form body) names
//!   them with [`Login::attempt`] and [`AuthFailed`] (whatever the answer's status: a wrong
//!   OAuth2 password is a `400 invalid_grant`). An attempt of a name is taken from its
//!   bucket before the credentials are checked, and given back unless the answer fails it, so
//!   concurrent guesses of one name cannot outrun its limit. Every failure is logged at `warn` with the
//!   name, address and request id, and counted; past the limit, every attempt of that name or
//!   address — the right secret too — gets `429` with `Retry-After`.
//!
//! The source address is the TCP peer from axum's `ConnectInfo<SocketAddr>` (serve with
//! `into_make_service_with_connect_info`); forwarding headers are not trusted. Without it, a
//! request has no address: it is limited by name only and never gets `/metrics`.

pub mod limit;
pub mod metrics;

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use slp_clock::Clock;
use tower_http::limit::RequestBodyLimitLayer;
use tracing::Instrument;

pub use limit::{Limited, Rule};
pub use metrics::{Sample, SampleKind};

/// The header that carries a request's id, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// The `Content-Security-Policy` of every answer: nothing may be loaded, framed or submitted.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// A boxed future, for [`Probe`]'s methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a role tells the operations endpoints: whether its store answers, and its own
/// metrics.
pub trait Probe: Send + Sync + 'static {
    /// `Ok` when the role can serve: its store answers a query. `Err` says why not, in words
    /// fit for anyone to read (`/readyz` is not authenticated): no connection strings.
    fn ready(&self) -> BoxFuture<'_, Result<(), String>>;

    /// The role's metrics, read at each scrape of `/metrics`.
    fn samples(&self) -> BoxFuture<'_, Vec<Sample>> {
        Box::pin(std::future::ready(Vec::new()))
    }
}

/// A role without a store: always ready, no metrics of its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysReady;

impl Probe for AlwaysReady {
    fn ready(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Bounds on every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest body, in bytes (`413` past it).
    pub body: usize,
    /// Most header fields (`431` past it).
    pub headers: usize,
    /// Largest total of header names and values, in bytes (`431` past it).
    pub header_bytes: usize,
    /// Longest path and query, in bytes (`414` past it).
    pub uri: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { body: 8 * 1024 * 1024, headers: 64, header_bytes: 16 * 1024, uri: 8 * 1024 }
    }
}

/// How long `/readyz` waits for the role's store.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The operations state of one server (its limits, login buckets, metrics and probe). Cheap to
/// clone; every server builds its own, so servers in one process share nothing.
#[derive(Clone)]
pub struct Ops {
    inner: Arc<Inner>,
}

struct Inner {
    server: &'static str,
    limits: Limits,
    limiter: Arc<limit::Limiter>,
    metrics: metrics::HttpMetrics,
    probe: Box<dyn Probe>,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops")
            .field("server", &self.inner.server)
            .field("limits", &self.inner.limits)
            .field("limiter", &self.inner.limiter)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Ops`].
pub struct OpsBuilder {
    server: &'static str,
    clock: Arc<dyn Clock>,
    limits: Limits,
    per_name: Rule,
    per_address: Rule,
    probe: Box<dyn Probe>,
    limiter: Option<Arc<limit::Limiter>>,
}

impl OpsBuilder {
    /// Failed-login buckets shared with other listeners of the same server (a device's SSH,
    /// NETCONF and HTTPS ports): one per-name and per-address limit over every protocol.
    pub fn shared_limiter(mut self, limiter: Arc<limit::Limiter>) -> OpsBuilder {
        self.limiter = Some(limiter);
        self
    }

    /// What `/readyz` and `/metrics` ask the role.
    pub fn probe(mut self, probe: impl Probe) -> OpsBuilder {
        self.probe = Box::new(probe);
        self
    }

    /// The largest request body, in bytes.
    pub fn body_limit(mut self, bytes: usize) -> OpsBuilder {
        self.limits.body = bytes;
        self
    }

    pub fn limits(mut self, limits: Limits) -> OpsBuilder {
        self.limits = limits;
        self
    }

    /// The failed-login buckets per login name and per source address.
    pub fn login_rules(mut self, per_name: Rule, per_address: Rule) -> OpsBuilder {
        self.per_name = per_name;
        self.per_address = per_address;
        self
    }

    pub fn build(self) -> Ops {
        Ops {
            inner: Arc::new(Inner {
                server: self.server,
                limits: self.limits,
                limiter: self.limiter.unwrap_or_else(|| {
                    Arc::new(limit::Limiter::new(self.clock, self.per_name, self.per_address))
                }),
                metrics: metrics::HttpMetrics::new(),
                probe: self.probe,
            }),
        }
    }
}

impl Ops {
    /// The operations of the server named `server` (`authority`, `relay`, `device`: it names
    /// the server in logs and errors), with the failed-login buckets on `clock`.
    pub fn builder(server: &'static str, clock: Arc<dyn Clock>) -> OpsBuilder {
        OpsBuilder {
            server,
            clock,
            limits: Limits::default(),
            per_name: Rule::PER_NAME,
            per_address: Rule::PER_ADDRESS,
            probe: Box::new(AlwaysReady),
            limiter: None,
        }
    }

    pub fn server(&self) -> &'static str {
        self.inner.server
    }

    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Counts and logs a failed authentication of `name` from `peer`, and takes it from the
    /// bucket of `peer` and, unless its attempt was taken up front, of `name` (`take_name`).
    fn failed(
        &self,
        name: Option<&str>,
        peer: Option<IpAddr>,
        request_id: &str,
        reason: &str,
        take_name: bool,
    ) {
        let inner = &self.inner;
        inner.limiter.fail(name.filter(|_| take_name), peer);
        inner.metrics.auth_failures.inc();
        let refused_for = inner.limiter.check(name, peer).err().map_or(0, |l| l.retry_after);
        let name = name.map(limit::name_key);
        tracing::warn!(
            server = inner.server,
            user = ?name.as_deref().unwrap_or("-"),
            peer = %peer_text(peer),
            request_id = %request_id,
            reason = %reason,
            refused_for_secs = refused_for,
            "authentication failed"
        );
    }

    fn limited(
        &self,
        limited: Limited,
        name: Option<&str>,
        peer: Option<IpAddr>,
        request_id: &str,
    ) -> TooManyLogins {
        self.inner.metrics.auth_limited.inc();
        tracing::info!(
            server = self.inner.server,
            user = ?name.map(limit::name_key).as_deref().unwrap_or("-"),
            peer = %peer_text(peer),
            request_id = %request_id,
            retry_after = limited.retry_after,
            "login refused: too many failed logins"
        );
        TooManyLogins { retry_after: limited.retry_after }
    }
}

fn peer_text(peer: Option<IpAddr>) -> String {
    peer.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// A request's id (from `x-request-id` or generated), in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Put in a refusal's extensions (a `401`, or an OAuth2 `400 invalid_grant`) by a handler that
/// checked credentials the layer cannot see (a form body): the login name tried and why it
/// failed, for the log and the buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailed {
    pub name: Option<String>,
    pub reason: String,
}

/// `429 Too Many Requests`: the login name or address failed too often.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed logins from this client or address: try again in {retry_after} s")]
pub struct TooManyLogins {
    /// Seconds until an attempt may go (sent as `Retry-After`).
    pub retry_after: u64,
}

impl IntoResponse for TooManyLogins {
    fn into_response(self) -> Response {
        let mut response = refusal(StatusCode::TOO_MANY_REQUESTS, self.to_string());
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(self.retry_after));
        response
    }
}

/// The failed-login guard of one request, for handlers that read credentials themselves.
/// Outside [`wrap`] it allows everything.
///
/// An attempt of a name is taken from its bucket before the credentials are checked (so
/// concurrent guesses cannot all slip through while the first ones are checked) and given back
/// when the answer is not `401`.
#[derive(Clone, Debug)]
pub struct Login {
    ops: Option<Ops>,
    peer: Option<IpAddr>,
    request_id: String,
    held: Arc<std::sync::Mutex<Vec<limit::Taken>>>,
}

impl Login {
    fn new(ops: Option<Ops>, peer: Option<IpAddr>, request_id: String) -> Login {
        Login { ops, peer, request_id, held: Arc::default() }
    }

    /// Takes an attempt of `name` (and of the request's address) from their buckets, or
    /// refuses it: too many failures. An answer marked with [`AuthFailed`] (or a `401` to
    /// Basic credentials) keeps the attempt; any other answer gives it back.
    pub fn attempt(&self, name: &str) -> Result<(), TooManyLogins> {
        let Some(ops) = &self.ops else { return Ok(()) };
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let key = limit::name_key(name);
        // A name the layer took already (HTTP Basic) is not taken twice.
        let name_held = held.iter().any(|t| t.name.as_deref() == Some(key.as_str()));
        let to_take = (!name_held).then_some(name);
        match ops.inner.limiter.try_take(to_take, self.peer) {
            Ok(taken) => {
                if taken.name.is_some() {
                    held.push(taken);
                }
                Ok(())
            }
            Err(limited) => Err(ops.limited(limited, Some(name), self.peer, &self.request_id)),
        }
    }

    /// Refuses the request when its source address failed too often (takes nothing): for a
    /// handler that checks a secret with no login name, such as an ID token. Its failures are
    /// counted with [`Login::failed`].
    pub fn check_address(&self) -> Result<(), TooManyLogins> {
        let Some(ops) = &self.ops else { return Ok(()) };
        ops.inner
            .limiter
            .check(None, self.peer)
            .map_err(|limited| ops.limited(limited, None, self.peer, &self.request_id))
    }

    /// Counts and logs (at `warn`) a failed authentication of the request's source address
    /// that the answer's status does not show (a refused ID token is answered `422`, as the
    /// device protocol has it).
    pub fn failed(&self, reason: &str) {
        if let Some(ops) = &self.ops {
            ops.failed(None, self.peer, &self.request_id, reason, false);
        }
    }

    /// The request's id.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The request's source address, if known.
    pub fn peer(&self) -> Option<IpAddr> {
        self.peer
    }

    fn take_held(&self) -> Vec<limit::Taken> {
        std::mem::take(&mut *self.held.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Login {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Login, Infallible> {
        Ok(parts
            .extensions
            .get::<Login>()
            .cloned()
            .unwrap_or_else(|| Login::new(None, None, String::new())))
    }
}

/// `router` with the operations endpoints (`/healthz`, `/readyz`, `/metrics`) and every layer
/// of this module, for the server of `ops`.
pub fn wrap(router: Router, ops: &Ops) -> Router {
    let endpoints = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_endpoint))
        .with_state(ops.clone());
    router
        .merge(endpoints)
        .layer(RequestBodyLimitLayer::new(ops.inner.limits.body))
        .layer(middleware::from_fn_with_state(ops.clone(), guard))
}

/// A JSON error body as every slp server words it: `{"status": "ERROR", "message": …}`.
pub fn refusal(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({"status": "ERROR", "message": message.into()});
    (status, axum::Json(body)).into_response()
}

async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "OK"})).into_response()
}

async fn readyz(State(ops): State<Ops>) -> Response {
    let answer = tokio::time::timeout(READY_TIMEOUT, ops.inner.probe.ready()).await;
    let reason = match answer {
        Ok(Ok(())) => return axum::Json(serde_json::json!({"status": "OK"})).into_response(),
        Ok(Err(reason)) => reason,
        Err(_) => format!("the store did not answer within {} s", READY_TIMEOUT.as_secs()),
    };
    tracing::warn!(server = ops.inner.server, reason = %reason, "not ready");
    refusal(StatusCode::SERVICE_UNAVAILABLE, format!("{} not ready: {reason}", ops.inner.server))
}

fn is_loopback(peer: Option<IpAddr>) -> bool {
    match peer {
        Some(IpAddr::V4(v4)) => v4.is_loopback(),
        Some(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        None => false,
    }
}

async fn metrics_endpoint(State(ops): State<Ops>, request: Request) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if !is_loopback(peer) {
        return refusal(
            StatusCode::FORBIDDEN,
            "/metrics is served to loopback clients only: scrape it from the same host",
        );
    }
    let samples = ops.inner.probe.samples().await;
    match ops.inner.metrics.render(samples) {
        Ok(text) => ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response(),
        Err(_) => refusal(StatusCode::INTERNAL_SERVER_ERROR, "encoding the metrics failed"),
    }
}

/// Whether `id` is fit to be logged and echoed as a request id.
fn sane_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:+=/@".contains(&b))
}

fn request_id_of(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| sane_request_id(id))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// The method as a metric label (unknown methods fold into one).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

/// The credentials a request carries: `None` without an `Authorization` header, else the Basic
/// user name if it is Basic.
fn credentials(headers: &HeaderMap) -> Option<Option<String>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let basic_user = value.to_str().ok().and_then(|text| {
        let (scheme, encoded) = text.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = B64.decode(encoded.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, _) = decoded.split_once(':')?;
        Some(user.to_owned())
    });
    Some(basic_user)
}

/// The refusal of a request that breaks a bound or comes from another origin, if it does.
fn screen(limits: &Limits, request: &Request) -> Option<Response> {
    let uri_length = request.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri_length > limits.uri {
        return Some(refusal(
            StatusCode::URI_TOO_LONG,
            format!(
                "the request URI is {uri_length} bytes long; the limit is {} bytes",
                limits.uri
            ),
        ));
    }
    let headers = request.headers();
    if headers.len() > limits.headers {
        return Some(refusal(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "the request has {} header fields; the limit is {}",
                headers.len(),
                limits.headers
            ),
        ));
    }
    let header_bytes: usize = headers.iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
    if header_bytes > limits.header_bytes {
        return Some(refusal(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "the request headers are {header_bytes} bytes; the limit is {} bytes",
                limits.header_bytes
            ),
        ));
    }
    let origin = headers.get(header::ORIGIN)?;
    if request.method() == Method::OPTIONS
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return Some(refusal(
            StatusCode::FORBIDDEN,
            "cross-origin requests are not allowed: this server answers no CORS preflight",
        ));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    let origin_host = origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, h)| h);
    match (origin_host, host) {
        (Some(origin), Some(host)) if origin.eq_ignore_ascii_case(host) => None,
        _ => Some(refusal(
            StatusCode::FORBIDDEN,
            format!(
                "cross-origin requests are not allowed (Origin {:?} is not this server)",
                origin.to_str().unwrap_or("?")
            ),
        )),
    }
}

/// Headers every answer carries.
fn secure(response: &mut Response, request_id: &str) {
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert(HeaderName::from_static(REQUEST_ID), id);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    for name in [
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        header::ACCESS_CONTROL_ALLOW_METHODS,
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
    ] {
        headers.remove(name);
    }
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Gives back the attempts a [`Login`] still holds when dropped.
struct GiveBack(Login);

impl Drop for GiveBack {
    fn drop(&mut self) {
        if let Some(ops) = &self.0.ops {
            for taken in self.0.take_held() {
                ops.inner.limiter.refund(&taken);
            }
        }
    }
}

async fn guard(State(ops): State<Ops>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let request_id = request_id_of(request.headers());
    // At the error level, so that the span is on whenever any line can be written: every line
    // of the request, errors included, names its id.
    let span = tracing::error_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
        peer = %peer_text(peer),
    );
    let inner = async {
        if let Some(refused) = screen(&ops.inner.limits, &request) {
            return refused;
        }
        let credentials = credentials(request.headers());
        let login = Login::new(Some(ops.clone()), peer, request_id.clone());
        if let Some(name) = &credentials {
            match ops.inner.limiter.try_take(name.as_deref(), peer) {
                Ok(taken) if taken.name.is_some() => {
                    login.held.lock().unwrap_or_else(|p| p.into_inner()).push(taken);
                }
                Ok(_) => {}
                Err(limited) => {
                    return ops
                        .limited(limited, name.as_deref(), peer, &request_id)
                        .into_response();
                }
            }
        }
        request.extensions_mut().insert(RequestId(request_id.clone()));
        request.extensions_mut().insert(login.clone());
        // A request dropped before its answer (the client hung up) learned nothing: its
        // attempts are given back.
        let unanswered = GiveBack(login.clone());
        let mut response = next.run(request).await;
        let held = login.take_held();
        drop(unanswered);
        let failed = response.extensions_mut().remove::<AuthFailed>();
        // A handler's AuthFailed counts whatever the status (an OAuth2 `invalid_grant` is a
        // 400); otherwise a 401 to a request with credentials does.
        if failed.is_some()
            || (response.status() == StatusCode::UNAUTHORIZED && credentials.is_some())
        {
            let name = failed.as_ref().and_then(|f| f.name.clone()).or(credentials.flatten());
            let reason = failed.map_or_else(|| "credentials refused".to_owned(), |f| f.reason);
            ops.failed(name.as_deref(), peer, &request_id, &reason, held.is_empty());
        } else {
            for taken in &held {
                ops.inner.limiter.refund(taken);
            }
        }
        if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json(&response) {
            response = refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is larger than the {}'s limit of {} bytes",
                    ops.inner.server, ops.inner.limits.body
                ),
            );
        }
        response
    };
    let mut response = inner.instrument(span).await;
    secure(&mut response, &request_id);
    ops.inner.metrics.observe(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
