//! Product instances (a UDI bound to a device key in a virtual account) and the operators'
//! grants that let a key bind a UDI.

use crate::paging::{Bind, Page, Paged, page_of};
use crate::records::*;
use crate::sql::db;
use crate::{Result, StoreError, Tx};

pub(crate) const PI: &str = "SELECT id, va_id, account_id, udi, hostname, public_key, trust_id, \
     trusted_at, first_seen, last_contact, key_seen FROM product_instances";

const BIND_GRANT: &str =
    "SELECT id, va_id, udi, key_id, granted_by, granted_at, used_at FROM bind_grants";

impl Tx {
    // ---- product instances ---------------------------------------------------------------

    /// The product instance with this UDI in a smart account, in whichever of its virtual
    /// accounts holds it.
    pub async fn pi_by_udi(
        &mut self,
        account_id: i64,
        udi: &str,
    ) -> Result<Option<ProductInstance>> {
        sqlx::query_as(&format!("{PI} WHERE account_id = $1 AND udi = $2"))
            .bind(account_id)
            .bind(udi)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("finding a product instance"))
    }

    /// Every product instance with this UDI, of any smart account (a UDI is scoped to its
    /// smart account: several may hold it), oldest first. For the operator and for a device
    /// that names no account (the signing key tells which is its own).
    pub async fn pis_by_udi(&mut self, udi: &str) -> Result<Vec<ProductInstance>> {
        sqlx::query_as(&format!("{PI} WHERE udi = $1 ORDER BY id"))
            .bind(udi)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("finding product instances"))
    }

    pub async fn insert_pi(&mut self, new: &NewProductInstance) -> Result<ProductInstance> {
        // ON CONFLICT DO NOTHING instead of a savepoint around a failing insert: one round trip.
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO product_instances (va_id, account_id, udi, hostname, public_key, first_seen, last_contact, key_seen) \
             SELECT $1, va.account_id, $2, $3, $4, $5, $5, $7 FROM virtual_accounts va \
             WHERE va.id = $1 AND va.account_id = $6 \
             ON CONFLICT (account_id, udi) DO NOTHING RETURNING id",
        )
        .bind(new.va_id)
        .bind(&new.udi)
        .bind(&new.hostname)
        .bind(&new.public_key)
        .bind(new.now)
        .bind(new.account_id)
        .bind(&new.key_seen)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("registering a product instance"))?
        .ok_or_else(|| StoreError::Duplicate { what: "product instance", value: new.udi.clone() })?;
        Ok(new.registered(id))
    }

    pub async fn pis(&mut self, va_id: i64) -> Result<Vec<ProductInstance>> {
        sqlx::query_as(&format!("{PI} WHERE va_id = $1 ORDER BY udi"))
            .bind(va_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing product instances"))
    }

    /// A page of the product instances of a virtual account, by UDI.
    pub async fn pis_page(&mut self, va_id: i64, page: Page) -> Result<Paged<ProductInstance>> {
        page_of(
            self,
            "listing product instances",
            &format!("{PI} WHERE va_id = $1 ORDER BY udi"),
            "SELECT COUNT(*) FROM product_instances WHERE va_id = $1",
            &[Bind::Int(va_id)],
            page,
        )
        .await
    }

    /// Moves a product instance (its usage rows follow: they hang off the instance) and its
    /// open authorization codes (their reservations follow the device) to `va_id`, a virtual
    /// account of the same smart account (a UDI is scoped to its smart account; another
    /// account's virtual account is refused, and nothing moves).
    pub async fn move_pi(&mut self, pi: &ProductInstance, va_id: i64) -> Result<()> {
        let moved = sqlx::query(
            "UPDATE product_instances SET va_id = $1 WHERE id = $2 \
             AND account_id = (SELECT account_id FROM virtual_accounts WHERE id = $1)",
        )
        .bind(va_id)
        .bind(pi.id)
        .execute(&mut *self.tx)
        .await
        .map_err(db("moving a product instance"))?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::OutOfRange {
                field: "target virtual account of a product instance",
                value: format!("{va_id} (not of the smart account of {})", pi.udi),
            });
        }
        sqlx::query(
            "UPDATE authorizations SET va_id = $1 WHERE udi = $2 AND va_id = $3 AND returned_at IS NULL",
        )
        .bind(va_id)
        .bind(&pi.udi)
        .bind(pi.va_id)
        .execute(&mut *self.tx)
        .await
        .map_err(db("moving a product instance's authorization codes"))?;
        Ok(())
    }

    /// Removes a product instance and its usage rows; its reports stay (history, and a replay
    /// after re-registration is still recognised).
    pub async fn delete_pi(&mut self, id: i64) -> Result<()> {
        for sql in
            ["DELETE FROM usage WHERE pi_id = $1", "DELETE FROM product_instances WHERE id = $1"]
        {
            sqlx::query(sql)
                .bind(id)
                .execute(&mut *self.tx)
                .await
                .map_err(db("removing a product instance"))?;
        }
        Ok(())
    }

    /// Binds the product instance to another device key (a verified one: `key_seen` is
    /// cleared).
    pub async fn rebind_pi(&mut self, id: i64, public_key: &str) -> Result<()> {
        sqlx::query("UPDATE product_instances SET public_key = $1, key_seen = NULL WHERE id = $2")
            .bind(public_key)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("re-binding a product instance"))?;
        Ok(())
    }

    pub async fn set_pi_trust(&mut self, id: i64, trust_id: i64, now: i64) -> Result<()> {
        sqlx::query("UPDATE product_instances SET trust_id = $1, trusted_at = $2 WHERE id = $3")
            .bind(trust_id)
            .bind(now)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("recording trust"))?;
        Ok(())
    }

    // ---- bind grants ---------------------------------------------------------------------

    /// Records an operator's grant (its `id` and `used_at` are ignored); returns it stored.
    pub async fn insert_bind_grant(&mut self, grant: &BindGrant) -> Result<BindGrant> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO bind_grants (va_id, udi, key_id, granted_by, granted_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(grant.va_id)
        .bind(&grant.udi)
        .bind(&grant.key_id)
        .bind(&grant.granted_by)
        .bind(grant.granted_at)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db("recording a bind grant"))?;
        Ok(BindGrant { id, used_at: None, ..grant.clone() })
    }

    /// The grants for `udi` in a virtual account, oldest first, used or not.
    pub async fn bind_grants(&mut self, va_id: i64, udi: &str) -> Result<Vec<BindGrant>> {
        sqlx::query_as(&format!("{BIND_GRANT} WHERE va_id = $1 AND udi = $2 ORDER BY id"))
            .bind(va_id)
            .bind(udi)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("reading bind grants"))
    }

    /// Uses the oldest unused grant that lets `key_id` bind `udi` in the virtual account: it is
    /// marked used at `now` and returned; `None` when there is none. One grant, one binding.
    pub async fn take_bind_grant(
        &mut self,
        va_id: i64,
        udi: &str,
        key_id: &str,
        now: i64,
    ) -> Result<Option<BindGrant>> {
        let grant: Option<BindGrant> = sqlx::query_as(&format!(
            "{BIND_GRANT} WHERE va_id = $1 AND udi = $2 AND key_id = $3 AND used_at IS NULL \
             ORDER BY id LIMIT 1"
        ))
        .bind(va_id)
        .bind(udi)
        .bind(key_id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("reading bind grants"))?;
        let Some(grant) = grant else {
            return Ok(None);
        };
        // Used only if still unused: a replica that used it meanwhile leaves nothing to take.
        let done =
            sqlx::query("UPDATE bind_grants SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(now)
                .bind(grant.id)
                .execute(&mut *self.tx)
                .await
                .map_err(db("using a bind grant"))?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        Ok(Some(BindGrant { used_at: Some(now), ..grant }))
    }
}
