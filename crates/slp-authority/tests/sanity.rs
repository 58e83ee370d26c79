//! Absurd input refused (issue #16, defects 4, 5, 6, 14, 15): reports with impossible counts,
//! ids or times, raced ID tokens, unbounded text. Each attack goes through the interface an
//! attacker has (a usage file, a relay bundle, `reportusage` and smart transport over a real
//! socket) and must fail with an error that names what is wrong, changing nothing. On SQLite,
//! and on PostgreSQL when `SLP_TEST_POSTGRES_URL` is set (a schema of its own per test).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

use std::sync::Arc;

use crate::support::{Device, Postgres, pool};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use slp_authority::*;
use slp_clock::VirtualClock;
use slp_core::license;
use slp_store::Store;
use slp_wire::online::{self, MessageType};
use slp_wire::rum::{Envelope, EnvelopeSignature, Header, Sudi};
use slp_wire::xml::Document;

const SA: &str = "example.com";
const VA: &str = "Lab";
const BASE: &str = "/services/api/smart-accounts-and-licensing";
/// The authority's clock: 2026-11-15T11:00:00Z.
const NOW: i64 = 1_794_740_400;

fn tag() -> &'static str {
    license::lookup("network-advantage").unwrap().entitlement_tag
}

/// An authority over `store` with 10 network-advantage in example.com / Lab, served on a real
/// socket; dropped with its schema (PostgreSQL).
struct Served {
    authority: Arc<Authority>,
    base: String,
    http: reqwest::Client,
    bearer: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
    postgres: Option<Postgres>,
}

async fn serve_on(store: Store, dir: tempfile::TempDir, window: ReportWindow) -> Served {
    let at = DateTime::<Utc>::from_timestamp(NOW, 0).unwrap();
    let clock = Arc::new(VirtualClock::frozen(at));
    let authority =
        Arc::new(Authority::open(store, clock).await.unwrap().with_report_window(window));
    authority.create_account("Example Corp", SA).await.unwrap();
    authority.create_va(SA, VA).await.unwrap();
    authority.add_license(SA, VA, &pool("network-advantage", "C9300-NW-A", 10)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(authority.clone(), listener, None, async {
        let _ = stopped.await;
    }));
    let (credentials, _) = authority.create_client(SA, "relay", Role::Reporter).await.unwrap();
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{base}/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = token["access_token"].as_str().unwrap().to_owned();
    Served { authority, base, http, bearer, stop: Some(stop), _dir: dir, postgres: None }
}

async fn sqlite(window: ReportWindow) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    serve_on(store, dir, window).await
}

async fn postgres(name: &str, window: ReportWindow) -> Option<Served> {
    let (store, pg) = Postgres::store(&format!("sanity_{name}")).await?;
    let mut served = serve_on(store, tempfile::tempdir().unwrap(), window).await;
    served.postgres = Some(pg);
    Some(served)
}

impl Served {
    async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.authority.store().close().await;
        if let Some(pg) = self.postgres.take() {
            pg.drop_schema().await;
        }
    }

    /// What a refused request must leave as it was: the pool, the product instances, the
    /// upload records, the stored usage.
    async fn state(&self) -> String {
        let pool = self.authority.licenses(SA, VA).await.unwrap();
        let pis = self.authority.product_instances(SA, VA).await.unwrap();
        let uploads = self.authority.uploads(SA, VA).await.unwrap();
        format!("{pool:?}\n{pis:?}\n{uploads:?}")
    }

    async fn in_use(&self) -> i64 {
        let pool = self.authority.licenses(SA, VA).await.unwrap();
        pool.iter().find(|l| l.license == "network-advantage").unwrap().in_use
    }

    /// A device message to `/licservice/license`: (HTTP status, reply).
    async fn smart(
        &self,
        device: &Device,
        kind: MessageType,
        data: online::Data,
    ) -> (u16, online::Response) {
        let request = online::Request {
            header: online::Header {
                kind,
                version: online::VERSION.to_owned(),
                nonce: "n".to_owned(),
                timestamp: NOW * 1000,
                udi: Sudi::of(&device.udi),
            },
            data,
        };
        let response = self
            .http
            .post(format!("{}{}", self.base, online::SMART_PATH))
            .json(&request)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// `POST reportusage` of one entry: (HTTP status, body).
    async fn report_usage(&self, entry: Value) -> (u16, Value) {
        let body = json!({"data": {"timestamp": NOW * 1000, "nonce": "n", "reports": [entry]}});
        let response = self
            .http
            .post(format!("{}{BASE}/v2/devices/reportusage", self.base))
            .bearer_auth(&self.bearer)
            .header("X-CSW-SMART-ACCOUNT-ID", SA)
            .header("X-CSW-VIRTUAL-ACCOUNT-ID", VA)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// A product instance: a key and a UDI.
/// The reports an attacker writes by hand, and sane ones.
trait Reports {
    fn forged(&self, report_id: &str, count: &str, start: &str, end: &str) -> String;
    fn good(&self, id: u64, count: u64, end: i64) -> String;
}

impl Reports for Device {
    /// A report signed over a payload written by hand: `report_id`, `count`, `start` and `end`
    /// are JSON text put in as they are, so they can be anything an attacker writes.
    fn forged(&self, report_id: &str, count: &str, start: &str, end: &str) -> String {
        let payload = format!(
            r#"{{"version":"2.0","asset_identification":{{"report_id":{report_id},"asset":{{"name":"regid.sw"}},"instance":{{"sudi":{{"udi_pid":"{}","udi_serial_number":"{}"}}}}}},"meta":{{"entitlement_tag":"{}","utility_enabled":false,"ha_udi":[]}},"measurements":[{{"log_time":{end},"metric_name":"ENTITLEMENT","start_time":{start},"end_time":{end},"sample_interval":3600,"num_samples":5,"meta":{{}},"value":{{"type":"COUNT","value":{count}}}}}]}}"#,
            self.udi.pid,
            self.udi.sn,
            tag()
        );
        let envelope = Envelope {
            signature: EnvelopeSignature {
                sudi: Sudi::of(&self.udi),
                signing_type: "ed25519".to_owned(),
                key: self.key.key_id(),
                value: self.key.sign(payload.as_bytes()),
            },
            payload,
            header: Header { kind: "rum".to_owned() },
        };
        serde_json::to_string(&envelope).unwrap()
    }

    /// A sane report: `count` licenses for the hour before `end`.
    fn good(&self, id: u64, count: u64, end: i64) -> String {
        self.forged(
            &id.to_string(),
            &format!("\"{count}\""),
            &(end - 3600).to_string(),
            &end.to_string(),
        )
    }
}

/// Each absurd report, and what its refusal must say.
fn absurd(device: &Device) -> Vec<(&'static str, String, &'static str)> {
    let (now, start) = (NOW.to_string(), (NOW - 3600).to_string());
    vec![
        (
            "a count of 2^63-1",
            device.forged("11", "\"9223372036854775807\"", &start, &now),
            "report 11, measurement 1: count 9223372036854775807 is above the maximum of 1000000",
        ),
        (
            "a negative count",
            device.forged("12", "\"-5\"", &start, &now),
            "report 12, measurement 1: count must be a whole number ≥ 0, got \"-5\"",
        ),
        (
            "a negative report id",
            device.forged("-5", "\"1\"", &start, &now),
            "asset_identification.report_id must be a whole number from 0 to 9223372036854775807, got -5",
        ),
        (
            "an end before the start",
            device.forged("13", "\"1\"", &now, &start),
            "report 13, measurement 1: end_time 1794736800 is before start_time 1794740400",
        ),
        (
            "a start in 2100",
            device.forged("14", "\"1\"", "4102444800", "4102448400"),
            "RUM report 14 of PID:C9300-24UX,SN:FOC1 rejected: measurement 1 start_time 4102444800 (2100-01-01T00:00:00Z) is later than the authority's clock (2026-11-15T11:00:00Z) plus the allowed skew of 24 hour(s)",
        ),
        (
            "an end in 1970",
            device.forged("15", "\"1\"", "0", "60"),
            "RUM report 15 of PID:C9300-24UX,SN:FOC1 rejected: measurement 1 start_time 0 (1970-01-01T00:00:00Z) is more than 3650 day(s) before the authority's clock",
        ),
        (
            "an end at 2^62 s",
            device.forged("16", "\"1\"", &start, "4611686018427387904"),
            "RUM report 16 of PID:C9300-24UX,SN:FOC1 rejected: measurement 1 end_time 4611686018427387904 (4611686018427387904) is later than",
        ),
    ]
}

async fn absurd_reports_are_refused_on_every_path(s: Served) {
    let sw1 = Device::new("FOC1").named("sw").at(NOW * 1000);
    // The device is known and trusted (smart transport needs it), with 2 licenses in use.
    let first = sw1.usage_file(&[sw1.good(1, 2, NOW - 60)]);
    s.authority.upload(SA, VA, "first.xml", &first).await.unwrap();
    let (_, token_view) = s.authority.create_token(SA, VA, "lab", 30, None).await.unwrap();
    assert_eq!(s.in_use().await, 2);
    let before = s.state().await;
    let events = s.authority.events(SA, None, None).await.unwrap().len();

    for (what, report, says) in absurd(&sw1) {
        // A usage file (`usage upload`).
        let file = sw1.usage_file(&[sw1.good(2, 3, NOW - 30), report.clone()]);
        let err = s.authority.upload(SA, VA, "crafted.xml", &file).await.unwrap_err().to_string();
        assert!(err.starts_with("crafted.xml: "), "{what}: names the file: {err}");
        assert!(err.contains("PID:C9300-24UX,SN:FOC1"), "{what}: names the UDI: {err}");
        assert!(err.contains(says), "{what}: {err}");

        // A relay bundle.
        let stamp = slp_wire::bundle::Stamp {
            creator: "relay-1",
            smart_account: SA,
            virtual_account: VA,
            ts: "20261115T100000",
            mtime: 0,
        };
        let bundle =
            slp_wire::bundle::write_upload(&[("dev_FOC1.xml".to_owned(), file.clone())], stamp)
                .unwrap();
        let err = s
            .authority
            .upload_bundle(SA, VA, "UD_SA_1.tar.gz", &bundle)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("dev_FOC1.xml") && err.contains(says), "{what}: {err}");

        // reportusage over HTTP.
        let (status, body) = s.report_usage(sw1.usage_entry(std::slice::from_ref(&report))).await;
        let message = body["message"].as_str().unwrap_or_default();
        assert!(status == 400 || status == 422, "{what}: {status} {body}");
        assert!(message.contains("data.reports[0]") && message.contains(says), "{what}: {message}");

        // Smart transport, as the trusted device.
        let document = String::from_utf8(file).unwrap();
        let data = online::Data { smart_license: Some(document), ..online::Data::default() };
        let (status, reply) = s.smart(&sw1, MessageType::Usage, data).await;
        assert_eq!((status, reply.status), (422, online::Status::Error), "{what}");
        assert!(reply.message.as_deref().unwrap_or_default().contains(says), "{what}: {reply:?}");

        assert_eq!(s.state().await, before, "{what}: nothing changed");
    }
    assert_eq!(s.authority.events(SA, None, None).await.unwrap().len(), events, "no event logged");
    assert_eq!(s.authority.tokens(SA, VA).await.unwrap()[0].uses, token_view.uses);

    // Usage goes on from correct reports: no report from the future stands in their way.
    let later = sw1.usage_file(&[sw1.good(3, 4, NOW - 10)]);
    s.authority.upload(SA, VA, "later.xml", &later).await.unwrap();
    assert_eq!(s.in_use().await, 4);
    s.finish().await;
}

#[tokio::test]
async fn absurd_reports_are_refused_on_every_path_on_sqlite() {
    absurd_reports_are_refused_on_every_path(sqlite(ReportWindow::default()).await).await;
}

#[tokio::test]
async fn absurd_reports_are_refused_on_every_path_on_postgres() {
    let Some(s) = postgres("absurd", ReportWindow::default()).await else { return };
    absurd_reports_are_refused_on_every_path(s).await;
}

#[tokio::test]
async fn the_report_window_is_the_operators_choice() {
    // No skew at all, one day back.
    let s = sqlite(ReportWindow::new(0, 1)).await;
    let sw1 = Device::new("FOC1").named("sw1").at(NOW * 1000);
    let ahead = sw1.usage_file(&[sw1.good(1, 1, NOW + 60)]);
    let err = s.authority.upload(SA, VA, "ahead.xml", &ahead).await.unwrap_err().to_string();
    assert!(err.contains("end_time 1794740460 (2026-11-15T11:01:00Z) is later than the authority's clock (2026-11-15T11:00:00Z) plus the allowed skew of 0 hour(s)"), "{err}");
    let old = sw1.usage_file(&[sw1.good(2, 1, NOW - 2 * 86_400)]);
    let err = s.authority.upload(SA, VA, "old.xml", &old).await.unwrap_err().to_string();
    assert!(err.contains("is more than 1 day(s) before the authority's clock"), "{err}");
    assert!(s.authority.product_instances(SA, VA).await.unwrap().is_empty());
    let now = sw1.usage_file(&[sw1.good(3, 1, NOW)]);
    s.authority.upload(SA, VA, "now.xml", &now).await.unwrap();
    assert_eq!(s.in_use().await, 1);
    s.finish().await;
}

#[tokio::test]
async fn counts_at_the_maximum_sum_exactly_and_raise_the_alert() {
    let s = sqlite(ReportWindow::default()).await;
    for sn in ["FOC1", "FOC2", "FOC3"] {
        let device = Device::new(sn).named(sn).at(NOW * 1000);
        let file = device.usage_file(&[device.good(1, 1_000_000, NOW - 60)]);
        s.authority.upload(SA, VA, &format!("{sn}.xml"), &file).await.unwrap();
    }
    assert_eq!(s.in_use().await, 3_000_000);
    let pool = s.authority.licenses(SA, VA).await.unwrap();
    assert_eq!(pool[0].balance, 10 - 3_000_000);
    assert_eq!(pool[0].alert.as_deref(), Some("Insufficient Licenses"));
    let alerts = s.authority.alerts(SA, Some(VA)).await.unwrap();
    assert!(
        alerts
            .iter()
            .any(|a| a.kind == "INSUFFICIENT_LICENSES" && a.message.contains("short by 2999990")),
        "{alerts:?}"
    );
    s.finish().await;
}

#[tokio::test]
async fn long_text_from_a_device_is_refused() {
    let s = sqlite(ReportWindow::default()).await;
    let sw1 = Device::new("FOC1").named(&"h".repeat(1 << 20)).at(NOW * 1000);
    let file = sw1.usage_file(&[sw1.good(1, 1, NOW - 60)]);
    let err = s.authority.upload(SA, VA, "long.xml", &file).await.unwrap_err().to_string();
    assert!(
        err.contains("long.xml: the system information: hostname is 1048576 characters long; at most 253 are allowed"),
        "{err}"
    );
    assert!(s.authority.product_instances(SA, VA).await.unwrap().is_empty());
    s.finish().await;
}

/// Ten devices present a `--max-uses 1` token at the same moment over smart transport: exactly
/// one is trusted, the nine others are told the token has no uses left, and the token shows one
/// use.
async fn a_single_use_token_is_used_once_by_ten_concurrent_devices(s: Served) {
    let (token, _) = s.authority.create_token(SA, VA, "one device", 30, Some(1)).await.unwrap();
    let s = Arc::new(s);
    let start = Arc::new(tokio::sync::Barrier::new(10));
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (s, start, token) = (s.clone(), start.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let device = Device::new(&format!("FOC{i:02}")).named("sw").at(NOW * 1000);
            let document = Document {
                reports: Vec::new(),
                items: vec![device.system_info(), device.trust_request()],
            }
            .to_xml();
            let data = online::Data {
                smart_license: Some(document),
                id_token: Some(token),
                ..online::Data::default()
            };
            start.wait().await;
            s.smart(&device, MessageType::TrustRequest, data).await
        }));
    }
    let mut trusted = 0;
    for task in tasks {
        let (status, reply) = task.await.unwrap();
        match reply.status {
            online::Status::Ok => trusted += 1,
            _ => {
                assert_eq!(status, 422);
                let message = reply.message.unwrap_or_default();
                assert!(
                    message.contains("has no uses left: used 1 time(s), its limit"),
                    "{message}"
                );
            }
        }
    }
    assert_eq!(trusted, 1, "exactly one device is trusted");
    let tokens = s.authority.tokens(SA, VA).await.unwrap();
    assert_eq!((tokens[0].uses, tokens[0].status.as_str()), (1, "Used up"));
    let pis = s.authority.product_instances(SA, VA).await.unwrap();
    assert_eq!(pis.iter().filter(|p| p.trust_id.is_some()).count(), 1, "{pis:?}");
    let Ok(s) = Arc::try_unwrap(s) else { panic!("the tasks are done") };
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_single_use_token_is_used_once_by_ten_concurrent_devices_on_sqlite() {
    a_single_use_token_is_used_once_by_ten_concurrent_devices(
        sqlite(ReportWindow::default()).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_single_use_token_is_used_once_by_ten_concurrent_devices_on_postgres() {
    let Some(s) = postgres("token_race", ReportWindow::default()).await else { return };
    a_single_use_token_is_used_once_by_ten_concurrent_devices(s).await;
}

#[tokio::test]
async fn a_refused_trust_document_gives_the_token_use_back() {
    let s = sqlite(ReportWindow::default()).await;
    let (token, _) = s.authority.create_token(SA, VA, "one device", 30, Some(1)).await.unwrap();
    let sw1 = Device::new("FOC1").named("sw").at(NOW * 1000);
    // Signed by another key than the one it names: refused, and the use is not spent.
    let forged = Document {
        reports: Vec::new(),
        items: vec![
            Device::new("FOC1").named("sw").at(NOW * 1000).system_info(),
            sw1.trust_request(),
        ],
    }
    .to_xml();
    let data = online::Data {
        smart_license: Some(forged),
        id_token: Some(token.clone()),
        ..online::Data::default()
    };
    let (status, _) = s.smart(&sw1, MessageType::TrustRequest, data).await;
    assert_eq!(status, 422);
    assert_eq!(s.authority.tokens(SA, VA).await.unwrap()[0].uses, 0);
    let document =
        Document { reports: Vec::new(), items: vec![sw1.system_info(), sw1.trust_request()] }
            .to_xml();
    let data = online::Data {
        smart_license: Some(document),
        id_token: Some(token),
        ..online::Data::default()
    };
    let (status, reply) = s.smart(&sw1, MessageType::TrustRequest, data).await;
    assert_eq!((status, reply.status), (200, online::Status::Ok), "{reply:?}");
    assert_eq!(s.authority.tokens(SA, VA).await.unwrap()[0].uses, 1);
    s.finish().await;
}

/// A database written before counts were bounded may hold a count of 2^63-1: the pool, the
/// alerts and the transfer check add it up without wrapping to a negative "In Use".
#[tokio::test]
async fn a_stored_absurd_count_never_wraps_the_pool() {
    use sqlx::Executor;
    let s = sqlite(ReportWindow::default()).await;
    for sn in ["FOC1", "FOC2"] {
        let device = Device::new(sn).named(sn).at(NOW * 1000);
        let file = device.usage_file(&[device.good(1, 1, NOW - 60)]);
        s.authority.upload(SA, VA, &format!("{sn}.xml"), &file).await.unwrap();
    }
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}/authority.db", s._dir.path().display());
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    db.execute(
        "UPDATE usage SET count = 9223372036854775807 WHERE pi_id = (SELECT MIN(pi_id) FROM usage)",
    )
    .await
    .unwrap();
    db.close().await;
    let pool = s.authority.licenses(SA, VA).await.unwrap();
    assert_eq!((pool[0].in_use, pool[0].balance), (i64::MAX, 10 - i64::MAX));
    assert_eq!(pool[0].alert.as_deref(), Some("Insufficient Licenses"));
    let alerts = s.authority.alerts(SA, Some(VA)).await.unwrap();
    assert!(alerts.iter().any(|a| a.kind == "INSUFFICIENT_LICENSES"), "{alerts:?}");
    s.authority.create_va(SA, "Other").await.unwrap();
    let spec = TransferSpec {
        license: "network-advantage".to_owned(),
        quantity: 1,
        to: "Other".to_owned(),
    };
    let err = s.authority.transfer_licenses(SA, VA, &[spec], false).await.unwrap_err().to_string();
    assert!(err.contains("only 0 available"), "{err}");
    s.finish().await;
}

#[tokio::test]
async fn long_descriptions_and_reasons_are_refused_with_the_limit() {
    let s = sqlite(ReportWindow::default()).await;
    let long = "d".repeat(1 << 20);
    let err = s.authority.create_token(SA, VA, &long, 30, None).await.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("invalid description \"{}…\": description is 1048576 characters long; at most 256 are allowed", "d".repeat(40))),
        "names the field and the limit, shows only the start: {}",
        &err[..err.len().min(300)]
    );
    assert!(s.authority.tokens(SA, VA).await.unwrap().is_empty());
    let err = s.authority.create_token(SA, VA, "line\u{1b}[2J", 30, None).await.unwrap_err();
    assert!(err.to_string().contains("must not contain control characters"), "{err}");
    let (_, token) = s.authority.create_token(SA, VA, &"d".repeat(256), 30, None).await.unwrap();
    assert_eq!(token.description.len(), 256);

    let err = s.authority.create_va(SA, &long).await.unwrap_err().to_string();
    assert!(
        err.len() < 200 && err.contains("must be at most 100 characters"),
        "{}",
        &err[..err.len().min(300)]
    );
    s.authority.create_account("Other Corp", "other.com").await.unwrap();
    s.authority.create_va("other.com", "Main").await.unwrap();
    let spec = MoveSpec {
        account: SA.to_owned(),
        va: VA.to_owned(),
        target_account: "other.com".to_owned(),
        target_va: "Main".to_owned(),
        license: "network-advantage".to_owned(),
        quantity: 1,
        reason: long.clone(),
    };
    let err = s.authority.request_move(&spec).await.unwrap_err().to_string();
    assert!(
        err.contains("reason is 1048576 characters long; at most 1000 are allowed"),
        "{}",
        &err[..err.len().min(300)]
    );
    assert!(s.authority.move_requests(Some(SA)).await.unwrap().is_empty());
    s.finish().await;
}

#[tokio::test]
async fn a_bad_poll_id_is_named_with_what_it_should_be() {
    let s = sqlite(ReportWindow::default()).await;
    for given in [json!("-5"), json!("x1")] {
        let response = s
            .http
            .post(format!("{}{BASE}/v2/accounts/poll", s.base))
            .bearer_auth(&s.bearer)
            .json(&json!({"data": {"poll_id": given, "action": "acknowledgements"}}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        let message = body["message"].as_str().unwrap_or_default();
        assert!(status == 400 || status == 422, "{status} {body}");
        assert!(
            message.contains(&format!("data.poll_id: must be a whole number ≥ 0 (the poll_id a reportusage or authrequest answered with), got {given}")),
            "{message}"
        );
    }
    s.finish().await;
}
