//! [`ApiError`]: every refusal of the HTTP API, with its status code and a stable JSON body
//! `{"status": "ERROR", "message": "…"}` (OAuth2 errors add the RFC 6749 `error` code and
//! `error_description`).
//! Database failures are logged and answered with a generic message: SQL never leaks.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use slp_store::StoreError;

use crate::AuthorityError;

/// Why an API request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed; the message names the field.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no, or no valid, access token or client credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: outside the client's smart account or role.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such account, virtual account, poll id or endpoint.
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists, the method does not.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409: the change conflicts with what exists (duplicate name, virtual account not empty).
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is larger than the limit.
    #[error("the request body is larger than the authority's limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 422: well-formed, but refused (bad signature, wrong key, insufficient licenses, …).
    #[error("{0}")]
    Unprocessable(String),
    /// 429: too many failed logins of this client or address; `Retry-After` says when to
    /// try again.
    #[error("{0}")]
    TooManyRequests(slp_http::ops::TooManyLogins),
    /// 500: logged in full; the client gets no internals.
    #[error("internal error: the request was not processed; see the authority's log")]
    Internal,
    /// An OAuth2 token endpoint error (RFC 6749 §5.2).
    #[error("{message}")]
    OAuth { status: StatusCode, error: &'static str, message: String },
}

#[derive(Serialize)]
struct Body {
    status: &'static str,
    message: String,
    /// OAuth2 errors: `error` and `error_description` (RFC 6749 §5.2).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    oauth: Option<slp_wire::cssm::oauth::TokenError>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::OAuth { status, .. } => *status,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let oauth = match &self {
            ApiError::OAuth { error, message, .. } => Some(slp_wire::cssm::oauth::TokenError {
                error: (*error).to_owned(),
                error_description: message.clone(),
            }),
            _ => None,
        };
        let body = Body { status: "ERROR", message: self.to_string(), oauth };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyRequests(limited) = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(limited.retry_after));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"slp authority\""),
            );
        }
        response
    }
}

impl From<AuthorityError> for ApiError {
    fn from(err: AuthorityError) -> ApiError {
        let message = err.to_string();
        match err {
            AuthorityError::AccountNotFound(_)
            | AuthorityError::VaNotFound { .. }
            | AuthorityError::NoCustomPolicy { .. }
            | AuthorityError::PollNotFound(_)
            | AuthorityError::PollOfOtherAction { .. }
            | AuthorityError::MoveRequestNotFound(_)
            | AuthorityError::TokenNotFound { .. }
            | AuthorityError::LicenseNotFound { .. }
            | AuthorityError::DeviceNotFound { .. } => ApiError::NotFound(message),
            AuthorityError::Invalid { .. } | AuthorityError::Request { .. } => {
                ApiError::BadRequest(message)
            }
            AuthorityError::VaNotEmpty { .. }
            | AuthorityError::MoveRequestDecided { .. }
            | AuthorityError::AuthorizationHeld { .. }
            | AuthorityError::TargetIsSource { .. }
            | AuthorityError::OverTransfer { .. } => ApiError::Conflict(message),
            AuthorityError::Unauthorized { .. } => ApiError::Unauthorized(message),
            AuthorityError::Forbidden { .. } => ApiError::Forbidden(message),
            AuthorityError::Wire { .. }
            | AuthorityError::Refused { .. }
            | AuthorityError::Report { .. }
            | AuthorityError::UdiElsewhere { .. }
            | AuthorityError::KeyMismatch { .. }
            | AuthorityError::BindRefused(_)
            | AuthorityError::FirstContactDenied(_)
            | AuthorityError::UnknownEntitlement { .. }
            | AuthorityError::Insufficient { .. }
            | AuthorityError::BadReturn { .. }
            | AuthorityError::Token { .. }
            | AuthorityError::UnknownToken
            | AuthorityError::Device { .. }
            | AuthorityError::Bundle(_) => ApiError::Unprocessable(message),
            AuthorityError::Store(StoreError::Duplicate { .. }) => ApiError::Conflict(message),
            AuthorityError::Store(StoreError::OutOfRange { .. }) => ApiError::BadRequest(message),
            AuthorityError::Store(_)
            | AuthorityError::AuthorityKey(_)
            | AuthorityError::TokenKey { .. }
            | AuthorityError::GroupFailed { .. } => {
                tracing::error!(error = %message, "request failed");
                ApiError::Internal
            }
        }
    }
}
