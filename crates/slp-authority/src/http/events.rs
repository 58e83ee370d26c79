//! The activity log: `GET /v1/accounts/{domain}/events[?virtualAccount=VA][&udi=UDI]` and
//! `GET /v1/accounts/{domain}/virtual-accounts/{va}/events[?udi=UDI]` — every change in the smart
//! account (or one virtual account, or to one product instance) with when and who, oldest first,
//! a page at a time (`&limit=N&offset=M`, [`crate::paging`]) with `totalRecords`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use slp_wire::cssm::manage::{Event, Events, ListFilter, SUCCESS};

use super::paging::Paging;
use super::{ApiError, VaScope};
use crate::Authority;
use crate::Page;
use crate::domain::clients::Scope;

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
    Query(filter): Query<ListFilter>,
    Paging(page): Paging,
) -> Result<Json<Events>, ApiError> {
    listing(&authority, &account.domain, Some(&va.name), filter.udi.as_deref(), page).await
}

pub(super) async fn list_account(
    State(authority): State<Arc<Authority>>,
    Scope { account, .. }: Scope,
    Query(filter): Query<ListFilter>,
    Paging(page): Paging,
) -> Result<Json<Events>, ApiError> {
    let va = match filter.virtual_account.as_deref().filter(|v| !v.trim().is_empty()) {
        Some(va) => Some(authority.virtual_account_of(&account, va).await?.name),
        None => None,
    };
    listing(&authority, &account.domain, va.as_deref(), filter.udi.as_deref(), page).await
}

async fn listing(
    authority: &Authority,
    domain: &str,
    va: Option<&str>,
    udi: Option<&str>,
    page: Page,
) -> Result<Json<Events>, ApiError> {
    let events = authority.events_page(domain, va, udi, page).await?;
    let total_records = events.total;
    let events: Vec<Event> = events
        .items
        .into_iter()
        .map(|e| Event {
            event_time: e.at,
            virtual_account: e.virtual_account,
            udi: e.udi,
            user: e.actor,
            message: e.message,
        })
        .collect();
    Ok(Json(Events { status: SUCCESS.to_owned(), total_records, events }))
}
