//! [`Tx`]: every read and write of the store, inside one transaction.
//!
//! This file holds the transaction itself (commit, rollback, locks, savepoints); each resource
//! adds its reads and writes in an `impl Tx` block of its own module under `tx/`. Rows map to
//! the [`records`](crate::records) with `sqlx::FromRow`.

mod accounts;
mod clients;
mod codes;
mod events;
mod instances;
mod jobs;
mod licenses;
mod moves;
mod policies;
mod polls;
mod reports;
pub use reports::ReportKey;
mod settings;
mod tokens;
mod uploads;
pub(crate) mod users;

use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::query::{Query, QueryAs};
use sqlx::{Any, Connection, FromRow, Transaction};

use crate::sql::db;
use crate::{Backend, Result};

pub(crate) use instances::PI;
pub(crate) use uploads::UPLOAD;

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
    /// leaves the transaction usable on PostgreSQL as on SQLite; the row it returns.
    pub(crate) async fn guarded_fetch_one<'q, T>(
        &mut self,
        query: QueryAs<'q, Any, T, AnyArguments<'q>>,
    ) -> sqlx::Result<T>
    where
        T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
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

    /// [`Tx::guarded_fetch_one`] for a statement that returns no row.
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
}
