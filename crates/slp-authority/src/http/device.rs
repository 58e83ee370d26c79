//! The smart-transport endpoint devices send their messages to (`POST /licservice/license`,
//! "Connected Directly to CSSM"): the HTTP side of [`crate::domain::direct`].

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use slp_wire::online::{self, MessageType, Request};

use crate::domain::direct::MAX_MESSAGE_BYTES;
use crate::{Authority, AuthorityError};

async fn smart_endpoint(
    State(authority): State<Arc<Authority>>,
    login: slp_http::ops::Login,
    body: Bytes,
) -> Response {
    match Request::parse(&body) {
        Ok(request) => {
            // An ID token is a secret: guessing one is a failed login of the source address
            // (logged at warn), and past the address's limit the answer is 429.
            let with_token =
                request.header.kind == MessageType::TrustRequest && request.data.id_token.is_some();
            if with_token && let Err(limited) = login.check_address() {
                return limited.into_response();
            }
            let outcome = authority.handle_device_message(&request).await;
            if with_token && matches!(outcome, Err(AuthorityError::UnknownToken)) {
                login.failed(&format!(
                    "unknown ID token in the trust request of {}",
                    request.header.udi
                ));
            }
            let reply = authority.device_reply(&request, outcome);
            let status = if reply.status == online::Status::Error {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            (status, axum::Json(reply)).into_response()
        }
        Err(err) => (StatusCode::BAD_REQUEST, axum::Json(online::Response::error(err.to_string())))
            .into_response(),
    }
}

async fn too_large() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        axum::Json(online::Response::error(format!(
            "the message is larger than {MAX_MESSAGE_BYTES} bytes"
        ))),
    )
        .into_response()
}

/// The device-facing route, for [`super::router`] to mount.
pub(crate) fn routes() -> Router<Arc<Authority>> {
    Router::new().route(online::SMART_PATH, post(smart_endpoint)).route_layer(
        axum::middleware::from_fn(|request, next: axum::middleware::Next| {
            crate::domain::actor::acting_as("device".to_owned(), next.run(request))
        }),
    )
}

/// The device-facing routes alone.
pub fn router(authority: Arc<Authority>) -> Router {
    routes()
        .layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES))
        .fallback(|| async {
            (StatusCode::NOT_FOUND, axum::Json(online::Response::error("no such endpoint")))
        })
        .with_state(authority)
        .layer(axum::middleware::from_fn(
            |request: axum::extract::Request, next: axum::middleware::Next| async move {
                let response = next.run(request).await;
                if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large().await
                } else {
                    response
                }
            },
        ))
}

/// Serves every network endpoint of the authority (the whole API) on `listener`
/// (over TLS when `tls` is given) until `shutdown` completes.
pub async fn serve(
    authority: Arc<Authority>,
    listener: tokio::net::TcpListener,
    tls: Option<slp_http::TlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    super::serve(authority, listener, tls, shutdown).await
}
