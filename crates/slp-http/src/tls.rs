//! Serving over TLS (rustls) or, on loopback or when asked, plain HTTP; and the trust roots of
//! every outbound HTTPS client.
//!
//! Servers: [`ServeTls`] is the `--tls-cert FILE --tls-key FILE --insecure-http` flags of every
//! server command. [`ServeTls::resolve`] loads the certificate chain and key (PEM) into a
//! [`TlsConfig`], or refuses plain HTTP on an address that is not loopback unless
//! `--insecure-http` was given. [`crate::serve`] then serves a router over it.
//!
//! Clients: [`TrustRoots`] is `--ca FILE`, extra trust roots in addition to Mozilla's public
//! roots built into the binary (reqwest's `rustls-tls-webpki-roots`; the system's store is not
//! read on every client build: give its bundle as `--ca` to trust it). Certificates are always
//! verified: there is no flag to turn verification off.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take for the TLS handshake before its connection is closed.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What is wrong with a certificate, key or listen address; each names the file or address.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----){detail}", path.display())]
    NoCertificate { path: PathBuf, detail: String },
    #[error(
        "{} holds no PEM private key (-----BEGIN PRIVATE KEY-----, RSA or EC PRIVATE KEY){detail}",
        path.display()
    )]
    NoKey { path: PathBuf, detail: String },
    #[error("the certificate {} and the key {} cannot serve TLS: {reason}", cert.display(), key.display())]
    Unusable { cert: PathBuf, key: PathBuf, reason: String },
    #[error(
        "refusing to serve plain HTTP on {addr}: it is not a loopback address, so anyone on the \
         network could read and change the traffic. Give --tls-cert FILE --tls-key FILE (PEM) to \
         serve HTTPS, or --insecure-http to serve plain HTTP anyway (e.g. behind a proxy that \
         terminates TLS)"
    )]
    PlainHttpNotLoopback { addr: SocketAddr },
    #[error("building an HTTPS client: {0}")]
    Client(String),
}

/// A server's certificate chain and private key, ready to accept TLS connections.
#[derive(Clone)]
pub struct TlsConfig {
    server: Arc<rustls::ServerConfig>,
    cert: PathBuf,
    leaf: Vec<u8>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").field("cert", &self.cert).finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Loads a certificate chain (PEM, the server's certificate first, then the intermediates)
    /// and its private key (PEM: PKCS#8, PKCS#1 or SEC1). The key must belong to the certificate.
    /// A key file others can read is served all the same, with a warning.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let read = |what, path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                what,
                path: path.to_owned(),
                source,
            })
        };
        let cert_pem = read("the TLS certificate", cert)?;
        let key_pem = read("the TLS key", key)?;
        warn_if_readable_by_others(key);
        TlsConfig::from_pem(&cert_pem, cert, &key_pem, key)
    }

    /// As [`TlsConfig::from_pem_files`], from the files' contents (`cert` and `key` name them in
    /// errors).
    pub fn from_pem(
        cert_pem: &[u8],
        cert: &Path,
        key_pem: &[u8],
        key: &Path,
    ) -> Result<TlsConfig, TlsError> {
        let chain = certificates(cert_pem, cert)?;
        let leaf = chain.first().map(|der| der.to_vec()).unwrap_or_default();
        let private = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|err| TlsError::NoKey { path: key.to_owned(), detail: pem_detail(&err) })?;
        let unusable = |reason: String| TlsError::Unusable {
            cert: cert.to_owned(),
            key: key.to_owned(),
            reason,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| unusable(err.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(|err| {
                unusable(match err {
                    rustls::Error::InconsistentKeys(_) => {
                        "the key does not belong to the certificate".to_owned()
                    }
                    other => other.to_string(),
                })
            })?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig { server: Arc::new(server), cert: cert.to_owned(), leaf })
    }

    /// The certificate file this configuration was loaded from.
    pub fn cert_path(&self) -> &Path {
        &self.cert
    }

    /// The server's own certificate (DER), for a local client to pin ([`pinned_client`]).
    pub fn leaf_der(&self) -> &[u8] {
        &self.leaf
    }
}

fn certificates(pem: &[u8], path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain =
        CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().map_err(|err| {
            TlsError::NoCertificate { path: path.to_owned(), detail: pem_detail(&err) }
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: path.to_owned(), detail: String::new() });
    }
    Ok(chain)
}

fn pem_detail(err: &rustls::pki_types::pem::Error) -> String {
    match err {
        rustls::pki_types::pem::Error::NoItemsFound => String::new(),
        other => format!(": {other:?}"),
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(key: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(key)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            key = %key.display(),
            mode = format!("{:o}", meta.permissions().mode() & 0o777),
            "the TLS key can be read by other users; chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_key: &Path) {}

/// The TLS flags of every server command.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeTls {
    /// Serve HTTPS with this certificate chain (PEM: the server's certificate first, then its
    /// intermediates). Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1; keep it chmod 600).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address that is not loopback (without it, such an address needs
    /// --tls-cert and --tls-key). Only behind a proxy that terminates TLS, or in a closed lab.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub insecure_http: bool,
}

impl ServeTls {
    /// The TLS configuration to serve `listen` with: the certificate and key when given; none
    /// (plain HTTP) on a loopback address or with `--insecure-http`; otherwise an error naming
    /// the address and the flags, before anything is served.
    pub fn resolve(&self, listen: SocketAddr) -> Result<Option<TlsConfig>, TlsError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some(TlsConfig::from_pem_files(cert, key)?)),
            _ => {
                check_plain_http(listen, self.insecure_http)?;
                Ok(None)
            }
        }
    }
}

/// Plain HTTP is served on loopback addresses only, unless the operator insists.
pub fn check_plain_http(listen: SocketAddr, insecure_http: bool) -> Result<(), TlsError> {
    if listen.ip().is_loopback() || insecure_http {
        if !listen.ip().is_loopback() {
            tracing::warn!(%listen, "serving plain HTTP on a non-loopback address (--insecure-http)");
        }
        Ok(())
    } else {
        Err(TlsError::PlainHttpNotLoopback { addr: listen })
    }
}

/// The URL scheme a server is reached with.
pub fn scheme(tls: Option<&TlsConfig>) -> &'static str {
    if tls.is_some() { "https" } else { "http" }
}

/// A listener that accepts TCP connections and completes their TLS handshake before handing
/// them to the HTTP server. Handshakes run in tasks of their own (a slow or silent client holds
/// up nobody) and are bounded by [`HANDSHAKE_TIMEOUT`]; failed handshakes are logged and
/// dropped. The TCP listener closes when this is dropped.
pub struct TlsListener {
    local: SocketAddr,
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, tls: &TlsConfig) -> std::io::Result<TlsListener> {
        let local = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(tls.server.clone());
        let (sender, accepted) = mpsc::channel(64);
        let task = tokio::spawn(accept_loop(listener, acceptor, sender));
        Ok(TlsListener { local, accepted, task })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    sender: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let accepted = tokio::select! {
            _ = sender.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: wait a moment instead of spinning.
                tracing::warn!(error = %err, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let _ = sender.send((stream, peer)).await;
                }
                Ok(Err(err)) => tracing::info!(%peer, error = %err, "TLS handshake failed"),
                Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(accepted) => accepted,
            // The accept loop is gone only once this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// Trust roots of an outbound HTTPS client beyond the system's: the CA certificates of `--ca
/// FILE`. Every client built from it verifies the server's certificate and host name.
#[derive(Debug, Clone, Default)]
pub struct TrustRoots {
    certs: Vec<reqwest::Certificate>,
    sources: Vec<PathBuf>,
}

impl TrustRoots {
    /// No extra roots: the public (Mozilla) roots only.
    pub fn system() -> TrustRoots {
        TrustRoots::default()
    }

    /// The CA certificates of a PEM file (one or more `-----BEGIN CERTIFICATE-----` blocks).
    pub fn from_pem_file(path: &Path) -> Result<TrustRoots, TlsError> {
        let pem = std::fs::read(path).map_err(|source| TlsError::Read {
            what: "the CA file",
            path: path.to_owned(),
            source,
        })?;
        TrustRoots::from_pem(&pem, path)
    }

    /// As [`TrustRoots::from_pem_file`], from the file's contents (`path` names it in errors).
    pub fn from_pem(pem: &[u8], path: &Path) -> Result<TrustRoots, TlsError> {
        let ders = certificates(pem, path)?;
        let mut certs = Vec::with_capacity(ders.len());
        for der in ders {
            certs.push(reqwest::Certificate::from_der(&der).map_err(|err| {
                TlsError::NoCertificate { path: path.to_owned(), detail: format!(": {err}") }
            })?);
        }
        Ok(TrustRoots { certs, sources: vec![path.to_owned()] })
    }

    /// `--ca FILE` if given, else the public (Mozilla) roots only.
    pub fn optional(path: Option<&Path>) -> Result<TrustRoots, TlsError> {
        path.map_or_else(|| Ok(TrustRoots::system()), TrustRoots::from_pem_file)
    }

    /// These roots and `other`'s.
    pub fn merged(mut self, other: &TrustRoots) -> TrustRoots {
        self.certs.extend(other.certs.iter().cloned());
        self.sources.extend(other.sources.iter().cloned());
        self
    }

    /// The files the extra roots came from.
    pub fn sources(&self) -> &[PathBuf] {
        &self.sources
    }

    /// An async client builder that trusts these roots besides the system's.
    pub fn client(&self) -> reqwest::ClientBuilder {
        self.certs.iter().fold(reqwest::Client::builder().use_rustls_tls(), |builder, cert| {
            builder.add_root_certificate(cert.clone())
        })
    }

    /// A blocking client builder that trusts these roots besides the system's.
    pub fn blocking_client(&self) -> reqwest::blocking::ClientBuilder {
        self.certs
            .iter()
            .fold(reqwest::blocking::Client::builder().use_rustls_tls(), |builder, cert| {
                builder.add_root_certificate(cert.clone())
            })
    }
}

/// A blocking client that accepts exactly one server certificate, `leaf` (DER), whatever names
/// it carries, and checks the server's proof that it holds its key. For a local tool that learnt
/// the certificate from a file only its user can read (`slp device exec` → the running device
/// service through `run.json`), where the certificate names the device, not 127.0.0.1.
pub fn pinned_client(leaf: Vec<u8>) -> Result<reqwest::blocking::ClientBuilder, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(Pinned { leaf, provider: provider.clone() });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| TlsError::Client(err.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(reqwest::blocking::Client::builder().use_preconfigured_tls(config))
}

#[derive(Debug)]
struct Pinned {
    leaf: Vec<u8>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.leaf.as_slice() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// When `err` is a refused server certificate, says so in words an operator can act on (what
/// rustls objected to, and what to do about it); `None` for every other error.
pub fn certificate_problem(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        // rustls' error travels inside an io::Error, whose source() skips it.
        let inner = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::InvalidCertificate(_)) = inner {
            return Some(explain(&inner.map(ToString::to_string).unwrap_or_default()));
        }
        let text = current.to_string();
        if text.contains("invalid peer certificate") {
            return Some(explain(&text));
        }
        source = current.source();
    }
    None
}

fn explain(problem: &str) -> String {
    if problem.contains("not valid for name") {
        format!(
            "the server's certificate does not name the host in the URL ({problem}); use a URL \
             with a name or address the certificate lists"
        )
    } else if problem.contains("expired") || problem.contains("not valid yet") {
        format!("the server's certificate is outside its validity period ({problem})")
    } else {
        format!(
            "the server's certificate is not trusted ({problem}); give --ca FILE with the CA \
             that signed it"
        )
    }
}

/// An outbound request's error for people: the certificate problem when there is one, else
/// reqwest's own text with its causes.
pub fn describe_request_error(err: &reqwest::Error) -> String {
    if let Some(problem) = certificate_problem(err) {
        return problem;
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_refused_on_a_public_address_and_allowed_on_loopback() {
        let public: SocketAddr = "0.0.0.0:8182".parse().unwrap_or_else(|_| unreachable!());
        let err = check_plain_http(public, false).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("0.0.0.0:8182"), "{err}");
        assert!(err.contains("--tls-cert FILE --tls-key FILE"), "{err}");
        assert!(err.contains("--insecure-http"), "{err}");
        assert!(check_plain_http(public, true).is_ok());
        let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!());
        assert!(check_plain_http(loopback, false).is_ok());
        let v6: SocketAddr = "[::1]:0".parse().unwrap_or_else(|_| unreachable!());
        assert!(check_plain_http(v6, false).is_ok());
    }

    #[test]
    fn a_key_of_another_certificate_and_files_without_pem_are_refused_naming_the_file() {
        let one = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .unwrap_or_else(|e| panic!("{e}"));
        let two = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .unwrap_or_else(|e| panic!("{e}"));
        let cert = Path::new("/etc/slp/cert.pem");
        let key = Path::new("/etc/slp/key.pem");
        let ok = TlsConfig::from_pem(
            one.cert.pem().as_bytes(),
            cert,
            one.signing_key.serialize_pem().as_bytes(),
            key,
        );
        assert!(ok.is_ok(), "{ok:?}");
        let mismatch = TlsConfig::from_pem(
            one.cert.pem().as_bytes(),
            cert,
            two.signing_key.serialize_pem().as_bytes(),
            key,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(mismatch.contains("does not belong to the certificate"), "{mismatch}");
        assert!(mismatch.contains("/etc/slp/key.pem"), "{mismatch}");
        // The key where the certificate should be, and the other way round.
        let swapped = TlsConfig::from_pem(
            one.signing_key.serialize_pem().as_bytes(),
            key,
            one.cert.pem().as_bytes(),
            cert,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(swapped.contains("/etc/slp/key.pem holds no PEM certificate"), "{swapped}");
        let ca = TrustRoots::from_pem(b"not a certificate", Path::new("ca.pem"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(ca.contains("ca.pem holds no PEM certificate"), "{ca}");
        let missing = TrustRoots::from_pem_file(Path::new("/nonexistent/ca.pem"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(missing.contains("reading the CA file /nonexistent/ca.pem"), "{missing}");
    }
}
