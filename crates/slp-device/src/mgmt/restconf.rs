//! RESTCONF (RFC 8040) on the device's HTTPS server: `/restconf/data/cisco-smart-license:…`,
//! `/restconf/operations/…`, `/.well-known/host-meta`, beside `/smartlic-service/*`.
//!
//! As on IOS-XE, the server answers only while the configuration has `ip http secure-server`;
//! RESTCONF only while it also has `restconf`, and logs in the device's local users (`username
//! … privilege 15 secret …`) with HTTP basic auth after `ip http authentication local`. Every
//! refusal under `/restconf` is an `ietf-restconf:errors` document (JSON or XML as the client
//! accepts) with the RFC's error-type, error-tag, error-path and error-message.
//!
//! Reads come from the [`super::yang`] model's instance data; a `PUT`, `PATCH` or `DELETE`
//! becomes the configuration lines a user would type (`configure terminal` … `end`), and an
//! operation the EXEC lines of its RPC, both run through the running device's one writer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

use crate::service::Shared;
use crate::state::DeviceState;

/// The namespace of `ietf-restconf` (the root resource and errors in XML).
pub const RESTCONF_NAMESPACE: &str = "urn:ietf:params:xml:ns:yang:ietf-restconf";
/// The `ietf-yang-library` revision RESTCONF's root names (RFC 8040 `yang-library-version`).
pub const YANG_LIBRARY_VERSION: &str = "2016-06-21";
/// The namespace of `ietf-yang-library`.
pub const YANG_LIBRARY_NAMESPACE: &str = "urn:ietf:params:xml:ns:yang:ietf-yang-library";
/// The device's own certificate for HTTPS, in the state directory (PEM).
pub const CERT_FILE: &str = "https-cert.pem";
/// Its private key (PEM, owner-only).
pub const KEY_FILE: &str = "https-key.pem";
/// Largest request body on the HTTPS server (as the management API).
pub const BODY_LIMIT: usize = crate::service::MGMT_BODY_LIMIT;

/// Why the device's own certificate could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("making the device's self-signed HTTPS certificate: {0}")]
    Generate(String),
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Tls(#[from] slp_http::TlsError),
}

/// The device's own HTTPS certificate, as IOS-XE's `TP-self-signed-…` trustpoint: made on first
/// use (`CN=IOS-Self-Signed-Certificate-<SN>`, names 127.0.0.1, ::1, localhost and the
/// hostname), kept in `dir` ([`CERT_FILE`], [`KEY_FILE`] owner-only) and reused afterwards.
pub fn device_certificate(
    dir: &Path,
    state: &DeviceState,
) -> Result<slp_http::TlsConfig, CertError> {
    let cert = dir.join(CERT_FILE);
    let key = dir.join(KEY_FILE);
    if !(cert.is_file() && key.is_file()) {
        let (cert_pem, key_pem) = self_signed(state)?;
        // The key first: a certificate without its key would be refused on the next start.
        slp_host::write_private(&key, key_pem.as_bytes())
            .map_err(|source| CertError::Write { path: key.clone(), source })?;
        slp_host::write_private(&cert, cert_pem.as_bytes())
            .map_err(|source| CertError::Write { path: cert.clone(), source })?;
        tracing::info!(cert = %cert.display(), "made the device's self-signed HTTPS certificate");
    }
    Ok(slp_http::TlsConfig::from_pem_files(&cert, &key)?)
}

fn self_signed(state: &DeviceState) -> Result<(String, String), CertError> {
    let generate = |err: rcgen::Error| CertError::Generate(err.to_string());
    let mut names = vec!["127.0.0.1".to_owned(), "::1".to_owned(), "localhost".to_owned()];
    let hostname = state.hostname().to_ascii_lowercase();
    let dns_name = !hostname.is_empty()
        && hostname.len() <= 63
        && hostname.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if dns_name && hostname != "localhost" {
        names.push(hostname);
    }
    let mut params = rcgen::CertificateParams::new(names).map_err(generate)?;
    let mut subject = rcgen::DistinguishedName::new();
    subject.push(
        rcgen::DnType::CommonName,
        format!("IOS-Self-Signed-Certificate-{}", state.active().udi.sn),
    );
    params.distinguished_name = subject;
    // As IOS-XE's self-signed trustpoint certificate: its own CA (so clients can be given it
    // as the one certificate to trust), for TLS servers.
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages =
        vec![rcgen::KeyUsagePurpose::DigitalSignature, rcgen::KeyUsagePurpose::KeyCertSign];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let key = rcgen::KeyPair::generate().map_err(generate)?;
    let cert = params.self_signed(&key).map_err(generate)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Serves HTTPS on `listener` until the task is aborted.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    tls: slp_http::TlsConfig,
) {
    let ops = slp_http::ops::Ops::builder("device-https", crate::service::clock_of(&shared))
        .body_limit(BODY_LIMIT)
        .shared_limiter(shared.login_limiter.clone())
        .build();
    let app = slp_http::ops::wrap(router(shared), &ops).layer(middleware::from_fn(ops_errors));
    if let Err(err) = slp_http::serve(listener, app, Some(tls), std::future::pending()).await {
        tracing::error!(error = %err, "the HTTPS server stopped");
    }
}

/// The HTTPS server's routes: `/smartlic-service/*`, RESTCONF and host-meta, behind the
/// `ip http secure-server` gate (and RESTCONF behind `restconf`).
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let restconf = Router::new()
        .route("/.well-known/host-meta", any(host_meta))
        .route("/restconf", any(root))
        .route("/restconf/", any(root))
        .route("/restconf/data", any(data_root))
        .route("/restconf/data/", any(data_root))
        .route("/restconf/data/{*path}", any(data))
        .route("/restconf/operations", any(operations_root))
        .route("/restconf/operations/", any(operations_root))
        .route("/restconf/operations/{*path}", any(operation))
        .route("/restconf/yang-library-version", any(yang_library_version))
        .route("/restconf/{*rest}", any(unknown_resource))
        .route_layer(middleware::from_fn_with_state(shared.clone(), restconf_gate));
    crate::service::smartlic_router()
        .merge(restconf)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), https_gate))
        .with_state(shared)
}

// ---------------------------------------------------------------------------------------------
// Errors (RFC 8040 section 7)

/// The encoding of a RESTCONF message: `application/yang-data+json` or `+xml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// The media type of an answer in this format.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Json => "application/yang-data+json",
            Format::Xml => "application/yang-data+xml",
        }
    }
}

/// RFC 8040 `error-type`: which layer refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    Transport,
    Rpc,
    Protocol,
    Application,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Transport => "transport",
            ErrorType::Rpc => "rpc",
            ErrorType::Protocol => "protocol",
            ErrorType::Application => "application",
        }
    }
}

/// One RESTCONF error: its HTTP status, error-type, error-tag (RFC 6241 appendix A), the
/// instance path it is about, and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestconfError {
    pub status: StatusCode,
    pub error_type: ErrorType,
    pub tag: &'static str,
    pub path: Option<String>,
    pub message: String,
}

/// The HTTP status RFC 8040 section 7 gives an error-tag (the first where it lists several).
pub fn status_of(tag: &str) -> StatusCode {
    match tag {
        "in-use" | "lock-denied" | "resource-denied" | "data-exists" | "data-missing" => {
            StatusCode::CONFLICT
        }
        "invalid-value" | "missing-attribute" | "bad-attribute" | "unknown-attribute"
        | "bad-element" | "unknown-element" | "unknown-namespace" | "malformed-message" => {
            StatusCode::BAD_REQUEST
        }
        "missing-element" => StatusCode::BAD_REQUEST,
        "too-big" => StatusCode::PAYLOAD_TOO_LARGE,
        "access-denied" => StatusCode::FORBIDDEN,
        "operation-not-supported" => StatusCode::METHOD_NOT_ALLOWED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl RestconfError {
    /// An error with the status RFC 8040 maps `tag` to.
    pub fn new(error_type: ErrorType, tag: &'static str, message: impl Into<String>) -> Self {
        RestconfError {
            status: status_of(tag),
            error_type,
            tag,
            path: None,
            message: message.into(),
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// No resource at the path: `404`, invalid-value.
    pub fn not_found(message: impl Into<String>) -> Self {
        RestconfError::new(ErrorType::Protocol, "invalid-value", message)
            .with_status(StatusCode::NOT_FOUND)
    }

    /// No or wrong credentials: `401`, access-denied.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        RestconfError::new(ErrorType::Protocol, "access-denied", message)
            .with_status(StatusCode::UNAUTHORIZED)
    }

    /// A request the server cannot read: `400`, malformed-message.
    pub fn malformed(message: impl Into<String>) -> Self {
        RestconfError::new(ErrorType::Rpc, "malformed-message", message)
    }

    /// A bad value in the request: `400`, invalid-value.
    pub fn invalid(message: impl Into<String>) -> Self {
        RestconfError::new(ErrorType::Protocol, "invalid-value", message)
    }

    /// The device failed the operation: `500`, operation-failed.
    pub fn failed(message: impl Into<String>) -> Self {
        RestconfError::new(ErrorType::Application, "operation-failed", message)
    }

    /// The `ietf-restconf:errors` document in `format`.
    pub fn body(&self, format: Format) -> String {
        match format {
            Format::Json => {
                let mut error = serde_json::Map::new();
                error.insert("error-type".into(), json!(self.error_type.as_str()));
                error.insert("error-tag".into(), json!(self.tag));
                if let Some(path) = &self.path {
                    error.insert("error-path".into(), json!(path));
                }
                error.insert("error-message".into(), json!(self.message));
                json!({"ietf-restconf:errors": {"error": [Value::Object(error)]}}).to_string()
            }
            Format::Xml => {
                let mut xml = format!(
                    "<errors xmlns=\"{RESTCONF_NAMESPACE}\">\n  <error>\n    <error-type>{}</error-type>\n    <error-tag>{}</error-tag>\n",
                    self.error_type.as_str(),
                    self.tag
                );
                if let Some(path) = &self.path {
                    // The path's module prefix is bound as XML instance identifiers need.
                    let module = super::yang::MODULE;
                    let binding = if path.contains(&format!("{module}:")) {
                        format!(" xmlns:{module}=\"{}\"", super::yang::NAMESPACE)
                    } else {
                        String::new()
                    };
                    xml.push_str(&format!(
                        "    <error-path{binding}>{}</error-path>\n",
                        escape(path)
                    ));
                }
                xml.push_str(&format!(
                    "    <error-message xml:lang=\"en\">{}</error-message>\n  </error>\n</errors>\n",
                    escape(&self.message)
                ));
                xml
            }
        }
    }

    /// The answer: the status, the errors document and, for a `401`, the Basic challenge.
    pub fn respond(&self, format: Format) -> Response {
        let mut response =
            (self.status, [(header::CONTENT_TYPE, format.media_type())], self.body(format))
                .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"restconf\""),
            );
        }
        response
    }
}

/// XML text escaping.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Content negotiation

/// The format of the answer, from `Accept`: the RESTCONF media types, `application/json` and
/// `application/xml` (as IOS-XE takes them), `*/*`; XML when nothing is asked for (IOS-XE's
/// default). `406` when the client accepts neither.
pub fn negotiate(headers: &HeaderMap) -> Result<Format, RestconfError> {
    let Some(accept) = headers.get(header::ACCEPT) else { return Ok(Format::Xml) };
    let accept = accept.to_str().map_err(|_| {
        RestconfError::malformed("the Accept header is not ASCII text")
            .with_status(StatusCode::NOT_ACCEPTABLE)
    })?;
    if accept.trim().is_empty() {
        return Ok(Format::Xml);
    }
    let mut ranges: Vec<(f32, usize, Option<Format>)> = Vec::new();
    for (index, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0_f32;
        for param in parts {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                q = value.trim().parse().unwrap_or(0.0);
            }
        }
        if q <= 0.0 {
            continue;
        }
        let format = match media.as_str() {
            "application/yang-data+json" | "application/json" | "application/yang.data+json" => {
                Some(Format::Json)
            }
            "application/yang-data+xml"
            | "application/xml"
            | "text/xml"
            | "application/yang.data+xml"
            | "*/*"
            | "application/*" => Some(Format::Xml),
            _ => None,
        };
        ranges.push((q, index, format));
    }
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.into_iter().find_map(|(_, _, format)| format).ok_or_else(|| {
        RestconfError::invalid(format!(
            "none of the media types in Accept: {accept} is served: ask for application/yang-data+json or application/yang-data+xml"
        ))
        .with_status(StatusCode::NOT_ACCEPTABLE)
    })
}

/// The format of a request body, from `Content-Type` (`415` for another type); a body without
/// one is read by its first character.
pub fn body_format(headers: &HeaderMap, body: &[u8]) -> Result<Format, RestconfError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        return match first {
            Some(b'<') => Ok(Format::Xml),
            _ => Ok(Format::Json),
        };
    };
    let text = value.to_str().unwrap_or("");
    let media = text.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match media.as_str() {
        "application/yang-data+json" | "application/json" | "application/yang.data+json" => {
            Ok(Format::Json)
        }
        "application/yang-data+xml" | "application/xml" | "text/xml"
        | "application/yang.data+xml" => Ok(Format::Xml),
        _ => Err(RestconfError::invalid(format!(
            "the body's Content-Type {text:?} is not served: send application/yang-data+json or application/yang-data+xml"
        ))
        .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE)),
    }
}

/// The format errors are answered in: what the client accepts, else XML.
fn error_format(headers: &HeaderMap) -> Format {
    negotiate(headers).unwrap_or(Format::Xml)
}

fn answer(status: StatusCode, format: Format, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, format.media_type())], body).into_response()
}

/// A method the resource does not take: `405` with `Allow`.
fn not_allowed(method: &Method, allow: &'static str, format: Format) -> Response {
    let mut response = RestconfError::new(
        ErrorType::Protocol,
        "operation-not-supported",
        format!("{method} is not supported on this resource; it takes {allow}"),
    )
    .respond(format);
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

fn options(allow: &'static str) -> Response {
    (StatusCode::OK, [(header::ALLOW, allow)]).into_response()
}

/// The refusals of the operations layers (bounds, failed-login limits, cross-origin) under
/// `/restconf` as RFC 8040 errors, keeping their status and `Retry-After`.
async fn ops_errors(request: Request, next: Next) -> Response {
    let restconf = request.uri().path().starts_with("/restconf");
    let format = error_format(request.headers());
    let response = next.run(request).await;
    let plain_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !restconf || !plain_json || response.status().is_success() {
        return response;
    }
    let status = response.status();
    let (mut parts, body) = response.into_parts();
    let message = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned()),
        Err(_) => status.canonical_reason().unwrap_or("refused").to_owned(),
    };
    let (error_type, tag) = match status {
        StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::URI_TOO_LONG
        | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (ErrorType::Transport, "too-big"),
        StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => (ErrorType::Protocol, "access-denied"),
        StatusCode::NOT_FOUND => (ErrorType::Protocol, "invalid-value"),
        _ => (ErrorType::Transport, "resource-denied"),
    };
    let mut refused =
        RestconfError::new(error_type, tag, message).with_status(status).respond(format);
    // Retry-After, the request id and the security headers stay.
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &parts.headers {
        refused.headers_mut().insert(name.clone(), value.clone());
    }
    refused
}

// ---------------------------------------------------------------------------------------------
// Gates and authentication

fn hostname(shared: &Shared) -> String {
    shared.lock().device.state.running.hostname.clone()
}

/// Nothing is served without `ip http secure-server`.
async fn https_gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let enabled = shared.lock().device.state.running.settings.management.https_enabled();
    if enabled {
        return next.run(request).await;
    }
    let message = format!(
        "the HTTPS server of {} is disabled: configure `ip http secure-server`",
        hostname(&shared)
    );
    if request.uri().path().starts_with("/restconf") {
        RestconfError::new(ErrorType::Transport, "resource-denied", message)
            .with_status(StatusCode::SERVICE_UNAVAILABLE)
            .respond(error_format(request.headers()))
    } else {
        slp_http::ops::refusal(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

/// RESTCONF resources exist only with `restconf` configured.
async fn restconf_gate(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let enabled = shared.lock().device.state.running.settings.management.restconf_enabled();
    if enabled {
        return next.run(request).await;
    }
    RestconfError::not_found(format!(
        "RESTCONF is not enabled on {}: configure `restconf`",
        hostname(&shared)
    ))
    .respond(error_format(request.headers()))
}

/// HTTP basic auth against the device's local users; the user's name.
async fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<String, RestconfError> {
    let Some((user, password)) = crate::service::basic_credentials(headers) else {
        return Err(RestconfError::unauthorized(
            "authentication required: HTTP basic auth with a privilege 15 user of the device",
        ));
    };
    let local = shared.lock().device.state.running.settings.management.http_authentication_local;
    if !local {
        // The login is still checked (and a wrong one counted): the answer does not tell.
        let _ = shared.login(&user, &password, "https").await;
        return Err(RestconfError::unauthorized(
            "the HTTP server does not log in local users: configure `ip http authentication local`",
        ));
    }
    if shared.login(&user, &password, "https").await {
        Ok(user)
    } else {
        Err(RestconfError::unauthorized(format!("user {user:?}: wrong user name or password")))
    }
}

async fn not_found(request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/restconf") {
        RestconfError::not_found(format!("no resource {path}"))
            .respond(error_format(request.headers()))
    } else {
        slp_http::ops::refusal(StatusCode::NOT_FOUND, format!("no resource {path}"))
    }
}

// ---------------------------------------------------------------------------------------------
// host-meta, the root, the library version

/// `GET /.well-known/host-meta` (RFC 6415): where the RESTCONF root is.
async fn host_meta(method: Method) -> Response {
    match method {
        Method::GET | Method::HEAD => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/xrd+xml")],
            "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n    <Link rel='restconf' href='/restconf'/>\n</XRD>\n",
        )
            .into_response(),
        Method::OPTIONS => options("GET, HEAD, OPTIONS"),
        other => not_allowed(&other, "GET, HEAD, OPTIONS", Format::Xml),
    }
}

/// Authenticates and negotiates a read-only resource; `Err` is the answer to give.
async fn read_only(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Format, Response> {
    let format = negotiate(headers).map_err(|err| err.respond(Format::Xml))?;
    match *method {
        Method::GET | Method::HEAD => {}
        Method::OPTIONS => return Err(options("GET, HEAD, OPTIONS")),
        ref other => return Err(not_allowed(other, "GET, HEAD, OPTIONS", format)),
    }
    authenticate(shared, headers).await.map_err(|err| err.respond(format))?;
    Ok(format)
}

/// `GET /restconf`: the `ietf-restconf:restconf` root resource.
async fn root(State(shared): State<Arc<Shared>>, method: Method, headers: HeaderMap) -> Response {
    let format = match read_only(&shared, &method, &headers).await {
        Ok(format) => format,
        Err(response) => return response,
    };
    let body = match format {
        Format::Json => json!({"ietf-restconf:restconf": {
            "data": {},
            "operations": {},
            "yang-library-version": YANG_LIBRARY_VERSION,
        }})
        .to_string(),
        Format::Xml => format!(
            "<restconf xmlns=\"{RESTCONF_NAMESPACE}\">\n  <data/>\n  <operations/>\n  <yang-library-version>{YANG_LIBRARY_VERSION}</yang-library-version>\n</restconf>\n"
        ),
    };
    answer(StatusCode::OK, format, body)
}

/// `GET /restconf/yang-library-version`.
async fn yang_library_version(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let format = match read_only(&shared, &method, &headers).await {
        Ok(format) => format,
        Err(response) => return response,
    };
    let body = match format {
        Format::Json => {
            json!({"ietf-restconf:yang-library-version": YANG_LIBRARY_VERSION}).to_string()
        }
        Format::Xml => format!(
            "<yang-library-version xmlns=\"{RESTCONF_NAMESPACE}\">{YANG_LIBRARY_VERSION}</yang-library-version>\n"
        ),
    };
    answer(StatusCode::OK, format, body)
}

async fn unknown_resource(request: Request) -> Response {
    not_found(request).await
}

/// The modules the server implements, as `ietf-yang-library:modules-state` (RFC 7895).
fn modules_state(format: Format) -> String {
    use super::yang::{MODULE, NAMESPACE, REVISION};
    let modules = [
        (MODULE, REVISION, NAMESPACE),
        ("ietf-restconf", "2017-01-26", RESTCONF_NAMESPACE),
        ("ietf-yang-library", YANG_LIBRARY_VERSION, YANG_LIBRARY_NAMESPACE),
    ];
    let set_id = format!("{MODULE}@{REVISION}");
    match format {
        Format::Json => {
            let list: Vec<Value> = modules
                .iter()
                .map(|(name, revision, namespace)| {
                    json!({"name": name, "revision": revision, "namespace": namespace, "conformance-type": "implement"})
                })
                .collect();
            json!({"ietf-yang-library:modules-state": {"module-set-id": set_id, "module": list}})
                .to_string()
        }
        Format::Xml => {
            let mut xml = format!(
                "<modules-state xmlns=\"{YANG_LIBRARY_NAMESPACE}\">\n  <module-set-id>{set_id}</module-set-id>\n"
            );
            for (name, revision, namespace) in modules {
                xml.push_str(&format!(
                    "  <module>\n    <name>{name}</name>\n    <revision>{revision}</revision>\n    <namespace>{namespace}</namespace>\n    <conformance-type>implement</conformance-type>\n  </module>\n"
                ));
            }
            xml.push_str("</modules-state>\n");
            xml
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Data and operations

const DATA_METHODS: &str = "GET, HEAD, PUT, PATCH, DELETE, OPTIONS";

/// `/restconf/data`: the whole datastore (the licensing container).
async fn data_root(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let format = match read_only(&shared, &method, &headers).await {
        Ok(format) => format,
        Err(response) => return response,
    };
    match read_data(&shared, "", uri.query(), format) {
        Ok(body) => answer(StatusCode::OK, format, body),
        Err(err) => err.respond(format),
    }
}

/// `/restconf/data/<module>:<path>`: read and edit.
async fn data(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
    axum::extract::Path(path): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    let format = match negotiate(&headers) {
        Ok(format) => format,
        Err(err) => return err.respond(Format::Xml),
    };
    if method == Method::OPTIONS {
        return options(DATA_METHODS);
    }
    if !matches!(method, Method::GET | Method::HEAD | Method::PUT | Method::PATCH | Method::DELETE)
    {
        return not_allowed(&method, DATA_METHODS, format);
    }
    if let Err(err) = authenticate(&shared, &headers).await {
        return err.respond(format);
    }
    let result = match method {
        Method::GET | Method::HEAD => read_data(&shared, &path, uri.query(), format)
            .map(|body| answer(StatusCode::OK, format, body)),
        _ => edit_data(shared, method, &path, &headers, body).await,
    };
    result.unwrap_or_else(|err| err.respond(format))
}

/// `GET /restconf/operations`: the operations the server offers.
async fn operations_root(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let format = match read_only(&shared, &method, &headers).await {
        Ok(format) => format,
        Err(response) => return response,
    };
    answer(StatusCode::OK, format, operations_list(format))
}

/// `POST /restconf/operations/cisco-smart-license:<rpc>`.
async fn operation(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    axum::extract::Path(path): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    let format = match negotiate(&headers) {
        Ok(format) => format,
        Err(err) => return err.respond(Format::Xml),
    };
    match method {
        Method::POST => {}
        Method::OPTIONS => return options("POST, OPTIONS"),
        other => return not_allowed(&other, "POST, OPTIONS", format),
    }
    if let Err(err) = authenticate(&shared, &headers).await {
        return err.respond(format);
    }
    run_operation(shared, &path, &headers, body, format)
        .await
        .unwrap_or_else(|err| err.respond(format))
}

// ---------------------------------------------------------------------------------------------
// Query parameters, depth and content

/// RFC 8040 `content`: which nodes a read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Content {
    #[default]
    All,
    Config,
    Nonconfig,
}

/// The query parameters of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadQuery {
    /// `depth`: levels returned from the target (1 = the target alone); `None` = unbounded.
    pub depth: Option<u16>,
    pub content: Content,
}

/// Reads `depth` and `content`; any other parameter is refused (`400` invalid-value).
pub fn read_query(query: Option<&str>) -> Result<ReadQuery, RestconfError> {
    let mut read = ReadQuery::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "depth" => read.depth = match value {
                "unbounded" => None,
                number => {
                    Some(number.parse::<u16>().ok().filter(|d| *d >= 1).ok_or_else(|| {
                        RestconfError::invalid(format!(
                            "depth must be \"unbounded\" or a number from 1 to 65535, not {value:?}"
                        ))
                    })?)
                }
            },
            "content" => {
                read.content = match value {
                    "all" => Content::All,
                    "config" => Content::Config,
                    "nonconfig" => Content::Nonconfig,
                    other => {
                        return Err(RestconfError::invalid(format!(
                            "content must be config, nonconfig or all, not {other:?}"
                        )));
                    }
                }
            }
            "fields" | "filter" | "insert" | "point" | "start-time" | "stop-time"
            | "with-defaults" => {
                return Err(RestconfError::invalid(format!(
                    "the query parameter {name:?} is not supported by this server (it takes depth and content)"
                )));
            }
            other => {
                return Err(RestconfError::invalid(format!(
                    "unknown query parameter {other:?} (RESTCONF reads take depth and content)"
                )));
            }
        }
    }
    Ok(read)
}

/// Keeps the nodes of a JSON instance document down to `depth` levels (its top members are
/// level 1): deeper containers, lists and leaves are left out, a container at the limit is
/// empty.
pub fn prune_json(value: &mut Value, depth: u16) {
    fn members(map: &mut serde_json::Map<String, Value>, level: u16, depth: u16) {
        if level > depth {
            map.clear();
            return;
        }
        for child in map.values_mut() {
            match child {
                Value::Object(inner) => members(inner, level + 1, depth),
                Value::Array(entries) => {
                    for entry in entries {
                        if let Value::Object(inner) = entry {
                            members(inner, level + 1, depth);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if let Value::Object(map) = value {
        members(map, 1, depth);
    }
}

/// An XML instance document without the elements `drop(level, name)` refuses (the document
/// element is level 1) and everything inside them.
pub fn filter_xml(xml: &str, drop: impl Fn(u16, &str) -> bool) -> Result<String, RestconfError> {
    use quick_xml::events::Event;
    let broken = |err: &dyn std::fmt::Display| {
        RestconfError::failed(format!("the device's XML could not be filtered: {err}"))
    };
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut writer = quick_xml::Writer::new(Vec::new());
    let mut level: u16 = 0;
    // The level of the element being left out, while inside it.
    let mut skipping: Option<u16> = None;
    loop {
        let event = reader.read_event().map_err(|err| broken(&err))?;
        match &event {
            Event::Eof => break,
            Event::Start(start) => {
                level += 1;
                if skipping.is_none() && drop(level, &local_name(start.name().as_ref())) {
                    skipping = Some(level);
                }
                if skipping.is_some() {
                    continue;
                }
            }
            Event::Empty(start) => {
                if skipping.is_some() || drop(level + 1, &local_name(start.name().as_ref())) {
                    continue;
                }
            }
            Event::End(_) => {
                let inside = skipping.is_some();
                if skipping == Some(level) {
                    skipping = None;
                }
                level = level.saturating_sub(1);
                if inside {
                    continue;
                }
            }
            _ => {
                if skipping.is_some() {
                    continue;
                }
            }
        }
        writer.write_event(event).map_err(|err| broken(&err))?;
    }
    String::from_utf8(writer.into_inner()).map_err(|err| broken(&err))
}

fn local_name(name: &[u8]) -> String {
    let text = String::from_utf8_lossy(name);
    text.rsplit(':').next().unwrap_or_default().to_owned()
}

// ---------------------------------------------------------------------------------------------
// XML bodies

/// A request body in XML as the JSON (RFC 7951) of the same data: the top element named
/// `<module>:<name>` when its namespace is the smart-license module's (or `ietf-restconf`'s
/// input), elements with children as objects, repeated elements as arrays, leaves as strings.
pub fn xml_to_json(xml: &str) -> Result<Value, RestconfError> {
    use quick_xml::events::Event;
    let malformed = |err: &dyn std::fmt::Display| {
        RestconfError::malformed(format!("the body is not well-formed XML: {err}"))
    };
    struct Open {
        name: String,
        children: serde_json::Map<String, Value>,
        text: String,
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Open> = Vec::new();
    let mut top: Option<(String, Value)> = None;
    let mut top_namespace = String::new();
    loop {
        let event = reader.read_event().map_err(|err| malformed(&err))?;
        let (start, empty) = match &event {
            Event::Start(start) => (Some(start.clone()), false),
            Event::Empty(start) => (Some(start.clone()), true),
            _ => (None, false),
        };
        if let Some(start) = start {
            if top.is_some() {
                return Err(RestconfError::malformed("the body holds more than one top element"));
            }
            let name = local_name(start.name().as_ref());
            if stack.is_empty() {
                for attr in start.attributes().flatten() {
                    if attr.key.as_ref() == b"xmlns" {
                        top_namespace = String::from_utf8_lossy(&attr.value).into_owned();
                    }
                }
            }
            stack.push(Open { name, children: serde_json::Map::new(), text: String::new() });
            if !empty {
                continue;
            }
        }
        match event {
            Event::Eof => break,
            Event::Text(text) => {
                let text = text.unescape().map_err(|err| malformed(&err))?;
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&text);
                } else if !text.trim().is_empty() {
                    return Err(RestconfError::malformed("text outside the top element"));
                }
            }
            Event::CData(data) => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&String::from_utf8_lossy(&data));
                }
            }
            Event::End(_) | Event::Empty(_) => {
                let Some(done) = stack.pop() else {
                    return Err(RestconfError::malformed("an end tag without its start"));
                };
                let value = if done.children.is_empty() {
                    Value::String(done.text.trim().to_owned())
                } else {
                    Value::Object(done.children)
                };
                match stack.last_mut() {
                    Some(parent) => match parent.children.get_mut(&done.name) {
                        Some(Value::Array(list)) => list.push(value),
                        Some(existing) => {
                            let first = existing.take();
                            *existing = Value::Array(vec![first, value]);
                        }
                        None => {
                            parent.children.insert(done.name, value);
                        }
                    },
                    None => top = Some((done.name, value)),
                }
            }
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(RestconfError::malformed("the body ends inside an element"));
    }
    let Some((name, value)) = top else {
        return Err(RestconfError::malformed("the body holds no element"));
    };
    let module = if top_namespace == super::yang::NAMESPACE {
        super::yang::MODULE
    } else if top_namespace.is_empty() || top_namespace == RESTCONF_NAMESPACE {
        ""
    } else {
        return Err(RestconfError::new(
            ErrorType::Protocol,
            "unknown-namespace",
            format!(
                "the namespace {top_namespace:?} of <{name}> is not served (the module's is {})",
                super::yang::NAMESPACE
            ),
        ));
    };
    let key = if module.is_empty() { name } else { format!("{module}:{name}") };
    Ok(json!({ key: value }))
}

/// The request body as JSON, whatever its format; an empty body is `null`.
fn body_json(headers: &HeaderMap, body: &[u8]) -> Result<Value, RestconfError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| RestconfError::malformed("the body is not UTF-8 text"))?;
    match body_format(headers, body)? {
        Format::Json => serde_json::from_str(text)
            .map_err(|err| RestconfError::malformed(format!("the body is not JSON: {err}"))),
        Format::Xml => xml_to_json(text),
    }
}

// ---------------------------------------------------------------------------------------------
// Running lines on the device

/// Runs configuration lines as a user would type them (`configure terminal`, the lines,
/// `end`); the first refused line stops them and is the error.
async fn run_config(shared: Arc<Shared>, lines: Vec<String>) -> Result<(), RestconfError> {
    let outcome = tokio::task::spawn_blocking(move || {
        let mut terminal = crate::service::Terminal::of(crate::commands::Mode::Exec, None);
        let start = shared.run_line(&mut terminal, "configure terminal");
        if !start.ok {
            return Err(start);
        }
        let mut refused = None;
        for line in &lines {
            let output = shared.run_line(&mut terminal, line);
            if !output.ok {
                refused = Some(output);
                break;
            }
        }
        let _ = shared.run_line(&mut terminal, "end");
        refused.map_or(Ok(()), Err)
    })
    .await
    .map_err(|err| RestconfError::failed(format!("the device task failed: {err}")))?;
    outcome.map_err(|output| {
        RestconfError::invalid(format!(
            "the device refused `{}`: {}",
            output.command,
            output.text.trim()
        ))
    })
}

/// Runs EXEC lines in privileged EXEC mode; every output, refused ones too.
async fn run_exec(
    shared: Arc<Shared>,
    lines: Vec<String>,
) -> Result<Vec<crate::service::ExecOutput>, RestconfError> {
    tokio::task::spawn_blocking(move || {
        let mut terminal = crate::service::Terminal::of(crate::commands::Mode::Exec, None);
        lines.iter().map(|line| shared.run_line(&mut terminal, line)).collect()
    })
    .await
    .map_err(|err| RestconfError::failed(format!("the device task failed: {err}")))
}

// ---------------------------------------------------------------------------------------------
// The model's data and operations

/// What a data path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `ietf-yang-library:modules-state`.
    YangLibrary,
    /// `cisco-smart-license:licensing[/…]`: the path from `licensing` on, unqualified.
    Licensing(String),
}

/// Reads a data path (after `/restconf/data/`): module-qualified at its first node, as RFC
/// 8040 and RFC 7951 have it. `""` is the whole datastore.
pub fn target(path: &str) -> Result<Target, RestconfError> {
    let path = path.trim_end_matches('/');
    if path == "ietf-yang-library:modules-state" {
        return Ok(Target::YangLibrary);
    }
    let prefix = format!("{}:", super::yang::MODULE);
    match path.strip_prefix(&prefix) {
        Some(rest) if rest == "licensing" || rest.starts_with("licensing/") => {
            Ok(Target::Licensing(rest.to_owned()))
        }
        _ => Err(RestconfError::not_found(format!(
            "no data resource {path:?}: this server serves {}:licensing and ietf-yang-library:modules-state",
            super::yang::MODULE
        ))
        .at(format!("/{path}"))),
    }
}

/// A refusal of the model as a RESTCONF error. `in_uri`: the error is about the request's path
/// (a node the URI names that does not exist is `404`), else about its body.
pub fn yang_error(err: &super::yang::YangError, in_uri: bool) -> RestconfError {
    use super::yang::YangError;
    let error_type = match err.error_type() {
        "rpc" => ErrorType::Rpc,
        "protocol" => ErrorType::Protocol,
        "transport" => ErrorType::Transport,
        _ => ErrorType::Application,
    };
    let mut status = status_of(err.error_tag());
    if in_uri
        && matches!(
            err,
            YangError::UnknownElement { .. }
                | YangError::UnknownNamespace { .. }
                | YangError::BadPath { .. }
                | YangError::UnknownRpc { .. }
        )
    {
        status = StatusCode::NOT_FOUND;
    }
    let mut error = RestconfError {
        status,
        error_type,
        tag: err.error_tag(),
        path: None,
        message: err.to_string(),
    };
    if let Some(path) = err.path() {
        error.path = Some(qualified(path));
    }
    error
}

/// `/licensing/config/…` as an RFC 7951 instance identifier: `/cisco-smart-license:licensing/…`.
fn qualified(path: &str) -> String {
    match path.strip_prefix('/') {
        Some(rest) if !rest.starts_with(super::yang::MODULE) && !rest.is_empty() => {
            format!("/{}:{rest}", super::yang::MODULE)
        }
        _ => path.to_owned(),
    }
}

/// The state data of `tree` only (RESTCONF `content=nonconfig`): `config false` subtrees and
/// the containers that lead to them.
pub fn nonconfig_only(tree: &super::yang::Tree) -> super::yang::Tree {
    use super::yang::{Content as Node, Data};
    fn keep(data: &Data, config: bool) -> Option<Data> {
        let config = data.schema.config.unwrap_or(config);
        if !config {
            return Some(data.clone());
        }
        match &data.content {
            Node::Inner(children) => {
                let kept: Vec<Data> = children.iter().filter_map(|c| keep(c, true)).collect();
                (!kept.is_empty())
                    .then_some(Data { schema: data.schema, content: Node::Inner(kept) })
            }
            _ => None,
        }
    }
    super::yang::Tree { nodes: tree.nodes.iter().filter_map(|n| keep(n, true)).collect() }
}

fn read_data(
    shared: &Shared,
    path: &str,
    query: Option<&str>,
    format: Format,
) -> Result<String, RestconfError> {
    use super::yang;
    let query = read_query(query)?;
    let segments = if path.is_empty() {
        Vec::new()
    } else {
        match target(path)? {
            Target::YangLibrary => return Ok(modules_state(format)),
            Target::Licensing(rest) => yang::parse_path(&rest)
                .map_err(|err| yang_error(&err, true).at(format!("/{path}")))?,
        }
    };
    let tree = {
        let session = shared.lock();
        yang::licensing(&session.device)
    };
    let tree = match query.content {
        Content::All => tree,
        Content::Config => tree.config_only(),
        Content::Nonconfig => nonconfig_only(&tree),
    };
    let selected = if segments.is_empty() {
        Some(tree)
    } else {
        tree.select(&segments).map_err(|err| yang_error(&err, true).at(format!("/{path}")))?
    };
    let shown = format!("/{path}");
    let Some(selected) = selected.filter(|t| !t.is_empty()) else {
        return Err(RestconfError::not_found(format!("no data at {shown}")).at(shown));
    };
    let whole = segments.is_empty();
    match format {
        Format::Json => {
            let mut value = selected.to_json();
            if let Some(depth) = query.depth {
                prune_json(&mut value, depth);
            }
            if whole {
                value = json!({"ietf-restconf:data": value});
            }
            Ok(value.to_string())
        }
        Format::Xml => {
            let mut xml = String::new();
            for node in selected.nodes {
                let one = yang::Tree { nodes: vec![node] }.to_xml();
                xml.push_str(&match query.depth {
                    Some(depth) => filter_xml(&one, |level, _| level > depth)?,
                    None => one,
                });
                xml.push('\n');
            }
            if whole {
                xml = format!("<data xmlns=\"{RESTCONF_NAMESPACE}\">\n{xml}</data>\n");
            }
            Ok(xml)
        }
    }
}

/// An XML body read as JSON carries leaves as strings: RFC 7951 wants booleans and numbers of
/// up to 32 bits as JSON values, and an `empty` leaf as `[null]`. Converts them by the schema.
fn typed_json(value: &mut Value, node: &'static super::yang::schema::Node) {
    use super::yang::schema::{Kind, Type};
    match (&node.kind, value) {
        (Kind::Leaf(Type::Bool), value @ Value::String(_)) => {
            if let Some(flag) = value.as_str().and_then(|s| s.trim().parse::<bool>().ok()) {
                *value = Value::Bool(flag);
            }
        }
        (Kind::Leaf(Type::Uint { .. }), value @ Value::String(_)) => {
            if let Some(n) = value.as_str().and_then(|s| s.trim().parse::<u64>().ok()) {
                *value = json!(n);
            }
        }
        (Kind::Leaf(Type::Empty), value @ Value::String(_))
            if value.as_str().is_some_and(|s| s.trim().is_empty()) =>
        {
            *value = json!([null]);
        }
        (Kind::Leaf(_), _) => {}
        (_, Value::Object(members)) => {
            for (name, child) in members.iter_mut() {
                let local = name.rsplit(':').next().unwrap_or(name);
                if let Some(schema) = node.child(local) {
                    typed_json(child, schema);
                }
            }
        }
        (_, Value::Array(entries)) => {
            for entry in entries {
                typed_json(entry, node);
            }
        }
        _ => {}
    }
}

async fn edit_data(
    shared: Arc<Shared>,
    method: Method,
    path: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, RestconfError> {
    use super::yang;
    let rest = match target(path)? {
        Target::YangLibrary => {
            return Err(RestconfError::new(
                ErrorType::Protocol,
                "access-denied",
                "ietf-yang-library:modules-state is read-only",
            ));
        }
        Target::Licensing(rest) => rest,
    };
    let segments =
        yang::parse_path(&rest).map_err(|err| yang_error(&err, true).at(format!("/{path}")))?;
    let lines = if method == Method::DELETE {
        yang::edit::delete_lines_json(&segments).map_err(|err| yang_error(&err, false))?
    } else {
        let xml = body_format(headers, &body)? == Format::Xml;
        let mut body = body_json(headers, &body)?;
        if body.is_null() {
            return Err(RestconfError::malformed(format!(
                "{method} needs a body: {{\"{}:{}\": …}}",
                yang::MODULE,
                segments.last().map_or("licensing", |s| s.name.as_str())
            )));
        }
        if xml {
            let schema = yang::schema_at(&segments)
                .map_err(|err| yang_error(&err, true).at(format!("/{path}")))?;
            if let Value::Object(top) = &mut body {
                for value in top.values_mut() {
                    typed_json(value, schema);
                }
            }
        }
        yang::edit_lines_json(&segments, &body, method == Method::PUT)
            .map_err(|err| yang_error(&err, false))?
    };
    tracing::info!(restconf.method = %method, restconf.path = %path, lines = ?lines, "RESTCONF edit");
    run_config(shared, lines).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn operations_list(format: Format) -> String {
    use super::yang::{MODULE, NAMESPACE, schema::RPCS};
    match format {
        Format::Json => {
            let members: serde_json::Map<String, Value> =
                RPCS.iter().map(|rpc| (format!("{MODULE}:{}", rpc.name), json!([null]))).collect();
            json!({"ietf-restconf:operations": members}).to_string()
        }
        Format::Xml => {
            let mut xml = format!("<operations xmlns=\"{RESTCONF_NAMESPACE}\">\n");
            for rpc in RPCS {
                xml.push_str(&format!("  <{} xmlns=\"{NAMESPACE}\"/>\n", rpc.name));
            }
            xml.push_str("</operations>\n");
            xml
        }
    }
}

async fn run_operation(
    shared: Arc<Shared>,
    path: &str,
    headers: &HeaderMap,
    body: Bytes,
    format: Format,
) -> Result<Response, RestconfError> {
    use super::yang;
    let name = path.trim_end_matches('/');
    // An unknown operation is 404 whatever the body carries.
    let known = name.split_once(':').is_some_and(|(module, local)| {
        module == yang::MODULE && yang::schema::rpc_named(local).is_some()
    });
    if !known {
        let names: Vec<String> =
            yang::schema::RPCS.iter().map(|rpc| format!("{}:{}", yang::MODULE, rpc.name)).collect();
        return Err(RestconfError::not_found(format!(
            "no operation {name:?}: the operations are {}",
            names.join(", ")
        ))
        .at(format!("/{name}")));
    }
    let body = body_json(headers, &body)?;
    let call = yang::rpc_input_json(name, &body).map_err(|err| yang_error(&err, false))?;
    let lines = yang::rpc_lines(&call);
    tracing::info!(restconf.operation = %name, lines = ?lines, "RESTCONF operation");
    let outputs = run_exec(shared, lines).await?;
    let output = yang::rpc_output(&call, &outputs);
    let body = match format {
        Format::Json => output.to_json().to_string(),
        Format::Xml => format!("{}\n", output.to_xml()),
    };
    Ok(answer(StatusCode::OK, format, body))
}
