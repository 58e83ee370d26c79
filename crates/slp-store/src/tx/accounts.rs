//! Smart accounts and their virtual accounts.

use crate::paging::{Bind, Page, Paged, page_of};
use crate::records::*;
use crate::sql::{db, unique};
use crate::{Result, StoreError, Tx};

const ACCOUNT: &str = "SELECT id, name, domain, created_at FROM accounts";
const VA: &str =
    "SELECT id, account_id, name, created_at, first_contact, description FROM virtual_accounts";

impl Tx {
    // ---- smart accounts ------------------------------------------------------------------

    pub async fn insert_account(&mut self, name: &str, domain: &str, now: i64) -> Result<Account> {
        if self.account_by_key(name).await?.is_some() {
            return Err(StoreError::Duplicate { what: "smart account", value: name.to_owned() });
        }
        if self.account_by_key(domain).await?.is_some() {
            return Err(StoreError::Duplicate {
                what: "smart account domain",
                value: domain.to_owned(),
            });
        }
        self.guarded_fetch_one(
            sqlx::query_as(
                "INSERT INTO accounts (name, domain, created_at) VALUES ($1, $2, $3) \
                 RETURNING id, name, domain, created_at",
            )
            .bind(name)
            .bind(domain)
            .bind(now),
        )
        .await
        .map_err(unique("creating a smart account", "smart account", name))
    }

    /// The account whose domain or name is `key`.
    pub async fn account_by_key(&mut self, key: &str) -> Result<Option<Account>> {
        sqlx::query_as(&format!("{ACCOUNT} WHERE domain = $1 OR name = $1 ORDER BY id LIMIT 1"))
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("finding a smart account"))
    }

    pub async fn account(&mut self, id: i64) -> Result<Option<Account>> {
        sqlx::query_as(&format!("{ACCOUNT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("reading a smart account"))
    }

    pub async fn accounts(&mut self) -> Result<Vec<Account>> {
        sqlx::query_as(&format!("{ACCOUNT} ORDER BY name"))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing smart accounts"))
    }

    // ---- virtual accounts ----------------------------------------------------------------

    pub async fn insert_va(
        &mut self,
        account_id: i64,
        name: &str,
        now: i64,
    ) -> Result<VirtualAccount> {
        if self.va_by_name(account_id, name).await?.is_some() {
            return Err(StoreError::Duplicate { what: "virtual account", value: name.to_owned() });
        }
        self.guarded_fetch_one(
            sqlx::query_as(
                "INSERT INTO virtual_accounts (account_id, name, created_at) VALUES ($1, $2, $3) \
                 RETURNING id, account_id, name, created_at, first_contact, description",
            )
            .bind(account_id)
            .bind(name)
            .bind(now),
        )
        .await
        .map_err(unique("creating a virtual account", "virtual account", name))
    }

    pub async fn va_by_name(
        &mut self,
        account_id: i64,
        name: &str,
    ) -> Result<Option<VirtualAccount>> {
        sqlx::query_as(&format!("{VA} WHERE account_id = $1 AND name = $2"))
            .bind(account_id)
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("finding a virtual account"))
    }

    pub async fn va(&mut self, id: i64) -> Result<Option<VirtualAccount>> {
        sqlx::query_as(&format!("{VA} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("reading a virtual account"))
    }

    pub async fn vas(&mut self, account_id: i64) -> Result<Vec<VirtualAccount>> {
        sqlx::query_as(&format!("{VA} WHERE account_id = $1 ORDER BY name"))
            .bind(account_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing virtual accounts"))
    }

    /// A page of the virtual accounts of a smart account, by name.
    pub async fn vas_page(&mut self, account_id: i64, page: Page) -> Result<Paged<VirtualAccount>> {
        page_of(
            self,
            "listing virtual accounts",
            &format!("{VA} WHERE account_id = $1 ORDER BY name"),
            "SELECT COUNT(*) FROM virtual_accounts WHERE account_id = $1",
            &[Bind::Int(account_id)],
            page,
        )
        .await
    }

    /// The id of a smart account's first virtual account (its default), if it has any.
    pub async fn first_va_id(&mut self, account_id: i64) -> Result<Option<i64>> {
        sqlx::query_scalar("SELECT MIN(id) FROM virtual_accounts WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db("listing virtual accounts"))
    }

    pub async fn rename_va(&mut self, id: i64, new_name: &str) -> Result<()> {
        if let Some(current) = self.va(id).await?
            && let Some(clash) = self.va_by_name(current.account_id, new_name).await?
            && clash.id != id
        {
            return Err(StoreError::Duplicate {
                what: "virtual account",
                value: new_name.to_owned(),
            });
        }
        self.guarded_execute(
            sqlx::query("UPDATE virtual_accounts SET name = $1 WHERE id = $2")
                .bind(new_name)
                .bind(id),
        )
        .await
        .map_err(unique("renaming a virtual account", "virtual account", new_name))?;
        Ok(())
    }

    /// Sets a virtual account's description.
    pub async fn set_va_description(&mut self, va_id: i64, description: &str) -> Result<()> {
        sqlx::query("UPDATE virtual_accounts SET description = $1 WHERE id = $2")
            .bind(description)
            .bind(va_id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("setting a virtual account's description"))?;
        Ok(())
    }

    /// Sets a virtual account's rule for the first contact of a UDI it has never seen.
    pub async fn set_first_contact(&mut self, va_id: i64, rule: FirstContact) -> Result<()> {
        sqlx::query("UPDATE virtual_accounts SET first_contact = $1 WHERE id = $2")
            .bind(rule.as_str())
            .bind(va_id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("setting a virtual account's first-contact rule"))?;
        Ok(())
    }

    /// How many pool entries and product instances a virtual account holds.
    pub async fn va_holdings(&mut self, id: i64) -> Result<(i64, i64)> {
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM licenses WHERE va_id = $1) AS licenses, \
             (SELECT COUNT(*) FROM product_instances WHERE va_id = $1) AS pis",
        )
        .bind(id)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db("counting a virtual account's holdings"))
    }

    /// Deletes a virtual account and what only it refers to (policy, uploads, reports, codes,
    /// ID tokens, poll results, events). The caller checks first that it holds no licenses or
    /// product instances.
    pub async fn delete_va(&mut self, id: i64) -> Result<()> {
        for sql in [
            "DELETE FROM policies WHERE va_id = $1",
            "DELETE FROM uploads WHERE va_id = $1",
            "DELETE FROM reports WHERE va_id = $1",
            "DELETE FROM authorizations WHERE va_id = $1",
            "DELETE FROM id_tokens WHERE va_id = $1",
            "DELETE FROM bind_grants WHERE va_id = $1",
            "DELETE FROM polls WHERE va_id = $1",
            "UPDATE events SET va_id = NULL WHERE va_id = $1",
            "DELETE FROM virtual_accounts WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(id)
                .execute(&mut *self.tx)
                .await
                .map_err(db("deleting a virtual account"))?;
        }
        Ok(())
    }
}
