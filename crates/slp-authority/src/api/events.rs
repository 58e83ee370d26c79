//! The activity log: `GET /v1/accounts/{domain}/virtual-accounts/{va}/events[?udi=UDI]` —
//! every change in the virtual account (or to one product instance) with when and who.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::Authority;
use crate::clients::{Access, Principal};

#[derive(Debug, Deserialize)]
pub(super) struct Filter {
    udi: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EventInfo {
    event_time: String,
    virtual_account: Option<String>,
    udi: Option<String>,
    /// Who made the change: `cli:USER`, `api:CLIENT (ID)`, `device` or `system`.
    user: Option<String>,
    message: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EventList {
    status: &'static str,
    total_records: usize,
    events: Vec<EventInfo>,
}

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
    Query(filter): Query<Filter>,
) -> Result<Json<EventList>, ApiError> {
    principal.require(Access::Read, "reading the event log")?;
    let (account, va) = authority.scoped_path(&principal, &domain, &va).await?;
    let events: Vec<EventInfo> = authority
        .events(&account.domain, Some(&va.name), filter.udi.as_deref())
        .await?
        .into_iter()
        .map(|e| EventInfo {
            event_time: e.at,
            virtual_account: e.virtual_account,
            udi: e.udi,
            user: e.actor,
            message: e.message,
        })
        .collect();
    Ok(Json(EventList { status: "SUCCESS", total_records: events.len(), events }))
}
