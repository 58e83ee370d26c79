//! RESTCONF (RFC 8040) on the device's HTTPS server: `/restconf/data/cisco-smart-license:…`,
//! `/restconf/operations/…`, `/.well-known/host-meta`, beside `/smartlic-service/*`.

use std::sync::Arc;

use crate::service::Shared;

/// Serves HTTPS on `listener` until the task is aborted.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    tls: slp_http::TlsConfig,
) {
    // Not built yet (issue #19, the restconf helper): nothing is served.
    let _ = (shared, listener, tls);
}
