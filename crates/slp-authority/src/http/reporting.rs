//! Smart Licensing Using Policy reporting (PROTOCOL.md §7.3): `reportusage`, `authrequest`,
//! `poll`. The smart and virtual account come from the `X-CSW-SMART-ACCOUNT-ID` and
//! `X-CSW-VIRTUAL-ACCOUNT-ID` headers.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::{ApiError, CiscoJson, header};
use crate::Authority;
use crate::domain::clients::Scope;
use slp_wire::cssm::report::{
    AuthRequestRequest, PollAccepted, PollComplete, PollRequest, ReportUsageRequest,
};

pub(super) const SMART_ACCOUNT_HEADER: &str = "x-csw-smart-account-id";
pub(super) const VIRTUAL_ACCOUNT_HEADER: &str = "x-csw-virtual-account-id";

pub(super) async fn report_usage(
    State(authority): State<Arc<Authority>>,
    scope: Scope,
    headers: HeaderMap,
    CiscoJson(request): CiscoJson<ReportUsageRequest>,
) -> Result<(StatusCode, Json<PollAccepted>), ApiError> {
    let accepted = authority
        .report_usage(
            &scope.principal,
            Some(&scope.account.domain),
            header(&headers, VIRTUAL_ACCOUNT_HEADER).as_deref(),
            &request.data,
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

pub(super) async fn auth_request(
    State(authority): State<Arc<Authority>>,
    scope: Scope,
    headers: HeaderMap,
    CiscoJson(request): CiscoJson<AuthRequestRequest>,
) -> Result<(StatusCode, Json<PollAccepted>), ApiError> {
    let accepted = authority
        .auth_request(
            &scope.principal,
            Some(&scope.account.domain),
            header(&headers, VIRTUAL_ACCOUNT_HEADER).as_deref(),
            &request.data,
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

pub(super) async fn poll(
    State(authority): State<Arc<Authority>>,
    scope: Scope,
    CiscoJson(request): CiscoJson<PollRequest>,
) -> Result<Json<PollComplete>, ApiError> {
    let mut result = authority
        .poll(&scope.principal, &request.data.poll_id.text(), request.data.action.as_deref())
        .await?;
    // As Cisco's: the request's nonce and timestamp echoed.
    result.nonce = request.data.nonce.unwrap_or_default();
    result.timestamp = request.data.timestamp.or(result.timestamp);
    Ok(Json(result))
}
