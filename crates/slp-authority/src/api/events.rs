//! The activity log: `GET /v1/accounts/{domain}/events[?virtualAccount=VA][&udi=UDI]` and
//! `GET /v1/accounts/{domain}/virtual-accounts/{va}/events[?udi=UDI]` — every change in the smart
//! account (or one virtual account, or to one product instance) with when and who, oldest first,
//! a page at a time (`&limit=N&offset=M`, [`crate::paging`]) with `totalRecords`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use super::ApiError;
use super::paging::Paging;
use crate::Authority;
use crate::Page;
use crate::clients::{Access, Principal};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Filter {
    virtual_account: Option<String>,
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
    /// How many events match (the page holds `events`).
    total_records: i64,
    events: Vec<EventInfo>,
}

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
    Query(filter): Query<Filter>,
    Paging(page): Paging,
) -> Result<Json<EventList>, ApiError> {
    listing(&authority, &principal, &domain, Some(&va), filter.udi.as_deref(), page).await
}

pub(super) async fn list_account(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path(domain): Path<String>,
    Query(filter): Query<Filter>,
    Paging(page): Paging,
) -> Result<Json<EventList>, ApiError> {
    let va = filter.virtual_account.as_deref().filter(|v| !v.trim().is_empty());
    listing(&authority, &principal, &domain, va, filter.udi.as_deref(), page).await
}

async fn listing(
    authority: &Authority,
    principal: &Principal,
    domain: &str,
    va: Option<&str>,
    udi: Option<&str>,
    page: Page,
) -> Result<Json<EventList>, ApiError> {
    principal.require(Access::Read, "reading the event log")?;
    let (account, va) = match va {
        Some(va) => {
            let (account, va) = authority.scoped_path(principal, domain, va).await?;
            (account, Some(va.name))
        }
        None => (authority.scoped_account_of(principal, domain).await?, None),
    };
    let events = authority.events_page(&account.domain, va.as_deref(), udi, page).await?;
    let total_records = events.total;
    let events: Vec<EventInfo> = events
        .items
        .into_iter()
        .map(|e| EventInfo {
            event_time: e.at,
            virtual_account: e.virtual_account,
            udi: e.udi,
            user: e.actor,
            message: e.message,
        })
        .collect();
    Ok(Json(EventList { status: "SUCCESS", total_records, events }))
}
