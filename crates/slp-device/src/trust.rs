//! The device's trust pool: the CA certificates (PEM) its HTTPS peers' certificates are checked
//! against besides the public (Mozilla) roots, kept in `<state>/trustpool.pem` (IOS keeps a
//! "trustpool" of CA certificates for the same purpose). `slp device init --ca FILE` and `slp
//! device run --ca FILE` put a CA there; every device-initiated message (smart and CSLU
//! transports, HTTPS URLs) is verified with it. There is no way to turn verification off.

use std::path::{Path, PathBuf};

use slp_http::{TlsError, TrustRoots};

use crate::state::{StateDir, write_atomic};

/// The trust pool's file in a state directory.
pub const TRUSTPOOL_FILE: &str = "trustpool.pem";

/// Where a device keeps its trust pool.
pub fn trustpool_path(dir: &StateDir) -> PathBuf {
    dir.root().join(TRUSTPOOL_FILE)
}

/// Why the trust pool could not be set.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Write(#[from] crate::DeviceError),
}

/// Replaces the trust pool with the CA certificates of `ca` (PEM), after checking that the file
/// holds at least one certificate; a file that does not changes nothing.
pub fn install(dir: &StateDir, ca: &Path) -> Result<TrustRoots, TrustError> {
    let roots = TrustRoots::from_pem_file(ca)?;
    let pem = std::fs::read(ca).map_err(|source| TlsError::Read {
        what: "the CA file",
        path: ca.to_owned(),
        source,
    })?;
    write_atomic(&trustpool_path(dir), &pem)?;
    Ok(roots)
}

/// The trust pool's roots (none when there is no trust pool).
pub fn roots(dir: &StateDir) -> Result<TrustRoots, TlsError> {
    let path = trustpool_path(dir);
    if path.exists() { TrustRoots::from_pem_file(&path) } else { Ok(TrustRoots::system()) }
}
