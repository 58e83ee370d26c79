//! Product instances: `GET /v1/accounts/{domain}/virtual-accounts/{va}/devices`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};

use super::ApiError;
use crate::Authority;
use crate::clients::Principal;
use crate::cssm::CiscoDevices;

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
) -> Result<Json<CiscoDevices>, ApiError> {
    Ok(Json(authority.cisco_devices(&principal, &domain, &va).await?))
}
