//! Requests to move licenses to another smart account, decided by a licensing-operations user.

use crate::paging::{Bind, Page, Paged, page_of};
use crate::records::*;
use crate::sql::db;
use crate::{Result, Tx};

const MOVE_COLUMNS: &str = "id, account_id, va_id, target_account, target_va, feature, \
     entitlement_tag, quantity, reason, requested_by, requested_at, status, decided_by, \
     decided_at, decision_note";

impl Tx {
    pub async fn insert_move_request(&mut self, new: &NewMoveRequest) -> Result<MoveRequest> {
        sqlx::query_as(&format!(
            "INSERT INTO move_requests (account_id, va_id, target_account, target_va, feature,
                 entitlement_tag, quantity, reason, requested_by, requested_at, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'PENDING')
             RETURNING {MOVE_COLUMNS}",
        ))
        .bind(new.account_id)
        .bind(new.va_id)
        .bind(&new.target_account)
        .bind(&new.target_va)
        .bind(&new.feature)
        .bind(&new.entitlement_tag)
        .bind(new.quantity)
        .bind(&new.reason)
        .bind(&new.requested_by)
        .bind(new.requested_at)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db("filing a move request"))
    }

    /// Move requests, newest first: of one smart account, or all of them.
    pub async fn move_requests(&mut self, account_id: Option<i64>) -> Result<Vec<MoveRequest>> {
        match account_id {
            Some(id) => sqlx::query_as(&format!(
                "SELECT {MOVE_COLUMNS} FROM move_requests WHERE account_id = $1 ORDER BY id DESC"
            ))
            .bind(id)
            .fetch_all(&mut *self.tx)
            .await,
            None => {
                sqlx::query_as(&format!(
                    "SELECT {MOVE_COLUMNS} FROM move_requests ORDER BY id DESC"
                ))
                .fetch_all(&mut *self.tx)
                .await
            }
        }
        .map_err(db("reading move requests"))
    }

    pub async fn move_request(&mut self, id: i64) -> Result<Option<MoveRequest>> {
        sqlx::query_as(&format!("SELECT {MOVE_COLUMNS} FROM move_requests WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("reading a move request"))
    }

    /// A page of move requests, newest first: of one smart account or all, optionally only
    /// the pending ones.
    pub async fn move_requests_page(
        &mut self,
        account_id: Option<i64>,
        pending_only: bool,
        page: Page,
    ) -> Result<Paged<MoveRequest>> {
        let mut clauses = Vec::new();
        let mut binds = Vec::new();
        if let Some(id) = account_id {
            binds.push(Bind::Int(id));
            clauses.push(format!("account_id = ${}", binds.len()));
        }
        if pending_only {
            clauses.push("status = 'PENDING'".to_owned());
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        page_of(
            self,
            "reading move requests",
            &format!("SELECT {MOVE_COLUMNS} FROM move_requests{filter} ORDER BY id DESC"),
            &format!("SELECT COUNT(*) FROM move_requests{filter}"),
            &binds,
            page,
        )
        .await
    }

    /// Decides a pending request; false when it was no longer pending (decided elsewhere).
    pub async fn decide_move_request(
        &mut self,
        id: i64,
        status: &str,
        by: &str,
        at: i64,
        note: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE move_requests SET status = $1, decided_by = $2, decided_at = $3, decision_note = $4
             WHERE id = $5 AND status = 'PENDING'",
        )
        .bind(status)
        .bind(by)
        .bind(at)
        .bind(note)
        .bind(id)
        .execute(&mut *self.tx)
        .await
        .map_err(db("deciding a move request"))?;
        Ok(done.rows_affected() == 1)
    }
}
