//! `slp device` command line: `init`, `exec` and the interactive `shell`.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use slp_clock::Clock;
use slp_core::udi::Udi;

use crate::agent::{Device, InitOptions};
use crate::commands::{Mode, Session};
use crate::service::{ExecOutput, ExecRequest, ExecResponse, RUN_FILE, RunInfo, Terminal};
use crate::state::{StateDir, StateLock};

/// Arguments of `slp device`.
#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// The device's state directory (state.json and the bootflash: folder).
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
    #[command(subcommand)]
    pub command: DeviceCommand,
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Create a product instance: its UDI(s), hostname, software version and device key.
    Init {
        /// Product id, e.g. C9300-24UX, of a PID family whose entitlement tags slp knows from
        /// real devices (C9300-24/-48 and C9300X, C9300L-48, C9350-24, C9400, C9500-16X/-32QC,
        /// C9500X, C9600; others are refused). HSECK9 is offered on the guide's platforms only
        /// (C9300X-…, C9400X-SUP-2/2XL, C9500X-…, C9600X-SUP-2), e.g. C9300X-24HX.
        #[arg(long)]
        pid: String,
        /// Serial number, e.g. FOC2233A5ZV.
        #[arg(long)]
        sn: String,
        #[arg(long, default_value = "Switch")]
        hostname: String,
        /// IOS-XE version, e.g. 17.9.4 (default), or with --from a release before 17.3.2
        /// (default 16.12.4; 16.8.1 for --from rtu).
        #[arg(long)]
        version: Option<String>,
        /// A standby unit, as PID:<pid>,SN:<sn> (HA).
        #[arg(long, value_name = "UDI")]
        standby: Vec<String>,
        /// A stack member, as PID:<pid>,SN:<sn>; repeat for several.
        #[arg(long, value_name = "UDI")]
        member: Vec<String>,
        /// The license boot level in effect at first boot [default: network-essentials, or
        /// network-advantage where a unit's PID family has no known network-essentials tag,
        /// e.g. a C9300-48].
        #[arg(long)]
        boot_level: Option<String>,
        /// Start with a factory-installed trust code (it cannot be used to communicate).
        #[arg(long)]
        factory_trust: bool,
        /// Trust this CA (PEM) for the peers' HTTPS certificates (authority, relay), besides the
        /// public (Mozilla) roots: copied into <state>/trustpool.pem.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
        /// Pin the authority's public key from the start (a file holding the output of `slp
        /// authority key show`, or the base64 key), as a real device ships with its vendor's
        /// root: every document imported, the first one too, must be signed by it, and a factory
        /// reset keeps it. Without it the first signed document installed pins its key.
        #[arg(long, value_name = "FILE|KEY")]
        authority_key: Option<String>,
        #[command(flatten)]
        prior: Box<PriorArgs>,
    },
    /// Install another IOS-XE release and reload (what `install add file … activate commit`
    /// does on a real switch). From a device created with `init --from …` to 17.3.2 or later:
    /// the migration to Smart Licensing Using Policy, carrying over what the guide says (README
    /// "Migration"). From 17.3.2 or later to an earlier release: the guide's downgrade, with its
    /// outcome and further action printed. Run it with the device service stopped.
    Install {
        /// The release to install, e.g. 17.9.4.
        #[arg(long)]
        version: String,
    },
    /// Run IOS commands in privileged EXEC mode, one argument per command line: on the running
    /// device service if there is one, else here, holding the state directory's lock.
    Exec {
        /// Command lines, e.g. "show license summary" "configure terminal" "license smart transport off" "end".
        #[arg(required = true)]
        commands: Vec<String>,
    },
    /// An interactive IOS-style shell (prompts sw1>, sw1#, sw1(config)#; `?` for help). Each
    /// line goes to the running device service if there is one, else runs under the state's lock.
    Shell,
    /// Run the device as a service: the management REST API (/smartlic-service/*, HTTP basic auth
    /// with a `username … privilege 15 password …` user) and the target of `exec` and `shell`
    /// while it runs. Holds the state directory's lock: a second `run` on it is refused.
    Run {
        /// Address of the management API; port 0 lets the system choose. The bound address is
        /// printed as `listening on https://…` (http:// without TLS) and written to
        /// <state>/run.json. An address that is not loopback needs --tls-cert and --tls-key, or
        /// --insecure-http.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
        mgmt: std::net::SocketAddr,
        /// Serve the SSH CLI here (port 0: the system chooses; printed as `ssh on …`). Sessions
        /// are served while the configuration has `line vty 0 4` / `transport input ssh` and a
        /// `username … privilege 15 secret …` to log in with; `enable` asks for the `enable
        /// secret`. At most 16 SSH sessions (CLI and NETCONF) at once; the host key (ed25519)
        /// is made on first start and kept in <state>/ssh_host_ed25519_key.
        #[arg(long, value_name = "ADDR")]
        ssh: Option<std::net::SocketAddr>,
        /// Serve NETCONF over SSH here (port 830 on a switch; printed as `netconf on …`).
        /// Sessions are served while the configuration has `netconf-yang`.
        #[arg(long, value_name = "ADDR")]
        netconf: Option<std::net::SocketAddr>,
        /// Serve the device's HTTPS server here (port 443 on a switch; printed as `https on
        /// https://…`): RESTCONF while the configuration has `ip http secure-server` and
        /// `restconf`, and /smartlic-service/* while it has `ip http secure-server`. Its
        /// certificate is --tls-cert/--tls-key when given, else the device's own self-signed one
        /// (<state>/https-cert.pem, made on first use and kept, as IOS-XE's TP-self-signed).
        #[arg(long, value_name = "ADDR")]
        https: Option<std::net::SocketAddr>,
        #[command(flatten)]
        tls: slp_http::ServeTls,
        /// Trust this CA (PEM) for the peers' HTTPS certificates, besides the public (Mozilla)
        /// roots: replaces <state>/trustpool.pem, so later `exec` commands trust it too.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
        /// Run the device clock this many times faster than real time, from --now (or now).
        #[arg(long, default_value_t = 1)]
        speed: u32,
        /// Run the scheduler only when asked (POST /slp/v1/tick), for deterministic tests.
        #[arg(long)]
        manual_ticks: bool,
    },
}

/// The licensing model a device is created in before Smart Licensing Using Policy (`init --from`).
#[derive(Debug, Args)]
pub struct PriorArgs {
    /// Create the device as it was before Smart Licensing Using Policy, on a release before
    /// 17.3.2: smart-licensing (registered), slr (the licenses in use reserved), rtu
    /// (Right-to-Use, before 16.9.1) or eval (unregistered, evaluation mode). `slp device
    /// install --version 17.9.4` upgrades it.
    #[arg(long, value_enum, value_name = "MODEL")]
    pub from: Option<crate::migration::PriorModel>,
    /// --from smart-licensing: the smart account the device is registered in.
    #[arg(long, requires = "from")]
    pub smart_account: Option<String>,
    /// --from smart-licensing: the virtual account the device is registered in.
    #[arg(long, requires = "from")]
    pub virtual_account: Option<String>,
    /// --from smart-licensing: the ID token it registered with (from `slp authority token
    /// create`); after the upgrade it becomes a trust code at the first contact.
    #[arg(long, requires = "from", value_name = "TOKEN")]
    pub idtoken: Option<String>,
    /// The transport configured before the upgrade (default callhome).
    #[arg(long, value_enum, requires = "from", value_name = "TYPE")]
    pub prior_transport: Option<crate::migration::PriorTransport>,
    /// The URL of that transport, kept after the upgrade.
    #[arg(long, requires = "from", value_name = "URL")]
    pub prior_url: Option<String>,
    /// The add-on license in use (dna-essentials, dna-advantage).
    #[arg(long, requires = "from", value_name = "LICENSE")]
    pub addon: Option<String>,
    /// --from eval: days left of the 90-day evaluation period (default 90).
    #[arg(long, requires = "from", value_name = "DAYS")]
    pub eval_days_left: Option<u32>,
}

/// How long `exec` and `shell` wait for another slp process to release the state directory.
const LOCK_WAIT: Duration = Duration::from_secs(60);
/// How often, while waiting, they look for a service that started meanwhile.
const LOCK_LOOK: Duration = Duration::from_millis(100);

/// Who writes the device's state for this command: a running service (its `run.json`), or this
/// process, holding the state directory's lock.
enum Writer {
    Service(RunInfo),
    Local(StateLock),
}

fn read_run_info(dir: &StateDir) -> anyhow::Result<Option<RunInfo>> {
    let run_file = dir.root().join(RUN_FILE);
    let Ok(text) = std::fs::read_to_string(&run_file) else { return Ok(None) };
    let info =
        serde_json::from_str(&text).with_context(|| format!("reading {}", run_file.display()))?;
    Ok(Some(info))
}

/// Finds the writer. The lock is free: this process writes, and a `run.json` is a leftover of a
/// killed service. The lock is held: by a service (its `run.json` says where) or by another
/// command (wait for it, up to [`LOCK_WAIT`]).
fn writer(dir: &StateDir) -> anyhow::Result<Writer> {
    let run_file = dir.root().join(RUN_FILE);
    let local = |lock: StateLock| {
        if run_file.exists() {
            tracing::warn!(run.file = %run_file.display(), "the device service that wrote it is gone; running locally");
            let _ = std::fs::remove_file(&run_file);
        }
        Writer::Local(lock)
    };
    if let Some(lock) = dir.try_lock()? {
        return Ok(local(lock));
    }
    if let Some(info) = read_run_info(dir)? {
        return Ok(Writer::Service(info));
    }
    // Wait for the lock on a thread of its own, looking for a service in between: a service
    // that is starting holds the lock before its run.json names it.
    let (tx, rx) = std::sync::mpsc::channel();
    let waiting = dir.clone();
    std::thread::spawn(move || {
        // Nobody listening any more (the command went to a service): the lock is dropped.
        let _ = tx.send(waiting.lock());
    });
    for _ in 0..(LOCK_WAIT.as_millis() / LOCK_LOOK.as_millis()) {
        if let Some(info) = read_run_info(dir)? {
            return Ok(Writer::Service(info));
        }
        match rx.recv_timeout(LOCK_LOOK) {
            Ok(lock) => return Ok(local(lock?)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    anyhow::bail!(
        "device state {} is locked by another slp process for more than {} s",
        dir.root().display(),
        LOCK_WAIT.as_secs()
    )
}

/// Sends command lines to a running device service. `None` when it is not there any more.
fn send_to_service(
    info: &RunInfo,
    commands: &[String],
    terminal: Option<Terminal>,
) -> anyhow::Result<Option<ExecResponse>> {
    // With TLS, the service's own certificate (from run.json, which only its user can read) is
    // pinned: it names the device, not the loopback address exec reaches it on.
    let builder = match &info.cert {
        Some(cert) => {
            use base64::Engine;
            let der = base64::engine::general_purpose::STANDARD
                .decode(cert)
                .with_context(|| format!("reading the certificate in {RUN_FILE}"))?;
            slp_http::tls::pinned_client(der)?
        }
        None => reqwest::blocking::Client::builder(),
    };
    let client = builder
        .connect_timeout(Duration::from_secs(5))
        // A sync may wait for a peer (30 s per message) and for another sync before it.
        .timeout(Duration::from_secs(300))
        .build()?;
    let response = client
        .post(format!("{}/slp/v1/exec", info.url))
        .bearer_auth(&info.token)
        .json(&ExecRequest { commands: commands.to_vec(), terminal })
        .send();
    let response = match response {
        Ok(response) => response,
        // A certificate that is not the service's is never taken for a service that is gone.
        Err(err) if slp_http::tls::certificate_problem(&err).is_some() => {
            let problem = slp_http::tls::certificate_problem(&err).unwrap_or_default();
            anyhow::bail!("the device service at {}: {problem}", info.url);
        }
        Err(err) if err.is_connect() => return Ok(None),
        Err(err) => {
            return Err(err).with_context(|| {
                format!("sending commands to the device service at {}", info.url)
            });
        }
    };
    if !response.status().is_success() {
        anyhow::bail!(
            "the device service at {} refused the commands: {}",
            info.url,
            response.status()
        );
    }
    Ok(Some(response.json().context("reading the device service's reply")?))
}

/// Runs command lines where the device's writer is, with its terminal; returns the outputs,
/// the terminal after them and its prompt.
fn run_commands(
    dir: &StateDir,
    clock: &dyn Clock,
    commands: &[String],
    terminal: Terminal,
) -> anyhow::Result<ExecResponse> {
    // A service that stops between finding it and reaching it: look again.
    for _ in 0..3 {
        match writer(dir)? {
            Writer::Service(info) => {
                if let Some(reply) = send_to_service(&info, commands, Some(terminal.clone()))? {
                    return Ok(reply);
                }
                tracing::warn!("device service at {} did not answer; looking again", info.url);
            }
            Writer::Local(lock) => {
                let device = Device::open(dir.clone(), clock.now())?;
                let mut session =
                    Session::new(device, Mode::parse(&terminal.mode).unwrap_or(Mode::Exec));
                session.interface = terminal.interface.clone();
                let outputs = commands
                    .iter()
                    .map(|command| {
                        let prompt = session.prompt();
                        let output = session.execute(command);
                        ExecOutput {
                            prompt,
                            command: command.clone(),
                            text: output.text,
                            ok: output.ok,
                        }
                    })
                    .collect();
                drop(lock);
                return Ok(ExecResponse {
                    outputs,
                    terminal: Some(Terminal::of(session.mode, session.interface.clone())),
                    prompt: Some(session.prompt()),
                });
            }
        }
    }
    anyhow::bail!("the device service of {} does not answer", dir.root().display())
}

fn parse_udis(list: &[String]) -> anyhow::Result<Vec<Udi>> {
    list.iter().map(|text| text.parse::<Udi>().map_err(anyhow::Error::from)).collect()
}

pub fn run(args: DeviceArgs, clock: Arc<dyn Clock>) -> anyhow::Result<ExitCode> {
    let dir = StateDir::new(args.state.clone());
    match args.command {
        DeviceCommand::Init {
            pid,
            sn,
            hostname,
            version,
            standby,
            member,
            boot_level,
            factory_trust,
            ca,
            authority_key,
            prior,
        } => {
            let prior = *prior;
            let prior = prior.from.map(|model| crate::migration::PriorOptions {
                model,
                smart_account: prior.smart_account,
                virtual_account: prior.virtual_account,
                id_token: prior.idtoken,
                transport: prior.prior_transport,
                url: prior.prior_url,
                addon: prior.addon,
                eval_days_left: prior.eval_days_left,
            });
            let version = version.unwrap_or_else(|| {
                prior.as_ref().map_or("17.9.4", |p| p.model.default_version()).to_owned()
            });
            // Checked before anything is written.
            if let Some(prior) = &prior {
                crate::migration::check_prior(prior, &version)?;
            }
            let authority_key = match authority_key {
                Some(value) => {
                    let text = if std::path::Path::new(&value).is_file() {
                        std::fs::read_to_string(&value)
                            .with_context(|| format!("reading --authority-key {value}"))?
                    } else {
                        value
                    };
                    Some(slp_wire::keys::parse_public_key_text(&text).context("--authority-key")?)
                }
                None => None,
            };
            // The CA file is checked before the device is created.
            if let Some(ca) = &ca {
                slp_http::TrustRoots::from_pem_file(ca)?;
            }
            let standby = parse_udis(&standby).context("--standby")?;
            let members = parse_udis(&member).context("--member")?;
            let boot_level = boot_level.unwrap_or_else(|| {
                let mut pids = vec![pid.as_str()];
                pids.extend(standby.iter().chain(&members).map(|u| u.pid.as_str()));
                slp_core::license::default_boot_level(&pids).to_owned()
            });
            let options = InitOptions {
                pid,
                sn,
                hostname,
                version,
                standby,
                members,
                boot_level,
                factory_trust,
                authority_key,
            };
            let mut device = Device::init(dir.clone(), &options, clock.now())?;
            if let Some(prior) = &prior {
                crate::migration::make_pre_slp(&mut device, prior)?;
                device.save()?;
            }
            if let Some(ca) = &ca {
                crate::trust::install(&dir, ca)?;
            }
            let udis: Vec<String> = device
                .state
                .units
                .iter()
                .map(|u| format!("{} {}", u.role.as_str(), u.udi))
                .collect();
            println!(
                "created {} in {} ({})",
                device.state.hostname(),
                args.state.display(),
                udis.join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        DeviceCommand::Install { version } => {
            let _lock = match writer(&dir)? {
                Writer::Local(lock) => lock,
                Writer::Service(info) => anyhow::bail!(
                    "the device service at {} runs this device: stop it, then install",
                    info.url
                ),
            };
            let mut device = Device::open(dir.clone(), clock.now())?;
            let lines = crate::migration::install(&mut device, &version)?;
            device.save()?;
            for line in lines {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        DeviceCommand::Exec { commands } => {
            let reply =
                run_commands(&dir, clock.as_ref(), &commands, Terminal::of(Mode::Exec, None))?;
            let echo = commands.len() > 1;
            let mut stdout = std::io::stdout().lock();
            let mut failed = false;
            for output in reply.outputs {
                if echo || output.text.contains("% Invalid input") {
                    // The caret points into the command line, so show the line it points into.
                    writeln!(stdout, "{}{}", output.prompt, output.command)?;
                }
                write!(stdout, "{}", output.text)?;
                failed |= !output.ok;
            }
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        DeviceCommand::Run { mgmt, ssh, netconf, https, tls, ca, speed, manual_ticks } => {
            // Certificates, keys and the address are checked before anything changes.
            let tls = tls.resolve(mgmt)?;
            let https_tls = match (https, &tls) {
                (None, _) => None,
                (Some(_), Some(tls)) => Some(tls.clone()),
                (Some(_), None) => {
                    let state = dir.load()?;
                    Some(crate::mgmt::restconf::device_certificate(dir.root(), &state)?)
                }
            };
            if let Some(ca) = &ca {
                if !dir.exists() {
                    anyhow::bail!(
                        "no device in {}: run `slp device init` first",
                        dir.root().display()
                    );
                }
                crate::trust::install(&dir, ca)?;
            }
            let clock = Arc::new(slp_clock::VirtualClock::running(clock.now(), speed));
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(mgmt)
                    .await
                    .with_context(|| format!("binding the management API to {mgmt}"))?;
                let shutdown = slp_host::shutdown_signal();
                let ready = |url: &str| {
                    println!("listening on {url}");
                    let _ = std::io::stdout().flush();
                };
                let options = crate::service::ServeOptions { manual_ticks };
                let mut planes = crate::mgmt::Planes::default();
                if let Some(addr) = ssh {
                    let listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("binding the SSH CLI to {addr}"))?;
                    println!("ssh on {}", listener.local_addr()?);
                    planes.ssh = Some(listener);
                }
                if let Some(addr) = netconf {
                    let listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("binding NETCONF to {addr}"))?;
                    println!("netconf on {}", listener.local_addr()?);
                    planes.netconf = Some(listener);
                }
                if let (Some(addr), Some(https_tls)) = (https, https_tls) {
                    let listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("binding the HTTPS server to {addr}"))?;
                    println!("https on https://{}", listener.local_addr()?);
                    planes.https = Some((listener, https_tls));
                }
                crate::service::serve(dir, clock, listener, tls, shutdown, options, planes, ready)
                    .await?;
                Ok::<_, anyhow::Error>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        DeviceCommand::Shell => {
            // Each line goes to the device's writer of the moment (a running service, or this
            // process under the state directory's lock, reading the state afresh): the shell
            // keeps only its terminal, never a copy of the device.
            let hostname = dir.load()?.running.hostname;
            let mut terminal = Terminal::of(Mode::User, None);
            let mut prompt = format!("{hostname}>");
            let stdin = std::io::stdin();
            let mut stdout = std::io::stdout().lock();
            write!(stdout, "{prompt}")?;
            stdout.flush()?;
            for line in stdin.lock().lines() {
                let line = line?;
                let trimmed = line.trim();
                let top = matches!(Mode::parse(&terminal.mode), Some(Mode::User | Mode::Exec));
                if top && matches!(trimmed, "exit" | "logout" | "quit") {
                    break;
                }
                let reply = run_commands(&dir, clock.as_ref(), &[line], terminal.clone())?;
                for output in &reply.outputs {
                    write!(stdout, "{}", output.text)?;
                }
                if let Some(next) = reply.terminal {
                    terminal = next;
                }
                if let Some(next) = reply.prompt {
                    prompt = next;
                }
                write!(stdout, "{prompt}")?;
                stdout.flush()?;
            }
            writeln!(stdout)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
