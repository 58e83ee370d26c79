//! The management plane's configuration, as on IOS-XE: who may log in (`username … privilege
//! 15 secret …`, [`crate::state::Config::users`]), the enable secret, SSH (`ip ssh version 2`,
//! `line vty 0 4` / `transport input ssh`), NETCONF (`netconf-yang`), the HTTPS server (`ip
//! http secure-server`, `ip http authentication local`) and RESTCONF (`restconf`).
//!
//! `slp device run --ssh/--netconf/--https` opens the listeners; these settings decide whether a
//! session on them is served, as the same lines decide it on a switch.

use serde::{Deserialize, Serialize};

/// The management-plane settings, one field of [`super::Settings`]. A new device has none of
/// them: every protocol is off until configured (`slp lab` configures all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Management {
    /// `enable secret …`: the type 9 secret (`$9$…`, [`crate::secret`]) `enable` asks for at
    /// the `>` prompt; without one, `enable` from an SSH session is refused as on IOS
    /// (`% No password set`).
    pub enable_secret: Option<String>,
    /// `ip ssh version 2` (IOS-XE also accepts 1; slp's server speaks 2 only).
    pub ssh_version: Option<u8>,
    /// `line vty 0 4` … `transport input {ssh|telnet|all|none}`: the protocols the vty lines
    /// take. SSH sessions are served only when this names `ssh` or `all`.
    pub vty_transport_input: Vec<String>,
    /// `line vty 0 4` … `login local`.
    pub vty_login_local: bool,
    /// `line vty 0 4` … `exec-timeout M S` (minutes, seconds; 0 0 = never).
    pub vty_exec_timeout: Option<(u32, u32)>,
    /// `netconf-yang`.
    pub netconf_yang: bool,
    /// `ip http secure-server`.
    pub http_secure_server: bool,
    /// `ip http authentication local`.
    pub http_authentication_local: bool,
    /// `restconf`.
    pub restconf: bool,
}

impl Management {
    /// Whether an SSH CLI session is served: the vty lines take SSH.
    pub fn ssh_enabled(&self) -> bool {
        self.vty_transport_input.iter().any(|t| t == "ssh" || t == "all")
    }

    /// Whether a NETCONF session is served (`netconf-yang`).
    pub fn netconf_enabled(&self) -> bool {
        self.netconf_yang
    }

    /// Whether the HTTPS server answers at all (`ip http secure-server`).
    pub fn https_enabled(&self) -> bool {
        self.http_secure_server
    }

    /// Whether RESTCONF is served (`ip http secure-server` and `restconf`).
    pub fn restconf_enabled(&self) -> bool {
        self.http_secure_server && self.restconf
    }
}
