//! Product instances: `GET /v1/accounts/{domain}/virtual-accounts/{va}/devices`, and
//! `POST …/devices/transfer` / `…/devices/remove` (CSSM "Transfer" and "Remove"; a device's
//! own event log is `GET …/events?udi=UDI`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use slp_wire::cssm::manage::{
    DeviceChanged, DeviceRemoval, DeviceSudi, DeviceTransfer, Devices, DevicesChanged,
    ProductInstances, SUCCESS,
};

use super::paging::Paging;
use super::{ApiError, CiscoJson, VaScope};
use crate::{Authority, DeviceChange, DeviceMove};

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
    Paging(page): Paging,
) -> Result<Json<Devices>, ApiError> {
    Ok(Json(authority.devices_page(&account, &va, page).await?))
}

fn changed(changes: Vec<DeviceChange>, sudis: Vec<DeviceSudi>) -> Json<DevicesChanged> {
    let product_instances = changes
        .into_iter()
        .zip(sudis)
        .map(|(change, sudi)| DeviceChanged {
            sudi,
            status: SUCCESS.to_owned(),
            target_virtual_account: change.to,
            authorization_codes: change.authorization_codes,
        })
        .collect();
    Json(DevicesChanged { status: SUCCESS.to_owned(), product_instances })
}

/// `POST …/virtual-accounts/{va}/devices/transfer`: all listed instances move, or none.
pub(super) async fn transfer(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
    CiscoJson(body): CiscoJson<ProductInstances<DeviceTransfer>>,
) -> Result<Json<DevicesChanged>, ApiError> {
    let moves: Vec<DeviceMove> = body
        .product_instances
        .iter()
        .map(|item| DeviceMove { udi: item.sudi.udi(), to: item.target_virtual_account.clone() })
        .collect();
    let changes = authority.transfer_devices(&account.domain, &va.name, &moves).await?;
    Ok(changed(changes, body.product_instances.into_iter().map(|i| i.sudi).collect()))
}

/// `POST …/virtual-accounts/{va}/devices/remove`: all listed instances go, or none.
pub(super) async fn remove(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
    CiscoJson(body): CiscoJson<ProductInstances<DeviceRemoval>>,
) -> Result<Json<DevicesChanged>, ApiError> {
    let removals: Vec<crate::DeviceRemoval> = body
        .product_instances
        .iter()
        .map(|item| crate::DeviceRemoval {
            udi: item.sudi.udi(),
            return_code: item.return_code.clone(),
        })
        .collect();
    let changes = authority.remove_devices(&account.domain, &va.name, &removals).await?;
    Ok(changed(changes, body.product_instances.into_iter().map(|i| i.sudi).collect()))
}
