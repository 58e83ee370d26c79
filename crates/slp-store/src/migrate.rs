//! The migration runner: one embedded migration set per backend, applied in order, each in its
//! own transaction together with its row in `slp_migrations`.

use sqlx::{Executor, Row};

use crate::{Backend, Result, Store, StoreError};

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
    /// Rebuilds tables others refer to (SQLite cannot drop a constraint): runs with foreign
    /// keys off, and every reference is checked before it commits.
    rebuild: bool,
}

impl Migration {
    const fn new(version: i64, name: &'static str, sql: &'static str) -> Self {
        Self { version, name, sql, rebuild: false }
    }
}

const SQLITE: &[Migration] = &[
    Migration::new(1, "init", include_str!("../migrations/sqlite/0001_init.sql")),
    Migration::new(2, "id_tokens", include_str!("../migrations/sqlite/0002_id_tokens.sql")),
    Migration::new(3, "api", include_str!("../migrations/sqlite/0003_api.sql")),
    Migration::new(4, "operations", include_str!("../migrations/sqlite/0004_operations.sql")),
    Migration::new(
        5,
        "account_policies",
        include_str!("../migrations/sqlite/0005_account_policies.sql"),
    ),
    Migration::new(6, "report_udis", include_str!("../migrations/sqlite/0006_report_udis.sql")),
    Migration::new(7, "binding", include_str!("../migrations/sqlite/0007_binding.sql")),
    Migration {
        rebuild: true,
        ..Migration::new(
            8,
            "account_udis",
            include_str!("../migrations/sqlite/0008_account_udis.sql"),
        )
    },
    Migration::new(9, "users", include_str!("../migrations/sqlite/0009_users.sql")),
];

const POSTGRES: &[Migration] = &[
    Migration::new(1, "init", include_str!("../migrations/postgres/0001_init.sql")),
    Migration::new(2, "id_tokens", include_str!("../migrations/postgres/0002_id_tokens.sql")),
    Migration::new(3, "api", include_str!("../migrations/postgres/0003_api.sql")),
    Migration::new(4, "operations", include_str!("../migrations/postgres/0004_operations.sql")),
    Migration::new(
        5,
        "account_policies",
        include_str!("../migrations/postgres/0005_account_policies.sql"),
    ),
    Migration::new(6, "report_udis", include_str!("../migrations/postgres/0006_report_udis.sql")),
    Migration::new(7, "binding", include_str!("../migrations/postgres/0007_binding.sql")),
    Migration::new(8, "account_udis", include_str!("../migrations/postgres/0008_account_udis.sql")),
    Migration::new(9, "users", include_str!("../migrations/postgres/0009_users.sql")),
];

/// An arbitrary constant naming slp's migration lock among PostgreSQL advisory locks.
const PG_LOCK: i64 = 0x0073_6c70_5f6d_6967;

pub(crate) async fn run(store: &Store) -> Result<()> {
    let migrations = match store.backend() {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    let known = migrations.iter().map(|m| m.version).max().unwrap_or(0);
    for migration in migrations {
        let fail = |source| StoreError::Migrate {
            version: migration.version,
            name: migration.name,
            source,
        };
        let mut conn = match store.backend() {
            Backend::Sqlite => store.write_pool().acquire().await,
            Backend::Postgres => store.pool().acquire().await,
        }
        .map_err(fail)?;
        // Foreign keys can be turned off only outside a transaction; back on below, or the
        // connection is closed.
        let keys_off = migration.rebuild && store.backend() == Backend::Sqlite;
        if keys_off {
            conn.execute("PRAGMA foreign_keys = OFF").await.map_err(fail)?;
        }
        let applied = apply(&mut conn, store.backend(), migration, known).await;
        if keys_off {
            if applied.is_ok() {
                conn.execute("PRAGMA foreign_keys = ON").await.map_err(fail)?;
            } else {
                conn.detach();
            }
        }
        if applied? {
            tracing::info!(version = migration.version, name = migration.name, "applied migration");
        }
    }
    Ok(())
}

/// Applies `migration` unless the database has it already; whether it did.
async fn apply(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    migration: &Migration,
    known: i64,
) -> Result<bool> {
    let fail =
        |source| StoreError::Migrate { version: migration.version, name: migration.name, source };
    let mut tx = match backend {
        Backend::Sqlite => sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE").await,
        Backend::Postgres => sqlx::Connection::begin(conn).await,
    }
    .map_err(fail)?;
    if backend == Backend::Postgres {
        // Replicas starting together: one migrates, the others wait and then skip.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PG_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
    }
    tx.execute(
            "CREATE TABLE IF NOT EXISTS slp_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)",
        )
        .await
        .map_err(fail)?;
    let newest: i64 =
        sqlx::query("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM slp_migrations")
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
    if migration.rebuild && backend == Backend::Sqlite {
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
    sqlx::query("INSERT INTO slp_migrations (version, name) VALUES ($1, $2)")
        .bind(migration.version)
        .bind(migration.name)
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    Ok(true)
}
