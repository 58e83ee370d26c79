//! A UDI is scoped to its smart account (issue #16, defect 7): a client of another smart
//! account that reports a serial number first neither blocks, changes nor learns of the
//! genuine owner's product instance, by any path a device reaches the authority (usage file,
//! `reportusage`, smart transport with an ID token of the owner's virtual account), and the
//! owner learns nothing of the squatter. Over a real socket, on SQLite and, when
//! `SLP_TEST_POSTGRES_URL` is set, on PostgreSQL (a schema of its own).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

use std::sync::Arc;

use crate::support::{Device, Postgres, pool};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use slp_authority::*;
use slp_clock::VirtualClock;
use slp_store::Store;
use slp_wire::docs::RumAck;
use slp_wire::online::{self, MessageType};
use slp_wire::rum::Sudi;
use slp_wire::xml::{Document, Kind};

/// The genuine owner's smart and virtual account.
const SA: &str = "example.com";
const VA: &str = "Lab";
/// The squatter's.
const RIVAL: &str = "rival.com";
const SQUAT: &str = "Squat";
const BASE: &str = "/services/api/smart-accounts-and-licensing";
/// The authority's clock: 2026-11-15T11:00:00Z.
const NOW: i64 = 1_794_740_400;

/// An authority with both accounts (10 network-advantage each), served on a real socket, with
/// a reporting client of each.
struct Served {
    authority: Arc<Authority>,
    base: String,
    http: reqwest::Client,
    /// Bearer token of (SA, RIVAL)'s reporting client.
    bearers: (String, String),
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
    postgres: Option<Postgres>,
}

async fn serve_on(store: Store, dir: tempfile::TempDir) -> Served {
    let clock = Arc::new(VirtualClock::frozen(DateTime::<Utc>::from_timestamp(NOW, 0).unwrap()));
    let authority = Arc::new(Authority::open(store, clock).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(authority.clone(), listener, None, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let mut bearers = Vec::new();
    for (name, domain, va) in [("Example Corp", SA, VA), ("Rival Inc", RIVAL, SQUAT)] {
        authority.create_account(name, domain).await.unwrap();
        authority.create_va(domain, va).await.unwrap();
        authority
            .add_license(domain, va, &pool("network-advantage", "C9300-NW-A", 10))
            .await
            .unwrap();
        let (credentials, _) =
            authority.create_client(domain, "relay", Role::Reporter).await.unwrap();
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
        bearers.push(token["access_token"].as_str().unwrap().to_owned());
    }
    let bearers = (bearers[0].clone(), bearers[1].clone());
    Served { authority, base, http, bearers, stop: Some(stop), _dir: dir, postgres: None }
}

async fn sqlite() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    serve_on(store, dir).await
}

async fn postgres(name: &str) -> Option<Served> {
    let (store, pg) = Postgres::store(&format!("scope_{name}")).await?;
    let mut served = serve_on(store, tempfile::tempdir().unwrap()).await;
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

    /// The product instances of a virtual account: (key id, reported counts).
    async fn holdings(&self, account: &str, va: &str) -> Vec<(String, Vec<i64>)> {
        let pis = self.authority.product_instances(account, va).await.unwrap();
        pis.into_iter().map(|p| (p.key_id, p.usage.iter().map(|u| u.reported).collect())).collect()
    }

    /// Everything a client of `account` can read of it: instances, uploads, pool, log.
    async fn view(&self, account: &str, va: &str) -> String {
        let pis = self.authority.product_instances(account, va).await.unwrap();
        let uploads = self.authority.uploads(account, va).await.unwrap();
        let pool = self.authority.licenses(account, va).await.unwrap();
        let events = self.authority.events(account, None, None).await.unwrap();
        format!("{pis:?}\n{uploads:?}\n{pool:?}\n{events:?}")
    }

    /// `POST reportusage` of one entry as the client of `account`, then its poll: the
    /// statuses of the ACK's reports, and all the text the client got back.
    async fn report_usage(&self, account: &str, va: &str, entry: Value) -> (Vec<String>, String) {
        let bearer = if account == SA { &self.bearers.0 } else { &self.bearers.1 };
        let body = json!({"data": {"timestamp": NOW * 1000, "nonce": "n", "reports": [entry]}});
        let reply: Value = self
            .http
            .post(format!("{}{BASE}/v2/devices/reportusage", self.base))
            .bearer_auth(bearer)
            .header("X-CSW-SMART-ACCOUNT-ID", account)
            .header("X-CSW-VIRTUAL-ACCOUNT-ID", va)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(reply["status"], "OK_POLL", "{reply}");
        let poll = json!({"data": {"poll_id": reply["poll_id"], "action": "acknowledgements"}});
        let result: Value = self
            .http
            .post(format!("{}{BASE}/v2/accounts/poll", self.base))
            .bearer_auth(bearer)
            .json(&poll)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let encoded = result["data"]["acknowledgements"][0]["smart_license"].as_str().unwrap();
        let ack = String::from_utf8(BASE64.decode(encoded).unwrap()).unwrap();
        (self.statuses(&ack), format!("{reply}\n{result}\n{ack}"))
    }

    /// The statuses of the reports an ACK document acknowledges.
    fn statuses(&self, ack: &str) -> Vec<String> {
        let doc = Document::parse(ack).unwrap();
        let item = doc.of(Kind::RumAck).next().unwrap();
        item.verify(&self.authority.public_key(), "ACK").unwrap();
        let ack: RumAck = item.json().unwrap();
        ack.reports.into_iter().map(|r| r.status).collect()
    }

    /// A device message to `/licservice/license`.
    async fn smart(
        &self,
        device: &Device,
        kind: MessageType,
        data: online::Data,
    ) -> online::Response {
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
        response.json().await.unwrap()
    }

    /// Trust over smart transport with an ID token of (account, va) (`force`: the device
    /// trusted by its file already), then one report.
    async fn smart_trust_and_report(
        &self,
        device: &Device,
        account: &str,
        va: &str,
        report: String,
    ) -> (Vec<String>, String) {
        let (token, _) =
            self.authority.create_token(account, va, "one", 30, Some(1)).await.unwrap();
        let document = Document {
            reports: Vec::new(),
            items: vec![device.system_info(), device.trust_request()],
        }
        .to_xml();
        let data = online::Data {
            smart_license: Some(document),
            id_token: Some(token),
            force: true,
            ..online::Data::default()
        };
        let trusted = self.smart(device, MessageType::TrustRequest, data).await;
        assert_eq!(trusted.status, online::Status::Ok, "{trusted:?}");
        let document =
            Document { reports: vec![report], items: vec![device.system_info()] }.to_xml();
        let data = online::Data { smart_license: Some(document), ..online::Data::default() };
        let reply = self.smart(device, MessageType::Usage, data).await;
        assert_eq!(reply.status, online::Status::Ok, "{reply:?}");
        let ack = reply.smart_license.clone().unwrap();
        (self.statuses(&ack), format!("{trusted:?}\n{reply:?}"))
    }
}

fn assert_silent_about(text: &str, secrets: &[&str], whom: &str) {
    for secret in secrets {
        assert!(!text.contains(secret), "{secret:?} revealed to {whom}: {text}");
    }
}

/// The squatter reports FOC1 first, by each path; the owner's reports of FOC1, with the same
/// report ids, are then accepted and counted in its own account by each path, and each side's
/// usage stays its own; neither is told anything of the other.
async fn a_squatted_serial_blocks_nothing(s: Served) {
    let (squatter, genuine) = (
        Device::new("FOC1").named("sw").at(NOW * 1000),
        Device::new("FOC1").named("sw").at(NOW * 1000),
    );
    let squatter_says = [RIVAL, "Rival", SQUAT, &squatter.key.key_id()];
    let owner_says = [SA, "Example", "\"Lab\"", &genuine.key.key_id()];

    // The squatter: report 1 by file, 2 by reportusage, 3 over smart transport (its own token).
    let upload = |device: &Device, account: &str, va: &str, report: String| {
        let file = device.usage_file(&[report]);
        let (authority, account, va) = (s.authority.clone(), account.to_owned(), va.to_owned());
        async move { authority.upload(&account, &va, "u.txt", &file).await.unwrap() }
    };
    let first =
        upload(&squatter, RIVAL, SQUAT, squatter.report(1, "network-advantage", 5, NOW - 600))
            .await;
    assert_eq!(first.accepted, 1);
    let (statuses, rival_text) = s
        .report_usage(
            RIVAL,
            SQUAT,
            squatter.usage_entry(&[squatter.report(2, "network-advantage", 6, NOW - 500)]),
        )
        .await;
    assert_eq!(statuses, ["ACCEPTED"]);
    let (statuses, rival_smart) = s
        .smart_trust_and_report(
            &squatter,
            RIVAL,
            SQUAT,
            squatter.report(3, "network-advantage", 7, NOW - 400),
        )
        .await;
    assert_eq!(statuses, ["ACCEPTED"]);
    let before = s.view(SA, VA).await;
    assert_silent_about(&before, &squatter_says, "the owner, by the squatter's uploads");

    // The owner: the same report ids, by the same three paths, each ACCEPTED in its account.
    let mine = upload(&genuine, SA, VA, genuine.report(1, "network-advantage", 1, NOW - 600)).await;
    assert_eq!((mine.accepted, mine.duplicate), (1, 0), "{}", mine.ack);
    assert_eq!(s.holdings(SA, VA).await, [(genuine.key.key_id(), vec![1])]);
    let (statuses, owner_text) = s
        .report_usage(
            SA,
            VA,
            genuine.usage_entry(&[genuine.report(2, "network-advantage", 2, NOW - 500)]),
        )
        .await;
    assert_eq!(statuses, ["ACCEPTED"]);
    assert_eq!(s.holdings(SA, VA).await, [(genuine.key.key_id(), vec![2])]);
    let (statuses, owner_smart) = s
        .smart_trust_and_report(
            &genuine,
            SA,
            VA,
            genuine.report(3, "network-advantage", 3, NOW - 400),
        )
        .await;
    assert_eq!(statuses, ["ACCEPTED"]);
    assert_eq!(s.holdings(SA, VA).await, [(genuine.key.key_id(), vec![3])], "counted in A");
    assert_eq!(s.holdings(RIVAL, SQUAT).await, [(squatter.key.key_id(), vec![7])], "B's own");

    // The squatter goes on reporting over smart transport: its usage stays in its account.
    let document = Document {
        reports: vec![squatter.report(4, "network-advantage", 9, NOW - 300)],
        items: vec![squatter.system_info()],
    }
    .to_xml();
    let data = online::Data { smart_license: Some(document), ..online::Data::default() };
    let reply = s.smart(&squatter, MessageType::Usage, data).await;
    assert_eq!(reply.status, online::Status::Ok, "{reply:?}");
    assert_eq!(s.holdings(RIVAL, SQUAT).await, [(squatter.key.key_id(), vec![9])]);
    assert_eq!(s.holdings(SA, VA).await, [(genuine.key.key_id(), vec![3])], "A unchanged");

    // A device whose key no account trusts gets no answer about either.
    let stranger = Device::new("FOC1").named("sw").at(NOW * 1000);
    let document = Document {
        reports: vec![stranger.report(5, "network-advantage", 1, NOW - 200)],
        items: vec![stranger.system_info()],
    }
    .to_xml();
    let data = online::Data { smart_license: Some(document), ..online::Data::default() };
    let (a, b) = (s.view(SA, VA).await, s.view(RIVAL, SQUAT).await);
    let refused = s.smart(&stranger, MessageType::Usage, data).await;
    assert_eq!(refused.status, online::Status::Error, "{refused:?}");
    let message = refused.message.clone().unwrap_or_default();
    assert!(message.contains("no trust is established"), "{message}");
    let mut everyone = squatter_says.to_vec();
    everyone.extend(owner_says);
    assert_silent_about(&message, &everyone, "a stranger");
    assert_eq!((s.view(SA, VA).await, s.view(RIVAL, SQUAT).await), (a, b), "nothing changed");

    // Nothing either side was told or can read names the other.
    let owners = format!("{}\n{owner_text}\n{owner_smart}\n{}", mine.ack, s.view(SA, VA).await);
    assert_silent_about(&owners, &squatter_says, "the owner");
    let rivals =
        format!("{}\n{rival_text}\n{rival_smart}\n{}", first.ack, s.view(RIVAL, SQUAT).await);
    assert_silent_about(&rivals, &owner_says, "the squatter");

    // The operator sees both holders.
    let mut holders: Vec<String> = s
        .authority
        .find_udi("PID:C9300-24UX,SN:FOC1")
        .await
        .unwrap()
        .into_iter()
        .map(|at| format!("{} {} {}", at.domain, at.virtual_account, at.key_id))
        .collect();
    holders.sort();
    assert_eq!(
        holders,
        [
            format!("{SA} {VA} {}", genuine.key.key_id()),
            format!("{RIVAL} {SQUAT} {}", squatter.key.key_id())
        ]
    );
    s.finish().await;
}

#[tokio::test]
async fn a_squatted_serial_blocks_nothing_on_sqlite() {
    a_squatted_serial_blocks_nothing(sqlite().await).await;
}

#[tokio::test]
async fn a_squatted_serial_blocks_nothing_on_postgres() {
    let Some(s) = postgres("squat").await else { return };
    a_squatted_serial_blocks_nothing(s).await;
}
