//! The push endpoint `POST /cslu/v1/pi` (slp_wire::online): devices send usage, SLAC requests
//! and returns, poll for answers and say hello.
//!
//! | request `header.type` | reply |
//! |---|---|
//! | `usage`, `auth_request`, `auth_return` | `OK_POLL` + `poll_id` (stored; idempotent) or `ERROR` + message |
//! | `poll` | `OK` + `smart_license` (the answer) or `NO_DATA` |
//! | `hello` | `OK` |
//! | `trust_request` | `ERROR`: ID-token trust goes directly to the authority |
//!
//! HTTP status: 200 for `OK`/`OK_POLL`/`NO_DATA`, 400 malformed message, 403 unknown device,
//! 404 unknown poll id, 413 body over the limit, 422 refused document; the body is always an
//! `online::Response`, so a device reads the reason whatever the status.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::post;
use slp_http::ops::{BoxFuture, Ops, Probe, Sample};
use slp_wire::online::{self, MessageType, Request as DeviceRequest, Response};

use crate::intake::Source;
use crate::{POLL_INTERVAL_SECS, Relay, RelayError};

/// Options of the push endpoint.
#[derive(Debug, Clone, Copy)]
pub struct ApiOptions {
    pub body_limit: usize,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions { body_limit: crate::BODY_LIMIT }
    }
}

struct Shared {
    relay: Arc<Relay>,
    options: ApiOptions,
}

/// The relay's router: `/cslu/v1/pi` (and `/cslu/v1/pi/<tenant>`), wrapped in the layers every slp server has
/// (`slp_http::ops`: security headers, closed CORS, bounds, request ids, `/metrics`,
/// `/healthz`, `/readyz`), with a registry of its own.
pub fn router(relay: Arc<Relay>, options: ApiOptions) -> Router {
    let ops = Ops::builder("relay", relay.clock().clone())
        .probe(RelayProbe(relay.clone()))
        .body_limit(options.body_limit)
        .build();
    let routes = Router::new()
        .route(online::CSLU_PATH, post(push))
        // SSM On-Prem's form of the URL the guide has devices configure,
        // `http://<ip>/cslu/v1/pi/<tenant ID>` (the default local virtual account's ID): the
        // relay serves one tenant, so any one path segment reaches the same endpoint.
        .route(&format!("{}/{{tenant}}", online::CSLU_PATH), post(push))
        .layer(DefaultBodyLimit::disable())
        .with_state(Arc::new(Shared { relay, options }));
    slp_http::ops::wrap(routes, &ops)
}

/// The relay's readiness (its database answers) and metrics: documents waiting to be sent on
/// (forwarded or exported) and waiting for their answer, answers not yet delivered.
struct RelayProbe(Arc<Relay>);

impl RelayProbe {
    async fn count(&self, sql: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(self.0.store().pool()).await
    }
}

impl Probe for RelayProbe {
    fn ready(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.count("SELECT COUNT(*) FROM prefs").await.map(drop).map_err(|err| {
                tracing::warn!(error = %err, "readiness: the relay database does not answer");
                "the database does not answer".to_owned()
            })
        })
    }

    fn samples(&self) -> BoxFuture<'_, Vec<Sample>> {
        Box::pin(async move {
            let waiting = "Device documents stored and not answered, by stage";
            let queries = [
                (
                    "send",
                    "SELECT COUNT(*) FROM documents WHERE answer_id IS NULL AND rejected IS NULL \
                     AND upstream_id IS NULL AND exported_at IS NULL",
                ),
                (
                    "answer",
                    "SELECT COUNT(*) FROM documents WHERE answer_id IS NULL AND rejected IS NULL \
                     AND (upstream_id IS NOT NULL OR exported_at IS NOT NULL)",
                ),
            ];
            let mut samples = Vec::new();
            for (stage, sql) in queries {
                match self.count(sql).await {
                    Ok(n) => samples.push(
                        Sample::gauge("slp_relay_documents_waiting", waiting, n as f64)
                            .label("stage", stage),
                    ),
                    Err(err) => tracing::warn!(error = %err, "metrics: counting documents failed"),
                }
            }
            match self.count("SELECT COUNT(*) FROM answers WHERE delivered_at IS NULL").await {
                Ok(n) => samples.push(Sample::gauge(
                    "slp_relay_answers_undelivered",
                    "Answers (ACKs, codes) stored and not yet delivered to their device",
                    n as f64,
                )),
                Err(err) => tracing::warn!(error = %err, "metrics: counting answers failed"),
            }
            samples
        })
    }
}

fn reply(status: StatusCode, response: Response) -> HttpResponse {
    (status, axum::Json(response)).into_response()
}

fn refusal(err: &RelayError) -> HttpResponse {
    let status = match err {
        RelayError::Refused { .. } | RelayError::BadAnswer { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        RelayError::UnknownDevice { .. }
        | RelayError::KeyMismatch { .. }
        | RelayError::UnitClaimed { .. }
        | RelayError::Unsigned { .. } => StatusCode::FORBIDDEN,
        RelayError::PollNotFound { .. } => StatusCode::NOT_FOUND,
        RelayError::Invalid { .. } => StatusCode::BAD_REQUEST,
        _ => {
            tracing::error!(error = %err, "push request failed");
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                Response::error("internal error: the message was not stored; retry later"),
            );
        }
    };
    reply(status, Response::error(err.to_string()))
}

/// Whether a body error is a length limit's, here or in the limit every server has
/// (`slp_http::ops`), whose error comes wrapped.
fn over_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        next = err.source();
    }
    false
}

async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>, HttpResponse> {
    let too_large = || {
        reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            Response::error(format!(
                "the message is larger than the relay's limit of {limit} bytes ({} MiB)",
                limit / (1024 * 1024)
            )),
        )
    };
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(err) => {
            let inner = err.into_inner();
            if over_limit(inner.as_ref()) {
                Err(too_large())
            } else {
                Err(reply(
                    StatusCode::BAD_REQUEST,
                    Response::error(format!("reading the message failed: {inner}")),
                ))
            }
        }
    }
}

async fn push(State(shared): State<Arc<Shared>>, request: Request) -> HttpResponse {
    let limit = shared.options.body_limit;
    if let Some(length) = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && length > limit
    {
        tracing::warn!(length, limit, "push refused: body over the limit");
        return reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            Response::error(format!(
                "the message is larger than the relay's limit of {limit} bytes ({} MiB)",
                limit / (1024 * 1024)
            )),
        );
    }
    let body = match read_body(request.into_body(), limit).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let message = match DeviceRequest::parse(&body) {
        Ok(message) => message,
        Err(err) => {
            tracing::warn!(error = %err, "push refused: malformed message");
            return reply(StatusCode::BAD_REQUEST, Response::error(err.to_string()));
        }
    };
    let udi = match message.header.udi.udi() {
        Ok(udi) => udi.to_string(),
        Err(err) => {
            return reply(StatusCode::BAD_REQUEST, Response::error(format!("header.udi: {err}")));
        }
    };
    let relay = &shared.relay;
    match message.header.kind {
        MessageType::Hello => reply(StatusCode::OK, Response::ok(None)),
        MessageType::TrustRequest => reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            Response::error(
                "trust with an ID token goes directly to the authority (license smart transport smart); the relay carries trust requests inside usage reports",
            ),
        ),
        MessageType::Poll => {
            let Some(poll_id) =
                message.data.poll_id.as_deref().map(str::trim).filter(|p| !p.is_empty())
            else {
                return reply(StatusCode::BAD_REQUEST, Response::error("data.poll_id is missing"));
            };
            match relay.poll(&udi, poll_id).await {
                Ok(Some(answer)) => reply(StatusCode::OK, Response::ok(Some(answer))),
                Ok(None) => reply(StatusCode::OK, Response::no_data()),
                Err(err) => refusal(&err),
            }
        }
        MessageType::Usage | MessageType::AuthRequest | MessageType::AuthReturn => {
            let Some(text) = message.data.smart_license.as_deref() else {
                return reply(
                    StatusCode::BAD_REQUEST,
                    Response::error(
                        "data.smart_license is missing: send the <smartLicense> document",
                    ),
                );
            };
            match relay.accept(text, Some(&udi), Source::Push).await {
                Ok(accepted) => match accepted.poll_id {
                    Some(poll_id) => {
                        reply(StatusCode::OK, Response::poll(poll_id, POLL_INTERVAL_SECS))
                    }
                    None => reply(StatusCode::OK, Response::ok(None)),
                },
                Err(err) => {
                    tracing::warn!(udi = %udi, error = %err, "push refused");
                    refusal(&err)
                }
            }
        }
    }
}

/// Serves the push endpoint on `listener` (over TLS when `tls` is given) until `shutdown`
/// completes.
pub async fn serve(
    relay: Arc<Relay>,
    listener: tokio::net::TcpListener,
    tls: Option<slp_http::TlsConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    options: ApiOptions,
) -> std::io::Result<()> {
    slp_http::serve(listener, router(relay, options), tls, shutdown).await
}
