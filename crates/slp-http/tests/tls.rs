//! HTTPS end to end on loopback: a server on certificates from a CA made here, clients that trust
//! that CA, and clients that do not (and say why).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use slp_http::tls::certificate_problem;
use slp_http::{TlsConfig, TrustRoots};

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).unwrap();
    Ca { pem: cert.pem(), issuer: Issuer::new(params, key) }
}

/// A server certificate and key for `names`, signed by `ca`, written to `dir`.
fn server_files(dir: &Path, ca: &Ca, names: &[&str]) -> (PathBuf, PathBuf) {
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let (cert_path, key_path) = (dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

fn roots(dir: &Path, ca: &Ca) -> TrustRoots {
    let path = dir.join(format!("ca-{}.pem", ca.pem.len()));
    std::fs::write(&path, &ca.pem).unwrap();
    TrustRoots::from_pem_file(&path).unwrap()
}

struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(tls: Option<TlsConfig>) -> Running {
    let router = Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(slp_http::serve(listener, router, tls, async move {
        let _ = stopped.await;
    }));
    Running { addr, stop: Some(stop), done }
}

#[tokio::test]
async fn a_client_that_trusts_the_ca_is_served_and_one_that_does_not_is_refused_with_a_certificate_error()
 {
    let dir = tempfile::tempdir().unwrap();
    let lab = ca("slp test CA");
    let (cert, key) = server_files(dir.path(), &lab, &["localhost", "127.0.0.1"]);
    let mut server = start(Some(TlsConfig::from_pem_files(&cert, &key).unwrap())).await;
    let port = server.addr.port();

    // Trusting the CA: served over HTTPS, by IP address and by name; the handler sees the peer.
    let trusting = roots(dir.path(), &lab).client().build().unwrap();
    for host in ["127.0.0.1", "localhost"] {
        let reply = trusting.get(format!("https://{host}:{port}/peer")).send().await.unwrap();
        assert_eq!(reply.status(), 200);
        assert_eq!(reply.text().await.unwrap(), "127.0.0.1");
    }

    // The public (Mozilla) roots only (no --ca): refused, and the error says what to do.
    let system = TrustRoots::system().client().build().unwrap();
    let err = system.get(format!("https://127.0.0.1:{port}/peer")).send().await.unwrap_err();
    let problem = certificate_problem(&err).expect("a certificate error");
    assert!(problem.contains("not trusted"), "{problem}");
    assert!(problem.contains("invalid peer certificate: UnknownIssuer"), "{problem}");
    assert!(problem.contains("--ca FILE"), "{problem}");

    // Another CA (an attacker's or the wrong file): refused the same way.
    let other = roots(dir.path(), &ca("someone else's CA")).client().build().unwrap();
    let err = other.get(format!("https://127.0.0.1:{port}/peer")).send().await.unwrap_err();
    assert!(certificate_problem(&err).unwrap().contains("UnknownIssuer"));

    // Plain HTTP to the HTTPS port gets no answer from the application.
    let plain = reqwest::Client::new();
    let answer = plain.get(format!("http://127.0.0.1:{port}/peer")).send().await;
    assert!(answer.is_err(), "{answer:?}");
    // ...and the server still serves the next client.
    let reply = trusting.get(format!("https://127.0.0.1:{port}/peer")).send().await.unwrap();
    assert_eq!(reply.status(), 200);

    // Graceful shutdown: serve returns and the port is closed.
    server.stop.take().unwrap().send(()).unwrap();
    server.done.await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
}

#[tokio::test]
async fn a_certificate_for_another_host_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lab = ca("slp test CA");
    let (cert, key) = server_files(dir.path(), &lab, &["relay.example.com"]);
    let server = start(Some(TlsConfig::from_pem_files(&cert, &key).unwrap())).await;
    let client = roots(dir.path(), &lab).client().build().unwrap();
    let err = client
        .get(format!("https://127.0.0.1:{}/peer", server.addr.port()))
        .send()
        .await
        .unwrap_err();
    let problem = certificate_problem(&err).expect("a certificate error");
    assert!(problem.contains("does not name the host in the URL"), "{problem}");
    assert!(problem.contains("relay.example.com"), "{problem}");
}

#[tokio::test]
async fn plain_http_serves_with_the_peer_address_too() {
    let server = start(None).await;
    let reply = reqwest::get(format!("http://{}/peer", server.addr)).await.unwrap();
    assert_eq!(reply.text().await.unwrap(), "127.0.0.1");
}
