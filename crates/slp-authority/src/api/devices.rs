//! Product instances: `GET /v1/accounts/{domain}/virtual-accounts/{va}/devices`, and
//! `POST …/devices/transfer` / `…/devices/remove` (CSSM "Transfer" and "Remove"; a device's
//! own event log is `GET …/events?udi=UDI`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};

use serde::{Deserialize, Serialize};

use super::paging::Paging;
use super::{ApiError, CiscoJson};
use crate::clients::{Access, Principal};
use crate::cssm::{CiscoDevices, CiscoSudi};
use crate::{Authority, DeviceChange, DeviceMove, DeviceRemoval};

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
    Paging(page): Paging,
) -> Result<Json<CiscoDevices>, ApiError> {
    Ok(Json(authority.cisco_devices(&principal, &domain, &va, page).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeviceList<T> {
    product_instances: Vec<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct TransferItem {
    sudi: CiscoSudi,
    target_virtual_account: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RemoveItem {
    sudi: CiscoSudi,
    /// The device's return code file (`license smart authorization return`), where it holds an
    /// authorization code.
    #[serde(default)]
    return_code: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ChangedDevice {
    sudi: CiscoSudi,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_virtual_account: Option<String>,
    authorization_codes: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Changed {
    status: &'static str,
    product_instances: Vec<ChangedDevice>,
}

fn udi_of(sudi: &CiscoSudi) -> String {
    format!("PID:{},SN:{}", sudi.udi_pid.trim(), sudi.udi_serial_number.trim())
}

fn changed(changes: Vec<DeviceChange>, sudis: Vec<CiscoSudi>) -> Json<Changed> {
    let product_instances = changes
        .into_iter()
        .zip(sudis)
        .map(|(change, sudi)| ChangedDevice {
            sudi,
            status: "SUCCESS",
            target_virtual_account: change.to,
            authorization_codes: change.authorization_codes,
        })
        .collect();
    Json(Changed { status: "SUCCESS", product_instances })
}

/// `POST …/virtual-accounts/{va}/devices/transfer`: all listed instances move, or none.
pub(super) async fn transfer(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
    CiscoJson(body): CiscoJson<DeviceList<TransferItem>>,
) -> Result<Json<Changed>, ApiError> {
    principal.require(Access::Write, "transferring product instances")?;
    let (account, va) = authority.scoped_path(&principal, &domain, &va).await?;
    let moves: Vec<DeviceMove> = body
        .product_instances
        .iter()
        .map(|item| DeviceMove { udi: udi_of(&item.sudi), to: item.target_virtual_account.clone() })
        .collect();
    let changes = authority.transfer_devices(&account.domain, &va.name, &moves).await?;
    Ok(changed(changes, body.product_instances.into_iter().map(|i| i.sudi).collect()))
}

/// `POST …/virtual-accounts/{va}/devices/remove`: all listed instances go, or none.
pub(super) async fn remove(
    State(authority): State<Arc<Authority>>,
    principal: Principal,
    Path((domain, va)): Path<(String, String)>,
    CiscoJson(body): CiscoJson<DeviceList<RemoveItem>>,
) -> Result<Json<Changed>, ApiError> {
    principal.require(Access::Write, "removing product instances")?;
    let (account, va) = authority.scoped_path(&principal, &domain, &va).await?;
    let removals: Vec<DeviceRemoval> = body
        .product_instances
        .iter()
        .map(|item| DeviceRemoval {
            udi: udi_of(&item.sudi),
            return_code: item.return_code.clone(),
        })
        .collect();
    let changes = authority.remove_devices(&account.domain, &va.name, &removals).await?;
    Ok(changed(changes, body.product_instances.into_iter().map(|i| i.sudi).collect()))
}
