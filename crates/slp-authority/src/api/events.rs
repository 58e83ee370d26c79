//! The activity log: `GET /v1/accounts/{domain}/events[?virtualAccount=VA][&udi=UDI]` and
//! `GET /v1/accounts/{domain}/virtual-accounts/{va}/events[?udi=UDI]` — every change in the smart
//! account (or one virtual account, or to one product instance) with when and who, oldest first,
//! a page at a time (`&limit=N&offset=M`, [`crate::paging`]) with `totalRecords`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use slp_wire::cssm::manage::{Event, Events, ListFilter, SUCCESS};

use super::ApiError;
use super::paging::Paging;
use crate::Authority;
use crate::Page;
use crate::clients::{Access, Principal};

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
    Query(filter): Query<ListFilter>,
    Paging(page): Paging,
) -> Result<Json<Events>, ApiError> {
    listing(&authority, &principal, &domain, Some(&va), filter.udi.as_deref(), page).await
}

pub(super) async fn list_account(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path(domain): Path<String>,
    Query(filter): Query<ListFilter>,
    Paging(page): Paging,
) -> Result<Json<Events>, ApiError> {
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
) -> Result<Json<Events>, ApiError> {
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
