//! The license pool of each virtual account.

use crate::records::*;
use crate::sql::db;
use crate::{Result, Tx};

const LICENSE: &str = "SELECT id, va_id, feature, entitlement_tag, sku, quantity, term, \
     enforcement, starts_at, expires_at, added_at FROM licenses";

impl Tx {
    pub async fn insert_license(&mut self, new: &NewLicense) -> Result<License> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO licenses (va_id, feature, entitlement_tag, sku, quantity, term, enforcement, starts_at, expires_at, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(new.va_id)
        .bind(&new.feature)
        .bind(&new.entitlement_tag)
        .bind(&new.sku)
        .bind(new.quantity)
        .bind(&new.term)
        .bind(&new.enforcement)
        .bind(new.starts_at)
        .bind(new.expires_at)
        .bind(new.added_at)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db("adding a license"))?;
        Ok(License {
            id,
            va_id: new.va_id,
            feature: new.feature.clone(),
            entitlement_tag: new.entitlement_tag.clone(),
            sku: new.sku.clone(),
            quantity: new.quantity,
            term: new.term.clone(),
            enforcement: new.enforcement.clone(),
            starts_at: new.starts_at,
            expires_at: new.expires_at,
            added_at: new.added_at,
        })
    }

    pub async fn licenses(&mut self, va_id: i64) -> Result<Vec<License>> {
        sqlx::query_as(&format!("{LICENSE} WHERE va_id = $1 ORDER BY id"))
            .bind(va_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing licenses"))
    }

    /// Moves a whole license entry to another virtual account.
    pub async fn move_license(&mut self, id: i64, va_id: i64) -> Result<()> {
        sqlx::query("UPDATE licenses SET va_id = $1 WHERE id = $2")
            .bind(va_id)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("moving a license"))?;
        Ok(())
    }

    /// Sets the quantity of a license entry (what stays behind when part of it moves).
    pub async fn set_license_quantity(&mut self, id: i64, quantity: i64) -> Result<()> {
        sqlx::query("UPDATE licenses SET quantity = $1 WHERE id = $2")
            .bind(quantity)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("changing a license quantity"))?;
        Ok(())
    }
}
