//! Alerts: `GET /v1/accounts/{domain}/alerts[?virtualAccount=VA]` — insufficient licenses,
//! subscriptions expiring within 30/60/90 days or expired, product instances past their ACK
//! deadline.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use slp_wire::cssm::manage::{Alerts, ListFilter, SUCCESS};

use super::ApiError;
use super::paging::Paging;
use crate::Authority;
use crate::clients::{Access, Principal};

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path(domain): Path<String>,
    Query(filter): Query<ListFilter>,
    Paging(page): Paging,
) -> Result<Json<Alerts>, ApiError> {
    principal.require(Access::Read, "reading alerts")?;
    let account = match filter.virtual_account.as_deref() {
        Some(va) => authority.scoped_path(&principal, &domain, va).await?.0,
        None => authority.scoped_account_of(&principal, &domain).await?,
    };
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
