//! License moves to another smart account, as requests (slp's API for the reference's
//! "License Migration between Smart Accounts" case):
//! `POST /v1/accounts/{domain}/virtual-accounts/{va}/licenses/move-requests` files one (admin),
//! `GET /v1/accounts/{domain}/licenses/move-requests[/{id}]` shows their status. Only the
//! licensing-operations user (`slp authority move approve|reject`) decides them.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use slp_wire::cssm::manage::{MoveFilter, MoveRequests, NewMoveRequest, OneMoveRequest, SUCCESS};

use super::paging::Paging;
use super::{ApiError, CiscoJson, VaScope};
use crate::domain::clients::Scope;
use crate::{Authority, MoveSpec};

pub(super) async fn create(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
    CiscoJson(body): CiscoJson<NewMoveRequest>,
) -> Result<(StatusCode, Json<OneMoveRequest>), ApiError> {
    let move_request = authority
        .request_move(&MoveSpec {
            account: account.domain,
            va: va.name,
            target_account: body.target_smart_account,
            target_va: body.target_virtual_account,
            license: body.license,
            quantity: body.quantity,
            reason: body.reason,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(OneMoveRequest { status: SUCCESS.to_owned(), move_request })))
}

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    Scope { account, .. }: Scope,
    Query(filter): Query<MoveFilter>,
    Paging(page): Paging,
) -> Result<Json<MoveRequests>, ApiError> {
    let pending_only = match filter.status.as_deref().map(str::trim) {
        None | Some("") => false,
        Some(status) if status.eq_ignore_ascii_case("PENDING") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "status {other:?}: the only status filter is PENDING"
            )));
        }
    };
    let moves = authority.move_requests_page(Some(&account.domain), pending_only, page).await?;
    Ok(Json(MoveRequests {
        status: SUCCESS.to_owned(),
        total_records: moves.total,
        move_requests: moves.items,
    }))
}

pub(super) async fn show(
    State(authority): State<Arc<Authority>>,
    Scope { account, .. }: Scope,
    Path((_domain, id)): Path<(String, String)>,
) -> Result<Json<OneMoveRequest>, ApiError> {
    let id: i64 = id
        .trim()
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("move request id {id:?} is not a number")))?;
    let move_request = authority.move_request(id, Some(account.id)).await?;
    Ok(Json(OneMoveRequest { status: SUCCESS.to_owned(), move_request }))
}
