//! Alerts: `GET /v1/accounts/{domain}/alerts[?virtualAccount=VA]` — insufficient licenses,
//! subscriptions expiring within 30/60/90 days or expired, product instances past their ACK
//! deadline.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::clients::{Access, Principal};
use crate::{AlertView, Authority};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Filter {
    virtual_account: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AlertList {
    status: &'static str,
    total_records: usize,
    alerts: Vec<AlertView>,
}

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path(domain): Path<String>,
    Query(filter): Query<Filter>,
) -> Result<Json<AlertList>, ApiError> {
    principal.require(Access::Read, "reading alerts")?;
    let account = match filter.virtual_account.as_deref() {
        Some(va) => authority.scoped_path(&principal, &domain, va).await?.0,
        None => authority.scoped_account_of(&principal, &domain).await?,
    };
    let alerts = authority.alerts(&account.domain, filter.virtual_account.as_deref()).await?;
    Ok(Json(AlertList { status: "SUCCESS", total_records: alerts.len(), alerts }))
}
