//! Reporting policies: `GET|PUT|DELETE /v1/accounts/{domain}/reporting-policy` (the smart
//! account's own custom policy), `GET|PUT|DELETE …/virtual-accounts/{va}/reporting-policy` (the
//! policy in force for a virtual account, and its own custom policy) and
//! `GET …/virtual-accounts/{va}/reporting-policy/download` (the signed policy file a device
//! imports: "Reports > Reporting Policy").
//!
//! A virtual account's policy in force is its own custom policy, else its smart account's, else
//! the Cisco default; the reply's `setFor` says which.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use slp_core::policy::Attributes;
use slp_wire::cssm::manage::{PolicyBody, PolicyClass};

use super::{ApiError, CiscoJson};
use crate::clients::{Access, Principal};
use crate::{Authority, PolicySpec, PolicyView};

/// The policy a request body sets: day counts 0..=3650.
fn spec_of(body: PolicyBody) -> Result<PolicySpec, ApiError> {
    let class = |field: &str, body: Option<PolicyClass>| -> Result<_, ApiError> {
        let Some(c) = body else { return Ok(None) };
        if [c.first, c.ongoing, c.on_change].iter().any(|days| *days > 3650) {
            return Err(ApiError::BadRequest(format!(
                "{field}: day counts must be 0..=3650, got {}/{}/{}",
                c.first, c.ongoing, c.on_change
            )));
        }
        Ok(Some(Attributes { first: c.first, ongoing: c.ongoing, on_change: c.on_change }))
    };
    Ok(PolicySpec {
        unenforced_perpetual: class("unenforcedPerpetual", body.unenforced_perpetual)?,
        unenforced_subscription: class("unenforcedSubscription", body.unenforced_subscription)?,
        enforced: class("enforced", body.enforced)?,
        export: class("export", body.export)?,
        name: body.name,
        ack_required: body.ack_required,
    })
}

/// The smart account (and virtual account) a path names, within the client's scope.
async fn scope(
    authority: &Authority,
    principal: &Principal,
    domain: &str,
    va: Option<&str>,
) -> Result<(String, Option<String>), ApiError> {
    Ok(match va {
        Some(va) => {
            let (account, va) = authority.scoped_path(principal, domain, va).await?;
            (account.domain, Some(va.name))
        }
        None => (authority.scoped_account_of(principal, domain).await?.domain, None),
    })
}

async fn show_in(
    authority: &Authority,
    principal: &Principal,
    domain: &str,
    va: Option<&str>,
) -> Result<Json<PolicyView>, ApiError> {
    principal.require(Access::Read, "reading reporting policies")?;
    let (account, va) = scope(authority, principal, domain, va).await?;
    Ok(Json(authority.policy(&account, va.as_deref()).await?))
}

async fn set_in(
    authority: &Authority,
    principal: &Principal,
    domain: &str,
    va: Option<&str>,
    body: PolicyBody,
) -> Result<Json<PolicyView>, ApiError> {
    principal.require(Access::Write, "setting reporting policies")?;
    let spec = spec_of(body)?;
    let (account, va) = scope(authority, principal, domain, va).await?;
    Ok(Json(authority.set_policy(&account, va.as_deref(), &spec).await?))
}

async fn clear_in(
    authority: &Authority,
    principal: &Principal,
    domain: &str,
    va: Option<&str>,
) -> Result<Json<PolicyView>, ApiError> {
    principal.require(Access::Write, "removing reporting policies")?;
    let (account, va) = scope(authority, principal, domain, va).await?;
    Ok(Json(authority.clear_policy(&account, va.as_deref()).await?))
}

pub(super) async fn show_account(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path(domain): Path<String>,
) -> Result<Json<PolicyView>, ApiError> {
    show_in(&authority, &principal, &domain, None).await
}

pub(super) async fn set_account(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path(domain): Path<String>,
    CiscoJson(body): CiscoJson<PolicyBody>,
) -> Result<Json<PolicyView>, ApiError> {
    set_in(&authority, &principal, &domain, None, body).await
}

pub(super) async fn clear_account(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path(domain): Path<String>,
) -> Result<Json<PolicyView>, ApiError> {
    clear_in(&authority, &principal, &domain, None).await
}

pub(super) async fn show_va(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
) -> Result<Json<PolicyView>, ApiError> {
    show_in(&authority, &principal, &domain, Some(&va)).await
}

pub(super) async fn set_va(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
    CiscoJson(body): CiscoJson<PolicyBody>,
) -> Result<Json<PolicyView>, ApiError> {
    set_in(&authority, &principal, &domain, Some(&va), body).await
}

pub(super) async fn clear_va(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
) -> Result<Json<PolicyView>, ApiError> {
    clear_in(&authority, &principal, &domain, Some(&va)).await
}

/// The signed policy file (`<smartLicense>` XML) for `license smart import`.
pub(super) async fn download(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    principal.require(Access::Read, "downloading reporting policies")?;
    let (account, va) = authority.scoped_path(&principal, &domain, &va).await?;
    let document = authority.policy_document(&account.domain, &va.name).await?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], document))
}
