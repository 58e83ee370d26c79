//! Alerts, as CSSM raises them on the Alerts tab: licenses insufficient for what is in use and
//! reserved, subscriptions expiring within 30, 60 or 90 days (and expired), and product
//! instances past their ACK deadline (last contact + the reporting frequency of the policy
//! class they use; a class with frequency 0 sets no deadline). Computed from the data at the
//! authority's clock, so they are the same on every replica and need no job to stay true.

use slp_core::license::{Enforcement, Term};
use slp_core::policy::{Policy, PolicyClass};

use crate::{Authority, Result, date_ts, effective_counts, policy_of, rfc3339_ts};

/// One alert as the API and `--json` show it (the wire type).
pub use slp_wire::cssm::manage::Alert as AlertView;

const DAY: i64 = 86_400;

impl Authority {
    /// The alerts of a smart account (or one of its virtual accounts), by virtual account.
    pub async fn alerts(&self, account: &str, va: Option<&str>) -> Result<Vec<AlertView>> {
        let now = self.now().timestamp();
        let mut tx = self.store.read().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        let vas = match va {
            Some(va) => vec![Self::resolve(&mut tx, account, va).await?.1],
            None => tx.vas(account_row.id).await?,
        };
        drop(tx);
        let mut out = Vec::new();
        for va in vas {
            for row in self.licenses(&account_row.domain, &va.name).await? {
                let needed = row.in_use.saturating_add(row.reserved);
                if needed > row.purchased {
                    out.push(AlertView {
                        severity: "Major".to_owned(),
                        kind: "INSUFFICIENT_LICENSES".to_owned(),
                        virtual_account: va.name.clone(),
                        license: Some(row.license.clone()),
                        udi: None,
                        due: None,
                        message: format!(
                            "Insufficient Licenses: {} {} in use or reserved, {} purchased (short by {})",
                            needed,
                            row.license,
                            row.purchased,
                            needed.saturating_sub(row.purchased)
                        ),
                    });
                }
            }
            let mut tx = self.store.read().await?;
            let entries = tx.licenses(va.id).await?;
            for entry in &entries {
                let Some(expires) = entry.expires_at else { continue };
                let left = expires - now;
                let (severity, kind, message) = if left <= 0 {
                    (
                        "Major",
                        "LICENSES_EXPIRED".to_owned(),
                        format!(
                            "{} {} license(s) ({}) expired on {}",
                            entry.quantity,
                            entry.feature,
                            entry.sku,
                            date_ts(expires)
                        ),
                    )
                } else if left <= 90 * DAY {
                    let window = [30, 60, 90].into_iter().find(|d| left <= d * DAY).unwrap_or(90);
                    (
                        "Minor",
                        format!("LICENSES_EXPIRING_{window}"),
                        format!(
                            "{} {} license(s) ({}) expire within {window} days, on {}",
                            entry.quantity,
                            entry.feature,
                            entry.sku,
                            date_ts(expires)
                        ),
                    )
                } else {
                    continue;
                };
                out.push(AlertView {
                    severity: severity.to_owned(),
                    kind,
                    virtual_account: va.name.clone(),
                    license: Some(entry.feature.clone()),
                    udi: None,
                    due: Some(date_ts(expires)),
                    message,
                });
            }
            // ACK deadlines: the shortest positive reporting frequency of the classes in use.
            let policy = tx
                .policy_in_force(va.id)
                .await?
                .as_ref()
                .map_or_else(Policy::cisco_default, policy_of);
            let usage = tx.va_usage(va.id).await?;
            let counts = effective_counts(&usage);
            for pi in tx.pis(va.id).await? {
                let frequency = usage
                    .iter()
                    .zip(&counts)
                    .filter(|(u, count)| u.pi_id == pi.id && **count > 0)
                    .map(|(u, _)| {
                        let entry = entries.iter().find(|e| e.entitlement_tag == u.entitlement_tag);
                        let enforcement = entry.and_then(|e| Enforcement::parse(&e.enforcement));
                        let term = entry.and_then(|e| Term::parse(&e.term));
                        let class = match (enforcement, term) {
                            (Some(Enforcement::ExportControlled), _) => PolicyClass::Export,
                            (Some(Enforcement::Enforced), _) => PolicyClass::Enforced,
                            (_, Some(Term::Subscription)) => PolicyClass::UnenforcedSubscription,
                            _ => PolicyClass::UnenforcedPerpetual,
                        };
                        i64::from(policy.attributes(class).ongoing)
                    })
                    .filter(|days| *days > 0)
                    .min();
                let Some(days) = frequency else { continue };
                let deadline = pi.last_contact + days * DAY;
                if deadline < now {
                    out.push(AlertView {
                        severity: "Major".to_owned(),
                        kind: "ACK_DEADLINE_PASSED".to_owned(),
                        virtual_account: va.name.clone(),
                        license: None,
                        udi: Some(pi.udi.clone()),
                        due: Some(rfc3339_ts(deadline)),
                        message: format!(
                            "{} has not reported since {}: its ACK deadline ({days} days) passed on {}",
                            pi.udi,
                            rfc3339_ts(pi.last_contact),
                            rfc3339_ts(deadline)
                        ),
                    });
                }
            }
        }
        Ok(out)
    }
}
