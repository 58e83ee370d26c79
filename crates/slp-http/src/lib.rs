//! What every slp HTTP server shares (authority, relay, device management API, and the roles to
//! come): how it is served (`tls`: plain HTTP on loopback or HTTPS with rustls) and the layers
//! every router is wrapped in (`ops`: security headers, closed CORS, bounded bodies and headers,
//! request ids, Prometheus metrics, `/healthz` and `/readyz`, rate limits on failed logins).

pub mod ops;
pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::serve::{IncomingStream, Listener};
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

async fn serve_on<L>(
    listener: L,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    let make = tower::service_fn(move |incoming: IncomingStream<'_, L>| {
        let peer = *incoming.remote_addr();
        let router = router.clone();
        async move {
            Ok::<_, Infallible>(router.map_request(move |mut request: Request| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            }))
        }
    });
    axum::serve(listener, make).with_graceful_shutdown(shutdown).await
}
