//! The `slp` binary: parses the command line and hands each role its arguments.
//!
//! Role logic lives in the role crates (`slp-device`, `slp-authority`, `slp-relay`, `slp-lab`); this crate only wires
//! them together, sets up logging and the clock, and turns errors into exit codes.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::DateTime;
use clap::{Parser, Subcommand};
use slp_clock::{Clock, SystemClock, VirtualClock};

/// jemalloc instead of the system allocator: on the authority's ingest path (requests parsed,
/// verified and written on different threads) glibc malloc cost about 10 % of the CPU per report
/// and jemalloc about half of that (`slp bench ingest`: 66 → 60 µs per report).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Smart Licensing Using Policy, open and self-hostable: every role in one binary.
#[derive(Debug, Parser)]
#[command(name = "slp", version, about, long_about = None)]
struct Cli {
    /// Run on a virtual clock set to this instant (RFC 3339, e.g. 2026-11-22T10:00:00Z) instead of the system clock.
    #[arg(long, global = true, value_name = "RFC3339")]
    now: Option<String>,
    /// How log lines are written to stderr: `text` for people, `json` (one object a line, with
    /// the request id of the request it belongs to) for log collectors. The level is set by
    /// SLP_LOG (e.g. `info`, `slp_authority=debug`); the default, `warn`, shows warnings such
    /// as failed logins and errors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// The product instance (IOS-XE smart agent): IOS-style CLI, usage recording, RUM reports.
    Device(slp_device::cli::DeviceArgs),
    /// The license authority (CSSM role): accounts, license pools, usage ingestion, ACKs, SLACs, policies.
    Authority(slp_authority::cli::AuthorityArgs),
    /// The relay (CSLU role): push endpoint /cslu/v1/pi, pull collection, connected forwarding or export/import files.
    Relay(slp_relay::cli::RelayArgs),
    /// An authority, a relay and simulated product instances of every topology in one process on
    /// loopback: the place to start.
    Lab(slp_lab::cli::LabArgs),
    /// Load generators that print figures: `slp bench ingest` drives the authority's
    /// reportusage path (in this process on loopback, or a served authority with `--url`) and
    /// prints reports/s, latency, RSS and the verify ratio.
    Bench(slp_bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, filtered by SLP_LOG (default `warn`: failed logins and other warnings are
/// shown). JSON lines carry the fields of every span they are in, so each line of a request
/// names its `request_id`.
fn init_logging(format: LogFormat) {
    use tracing_subscriber::filter::{EnvFilter, LevelFilter};
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::WARN.into())
        .with_env_var("SLP_LOG")
        .from_env_lossy();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).init(),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let clock: Arc<dyn Clock> = match &cli.now {
        Some(text) => {
            let at = DateTime::parse_from_rfc3339(text)
                .with_context(|| {
                    format!("--now {text:?} is not an RFC 3339 time such as 2026-11-22T10:00:00Z")
                })?
                .to_utc();
            Arc::new(VirtualClock::frozen(at))
        }
        None => Arc::new(SystemClock),
    };
    let explicit_now = cli.now.is_some();
    match cli.role {
        Role::Device(args) => slp_device::cli::run(args, clock),
        Role::Authority(args) => slp_authority::cli::run(args, clock),
        Role::Relay(args) => slp_relay::cli::run(args, clock),
        Role::Lab(args) => slp_lab::cli::run(args, clock, explicit_now),
        Role::Bench(args) => slp_bench::run(args, clock),
    }
}
