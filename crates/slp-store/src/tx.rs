//! [`Tx`]: every read and write of the store, inside one transaction.

use std::collections::{BTreeSet, HashMap};

use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Connection, Row, Transaction};

use crate::batch::ReportKey;
use crate::records::*;
use crate::users::USER_OF_TOKEN;
use crate::{Backend, Result, StoreError};

/// One transaction. Commit with [`Tx::commit`]; dropping it rolls back.
pub struct Tx {
    pub(crate) tx: Transaction<'static, Any>,
    pub(crate) backend: Backend,
    /// Virtual accounts locked by [`Tx::lock_va`] in this transaction (each is locked once).
    locked_vas: Vec<i64>,
    /// SQLite write transactions hold the store's write gate until they end (field order: the
    /// transaction ends before the gate opens).
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// SQLite write transactions wake the background checkpoint when they commit.
    checkpoints: Option<std::sync::Arc<crate::checkpoint::Checkpoints>>,
    /// SQLite write transactions on a database file sync its log after they commit.
    wal: Option<std::sync::Arc<crate::durable::WalSync>>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").field("backend", &self.backend).finish_non_exhaustive()
    }
}

pub(crate) fn db(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Database { op, source }
}

/// Maps a unique-constraint violation to [`StoreError::Duplicate`].
pub(crate) fn unique(
    op: &'static str,
    what: &'static str,
    value: &str,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    let value = value.to_owned();
    move |source| {
        let duplicate = source.as_database_error().is_some_and(|err| err.is_unique_violation());
        if duplicate {
            StoreError::Duplicate { what, value }
        } else {
            StoreError::Database { op, source }
        }
    }
}

fn account(row: &AnyRow) -> sqlx::Result<Account> {
    Ok(Account {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        domain: row.try_get("domain")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn va(row: &AnyRow) -> sqlx::Result<VirtualAccount> {
    Ok(VirtualAccount {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        first_contact: {
            let text: String = row.try_get("first_contact")?;
            FirstContact::parse(&text).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "first_contact".to_owned(),
                source: format!("{text:?} is not allow or deny").into(),
            })?
        },
    })
}

fn bind_grant(row: &AnyRow) -> sqlx::Result<BindGrant> {
    Ok(BindGrant {
        id: row.try_get("id")?,
        va_id: row.try_get("va_id")?,
        udi: row.try_get("udi")?,
        key_id: row.try_get("key_id")?,
        granted_by: row.try_get("granted_by")?,
        granted_at: row.try_get("granted_at")?,
        used_at: row.try_get("used_at")?,
    })
}

const BIND_GRANT: &str =
    "SELECT id, va_id, udi, key_id, granted_by, granted_at, used_at FROM bind_grants";

fn license(row: &AnyRow) -> sqlx::Result<License> {
    Ok(License {
        id: row.try_get("id")?,
        va_id: row.try_get("va_id")?,
        feature: row.try_get("feature")?,
        entitlement_tag: row.try_get("entitlement_tag")?,
        sku: row.try_get("sku")?,
        quantity: row.try_get("quantity")?,
        term: row.try_get("term")?,
        enforcement: row.try_get("enforcement")?,
        starts_at: row.try_get("starts_at")?,
        expires_at: row.try_get("expires_at")?,
        added_at: row.try_get("added_at")?,
    })
}

pub(crate) fn pi(row: &AnyRow) -> sqlx::Result<ProductInstance> {
    Ok(ProductInstance {
        id: row.try_get("id")?,
        va_id: row.try_get("va_id")?,
        account_id: row.try_get("account_id")?,
        udi: row.try_get("udi")?,
        hostname: row.try_get("hostname")?,
        public_key: row.try_get("public_key")?,
        trust_id: row.try_get("trust_id")?,
        trusted_at: row.try_get("trusted_at")?,
        first_seen: row.try_get("first_seen")?,
        last_contact: row.try_get("last_contact")?,
    })
}

pub(crate) fn usage(row: &AnyRow) -> sqlx::Result<Usage> {
    Ok(Usage {
        pi_id: row.try_get("pi_id")?,
        udi: row.try_get("udi")?,
        entitlement_tag: row.try_get("entitlement_tag")?,
        feature: row.try_get("feature")?,
        count: row.try_get("count")?,
        as_of: row.try_get("as_of")?,
        report_id: row.try_get("report_id")?,
    })
}

pub(crate) fn upload(row: &AnyRow) -> sqlx::Result<Upload> {
    Ok(Upload {
        id: row.try_get("id")?,
        va_id: row.try_get("va_id")?,
        file_name: row.try_get("file_name")?,
        sha256: row.try_get("sha256")?,
        uploaded_at: row.try_get("uploaded_at")?,
        status: row.try_get("status")?,
        pi_count: row.try_get("pi_count")?,
        report_count: row.try_get("report_count")?,
        ack: row.try_get("ack")?,
    })
}

pub(crate) fn authorization(row: &AnyRow) -> sqlx::Result<Authorization> {
    Ok(Authorization {
        id: row.try_get("id")?,
        code_id: row.try_get("code_id")?,
        va_id: row.try_get("va_id")?,
        udi: row.try_get("udi")?,
        entitlement_tag: row.try_get("entitlement_tag")?,
        feature: row.try_get("feature")?,
        count: row.try_get("count")?,
        issued_at: row.try_get("issued_at")?,
        returned_at: row.try_get("returned_at")?,
        return_code: row.try_get("return_code")?,
    })
}

/// The columns of `policies` and `account_policies` after their key (explicit: sqlx's SQLite
/// driver caches `SELECT *` column lists across migrations).
const POLICY_COLUMNS: &str = "name, ack_required, perpetual_first, perpetual_ongoing, perpetual_on_change, \
     subscription_first, subscription_ongoing, subscription_on_change, enforced_first, enforced_ongoing, \
     enforced_on_change, export_first, export_ongoing, export_on_change, updated_at";

fn policy(row: &AnyRow, owner: PolicyOwner) -> sqlx::Result<PolicyRecord> {
    let class = |prefix: &str| -> sqlx::Result<PolicyClassRecord> {
        Ok(PolicyClassRecord {
            first: row.try_get(format!("{prefix}_first").as_str())?,
            ongoing: row.try_get(format!("{prefix}_ongoing").as_str())?,
            on_change: row.try_get(format!("{prefix}_on_change").as_str())?,
        })
    };
    Ok(PolicyRecord {
        owner,
        name: row.try_get("name")?,
        ack_required: row.try_get::<i64, _>("ack_required")? != 0,
        unenforced_perpetual: class("perpetual")?,
        unenforced_subscription: class("subscription")?,
        enforced: class("enforced")?,
        export: class("export")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Keeps the (id, udi) of `rows` in `ids`.
fn collect_udis(rows: &[AnyRow], ids: &mut HashMap<String, i64>) -> sqlx::Result<()> {
    for row in rows {
        ids.insert(row.try_get("udi")?, row.try_get("id")?);
    }
    Ok(())
}

/// The id [`Tx::add_udis`] returned for a UDI (it returns one for each UDI it is given).
fn id_of(ids: &HashMap<String, i64>, udi: &str) -> Result<i64> {
    ids.get(udi).copied().ok_or(StoreError::Database {
        op: "storing a report's UDI",
        source: sqlx::Error::RowNotFound,
    })
}

pub(crate) fn event(row: &AnyRow) -> sqlx::Result<Event> {
    Ok(Event {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        account_id: row.try_get("account_id")?,
        va_id: row.try_get("va_id")?,
        udi: row.try_get("udi")?,
        message: row.try_get("message")?,
        actor: row.try_get("actor")?,
    })
}

pub(crate) fn move_request(row: &AnyRow) -> sqlx::Result<MoveRequest> {
    Ok(MoveRequest {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        va_id: row.try_get("va_id")?,
        target_account: row.try_get("target_account")?,
        target_va: row.try_get("target_va")?,
        feature: row.try_get("feature")?,
        entitlement_tag: row.try_get("entitlement_tag")?,
        quantity: row.try_get("quantity")?,
        reason: row.try_get("reason")?,
        requested_by: row.try_get("requested_by")?,
        requested_at: row.try_get("requested_at")?,
        status: row.try_get("status")?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.try_get("decided_at")?,
        decision_note: row.try_get("decision_note")?,
    })
}

const ACCOUNT: &str = "SELECT id, name, domain, created_at FROM accounts";
pub(crate) const VA: &str =
    "SELECT id, account_id, name, created_at, first_contact FROM virtual_accounts";
const LICENSE: &str = "SELECT id, va_id, feature, entitlement_tag, sku, quantity, term, enforcement, starts_at, expires_at, added_at FROM licenses";
pub(crate) const PI: &str = "SELECT id, va_id, account_id, udi, hostname, public_key, trust_id, trusted_at, first_seen, last_contact FROM product_instances";
pub(crate) const UPLOAD: &str = "SELECT id, va_id, file_name, sha256, uploaded_at, status, pi_count, report_count, ack FROM uploads";
pub(crate) const AUTHORIZATION: &str = "SELECT id, code_id, va_id, udi, entitlement_tag, feature, count, issued_at, returned_at, return_code FROM authorizations";

/// `count` parameter marks numbered from `first`: `$first, …` on PostgreSQL, `?, …` on SQLite.
/// SQLite is given anonymous marks in long statements because sqlx binds each numbered one by
/// asking SQLite its name, which SQLite finds by a walk over every numbered parameter: binding
/// thousands of them took a quadratic time. A statement must use one kind throughout, each mark
/// once and in binding order.
pub(crate) fn marks(backend: Backend, first: usize, count: usize) -> Vec<String> {
    match backend {
        Backend::Sqlite => vec!["?".to_owned(); count],
        Backend::Postgres => (first..first + count).map(|i| format!("${i}")).collect(),
    }
}

/// `($1, $2, …), ($k+1, …), …`: the VALUES of a multi-row insert of `rows` rows (see [`marks`]).
pub(crate) fn placeholders(backend: Backend, rows: usize, columns: usize) -> String {
    use std::fmt::Write as _;
    // Written straight into one string: a multi-row insert has thousands of marks.
    let mut sql = String::with_capacity(rows * (columns * 4 + 4));
    let mut next = 1;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    let _ = write!(sql, "${next}");
                }
            }
            next += 1;
        }
        sql.push(')');
    }
    sql
}

impl Tx {
    pub(crate) fn new(
        tx: Transaction<'static, Any>,
        backend: Backend,
        gate: Option<tokio::sync::OwnedMutexGuard<()>>,
        checkpoints: Option<std::sync::Arc<crate::checkpoint::Checkpoints>>,
        wal: Option<std::sync::Arc<crate::durable::WalSync>>,
    ) -> Tx {
        Tx { tx, backend, locked_vas: Vec::new(), _gate: gate, checkpoints, wal }
    }

    /// Runs a statement that may violate a constraint inside a savepoint, so that its failure
    /// leaves the transaction usable on PostgreSQL as on SQLite.
    pub(crate) async fn guarded_fetch_one<'q>(
        &mut self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> sqlx::Result<AnyRow> {
        let mut savepoint = self.tx.begin().await?;
        let result = query.fetch_one(&mut *savepoint).await;
        match result {
            Ok(row) => savepoint.commit().await.map(|()| row),
            Err(err) => {
                savepoint.rollback().await?;
                Err(err)
            }
        }
    }

    pub(crate) async fn guarded_execute<'q>(
        &mut self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> sqlx::Result<AnyQueryResult> {
        let mut savepoint = self.tx.begin().await?;
        let result = query.execute(&mut *savepoint).await;
        match result {
            Ok(done) => savepoint.commit().await.map(|()| done),
            Err(err) => {
                savepoint.rollback().await?;
                Err(err)
            }
        }
    }

    /// Makes every change of this transaction durable, all at once.
    pub async fn commit(self) -> Result<()> {
        self.commit_pending().await?.durable().await
    }

    /// Commits, and returns before the commit is known to be on disk: the next writer can
    /// begin while [`Commit::durable`] waits for the disk (SQLite; on PostgreSQL `COMMIT`
    /// itself is durable). Nothing may be reported as stored before `durable` returns.
    pub async fn commit_pending(self) -> Result<crate::Commit> {
        let Tx { tx, checkpoints, _gate, wal, .. } = self;
        tx.commit().await.map_err(db("committing"))?;
        let wal = wal.map(|wal| {
            let number = wal.committed();
            (wal, number)
        });
        drop(_gate);
        if let Some(checkpoints) = checkpoints {
            checkpoints.committed();
        }
        Ok(crate::Commit { wal })
    }

    /// Undoes every change of this transaction (dropping the `Tx` does the same).
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await.map_err(db("rolling back"))
    }

    /// Serialises changes to one virtual account across replicas (PostgreSQL row lock; SQLite
    /// write transactions are serialised already). A second call for the same virtual account
    /// in the same transaction asks the database nothing.
    pub async fn lock_va(&mut self, va_id: i64) -> Result<()> {
        if self.backend == Backend::Postgres && !self.locked_vas.contains(&va_id) {
            sqlx::query("SELECT id FROM virtual_accounts WHERE id = $1 FOR UPDATE")
                .bind(va_id)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(db("locking a virtual account"))?;
            self.locked_vas.push(va_id);
        }
        Ok(())
    }

    // ---- settings ------------------------------------------------------------------------

    pub async fn setting(&mut self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("reading a setting"))?;
        row.map(|row| row.try_get("value")).transpose().map_err(db("reading a setting"))
    }

    /// The setting's value; `value` is stored first if the setting is absent. Replicas racing
    /// on first open all get the one value that won.
    pub async fn setting_or_insert(&mut self, name: &str, value: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&mut *self.tx)
        .await
        .map_err(db("storing a setting"))?;
        Ok(self.setting(name).await?.unwrap_or_else(|| value.to_owned()))
    }

    // ---- accounts ------------------------------------------------------------------------

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
        let row = self.guarded_fetch_one(sqlx::query(
            "INSERT INTO accounts (name, domain, created_at) VALUES ($1, $2, $3) RETURNING id, name, domain, created_at",
        )
        .bind(name)
        .bind(domain)
        .bind(now)
        ).await.map_err(unique("creating a smart account", "smart account", name))?;
        account(&row).map_err(db("creating a smart account"))
    }

    /// The account whose domain or name is `key`.
    pub async fn account_by_key(&mut self, key: &str) -> Result<Option<Account>> {
        let row =
            sqlx::query(&format!("{ACCOUNT} WHERE domain = $1 OR name = $1 ORDER BY id LIMIT 1"))
                .bind(key)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(db("finding a smart account"))?;
        row.as_ref().map(account).transpose().map_err(db("finding a smart account"))
    }

    pub async fn account(&mut self, id: i64) -> Result<Option<Account>> {
        let row = sqlx::query(&format!("{ACCOUNT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("reading a smart account"))?;
        row.as_ref().map(account).transpose().map_err(db("reading a smart account"))
    }

    pub async fn accounts(&mut self) -> Result<Vec<Account>> {
        let rows = sqlx::query(&format!("{ACCOUNT} ORDER BY name"))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing smart accounts"))?;
        rows.iter().map(account).collect::<sqlx::Result<_>>().map_err(db("listing smart accounts"))
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
        let row = self.guarded_fetch_one(sqlx::query(
            "INSERT INTO virtual_accounts (account_id, name, created_at) VALUES ($1, $2, $3) RETURNING id, account_id, name, created_at, first_contact",
        )
        .bind(account_id)
        .bind(name)
        .bind(now)
        ).await.map_err(unique("creating a virtual account", "virtual account", name))?;
        va(&row).map_err(db("creating a virtual account"))
    }

    pub async fn va_by_name(
        &mut self,
        account_id: i64,
        name: &str,
    ) -> Result<Option<VirtualAccount>> {
        let row = sqlx::query(&format!("{VA} WHERE account_id = $1 AND name = $2"))
            .bind(account_id)
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("finding a virtual account"))?;
        row.as_ref().map(va).transpose().map_err(db("finding a virtual account"))
    }

    pub async fn va(&mut self, id: i64) -> Result<Option<VirtualAccount>> {
        let row = sqlx::query(&format!("{VA} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("reading a virtual account"))?;
        row.as_ref().map(va).transpose().map_err(db("reading a virtual account"))
    }

    pub async fn vas(&mut self, account_id: i64) -> Result<Vec<VirtualAccount>> {
        let rows = sqlx::query(&format!("{VA} WHERE account_id = $1 ORDER BY name"))
            .bind(account_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing virtual accounts"))?;
        rows.iter().map(va).collect::<sqlx::Result<_>>().map_err(db("listing virtual accounts"))
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

    /// Records an operator's grant (its `id` and `used_at` are ignored); returns it stored.
    pub async fn insert_bind_grant(&mut self, grant: &BindGrant) -> Result<BindGrant> {
        let row = sqlx::query(
            "INSERT INTO bind_grants (va_id, udi, key_id, granted_by, granted_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(grant.va_id)
        .bind(&grant.udi)
        .bind(&grant.key_id)
        .bind(&grant.granted_by)
        .bind(grant.granted_at)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db("recording a bind grant"))?;
        let id: i64 = row.try_get("id").map_err(db("recording a bind grant"))?;
        Ok(BindGrant { id, used_at: None, ..grant.clone() })
    }

    /// The grants for `udi` in a virtual account, oldest first, used or not.
    pub async fn bind_grants(&mut self, va_id: i64, udi: &str) -> Result<Vec<BindGrant>> {
        let rows = sqlx::query(&format!("{BIND_GRANT} WHERE va_id = $1 AND udi = $2 ORDER BY id"))
            .bind(va_id)
            .bind(udi)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("reading bind grants"))?;
        rows.iter().map(bind_grant).collect::<sqlx::Result<_>>().map_err(db("reading bind grants"))
    }

    /// Uses the oldest unused grant that lets `key_id` bind `udi` in the virtual account: it is
    /// marked used at `now` and returned; `None` when there is none. One grant, one binding.
    pub async fn take_bind_grant(
        &mut self,
        va_id: i64,
        udi: &str,
        key_id: &str,
        now: i64,
    ) -> Result<Option<BindGrant>> {
        let row = sqlx::query(&format!(
            "{BIND_GRANT} WHERE va_id = $1 AND udi = $2 AND key_id = $3 AND used_at IS NULL \
             ORDER BY id LIMIT 1"
        ))
        .bind(va_id)
        .bind(udi)
        .bind(key_id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("reading bind grants"))?;
        let Some(grant) =
            row.as_ref().map(bind_grant).transpose().map_err(db("reading bind grants"))?
        else {
            return Ok(None);
        };
        // Used only if still unused: a replica that used it meanwhile leaves nothing to take.
        let done =
            sqlx::query("UPDATE bind_grants SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(now)
                .bind(grant.id)
                .execute(&mut *self.tx)
                .await
                .map_err(db("using a bind grant"))?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        Ok(Some(BindGrant { used_at: Some(now), ..grant }))
    }

    /// How many pool entries and product instances a virtual account holds.
    pub async fn va_holdings(&mut self, id: i64) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM licenses WHERE va_id = $1) AS licenses, (SELECT COUNT(*) FROM product_instances WHERE va_id = $1) AS pis",
        )
        .bind(id)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db("counting a virtual account's holdings"))?;
        let get = |name: &str| row.try_get::<i64, _>(name);
        Ok((get("licenses"), get("pis")))
            .and_then(|(a, b)| Ok((a?, b?)))
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

    // ---- licenses ------------------------------------------------------------------------

    pub async fn insert_license(&mut self, new: &NewLicense) -> Result<License> {
        let row = sqlx::query(
            "INSERT INTO licenses (va_id, feature, entitlement_tag, sku, quantity, term, enforcement, starts_at, expires_at, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(new.va_id)
        .bind(&new.feature)
        .bind(&new.entitlement_tag)
        .bind(&new.sku)
        .bind(new.quantity)
        .bind(&new.term)
        .bind(&new.enforcement)
        .bind(new.starts_at)
        .bind(new.expires_at)
        .bind(new.added_at)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db("adding a license"))?;
        let id: i64 = row.try_get("id").map_err(db("adding a license"))?;
        Ok(License {
            id,
            va_id: new.va_id,
            feature: new.feature.clone(),
            entitlement_tag: new.entitlement_tag.clone(),
            sku: new.sku.clone(),
            quantity: new.quantity,
            term: new.term.clone(),
            enforcement: new.enforcement.clone(),
            starts_at: new.starts_at,
            expires_at: new.expires_at,
            added_at: new.added_at,
        })
    }

    pub async fn licenses(&mut self, va_id: i64) -> Result<Vec<License>> {
        let rows = sqlx::query(&format!("{LICENSE} WHERE va_id = $1 ORDER BY id"))
            .bind(va_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing licenses"))?;
        rows.iter().map(license).collect::<sqlx::Result<_>>().map_err(db("listing licenses"))
    }

    /// Moves a whole license entry to another virtual account.
    pub async fn move_license(&mut self, id: i64, va_id: i64) -> Result<()> {
        sqlx::query("UPDATE licenses SET va_id = $1 WHERE id = $2")
            .bind(va_id)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("moving a license"))?;
        Ok(())
    }

    /// Sets the quantity of a license entry (what stays behind when part of it moves).
    pub async fn set_license_quantity(&mut self, id: i64, quantity: i64) -> Result<()> {
        sqlx::query("UPDATE licenses SET quantity = $1 WHERE id = $2")
            .bind(quantity)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("changing a license quantity"))?;
        Ok(())
    }

    // ---- product instances ---------------------------------------------------------------

    /// The product instance with this UDI in a smart account, in whichever of its virtual
    /// accounts holds it.
    pub async fn pi_by_udi(
        &mut self,
        account_id: i64,
        udi: &str,
    ) -> Result<Option<ProductInstance>> {
        let row = sqlx::query(&format!("{PI} WHERE account_id = $1 AND udi = $2"))
            .bind(account_id)
            .bind(udi)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("finding a product instance"))?;
        row.as_ref().map(pi).transpose().map_err(db("finding a product instance"))
    }

    /// Every product instance with this UDI, of any smart account (a UDI is scoped to its
    /// smart account: several may hold it), oldest first. For the operator and for a device
    /// that names no account (the signing key tells which is its own).
    pub async fn pis_by_udi(&mut self, udi: &str) -> Result<Vec<ProductInstance>> {
        let rows = sqlx::query(&format!("{PI} WHERE udi = $1 ORDER BY id"))
            .bind(udi)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("finding product instances"))?;
        rows.iter().map(pi).collect::<sqlx::Result<_>>().map_err(db("finding product instances"))
    }

    pub async fn insert_pi(&mut self, new: &NewProductInstance) -> Result<ProductInstance> {
        // ON CONFLICT DO NOTHING instead of a savepoint around a failing insert: one round trip.
        let row = sqlx::query(
            "INSERT INTO product_instances (va_id, account_id, udi, hostname, public_key, first_seen, last_contact) \
             SELECT $1, va.account_id, $2, $3, $4, $5, $5 FROM virtual_accounts va \
             WHERE va.id = $1 AND va.account_id = $6 \
             ON CONFLICT (account_id, udi) DO NOTHING RETURNING id",
        )
        .bind(new.va_id)
        .bind(&new.udi)
        .bind(&new.hostname)
        .bind(&new.public_key)
        .bind(new.now)
        .bind(new.account_id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("registering a product instance"))?
        .ok_or_else(|| StoreError::Duplicate { what: "product instance", value: new.udi.clone() })?;
        let id: i64 = row.try_get("id").map_err(db("registering a product instance"))?;
        Ok(new.registered(id))
    }

    pub async fn pis(&mut self, va_id: i64) -> Result<Vec<ProductInstance>> {
        let rows = sqlx::query(&format!("{PI} WHERE va_id = $1 ORDER BY udi"))
            .bind(va_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing product instances"))?;
        rows.iter().map(pi).collect::<sqlx::Result<_>>().map_err(db("listing product instances"))
    }

    /// Moves a product instance (its usage rows follow: they hang off the instance) and its
    /// open authorization codes (their reservations follow the device) to `va_id`, a virtual
    /// account of the same smart account (a UDI is scoped to its smart account; another
    /// account's virtual account is refused, and nothing moves).
    pub async fn move_pi(&mut self, pi: &ProductInstance, va_id: i64) -> Result<()> {
        let moved = sqlx::query(
            "UPDATE product_instances SET va_id = $1 WHERE id = $2 \
             AND account_id = (SELECT account_id FROM virtual_accounts WHERE id = $1)",
        )
        .bind(va_id)
        .bind(pi.id)
        .execute(&mut *self.tx)
        .await
        .map_err(db("moving a product instance"))?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::OutOfRange {
                field: "target virtual account of a product instance",
                value: format!("{va_id} (not of the smart account of {})", pi.udi),
            });
        }
        sqlx::query(
            "UPDATE authorizations SET va_id = $1 WHERE udi = $2 AND va_id = $3 AND returned_at IS NULL",
        )
        .bind(va_id)
        .bind(&pi.udi)
        .bind(pi.va_id)
        .execute(&mut *self.tx)
        .await
        .map_err(db("moving a product instance's authorization codes"))?;
        Ok(())
    }

    /// Removes a product instance and its usage rows; its reports stay (history, and a replay
    /// after re-registration is still recognised).
    pub async fn delete_pi(&mut self, id: i64) -> Result<()> {
        for sql in
            ["DELETE FROM usage WHERE pi_id = $1", "DELETE FROM product_instances WHERE id = $1"]
        {
            sqlx::query(sql)
                .bind(id)
                .execute(&mut *self.tx)
                .await
                .map_err(db("removing a product instance"))?;
        }
        Ok(())
    }

    /// Binds the product instance to another device key.
    pub async fn rebind_pi(&mut self, id: i64, public_key: &str) -> Result<()> {
        sqlx::query("UPDATE product_instances SET public_key = $1 WHERE id = $2")
            .bind(public_key)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("re-binding a product instance"))?;
        Ok(())
    }

    pub async fn set_pi_trust(&mut self, id: i64, trust_id: i64, now: i64) -> Result<()> {
        sqlx::query("UPDATE product_instances SET trust_id = $1, trusted_at = $2 WHERE id = $3")
            .bind(trust_id)
            .bind(now)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("recording trust"))?;
        Ok(())
    }

    // ---- reports and usage ---------------------------------------------------------------

    /// The status of a report already received in a smart account for (udi, report_id), if
    /// any.
    pub async fn report_status(
        &mut self,
        account_id: i64,
        udi: &str,
        report_id: i64,
    ) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT r.status FROM reports r JOIN udis u ON u.id = r.udi_id \
             WHERE u.account_id = $1 AND u.udi = $2 AND r.report_id = $3",
        )
        .bind(account_id)
        .bind(udi)
        .bind(report_id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("looking up a report"))?;
        row.map(|row| row.try_get("status")).transpose().map_err(db("looking up a report"))
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
            let all = marks(self.backend, 1, chunk.len() + 1);
            let sql = format!(
                "SELECT id, udi FROM udis WHERE account_id = {} AND udi IN ({})",
                all[0],
                all[1..].join(", ")
            );
            let mut query = sqlx::query(&sql).bind(account_id);
            for udi in chunk {
                query = query.bind(*udi);
            }
            let rows = query.fetch_all(&mut *self.tx).await.map_err(db("looking up UDIs"))?;
            collect_udis(&rows, &mut ids).map_err(db("looking up UDIs"))?;
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
                "INSERT INTO udis (account_id, udi) VALUES {} ON CONFLICT (account_id, udi) DO NOTHING RETURNING id, udi",
                placeholders(self.backend, chunk.len(), 2)
            );
            let mut query = sqlx::query(&sql);
            for udi in chunk {
                query = query.bind(account_id).bind(*udi);
            }
            let rows = query.fetch_all(&mut *self.tx).await.map_err(db("storing UDIs"))?;
            collect_udis(&rows, &mut ids).map_err(db("storing UDIs"))?;
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
        sqlx::query("SELECT COUNT(*) AS n FROM reports WHERE va_id = $1")
            .bind(va_id)
            .fetch_one(&mut *self.tx)
            .await
            .and_then(|row| row.try_get("n"))
            .map_err(db("counting reports"))
    }

    pub async fn usage(&mut self, pi_id: i64, entitlement_tag: &str) -> Result<Option<Usage>> {
        let row = sqlx::query(
            "SELECT u.pi_id, p.udi, u.entitlement_tag, u.feature, u.count, u.as_of, u.report_id \
             FROM usage u JOIN product_instances p ON p.id = u.pi_id WHERE u.pi_id = $1 AND u.entitlement_tag = $2",
        )
        .bind(pi_id)
        .bind(entitlement_tag)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("reading usage"))?;
        row.as_ref().map(usage).transpose().map_err(db("reading usage"))
    }

    /// Sets the usage of one entitlement by one product instance.
    pub async fn set_usage(&mut self, new: &Usage) -> Result<()> {
        sqlx::query(
            "INSERT INTO usage (pi_id, entitlement_tag, feature, count, as_of, report_id) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (pi_id, entitlement_tag) DO UPDATE SET feature = excluded.feature, count = excluded.count, \
             as_of = excluded.as_of, report_id = excluded.report_id",
        )
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

    /// Records usage unless the stored usage of that instance and license comes from a newer
    /// report (by end time, then report id): one statement.
    pub async fn set_usage_if_newer(&mut self, new: &Usage) -> Result<()> {
        sqlx::query(
            "INSERT INTO usage (pi_id, entitlement_tag, feature, count, as_of, report_id) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (pi_id, entitlement_tag) DO UPDATE SET feature = excluded.feature, count = excluded.count, \
             as_of = excluded.as_of, report_id = excluded.report_id \
             WHERE excluded.as_of > usage.as_of OR (excluded.as_of = usage.as_of AND excluded.report_id > usage.report_id)",
        )
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
        let rows = sqlx::query(
            "SELECT u.pi_id, p.udi, u.entitlement_tag, u.feature, u.count, u.as_of, u.report_id \
             FROM usage u JOIN product_instances p ON p.id = u.pi_id WHERE p.va_id = $1 ORDER BY p.udi, u.feature",
        )
        .bind(va_id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db("reading usage"))?;
        rows.iter().map(usage).collect::<sqlx::Result<_>>().map_err(db("reading usage"))
    }

    // ---- uploads -------------------------------------------------------------------------

    pub async fn upload_by_sha(&mut self, va_id: i64, sha256: &str) -> Result<Option<Upload>> {
        let row = sqlx::query(&format!("{UPLOAD} WHERE va_id = $1 AND sha256 = $2"))
            .bind(va_id)
            .bind(sha256)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("finding an upload"))?;
        row.as_ref().map(upload).transpose().map_err(db("finding an upload"))
    }

    /// The uploads of a virtual account among `digests` (one statement; absent ones left out).
    pub async fn uploads_by_sha(&mut self, va_id: i64, digests: &[String]) -> Result<Vec<Upload>> {
        let mut out = Vec::new();
        for chunk in digests.chunks(1_000) {
            let all = marks(self.backend, 1, chunk.len() + 1);
            let sql = format!(
                "{UPLOAD} WHERE va_id = {} AND sha256 IN ({})",
                all[0],
                all[1..].join(", ")
            );
            let mut query = sqlx::query(&sql).bind(va_id);
            for digest in chunk {
                query = query.bind(digest);
            }
            let rows = query.fetch_all(&mut *self.tx).await.map_err(db("finding uploads"))?;
            for row in &rows {
                out.push(upload(row).map_err(db("finding uploads"))?);
            }
        }
        Ok(out)
    }

    pub async fn insert_upload(&mut self, new: &NewUpload) -> Result<Upload> {
        let row = sqlx::query(
            "INSERT INTO uploads (va_id, file_name, sha256, uploaded_at, status, pi_count, report_count, ack) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (va_id, sha256) DO NOTHING RETURNING id",
        )
        .bind(new.va_id)
        .bind(&new.file_name)
        .bind(&new.sha256)
        .bind(new.uploaded_at)
        .bind(&new.status)
        .bind(new.pi_count)
        .bind(new.report_count)
        .bind(&new.ack)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("recording an upload"))?
        .ok_or_else(|| StoreError::Duplicate { what: "upload", value: new.file_name.clone() })?;
        let id: i64 = row.try_get("id").map_err(db("recording an upload"))?;
        Ok(Upload {
            id,
            va_id: new.va_id,
            file_name: new.file_name.clone(),
            sha256: new.sha256.clone(),
            uploaded_at: new.uploaded_at,
            status: new.status.clone(),
            pi_count: new.pi_count,
            report_count: new.report_count,
            ack: new.ack.clone(),
        })
    }

    pub async fn uploads(&mut self, va_id: i64) -> Result<Vec<Upload>> {
        let rows = sqlx::query(&format!("{UPLOAD} WHERE va_id = $1 ORDER BY id"))
            .bind(va_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing uploads"))?;
        rows.iter().map(upload).collect::<sqlx::Result<_>>().map_err(db("listing uploads"))
    }

    // ---- authorization codes -------------------------------------------------------------

    pub async fn insert_authorization(&mut self, new: &NewAuthorization) -> Result<Authorization> {
        let row = self.guarded_fetch_one(sqlx::query(
            "INSERT INTO authorizations (code_id, va_id, udi, entitlement_tag, feature, count, issued_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&new.code_id)
        .bind(new.va_id)
        .bind(&new.udi)
        .bind(&new.entitlement_tag)
        .bind(&new.feature)
        .bind(new.count)
        .bind(new.issued_at)
        ).await.map_err(unique("issuing an authorization code", "authorization code", &new.code_id))?;
        let id: i64 = row.try_get("id").map_err(db("issuing an authorization code"))?;
        Ok(Authorization {
            id,
            code_id: new.code_id.clone(),
            va_id: new.va_id,
            udi: new.udi.clone(),
            entitlement_tag: new.entitlement_tag.clone(),
            feature: new.feature.clone(),
            count: new.count,
            issued_at: new.issued_at,
            returned_at: None,
            return_code: None,
        })
    }

    /// Every authorization-code entitlement of a virtual account, returned or not.
    pub async fn authorizations(&mut self, va_id: i64) -> Result<Vec<Authorization>> {
        let rows = sqlx::query(&format!("{AUTHORIZATION} WHERE va_id = $1 ORDER BY id"))
            .bind(va_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing authorization codes"))?;
        rows.iter()
            .map(authorization)
            .collect::<sqlx::Result<_>>()
            .map_err(db("listing authorization codes"))
    }

    /// The entitlements of one code.
    pub async fn authorization_code(&mut self, code_id: &str) -> Result<Vec<Authorization>> {
        let rows = sqlx::query(&format!("{AUTHORIZATION} WHERE code_id = $1 ORDER BY id"))
            .bind(code_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("reading an authorization code"))?;
        rows.iter()
            .map(authorization)
            .collect::<sqlx::Result<_>>()
            .map_err(db("reading an authorization code"))
    }

    /// Unreturned codes of one UDI in a smart account.
    pub async fn open_authorizations_of(
        &mut self,
        account_id: i64,
        udi: &str,
    ) -> Result<Vec<Authorization>> {
        let rows = sqlx::query(&format!(
            "{AUTHORIZATION} WHERE udi = $1 AND returned_at IS NULL \
             AND va_id IN (SELECT id FROM virtual_accounts WHERE account_id = $2) ORDER BY id"
        ))
        .bind(udi)
        .bind(account_id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db("reading authorization codes"))?;
        rows.iter()
            .map(authorization)
            .collect::<sqlx::Result<_>>()
            .map_err(db("reading authorization codes"))
    }

    /// Sum of unreturned counts of one entitlement in a virtual account.
    pub async fn reserved(&mut self, va_id: i64, entitlement_tag: &str) -> Result<i64> {
        sqlx::query(
            "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS n FROM authorizations \
             WHERE va_id = $1 AND entitlement_tag = $2 AND returned_at IS NULL",
        )
        .bind(va_id)
        .bind(entitlement_tag)
        .fetch_one(&mut *self.tx)
        .await
        .and_then(|row| row.try_get("n"))
        .map_err(db("counting reserved licenses"))
    }

    /// Marks every unreturned entitlement of a code returned; how many rows changed.
    pub async fn return_authorization(
        &mut self,
        code_id: &str,
        return_code: &str,
        now: i64,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE authorizations SET returned_at = $1, return_code = $2 WHERE code_id = $3 AND returned_at IS NULL",
        )
        .bind(now)
        .bind(return_code)
        .bind(code_id)
        .execute(&mut *self.tx)
        .await
        .map_err(db("returning an authorization code"))?;
        Ok(done.rows_affected())
    }

    // ---- policies ------------------------------------------------------------------------

    /// The custom policy of a smart or virtual account itself (not inherited).
    pub async fn policy(&mut self, owner: PolicyOwner) -> Result<Option<PolicyRecord>> {
        let (table, key, id) = owner.place();
        let row = sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM {table} WHERE {key} = $1"))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("reading a policy"))?;
        row.as_ref().map(|r| policy(r, owner)).transpose().map_err(db("reading a policy"))
    }

    /// The custom policy in force for a virtual account: its own, else its smart account's,
    /// else none (the Cisco default applies).
    pub async fn policy_in_force(&mut self, va_id: i64) -> Result<Option<PolicyRecord>> {
        if let Some(own) = self.policy(PolicyOwner::VirtualAccount(va_id)).await? {
            return Ok(Some(own));
        }
        let row = sqlx::query(&format!(
            "SELECT p.account_id, {} FROM account_policies p \
             JOIN virtual_accounts v ON v.account_id = p.account_id WHERE v.id = $1",
            POLICY_COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ")
        ))
        .bind(va_id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("reading a smart account's policy"))?;
        let Some(row) = row else { return Ok(None) };
        let account_id: i64 =
            row.try_get("account_id").map_err(db("reading a smart account's policy"))?;
        policy(&row, PolicyOwner::SmartAccount(account_id))
            .map(Some)
            .map_err(db("reading a smart account's policy"))
    }

    /// Creates or replaces a smart or virtual account's custom policy.
    pub async fn set_policy(&mut self, record: &PolicyRecord) -> Result<()> {
        let c = [
            record.unenforced_perpetual,
            record.unenforced_subscription,
            record.enforced,
            record.export,
        ];
        let (table, key, id) = record.owner.place();
        let updates: Vec<String> =
            POLICY_COLUMNS.split(", ").map(|c| format!("{c} = excluded.{c}")).collect();
        sqlx::query(&format!(
            "INSERT INTO {table} ({key}, {POLICY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT ({key}) DO UPDATE SET {}",
            updates.join(", ")
        ))
        .bind(id)
        .bind(&record.name)
        .bind(i64::from(record.ack_required))
        .bind(c[0].first)
        .bind(c[0].ongoing)
        .bind(c[0].on_change)
        .bind(c[1].first)
        .bind(c[1].ongoing)
        .bind(c[1].on_change)
        .bind(c[2].first)
        .bind(c[2].ongoing)
        .bind(c[2].on_change)
        .bind(c[3].first)
        .bind(c[3].ongoing)
        .bind(c[3].on_change)
        .bind(record.updated_at)
        .execute(&mut *self.tx)
        .await
        .map_err(db("storing a policy"))?;
        Ok(())
    }

    /// Removes a smart or virtual account's custom policy; true when there was one.
    pub async fn clear_policy(&mut self, owner: PolicyOwner) -> Result<bool> {
        let (table, key, id) = owner.place();
        let done = sqlx::query(&format!("DELETE FROM {table} WHERE {key} = $1"))
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("removing a policy"))?;
        Ok(done.rows_affected() > 0)
    }

    // ---- events --------------------------------------------------------------------------

    // ---- ID tokens ----------------------------------------------------------------------

    pub async fn insert_token(&mut self, token: &IdToken) -> Result<IdToken> {
        let row = self
            .guarded_fetch_one(
                sqlx::query(
                    "INSERT INTO id_tokens (va_id, token_hash, description, created_at, expires_at, max_uses, uses) \
                     VALUES ($1, $2, $3, $4, $5, $6, 0) RETURNING id",
                )
                .bind(token.va_id)
                .bind(&token.token_hash)
                .bind(&token.description)
                .bind(token.created_at)
                .bind(token.expires_at)
                .bind(token.max_uses),
            )
            .await
            .map_err(unique("creating an ID token", "ID token", &token.description))?;
        let id: i64 = row.try_get("id").map_err(db("creating an ID token"))?;
        Ok(IdToken { id, uses: 0, revoked_at: None, ..token.clone() })
    }

    pub async fn token_by_hash(&mut self, token_hash: &str) -> Result<Option<IdToken>> {
        let row = sqlx::query(&format!("{TOKEN} WHERE token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("finding an ID token"))?;
        row.as_ref().map(id_token).transpose().map_err(db("finding an ID token"))
    }

    pub async fn tokens(&mut self, va_id: i64) -> Result<Vec<IdToken>> {
        let rows = sqlx::query(&format!("{TOKEN} WHERE va_id = $1 ORDER BY id"))
            .bind(va_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing ID tokens"))?;
        rows.iter().map(id_token).collect::<sqlx::Result<_>>().map_err(db("listing ID tokens"))
    }

    /// Takes one use of token `id` if it has one left: not revoked, not expired at `now` and
    /// under its `max_uses`. One conditional statement, so two transactions never both take the
    /// last use (on PostgreSQL the second waits for the first's row lock, then finds the use
    /// gone; on SQLite writers run one at a time). Returns whether the use was taken; the
    /// caller does its work in the same transaction, so a refusal after it gives the use back.
    pub async fn claim_token(&mut self, id: i64, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE id_tokens SET uses = uses + 1 WHERE id = $1 AND revoked_at IS NULL \
             AND expires_at > $2 AND (max_uses IS NULL OR uses < max_uses)",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *self.tx)
        .await
        .map_err(db("using an ID token"))?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn revoke_token(&mut self, id: i64, now: i64) -> Result<()> {
        sqlx::query("UPDATE id_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("revoking an ID token"))?;
        Ok(())
    }

    // ---- savepoints ----------------------------------------------------------------------

    /// Opens a savepoint named `name` (a plain identifier chosen by the caller): the work
    /// after it can be undone alone with [`Tx::rollback_to`], keeping what came before.
    pub async fn savepoint(&mut self, name: &'static str) -> Result<()> {
        sqlx::query(&format!("SAVEPOINT {name}"))
            .execute(&mut *self.tx)
            .await
            .map_err(db("opening a savepoint"))?;
        Ok(())
    }

    /// Undoes everything since [`Tx::savepoint`] `name` and ends it.
    pub async fn rollback_to(&mut self, name: &'static str) -> Result<()> {
        // Row locks taken since the savepoint are released with it: forget them all (a lock
        // taken before is only asked for again).
        self.locked_vas.clear();
        for sql in [format!("ROLLBACK TO SAVEPOINT {name}"), format!("RELEASE SAVEPOINT {name}")] {
            sqlx::query(&sql)
                .execute(&mut *self.tx)
                .await
                .map_err(db("rolling back to a savepoint"))?;
        }
        Ok(())
    }

    /// Keeps the work since [`Tx::savepoint`] `name` and ends it.
    pub async fn release(&mut self, name: &'static str) -> Result<()> {
        sqlx::query(&format!("RELEASE SAVEPOINT {name}"))
            .execute(&mut *self.tx)
            .await
            .map_err(db("releasing a savepoint"))?;
        Ok(())
    }

    // ---- API clients and access tokens ---------------------------------------------------

    pub async fn insert_client(&mut self, new: &NewApiClient) -> Result<ApiClient> {
        let row = self
            .guarded_fetch_one(
                sqlx::query(
                    "INSERT INTO api_clients (client_id, secret_hash, account_id, name, role, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(&new.client_id)
                .bind(&new.secret_hash)
                .bind(new.account_id)
                .bind(&new.name)
                .bind(&new.role)
                .bind(new.created_at),
            )
            .await
            .map_err(unique("creating an API client", "API client", &new.name))?;
        let id: i64 = row.try_get("id").map_err(db("creating an API client"))?;
        Ok(ApiClient {
            id,
            client_id: new.client_id.clone(),
            secret_hash: new.secret_hash.clone(),
            account_id: new.account_id,
            name: new.name.clone(),
            role: new.role.clone(),
            created_at: new.created_at,
            revoked_at: None,
        })
    }

    pub async fn client_by_client_id(&mut self, client_id: &str) -> Result<Option<ApiClient>> {
        let row = sqlx::query(&format!("{CLIENT} WHERE client_id = $1"))
            .bind(client_id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("finding an API client"))?;
        row.as_ref().map(api_client).transpose().map_err(db("finding an API client"))
    }

    /// The API clients of a smart account, revoked ones included.
    pub async fn clients(&mut self, account_id: i64) -> Result<Vec<ApiClient>> {
        let rows = sqlx::query(&format!("{CLIENT} WHERE account_id = $1 ORDER BY name"))
            .bind(account_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing API clients"))?;
        rows.iter().map(api_client).collect::<sqlx::Result<_>>().map_err(db("listing API clients"))
    }

    /// Revokes a client and drops its access tokens.
    pub async fn revoke_client(&mut self, id: i64, now: i64) -> Result<()> {
        sqlx::query("UPDATE api_clients SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("revoking an API client"))?;
        sqlx::query("DELETE FROM api_tokens WHERE client = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("revoking an API client"))?;
        Ok(())
    }

    /// Records an access token issued to the client with row id `client`.
    pub async fn insert_api_token(
        &mut self,
        token_hash: &str,
        client: i64,
        issued_at: i64,
        expires_at: i64,
    ) -> Result<()> {
        self.guarded_execute(
            sqlx::query(
                "INSERT INTO api_tokens (token_hash, client, issued_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(client)
            .bind(issued_at)
            .bind(expires_at),
        )
        .await
        .map_err(unique("issuing an access token", "access token", "(digest)"))?;
        Ok(())
    }

    /// The access token with this digest and its client, if it was issued (expired or not).
    pub async fn api_token(&mut self, token_hash: &str) -> Result<Option<ApiToken>> {
        let row = sqlx::query(&format!(
            "SELECT t.token_hash, t.issued_at, t.expires_at, c.id, c.client_id, c.secret_hash, c.account_id, \
             c.name, c.role, c.created_at, c.revoked_at, t.user_id, {USER_OF_TOKEN} \
             FROM api_tokens t JOIN api_clients c ON c.id = t.client \
             LEFT JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
        ))
        .bind(token_hash)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("finding an access token"))?;
        let token = |row: &AnyRow| -> sqlx::Result<ApiToken> {
            Ok(ApiToken {
                token_hash: row.try_get("token_hash")?,
                client: api_client(row)?,
                issued_at: row.try_get("issued_at")?,
                expires_at: row.try_get("expires_at")?,
                user: crate::users::user_of_token(row)?,
            })
        };
        row.as_ref().map(token).transpose().map_err(db("finding an access token"))
    }

    /// Deletes access tokens that expired before `before`; how many.
    pub async fn purge_api_tokens(&mut self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE expires_at < $1")
            .bind(before)
            .execute(&mut *self.tx)
            .await
            .map_err(db("purging expired access tokens"))?;
        Ok(done.rows_affected())
    }

    // ---- polls ---------------------------------------------------------------------------

    pub async fn poll(&mut self, poll_id: i64) -> Result<Option<PollRecord>> {
        let row = sqlx::query(
            "SELECT poll_id, va_id, action, correlation_id, result, created_at FROM polls WHERE poll_id = $1",
        )
        .bind(poll_id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("finding a poll"))?;
        row.as_ref().map(poll).transpose().map_err(db("finding a poll"))
    }

    /// Records a poll result unless one with the same id exists; returns the stored record
    /// (the earlier one when a concurrent or replayed request got there first).
    pub async fn insert_poll(&mut self, record: &PollRecord) -> Result<PollRecord> {
        sqlx::query(
            "INSERT INTO polls (poll_id, va_id, action, correlation_id, result, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (poll_id) DO NOTHING",
        )
        .bind(record.poll_id)
        .bind(record.va_id)
        .bind(&record.action)
        .bind(&record.correlation_id)
        .bind(&record.result)
        .bind(record.created_at)
        .execute(&mut *self.tx)
        .await
        .map_err(db("recording a poll result"))?;
        Ok(self.poll(record.poll_id).await?.unwrap_or_else(|| record.clone()))
    }

    pub async fn log(&mut self, new: NewEvent) -> Result<()> {
        sqlx::query(
            "INSERT INTO events (at, account_id, va_id, udi, message, actor) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new.at)
        .bind(new.account_id)
        .bind(new.va_id)
        .bind(&new.udi)
        .bind(&new.message)
        .bind(&new.actor)
        .execute(&mut *self.tx)
        .await
        .map_err(db("writing the event log"))?;
        Ok(())
    }

    /// Events of an account (and optionally one of its virtual accounts), oldest first.
    pub async fn events(&mut self, account_id: i64, va_id: Option<i64>) -> Result<Vec<Event>> {
        let rows = match va_id {
            Some(va_id) => {
                sqlx::query("SELECT id, at, account_id, va_id, udi, message, actor FROM events WHERE account_id = $1 AND va_id = $2 ORDER BY id")
                    .bind(account_id)
                    .bind(va_id)
                    .fetch_all(&mut *self.tx)
                    .await
            }
            None => {
                sqlx::query("SELECT id, at, account_id, va_id, udi, message, actor FROM events WHERE account_id = $1 ORDER BY id")
                    .bind(account_id)
                    .fetch_all(&mut *self.tx)
                    .await
            }
        }
        .map_err(db("reading the event log"))?;
        rows.iter().map(event).collect::<sqlx::Result<_>>().map_err(db("reading the event log"))
    }
    /// Events about one product instance of a virtual account, oldest first.
    pub async fn events_of_udi(&mut self, va_id: i64, udi: &str) -> Result<Vec<Event>> {
        let rows = sqlx::query("SELECT id, at, account_id, va_id, udi, message, actor FROM events WHERE va_id = $1 AND udi = $2 ORDER BY id")
            .bind(va_id)
            .bind(udi)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("reading the event log"))?;
        rows.iter().map(event).collect::<sqlx::Result<_>>().map_err(db("reading the event log"))
    }

    // ---- license moves between smart accounts --------------------------------------------

    pub async fn insert_move_request(&mut self, new: &NewMoveRequest) -> Result<MoveRequest> {
        let row = sqlx::query(
            "INSERT INTO move_requests (account_id, va_id, target_account, target_va, feature,
                 entitlement_tag, quantity, reason, requested_by, requested_at, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'PENDING')
             RETURNING id, account_id, va_id, target_account, target_va, feature, entitlement_tag, quantity, reason, requested_by, requested_at, status, decided_by, decided_at, decision_note",
        )
        .bind(new.account_id)
        .bind(new.va_id)
        .bind(&new.target_account)
        .bind(&new.target_va)
        .bind(&new.feature)
        .bind(&new.entitlement_tag)
        .bind(new.quantity)
        .bind(&new.reason)
        .bind(&new.requested_by)
        .bind(new.requested_at)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db("filing a move request"))?;
        move_request(&row).map_err(db("filing a move request"))
    }

    /// Move requests, newest first: of one smart account, or all of them.
    pub async fn move_requests(&mut self, account_id: Option<i64>) -> Result<Vec<MoveRequest>> {
        let rows = match account_id {
            Some(id) => {
                sqlx::query("SELECT id, account_id, va_id, target_account, target_va, feature, entitlement_tag, quantity, reason, requested_by, requested_at, status, decided_by, decided_at, decision_note FROM move_requests WHERE account_id = $1 ORDER BY id DESC")
                    .bind(id)
                    .fetch_all(&mut *self.tx)
                    .await
            }
            None => {
                sqlx::query("SELECT id, account_id, va_id, target_account, target_va, feature, entitlement_tag, quantity, reason, requested_by, requested_at, status, decided_by, decided_at, decision_note FROM move_requests ORDER BY id DESC")
                    .fetch_all(&mut *self.tx)
                    .await
            }
        }
        .map_err(db("reading move requests"))?;
        rows.iter()
            .map(move_request)
            .collect::<sqlx::Result<_>>()
            .map_err(db("reading move requests"))
    }

    pub async fn move_request(&mut self, id: i64) -> Result<Option<MoveRequest>> {
        let row = sqlx::query("SELECT id, account_id, va_id, target_account, target_va, feature, entitlement_tag, quantity, reason, requested_by, requested_at, status, decided_by, decided_at, decision_note FROM move_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("reading a move request"))?;
        row.as_ref().map(move_request).transpose().map_err(db("reading a move request"))
    }

    /// Decides a pending request; false when it was no longer pending (decided elsewhere).
    pub async fn decide_move_request(
        &mut self,
        id: i64,
        status: &str,
        by: &str,
        at: i64,
        note: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE move_requests SET status = $1, decided_by = $2, decided_at = $3, decision_note = $4
             WHERE id = $5 AND status = 'PENDING'",
        )
        .bind(status)
        .bind(by)
        .bind(at)
        .bind(note)
        .bind(id)
        .execute(&mut *self.tx)
        .await
        .map_err(db("deciding a move request"))?;
        Ok(done.rows_affected() == 1)
    }

    // ---- scheduled jobs ------------------------------------------------------------------

    /// Claims the run of job `name` due at or before `now`, moving its next run to `next_at`.
    /// One compare-and-set on the job's row, so among replicas on one database exactly one
    /// claim of a given run succeeds (the row lock serialises them; the others see the new
    /// `next_at` and get false). A job never seen before is due at once.
    pub async fn claim_job(
        &mut self,
        name: &str,
        now: i64,
        next_at: i64,
        runner: &str,
    ) -> Result<bool> {
        sqlx::query(
            "INSERT INTO job_runs (name, next_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(now)
        .execute(&mut *self.tx)
        .await
        .map_err(db("claiming a scheduled job"))?;
        let done = sqlx::query(
            "UPDATE job_runs SET next_at = $1, last_at = $2, runner = $3 WHERE name = $4 AND next_at <= $2",
        )
        .bind(next_at)
        .bind(now)
        .bind(runner)
        .bind(name)
        .execute(&mut *self.tx)
        .await
        .map_err(db("claiming a scheduled job"))?;
        Ok(done.rows_affected() == 1)
    }

    /// When job `name` last ran and by whom.
    pub async fn job_run(
        &mut self,
        name: &str,
    ) -> Result<Option<(i64, Option<i64>, Option<String>)>> {
        let row = sqlx::query("SELECT next_at, last_at, runner FROM job_runs WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("reading a scheduled job"))?;
        row.map(|r| Ok((r.try_get("next_at")?, r.try_get("last_at")?, r.try_get("runner")?)))
            .transpose()
            .map_err(db("reading a scheduled job"))
    }
}

const CLIENT: &str = "SELECT id, client_id, secret_hash, account_id, name, role, created_at, revoked_at FROM api_clients";

fn api_client(row: &AnyRow) -> sqlx::Result<ApiClient> {
    Ok(ApiClient {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        secret_hash: row.try_get("secret_hash")?,
        account_id: row.try_get("account_id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn poll(row: &AnyRow) -> sqlx::Result<PollRecord> {
    Ok(PollRecord {
        poll_id: row.try_get("poll_id")?,
        va_id: row.try_get("va_id")?,
        action: row.try_get("action")?,
        correlation_id: row.try_get("correlation_id")?,
        result: row.try_get("result")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) const TOKEN: &str = "SELECT id, va_id, token_hash, description, created_at, expires_at, max_uses, uses, revoked_at FROM id_tokens";

pub(crate) fn id_token(row: &sqlx::any::AnyRow) -> sqlx::Result<IdToken> {
    Ok(IdToken {
        id: row.try_get("id")?,
        va_id: row.try_get("va_id")?,
        token_hash: row.try_get("token_hash")?,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        max_uses: row.try_get("max_uses")?,
        uses: row.try_get("uses")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}
