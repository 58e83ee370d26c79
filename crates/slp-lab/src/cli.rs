//! `slp lab`: seed, configure, start, watch, stop.
//!
//! ```text
//! slp lab [--data DIR] [--devices N] [--speed K] [--sync-interval SECS] [--now T]
//! ```
//!
//! One tokio runtime serves the authority (`slp_authority::serve`), the relay
//! (`slp_relay::api::serve`) and every device's management API (`slp_device::service::serve`),
//! each on its own loopback port, all on one [`VirtualClock`]. The devices' own schedulers push,
//! poll and retry; a lab timer runs the relay's pull collection and forwarding cycle every
//! `--sync-interval` seconds of lab time. Other processes reach every part through its data
//! directory: `slp device --state DIR/devices/sw1 exec …` goes to the running device.
//!
//! Everything speaks HTTPS on the lab's own CA ([`crate::certs`], `DIR/tls/ca.pem`, printed at
//! start): every server serves the lab's certificate, every client verifies it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use slp_authority::{Authority, LicenseSpec, Role};
use slp_clock::{Clock, VirtualClock};
use slp_core::license::{Enforcement, Term};
use slp_device::agent::{Device, InitOptions};
use slp_device::commands::{Mode, Session};
use slp_device::state::StateDir;
use slp_relay::{ConnectMethod, PiSpec, PrefsChange, Relay};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::certs::LabTls;
use crate::{
    ACCOUNT_DOMAIN, ACCOUNT_NAME, Credentials, DEVICE_USER, LabDevice, LabFile, Topology,
    VA_DIRECT, VA_MAIN, plan,
};

/// Arguments of `slp lab`.
#[derive(Debug, Args)]
pub struct LabArgs {
    /// Data directory of the lab (created if missing; a second run resumes it).
    #[arg(long, value_name = "DIR", default_value = "slp-lab")]
    data: PathBuf,
    /// Number of product instances of a new lab (1-100): the first six are relay push, relay
    /// pull, direct, an HA stack pushing to the relay, air-gapped and a second direct switch.
    #[arg(long, value_name = "N", default_value_t = 6)]
    devices: usize,
    /// Run the lab's virtual clock K times faster than real time (0 freezes it: time then moves
    /// only when a device's /slp/v1/clock endpoint is told to advance it).
    #[arg(long, value_name = "K", default_value_t = 1)]
    speed: u32,
    /// Seconds of lab time between the relay's pull collections and forwarding cycles.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    sync_interval: u64,
}

/// Runs `slp lab` until Ctrl-C or SIGTERM. `explicit_now` is true when `--now` was given, so
/// the lab's clock starts there (it must not be before a resumed lab's clock).
pub fn run(args: LabArgs, clock: Arc<dyn Clock>, explicit_now: bool) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(lab(args, clock, explicit_now))?;
    Ok(ExitCode::SUCCESS)
}

/// Everything the running lab shares.
struct Running {
    data: PathBuf,
    tls: LabTls,
    clock: Arc<VirtualClock>,
    record: LabFile,
    authority_url: String,
    relay_url: String,
}

async fn lab(args: LabArgs, given: Arc<dyn Clock>, explicit_now: bool) -> anyhow::Result<()> {
    let data = args.data.clone();
    std::fs::create_dir_all(&data)
        .with_context(|| format!("creating the lab directory {}", data.display()))?;
    let saved = LabFile::load(&data)?;
    let tls = LabTls::ensure(&data)?;
    let resumed = saved.is_some();
    let devices = match &saved {
        Some(record) => {
            if args.devices != record.devices.len() && args.devices != 6 {
                eprintln!(
                    "note: resuming the lab in {} with its {} product instances; --devices {} applies to a new lab",
                    data.display(),
                    record.devices.len(),
                    args.devices
                );
            }
            record.devices.clone()
        }
        None => plan(args.devices)?,
    };

    // The lab's clock: never behind a resumed lab's clock.
    let start = match &saved {
        Some(record) if given.now() < record.clock => {
            if explicit_now {
                bail!(
                    "--now {} is before the clock of the lab in {} ({}): a lab never goes back in time",
                    given.now().to_rfc3339(),
                    data.display(),
                    record.clock.to_rfc3339()
                );
            }
            record.clock
        }
        _ => given.now(),
    };
    let clock = Arc::new(VirtualClock::running(start, args.speed));
    let shared_clock: Arc<dyn Clock> = clock.clone();

    let steps = 4 + devices.len() as u64;
    let progress = ProgressBar::new(steps);
    progress.set_style(
        ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.enable_steady_tick(Duration::from_millis(120));

    // The authority.
    progress.set_message("opening the authority");
    let store = slp_store::Store::open_dir(&data.join("authority")).await.with_context(|| {
        format!("opening the authority in {}", data.join("authority").display())
    })?;
    // The token key beside the database, as `slp authority --data` keeps it.
    let token_key = slp_authority::TokenKey::load_or_create(&slp_authority::TokenKey::path_in(
        &data.join("authority"),
    ))?;
    let authority =
        Arc::new(Authority::open(store, shared_clock.clone()).await?.with_token_key(token_key));
    let (stop, stopped) = watch::channel(false);
    let saved_ports = saved.as_ref().map_or((0, 0), |r| (r.authority_port, r.relay_port));
    let authority_listener = bind(saved_ports.0, "the authority").await?;
    let authority_port = port_of(&authority_listener)?;
    let authority_url = format!("https://127.0.0.1:{authority_port}");
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn({
        let authority = authority.clone();
        let stopped = until_stopped(stopped.clone());
        let server = Some(tls.server.clone());
        async move {
            if let Err(err) =
                slp_authority::serve(authority, authority_listener, server, stopped).await
            {
                tracing::error!(error = %err, "the authority stopped");
            }
        }
    }));
    let record = match saved {
        Some(record) => record,
        None => {
            progress.set_message("seeding the authority: example.com, Lab and Branch, licenses");
            seed(&authority, &data, &devices, clock.now()).await?
        }
    };
    progress.inc(1);

    // The relay, connected to the authority.
    progress.set_message("starting the relay");
    // The relay's trust pool holds the lab's CA, so `slp relay --data L/relay sync` trusts it.
    let relay_dir = data.join("relay");
    // 0700, as the relay makes its own directory: relay.db holds the credentials of pulled devices.
    let mut private_dir = std::fs::DirBuilder::new();
    private_dir.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut private_dir, 0o700);
    private_dir.create(&relay_dir).with_context(|| format!("creating {}", relay_dir.display()))?;
    std::fs::copy(&tls.ca, relay_dir.join(slp_relay::TRUSTPOOL_FILE))
        .with_context(|| format!("installing the lab CA in {}", relay_dir.display()))?;
    let relay = Arc::new(
        Relay::open(&relay_dir, shared_clock.clone()).await?.with_trust_roots(tls.roots.clone()),
    );
    let relay_listener = bind(saved_ports.1, "the relay").await?;
    let relay_port = port_of(&relay_listener)?;
    let relay_url = format!("https://127.0.0.1:{relay_port}/cslu/v1/pi");
    relay
        .set_prefs(PrefsChange {
            connected: Some(true),
            smart_account: Some(ACCOUNT_DOMAIN.to_owned()),
            virtual_account: Some(VA_MAIN.to_owned()),
            authority_url: Some(authority_url.clone()),
            client_id: Some(record.relay_client.client_id.clone()),
            client_secret: Some(record.relay_client.client_secret.clone()),
            ..PrefsChange::default()
        })
        .await?;
    tasks.push(tokio::spawn({
        let relay = relay.clone();
        let stopped = until_stopped(stopped.clone());
        let server = Some(tls.server.clone());
        async move {
            let options = slp_relay::api::ApiOptions::default();
            if let Err(err) =
                slp_relay::api::serve(relay, relay_listener, server, stopped, options).await
            {
                tracing::error!(error = %err, "the relay stopped");
            }
        }
    }));
    progress.inc(1);

    let mut running = Running {
        data: data.clone(),
        tls: tls.clone(),
        clock: clock.clone(),
        record: LabFile { authority_port, relay_port, ..record },
        authority_url,
        relay_url,
    };

    // The product instances: create and configure (a new lab), re-point (a resumed one), serve.
    let mut listeners = Vec::new();
    for (index, device) in devices.iter().enumerate() {
        progress.set_message(format!(
            "starting {} ({})",
            device.hostname,
            device.topology.describe()
        ));
        let listener = bind(device.mgmt_port, &device.hostname).await?;
        let port = port_of(&listener)?;
        let moved = port != device.mgmt_port;
        running.record.devices[index].mgmt_port = port;
        let job = DeviceJob {
            dir: device.dir(&data),
            device: device.clone(),
            new: !resumed,
            password: running.record.device_password.clone(),
            token: running.record.id_token.clone(),
            relay_url: running.relay_url.clone(),
            authority_url: running.authority_url.clone(),
            clock: clock.clone(),
            hsec: index == 5,
            ca: tls.ca.clone(),
        };
        tokio::task::spawn_blocking(move || prepare_device(&job))
            .await
            .context("configuring a device")??;
        if device.topology == Topology::RelayPull && (!resumed || moved) {
            relay
                .pi_add(PiSpec {
                    host: Some(format!("https://127.0.0.1:{port}")),
                    udi: None,
                    connect_method: Some(ConnectMethod::RestPull),
                    username: Some(DEVICE_USER.to_owned()),
                    password: Some(running.record.device_password.clone()),
                })
                .await?;
        }
        // The management plane: SSH CLI, NETCONF and HTTPS (RESTCONF), each on its own port.
        let ssh = bind(device.ssh_port, &device.hostname).await?;
        let netconf = bind(device.netconf_port, &device.hostname).await?;
        let https = bind(device.https_port, &device.hostname).await?;
        running.record.devices[index].ssh_port = port_of(&ssh)?;
        running.record.devices[index].netconf_port = port_of(&netconf)?;
        running.record.devices[index].https_port = port_of(&https)?;
        let planes = slp_device::mgmt::Planes {
            ssh: Some(ssh),
            netconf: Some(netconf),
            https: Some((https, tls.server.clone())),
        };
        listeners.push((listener, planes));
        progress.inc(1);
    }
    for (device, (listener, planes)) in devices.iter().zip(listeners) {
        let dir = StateDir::new(device.dir(&data));
        let stopped = until_stopped(stopped.clone());
        let clock = clock.clone();
        let hostname = device.hostname.clone();
        let server = Some(tls.server.clone());
        tasks.push(tokio::spawn(async move {
            let options = slp_device::service::ServeOptions::default();
            let served = slp_device::service::serve(
                dir,
                clock,
                listener,
                server,
                stopped,
                options,
                planes,
                |_| {},
            );
            if let Err(err) = served.await {
                tracing::error!(device = %hostname, error = %err, "the device service stopped");
            }
        }));
    }
    progress.inc(1);

    running.record.clock = clock.now();
    running.record.save(&data)?;
    progress.inc(1);
    progress.finish_and_clear();
    print_summary(&running, resumed, args.speed);

    // The lab timer (pull + forward) and the activity feed.
    let running = Arc::new(running);
    tasks.push(tokio::spawn(relay_timer(
        relay.clone(),
        clock.clone(),
        args.sync_interval,
        stopped.clone(),
    )));
    tasks.push(tokio::spawn(feed(running.clone(), stopped.clone())));

    shutdown_signal().await;
    println!("stopping the lab…");
    let _ = stop.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
    relay.store().close().await;
    let mut record = running.record.clone();
    record.clock = clock.now();
    record.save(&data)?;
    println!(
        "lab stopped at {}; run the same command to resume it",
        record.clock.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    Ok(())
}

/// Binds a loopback port: the one of the last run when it is still free, else a new one.
async fn bind(port: u16, what: &str) -> anyhow::Result<TcpListener> {
    if port != 0 {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => return Ok(listener),
            Err(err) => {
                tracing::warn!(port, error = %err, "{what}: the port of the last run is taken; choosing another");
            }
        }
    }
    TcpListener::bind(("127.0.0.1", 0))
        .await
        .with_context(|| format!("binding a loopback port for {what}"))
}

fn port_of(listener: &TcpListener) -> anyhow::Result<u16> {
    Ok(listener.local_addr().context("reading a bound address")?.port())
}

async fn until_stopped(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// A new lab's authority: the smart account, two virtual accounts with perpetual, subscription
/// and export-controlled licenses, two API clients and an ID token.
async fn seed(
    authority: &Authority,
    data: &Path,
    devices: &[LabDevice],
    now: DateTime<Utc>,
) -> anyhow::Result<LabFile> {
    if authority.accounts().await?.iter().any(|a| a.domain == ACCOUNT_DOMAIN) {
        bail!(
            "{} already holds the smart account {ACCOUNT_DOMAIN} but {} is missing: remove {} to start a new lab",
            data.join("authority").display(),
            LabFile::path(data).display(),
            data.display()
        );
    }
    authority.create_account(ACCOUNT_NAME, ACCOUNT_DOMAIN).await?;
    let expires = (now + chrono::Duration::days(365)).date_naive();
    for (va, quantity) in [(VA_MAIN, 20), (VA_DIRECT, 10)] {
        authority.create_va(ACCOUNT_DOMAIN, va).await?;
        // One entry per entitlement tag the lab's PID families use (a C9300-48 counts under
        // other tags than a C9300-24).
        let pool = [
            ("C9300-24:network-advantage", "C9300-NW-A-24", quantity, Term::Perpetual, None, None),
            (
                "C9300-24:dna-advantage",
                "C9300-DNA-A-24",
                quantity,
                Term::Subscription,
                None,
                Some(expires),
            ),
            ("C9300-48:network-advantage", "C9300-NW-A-48", quantity, Term::Perpetual, None, None),
            (
                "C9300-48:dna-advantage",
                "C9300-DNA-A-48",
                quantity,
                Term::Subscription,
                None,
                Some(expires),
            ),
            ("hseck9", "C9K-HSEC", 4, Term::Perpetual, Some(Enforcement::ExportControlled), None),
        ];
        for (tag, sku, quantity, term, enforcement, expires) in pool {
            let spec = LicenseSpec {
                tag: tag.to_owned(),
                sku: sku.to_owned(),
                quantity,
                term: Some(term),
                enforcement,
                expires,
            };
            authority.add_license(ACCOUNT_DOMAIN, va, &spec).await?;
        }
    }
    let (relay, _) = authority.create_client(ACCOUNT_DOMAIN, "lab-relay", Role::Reporter).await?;
    let (admin, _) = authority.create_client(ACCOUNT_DOMAIN, "lab-admin", Role::Admin).await?;
    let (token, _) = authority
        .create_token(ACCOUNT_DOMAIN, VA_DIRECT, "slp lab: direct devices", 365, None)
        .await?;
    Ok(LabFile {
        version: LabFile::VERSION,
        clock: now,
        authority_port: 0,
        relay_port: 0,
        relay_client: Credentials {
            client_id: relay.client_id,
            client_secret: relay.client_secret,
        },
        admin_client: Credentials {
            client_id: admin.client_id,
            client_secret: admin.client_secret,
        },
        id_token: token,
        device_password: random_password(),
        devices: devices.to_vec(),
    })
}

fn random_password() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..16).map(|_| format!("{:x}", rng.gen_range(0..16u8))).collect()
}

/// What [`prepare_device`] needs, owned so it can run on a blocking thread.
struct DeviceJob {
    dir: PathBuf,
    device: LabDevice,
    new: bool,
    password: String,
    token: String,
    relay_url: String,
    authority_url: String,
    clock: Arc<VirtualClock>,
    /// Requests an HSECK9 authorization code (SLAC) online.
    hsec: bool,
    /// The lab's CA, the device's trust pool.
    ca: PathBuf,
}

/// Creates and configures a new device, or re-points a resumed one at this run's addresses.
/// Runs the IOS commands a network engineer would type; a refused command stops the lab with
/// the command and the device's answer. Network commands (trust, sync) block, so this runs on a
/// blocking thread.
fn prepare_device(job: &DeviceJob) -> anyhow::Result<()> {
    let device = &job.device;
    let dir = StateDir::new(job.dir.clone());
    if job.new {
        let parse = |list: &[String]| -> anyhow::Result<Vec<slp_core::udi::Udi>> {
            list.iter().map(|u| u.parse().map_err(anyhow::Error::from)).collect()
        };
        let standby = parse(&device.standby)?;
        let members = parse(&device.members)?;
        let mut pids = vec![device.pid.as_str()];
        pids.extend(standby.iter().chain(&members).map(|u| u.pid.as_str()));
        let boot_level = slp_core::license::default_boot_level(&pids).to_owned();
        let options = InitOptions {
            pid: device.pid.clone(),
            sn: device.sn.clone(),
            hostname: device.hostname.clone(),
            version: "17.9.4".to_owned(),
            standby,
            members,
            // Network-essentials where the families have a known tag for it (then the lab's
            // configuration moves the device to network-advantage with a reload).
            boot_level,
            factory_trust: false,
            authority_key: None,
        };
        Device::init(dir.clone(), &options, job.clock.now())
            .with_context(|| format!("creating {} in {}", device.hostname, job.dir.display()))?;
    }
    // Every run: the device trusts the lab's CA (made anew if its files were removed).
    slp_device::trust::install(&dir, &job.ca)
        .with_context(|| format!("installing the lab CA on {}", device.hostname))?;
    let opened = Device::open(dir, job.clock.now())
        .with_context(|| format!("opening {} in {}", device.hostname, job.dir.display()))?;
    let mut session = Session::new(opened, Mode::Exec);
    let transport: Vec<String> = match device.topology {
        Topology::RelayPush => vec![
            "license smart transport cslu".to_owned(),
            format!("license smart url cslu {}", job.relay_url),
        ],
        Topology::Direct => vec![
            "license smart transport smart".to_owned(),
            format!("license smart url smart {}/licservice/license", job.authority_url),
        ],
        Topology::RelayPull | Topology::AirGapped => vec!["license smart transport off".to_owned()],
    };
    let mut commands = vec!["configure terminal".to_owned()];
    if job.new {
        commands.push("license boot level network-advantage addon dna-advantage".to_owned());
        commands.push(format!("username {DEVICE_USER} privilege 15 password {}", job.password));
    }
    commands.extend(transport);
    // Managed like a switch: SSH (netmiko, unicon), NETCONF (ncclient) and RESTCONF, with the
    // device user; `enable` asks for the same password.
    commands.extend([
        "ip ssh version 2".to_owned(),
        format!("enable secret {}", job.password),
        "line vty 0 15".to_owned(),
        "login local".to_owned(),
        "transport input ssh".to_owned(),
        "exit".to_owned(),
        "netconf-yang".to_owned(),
        "ip http authentication local".to_owned(),
        "ip http secure-server".to_owned(),
        "restconf".to_owned(),
    ]);
    commands.push("end".to_owned());
    commands.push("copy running-config startup-config".to_owned());
    if job.new {
        commands.push("reload".to_owned());
        let scope = if device.is_stack() { "all" } else { "local" };
        match device.topology {
            Topology::Direct => {
                commands.push(format!("license smart trust idtoken {} {scope}", job.token));
                if job.hsec {
                    commands
                        .push(format!("license smart authorization request add hseck9 {scope}"));
                }
                commands.push("license smart sync all".to_owned());
            }
            Topology::RelayPush => commands.push("license smart sync all".to_owned()),
            Topology::RelayPull | Topology::AirGapped => {}
        }
    }
    for line in &commands {
        session.device.now = job.clock.now();
        let output = session.execute(line);
        if !output.ok {
            bail!(
                "{} ({}): `{line}` was refused:\n{}",
                device.hostname,
                job.dir.display(),
                output.text.trim_end()
            );
        }
    }
    Ok(())
}

/// Seconds of lab time between two pull collections.
const PULL_INTERVAL_SECS: u64 = 3600;

/// Every `interval` seconds of lab time: one forwarding cycle (which also installs answers on
/// pulled devices); at the first cycle and then hourly, collect from the pulled devices first
/// (installing waiting answers before collecting). Prints what moved.
async fn relay_timer(
    relay: Arc<Relay>,
    clock: Arc<VirtualClock>,
    interval: u64,
    mut stopped: watch::Receiver<bool>,
) {
    let mut schedule = slp_relay::upstream::SyncSchedule::new(clock.now(), interval);
    // Pulls are rarer than forwarding: at the first cycle, then once an hour of lab time (a
    // collection closes the device's open reports, so every pull makes new reports).
    let mut pulls =
        slp_relay::upstream::SyncSchedule::new(clock.now(), PULL_INTERVAL_SECS.max(interval));
    let mut first = true;
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        if !schedule.due(clock.now()) {
            continue;
        }
        let at = stamp(clock.now());
        let pull_due = pulls.due(clock.now()) || std::mem::take(&mut first);
        let collected = if pull_due { relay.collect(None).await } else { Ok(Vec::new()) };
        match collected {
            Ok(collected) => {
                for c in collected {
                    let who = c.udi.clone().unwrap_or_else(|| c.host.clone());
                    if let Some(failure) = &c.failure {
                        println!("{at} relay: collecting from {who} failed: {failure}");
                    } else if c.new || c.installed > 0 {
                        let installed = if c.installed > 0 {
                            format!(" after installing {} answer(s)", c.installed)
                        } else {
                            String::new()
                        };
                        println!(
                            "{at} relay: collected {} report(s) from {who}{installed}",
                            c.reports
                        );
                    }
                }
            }
            Err(err) => println!("{at} relay: collect failed: {err}"),
        }
        let upstream = match relay.http_upstream().await {
            Ok(upstream) => upstream,
            Err(err) => {
                println!("{at} relay: not connected: {err}");
                continue;
            }
        };
        match relay.sync(&upstream).await {
            Ok(report) => {
                if report.sent > 0 || report.answers > 0 || !report.installed.is_empty() {
                    println!(
                        "{at} relay: sent {} document(s) to the authority, received {} answer(s){}",
                        report.sent,
                        report.answers,
                        if report.installed.is_empty() {
                            String::new()
                        } else {
                            format!(", installed on {}", report.installed.join(", "))
                        }
                    );
                }
                for line in report.rejected.iter().chain(&report.failures) {
                    println!("{at} relay: {line}");
                }
            }
            Err(err) => println!("{at} relay: forwarding failed: {err}"),
        }
        let _ = std::io::stdout().flush();
    }
}

/// The activity feed: each device's new `%SMART_LIC` events as they happen, and the lab's
/// clock saved every few seconds so a killed lab resumes close to where it was.
async fn feed(running: Arc<Running>, mut stopped: watch::Receiver<bool>) {
    let dirs: Vec<(String, StateDir)> = running
        .record
        .devices
        .iter()
        .map(|d| (d.hostname.clone(), StateDir::new(d.dir(&running.data))))
        .collect();
    let mut seen: Vec<usize> =
        dirs.iter().map(|(_, dir)| dir.load().map(|s| s.events.len()).unwrap_or(0)).collect();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let mut beats: u64 = 0;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        for ((hostname, dir), seen) in dirs.iter().zip(seen.iter_mut()) {
            // The device service writes its state atomically, so a read sees old or new state.
            let Ok(state) = dir.load() else { continue };
            if state.events.len() < *seen {
                *seen = 0;
            }
            for event in &state.events[*seen..] {
                println!("{} {hostname}: {}", stamp(event.at), event.text);
            }
            *seen = state.events.len();
        }
        let _ = std::io::stdout().flush();
        beats += 1;
        if beats.is_multiple_of(5) {
            let mut record = running.record.clone();
            record.clock = running.clock.now();
            if let Err(err) = record.save(&running.data) {
                tracing::warn!(error = %err, "saving the lab record");
            }
        }
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn print_summary(running: &Running, resumed: bool, speed: u32) {
    let data = running.data.display().to_string();
    let record = &running.record;
    let mut out = String::new();
    let verb = if resumed { "resumed" } else { "ready" };
    let pace = match speed {
        0 => "frozen".to_owned(),
        1 => "real time".to_owned(),
        k => format!("{k}x real time"),
    };
    out.push_str(&format!(
        "slp lab {verb}: {} product instance(s) in {data}; lab clock {} ({pace})\n\n",
        record.devices.len(),
        stamp(running.clock.now())
    ));
    out.push_str(&format!(
        "TLS CA                 {}{} (every part serves HTTPS on it; give it as --ca FILE or curl --cacert)\n\n",
        running.tls.ca.display(),
        if running.tls.created { ", new" } else { "" }
    ));
    out.push_str(&format!(
        "Authority (CSSM role)  {}\n  data       {data}/authority\n  account    {ACCOUNT_DOMAIN} ({ACCOUNT_NAME}); virtual accounts {VA_MAIN} and {VA_DIRECT}\n  API client lab-admin (admin)  client_id {}  client_secret {}\n  ID token   ({VA_DIRECT}) {}\n",
        running.authority_url,
        record.admin_client.client_id,
        record.admin_client.client_secret,
        record.id_token
    ));
    out.push_str(&format!(
        "Relay (CSLU role)      {}\n  data       {data}/relay (connected to the authority as lab-relay; {VA_MAIN})\n",
        running.relay_url
    ));
    out.push_str(&format!(
        "Product instances      management API, SSH, NETCONF and RESTCONF user {DEVICE_USER}, password {} (also the enable secret)\n",
        record.device_password
    ));
    for device in &record.devices {
        let stack = if device.is_stack() {
            format!(" + {} unit(s)", device.standby.len() + device.members.len())
        } else {
            String::new()
        };
        out.push_str(&format!(
            "  {:<7} {:<30} https://127.0.0.1:{:<5}  {}{stack}\n",
            device.hostname,
            device.udi(),
            device.mgmt_port,
            device.topology.describe()
        ));
        out.push_str(&format!(
            "          ssh 127.0.0.1 -p {}  netconf 127.0.0.1:{}  restconf https://127.0.0.1:{}/restconf\n",
            device.ssh_port, device.netconf_port, device.https_port
        ));
    }
    let first = |topology: Topology| {
        record.devices.iter().find(|d| d.topology == topology).map(|d| d.hostname.clone())
    };
    out.push_str("\nTry:\n");
    if let Some(sw) = first(Topology::RelayPush) {
        out.push_str(&format!(
            "  slp device --state {data}/devices/{sw} exec \"show license status\"\n  slp device --state {data}/devices/{sw} exec \"license smart sync all\"\n"
        ));
    }
    if let Some(device) = record.devices.iter().find(|d| d.topology == Topology::RelayPush) {
        out.push_str(&format!(
            "  ssh -p {} {DEVICE_USER}@127.0.0.1 \"show license summary\"     # the SSH CLI, as on a switch\n",
            device.ssh_port
        ));
    }
    out.push_str(&format!(
        "  slp relay --data {data}/relay pi list\n  slp authority --data {data}/authority pi list --account {ACCOUNT_DOMAIN} --va {VA_MAIN}\n  slp authority --data {data}/authority license list --account {ACCOUNT_DOMAIN} --va {VA_MAIN}\n"
    ));
    if let Some(sw) = first(Topology::Direct) {
        out.push_str(&format!(
            "  slp device --state {data}/devices/{sw} exec \"show license authorization\"\n"
        ));
    }
    if let Some(sw) = first(Topology::AirGapped) {
        out.push_str(&format!(
            "  slp device --state {data}/devices/{sw} exec \"license smart save usage all file bootflash:usage.txt\"\n  slp authority --data {data}/authority usage upload --account {ACCOUNT_DOMAIN} --va {VA_MAIN} {data}/devices/{sw}/bootflash/usage.txt --ack ack.txt\n  slp device --state {data}/devices/{sw} exec \"license smart import $PWD/ack.txt\"\n"
        ));
    }
    out.push_str(&format!(
        "  curl --cacert {} -d grant_type=client_credentials -d client_id={} -d client_secret={} {}/oauth2/token\n",
        running.tls.ca.display(),
        record.admin_client.client_id,
        record.admin_client.client_secret,
        running.authority_url
    ));
    out.push_str("\nPress Ctrl-C to stop; run the same command again to resume.\n");
    print!("{out}");
    let _ = std::io::stdout().flush();
}

use slp_host::shutdown_signal;
