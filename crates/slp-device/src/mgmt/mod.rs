//! The device's management plane beyond the REST API, as on a Catalyst switch: the SSH CLI
//! ([`ssh`]), NETCONF over SSH ([`netconf`]) with the `cisco-smart-license` YANG model
//! ([`yang`]), and RESTCONF on the HTTPS server ([`restconf`]), which also serves the
//! `/smartlic-service/*` API.
//!
//! Every session goes through the running device ([`crate::service`]'s one writer): a CLI line
//! runs as `exec` runs it, a NETCONF `<edit-config>` or RPC becomes the configuration and EXEC
//! lines a user would type, and the scheduler's contacts take the same locks.

pub mod netconf;
pub mod restconf;
pub mod ssh;
pub mod yang;

/// The listeners `slp device run` opens besides `--mgmt`, each optional.
#[derive(Debug, Default)]
pub struct Planes {
    /// `--ssh ADDR`: the SSH CLI (shell and exec channels).
    pub ssh: Option<tokio::net::TcpListener>,
    /// `--netconf ADDR`: NETCONF over SSH (the `netconf` subsystem), port 830 on a switch.
    pub netconf: Option<tokio::net::TcpListener>,
    /// `--https ADDR` and its certificate: RESTCONF and `/smartlic-service/*`.
    pub https: Option<(tokio::net::TcpListener, slp_http::TlsConfig)>,
}

/// What a channel application (a CLI shell, a NETCONF session) gives back for the bytes it was
/// fed: bytes for the client, and whether the channel is to be closed after them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Feed {
    pub out: Vec<u8>,
    pub close: bool,
}

/// A running device with no listener, no scheduler and a frozen clock, to open the planes'
/// sans-IO sessions over without a network: the fuzz targets (`fuzz/fuzz_targets/netconf.rs`,
/// `ssh_line.rs`) feed them what a client would send, through the same framing, parsing,
/// line editing and device commands the servers run.
#[doc(hidden)]
pub struct Offline(std::sync::Arc<crate::service::Shared>);

impl Offline {
    /// The running device around `session` (its mode does not matter: every session has a
    /// terminal of its own).
    pub fn new(session: crate::commands::Session) -> Offline {
        Offline(crate::service::Shared::for_tests(session))
    }

    /// A NETCONF session of `user` (the next session id), as the `netconf` subsystem opens it.
    pub fn netconf(&self, user: &str) -> netconf::Session {
        netconf::Session::new(self.0.clone(), self.0.next_session_id(), user.to_owned())
    }

    /// An interactive CLI of `user` in `mode` (a PTY: echo on), as an SSH shell channel
    /// opens it (there in privileged EXEC).
    pub fn shell(&self, user: &str, mode: crate::commands::Mode) -> ssh::OfflineShell {
        ssh::OfflineShell::new(self.0.clone(), user, mode)
    }
}

/// Starts a task per listener of `planes`; `serve` aborts them when the service stops.
pub(crate) fn start(
    shared: &std::sync::Arc<crate::service::Shared>,
    planes: Planes,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    // One bound for the device's SSH sessions, CLI and NETCONF together.
    let sessions = std::sync::Arc::new(tokio::sync::Semaphore::new(ssh::MAX_SESSIONS));
    if let Some(listener) = planes.ssh {
        let serve = ssh::serve(shared.clone(), listener, ssh::Role::Cli, sessions.clone());
        tasks.push(tokio::spawn(serve));
    }
    if let Some(listener) = planes.netconf {
        let serve = ssh::serve(shared.clone(), listener, ssh::Role::Netconf, sessions);
        tasks.push(tokio::spawn(serve));
    }
    if let Some((listener, tls)) = planes.https {
        tasks.push(tokio::spawn(restconf::serve(shared.clone(), listener, tls)));
    }
    tasks
}
