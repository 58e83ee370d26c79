//! The authority service against device-like documents built with slp-wire, on SQLite in a
//! temp dir and a virtual clock.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use slp_authority::*;
use slp_clock::VirtualClock;
use slp_core::license::{self, Enforcement, Term};
use slp_core::policy::PolicyOrigin;
use slp_core::udi::Udi;
use slp_store::Store;
use slp_wire::docs::{
    self, AuthRequestItem, AuthReturn, Authorization, DeviceEntry, Key, PolicyDoc, RumAck,
    SystemInfo, TrustCode, TrustRequest,
};
use slp_wire::keys::KeyPair;
use slp_wire::rum::{self, HaUdi, Measurement, ReportInput, Sudi};
use slp_wire::xml::{Document, Kind, Signed};

const SA: &str = "example.com";
const VA: &str = "Lab";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn tag(feature: &str) -> &'static str {
    license::lookup(feature).unwrap().entitlement_tag
}

struct Fixture {
    _dir: tempfile::TempDir,
    clock: Arc<VirtualClock>,
    authority: Authority,
}

/// Example Corp / Lab with 10 network-advantage, 1 dna-advantage (until 2027-11-01) and 2 hseck9.
async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    fixture_on(store, dir).await
}

async fn fixture_on(store: Store, dir: tempfile::TempDir) -> Fixture {
    let clock = Arc::new(VirtualClock::frozen(at("2026-11-15T10:00:00Z")));
    let authority = Authority::open(store, clock.clone()).await.unwrap();
    authority.create_account("Example Corp", SA).await.unwrap();
    authority.create_va(SA, VA).await.unwrap();
    let add = |tag: &str, sku: &str, quantity, expires: Option<&str>| LicenseSpec {
        tag: tag.to_owned(),
        sku: sku.to_owned(),
        quantity,
        term: None,
        enforcement: None,
        expires: expires.map(|d| d.parse().unwrap()),
    };
    for spec in [
        add("network-advantage", "C9300-NW-A", 10, None),
        add("dna-advantage", "C9300-DNA-A", 1, Some("2027-11-01")),
        add("hseck9", "C9K-HSEC", 2, None),
    ] {
        authority.add_license(SA, VA, &spec).await.unwrap();
    }
    Fixture { _dir: dir, clock, authority }
}

/// A product instance as the authority sees it: a key, a UDI, HA units.
struct Device {
    key: KeyPair,
    udi: Udi,
    hostname: Option<String>,
    others: Vec<(Udi, &'static str)>,
}

impl Device {
    fn new(sn: &str) -> Device {
        Device {
            key: KeyPair::generate(),
            udi: Udi::new("C9300-24UX", sn).unwrap(),
            hostname: Some(format!("sw-{sn}")),
            others: Vec::new(),
        }
    }

    fn udi(&self) -> String {
        self.udi.to_string()
    }

    fn units(&self) -> Vec<Udi> {
        let mut all = vec![self.udi.clone()];
        all.extend(self.others.iter().map(|(u, _)| u.clone()));
        all
    }

    fn system_info(&self) -> Signed {
        let mut device_list = vec![DeviceEntry {
            sudi: Sudi::of(&self.udi),
            role: "Active".to_owned(),
            software_tag_identifier: "regid.sw".to_owned(),
            hostname: None,
        }];
        for (udi, role) in &self.others {
            device_list.push(DeviceEntry {
                sudi: Sudi::of(udi),
                role: (*role).to_owned(),
                software_tag_identifier: "regid.sw".to_owned(),
                hostname: None,
            });
        }
        let info = SystemInfo {
            sudi: Sudi::of(&self.udi),
            timestamp: 0,
            nonce: "n".to_owned(),
            hostname: self.hostname.clone(),
            software_tag_identifier: "regid.sw".to_owned(),
            software_version: None,
            public_key: self.key.public_b64(),
            device_list,
        };
        docs::sign_json(Kind::SystemInfo, &info, &self.key)
    }

    fn report(&self, id: u64, feature: &str, count: u64, end: i64) -> String {
        self.report_span(id, feature, count, end - 3600, end)
    }

    fn report_span(&self, id: u64, feature: &str, count: u64, start: i64, end: i64) -> String {
        rum::sign_report(
            &ReportInput {
                report_id: id,
                udi: self.udi.clone(),
                software_tag: "regid.sw".to_owned(),
                entitlement_tag: tag(feature).to_owned(),
                software_version: None,
                ha_udi: vec![HaUdi { role: "Active".to_owned(), sudi: Sudi::of(&self.udi) }],
                measurements: vec![Measurement {
                    log_time: end,
                    start_time: start,
                    end_time: end,
                    count,
                    termination_reason: None,
                }],
            },
            &self.key,
        )
    }

    fn trust_request(&self, udi: &Udi) -> Signed {
        let request = TrustRequest {
            sudi: Sudi::of(udi),
            public_key: self.key.public_b64(),
            nonce: "n".to_owned(),
            timestamp: "2026-11-15T10:00:00Z".to_owned(),
        };
        docs::sign_json(Kind::TrustRequest, &request, &self.key)
    }

    /// `license smart save usage all file …`: reports, system info, trust requests if asked.
    fn usage_file(&self, reports: Vec<String>, with_trust: bool) -> Vec<u8> {
        let mut items = vec![self.system_info()];
        if with_trust {
            items.extend(self.units().iter().map(|u| self.trust_request(u)));
        }
        Document { reports, items }.to_xml().into_bytes()
    }

    fn auth_request(&self, feature: &str, count: u64, replace: bool) -> Vec<u8> {
        let items = vec![AuthRequestItem {
            replace,
            ..AuthRequestItem::new(
                Sudi::of(&self.udi),
                vec![Key { entitlement: tag(feature).to_owned(), count }],
            )
        }];
        let doc = Document {
            reports: Vec::new(),
            items: vec![self.system_info(), docs::sign_json(Kind::AuthRequest, &items, &self.key)],
        };
        doc.to_xml().into_bytes()
    }

    fn auth_return(&self, code_id: &str, return_code: &str) -> Vec<u8> {
        let ret = AuthReturn {
            sudi: Sudi::of(&self.udi),
            code_id: code_id.to_owned(),
            return_code: return_code.to_owned(),
            timestamp: "2026-11-15T10:00:00Z".to_owned(),
        };
        let doc = Document {
            reports: Vec::new(),
            items: vec![self.system_info(), docs::sign_json(Kind::AuthReturn, &ret, &self.key)],
        };
        doc.to_xml().into_bytes()
    }
}

fn items<T: serde::de::DeserializeOwned>(ack: &str, kind: Kind, authority_key: &str) -> Vec<T> {
    let doc = Document::parse(ack).unwrap();
    doc.of(kind)
        .map(|item| {
            item.verify(authority_key, "test").unwrap();
            item.json().unwrap()
        })
        .collect()
}

async fn row(f: &Fixture, feature: &str) -> LicenseView {
    f.authority
        .licenses(SA, VA)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.license == feature)
        .unwrap_or_else(|| panic!("no {feature} row"))
}

const T: i64 = 1_794_736_800; // 2026-11-15T09:20:00Z, before the clock

#[tokio::test]
async fn upload_is_acknowledged_with_trust_codes_and_counts_usage() {
    let f = fixture().await;
    let sw1 = Device::new("FOC1");
    let file = sw1.usage_file(
        vec![sw1.report(100, "network-advantage", 1, T), sw1.report(101, "dna-advantage", 1, T)],
        true,
    );
    let outcome = f.authority.upload(SA, VA, "all_rum.txt", &file).await.unwrap();
    assert_eq!((outcome.accepted, outcome.duplicate, outcome.trust_codes), (2, 0, 1));
    assert!(!outcome.replayed && !outcome.policy);

    let key = f.authority.public_key();
    let acks: Vec<RumAck> = items(&outcome.ack, Kind::RumAck, &key);
    assert_eq!(acks.len(), 1);
    let ack = &acks[0];
    assert_eq!(ack.sudi, Sudi::of(&sw1.udi));
    assert_eq!((ack.smart_account.as_str(), ack.virtual_account.as_str()), ("Example Corp", "Lab"));
    assert_eq!(ack.issued_at, "2026-11-15T10:00:00Z");
    assert_eq!(ack.authority_key, key);
    let statuses: Vec<(u64, &str)> =
        ack.reports.iter().map(|r| (r.report_id, r.status.as_str())).collect();
    assert_eq!(statuses, [(100, "ACCEPTED"), (101, "ACCEPTED")]);
    let codes: Vec<TrustCode> = items(&outcome.ack, Kind::TrustCode, &key);
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0].sudi, Sudi::of(&sw1.udi));
    assert_eq!(codes[0].public_key, sw1.key.public_b64());
    assert_eq!(codes[0].virtual_account, "Lab");
    assert_eq!(Document::parse(&outcome.ack).unwrap().of(Kind::Policy).count(), 0);
    // A tampered ACK no longer verifies.
    let doc = Document::parse(&outcome.ack).unwrap();
    let mut forged = doc.of(Kind::RumAck).next().unwrap().clone();
    forged.data = forged.data.replace("ACCEPTED", "REJECTED");
    assert!(forged.verify(&key, "ACK").is_err());

    let na = row(&f, "network-advantage").await;
    assert_eq!((na.purchased, na.in_use, na.balance, na.reserved), (10, 1, 9, 0));
    assert_eq!((na.license_type.as_str(), na.alert.as_deref()), ("Perpetual", None));
    let dna = row(&f, "dna-advantage").await;
    assert_eq!((dna.purchased, dna.in_use, dna.balance), (1, 1, 0));
    assert_eq!(dna.expires.as_deref(), Some("2027-11-01"));

    let pis = f.authority.product_instances(SA, VA).await.unwrap();
    assert_eq!(pis.len(), 1);
    assert_eq!(pis[0].udi, sw1.udi());
    assert_eq!(pis[0].hostname.as_deref(), Some("sw-FOC1"));
    assert_eq!(pis[0].key_id, sw1.key.key_id());
    assert_eq!(pis[0].trust_id, Some(i64::try_from(codes[0].trust_id).unwrap()));
    assert_eq!(pis[0].usage.len(), 2);

    let uploads = f.authority.uploads(SA, VA).await.unwrap();
    assert_eq!(uploads.len(), 1);
    assert_eq!(
        (uploads[0].file_name.as_str(), uploads[0].status.as_str(), uploads[0].reports),
        ("all_rum.txt", "Processed", 2)
    );
    let events = f.authority.events(SA, Some(VA), None).await.unwrap();
    assert!(events.iter().any(|e| e.message.contains("registered")), "{events:?}");
    assert!(events.iter().any(|e| e.message.contains("trust code")), "{events:?}");
}

#[tokio::test]
async fn reupload_is_idempotent_and_usage_follows_the_latest_report() {
    let f = fixture().await;
    let sw1 = Device::new("FOC1");
    let file = sw1.usage_file(vec![sw1.report(100, "dna-advantage", 1, T)], true);
    let first = f.authority.upload(SA, VA, "u.txt", &file).await.unwrap();
    f.clock.advance(Duration::hours(1));
    let second = f.authority.upload(SA, VA, "u.txt", &file).await.unwrap();
    assert!(second.replayed);
    assert_eq!(first.ack, second.ack, "the same file gets the byte-identical ACK");
    assert_eq!(f.authority.uploads(SA, VA).await.unwrap().len(), 1);
    assert_eq!(row(&f, "dna-advantage").await.in_use, 1, "not doubled");

    // A new file repeating report 100 plus a later one: 100 is DUPLICATE, usage = latest count.
    let file = sw1.usage_file(
        vec![sw1.report(100, "dna-advantage", 1, T), sw1.report(102, "dna-advantage", 3, T + 900)],
        false,
    );
    let outcome = f.authority.upload(SA, VA, "u2.txt", &file).await.unwrap();
    assert_eq!((outcome.accepted, outcome.duplicate, outcome.trust_codes), (1, 1, 0));
    let ack: Vec<RumAck> = items(&outcome.ack, Kind::RumAck, &f.authority.public_key());
    let statuses: Vec<&str> = ack[0].reports.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["DUPLICATE", "ACCEPTED"]);
    let dna = row(&f, "dna-advantage").await;
    assert_eq!((dna.in_use, dna.balance), (3, -2));
    assert_eq!(dna.alert.as_deref(), Some("Insufficient Licenses"));

    // An older report arriving late does not move usage back.
    let file = sw1.usage_file(vec![sw1.report(101, "dna-advantage", 1, T + 100)], false);
    f.authority.upload(SA, VA, "late.txt", &file).await.unwrap();
    assert_eq!(row(&f, "dna-advantage").await.in_use, 3);
}

#[tokio::test]
async fn a_license_whose_chain_ended_is_no_longer_in_use() {
    let f = fixture().await;
    let sw1 = Device::new("FOC1");
    // Booted at network-essentials, reloaded at T0 into network-advantage, saved at T0 + 1 day:
    // the essentials chain ends at the reload and is not continued.
    let t0 = T - 86_400;
    let file = sw1.usage_file(
        vec![
            sw1.report_span(1, "network-essentials", 1, t0 - 60, t0),
            sw1.report_span(2, "network-advantage", 1, t0, T),
        ],
        true,
    );
    f.authority.upload(SA, VA, "u.txt", &file).await.unwrap();
    let licenses = f.authority.licenses(SA, VA).await.unwrap();
    assert!(licenses.iter().all(|l| l.license != "network-essentials"), "{licenses:?}");
    assert_eq!(row(&f, "network-advantage").await.in_use, 1);
    let pis = f.authority.product_instances(SA, VA).await.unwrap();
    let ne = pis[0].usage.iter().find(|u| u.license == "network-essentials").unwrap();
    assert_eq!((ne.count, ne.reported), (0, 1));
}

#[tokio::test]
async fn pool_sums_instances_and_raises_alerts() {
    let f = fixture().await;
    for sn in ["FOC1", "FOC2"] {
        let dev = Device::new(sn);
        let file = dev.usage_file(
            vec![dev.report(1, "dna-advantage", 1, T), dev.report(2, "network-essentials", 1, T)],
            false,
        );
        f.authority.upload(SA, VA, "u.txt", &file).await.unwrap();
    }
    let dna = row(&f, "dna-advantage").await;
    assert_eq!((dna.purchased, dna.in_use, dna.balance), (1, 2, -1));
    assert_eq!(dna.alert.as_deref(), Some("Insufficient Licenses"));
    let ne = row(&f, "network-essentials").await;
    assert_eq!((ne.purchased, ne.in_use, ne.balance, ne.sku.as_str()), (0, 2, -2, ""));
    assert_eq!(ne.alert.as_deref(), Some("Insufficient Licenses"));
    let na = row(&f, "network-advantage").await;
    assert_eq!((na.in_use, na.alert), (0, None));

    // Within 90 days of the subscription's end: Expiring (with no over-use).
    let f = fixture().await;
    f.clock.set(at("2027-09-01T00:00:00Z"));
    assert_eq!(row(&f, "dna-advantage").await.alert.as_deref(), Some("Expiring"));
    // After it: nothing purchased any more.
    f.clock.set(at("2027-11-02T00:00:00Z"));
    assert_eq!(row(&f, "dna-advantage").await.purchased, 0);
}

#[tokio::test]
async fn tampered_report_rejects_the_whole_upload() {
    let f = fixture().await;
    let sw1 = Device::new("FOC1");
    let good = sw1.report(100, "network-advantage", 1, T);
    let bad =
        sw1.report(101, "dna-advantage", 1, T).replace(r#"\"value\":\"1\""#, r#"\"value\":\"0\""#);
    let file = sw1.usage_file(vec![good, bad], true);
    let err = f.authority.upload(SA, VA, "tampered.txt", &file).await.unwrap_err();
    assert!(matches!(err, AuthorityError::Report { report_id: 101, .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("PID:C9300-24UX,SN:FOC1") && text.contains("101"), "{text}");
    assert!(text.contains("tampered.txt"), "{text}");
    assert!(f.authority.product_instances(SA, VA).await.unwrap().is_empty());
    assert!(f.authority.uploads(SA, VA).await.unwrap().is_empty());
    assert_eq!(row(&f, "network-advantage").await.in_use, 0);

    // A report signed by another key than the system information's is refused too.
    let intruder = Device { key: KeyPair::generate(), ..Device::new("FOC1") };
    let file = sw1.usage_file(vec![intruder.report(102, "network-advantage", 5, T)], false);
    let err = f.authority.upload(SA, VA, "x.txt", &file).await.unwrap_err();
    assert!(matches!(err, AuthorityError::Report { report_id: 102, .. }), "{err}");
}

#[tokio::test]
async fn malformed_and_foreign_files_are_refused() {
    let f = fixture().await;
    let err =
        f.authority.upload(SA, VA, "broken.txt", b"<smartLicense><RUMReport>").await.unwrap_err();
    assert!(matches!(err, AuthorityError::Wire { .. }), "{err}");
    assert!(err.to_string().contains("broken.txt") && err.to_string().contains("XML"), "{err}");
    let err = f
        .authority
        .upload(SA, VA, "empty.txt", b"<smartLicense></smartLicense>")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no RUM reports"), "{err}");
    let err = f.authority.upload(SA, VA, "bin.txt", &[0xff, 0xfe]).await.unwrap_err();
    assert!(err.to_string().contains("UTF-8"), "{err}");

    // An ACK is not an upload.
    let sw1 = Device::new("FOC1");
    let ack = f
        .authority
        .upload(
            SA,
            VA,
            "u.txt",
            &sw1.usage_file(vec![sw1.report(1, "network-advantage", 1, T)], false),
        )
        .await
        .unwrap()
        .ack;
    let err = f.authority.upload(SA, VA, "ack.txt", ack.as_bytes()).await.unwrap_err();
    assert!(err.to_string().contains("smartLicenseRumAck"), "{err}");

    // A system information block whose signature does not match its key.
    let mut doc =
        Document::parse(&String::from_utf8(sw1.usage_file(vec![], true)).unwrap()).unwrap();
    doc.items[0].data = doc.items[0].data.replace("sw-FOC1", "evil");
    let err = f.authority.upload(SA, VA, "forged.txt", doc.to_xml().as_bytes()).await.unwrap_err();
    assert!(err.to_string().contains("system information of PID:C9300-24UX,SN:FOC1"), "{err}");
}

#[tokio::test]
async fn unknown_account_or_va_is_named() {
    let f = fixture().await;
    let sw1 = Device::new("FOC1");
    let file = sw1.usage_file(vec![sw1.report(1, "network-advantage", 1, T)], true);
    let err = f.authority.upload("nosuch.com", VA, "u.txt", &file).await.unwrap_err();
    assert_eq!(err.to_string(), r#"smart account "nosuch.com" not found"#);
    let err = f.authority.upload(SA, "Nope", "u.txt", &file).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"virtual account "Nope" not found in smart account "example.com""#
    );
    assert!(f.authority.licenses(SA, "Nope").await.is_err());
    // The account can be named by its name as well as its domain.
    assert_eq!(f.authority.licenses("Example Corp", VA).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_udi_lives_in_one_virtual_account() {
    let f = fixture().await;
    f.authority.create_va(SA, "Other").await.unwrap();
    let sw1 = Device::new("FOC1");
    let file = sw1.usage_file(vec![sw1.report(1, "network-advantage", 1, T)], true);
    f.authority.upload(SA, VA, "u.txt", &file).await.unwrap();
    let file = sw1.usage_file(vec![sw1.report(2, "network-advantage", 1, T)], false);
    let err = f.authority.upload(SA, "Other", "u.txt", &file).await.unwrap_err();
    assert!(matches!(err, AuthorityError::UdiElsewhere { .. }), "{err}");
    assert!(
        err.to_string().contains("PID:C9300-24UX,SN:FOC1") && err.to_string().contains("\"Lab\""),
        "{err}"
    );
    assert!(f.authority.product_instances(SA, "Other").await.unwrap().is_empty());
}

/// Runs `scenario` on SQLite, and on PostgreSQL in a schema of its own when
/// `SLP_TEST_POSTGRES_URL` is set.
async fn on_both<F, Fut>(name: &str, scenario: F)
where
    F: Fn(Fixture) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    scenario(fixture().await).await;
    use sqlx::Executor;
    let Some(url) = std::env::var("SLP_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SLP_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
        return;
    };
    let schema = format!("slp_authority_{name}_{}", std::process::id());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&url).await.unwrap();
    admin.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await.unwrap();
    let options = slp_store::ConnectOptions { schema: Some(schema.clone()) };
    let store = Store::connect(&url, &options).await.unwrap();
    let f = fixture_on(store.clone(), tempfile::tempdir().unwrap()).await;
    scenario(f).await;
    store.close().await;
    admin.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await.unwrap();
}

/// The state a refused binding must leave alone: product instances (key, trust), usage, the
/// activity log, the upload records.
async fn snapshot(f: &Fixture) -> String {
    let pis = f.authority.product_instances(SA, VA).await.unwrap();
    let events = f.authority.events(SA, Some(VA), None).await.unwrap();
    let uploads = f.authority.uploads(SA, VA).await.unwrap();
    format!("{pis:?}\n{events:?}\n{uploads:?}")
}

/// Defect 1 by file: a trust request from a new key for a bound UDI is refused without proof,
/// naming the UDI, the bound and the offered key and the ways forward; nothing changes. An
/// operator's grant lets exactly that key re-bind once (logged with who granted it); an ID token
/// of the virtual account re-binds (logged); a token of another virtual account does not.
#[tokio::test]
async fn a_new_key_for_a_bound_udi_needs_a_token_or_an_operator_grant() {
    on_both("rebind", |f| async move {
        f.authority.create_va(SA, "Other").await.unwrap();
        let old = Device::new("FOC1");
        let file = old.usage_file(vec![old.report(1, "network-advantage", 1, T)], true);
        let outcome = f.authority.upload(SA, VA, "u.txt", &file).await.unwrap();
        let first: Vec<TrustCode> = items(&outcome.ack, Kind::TrustCode, &f.authority.public_key());
        let before = snapshot(&f).await;

        // Same UDI, another key, no trust request: refused as before.
        let new = Device::new("FOC1");
        let file = new.usage_file(vec![new.report(2, "network-advantage", 2, T + 60)], false);
        let err = f.authority.upload(SA, VA, "u2.txt", &file).await.unwrap_err();
        assert!(matches!(err, AuthorityError::KeyMismatch { .. }), "{err}");

        // With a bare trust request from the new key: the take-over is refused too.
        let attack = new.usage_file(vec![new.report(2, "network-advantage", 2, T + 60)], true);
        let err = f.authority.upload(SA, VA, "u3.txt", &attack).await.unwrap_err();
        assert!(matches!(err, AuthorityError::BindRefused(_)), "{err}");
        let text = err.to_string();
        for part in [
            "PID:C9300-24UX,SN:FOC1",
            &old.key.key_id(),
            &new.key.key_id(),
            "ID token of virtual account \"Lab\"",
            &format!("slp authority pi rebind --account {SA} --va {VA} --udi PID:C9300-24UX,SN:FOC1 --key {}", new.key.key_id()),
        ] {
            assert!(text.contains(part), "{part:?} missing in {text}");
        }
        assert_eq!(snapshot(&f).await, before, "nothing changed");
        assert_eq!(row(&f, "network-advantage").await.in_use, 1);

        // A grant for another key does not help; one for the new key works once.
        let third = Device::new("FOC1");
        f.authority.grant_bind(SA, VA, &old.udi(), &third.key.key_id()).await.unwrap();
        let err = f.authority.upload(SA, VA, "u3.txt", &attack).await.unwrap_err();
        assert!(matches!(err, AuthorityError::BindRefused(_)), "{err}");
        let grant = f
            .authority
            .clone()
            .with_actor("cli:alice")
            .grant_bind(SA, VA, &old.udi(), &new.key.key_id().to_uppercase())
            .await
            .unwrap();
        assert_eq!(grant.replaces.as_deref(), Some(old.key.key_id().as_str()));
        let outcome = f.authority.upload(SA, VA, "u3.txt", &attack).await.unwrap();
        let codes: Vec<TrustCode> = items(&outcome.ack, Kind::TrustCode, &f.authority.public_key());
        assert_eq!(codes[0].public_key, new.key.public_b64());
        assert_ne!(codes[0].trust_id, first[0].trust_id, "a new key, a new trust code id");
        assert_eq!(row(&f, "network-advantage").await.in_use, 2);
        let pis = f.authority.product_instances(SA, VA).await.unwrap();
        assert_eq!(pis[0].key_id, new.key.key_id());
        let events = f.authority.events(SA, Some(VA), None).await.unwrap();
        assert!(
            events.iter().any(|e| e.message.contains("re-bound")
                && e.message.contains(&format!("allowed by cli:alice (grant {}", grant.id))),
            "{events:?}"
        );
        assert!(events.iter().any(|e| e.message.contains("allowed to bind")), "{events:?}");

        // The grant is used up: the old key cannot come back with it, nor a fourth key.
        let back = old.usage_file(vec![old.report(3, "network-advantage", 1, T + 120)], true);
        let err = f.authority.upload(SA, VA, "u4.txt", &back).await.unwrap_err();
        assert!(matches!(err, AuthorityError::BindRefused(_)), "{err}");

        // A token of another virtual account: refused (the UDI lives in Lab), nothing changes.
        let (other_token, _) = f.authority.create_token(SA, "Other", "o", 30, None).await.unwrap();
        let before = snapshot(&f).await;
        let doc = String::from_utf8(back.clone()).unwrap();
        let err =
            f.authority.trust_with_token(&other_token, &doc, &old.udi(), true).await.unwrap_err();
        assert!(matches!(err, AuthorityError::UdiElsewhere { .. }), "{err}");
        assert_eq!(snapshot(&f).await, before);

        // A token of Lab: the old key re-binds, logged with its proof.
        let (token, _) = f.authority.create_token(SA, VA, "replacement", 30, None).await.unwrap();
        f.authority.trust_with_token(&token, &doc, &old.udi(), true).await.unwrap();
        let pis = f.authority.product_instances(SA, VA).await.unwrap();
        assert_eq!(pis[0].key_id, old.key.key_id());
        let events = f.authority.events(SA, Some(VA), None).await.unwrap();
        assert!(
            events.iter().any(|e| e.message.contains("re-bound")
                && e.message.contains("proven by an ID token of virtual account \"Lab\"")),
            "{events:?}"
        );
    })
    .await;
}

/// First contact denied: a never-seen UDI is refused by file (naming the way forward) and
/// nothing is stored; an operator's grant or an ID token of the virtual account lets it bind.
#[tokio::test]
async fn first_contact_denied_needs_a_token_or_a_grant() {
    on_both("first_contact", |f| async move {
        let vas = f.authority.vas(SA).await.unwrap();
        assert_eq!(vas[0].first_contact, "allow", "trust on first use by default");
        f.authority.set_first_contact(SA, VA, slp_store::FirstContact::Deny).await.unwrap();
        assert_eq!(f.authority.vas(SA).await.unwrap()[0].first_contact, "deny");
        let before = snapshot(&f).await;

        let sw1 = Device::new("FOC1");
        let file = sw1.usage_file(vec![sw1.report(1, "network-advantage", 1, T)], true);
        let err = f.authority.upload(SA, VA, "u.txt", &file).await.unwrap_err();
        assert!(matches!(err, AuthorityError::FirstContactDenied(_)), "{err}");
        assert!(
            err.to_string().contains("PID:C9300-24UX,SN:FOC1")
                && err.to_string().contains(&sw1.key.key_id()),
            "{err}"
        );
        assert_eq!(snapshot(&f).await, before, "nothing changed");
        assert_eq!(row(&f, "network-advantage").await.in_use, 0);

        // An operator's grant: that key binds once.
        f.authority.grant_bind(SA, VA, &sw1.udi(), &sw1.key.key_id()).await.unwrap();
        f.authority.upload(SA, VA, "u.txt", &file).await.unwrap();
        assert_eq!(row(&f, "network-advantage").await.in_use, 1);

        // An ID token of the virtual account.
        let sw2 = Device::new("FOC2");
        let (token, _) = f.authority.create_token(SA, VA, "t", 30, None).await.unwrap();
        let doc = String::from_utf8(sw2.usage_file(Vec::new(), true)).unwrap();
        f.authority.trust_with_token(&token, &doc, &sw2.udi(), false).await.unwrap();
        assert_eq!(f.authority.product_instances(SA, VA).await.unwrap().len(), 2);

        // Back to allow: a third device binds on first contact.
        f.authority.set_first_contact(SA, VA, slp_store::FirstContact::Allow).await.unwrap();
        let sw3 = Device::new("FOC3");
        let file = sw3.usage_file(vec![sw3.report(1, "network-advantage", 1, T)], true);
        f.authority.upload(SA, VA, "u3.txt", &file).await.unwrap();
        assert_eq!(f.authority.product_instances(SA, VA).await.unwrap().len(), 3);
    })
    .await;
}

/// Defect 7: a client of another smart account registers a serial first. A UDI is scoped to
/// its smart account, so the genuine owner's upload is accepted and counted in its own
/// account, with the same report ids as the squatter's; the squatter's usage stays in its
/// account and never shows in the owner's lists; no answer or log of either names the other.
/// Within a smart account a UDI stays in one virtual account. The operator sees both.
#[tokio::test]
async fn a_udi_squatted_in_another_smart_account_blocks_nothing() {
    on_both("squat", |f| async move {
        f.authority.create_account("Rival Inc", "rival.com").await.unwrap();
        f.authority.create_va("rival.com", "Squat").await.unwrap();
        let squatter = Device::new("FOC1");
        let file = squatter.usage_file(vec![squatter.report(1, "network-advantage", 5, T)], true);
        let squatted = f.authority.upload("rival.com", "Squat", "s.txt", &file).await.unwrap();
        assert_eq!(squatted.accepted, 1);

        let genuine = Device::new("FOC1");
        let file = genuine.usage_file(vec![genuine.report(1, "network-advantage", 2, T)], true);
        let outcome = f.authority.upload(SA, VA, "g.txt", &file).await.unwrap();
        assert_eq!((outcome.accepted, outcome.duplicate), (1, 0), "same report id, own account");
        let mine = f.authority.product_instances(SA, VA).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].key_id, genuine.key.key_id());
        assert_eq!(
            mine[0].usage.iter().map(|u| u.reported).collect::<Vec<_>>(),
            [2],
            "the owner's count only"
        );
        let theirs = f.authority.product_instances("rival.com", "Squat").await.unwrap();
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0].key_id, squatter.key.key_id());
        assert_eq!(theirs[0].usage.iter().map(|u| u.reported).collect::<Vec<_>>(), [5]);

        // More of the squatter's usage stays in its account.
        let file =
            squatter.usage_file(vec![squatter.report(2, "network-advantage", 7, T + 60)], false);
        f.authority.upload("rival.com", "Squat", "s2.txt", &file).await.unwrap();
        let mine_after = f.authority.product_instances(SA, VA).await.unwrap();
        assert_eq!(mine_after, mine, "the squatter's report changes nothing of the owner's");

        // No answer or log of either names the other.
        let owners = format!("{}\n{}", outcome.ack, snapshot(&f).await);
        for secret in ["Rival", "rival.com", "Squat", &squatter.key.key_id()] {
            assert!(!owners.contains(secret), "{secret:?} revealed to the owner: {owners}");
        }
        let log = f.authority.events("rival.com", None, None).await.unwrap();
        let rivals = format!("{}\n{log:?}", squatted.ack);
        for secret in ["Example", "example.com", "\"Lab\"", &genuine.key.key_id()] {
            assert!(!rivals.contains(secret), "{secret:?} revealed to the squatter: {rivals}");
        }

        // Within one smart account the UDI stays in one virtual account.
        f.authority.create_va(SA, "Other").await.unwrap();
        let twin = Device::new("FOC1");
        let file = twin.usage_file(vec![twin.report(3, "network-advantage", 1, T)], true);
        let before = snapshot(&f).await;
        let err = f.authority.upload(SA, "Other", "t.txt", &file).await.unwrap_err();
        assert!(matches!(err, AuthorityError::UdiElsewhere { .. }), "{err}");
        assert!(err.to_string().contains("\"Lab\""), "{err}");
        assert_eq!(snapshot(&f).await, before, "nothing changed");

        // The operator sees every holder.
        let found = f.authority.find_udi(&genuine.udi()).await.unwrap();
        let mut holders: Vec<(&str, &str, &str)> = found
            .iter()
            .map(|at| (at.domain.as_str(), at.virtual_account.as_str(), at.key_id.as_str()))
            .collect();
        holders.sort_unstable();
        let (g, s) = (genuine.key.key_id(), squatter.key.key_id());
        assert_eq!(
            holders,
            [("example.com", "Lab", g.as_str()), ("rival.com", "Squat", s.as_str())]
        );
    })
    .await;
}

#[tokio::test]
async fn ha_set_gets_a_trust_code_per_unit_and_only_its_units_report() {
    let f = fixture().await;
    let mut stack = Device::new("FOC1");
    stack.others = vec![
        (Udi::new("C9300-24UX", "FOC2").unwrap(), "Standby"),
        (Udi::new("C9300-24UX", "FOC3").unwrap(), "Member"),
    ];
    let file = stack.usage_file(vec![stack.report(1, "network-advantage", 3, T)], true);
    let outcome = f.authority.upload(SA, VA, "u.txt", &file).await.unwrap();
    assert_eq!((outcome.trust_codes, outcome.product_instances), (3, 3));
    // Each unit its own trust code id, as its product instance records it.
    let codes: Vec<TrustCode> = items(&outcome.ack, Kind::TrustCode, &f.authority.public_key());
    let ids: BTreeSet<u64> = codes.iter().map(|code| code.trust_id).collect();
    assert_eq!(ids.len(), 3, "{codes:?}");
    for pi in f.authority.product_instances(SA, VA).await.unwrap() {
        let code = codes.iter().find(|c| c.sudi.udi().unwrap().to_string() == pi.udi).unwrap();
        assert_eq!(pi.trust_id, Some(i64::try_from(code.trust_id).unwrap()), "{}", pi.udi);
    }
    let acks: Vec<RumAck> = items(&outcome.ack, Kind::RumAck, &f.authority.public_key());
    assert_eq!(acks.len(), 1, "one ACK, for the active");
    assert_eq!(acks[0].sudi, Sudi::of(&stack.udi));
    assert_eq!(f.authority.product_instances(SA, VA).await.unwrap().len(), 3);

    let stranger = Device { key: stack.key.clone(), ..Device::new("FOC9") };
    let file = stack.usage_file(vec![stranger.report(5, "network-advantage", 1, T)], false);
    let err = f.authority.upload(SA, VA, "x.txt", &file).await.unwrap_err();
    assert!(err.to_string().contains("PID:C9300-24UX,SN:FOC9 is not a unit"), "{err}");
}

#[tokio::test]
async fn slac_reserves_keys_until_returned() {
    let f = fixture().await;
    let key = f.authority.public_key();
    let sw1 = Device::new("FOC1");
    let outcome = f
        .authority
        .upload(SA, VA, "slac.txt", &sw1.auth_request("hseck9", 1, false))
        .await
        .unwrap();
    assert_eq!(outcome.authorizations, 1);
    assert_eq!(
        Document::parse(&outcome.ack).unwrap().of(Kind::RumAck).count(),
        0,
        "no reports, no RUM ACK"
    );
    let codes: Vec<Authorization> = items(&outcome.ack, Kind::Authorization, &key);
    let code = &codes[0];
    assert_eq!(code.sudi, Sudi::of(&sw1.udi));
    assert_eq!(code.entitlements.len(), 1);
    let granted = &code.entitlements[0];
    assert_eq!(
        (granted.feature.as_str(), granted.count, granted.license_type.as_str()),
        ("hseck9", 1, "perpetual")
    );
    assert_eq!(granted.entitlement, tag("hseck9"));
    let hsec = row(&f, "hseck9").await;
    assert_eq!((hsec.purchased, hsec.reserved, hsec.in_use), (2, 1, 0));
    let pis = f.authority.product_instances(SA, VA).await.unwrap();
    assert_eq!(pis[0].authorizations, ["hseck9"]);

    // A second switch takes the last key; a third finds none and nothing is stored for it.
    let sw2 = Device::new("FOC2");
    f.authority.upload(SA, VA, "slac2.txt", &sw2.auth_request("hseck9", 1, false)).await.unwrap();
    let sw3 = Device::new("FOC3");
    let err = f
        .authority
        .upload(SA, VA, "slac3.txt", &sw3.auth_request("hseck9", 1, false))
        .await
        .unwrap_err();
    assert!(
        matches!(err, AuthorityError::Insufficient { available: 0, requested: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("hseck9") && err.to_string().contains("FOC3"), "{err}");
    assert_eq!(f.authority.product_instances(SA, VA).await.unwrap().len(), 2);
    assert_eq!(row(&f, "hseck9").await.reserved, 2);

    // sw1 returns its code: the key is back; returning it again is refused.
    let ret = sw1.auth_return(&code.code_id, "AAAAAA-BBBBBB-CCCCCC-DDDDDD");
    let outcome = f.authority.upload(SA, VA, "ret.txt", &ret).await.unwrap();
    assert_eq!(outcome.returns, 1);
    assert_eq!(row(&f, "hseck9").await.reserved, 1);
    // The same return sent again (its answer was lost) is taken again and changes nothing.
    let resent = sw1.auth_return(&code.code_id, "AAAAAA-BBBBBB-CCCCCC-DDDDDD");
    f.authority.upload(SA, VA, "ret-resent.txt", &resent).await.unwrap();
    assert_eq!(row(&f, "hseck9").await.reserved, 1);
    let again = sw1.auth_return(&code.code_id, "EEEEEE-FFFFFF-GGGGGG-HHHHHH");
    let err = f.authority.upload(SA, VA, "ret2.txt", &again).await.unwrap_err();
    assert!(matches!(err, AuthorityError::BadReturn { .. }), "{err}");
    assert!(err.to_string().contains("returned already"), "{err}");
    // sw2 cannot return sw1's code.
    let err = f
        .authority
        .upload(SA, VA, "ret3.txt", &sw2.auth_return(&code.code_id, "X"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not issued to PID:C9300-24UX,SN:FOC2"), "{err}");

    // replace: sw2's old code is given back and a new one issued; the reservation stays at 1.
    let outcome =
        f.authority.upload(SA, VA, "rep.txt", &sw2.auth_request("hseck9", 1, true)).await.unwrap();
    assert_eq!(outcome.authorizations, 1);
    assert_eq!(row(&f, "hseck9").await.reserved, 1);
    // Asking for 2 more than are left fails and reserves nothing.
    let err = f
        .authority
        .upload(SA, VA, "big.txt", &sw1.auth_request("hseck9", 2, false))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthorityError::Insufficient { available: 1, .. }), "{err}");
    assert_eq!(row(&f, "hseck9").await.reserved, 1);
}

#[tokio::test]
async fn slac_for_an_unenforced_or_unknown_entitlement_is_refused() {
    let f = fixture().await;
    let sw1 = Device::new("FOC1");
    let err = f
        .authority
        .upload(SA, VA, "slac.txt", &sw1.auth_request("network-advantage", 1, false))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthorityError::UnknownEntitlement { .. }), "{err}");
    assert!(f.authority.product_instances(SA, VA).await.unwrap().is_empty());
}

#[tokio::test]
async fn custom_policy_rides_in_acks_and_downloads_signed() {
    let f = fixture().await;
    let key = f.authority.public_key();
    // No custom policy: the download is the Cisco default.
    let doc = f.authority.policy_document(SA, VA).await.unwrap();
    let policies: Vec<PolicyDoc> = items(&doc, Kind::Policy, &key);
    assert_eq!(policies[0].name, "Cisco default");
    assert_eq!(
        f.authority.policy(SA, Some(VA)).await.unwrap().origin,
        PolicyOrigin::CiscoDefault.label()
    );

    let spec = PolicySpec {
        name: "SLE Policy".to_owned(),
        ack_required: true,
        unenforced_perpetual: Some("30,60,60".parse().unwrap()),
        unenforced_subscription: Some("120,111,111".parse().unwrap()),
        enforced: Some("30,90,60".parse().unwrap()),
        export: None,
    };
    f.authority.set_policy(SA, Some(VA), &spec).await.unwrap();
    let shown = f.authority.policy(SA, Some(VA)).await.unwrap();
    assert_eq!(shown.name, "SLE Policy");
    assert_eq!((shown.unenforced_subscription.ongoing, shown.export.first), (111, 0));
    assert_eq!(shown.origin, "Customer Policy");

    let doc = f.authority.policy_document(SA, VA).await.unwrap();
    let policies: Vec<PolicyDoc> = items(&doc, Kind::Policy, &key);
    let policy = policies[0].to_policy().unwrap();
    assert_eq!(policy.name, "SLE Policy");
    assert_eq!(policy.unenforced_perpetual.ongoing, 60);
    assert_eq!(
        (policies[0].smart_account.as_str(), policies[0].virtual_account.as_str()),
        ("Example Corp", "Lab")
    );

    let sw1 = Device::new("FOC1");
    let outcome = f.authority.upload(SA, VA, "u.txt", &sw1.usage_file(vec![], true)).await.unwrap();
    assert!(outcome.policy);
    let in_ack: Vec<PolicyDoc> = items(&outcome.ack, Kind::Policy, &key);
    assert_eq!(in_ack[0].to_policy().unwrap().enforced.ongoing, 90);
    assert_eq!(
        Document::parse(&outcome.ack).unwrap().of(Kind::RumAck).count(),
        1,
        "trust requests get an ACK"
    );

    let err = f
        .authority
        .set_policy(SA, Some(VA), &PolicySpec { name: " ".to_owned(), ..spec })
        .await
        .unwrap_err();
    assert!(matches!(err, AuthorityError::Invalid { field: "policy name", .. }), "{err}");
}

#[tokio::test]
async fn a_smart_account_policy_is_in_force_where_a_virtual_account_has_none() {
    let f = fixture().await;
    let key = f.authority.public_key();
    f.authority.create_va(SA, "Prod").await.unwrap();
    let spec = |name: &str, ongoing: &str| PolicySpec {
        name: name.to_owned(),
        ack_required: true,
        unenforced_perpetual: Some(ongoing.parse().unwrap()),
        unenforced_subscription: None,
        enforced: None,
        export: None,
    };
    let set = f.authority.set_policy(SA, None, &spec("Account Policy", "30,45,60")).await.unwrap();
    assert_eq!((set.set_for.as_str(), set.virtual_account), ("smart account", None));
    f.authority.set_policy(SA, Some("Prod"), &spec("Prod Policy", "10,20,30")).await.unwrap();

    // Lab has none of its own: the account's is in force, in show, download and the ACK.
    let lab = f.authority.policy(SA, Some(VA)).await.unwrap();
    assert_eq!((lab.name.as_str(), lab.set_for.as_str()), ("Account Policy", "smart account"));
    let prod = f.authority.policy(SA, Some("Prod")).await.unwrap();
    assert_eq!((prod.name.as_str(), prod.set_for.as_str()), ("Prod Policy", "virtual account"));
    let doc = f.authority.policy_document(SA, VA).await.unwrap();
    assert_eq!(items::<PolicyDoc>(&doc, Kind::Policy, &key)[0].name, "Account Policy");
    let sw1 = Device::new("FOC1");
    let outcome = f.authority.upload(SA, VA, "u.txt", &sw1.usage_file(vec![], true)).await.unwrap();
    let in_ack: Vec<PolicyDoc> = items(&outcome.ack, Kind::Policy, &key);
    assert_eq!(in_ack[0].to_policy().unwrap().unenforced_perpetual.ongoing, 45);

    // Removing Prod's own policy falls back to the account's; removing that, to the default.
    let now = f.authority.clear_policy(SA, Some("Prod")).await.unwrap();
    assert_eq!(now.name, "Account Policy");
    let err = f.authority.clear_policy(SA, Some("Prod")).await.unwrap_err();
    assert!(matches!(err, AuthorityError::NoCustomPolicy { .. }), "{err}");
    assert!(err.to_string().contains("\"Prod\""), "{err}");
    f.authority.clear_policy(SA, None).await.unwrap();
    let lab = f.authority.policy(SA, Some(VA)).await.unwrap();
    assert_eq!((lab.origin.as_str(), lab.set_for.as_str()), ("CISCO default", "default"));
    let events = f.authority.events(SA, None, None).await.unwrap();
    assert!(
        events.iter().any(|e| e.message.contains("custom policy of the smart account removed"))
    );
}

#[tokio::test]
async fn accounts_vas_and_pool_entries_are_validated() {
    let f = fixture().await;
    let err = f.authority.create_account("Example Corp", "x.com").await.unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    let err = f.authority.create_va(SA, "Lab").await.unwrap_err();
    assert!(err.to_string().contains("\"Lab\" already exists"), "{err}");

    let spec = |tag: &str, quantity, term, enforcement, expires: Option<&str>| LicenseSpec {
        tag: tag.to_owned(),
        sku: "SKU".to_owned(),
        quantity,
        term,
        enforcement,
        expires: expires.map(|d| d.parse().unwrap()),
    };
    let cases = [
        (spec("network-advantage", 0, None, None, None), "quantity"),
        (spec("no-such-feature", 1, None, None, None), "license tag"),
        (spec("dna-advantage", 1, None, None, None), "expiry date"),
        (spec("dna-advantage", 1, None, None, Some("2026-01-01")), "expiry date"),
        (spec("network-advantage", 1, None, None, Some("2030-01-01")), "expiry date"),
        (spec("hseck9", 1, None, Some(Enforcement::Enforced), None), "enforcement"),
        (spec("network-advantage", 1, Some(Term::Subscription), None, None), "license type"),
    ];
    for (case, field) in cases {
        let err = f.authority.add_license(SA, VA, &case).await.unwrap_err();
        assert!(
            matches!(err, AuthorityError::Invalid { field: f, .. } if f == field),
            "{case:?}: {err}"
        );
    }
    assert_eq!(f.authority.licenses(SA, VA).await.unwrap().len(), 3, "nothing added");
    // An unknown license is fine with an explicit type; it defaults to unenforced.
    f.authority
        .add_license(
            SA,
            VA,
            &spec("regid.2099-01.com.example.thing", 4, Some(Term::Perpetual), None, None),
        )
        .await
        .unwrap();
    let thing = row(&f, "regid.2099-01.com.example.thing").await;
    assert_eq!((thing.purchased, thing.enforcement.as_str()), (4, "unenforced"));

    // VA life cycle: refused while it holds licenses, renamed, deleted when empty.
    let err = f.authority.delete_va(SA, VA).await.unwrap_err();
    assert!(
        matches!(err, AuthorityError::VaNotEmpty { licenses: 4, product_instances: 0, .. }),
        "{err}"
    );
    f.authority.create_va(SA, "Spare").await.unwrap();
    f.authority.rename_va(SA, "Spare", "Extra").await.unwrap();
    assert!(f.authority.rename_va(SA, "Extra", "Lab").await.is_err());
    let names: Vec<String> =
        f.authority.vas(SA).await.unwrap().into_iter().map(|v| v.name).collect();
    assert_eq!(names, ["Extra", "Lab"]);
    f.authority.delete_va(SA, "Extra").await.unwrap();
    assert_eq!(f.authority.vas(SA).await.unwrap().len(), 1);
    let accounts = f.authority.accounts().await.unwrap();
    assert_eq!((accounts[0].domain.as_str(), accounts[0].virtual_accounts), (SA, 1));
}

#[tokio::test]
async fn the_signing_key_is_created_once_and_shared() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::frozen(at("2026-11-15T10:00:00Z")));
    let first =
        Authority::open(Store::open_dir(dir.path()).await.unwrap(), clock.clone()).await.unwrap();
    let second = Authority::open(Store::open_dir(dir.path()).await.unwrap(), clock).await.unwrap();
    assert_eq!(first.public_key(), second.public_key());
}

/// The same service on PostgreSQL (when `SLP_TEST_POSTGRES_URL` is set), in a schema of its own.
#[tokio::test]
async fn upload_and_slac_cycle_on_postgres() {
    use sqlx::Executor;
    let Some(url) = std::env::var("SLP_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SLP_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
        return;
    };
    let schema = format!("slp_authority_test_{}", std::process::id());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&url).await.unwrap();
    admin.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await.unwrap();
    let options = slp_store::ConnectOptions { schema: Some(schema.clone()) };
    let store = Store::connect(&url, &options).await.unwrap();
    let f = fixture_on(store, tempfile::tempdir().unwrap()).await;

    let sw1 = Device::new("FOC1");
    let file = sw1.usage_file(
        vec![sw1.report(100, "network-advantage", 1, T), sw1.report(101, "dna-advantage", 2, T)],
        true,
    );
    let first = f.authority.upload(SA, VA, "u.txt", &file).await.unwrap();
    assert_eq!((first.accepted, first.trust_codes), (2, 1));
    let again = f.authority.upload(SA, VA, "u.txt", &file).await.unwrap();
    assert_eq!(again.ack, first.ack);
    let dna = row(&f, "dna-advantage").await;
    assert_eq!(
        (dna.in_use, dna.balance, dna.alert.as_deref()),
        (2, -1, Some("Insufficient Licenses"))
    );

    let outcome = f
        .authority
        .upload(SA, VA, "slac.txt", &sw1.auth_request("hseck9", 2, false))
        .await
        .unwrap();
    let codes: Vec<Authorization> =
        items(&outcome.ack, Kind::Authorization, &f.authority.public_key());
    assert_eq!(row(&f, "hseck9").await.reserved, 2);
    let sw2 = Device::new("FOC2");
    let err = f
        .authority
        .upload(SA, VA, "slac2.txt", &sw2.auth_request("hseck9", 1, false))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthorityError::Insufficient { available: 0, .. }), "{err}");
    f.authority.upload(SA, VA, "ret.txt", &sw1.auth_return(&codes[0].code_id, "R")).await.unwrap();
    assert_eq!(row(&f, "hseck9").await.reserved, 0);
    let err = f.authority.upload(SA, "Nope", "u.txt", &file).await.unwrap_err();
    assert!(matches!(err, AuthorityError::VaNotFound { .. }), "{err}");

    f.authority.store().close().await;
    admin.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await.unwrap();
}

fn stamp() -> slp_wire::bundle::Stamp<'static> {
    slp_wire::bundle::Stamp {
        creator: "relay-1",
        smart_account: SA,
        virtual_account: VA,
        ts: "20261115T100000",
        mtime: 0,
    }
}

#[tokio::test]
async fn a_relay_bundle_is_taken_whole_and_answered_with_an_ack_bundle() {
    use slp_wire::bundle;
    let f = fixture().await;
    let (sw1, sw2) = (Device::new("FOC1"), Device::new("FOC2"));
    let files = vec![
        (
            "dev_C9300-24UX_FOC1_20261115T100000.xml".to_owned(),
            sw1.usage_file(vec![sw1.report(100, "network-advantage", 1, T)], true),
        ),
        (
            "dev_C9300-24UX_FOC2_20261115T100000.xml".to_owned(),
            sw2.usage_file(vec![sw2.report(200, "network-advantage", 2, T)], true),
        ),
    ];
    let upload = bundle::write_upload(&files, stamp()).unwrap();
    let outcome = f.authority.upload_bundle(SA, VA, "UD_SA_1.tar.gz", &upload).await.unwrap();
    let names: Vec<(&str, usize, usize)> =
        outcome.files.iter().map(|(name, o)| (name.as_str(), o.accepted, o.trust_codes)).collect();
    assert_eq!(
        names,
        [
            ("dev_C9300-24UX_FOC1_20261115T100000.xml", 1, 1),
            ("dev_C9300-24UX_FOC2_20261115T100000.xml", 1, 1)
        ]
    );
    assert_eq!(row(&f, "network-advantage").await.in_use, 3);
    // The ACK bundle mirrors the names: ACK_<inner>/ACK_<device file>, each an ACK for its UDI.
    let acks = bundle::read_ack(&outcome.ack, "ACK.tar.gz").unwrap();
    let labels: Vec<&str> = acks.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        [
            "ACK_UD_VA_20261115T100000.tar.gz/ACK_dev_C9300-24UX_FOC1_20261115T100000.xml",
            "ACK_UD_VA_20261115T100000.tar.gz/ACK_dev_C9300-24UX_FOC2_20261115T100000.xml"
        ]
    );
    let key = f.authority.public_key();
    let first: Vec<RumAck> = items(&acks[0].1, Kind::RumAck, &key);
    assert_eq!(first[0].sudi, Sudi::of(&sw1.udi));
    let uploads = f.authority.uploads(SA, VA).await.unwrap();
    assert_eq!(uploads.len(), 2);
    assert!(uploads[0].file_name.starts_with("UD_SA_1.tar.gz: UD_VA_"), "{uploads:?}");

    // The same bundle again: the same ACKs, nothing counted twice.
    let again = f.authority.upload_bundle(SA, VA, "UD_SA_1.tar.gz", &upload).await.unwrap();
    assert!(again.files.iter().all(|(_, o)| o.replayed));
    assert_eq!(bundle::read_ack(&again.ack, "again").unwrap(), acks);
    assert_eq!(row(&f, "network-advantage").await.in_use, 3);
}

#[tokio::test]
async fn a_bad_bundle_stores_nothing_and_names_the_member() {
    use slp_wire::bundle;
    let f = fixture().await;
    let (sw1, sw2) = (Device::new("FOC1"), Device::new("FOC2"));
    let good = sw1.usage_file(vec![sw1.report(100, "network-advantage", 1, T)], true);
    let tampered =
        String::from_utf8(sw2.usage_file(vec![sw2.report(200, "network-advantage", 2, T)], true))
            .unwrap()
            .replace(r#"\"value\":\"2\""#, r#"\"value\":\"0\""#);
    let files =
        vec![("dev_a.xml".to_owned(), good.clone()), ("dev_b.xml".to_owned(), tampered.into())];
    let upload = bundle::write_upload(&files, stamp()).unwrap();
    let err = f.authority.upload_bundle(SA, VA, "UD_SA_2.tar.gz", &upload).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("UD_SA_2.tar.gz: UD_VA_20261115T100000.tar.gz/dev_b.xml: RUM report 200"),
        "{text}"
    );
    // The good file of the same bundle was not stored either.
    assert!(f.authority.product_instances(SA, VA).await.unwrap().is_empty());
    assert!(f.authority.uploads(SA, VA).await.unwrap().is_empty());
    assert_eq!(row(&f, "network-advantage").await.in_use, 0);

    // `../` in a member name.
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..13].copy_from_slice(b"../dev_a.xml\0");
    header.set_size(good.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut evil = header.as_bytes().to_vec();
    evil.extend_from_slice(&good);
    evil.resize(evil.len().div_ceil(512) * 512 + 1024, 0);
    let err = f.authority.upload_bundle(SA, VA, "evil.tar", &evil).await.unwrap_err();
    assert_eq!(err.to_string(), "evil.tar: member \"../dev_a.xml\": path with `..` refused");

    // An oversize member: refused from its header, before it is read.
    let big = vec![(
        "dev_big.xml".to_owned(),
        vec![b' '; usize::try_from(bundle::MEMBER_LIMIT).unwrap() + 1],
    )];
    let upload = bundle::write_upload(&big, stamp()).unwrap();
    let err = f.authority.upload_bundle(SA, VA, "big.tar.gz", &upload).await.unwrap_err();
    assert!(err.to_string().contains("over the limit of 16777216"), "{err}");

    // A manifest for another virtual account.
    let other = bundle::Stamp { virtual_account: "Branch", ..stamp() };
    let upload = bundle::write_upload(&[("dev_a.xml".to_owned(), good)], other).unwrap();
    let err = f.authority.upload_bundle(SA, VA, "UD_SA_3.tar.gz", &upload).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "UD_SA_3.tar.gz: the manifest is for virtual account \"Branch\", not \"Lab\""
    );
    assert!(f.authority.uploads(SA, VA).await.unwrap().is_empty());
}

#[tokio::test]
async fn licenses_transfer_longest_term_first_with_preview_and_limits() {
    let f = fixture().await;
    f.authority.create_va(SA, "Branch").await.unwrap();
    for (quantity, expires) in [(3, "2027-06-01"), (2, "2028-11-01")] {
        let spec = LicenseSpec {
            tag: "dna-advantage".to_owned(),
            sku: format!("C9300-DNA-{expires}"),
            quantity,
            term: None,
            enforcement: None,
            expires: Some(expires.parse().unwrap()),
        };
        f.authority.add_license(SA, VA, &spec).await.unwrap();
    }
    let sw1 = Device::new("FOC1");
    let file = sw1.usage_file(vec![sw1.report(100, "network-advantage", 1, T)], true);
    f.authority.upload(SA, VA, "u.txt", &file).await.unwrap();
    let spec = |license: &str, quantity, to: &str| TransferSpec {
        license: license.to_owned(),
        quantity,
        to: to.to_owned(),
    };

    // Preview: the latest-ending entries first, a part of the third; nothing moves.
    let preview =
        f.authority.transfer_licenses(SA, VA, &[spec("dna-advantage", 4, "Branch")], true).await;
    let preview = preview.unwrap();
    let moves: Vec<(i64, Option<&str>)> =
        preview[0].moves.iter().map(|m| (m.quantity, m.expires.as_deref())).collect();
    assert_eq!(moves, [(2, Some("2028-11-01")), (1, Some("2027-11-01")), (1, Some("2027-06-01"))]);
    assert_eq!(preview[0].available, 6);
    assert_eq!(row(&f, "dna-advantage").await.purchased, 6, "a preview changes nothing");

    let done =
        f.authority.transfer_licenses(SA, VA, &[spec("dna-advantage", 4, "Branch")], false).await;
    assert_eq!(done.unwrap()[0].moves, preview[0].moves);
    let lab = row(&f, "dna-advantage").await;
    assert_eq!((lab.purchased, lab.expires.as_deref()), (2, Some("2027-06-01")));
    let branch = f.authority.licenses(SA, "Branch").await.unwrap();
    assert_eq!((branch[0].purchased, branch[0].expires.as_deref()), (4, Some("2027-06-01")));
    let events = f.authority.events(SA, Some("Branch"), None).await.unwrap();
    assert!(
        events.iter().any(|e| e.message
            == "4 dna-advantage license(s) transferred from virtual account \"Lab\" to \"Branch\""),
        "{events:?}"
    );

    // Perpetual licenses: one is in use, so 9 can move, not 10; one refused request in a
    // batch moves nothing.
    let err = f
        .authority
        .transfer_licenses(
            SA,
            VA,
            &[spec("hseck9", 1, "Branch"), spec("network-advantage", 10, "Branch")],
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot transfer 10 network-advantage license(s) from virtual account \"Lab\": only 9 available (10 purchased, 1 in use, 0 reserved)"
    );
    assert_eq!(row(&f, "hseck9").await.purchased, 2, "nothing of the batch moved");
    let err = f
        .authority
        .transfer_licenses(SA, VA, &[spec("network-advantage", 1, "Nowhere")], false)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthorityError::VaNotFound { .. }), "{err}");
    let err =
        f.authority.transfer_licenses(SA, VA, &[spec("network-advantage", 1, VA)], false).await;
    assert!(err.unwrap_err().to_string().contains("it is the virtual account the licenses are in"));
    let err =
        f.authority.transfer_licenses(SA, VA, &[spec("essentials", 1, "Branch")], false).await;
    assert!(err.unwrap_err().to_string().contains("holds no such license"));
    let nine = [spec("network-advantage", 9, "Branch")];
    let moved = f.authority.transfer_licenses(SA, VA, &nine, false).await.unwrap();
    assert_eq!(moved[0].moves.len(), 1);
    let lab = row(&f, "network-advantage").await;
    assert_eq!((lab.purchased, lab.in_use, lab.balance), (1, 1, 0));
}
