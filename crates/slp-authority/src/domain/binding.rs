//! Who may bind a UDI to a device key (the operator's side).
//!
//! The authority binds a UDI to the device key that first proves possession of it (signed
//! system information or trust request). A later trust request from another key takes the UDI
//! over only with proof: an ID token of the virtual account (`Authority::trust_with_token`), or
//! an operator's grant made here ([`Authority::grant_bind`]) that lets exactly one key bind one
//! UDI once. A UDI never seen before binds on first contact when its virtual account allows it
//! ([`FirstContact::Allow`], the default), else only with the same proof.

use slp_store::{BindGrant, FirstContact};

use crate::{Authority, AuthorityError, Result, rfc3339_ts};

/// An operator's grant as shown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BindGrantView {
    pub id: i64,
    pub smart_account: String,
    pub virtual_account: String,
    pub udi: String,
    /// The device key id (`show license udi`'s key, PROTOCOL.md §1.3) allowed to bind.
    pub key_id: String,
    pub granted_by: String,
    pub granted_at: String,
    /// The key bound to the UDI when the grant was made (`None`: a first contact).
    pub replaces: Option<String>,
}

/// Where a UDI is registered, for the authority's operator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UdiLocation {
    pub udi: String,
    pub smart_account: String,
    pub domain: String,
    pub virtual_account: String,
    pub key_id: String,
}

fn check_key_id(key: &str) -> Result<String> {
    let key = key.trim().to_ascii_lowercase();
    if key.len() != 16 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AuthorityError::Invalid {
            field: "key",
            value: key,
            reason: "a device key id is 16 hex digits (the key id the refusal names)".to_owned(),
        });
    }
    Ok(key)
}

impl Authority {
    /// Sets a virtual account's rule for the first contact of a never-seen UDI. Logged.
    pub async fn set_first_contact(
        &self,
        account: &str,
        va: &str,
        rule: FirstContact,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        tx.lock_va(va_row.id).await?;
        tx.set_first_contact(va_row.id, rule).await?;
        tx.log(self.event(
            &account_row,
            Some(&va_row),
            format!(
                "first contact of new UDIs in virtual account {:?} set to {} (was {})",
                va_row.name,
                rule.as_str(),
                va_row.first_contact.as_str()
            ),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The operator's explicit re-bind: lets device key `key` (its key id) bind `udi` in the
    /// virtual account once — a replacement device for a registered product instance, or a
    /// never-seen UDI where first contact is denied. The grant and its use are both logged.
    pub async fn grant_bind(
        &self,
        account: &str,
        va: &str,
        udi: &str,
        key: &str,
    ) -> Result<BindGrantView> {
        let parsed = udi.trim().parse::<slp_core::udi::Udi>().map_err(|e| {
            AuthorityError::Invalid { field: "UDI", value: udi.to_owned(), reason: e.to_string() }
        })?;
        let udi = parsed.to_string();
        let key = check_key_id(key)?;
        let now = self.now().timestamp();
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        tx.lock_va(va_row.id).await?;
        let existing = tx.pi_by_udi(account_row.id, &udi).await?;
        let replaces = match &existing {
            Some(pi) if pi.va_id == va_row.id => {
                let bound = slp_wire::keys::key_id(&pi.public_key)
                    .unwrap_or_else(|_| "(unreadable)".to_owned());
                if bound == key {
                    return Err(AuthorityError::Invalid {
                        field: "key",
                        value: key,
                        reason: format!("{udi} is bound to this key already"),
                    });
                }
                Some(bound)
            }
            // In another virtual account of the smart account: a grant here could never be
            // used. (Other smart accounts' instances of the UDI are theirs and untouched.)
            Some(pi) => {
                let other = tx.va(pi.va_id).await?;
                return Err(AuthorityError::UdiElsewhere {
                    file: "pi rebind".to_owned(),
                    udi,
                    va: va_row.name.clone(),
                    location: format!(
                        "virtual account {:?}",
                        other.map(|v| v.name).unwrap_or_default()
                    ),
                });
            }
            None => None,
        };
        let actor = self.actor();
        let grant = tx
            .insert_bind_grant(&BindGrant {
                id: 0,
                va_id: va_row.id,
                udi: udi.clone(),
                key_id: key.clone(),
                granted_by: actor.clone(),
                granted_at: now,
                used_at: None,
            })
            .await?;
        let what = match &replaces {
            Some(bound) => format!("to replace device key {bound}"),
            None => "on first contact".to_owned(),
        };
        let mut event = self.event(
            &account_row,
            Some(&va_row),
            format!("device key {key} allowed to bind {udi} once {what} (grant {})", grant.id),
        );
        event.udi = Some(udi.clone());
        tx.log(event).await?;
        tx.commit().await?;
        tracing::warn!(%udi, key = %key, actor = %actor, "operator allowed a device key to bind a UDI");
        Ok(BindGrantView {
            id: grant.id,
            smart_account: account_row.name,
            virtual_account: va_row.name,
            udi,
            key_id: key,
            granted_by: actor,
            granted_at: rfc3339_ts(now),
            replaces,
        })
    }

    /// Where `udi` is registered: every smart account that holds an instance of it (a UDI is
    /// scoped to its smart account, so several may), oldest first. For the authority's
    /// operator (the local command line) only.
    pub async fn find_udi(&self, udi: &str) -> Result<Vec<UdiLocation>> {
        let parsed = udi.trim().parse::<slp_core::udi::Udi>().map_err(|e| {
            AuthorityError::Invalid { field: "UDI", value: udi.to_owned(), reason: e.to_string() }
        })?;
        let udi = parsed.to_string();
        let mut tx = self.store.read().await?;
        let mut found = Vec::new();
        for pi in tx.pis_by_udi(&udi).await? {
            let va = tx.va(pi.va_id).await?.ok_or_else(|| AuthorityError::DeviceNotFound {
                udi: udi.clone(),
                va: format!("(virtual account {})", pi.va_id),
            })?;
            let account = tx.account(va.account_id).await?.ok_or_else(|| {
                AuthorityError::AccountNotFound(format!("(smart account {})", va.account_id))
            })?;
            found.push(UdiLocation {
                key_id: slp_wire::keys::key_id(&pi.public_key)
                    .unwrap_or_else(|_| "(unreadable)".to_owned()),
                udi: udi.clone(),
                smart_account: account.name,
                domain: account.domain,
                virtual_account: va.name,
            });
        }
        Ok(found)
    }
}
