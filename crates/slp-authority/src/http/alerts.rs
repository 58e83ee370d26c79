//! Alerts: `GET /v1/accounts/{domain}/alerts[?virtualAccount=VA]` — insufficient licenses,
//! subscriptions expiring within 30/60/90 days or expired, product instances past their ACK
//! deadline.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use slp_wire::cssm::manage::{Alerts, ListFilter, SUCCESS};

use super::ApiError;
use super::paging::Paging;
use crate::Authority;
use crate::domain::clients::Scope;

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    Scope { account, .. }: Scope,
    Query(filter): Query<ListFilter>,
    Paging(page): Paging,
) -> Result<Json<Alerts>, ApiError> {
    if let Some(va) = filter.virtual_account.as_deref() {
        authority.virtual_account_of(&account, va).await?;
    }
    let alerts = authority.alerts(&account.domain, filter.virtual_account.as_deref()).await?;
    // Alerts are findings computed on read (ACK deadlines, expiries), not stored rows: the page
    // bounds the answer, the computation reads the virtual accounts' pools.
    let alerts = crate::paging::slice(alerts, page);
    Ok(Json(Alerts {
        status: SUCCESS.to_owned(),
        total_records: alerts.total,
        alerts: alerts.items,
    }))
}
