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
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use slp_core::policy::Attributes;
use slp_wire::cssm::limits::MAX_POLICY_DAYS;
use slp_wire::cssm::manage::{PolicyBody, PolicyClass};

use super::{ApiError, CiscoJson, VaScope};
use crate::domain::clients::Scope;
use crate::{Authority, PolicySpec, PolicyView};

/// The policy a request body sets: day counts 0..=[`MAX_POLICY_DAYS`].
fn spec_of(body: PolicyBody) -> Result<PolicySpec, ApiError> {
    let class = |field: &str, body: Option<PolicyClass>| -> Result<_, ApiError> {
        let Some(c) = body else { return Ok(None) };
        if [c.first, c.ongoing, c.on_change].iter().any(|days| *days > MAX_POLICY_DAYS) {
            return Err(ApiError::BadRequest(format!(
                "{field}: day counts must be 0..={MAX_POLICY_DAYS}, got {}/{}/{}",
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

/// The smart account (and virtual account) the request's scope resolved, by name.
fn names(scope: &Scope) -> (String, Option<String>) {
    (scope.account.domain.clone(), scope.va.as_ref().map(|va| va.name.clone()))
}

pub(super) async fn show(
    State(authority): State<Arc<Authority>>,
    scope: Scope,
) -> Result<Json<PolicyView>, ApiError> {
    let (account, va) = names(&scope);
    Ok(Json(authority.policy(&account, va.as_deref()).await?))
}

pub(super) async fn set(
    State(authority): State<Arc<Authority>>,
    scope: Scope,
    CiscoJson(body): CiscoJson<PolicyBody>,
) -> Result<Json<PolicyView>, ApiError> {
    let spec = spec_of(body)?;
    let (account, va) = names(&scope);
    Ok(Json(authority.set_policy(&account, va.as_deref(), &spec).await?))
}

pub(super) async fn clear(
    State(authority): State<Arc<Authority>>,
    scope: Scope,
) -> Result<Json<PolicyView>, ApiError> {
    let (account, va) = names(&scope);
    Ok(Json(authority.clear_policy(&account, va.as_deref()).await?))
}

/// The signed policy file (`<smartLicense>` XML) for `license smart import`.
pub(super) async fn download(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
) -> Result<impl IntoResponse, ApiError> {
    let document = authority.policy_document(&account.domain, &va.name).await?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], document))
}
