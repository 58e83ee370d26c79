//! Authorization codes (SLAC): each entitlement of an issued code, its reservation of the
//! pool until it is returned.

use crate::records::*;
use crate::sql::{db, lead_and_list, unique};
use crate::{Result, Tx};

const AUTHORIZATION: &str = "SELECT id, code_id, va_id, udi, entitlement_tag, feature, count, \
     issued_at, returned_at, return_code FROM authorizations";

impl Tx {
    pub async fn insert_authorization(&mut self, new: &NewAuthorization) -> Result<Authorization> {
        let (id,): (i64,) = self
            .guarded_fetch_one(
                sqlx::query_as(
                    "INSERT INTO authorizations (code_id, va_id, udi, entitlement_tag, feature, count, issued_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(&new.code_id)
                .bind(new.va_id)
                .bind(&new.udi)
                .bind(&new.entitlement_tag)
                .bind(&new.feature)
                .bind(new.count)
                .bind(new.issued_at),
            )
            .await
            .map_err(unique("issuing an authorization code", "authorization code", &new.code_id))?;
        Ok(Authorization {
            id,
            code_id: new.code_id.clone(),
            va_id: new.va_id,
            udi: new.udi.clone(),
            entitlement_tag: new.entitlement_tag.clone(),
            feature: new.feature.clone(),
            count: new.count,
            issued_at: new.issued_at,
            returned_at: None,
            return_code: None,
        })
    }

    /// Every authorization-code entitlement of a virtual account, returned or not.
    pub async fn authorizations(&mut self, va_id: i64) -> Result<Vec<Authorization>> {
        sqlx::query_as(&format!("{AUTHORIZATION} WHERE va_id = $1 ORDER BY id"))
            .bind(va_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing authorization codes"))
    }

    /// The entitlements of one code.
    pub async fn authorization_code(&mut self, code_id: &str) -> Result<Vec<Authorization>> {
        sqlx::query_as(&format!("{AUTHORIZATION} WHERE code_id = $1 ORDER BY id"))
            .bind(code_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("reading an authorization code"))
    }

    /// Unreturned codes of one UDI in a smart account.
    pub async fn open_authorizations_of(
        &mut self,
        account_id: i64,
        udi: &str,
    ) -> Result<Vec<Authorization>> {
        sqlx::query_as(&format!(
            "{AUTHORIZATION} WHERE udi = $1 AND returned_at IS NULL \
             AND va_id IN (SELECT id FROM virtual_accounts WHERE account_id = $2) ORDER BY id"
        ))
        .bind(udi)
        .bind(account_id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db("reading authorization codes"))
    }

    /// The open (not returned) authorization codes held by the given UDIs of a virtual account.
    pub async fn open_authorizations_of_udis(
        &mut self,
        va_id: i64,
        udis: &[String],
    ) -> Result<Vec<Authorization>> {
        let mut out = Vec::new();
        for chunk in udis.chunks(500) {
            let (va, list) = lead_and_list(self.backend, chunk.len());
            let sql = format!(
                "{AUTHORIZATION} WHERE va_id = {va} AND returned_at IS NULL AND udi IN ({list}) \
                 ORDER BY id"
            );
            let mut query = sqlx::query_as(&sql).bind(va_id);
            for udi in chunk {
                query = query.bind(udi);
            }
            out.extend(
                query.fetch_all(&mut *self.tx).await.map_err(db("listing authorization codes"))?,
            );
        }
        Ok(out)
    }

    /// Sum of unreturned counts of one entitlement in a virtual account.
    pub async fn reserved(&mut self, va_id: i64, entitlement_tag: &str) -> Result<i64> {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS n FROM authorizations \
             WHERE va_id = $1 AND entitlement_tag = $2 AND returned_at IS NULL",
        )
        .bind(va_id)
        .bind(entitlement_tag)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db("counting reserved licenses"))
    }

    /// Marks every unreturned entitlement of a code returned; how many rows changed.
    pub async fn return_authorization(
        &mut self,
        code_id: &str,
        return_code: &str,
        now: i64,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE authorizations SET returned_at = $1, return_code = $2 WHERE code_id = $3 AND returned_at IS NULL",
        )
        .bind(now)
        .bind(return_code)
        .bind(code_id)
        .execute(&mut *self.tx)
        .await
        .map_err(db("returning an authorization code"))?;
        Ok(done.rows_affected())
    }
}
