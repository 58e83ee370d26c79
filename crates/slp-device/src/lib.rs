//! The product instance (IOS-XE smart agent).
//!
//! - [`state`]: the persisted device state and the `bootflash:` file system, crash-safe.
//! - [`agent`]: what the device does — usage recording, reload, save usage, import, SLAC, trust.
//! - [`commands`]: the one IOS command table shared by `exec` and the interactive `shell`.
//! - [`config`]: Call Home, name resolution, NTP, the HTTP client, trustpoints, utility settings.
//! - [`help`]: `?` help texts in the context of the words before them.
//! - [`show`]: `show license …` and `show version` output, laid out as IOS-XE 17.9 prints it.
//! - [`messages`]: the `%SMART_LIC-…` system messages.
//! - [`migration`]: a device in its state before Smart Licensing Using Policy, the upgrade
//!   to it and the downgrade from it (the guide's migration chapters).
//! - [`platform`]: what a PID offers beyond the base licenses (the HSECK9 key).
//! - [`cli`]: `slp device` arguments (clap) and the shell loop.

use std::path::PathBuf;

pub mod agent;
pub mod cli;
pub mod commands;
pub mod config;
pub mod help;
pub mod messages;
pub mod mgmt;
pub mod migration;
pub mod platform;
pub mod secret;
pub mod service;
pub mod show;
pub mod state;
pub mod trust;
pub mod uplink;

/// Why a device operation failed. Each variant names the bad input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    #[error("no device in {dir}: run `slp device --state {dir} init …` first", dir = .dir.display())]
    NotInitialized { dir: PathBuf },
    #[error("a device already exists in {dir}", dir = .dir.display())]
    AlreadyInitialized { dir: PathBuf },
    #[error("{path}: {source}", path = .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("device state {path} is unreadable: {reason}", path = .path.display())]
    CorruptState { path: PathBuf, reason: String },
    #[error("invalid path {path:?}: {reason}")]
    BadPath { path: String, reason: String },
    #[error("{0}")]
    Udi(#[from] slp_core::udi::UdiError),
    #[error("{file}: {error}")]
    Wire { file: String, error: slp_wire::WireError },
    /// Another process holds the state directory's writer lock.
    #[error("device state {dir} is in use by {holder}: stop it first, or send commands to it with `slp device --state {dir} exec …`", dir = .dir.display())]
    Locked { dir: PathBuf, holder: String },
    /// A command was refused; the text is what the device prints.
    #[error("{0}")]
    Refused(String),
}
