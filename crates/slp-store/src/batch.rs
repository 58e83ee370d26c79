//! The ingest's lookups and writes for a group of documents, each sent to the database at once.
//!
//! A group of `reportusage` requests (the authority's group commit) looks up what it needs in
//! four statements and writes what it did in up to eight. On SQLite each statement is a round
//! trip to the connection's own thread, and under load each waited a few hundred microseconds
//! for that thread to be scheduled and to wake the caller again — more than most of the
//! statements took. So on SQLite the statements of a lookup ([`Tx::ingest_lookup`]) or of a
//! write ([`Tx::ingest_write`]) go as one command of several statements, one round trip; on
//! PostgreSQL, whose extended protocol takes one statement at a time, one by one.
//!
//! The writes name product instances and UDIs by their smart account and text, joined to their
//! ids in the statement (`SELECT … FROM (VALUES …) AS v CROSS JOIN virtual_accounts AS va CROSS
//! JOIN udis AS u WHERE va.id = v.column1 AND u.account_id = va.account_id AND u.udi =
//! v.column2`), so that no statement needs an id another one of the same batch returns.

use futures_util::TryStreamExt;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Either, FromRow};

use crate::records::*;
use crate::sql::{db, marks, placeholders};
use crate::tx::{PI, ReportKey, UPLOAD};
use crate::{Backend, Result, StoreError, Tx};

/// A UDI in a smart account: (smart account, UDI).
pub type AccountUdi = (i64, String);

/// Rows a multi-row statement of a batch holds at most (SQLite allows 32 766 values a
/// statement; the widest row here has 9).
const ROWS: usize = 1_000;

/// What [`Tx::ingest_lookup`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestLookup {
    /// The uploads among those asked for (by virtual account and digest).
    pub uploads: Vec<Upload>,
    /// The (smart account, UDI, report id) keys asked for that name a stored report.
    pub reports: Vec<ReportKey>,
    /// The product instances registered among the (smart account, UDI) asked for.
    pub pis: Vec<ProductInstance>,
    /// (poll id, virtual account, action) of the polls asked for that are stored.
    pub polls: Vec<(i64, i64, String)>,
}

/// What [`Tx::ingest_write`] stores, in this order.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestWrite<'a> {
    /// Product instances to register (their `id` is not read), with trust and contact as given.
    pub new_pis: &'a [ProductInstance],
    /// Reports found new in this transaction: all are stored, or the write is refused.
    pub reports: &'a [ReceivedReport],
    /// Contact with product instances, by when; a `Some` hostname replaces the stored one.
    pub touches: &'a [Contact],
    /// Events, written in order.
    pub events: &'a [NewEvent],
    /// Usage, at most one row per instance and license, with the smart account of its product
    /// instance; each names its product instance by (smart account, UDI) (its `pi_id` is not
    /// read), and is kept unless the stored usage is from a newer report (by end time, then
    /// report id).
    pub usage: &'a [(i64, Usage)],
    /// Uploads whose digests the virtual accounts do not have yet.
    pub uploads: &'a [NewUpload],
    /// Poll results; a poll id stored already keeps its first result.
    pub polls: &'a [PollRecord],
}

/// Contact at one time: (when, [(product instance id, hostname)]).
pub type Contact = (i64, Vec<(i64, Option<String>)>);

/// A value bound to a statement of a batch.
#[derive(Debug, Clone, Copy)]
enum Value<'q> {
    Int(i64),
    OptInt(Option<i64>),
    Text(&'q str),
    OptText(Option<&'q str>),
}

/// What a statement of a batch is, so that its outcome can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Uploads,
    /// Of one smart account.
    Reports(i64),
    Pis,
    Polls,
    /// Must store each of its `rows` rows of `of`, from the `first`-th on.
    All {
        of: Stored,
        rows: usize,
        first: usize,
    },
    Other,
}

/// What a write that must store every row stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    Pis,
    Reports,
    Uploads,
}

struct Stmt<'q> {
    sql: String,
    values: Vec<Value<'q>>,
    part: Part,
}

fn bind<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    value: Value<'q>,
) -> Query<'q, Any, AnyArguments<'q>> {
    match value {
        Value::Int(v) => query.bind(v),
        Value::OptInt(v) => query.bind(v),
        Value::Text(v) => query.bind(v),
        Value::OptText(v) => query.bind(v),
    }
}

impl Tx {
    /// Runs `statements` in order and returns, for each, the rows it changed and the rows it
    /// returned. SQLite: as one command (see the module's note); PostgreSQL: one by one.
    async fn run_batch(
        &mut self,
        statements: &[Stmt<'_>],
        op: &'static str,
    ) -> Result<Vec<(u64, Vec<AnyRow>)>> {
        let mut out = Vec::with_capacity(statements.len());
        let sqlite = self.backend == Backend::Sqlite;
        let commands: Vec<(String, Vec<Value<'_>>)> = if sqlite {
            if statements.is_empty() {
                return Ok(out);
            }
            let sql = statements.iter().map(|s| s.sql.as_str()).collect::<Vec<_>>().join(";\n");
            let values = statements.iter().flat_map(|s| s.values.iter().copied()).collect();
            vec![(sql, values)]
        } else {
            statements.iter().map(|s| (s.sql.clone(), s.values.clone())).collect()
        };
        for (sql, values) in &commands {
            // Kept prepared in the connection's cache (by text): a group shaped like an earlier
            // one, the usual case for a steady stream of requests, reuses its statements, and
            // preparing a many-row statement costs about as much as running it.
            let mut query = sqlx::query(sql);
            for value in values {
                query = bind(query, *value);
            }
            // sqlx's SQLite driver runs the statements of one text in order, binding each the
            // next of the values, and ends each statement's rows with its outcome
            // (`Either::Left`). sqlx marks `fetch_many` deprecated because PostgreSQL cannot
            // run several statements so; here it only ever gets one there.
            #[allow(deprecated)]
            let mut stream = query.fetch_many(&mut *self.tx);
            let mut rows = Vec::new();
            while let Some(item) = stream.try_next().await.map_err(db(op))? {
                match item {
                    Either::Left(done) => {
                        out.push((done.rows_affected(), std::mem::take(&mut rows)));
                    }
                    Either::Right(row) => rows.push(row),
                }
            }
        }
        if out.len() != statements.len() {
            return Err(StoreError::Database {
                op,
                source: sqlx::Error::Protocol(format!(
                    "{} statements sent, {} finished",
                    statements.len(),
                    out.len()
                )),
            });
        }
        Ok(out)
    }

    /// Looks up, in one round trip on SQLite, what a group of documents needs: the uploads of
    /// each virtual account among `digests` (virtual account, digests), which of the (smart
    /// account, UDI, report id) `reports` are stored, the product instances of `udis` (smart
    /// account, UDI), and the polls of `poll_ids`.
    pub async fn ingest_lookup(
        &mut self,
        digests: &[(i64, Vec<String>)],
        reports: &[ReportKey],
        udis: &[AccountUdi],
        poll_ids: &[i64],
    ) -> Result<IngestLookup> {
        use std::collections::{BTreeMap, BTreeSet};
        let backend = self.backend;
        let mut statements = Vec::new();
        for (va_id, digests) in digests {
            for chunk in digests.chunks(ROWS) {
                let all = marks(backend, 1, chunk.len() + 1);
                let mut values = vec![Value::Int(*va_id)];
                values.extend(chunk.iter().map(|d| Value::Text(d)));
                statements.push(Stmt {
                    sql: format!(
                        "{UPLOAD} WHERE va_id = {} AND sha256 IN ({})",
                        all[0],
                        all[1..].join(", ")
                    ),
                    values,
                    part: Part::Uploads,
                });
            }
        }
        let asked: BTreeSet<(i64, &str, i64)> =
            reports.iter().map(|(account, udi, id)| (*account, udi.as_str(), *id)).collect();
        let mut by_account: BTreeMap<i64, Vec<(&str, i64)>> = BTreeMap::new();
        for (account, udi, id) in &asked {
            by_account.entry(*account).or_default().push((udi, *id));
        }
        for (account, pairs) in &by_account {
            for chunk in pairs.chunks(ROWS) {
                let udis: BTreeSet<&str> = chunk.iter().map(|(u, _)| *u).collect();
                let ids: BTreeSet<i64> = chunk.iter().map(|(_, id)| *id).collect();
                // Bound in the order the marks are written (SQLite's `?` are numbered so).
                let all = marks(backend, 1, ids.len() + 1 + udis.len());
                let (id_marks, rest) = all.split_at(ids.len());
                let (account_mark, udi_marks) = rest.split_at(1);
                let mut values: Vec<Value<'_>> = ids.iter().map(|id| Value::Int(*id)).collect();
                values.push(Value::Int(*account));
                values.extend(udis.iter().map(|u| Value::Text(u)));
                // Every UDI of the account with those of its reports whose ids were asked for
                // (of any of the UDIs: the keys are picked out below).
                statements.push(Stmt {
                    sql: format!(
                        "SELECT u.udi, r.report_id FROM udis u \
                         JOIN reports r ON r.udi_id = u.id AND r.report_id IN ({}) \
                         WHERE u.account_id = {} AND u.udi IN ({})",
                        id_marks.join(", "),
                        account_mark.join(""),
                        udi_marks.join(", ")
                    ),
                    values,
                    part: Part::Reports(*account),
                });
            }
        }
        let mut udis_by_account: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
        for (account, udi) in udis {
            udis_by_account.entry(*account).or_default().push(udi);
        }
        for (account, udis) in &udis_by_account {
            for chunk in udis.chunks(ROWS) {
                let all = marks(backend, 1, chunk.len() + 1);
                let mut values = vec![Value::Int(*account)];
                values.extend(chunk.iter().map(|u| Value::Text(u)));
                statements.push(Stmt {
                    sql: format!(
                        "{PI} WHERE account_id = {} AND udi IN ({})",
                        all[0],
                        all[1..].join(", ")
                    ),
                    values,
                    part: Part::Pis,
                });
            }
        }
        for chunk in poll_ids.chunks(ROWS) {
            statements.push(Stmt {
                sql: format!(
                    "SELECT poll_id, va_id, action FROM polls WHERE poll_id IN ({})",
                    marks(backend, 1, chunk.len()).join(", ")
                ),
                values: chunk.iter().map(|id| Value::Int(*id)).collect(),
                part: Part::Polls,
            });
        }
        let op = "looking up uploads, reports, product instances and polls";
        let done = self.run_batch(&statements, op).await?;
        let mut found = IngestLookup::default();
        for (stmt, (_, rows)) in statements.iter().zip(&done) {
            for row in rows {
                match stmt.part {
                    Part::Uploads => found.uploads.push(Upload::from_row(row).map_err(db(op))?),
                    Part::Reports(account) => {
                        let (udi, report_id): (String, i64) =
                            FromRow::from_row(row).map_err(db(op))?;
                        if asked.contains(&(account, udi.as_str(), report_id)) {
                            found.reports.push((account, udi, report_id));
                        }
                    }
                    Part::Pis => found.pis.push(ProductInstance::from_row(row).map_err(db(op))?),
                    Part::Polls => found.polls.push(FromRow::from_row(row).map_err(db(op))?),
                    Part::All { .. } | Part::Other => {}
                }
            }
        }
        Ok(found)
    }

    /// Stores what a group of documents did, in one round trip on SQLite (see
    /// [`IngestWrite`] for each part). A product instance, report or upload that turns out to
    /// be stored already (by another replica that did not wait for the same lock) refuses the
    /// write with [`StoreError::Duplicate`]; the caller rolls back.
    pub async fn ingest_write(&mut self, write: &IngestWrite<'_>) -> Result<()> {
        let backend = self.backend;
        let mut statements: Vec<Stmt<'_>> = Vec::new();
        for (start, chunk) in (0..).step_by(ROWS).zip(write.new_pis.chunks(ROWS)) {
            let mut sql = String::from(
                "INSERT INTO product_instances (va_id, account_id, udi, hostname, public_key, trust_id, trusted_at, first_seen, last_contact, key_seen) VALUES ",
            );
            sql.push_str(&placeholders(backend, chunk.len(), 10));
            sql.push_str(" ON CONFLICT (account_id, udi) DO NOTHING");
            let mut values = Vec::with_capacity(chunk.len() * 10);
            for p in chunk {
                values.extend([
                    Value::Int(p.va_id),
                    Value::Int(p.account_id),
                    Value::Text(&p.udi),
                    Value::OptText(p.hostname.as_deref()),
                    Value::Text(&p.public_key),
                    Value::OptInt(p.trust_id),
                    Value::OptInt(p.trusted_at),
                    Value::Int(p.first_seen),
                    Value::Int(p.last_contact),
                    Value::OptText(p.key_seen.as_deref()),
                ]);
            }
            let part = Part::All { of: Stored::Pis, rows: chunk.len(), first: start };
            statements.push(Stmt { sql, values, part });
        }
        // Every UDI a report names gets an id in the report's smart account (kept for good),
        // then the reports name theirs.
        let mut udis: Vec<(i64, &str)> =
            write.reports.iter().map(|r| (r.va_id, r.udi.as_str())).collect();
        udis.sort_unstable();
        udis.dedup();
        for chunk in udis.chunks(ROWS) {
            let mut values = Vec::with_capacity(chunk.len() * 2);
            for (va_id, udi) in chunk {
                values.extend([Value::Int(*va_id), Value::Text(udi)]);
            }
            statements.push(Stmt {
                sql: format!(
                    "INSERT INTO udis (account_id, udi) \
                     SELECT va.account_id, v.column2 FROM (VALUES {}) AS v \
                     CROSS JOIN virtual_accounts AS va WHERE va.id = v.column1 \
                     ON CONFLICT (account_id, udi) DO NOTHING",
                    placeholders(backend, chunk.len(), 2)
                ),
                values,
                part: Part::Other,
            });
        }
        for (start, chunk) in (0..).step_by(ROWS).zip(write.reports.chunks(ROWS)) {
            // The rows join the UDIs once, not one subquery each: SQLite opens a cursor for
            // every subquery of a statement, and opening one walks all those open, so a
            // statement of n subqueries cost n² (a fifth of a 1 000-report group's time).
            let sql = format!(
                "INSERT INTO reports (va_id, udi_id, report_id, entitlement_tag, count, end_time, status, received_at, envelope) \
                 SELECT v.column1, u.id, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8, v.column9 \
                 FROM (VALUES {}) AS v CROSS JOIN virtual_accounts AS va CROSS JOIN udis AS u \
                 WHERE va.id = v.column1 AND u.account_id = va.account_id AND u.udi = v.column2 \
                 ON CONFLICT (udi_id, report_id) DO NOTHING",
                placeholders(backend, chunk.len(), 9)
            );
            let mut values = Vec::with_capacity(chunk.len() * 9);
            for r in chunk {
                values.extend([
                    Value::Int(r.va_id),
                    Value::Text(&r.udi),
                    Value::Int(r.report_id),
                    Value::Text(&r.entitlement_tag),
                    Value::Int(r.count),
                    Value::Int(r.end_time),
                    Value::Text(&r.status),
                    Value::Int(r.received_at),
                    Value::Text(&r.envelope),
                ]);
            }
            let part = Part::All { of: Stored::Reports, rows: chunk.len(), first: start };
            statements.push(Stmt { sql, values, part });
        }
        // Each row names its product instance, hostname and time; joined once (a CASE over
        // the ids would compare every row with every id).
        let touches: Vec<(i64, Option<&str>, i64)> = write
            .touches
            .iter()
            .flat_map(|(at, touched)| {
                touched.iter().map(move |(id, hostname)| (*id, hostname.as_deref(), *at))
            })
            .collect();
        for chunk in touches.chunks(ROWS) {
            let sql = format!(
                "UPDATE product_instances SET last_contact = v.column3, \
                 hostname = COALESCE(v.column2, product_instances.hostname) \
                 FROM (VALUES {}) AS v WHERE product_instances.id = v.column1",
                placeholders(backend, chunk.len(), 3)
            );
            let mut values = Vec::with_capacity(chunk.len() * 3);
            for (id, hostname, at) in chunk {
                values.extend([Value::Int(*id), Value::OptText(*hostname), Value::Int(*at)]);
            }
            statements.push(Stmt { sql, values, part: Part::Other });
        }
        for chunk in write.events.chunks(ROWS) {
            let mut sql = String::from(
                "INSERT INTO events (at, account_id, va_id, udi, message, actor) VALUES ",
            );
            sql.push_str(&placeholders(backend, chunk.len(), 6));
            let mut values = Vec::with_capacity(chunk.len() * 6);
            for e in chunk {
                values.extend([
                    Value::Int(e.at),
                    Value::OptInt(e.account_id),
                    Value::OptInt(e.va_id),
                    Value::OptText(e.udi.as_deref()),
                    Value::Text(&e.message),
                    Value::Text(&e.actor),
                ]);
            }
            statements.push(Stmt { sql, values, part: Part::Other });
        }
        for chunk in write.usage.chunks(ROWS) {
            // Joined once, as the reports are.
            let sql = format!(
                "INSERT INTO usage (pi_id, entitlement_tag, feature, count, as_of, report_id) \
                 SELECT p.id, v.column3, v.column4, v.column5, v.column6, v.column7 \
                 FROM (VALUES {}) AS v CROSS JOIN product_instances AS p \
                 WHERE p.account_id = v.column1 AND p.udi = v.column2 \
                 ON CONFLICT (pi_id, entitlement_tag) DO UPDATE SET feature = excluded.feature, count = excluded.count, \
                 as_of = excluded.as_of, report_id = excluded.report_id \
                 WHERE excluded.as_of > usage.as_of OR (excluded.as_of = usage.as_of AND excluded.report_id > usage.report_id)",
                placeholders(backend, chunk.len(), 7)
            );
            let mut values = Vec::with_capacity(chunk.len() * 7);
            for (account, u) in chunk {
                values.extend([
                    Value::Int(*account),
                    Value::Text(&u.udi),
                    Value::Text(&u.entitlement_tag),
                    Value::Text(&u.feature),
                    Value::Int(u.count),
                    Value::Int(u.as_of),
                    Value::Int(u.report_id),
                ]);
            }
            statements.push(Stmt { sql, values, part: Part::Other });
        }
        for (start, chunk) in (0..).step_by(ROWS).zip(write.uploads.chunks(ROWS)) {
            let mut sql = String::from(
                "INSERT INTO uploads (va_id, file_name, sha256, uploaded_at, status, pi_count, report_count, ack) VALUES ",
            );
            sql.push_str(&placeholders(backend, chunk.len(), 8));
            sql.push_str(" ON CONFLICT (va_id, sha256) DO NOTHING");
            let mut values = Vec::with_capacity(chunk.len() * 8);
            for u in chunk {
                values.extend([
                    Value::Int(u.va_id),
                    Value::Text(&u.file_name),
                    Value::Text(&u.sha256),
                    Value::Int(u.uploaded_at),
                    Value::Text(&u.status),
                    Value::Int(u.pi_count),
                    Value::Int(u.report_count),
                    Value::Text(&u.ack),
                ]);
            }
            let part = Part::All { of: Stored::Uploads, rows: chunk.len(), first: start };
            statements.push(Stmt { sql, values, part });
        }
        for chunk in write.polls.chunks(ROWS) {
            let mut sql = String::from(
                "INSERT INTO polls (poll_id, va_id, action, correlation_id, result, created_at) VALUES ",
            );
            sql.push_str(&placeholders(backend, chunk.len(), 6));
            sql.push_str(" ON CONFLICT (poll_id) DO NOTHING");
            let mut values = Vec::with_capacity(chunk.len() * 6);
            for p in chunk {
                values.extend([
                    Value::Int(p.poll_id),
                    Value::Int(p.va_id),
                    Value::Text(&p.action),
                    Value::Text(&p.correlation_id),
                    Value::Text(&p.result),
                    Value::Int(p.created_at),
                ]);
            }
            statements.push(Stmt { sql, values, part: Part::Other });
        }
        let op = "storing an ingest";
        let done = self.run_batch(&statements, op).await?;
        for (stmt, (stored, _)) in statements.iter().zip(&done) {
            if let Part::All { of, rows, first } = stmt.part
                && usize::try_from(*stored).unwrap_or(usize::MAX) != rows
            {
                let (what, name) = match of {
                    Stored::Pis => {
                        ("product instance", write.new_pis.get(first).map(|p| p.udi.clone()))
                    }
                    Stored::Reports => (
                        "report",
                        write.reports.get(first).map(|r| format!("{} of {}", r.report_id, r.udi)),
                    ),
                    Stored::Uploads => {
                        ("upload", write.uploads.get(first).map(|u| u.file_name.clone()))
                    }
                };
                return Err(StoreError::Duplicate {
                    what,
                    value: format!(
                        "{} of {rows} (from {} on) stored meanwhile by another writer",
                        rows.saturating_sub(usize::try_from(*stored).unwrap_or(rows)),
                        name.unwrap_or_default()
                    ),
                });
            }
        }
        Ok(())
    }
}
