//! The migration runner: one embedded migration set per backend, applied in order, each in its
//! own transaction together with its row in `slp_migrations`.

use sqlx::{Executor, Row};

use crate::{Backend, Result, Store, StoreError};

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../migrations/sqlite/0001_init.sql") },
    Migration {
        version: 2,
        name: "id_tokens",
        sql: include_str!("../migrations/sqlite/0002_id_tokens.sql"),
    },
    Migration { version: 3, name: "api", sql: include_str!("../migrations/sqlite/0003_api.sql") },
    Migration {
        version: 4,
        name: "operations",
        sql: include_str!("../migrations/sqlite/0004_operations.sql"),
    },
    Migration {
        version: 5,
        name: "account_policies",
        sql: include_str!("../migrations/sqlite/0005_account_policies.sql"),
    },
    Migration {
        version: 6,
        name: "report_udis",
        sql: include_str!("../migrations/sqlite/0006_report_udis.sql"),
    },
    Migration {
        version: 7,
        name: "binding",
        sql: include_str!("../migrations/sqlite/0007_binding.sql"),
    },
];

const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "id_tokens",
        sql: include_str!("../migrations/postgres/0002_id_tokens.sql"),
    },
    Migration { version: 3, name: "api", sql: include_str!("../migrations/postgres/0003_api.sql") },
    Migration {
        version: 4,
        name: "operations",
        sql: include_str!("../migrations/postgres/0004_operations.sql"),
    },
    Migration {
        version: 5,
        name: "account_policies",
        sql: include_str!("../migrations/postgres/0005_account_policies.sql"),
    },
    Migration {
        version: 6,
        name: "report_udis",
        sql: include_str!("../migrations/postgres/0006_report_udis.sql"),
    },
    Migration {
        version: 7,
        name: "binding",
        sql: include_str!("../migrations/postgres/0007_binding.sql"),
    },
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
        let mut tx = match store.backend() {
            Backend::Sqlite => store.write_pool().begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => store.pool().begin().await,
        }
        .map_err(fail)?;
        if store.backend() == Backend::Postgres {
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
            continue;
        }
        sqlx::raw_sql(migration.sql).execute(&mut *tx).await.map_err(fail)?;
        sqlx::query("INSERT INTO slp_migrations (version, name) VALUES ($1, $2)")
            .bind(migration.version)
            .bind(migration.name)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(version = migration.version, name = migration.name, "applied migration");
    }
    Ok(())
}
