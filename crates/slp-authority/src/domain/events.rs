//! The activity log: who did what, where and when.

use std::collections::BTreeMap;

use crate::view::*;
use crate::{Authority, Result, rfc3339_ts};

impl Authority {
    // ---- events --------------------------------------------------------------------------

    /// The activity log of a smart account, or of one of its virtual accounts, or (with `udi`)
    /// of one product instance: when, where, which device, who and what.
    pub async fn events(
        &self,
        account: &str,
        va: Option<&str>,
        udi: Option<&str>,
    ) -> Result<Vec<EventView>> {
        let mut tx = self.store.read().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        let va_row = match va {
            Some(va) => Some(Self::resolve(&mut tx, account, va).await?.1),
            None => None,
        };
        let names: BTreeMap<i64, String> =
            tx.vas(account_row.id).await?.into_iter().map(|v| (v.id, v.name)).collect();
        let rows = match (&va_row, udi) {
            (Some(va), Some(udi)) => tx.events_of_udi(va.id, udi.trim()).await?,
            (None, Some(udi)) => tx
                .events(account_row.id, None)
                .await?
                .into_iter()
                .filter(|e| e.udi.as_deref() == Some(udi.trim()))
                .collect(),
            (_, None) => tx.events(account_row.id, va_row.as_ref().map(|v| v.id)).await?,
        };
        Ok(rows
            .into_iter()
            .map(|e| EventView {
                at: rfc3339_ts(e.at),
                virtual_account: e.va_id.and_then(|id| names.get(&id).cloned()),
                udi: e.udi,
                message: e.message,
                actor: e.actor,
            })
            .collect())
    }
}
