//! Product instances moved between virtual accounts or removed (CSSM's Product Instances tab:
//! "Transfer" and "Remove").
//!
//! A transfer moves the instance with its usage and its open authorization codes (the
//! reservation follows the device); from then on its reports count in the target virtual
//! account. A removal forgets the instance (its usage no longer counts; it registers again
//! with a trust request); an instance holding an authorization code is removed only with the
//! device's return code, which is taken first (as an uploaded return file) and frees the
//! reservation. Both are all or nothing over their list.

use serde::Serialize;
use slp_store::{Account, ProductInstance, Tx, VirtualAccount};

use crate::{Authority, AuthorityError, Result};

/// A product instance to move: its UDI and the target virtual account.
#[derive(Debug, Clone)]
pub struct DeviceMove {
    pub udi: String,
    pub to: String,
}

/// A product instance to remove, with the device's return code (its `license smart
/// authorization return` file) where it holds an authorization code.
#[derive(Debug, Clone)]
pub struct DeviceRemoval {
    pub udi: String,
    pub return_code: Option<String>,
}

/// What happened to one product instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceChange {
    pub udi: String,
    pub from: String,
    /// The target virtual account of a transfer; none for a removal.
    pub to: Option<String>,
    /// Authorization codes that moved with it (transfer) or were returned (removal).
    pub authorization_codes: Vec<String>,
}

impl Authority {
    async fn device_in(tx: &mut Tx, va: &VirtualAccount, udi: &str) -> Result<ProductInstance> {
        let udi = udi.trim();
        tx.pi_by_udi(va.account_id, udi).await?.filter(|pi| pi.va_id == va.id).ok_or_else(|| {
            AuthorityError::DeviceNotFound { udi: udi.to_owned(), va: va.name.clone() }
        })
    }

    /// Moves product instances of `account`/`from` to other virtual accounts of the account.
    pub async fn transfer_devices(
        &self,
        account: &str,
        from: &str,
        moves: &[DeviceMove],
    ) -> Result<Vec<DeviceChange>> {
        let mut tx = self.store.begin().await?;
        let (account_row, from_row) = Self::resolve(&mut tx, account, from).await?;
        let mut out = Vec::new();
        for request in moves {
            let (_, to_row) = Self::resolve(&mut tx, &account_row.domain, &request.to).await?;
            if to_row.id == from_row.id {
                return Err(AuthorityError::TargetIsSource {
                    field: "target virtual account",
                    value: request.to.clone(),
                    reason: format!("{} is in it already", request.udi.trim()),
                });
            }
            let mut locks = [from_row.id, to_row.id];
            locks.sort_unstable();
            for id in locks {
                tx.lock_va(id).await?;
            }
            let pi = Self::device_in(&mut tx, &from_row, &request.udi).await?;
            let codes: Vec<String> = tx
                .open_authorizations_of(pi.account_id, &pi.udi)
                .await?
                .into_iter()
                .map(|a| a.code_id)
                .collect();
            tx.move_pi(&pi, to_row.id).await?;
            let message = format!(
                "product instance transferred from virtual account {:?} to {:?}",
                from_row.name, to_row.name
            );
            for va in [&from_row, &to_row] {
                tx.log(self.device_event(&account_row, va, &pi.udi, message.clone())).await?;
            }
            out.push(DeviceChange {
                udi: pi.udi,
                from: from_row.name.clone(),
                to: Some(to_row.name.clone()),
                authorization_codes: codes,
            });
        }
        tx.commit().await?;
        tracing::info!(account = %account_row.domain, from = %from_row.name, devices = out.len(), "product instances transferred");
        Ok(out)
    }

    /// Removes product instances from `account`/`va`.
    pub async fn remove_devices(
        &self,
        account: &str,
        va: &str,
        removals: &[DeviceRemoval],
    ) -> Result<Vec<DeviceChange>> {
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        tx.lock_va(va_row.id).await?;
        let mut out = Vec::new();
        for removal in removals {
            let pi = Self::device_in(&mut tx, &va_row, &removal.udi).await?;
            let held: Vec<String> = tx
                .open_authorizations_of(pi.account_id, &pi.udi)
                .await?
                .into_iter()
                .map(|a| a.code_id)
                .collect();
            if let Some(code) = removal.return_code.as_deref().filter(|c| !c.trim().is_empty()) {
                let name = format!("return code of {}", pi.udi);
                self.upload_in(&mut tx, &account_row, &va_row, &name, code.as_bytes()).await?;
            }
            let left: Vec<String> = tx
                .open_authorizations_of(pi.account_id, &pi.udi)
                .await?
                .into_iter()
                .map(|a| a.code_id)
                .collect();
            if !left.is_empty() {
                return Err(AuthorityError::AuthorizationHeld {
                    udi: pi.udi.clone(),
                    codes: left.join(", "),
                });
            }
            tx.delete_pi(pi.id).await?;
            let message =
                format!("product instance removed from virtual account {:?}", va_row.name);
            tx.log(self.device_event(&account_row, &va_row, &pi.udi, message)).await?;
            out.push(DeviceChange {
                udi: pi.udi,
                from: va_row.name.clone(),
                to: None,
                authorization_codes: held,
            });
        }
        tx.commit().await?;
        tracing::info!(account = %account_row.domain, va = %va_row.name, devices = out.len(), "product instances removed");
        Ok(out)
    }

    fn device_event(
        &self,
        account: &Account,
        va: &VirtualAccount,
        udi: &str,
        message: String,
    ) -> slp_store::NewEvent {
        slp_store::NewEvent { udi: Some(udi.to_owned()), ..self.event(account, Some(va), message) }
    }
}
