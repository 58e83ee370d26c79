//! `slp relay`: the relay's command line.
//!
//! ```text
//! slp relay --data DIR [--ca FILE] <command>
//!   prefs set [--connected | --disconnected] [--account DOMAIN --va NAME]
//!             [--authority-url URL --client-id ID --client-secret SECRET]
//!             [--default-connect-method push|rest-pull] [--validate-device on|off]
//!             [--authority-key FILE|KEY]   (the authority key answers must be signed by)
//!   prefs show [--json]
//!   pi add (--host HOST:PORT | --udi PID:…,SN:…) [--connect-method push|rest-pull] [--username U --password P]
//!   pi edit --host HOST:PORT --username U --password P
//!   pi auth-request [--udi UDI]… --out REQ.csv   (SLAC request CSV for the authority)
//!   pi import FILE.csv            (host, connect method, username, password)
//!   pi rebind --udi PID:…,SN:…   (forget the device key the UDI is bound to)
//!   pi list [--json] [--limit N [--offset M]]
//!   serve [--listen 127.0.0.1:8182] [--sync-interval SECS] [--tls-cert FILE --tls-key FILE | --insecure-http]
//!   collect [--host HOST:PORT]    sync
//!   export --out PATH [--format bundle|xml]
//!   import FILE                   (an ACK bundle, a single <smartLicense> ACK file or a SLAC codes CSV)
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use slp_clock::Clock;

use crate::bundle::Format;
use crate::{ConnectMethod, PiSpec, PrefsChange, Relay};

/// Arguments of `slp relay`.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// Data directory (DIR/relay.db, created if missing).
    #[arg(long, value_name = "DIR", global = true)]
    data: Option<PathBuf>,
    /// Trust this CA (PEM) for the authority's certificate (connected mode) and the pulled
    /// devices' certificates (https:// hosts), besides DIR/trustpool.pem and the public (Mozilla)
    /// roots. Certificates are always verified.
    #[arg(long, value_name = "FILE", global = true, env = "SLP_CA")]
    ca: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Preferences: connected or disconnected, smart and virtual account, authority API client,
    /// default connect method, device validation, the pinned authority key.
    #[command(subcommand)]
    Prefs(PrefsCmd),
    /// The product-instance inventory.
    #[command(subcommand)]
    Pi(PiCmd),
    /// Serve the push endpoint /cslu/v1/pi until Ctrl-C or SIGTERM; in connected mode, forward
    /// to the authority on a timer.
    Serve {
        /// Address to listen on (CSLU uses port 8182); port 0 lets the system choose. The bound
        /// address is printed as `listening on https://…` (or http:// without TLS) once the
        /// server is ready. An address that is not loopback needs --tls-cert and --tls-key, or
        /// --insecure-http.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8182")]
        listen: std::net::SocketAddr,
        /// Seconds (of the relay's clock) between forwarding cycles in connected mode.
        #[arg(long, value_name = "SECS", default_value_t = 300)]
        sync_interval: u64,
        /// Largest accepted message, in bytes.
        #[arg(long, value_name = "BYTES", default_value_t = crate::BODY_LIMIT)]
        body_limit: usize,
        #[command(flatten)]
        tls: slp_http::ServeTls,
    },
    /// Collect usage from rest-pull devices (installing waiting ACKs and codes first); in
    /// connected mode, forward it right away.
    Collect {
        /// Only the device at this address.
        #[arg(long, value_name = "HOST:PORT")]
        host: Option<String>,
    },
    /// One forwarding cycle now (connected mode): send new documents, fetch answers, install them
    /// on rest-pull devices.
    Sync,
    /// Write the documents waiting for an ACK for the authority (disconnected mode).
    Export {
        /// The bundle file, or a folder to create UD_SA_<ts>.tar.gz in (bundle); the folder for
        /// the per-device files (xml).
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = ExportFormat::Bundle)]
        format: ExportFormat,
    },
    /// Import what the authority returned: an ACK bundle (.tar.gz/.tar), one <smartLicense>
    /// ACK file, or the SLAC codes CSV of `slac generate --csv`. Each answer waits for its
    /// device's next poll (push) or next update (pull). Every answer must be signed by the
    /// pinned authority key (`prefs set --authority-key`) and be for a device in the
    /// inventory, or nothing of the file is imported.
    Import { file: PathBuf },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// UD_SA_<ts>.tar.gz: manifest.mf + UD_VA_<ts>.tar.gz of one file per device.
    Bundle,
    /// One <smartLicense> file per device into a folder (for `slp authority usage upload`).
    Xml,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(Debug, Subcommand)]
enum PrefsCmd {
    /// Changes preferences; options not given stay as they are.
    Set {
        /// Forward to the authority over its API.
        #[arg(long, conflicts_with = "disconnected")]
        connected: bool,
        /// Exchange files with the authority (export / import).
        #[arg(long)]
        disconnected: bool,
        /// The smart account (domain or numeric id at the authority).
        #[arg(long, value_name = "DOMAIN")]
        account: Option<String>,
        /// The virtual account (name or numeric id).
        #[arg(long, value_name = "NAME")]
        va: Option<String>,
        /// Base URL of the authority, e.g. https://authority.example.com:8443 (its certificate is
        /// verified: see --ca).
        #[arg(long, value_name = "URL")]
        authority_url: Option<String>,
        /// OAuth2 client id (`slp authority client create --role reporter`).
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// OAuth2 client secret (stored in relay.db, readable only by its owner).
        #[arg(
            long,
            value_name = "SECRET",
            env = "SLP_RELAY_CLIENT_SECRET",
            hide_env_values = true,
            allow_hyphen_values = true
        )]
        client_secret: Option<String>,
        #[arg(long, value_name = "METHOD")]
        default_connect_method: Option<ConnectMethod>,
        /// Accept pushes only from devices in the inventory.
        #[arg(long, value_enum)]
        validate_device: Option<OnOff>,
        /// Pin the authority's public key: a file holding the output of `slp authority key
        /// show` (or the bare base64 key), or the key itself. Every imported or fetched answer
        /// must be signed by it; a connected relay learns it at its first sync otherwise.
        #[arg(long, value_name = "FILE|KEY")]
        authority_key: Option<String>,
    },
    /// Shows the preferences (never the client secret).
    Show {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PiCmd {
    /// Adds one product instance: --host for pull (the UDI is learned on first contact), --udi
    /// for a device that pushes.
    Add {
        /// The device's management API: HOST:PORT (plain HTTP) or https://HOST:PORT (its
        /// certificate verified: see --ca).
        #[arg(long, value_name = "HOST:PORT", required_unless_present = "udi")]
        host: Option<String>,
        #[arg(long, value_name = "PID:…,SN:…")]
        udi: Option<String>,
        #[arg(long, value_name = "METHOD")]
        connect_method: Option<ConnectMethod>,
        /// A privilege 15 user of the device (pull).
        #[arg(long, requires = "password")]
        username: Option<String>,
        #[arg(long, requires = "username")]
        password: Option<String>,
    },
    /// Authorization Code Request: writes the CSV (PID,Serial Number) of the devices that need
    /// a SLAC, for `slp authority slac generate --csv`; import the codes CSV it returns with
    /// `slp relay import`.
    AuthRequest {
        /// Devices to request for (repeatable); every known device when omitted.
        #[arg(long, value_name = "PID:…,SN:…")]
        udi: Vec<String>,
        #[arg(long, value_name = "FILE.csv")]
        out: PathBuf,
    },
    /// Changes the username and password used to pull from the device at --host.
    Edit {
        #[arg(long, value_name = "HOST:PORT")]
        host: String,
        #[arg(long)]
        username: String,
        #[arg(long, allow_hyphen_values = true)]
        password: String,
    },
    /// Imports a CSV file (host, connect method, username, password; header line optional): all
    /// rows or none.
    Import { file: PathBuf },
    /// Forgets the device key a pushing UDI is bound to (its first signed document binds it;
    /// a document of that UDI signed by another key is refused): for a device that was really
    /// replaced or re-keyed. Its next signed document binds again.
    Rebind {
        #[arg(long, value_name = "PID:…,SN:…")]
        udi: String,
    },
    /// Lists the inventory with Last Contact and Alerts (read a page of 1000 at a time).
    List {
        #[arg(long)]
        json: bool,
        /// Print one page of at most N rows (1 to 1000) instead of the whole inventory.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..=PAGE_MAX))]
        limit: Option<i64>,
        /// With --limit: skip the first M rows.
        #[arg(long, value_name = "M", requires = "limit", value_parser = clap::value_parser!(i64).range(0..))]
        offset: Option<i64>,
    },
}

/// The largest page `pi list --limit` prints, and the page the whole inventory is read in.
const PAGE_MAX: i64 = 1_000;

/// Runs `slp relay …`.
pub fn run(args: RelayArgs, clock: Arc<dyn Clock>) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(args, clock))
}

async fn run_async(args: RelayArgs, clock: Arc<dyn Clock>) -> anyhow::Result<ExitCode> {
    let dir = args.data.clone().context("give --data DIR (the relay's data directory)")?;
    // Certificates, keys and the listen address are checked before anything is opened.
    let roots = slp_http::TrustRoots::optional(args.ca.as_deref())?;
    let tls = match &args.command {
        Command::Serve { listen, tls, .. } => tls.resolve(*listen)?,
        _ => None,
    };
    let serving = matches!(args.command, Command::Serve { .. });
    // A service's clock runs: from --now (virtual) or from the system time.
    let clock: Arc<dyn Clock> =
        if serving { Arc::new(slp_clock::VirtualClock::running(clock.now(), 1)) } else { clock };
    let relay = Arc::new(
        Relay::open(&dir, clock)
            .await
            .with_context(|| format!("opening the relay data directory {}", dir.display()))?
            .with_trust_roots(roots),
    );
    let result = dispatch(&relay, args.command, tls).await;
    relay.store().close().await;
    result
}

/// Widest cell a table shows; longer text is cut with `…` (`--json` gives it whole).
const MAX_CELL_CHARS: usize = 200;

/// `cell` cut at [`MAX_CELL_CHARS`], control characters shown as spaces: no text, however long,
/// breaks a row or the formatter (whose widths are bounded).
fn table_cell(cell: &str) -> String {
    let mut shown: String =
        cell.chars().take(MAX_CELL_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if cell.chars().nth(MAX_CELL_CHARS).is_some() {
        shown.pop();
        shown.push('…');
    }
    shown
}

fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let rows: Vec<Vec<String>> =
        rows.iter().map(|row| row.iter().map(|cell| table_cell(cell)).collect()).collect();
    let rows = rows.as_slice();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let text: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(c.chars().count());
                format!("{c}{}", " ".repeat(pad))
            })
            .collect();
        println!("{}", text.join("  ").trim_end());
    };
    line(headers.iter().map(|h| (*h).to_owned()).collect());
    line(widths.iter().map(|w| "-".repeat(*w)).collect());
    for row in rows {
        line(row.clone());
    }
}

async fn dispatch(
    relay: &Arc<Relay>,
    command: Command,
    tls: Option<slp_http::TlsConfig>,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Prefs(PrefsCmd::Set {
            connected,
            disconnected,
            account,
            va,
            authority_url,
            client_id,
            client_secret,
            default_connect_method,
            validate_device,
            authority_key,
        }) => {
            // A file (the output of `slp authority key show`) or the key itself.
            let authority_key = match authority_key {
                Some(value) if std::path::Path::new(&value).is_file() => Some(
                    std::fs::read_to_string(&value)
                        .with_context(|| format!("reading --authority-key {value}"))?,
                ),
                other => other,
            };
            let change = PrefsChange {
                connected: if connected {
                    Some(true)
                } else if disconnected {
                    Some(false)
                } else {
                    None
                },
                smart_account: account,
                virtual_account: va,
                authority_url,
                client_id,
                client_secret,
                default_connect_method,
                validate_device: validate_device.map(|v| matches!(v, OnOff::On)),
                authority_key,
            };
            let prefs = relay.set_prefs(change).await?;
            println!(
                "Relay preferences saved ({})",
                if prefs.connected { "connected" } else { "disconnected" }
            );
        }
        Command::Prefs(PrefsCmd::Show { json }) => {
            let prefs = relay.prefs().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&prefs)?);
            } else {
                let none = || "-".to_owned();
                let rows = [
                    (
                        "Mode",
                        if prefs.connected {
                            "Connected".to_owned()
                        } else {
                            "Disconnected".to_owned()
                        },
                    ),
                    ("Smart Account", prefs.smart_account.clone().unwrap_or_else(none)),
                    ("Virtual Account", prefs.virtual_account.clone().unwrap_or_else(none)),
                    ("Authority URL", prefs.authority_url.clone().unwrap_or_else(none)),
                    ("Client ID", prefs.client_id.clone().unwrap_or_else(none)),
                    (
                        "Client Secret",
                        if prefs.client_secret_set { "(set)".to_owned() } else { none() },
                    ),
                    ("Default Connect Method", prefs.default_connect_method.as_str().to_owned()),
                    (
                        "Validate Device",
                        if prefs.validate_device { "on".to_owned() } else { "off".to_owned() },
                    ),
                    ("Relay ID", prefs.relay_uuid.clone()),
                    (
                        "Authority Key",
                        prefs.authority_key_id.as_ref().map_or_else(
                            || "- (not pinned: answers cannot be imported)".to_owned(),
                            |id| format!("{id} (pinned)"),
                        ),
                    ),
                ];
                for (label, value) in rows {
                    println!("{label:<24}{value}");
                }
            }
        }
        Command::Pi(PiCmd::Add { host, udi, connect_method, username, password }) => {
            let view =
                relay.pi_add(PiSpec { host, udi, connect_method, username, password }).await?;
            println!(
                "Product instance {} added ({})",
                view.host.or(view.udi).unwrap_or_default(),
                view.connect_method
            );
        }
        Command::Pi(PiCmd::AuthRequest { udi, out }) => {
            let (csv, udis) = relay.auth_request(&udi).await?;
            crate::bundle::write_atomic(&out, csv.as_bytes())?;
            for udi in &udis {
                println!("{udi}");
            }
            println!(
                "authorization code request for {} UDI(s) written to {}",
                udis.len(),
                out.display()
            );
        }
        Command::Pi(PiCmd::Edit { host, username, password }) => {
            let view = relay.pi_edit(&host, &username, &password).await?;
            println!("Product instance {} now pulls as {username}", view.host.unwrap_or(host));
        }
        Command::Pi(PiCmd::Import { file }) => {
            let count = relay.pi_import(&file).await?;
            println!("{count} product instance(s) imported from {}", file.display());
        }
        Command::Pi(PiCmd::Rebind { udi }) => match relay.pi_rebind(&udi).await? {
            Some(key_id) => println!(
                "{udi} is no longer bound to device key {key_id}: its next signed document binds it"
            ),
            None => {
                println!("{udi} was not bound to a device key: its next signed document binds it")
            }
        },
        Command::Pi(PiCmd::List { json, limit, offset }) => {
            let rows = match limit {
                Some(limit) => {
                    let offset = offset.unwrap_or(0);
                    let (rows, total) = relay.pi_page(limit, offset).await?;
                    if rows.is_empty() {
                        eprintln!("no rows at offset {offset} (the inventory has {total})");
                    } else {
                        eprintln!("rows {}-{} of {total}", offset + 1, offset + rows.len() as i64);
                    }
                    rows
                }
                None => {
                    let mut all = Vec::new();
                    loop {
                        let (rows, _) = relay.pi_page(PAGE_MAX, all.len() as i64).await?;
                        let full = rows.len() as i64 == PAGE_MAX;
                        all.extend(rows);
                        if !full {
                            break all;
                        }
                    }
                }
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                let dash = || "-".to_owned();
                let table: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.udi.clone().unwrap_or_else(|| "(not yet contacted)".to_owned()),
                            r.hostname.clone().unwrap_or_else(dash),
                            r.host.clone().unwrap_or_else(dash),
                            r.connect_method.clone(),
                            r.last_contact.clone().unwrap_or_else(dash),
                            if r.alerts.is_empty() { dash() } else { r.alerts.join("; ") },
                        ]
                    })
                    .collect();
                print_table(
                    &["UDI", "Hostname", "Host", "Connect Method", "Last Contact", "Alerts"],
                    &table,
                );
            }
        }
        Command::Serve { listen, sync_interval, body_limit, tls: _ } => {
            serve(relay.clone(), listen, tls, sync_interval, body_limit).await?;
        }
        Command::Collect { host } => {
            let results = relay.collect(host.as_deref()).await?;
            let mut failed = false;
            if results.is_empty() {
                println!(
                    "no rest-pull device in the inventory: add one with `slp relay pi add --host … --username … --password …`"
                );
            }
            for r in &results {
                let who = format!("{} ({})", r.host, r.udi.as_deref().unwrap_or("UDI unknown"));
                if r.installed > 0 {
                    println!("{who}: {} answer(s) installed", r.installed);
                }
                match (&r.failure, &r.poll_id) {
                    (Some(reason), _) => {
                        failed = true;
                        println!("{who}: COMM FAILED: {reason}");
                    }
                    (None, Some(_)) if r.new => {
                        println!("{who}: {} report(s) collected", r.reports)
                    }
                    (None, Some(_)) => {
                        println!("{who}: nothing new ({} report(s) already collected)", r.reports)
                    }
                    (None, None) => println!("{who}: nothing to report"),
                }
            }
            if relay.prefs().await?.connected {
                failed |= print_sync(relay).await?;
            }
            return Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS });
        }
        Command::Sync => {
            let failed = print_sync(relay).await?;
            return Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS });
        }
        Command::Export { out, format } => {
            let format = match format {
                ExportFormat::Bundle => Format::Bundle,
                ExportFormat::Xml => Format::Xml,
            };
            match relay.export(&out, format).await? {
                None => println!("nothing to export: no document is waiting for an ACK"),
                Some(exported) => {
                    for (name, udi, reports) in &exported.files {
                        println!("{name}: {udi}, {reports} report(s)");
                    }
                    println!(
                        "exported {} product instance(s) to {}",
                        exported.files.len(),
                        exported.path.display()
                    );
                }
            }
        }
        Command::Import { file } => {
            let imported = relay.import(&file).await?;
            for (member, udi) in &imported.answers {
                println!("{member}: ACK for {udi}");
            }
            println!(
                "imported {} answer(s) ({} new); each device gets its answer on its next poll or update",
                imported.answers.len(),
                imported.new
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs one forwarding cycle and prints it; true when something failed.
async fn print_sync(relay: &Relay) -> anyhow::Result<bool> {
    let upstream = relay.http_upstream().await?;
    let report = relay.sync(&upstream).await?;
    println!(
        "sent {} document(s) to the authority, received {} answer(s), {} request(s) outstanding",
        report.sent, report.answers, report.outstanding
    );
    for line in &report.installed {
        println!("{line}");
    }
    for line in &report.rejected {
        println!("REJECTED: {line}");
    }
    for line in &report.failures {
        println!("{line}");
    }
    Ok(!report.failures.is_empty())
}

async fn serve(
    relay: Arc<Relay>,
    listen: std::net::SocketAddr,
    tls: Option<slp_http::TlsConfig>,
    sync_interval: u64,
    body_limit: usize,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding the relay endpoint to {listen}"))?;
    let addr = listener.local_addr()?;
    let timer = {
        let relay = relay.clone();
        tokio::spawn(async move { forward_on_timer(relay, sync_interval).await })
    };
    println!("listening on {}://{addr}", slp_http::tls::scheme(tls.as_ref()));
    std::io::Write::flush(&mut std::io::stdout())?;
    tracing::info!(%addr, "relay serving /cslu/v1/pi");
    let options = crate::api::ApiOptions { body_limit };
    let served = crate::api::serve(relay, listener, tls, shutdown_signal(), options).await;
    timer.abort();
    served.context("serving")?;
    tracing::info!("relay stopped");
    Ok(())
}

/// Connected mode: a forwarding cycle every `interval` seconds of the relay's clock (checked
/// once a real second, so a virtual clock running faster is honoured).
async fn forward_on_timer(relay: Arc<Relay>, interval: u64) {
    let mut schedule = crate::upstream::SyncSchedule::new(relay.clock().now(), interval);
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        ticks.tick().await;
        if !schedule.due(relay.clock().now()) {
            continue;
        }
        match relay.prefs().await {
            Ok(prefs) if prefs.connected => {}
            Ok(_) => continue,
            Err(err) => {
                tracing::error!(error = %err, "reading the relay preferences failed");
                continue;
            }
        }
        let upstream = match relay.http_upstream().await {
            Ok(upstream) => upstream,
            Err(err) => {
                tracing::warn!(error = %err, "connected mode is not usable");
                continue;
            }
        };
        match relay.sync(&upstream).await {
            Ok(report) => {
                for line in report.failures {
                    tracing::warn!("{line}");
                }
                tracing::debug!(next = %schedule.next(), "next forwarding cycle");
            }
            Err(err) => tracing::error!(error = %err, "forwarding cycle failed"),
        }
    }
}

use slp_host::shutdown_signal;
