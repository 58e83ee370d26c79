//! The transport of device-initiated messages: one `slp_wire::online` request out, its reply
//! back ([`Uplink`]), over HTTP(S) with the device's trust pool and proxy ([`HttpUplink`]). The
//! conversations that use it (`license smart sync`, polling, retries) are
//! [`crate::agent::Conversation`]s.

use std::time::Duration as StdDuration;

use slp_wire::online::{Request, Response};

/// A communication failure: the peer could not be reached or did not answer sensibly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct CommError {
    pub reason: String,
    /// The peer answered, but has no Smart Licensing Using Policy endpoint at the URL (HTTP
    /// 404, 405 or 501 without a reply): a down-rev CSLU or SSM On-Prem that cannot take the
    /// report (`%SMART_LIC-4-REPORTING_NOT_SUPPORTED`).
    pub unsupported: bool,
}

impl CommError {
    /// A failure to reach the peer or to read its answer.
    pub fn new(reason: impl Into<String>) -> CommError {
        CommError { reason: reason.into(), unsupported: false }
    }
}

/// Sends one device message and returns the peer's reply.
pub trait Uplink: Send + Sync {
    fn send(&self, url: &str, request: &Request) -> Result<Response, CommError>;
}

/// How long the device waits for a peer to accept a connection.
pub const CONNECT_TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// How long one message may take, connection to the last byte of the answer.
pub const EXCHANGE_TIMEOUT: StdDuration = StdDuration::from_secs(30);

/// The real uplink: HTTP(S) with reqwest, through the configured proxy if any; HTTPS peers'
/// certificates are verified against the public (Mozilla) roots and the device's trust pool.
pub struct HttpUplink {
    proxy: Option<String>,
    /// Static name-to-address mappings (`ip host`), used before the host's resolver.
    hosts: Vec<(String, std::net::IpAddr)>,
    /// The trust pool, or why it could not be read (every send then fails with that reason).
    roots: Result<slp_http::TrustRoots, String>,
}

impl HttpUplink {
    pub fn new(proxy: Option<String>, roots: Result<slp_http::TrustRoots, String>) -> HttpUplink {
        HttpUplink { proxy, roots, hosts: Vec::new() }
    }

    /// Resolves these names to these addresses (`ip host NAME ADDR`).
    pub fn with_hosts(mut self, hosts: Vec<(String, std::net::IpAddr)>) -> HttpUplink {
        self.hosts = hosts;
        self
    }
}

impl Uplink for HttpUplink {
    fn send(&self, url: &str, request: &Request) -> Result<Response, CommError> {
        let comm = CommError::new;
        let roots = self.roots.as_ref().map_err(|reason| comm(reason.clone()))?;
        let mut builder =
            roots.blocking_client().connect_timeout(CONNECT_TIMEOUT).timeout(EXCHANGE_TIMEOUT);
        for (name, ip) in &self.hosts {
            // Port 0: the URL's port is used.
            builder = builder.resolve(name, std::net::SocketAddr::new(*ip, 0));
        }
        if let Some(proxy) = &self.proxy {
            builder = builder.proxy(
                reqwest::Proxy::all(proxy).map_err(|err| comm(format!("proxy {proxy}: {err}")))?,
            );
        }
        let client = builder.build().map_err(|err| comm(err.to_string()))?;
        let response = client.post(url).json(request).send().map_err(|err| comm(describe(&err)))?;
        let status = response.status();
        let body = response.text().map_err(|err| comm(describe(&err)))?;
        let reply = serde_json::from_str::<Response>(&body);
        if reply.is_err() && matches!(status.as_u16(), 404 | 405 | 501) {
            return Err(CommError {
                reason: format!(
                    "HTTP {status} from {url}: no Smart Licensing Using Policy reporting there"
                ),
                unsupported: true,
            });
        }
        if body.trim().is_empty() {
            return Err(comm("Received empty response from server".to_owned()));
        }
        match reply {
            Ok(reply) => Ok(reply),
            Err(_) => Err(comm(format!("unexpected reply (HTTP {status}) from {url}"))),
        }
    }
}

fn describe(err: &reqwest::Error) -> String {
    if let Some(problem) = slp_http::tls::certificate_problem(err) {
        problem
    } else if err.is_connect() {
        "Unable to connect to the server".to_owned()
    } else if err.is_timeout() {
        "Timeout waiting for the server".to_owned()
    } else {
        err.to_string()
    }
}
