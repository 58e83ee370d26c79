//! The SSH server: the CLI (shell and exec channels) on `--ssh`, and NETCONF (the `netconf`
//! subsystem) on `--netconf`.

use std::sync::Arc;

use crate::service::Shared;

/// What an SSH listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `--ssh`: shell and exec channels run CLI lines.
    Cli,
    /// `--netconf`: only the `netconf` subsystem.
    Netconf,
}

/// Serves SSH sessions on `listener` until the task is aborted.
pub(crate) async fn serve(shared: Arc<Shared>, listener: tokio::net::TcpListener, role: Role) {
    // Not built yet (issue #19, the ssh helper): nothing is served.
    let _ = (shared, listener, role);
}
