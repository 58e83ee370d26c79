//! Custom reporting policies of smart and virtual accounts: set, clear, show and the policy
//! document (`<smartLicensePolicy>`) devices import.

use slp_core::policy::{Attributes, Policy, PolicyClass, PolicyOrigin};
use slp_store::{Account, PolicyClassRecord, PolicyOwner, PolicyRecord, Tx, VirtualAccount};
use slp_wire::docs::{self, PolicyDoc};
use slp_wire::xml::{Document, Kind};

use crate::view::*;
use crate::{Authority, AuthorityError, Result, check_name, rfc3339, rfc3339_ts};

/// A custom policy to set; classes left `None` keep the Cisco default values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySpec {
    pub name: String,
    pub ack_required: bool,
    pub unenforced_perpetual: Option<Attributes>,
    pub unenforced_subscription: Option<Attributes>,
    pub enforced: Option<Attributes>,
    pub export: Option<Attributes>,
}

fn class_record(a: Attributes) -> PolicyClassRecord {
    PolicyClassRecord {
        first: i64::from(a.first),
        ongoing: i64::from(a.ongoing),
        on_change: i64::from(a.on_change),
    }
}

fn class_attributes(c: PolicyClassRecord) -> Attributes {
    let days = |v: i64| u32::try_from(v).unwrap_or(0);
    Attributes { first: days(c.first), ongoing: days(c.ongoing), on_change: days(c.on_change) }
}

pub(crate) fn policy_of(record: &PolicyRecord) -> Policy {
    Policy {
        name: record.name.clone(),
        origin: PolicyOrigin::Customer,
        ack_required: record.ack_required,
        unenforced_perpetual: class_attributes(record.unenforced_perpetual),
        unenforced_subscription: class_attributes(record.unenforced_subscription),
        enforced: class_attributes(record.enforced),
        export: class_attributes(record.export),
    }
}

/// What `policy show` and the policy endpoints print: the policy in force and where it is set.
fn policy_view(
    account: &Account,
    va: Option<&VirtualAccount>,
    record: Option<&PolicyRecord>,
) -> PolicyView {
    let policy = record.map_or_else(Policy::cisco_default, policy_of);
    let class = |c: PolicyClass| {
        let a = policy.attributes(c);
        PolicyClassView { first: a.first, ongoing: a.ongoing, on_change: a.on_change }
    };
    let set_for = match record.map(|r| r.owner) {
        Some(PolicyOwner::VirtualAccount(_)) => "virtual account",
        Some(PolicyOwner::SmartAccount(_)) => "smart account",
        None => "default",
    };
    PolicyView {
        smart_account: account.domain.clone(),
        virtual_account: va.map(|v| v.name.clone()),
        name: policy.name.clone(),
        origin: policy.origin.label().to_owned(),
        set_for: set_for.to_owned(),
        ack_required: policy.ack_required,
        unenforced_perpetual: class(PolicyClass::UnenforcedPerpetual),
        unenforced_subscription: class(PolicyClass::UnenforcedSubscription),
        enforced: class(PolicyClass::Enforced),
        export: class(PolicyClass::Export),
        updated_at: record.map(|r| rfc3339_ts(r.updated_at)),
    }
}

impl Authority {
    // ---- policies ------------------------------------------------------------------------

    /// The smart account and, when `va` names one, the virtual account a policy command is about.
    async fn resolve_scope(
        tx: &mut Tx,
        account: &str,
        va: Option<&str>,
    ) -> Result<(Account, Option<VirtualAccount>)> {
        match va {
            Some(va) => Self::resolve(tx, account, va).await.map(|(a, v)| (a, Some(v))),
            None => Ok((Self::resolve_account(tx, account).await?, None)),
        }
    }

    /// Sets the custom policy of a virtual account, or (without `va`) of the smart account,
    /// where it is in force for every virtual account without one of its own. It rides in
    /// every later ACK.
    pub async fn set_policy(
        &self,
        account: &str,
        va: Option<&str>,
        spec: &PolicySpec,
    ) -> Result<PolicyView> {
        let name = check_name("policy name", &spec.name)?;
        let default = Policy::cisco_default();
        let pick = |given: Option<Attributes>, class| given.unwrap_or(default.attributes(class));
        let now = self.now().timestamp();
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve_scope(&mut tx, account, va).await?;
        let owner = match &va_row {
            Some(va) => PolicyOwner::VirtualAccount(va.id),
            None => PolicyOwner::SmartAccount(account_row.id),
        };
        let record = PolicyRecord {
            owner,
            name: name.clone(),
            ack_required: spec.ack_required,
            unenforced_perpetual: class_record(pick(
                spec.unenforced_perpetual,
                PolicyClass::UnenforcedPerpetual,
            )),
            unenforced_subscription: class_record(pick(
                spec.unenforced_subscription,
                PolicyClass::UnenforcedSubscription,
            )),
            enforced: class_record(pick(spec.enforced, PolicyClass::Enforced)),
            export: class_record(pick(spec.export, PolicyClass::Export)),
            updated_at: now,
        };
        tx.set_policy(&record).await?;
        let whose = if va_row.is_some() { "" } else { " for the smart account" };
        tx.log(self.event(
            &account_row,
            va_row.as_ref(),
            format!("custom policy {name:?} set{whose}"),
        ))
        .await?;
        let view = policy_view(&account_row, va_row.as_ref(), Some(&record));
        tx.commit().await?;
        Ok(view)
    }

    /// Removes the custom policy of a virtual account (or, without `va`, of the smart account):
    /// the smart account's policy, else the Cisco default, is in force again. Returns the
    /// policy now in force.
    pub async fn clear_policy(&self, account: &str, va: Option<&str>) -> Result<PolicyView> {
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve_scope(&mut tx, account, va).await?;
        let owner = match &va_row {
            Some(va) => PolicyOwner::VirtualAccount(va.id),
            None => PolicyOwner::SmartAccount(account_row.id),
        };
        if !tx.clear_policy(owner).await? {
            return Err(AuthorityError::NoCustomPolicy {
                account: account_row.domain.clone(),
                va: va_row.as_ref().map(|v| v.name.clone()),
            });
        }
        let whose = if va_row.is_some() { "" } else { " of the smart account" };
        tx.log(self.event(&account_row, va_row.as_ref(), format!("custom policy{whose} removed")))
            .await?;
        let record = match &va_row {
            Some(va) => tx.policy_in_force(va.id).await?,
            None => None,
        };
        let view = policy_view(&account_row, va_row.as_ref(), record.as_ref());
        tx.commit().await?;
        Ok(view)
    }

    /// The policy in force for a virtual account (its own custom policy, else its smart
    /// account's, else the Cisco default); without `va`, the smart account's policy (or the
    /// Cisco default).
    pub async fn policy(&self, account: &str, va: Option<&str>) -> Result<PolicyView> {
        let mut tx = self.store.read().await?;
        let (account_row, va_row) = Self::resolve_scope(&mut tx, account, va).await?;
        let record = match &va_row {
            Some(va) => tx.policy_in_force(va.id).await?,
            None => tx.policy(PolicyOwner::SmartAccount(account_row.id)).await?,
        };
        Ok(policy_view(&account_row, va_row.as_ref(), record.as_ref()))
    }

    /// "Reports > Reporting Policy": the stand-alone policy file (root `<smartLicensePolicy>`,
    /// PROTOCOL.md §3.2) with the signed policy in force.
    pub async fn policy_document(&self, account: &str, va: &str) -> Result<String> {
        let mut tx = self.store.read().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        let policy = tx
            .policy_in_force(va_row.id)
            .await?
            .as_ref()
            .map_or_else(Policy::cisco_default, policy_of);
        let doc = PolicyDoc::from_policy(
            &policy,
            rfc3339(self.now()),
            &account_row.name,
            &va_row.name,
            self.public_key(),
        );
        let item = docs::sign_json(Kind::Policy, &doc, &self.key);
        Document::policy_file(&item).map_err(|error| AuthorityError::Wire {
            file: format!("policy file of {}/{}", account_row.domain, va_row.name),
            error,
        })
    }
}
