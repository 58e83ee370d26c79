//! The token endpoint, at `POST /oauth2/token` and at Cisco's SSO token paths
//! (`/oauth2/default/v1/token` of id.cisco.com, `/as/token.oauth2` of cloudsso.cisco.com):
//! [`slp_wire::cssm::oauth`].
//!
//! The parameters are read from the body — a form (`application/x-www-form-urlencoded`) or a
//! JSON object (SSM On-Prem style) — and from the query string (Cisco's samples send them there
//! with an empty body); a member in the body wins. The client id and secret may come by HTTP
//! Basic instead. Grants:
//!
//! - `client_credentials` (RFC 6749 §4.4): the client acts for itself, with its role.
//! - `password` (RFC 6749 §4.3): a client id (with its secret when given) and a user of the
//!   client's smart account, `username` and `password`: the token acts with the user's role.
//!
//! Refusals are `{"error", "error_description"}` (with slp's `status` and `message`):
//! `invalid_request` (400), `unsupported_grant_type` (400), `invalid_client` (401) and
//! `invalid_grant` (400, a wrong username or password, as Cisco's SSO answers it). A name that
//! failed too often — the client id, or the username of a password grant — or an address that
//! did is refused with 429 before anything is checked; every failure is counted and logged by
//! the layer (`slp_http::ops`) from the [`AuthFailed`] of the answer.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use slp_http::ops::{AuthFailed, Login};
use slp_wire::cssm::oauth::{CLIENT_CREDENTIALS, PASSWORD, TokenReply, TokenRequest};

use super::ApiError;
use crate::domain::clients::GrantError;
use crate::{Authority, AuthorityError};

fn oauth(status: StatusCode, error: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::OAuth { status, error, message: message.into() }
}

fn invalid_request(message: impl Into<String>) -> ApiError {
    oauth(StatusCode::BAD_REQUEST, "invalid_request", message)
}

/// `client_id:client_secret` from an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The parameters of the query string and the body, the body's first.
fn parameters(uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Result<TokenRequest, ApiError> {
    let query: TokenRequest = match uri.query() {
        Some(query) => serde_urlencoded::from_str(query).map_err(|err| {
            invalid_request(format!("the query string is not readable parameters: {err}"))
        })?,
        None => TokenRequest::default(),
    };
    let text = body.trim_ascii();
    if text.is_empty() {
        return Ok(query);
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"))
        || text.starts_with(b"{");
    let body: TokenRequest = if json {
        serde_json::from_slice(text).map_err(|err| {
            invalid_request(format!(
                "the JSON body is not a token request (grant_type, client_id, client_secret, username, password as strings): {err}"
            ))
        })?
    } else {
        serde_urlencoded::from_bytes(text).map_err(|err| {
            invalid_request(format!(
                "send the parameters as a form body (application/x-www-form-urlencoded), a JSON object or in the query string: {err}"
            ))
        })?
    };
    Ok(body.or(query))
}

/// The token endpoint (every path of [`slp_wire::cssm::oauth::PATHS`]).
pub(super) async fn token(
    State(authority): State<Arc<Authority>>,
    login: Login,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<TokenReply>, Response> {
    grant(&authority, &login, &uri, &headers, &body).await.map_err(|err| match err {
        Refusal::Api(err) => err.into_response(),
        Refusal::Failed { name, status, error, reason } => {
            let mut response = oauth(status, error, reason.clone()).into_response();
            response.extensions_mut().insert(AuthFailed { name: Some(name), reason });
            response
        }
    })
}

enum Refusal {
    Api(ApiError),
    /// Wrong credentials: counted as a failed login of `name`.
    Failed {
        name: String,
        status: StatusCode,
        error: &'static str,
        reason: String,
    },
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Refusal {
        Refusal::Api(err)
    }
}

/// A member the grant needs, or an `invalid_request` naming it.
fn needed(value: Option<String>, name: &str, grant: &str) -> Result<String, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid_request(format!("{name} is missing: grant_type={grant} needs it")))
}

async fn grant(
    authority: &Authority,
    login: &Login,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Json<TokenReply>, Refusal> {
    let params = parameters(uri, headers, body)?;
    let basic = basic_credentials(headers);
    match params.grant_type.as_deref().map(str::trim) {
        Some(CLIENT_CREDENTIALS) => {
            let (client_id, client_secret) = match (params.client_id, params.client_secret) {
                (Some(id), Some(secret)) => (id, secret),
                _ => basic.ok_or_else(|| {
                    invalid_request(
                        "client_id and client_secret are missing (parameters or HTTP Basic)",
                    )
                })?,
            };
            login.attempt(&client_id).map_err(ApiError::TooManyRequests)?;
            match authority.issue_token(&client_id, &client_secret).await {
                Ok(token) => Ok(Json(token)),
                Err(AuthorityError::Unauthorized { reason }) => Err(Refusal::Failed {
                    name: client_id,
                    status: StatusCode::UNAUTHORIZED,
                    error: "invalid_client",
                    reason,
                }),
                Err(err) => Err(ApiError::from(err).into()),
            }
        }
        Some(PASSWORD) => {
            let (basic_id, basic_secret) = basic.unzip();
            let client_id = needed(params.client_id.or(basic_id), "client_id", PASSWORD)?;
            let client_secret = params.client_secret.or(basic_secret);
            let username = needed(params.username, "username", PASSWORD)?;
            let password = needed(params.password, "password", PASSWORD)?;
            login.attempt(&username).map_err(ApiError::TooManyRequests)?;
            let issued = authority
                .issue_user_token(&client_id, client_secret.as_deref(), &username, &password)
                .await;
            match issued {
                Ok(token) => Ok(Json(token)),
                Err(GrantError::InvalidClient(reason)) => Err(Refusal::Failed {
                    name: username,
                    status: StatusCode::UNAUTHORIZED,
                    error: "invalid_client",
                    reason,
                }),
                Err(GrantError::InvalidGrant(reason)) => Err(Refusal::Failed {
                    name: username,
                    status: StatusCode::BAD_REQUEST,
                    error: "invalid_grant",
                    reason,
                }),
                Err(GrantError::Other(err)) => Err(ApiError::from(err).into()),
            }
        }
        Some(other) => Err(oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("grant_type {other:?} is not supported: use client_credentials or password"),
        )
        .into()),
        None => Err(invalid_request(
            "grant_type is missing: use grant_type=client_credentials (or password, with username and password)",
        )
        .into()),
    }
}
