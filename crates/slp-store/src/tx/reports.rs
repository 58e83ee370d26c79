//! Received RUM reports, the UDI ids they are keyed by, and the usage they set.

use std::collections::{BTreeSet, HashMap};

use crate::records::*;
use crate::sql::{db, lead_and_list, marks, placeholders, unique};
use crate::{Result, StoreError, Tx};

/// A report by (smart account, UDI, report id): reports are unique per smart account.
pub type ReportKey = (i64, String, i64);

/// The columns of a usage row with its product instance's UDI (`u`: usage, `p`: instances).
const USAGE: &str = "SELECT u.pi_id, p.udi, u.entitlement_tag, u.feature, u.count, u.as_of, \
     u.report_id FROM usage u JOIN product_instances p ON p.id = u.pi_id";

/// The id [`Tx::add_udis`] returned for a UDI (it returns one for each UDI it is given).
fn id_of(ids: &HashMap<String, i64>, udi: &str) -> Result<i64> {
    ids.get(udi).copied().ok_or(StoreError::Database {
        op: "storing a report's UDI",
        source: sqlx::Error::RowNotFound,
    })
}

impl Tx {
    // ---- reports -------------------------------------------------------------------------

    /// The status of a report already received in a smart account for (udi, report_id), if
    /// any.
    pub async fn report_status(
        &mut self,
        account_id: i64,
        udi: &str,
        report_id: i64,
    ) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT r.status FROM reports r JOIN udis u ON u.id = r.udi_id \
             WHERE u.account_id = $1 AND u.udi = $2 AND r.report_id = $3",
        )
        .bind(account_id)
        .bind(udi)
        .bind(report_id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("looking up a report"))
    }

    pub async fn insert_report(&mut self, report: &ReceivedReport) -> Result<()> {
        let account_id = self
            .va(report.va_id)
            .await?
            .ok_or(StoreError::Database {
                op: "finding the virtual account of a report",
                source: sqlx::Error::RowNotFound,
            })?
            .account_id;
        let ids = self.add_udis(account_id, [report.udi.as_str()]).await?;
        let udi_id = id_of(&ids, &report.udi)?;
        self.guarded_execute(sqlx::query(
            "INSERT INTO reports (va_id, udi_id, report_id, entitlement_tag, count, end_time, status, received_at, envelope) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(report.va_id)
        .bind(udi_id)
        .bind(report.report_id)
        .bind(&report.entitlement_tag)
        .bind(report.count)
        .bind(report.end_time)
        .bind(&report.status)
        .bind(report.received_at)
        .bind(&report.envelope)
        ).await.map_err(unique(
            "storing a report",
            "report",
            &format!("{} of {}", report.report_id, report.udi),
        ))?;
        Ok(())
    }

    /// The ids a smart account gave those of the UDIs that reports were stored for (one
    /// statement per thousand).
    async fn udi_ids<'a>(
        &mut self,
        account_id: i64,
        udis: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashMap<String, i64>> {
        let distinct: Vec<&str> = udis.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
        let mut ids = HashMap::with_capacity(distinct.len());
        for chunk in distinct.chunks(1_000) {
            let (account, list) = lead_and_list(self.backend, chunk.len());
            let sql = format!(
                "SELECT udi, id FROM udis WHERE account_id = {account} AND udi IN ({list})"
            );
            let mut query = sqlx::query_as::<_, (String, i64)>(&sql).bind(account_id);
            for udi in chunk {
                query = query.bind(*udi);
            }
            ids.extend(query.fetch_all(&mut *self.tx).await.map_err(db("looking up UDIs"))?);
        }
        Ok(ids)
    }

    /// Gives each of the UDIs an id in the smart account if it has none yet, and returns the
    /// ids of all of them. UDI ids are never deleted, so that a report stays keyed by the same
    /// id for good.
    async fn add_udis<'a>(
        &mut self,
        account_id: i64,
        udis: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashMap<String, i64>> {
        let distinct: Vec<&str> = udis.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
        let mut ids = self.udi_ids(account_id, distinct.iter().copied()).await?;
        let missing: Vec<&str> =
            distinct.into_iter().filter(|udi| !ids.contains_key(*udi)).collect();
        for chunk in missing.chunks(1_000) {
            let sql = format!(
                "INSERT INTO udis (account_id, udi) VALUES {} ON CONFLICT (account_id, udi) DO NOTHING RETURNING udi, id",
                placeholders(self.backend, chunk.len(), 2)
            );
            let mut query = sqlx::query_as::<_, (String, i64)>(&sql);
            for udi in chunk {
                query = query.bind(account_id).bind(*udi);
            }
            ids.extend(query.fetch_all(&mut *self.tx).await.map_err(db("storing UDIs"))?);
        }
        // Another replica may have given one of them an id first: read it back.
        let taken: Vec<&str> = missing.into_iter().filter(|udi| !ids.contains_key(*udi)).collect();
        if !taken.is_empty() {
            ids.extend(self.udi_ids(account_id, taken).await?);
        }
        Ok(ids)
    }

    /// Which of the (smart account, UDI, report id) keys name a report stored already (one
    /// statement per thousand keys of an account: the reports part of [`Tx::ingest_lookup`]).
    pub async fn existing_reports(&mut self, keys: &[ReportKey]) -> Result<Vec<ReportKey>> {
        Ok(self.ingest_lookup(&[], keys, &[], &[]).await?.reports)
    }

    /// How many reports a virtual account has received.
    pub async fn report_count(&mut self, va_id: i64) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) AS n FROM reports WHERE va_id = $1")
            .bind(va_id)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db("counting reports"))
    }

    /// The envelope of the newest report (highest report id) of each of `udis` in smart
    /// account `account_id`, as (UDI, envelope); a UDI without reports is left out. One
    /// index lookup per UDI (the `(udi_id, report_id)` key).
    pub async fn newest_reports_of(
        &mut self,
        account_id: i64,
        udis: &[String],
    ) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for chunk in udis.chunks(500) {
            let (account, list) = lead_and_list(self.backend, chunk.len());
            let sql = format!(
                "SELECT u.udi, (SELECT r.envelope FROM reports r WHERE r.udi_id = u.id \
                 ORDER BY r.report_id DESC LIMIT 1) AS envelope FROM udis u \
                 WHERE u.account_id = {account} AND u.udi IN ({list})"
            );
            let mut query = sqlx::query_as::<_, (String, Option<String>)>(&sql).bind(account_id);
            for udi in chunk {
                query = query.bind(udi);
            }
            let rows =
                query.fetch_all(&mut *self.tx).await.map_err(db("finding the newest reports"))?;
            out.extend(rows.into_iter().filter_map(|(udi, envelope)| Some((udi, envelope?))));
        }
        Ok(out)
    }

    // ---- usage ---------------------------------------------------------------------------

    pub async fn usage(&mut self, pi_id: i64, entitlement_tag: &str) -> Result<Option<Usage>> {
        sqlx::query_as(&format!("{USAGE} WHERE u.pi_id = $1 AND u.entitlement_tag = $2"))
            .bind(pi_id)
            .bind(entitlement_tag)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("reading usage"))
    }

    /// Sets the usage of one entitlement by one product instance.
    pub async fn set_usage(&mut self, new: &Usage) -> Result<()> {
        self.upsert_usage(new, "").await
    }

    /// Records usage unless the stored usage of that instance and license comes from a newer
    /// report (by end time, then report id): one statement.
    pub async fn set_usage_if_newer(&mut self, new: &Usage) -> Result<()> {
        self.upsert_usage(
            new,
            " WHERE excluded.as_of > usage.as_of \
             OR (excluded.as_of = usage.as_of AND excluded.report_id > usage.report_id)",
        )
        .await
    }

    /// Inserts or updates a usage row; `condition` limits the update.
    async fn upsert_usage(&mut self, new: &Usage, condition: &str) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO usage (pi_id, entitlement_tag, feature, count, as_of, report_id) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (pi_id, entitlement_tag) DO UPDATE SET feature = excluded.feature, count = excluded.count, \
             as_of = excluded.as_of, report_id = excluded.report_id{condition}",
        ))
        .bind(new.pi_id)
        .bind(&new.entitlement_tag)
        .bind(&new.feature)
        .bind(new.count)
        .bind(new.as_of)
        .bind(new.report_id)
        .execute(&mut *self.tx)
        .await
        .map_err(db("recording usage"))?;
        Ok(())
    }

    /// The usage of every product instance of a virtual account.
    pub async fn va_usage(&mut self, va_id: i64) -> Result<Vec<Usage>> {
        sqlx::query_as(&format!("{USAGE} WHERE p.va_id = $1 ORDER BY p.udi, u.feature"))
            .bind(va_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("reading usage"))
    }

    /// The usage of the product instances with the given ids (a page of [`Tx::pis_page`]).
    pub async fn usage_of_pis(&mut self, pi_ids: &[i64]) -> Result<Vec<Usage>> {
        let mut out = Vec::new();
        // One statement per bounded chunk: a page is at most a few thousand instances.
        for chunk in pi_ids.chunks(500) {
            let marks = marks(self.backend, 1, chunk.len()).join(", ");
            let sql = format!("{USAGE} WHERE u.pi_id IN ({marks}) ORDER BY p.udi, u.feature");
            let mut query = sqlx::query_as(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            out.extend(query.fetch_all(&mut *self.tx).await.map_err(db("reading usage"))?);
        }
        Ok(out)
    }
}
