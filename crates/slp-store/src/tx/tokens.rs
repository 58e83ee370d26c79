//! ID tokens: what lets a device bind in a virtual account that denies first contact. Found by
//! their SHA-256; their text is kept only as the authority sealed it.

use crate::paging::{Bind, Page, Paged, page_of};
use crate::records::*;
use crate::sql::{db, unique};
use crate::{Result, Tx};

const TOKEN: &str = "SELECT id, va_id, token_hash, description, created_at, expires_at, max_uses, \
     uses, revoked_at, token_text, created_by, export_controlled FROM id_tokens";

impl Tx {
    pub async fn insert_token(&mut self, token: &IdToken) -> Result<IdToken> {
        let (id,): (i64,) = self
            .guarded_fetch_one(
                sqlx::query_as(
                    "INSERT INTO id_tokens (va_id, token_hash, description, created_at, expires_at, max_uses, uses, \
                     token_text, created_by, export_controlled) \
                     VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9) RETURNING id",
                )
                .bind(token.va_id)
                .bind(&token.token_hash)
                .bind(&token.description)
                .bind(token.created_at)
                .bind(token.expires_at)
                .bind(token.max_uses)
                .bind(&token.token_text)
                .bind(&token.created_by)
                .bind(&token.export_controlled),
            )
            .await
            .map_err(unique("creating an ID token", "ID token", &token.description))?;
        Ok(IdToken { id, uses: 0, revoked_at: None, ..token.clone() })
    }

    pub async fn token_by_hash(&mut self, token_hash: &str) -> Result<Option<IdToken>> {
        sqlx::query_as(&format!("{TOKEN} WHERE token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("finding an ID token"))
    }

    pub async fn tokens(&mut self, va_id: i64) -> Result<Vec<IdToken>> {
        sqlx::query_as(&format!("{TOKEN} WHERE va_id = $1 ORDER BY id"))
            .bind(va_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing ID tokens"))
    }

    /// A page of the ID tokens of a virtual account, oldest first.
    pub async fn tokens_page(&mut self, va_id: i64, page: Page) -> Result<Paged<IdToken>> {
        page_of(
            self,
            "listing ID tokens",
            &format!("{TOKEN} WHERE va_id = $1 ORDER BY id"),
            "SELECT COUNT(*) FROM id_tokens WHERE va_id = $1",
            &[Bind::Int(va_id)],
            page,
        )
        .await
    }

    /// Takes one use of token `id` if it has one left: not revoked, not expired at `now` and
    /// under its `max_uses`. One conditional statement, so two transactions never both take the
    /// last use (on PostgreSQL the second waits for the first's row lock, then finds the use
    /// gone; on SQLite writers run one at a time). Returns whether the use was taken; the
    /// caller does its work in the same transaction, so a refusal after it gives the use back.
    pub async fn claim_token(&mut self, id: i64, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE id_tokens SET uses = uses + 1 WHERE id = $1 AND revoked_at IS NULL \
             AND expires_at > $2 AND (max_uses IS NULL OR uses < max_uses)",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *self.tx)
        .await
        .map_err(db("using an ID token"))?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn revoke_token(&mut self, id: i64, now: i64) -> Result<()> {
        sqlx::query("UPDATE id_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("revoking an ID token"))?;
        Ok(())
    }
}
