//! Licenses: `POST /v1/accounts/{domain}/licenses`, `POST /v3/licenses/summary`,
//! `POST /v1/accounts/{domain}/virtual-accounts/{va}/licenses/transfer`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::reporting::{SMART_ACCOUNT_HEADER, VIRTUAL_ACCOUNT_HEADER};
use super::{ApiError, CiscoJson, header};
use crate::Authority;
use crate::clients::Principal;
use crate::cssm::{CiscoLicense, LicenseSummary};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LicenseQuery {
    #[serde(default)]
    virtual_accounts: Vec<String>,
    /// Page size (Cisco's member; [`crate::paging`]: default 100, at most 1000).
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    offset: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Licenses {
    status: &'static str,
    total_records: i64,
    licenses: Vec<CiscoLicense>,
}

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path(domain): Path<String>,
    CiscoJson(query): CiscoJson<LicenseQuery>,
) -> Result<Json<Licenses>, ApiError> {
    let page = crate::paging::page(query.limit, query.offset)?;
    // One row per virtual account and license, computed from the pools (not stored rows): the
    // page bounds the answer.
    let all = authority.cisco_licenses(&principal, &domain, &query.virtual_accounts).await?;
    let licenses = crate::paging::slice(all, page);
    Ok(Json(Licenses {
        status: "SUCCESS",
        total_records: licenses.total,
        licenses: licenses.items,
    }))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct SummaryQuery {
    #[serde(default)]
    data: Option<SummaryData>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct SummaryData {
    #[serde(default)]
    tags: Vec<String>,
}

pub(super) async fn summary(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    headers: HeaderMap,
    CiscoJson(query): CiscoJson<SummaryQuery>,
) -> Result<Json<LicenseSummary>, ApiError> {
    // Both `{"tags": […]}` and `{"data": {"tags": […]}}` are seen in the wild.
    let mut tags = query.tags;
    if let Some(data) = query.data {
        tags.extend(data.tags);
    }
    let summary = authority
        .licenses_summary(
            &principal,
            header(&headers, SMART_ACCOUNT_HEADER).as_deref(),
            header(&headers, VIRTUAL_ACCOUNT_HEADER).as_deref(),
            &tags,
        )
        .await?;
    Ok(Json(summary))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TransferBody {
    licenses: Vec<TransferItem>,
    /// slp extension: compute the moves, change nothing.
    #[serde(default)]
    preview: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TransferItem {
    license: String,
    quantity: i64,
    target_virtual_account: String,
    #[serde(default)]
    precedence: Option<String>,
    /// Accepted for compatibility; the entries' own type decides.
    #[serde(default)]
    #[allow(dead_code)]
    license_type: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TransferReply {
    status: &'static str,
    preview: bool,
    licenses: Vec<TransferResult>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TransferResult {
    license: String,
    quantity: i64,
    target_virtual_account: String,
    status: &'static str,
    moves: Vec<MoveResult>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MoveResult {
    sku: String,
    quantity: i64,
    license_type: String,
    end_date: Option<String>,
}

pub(super) async fn transfer(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
    CiscoJson(body): CiscoJson<TransferBody>,
) -> Result<Json<TransferReply>, ApiError> {
    if body.licenses.is_empty() {
        return Err(ApiError::BadRequest("licenses: give at least one license to transfer".into()));
    }
    let mut specs = Vec::new();
    for (i, item) in body.licenses.iter().enumerate() {
        if let Some(p) = &item.precedence
            && p != "LONGEST_TERM_FIRST"
        {
            return Err(ApiError::BadRequest(format!(
                "licenses[{i}].precedence: {p:?} is not supported; use LONGEST_TERM_FIRST"
            )));
        }
        specs.push(crate::TransferSpec {
            license: item.license.clone(),
            quantity: item.quantity,
            to: item.target_virtual_account.clone(),
        });
    }
    let done =
        authority.cisco_transfer_licenses(&principal, &domain, &va, &specs, body.preview).await?;
    let licenses = done
        .into_iter()
        .map(|t| TransferResult {
            license: t.license,
            quantity: t.quantity,
            target_virtual_account: t.to,
            status: "SUCCESS",
            moves: t
                .moves
                .into_iter()
                .map(|m| MoveResult {
                    sku: m.sku,
                    quantity: m.quantity,
                    license_type: m.license_type,
                    end_date: m.expires,
                })
                .collect(),
        })
        .collect();
    Ok(Json(TransferReply { status: "SUCCESS", preview: body.preview, licenses }))
}
