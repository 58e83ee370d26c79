//! `slp bench ingest`: a load generator for the authority's ingest path.
//!
//! It starts an authority API on loopback (SQLite in a temporary directory, or the PostgreSQL
//! database given by `--database`, in a fresh schema), creates a smart account, a virtual
//! account, a license pool and an API client, pre-signs `--reports` RUM reports for
//! `--instances` product instances (one Ed25519 key each; every entry carries the device's
//! signed system info, and an instance's first entry its trust request, as devices send them),
//! and sends them through `POST …/v2/devices/reportusage` in batches of `--batch` reports, an
//! instance's reports `--per-entry` at a time in one entry, `--concurrency` requests in flight,
//! each followed by `POST …/v2/accounts/poll` until the ACKs are ready (COMPLETE).
//!
//! It prints: reports/s end to end (parse, verify, persist, ACK ready), p50/p99 latency of a
//! batch (request sent → ACKs ready), peak RSS of the process, the CPU time it took, and —
//! measured in the same run, before the load, best of three rounds — the raw single-core
//! Ed25519 verify rate, with the ratio of the two. With `--listers N`, N viewers list the
//! event log and the usage files (seeded with `--list-rows` rows) while the ingest runs, and
//! their request rate and latency are printed beside the ingest's.
//!
//! With `--url`, it drives an authority already served (`slp authority serve`) instead: the
//! same pre-signed load, sent with the API client `--client-id`/`--client-secret` to the
//! virtual account `--va` of `--account`. Its product instances are new to the authority (a
//! serial number unique to the run) and bind on first contact, which the virtual account must
//! allow (the default). It reads every ACK and counts the reports accepted; CPU time and RSS are
//! the load generator's, and the writer lane (inside the authority) is not shown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use clap::{Args, Subcommand};
use serde_json::Value;
use slp_authority::{Authority, LicenseSpec, Role};
use slp_clock::{Clock, VirtualClock};
use slp_core::license;
use slp_core::udi::Udi;
use slp_store::{ConnectOptions, Store};
use slp_wire::docs::{self, DeviceEntry, RumAck, SystemInfo, TrustRequest};
use slp_wire::keys::KeyPair;
use slp_wire::rum::{self, HaUdi, Measurement, ReportInput, Sudi};
use slp_wire::xml::{Document, Kind};

use slp_wire::cssm::BASE;
use slp_wire::cssm::report::{
    ACKNOWLEDGEMENTS, COMPLETE, OK_POLL, PollAccepted, PollData, PollId, PollRequest,
    ReportUsageData, ReportUsageRequest, SignedJson, UsageEntry, UsageItem,
};

/// Arguments of `slp bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCmd,
}

#[derive(Debug, Subcommand)]
enum BenchCmd {
    /// Ingest throughput of the authority's reportusage path: on loopback in this process, or
    /// of an authority already served (`--url`).
    Ingest(IngestArgs),
}

#[derive(Debug, Args)]
struct IngestArgs {
    /// RUM reports to send.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    reports: u64,
    /// Product instances they come from (one key each).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    instances: u64,
    /// Reports per reportusage request (a relay forwarding a batch).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    batch: u64,
    /// Reports of one product instance per entry of a request (a device's reports since its
    /// last contact travel together).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    per_entry: u64,
    /// Requests in flight (relays and devices reporting at the same time). The default keeps
    /// both cores of a small machine busy while some requests wait for the disk or their poll.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    concurrency: u64,
    /// Viewers listing while the ingest runs: each sends `GET …/events` and
    /// `GET …/usage-files` in turn (at the API's default page size, or --list-limit) until the
    /// ingest ends; their requests/s and latency are printed. Lists must not starve the ingest.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=256))]
    listers: u64,
    /// Rows written into the event log and the usage-file table before the run (with
    /// --listers): what the viewers list.
    #[arg(long, default_value_t = 16_000, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    list_rows: u64,
    /// The `limit` the viewers ask for (default: none, the API's default page).
    #[arg(long, value_name = "N")]
    list_limit: Option<u64>,
    /// PostgreSQL URL (postgres://…); default: SQLite in a temporary directory.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Serve the authority over HTTPS on a CA made for the run (in the temporary directory);
    /// the client verifies the certificate against it, as a relay with `--ca` does.
    #[arg(long)]
    tls: bool,
    /// Drive an authority already served at this address (`slp authority serve`, e.g.
    /// http://127.0.0.1:8443) instead of one in this process. Needs --client-id,
    /// --client-secret, --account and --va; the virtual account must allow first contact
    /// (`slp authority va set --account D --va V --first-contact allow`, the default).
    #[arg(
        long,
        value_name = "URL",
        requires_all = ["client_id", "client_secret", "account", "va"],
        conflicts_with_all = ["database", "tls", "listers"]
    )]
    url: Option<String>,
    /// The API client (admin or reporter) of the served authority (`slp authority client create`).
    #[arg(long, value_name = "ID", requires = "url")]
    client_id: Option<String>,
    /// The API client's secret.
    #[arg(long, value_name = "SECRET", requires = "url")]
    client_secret: Option<String>,
    /// Smart account (domain) the reports go to, on the served authority.
    #[arg(long, value_name = "DOMAIN", requires = "url")]
    account: Option<String>,
    /// Virtual account the reports go to, on the served authority.
    #[arg(long, value_name = "NAME", requires = "url")]
    va: Option<String>,
    /// CA certificate (PEM) that signed the served authority's certificate, besides the public
    /// roots (for --url https://… on a private CA).
    #[arg(long, value_name = "FILE", requires = "url")]
    ca: Option<PathBuf>,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `slp bench …`. The clock dates the reports sent to a served authority (`--url`); the
/// authority in this process runs on a virtual clock of its own.
pub fn run(args: BenchArgs, clock: Arc<dyn Clock>) -> anyhow::Result<std::process::ExitCode> {
    let BenchCmd::Ingest(args) = args.command;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let figures = runtime.block_on(async {
        match &args.url {
            Some(url) => remote(&args, url, clock.as_ref()).await,
            None => ingest(&args).await,
        }
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    } else {
        print_figures(&figures);
    }
    Ok(std::process::ExitCode::SUCCESS)
}

struct Instance {
    key: KeyPair,
    udi: Udi,
    system_info: SignedJson,
    trust_request: SignedJson,
}

impl Instance {
    /// Product instance `n`, serial number `{prefix}{n:07}`, asking for trust at `trust_at`.
    fn new(n: u64, prefix: &str, trust_at: &str) -> anyhow::Result<Instance> {
        let key = KeyPair::generate();
        let udi = Udi::new("C9300-24UX", &format!("{prefix}{n:07}"))?;
        let info = SystemInfo {
            sudi: Sudi::of(&udi),
            timestamp: 0,
            nonce: format!("n{n}"),
            hostname: Some(format!("bench-{n}")),
            software_tag_identifier: "regid.2017-05.com.cisco.C9300,v1".to_owned(),
            software_version: Some("17.09.04".to_owned()),
            public_key: key.public_b64(),
            device_list: vec![DeviceEntry {
                sudi: Sudi::of(&udi),
                role: "Active".to_owned(),
                software_tag_identifier: "regid.2017-05.com.cisco.C9300,v1".to_owned(),
                hostname: None,
            }],
        };
        let request = TrustRequest {
            sudi: Sudi::of(&udi),
            public_key: key.public_b64(),
            nonce: format!("t{n}"),
            timestamp: trust_at.to_owned(),
        };
        let system_info = SignedJson::of(&docs::sign_json(Kind::SystemInfo, &info, &key));
        let trust_request = SignedJson::of(&docs::sign_json(Kind::TrustRequest, &request, &key));
        Ok(Instance { key, udi, system_info, trust_request })
    }

    fn report(&self, report_id: u64, end: i64, tag: &str) -> anyhow::Result<UsageItem> {
        let text = rum::sign_report(
            &ReportInput {
                report_id,
                udi: self.udi.clone(),
                software_tag: "regid.2017-05.com.cisco.C9300,v1".to_owned(),
                entitlement_tag: tag.to_owned(),
                software_version: Some("17.09.04".to_owned()),
                ha_udi: vec![HaUdi { role: "Active".to_owned(), sudi: Sudi::of(&self.udi) }],
                measurements: vec![Measurement {
                    log_time: end,
                    start_time: end - 900,
                    end_time: end,
                    count: 1,
                    termination_reason: None,
                }],
            },
            &self.key,
        );
        Ok(UsageItem::of(rum::Envelope::parse(&text)?))
    }

    fn entry(
        &self,
        usage: Vec<UsageItem>,
        nonce: &str,
        at_ms: i64,
        with_trust_request: bool,
    ) -> UsageEntry {
        let trust_requests =
            if with_trust_request { vec![self.trust_request.clone()] } else { Vec::new() };
        UsageEntry {
            sudi: Sudi::of(&self.udi),
            hostname: Some(format!("bench-{}", self.udi.sn)),
            software_tag_identifier: Some("regid.2017-05.com.cisco.C9300,v1".to_owned()),
            nonce: Some(nonce.to_owned()),
            timestamp: Some(at_ms),
            trust_requests,
            transaction_id: None,
            license_pool_id: None,
            usage,
            system_info: Some(self.system_info.clone()),
        }
    }
}

/// The figures one run prints.
#[derive(Debug, serde::Serialize)]
struct Figures {
    /// The served authority driven (`--url`); absent: the authority ran in this process.
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    backend: String,
    /// HTTPS (`--tls`) or plain HTTP on loopback.
    transport: String,
    reports: u64,
    instances: u64,
    batch: u64,
    per_entry: u64,
    concurrency: u64,
    cores: usize,
    seconds: f64,
    reports_per_second: f64,
    batch_p50_ms: f64,
    batch_p99_ms: f64,
    peak_rss_mib: Option<f64>,
    verify_per_second_single_core: f64,
    /// Signatures/s of the authority's batch check on one core, batches shaped as this run's
    /// requests (each device's system information and reports under one key).
    batch_verify_per_second_single_core: f64,
    ratio: f64,
    presign_seconds: f64,
    /// CPU time (user + system) the whole process spent during the ingest: the authority and
    /// the load generator together (with `--url`: the load generator only).
    cpu_seconds: Option<f64>,
    /// The authority's group commit: the serial lane every report passes through, one group
    /// at a time (not measurable from outside a served authority).
    #[serde(skip_serializing_if = "Option::is_none")]
    lane: Option<Lane>,
    /// The reports the ACKs name, by status (read from every ACK with `--url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    acknowledged: Option<Acked>,
    /// The viewers listing during the ingest (`--listers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    lists: Option<Lists>,
}

/// What the viewers of `--listers` got while the ingest ran.
#[derive(Debug, serde::Serialize)]
struct Lists {
    listers: u64,
    rows: u64,
    requests: u64,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    mib_per_request: f64,
}

/// [`slp_authority::IngestLane`] per report, in microseconds of wall time.
#[derive(Debug, serde::Serialize)]
struct Lane {
    groups: u64,
    reports_per_group: f64,
    us_per_report: f64,
    prefetch_us_per_report: f64,
    apply_us_per_report: f64,
    flush_us_per_report: f64,
    commit_us_per_report: f64,
}

impl Lane {
    fn of(lane: &slp_authority::IngestLane) -> Lane {
        let reports = lane.reports.max(1) as f64;
        let per = |d: Duration| d.as_secs_f64() * 1e6 / reports;
        Lane {
            groups: lane.groups,
            reports_per_group: lane.reports as f64 / lane.groups.max(1) as f64,
            us_per_report: per(lane.prefetch + lane.apply + lane.flush + lane.commit),
            prefetch_us_per_report: per(lane.prefetch),
            apply_us_per_report: per(lane.apply),
            flush_us_per_report: per(lane.flush),
            commit_us_per_report: per(lane.commit),
        }
    }
}

/// Where the load goes: the authority's base URL, the access token, and the accounts.
struct Target {
    client: reqwest::Client,
    url: String,
    token: String,
    /// Sent as `X-CSW-SMART-ACCOUNT-ID` when set (the client's own account otherwise).
    account: Option<String>,
    /// The account the viewers list (`--listers`).
    list_account: String,
    va: String,
    /// The API client, named in errors.
    client_id: String,
}

/// The pre-signed requests (reports each, JSON body), and how long signing took.
struct Workload {
    bodies: Vec<(u64, Vec<u8>)>,
    presign_seconds: f64,
}

/// Signs `--reports` reports of `--instances` product instances (serial numbers `{prefix}…`)
/// into reportusage requests, the newest report ending at `now` (Unix seconds).
fn prepare(args: &IngestArgs, prefix: &str, now: i64, tag: &str) -> anyhow::Result<Workload> {
    eprintln!("pre-signing {} reports for {} instances…", args.reports, args.instances);
    let presign = Instant::now();
    let trust_at = chrono::DateTime::from_timestamp(now, 0)
        .context("the clock is out of range")?
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let instances: Vec<Instance> = (0..args.instances)
        .map(|n| Instance::new(n, prefix, &trust_at))
        .collect::<anyhow::Result<_>>()?;
    // Report i: instances take turns, each sending `per_entry` consecutive reports per turn.
    let turn = args.instances * args.per_entry;
    let last_id = args.reports.div_ceil(args.instances) + args.per_entry;
    let now_ms = now.saturating_mul(1000);
    let mut trusted = vec![false; instances.len()];
    let mut bodies = Vec::new();
    let mut next = 0u64;
    let mut batch_no = 0u64;
    while next < args.reports {
        let end = (next + args.batch).min(args.reports);
        // Reports of the batch grouped by instance: one entry per instance.
        let mut entries: Vec<(usize, Vec<UsageItem>)> = Vec::new();
        for i in next..end {
            let which = usize::try_from((i % turn) / args.per_entry)?;
            let report_id = (i / turn) * args.per_entry + i % args.per_entry + 1;
            let at = now - 900 * i64::try_from(last_id + 2 - report_id)?;
            let report = instances[which].report(report_id, at, tag)?;
            match entries.iter_mut().find(|(w, _)| *w == which) {
                Some((_, usage)) => usage.push(report),
                None => entries.push((which, vec![report])),
            }
        }
        let entries: Vec<UsageEntry> = entries
            .into_iter()
            .map(|(which, usage)| {
                // A device asks for trust until it has a trust code: on its first contact.
                let first = !std::mem::replace(&mut trusted[which], true);
                instances[which].entry(usage, &format!("b{batch_no}"), now_ms, first)
            })
            .collect();
        let body = ReportUsageRequest {
            data: ReportUsageData {
                timestamp: Some(now_ms),
                nonce: Some(format!("bench-{batch_no}")),
                sudi: None,
                product_instance_identifier: None,
                reports: entries,
            },
        };
        bodies.push((end - next, serde_json::to_vec(&body)?));
        next = end;
        batch_no += 1;
    }
    Ok(Workload { bodies, presign_seconds: presign.elapsed().as_secs_f64() })
}

/// The single-core verify rates, measured before the load on a quiet process: the best of
/// three rounds each.
fn verify_rates(args: &IngestArgs) -> anyhow::Result<(f64, f64)> {
    let verify = (0..3).try_fold(0.0_f64, |best, _| verify_rate().map(|rate| best.max(rate)))?;
    let batch_verify = (0..3).try_fold(0.0_f64, |best, round| {
        batch_verify_rate(args, round).map(|rate| best.max(rate))
    })?;
    Ok((verify, batch_verify))
}

/// What the load took.
struct Run {
    /// Latency of each request (sent → ACKs ready), sorted.
    latencies: Vec<Duration>,
    /// Reports of the requests whose ACKs were ready.
    done: u64,
    seconds: f64,
    cpu: Option<f64>,
    lists: Option<Lists>,
    /// The reports the ACKs name, when `read_acks`.
    acked: Acked,
}

/// Sends the requests, `--concurrency` at a time, each polled until its ACKs are ready, with
/// `--listers` viewers listing meanwhile. With `read_acks`, every ACK is read (after its
/// request's latency is taken) and the reports it names are counted by status.
async fn drive(
    args: &IngestArgs,
    target: Arc<Target>,
    bodies: Vec<(u64, Vec<u8>)>,
    read_acks: bool,
) -> anyhow::Result<Run> {
    eprintln!("sending {} requests, {} in flight…", bodies.len(), args.concurrency);
    let queue = Arc::new(tokio::sync::Mutex::new(bodies.into_iter()));
    let began = Instant::now();
    let cpu_before = cpu_seconds();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let queue = queue.clone();
        let target = target.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut acked = Acked::default();
            loop {
                let next = queue.lock().await.next();
                let Some((count, body)) = next else { break };
                let sent = Instant::now();
                let result = match send_and_poll(&target, body).await {
                    Ok(result) => result,
                    Err(err) => {
                        // The other workers stop after their request in flight.
                        *queue.lock().await = Vec::new().into_iter();
                        return Err(err);
                    }
                };
                latencies.push((count, sent.elapsed()));
                if read_acks {
                    acked.count(&result)?;
                }
            }
            anyhow::Ok((latencies, acked))
        }));
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let listers: Vec<_> = (0..args.listers)
        .map(|_| {
            let (target, stop) = (target.clone(), stop.clone());
            let limit = args.list_limit;
            tokio::spawn(async move { list_until(&target, limit, &stop).await })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut done = 0;
    let mut acked = Acked::default();
    let mut failed = None;
    for worker in workers {
        match worker.await? {
            Ok((worker_latencies, worker_acked)) => {
                for (count, latency) in worker_latencies {
                    done += count;
                    latencies.push(latency);
                }
                acked.add(worker_acked);
            }
            Err(err) => {
                failed.get_or_insert(err);
            }
        }
    }
    let seconds = began.elapsed().as_secs_f64();
    let cpu = cpu_before.zip(cpu_seconds()).map(|(before, after)| after - before);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut list_latencies = Vec::new();
    let mut list_bytes = 0_u64;
    for lister in listers {
        let (latencies, bytes) = lister.await??;
        list_latencies.extend(latencies);
        list_bytes += bytes;
    }
    if let Some(err) = failed {
        return Err(err);
    }
    let lists = (args.listers > 0).then(|| {
        list_latencies.sort_unstable();
        let n = list_latencies.len();
        Lists {
            listers: args.listers,
            rows: args.list_rows,
            requests: n as u64,
            requests_per_second: n as f64 / seconds,
            p50_ms: quantile(&list_latencies, 0.50),
            p99_ms: quantile(&list_latencies, 0.99),
            mib_per_request: list_bytes as f64 / n.max(1) as f64 / 1_048_576.0,
        }
    });
    latencies.sort_unstable();
    Ok(Run { latencies, done, seconds, cpu, lists, acked })
}

/// The entitlement tag the bench's reports use.
fn bench_tag() -> &'static str {
    license::lookup("network-advantage").map(|l| l.entitlement_tag).unwrap_or_default()
}

async fn ingest(args: &IngestArgs) -> anyhow::Result<Figures> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let (store, backend) = match &args.database {
        Some(url) => {
            let schema = format!("slp_bench_{}", std::process::id());
            let options = ConnectOptions { schema: Some(schema.clone()) };
            let store = Store::connect(url, &options).await.context("opening the database")?;
            (store, format!("PostgreSQL (schema {schema})"))
        }
        None => (
            Store::open_dir(dir.path()).await.context("opening SQLite")?,
            "SQLite (WAL, temporary directory)".to_owned(),
        ),
    };
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-15T10:00:00Z")?.to_utc();
    let authority =
        Arc::new(Authority::open(store, Arc::new(VirtualClock::running(start, 1))).await?);
    authority.create_account("Bench Corp", "bench.example").await?;
    authority.create_va("bench.example", "Bench").await?;
    authority
        .add_license(
            "bench.example",
            "Bench",
            &LicenseSpec {
                tag: "network-advantage".to_owned(),
                sku: "C9300-NW-A".to_owned(),
                quantity: 1_000_000,
                term: None,
                enforcement: None,
                expires: None,
            },
        )
        .await?;
    let (credentials, _) = authority.create_client("bench.example", "bench", Role::Admin).await?;
    if args.listers > 0 {
        eprintln!("writing {} events and usage-file rows for the viewers…", args.list_rows);
        seed_lists(authority.store(), args.list_rows).await?;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let tls = if args.tls { Some(slp_lab::certs::LabTls::ensure(dir.path())?) } else { None };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", listener.local_addr()?);
    let server = tokio::spawn(slp_authority::serve(
        authority.clone(),
        listener,
        tls.as_ref().map(|tls| tls.server.clone()),
        std::future::pending(),
    ));

    // Pre-sign everything (not timed in the ingest figure).
    let workload = prepare(args, "BENCH", start.timestamp(), bench_tag())?;
    let (verify, batch_verify) = verify_rates(args)?;

    let roots = tls.map(|tls| tls.roots).unwrap_or_default();
    let client = roots.client().build().context("building the HTTPS client")?;
    let token =
        access_token(&client, &url, &credentials.client_id, &credentials.client_secret).await?;
    let target = Arc::new(Target {
        client,
        url,
        token,
        account: None,
        list_account: "bench.example".to_owned(),
        va: "Bench".to_owned(),
        client_id: credentials.client_id.clone(),
    });
    let run = drive(args, target, workload.bodies, false).await?;
    server.abort();
    if run.done != args.reports {
        bail!("only {} of {} reports were acknowledged", run.done, args.reports);
    }
    let usage = authority.product_instances("bench.example", "Bench").await?;
    let used = args.instances.min(args.reports.div_ceil(args.per_entry));
    if usage.len() as u64 != used {
        bail!("{} product instances registered, expected {used}", usage.len());
    }
    let reports_per_second = args.reports as f64 / run.seconds;
    let lane = Lane::of(&authority.ingest_lane());
    authority.store().close().await;
    Ok(Figures {
        url: None,
        backend,
        transport: if args.tls { "HTTPS".to_owned() } else { "HTTP".to_owned() },
        reports: args.reports,
        instances: args.instances,
        batch: args.batch,
        per_entry: args.per_entry,
        concurrency: args.concurrency,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        seconds: run.seconds,
        reports_per_second,
        batch_p50_ms: quantile(&run.latencies, 0.50),
        batch_p99_ms: quantile(&run.latencies, 0.99),
        peak_rss_mib: peak_rss_mib(),
        verify_per_second_single_core: verify,
        batch_verify_per_second_single_core: batch_verify,
        ratio: reports_per_second / verify,
        presign_seconds: workload.presign_seconds,
        cpu_seconds: run.cpu,
        lane: Some(lane),
        acknowledged: None,
        lists: run.lists,
    })
}

/// `--url`: the load against an authority already served. Its product instances are new to it
/// (serial numbers unique to the run) and bind on first contact; every ACK is read.
async fn remote(args: &IngestArgs, url: &str, clock: &dyn Clock) -> anyhow::Result<Figures> {
    let missing = |what: &str| anyhow::anyhow!("--url needs {what}");
    let client_id = args.client_id.as_deref().ok_or_else(|| missing("--client-id"))?;
    let client_secret = args.client_secret.as_deref().ok_or_else(|| missing("--client-secret"))?;
    let account = args.account.as_deref().ok_or_else(|| missing("--account"))?;
    let va = args.va.as_deref().ok_or_else(|| missing("--va"))?;
    let parsed = reqwest::Url::parse(url).with_context(|| format!("--url {url:?} is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.cannot_be_a_base() {
        bail!("--url {url:?}: give the served authority's http:// or https:// address");
    }
    let base = url.trim_end_matches('/').to_owned();
    let roots = slp_http::TrustRoots::optional(args.ca.as_deref())?;
    let client = roots.client().build().context("building the HTTP client")?;
    // The credentials are checked before the reports are signed.
    let token = access_token(&client, &base, client_id, client_secret).await?;

    // Serial numbers no earlier run used: a product instance binds its UDI to its key once.
    let run_tag: String = KeyPair::generate().key_id().chars().take(8).collect();
    let prefix = format!("B{}", run_tag.to_uppercase());
    let workload = prepare(args, &prefix, clock.now().timestamp(), bench_tag())?;
    let (verify, batch_verify) = verify_rates(args)?;

    let target = Arc::new(Target {
        client,
        url: base.clone(),
        token,
        account: Some(account.to_owned()),
        list_account: account.to_owned(),
        va: va.to_owned(),
        client_id: client_id.to_owned(),
    });
    let run = drive(args, target, workload.bodies, true).await?;
    let acked = run.acked;
    if run.done != args.reports || acked.total() != args.reports {
        bail!(
            "{} of {} reports were acknowledged by {base} ({} named in the ACKs)",
            run.done,
            args.reports,
            acked.total()
        );
    }
    if let Some(first) = &acked.first_rejection {
        bail!("{base} rejected {} of {} reports; the first: {first}", acked.rejected, args.reports);
    }
    let reports_per_second = args.reports as f64 / run.seconds;
    Ok(Figures {
        url: Some(base.clone()),
        backend: format!("authority served at {base}"),
        transport: if parsed.scheme() == "https" { "HTTPS".to_owned() } else { "HTTP".to_owned() },
        reports: args.reports,
        instances: args.instances,
        batch: args.batch,
        per_entry: args.per_entry,
        concurrency: args.concurrency,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        seconds: run.seconds,
        reports_per_second,
        batch_p50_ms: quantile(&run.latencies, 0.50),
        batch_p99_ms: quantile(&run.latencies, 0.99),
        peak_rss_mib: peak_rss_mib(),
        verify_per_second_single_core: verify,
        batch_verify_per_second_single_core: batch_verify,
        ratio: reports_per_second / verify,
        presign_seconds: workload.presign_seconds,
        cpu_seconds: run.cpu,
        lane: None,
        acknowledged: Some(acked),
        lists: None,
    })
}

/// The reports named in ACKs, by status.
#[derive(Debug, Default, serde::Serialize)]
struct Acked {
    accepted: u64,
    duplicate: u64,
    rejected: u64,
    /// The first rejected report and the reason the authority gave.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_rejection: Option<String>,
}

impl Acked {
    fn total(&self) -> u64 {
        self.accepted + self.duplicate + self.rejected
    }

    fn add(&mut self, other: Acked) {
        self.accepted += other.accepted;
        self.duplicate += other.duplicate;
        self.rejected += other.rejected;
        if self.first_rejection.is_none() {
            self.first_rejection = other.first_rejection;
        }
    }

    /// Counts the reports of every ACK in a `COMPLETE` poll result: each acknowledgement's
    /// `smart_license` is a base64 `<smartLicense>` document holding a `<smartLicenseRumAck>`.
    fn count(&mut self, result: &Value) -> anyhow::Result<()> {
        let acks = result["data"]["acknowledgements"]
            .as_array()
            .with_context(|| format!("the poll result has no data.acknowledgements: {result}"))?;
        for ack in acks {
            let encoded = ack["smart_license"]
                .as_str()
                .with_context(|| format!("an acknowledgement has no smart_license: {ack}"))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .context("an acknowledgement's smart_license is not base64")?;
            let text = String::from_utf8(bytes)
                .context("an acknowledgement's smart_license is not UTF-8 text")?;
            let document = Document::parse(&text)
                .context("an acknowledgement's smart_license is not a <smartLicense> document")?;
            for item in document.of(Kind::RumAck) {
                let rum: RumAck = item.json()?;
                for report in rum.reports {
                    match report.status.as_str() {
                        "ACCEPTED" => self.accepted += 1,
                        "DUPLICATE" => self.duplicate += 1,
                        _ => {
                            self.rejected += 1;
                            self.first_rejection.get_or_insert_with(|| {
                                format!(
                                    "report {} of PID:{},SN:{}: {} ({})",
                                    report.report_id,
                                    rum.sudi.udi_pid,
                                    rum.sudi.udi_serial_number,
                                    report.status,
                                    report.reason.as_deref().unwrap_or("no reason given")
                                )
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// An access token for the client credentials (`POST /oauth2/token`).
async fn access_token(
    client: &reqwest::Client,
    url: &str,
    client_id: &str,
    client_secret: &str,
) -> anyhow::Result<String> {
    let endpoint = format!("{url}/oauth2/token");
    let reply = client
        .post(&endpoint)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ])
        .send()
        .await
        .map_err(|err| unreachable(url, &err))?;
    let status = reply.status();
    let body = reply.text().await.map_err(|err| unreachable(url, &err))?;
    if !status.is_success() {
        bail!(
            "the authority at {url} refused the credentials of client {client_id:?} ({status}: {}): check --client-id and --client-secret (`slp authority client create` prints them)",
            body.trim()
        );
    }
    let reply: Value = serde_json::from_str(&body)
        .with_context(|| format!("POST {endpoint} answered {status} but not JSON: {body}"))?;
    reply["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("POST {endpoint} answered no access_token: {reply}"))
}

fn unreachable(url: &str, err: &reqwest::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot reach the authority at {url}: {}",
        slp_http::tls::describe_request_error(err)
    )
}

/// The `q` quantile of sorted durations, in milliseconds.
fn quantile(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Writes `rows` events and usage-file rows (each with a 250-byte ACK, as a small device's)
/// into the bench's virtual account, in one transaction.
async fn seed_lists(store: &Store, rows: u64) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    let account = tx.account_by_key("bench.example").await?.context("no bench account")?;
    let va = tx.va_by_name(account.id, "Bench").await?.context("no bench virtual account")?;
    for i in 0..rows {
        let at = 1_794_000_000 + i64::try_from(i)?;
        tx.log(slp_store::NewEvent {
            at,
            account_id: Some(account.id),
            va_id: Some(va.id),
            udi: Some(format!("PID:C9300-24UX,SN:LIST{i:07}")),
            message: format!("usage file list-{i:07}.txt processed: 1 product instance, 20 reports accepted, 0 duplicate (a line as long as the log's)"),
            actor: "bench".to_owned(),
        })
        .await?;
        tx.insert_upload(&slp_store::NewUpload {
            va_id: va.id,
            file_name: format!("list-{i:07}.txt"),
            sha256: format!("{i:064x}"),
            uploaded_at: at,
            status: "Processed".to_owned(),
            pi_count: 1,
            report_count: 20,
            ack: "A".repeat(250),
        })
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One viewer: lists the events and the usage files in turn until `stop`; the latency of each
/// request and the bytes it read.
async fn list_until(
    target: &Target,
    limit: Option<u64>,
    stop: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<(Vec<Duration>, u64)> {
    let va = format!(
        "{}{BASE}/v1/accounts/{}/virtual-accounts/{}",
        target.url, target.list_account, target.va
    );
    let query = limit.map_or_else(String::new, |l| format!("?limit={l}"));
    let mut latencies = Vec::new();
    let mut bytes = 0_u64;
    for n in 0_u64.. {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let what = if n % 2 == 0 { "events" } else { "usage-files" };
        let sent = Instant::now();
        let reply = target
            .client
            .get(format!("{va}/{what}{query}"))
            .bearer_auth(&target.token)
            .send()
            .await?;
        let status = reply.status();
        let body = reply.bytes().await?;
        if !status.is_success() {
            bail!("GET {what} answered {status}: {}", String::from_utf8_lossy(&body));
        }
        latencies.push(sent.elapsed());
        bytes += body.len() as u64;
    }
    Ok((latencies, bytes))
}

/// Sends one reportusage request and polls until its ACKs are ready; the `COMPLETE` result.
async fn send_and_poll(target: &Target, body: Vec<u8>) -> anyhow::Result<Value> {
    let url = &target.url;
    let mut request = target
        .client
        .post(format!("{url}{BASE}/v2/devices/reportusage"))
        .bearer_auth(&target.token)
        .header("X-CSW-VIRTUAL-ACCOUNT-ID", &target.va)
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(account) = &target.account {
        request = request.header("X-CSW-SMART-ACCOUNT-ID", account);
    }
    let reply = request.send().await.map_err(|err| unreachable(url, &err))?;
    let status = reply.status();
    let text = reply.text().await.map_err(|err| unreachable(url, &err))?;
    if status.as_u16() != 202 {
        return Err(refusal(target, "reportusage", status, &text));
    }
    // `poll_id` is a JSON number that may exceed 2^53: read as a 64-bit integer.
    let accepted: PollAccepted = serde_json::from_str(&text).with_context(|| {
        format!("reportusage at {url} answered {status} but not its reply: {text}")
    })?;
    let poll = PollRequest {
        data: PollData {
            timestamp: None,
            nonce: None,
            poll_id: PollId::Number(accepted.poll_id),
            action: Some(ACKNOWLEDGEMENTS.to_owned()),
            kind: None,
        },
    };
    loop {
        let reply = target
            .client
            .post(format!("{url}{BASE}/v2/accounts/poll"))
            .bearer_auth(&target.token)
            .json(&poll)
            .send()
            .await
            .map_err(|err| unreachable(url, &err))?;
        let status = reply.status();
        let text = reply.text().await.map_err(|err| unreachable(url, &err))?;
        if !status.is_success() {
            return Err(refusal(target, "poll", status, &text));
        }
        let reply: Value = serde_json::from_str(&text)
            .with_context(|| format!("poll at {url} answered {status} but not JSON: {text}"))?;
        if reply["status"] == COMPLETE {
            return Ok(reply);
        }
        if reply["status"] != OK_POLL {
            bail!("poll at {url} answered {reply}");
        }
    }
}

/// The error for a request the authority refused, naming what the user sets: the client, the
/// accounts, first contact.
fn refusal(target: &Target, what: &str, status: reqwest::StatusCode, body: &str) -> anyhow::Error {
    let (url, va, client) = (&target.url, &target.va, &target.client_id);
    let account = target.account.as_deref().unwrap_or(&target.list_account);
    let body = body.trim();
    let at = format!("{what} at {url} answered {status}: {body}");
    match status.as_u16() {
        401 => anyhow::anyhow!("{at}: the access token of client {client:?} was not accepted"),
        403 => anyhow::anyhow!(
            "{at}: client {client:?} may not report usage to smart account {account:?}: use a client of that account with the admin or reporter role"
        ),
        404 => anyhow::anyhow!(
            "{at}: check --account {account:?} and --va {va:?} (`slp authority va list --account {account}` on the authority)"
        ),
        422 if body.contains("first contact") => anyhow::anyhow!(
            "{at}: the bench's product instances are new to the authority and bind on first contact; allow it for virtual account {va:?}: `slp authority va set --account {account} --va {va} --first-contact allow`"
        ),
        _ => anyhow::anyhow!("{at} (account {account:?}, virtual account {va:?})"),
    }
}

/// Raw Ed25519 verifications per second on one core (ed25519-dalek, one at a time), over
/// messages the size of a RUM report payload.
fn verify_rate() -> anyhow::Result<f64> {
    use ed25519_dalek::{Signer, SigningKey, Verifier};
    let mut seed = [7u8; 32];
    let count = 4_000;
    let mut items = Vec::with_capacity(count);
    for i in 0..count {
        seed[0] = (i % 251) as u8;
        seed[1] = (i / 251) as u8;
        let key = SigningKey::from_bytes(&seed);
        let message = format!("{{\"report_id\":{i},\"payload\":\"{}\"}}", "x".repeat(700));
        let signature = key.sign(message.as_bytes());
        items.push((key.verifying_key(), message, signature));
    }
    let began = Instant::now();
    for (key, message, signature) in &items {
        key.verify(message.as_bytes(), signature).context("a benchmark signature failed")?;
    }
    Ok(count as f64 / began.elapsed().as_secs_f64())
}

/// Signatures/s of [`slp_wire::keys::verify_batch`] (what the authority runs on each request)
/// on one core, over 4 000 signatures in batches shaped as this run's requests: `--batch`
/// reports, `--per-entry` of them and the system information under each device key. Fresh
/// bytes every `round`: the authority remembers what it found good.
fn batch_verify_rate(args: &IngestArgs, round: u64) -> anyhow::Result<f64> {
    let per_key = usize::try_from(args.per_entry.min(args.batch))? + 1;
    let keys_per_batch = usize::try_from(args.batch.div_ceil(args.per_entry))?;
    let devices: Vec<KeyPair> = (0..keys_per_batch).map(|_| KeyPair::generate()).collect();
    let publics: Vec<String> = devices.iter().map(KeyPair::public_b64).collect();
    let batches = 4_000usize.div_ceil(keys_per_batch * per_key);
    let mut signed: Vec<Vec<(usize, Vec<u8>, String)>> = Vec::with_capacity(batches);
    for b in 0..batches {
        let mut batch = Vec::with_capacity(keys_per_batch * per_key);
        for (d, device) in devices.iter().enumerate() {
            for r in 0..per_key {
                let message = format!(
                    "{{\"round\":{round},\"batch\":{b},\"report_id\":{r},\"payload\":\"{}\"}}",
                    "x".repeat(700)
                )
                .into_bytes();
                let signature = device.sign(&message);
                batch.push((d, message, signature));
            }
        }
        signed.push(batch);
    }
    let began = Instant::now();
    let mut good = 0;
    for batch in &signed {
        let triples: Vec<slp_wire::keys::Triple<'_>> = batch
            .iter()
            .map(|(d, message, signature)| {
                (publics[*d].as_str(), message.as_slice(), signature.as_str())
            })
            .collect();
        good += slp_wire::keys::verify_batch(&triples);
    }
    let seconds = began.elapsed().as_secs_f64();
    let total: usize = signed.iter().map(Vec::len).sum();
    if good != total {
        bail!("{} of {total} benchmark signatures failed the batch check", total - good);
    }
    Ok(total as f64 / seconds)
}

/// CPU time (user + system) of this process so far, Linux only (`/proc/self/stat`, in the
/// kernel's USER_HZ ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces, so split after its ')').
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    // utime and stime are fields 14 and 15 of the line: 11 and 12 counted from 0 after it.
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// Peak resident set size (VmHWM) of this process, Linux only.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn print_figures(f: &Figures) {
    println!("slp bench ingest — {}, {}", f.backend, f.transport);
    println!(
        "  workload:        {} reports from {} product instances, {} per request ({} per instance entry), {} in flight, {} core(s)",
        f.reports, f.instances, f.batch, f.per_entry, f.concurrency, f.cores
    );
    println!(
        "  ingest:          {:.0} reports/s end to end ({:.2} s; parse, verify, persist, ACK ready)",
        f.reports_per_second, f.seconds
    );
    println!(
        "  batch latency:   p50 {:.1} ms, p99 {:.1} ms (request sent → ACKs ready)",
        f.batch_p50_ms, f.batch_p99_ms
    );
    if let Some(acked) = &f.acknowledged {
        println!(
            "  ACKs:            {} reports accepted, {} duplicate, {} rejected (read from every ACK)",
            acked.accepted, acked.duplicate, acked.rejected
        );
    }
    // A served authority runs in another process: what this one measures is the load's.
    let whose = if f.url.is_some() {
        "the load generator only; the authority runs in another process"
    } else {
        "authority and load generator"
    };
    if let Some(cpu) = f.cpu_seconds {
        println!(
            "  CPU:             {:.1} µs per report, {:.2} of {} cores busy ({whose})",
            cpu * 1e6 / f.reports as f64,
            cpu / f.seconds,
            f.cores
        );
    }
    match &f.lane {
        Some(lane) => println!(
            "  writer lane:     {:.1} µs per report (prefetch {:.1}, apply {:.1}, flush {:.1}, commit {:.1}), {} groups of {:.0} reports",
            lane.us_per_report,
            lane.prefetch_us_per_report,
            lane.apply_us_per_report,
            lane.flush_us_per_report,
            lane.commit_us_per_report,
            lane.groups,
            lane.reports_per_group
        ),
        None => println!("  writer lane:     not measurable from outside the authority's process"),
    }
    if let Some(lists) = &f.lists {
        println!(
            "  viewers:         {} listing {} rows of events and usage files: {:.1} requests/s, p50 {:.1} ms, p99 {:.1} ms, {:.2} MiB per answer",
            lists.listers,
            lists.rows,
            lists.requests_per_second,
            lists.p50_ms,
            lists.p99_ms,
            lists.mib_per_request
        );
    }
    match f.peak_rss_mib {
        Some(mib) if f.url.is_some() => println!("  peak RSS:        {mib:.1} MiB ({whose})"),
        Some(mib) => println!("  peak RSS:        {mib:.1} MiB"),
        None => println!("  peak RSS:        unavailable on this platform"),
    }
    println!(
        "  Ed25519 verify:  {:.0} /s on one core (ed25519-dalek, same run, before the load, best of 3)",
        f.verify_per_second_single_core
    );
    println!(
        "  batched verify:  {:.0} signatures/s on one core (the authority's batch check, batches shaped as the requests, best of 3)",
        f.batch_verify_per_second_single_core
    );
    println!(
        "  ratio:           {:.2} (ingest ÷ single-core verify; target ≥ 1.0 on SQLite)",
        f.ratio
    );
    println!("  (pre-signing took {:.1} s and is not counted)", f.presign_seconds);
}
