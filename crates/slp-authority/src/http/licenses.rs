//! Licenses: `POST /v1/accounts/{domain}/licenses`, `POST /v3/licenses/summary`,
//! `POST /v1/accounts/{domain}/virtual-accounts/{va}/licenses/transfer`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use slp_wire::cssm::manage::{
    LicenseMove, LicenseQuery, LicenseSummary, LicenseTransfer, LicenseTransferReply,
    LicenseTransferResult, Licenses, SUCCESS, SummaryQuery,
};

use super::reporting::VIRTUAL_ACCOUNT_HEADER;
use super::{ApiError, CiscoJson, VaScope, header};
use crate::Authority;
use crate::domain::clients::Scope;

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    scope: Scope,
    CiscoJson(query): CiscoJson<LicenseQuery>,
) -> Result<Json<Licenses>, ApiError> {
    let page = crate::paging::page(query.limit, query.offset)?;
    // One row per virtual account and license, computed from the pools (not stored rows): the
    // page bounds the answer.
    let all = authority.license_list(&scope.account, &query.virtual_accounts).await?;
    let licenses = crate::paging::slice(all, page);
    Ok(Json(Licenses {
        status: SUCCESS.to_owned(),
        total_records: licenses.total,
        licenses: licenses.items,
    }))
}

pub(super) async fn summary(
    State(authority): State<Arc<Authority>>,
    scope: Scope,
    headers: HeaderMap,
    CiscoJson(query): CiscoJson<SummaryQuery>,
) -> Result<Json<LicenseSummary>, ApiError> {
    // Both `{"tags": […]}` and `{"data": {"tags": […]}}` are seen in the wild.
    let summary = authority
        .licenses_summary(
            &scope.account,
            header(&headers, VIRTUAL_ACCOUNT_HEADER).as_deref(),
            &query.tags(),
        )
        .await?;
    Ok(Json(summary))
}

pub(super) async fn transfer(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
    CiscoJson(body): CiscoJson<LicenseTransfer>,
) -> Result<Json<LicenseTransferReply>, ApiError> {
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
        let quantity = i64::try_from(item.quantity).map_err(|_| {
            ApiError::BadRequest(format!("licenses[{i}].quantity: {} is too large", item.quantity))
        })?;
        specs.push(crate::TransferSpec {
            license: item.license.clone(),
            quantity,
            to: item.target_virtual_account.clone(),
        });
    }
    let done = authority.transfer_licenses(&account.domain, &va.name, &specs, body.preview).await?;
    let licenses = done
        .into_iter()
        .map(|t| LicenseTransferResult {
            license: t.license,
            quantity: t.quantity,
            target_virtual_account: t.to,
            status: SUCCESS.to_owned(),
            moves: t
                .moves
                .into_iter()
                .map(|m| LicenseMove {
                    sku: m.sku,
                    quantity: m.quantity,
                    license_type: m.license_type,
                    end_date: m.expires,
                })
                .collect(),
        })
        .collect();
    Ok(Json(LicenseTransferReply { status: SUCCESS.to_owned(), preview: body.preview, licenses }))
}
