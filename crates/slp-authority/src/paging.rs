//! Bounded lists. Every list the API answers (and the command line prints) is read a page at a
//! time, the database doing the paging ([`slp_store::Page`]): Cisco's `limit`/`offset` (query
//! parameters on GET lists, body members on `POST …/licenses`), [`DEFAULT_PAGE_SIZE`] rows when
//! no `limit` is given, at most [`MAX_PAGE_SIZE`]; a larger `limit` is refused, naming the
//! maximum, rather than cut silently (a script that steps its offset by its own `limit` would
//! skip rows). Each answer carries `totalRecords`, the length of the whole list.

use std::collections::BTreeMap;

use slp_store::{EventFilter, Page, Paged, ProductInstance, Usage};

use crate::domain::direct::TokenView;
use crate::{
    Authority, AuthorityError, EventView, MoveRequestView, ProductInstanceView, Result, UploadView,
    UsageView, effective_counts, rfc3339_ts,
};

/// Rows in a page when the request names no `limit` ([`DEFAULT_PAGE_SIZE`]), and the largest
/// `limit` a request may name ([`MAX_PAGE_SIZE`]): the bounds `/openapi.json` states.
pub use slp_wire::cssm::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// The page a request asks for: `limit` rows (default [`DEFAULT_PAGE_SIZE`], 1 to
/// [`MAX_PAGE_SIZE`]) after `offset` rows (default 0). Anything else is refused with an error
/// that names the parameter and the bounds.
pub fn page(limit: Option<u64>, offset: Option<u64>) -> Result<Page> {
    let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(AuthorityError::Invalid {
            field: "limit",
            value: limit.to_string(),
            reason: format!(
                "a page holds 1 to {MAX_PAGE_SIZE} rows (default {DEFAULT_PAGE_SIZE}); page through longer lists with offset"
            ),
        });
    }
    let offset = offset.unwrap_or(0);
    let offset = i64::try_from(offset).map_err(|_| AuthorityError::Invalid {
        field: "offset",
        value: offset.to_string(),
        reason: format!("the largest offset is {}", i64::MAX),
    })?;
    // `limit` is at most MAX_PAGE_SIZE: it fits.
    Ok(Page::new(limit as i64, offset))
}

/// [`page`] from the text of query parameters (`?limit=50&offset=100`).
pub fn page_from_text(limit: Option<&str>, offset: Option<&str>) -> Result<Page> {
    let number = |field: &'static str, text: Option<&str>| -> Result<Option<u64>> {
        match text.map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => text.parse::<u64>().map(Some).map_err(|_| AuthorityError::Invalid {
                field,
                value: text.to_owned(),
                reason: "expected a whole number of rows, 0 or more".to_owned(),
            }),
        }
    };
    page(number("limit", limit)?, number("offset", offset)?)
}

/// The rows of `items` that `page` selects, for lists computed on read (alerts, licenses: one
/// row per entitlement or finding, not per stored row).
pub fn slice<T>(items: Vec<T>, page: Page) -> Paged<T> {
    let total = items.len() as i64;
    let skip = usize::try_from(page.offset).unwrap_or(usize::MAX);
    let take = usize::try_from(page.limit).unwrap_or(0);
    Paged { items: items.into_iter().skip(skip).take(take).collect(), total }
}

/// Product instances as the lists show them, with their usage and open authorization codes.
pub(crate) fn pi_views(
    pis: Vec<ProductInstance>,
    usage: &[Usage],
    codes: &[slp_store::Authorization],
) -> Vec<ProductInstanceView> {
    let counts = effective_counts(usage);
    pis.into_iter()
        .map(|pi| ProductInstanceView {
            key_id: if pi.is_unverified() {
                "unverified".to_owned()
            } else {
                slp_wire::keys::key_id(&pi.public_key).unwrap_or_else(|_| "invalid".to_owned())
            },
            key_status: if pi.is_unverified() { "unverified" } else { "verified" }.to_owned(),
            key_seen: pi.key_seen.clone(),
            usage: usage
                .iter()
                .zip(&counts)
                .filter(|(u, _)| u.pi_id == pi.id)
                .map(|(u, count)| UsageView {
                    license: u.feature.clone(),
                    entitlement_tag: u.entitlement_tag.clone(),
                    count: *count,
                    reported: u.count,
                    as_of: rfc3339_ts(u.as_of),
                    report_id: u.report_id,
                })
                .collect(),
            authorizations: codes
                .iter()
                .filter(|c| c.udi == pi.udi && c.returned_at.is_none())
                .map(|c| c.feature.clone())
                .collect(),
            udi: pi.udi,
            hostname: pi.hostname,
            trust_id: pi.trust_id,
            trusted_at: pi.trusted_at.map(rfc3339_ts),
            first_seen: rfc3339_ts(pi.first_seen),
            last_contact: rfc3339_ts(pi.last_contact),
        })
        .collect()
}

impl Authority {
    /// A page of the usage files uploaded to a virtual account, oldest first.
    pub async fn uploads_page(
        &self,
        account: &str,
        va: &str,
        page: Page,
    ) -> Result<Paged<UploadView>> {
        let mut tx = self.store.read().await?;
        let (_, va_row) = Self::resolve(&mut tx, account, va).await?;
        Ok(tx.uploads_page(va_row.id, page).await?.map(|u| UploadView {
            file_name: u.file_name,
            uploaded_at: rfc3339_ts(u.uploaded_at),
            status: u.status,
            product_instances: u.pi_count,
            reports: u.report_count,
            sha256: u.sha256,
        }))
    }

    /// A page of the activity log (as [`Authority::events`]), oldest first.
    pub async fn events_page(
        &self,
        account: &str,
        va: Option<&str>,
        udi: Option<&str>,
        page: Page,
    ) -> Result<Paged<EventView>> {
        let mut tx = self.store.read().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        let va_row = match va {
            Some(va) => Some(Self::resolve(&mut tx, account, va).await?.1),
            None => None,
        };
        let names: BTreeMap<i64, String> =
            tx.vas(account_row.id).await?.into_iter().map(|v| (v.id, v.name)).collect();
        let filter = EventFilter {
            account_id: account_row.id,
            va_id: va_row.as_ref().map(|v| v.id),
            udi: udi.map(str::trim),
        };
        Ok(tx.events_page(filter, page).await?.map(|e| EventView {
            at: rfc3339_ts(e.at),
            virtual_account: e.va_id.and_then(|id| names.get(&id).cloned()),
            udi: e.udi,
            message: e.message,
            actor: e.actor,
        }))
    }

    /// A page of the product instances of a virtual account, by UDI, with their usage.
    pub async fn product_instances_page(
        &self,
        account: &str,
        va: &str,
        page: Page,
    ) -> Result<Paged<ProductInstanceView>> {
        let mut tx = self.store.read().await?;
        let (_, va_row) = Self::resolve(&mut tx, account, va).await?;
        let pis = tx.pis_page(va_row.id, page).await?;
        let ids: Vec<i64> = pis.items.iter().map(|pi| pi.id).collect();
        let udis: Vec<String> = pis.items.iter().map(|pi| pi.udi.clone()).collect();
        let usage = tx.usage_of_pis(&ids).await?;
        let codes = tx.open_authorizations_of_udis(va_row.id, &udis).await?;
        Ok(Paged { items: pi_views(pis.items, &usage, &codes), total: pis.total })
    }

    /// A page of the ID tokens of a virtual account, oldest first.
    pub async fn tokens_page(
        &self,
        account: &str,
        va: &str,
        page: Page,
    ) -> Result<Paged<TokenView>> {
        let mut tx = self.store.read().await?;
        let (_, va_row) = Self::resolve(&mut tx, account, va).await?;
        Ok(tx.tokens_page(va_row.id, page).await?.map(|t| self.token_view(&t)))
    }

    /// A page of move requests, newest first: of one smart account or (operator) all of them;
    /// with `pending_only`, those still waiting for a decision.
    pub async fn move_requests_page(
        &self,
        account: Option<&str>,
        pending_only: bool,
        page: Page,
    ) -> Result<Paged<MoveRequestView>> {
        let rows = {
            let mut tx = self.store.read().await?;
            let id = match account {
                Some(account) => Some(Self::resolve_account(&mut tx, account).await?.id),
                None => None,
            };
            tx.move_requests_page(id, pending_only, page).await?
        };
        let mut items = Vec::with_capacity(rows.items.len());
        for row in rows.items {
            items.push(self.move_view(row).await?);
        }
        Ok(Paged { items, total: rows.total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_bounded_and_bad_numbers_are_named() {
        assert_eq!(page(None, None).ok(), Some(Page::new(DEFAULT_PAGE_SIZE as i64, 0)));
        assert_eq!(page(Some(MAX_PAGE_SIZE), Some(7)).ok(), Some(Page::new(1_000, 7)));
        let over = page(Some(MAX_PAGE_SIZE + 1), None).unwrap_err().to_string();
        assert!(over.contains("limit") && over.contains("1001") && over.contains("1000"), "{over}");
        assert!(page(Some(0), None).unwrap_err().to_string().contains("limit"));
        let huge = page(None, Some(u64::MAX)).unwrap_err().to_string();
        assert!(huge.contains("offset"), "{huge}");
        let negative = page_from_text(Some("-5"), None).unwrap_err().to_string();
        assert!(negative.contains("limit") && negative.contains("-5"), "{negative}");
        let word = page_from_text(None, Some("ten")).unwrap_err().to_string();
        assert!(word.contains("offset") && word.contains("ten"), "{word}");
        assert_eq!(page_from_text(Some(" 20 "), Some("")).ok(), Some(Page::new(20, 0)));
    }

    #[test]
    fn a_computed_list_is_sliced_with_its_total() {
        let paged = slice((0..10).collect::<Vec<_>>(), Page::new(3, 8));
        assert_eq!(paged.items, vec![8, 9]);
        assert_eq!(paged.total, 10);
        assert!(slice(vec![1], Page::new(5, 9)).items.is_empty());
    }
}
