//! The SSH server: the CLI (shell and exec channels) on `--ssh`, and NETCONF (the `netconf`
//! subsystem) on `--netconf`.
//!
//! A session is served as a switch serves it: only while the configuration lets it in (`line
//! vty … transport input ssh` for the CLI, `netconf-yang` for NETCONF), after a password
//! login against `username … secret …` (three tries per connection, refusals counted and
//! logged), at most [`MAX_SESSIONS`] at once per device. The host key (ed25519) is made on
//! first start and kept in the state directory ([`HOST_KEY_FILE`], owner-only), so clients see
//! the same key across restarts.
//!
//! Every CLI line runs through the running device ([`Shared::run_line`]) off the async
//! workers; each connection is its own task, so a slow or silent client holds up only itself.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use russh::keys::PrivateKey;
use russh::server::{Auth, ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::DeviceError;
use crate::commands::Mode;
use crate::mgmt::Feed;
use crate::service::{Shared, Terminal};

/// What an SSH listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `--ssh`: shell and exec channels run CLI lines.
    Cli,
    /// `--netconf`: only the `netconf` subsystem.
    Netconf,
}

/// Concurrent SSH sessions per device, CLI and NETCONF together (a Catalyst switch has 16 vty
/// lines).
pub const MAX_SESSIONS: usize = 16;

/// The host key's file in the state directory (OpenSSH format, mode 0600).
pub const HOST_KEY_FILE: &str = "ssh_host_ed25519_key";

/// Password tries per connection before it is closed, as IOS allows.
const MAX_TRIES: usize = 3;

/// The longest command line the shell keeps; more is dropped (a line that long is no command).
const MAX_LINE: usize = 4096;

/// How long a connection may take to log in (IOS's `ip ssh time-out` default).
const AUTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// The server's version string (a Catalyst's, so clients pick their Cisco quirks).
const SERVER_ID: &str = "SSH-2.0-Cisco-1.25";

/// Serves SSH sessions on `listener` until the task is aborted.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    role: Role,
    sessions: Arc<Semaphore>,
) {
    let key = {
        let dir = shared.lock().device.dir.root().to_owned();
        match tokio::task::spawn_blocking(move || host_key(&dir)).await {
            Ok(Ok(key)) => key,
            Ok(Err(err)) => {
                tracing::error!(error = %err, ?role, "the SSH host key is unusable: SSH is not served");
                return;
            }
            Err(err) => {
                tracing::error!(error = %err, ?role, "loading the SSH host key failed");
                return;
            }
        }
    };
    let idle = shared.lock().device.state.running.settings.management.vty_idle();
    let config = Arc::new(russh::server::Config {
        server_id: russh::SshId::Standard(SERVER_ID.into()),
        methods: password_only(),
        keys: vec![key],
        max_auth_attempts: MAX_TRIES,
        auth_rejection_time: std::time::Duration::from_millis(500),
        auth_rejection_time_initial: Some(std::time::Duration::ZERO),
        // The connection's own idle guard (the vty exec-timeout, 10 minutes by default).
        inactivity_timeout: idle,
        nodelay: true,
        ..Default::default()
    });
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::warn!(error = %err, ?role, "SSH accept failed");
                continue;
            }
        };
        let permit = sessions.clone().try_acquire_owned().ok();
        let authenticated = Arc::new(tokio::sync::Notify::new());
        let handler = Connection {
            shared: shared.clone(),
            role,
            peer,
            permit,
            user: None,
            tries: 0,
            channels: HashMap::new(),
            authenticated: authenticated.clone(),
        };
        let config = config.clone();
        tokio::spawn(async move {
            // A client that never says who it is holds a session place for AUTH_TIMEOUT at
            // most (IOS's `ip ssh time-out`, 120 seconds).
            let started = tokio::time::timeout(
                AUTH_TIMEOUT,
                russh::server::run_stream(config, stream, handler),
            )
            .await;
            let running = match started {
                Ok(Ok(running)) => running,
                Ok(Err(err)) => {
                    tracing::debug!(error = %err, %peer, "SSH handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer, "SSH connection closed: no version string in time");
                    return;
                }
            };
            let handle = running.handle();
            // Ends at the login (the handler signals it) or, without one, at AUTH_TIMEOUT.
            let watchdog = tokio::spawn(async move {
                let login = tokio::time::timeout(AUTH_TIMEOUT, authenticated.notified()).await;
                if login.is_err() {
                    tracing::info!(%peer, "SSH connection closed: no login in time");
                    let reason = "% Authentication timed out".to_owned();
                    let _ = handle
                        .disconnect(russh::Disconnect::ByApplication, reason, String::new())
                        .await;
                }
            });
            if let Err(err) = running.await {
                tracing::debug!(error = %err, %peer, "SSH session ended with an error");
            }
            watchdog.abort();
        });
    }
}

/// The one login method: a password checked against `username … secret`.
fn password_only() -> MethodSet {
    MethodSet::from(&[MethodKind::Password][..])
}

/// Serializes making the host key: the CLI and NETCONF listeners start together.
static HOST_KEY_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The device's host key: read from the state directory, or made and kept there on first use.
fn host_key(dir: &std::path::Path) -> Result<PrivateKey, DeviceError> {
    let _one = HOST_KEY_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let path = dir.join(HOST_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            PrivateKey::from_openssh(text.as_bytes()).map_err(|err| DeviceError::CorruptState {
                path: path.clone(),
                reason: format!("not an OpenSSH private key ({err}); remove it to make a new one"),
            })
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            use rand::RngCore;
            let mut seed = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut seed);
            let pair = russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&seed);
            let key = PrivateKey::from(pair);
            let text = key.to_openssh(russh::keys::ssh_key::LineEnding::LF).map_err(|err| {
                DeviceError::CorruptState { path: path.clone(), reason: err.to_string() }
            })?;
            crate::state::write_atomic(&path, text.as_bytes())?;
            tracing::info!(path = %path.display(), "SSH host key made");
            Ok(key)
        }
        Err(source) => Err(DeviceError::Io { path, source }),
    }
}

/// One SSH connection.
struct Connection {
    shared: Arc<Shared>,
    role: Role,
    peer: std::net::SocketAddr,
    /// A place among the device's [`MAX_SESSIONS`]; `None`: the device was full at connect.
    permit: Option<OwnedSemaphorePermit>,
    user: Option<String>,
    tries: usize,
    channels: HashMap<ChannelId, Chan>,
    /// Signalled at login: the accept loop's watchdog closes connections that never log in.
    authenticated: Arc<tokio::sync::Notify>,
}

/// What a channel runs.
enum Chan {
    /// Opened, no shell, exec or subsystem yet.
    /// `width`: the PTY's columns; `None` without a PTY (`ssh -T`: the client echoes).
    Open { width: Option<u32> },
    /// An interactive CLI; `None` while a line runs.
    Shell(Option<Box<Shell>>),
    /// A NETCONF session; `None` while its input is handled.
    Netconf(Option<Box<super::netconf::Session>>),
    /// An exec channel that has run its command.
    Done,
}

impl Connection {
    /// Why this connection may not have a session now, as the client is told.
    fn refusal(&self) -> Option<String> {
        if self.permit.is_none() {
            return Some(format!(
                "% Too many sessions: this device serves at most {MAX_SESSIONS} SSH sessions at once; try again later\r\n"
            ));
        }
        let session = self.shared.lock();
        let m = &session.device.state.running.settings.management;
        match self.role {
            Role::Cli if !m.ssh_enabled() => Some(
                "% SSH is disabled on this device: configure `line vty 0 4` and `transport input ssh`\r\n"
                    .to_owned(),
            ),
            Role::Netconf if !m.netconf_enabled() => {
                Some("% NETCONF is disabled on this device: configure `netconf-yang`\r\n".to_owned())
            }
            _ => None,
        }
    }

    fn user(&self) -> String {
        self.user.clone().unwrap_or_default()
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn authentication_banner(&mut self) -> Result<Option<String>, Self::Error> {
        Ok(self.refusal())
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if let Some(reason) = self.refusal() {
            tracing::info!(login.user = %user, peer = %self.peer, role = ?self.role, reason = %reason.trim(), "SSH session refused");
            return Ok(Auth::reject());
        }
        self.tries += 1;
        // The failed-login buckets every protocol of the device shares (per name and per
        // address, as the HTTP layer's): reconnecting does not buy fresh guesses.
        let limiter = self.shared.login_limiter.clone();
        let taken = match limiter.try_take(Some(user), Some(self.peer.ip())) {
            Ok(taken) => taken,
            Err(limited) => {
                tracing::warn!(login.user = %user, peer = %self.peer, role = ?self.role, retry_after = limited.retry_after, "login refused: too many failed logins");
                return Err(russh::Error::Disconnect);
            }
        };
        let good = self.shared.login(user, password, "ssh").await;
        if good {
            limiter.refund(&taken);
        } else {
            limiter.fail(None, Some(self.peer.ip()));
        }
        if good {
            self.user = Some(user.to_owned());
            self.authenticated.notify_one();
            tracing::info!(login.user = %user, peer = %self.peer, role = ?self.role, "SSH login");
            Ok(Auth::Accept)
        } else if self.tries >= MAX_TRIES {
            tracing::warn!(login.user = %user, peer = %self.peer, login.failures = self.shared.login_failures(), "SSH connection closed after {MAX_TRIES} wrong passwords");
            // The third wrong password ends the connection.
            Err(russh::Error::Disconnect)
        } else {
            // Password again (russh would otherwise offer no method after a failed one).
            Ok(Auth::Reject { proceed_with_methods: Some(password_only()), partial_success: false })
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Configuration changed since login (`no netconf-yang`, `transport input none`).
        if self.refusal().is_some() || self.channels.len() >= 4 {
            drop(reply);
            return Ok(());
        }
        self.channels.insert(channel.id(), Chan::Open { width: None });
        reply.accept().await;
        // Data reaches `data` below; the channel object is not read.
        drop(channel);
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.channels.get_mut(&channel) {
            Some(Chan::Open { width }) if self.role == Role::Cli => {
                *width = Some(col_width);
                session.channel_success(channel)
            }
            _ => session.channel_failure(channel),
        }
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(Chan::Open { width }) = self.channels.get(&channel) else {
            return session.channel_failure(channel);
        };
        if self.role != Role::Cli {
            session.channel_failure(channel)?;
            session.data(channel, b"% This port serves the netconf subsystem only\r\n".to_vec())?;
            return session.close(channel);
        }
        let now = self.shared.lock().device.now;
        let mut shell = Shell::new(self.user(), now);
        shell.width = width.unwrap_or(80);
        shell.echo = width.is_some();
        session.channel_success(channel)?;
        let prompt = self.shared.prompt(&shell.terminal);
        session.data(channel, format!("\r\n{prompt}").into_bytes())?;
        self.channels.insert(channel, Chan::Shell(Some(Box::new(shell))));
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if !matches!(self.channels.get(&channel), Some(Chan::Open { .. })) {
            return session.channel_failure(channel);
        }
        if self.role != Role::Cli {
            session.channel_failure(channel)?;
            return session.close(channel);
        }
        session.channel_success(channel)?;
        self.channels.insert(channel, Chan::Done);
        let line = String::from_utf8_lossy(data).trim().to_owned();
        let shared = self.shared.clone();
        let user = self.user();
        let output = tokio::task::spawn_blocking(move || {
            let mut terminal = Terminal::of(Mode::Exec, None);
            tracing::info!(ssh.user = %user, command = %line, "SSH exec");
            shared.run_line(&mut terminal, &line)
        })
        .await;
        let (text, status) = match output {
            Ok(output) => (output.text, u32::from(!output.ok)),
            Err(err) => (format!("% Error: {err}\n"), 1),
        };
        session.data(channel, crlf(&text).into_bytes())?;
        session.exit_status_request(channel, status)?;
        session.eof(channel)?;
        session.close(channel)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let open = matches!(self.channels.get(&channel), Some(Chan::Open { .. }));
        if !open || self.role != Role::Netconf || name != "netconf" {
            tracing::info!(subsystem = %name, role = ?self.role, "SSH subsystem refused");
            return session.channel_failure(channel);
        }
        let id = self.shared.next_session_id();
        let netconf = super::netconf::Session::new(self.shared.clone(), id, self.user());
        session.channel_success(channel)?;
        session.data(channel, netconf.hello())?;
        tracing::info!(ssh.user = %self.user(), netconf.session = id, "NETCONF session started");
        self.channels.insert(channel, Chan::Netconf(Some(Box::new(netconf))));
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // A client that has not read what it was sent (its whole window) and sends more: its
        // output would only queue up here, so the channel is closed.
        if session.has_pending_data(channel)
            && matches!(self.channels.get(&channel), Some(Chan::Shell(_) | Chan::Netconf(_)))
        {
            tracing::warn!(ssh.user = %self.user(), peer = %self.peer, "SSH channel closed: the client does not read its output");
            self.channels.insert(channel, Chan::Done);
            return session.close(channel);
        }
        let feed = match self.channels.get_mut(&channel) {
            Some(Chan::Shell(slot)) => {
                let Some(mut shell) = slot.take() else { return Ok(()) };
                let shared = self.shared.clone();
                let data = data.to_vec();
                match tokio::task::spawn_blocking(move || {
                    let feed = shell.feed(&shared, &data);
                    (shell, feed)
                })
                .await
                {
                    Ok((shell, feed)) => {
                        if let Some(Chan::Shell(slot)) = self.channels.get_mut(&channel) {
                            *slot = Some(shell);
                        }
                        feed
                    }
                    Err(err) => {
                        Feed { out: format!("% Error: {err}\r\n").into_bytes(), close: true }
                    }
                }
            }
            Some(Chan::Netconf(slot)) => {
                let Some(mut netconf) = slot.take() else { return Ok(()) };
                let data = data.to_vec();
                match tokio::task::spawn_blocking(move || {
                    let feed = netconf.input(&data);
                    (netconf, feed)
                })
                .await
                {
                    Ok((netconf, feed)) => {
                        if let Some(Chan::Netconf(slot)) = self.channels.get_mut(&channel) {
                            *slot = Some(netconf);
                        }
                        feed
                    }
                    Err(_) => Feed { out: Vec::new(), close: true },
                }
            }
            _ => return Ok(()),
        };
        if !feed.out.is_empty() {
            session.data(channel, feed.out)?;
        }
        if feed.close {
            self.channels.insert(channel, Chan::Done);
            session.exit_status_request(channel, 0)?;
            session.eof(channel)?;
            session.close(channel)?;
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // A half-closed channel: the client sends no more, so the session ends here.
        if matches!(self.channels.get(&channel), Some(Chan::Shell(_) | Chan::Netconf(_))) {
            self.channels.insert(channel, Chan::Done);
            session.close(channel)?;
        }
        Ok(())
    }
}

/// `\n` line ends as a terminal wants them (`\r\n`).
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// A [`Shell`] over a running device with no channel ([`super::Offline::shell`]).
#[doc(hidden)]
pub struct OfflineShell {
    shared: Arc<Shared>,
    shell: Shell,
}

impl OfflineShell {
    pub(super) fn new(shared: Arc<Shared>, user: &str, mode: Mode) -> OfflineShell {
        let now = shared.lock().device.now;
        let mut shell = Shell::new(user.to_owned(), now);
        shell.terminal = Terminal::of(mode, None);
        OfflineShell { shared, shell }
    }

    /// Bytes typed by the client; the bytes the shell sends back, and whether it closes.
    pub fn feed(&mut self, data: &[u8]) -> Feed {
        self.shell.feed(&self.shared, data)
    }
}

/// What the shell is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wait {
    /// A command line.
    Line,
    /// The enable secret after `enable` (`Password:`), with the tries so far.
    EnablePassword(u32),
    /// A key at `--More--`, with the lines still to show.
    More(VecDeque<String>),
}

/// An interactive CLI on one channel: line editing, echo, prompts, paging.
struct Shell {
    user: String,
    terminal: Terminal,
    line: Vec<u8>,
    wait: Wait,
    /// `terminal length` (IOS's vty default: 24; 0: no paging).
    length: u32,
    /// `terminal width` or the PTY's columns.
    width: u32,
    /// Echo what is typed (a PTY was requested; without one the client echoes).
    echo: bool,
    /// The last byte was CR: an LF right after it ends no second line.
    after_cr: bool,
    /// Bytes of an escape sequence being skipped (arrow keys).
    escape: u8,
    /// When the user last typed, on the device's clock (`exec-timeout`).
    last_input: chrono::DateTime<chrono::Utc>,
}

impl Shell {
    /// A privilege 15 user's shell starts in privileged EXEC (`sw1#`), as on IOS.
    fn new(user: String, now: chrono::DateTime<chrono::Utc>) -> Shell {
        Shell {
            user,
            terminal: Terminal::of(Mode::Exec, None),
            line: Vec::new(),
            wait: Wait::Line,
            length: 24,
            width: 80,
            echo: true,
            after_cr: false,
            escape: 0,
            last_input: now,
        }
    }

    /// Handles bytes typed by the client; returns the bytes to send back.
    fn feed(&mut self, shared: &Shared, data: &[u8]) -> Feed {
        let mut feed = Feed::default();
        // `exec-timeout` on the device's clock: a session idle longer than it is over.
        let (now, idle) = {
            let session = shared.lock();
            (session.device.now, session.device.state.running.settings.management.vty_idle())
        };
        let idle_for = (now - self.last_input).to_std().unwrap_or_default();
        self.last_input = now;
        if idle.is_some_and(|idle| idle_for > idle) {
            tracing::info!(ssh.user = %self.user, idle_secs = idle_for.as_secs(), "SSH session timed out (exec-timeout)");
            feed.out.extend_from_slice(b"\r\n% Session timed out (exec-timeout)\r\n");
            feed.close = true;
            return feed;
        }
        for &byte in data {
            if feed.close {
                break;
            }
            if std::mem::replace(&mut self.after_cr, byte == b'\r') && byte == b'\n' {
                continue;
            }
            if let Wait::More(_) = self.wait {
                self.more(shared, byte, &mut feed.out);
                continue;
            }
            if self.escape > 0 {
                // ESC [ X: skip the two bytes after ESC (and digits of longer sequences).
                self.escape = if byte == b'[' || byte.is_ascii_digit() || byte == b';' {
                    self.escape.saturating_add(1).min(8)
                } else {
                    0
                };
                continue;
            }
            let echo = self.echo && self.wait == Wait::Line;
            match byte {
                b'\r' | b'\n' => {
                    feed.out.extend_from_slice(b"\r\n");
                    let line =
                        String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
                    feed.close = self.line_done(shared, &line, &mut feed.out);
                }
                0x7f | 0x08 => {
                    let erased = self.line.pop().is_some();
                    if erased && echo {
                        feed.out.extend_from_slice(b"\x08 \x08");
                    }
                }
                // Ctrl-C: the line is dropped; in configuration, back to privileged EXEC.
                0x03 => {
                    self.line.clear();
                    self.wait = Wait::Line;
                    if self.in_config() {
                        self.terminal = Terminal::of(Mode::Exec, None);
                    }
                    feed.out.extend_from_slice(b"\r\n");
                    self.prompt(shared, &mut feed.out);
                }
                // Ctrl-Z: the line typed so far runs, then `end`, as on IOS.
                0x1a => {
                    let line =
                        String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
                    feed.out.extend_from_slice(b"^Z\r\n");
                    if !line.trim().is_empty() && self.wait == Wait::Line {
                        let output = shared.run_line(&mut self.terminal, &line);
                        feed.out.extend_from_slice(crlf(&output.text).as_bytes());
                    }
                    self.wait = Wait::Line;
                    if self.in_config() {
                        self.terminal = Terminal::of(Mode::Exec, None);
                    }
                    self.prompt(shared, &mut feed.out);
                }
                // Ctrl-U: erase the line.
                0x15 => {
                    if echo {
                        for _ in 0..self.line.len() {
                            feed.out.extend_from_slice(b"\x08 \x08");
                        }
                    }
                    self.line.clear();
                }
                0x1b => self.escape = 1,
                b'?' if echo => {
                    // Help at once, then the prompt and the line again, as IOS does.
                    feed.out.extend_from_slice(b"?\r\n");
                    let line = format!("{}?", String::from_utf8_lossy(&self.line));
                    let help = shared.run_line(&mut self.terminal.clone(), &line);
                    feed.out.extend_from_slice(crlf(&help.text).as_bytes());
                    self.prompt(shared, &mut feed.out);
                    feed.out.extend_from_slice(&self.line);
                }
                // A tab is a word break (IOS completes the word; slp matches prefixes anyway).
                byte if (byte >= 0x20 || byte == b'\t') && self.line.len() < MAX_LINE => {
                    let byte = if byte == b'\t' { b' ' } else { byte };
                    self.line.push(byte);
                    if echo {
                        feed.out.push(byte);
                    }
                }
                _ => {}
            }
        }
        feed
    }

    fn in_config(&self) -> bool {
        !matches!(Mode::parse(&self.terminal.mode), Some(Mode::User | Mode::Exec) | None)
    }

    fn prompt(&self, shared: &Shared, out: &mut Vec<u8>) {
        out.extend_from_slice(shared.prompt(&self.terminal).as_bytes());
    }

    /// A line is complete; returns whether the session ends.
    fn line_done(&mut self, shared: &Shared, line: &str, out: &mut Vec<u8>) -> bool {
        if let Wait::EnablePassword(tries) = self.wait {
            self.enable_password(shared, line, tries, out);
            return false;
        }
        let words: Vec<String> = line.split_whitespace().map(str::to_ascii_lowercase).collect();
        let top = matches!(Mode::parse(&self.terminal.mode), Some(Mode::User | Mode::Exec));
        let one = |full: &str, min: usize| {
            words.len() == 1 && words[0].len() >= min && full.starts_with(words[0].as_str())
        };
        if top && (one("exit", 2) || one("logout", 2) || one("quit", 1)) {
            tracing::info!(ssh.user = %self.user, "SSH session closed by the user");
            return true;
        }
        if self.terminal.mode == Mode::User.as_str() && one("enable", 2) {
            let secret =
                shared.lock().device.state.running.settings.management.enable_secret.clone();
            if secret.is_none() {
                out.extend_from_slice(b"% No password set\r\n");
                self.prompt(shared, out);
            } else {
                self.wait = Wait::EnablePassword(0);
                out.extend_from_slice(b"Password: ");
            }
            return false;
        }
        let output = shared.run_line(&mut self.terminal, line);
        if output.ok {
            self.terminal_setting(&words);
        }
        let lines: VecDeque<String> = output.text.lines().map(str::to_owned).collect();
        self.page(shared, lines, out);
        false
    }

    /// `terminal length N` / `terminal width N` (abbreviated or not) for this terminal.
    fn terminal_setting(&mut self, words: &[String]) {
        let [first, second, value] = words else { return };
        let Ok(value) = value.parse::<u32>() else { return };
        if first.len() >= 3 && "terminal".starts_with(first.as_str()) && !second.is_empty() {
            if "length".starts_with(second.as_str()) {
                self.length = value;
            } else if "width".starts_with(second.as_str()) {
                self.width = value;
            }
        }
    }

    /// Shows `lines`, a page at a time when `terminal length` is set.
    fn page(&mut self, shared: &Shared, mut lines: VecDeque<String>, out: &mut Vec<u8>) {
        let page = if self.length == 0 { usize::MAX } else { (self.length as usize).max(2) - 1 };
        let mut shown = 0;
        while shown < page {
            let Some(line) = lines.pop_front() else { break };
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
            shown += 1;
        }
        if lines.is_empty() {
            self.wait = Wait::Line;
            self.prompt(shared, out);
        } else {
            out.extend_from_slice(b" --More-- ");
            self.wait = Wait::More(lines);
        }
    }

    /// A key at `--More--`: space shows a page, return a line, anything else stops.
    fn more(&mut self, shared: &Shared, byte: u8, out: &mut Vec<u8>) {
        let Wait::More(mut lines) = std::mem::replace(&mut self.wait, Wait::Line) else { return };
        out.extend_from_slice(b"\r          \r");
        match byte {
            b' ' => self.page(shared, lines, out),
            b'\r' | b'\n' => {
                if let Some(line) = lines.pop_front() {
                    out.extend_from_slice(line.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                if lines.is_empty() {
                    self.prompt(shared, out);
                } else {
                    out.extend_from_slice(b" --More-- ");
                    self.wait = Wait::More(lines);
                }
            }
            _ => self.prompt(shared, out),
        }
    }

    /// The answer to `Password:` after `enable`: three tries, as IOS gives.
    fn enable_password(&mut self, shared: &Shared, password: &str, tries: u32, out: &mut Vec<u8>) {
        let secret = shared.lock().device.state.running.settings.management.enable_secret.clone();
        let good = secret.is_some_and(|secret| crate::secret::verify(&secret, password));
        if good {
            self.wait = Wait::Line;
            self.terminal = Terminal::of(Mode::Exec, None);
            self.prompt(shared, out);
        } else if tries + 1 < MAX_TRIES as u32 {
            self.wait = Wait::EnablePassword(tries + 1);
            out.extend_from_slice(b"Password: ");
        } else {
            tracing::warn!(ssh.user = %self.user, "enable refused: wrong secret");
            self.wait = Wait::Line;
            out.extend_from_slice(b"% Bad secrets\r\n\r\n");
            self.prompt(shared, out);
        }
    }
}
