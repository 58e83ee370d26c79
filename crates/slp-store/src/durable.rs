//! Durable SQLite commits, with the disk sync outside the write lock.
//!
//! With `synchronous = FULL` SQLite syncs the write-ahead log inside `COMMIT`, while it holds
//! the write lock: every writer waits for the disk behind the one before it. The store runs
//! its connections to a database file with `synchronous = NORMAL` instead (the log is written
//! at commit but not synced; after a crash SQLite is still consistent, only the last commits
//! may be missing) and syncs the log file itself once `COMMIT` has returned and the write lock
//! is free: the next writer already works while the disk syncs. A commit is reported durable
//! ([`Commit::durable`]) only after a sync that began after it, so nothing a caller was told is
//! committed can be lost. Commits that finish while a sync runs share the next one.
//!
//! SQLite itself syncs the log before each checkpoint copies it into the database file, so a
//! checkpoint never carries unsynced frames into the database.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Result, StoreError};

/// Syncs one database's write-ahead log for the commits made so far.
#[derive(Debug)]
pub(crate) struct WalSync {
    /// The database file; its log is beside it (`…-wal`).
    database: PathBuf,
    /// Commits so far (a commit's number is its place in this count).
    committed: AtomicU64,
    /// The number of the last commit a finished sync covers; held while a sync runs.
    synced: tokio::sync::Mutex<u64>,
    /// Syncs run so far.
    syncs: AtomicU64,
}

impl WalSync {
    pub(crate) fn new(database: PathBuf) -> WalSync {
        WalSync {
            database,
            committed: AtomicU64::new(0),
            synced: tokio::sync::Mutex::new(0),
            syncs: AtomicU64::new(0),
        }
    }

    /// Counts a commit that has returned; its number.
    pub(crate) fn committed(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Returns once commit `number` is on disk: covered by a sync that ran already, or by one
    /// this call runs (for every commit counted by then).
    pub(crate) async fn sync(&self, number: u64) -> Result<()> {
        let mut synced = self.synced.lock().await;
        if *synced >= number {
            return Ok(());
        }
        let covers = self.committed.load(Ordering::SeqCst);
        let database = self.database.clone();
        tokio::task::spawn_blocking(move || sync_log(&database)).await.map_err(|err| {
            StoreError::Sync {
                path: self.database.clone(),
                source: std::io::Error::other(err.to_string()),
            }
        })??;
        *synced = covers;
        let syncs = self.syncs.fetch_add(1, Ordering::SeqCst) + 1;
        tracing::trace!(commits = covers, syncs, "SQLite log synced");
        Ok(())
    }
}

/// Syncs the log of `database` to disk, or the database file when there is no log (it is gone
/// only when no connection is open and SQLite has checkpointed it into the database file).
/// The database file itself missing is an error: what was committed is not where it was meant
/// to be.
fn sync_log(database: &Path) -> Result<()> {
    let mut log = database.as_os_str().to_owned();
    log.push("-wal");
    let log = PathBuf::from(log);
    let sync = |file: &Path| {
        std::fs::File::open(file)
            .and_then(|open| open.sync_data())
            .map_err(|source| StoreError::Sync { path: file.to_owned(), source })
    };
    match sync(&log) {
        Err(StoreError::Sync { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            sync(database)
        }
        other => other,
    }
}

/// A committed transaction, not yet known to be on disk. The write lock is free already.
#[derive(Debug)]
#[must_use = "a commit is durable only once `durable` returns"]
pub struct Commit {
    pub(crate) wal: Option<(std::sync::Arc<WalSync>, u64)>,
}

impl Commit {
    /// Returns once the transaction is on disk (on PostgreSQL, and for a SQLite database in
    /// memory, at once: `COMMIT` itself made it durable, or nothing can).
    pub async fn durable(self) -> Result<()> {
        match self.wal {
            Some((wal, number)) => wal.sync(number).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_sync_covers_every_commit_counted_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("a.db");
        std::fs::write(&database, b"db").unwrap();
        let wal = std::sync::Arc::new(WalSync::new(database));
        let first = wal.committed();
        let second = wal.committed();
        wal.sync(first).await.unwrap();
        assert_eq!(wal.syncs.load(Ordering::SeqCst), 1);
        // The second commit had returned before that sync began: it is on disk already.
        wal.sync(second).await.unwrap();
        assert_eq!(wal.syncs.load(Ordering::SeqCst), 1);
        let third = wal.committed();
        Commit { wal: Some((wal.clone(), third)) }.durable().await.unwrap();
        assert_eq!(wal.syncs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_log_is_synced_or_else_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("a.db");
        // Neither log nor database: the error names the database.
        let err = sync_log(&database).unwrap_err();
        assert!(err.to_string().contains("a.db to disk"), "{err}");
        std::fs::write(&database, b"db").unwrap();
        sync_log(&database).unwrap();
        std::fs::write(dir.path().join("a.db-wal"), b"log").unwrap();
        sync_log(&database).unwrap();
        // A path that cannot be opened names itself.
        let inside_a_file = database.join("b.db");
        let err = sync_log(&inside_a_file).unwrap_err();
        assert!(err.to_string().contains("a.db/b.db"), "{err}");
    }
}
