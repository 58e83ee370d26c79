//! Persistence for the license authority (the CSSM role).
//!
//! One [`Store`] over either backend: SQLite, the embedded default (`--data DIR` →
//! `DIR/authority.db`, WAL mode), or PostgreSQL, the scale-out backend where several stateless
//! authority replicas share one database. The backend is picked once from the URL scheme; both
//! run the same portable SQL through sqlx's `Any` driver, and each has its own migration set
//! (`migrations/sqlite`, `migrations/postgres`).
//!
//! Every change goes through a [`Tx`] (from [`Store::begin`]): the caller reads, decides and
//! writes inside one transaction and calls [`Tx::commit`]; dropping a `Tx` rolls everything
//! back, so nothing is ever half applied. Timestamps are Unix seconds (UTC); the store never
//! reads the clock, callers pass `now`.
//!
//! Records are plain data ([`records`]); the authority gives them meaning.

mod batch;
mod checkpoint;
mod durable;
pub mod migrate;
mod paging;
pub mod records;
mod sql;
mod tx;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use batch::{AccountUdi, Contact, IngestLookup, IngestWrite};
pub use durable::Commit;
pub use paging::{EventFilter, Page, Paged};
pub use records::*;
pub use tx::ReportKey;
pub use tx::Tx;
pub use tx::users::{NewUser, User};

/// Why the store could not do what was asked. Every variant names its input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL has a scheme the store does not support.
    #[error("unsupported database URL {url:?}: expected sqlite:… or postgres://…")]
    UnsupportedUrl { url: String },
    /// The data directory could not be created or is not a usable path.
    #[error("cannot use data directory {}: {reason}", path.display())]
    DataDir { path: PathBuf, reason: String },
    /// A PostgreSQL schema name is not a plain identifier.
    #[error("invalid schema name {schema:?}: use lowercase letters, digits and '_'")]
    SchemaName { schema: String },
    /// The database could not be opened or reached.
    #[error("cannot open database {target}: {source}")]
    Open { target: String, source: sqlx::Error },
    /// A migration failed.
    #[error("database migration {version} ({name}) failed: {source}")]
    Migrate { version: i64, name: &'static str, source: sqlx::Error },
    /// The database holds a migration this build does not know (it was written by a newer slp).
    #[error("the database is at schema version {found}, newer than this slp knows ({known})")]
    NewerSchema { found: i64, known: i64 },
    /// A row with this unique value exists already.
    #[error("{what} {value:?} already exists")]
    Duplicate { what: &'static str, value: String },
    /// A value does not fit the column (e.g. a report id above 2^63).
    #[error("{field} {value} is out of range")]
    OutOfRange { field: &'static str, value: String },
    /// A committed SQLite transaction could not be synced to disk (it may be lost on a crash).
    #[error("syncing {} to disk failed: {source}", path.display())]
    Sync { path: PathBuf, source: std::io::Error },
    /// Any other database error, with the operation that failed.
    #[error("database error while {op}: {source}")]
    Database { op: &'static str, source: sqlx::Error },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Extra connection settings.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// PostgreSQL only: the schema to keep slp's tables in (created if missing). Lets several
    /// deployments, or test runs, share one database without colliding.
    pub schema: Option<String>,
}

/// The authority's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// SQLite: the one connection write transactions run on. Writers take turns at the write
    /// gate anyway; with a connection of their own they never wait for one behind readers (the
    /// group commit's runner waited a millisecond for one, on average, under load).
    writer: Option<AnyPool>,
    backend: Backend,
    /// SQLite has one writer at a time. Writers of this process queue here, in order, instead
    /// of polling SQLite's lock with its busy timeout (which, under load, answered "database is
    /// locked" after the timeout). Other processes on the same file still meet the busy timeout.
    write_gate: Arc<tokio::sync::Mutex<()>>,
    /// SQLite: the background WAL checkpoints ([`checkpoint`]).
    checkpoints: Option<Arc<checkpoint::Checkpoints>>,
    /// SQLite database file: syncs its log after each commit, outside the write lock
    /// ([`durable`]).
    wal: Option<Arc<durable::WalSync>>,
}

/// Creates `dir` (0700) and the database `file` (0600) before SQLite opens it, so the file that
/// holds secrets is never readable by others, not even for a moment; SQLite gives its `-wal` and
/// `-shm` files the database file's mode. A database of an earlier version (created 0644) is
/// restricted here, with its side files. The relay's own database is opened the same way.
pub fn prepare_private_sqlite(dir: &Path, file: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut paths = vec![file.to_owned()];
        for suffix in ["-wal", "-shm"] {
            let mut side = file.as_os_str().to_owned();
            side.push(suffix);
            paths.push(side.into());
        }
        for path in paths {
            if let Ok(meta) = std::fs::metadata(&path)
                && meta.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

/// The file name of the SQLite database inside a data directory.
pub const SQLITE_FILE: &str = "authority.db";

impl Store {
    /// Opens (creating if missing) `dir/authority.db`, in WAL mode, and migrates it.
    /// The directory is created 0700 and the database 0600: it holds the signing key.
    pub async fn open_dir(dir: &Path) -> Result<Store> {
        let file = dir.join(SQLITE_FILE);
        prepare_private_sqlite(dir, &file)
            .map_err(|err| StoreError::DataDir { path: dir.to_owned(), reason: err.to_string() })?;
        let text = file.to_str().ok_or_else(|| StoreError::DataDir {
            path: dir.to_owned(),
            reason: "the path is not valid UTF-8".to_owned(),
        })?;
        let url = format!("sqlite://{}?mode=rwc", percent_encode(text));
        Store::connect(&url, &ConnectOptions::default()).await
    }

    /// Connects to `sqlite:…` or `postgres://…` (also `postgresql://…`) and migrates.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl { url: redact(url) });
        };
        let target = redact(url);
        let open = |source| StoreError::Open { target: target.clone(), source };
        let connect_options = AnyConnectOptions::from_str(url).map_err(open)?;
        let mut pool_options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            // A SQLite connection is a file opened in this process: it cannot go away while
            // idle, so it is not pinged before each use (a round trip to its thread per
            // transaction). Connections to PostgreSQL are.
            .test_before_acquire(backend != Backend::Sqlite)
            .acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Postgres
            && let Some(schema) = &options.schema
        {
            if !valid_schema(schema) {
                return Err(StoreError::SchemaName { schema: schema.clone() });
            }
            // Create the schema once, on a pool of one connection, before any connection
            // points its search path at it.
            let setup = AnyPoolOptions::new()
                .max_connections(1)
                .connect_with(connect_options.clone())
                .await
                .map_err(open)?;
            setup
                .execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
                .await
                .map_err(open)?;
            setup.close().await;
            let set_path = format!("SET search_path TO {schema}");
            pool_options = pool_options.after_connect(move |conn, _meta| {
                let set_path = set_path.clone();
                Box::pin(async move {
                    conn.execute(set_path.as_str()).await?;
                    Ok(())
                })
            });
        }
        let database_file = match backend {
            Backend::Sqlite => sqlite_file(url),
            Backend::Postgres => None,
        };
        if backend == Backend::Sqlite {
            // Checkpoints run in the background, not in the commit that fills the log; and a
            // database on disk syncs its log after COMMIT, outside the write lock ([`durable`]).
            let sync_after_commit = database_file.is_some();
            pool_options = pool_options.after_connect(move |conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
                    if sync_after_commit {
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            });
        }
        let writer_options = pool_options.clone().max_connections(1);
        let pool = pool_options.connect_with(connect_options.clone()).await.map_err(open)?;
        let write_gate = Arc::new(tokio::sync::Mutex::new(()));
        let mut checkpoints = None;
        let mut writer = None;
        if backend == Backend::Sqlite {
            pool.execute("PRAGMA journal_mode = WAL").await.map_err(open)?;
            checkpoints =
                Some(Arc::new(checkpoint::Checkpoints::start(pool.clone(), write_gate.clone())));
            writer = Some(writer_options.connect_with(connect_options).await.map_err(open)?);
        }
        let wal = database_file.map(|file| Arc::new(durable::WalSync::new(file)));
        let store = Store { pool, writer, backend, write_gate, checkpoints, wal };
        migrate::store(&store).await?;
        tracing::debug!(target = %target, ?backend, "store opened");
        Ok(store)
    }

    /// SQLite: follows how many background WAL checkpoints have finished (each committed write
    /// transaction asks for one); `None` on PostgreSQL.
    pub fn wal_checkpoints(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.checkpoints.as_ref().map(|c| c.finished())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a transaction that may write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`) so that read-then-write never deadlocks; on PostgreSQL use
    /// [`Tx::lock_va`] to serialise changes to one virtual account's pool.
    pub async fn begin(&self) -> Result<Tx> {
        let gate = match self.backend {
            Backend::Sqlite => Some(self.write_gate.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        let tx = match self.backend {
            Backend::Sqlite => self.write_pool().begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
        .map_err(|source| StoreError::Database { op: "beginning a transaction", source })?;
        let checkpoints = gate.as_ref().and(self.checkpoints.clone());
        let wal = gate.as_ref().and(self.wal.clone());
        Ok(Tx::new(tx, self.backend, gate, checkpoints, wal))
    }

    /// Begins a transaction for reading only (never blocks writers on SQLite's WAL).
    pub async fn read(&self) -> Result<Tx> {
        let tx = self
            .pool
            .begin()
            .await
            .map_err(|source| StoreError::Database { op: "beginning a transaction", source })?;
        Ok(Tx::new(tx, self.backend, None, None, None))
    }

    /// Closes every connection.
    pub async fn close(&self) {
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.stop().await;
        }
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Where write transactions run: the writer's own connection on SQLite.
    pub(crate) fn write_pool(&self) -> &AnyPool {
        self.writer.as_ref().unwrap_or(&self.pool)
    }
}

/// The database file a `sqlite:` URL names, or `None` for a database in memory.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let file = options.get_filename();
    // sqlx names an in-memory database `file:sqlx-in-memory-N`.
    let in_memory = url.contains(":memory:")
        || url.contains("mode=memory")
        || file.to_str().is_some_and(|name| name.starts_with("file:sqlx-in-memory-"));
    (!in_memory).then(|| file.to_owned())
}

fn valid_schema(schema: &str) -> bool {
    !schema.is_empty()
        && schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Percent-encodes a file path for a `sqlite://` URL.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The URL without its password, for messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_file_is_read_from_the_url() {
        let dir = Path::new("/srv/slp data");
        let url = format!("sqlite://{}?mode=rwc", percent_encode("/srv/slp data/authority.db"));
        assert_eq!(sqlite_file(&url), Some(dir.join(SQLITE_FILE)));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://x.db?mode=memory"), None);
    }

    #[test]
    fn urls_are_redacted_and_paths_encoded() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(percent_encode("/tmp/a b?#/x.db"), "/tmp/a%20b%3F%23/x.db");
        assert!(valid_schema("slp_test_1"));
        assert!(!valid_schema("x; drop table"));
        assert!(!valid_schema(""));
    }
}
