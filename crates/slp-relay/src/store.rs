//! The relay's SQLite database (`R/relay.db`, WAL mode): the embedded migration runner, plain
//! row types and the queries the relay runs. Every change runs in one transaction
//! (`BEGIN IMMEDIATE`), so a crash leaves the old state or the new one.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow};
use sqlx::{Row, Sqlite, SqliteConnection, SqlitePool};

use crate::{RelayError, Result};

/// The database file inside the data directory.
pub const DB_FILE: &str = "relay.db";

type Migration = slp_store::migrate::Migration<Sqlite>;

const MIGRATIONS: &[Migration] = &[
    Migration::new(1, "init", include_str!("../migrations/0001_init.sql")),
    Migration {
        then: Some(backfill_device_keys),
        ..Migration::new(2, "device_key", include_str!("../migrations/0002_device_key.sql"))
    },
];

/// A transaction; commit it or drop it (rollback).
pub type Tx = sqlx::Transaction<'static, Sqlite>;

/// The relay's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

fn db(err: sqlx::Error) -> RelayError {
    RelayError::Database(err)
}

impl Store {
    /// Opens (creating if needed) `dir/relay.db` and applies the migrations.
    /// The directory is created 0700 and the database 0600: it holds device passwords and
    /// the API client secret.
    pub async fn open(dir: &Path) -> Result<Store> {
        let path = dir.join(DB_FILE);
        slp_store::prepare_private_sqlite(dir, &path)
            .map_err(|source| RelayError::Io { path: dir.to_owned(), source })?;
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(db)?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|err| RelayError::Open { path: path.clone(), reason: err.to_string() })?;
        let store = Store { pool, path };
        store.migrate().await?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A write transaction (`BEGIN IMMEDIATE`: takes the write lock up front).
    pub async fn begin(&self) -> Result<Tx> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Applies the relay's migrations with the store's runner (ledger `relay_migrations`).
    async fn migrate(&self) -> Result<()> {
        let set = slp_store::migrate::Migrations {
            ledger: "relay_migrations",
            backend: slp_store::Backend::Sqlite,
            list: MIGRATIONS,
        };
        slp_store::migrate::run(&self.pool, &set).await.map_err(|err| match err {
            slp_store::StoreError::Migrate { version, name, source } => {
                RelayError::Migrate { version, name, source }
            }
            slp_store::StoreError::NewerSchema { found, known } => {
                RelayError::NewerSchema { found, known }
            }
            other => RelayError::Open { path: self.path.clone(), reason: other.to_string() },
        })?;
        Ok(())
    }
}

/// Migration 2 on a database of an earlier version: the device key of every stored document (from
/// its verified system information), and each device bound to the key of its newest signed
/// document, so polls of documents stored before the upgrade keep working.
fn backfill_device_keys(conn: &mut SqliteConnection) -> slp_store::migrate::StepFuture<'_> {
    Box::pin(backfill(conn))
}

async fn backfill(conn: &mut SqliteConnection) -> std::result::Result<(), sqlx::Error> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, xml FROM documents").fetch_all(&mut *conn).await?;
    for (id, xml) in rows {
        let key = crate::check::check(&xml, None).ok().and_then(|c| c.device_key);
        if let Some(key) = key {
            sqlx::query("UPDATE documents SET device_key = ? WHERE id = ?")
                .bind(key)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
    }
    sqlx::query(
        "UPDATE devices SET device_key = (SELECT d.device_key FROM documents d WHERE d.udi = devices.udi AND d.device_key IS NOT NULL ORDER BY d.id DESC LIMIT 1) WHERE udi IS NOT NULL",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---- rows --------------------------------------------------------------------------------------

/// One product instance of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeviceRow {
    pub id: i64,
    pub host: Option<String>,
    pub udi: Option<String>,
    pub hostname: Option<String>,
    pub connect_method: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub last_contact: Option<i64>,
    pub comm_alert: Option<String>,
    pub unknown: bool,
}

const DEVICE_COLUMNS: &str = "id, host, udi, hostname, connect_method, username, password, last_contact, comm_alert, unknown";

/// One stored device document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRow {
    pub id: i64,
    pub udi: String,
    pub kind: String,
    pub report_ids: Vec<u64>,
    pub hostname: Option<String>,
    pub software_tag: Option<String>,
    pub xml: String,
    pub source: String,
    pub received_at: i64,
    pub poll_id: String,
    pub upstream_id: Option<i64>,
    pub upstream_index: Option<i64>,
    pub exported_at: Option<i64>,
    pub answer_id: Option<i64>,
    pub rejected: Option<String>,
}

const DOCUMENT_COLUMNS: &str = "id, udi, kind, report_ids, hostname, software_tag, xml, source, received_at, poll_id, upstream_id, upstream_index, exported_at, answer_id, rejected";

fn document_row(row: &SqliteRow) -> std::result::Result<DocumentRow, sqlx::Error> {
    let ids: String = row.try_get("report_ids")?;
    Ok(DocumentRow {
        id: row.try_get("id")?,
        udi: row.try_get("udi")?,
        kind: row.try_get("kind")?,
        report_ids: serde_json::from_str(&ids).unwrap_or_default(),
        hostname: row.try_get("hostname")?,
        software_tag: row.try_get("software_tag")?,
        xml: row.try_get("xml")?,
        source: row.try_get("source")?,
        received_at: row.try_get("received_at")?,
        poll_id: row.try_get("poll_id")?,
        upstream_id: row.try_get("upstream_id")?,
        upstream_index: row.try_get("upstream_index")?,
        exported_at: row.try_get("exported_at")?,
        answer_id: row.try_get("answer_id")?,
        rejected: row.try_get("rejected")?,
    })
}

/// One answer (ACK, codes) for a device.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AnswerRow {
    pub id: i64,
    pub udi: String,
    pub xml: String,
    pub source: String,
    pub received_at: i64,
    pub delivered_poll: Option<String>,
    pub installed_at: Option<i64>,
}

const ANSWER_COLUMNS: &str = "id, udi, xml, source, received_at, delivered_poll, installed_at";

/// An upstream request awaiting its poll result.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UpstreamRow {
    pub id: i64,
    pub action: String,
    pub poll_id: String,
}

// ---- queries -----------------------------------------------------------------------------------

pub async fn pref(conn: &mut SqliteConnection, key: &str) -> Result<Option<String>> {
    sqlx::query("SELECT value FROM prefs WHERE key = ?")
        .bind(key)
        .fetch_optional(conn)
        .await
        .map_err(db)?
        .map(|row| row.try_get(0))
        .transpose()
        .map_err(db)
}

pub async fn set_pref(conn: &mut SqliteConnection, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(value) => sqlx::query(
            "INSERT INTO prefs (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(conn)
        .await
        .map_err(db)?,
        None => sqlx::query("DELETE FROM prefs WHERE key = ?").bind(key).execute(conn).await.map_err(db)?,
    };
    Ok(())
}

pub async fn devices(conn: &mut SqliteConnection) -> Result<Vec<DeviceRow>> {
    sqlx::query_as(&format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY id"))
        .fetch_all(conn)
        .await
        .map_err(db)
}

/// At most `limit` devices after `offset`, in the inventory's order, and how many there are.
pub async fn devices_page(
    conn: &mut SqliteConnection,
    limit: i64,
    offset: i64,
) -> Result<(Vec<DeviceRow>, i64)> {
    let devices = sqlx::query_as(&format!(
        "SELECT {DEVICE_COLUMNS} FROM devices ORDER BY id LIMIT ? OFFSET ?"
    ))
    .bind(limit.max(0))
    .bind(offset.max(0))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM devices").fetch_one(conn).await.map_err(db)?;
    Ok((devices, total))
}

pub async fn device_by_udi(conn: &mut SqliteConnection, udi: &str) -> Result<Option<DeviceRow>> {
    sqlx::query_as(&format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE udi = ?"))
        .bind(udi)
        .fetch_optional(conn)
        .await
        .map_err(db)
}

pub async fn device_by_host(conn: &mut SqliteConnection, host: &str) -> Result<Option<DeviceRow>> {
    sqlx::query_as(&format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE host = ?"))
        .bind(host)
        .fetch_optional(conn)
        .await
        .map_err(db)
}

/// A new inventory row.
#[derive(Debug, Clone, Default)]
pub struct NewDevice<'a> {
    pub host: Option<&'a str>,
    pub udi: Option<&'a str>,
    pub hostname: Option<&'a str>,
    pub connect_method: &'a str,
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    pub unknown: bool,
}

pub async fn insert_device(
    conn: &mut SqliteConnection,
    new: &NewDevice<'_>,
    now: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO devices (host, udi, hostname, connect_method, username, password, unknown, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(new.host)
    .bind(new.udi)
    .bind(new.hostname)
    .bind(new.connect_method)
    .bind(new.username)
    .bind(new.password)
    .bind(i64::from(new.unknown))
    .bind(now)
    .fetch_one(conn)
    .await
    .map_err(db)?;
    row.try_get(0).map_err(db)
}

/// Records a contact: Last Contact = now, the communication alert cleared, hostname learned.
pub async fn touch_device(
    conn: &mut SqliteConnection,
    id: i64,
    now: i64,
    hostname: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE devices SET last_contact = ?, comm_alert = NULL, hostname = COALESCE(?, hostname) WHERE id = ?",
    )
    .bind(now)
    .bind(hostname)
    .bind(id)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// The device key `device_id` is bound to, if any.
pub async fn device_key(conn: &mut SqliteConnection, device_id: i64) -> Result<Option<String>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT device_key FROM devices WHERE id = ?")
            .bind(device_id)
            .fetch_optional(conn)
            .await
            .map_err(db)?;
    Ok(row.and_then(|r| r.0))
}

/// Binds `device_id` to `key` (`None`: unbound, the next signed document binds).
pub async fn set_device_key(
    conn: &mut SqliteConnection,
    device_id: i64,
    key: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE devices SET device_key = ? WHERE id = ?")
        .bind(key)
        .bind(device_id)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

pub async fn set_alert(conn: &mut SqliteConnection, id: i64, alert: Option<&str>) -> Result<()> {
    sqlx::query("UPDATE devices SET comm_alert = ? WHERE id = ?")
        .bind(alert)
        .bind(id)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

pub async fn documents_where(
    conn: &mut SqliteConnection,
    condition: &str,
    bind: Option<&str>,
) -> Result<Vec<DocumentRow>> {
    let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE {condition} ORDER BY id");
    let mut query = sqlx::query(&sql);
    if let Some(value) = bind {
        query = query.bind(value);
    }
    let rows = query.fetch_all(conn).await.map_err(db)?;
    rows.iter().map(document_row).collect::<std::result::Result<_, _>>().map_err(db)
}

pub async fn document_by_poll(
    conn: &mut SqliteConnection,
    poll_id: &str,
) -> Result<Option<DocumentRow>> {
    Ok(documents_where(conn, "poll_id = ?", Some(poll_id)).await?.into_iter().next())
}

pub async fn answers_where(
    conn: &mut SqliteConnection,
    condition: &str,
    binds: &[&str],
) -> Result<Vec<AnswerRow>> {
    let sql = format!("SELECT {ANSWER_COLUMNS} FROM answers WHERE {condition} ORDER BY id");
    let mut query = sqlx::query_as(&sql);
    for value in binds {
        query = query.bind(*value);
    }
    query.fetch_all(conn).await.map_err(db)
}

pub async fn open_upstream(conn: &mut SqliteConnection) -> Result<Vec<UpstreamRow>> {
    sqlx::query_as(
        "SELECT id, action, poll_id FROM upstream WHERE completed_at IS NULL ORDER BY id",
    )
    .fetch_all(conn)
    .await
    .map_err(db)
}

/// Runs a statement with integer/text binds; returns rows affected.
pub async fn exec(conn: &mut SqliteConnection, sql: &str, binds: &[Bind<'_>]) -> Result<u64> {
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = match bind {
            Bind::Int(v) => query.bind(*v),
            Bind::OptInt(v) => query.bind(*v),
            Bind::Text(v) => query.bind(*v),
            Bind::OptText(v) => query.bind(*v),
        };
    }
    Ok(query.execute(conn).await.map_err(db)?.rows_affected())
}

/// A value bound to a statement.
#[derive(Debug, Clone, Copy)]
pub enum Bind<'a> {
    Int(i64),
    OptInt(Option<i64>),
    Text(&'a str),
    OptText(Option<&'a str>),
}

/// The poll id of a device's latest document (for `pi list`).
pub async fn scalar_i64(conn: &mut SqliteConnection, sql: &str, bind: &str) -> Result<i64> {
    sqlx::query(sql).bind(bind).fetch_one(conn).await.and_then(|row| row.try_get(0)).map_err(db)
}

/// `id` of an answer just inserted, or of the identical one already stored.
pub async fn insert_answer(
    conn: &mut SqliteConnection,
    udi: &str,
    xml: &str,
    source: &str,
    now: i64,
) -> Result<(i64, bool)> {
    let sha = slp_core::text::sha256_hex(xml.as_bytes());
    if let Some(row) = sqlx::query("SELECT id FROM answers WHERE udi = ? AND sha256 = ?")
        .bind(udi)
        .bind(&sha)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
    {
        return Ok((row.try_get(0).map_err(db)?, false));
    }
    let row = sqlx::query(
        "INSERT INTO answers (udi, xml, sha256, source, received_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(udi)
    .bind(xml)
    .bind(&sha)
    .bind(source)
    .bind(now)
    .fetch_one(conn)
    .await
    .map_err(db)?;
    Ok((row.try_get(0).map_err(db)?, true))
}
