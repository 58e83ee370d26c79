//! The management plane's configuration, as on IOS-XE: who may log in (`username … privilege
//! 15 secret …`, [`crate::state::Config::users`]), the enable secret, SSH (`ip ssh version 2`,
//! `line vty 0 4` / `transport input ssh`), NETCONF (`netconf-yang`), the HTTPS server (`ip
//! http secure-server`, `ip http authentication local`) and RESTCONF (`restconf`).
//!
//! `slp device run --ssh/--netconf/--https` opens the listeners; these settings decide whether a
//! session on them is served, as the same lines decide it on a switch.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::Place;
use crate::DeviceError;
use crate::agent::Device;
use crate::commands::Mode;

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
    /// `ip http server` (plain HTTP; slp serves only `--https`, the line is kept and shown).
    pub http_server: bool,
    /// `line console 0` … `exec-timeout M S`.
    pub console_exec_timeout: Option<(u32, u32)>,
    /// `no logging console` (IOS logs to the console unless told not to).
    pub no_logging_console: bool,
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

/// A command of [`TABLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    EnableSecret,
    EnableSecret9,
    NoEnableSecret,
    SshVersion,
    NoSshVersion,
    LineVty,
    LineConsole,
    TransportInput,
    NoTransportInput,
    LoginLocal,
    NoLogin,
    ExecTimeout,
    NoExecTimeout,
    LoggingConsole,
    NoLoggingConsole,
    NetconfYang,
    NoNetconfYang,
    HttpSecureServer,
    NoHttpSecureServer,
    HttpServer,
    NoHttpServer,
    HttpAuthLocal,
    NoHttpAuthLocal,
    Restconf,
    NoRestconf,
    TerminalLength,
    TerminalWidth,
    ShowInstallSummary,
    /// `enable` at the `#` prompt: already there.
    EnableAgain,
    /// `logout`: the SSH shell closes the session; elsewhere nothing to do.
    Logout,
}

const SHOW: &[Mode] = &[Mode::User, Mode::Exec];
const CONF: &[Mode] = &[Mode::Config];
const LINE: &[Mode] = &[Mode::ConfigLine];

/// The management-plane commands, in the syntax of [`crate::commands`]' table.
pub const TABLE: &[(&[Mode], &str, Cmd)] = &[
    (SHOW, "terminal length <0-512>", Cmd::TerminalLength),
    (SHOW, "terminal width <0-512>", Cmd::TerminalWidth),
    (SHOW, "show install summary", Cmd::ShowInstallSummary),
    (SHOW, "logout", Cmd::Logout),
    (&[Mode::Exec], "enable", Cmd::EnableAgain),
    (CONF, "enable secret WORD", Cmd::EnableSecret),
    (CONF, "enable secret <0-0> WORD", Cmd::EnableSecret),
    (CONF, "enable secret <9-9> WORD", Cmd::EnableSecret9),
    (CONF, "no enable secret", Cmd::NoEnableSecret),
    (CONF, "ip ssh version <1-2>", Cmd::SshVersion),
    (CONF, "no ip ssh version", Cmd::NoSshVersion),
    (CONF, "line vty <0-15>", Cmd::LineVty),
    (CONF, "line vty <0-15> <0-15>", Cmd::LineVty),
    (CONF, "line console <0-0>", Cmd::LineConsole),
    (LINE, "transport input {all|none|ssh|telnet}", Cmd::TransportInput),
    (LINE, "no transport input", Cmd::NoTransportInput),
    (LINE, "login local", Cmd::LoginLocal),
    (LINE, "no login", Cmd::NoLogin),
    (LINE, "exec-timeout <0-35791>", Cmd::ExecTimeout),
    (LINE, "exec-timeout <0-35791> <0-2147483>", Cmd::ExecTimeout),
    (LINE, "no exec-timeout", Cmd::NoExecTimeout),
    (CONF, "logging console", Cmd::LoggingConsole),
    (CONF, "no logging console", Cmd::NoLoggingConsole),
    (CONF, "netconf-yang", Cmd::NetconfYang),
    (CONF, "no netconf-yang", Cmd::NoNetconfYang),
    (CONF, "ip http secure-server", Cmd::HttpSecureServer),
    (CONF, "no ip http secure-server", Cmd::NoHttpSecureServer),
    (CONF, "ip http server", Cmd::HttpServer),
    (CONF, "no ip http server", Cmd::NoHttpServer),
    (CONF, "ip http authentication local", Cmd::HttpAuthLocal),
    (CONF, "no ip http authentication local", Cmd::NoHttpAuthLocal),
    (CONF, "restconf", Cmd::Restconf),
    (CONF, "no restconf", Cmd::NoRestconf),
];

fn refused(text: impl Into<String>) -> DeviceError {
    DeviceError::Refused(text.into())
}

/// The object of the `(config-line)` sub-mode: `vty 0 4` or `console 0`.
const CONSOLE: &str = "console 0";

/// Runs one command of [`TABLE`]; returns what it prints.
pub fn run(
    cmd: Cmd,
    args: &[String],
    device: &mut Device,
    place: Place<'_>,
) -> Result<String, DeviceError> {
    let num = |idx: usize| args.get(idx).and_then(|a| a.parse::<u32>().ok());
    if cmd == Cmd::ShowInstallSummary {
        return Ok(install_summary(device));
    }
    let console = place.target.as_deref() == Some(CONSOLE);
    let m = &mut device.state.running.settings.management;
    match cmd {
        Cmd::EnableSecret => {
            let password = args.last().cloned().unwrap_or_default();
            m.enable_secret = Some(crate::secret::type9(&password));
        }
        Cmd::EnableSecret9 => {
            let secret = args.last().cloned().unwrap_or_default();
            if !crate::secret::is_type9(&secret) {
                return Err(refused(
                    "% Invalid encrypted secret: a type 9 secret is $9$, 14 salt characters, $ and 43 characters of ./0-9A-Za-z",
                ));
            }
            m.enable_secret = Some(secret);
        }
        Cmd::NoEnableSecret => m.enable_secret = None,
        Cmd::SshVersion => {
            if num(0) != Some(2) {
                return Err(refused(
                    "% SSH version 1 is not supported by this device's server: use `ip ssh version 2`",
                ));
            }
            m.ssh_version = Some(2);
        }
        Cmd::NoSshVersion => m.ssh_version = None,
        Cmd::LineVty => {
            let first = num(0).unwrap_or(0);
            let last = num(1).unwrap_or(first);
            if last < first {
                return Err(refused(format!(
                    "% Invalid line range {first} {last}: the last line comes after the first"
                )));
            }
            *place.mode = Mode::ConfigLine;
            *place.target = Some(format!("vty {first} {last}"));
        }
        Cmd::LineConsole => {
            *place.mode = Mode::ConfigLine;
            *place.target = Some(CONSOLE.to_owned());
        }
        Cmd::TransportInput | Cmd::NoTransportInput if console => {
            return Err(refused("% transport input applies to vty lines, not the console"));
        }
        Cmd::TransportInput => {
            m.vty_transport_input = vec![args.first().cloned().unwrap_or_default()];
        }
        Cmd::NoTransportInput => m.vty_transport_input.clear(),
        Cmd::LoginLocal if !console => m.vty_login_local = true,
        Cmd::NoLogin if !console => m.vty_login_local = false,
        // The console takes `login local` as well; slp has no console line to log in on.
        Cmd::LoginLocal | Cmd::NoLogin => {}
        Cmd::ExecTimeout => {
            let value = Some((num(0).unwrap_or(0), num(1).unwrap_or(0)));
            if console {
                m.console_exec_timeout = value;
            } else {
                m.vty_exec_timeout = value;
            }
        }
        Cmd::NoExecTimeout => {
            if console {
                m.console_exec_timeout = None;
            } else {
                m.vty_exec_timeout = None;
            }
        }
        Cmd::LoggingConsole => m.no_logging_console = false,
        Cmd::NoLoggingConsole => m.no_logging_console = true,
        Cmd::NetconfYang => m.netconf_yang = true,
        Cmd::NoNetconfYang => m.netconf_yang = false,
        Cmd::HttpSecureServer => m.http_secure_server = true,
        Cmd::NoHttpSecureServer => m.http_secure_server = false,
        Cmd::HttpServer => m.http_server = true,
        Cmd::NoHttpServer => m.http_server = false,
        Cmd::HttpAuthLocal => m.http_authentication_local = true,
        Cmd::NoHttpAuthLocal => m.http_authentication_local = false,
        Cmd::Restconf => m.restconf = true,
        Cmd::NoRestconf => m.restconf = false,
        // Per terminal: the SSH shell keeps them (paging, width); nothing to store.
        Cmd::TerminalLength | Cmd::TerminalWidth | Cmd::EnableAgain | Cmd::Logout => {}
        Cmd::ShowInstallSummary => {}
    }
    Ok(String::new())
}

impl Management {
    /// The idle time of a vty session (`exec-timeout`; IOS's default is 10 minutes, `0 0`
    /// never).
    pub fn vty_idle(&self) -> Option<std::time::Duration> {
        let (minutes, seconds) = self.vty_exec_timeout.unwrap_or((10, 0));
        let total = u64::from(minutes) * 60 + u64::from(seconds);
        (total > 0).then(|| std::time::Duration::from_secs(total))
    }

    /// `no logging console` and `enable secret …`, where IOS prints them (after `hostname`).
    pub fn top_lines(&self) -> String {
        let mut out = String::new();
        if self.no_logging_console {
            out.push_str("no logging console\n");
        }
        if let Some(secret) = &self.enable_secret {
            let _ = writeln!(out, "enable secret 9 {secret}");
        }
        out
    }

    /// `ip http …` and `ip ssh version` lines, in IOS's order.
    pub fn ip_lines(&self) -> String {
        let mut out = String::new();
        if self.http_server {
            out.push_str("ip http server\n");
        }
        if self.http_authentication_local {
            out.push_str("ip http authentication local\n");
        }
        if self.http_secure_server {
            out.push_str("ip http secure-server\n");
        }
        if let Some(version) = self.ssh_version {
            let _ = writeln!(out, "ip ssh version {version}");
        }
        out
    }

    /// The `line con 0` and `line vty` blocks, then `netconf-yang` and `restconf`, as IOS
    /// prints them at the end of the configuration.
    pub fn line_lines(&self) -> String {
        let mut out = String::from("line con 0\n");
        if let Some((m, s)) = self.console_exec_timeout {
            let _ = writeln!(out, " exec-timeout {m} {s}");
        }
        out.push_str(" stopbits 1\n");
        for range in ["0 4", "5 15"] {
            let _ = writeln!(out, "line vty {range}");
            if range == "0 4"
                && let Some((m, s)) = self.vty_exec_timeout
            {
                let _ = writeln!(out, " exec-timeout {m} {s}");
            }
            if self.vty_login_local {
                out.push_str(" login local\n");
            } else {
                out.push_str(" login\n");
            }
            if !self.vty_transport_input.is_empty() {
                let _ = writeln!(out, " transport input {}", self.vty_transport_input.join(" "));
            }
        }
        out.push_str("!\n");
        if self.netconf_yang {
            out.push_str("netconf-yang\n");
        }
        if self.restconf {
            out.push_str("restconf\n");
        }
        out
    }
}

/// `show install summary` as IOS-XE 17.9 prints it in install mode: the running image
/// committed, on each unit of the stack.
pub fn install_summary(device: &Device) -> String {
    let version = crate::agent::long_version(&device.state.software_version);
    let rule = "-".repeat(80);
    let mut out = String::new();
    let units: Vec<String> =
        (1..=device.state.units.len().max(1)).map(|unit| unit.to_string()).collect();
    {
        let _ = writeln!(out, "[ Switch {} ] Installed Package(s) Information:", units.join(" "));
        out.push_str("State (St): I - Inactive, U - Activated & Uncommitted,\n");
        out.push_str("            C - Activated & Committed, D - Deactivated & Uncommitted\n");
        let _ = writeln!(out, "{rule}");
        out.push_str("Type  St   Filename/Version\n");
        let _ = writeln!(out, "{rule}");
        let _ = writeln!(out, "IMG   C    {version}.0.1");
        out.push('\n');
        let _ = writeln!(out, "{rule}");
        out.push_str("Auto abort timer: inactive\n");
        let _ = writeln!(out, "{rule}");
        out.push('\n');
    }
    out
}
