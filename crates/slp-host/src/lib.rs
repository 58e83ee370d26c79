//! What every slp process needs from its host, written once.
//!
//! - [`write_atomic`] / [`write_private`]: a file is replaced whole or not at all (a crash
//!   leaves the old content or the new, never half), synced to disk before the rename.
//! - [`shutdown_signal`]: completes on Ctrl-C or (Unix) SIGTERM; every server stops on it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces `path` with `bytes` atomically: written to a temporary file beside it, synced,
/// renamed over it, and the rename synced. The file gets the process's default mode.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write(path, bytes, None)
}

/// As [`write_atomic`], and only the owner can ever read the file (mode 0600 on Unix), also
/// when a file with a wider mode was there before: for keys, secrets and credentials.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write(path, bytes, Some(0o600))
}

fn write(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // A leftover of an earlier writer keeps its own mode if opened: start from a new file, and
    // give it its mode when it is created, so no one else can ever open a private one.
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if let Some(mode) = mode {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    if let Ok(handle) = fs::File::open(&dir) {
        // Persist the rename itself; not every platform supports syncing a directory.
        let _ = handle.sync_all();
    }
    Ok(())
}

/// Completes on Ctrl-C or (Unix) SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM; Ctrl-C still stops");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_file_replaces_a_wider_one_and_leaves_no_temp_file() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secret.key");
        fs::write(&path, b"old")?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
        }
        write_private(&path, b"new")?;
        assert_eq!(fs::read(&path)?, b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        }
        let names: Vec<_> = fs::read_dir(dir.path())?.filter_map(|e| e.ok()).collect();
        assert_eq!(names.len(), 1, "only the file itself is left");
        Ok(())
    }

    #[test]
    fn a_write_into_a_missing_folder_fails_and_changes_nothing() {
        let dir = tempfile::tempdir().ok();
        let path = dir.as_ref().map(|d| d.path().join("no/such/folder/file")).unwrap_or_default();
        assert!(write_atomic(&path, b"x").is_err());
        assert!(!path.exists());
    }
}
