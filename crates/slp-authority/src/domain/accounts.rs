//! Smart accounts and their virtual accounts: create, list, rename, describe, delete.

use crate::view::*;
use crate::{Authority, AuthorityError, MAX_DESCRIPTION_CHARS, Result, check_name, rfc3339_ts};

impl Authority {
    // ---- accounts ------------------------------------------------------------------------

    /// Creates a smart account; name and domain are both unique.
    pub async fn create_account(&self, name: &str, domain: &str) -> Result<AccountView> {
        let name = check_name("account name", name)?;
        let domain = check_name("domain", domain)?;
        if domain.contains(char::is_whitespace) {
            return Err(AuthorityError::Invalid {
                field: "domain",
                value: domain,
                reason: "must not contain spaces".to_owned(),
            });
        }
        let now = self.now().timestamp();
        let mut tx = self.store.begin().await?;
        let account = tx.insert_account(&name, &domain, now).await?;
        tx.log(self.event(&account, None, format!("smart account {name:?} ({domain}) created")))
            .await?;
        tx.commit().await?;
        tracing::info!(account = %name, %domain, "smart account created");
        Ok(AccountView { name, domain, created_at: rfc3339_ts(now), virtual_accounts: 0 })
    }

    pub async fn accounts(&self) -> Result<Vec<AccountView>> {
        let mut tx = self.store.read().await?;
        let mut out = Vec::new();
        for account in tx.accounts().await? {
            let vas = tx.vas(account.id).await?.len();
            out.push(AccountView {
                name: account.name,
                domain: account.domain,
                created_at: rfc3339_ts(account.created_at),
                virtual_accounts: vas,
            });
        }
        Ok(out)
    }

    // ---- virtual accounts ----------------------------------------------------------------

    pub async fn create_va(&self, account: &str, name: &str) -> Result<VaView> {
        self.create_va_described(account, name, "").await
    }

    /// Creates a virtual account with a description (Cisco's `description`; may be empty).
    pub async fn create_va_described(
        &self,
        account: &str,
        name: &str,
        description: &str,
    ) -> Result<VaView> {
        let name = check_name("virtual account name", name)?;
        let description = crate::sanity::check_text(
            "virtual account description",
            description,
            MAX_DESCRIPTION_CHARS,
        )?;
        let description = description.as_str();
        let now = self.now().timestamp();
        let mut tx = self.store.begin().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        let va = tx.insert_va(account_row.id, &name, now).await?;
        if !description.is_empty() {
            tx.set_va_description(va.id, description).await?;
        }
        tx.log(self.event(&account_row, Some(&va), format!("virtual account {name:?} created")))
            .await?;
        tx.commit().await?;
        Ok(VaView {
            smart_account: account_row.name,
            name,
            created_at: rfc3339_ts(now),
            licenses: 0,
            product_instances: 0,
            first_contact: va.first_contact.as_str().to_owned(),
            description: description.to_owned(),
        })
    }

    pub async fn vas(&self, account: &str) -> Result<Vec<VaView>> {
        let mut tx = self.store.read().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        let mut out = Vec::new();
        for va in tx.vas(account_row.id).await? {
            let (licenses, product_instances) = tx.va_holdings(va.id).await?;
            out.push(VaView {
                smart_account: account_row.name.clone(),
                name: va.name,
                created_at: rfc3339_ts(va.created_at),
                licenses,
                product_instances,
                first_contact: va.first_contact.as_str().to_owned(),
                description: va.description,
            });
        }
        Ok(out)
    }

    pub async fn rename_va(&self, account: &str, va: &str, new_name: &str) -> Result<()> {
        let new_name = check_name("virtual account name", new_name)?;
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        tx.rename_va(va_row.id, &new_name).await?;
        tx.log(self.event(
            &account_row,
            Some(&va_row),
            format!("virtual account {:?} renamed to {new_name:?}", va_row.name),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes an empty virtual account (refused while it holds licenses or product instances).
    pub async fn delete_va(&self, account: &str, va: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        tx.lock_va(va_row.id).await?;
        let (licenses, product_instances) = tx.va_holdings(va_row.id).await?;
        if licenses > 0 || product_instances > 0 {
            return Err(AuthorityError::VaNotEmpty {
                va: va_row.name,
                licenses,
                product_instances,
            });
        }
        tx.delete_va(va_row.id).await?;
        tx.log(self.event(
            &account_row,
            None,
            format!("virtual account {:?} deleted", va_row.name),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
