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

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::Value;
use slp_authority::{Authority, LicenseSpec, Role};
use slp_clock::VirtualClock;
use slp_core::license;
use slp_core::udi::Udi;
use slp_store::{ConnectOptions, Store};
use slp_wire::docs::{self, DeviceEntry, SystemInfo, TrustRequest};
use slp_wire::keys::KeyPair;
use slp_wire::rum::{self, HaUdi, Measurement, ReportInput, Sudi};
use slp_wire::xml::Kind;

use slp_wire::cssm::BASE;
use slp_wire::cssm::report::{
    ACKNOWLEDGEMENTS, COMPLETE, OK_POLL, PollAccepted, PollData, PollId, PollRequest,
    ReportUsageData, ReportUsageRequest, SignedJson, StatusReply, UsageEntry, UsageItem,
};

/// Arguments of `slp bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCmd,
}

#[derive(Debug, Subcommand)]
enum BenchCmd {
    /// Ingest throughput of the authority's reportusage path on loopback.
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
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `slp bench …`.
pub fn run(args: BenchArgs) -> anyhow::Result<std::process::ExitCode> {
    let BenchCmd::Ingest(args) = args.command;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let figures = runtime.block_on(ingest(&args))?;
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
    fn new(n: u64) -> anyhow::Result<Instance> {
        let key = KeyPair::generate();
        let udi = Udi::new("C9300-24UX", &format!("BENCH{n:07}"))?;
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
            timestamp: "2026-11-15T10:00:00Z".to_owned(),
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

    fn entry(&self, usage: Vec<UsageItem>, nonce: &str, with_trust_request: bool) -> UsageEntry {
        let trust_requests =
            if with_trust_request { vec![self.trust_request.clone()] } else { Vec::new() };
        UsageEntry {
            sudi: Sudi::of(&self.udi),
            hostname: Some(format!("bench-{}", self.udi.sn)),
            software_tag_identifier: Some("regid.2017-05.com.cisco.C9300,v1".to_owned()),
            nonce: Some(nonce.to_owned()),
            timestamp: Some(1_794_736_800_000),
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
    /// the load generator together.
    cpu_seconds: Option<f64>,
    /// The authority's group commit: the serial lane every report passes through, one group
    /// at a time.
    lane: Lane,
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
    let tag = license::lookup("network-advantage").map(|l| l.entitlement_tag).unwrap_or_default();
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
    eprintln!("pre-signing {} reports for {} instances…", args.reports, args.instances);
    let presign = Instant::now();
    let instances: Vec<Instance> =
        (0..args.instances).map(Instance::new).collect::<anyhow::Result<_>>()?;
    // Report i: instances take turns, each sending `per_entry` consecutive reports per turn.
    let turn = args.instances * args.per_entry;
    let last_id = args.reports.div_ceil(args.instances) + args.per_entry;
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
            let at = 1_794_736_800 - 900 * i64::try_from(last_id + 2 - report_id)?;
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
                instances[which].entry(usage, &format!("b{batch_no}"), first)
            })
            .collect();
        let body = ReportUsageRequest {
            data: ReportUsageData {
                timestamp: Some(1_794_736_800_000),
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
    let presign_seconds = presign.elapsed().as_secs_f64();
    // Measured before the load, on a quiet process: the best of three rounds.
    let verify = (0..3).try_fold(0.0_f64, |best, _| verify_rate().map(|rate| best.max(rate)))?;
    let batch_verify = (0..3).try_fold(0.0_f64, |best, round| {
        batch_verify_rate(args, round).map(|rate| best.max(rate))
    })?;

    let roots = tls.map(|tls| tls.roots).unwrap_or_default();
    let client = roots.client().build().context("building the HTTPS client")?;
    let token: Value = client
        .post(format!("{url}/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.as_str()),
        ])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"].as_str().context("no access token")?.to_owned();

    eprintln!("sending {} requests, {} in flight…", bodies.len(), args.concurrency);
    let queue = Arc::new(tokio::sync::Mutex::new(bodies.into_iter()));
    let began = Instant::now();
    let cpu_before = cpu_seconds();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let queue = queue.clone();
        let client = client.clone();
        let url = url.clone();
        let token = token.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let next = queue.lock().await.next();
                let Some((count, body)) = next else { break };
                let sent = Instant::now();
                send_and_poll(&client, &url, &token, body).await?;
                latencies.push((count, sent.elapsed()));
            }
            anyhow::Ok(latencies)
        }));
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let listers: Vec<_> = (0..args.listers)
        .map(|_| {
            let (client, url, token, stop) =
                (client.clone(), url.clone(), token.clone(), stop.clone());
            let limit = args.list_limit;
            tokio::spawn(async move { list_until(&client, &url, &token, limit, &stop).await })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut done = 0;
    for worker in workers {
        for (count, latency) in worker.await?? {
            done += count;
            latencies.push(latency);
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
    server.abort();
    if done != args.reports {
        bail!("only {done} of {} reports were acknowledged", args.reports);
    }
    let usage = authority.product_instances("bench.example", "Bench").await?;
    let used = args.instances.min(args.reports.div_ceil(args.per_entry));
    if usage.len() as u64 != used {
        bail!("{} product instances registered, expected {used}", usage.len());
    }
    latencies.sort_unstable();
    let pick = |q: f64| {
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let reports_per_second = args.reports as f64 / seconds;
    let lane = Lane::of(&authority.ingest_lane());
    authority.store().close().await;
    Ok(Figures {
        backend,
        transport: if args.tls { "HTTPS".to_owned() } else { "HTTP".to_owned() },
        reports: args.reports,
        instances: args.instances,
        batch: args.batch,
        per_entry: args.per_entry,
        concurrency: args.concurrency,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        seconds,
        reports_per_second,
        batch_p50_ms: pick(0.50),
        batch_p99_ms: pick(0.99),
        peak_rss_mib: peak_rss_mib(),
        verify_per_second_single_core: verify,
        batch_verify_per_second_single_core: batch_verify,
        ratio: reports_per_second / verify,
        presign_seconds,
        cpu_seconds: cpu,
        lane,
        lists,
    })
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
    client: &reqwest::Client,
    url: &str,
    token: &str,
    limit: Option<u64>,
    stop: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<(Vec<Duration>, u64)> {
    let va = format!("{url}{BASE}/v1/accounts/bench.example/virtual-accounts/Bench");
    let query = limit.map_or_else(String::new, |l| format!("?limit={l}"));
    let mut latencies = Vec::new();
    let mut bytes = 0_u64;
    for n in 0_u64.. {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let what = if n % 2 == 0 { "events" } else { "usage-files" };
        let sent = Instant::now();
        let reply = client.get(format!("{va}/{what}{query}")).bearer_auth(token).send().await?;
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

async fn send_and_poll(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> anyhow::Result<()> {
    let reply = client
        .post(format!("{url}{BASE}/v2/devices/reportusage"))
        .bearer_auth(token)
        .header("X-CSW-VIRTUAL-ACCOUNT-ID", "Bench")
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = reply.status();
    let reply = reply.text().await?;
    if status.as_u16() != 202 {
        bail!("reportusage answered {status}: {reply}");
    }
    // A JSON number that may exceed 2^53: read as a 64-bit integer.
    let accepted: PollAccepted =
        serde_json::from_str(&reply).with_context(|| format!("reportusage answered {reply}"))?;
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
        let reply = client
            .post(format!("{url}{BASE}/v2/accounts/poll"))
            .bearer_auth(token)
            .json(&poll)
            .send()
            .await?
            .text()
            .await?;
        let status: StatusReply =
            serde_json::from_str(&reply).with_context(|| format!("poll answered {reply}"))?;
        if status.status == COMPLETE {
            return Ok(());
        }
        if status.status != OK_POLL {
            bail!("poll answered {reply}");
        }
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
    if let Some(cpu) = f.cpu_seconds {
        println!(
            "  CPU:             {:.1} µs per report, {:.2} of {} cores busy (authority and load generator)",
            cpu * 1e6 / f.reports as f64,
            cpu / f.seconds,
            f.cores
        );
    }
    println!(
        "  writer lane:     {:.1} µs per report (prefetch {:.1}, apply {:.1}, flush {:.1}, commit {:.1}), {} groups of {:.0} reports",
        f.lane.us_per_report,
        f.lane.prefetch_us_per_report,
        f.lane.apply_us_per_report,
        f.lane.flush_us_per_report,
        f.lane.commit_us_per_report,
        f.lane.groups,
        f.lane.reports_per_group
    );
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
