//! Smart and virtual accounts: `GET /v2/accounts/search`, `GET|POST
//! /v1/accounts/{domain}/customer/virtual-accounts`, `POST …/virtual-accounts/{va}/delete` and
//! `…/rename`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::paging::Paging;
use super::{ApiError, CiscoJson};
use crate::Authority;
use crate::clients::{Access, Principal};
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
    /// How many virtual accounts the smart account has (the page holds `virtualAccounts`).
    total_records: i64,
    virtual_accounts: Vec<CiscoVa>,
}

pub(super) async fn list_vas(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path(domain): Path<String>,
    Paging(page): Paging,
) -> Result<Json<VirtualAccounts>, ApiError> {
    let vas = authority.cisco_virtual_accounts_page(&principal, &domain, page).await?;
    Ok(Json(VirtualAccounts {
        status: "SUCCESS",
        total_records: vas.total,
        virtual_accounts: vas.items,
    }))
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

#[derive(Debug, Serialize)]
pub(super) struct Done {
    status: &'static str,
    message: String,
}

/// `POST /v1/accounts/{domain}[/customer]/virtual-accounts/{va}/delete`: refused (409) while the
/// virtual account holds licenses or product instances.
pub(super) async fn delete_va(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
) -> Result<Json<Done>, ApiError> {
    principal.require(Access::Write, "deleting virtual accounts")?;
    let (account, va) = authority.scoped_path(&principal, &domain, &va).await?;
    authority.delete_va(&account.domain, &va.name).await?;
    Ok(Json(Done { status: "SUCCESS", message: format!("virtual account {:?} deleted", va.name) }))
}

#[derive(Debug, Deserialize)]
pub(super) struct Rename {
    name: String,
}

/// `POST /v1/accounts/{domain}[/customer]/virtual-accounts/{va}/rename` `{"name": …}` (slp's
/// addition; CSSM has no public rename call).
pub(super) async fn rename_va(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
    CiscoJson(body): CiscoJson<Rename>,
) -> Result<Json<Done>, ApiError> {
    principal.require(Access::Write, "renaming virtual accounts")?;
    let (account, va) = authority.scoped_path(&principal, &domain, &va).await?;
    authority.rename_va(&account.domain, &va.name, &body.name).await?;
    let message = format!("virtual account {:?} renamed to {:?}", va.name, body.name.trim());
    Ok(Json(Done { status: "SUCCESS", message }))
}
