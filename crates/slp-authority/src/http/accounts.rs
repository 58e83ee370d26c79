//! Smart and virtual accounts: `GET /v2/accounts`, `GET /v2/accounts/search`,
//! `GET /v1/accounts/search?domain=D`, `GET|POST /v1/accounts/{domain}/customer/virtual-accounts`,
//! `POST …/virtual-accounts/{va}/delete` and `…/rename`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use slp_wire::cssm::manage::{
    AccountSearch, Accounts, CreatedVirtualAccount, DomainQuery, DomainSearch, Done,
    NewVirtualAccount, Rename, SUCCESS, VirtualAccounts,
};

use super::paging::Paging;
use super::{ApiError, CiscoJson, VaScope};
use crate::Authority;
use crate::domain::clients::Scope;

/// `GET /v2/accounts`: the smart accounts the caller may see, with its roles in each.
pub(super) async fn accounts(
    State(authority): State<Arc<Authority>>,
    scope: Scope,
) -> Result<Json<Accounts>, ApiError> {
    Ok(Json(authority.accounts_with_roles(&scope.account, scope.principal.role).await?))
}

/// `GET /v1/accounts/search?domain=D`: the caller's smart account if `domain` names it.
pub(super) async fn search_domain(
    State(authority): State<Arc<Authority>>,
    scope: Scope,
    Query(query): Query<DomainQuery>,
) -> Result<Json<DomainSearch>, ApiError> {
    Ok(Json(authority.search_domain(&scope.account, query.domain.as_deref()).await?))
}

pub(super) async fn search(
    State(authority): State<Arc<Authority>>,
    scope: Scope,
) -> Result<Json<AccountSearch>, ApiError> {
    Ok(Json(authority.search_accounts(&scope.account).await?))
}

pub(super) async fn list_vas(
    State(authority): State<Arc<Authority>>,
    scope: Scope,
    Paging(page): Paging,
) -> Result<Json<VirtualAccounts>, ApiError> {
    let vas = authority.virtual_accounts_page(&scope.account, page).await?;
    Ok(Json(VirtualAccounts {
        status: SUCCESS.to_owned(),
        total_records: vas.total,
        virtual_accounts: vas.items,
    }))
}

pub(super) async fn create_va(
    State(authority): State<Arc<Authority>>,
    scope: Scope,
    CiscoJson(body): CiscoJson<NewVirtualAccount>,
) -> Result<(StatusCode, Json<CreatedVirtualAccount>), ApiError> {
    let account = &scope.account;
    let created =
        authority.create_va_described(&account.domain, &body.name, &body.description).await?;
    let virtual_account = authority.virtual_account(account, &created.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedVirtualAccount { status: SUCCESS.to_owned(), virtual_account }),
    ))
}

/// `POST /v1/accounts/{domain}[/customer]/virtual-accounts/{va}/delete`: refused (409) while the
/// virtual account holds licenses or product instances.
pub(super) async fn delete_va(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
) -> Result<Json<Done>, ApiError> {
    authority.delete_va(&account.domain, &va.name).await?;
    let message = format!("virtual account {:?} deleted", va.name);
    Ok(Json(Done { status: SUCCESS.to_owned(), message }))
}

/// `POST /v1/accounts/{domain}[/customer]/virtual-accounts/{va}/rename` `{"name": …}` (slp's
/// addition; CSSM has no public rename call).
pub(super) async fn rename_va(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
    CiscoJson(body): CiscoJson<Rename>,
) -> Result<Json<Done>, ApiError> {
    authority.rename_va(&account.domain, &va.name, &body.name).await?;
    let message = format!("virtual account {:?} renamed to {:?}", va.name, body.name.trim());
    Ok(Json(Done { status: SUCCESS.to_owned(), message }))
}
