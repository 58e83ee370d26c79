//! The lab's TLS: a CA of its own and one server certificate for 127.0.0.1 and localhost, signed
//! by it, kept in `<data>/tls/` (the folder 0700, the keys 0600) and reused by later runs. Every
//! lab server (authority, relay, each device's management API) serves that certificate; every
//! lab client (relay → authority, devices → relay and authority, relay → devices) trusts the CA
//! (`ca.pem`, which the lab prints; other tools take it as `--ca`). The certificates carry no
//! meaningful expiry (rcgen's 1975–4096 validity): the lab's clock is virtual and may run years
//! ahead, while TLS checks validity against the real time.

use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use slp_http::{TlsConfig, TlsError, TrustRoots};

/// The lab's TLS folder inside its data directory.
pub const TLS_DIR: &str = "tls";

/// What went wrong making or loading the lab's certificates.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("generating the lab's certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// The lab's certificates, loaded.
#[derive(Debug, Clone)]
pub struct LabTls {
    /// The CA certificate (PEM): what clients outside the lab give as `--ca`.
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// True when this run made them (none were there, or some were missing).
    pub created: bool,
    pub server: TlsConfig,
    pub roots: TrustRoots,
}

impl LabTls {
    /// Loads the certificates of `<data>/tls/`, or makes them when any file is missing.
    pub fn ensure(data: &Path) -> Result<LabTls, CertError> {
        let dir = data.join(TLS_DIR);
        let ca = dir.join("ca.pem");
        let ca_key = dir.join("ca.key");
        let cert = dir.join("server.pem");
        let key = dir.join("server.key");
        let complete = [&ca, &ca_key, &cert, &key].iter().all(|path| path.is_file());
        if !complete {
            generate(&dir, &ca, &ca_key, &cert, &key)?;
        }
        let server = TlsConfig::from_pem_files(&cert, &key)?;
        let roots = TrustRoots::from_pem_file(&ca)?;
        Ok(LabTls { ca, cert, key, created: !complete, server, roots })
    }
}

fn generate(
    dir: &Path,
    ca: &Path,
    ca_key: &Path,
    cert: &Path,
    key: &Path,
) -> Result<(), CertError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| CertError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    }
    let authority_key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.distinguished_name.push(DnType::OrganizationName, "slp lab");
    params.distinguished_name.push(DnType::CommonName, "slp lab CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let authority_cert = params.self_signed(&authority_key)?;
    let issuer = Issuer::new(params, authority_key);

    let server_key = KeyPair::generate()?;
    let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    server.distinguished_name.push(DnType::CommonName, "slp lab server");
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer)?;

    write(ca_key, issuer.key().serialize_pem().as_bytes(), true).map_err(io(ca_key))?;
    write(key, server_key.serialize_pem().as_bytes(), true).map_err(io(key))?;
    write(cert, server_cert.pem().as_bytes(), false).map_err(io(cert))?;
    // The CA last: its presence with the others marks a complete set.
    write(ca, authority_cert.pem().as_bytes(), false).map_err(io(ca))?;
    Ok(())
}

/// Writes a file whole; a secret one is created 0600 (never readable by others, not even for a
/// moment).
fn write(path: &Path, bytes: &[u8], secret: bool) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    if secret {
        // A file left by an earlier run keeps its mode through open(); set it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn certificates_are_made_once_with_private_keys_and_reused() {
        let data = tempfile::tempdir().unwrap();
        let first = LabTls::ensure(data.path()).unwrap();
        assert!(first.created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&first.key), 0o600);
            assert_eq!(mode(&data.path().join(TLS_DIR).join("ca.key")), 0o600);
            assert_eq!(mode(&data.path().join(TLS_DIR)), 0o700);
        }
        let ca = std::fs::read(&first.ca).unwrap();
        let second = LabTls::ensure(data.path()).unwrap();
        assert!(!second.created);
        assert_eq!(std::fs::read(&second.ca).unwrap(), ca);
    }
}
