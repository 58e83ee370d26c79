//! ID tokens: `GET|POST /v1/accounts/{domain}/virtual-accounts/{va}/tokens` and
//! `POST …/tokens/revoke` (PROTOCOL.md §7.2; `maxUses` is slp's addition).
//!
//! Only a token's SHA-256 is stored, so a list shows each token's id, description, dates, uses
//! and status but never the token text; the text is in the create reply only.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::paging::Paging;
use super::{ApiError, CiscoJson};
use crate::Authority;
use crate::clients::{Access, Principal};
use crate::direct::TokenView;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TokenInfo {
    id: i64,
    description: String,
    creation_date: String,
    expiration_date: String,
    max_uses: Option<i64>,
    uses: i64,
    /// Uses left before the token is used up (none: unlimited).
    uses_remaining: Option<i64>,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

impl TokenInfo {
    fn of(view: TokenView, token: Option<String>) -> TokenInfo {
        TokenInfo {
            id: view.id,
            uses_remaining: view.max_uses.map(|max| (max - view.uses).max(0)),
            description: view.description,
            creation_date: view.created,
            expiration_date: view.expires,
            max_uses: view.max_uses,
            uses: view.uses,
            status: view.status,
            token,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TokenList {
    status: &'static str,
    /// How many ID tokens the virtual account has (the page holds `tokens`).
    total_records: i64,
    tokens: Vec<TokenInfo>,
}

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
    Paging(page): Paging,
) -> Result<Json<TokenList>, ApiError> {
    principal.require(Access::Read, "listing ID tokens")?;
    let (account, va) = authority.scoped_path(&principal, &domain, &va).await?;
    let tokens = authority.tokens_page(&account.domain, &va.name, page).await?;
    Ok(Json(TokenList {
        status: "SUCCESS",
        total_records: tokens.total,
        tokens: tokens.items.into_iter().map(|t| TokenInfo::of(t, None)).collect(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateBody {
    #[serde(default)]
    description: String,
    #[serde(default = "thirty")]
    expires_after_days: u32,
    #[serde(default)]
    max_uses: Option<u32>,
    /// Accepted for compatibility: slp tokens do not restrict export-controlled features.
    #[serde(default)]
    #[allow(dead_code)]
    export_controlled: Option<String>,
}

fn thirty() -> u32 {
    30
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Created {
    status: &'static str,
    token_info: TokenInfo,
}

pub(super) async fn create(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
    CiscoJson(body): CiscoJson<CreateBody>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    principal.require(Access::Write, "creating ID tokens")?;
    let (account, va) = authority.scoped_path(&principal, &domain, &va).await?;
    let (token, view) = authority
        .create_token(
            &account.domain,
            &va.name,
            &body.description,
            body.expires_after_days,
            body.max_uses,
        )
        .await?;
    let token_info = TokenInfo::of(view, Some(token));
    Ok((StatusCode::CREATED, Json(Created { status: "SUCCESS", token_info })))
}

/// Tokens to revoke by their text (Cisco's body) and/or by the ids a list shows (slp's
/// addition: the text is shown only once).
#[derive(Debug, Deserialize)]
pub(super) struct RevokeBody {
    #[serde(default)]
    tokens: Vec<String>,
    #[serde(default)]
    ids: Vec<i64>,
}

#[derive(Debug, Serialize)]
pub(super) struct Revoked {
    status: &'static str,
    revoked: Vec<i64>,
}

pub(super) async fn revoke(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
    CiscoJson(body): CiscoJson<RevokeBody>,
) -> Result<Json<Revoked>, ApiError> {
    principal.require(Access::Write, "revoking ID tokens")?;
    if body.tokens.is_empty() && body.ids.is_empty() {
        return Err(ApiError::BadRequest(
            "tokens: give at least one token (or ids: a token id) to revoke".into(),
        ));
    }
    let (account, va) = authority.scoped_path(&principal, &domain, &va).await?;
    // Every id is checked before anything is revoked: a bad one changes nothing.
    let known: Vec<i64> =
        authority.tokens(&account.domain, &va.name).await?.iter().map(|t| t.id).collect();
    if let Some((i, id)) = body.ids.iter().enumerate().find(|(_, id)| !known.contains(id)) {
        return Err(ApiError::BadRequest(format!(
            "ids[{i}]: {id} is not an ID token of virtual account {:?}",
            va.name
        )));
    }
    let mut revoked = Vec::new();
    if !body.tokens.is_empty() {
        revoked = authority.revoke_tokens_by_text(&account.domain, &va.name, &body.tokens).await?;
    }
    for id in body.ids {
        authority.revoke_token(&account.domain, &va.name, id).await?;
        revoked.push(id);
    }
    Ok(Json(Revoked { status: "SUCCESS", revoked }))
}
