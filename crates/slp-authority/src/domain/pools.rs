//! License pools of virtual accounts (purchased, in use, reserved, alerts), the product
//! instances that use them, and the usage files uploaded to them.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use slp_core::license::{self, Enforcement, Term};
use slp_store::NewLicense;

use crate::view::*;
use crate::{
    Authority, AuthorityError, EXPIRY_WARNING_DAYS, Result, check_name, date_ts, paging, rfc3339_ts,
};

/// A license pool entry to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseSpec {
    /// A feature name from the catalog (`network-advantage`) or an entitlement tag.
    pub tag: String,
    pub sku: String,
    pub quantity: i64,
    /// Required for licenses the catalog does not know; otherwise must match the catalog.
    pub term: Option<Term>,
    /// Defaults to the catalog's, or `unenforced` for unknown licenses.
    pub enforcement: Option<Enforcement>,
    /// The day a subscription ends (required for subscriptions, refused for perpetual).
    pub expires: Option<NaiveDate>,
}

/// The sum of license counts or quantities, saturating: a sum past `i64::MAX` (only rows
/// stored before counts were bounded could reach it) stays at the largest number, which is
/// more than any pool holds, so the pool shows `Insufficient Licenses` instead of wrapping
/// to a negative "In Use".
pub(crate) fn total(values: impl IntoIterator<Item = i64>) -> i64 {
    values.into_iter().fold(0_i64, i64::saturating_add)
}

/// The count each usage row stands for now. A device keeps an open report for every license in
/// use and closes them all at the same instant when it saves usage, while a license that stopped
/// being used (count to 0, or not in use after a reload) has its chain closed earlier and never
/// continued. So, per product instance, only the tags whose latest report ends at the instance's
/// latest report end are in use; the others count 0.
pub(crate) fn effective_counts(usage: &[slp_store::Usage]) -> Vec<i64> {
    let mut latest: BTreeMap<i64, i64> = BTreeMap::new();
    for u in usage {
        let entry = latest.entry(u.pi_id).or_insert(u.as_of);
        *entry = (*entry).max(u.as_of);
    }
    usage.iter().map(|u| if latest.get(&u.pi_id) == Some(&u.as_of) { u.count } else { 0 }).collect()
}

impl Authority {
    // ---- license pool --------------------------------------------------------------------

    /// Adds licenses to a virtual account's pool.
    pub async fn add_license(&self, account: &str, va: &str, spec: &LicenseSpec) -> Result<()> {
        let tag_input = spec.tag.trim();
        let invalid = |field: &'static str, value: String, reason: String| {
            AuthorityError::Invalid { field, value, reason }
        };
        if tag_input.is_empty() || tag_input.chars().any(char::is_whitespace) {
            return Err(invalid(
                "license tag",
                spec.tag.clone(),
                "expected a feature name such as network-advantage or an entitlement tag"
                    .to_owned(),
            ));
        }
        let sku = check_name("SKU", &spec.sku)?;
        if !(1..=1_000_000).contains(&spec.quantity) {
            return Err(invalid(
                "quantity",
                spec.quantity.to_string(),
                "must be a whole number from 1 to 1000000".to_owned(),
            ));
        }
        let known = license::lookup(tag_input);
        let (feature, tag, term, enforcement) = match known {
            Some(info) => {
                if let Some(term) = spec.term
                    && term != info.term
                {
                    return Err(invalid(
                        "license type",
                        term.as_str().to_owned(),
                        format!("{} is a {} license", info.feature, info.term.as_str()),
                    ));
                }
                if let Some(enforcement) = spec.enforcement
                    && enforcement != info.enforcement
                {
                    return Err(invalid(
                        "enforcement",
                        enforcement.as_str().to_owned(),
                        format!("{} is {}", info.feature, info.enforcement.as_str()),
                    ));
                }
                (
                    info.feature.to_owned(),
                    info.entitlement_tag.to_owned(),
                    info.term,
                    info.enforcement,
                )
            }
            None => {
                let term = spec.term.ok_or_else(|| {
                    invalid(
                        "license tag",
                        tag_input.to_owned(),
                        "not in the catalog; give --type (and --enforcement if it is not unenforced) to add it anyway".to_owned(),
                    )
                })?;
                let enforcement = spec.enforcement.unwrap_or(Enforcement::Unenforced);
                (tag_input.to_owned(), tag_input.to_owned(), term, enforcement)
            }
        };
        let now = self.now();
        let expires_at = match (term, spec.expires) {
            (Term::Subscription, Some(day)) => {
                let at = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()).unwrap_or(0);
                if at <= now.timestamp() {
                    return Err(invalid(
                        "expiry date",
                        day.to_string(),
                        format!("must be after today ({})", now.format("%Y-%m-%d")),
                    ));
                }
                Some(at)
            }
            (Term::Subscription, None) => {
                return Err(invalid(
                    "expiry date",
                    String::new(),
                    format!("{feature} is a subscription license: give --expires YYYY-MM-DD"),
                ));
            }
            (Term::Perpetual, Some(day)) => {
                return Err(invalid(
                    "expiry date",
                    day.to_string(),
                    format!("{feature} is a perpetual license and does not expire"),
                ));
            }
            (Term::Perpetual, None) => None,
        };
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        tx.lock_va(va_row.id).await?;
        let new = NewLicense {
            va_id: va_row.id,
            feature: feature.clone(),
            entitlement_tag: tag,
            sku: sku.clone(),
            quantity: spec.quantity,
            term: term.as_str().to_owned(),
            enforcement: enforcement.as_str().to_owned(),
            starts_at: now.timestamp(),
            expires_at,
            added_at: now.timestamp(),
        };
        tx.insert_license(&new).await?;
        tx.log(self.event(
            &account_row,
            Some(&va_row),
            format!("{} {feature} license(s) added ({sku})", spec.quantity),
        ))
        .await?;
        tx.commit().await?;
        tracing::info!(va = %va_row.name, %feature, quantity = spec.quantity, "licenses added");
        Ok(())
    }

    /// The pool of a virtual account: one row per entitlement, with usage, reservations and alerts.
    pub async fn licenses(&self, account: &str, va: &str) -> Result<Vec<LicenseView>> {
        let now = self.now().timestamp();
        let mut tx = self.store.read().await?;
        let (_, va_row) = Self::resolve(&mut tx, account, va).await?;
        let entries = tx.licenses(va_row.id).await?;
        let usage = tx.va_usage(va_row.id).await?;
        let codes = tx.authorizations(va_row.id).await?;
        let mut in_use: BTreeMap<&str, i64> = BTreeMap::new();
        for (u, count) in usage.iter().zip(effective_counts(&usage)) {
            let sum = in_use.entry(u.entitlement_tag.as_str()).or_default();
            *sum = sum.saturating_add(count);
        }
        let mut reserved: BTreeMap<&str, i64> = BTreeMap::new();
        for code in codes.iter().filter(|c| c.returned_at.is_none()) {
            let sum = reserved.entry(code.entitlement_tag.as_str()).or_default();
            *sum = sum.saturating_add(code.count);
        }
        let mut tags: Vec<&str> = Vec::new();
        for entry in &entries {
            if !tags.contains(&entry.entitlement_tag.as_str()) {
                tags.push(&entry.entitlement_tag);
            }
        }
        let mut out = Vec::new();
        for tag in &tags {
            let of_tag: Vec<_> = entries.iter().filter(|e| e.entitlement_tag == *tag).collect();
            let valid: Vec<_> =
                of_tag.iter().filter(|e| e.expires_at.is_none_or(|at| at > now)).collect();
            let purchased = total(valid.iter().map(|e| e.quantity));
            let used = in_use.get(tag).copied().unwrap_or(0);
            let expires = valid.iter().filter_map(|e| e.expires_at).min();
            let mut skus: Vec<&str> = Vec::new();
            for e in &of_tag {
                if !skus.contains(&e.sku.as_str()) {
                    skus.push(&e.sku);
                }
            }
            let first = of_tag[0];
            let alert = if used > purchased {
                Some("Insufficient Licenses".to_owned())
            } else if expires.is_some_and(|at| at - now <= EXPIRY_WARNING_DAYS * 86_400) {
                Some("Expiring".to_owned())
            } else {
                None
            };
            out.push(LicenseView {
                license: first.feature.clone(),
                entitlement_tag: (*tag).to_owned(),
                sku: skus.join(","),
                license_type: Term::parse(&first.term)
                    .map_or_else(|| first.term.clone(), |t| t.show_word().to_owned()),
                enforcement: first.enforcement.clone(),
                purchased,
                in_use: used,
                balance: purchased.saturating_sub(used),
                reserved: reserved.get(tag).copied().unwrap_or(0),
                expires: expires.map(date_ts),
                alert,
            });
        }
        // Licenses in use that were never purchased.
        for (tag, used) in &in_use {
            if tags.contains(tag) || *used == 0 {
                continue;
            }
            let info = license::lookup(tag);
            let feature = usage
                .iter()
                .find(|u| u.entitlement_tag == *tag)
                .map_or_else(|| license::feature_name(tag), |u| u.feature.clone());
            out.push(LicenseView {
                license: feature,
                entitlement_tag: (*tag).to_owned(),
                sku: String::new(),
                license_type: info.map_or_else(String::new, |i| i.term.show_word().to_owned()),
                enforcement: info.map_or_else(String::new, |i| i.enforcement.as_str().to_owned()),
                purchased: 0,
                in_use: *used,
                balance: 0_i64.saturating_sub(*used),
                reserved: reserved.get(tag).copied().unwrap_or(0),
                expires: None,
                alert: Some("Insufficient Licenses".to_owned()),
            });
        }
        Ok(out)
    }

    // ---- product instances and uploads ---------------------------------------------------

    pub async fn product_instances(
        &self,
        account: &str,
        va: &str,
    ) -> Result<Vec<ProductInstanceView>> {
        let mut tx = self.store.read().await?;
        let (_, va_row) = Self::resolve(&mut tx, account, va).await?;
        let pis = tx.pis(va_row.id).await?;
        let usage = tx.va_usage(va_row.id).await?;
        let codes = tx.authorizations(va_row.id).await?;
        Ok(paging::pi_views(pis, &usage, &codes))
    }

    /// The usage files uploaded to a virtual account, oldest first.
    pub async fn uploads(&self, account: &str, va: &str) -> Result<Vec<UploadView>> {
        let mut tx = self.store.read().await?;
        let (_, va_row) = Self::resolve(&mut tx, account, va).await?;
        Ok(tx
            .uploads(va_row.id)
            .await?
            .into_iter()
            .map(|u| UploadView {
                file_name: u.file_name,
                uploaded_at: rfc3339_ts(u.uploaded_at),
                status: u.status,
                product_instances: u.pi_count,
                reports: u.report_count,
                sha256: u.sha256,
            })
            .collect())
    }

    /// The ACK of an uploaded usage file, by the file's SHA-256 (from [`Authority::uploads`]).
    pub async fn upload_ack(&self, account: &str, va: &str, sha256: &str) -> Result<String> {
        let mut tx = self.store.read().await?;
        let (_, va_row) = Self::resolve(&mut tx, account, va).await?;
        let upload = tx.upload_by_sha(va_row.id, sha256.trim()).await?.ok_or_else(|| {
            AuthorityError::Invalid {
                field: "usage file",
                value: sha256.to_owned(),
                reason: format!(
                    "no usage file with this SHA-256 in virtual account {:?}",
                    va_row.name
                ),
            }
        })?;
        Ok(upload.ack)
    }
}
