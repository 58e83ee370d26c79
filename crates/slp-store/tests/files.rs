//! The authority's SQLite database holds its signing key: only its owner may read it.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use slp_store::{SQLITE_FILE, Store};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn side(dir: &Path, suffix: &str) -> std::path::PathBuf {
    dir.join(format!("{SQLITE_FILE}{suffix}"))
}

#[tokio::test]
async fn the_database_and_its_folder_are_the_owners_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("A");
    let store = Store::open_dir(&dir).await.unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(SQLITE_FILE)), 0o600);
    // WAL mode: the log and its index exist while the store is open, with the file's mode.
    for suffix in ["-wal", "-shm"] {
        assert_eq!(mode(&side(&dir, suffix)), 0o600, "{suffix}");
    }
    store.close().await;

    // A database an earlier version left readable by everyone is restricted when opened.
    for path in [dir.join(SQLITE_FILE), side(&dir, "-wal"), side(&dir, "-shm")] {
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let store = Store::open_dir(&dir).await.unwrap();
    for path in [dir.join(SQLITE_FILE), side(&dir, "-wal"), side(&dir, "-shm")] {
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    store.close().await;
}
