//! What every slp HTTP server shares (authority, relay, device management API, and the roles to
//! come): how it is served (`tls`: plain HTTP on loopback or HTTPS with rustls) and the layers
//! every router is wrapped in (`ops`: security headers, closed CORS, bounded bodies and headers,
//! request ids, Prometheus metrics, `/healthz` and `/readyz`, rate limits on failed logins).

pub mod ops;
pub mod tls;
