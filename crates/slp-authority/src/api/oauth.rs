//! `POST /oauth2/token`: the OAuth2 client-credentials grant (RFC 6749 §4.4). The client
//! authenticates with `client_id` and `client_secret` in the form body, or with HTTP Basic.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use slp_http::ops::{AuthFailed, Login};

use super::ApiError;
use crate::clients::AccessToken;
use crate::{Authority, AuthorityError};

#[derive(Debug, Deserialize)]
pub(super) struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn oauth(status: StatusCode, error: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::OAuth { status, error, message: message.into() }
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

/// The token endpoint. A client id that failed too often (or an address that did) is refused
/// with 429 before its secret is checked; every wrong secret is counted and logged by the
/// layer (`slp_http::ops`) from the [`AuthFailed`] of the answer.
pub(super) async fn token(
    State(authority): State<Arc<Authority>>,
    login: Login,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Json<AccessToken>, Response> {
    grant(&authority, &login, &headers, form).await.map_err(|err| match err {
        Refusal::Api(err) => err.into_response(),
        Refusal::Failed { client_id, reason } => {
            let mut response =
                oauth(StatusCode::UNAUTHORIZED, "invalid_client", reason.clone()).into_response();
            response.extensions_mut().insert(AuthFailed { name: Some(client_id), reason });
            response
        }
    })
}

enum Refusal {
    Api(ApiError),
    /// Wrong client id or secret.
    Failed {
        client_id: String,
        reason: String,
    },
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Refusal {
        Refusal::Api(err)
    }
}

async fn grant(
    authority: &Authority,
    login: &Login,
    headers: &HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Json<AccessToken>, Refusal> {
    let Form(form) = form.map_err(|rejection| {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!(
                "send a form-encoded body (application/x-www-form-urlencoded) with grant_type=client_credentials, client_id and client_secret: {}",
                rejection.body_text()
            ),
        )
    })?;
    match form.grant_type.as_deref().map(str::trim) {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported: use client_credentials"),
            )
            .into());
        }
        None => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is missing: use grant_type=client_credentials",
            )
            .into());
        }
    }
    let (client_id, client_secret) = match (form.client_id, form.client_secret) {
        (Some(id), Some(secret)) => (id, secret),
        _ => basic_credentials(headers).ok_or_else(|| {
            oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client_id and client_secret are missing (form fields or HTTP Basic)",
            )
        })?,
    };
    login.attempt(&client_id).map_err(ApiError::TooManyRequests)?;
    match authority.issue_token(&client_id, &client_secret).await {
        Ok(token) => Ok(Json(token)),
        Err(AuthorityError::Unauthorized { reason }) => Err(Refusal::Failed { client_id, reason }),
        Err(err) => Err(ApiError::from(err).into()),
    }
}
