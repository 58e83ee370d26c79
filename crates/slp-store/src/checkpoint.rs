//! WAL checkpoints on SQLite, away from the writer.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold: the writer
//! that happens to commit then copies the write-ahead log into the database file (and syncs
//! it) before it can answer, while every other writer waits behind it. Under ingest load that
//! was about a sixth of the writer's time. The store turns it off on every connection
//! (`PRAGMA wal_autocheckpoint = 0`) and checkpoints here instead: each committed write
//! transaction wakes one background task, which runs a `PASSIVE` checkpoint on a connection of
//! its own (it never waits for, or blocks, readers and writers). Wake-ups that arrive while a
//! checkpoint runs fold into one. While writers keep the store busy, it checkpoints only every
//! [`CHECKPOINT_COMMITS`] commits: a checkpoint copies every page the commits since the last
//! one touched, so the pages every commit touches (index pages, the table's last page) are
//! copied once for many commits instead of once for each; a commit after which no writer holds
//! the write gate (the end of a burst, or a lone write) has the log checkpointed at once.
//!
//! A passive checkpoint cannot finish while a writer keeps appending, and SQLite only rewinds
//! the log once one has finished; so when the log has grown past [`RESTART_FRAMES`], the task
//! takes the store's write gate (the writers of this process wait) and runs a `RESTART`
//! checkpoint, after which the next writer starts the log from its beginning again. A process
//! that ends before its checkpoint ran loses nothing: the log is in the file, and the last
//! connection to close (or the next to open) checkpoints it.

use std::sync::Arc;

use sqlx::{AnyPool, Row};

/// Log size (frames, one page each) past which the checkpoint waits for the writers.
pub(crate) const RESTART_FRAMES: i64 = 16_384;

/// Commits between checkpoints while writers keep the store busy.
pub(crate) const CHECKPOINT_COMMITS: u64 = 16;

/// Wakes the checkpoint task after each committed write.
#[derive(Debug)]
pub(crate) struct Checkpoints {
    /// Room for one wake-up: more while it is pending fold into it.
    wake: tokio::sync::mpsc::Sender<()>,
    /// Write transactions committed so far.
    commits: Arc<std::sync::atomic::AtomicU64>,
    /// How many checkpoints have finished.
    done: tokio::sync::watch::Receiver<u64>,
    /// The task, until [`Checkpoints::stop`].
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Checkpoints {
    /// Starts the task that checkpoints `pool`'s database whenever woken. It ends when the
    /// store (every holder of the returned handle) is gone or the pool is closed.
    pub(crate) fn start(pool: AnyPool, write_gate: Arc<tokio::sync::Mutex<()>>) -> Checkpoints {
        let (wake, mut woken) = tokio::sync::mpsc::channel(1);
        let (finished, done) = tokio::sync::watch::channel(0);
        let commits = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = commits.clone();
        let task = tokio::spawn(async move {
            let mut copied_through = 0;
            while woken.recv().await.is_some() {
                if pool.is_closed() {
                    break;
                }
                let committed = counted.load(std::sync::atomic::Ordering::SeqCst);
                // A writer at work commits (and wakes this task) again soon.
                let busy = write_gate.try_lock().is_err();
                if busy && committed < copied_through + CHECKPOINT_COMMITS {
                    continue;
                }
                copied_through = committed;
                match checkpoint(&pool, "PASSIVE").await {
                    Ok(frames) if frames > RESTART_FRAMES => {
                        let _writers = write_gate.lock().await;
                        if let Err(err) = checkpoint(&pool, "RESTART").await {
                            tracing::warn!(error = %err, frames, "WAL restart checkpoint failed");
                        }
                    }
                    Ok(_) => {}
                    Err(_) if pool.is_closed() => break,
                    Err(err) => tracing::warn!(error = %err, "WAL checkpoint failed"),
                }
                finished.send_modify(|n| *n += 1);
            }
        });
        Checkpoints { wake, commits, done, task: std::sync::Mutex::new(Some(task)) }
    }

    /// Ends the task (a checkpoint under way is abandoned; SQLite finishes the log's copy when
    /// the last connection closes), so that closing the pool never waits for it.
    pub(crate) async fn stop(&self) {
        let task = self.task.lock().ok().and_then(|mut task| task.take());
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    /// Follows how many checkpoints have finished.
    pub(crate) fn finished(&self) -> tokio::sync::watch::Receiver<u64> {
        self.done.clone()
    }

    /// A write transaction committed: the log has new frames to copy.
    pub(crate) fn committed(&self) {
        self.commits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // Full means a wake-up is pending already; closed means the task has ended.
        let _ = self.wake.try_send(());
    }
}

/// Runs one checkpoint; returns the frames in the log at its start.
async fn checkpoint(pool: &AnyPool, mode: &str) -> sqlx::Result<i64> {
    let row = sqlx::query(&format!("PRAGMA wal_checkpoint({mode})")).fetch_one(pool).await?;
    let frames: i64 = row.try_get(1)?;
    tracing::trace!(mode, frames, "WAL checkpoint");
    Ok(frames)
}
