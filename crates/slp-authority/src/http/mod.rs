//! The authority's HTTP API: Cisco's CSSM paths and JSON member names (PROTOCOL.md §7), OAuth2
//! client credentials, and the device-facing smart-transport endpoint ([`device`]).
//!
//! | method | path | who | success |
//! |---|---|---|---|
//! | POST | `/oauth2/token` (also `/oauth2/default/v1/token`, `/as/token.oauth2`) | client credentials, or a client and a user's password | 200 |
//! | POST | `{BASE}/v2/devices/reportusage` | admin, reporter | 202 `OK_POLL` |
//! | POST | `{BASE}/v2/devices/authrequest` | admin, reporter | 202 `OK_POLL` |
//! | POST | `{BASE}/v2/accounts/poll` | admin, reporter | 200 `COMPLETE` |
//! | GET | `{BASE}/v1/authority/key` | admin, reporter, viewer | 200 |
//! | GET | `{BASE}/v2/accounts` | admin, reporter, viewer | 200 |
//! | GET | `{BASE}/v2/accounts/search` | admin, reporter, viewer | 200 |
//! | GET | `{BASE}/v1/accounts/search?domain=D` | admin, reporter, viewer | 200 |
//! | GET | `{BASE}/v1/accounts/{domain}/{customer,CUSTOMER}/virtual-accounts` | admin, viewer | 200 |
//! | POST | `{BASE}/v1/accounts/{domain}/{customer,CUSTOMER}/virtual-accounts` | admin | 201 |
//! | POST | `{BASE}/v1/accounts/{domain}[/customer]/virtual-accounts/{va}/delete` | admin | 200 |
//! | POST | `{BASE}/v1/accounts/{domain}[/customer]/virtual-accounts/{va}/rename` | admin | 200 |
//! | POST | `{BASE}/v1/accounts/{domain}/licenses` | admin, viewer | 200 |
//! | GET | `{BASE}/v1/accounts/{domain}/virtual-accounts/{va}/devices` | admin, viewer | 200 |
//! | POST | `{BASE}/v1/accounts/{domain}/virtual-accounts/{va}/devices/transfer` | admin | 200 |
//! | POST | `{BASE}/v1/accounts/{domain}/virtual-accounts/{va}/devices/remove` | admin | 200 |
//! | POST | `{BASE}/v1/accounts/{domain}/virtual-accounts/{va}/licenses/transfer` | admin | 200 |
//! | POST | `{BASE}/v1/accounts/{domain}/virtual-accounts/{va}/usage-files?name=F` | admin, reporter | 200 |
//! | GET | `{BASE}/v1/accounts/{domain}/virtual-accounts/{va}/usage-files` | admin, viewer | 200 |
//! | GET | `{BASE}/v1/accounts/{domain}/virtual-accounts/{va}/usage-files/{sha256}/ack` | admin, viewer | 200 |
//! | GET | `{BASE}/v1/accounts/{domain}/virtual-accounts/{va}/tokens` | admin, viewer | 200 |
//! | POST | `{BASE}/v1/accounts/{domain}/virtual-accounts/{va}/tokens` | admin | 201 |
//! | POST | `{BASE}/v1/accounts/{domain}/virtual-accounts/{va}/tokens/revoke` | admin | 200 |
//! | GET | `{BASE}/v1/accounts/{domain}/virtual-accounts/{va}/events[?udi=UDI]` | admin, viewer | 200 |
//! | POST | `{BASE}/v1/accounts/{domain}/virtual-accounts/{va}/licenses/move-requests` | admin | 201 |
//! | GET | `{BASE}/v1/accounts/{domain}/licenses/move-requests[/{id}]` | admin, viewer | 200 |
//! | GET | `{BASE}/v1/accounts/{domain}/events[?virtualAccount=VA][&udi=UDI]` | admin, viewer | 200 |
//! | GET | `{BASE}/v1/accounts/{domain}[/virtual-accounts/{va}]/reporting-policy` | admin, viewer | 200 |
//! | PUT | `{BASE}/v1/accounts/{domain}[/virtual-accounts/{va}]/reporting-policy` | admin | 200 |
//! | DELETE | `{BASE}/v1/accounts/{domain}[/virtual-accounts/{va}]/reporting-policy` | admin | 200 |
//! | GET | `{BASE}/v1/accounts/{domain}/virtual-accounts/{va}/reporting-policy/download` | admin, viewer | 200 |
//! | GET | `{BASE}/v1/accounts/{domain}/alerts[?virtualAccount=VA]` | admin, viewer | 200 |
//! | POST | `{BASE}/v3/licenses/summary` | admin, viewer | 200 |
//! | POST | `/licservice/license` | devices (signed documents) | 200 |
//!
//! Every GET list (and `POST …/licenses`) pages: `limit`/`offset`, `totalRecords`
//! ([`crate::paging`]); at most [`list_concurrency`] list requests run at once.
//!
//! Paths are read as Cisco's API gateway reads them ([`gateway_path`]): a doubled slash
//! (`//services/api/…`), a doubled prefix (`/services/api/services/api/…`) and a trailing `/`
//! reach the same endpoint.
//!
//! `{BASE}` is [`BASE`]. Every endpoint but the token and device endpoints needs
//! `Authorization: Bearer <access token>`.
//!
//! Authorization has one path: the roles a route declares in [`endpoints`] (the same table
//! `/openapi.json` is built from) are its check. Its guard authenticates the bearer token (401),
//! refuses a role not declared (403, naming the caller, its role and the endpoint) and resolves
//! the request's [`Scope`] once — the caller, the smart account of `{domain}` (else of
//! `X-CSW-SMART-ACCOUNT-ID`, else the caller's own; another one is 403) and the virtual account
//! of `{va}` (404 if unknown) — which handlers extract; the domain methods check nothing. Errors are [`ApiError`]s. `GET /healthz`, `/readyz`
//! and `/metrics`, the security headers, limits and failed-login rate limits (429) come from
//! `slp_http::ops` ([`router`]).

mod accounts;
mod alerts;
pub mod device;
mod devices;
mod error;
mod events;
mod key;
mod licenses;
mod moves;
mod oauth;
mod openapi;
mod paging;
mod policies;
mod probe;
mod reporting;
mod tokens;
mod usage;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{
    DefaultBodyLimit, FromRequest, FromRequestParts, RawPathParams, Request, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header as http_header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::de::DeserializeOwned;
use tower::ServiceExt;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use paging::list_concurrency;

use crate::domain::clients::{Principal, Scope};
use crate::{Authority, actor};

/// The path prefix of Cisco's Smart Software Manager API.
pub use slp_wire::cssm::BASE;

/// Largest request body accepted (8 MiB); larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// One documented endpoint: the router and `/openapi.json` are built from the same list
/// ([`endpoints`]), so the document cannot drift from the routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub method: &'static str,
    /// The full path, `{name}` for a path parameter.
    pub path: String,
    pub summary: &'static str,
    /// Roles allowed (`admin`, `reporter`, `viewer`); empty: no bearer token needed.
    pub roles: &'static [&'static str],
    /// Status of a successful reply.
    pub success: u16,
    /// A list answered a page at a time (`limit`/`offset`, [`crate::paging`]), one of
    /// [`list_concurrency`] at once.
    pub paged: bool,
}

/// Routes with their documentation, built together.
struct Api {
    router: Router<Arc<Authority>>,
    endpoints: Vec<Endpoint>,
    /// The turns of list requests ([`paging::one_list_at_a_time`]).
    lists: Arc<tokio::sync::Semaphore>,
}

impl Api {
    fn add(
        mut self,
        method: &'static str,
        path: &str,
        route: axum::routing::MethodRouter<Arc<Authority>>,
        (summary, roles, success): (&'static str, &'static [&'static str], u16),
    ) -> Api {
        let path = if path.starts_with('/') && !path.starts_with("/v") {
            path.to_owned()
        } else {
            format!("{BASE}{path}")
        };
        let route = if roles.is_empty() {
            route
        } else {
            let guard = Guard { roles };
            route.layer(middleware::from_fn(
                move |params: RawPathParams, request: Request, next: Next| {
                    guard.check(params, request, next)
                },
            ))
        };
        self.router = self.router.route(&path, route);
        self.endpoints.push(Endpoint { method, path, summary, roles, success, paged: false });
        self
    }

    /// A list: paged, and run when one of the list turns is free.
    fn list(
        self,
        method: &'static str,
        path: &str,
        route: axum::routing::MethodRouter<Arc<Authority>>,
        meta: (&'static str, &'static [&'static str], u16),
    ) -> Api {
        let turns = self.lists.clone();
        let route = route.layer(middleware::from_fn_with_state(turns, paging::one_list_at_a_time));
        let mut api = self.add(method, path, route, meta);
        if let Some(endpoint) = api.endpoints.last_mut() {
            endpoint.paged = true;
        }
        api
    }
}

const ADMIN: &[&str] = &["admin"];
const READ: &[&str] = &["admin", "viewer"];
const REPORT: &[&str] = &["admin", "reporter"];
const ANY: &[&str] = &["admin", "reporter", "viewer"];

/// The route's declared roles as its check: the one authorization path of the API. For a
/// request it authenticates the bearer token (401), refuses a role the route does not declare
/// (403, naming the caller, its role and the endpoint), and resolves the request's [`Scope`]
/// once (403 outside the caller's smart account, 404 for an unknown virtual account), which
/// the handler extracts.
#[derive(Debug, Clone, Copy)]
struct Guard {
    roles: &'static [&'static str],
}

impl Guard {
    async fn check(self, params: RawPathParams, request: Request, next: Next) -> Response {
        let (mut parts, body) = request.into_parts();
        match self.scope(&params, &parts).await {
            Ok(scope) => {
                parts.extensions.insert(scope);
                next.run(Request::from_parts(parts, body)).await
            }
            Err(err) => err.into_response(),
        }
    }

    async fn scope(self, params: &RawPathParams, request: &Parts) -> Result<Scope, ApiError> {
        let authority =
            request.extensions.get::<Arc<Authority>>().cloned().ok_or(ApiError::Internal)?;
        let principal = match request.extensions.get::<Principal>() {
            Some(principal) => principal.clone(),
            // Not authenticated by `attribute`: authenticate again for the reason.
            None => authority.authenticate(bearer(&request.headers)?).await?,
        };
        if !self.roles.contains(&principal.role.as_str()) {
            return Err(ApiError::Forbidden(format!(
                "{} has role {}, which does not allow {} {} (allowed: {})",
                principal.who(),
                principal.role.as_str(),
                request.method,
                request.uri.path(),
                self.roles.join(", ")
            )));
        }
        let param = |name: &str| {
            params.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_owned())
        };
        let domain = param("domain")
            .or_else(|| header(&request.headers, reporting::SMART_ACCOUNT_HEADER))
            .unwrap_or_else(|| principal.account_domain.clone());
        let account = authority.scoped_account_of(&principal, &domain).await?;
        let va = match param("va") {
            Some(va) => Some(authority.virtual_account_of(&account, &va).await?),
            None => None,
        };
        Ok(Scope { principal, account, va })
    }
}

/// Every endpoint of the API (except `/openapi.json` itself and the device endpoint).
fn endpoints() -> Api {
    let lists = Arc::new(tokio::sync::Semaphore::new(list_concurrency()));
    let mut api = Api { router: Router::new(), endpoints: Vec::new(), lists };
    let va = "/v1/accounts/{domain}/virtual-accounts/{va}";
    let cva = "/v1/accounts/{domain}/customer/virtual-accounts";
    // Cisco's gateway takes the segment in capitals too (`…/CUSTOMER/virtual-accounts`).
    let upper_cva = "/v1/accounts/{domain}/CUSTOMER/virtual-accounts";
    for path in slp_wire::cssm::oauth::PATHS {
        api = api.add(
            "POST",
            path,
            post(oauth::token),
            ("OAuth2 access token: client_credentials, or password (a user of the client's smart account)", &[], 200),
        );
    }
    api.add(
        "POST",
        "/v2/devices/reportusage",
        post(reporting::report_usage),
        ("Report usage (RUM reports); answers OK_POLL", REPORT, 202),
    )
    .add(
        "POST",
        "/v2/devices/authrequest",
        post(reporting::auth_request),
        ("Request or return authorization codes; answers OK_POLL", REPORT, 202),
    )
    .add(
        "POST",
        "/v2/accounts/poll",
        post(reporting::poll),
        ("Poll for the result of reportusage or authrequest", REPORT, 200),
    )
    .add(
        "GET",
        "/v1/authority/key",
        get(key::show),
        ("The authority's public signing key and key id (what relays pin)", ANY, 200),
    )
    .add(
        "GET",
        "/v2/accounts",
        get(accounts::accounts),
        ("The smart accounts the caller may see, with its roles", ANY, 200),
    )
    .add(
        "GET",
        "/v2/accounts/search",
        get(accounts::search),
        ("The client's smart account and its virtual accounts", ANY, 200),
    )
    .add(
        "GET",
        "/v1/accounts/search",
        get(accounts::search_domain),
        ("The smart account a domain names (?domain=D), if the caller may see it", ANY, 200),
    )
    .list("GET", cva, get(accounts::list_vas), ("List virtual accounts", READ, 200))
    .add("POST", cva, post(accounts::create_va), ("Create a virtual account", ADMIN, 201))
    .list("GET", upper_cva, get(accounts::list_vas), ("List virtual accounts", READ, 200))
    .add("POST", upper_cva, post(accounts::create_va), ("Create a virtual account", ADMIN, 201))
    .add(
        "POST",
        &format!("{va}/delete"),
        post(accounts::delete_va),
        ("Delete an empty virtual account", ADMIN, 200),
    )
    .add(
        "POST",
        &format!("{cva}/{{va}}/delete"),
        post(accounts::delete_va),
        ("Delete an empty virtual account", ADMIN, 200),
    )
    .add(
        "POST",
        &format!("{va}/rename"),
        post(accounts::rename_va),
        ("Rename a virtual account", ADMIN, 200),
    )
    .add(
        "POST",
        &format!("{cva}/{{va}}/rename"),
        post(accounts::rename_va),
        ("Rename a virtual account", ADMIN, 200),
    )
    .list(
        "POST",
        "/v1/accounts/{domain}/licenses",
        post(licenses::list),
        ("Licenses with quantity, in use, available, reserved, status", READ, 200),
    )
    .list(
        "GET",
        &format!("{va}/devices"),
        get(devices::list),
        ("Product instances with usage and last contact", READ, 200),
    )
    .add(
        "POST",
        &format!("{va}/devices/transfer"),
        post(devices::transfer),
        ("Move product instances to another virtual account", ADMIN, 200),
    )
    .add(
        "POST",
        &format!("{va}/devices/remove"),
        post(devices::remove),
        ("Remove product instances (return code where a SLAC is held)", ADMIN, 200),
    )
    .list("GET", &format!("{va}/tokens"), get(tokens::list), ("List ID tokens", READ, 200))
    .add("POST", &format!("{va}/tokens"), post(tokens::create), ("Create an ID token", ADMIN, 201))
    .add(
        "POST",
        &format!("{va}/tokens/revoke"),
        post(tokens::revoke),
        ("Revoke ID tokens", ADMIN, 200),
    )
    .list(
        "GET",
        &format!("{va}/usage-files"),
        get(usage::list),
        ("Usage data files and their status", READ, 200),
    )
    .add(
        "POST",
        &format!("{va}/usage-files"),
        post(usage::upload),
        ("Upload a usage data file or relay bundle (?name=F); answers with the ACK", REPORT, 200),
    )
    .add(
        "GET",
        &format!("{va}/usage-files/{{sha256}}/ack"),
        get(usage::ack),
        ("Download the ACK of an uploaded file", READ, 200),
    )
    .add(
        "POST",
        &format!("{va}/licenses/transfer"),
        post(licenses::transfer),
        ("Transfer licenses to another virtual account (preview, LONGEST_TERM_FIRST)", ADMIN, 200),
    )
    .add(
        "POST",
        &format!("{va}/licenses/move-requests"),
        post(moves::create),
        ("Request a license move to another smart account", ADMIN, 201),
    )
    .list(
        "GET",
        "/v1/accounts/{domain}/licenses/move-requests",
        get(moves::list),
        ("License move requests and their status", READ, 200),
    )
    .add(
        "GET",
        "/v1/accounts/{domain}/licenses/move-requests/{id}",
        get(moves::show),
        ("One license move request", READ, 200),
    )
    .list(
        "GET",
        &format!("{va}/events"),
        get(events::list),
        ("The activity log (?udi= for one product instance)", READ, 200),
    )
    .list(
        "GET",
        "/v1/accounts/{domain}/events",
        get(events::list_account),
        ("The activity log of the smart account (?virtualAccount=, ?udi=)", READ, 200),
    )
    .add(
        "GET",
        "/v1/accounts/{domain}/reporting-policy",
        get(policies::show),
        ("The smart account's custom reporting policy (or the Cisco default)", READ, 200),
    )
    .add(
        "PUT",
        "/v1/accounts/{domain}/reporting-policy",
        put(policies::set),
        ("Set the smart account's custom policy (for virtual accounts without one)", ADMIN, 200),
    )
    .add(
        "DELETE",
        "/v1/accounts/{domain}/reporting-policy",
        delete(policies::clear),
        ("Remove the smart account's custom policy", ADMIN, 200),
    )
    .add(
        "GET",
        &format!("{va}/reporting-policy"),
        get(policies::show),
        ("The reporting policy in force for a virtual account", READ, 200),
    )
    .add(
        "PUT",
        &format!("{va}/reporting-policy"),
        put(policies::set),
        ("Set a virtual account's custom reporting policy", ADMIN, 200),
    )
    .add(
        "DELETE",
        &format!("{va}/reporting-policy"),
        delete(policies::clear),
        ("Remove a virtual account's custom policy", ADMIN, 200),
    )
    .add(
        "GET",
        &format!("{va}/reporting-policy/download"),
        get(policies::download),
        ("The signed policy file in force, for license smart import", READ, 200),
    )
    .list(
        "GET",
        "/v1/accounts/{domain}/alerts",
        get(alerts::list),
        ("Alerts (?virtualAccount=)", READ, 200),
    )
    .add(
        "POST",
        "/v3/licenses/summary",
        post(licenses::summary),
        ("License summary per virtual account", READ, 200),
    )
}

/// Every documented endpoint with the roles it declares — the table the router, its
/// authorization and `/openapi.json` are built from.
pub fn endpoint_table() -> Vec<Endpoint> {
    endpoints().endpoints
}

/// The API's OpenAPI 3.0 document (served at `/openapi.json`).
pub fn openapi() -> serde_json::Value {
    openapi::document(&endpoints().endpoints)
}

/// The API's routes over `authority`, wrapped in the layers every slp server has
/// (`slp_http::ops`: security headers, closed CORS, bounds, request ids, `/metrics`,
/// `/healthz`, `/readyz`, limits on failed logins), with a registry of its own; every path is
/// read as Cisco's gateway reads it ([`gateway_path`]) before it is routed.
pub fn router(authority: Arc<Authority>) -> Router {
    let ops = slp_http::ops::Ops::builder("authority", authority.clock.clone())
        .probe(probe::AuthorityProbe(authority.clone()))
        .body_limit(MAX_BODY_BYTES)
        .build();
    let served = slp_http::ops::wrap(routes(authority), &ops);
    // A layer of the router runs after routing; the path is rewritten before, around it.
    Router::new().fallback_service(served.map_request(|mut request: Request| {
        if let Some(path) = gateway_path(request.uri().path()) {
            let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
            if let Ok(uri) = format!("{path}{query}").parse() {
                *request.uri_mut() = uri;
            }
        }
        request
    }))
}

/// `path` as Cisco's API gateway reads it, when that differs: runs of `/` as one, a doubled
/// `/services/api` prefix (or a doubled [`BASE`]) as one, and no trailing `/` — public scripts
/// call `https://swapi.cisco.com//services/api/…`, `…/services/api/services/api/…` and
/// `…/v2/accounts/`, and Cisco answers them all.
pub fn gateway_path(path: &str) -> Option<String> {
    const PREFIX: &str = "/services/api";
    let doubled = |path: &str, prefix: &str| {
        path.strip_prefix(prefix).is_some_and(|rest| {
            rest.strip_prefix(prefix).is_some_and(|r| r.is_empty() || r.starts_with('/'))
        })
    };
    let plain = !path.contains("//")
        && (path.len() == 1 || !path.ends_with('/'))
        && !doubled(path, PREFIX)
        && !doubled(path, BASE);
    if plain {
        return None;
    }
    let mut clean = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && clean.ends_with('/')) {
            clean.push(c);
        }
    }
    loop {
        if doubled(&clean, BASE) {
            clean.drain(..BASE.len());
        } else if doubled(&clean, PREFIX) {
            clean.drain(..PREFIX.len());
        } else {
            break;
        }
    }
    if clean.len() > 1 && clean.ends_with('/') {
        clean.pop();
    }
    (clean != path).then_some(clean)
}

/// The API's own routes over `authority`.
fn routes(authority: Arc<Authority>) -> Router {
    let document = openapi();
    endpoints()
        .router
        .route("/openapi.json", get(move || async move { axum::Json(document) }))
        .merge(device::routes())
        .fallback(|request: Request| async move {
            ApiError::NotFound(format!(
                "no such endpoint: {} {}",
                request.method(),
                request.uri().path()
            ))
        })
        .method_not_allowed_fallback(|request: Request| async move {
            ApiError::MethodNotAllowed(format!(
                "{} is not allowed on {}",
                request.method(),
                request.uri().path()
            ))
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(authority.clone(), attribute))
        .with_state(authority)
        .layer(middleware::from_fn(json_payload_too_large))
        .layer(TraceLayer::new_for_http())
}

/// Serves the API on `listener` (over TLS when `tls` is given) until `shutdown` completes, then
/// finishes the requests in flight.
pub async fn serve(
    authority: Arc<Authority>,
    listener: tokio::net::TcpListener,
    tls: Option<slp_http::TlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    slp_http::serve(listener, router(authority), tls, shutdown).await
}

/// Every 413, whoever produced it, gets the API's JSON error body.
async fn json_payload_too_large(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES }.into_response()
    } else {
        response
    }
}

/// A header's value as text, if present and not empty.
fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The bearer token of `headers`, or why there is none.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(http_header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized(
            "missing Authorization header: send `Authorization: Bearer <access token>` with a token from POST /oauth2/token".to_owned(),
        )
    })?;
    let value = value.to_str().map_err(|_| {
        ApiError::Unauthorized("the Authorization header is not readable text".to_owned())
    })?;
    match value.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(ApiError::Unauthorized(
            "the Authorization header is not a Bearer token: send `Authorization: Bearer <access token>`".to_owned(),
        )),
    }
}

/// A request with a valid bearer token runs as its client, so that every change it makes is
/// logged with who made it; the authenticated [`Principal`] is kept for the handler. Requests
/// without one pass on unchanged (the extractor reports why, where a token is needed).
async fn attribute(
    State(authority): State<Arc<Authority>>,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = match bearer(request.headers()) {
        Ok(token) => authority.authenticate(token).await.ok(),
        Err(_) => None,
    };
    request.extensions_mut().insert(authority);
    match principal {
        Some(principal) => {
            let actor = actor::api_client(&principal);
            request.extensions_mut().insert(principal);
            actor::acting_as(actor, next.run(request)).await
        }
        None => next.run(request).await,
    }
}

/// The [`Scope`] its route's [`Guard`] resolved.
impl<S: Send + Sync> FromRequestParts<S> for Scope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Scope, ApiError> {
        parts.extensions.get::<Scope>().cloned().ok_or_else(|| {
            tracing::error!(path = %parts.uri.path(), "a handler asks for a scope its route has no roles for");
            ApiError::Internal
        })
    }
}

/// A [`Scope`] whose path names a virtual account (`{va}`), which it resolved.
pub(crate) struct VaScope {
    pub account: slp_store::Account,
    pub va: slp_store::VirtualAccount,
}

impl<S: Send + Sync> FromRequestParts<S> for VaScope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<VaScope, ApiError> {
        let Scope { account, va, .. } = Scope::from_request_parts(parts, state).await?;
        let va = va.ok_or_else(|| {
            tracing::error!(path = %parts.uri.path(), "a handler asks for a virtual account its path has not");
            ApiError::Internal
        })?;
        Ok(VaScope { account, va })
    }
}

/// A JSON body read with the body limit, whose errors name the offending field
/// (`data.reports[0].sudi: missing field udi_pid`). An empty body reads as `{}`.
pub struct CiscoJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CiscoJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<CiscoJson<T>, ApiError> {
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES }
            } else {
                ApiError::BadRequest(format!(
                    "cannot read the request body: {}",
                    rejection.body_text()
                ))
            }
        })?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        // Read plainly first: tracking the path slows the reading of large bodies (a
        // reportusage of a hundred reports) and is only needed to word an error, so a body
        // that does not read is read again, with the path, to name where it went wrong.
        if let Ok(value) = serde_json::from_slice(text) {
            return Ok(CiscoJson(value));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(text);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if path == "." {
                ApiError::BadRequest(format!("malformed JSON body: {inner}"))
            } else {
                ApiError::BadRequest(format!("malformed JSON body: {path}: {inner}"))
            }
        })?;
        deserializer.end().map_err(|err| {
            ApiError::BadRequest(format!("malformed JSON body: trailing data: {err}"))
        })?;
        Ok(CiscoJson(value))
    }
}
