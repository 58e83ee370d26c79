//! The device's SSH CLI and NETCONF subsystem (`slp device run --ssh … --netconf …`), driven
//! by the clients engineers use: netmiko and pyATS/unicon (the Python named by
//! `SLP_GENIE_PYTHON`, as in genie.rs: required under CI, skipped elsewhere without it), and
//! an SSH client in Rust (russh) for the refusals, bounds, `enable` and exec channels.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::ChannelMsg;
use serde_json::{Value, json};

use crate::util::{Lab, T0, init_sw1};

const USER: &str = "netops";
const PASSWORD: &str = "Switch-Pw1";
const ENABLE: &str = "Enable-Pw1";

/// The lines that make a device manageable over SSH and NETCONF, as on a switch.
fn manage(lab: &Lab) {
    init_sw1(lab, T0);
    let user = format!("username {USER} privilege 15 secret {PASSWORD}");
    let enable = format!("enable secret {ENABLE}");
    lab.exec(
        "D",
        T0,
        &[
            "configure terminal",
            &user,
            &enable,
            "ip ssh version 2",
            "line vty 0 4",
            "login local",
            "transport input ssh",
            "exit",
            "netconf-yang",
            "end",
        ],
    );
}

/// A running `slp device run` with its SSH and NETCONF addresses and its log.
struct Device {
    child: Child,
    ssh: std::net::SocketAddr,
    netconf: std::net::SocketAddr,
    /// The device's stderr so far, and a signal each time it grows.
    log: Arc<(Mutex<String>, std::sync::Condvar)>,
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Device {
    /// The device's log once it holds every one of `needles` (the log is read by a thread:
    /// a line written a moment ago may still be on its way), or as it is after ten seconds.
    fn log_with(&self, needles: &[&str]) -> String {
        let (text, grew) = &*self.log;
        let (log, _) = grew
            .wait_timeout_while(text.lock().unwrap(), Duration::from_secs(10), |log| {
                !needles.iter().all(|needle| log.contains(needle))
            })
            .unwrap();
        log.clone()
    }
}

fn start(lab: &Lab) -> Device {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slp"))
        .current_dir(lab.dir.path())
        .env("SLP_LOG", "info")
        .args(["--now", T0, "device", "--state", "D", "run", "--manual-ticks"])
        .args(["--mgmt", "127.0.0.1:0", "--ssh", "127.0.0.1:0", "--netconf", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the device");
    let log = Arc::new((Mutex::new(String::new()), std::sync::Condvar::new()));
    {
        let log = log.clone();
        let mut stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                log.0.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
                log.1.notify_all();
            }
        });
    }
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let (mut ssh, mut netconf) = (None, None);
    loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).expect("read") > 0, "the device stopped");
        if let Some(addr) = line.trim().strip_prefix("ssh on ") {
            ssh = Some(addr.parse().expect("ssh address"));
        } else if let Some(addr) = line.trim().strip_prefix("netconf on ") {
            netconf = Some(addr.parse().expect("netconf address"));
        } else if line.starts_with("listening on ") {
            break;
        }
    }
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
    });
    Device { child, ssh: ssh.expect("ssh on"), netconf: netconf.expect("netconf on"), log }
}

fn state(lab: &Lab) -> Value {
    serde_json::from_str(&lab.read("D/state.json")).expect("state.json")
}

/// Runs tests/data/`script` with `args` on stdin; returns its JSON.
fn run_python(python: &PathBuf, script: &str, args: Value) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(script);
    let mut child = Command::new(python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the client script");
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(args.to_string().as_bytes()).unwrap();
    }
    let out = child.wait_with_output().expect("client output");
    assert!(
        out.status.success(),
        "{} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("client JSON")
}

fn client_args(addr: std::net::SocketAddr) -> Value {
    json!({"host": addr.ip().to_string(), "port": addr.port(), "username": USER, "password": PASSWORD, "secret": ENABLE})
}

#[test]
fn netmiko_manages_the_device_like_a_catalyst() {
    let Some(python) = crate::util::client_python("netmiko, pyats and genie") else { return };
    let lab = Lab::new();
    manage(&lab);
    let device = start(&lab);
    let mut args = client_args(device.ssh);
    args["config"] = json!([
        "license smart transport smart",
        "license smart url smart https://cssm.example.com/licservice/license",
    ]);
    let got = run_python(&python, "mgmt_netmiko.py", args);
    let state = state(&lab);
    assert_eq!(got["prompt"], "sw1#");
    assert_eq!(got["enabled"], true);
    // Genie parsed the licensing show commands; their values are the device's.
    let usage = got["summary"]["license_usage"].as_object().expect("license_usage");
    let level = state["boot_level"].as_str().unwrap();
    assert!(
        usage.values().any(|u| u["license"] == level && u["status"] == "IN USE"),
        "{usage:?} lacks {level} IN USE"
    );
    assert_eq!(got["udi"]["udi_details"]["pid"], state["units"][0]["udi"]["pid"]);
    assert_eq!(got["udi"]["udi_details"]["sn"], state["units"][0]["udi"]["sn"]);
    // The configuration change went through the running device into state.json, and
    // `show license status` (parsed) says so too.
    assert_eq!(state["running"]["transport"], "Smart");
    assert_eq!(state["running"]["url_smart"], "https://cssm.example.com/licservice/license");
    assert_eq!(got["status"]["transport"]["type"], "Smart");
    // `write mem` saved it.
    assert_eq!(state["startup"]["transport"], "Smart");
    assert!(got["save"].as_str().unwrap().contains("[OK]"), "{}", got["save"]);
    assert!(got["uptime"].as_str().unwrap().starts_with("sw1 uptime is"), "{}", got["uptime"]);
    let log = device.log_with(&["SSH login"]);
    assert!(log.contains("SSH login"), "{log}");
}

#[test]
fn unicon_connects_parses_and_executes() {
    let Some(python) = crate::util::client_python("netmiko, pyats and genie") else { return };
    let lab = Lab::new();
    manage(&lab);
    let device = start(&lab);
    let got = run_python(&python, "mgmt_unicon.py", client_args(device.ssh));
    let state = state(&lab);
    assert_eq!(got["hostname"], "sw1");
    let usage = got["summary"]["license_usage"].as_object().expect("license_usage");
    let level = state["boot_level"].as_str().unwrap();
    assert!(usage.values().any(|u| u["license"] == level), "{usage:?}");
    let version = got["version"].as_str().unwrap();
    assert!(version.contains("Cisco IOS XE Software, Version 17.09.04"), "{version}");
    // unicon's connect configured the console and vty lines, as it does on a switch.
    assert_eq!(state["running"]["settings"]["management"]["no_logging_console"], true);
    assert_eq!(state["running"]["settings"]["management"]["vty_exec_timeout"], json!([0, 0]));
}

/// The Rust client: accepts the device's host key, remembers the banner.
struct Client {
    banner: Arc<Mutex<String>>,
    key: Arc<Mutex<String>>,
}

impl russh::client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        if let russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } = key {
            *self.key.lock().unwrap() = key.to_openssh().unwrap_or_default();
        }
        Ok(true)
    }

    async fn auth_banner(
        &mut self,
        banner: &str,
        _session: &mut russh::client::Session,
    ) -> Result<(), Self::Error> {
        self.banner.lock().unwrap().push_str(banner);
        Ok(())
    }
}

type Handle = russh::client::Handle<Client>;

/// The host key a device's SSH server shows (OpenSSH public key line).
async fn host_key(addr: std::net::SocketAddr) -> String {
    let banner = Arc::new(Mutex::new(String::new()));
    let key = Arc::new(Mutex::new(String::new()));
    let config = Arc::new(russh::client::Config::default());
    let client = Client { banner, key: key.clone() };
    let _handle = russh::client::connect(config, addr, client).await.expect("connect");
    key.lock().unwrap().clone()
}

/// Runs one line on a device's SSH exec channel as `user` (the lab's test uses it).
pub fn exec_as(
    addr: std::net::SocketAddr,
    user: &str,
    password: &str,
    command: &str,
) -> (String, Option<u32>) {
    runtime().block_on(async {
        let (handle, ok, banner) = login_as(addr, user, password).await;
        assert!(ok, "{user} could not log in: {banner}");
        exec(&handle, command).await
    })
}

/// Connects and logs in; returns the handle, whether the login worked, and the banner.
async fn login(addr: std::net::SocketAddr, password: &str) -> (Handle, bool, String) {
    login_as(addr, USER, password).await
}

async fn login_as(
    addr: std::net::SocketAddr,
    user: &str,
    password: &str,
) -> (Handle, bool, String) {
    let banner = Arc::new(Mutex::new(String::new()));
    let key = Arc::new(Mutex::new(String::new()));
    let config = Arc::new(russh::client::Config::default());
    let client = Client { banner: banner.clone(), key: key.clone() };
    let mut handle = russh::client::connect(config, addr, client).await.expect("connect");

    let ok = handle
        .authenticate_password(user, password)
        .await
        .map(|result| result.success())
        .unwrap_or(false);
    let banner = banner.lock().unwrap().clone();
    (handle, ok, banner)
}

/// Runs `command` on an exec channel; returns its output and exit status.
async fn exec(handle: &Handle, command: &str) -> (String, Option<u32>) {
    let mut channel = handle.channel_open_session().await.expect("channel");
    channel.exec(true, command).await.expect("exec");
    let (mut out, mut status) = (Vec::new(), None);
    while let Some(msg) =
        tokio::time::timeout(Duration::from_secs(30), channel.wait()).await.expect("exec answer")
    {
        match msg {
            ChannelMsg::Data { data } => out.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), status)
}

/// An interactive shell: send bytes, read until the output ends with `until`.
struct Shell {
    channel: russh::Channel<russh::client::Msg>,
    seen: String,
}

impl Shell {
    async fn open(handle: &Handle) -> Shell {
        let channel = handle.channel_open_session().await.expect("channel");
        channel.request_pty(true, "vt100", 200, 24, 0, 0, &[]).await.expect("pty");
        channel.request_shell(true).await.expect("shell");
        let mut shell = Shell { channel, seen: String::new() };
        shell.until("#").await;
        shell
    }

    /// Reads until the text since the last call ends with `end`; returns that text.
    async fn until(&mut self, end: &str) -> String {
        let start = self.seen.len();
        while !self.seen[start..].ends_with(end) {
            let msg = tokio::time::timeout(Duration::from_secs(30), self.channel.wait())
                .await
                .unwrap_or_else(|_| panic!("no {end:?} after {:?}", &self.seen[start..]));
            match msg {
                Some(ChannelMsg::Data { data }) => {
                    self.seen.push_str(&String::from_utf8_lossy(&data))
                }
                Some(ChannelMsg::Close | ChannelMsg::Eof) | None => {
                    return format!("{}<closed>", &self.seen[start..]);
                }
                _ => {}
            }
        }
        self.seen[start..].to_owned()
    }

    async fn send(&mut self, text: &str) {
        self.channel.data_bytes(text.as_bytes().to_vec()).await.expect("send");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn wrong_passwords_are_refused_counted_and_logged() {
    let lab = Lab::new();
    manage(&lab);
    let device = start(&lab);
    runtime().block_on(async {
        let (_handle, ok, _) = login(device.ssh, "wrong-password").await;
        assert!(!ok, "a wrong password logged in");
        let (handle, ok, _) = login(device.ssh, PASSWORD).await;
        assert!(ok, "the right password was refused");
        let (out, status) = exec(&handle, "show license udi").await;
        assert!(out.contains("FOC2233A5ZV"), "{out}");
        assert_eq!(status, Some(0));
    });
    // Three wrong passwords end the connection: a fourth try, even the right one, is not heard.
    runtime().block_on(async {
        let banner = Arc::new(Mutex::new(String::new()));
        let key = Arc::new(Mutex::new(String::new()));
        let config = Arc::new(russh::client::Config::default());
        let client = Client { banner, key };
        let mut handle = russh::client::connect(config, device.ssh, client).await.unwrap();
        for _ in 0..3 {
            let tried = handle.authenticate_password(USER, "wrong").await;
            assert!(!tried.map(|r| r.success()).unwrap_or(false));
        }
        let fourth = handle.authenticate_password(USER, PASSWORD).await;
        assert!(!fourth.map(|r| r.success()).unwrap_or(false), "a fourth try was served");
    });
    let log = device.log_with(&["login.failures=4"]);
    assert!(log.contains("login.failures=4"), "{log}");
    assert!(
        log.contains("login refused") && log.contains(USER) && log.contains("ssh"),
        "the refusal is not in the log:\n{log}"
    );
    assert!(log.contains("login.failures=1"), "{log}");
}

/// Reconnecting does not buy fresh guesses: SSH and NETCONF logins draw on the failed-login
/// buckets the HTTP layer uses (per name, per address), shared by every port of the device.
#[test]
fn brute_force_is_refused_across_connections_and_ports() {
    let lab = Lab::new();
    manage(&lab);
    let device = start(&lab);
    runtime().block_on(async {
        for _ in 0..5 {
            let banner = Arc::new(Mutex::new(String::new()));
            let key = Arc::new(Mutex::new(String::new()));
            let config = Arc::new(russh::client::Config::default());
            let client = Client { banner, key };
            let Ok(mut handle) = russh::client::connect(config, device.ssh, client).await else {
                continue;
            };
            for _ in 0..3 {
                let tried = handle.authenticate_password(USER, "guess").await;
                assert!(!tried.map(|r| r.success()).unwrap_or(false), "a guess logged in");
            }
        }
        let (_handle, ok, _) = login(device.ssh, PASSWORD).await;
        assert!(!ok, "after 15 wrong passwords in a row, a new connection may guess again");
        let (_handle, ok, _) = login(device.netconf, PASSWORD).await;
        assert!(!ok, "the NETCONF port does not share the SSH port's failed-login limit");
    });
    let log = device.log_with(&["too many failed logins"]);
    assert!(log.contains("too many failed logins"), "{log}");
    assert!(!log.contains(PASSWORD), "the password is in the log:\n{log}");
}

#[test]
fn ssh_and_netconf_are_refused_until_configured() {
    let lab = Lab::new();
    manage(&lab);
    lab.exec("D", T0, &["configure terminal", "line vty 0 4", "transport input none", "end"]);
    let running = lab.exec("D", T0, &["show running-config"]);
    assert!(running.contains("line vty 0 4\n login local\n transport input none\n"), "{running}");
    let device = start(&lab);
    runtime().block_on(async {
        let (_handle, ok, banner) = login(device.ssh, PASSWORD).await;
        assert!(!ok, "SSH served with transport input none");
        assert!(banner.contains("SSH is disabled"), "{banner:?}");
    });
    drop(device);
    lab.exec(
        "D",
        T0,
        &[
            "configure terminal",
            "line vty 0 4",
            "transport input ssh",
            "exit",
            "no netconf-yang",
            "end",
        ],
    );
    let device = start(&lab);
    runtime().block_on(async {
        let (_handle, ok, _) = login(device.ssh, PASSWORD).await;
        assert!(ok, "SSH refused with transport input ssh");
        let (_handle, ok, banner) = login(device.netconf, PASSWORD).await;
        assert!(!ok, "NETCONF served without netconf-yang");
        assert!(banner.contains("NETCONF is disabled"), "{banner:?}");
    });
}

#[test]
fn at_most_sixteen_sessions_and_the_seventeenth_is_told_why() {
    let lab = Lab::new();
    manage(&lab);
    let device = start(&lab);
    runtime().block_on(async {
        let mut open = Vec::new();
        for _ in 0..16 {
            let (handle, ok, _) = login(device.ssh, PASSWORD).await;
            assert!(ok);
            open.push(handle);
        }
        let (_handle, ok, banner) = login(device.ssh, PASSWORD).await;
        assert!(!ok, "a 17th session was served");
        assert!(banner.contains("at most 16"), "{banner:?}");
        // A session that ends frees its place.
        let closed = open.pop().unwrap();
        closed.disconnect(russh::Disconnect::ByApplication, "", "").await.unwrap();
        drop(closed);
        // The server frees the place when it sees the disconnect; each refused try takes the
        // server's rejection time, which paces the retries.
        let mut served = false;
        for _ in 0..50 {
            let (_handle, ok, _) = login(device.ssh, PASSWORD).await;
            if ok {
                served = true;
                break;
            }
        }
        assert!(served, "the freed place was not given to a new session");
        // The sessions still open work.
        let (out, _) = exec(&open[0], "show version | include uptime").await;
        assert!(out.starts_with("sw1 uptime is"), "{out}");
    });
}

#[test]
fn enable_asks_for_the_enable_secret_and_exit_closes() {
    let lab = Lab::new();
    manage(&lab);
    let device = start(&lab);
    runtime().block_on(async {
        let (handle, ok, _) = login(device.ssh, PASSWORD).await;
        assert!(ok);
        let mut shell = Shell::open(&handle).await;
        shell.send("disable\r").await;
        let out = shell.until("sw1>").await;
        assert!(out.starts_with("disable\r\n"), "echo: {out:?}");
        shell.send("enable\r").await;
        shell.until("Password: ").await;
        shell.send("not-it\r").await;
        let out = shell.until("Password: ").await;
        assert!(!out.contains("not-it"), "the secret was echoed: {out:?}");
        shell.send(&format!("{ENABLE}\r")).await;
        shell.until("sw1#").await;
        // At `#`, enable is a no-op; abbreviations and line editing work.
        shell.send("enable\r").await;
        shell.until("sw1#").await;
        shell.send("term len 0\r").await;
        shell.send("conf t\r").await;
        shell.until("sw1(config)#").await;
        shell.send("line vty 0 4\r").await;
        shell.until("sw1(config-line)#").await;
        shell.send("exec-timeout 7 30\x1a").await;
        shell.until("sw1#").await;
        shell.send("show running-configX\x7f | include exec-timeout\r").await;
        let out = shell.until("sw1#").await;
        assert!(out.contains(" exec-timeout 7 30\r\n"), "{out:?}");
        shell.send("exit\r").await;
        let out = shell.until("never").await;
        assert!(out.ends_with("<closed>"), "exit did not close: {out:?}");
    });
    let state = state(&lab);
    assert_eq!(state["running"]["settings"]["management"]["vty_exec_timeout"], json!([7, 30]));
}

#[test]
fn exec_channels_run_one_line_and_return_its_status() {
    let lab = Lab::new();
    manage(&lab);
    let device = start(&lab);
    runtime().block_on(async {
        let (handle, ok, _) = login(device.ssh, PASSWORD).await;
        assert!(ok);
        let (out, status) = exec(&handle, "show install summary").await;
        assert!(out.contains("IMG   C    17.09.04"), "{out}");
        assert_eq!(status, Some(0));
        let (out, status) = exec(&handle, "show license bogus").await;
        assert!(out.contains("% Invalid input detected"), "{out}");
        assert_eq!(status, Some(1));
        // The CLI port serves no NETCONF, the NETCONF port no shell.
        let mut channel = handle.channel_open_session().await.unwrap();
        channel.request_subsystem(true, "netconf").await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(30), channel.wait()).await.unwrap();
        assert!(matches!(answer, Some(ChannelMsg::Failure)), "{answer:?}");
    });
    runtime().block_on(async {
        let (handle, ok, _) = login(device.netconf, PASSWORD).await;
        assert!(ok);
        let mut channel = handle.channel_open_session().await.unwrap();
        channel.request_subsystem(true, "netconf").await.unwrap();
        let mut hello = Vec::new();
        while !String::from_utf8_lossy(&hello).contains("]]>]]>") {
            match tokio::time::timeout(Duration::from_secs(30), channel.wait()).await.unwrap() {
                Some(ChannelMsg::Data { data }) => hello.extend_from_slice(&data),
                Some(ChannelMsg::Success) => {}
                other => panic!("no hello: {other:?}"),
            }
        }
        let hello = String::from_utf8_lossy(&hello);
        assert!(hello.contains("<session-id>"), "{hello}");
    });
}

#[test]
fn the_host_key_is_made_once_kept_private_and_reused() {
    let lab = Lab::new();
    manage(&lab);
    let rt = runtime();
    let first = {
        let device = start(&lab);
        rt.block_on(host_key(device.ssh))
    };
    assert!(first.starts_with("ssh-ed25519 "), "{first}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(lab.path("D/ssh_host_ed25519_key")).unwrap().permissions();
        assert_eq!(mode.mode() & 0o777, 0o600);
    }
    let device = start(&lab);
    assert_eq!(rt.block_on(host_key(device.netconf)), first, "a restart changed the host key");
}

/// `exec-timeout` counts on the device's clock: a shell idle longer than it is closed at the
/// next key, one used within it is not.
#[test]
fn exec_timeout_closes_an_idle_shell_on_the_device_clock() {
    let lab = Lab::new();
    manage(&lab);
    lab.exec("D", T0, &["configure terminal", "line vty 0 4", "exec-timeout 5 0", "end"]);
    let device = start(&lab);
    // The control endpoint's client blocks: off the test's async runtime.
    let advance = |secs: i64| {
        std::thread::scope(|scope| {
            scope.spawn(|| {
                crate::util::control(&lab, "D", "/slp/v1/clock", json!({"advance_secs": secs}))
            });
        })
    };
    runtime().block_on(async {
        let (handle, ok, _) = login(device.ssh, PASSWORD).await;
        assert!(ok);
        let mut shell = Shell::open(&handle).await;
        advance(240);
        shell.send("show clock\r").await;
        shell.until("sw1#").await;
        advance(301);
        shell.send("show clock\r").await;
        let out = shell.until("never").await;
        assert!(out.contains("% Session timed out") && out.ends_with("<closed>"), "{out:?}");
    });
    let log = device.log_with(&["timed out"]);
    assert!(log.contains("timed out"), "{log}");
}

/// A client that sends and never reads holds up only itself: another session's command is
/// answered meanwhile.
#[test]
fn a_client_that_never_reads_does_not_block_others() {
    let lab = Lab::new();
    manage(&lab);
    let device = start(&lab);
    runtime().block_on(async {
        let (silent, ok, _) = login(device.ssh, PASSWORD).await;
        assert!(ok);
        let channel = silent.channel_open_session().await.unwrap();
        channel.request_pty(false, "vt100", 80, 24, 0, 0, &[]).await.unwrap();
        channel.request_shell(false).await.unwrap();
        let flood = "show license tech support\r".repeat(200);
        // Sent from its own task: the writes may stall once the server stops reading.
        let writer = tokio::spawn(async move {
            let _ = channel.data_bytes(flood.into_bytes()).await;
            channel
        });
        let (other, ok, _) = login(device.ssh, PASSWORD).await;
        assert!(ok, "a second login was refused while the first client flooded");
        let (out, status) = tokio::time::timeout(
            Duration::from_secs(30),
            exec(&other, "show version | include uptime"),
        )
        .await
        .expect("the other session was held up");
        assert!(out.starts_with("sw1 uptime is"), "{out}");
        assert_eq!(status, Some(0));
        writer.abort();
    });
}

/// With `terminal length` set (24 by default on a vty), long output stops at `--More--`: space
/// shows the next page, another key stops; `terminal length 0` shows it all at once.
#[test]
fn long_output_pages_at_more_until_terminal_length_0() {
    let lab = Lab::new();
    manage(&lab);
    let device = start(&lab);
    runtime().block_on(async {
        let (handle, ok, _) = login(device.ssh, PASSWORD).await;
        assert!(ok);
        let mut shell = Shell::open(&handle).await;
        shell.send("show running-config\r").await;
        let page = shell.until(" --More-- ").await;
        assert_eq!(page.matches("\r\n").count(), 24, "{page:?}");
        shell.send(" ").await;
        let rest = shell.until("sw1#").await;
        assert!(rest.starts_with('\r') && rest.ends_with("!\r\nend\r\nsw1#"), "{rest:?}");
        assert!(!rest.contains("--More--"), "{rest:?}");
        // Any other key stops the output.
        shell.send("show running-config\r").await;
        shell.until(" --More-- ").await;
        shell.send("q").await;
        let stopped = shell.until("sw1#").await;
        assert!(!stopped.contains("end\r\n"), "{stopped:?}");
        shell.send("terminal length 0\r").await;
        shell.until("sw1#").await;
        shell.send("show running-config\r").await;
        let all = shell.until("end\r\nsw1#").await;
        assert!(!all.contains("--More--") && all.contains("hostname sw1"), "{all:?}");
    });
}

/// Garbage on the wire and every byte value typed into a shell: no crash, the session and the
/// server go on.
#[test]
fn malformed_input_is_survived() {
    let lab = Lab::new();
    manage(&lab);
    let device = start(&lab);
    {
        use std::io::Write;
        let mut raw = std::net::TcpStream::connect(device.ssh).unwrap();
        let _ = raw.write_all(b"GET / HTTP/1.1\r\n\r\n\x00\xff\xfe garbage that is no SSH\r\n");
        let mut answer = Vec::new();
        let _ = raw.read_to_end(&mut answer);
        assert!(answer.starts_with(b"SSH-2.0-Cisco-1.25\r\n"), "{answer:?}");
    }
    runtime().block_on(async {
        let (handle, ok, _) = login(device.ssh, PASSWORD).await;
        assert!(ok, "the server did not survive garbage");
        let mut shell = Shell::open(&handle).await;
        let every: Vec<u8> = (0u8..=255).filter(|b| ![3, 0x1a, b'\r', b'\n'].contains(b)).collect();
        shell.channel.data_bytes(every).await.unwrap();
        shell.send("\x15\r").await;
        shell.until("sw1#").await;
        shell.send("show clock\r").await;
        let out = shell.until("sw1#").await;
        assert!(out.contains("UTC"), "{out:?}");
    });
}
