//! ID tokens: `GET|POST /v1/accounts/{domain}/virtual-accounts/{va}/tokens` and
//! `POST …/tokens/revoke` (PROTOCOL.md §7.2; `maxUses` is slp's addition).
//!
//! A list shows each token as Cisco's does (`token`, `expirationDate`, `exportControlled`,
//! `createdBy`, `status`, …): the authority keeps the text sealed with its token key
//! (`crate::TokenKey`) and looks tokens up by their SHA-256. A token created before it kept the
//! text (or while it had no token key) is listed with `token: null`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use slp_wire::cssm::manage::{
    CreatedToken, NewToken, SUCCESS, TokenInfo, TokenRevocation, Tokens, TokensRevoked,
};

use super::paging::Paging;
use super::{ApiError, CiscoJson, VaScope};
use crate::Authority;
use crate::domain::direct::TokenView;

fn token_info(view: TokenView) -> TokenInfo {
    TokenInfo {
        id: view.id,
        uses_remaining: view.max_uses.map(|max| (max - view.uses).max(0)),
        token: view.token,
        description: view.description,
        creation_date: view.created,
        created_by: view.created_by,
        expiration_date: view.expires,
        export_controlled: view.export_controlled,
        max_uses: view.max_uses,
        uses: view.uses,
        status: view.status,
    }
}

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
    Paging(page): Paging,
) -> Result<Json<Tokens>, ApiError> {
    let tokens = authority.tokens_page(&account.domain, &va.name, page).await?;
    Ok(Json(Tokens {
        status: SUCCESS.to_owned(),
        total_records: tokens.total,
        tokens: tokens.items.into_iter().map(token_info).collect(),
    }))
}

pub(super) async fn create(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
    CiscoJson(body): CiscoJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let days = u32::try_from(body.expires_after_days).map_err(|_| {
        ApiError::BadRequest(format!("expiresAfterDays: {} is too large", body.expires_after_days))
    })?;
    let max_uses = body
        .max_uses
        .map(u32::try_from)
        .transpose()
        .map_err(|_| ApiError::BadRequest("maxUses: too large".to_owned()))?;
    let export = body.export_controlled.as_deref();
    let (_, view) = authority
        .create_token_with(&account.domain, &va.name, &body.description, days, max_uses, export)
        .await?;
    let token_info = token_info(view);
    Ok((StatusCode::CREATED, Json(CreatedToken { status: SUCCESS.to_owned(), token_info })))
}

pub(super) async fn revoke(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
    CiscoJson(body): CiscoJson<TokenRevocation>,
) -> Result<Json<TokensRevoked>, ApiError> {
    if body.tokens.is_empty() && body.ids.is_empty() {
        return Err(ApiError::BadRequest(
            "tokens: give at least one token (or ids: a token id) to revoke".into(),
        ));
    }
    // Every id is checked before anything is revoked: a bad one changes nothing.
    let known: Vec<i64> =
        authority.tokens(&account.domain, &va.name).await?.iter().map(|t| t.id).collect();
    if let Some((i, id)) = body.ids.iter().enumerate().find(|(_, id)| !known.contains(id)) {
        return Err(crate::AuthorityError::TokenNotFound {
            what: format!("ids[{i}]: {id}"),
            va: va.name,
        }
        .into());
    }
    let mut revoked = Vec::new();
    if !body.tokens.is_empty() {
        revoked = authority.revoke_tokens_by_text(&account.domain, &va.name, &body.tokens).await?;
    }
    for id in body.ids {
        authority.revoke_token(&account.domain, &va.name, id).await?;
        revoked.push(id);
    }
    Ok(Json(TokensRevoked { status: SUCCESS.to_owned(), revoked }))
}
