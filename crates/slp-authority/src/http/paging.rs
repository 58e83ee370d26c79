//! Lists over the API: the `?limit=&offset=` of a GET list ([`Paging`]), and the bound on list
//! requests running at once ([`list_concurrency`]), so that viewers reading long lists cannot
//! take the cores and the database's read connections from `reportusage` (whose writes run on
//! the writer's own connection) — a list request beyond the bound waits its turn, holding
//! nothing but its socket.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::ApiError;
use crate::Page;
use crate::paging::page_from_text;

/// How many list requests are answered at once (per server): half the cores, at least one;
/// others wait for a turn. Each holds at most one read connection and the work of one page
/// ([`crate::paging`]). A list's work runs on the server's async threads (one per core), so
/// lists never hold more than half of them: `reportusage` requests are always polled.
pub fn list_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// The page a GET list asks for with `?limit=N&offset=M` ([`crate::paging::page`]).
pub(super) struct Paging(pub Page);

#[derive(Debug, Deserialize)]
struct PageText {
    limit: Option<String>,
    offset: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Paging, ApiError> {
        let Query(text) = Query::<PageText>::try_from_uri(&parts.uri).map_err(|err| {
            ApiError::BadRequest(format!("cannot read the query string: {}", err.body_text()))
        })?;
        Ok(Paging(page_from_text(text.limit.as_deref(), text.offset.as_deref())?))
    }
}

/// Runs a list request when one of the [`list_concurrency`] turns is free, and keeps the turn
/// until its answer is written out (the JSON body is built inside the handler's response).
pub(super) async fn one_list_at_a_time(
    State(turns): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    // The semaphore is never closed, so acquiring fails only if it were.
    let _turn = turns.acquire_owned().await.ok();
    next.run(request).await
}
