//! License transfer between virtual accounts of one smart account (CSSM "Transfer" on the
//! Licenses tab; API `POST …/virtual-accounts/{va}/licenses/transfer`).
//!
//! Only what is available moves: purchased (entries still valid) − in use − reserved by
//! authorization codes. Entries are taken `LONGEST_TERM_FIRST`: perpetual entries, then
//! subscriptions by latest end date; an entry taken whole moves, a part of one is split off
//! into a new entry with the same SKU, term and dates. A preview computes the same moves and
//! changes nothing. Both virtual accounts are locked (in id order) for the transaction.

use serde::Serialize;
use slp_core::license::{self, Term};
use slp_store::{Account, License, NewLicense, VirtualAccount};

use crate::{Authority, AuthorityError, Result, date_ts, effective_counts};

/// One entry (or part of one) a transfer moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferMove {
    pub sku: String,
    pub quantity: i64,
    /// `Perpetual` or `Subscription`.
    pub license_type: String,
    /// End date of a subscription entry.
    pub expires: Option<String>,
}

/// What a transfer did (or, previewed, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferView {
    pub license: String,
    pub entitlement_tag: String,
    pub quantity: i64,
    pub from: String,
    pub to: String,
    /// Available in the source before the transfer.
    pub available: i64,
    pub preview: bool,
    pub moves: Vec<TransferMove>,
}

/// The one transfer request: `quantity` × `license` from `from` to `to` in `account`.
#[derive(Debug, Clone)]
pub struct TransferSpec {
    pub license: String,
    pub quantity: i64,
    pub to: String,
}

/// `LONGEST_TERM_FIRST`: perpetual first, then the latest end date first; ties by entry id.
fn longest_term_first(entries: &mut [&License]) {
    entries.sort_by_key(|e| (e.expires_at.map_or(0, |_| 1), std::cmp::Reverse(e.expires_at), e.id));
}

impl Authority {
    /// Transfers licenses between two virtual accounts of `account`, all requests in one
    /// transaction (one refused: nothing moves). With `preview`, nothing changes.
    pub async fn transfer_licenses(
        &self,
        account: &str,
        from: &str,
        requests: &[TransferSpec],
        preview: bool,
    ) -> Result<Vec<TransferView>> {
        let mut tx = self.store.begin().await?;
        let (account_row, from_row) = Self::resolve(&mut tx, account, from).await?;
        let mut targets = Vec::new();
        for request in requests {
            let (_, to_row) = Self::resolve(&mut tx, account, &request.to).await?;
            if to_row.id == from_row.id {
                return Err(AuthorityError::TargetIsSource {
                    field: "target virtual account",
                    value: request.to.clone(),
                    reason: "it is the virtual account the licenses are in".to_owned(),
                });
            }
            targets.push(to_row);
        }
        let mut locks: Vec<i64> = targets.iter().map(|t| t.id).collect();
        locks.push(from_row.id);
        locks.sort_unstable();
        locks.dedup();
        for id in locks {
            tx.lock_va(id).await?;
        }
        let mut out = Vec::new();
        for (request, to_row) in requests.iter().zip(&targets) {
            let view = self
                .move_available(
                    &mut tx,
                    (&account_row, &from_row),
                    (&account_row, to_row),
                    &request.license,
                    request.quantity,
                    preview,
                )
                .await?;
            out.push(view);
        }
        if preview {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
            tracing::info!(account = %account_row.domain, from = %from_row.name, transfers = out.len(), "licenses transferred");
        }
        Ok(out)
    }

    /// Moves `quantity` × `license` (what is available: purchased − in use − reserved) from
    /// `from` to `to`, `LONGEST_TERM_FIRST`, logging the move in both virtual accounts (which
    /// may be in different smart accounts). The caller holds the locks and the transaction.
    pub(crate) async fn move_available(
        &self,
        tx: &mut slp_store::Tx,
        (from_account, from_row): (&Account, &VirtualAccount),
        (to_account, to_row): (&Account, &VirtualAccount),
        license_name: &str,
        quantity: i64,
        preview: bool,
    ) -> Result<TransferView> {
        let now = self.now().timestamp();
        let usage = tx.va_usage(from_row.id).await?;
        let counts = effective_counts(&usage);
        let tag = license::lookup(license_name.trim())
            .map_or_else(|| license_name.trim().to_owned(), |it| it.entitlement_tag.to_owned());
        let entries = tx.licenses(from_row.id).await?;
        let mut valid: Vec<&License> = entries
            .iter()
            .filter(|e| e.entitlement_tag == tag && e.expires_at.is_none_or(|at| at > now))
            .collect();
        let Some(first) = valid.first().copied().cloned() else {
            return Err(AuthorityError::LicenseNotFound {
                license: license_name.to_owned(),
                va: from_row.name.clone(),
            });
        };
        if quantity <= 0 {
            return Err(AuthorityError::Invalid {
                field: "quantity",
                value: quantity.to_string(),
                reason: "a transfer moves at least one license".to_owned(),
            });
        }
        let purchased = crate::total(valid.iter().map(|e| e.quantity));
        let in_use = crate::total(
            usage.iter().zip(&counts).filter(|(u, _)| u.entitlement_tag == tag).map(|(_, c)| *c),
        );
        let reserved = tx.reserved(from_row.id, &tag).await?;
        let available = purchased.saturating_sub(in_use).saturating_sub(reserved).max(0);
        if quantity > available {
            return Err(AuthorityError::OverTransfer {
                license: first.feature.clone(),
                va: from_row.name.clone(),
                requested: quantity,
                available,
                purchased,
                in_use,
                reserved,
            });
        }
        longest_term_first(&mut valid);
        let mut left = quantity;
        let mut moves = Vec::new();
        for entry in valid {
            if left == 0 {
                break;
            }
            let take = left.min(entry.quantity);
            left -= take;
            moves.push(TransferMove {
                sku: entry.sku.clone(),
                quantity: take,
                license_type: Term::parse(&entry.term)
                    .map_or_else(|| entry.term.clone(), |t| t.show_word().to_owned()),
                expires: entry.expires_at.map(date_ts),
            });
            if preview {
                continue;
            }
            if take == entry.quantity {
                tx.move_license(entry.id, to_row.id).await?;
            } else {
                tx.set_license_quantity(entry.id, entry.quantity - take).await?;
                tx.insert_license(&NewLicense {
                    va_id: to_row.id,
                    feature: entry.feature.clone(),
                    entitlement_tag: entry.entitlement_tag.clone(),
                    sku: entry.sku.clone(),
                    quantity: take,
                    term: entry.term.clone(),
                    enforcement: entry.enforcement.clone(),
                    starts_at: entry.starts_at,
                    expires_at: entry.expires_at,
                    added_at: entry.added_at,
                })
                .await?;
            }
        }
        let (from_name, to_name) = if from_account.id == to_account.id {
            (from_row.name.clone(), to_row.name.clone())
        } else {
            (
                format!("{}/{}", from_account.domain, from_row.name),
                format!("{}/{}", to_account.domain, to_row.name),
            )
        };
        if !preview {
            let message = format!(
                "{quantity} {} license(s) transferred from virtual account {from_name:?} to {to_name:?}",
                first.feature
            );
            tx.log(self.event(from_account, Some(from_row), message.clone())).await?;
            tx.log(self.event(to_account, Some(to_row), message)).await?;
        }
        Ok(TransferView {
            license: first.feature.clone(),
            entitlement_tag: tag,
            quantity,
            from: from_name,
            to: to_name,
            available,
            preview,
            moves,
        })
    }
}
