//! What every slp HTTP server shares (authority, relay, device management API, and the roles to
//! come): how it is served (`tls`: plain HTTP on loopback or HTTPS with rustls) and the layers
//! every router is wrapped in (`ops`: security headers, closed CORS, bounded bodies and headers,
//! request ids, Prometheus metrics, `/healthz` and `/readyz`, rate limits on failed logins).

pub mod ops;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt;

pub use tls::{ServeTls, TlsConfig, TlsError, TrustRoots};

/// Serves `router` on `listener` until `shutdown` completes, then finishes the requests in
/// flight: over TLS when `tls` is given (HTTP/1.1; handshakes bounded by
/// [`tls::HANDSHAKE_TIMEOUT`]), plain HTTP otherwise. Whether plain HTTP is allowed on the
/// address is the caller's check ([`ServeTls::resolve`]). Every request carries the peer's
/// address as `ConnectInfo<SocketAddr>`, over TLS and plain HTTP alike.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<TlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        None => serve_on(listener, router, shutdown).await,
        Some(tls) => serve_on(tls::TlsListener::new(listener, &tls)?, router, shutdown).await,
    }
}

/// How long a client has to send a request's headers, from the moment its connection waits for
/// a request (also between requests on a kept-alive connection): a client that sends nothing, or
/// its headers a byte at a time, is disconnected, so idle or slow clients cannot hold every
/// connection the server can take.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

async fn serve_on<L>(
    mut listener: L,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let service = router.clone().map_request(move |request: Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
        let connection =
            builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%peer, error = %err, "connection ended");
            }
        });
    }
    // Requests in flight are finished; idle connections are closed.
    graceful.shutdown().await;
    Ok(())
}
