//! The account-management operations of Cisco's CSSM REST API (PROTOCOL.md §7.2): accounts,
//! virtual accounts, licenses, product instances and the v3 license summary, answered with the
//! wire types of [`slp_wire::cssm::manage`]. Every method takes the smart (and virtual)
//! account the request's [`crate::domain::clients::Scope`] resolved: who may call what is decided
//! once, by the route (`crate::http`), not here.

use std::collections::BTreeMap;

use slp_core::license::{self, Enforcement};
use slp_core::udi::Udi;
use slp_store::{Account, Tx, VirtualAccount};
use slp_wire::cssm::manage::{
    ACTIVE, AccountEntry, AccountRole, AccountSearch, Accounts, CUSTOMER, Device, DeviceSudi,
    Devices, DomainAccount, DomainSearch, License, LicenseDetail, LicenseSummary, LicenseUsage,
    SummaryDetail, SummaryEntry, VaEntry, VirtualAccount as CiscoVa, role,
};

use crate::domain::cssm::{date, license_type};
use crate::domain::principal::Role;
use crate::{Authority, LicenseView, Result};

/// The name Cisco shows for a license: the name real devices of its PID family print for its
/// entitlement tag (`C9300-48 Network Advantage`), else the license's own name.
pub fn display_name(license: &str) -> String {
    match license::lookup(license) {
        Some(info) => info.display_name().to_owned(),
        None => license.to_owned(),
    }
}

/// The software tag a stored RUM report names (`asset_identification.asset.name`), if any.
fn software_tag_of(envelope: &str) -> Option<String> {
    let report = slp_wire::rum::Envelope::parse(envelope).ok()?.report().ok()?;
    Some(report.software_tag).filter(|tag| !tag.trim().is_empty())
}

/// The display name of a pool row: that of its entitlement tag.
fn pool_display_name(row: &LicenseView) -> String {
    display_name(&row.entitlement_tag)
}

/// `ACTIVE`, or `EXPIRED` once an entry's end has passed.
fn entry_status(expires_at: Option<i64>, now: i64) -> String {
    if expires_at.is_some_and(|at| at <= now) { "EXPIRED" } else { ACTIVE }.to_owned()
}

/// Cisco's role names for an slp role: account-wide (`scope` none: a smart account role and
/// the same role in each virtual account) or in one virtual account.
pub fn cisco_roles(role: Role, scope: Option<&str>, vas: &[String]) -> Vec<AccountRole> {
    let (account_role, va_role) = match role {
        Role::Admin => (role::SMART_ACCOUNT_ADMINISTRATOR, role::VIRTUAL_ACCOUNT_ADMINISTRATOR),
        Role::Reporter | Role::Viewer => (role::SMART_ACCOUNT_USER, role::VIRTUAL_ACCOUNT_USER),
    };
    let in_va =
        |va: &str| AccountRole { role: va_role.to_owned(), virtual_account: Some(va.to_owned()) };
    match scope {
        Some(va) => vec![in_va(va)],
        None => {
            std::iter::once(AccountRole { role: account_role.to_owned(), virtual_account: None })
                .chain(vas.iter().map(|va| in_va(va)))
                .collect()
        }
    }
}

impl Authority {
    /// `GET /v2/accounts`: the smart accounts the caller may see (its own, `account`), with
    /// its `role`.
    pub async fn accounts_with_roles(&self, account: &Account, role: Role) -> Result<Accounts> {
        let mut tx = self.store.read().await?;
        let account = account.clone();
        let vas: Vec<String> = tx.vas(account.id).await?.into_iter().map(|v| v.name).collect();
        Ok(Accounts {
            accounts: vec![slp_wire::cssm::manage::Account {
                account_name: account.name,
                account_domain: account.domain,
                account_status: ACTIVE.to_owned(),
                account_type: CUSTOMER.to_owned(),
                roles: cisco_roles(role, None, &vas),
            }],
        })
    }

    /// `GET /v1/accounts/search?domain=D`: the caller's smart account (`own`) when `domain`
    /// names it (by domain, name or numeric id) or is not given; no account otherwise.
    pub async fn search_domain(&self, own: &Account, domain: Option<&str>) -> Result<DomainSearch> {
        let mut tx = self.store.read().await?;
        let given = domain.map(str::trim).filter(|d| !d.is_empty());
        let account = match given {
            None => Some(own.clone()),
            Some(given) => {
                let id = given.parse::<i64>().ok();
                let found = match id {
                    Some(id) => tx.account(id).await?,
                    None => tx.account_by_key(given).await?,
                };
                found.filter(|a| a.id == own.id)
            }
        };
        Ok(DomainSearch {
            accounts: account
                .into_iter()
                .map(|a| DomainAccount {
                    domain: a.domain,
                    name: a.name,
                    status: ACTIVE.to_owned(),
                    account_type: CUSTOMER.to_owned(),
                    account_id: a.id,
                })
                .collect(),
        })
    }

    /// `GET /v2/accounts/search`: the caller's smart account with its virtual accounts.
    pub async fn search_accounts(&self, account: &Account) -> Result<AccountSearch> {
        let mut tx = self.store.read().await?;
        let account = account.clone();
        let vas = tx.vas(account.id).await?;
        let default = vas.iter().map(|v| v.id).min();
        Ok(AccountSearch {
            status: "COMPLETE".to_owned(),
            accounts: vec![AccountEntry {
                account_id: account.id,
                domain: account.domain,
                name: account.name,
                virtual_accounts: vas
                    .into_iter()
                    .map(|v| VaEntry {
                        default: Some(v.id) == default,
                        name: v.name,
                        virtual_account_id: v.id,
                    })
                    .collect(),
            }],
        })
    }

    /// One virtual account as Cisco lists it.
    async fn cisco_va(tx: &mut Tx, va: VirtualAccount, default: Option<i64>) -> Result<CiscoVa> {
        let (licenses, product_instances) = tx.va_holdings(va.id).await?;
        Ok(CiscoVa {
            is_default: Some(va.id) == default,
            name: va.name,
            virtual_account_id: va.id,
            description: va.description,
            commerce_access_level: "PUBLIC".to_owned(),
            licenses,
            product_instances,
            first_contact: va.first_contact.as_str().to_owned(),
        })
    }

    /// `GET /v1/accounts/{domain}/customer/virtual-accounts`, one page, by name (the oldest
    /// is the default).
    pub async fn virtual_accounts_page(
        &self,
        account: &Account,
        page: crate::Page,
    ) -> Result<crate::Paged<CiscoVa>> {
        let mut tx = self.store.read().await?;
        let default = tx.first_va_id(account.id).await?;
        let vas = tx.vas_page(account.id, page).await?;
        let mut items = Vec::with_capacity(vas.items.len());
        for va in vas.items {
            items.push(Self::cisco_va(&mut tx, va, default).await?);
        }
        Ok(crate::Paged { items, total: vas.total })
    }

    /// A virtual account of `account` as Cisco lists it (the reply of
    /// `POST /v1/accounts/{domain}/customer/virtual-accounts`).
    pub async fn virtual_account(&self, account: &Account, name: &str) -> Result<CiscoVa> {
        let mut tx = self.store.read().await?;
        let default = tx.first_va_id(account.id).await?;
        let va = Self::scoped_va(&mut tx, account, name).await?;
        Self::cisco_va(&mut tx, va, default).await
    }

    /// The smart account `given` names (domain, name or numeric id), if it is the caller's:
    /// 403 otherwise, whether it exists or not (no probing).
    pub(crate) async fn scoped_account_of(
        &self,
        principal: &crate::domain::principal::Principal,
        given: &str,
    ) -> Result<Account> {
        let mut tx = self.store.read().await?;
        Self::scoped_account(&mut tx, principal, given).await
    }

    /// The virtual account `name` (or numeric id) of `account`: 404 if it has none such.
    pub async fn virtual_account_of(
        &self,
        account: &Account,
        name: &str,
    ) -> Result<VirtualAccount> {
        let mut tx = self.store.read().await?;
        Self::scoped_va(&mut tx, account, name).await
    }

    /// The virtual accounts a listing covers: the named ones, or all of the account's.
    async fn selected_vas(
        tx: &mut Tx,
        account: &Account,
        names: &[String],
    ) -> Result<Vec<VirtualAccount>> {
        if names.is_empty() {
            return Ok(tx.vas(account.id).await?);
        }
        let mut out = Vec::new();
        for name in names {
            out.push(Self::scoped_va(tx, account, name).await?);
        }
        Ok(out)
    }

    /// `POST /v1/accounts/{domain}/licenses`: the pools of the named virtual accounts (all when
    /// none is named).
    pub async fn license_list(
        &self,
        account: &Account,
        virtual_accounts: &[String],
    ) -> Result<Vec<License>> {
        let now = self.now().timestamp();
        let (vas, entries) = {
            let mut tx = self.store.read().await?;
            let vas = Self::selected_vas(&mut tx, account, virtual_accounts).await?;
            let mut entries = Vec::new();
            for va in &vas {
                entries.push(tx.licenses(va.id).await?);
            }
            (vas, entries)
        };
        let mut out = Vec::new();
        for (va, entries) in vas.iter().zip(entries) {
            for row in self.licenses(&account.domain, &va.name).await? {
                let details = entries
                    .iter()
                    .filter(|e| e.entitlement_tag == row.entitlement_tag)
                    .map(|e| LicenseDetail {
                        quantity: e.quantity,
                        license_type: license_type(&e.term),
                        status: entry_status(e.expires_at, now),
                        start_date: Some(date(e.starts_at)),
                        end_date: e.expires_at.map(date),
                        subscription_id: None,
                    })
                    .collect();
                out.push(License {
                    display_name: pool_display_name(&row),
                    license: row.license,
                    entitlement_tag: row.entitlement_tag,
                    virtual_account: va.name.clone(),
                    quantity: row.purchased,
                    in_use: row.in_use,
                    available: row.balance,
                    reserved: row.reserved,
                    pending_quantity: 0,
                    status: if row.in_use > row.purchased {
                        "Out Of Compliance"
                    } else {
                        "In Compliance"
                    }
                    .to_owned(),
                    billing_type: "PREPAID".to_owned(),
                    is_portable: false,
                    aha_apps: false,
                    license_substitutions: Vec::new(),
                    license_details: details,
                });
            }
        }
        Ok(out)
    }

    /// `GET /v1/accounts/{domain}/virtual-accounts/{va}/devices`: one page, by UDI.
    pub async fn devices_page(
        &self,
        account: &Account,
        va: &VirtualAccount,
        page: crate::Page,
    ) -> Result<Devices> {
        let pis = self.product_instances_page(&account.domain, &va.name, page).await?;
        let total_records = pis.total;
        let udis: Vec<String> = pis.items.iter().map(|pi| pi.udi.clone()).collect();
        let newest = self.store.read().await?.newest_reports_of(account.id, &udis).await?;
        let tags: BTreeMap<String, String> = newest
            .into_iter()
            .filter_map(|(udi, envelope)| Some((udi, software_tag_of(&envelope)?)))
            .collect();
        // Licenses more of which are in use than the virtual account has.
        let short: Vec<String> = self
            .licenses(&account.domain, &va.name)
            .await?
            .into_iter()
            .filter(|row| row.in_use > row.purchased)
            .map(|row| row.license)
            .collect();
        let devices: Vec<Device> = pis
            .items
            .into_iter()
            .map(|pi| {
                let (pid, sn) = pi
                    .udi
                    .parse::<Udi>()
                    .map(|u| (u.pid, u.sn))
                    .unwrap_or_else(|_| (pi.udi.clone(), String::new()));
                let used: Vec<_> = pi.usage.into_iter().filter(|u| u.count > 0).collect();
                let compliant = !used.iter().any(|u| short.contains(&u.license));
                let license_usage = used
                    .into_iter()
                    .map(|u| LicenseUsage {
                        display_name: display_name(&u.entitlement_tag),
                        license: u.license,
                        quantity: u.count,
                    })
                    .collect();
                let name = pi
                    .hostname
                    .clone()
                    .filter(|h| !h.trim().is_empty())
                    .unwrap_or_else(|| format!("UDI_PID:{pid}; UDI_SN:{sn}; "));
                Device {
                    instance_name: name.clone(),
                    display_name: name,
                    host_name: pi.hostname,
                    sudi: DeviceSudi::of(&pid, &sn),
                    product_tag_name: tags.get(&pi.udi).cloned().unwrap_or_default(),
                    product_name: String::new(),
                    product_description: String::new(),
                    product_type: String::new(),
                    virtual_account: va.name.clone(),
                    status: if compliant { "In Compliance" } else { "Out Of Compliance" }
                        .to_owned(),
                    registration_date: pi.first_seen,
                    last_contact_date: pi.last_contact,
                    license_usage,
                }
            })
            .collect();
        Ok(Devices {
            status: slp_wire::cssm::manage::SUCCESS.to_owned(),
            status_message: String::new(),
            total_records,
            devices,
        })
    }

    /// `POST /v3/licenses/summary`: per entitlement tag (all when `tags` is empty), over
    /// `virtual_account` (the header's) or, without one, the whole smart account.
    pub async fn licenses_summary(
        &self,
        account: &Account,
        virtual_account: Option<&str>,
        tags: &[String],
    ) -> Result<LicenseSummary> {
        let now = self.now().timestamp();
        let vas = {
            let mut tx = self.store.read().await?;
            let names: Vec<String> = virtual_account
                .filter(|v| !v.trim().is_empty())
                .map(|v| vec![v.to_owned()])
                .unwrap_or_default();
            let vas = Self::selected_vas(&mut tx, account, &names).await?;
            let mut with_entries = Vec::new();
            for va in vas {
                let entries = tx.licenses(va.id).await?;
                with_entries.push((va, entries));
            }
            with_entries
        };
        let mut by_tag: BTreeMap<String, SummaryEntry> = BTreeMap::new();
        for (va, entries) in &vas {
            for row in self.licenses(&account.domain, &va.name).await? {
                if !tags.is_empty() && !tags.contains(&row.entitlement_tag) {
                    continue;
                }
                let enforcement = Enforcement::parse(&row.enforcement);
                let entry =
                    by_tag.entry(row.entitlement_tag.clone()).or_insert_with(|| SummaryEntry {
                        tag: row.entitlement_tag.clone(),
                        display_name: pool_display_name(&row),
                        compliance_status: String::new(),
                        enforced: enforcement.is_some_and(|e| e != Enforcement::Unenforced),
                        export_restricted: enforcement == Some(Enforcement::ExportControlled),
                        prepaid_entitled: 0,
                        prepaid_inuse: 0,
                        prepaid_reserved: 0,
                        license_details: Vec::new(),
                    });
                entry.prepaid_entitled = entry.prepaid_entitled.saturating_add(row.purchased);
                entry.prepaid_inuse = entry.prepaid_inuse.saturating_add(row.in_use);
                entry.prepaid_reserved = entry.prepaid_reserved.saturating_add(row.reserved);
                for e in entries.iter().filter(|e| e.entitlement_tag == row.entitlement_tag) {
                    entry.license_details.push(SummaryDetail {
                        billing_type: "PREPAID".to_owned(),
                        license_type: license_type(&e.term),
                        quantity: e.quantity,
                        status: entry_status(e.expires_at, now),
                        start_date: Some(date(e.starts_at)),
                        end_date: e.expires_at.map(date),
                        subscription_id: None,
                    });
                }
            }
        }
        let summary = by_tag
            .into_values()
            .map(|mut entry| {
                entry.compliance_status = if entry.prepaid_inuse > entry.prepaid_entitled {
                    "OUT_OF_COMPLIANCE"
                } else {
                    "IN_COMPLIANCE"
                }
                .to_owned();
                entry
            })
            .collect();
        Ok(LicenseSummary { status: "SUCCESS".to_owned(), out_standing_reports: 0, summary })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_follow_the_family() {
        assert_eq!(display_name("network-advantage"), "C9300-24 Network Advantage");
        let na48 = slp_core::license::lookup("C9300-48:network-advantage").unwrap();
        assert_eq!(display_name(na48.entitlement_tag), "C9300-48 Network Advantage");
        assert_eq!(display_name("hseck9"), "Cat9K HSEC");
        assert_eq!(display_name("regid.unknown"), "regid.unknown");
    }

    #[test]
    fn roles_map_to_cisco_names() {
        let vas = vec!["Lab".to_owned()];
        let roles = cisco_roles(Role::Admin, None, &vas);
        let names: Vec<(&str, Option<&str>)> =
            roles.iter().map(|r| (r.role.as_str(), r.virtual_account.as_deref())).collect();
        assert_eq!(
            names,
            [("Smart Account Administrator", None), ("Virtual Account Administrator", Some("Lab"))]
        );
        let roles = cisco_roles(Role::Viewer, Some("Lab"), &vas);
        assert_eq!(roles[0].role, "Virtual Account User");
    }
}
