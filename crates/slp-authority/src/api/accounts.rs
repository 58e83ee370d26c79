//! Smart and virtual accounts: `GET /v2/accounts/search`, `GET|POST
//! /v1/accounts/{domain}/customer/virtual-accounts`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{ApiError, CiscoJson};
use crate::Authority;
use crate::clients::Principal;
use crate::cssm::{AccountSearch, CiscoVa};

pub(super) async fn search(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
) -> Result<Json<AccountSearch>, ApiError> {
    Ok(Json(authority.search_accounts(&principal).await?))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct VirtualAccounts {
    status: &'static str,
    virtual_accounts: Vec<CiscoVa>,
}

pub(super) async fn list_vas(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path(domain): Path<String>,
) -> Result<Json<VirtualAccounts>, ApiError> {
    let virtual_accounts = authority.cisco_virtual_accounts(&principal, &domain).await?;
    Ok(Json(VirtualAccounts { status: "SUCCESS", virtual_accounts }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NewVa {
    name: String,
    #[serde(default)]
    #[allow(dead_code)] // accepted for Cisco compatibility; not stored yet
    description: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreatedVa {
    status: &'static str,
    virtual_account: CiscoVa,
}

pub(super) async fn create_va(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path(domain): Path<String>,
    CiscoJson(body): CiscoJson<NewVa>,
) -> Result<(StatusCode, Json<CreatedVa>), ApiError> {
    let virtual_account = authority.cisco_create_va(&principal, &domain, &body.name).await?;
    Ok((StatusCode::CREATED, Json(CreatedVa { status: "SUCCESS", virtual_account })))
}
