//! The one migration runner, for the authority's store and the relay's database alike: an
//! ordered list of embedded migrations, each applied in its own transaction together with its
//! row in a ledger table, skipped when the ledger has it, and refused as a whole when the
//! ledger names a version newer than the list knows.

use std::future::Future;
use std::pin::Pin;

use sqlx::{Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use crate::{Backend, Result, Store, StoreError};

/// The future of a [`Migration::then`] step.
pub type StepFuture<'c> = Pin<Box<dyn Future<Output = sqlx::Result<()>> + Send + 'c>>;

/// One embedded schema change.
pub struct Migration<DB: Database> {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
    /// Rebuilds tables others refer to (SQLite cannot drop a constraint): runs with foreign
    /// keys off, and every reference is checked before it commits.
    pub rebuild: bool,
    /// Work done in Rust after the SQL, in the same transaction (e.g. a backfill that needs
    /// code the database does not have).
    pub then: Option<for<'c> fn(&'c mut DB::Connection) -> StepFuture<'c>>,
}

impl<DB: Database> Migration<DB> {
    pub const fn new(version: i64, name: &'static str, sql: &'static str) -> Self {
        Self { version, name, sql, rebuild: false, then: None }
    }
}

/// Which migrations a database takes and where it records them.
pub struct Migrations<'a, DB: Database> {
    /// The ledger table (`slp_migrations`, `relay_migrations`).
    pub ledger: &'static str,
    /// SQLite: each migration takes the write lock at once (`BEGIN IMMEDIATE`). PostgreSQL:
    /// replicas starting together take an advisory lock, so one migrates and the others skip.
    pub backend: Backend,
    pub list: &'a [Migration<DB>],
}

/// An arbitrary constant naming slp's migration lock among PostgreSQL advisory locks.
const PG_LOCK: i64 = 0x0073_6c70_5f6d_6967;

/// Applies the migrations `pool`'s database does not have yet, in order; the versions applied.
pub async fn run<DB>(pool: &Pool<DB>, set: &Migrations<'_, DB>) -> Result<Vec<i64>>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Decode<'q, DB> + Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let known = set.list.iter().map(|m| m.version).max().unwrap_or(0);
    let mut applied = Vec::new();
    for migration in set.list {
        let fail = |source| StoreError::Migrate {
            version: migration.version,
            name: migration.name,
            source,
        };
        let mut conn = pool.acquire().await.map_err(fail)?;
        // Foreign keys can be turned off only outside a transaction; back on below, or the
        // connection is closed.
        let keys_off = migration.rebuild && set.backend == Backend::Sqlite;
        if keys_off {
            sqlx::raw_sql("PRAGMA foreign_keys = OFF").execute(&mut *conn).await.map_err(fail)?;
        }
        let done = apply(&mut conn, set, migration, known).await;
        if keys_off {
            if done.is_ok() {
                sqlx::raw_sql("PRAGMA foreign_keys = ON")
                    .execute(&mut *conn)
                    .await
                    .map_err(fail)?;
            } else {
                conn.detach();
            }
        }
        if done? {
            tracing::info!(
                ledger = set.ledger,
                version = migration.version,
                name = migration.name,
                "applied migration"
            );
            applied.push(migration.version);
        }
    }
    Ok(applied)
}

/// Applies `migration` unless the database has it already; whether it did.
async fn apply<DB>(
    conn: &mut DB::Connection,
    set: &Migrations<'_, DB>,
    migration: &Migration<DB>,
    known: i64,
) -> Result<bool>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Decode<'q, DB> + Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let fail =
        |source| StoreError::Migrate { version: migration.version, name: migration.name, source };
    let mut tx = match set.backend {
        Backend::Sqlite => sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE").await,
        Backend::Postgres => sqlx::Connection::begin(conn).await,
    }
    .map_err(fail)?;
    if set.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PG_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
    }
    let ledger = set.ledger;
    sqlx::raw_sql(&format!(
        "CREATE TABLE IF NOT EXISTS {ledger} (version BIGINT PRIMARY KEY, name TEXT NOT NULL)"
    ))
    .execute(&mut *tx)
    .await
    .map_err(fail)?;
    let newest: i64 =
        sqlx::query(&format!("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM {ledger}"))
            .fetch_one(&mut *tx)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(fail)?;
    if newest > known {
        return Err(StoreError::NewerSchema { found: newest, known });
    }
    if newest >= migration.version {
        return Ok(false);
    }
    sqlx::raw_sql(migration.sql).execute(&mut *tx).await.map_err(fail)?;
    if let Some(then) = migration.then {
        then(&mut tx).await.map_err(fail)?;
    }
    if migration.rebuild && set.backend == Backend::Sqlite {
        let broken =
            sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut *tx).await.map_err(fail)?;
        if let Some(row) = broken.first() {
            let table: String = row.try_get(0).unwrap_or_default();
            return Err(fail(sqlx::Error::Protocol(format!(
                "{} rows refer to a missing row after the rebuild (first in table {table})",
                broken.len()
            ))));
        }
    }
    sqlx::query(&format!("INSERT INTO {ledger} (version, name) VALUES ($1, $2)"))
        .bind(migration.version)
        .bind(migration.name)
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    Ok(true)
}

// ---- the authority's migrations ------------------------------------------------------------

type M = Migration<sqlx::Any>;

const SQLITE: &[M] = &[
    M::new(1, "init", include_str!("../migrations/sqlite/0001_init.sql")),
    M::new(2, "id_tokens", include_str!("../migrations/sqlite/0002_id_tokens.sql")),
    M::new(3, "api", include_str!("../migrations/sqlite/0003_api.sql")),
    M::new(4, "operations", include_str!("../migrations/sqlite/0004_operations.sql")),
    M::new(5, "account_policies", include_str!("../migrations/sqlite/0005_account_policies.sql")),
    M::new(6, "report_udis", include_str!("../migrations/sqlite/0006_report_udis.sql")),
    M::new(7, "binding", include_str!("../migrations/sqlite/0007_binding.sql")),
    M {
        rebuild: true,
        ..M::new(8, "account_udis", include_str!("../migrations/sqlite/0008_account_udis.sql"))
    },
    M::new(9, "users", include_str!("../migrations/sqlite/0009_users.sql")),
    M::new(10, "va_description", include_str!("../migrations/sqlite/0010_va_description.sql")),
    M::new(
        11,
        "unverified_binding",
        include_str!("../migrations/sqlite/0011_unverified_binding.sql"),
    ),
    M::new(12, "id_token_text", include_str!("../migrations/sqlite/0012_id_token_text.sql")),
];

const POSTGRES: &[M] = &[
    M::new(1, "init", include_str!("../migrations/postgres/0001_init.sql")),
    M::new(2, "id_tokens", include_str!("../migrations/postgres/0002_id_tokens.sql")),
    M::new(3, "api", include_str!("../migrations/postgres/0003_api.sql")),
    M::new(4, "operations", include_str!("../migrations/postgres/0004_operations.sql")),
    M::new(5, "account_policies", include_str!("../migrations/postgres/0005_account_policies.sql")),
    M::new(6, "report_udis", include_str!("../migrations/postgres/0006_report_udis.sql")),
    M::new(7, "binding", include_str!("../migrations/postgres/0007_binding.sql")),
    M::new(8, "account_udis", include_str!("../migrations/postgres/0008_account_udis.sql")),
    M::new(9, "users", include_str!("../migrations/postgres/0009_users.sql")),
    M::new(10, "va_description", include_str!("../migrations/postgres/0010_va_description.sql")),
    M::new(
        11,
        "unverified_binding",
        include_str!("../migrations/postgres/0011_unverified_binding.sql"),
    ),
    M::new(12, "id_token_text", include_str!("../migrations/postgres/0012_id_token_text.sql")),
];

/// Migrates the authority's store (on SQLite over the writer's own connection).
pub(crate) async fn store(store: &Store) -> Result<()> {
    let (pool, list) = match store.backend() {
        Backend::Sqlite => (store.write_pool(), SQLITE),
        Backend::Postgres => (store.pool(), POSTGRES),
    };
    run(pool, &Migrations { ledger: "slp_migrations", backend: store.backend(), list }).await?;
    Ok(())
}
