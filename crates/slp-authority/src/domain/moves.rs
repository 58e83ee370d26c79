//! License moves between smart accounts (the reference's "License Migration between Smart
//! Accounts"): a client of the source smart account files a request; a licensing-operations
//! user — the authority's local operator, who sees every smart account — approves it (the
//! licenses move, `LONGEST_TERM_FIRST`, as in a transfer) or rejects it with a reason.
//!
//! A request is checked when it is filed (the target exists, the quantity is available) and
//! again when it is approved: if the licenses are no longer available then, approval fails,
//! nothing moves and the request stays pending. A request is decided once.

use slp_store::{MoveRequest, NewMoveRequest};

use crate::sanity::MAX_NOTE_CHARS;
use crate::{Authority, AuthorityError, Result, TransferView, rfc3339_ts};

/// A license move request as the API and `--json` show it (the wire type).
pub use slp_wire::cssm::manage::MoveRequest as MoveRequestView;

/// A move to request: `quantity` × `license` from `account`/`va` to `target_account`/`target_va`.
#[derive(Debug, Clone)]
pub struct MoveSpec {
    pub account: String,
    pub va: String,
    pub target_account: String,
    pub target_va: String,
    pub license: String,
    pub quantity: i64,
    pub reason: String,
}

impl Authority {
    /// Files a request to move licenses to another smart account; nothing moves until an
    /// operator approves it.
    pub async fn request_move(&self, spec: &MoveSpec) -> Result<MoveRequestView> {
        let reason = crate::sanity::check_text("reason", &spec.reason, MAX_NOTE_CHARS)?;
        let reason = reason.as_str();
        if reason.is_empty() {
            return Err(AuthorityError::Invalid {
                field: "reason",
                value: spec.reason.clone(),
                reason: "say why the licenses move (the operator decides on it)".to_owned(),
            });
        }
        let mut tx = self.store.begin().await?;
        let (account, va) = Self::resolve(&mut tx, &spec.account, &spec.va).await?;
        let target = Self::resolve_account(&mut tx, &spec.target_account).await?;
        if target.id == account.id {
            return Err(AuthorityError::TargetIsSource {
                field: "target smart account",
                value: spec.target_account.clone(),
                reason: "it is the smart account the licenses are in: transfer them between its virtual accounts instead".to_owned(),
            });
        }
        let (_, target_va) = Self::resolve(&mut tx, &target.domain, &spec.target_va).await?;
        // The same checks an approval makes, now, so a hopeless request is refused at once.
        let check = self
            .move_available(
                &mut tx,
                (&account, &va),
                (&target, &target_va),
                &spec.license,
                spec.quantity,
                true,
            )
            .await?;
        let request = tx
            .insert_move_request(&NewMoveRequest {
                account_id: account.id,
                va_id: va.id,
                target_account: target.domain.clone(),
                target_va: target_va.name.clone(),
                feature: check.license.clone(),
                entitlement_tag: check.entitlement_tag.clone(),
                quantity: spec.quantity,
                reason: reason.to_owned(),
                requested_by: self.actor(),
                requested_at: self.now().timestamp(),
            })
            .await?;
        let message = format!(
            "request {} filed: move {} {} license(s) to smart account {:?} / {:?} ({reason})",
            request.id, request.quantity, request.feature, target.domain, target_va.name
        );
        tx.log(self.event(&account, Some(&va), message)).await?;
        tx.commit().await?;
        tracing::info!(request = request.id, account = %account.domain, target = %target.domain, "license move requested");
        self.move_view(request).await
    }

    /// Move requests, newest first: of one smart account, or (operator) of all.
    pub async fn move_requests(&self, account: Option<&str>) -> Result<Vec<MoveRequestView>> {
        let rows = {
            let mut tx = self.store.read().await?;
            let id = match account {
                Some(account) => Some(Self::resolve_account(&mut tx, account).await?.id),
                None => None,
            };
            tx.move_requests(id).await?
        };
        let mut out = Vec::new();
        for row in rows {
            out.push(self.move_view(row).await?);
        }
        Ok(out)
    }

    /// One move request; with `account`, only if it is that smart account's.
    pub async fn move_request(&self, id: i64, account: Option<i64>) -> Result<MoveRequestView> {
        let row = self.store.read().await?.move_request(id).await?;
        let row = row
            .filter(|r| account.is_none_or(|a| a == r.account_id))
            .ok_or(AuthorityError::MoveRequestNotFound(id))?;
        self.move_view(row).await
    }

    /// Approves a pending request: the licenses move now, in one transaction with the decision.
    pub async fn approve_move(
        &self,
        id: i64,
        note: &str,
    ) -> Result<(MoveRequestView, TransferView)> {
        let note = crate::sanity::check_text("note", note, MAX_NOTE_CHARS)?;
        let note = note.as_str();
        let mut tx = self.store.begin().await?;
        let request = Self::pending(&mut tx, id).await?;
        let account =
            tx.account(request.account_id).await?.ok_or(AuthorityError::MoveRequestNotFound(id))?;
        let va = tx.va(request.va_id).await?.ok_or(AuthorityError::MoveRequestNotFound(id))?;
        let (target, target_va) =
            Self::resolve(&mut tx, &request.target_account, &request.target_va).await?;
        let mut locks = [va.id, target_va.id];
        locks.sort_unstable();
        for lock in locks {
            tx.lock_va(lock).await?;
        }
        let moved = self
            .move_available(
                &mut tx,
                (&account, &va),
                (&target, &target_va),
                &request.entitlement_tag,
                request.quantity,
                false,
            )
            .await?;
        let by = self.actor();
        let now = self.now().timestamp();
        if !tx.decide_move_request(id, "APPROVED", &by, now, note.trim()).await? {
            return Err(Self::decided(&mut tx, id).await);
        }
        let message = format!("request {id} approved by {by}");
        tx.log(self.event(&account, Some(&va), message.clone())).await?;
        tx.log(self.event(&target, Some(&target_va), message)).await?;
        tx.commit().await?;
        tracing::info!(request = id, by = %by, "license move approved");
        Ok((self.move_request(id, None).await?, moved))
    }

    /// Rejects a pending request with `note` (why); nothing moves.
    pub async fn reject_move(&self, id: i64, note: &str) -> Result<MoveRequestView> {
        let note = crate::sanity::check_text("reason", note, MAX_NOTE_CHARS)?;
        let note = note.as_str();
        if note.is_empty() {
            return Err(AuthorityError::Invalid {
                field: "reason",
                value: note.to_owned(),
                reason: "say why the request is rejected (the requester sees it)".to_owned(),
            });
        }
        let mut tx = self.store.begin().await?;
        let request = Self::pending(&mut tx, id).await?;
        let by = self.actor();
        if !tx.decide_move_request(id, "REJECTED", &by, self.now().timestamp(), note.trim()).await?
        {
            return Err(Self::decided(&mut tx, id).await);
        }
        if let (Some(account), Some(va)) =
            (tx.account(request.account_id).await?, tx.va(request.va_id).await?)
        {
            let message = format!("request {id} rejected by {by}: {}", note.trim());
            tx.log(self.event(&account, Some(&va), message)).await?;
        }
        tx.commit().await?;
        tracing::info!(request = id, by = %by, "license move rejected");
        self.move_request(id, None).await
    }

    async fn pending(tx: &mut slp_store::Tx, id: i64) -> Result<MoveRequest> {
        let request = tx.move_request(id).await?.ok_or(AuthorityError::MoveRequestNotFound(id))?;
        if request.status != "PENDING" {
            return Err(AuthorityError::MoveRequestDecided {
                id,
                status: request.status.to_lowercase(),
                by: request.decided_by.unwrap_or_else(|| "-".to_owned()),
            });
        }
        Ok(request)
    }

    async fn decided(tx: &mut slp_store::Tx, id: i64) -> AuthorityError {
        match Self::pending(tx, id).await {
            Err(err) => err,
            Ok(_) => AuthorityError::MoveRequestNotFound(id),
        }
    }

    pub(crate) async fn move_view(&self, row: MoveRequest) -> Result<MoveRequestView> {
        let mut tx = self.store.read().await?;
        let account = tx.account(row.account_id).await?;
        let va = tx.va(row.va_id).await?;
        Ok(MoveRequestView {
            id: row.id,
            account: account.map_or_else(|| row.account_id.to_string(), |a| a.domain),
            virtual_account: va.map_or_else(|| row.va_id.to_string(), |v| v.name),
            target_account: row.target_account,
            target_virtual_account: row.target_va,
            license: row.feature,
            entitlement_tag: row.entitlement_tag,
            quantity: row.quantity,
            reason: row.reason,
            requested_by: row.requested_by,
            requested_at: rfc3339_ts(row.requested_at),
            status: row.status,
            decided_by: row.decided_by,
            decided_at: row.decided_at.map(rfc3339_ts),
            decision_note: row.decision_note,
        })
    }
}
