//! Licenses: `POST /v1/accounts/{domain}/licenses`, `POST /v3/licenses/summary`.

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
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    offset: Option<usize>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Licenses {
    status: &'static str,
    total_records: usize,
    licenses: Vec<CiscoLicense>,
}

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path(domain): Path<String>,
    CiscoJson(query): CiscoJson<LicenseQuery>,
) -> Result<Json<Licenses>, ApiError> {
    let all = authority.cisco_licenses(&principal, &domain, &query.virtual_accounts).await?;
    let total_records = all.len();
    let licenses = all
        .into_iter()
        .skip(query.offset.unwrap_or(0))
        .take(query.limit.unwrap_or(usize::MAX))
        .collect();
    Ok(Json(Licenses { status: "SUCCESS", total_records, licenses }))
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
