//! One conformance story for every backend: each test runs on SQLite (in a temp dir) and, when
//! `SLP_TEST_POSTGRES_URL` is set (e.g. `postgres://postgres@127.0.0.1:5432/postgres`), on
//! PostgreSQL in a fresh schema of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

use std::sync::atomic::{AtomicU32, Ordering};

use slp_store::*;

/// A store under test and what keeps it alive.
struct Harness {
    store: Store,
    reopen: Reopen,
    _dir: Option<tempfile::TempDir>,
}

enum Reopen {
    Dir(std::path::PathBuf),
    Postgres { url: String, schema: String },
}

impl Harness {
    async fn sqlite() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data dir");
        let store = Store::open_dir(&path).await.unwrap();
        Harness { store, reopen: Reopen::Dir(path), _dir: Some(dir) }
    }

    async fn postgres() -> Option<Harness> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let url = std::env::var("SLP_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())?;
        let schema =
            format!("slp_test_{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        drop_schema(&url, &schema).await;
        let options = ConnectOptions { schema: Some(schema.clone()) };
        let store = Store::connect(&url, &options).await.unwrap();
        Some(Harness { store, reopen: Reopen::Postgres { url, schema }, _dir: None })
    }

    async fn reopen(&self) -> Store {
        match &self.reopen {
            Reopen::Dir(path) => Store::open_dir(path).await.unwrap(),
            Reopen::Postgres { url, schema } => {
                Store::connect(url, &ConnectOptions { schema: Some(schema.clone()) }).await.unwrap()
            }
        }
    }

    async fn finish(self) {
        self.store.close().await;
        if let Reopen::Postgres { url, schema } = &self.reopen {
            drop_schema(url, schema).await;
        }
    }
}

async fn drop_schema(url: &str, schema: &str) {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    pool.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await.unwrap();
    pool.close().await;
}

/// Runs `$body` (an async fn taking `&Harness`) on every configured backend.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let harness = super::Harness::sqlite().await;
                    super::$name(&harness).await;
                    harness.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(harness) = super::Harness::postgres().await else {
                        eprintln!("SLP_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
                        return;
                    };
                    super::$name(&harness).await;
                    harness.finish().await;
                }
            )*
        }
    };
}

conformance!(
    migrations_are_idempotent_and_data_survives_reopen,
    settings_keep_the_first_value,
    accounts_are_unique_by_name_and_domain,
    virtual_accounts_are_unique_per_account,
    licenses_and_product_instances,
    product_instances_are_registered_many_at_once,
    an_ingest_is_looked_up_and_written_at_once,
    reports_are_unique_per_udi_and_id,
    a_batch_of_reports_stores_only_the_new_ones,
    contact_with_many_instances_is_recorded_at_once,
    usage_is_one_row_per_instance_and_tag,
    uploads_are_unique_per_va_and_digest,
    authorization_codes_reserve_until_returned,
    policies_are_replaced,
    a_smart_account_policy_applies_where_a_virtual_account_has_none,
    a_dropped_transaction_changes_nothing,
    events_are_kept_in_order,
    events_written_together_keep_their_order,
    move_requests_are_decided_once,
    a_scheduled_run_is_claimed_once,
    id_tokens_count_uses_and_revoke,
    api_clients_and_access_tokens,
    poll_results_are_kept_once,
    savepoints_undo_only_their_part,
    deleting_a_va_takes_its_tokens_and_polls,
    the_next_writer_begins_while_a_commit_syncs,
    first_contact_is_a_setting_of_each_virtual_account,
    a_bind_grant_is_used_once_by_its_key,
    a_udi_is_scoped_to_its_smart_account,
    users_are_unique_per_smart_account_and_hold_tokens,
);

async fn fixture(store: &Store) -> (Account, VirtualAccount) {
    let mut tx = store.begin().await.unwrap();
    let account = tx.insert_account("Example Corp", "example.com", 100).await.unwrap();
    let va = tx.insert_va(account.id, "Lab", 100).await.unwrap();
    tx.commit().await.unwrap();
    (account, va)
}

fn pi(va: &VirtualAccount, udi: &str) -> NewProductInstance {
    NewProductInstance {
        va_id: va.id,
        account_id: va.account_id,
        udi: udi.to_owned(),
        hostname: Some("sw1".to_owned()),
        public_key: "KEY1".to_owned(),
        now: 200,
        key_seen: None,
    }
}

async fn migrations_are_idempotent_and_data_survives_reopen(h: &Harness) {
    let (account, _) = fixture(&h.store).await;
    let again = h.reopen().await;
    let mut tx = again.read().await.unwrap();
    assert_eq!(tx.account_by_key("example.com").await.unwrap(), Some(account));
    tx.commit().await.unwrap();
    again.close().await;
}

async fn settings_keep_the_first_value(h: &Harness) {
    let mut tx = h.store.begin().await.unwrap();
    assert_eq!(tx.setting("authority_key").await.unwrap(), None);
    assert_eq!(tx.setting_or_insert("authority_key", "first").await.unwrap(), "first");
    assert_eq!(tx.setting_or_insert("authority_key", "second").await.unwrap(), "first");
    tx.commit().await.unwrap();
}

async fn accounts_are_unique_by_name_and_domain(h: &Harness) {
    let (account, _) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    let err = tx.insert_account("Example Corp", "other.com", 1).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { what: "smart account", .. }), "{err}");
    let err = tx.insert_account("Other", "example.com", 1).await.unwrap_err();
    assert!(err.to_string().contains("example.com"), "{err}");
    let zeta = tx.insert_account("Zeta", "zeta.io", 1).await.unwrap();
    assert_eq!(tx.account_by_key("Example Corp").await.unwrap(), Some(account.clone()));
    assert_eq!(tx.account_by_key("nosuch").await.unwrap(), None);
    assert_eq!(tx.account(zeta.id).await.unwrap(), Some(zeta.clone()));
    assert_eq!(tx.accounts().await.unwrap(), vec![account, zeta]);
    tx.commit().await.unwrap();
}

async fn virtual_accounts_are_unique_per_account(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    let err = tx.insert_va(account.id, "Lab", 1).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { what: "virtual account", .. }), "{err}");
    drop(tx);

    let mut tx = h.store.begin().await.unwrap();
    let other = tx.insert_account("Other", "other.com", 1).await.unwrap();
    tx.insert_va(other.id, "Lab", 1).await.unwrap();
    let prod = tx.insert_va(account.id, "Prod", 1).await.unwrap();
    assert_eq!(tx.vas(account.id).await.unwrap(), vec![lab.clone(), prod.clone()]);
    tx.rename_va(prod.id, "Production").await.unwrap();
    assert!(tx.rename_va(prod.id, "Lab").await.is_err());
    tx.commit().await.unwrap();

    let mut tx = h.store.begin().await.unwrap();
    assert_eq!(tx.va_by_name(account.id, "Production").await.unwrap().map(|v| v.id), Some(prod.id));
    assert_eq!(tx.va_holdings(prod.id).await.unwrap(), (0, 0));
    tx.delete_va(prod.id).await.unwrap();
    assert_eq!(tx.va(prod.id).await.unwrap(), None);
    assert_eq!(tx.vas(account.id).await.unwrap(), vec![lab]);
    tx.commit().await.unwrap();
}

async fn licenses_and_product_instances(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    let other = tx.insert_va(account.id, "Other", 1).await.unwrap();
    let new = NewLicense {
        va_id: lab.id,
        feature: "dna-advantage".to_owned(),
        entitlement_tag: "regid.dna".to_owned(),
        sku: "C9300-DNA-A".to_owned(),
        quantity: 3,
        term: "subscription".to_owned(),
        enforcement: "unenforced".to_owned(),
        starts_at: 0,
        expires_at: Some(1_900_000_000),
        added_at: 5,
    };
    let added = tx.insert_license(&new).await.unwrap();
    assert_eq!(tx.licenses(lab.id).await.unwrap(), vec![added.clone()]);
    assert!(tx.licenses(other.id).await.unwrap().is_empty());
    // A transfer: part of an entry stays, the whole of another moves.
    tx.set_license_quantity(added.id, 2).await.unwrap();
    let second = tx.insert_license(&NewLicense { quantity: 1, ..new.clone() }).await.unwrap();
    tx.move_license(second.id, other.id).await.unwrap();
    let stays = tx.licenses(lab.id).await.unwrap();
    assert_eq!((stays.len(), stays[0].quantity), (1, 2));
    let moved = tx.licenses(other.id).await.unwrap();
    assert_eq!((moved.len(), moved[0].quantity, moved[0].va_id), (1, 1, other.id));

    let sw1 = tx.insert_pi(&pi(&lab, "PID:C9300,SN:1")).await.unwrap();
    let err = tx.insert_pi(&pi(&other, "PID:C9300,SN:1")).await.unwrap_err();
    assert!(err.to_string().contains("PID:C9300,SN:1"), "a UDI lives in one VA: {err}");
    let contact = [(300, vec![(sw1.id, None)])];
    tx.ingest_write(&IngestWrite { touches: &contact, ..Default::default() }).await.unwrap();
    tx.rebind_pi(sw1.id, "KEY2").await.unwrap();
    tx.set_pi_trust(sw1.id, 77, 300).await.unwrap();
    let stored = tx.pi_by_udi(account.id, "PID:C9300,SN:1").await.unwrap().unwrap();
    assert_eq!(stored.hostname.as_deref(), Some("sw1"), "None keeps the hostname");
    assert_eq!(
        (stored.public_key.as_str(), stored.trust_id, stored.trusted_at, stored.last_contact),
        ("KEY2", Some(77), Some(300), 300)
    );
    assert_eq!(tx.va_holdings(lab.id).await.unwrap(), (1, 1));
    assert_eq!(tx.pis(lab.id).await.unwrap(), vec![stored]);
    tx.commit().await.unwrap();
}

async fn product_instances_are_registered_many_at_once(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    let other = tx.insert_va(account.id, "Other", 1).await.unwrap();
    tx.insert_pi(&pi(&other, "PID:C9300,SN:0")).await.unwrap();
    // 1 200 instances: more than one statement's worth; every other one trusted.
    let new: Vec<ProductInstance> = (1..=1_200_i64)
        .map(|i| ProductInstance {
            id: 0,
            va_id: lab.id,
            account_id: account.id,
            udi: format!("PID:C9300,SN:{i}"),
            hostname: (i % 3 == 0).then(|| format!("sw{i}")),
            public_key: format!("KEY{i}"),
            trust_id: (i % 2 == 0).then_some(1_000 + i),
            trusted_at: (i % 2 == 0).then_some(250),
            first_seen: 200,
            last_contact: 260,
            key_seen: (i % 5 == 0).then(|| format!("builtin:regid.{i}")),
        })
        .collect();
    tx.ingest_write(&IngestWrite { new_pis: &new, ..Default::default() }).await.unwrap();
    for expected in &new {
        let stored = tx.pi_by_udi(account.id, &expected.udi).await.unwrap().unwrap();
        assert_eq!(stored, ProductInstance { id: stored.id, ..expected.clone() });
    }
    tx.ingest_write(&IngestWrite::default()).await.unwrap();
    // A UDI registered already (here, in another virtual account) refuses the write, named.
    let again = vec![ProductInstance { udi: "PID:C9300,SN:0".to_owned(), ..new[0].clone() }];
    let err = tx.ingest_write(&IngestWrite { new_pis: &again, ..Default::default() }).await;
    let err = err.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { what: "product instance", .. }), "{err}");
    assert!(err.to_string().contains("PID:C9300,SN:0"), "{err}");
    drop(tx);
    let mut tx = h.store.read().await.unwrap();
    assert!(tx.pis(lab.id).await.unwrap().is_empty(), "nothing kept of a dropped transaction");
}

async fn an_ingest_is_looked_up_and_written_at_once(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    let other = tx.insert_va(account.id, "Other", 1).await.unwrap();
    let known = tx.insert_pi(&pi(&lab, "PID:A,SN:1")).await.unwrap();
    let report = |udi: &str, report_id: i64, end_time: i64| ReceivedReport {
        va_id: lab.id,
        udi: udi.to_owned(),
        report_id,
        entitlement_tag: "regid.na".to_owned(),
        count: report_id * 10,
        end_time,
        status: "ACCEPTED".to_owned(),
        received_at: 300,
        envelope: format!("{{\"r\":{report_id}}}"),
    };
    let upload = |va_id: i64, sha: &str| NewUpload {
        va_id,
        file_name: format!("{sha}.txt"),
        sha256: sha.to_owned(),
        uploaded_at: 300,
        status: "Processed".to_owned(),
        pi_count: 1,
        report_count: 2,
        ack: format!("<ack {sha}/>"),
    };
    let poll = |poll_id: i64| PollRecord {
        poll_id,
        va_id: lab.id,
        action: "acknowledgements".to_owned(),
        correlation_id: format!("c{poll_id}"),
        result: "{}".to_owned(),
        created_at: 300,
    };
    let usage = |udi: &str, count: i64, as_of: i64, report_id: i64| {
        let usage = Usage {
            pi_id: -1,
            udi: udi.to_owned(),
            entitlement_tag: "regid.na".to_owned(),
            feature: "network-advantage".to_owned(),
            count,
            as_of,
            report_id,
        };
        (account.id, usage)
    };
    // One write: a new instance, reports of a known and the new one, contact, events, usage
    // (the new instance's named by its UDI), an upload and a poll result.
    let fresh = ProductInstance {
        id: 0,
        va_id: lab.id,
        account_id: account.id,
        udi: "PID:A,SN:2".to_owned(),
        hostname: None,
        public_key: "KEY2".to_owned(),
        trust_id: Some(42),
        trusted_at: Some(300),
        first_seen: 300,
        last_contact: 300,
        key_seen: None,
    };
    let reports = [report("PID:A,SN:1", 1, 1_000), report("PID:A,SN:2", 7, 1_100)];
    let touches = [(310, vec![(known.id, Some("edge-1".to_owned()))])];
    let events: Vec<NewEvent> = (1..=3)
        .map(|i| NewEvent {
            at: 300,
            account_id: Some(account.id),
            va_id: Some(lab.id),
            udi: None,
            message: format!("event {i}"),
            actor: "test".to_owned(),
        })
        .collect();
    let usages = [usage("PID:A,SN:1", 10, 1_000, 1), usage("PID:A,SN:2", 70, 1_100, 7)];
    let uploads = [upload(lab.id, "aa")];
    let polls = [poll(5)];
    let write = IngestWrite {
        new_pis: std::slice::from_ref(&fresh),
        reports: &reports,
        touches: &touches,
        events: &events,
        usage: &usages,
        uploads: &uploads,
        polls: &polls,
    };
    tx.ingest_write(&write).await.unwrap();

    // What a later group looks up: pairs matched whole, uploads per virtual account.
    let found = tx
        .ingest_lookup(
            &[(lab.id, vec!["aa".to_owned(), "bb".to_owned()]), (other.id, vec!["aa".to_owned()])],
            &[
                (account.id, "PID:A,SN:1".to_owned(), 1),
                (account.id, "PID:A,SN:1".to_owned(), 7),
                (account.id, "PID:A,SN:2".to_owned(), 7),
                (account.id, "PID:A,SN:3".to_owned(), 1),
                (account.id + 1, "PID:A,SN:1".to_owned(), 1),
            ],
            &[
                (account.id, "PID:A,SN:2".to_owned()),
                (account.id, "PID:A,SN:3".to_owned()),
                (account.id + 1, "PID:A,SN:1".to_owned()),
            ],
            &[5, 6],
        )
        .await
        .unwrap();
    assert_eq!(
        found.uploads.iter().map(|u| (u.va_id, u.sha256.as_str())).collect::<Vec<_>>(),
        [(lab.id, "aa")]
    );
    let mut stored = found.reports.clone();
    stored.sort();
    assert_eq!(
        stored,
        [(account.id, "PID:A,SN:1".to_owned(), 1), (account.id, "PID:A,SN:2".to_owned(), 7)],
        "keys matched whole, of their own smart account"
    );
    assert_eq!(found.pis.len(), 1);
    assert_eq!((found.pis[0].udi.as_str(), found.pis[0].trust_id), ("PID:A,SN:2", Some(42)));
    assert_eq!(found.polls, [(5, lab.id, "acknowledgements".to_owned())]);
    let empty = tx.ingest_lookup(&[], &[], &[], &[]).await.unwrap();
    assert_eq!(empty, IngestLookup::default());

    let sw1 = tx.pi_by_udi(account.id, "PID:A,SN:1").await.unwrap().unwrap();
    assert_eq!((sw1.hostname.as_deref(), sw1.last_contact), (Some("edge-1"), 310));
    let sw2 = found.pis[0].id;
    assert_eq!(tx.usage(sw2, "regid.na").await.unwrap().map(|u| u.count), Some(70));
    assert_eq!(tx.usage(sw1.id, "regid.na").await.unwrap().map(|u| u.count), Some(10));
    let messages: Vec<String> =
        tx.events(account.id, Some(lab.id)).await.unwrap().into_iter().map(|e| e.message).collect();
    assert_eq!(messages, ["event 1", "event 2", "event 3"]);
    assert_eq!(tx.upload_by_sha(lab.id, "aa").await.unwrap().unwrap().ack, "<ack aa/>");
    assert!(tx.poll(5).await.unwrap().is_some());

    // Older usage does not replace newer; a poll result stored already keeps its first.
    let older = [usage("PID:A,SN:2", 1, 900, 9)];
    let replayed = [PollRecord { result: "{\"second\":true}".to_owned(), ..poll(5) }];
    let write = IngestWrite { usage: &older, polls: &replayed, ..Default::default() };
    tx.ingest_write(&write).await.unwrap();
    assert_eq!(tx.usage(sw2, "regid.na").await.unwrap().map(|u| u.count), Some(70));
    assert_eq!(tx.poll(5).await.unwrap().unwrap().result, "{}");

    // A report or an upload stored meanwhile refuses the write, named.
    let late = [report("PID:A,SN:9", 1, 1_200), report("PID:A,SN:1", 1, 1_000)];
    let err = tx.ingest_write(&IngestWrite { reports: &late, ..Default::default() }).await;
    let err = err.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { what: "report", .. }), "{err}");
    assert!(err.to_string().contains("1 of 2"), "{err}");
    let err = tx.ingest_write(&IngestWrite { uploads: &uploads, ..Default::default() }).await;
    let err = err.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { what: "upload", .. }), "{err}");
    assert!(err.to_string().contains("aa.txt"), "{err}");
}

async fn reports_are_unique_per_udi_and_id(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    let report = ReceivedReport {
        va_id: lab.id,
        udi: "PID:C9300,SN:1".to_owned(),
        report_id: 1_700_000_000,
        entitlement_tag: "regid.na".to_owned(),
        count: 1,
        end_time: 1_700_000_900,
        status: "ACCEPTED".to_owned(),
        received_at: 10,
        envelope: "{\"payload\":\"x\"}".to_owned(),
    };
    let mut tx = h.store.begin().await.unwrap();
    assert_eq!(tx.report_status(account.id, &report.udi, report.report_id).await.unwrap(), None);
    tx.insert_report(&report).await.unwrap();
    let err = tx.insert_report(&report).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { what: "report", .. }), "{err}");
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    assert_eq!(
        tx.report_status(account.id, &report.udi, report.report_id).await.unwrap().as_deref(),
        Some("ACCEPTED")
    );
    assert_eq!(tx.report_count(lab.id).await.unwrap(), 1);
}

async fn a_batch_of_reports_stores_only_the_new_ones(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    let a = account.id;
    let report = |udi: &str, report_id: i64| ReceivedReport {
        va_id: lab.id,
        udi: udi.to_owned(),
        report_id,
        entitlement_tag: "regid.na".to_owned(),
        count: 1,
        end_time: 1_700_000_000 + report_id,
        status: "ACCEPTED".to_owned(),
        received_at: 10,
        envelope: format!("{{\"payload\":\"{report_id}\"}}"),
    };
    let mut tx = h.store.begin().await.unwrap();
    tx.insert_report(&report("PID:C9300,SN:1", 2)).await.unwrap();
    // 1 500 rows: more than one statement's worth; report 2 of SN:1 is there already, so
    // the write is refused (named) until it is left out.
    let mut batch: Vec<ReceivedReport> = (1..=1_500).map(|i| report("PID:C9300,SN:1", i)).collect();
    batch.push(report("PID:C9300,SN:2", 2));
    let err = tx.ingest_write(&IngestWrite { reports: &batch, ..Default::default() }).await;
    let err = err.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { what: "report", .. }), "{err}");
    assert!(err.to_string().contains("1 of 1000"), "{err}");
    drop(tx);
    let mut tx = h.store.begin().await.unwrap();
    tx.insert_report(&report("PID:C9300,SN:1", 2)).await.unwrap();
    batch.remove(1);
    tx.ingest_write(&IngestWrite { reports: &batch, ..Default::default() }).await.unwrap();
    // Looked up ahead: which of 2 001 keys (more than one statement's worth) are stored.
    let mut keys: Vec<ReportKey> =
        (1..=2_000).map(|i| (a, "PID:C9300,SN:1".to_owned(), i)).collect();
    keys.push((a, "PID:C9300,SN:3".to_owned(), 1));
    let mut found = tx.existing_reports(&keys).await.unwrap();
    found.sort();
    let mut expected: Vec<ReportKey> =
        (1..=1_500).map(|i| (a, "PID:C9300,SN:1".to_owned(), i)).collect();
    expected.sort();
    assert_eq!(found, expected, "reports 1..=1500 of SN:1 and nothing of SN:3");
    // Pairs are matched whole: report 3 is stored for SN:1, not for SN:2.
    let keys = [(a, "PID:C9300,SN:2".to_owned(), 3), (a, "PID:C9300,SN:2".to_owned(), 2)];
    assert_eq!(tx.existing_reports(&keys).await.unwrap(), [keys[1].clone()]);
    assert!(tx.existing_reports(&[]).await.unwrap().is_empty());
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    assert_eq!(tx.report_count(lab.id).await.unwrap(), 1_501);
}

async fn contact_with_many_instances_is_recorded_at_once(h: &Harness) {
    let (_, lab) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    let mut touches = Vec::new();
    // 1 200 instances: more than one statement's worth; every third reports no hostname.
    for i in 0..1_200_usize {
        let pi = tx.insert_pi(&pi(&lab, &format!("PID:C9300,SN:T{i}"))).await.unwrap();
        let hostname = (!i.is_multiple_of(3)).then(|| format!("edge-{i}"));
        touches.push((pi.id, hostname));
    }
    // Two times, each for half of them, and a time with nobody.
    let later = touches.split_off(600);
    let contact = [(900, touches), (950, later), (990, Vec::new())];
    tx.ingest_write(&IngestWrite { touches: &contact, ..Default::default() }).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    let all = tx.pis(lab.id).await.unwrap();
    assert_eq!(all.len(), 1_200);
    for pi in all {
        let i: usize = pi.udi.trim_start_matches("PID:C9300,SN:T").parse().unwrap();
        let expected = if i.is_multiple_of(3) { "sw1".to_owned() } else { format!("edge-{i}") };
        assert_eq!(pi.hostname.as_deref(), Some(expected.as_str()), "{}", pi.udi);
        assert_eq!(pi.last_contact, if i < 600 { 900 } else { 950 }, "{}", pi.udi);
    }
}

async fn usage_is_one_row_per_instance_and_tag(h: &Harness) {
    let (_, lab) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    let sw1 = tx.insert_pi(&pi(&lab, "PID:C9300,SN:1")).await.unwrap();
    let mut usage = Usage {
        pi_id: sw1.id,
        udi: sw1.udi.clone(),
        entitlement_tag: "regid.na".to_owned(),
        feature: "network-advantage".to_owned(),
        count: 2,
        as_of: 1000,
        report_id: 1,
    };
    tx.set_usage(&usage).await.unwrap();
    usage.count = 1;
    usage.as_of = 2000;
    tx.set_usage(&usage).await.unwrap();
    assert_eq!(tx.usage(sw1.id, "regid.na").await.unwrap(), Some(usage.clone()));
    // Only a newer report (end time, then report id) replaces the usage.
    let older = Usage { count: 7, as_of: 1500, report_id: 9, ..usage.clone() };
    tx.set_usage_if_newer(&older).await.unwrap();
    assert_eq!(tx.usage(sw1.id, "regid.na").await.unwrap(), Some(usage.clone()));
    let same_time_later_id = Usage { count: 3, report_id: 2, ..usage.clone() };
    tx.set_usage_if_newer(&same_time_later_id).await.unwrap();
    assert_eq!(tx.usage(sw1.id, "regid.na").await.unwrap(), Some(same_time_later_id.clone()));
    // Many at once: a new license row, and an older report that changes nothing.
    let other = Usage {
        entitlement_tag: "regid.da".to_owned(),
        feature: "dna-advantage".to_owned(),
        ..usage.clone()
    };
    let many = [(lab.account_id, other.clone()), (lab.account_id, older.clone())];
    tx.ingest_write(&IngestWrite { usage: &many, ..Default::default() }).await.unwrap();
    assert_eq!(tx.usage(sw1.id, "regid.da").await.unwrap(), Some(other.clone()));
    assert_eq!(tx.usage(sw1.id, "regid.na").await.unwrap(), Some(same_time_later_id.clone()));
    tx.set_usage(&usage).await.unwrap();
    assert_eq!(tx.va_usage(lab.id).await.unwrap(), vec![other, usage]);
    assert_eq!(tx.usage(sw1.id, "regid.other").await.unwrap(), None);
    tx.commit().await.unwrap();
}

async fn uploads_are_unique_per_va_and_digest(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    let new = NewUpload {
        va_id: lab.id,
        file_name: "all_rum.txt".to_owned(),
        sha256: "ab".repeat(32),
        uploaded_at: 50,
        status: "Processed".to_owned(),
        pi_count: 1,
        report_count: 3,
        ack: "<smartLicense>\n</smartLicense>\n".to_owned(),
    };
    let mut tx = h.store.begin().await.unwrap();
    let stored = tx.insert_upload(&new).await.unwrap();
    assert!(tx.insert_upload(&new).await.is_err());
    let other = tx.insert_va(account.id, "Other", 1).await.unwrap();
    tx.insert_upload(&NewUpload { va_id: other.id, ..new.clone() }).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    assert_eq!(tx.upload_by_sha(lab.id, &new.sha256).await.unwrap(), Some(stored.clone()));
    assert_eq!(tx.upload_by_sha(lab.id, "00").await.unwrap(), None);
    assert_eq!(tx.uploads(lab.id).await.unwrap(), vec![stored]);
}

async fn authorization_codes_reserve_until_returned(h: &Harness) {
    let (_, lab) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    let code = |id: &str, udi: &str, count| NewAuthorization {
        code_id: id.to_owned(),
        va_id: lab.id,
        udi: udi.to_owned(),
        entitlement_tag: "regid.hsec".to_owned(),
        feature: "hseck9".to_owned(),
        count,
        issued_at: 10,
    };
    tx.insert_authorization(&code("c1", "PID:A,SN:1", 1)).await.unwrap();
    tx.insert_authorization(&code("c2", "PID:A,SN:2", 2)).await.unwrap();
    assert!(tx.insert_authorization(&code("c2", "PID:A,SN:2", 1)).await.is_err());
    assert_eq!(tx.reserved(lab.id, "regid.hsec").await.unwrap(), 3);
    assert_eq!(tx.return_authorization("c2", "RET-1", 20).await.unwrap(), 1);
    assert_eq!(tx.return_authorization("c2", "RET-2", 21).await.unwrap(), 0, "only once");
    assert_eq!(tx.reserved(lab.id, "regid.hsec").await.unwrap(), 1);
    assert_eq!(tx.reserved(lab.id, "regid.other").await.unwrap(), 0);
    let c2 = tx.authorization_code("c2").await.unwrap();
    assert_eq!(c2.len(), 1);
    assert_eq!((c2[0].returned_at, c2[0].return_code.as_deref()), (Some(20), Some("RET-1")));
    assert_eq!(tx.open_authorizations_of(lab.account_id, "PID:A,SN:2").await.unwrap(), vec![]);
    assert_eq!(tx.open_authorizations_of(lab.account_id, "PID:A,SN:1").await.unwrap().len(), 1);
    assert_eq!(tx.authorizations(lab.id).await.unwrap().len(), 2);
    tx.commit().await.unwrap();
}

fn sle_policy(owner: PolicyOwner) -> PolicyRecord {
    let class = |first, ongoing, on_change| PolicyClassRecord { first, ongoing, on_change };
    PolicyRecord {
        owner,
        name: "SLE Policy".to_owned(),
        ack_required: true,
        unenforced_perpetual: class(30, 60, 60),
        unenforced_subscription: class(120, 111, 111),
        enforced: class(30, 90, 60),
        export: class(30, 30, 30),
        updated_at: 1,
    }
}

async fn policies_are_replaced(h: &Harness) {
    let (_, lab) = fixture(&h.store).await;
    let class = |first, ongoing, on_change| PolicyClassRecord { first, ongoing, on_change };
    let owner = PolicyOwner::VirtualAccount(lab.id);
    let mut record = sle_policy(owner);
    let mut tx = h.store.begin().await.unwrap();
    assert_eq!(tx.policy(owner).await.unwrap(), None);
    tx.set_policy(&record).await.unwrap();
    assert_eq!(tx.policy(owner).await.unwrap(), Some(record.clone()));
    record.name = "Second".to_owned();
    record.ack_required = false;
    record.export = class(1, 2, 3);
    tx.set_policy(&record).await.unwrap();
    assert_eq!(tx.policy(owner).await.unwrap(), Some(record));
    tx.commit().await.unwrap();
}

async fn a_smart_account_policy_applies_where_a_virtual_account_has_none(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    let prod = tx.insert_va(account.id, "Prod", 100).await.unwrap();
    assert_eq!(tx.policy_in_force(lab.id).await.unwrap(), None);
    let mut account_policy = sle_policy(PolicyOwner::SmartAccount(account.id));
    account_policy.name = "Account Policy".to_owned();
    tx.set_policy(&account_policy).await.unwrap();
    let mut lab_policy = sle_policy(PolicyOwner::VirtualAccount(lab.id));
    lab_policy.name = "Lab Policy".to_owned();
    tx.set_policy(&lab_policy).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = h.store.read().await.unwrap();
    assert_eq!(tx.policy_in_force(lab.id).await.unwrap(), Some(lab_policy.clone()));
    assert_eq!(tx.policy_in_force(prod.id).await.unwrap(), Some(account_policy.clone()));
    assert_eq!(tx.policy(PolicyOwner::VirtualAccount(prod.id)).await.unwrap(), None);
    drop(tx);

    let mut tx = h.store.begin().await.unwrap();
    assert!(tx.clear_policy(PolicyOwner::VirtualAccount(lab.id)).await.unwrap());
    assert!(!tx.clear_policy(PolicyOwner::VirtualAccount(lab.id)).await.unwrap());
    assert_eq!(tx.policy_in_force(lab.id).await.unwrap(), Some(account_policy));
    assert!(tx.clear_policy(PolicyOwner::SmartAccount(account.id)).await.unwrap());
    assert_eq!(tx.policy_in_force(lab.id).await.unwrap(), None);
    tx.commit().await.unwrap();
}

async fn a_dropped_transaction_changes_nothing(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    {
        let mut tx = h.store.begin().await.unwrap();
        tx.insert_pi(&pi(&lab, "PID:C9300,SN:1")).await.unwrap();
        tx.insert_va(account.id, "Half", 1).await.unwrap();
        // An error half way: the caller returns early and the Tx is dropped.
        assert!(tx.insert_va(account.id, "Half", 1).await.is_err());
    }
    let mut tx = h.store.begin().await.unwrap();
    assert_eq!(tx.pi_by_udi(account.id, "PID:C9300,SN:1").await.unwrap(), None);
    assert_eq!(tx.va_by_name(account.id, "Half").await.unwrap(), None);
    tx.insert_va(account.id, "Gone", 1).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    assert_eq!(tx.va_by_name(account.id, "Gone").await.unwrap(), None);
}

/// A commit frees the write lock before it is on disk: the next writer begins (and sees it)
/// while it syncs, and both are there after reopening once each is durable.
async fn the_next_writer_begins_while_a_commit_syncs(h: &Harness) {
    let (account, _) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    tx.insert_va(account.id, "First", 1).await.unwrap();
    let first = tx.commit_pending().await.unwrap();
    let wait = std::time::Duration::from_secs(30);
    let mut next = tokio::time::timeout(wait, h.store.begin())
        .await
        .expect("the next writer waited for the sync")
        .unwrap();
    assert!(next.va_by_name(account.id, "First").await.unwrap().is_some());
    next.insert_va(account.id, "Second", 1).await.unwrap();
    let second = next.commit_pending().await.unwrap();
    second.durable().await.unwrap();
    first.durable().await.unwrap();
    let store = h.reopen().await;
    let mut tx = store.read().await.unwrap();
    for name in ["First", "Second"] {
        assert!(tx.va_by_name(account.id, name).await.unwrap().is_some(), "{name}");
    }
    drop(tx);
    store.close().await;
}

async fn events_written_together_keep_their_order(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    let events: Vec<NewEvent> = (0..2_500)
        .map(|i| NewEvent {
            at: i,
            account_id: Some(account.id),
            va_id: (i % 2 == 0).then_some(lab.id),
            udi: None,
            message: format!("event {i}"),
            actor: "system".to_owned(),
        })
        .collect();
    let mut tx = h.store.begin().await.unwrap();
    tx.ingest_write(&IngestWrite { events: &events, ..Default::default() }).await.unwrap();
    tx.ingest_write(&IngestWrite { events: &[], ..Default::default() }).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    let all: Vec<String> =
        tx.events(account.id, None).await.unwrap().into_iter().map(|e| e.message).collect();
    let expected: Vec<String> = (0..2_500).map(|i| format!("event {i}")).collect();
    assert_eq!(all, expected);
    assert_eq!(tx.events(account.id, Some(lab.id)).await.unwrap().len(), 1_250);
}

async fn events_are_kept_in_order(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    for (i, va) in [(1, Some(lab.id)), (2, None), (3, Some(lab.id))] {
        tx.log(NewEvent {
            at: i,
            account_id: Some(account.id),
            va_id: va,
            udi: (i == 3).then(|| "PID:A,SN:1".to_owned()),
            message: format!("event {i}"),
            actor: format!("cli:user{i}"),
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    let all: Vec<String> =
        tx.events(account.id, None).await.unwrap().into_iter().map(|e| e.message).collect();
    assert_eq!(all, ["event 1", "event 2", "event 3"]);
    let lab_events = tx.events(account.id, Some(lab.id)).await.unwrap();
    assert_eq!(lab_events.len(), 2);
    assert_eq!(lab_events[1].udi.as_deref(), Some("PID:A,SN:1"));
    assert_eq!(lab_events[1].actor.as_deref(), Some("cli:user3"));
    let of_udi = tx.events_of_udi(lab.id, "PID:A,SN:1").await.unwrap();
    assert_eq!(of_udi.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(), ["event 3"]);
    assert!(tx.events_of_udi(lab.id, "PID:B,SN:2").await.unwrap().is_empty());
}

async fn move_requests_are_decided_once(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    let new = NewMoveRequest {
        account_id: account.id,
        va_id: lab.id,
        target_account: "other.example".to_owned(),
        target_va: "Main".to_owned(),
        feature: "network-advantage".to_owned(),
        entitlement_tag: "tag".to_owned(),
        quantity: 3,
        reason: "merger".to_owned(),
        requested_by: "api:ops (x)".to_owned(),
        requested_at: 10,
    };
    let mut tx = h.store.begin().await.unwrap();
    let first = tx.insert_move_request(&new).await.unwrap();
    let second =
        tx.insert_move_request(&NewMoveRequest { quantity: 1, ..new.clone() }).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(first.status, "PENDING");
    assert_eq!((first.quantity, first.reason.as_str()), (3, "merger"));
    assert!(second.id > first.id);

    let mut tx = h.store.begin().await.unwrap();
    assert!(tx.decide_move_request(first.id, "APPROVED", "cli:root", 20, "ok").await.unwrap());
    // Decided once: a second decision (another operator, another replica) changes nothing.
    assert!(!tx.decide_move_request(first.id, "REJECTED", "cli:eve", 21, "no").await.unwrap());
    tx.commit().await.unwrap();

    let mut tx = h.store.read().await.unwrap();
    let got = tx.move_request(first.id).await.unwrap().unwrap();
    assert_eq!(got.status, "APPROVED");
    assert_eq!(got.decided_by.as_deref(), Some("cli:root"));
    assert_eq!((got.decided_at, got.decision_note.as_deref()), (Some(20), Some("ok")));
    let listed: Vec<i64> =
        tx.move_requests(Some(account.id)).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(listed, [second.id, first.id], "newest first");
    assert_eq!(tx.move_requests(Some(account.id + 1000)).await.unwrap(), []);
    assert_eq!(tx.move_request(second.id + 1000).await.unwrap(), None);
}

async fn a_scheduled_run_is_claimed_once(h: &Harness) {
    let mut tx = h.store.begin().await.unwrap();
    // Never run: due at once.
    assert!(tx.claim_job("alerts", 100, 160, "replica-a").await.unwrap());
    // The same run again (a second replica at the same time): already taken.
    assert!(!tx.claim_job("alerts", 100, 160, "replica-b").await.unwrap());
    assert!(!tx.claim_job("alerts", 159, 219, "replica-b").await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = h.store.begin().await.unwrap();
    assert!(tx.claim_job("alerts", 160, 220, "replica-b").await.unwrap());
    assert!(tx.claim_job("expiry", 160, 220, "replica-b").await.unwrap(), "jobs are independent");
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    assert_eq!(
        tx.job_run("alerts").await.unwrap(),
        Some((220, Some(160), Some("replica-b".to_owned())))
    );
    assert_eq!(tx.job_run("never").await.unwrap(), None);
}

async fn id_tokens_count_uses_and_revoke(h: &Harness) {
    let (_, lab) = fixture(&h.store).await;
    let new = IdToken {
        id: 0,
        va_id: lab.id,
        token_hash: "abc".to_owned(),
        description: "lab".to_owned(),
        created_at: 100,
        expires_at: 200,
        max_uses: Some(2),
        uses: 0,
        revoked_at: None,
        token_text: Some("v1:sealed".to_owned()),
        created_by: Some("cli:ops".to_owned()),
        export_controlled: "Not Allowed".to_owned(),
    };
    let mut tx = h.store.begin().await.unwrap();
    let token = tx.insert_token(&new).await.unwrap();
    assert!(tx.insert_token(&new).await.is_err(), "a token hash is unique");
    tx.commit().await.unwrap();
    let mut tx = h.store.begin().await.unwrap();
    assert!(!tx.claim_token(token.id, 200).await.unwrap(), "expired at 200: no use taken");
    assert!(tx.claim_token(token.id, 120).await.unwrap());
    assert!(tx.claim_token(token.id, 120).await.unwrap());
    assert!(!tx.claim_token(token.id, 120).await.unwrap(), "max_uses 2: no third use");
    tx.revoke_token(token.id, 150).await.unwrap();
    tx.revoke_token(token.id, 160).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    let stored = tx.token_by_hash("abc").await.unwrap().unwrap();
    assert_eq!(
        (stored.uses, stored.max_uses, stored.revoked_at),
        (2, Some(2), Some(150)),
        "the first revocation time stays"
    );
    assert_eq!(
        (
            stored.token_text.as_deref(),
            stored.created_by.as_deref(),
            stored.export_controlled.as_str()
        ),
        (Some("v1:sealed"), Some("cli:ops"), "Not Allowed"),
        "the sealed text, creator and export flag are kept as given"
    );
    assert_eq!(tx.tokens(lab.id).await.unwrap(), vec![stored]);
    assert_eq!(tx.token_by_hash("nope").await.unwrap(), None);
    drop(tx);
    let mut tx = h.store.begin().await.unwrap();
    let unlimited = tx
        .insert_token(&IdToken { token_hash: "def".to_owned(), max_uses: None, ..new })
        .await
        .unwrap();
    assert!(tx.claim_token(unlimited.id, 120).await.unwrap());
    tx.revoke_token(unlimited.id, 130).await.unwrap();
    assert!(!tx.claim_token(unlimited.id, 140).await.unwrap(), "a revoked token has no use");
    tx.commit().await.unwrap();
}

fn new_client(account_id: i64, name: &str) -> NewApiClient {
    NewApiClient {
        client_id: format!("id-{name}"),
        secret_hash: format!("hash-{name}"),
        account_id,
        name: name.to_owned(),
        role: "admin".to_owned(),
        created_at: 100,
    }
}

async fn api_clients_and_access_tokens(h: &Harness) {
    let (account, _) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    let ops = tx.insert_client(&new_client(account.id, "ops")).await.unwrap();
    let err = tx.insert_client(&new_client(account.id, "ops")).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { what: "API client", .. }), "{err}");
    tx.insert_api_token("t1", ops.id, 100, 200).await.unwrap();
    tx.insert_api_token("t2", ops.id, 300, 400).await.unwrap();
    assert!(tx.insert_api_token("t1", ops.id, 100, 200).await.is_err(), "a token is unique");
    tx.commit().await.unwrap();

    let store = h.reopen().await;
    let mut tx = store.begin().await.unwrap();
    let token = tx.api_token("t1").await.unwrap().unwrap();
    assert_eq!((token.client.clone(), token.issued_at, token.expires_at), (ops.clone(), 100, 200));
    assert_eq!(tx.client_by_client_id("id-ops").await.unwrap(), Some(ops.clone()));
    assert_eq!(tx.clients(account.id).await.unwrap(), vec![ops.clone()]);
    assert_eq!(tx.purge_api_tokens(300).await.unwrap(), 1, "only the expired one");
    assert_eq!(tx.api_token("t1").await.unwrap(), None);
    tx.revoke_client(ops.id, 350).await.unwrap();
    assert_eq!(tx.api_token("t2").await.unwrap(), None, "revoking drops the client's tokens");
    assert_eq!(tx.client_by_client_id("id-ops").await.unwrap().unwrap().revoked_at, Some(350));
    tx.commit().await.unwrap();
    store.close().await;
}

async fn poll_results_are_kept_once(h: &Harness) {
    let (_, lab) = fixture(&h.store).await;
    let record = PollRecord {
        poll_id: 773_126_444_402_795_033,
        va_id: lab.id,
        action: "acknowledgements".to_owned(),
        correlation_id: "c1".to_owned(),
        result: "{}".to_owned(),
        created_at: 100,
    };
    let mut tx = h.store.begin().await.unwrap();
    assert_eq!(tx.insert_poll(&record).await.unwrap(), record);
    let later = PollRecord { correlation_id: "c2".to_owned(), ..record.clone() };
    assert_eq!(tx.insert_poll(&later).await.unwrap(), record, "the first result stays");
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    assert_eq!(tx.poll(record.poll_id).await.unwrap(), Some(record.clone()));
    assert_eq!(tx.poll(1).await.unwrap(), None);
    drop(tx);

    // Many at once (more than one statement's worth), one of them stored already.
    let many: Vec<PollRecord> = (1..=1_200)
        .map(|i| PollRecord { poll_id: i, correlation_id: format!("m{i}"), ..record.clone() })
        .chain([later.clone()])
        .collect();
    let mut tx = h.store.begin().await.unwrap();
    tx.ingest_write(&IngestWrite { polls: &many, ..Default::default() }).await.unwrap();
    let mut ids: Vec<i64> = (1_150..=1_250).collect();
    ids.push(record.poll_id);
    let mut owners = tx.ingest_lookup(&[], &[], &[], &ids).await.unwrap().polls;
    owners.sort();
    let mut expected: Vec<(i64, i64, String)> =
        (1_150..=1_200).map(|i| (i, lab.id, "acknowledgements".to_owned())).collect();
    expected.push((record.poll_id, lab.id, "acknowledgements".to_owned()));
    assert_eq!(owners, expected, "polls 1150..=1200 and the first, not 1201..");
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    assert_eq!(tx.poll(record.poll_id).await.unwrap(), Some(record), "the first result stays");
    assert_eq!(tx.poll(1_200).await.unwrap().map(|p| p.correlation_id), Some("m1200".to_owned()));
}

async fn savepoints_undo_only_their_part(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    tx.insert_pi(&pi(&lab, "PID:A,SN:1")).await.unwrap();
    tx.savepoint("part").await.unwrap();
    tx.insert_pi(&pi(&lab, "PID:A,SN:2")).await.unwrap();
    // A report of a UDI new to the store gives the UDI an id, undone with the savepoint.
    let report = ReceivedReport {
        va_id: lab.id,
        udi: "PID:A,SN:2".to_owned(),
        report_id: 1,
        entitlement_tag: "regid.na".to_owned(),
        count: 1,
        end_time: 1_700_000_000,
        status: "ACCEPTED".to_owned(),
        received_at: 10,
        envelope: "{}".to_owned(),
    };
    let one = std::slice::from_ref(&report);
    tx.ingest_write(&IngestWrite { reports: one, ..Default::default() }).await.unwrap();
    // A failing statement inside the savepoint leaves the transaction usable.
    assert!(tx.insert_pi(&pi(&lab, "PID:A,SN:2")).await.is_err());
    tx.rollback_to("part").await.unwrap();
    // After it, the UDI is given an id again and its report stored for good.
    let key = [(account.id, "PID:A,SN:2".to_owned(), 1)];
    assert!(tx.existing_reports(&key).await.unwrap().is_empty());
    tx.ingest_write(&IngestWrite { reports: one, ..Default::default() }).await.unwrap();
    assert_eq!(tx.existing_reports(&key).await.unwrap(), key);
    tx.savepoint("part").await.unwrap();
    tx.insert_va(account.id, "Kept", 100).await.unwrap();
    tx.release("part").await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    let udis: Vec<String> = tx.pis(lab.id).await.unwrap().into_iter().map(|p| p.udi).collect();
    assert_eq!(udis, ["PID:A,SN:1"]);
    assert!(tx.va_by_name(account.id, "Kept").await.unwrap().is_some());
}

async fn deleting_a_va_takes_its_tokens_and_polls(h: &Harness) {
    let (account, _) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    let spare = tx.insert_va(account.id, "Spare", 100).await.unwrap();
    tx.insert_token(&IdToken {
        id: 0,
        va_id: spare.id,
        token_hash: "h".to_owned(),
        description: String::new(),
        created_at: 100,
        expires_at: 200,
        max_uses: None,
        uses: 0,
        revoked_at: None,
        token_text: None,
        created_by: None,
        export_controlled: "Allowed".to_owned(),
    })
    .await
    .unwrap();
    tx.insert_poll(&PollRecord {
        poll_id: 7,
        va_id: spare.id,
        action: "acknowledgements".to_owned(),
        correlation_id: "c".to_owned(),
        result: "{}".to_owned(),
        created_at: 100,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = h.store.begin().await.unwrap();
    tx.delete_va(spare.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    assert_eq!(tx.va(spare.id).await.unwrap(), None);
    assert_eq!(tx.poll(7).await.unwrap(), None);
    assert_eq!(tx.token_by_hash("h").await.unwrap(), None);
}

/// SQLite: committed writes reach the database file through the background checkpoint (the
/// writer itself never checkpoints), and the store reads them back after reopening.
#[tokio::test]
async fn sqlite_checkpoints_the_log_in_the_background() {
    let harness = Harness::sqlite().await;
    let Reopen::Dir(dir) = &harness.reopen else { unreachable!("a SQLite harness") };
    let file = dir.join("authority.db");
    let size = || std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let before = size();
    let mut finished = harness.store.wal_checkpoints().expect("SQLite checkpoints");
    let (_, lab) = fixture(&harness.store).await;
    let rows: Vec<ReceivedReport> = (1..=200)
        .map(|i| ReceivedReport {
            va_id: lab.id,
            udi: "PID:C9300,SN:1".to_owned(),
            report_id: i,
            entitlement_tag: "regid.na".to_owned(),
            count: 1,
            end_time: i,
            status: "ACCEPTED".to_owned(),
            received_at: 10,
            envelope: format!("{{\"payload\":\"{}\"}}", "x".repeat(10_000)),
        })
        .collect();
    let mut tx = harness.store.begin().await.unwrap();
    tx.ingest_write(&IngestWrite { reports: &rows, ..Default::default() }).await.unwrap();
    tx.commit().await.unwrap();
    // Each finished checkpoint is an event; wait for the one that copies the 2 MB written.
    let copied = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while size() < before + 2_000_000 {
            finished.changed().await.unwrap();
        }
    })
    .await;
    assert!(copied.is_ok(), "the database file stayed at {} bytes", size());
    harness.store.close().await;
    let store = harness.reopen().await;
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.report_count(lab.id).await.unwrap(), 200);
    // Closing waits for every connection to come back.
    drop(tx);
    store.close().await;
    // PostgreSQL keeps its own log: the store has no checkpoints of its own there.
    if let Some(harness) = Harness::postgres().await {
        assert!(harness.store.wal_checkpoints().is_none());
        harness.finish().await;
    }
}

async fn first_contact_is_a_setting_of_each_virtual_account(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    assert_eq!(lab.first_contact, FirstContact::Allow, "trust on first use by default");
    let mut tx = h.store.begin().await.unwrap();
    let other = tx.insert_va(account.id, "Other", 100).await.unwrap();
    tx.set_first_contact(lab.id, FirstContact::Deny).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    assert_eq!(tx.va(lab.id).await.unwrap().unwrap().first_contact, FirstContact::Deny);
    assert_eq!(tx.va(other.id).await.unwrap().unwrap().first_contact, FirstContact::Allow);
    let listed: Vec<(String, FirstContact)> =
        tx.vas(account.id).await.unwrap().into_iter().map(|v| (v.name, v.first_contact)).collect();
    assert_eq!(
        listed,
        [("Lab".to_owned(), FirstContact::Deny), ("Other".to_owned(), FirstContact::Allow)]
    );
    drop(tx);
    // A dropped transaction changes nothing.
    let mut tx = h.store.begin().await.unwrap();
    tx.set_first_contact(lab.id, FirstContact::Allow).await.unwrap();
    drop(tx);
    let mut tx = h.store.read().await.unwrap();
    assert_eq!(tx.va(lab.id).await.unwrap().unwrap().first_contact, FirstContact::Deny);
}

async fn a_bind_grant_is_used_once_by_its_key(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    let grant = |va_id: i64, key: &str| BindGrant {
        id: 0,
        va_id,
        udi: "PID:A,SN:1".to_owned(),
        key_id: key.to_owned(),
        granted_by: "cli:op".to_owned(),
        granted_at: 100,
        used_at: None,
    };
    let mut tx = h.store.begin().await.unwrap();
    let spare = tx.insert_va(account.id, "Spare", 100).await.unwrap();
    let first = tx.insert_bind_grant(&grant(lab.id, "k1")).await.unwrap();
    tx.insert_bind_grant(&grant(spare.id, "k2")).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = h.store.begin().await.unwrap();
    assert_eq!(tx.take_bind_grant(lab.id, "PID:A,SN:1", "k2", 150).await.unwrap(), None, "key");
    assert_eq!(tx.take_bind_grant(lab.id, "PID:A,SN:2", "k1", 150).await.unwrap(), None, "UDI");
    assert_eq!(tx.take_bind_grant(spare.id, "PID:A,SN:1", "k1", 150).await.unwrap(), None, "VA");
    // Taken in a transaction that is dropped: still there.
    assert!(tx.take_bind_grant(lab.id, "PID:A,SN:1", "k1", 150).await.unwrap().is_some());
    drop(tx);
    let mut tx = h.store.begin().await.unwrap();
    let used = tx.take_bind_grant(lab.id, "PID:A,SN:1", "k1", 160).await.unwrap().unwrap();
    assert_eq!((used.id, used.used_at), (first.id, Some(160)));
    assert_eq!(tx.take_bind_grant(lab.id, "PID:A,SN:1", "k1", 170).await.unwrap(), None, "once");
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    let stored = tx.bind_grants(lab.id, "PID:A,SN:1").await.unwrap();
    assert_eq!(stored, vec![BindGrant { used_at: Some(160), ..first }]);
    drop(tx);
    // Deleting a virtual account takes its grants.
    let mut tx = h.store.begin().await.unwrap();
    tx.delete_va(spare.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = h.store.read().await.unwrap();
    assert!(tx.bind_grants(spare.id, "PID:A,SN:1").await.unwrap().is_empty());
}

/// Two smart accounts each hold an instance of the same UDI, with the same report ids and
/// usage of their own; within one smart account the UDI stays in one virtual account.
async fn a_udi_is_scoped_to_its_smart_account(h: &Harness) {
    let (account, lab) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    let rival = tx.insert_account("Rival Inc", "rival.com", 100).await.unwrap();
    let squat = tx.insert_va(rival.id, "Squat", 100).await.unwrap();
    let udi = "PID:C9300,SN:1";
    // Rival first, in one statement of the ingest; Example after it, one by one.
    let theirs = ProductInstance { public_key: "KEY9".to_owned(), ..pi(&squat, udi).registered(0) };
    tx.ingest_write(&IngestWrite { new_pis: std::slice::from_ref(&theirs), ..Default::default() })
        .await
        .unwrap();
    let mine = tx.insert_pi(&pi(&lab, udi)).await.unwrap();
    let same_account = tx.insert_va(account.id, "Other", 100).await.unwrap();
    let err = tx.insert_pi(&pi(&same_account, udi)).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { what: "product instance", .. }), "{err}");
    // A product instance whose account is not its virtual account's is refused.
    let err = tx
        .insert_pi(&NewProductInstance { account_id: rival.id, ..pi(&lab, "PID:C9300,SN:2") })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("PID:C9300,SN:2"), "{err}");

    let report = |va: &VirtualAccount, count: i64| ReceivedReport {
        va_id: va.id,
        udi: udi.to_owned(),
        report_id: 1,
        entitlement_tag: "regid.na".to_owned(),
        count,
        end_time: 1_000,
        status: "ACCEPTED".to_owned(),
        received_at: 10,
        envelope: format!("{{\"count\":{count}}}"),
    };
    let usage = |account_id: i64, count: i64| {
        let usage = Usage {
            pi_id: 0,
            udi: udi.to_owned(),
            entitlement_tag: "regid.na".to_owned(),
            feature: "network-advantage".to_owned(),
            count,
            as_of: 1_000,
            report_id: 1,
        };
        (account_id, usage)
    };
    let reports = [report(&squat, 9), report(&lab, 2)];
    let usages = [usage(rival.id, 9), usage(account.id, 2)];
    let write = IngestWrite { reports: &reports, usage: &usages, ..Default::default() };
    tx.ingest_write(&write).await.unwrap();
    // An instance moves only within its smart account.
    let err = tx.move_pi(&mine, squat.id).await.unwrap_err();
    assert!(err.to_string().contains(udi), "{err}");
    tx.commit().await.unwrap();

    let mut tx = h.store.read().await.unwrap();
    let found = tx
        .ingest_lookup(
            &[],
            &[(account.id, udi.to_owned(), 1), (rival.id, udi.to_owned(), 2)],
            &[(account.id, udi.to_owned())],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(found.reports, [(account.id, udi.to_owned(), 1)]);
    assert_eq!(found.pis, std::slice::from_ref(&mine));
    assert_eq!(tx.pi_by_udi(account.id, udi).await.unwrap(), Some(mine.clone()));
    let held = tx.pi_by_udi(rival.id, udi).await.unwrap().unwrap();
    assert_eq!((held.va_id, held.public_key.as_str()), (squat.id, "KEY9"));
    let all = tx.pis_by_udi(udi).await.unwrap();
    assert_eq!(all.iter().map(|p| p.account_id).collect::<Vec<_>>(), [rival.id, account.id]);
    assert_eq!(tx.usage(mine.id, "regid.na").await.unwrap().map(|u| u.count), Some(2));
    assert_eq!(tx.usage(held.id, "regid.na").await.unwrap().map(|u| u.count), Some(9));
    assert_eq!(tx.report_count(lab.id).await.unwrap(), 1);
    assert_eq!(tx.report_count(squat.id).await.unwrap(), 1);
    assert_eq!(tx.report_status(account.id, udi, 1).await.unwrap().as_deref(), Some("ACCEPTED"));
    assert_eq!(tx.pis(lab.id).await.unwrap(), [mine]);
}

fn new_user(account_id: i64, username: &str, role: &str) -> NewUser {
    NewUser {
        account_id,
        username: username.to_owned(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt-{username}$hash"),
        role: role.to_owned(),
        created_at: 100,
    }
}

async fn users_are_unique_per_smart_account_and_hold_tokens(h: &Harness) {
    let (account, _) = fixture(&h.store).await;
    let mut tx = h.store.begin().await.unwrap();
    let other = tx.insert_account("Other Corp", "other.com", 100).await.unwrap();
    let ops = tx.insert_client(&new_client(account.id, "ops")).await.unwrap();
    let alice = tx.insert_user(&new_user(account.id, "alice", "viewer")).await.unwrap();
    let bob = tx.insert_user(&new_user(account.id, "bob", "admin")).await.unwrap();
    let err = tx.insert_user(&new_user(account.id, "alice", "admin")).await.unwrap_err();
    assert!(matches!(&err, StoreError::Duplicate { what: "user", value } if value == "alice"));
    // The same username in another smart account is another user.
    let other_alice = tx.insert_user(&new_user(other.id, "alice", "admin")).await.unwrap();
    assert_ne!(other_alice.id, alice.id);
    tx.insert_user_token("u1", ops.id, alice.id, 100, 200).await.unwrap();
    tx.insert_user_token("u2", ops.id, bob.id, 100, 200).await.unwrap();
    tx.insert_api_token("c1", ops.id, 100, 200).await.unwrap();
    tx.commit().await.unwrap();

    let store = h.reopen().await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.users(account.id).await.unwrap(), vec![alice.clone(), bob.clone()]);
    assert_eq!(tx.user(account.id, "alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(tx.user(other.id, "alice").await.unwrap(), Some(other_alice.clone()));
    assert_eq!(tx.user(account.id, "carol").await.unwrap(), None);
    let token = tx.api_token("u1").await.unwrap().unwrap();
    assert_eq!((token.client.clone(), token.user.clone()), (ops.clone(), Some(alice.clone())));
    assert_eq!(tx.api_token("c1").await.unwrap().unwrap().user, None, "the client's own token");
    // Removing a user drops its tokens and nobody else's.
    assert!(tx.delete_user(alice.id).await.unwrap());
    assert!(!tx.delete_user(alice.id).await.unwrap(), "gone already");
    assert_eq!(tx.api_token("u1").await.unwrap(), None);
    assert!(tx.api_token("u2").await.unwrap().is_some());
    assert!(tx.api_token("c1").await.unwrap().is_some());
    assert_eq!(tx.users(account.id).await.unwrap(), vec![bob.clone()]);
    // Revoking the client drops the tokens its users got through it.
    tx.revoke_client(ops.id, 150).await.unwrap();
    assert_eq!(tx.api_token("u2").await.unwrap(), None);
    tx.commit().await.unwrap();
    store.close().await;
}
