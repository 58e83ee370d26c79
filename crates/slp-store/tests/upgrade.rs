//! A database written by an earlier slp opens under this one with its data intact: here, one
//! at schema version 5, whose reports were keyed by their UDI text, is migrated to reports
//! keyed by UDI id (migration 6), one at version 7, whose UDIs were authority-wide, to
//! UDIs scoped to their smart account (migration 8), and one at version 11, whose ID tokens
//! were kept by digest only, to tokens with a creator and no text (migration 12); on SQLite
//! and, when `SLP_TEST_POSTGRES_URL` is set, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

use slp_store::*;
use sqlx::Executor;

const SQLITE_V5: [&str; 5] = [
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_id_tokens.sql"),
    include_str!("../migrations/sqlite/0003_api.sql"),
    include_str!("../migrations/sqlite/0004_operations.sql"),
    include_str!("../migrations/sqlite/0005_account_policies.sql"),
];

const POSTGRES_V5: [&str; 5] = [
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_id_tokens.sql"),
    include_str!("../migrations/postgres/0003_api.sql"),
    include_str!("../migrations/postgres/0004_operations.sql"),
    include_str!("../migrations/postgres/0005_account_policies.sql"),
];

/// What a version-5 database holds: two instances' reports, the text UDI in each row.
const V5_DATA: &str = "
CREATE TABLE slp_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO slp_migrations (version, name) VALUES
    (1, 'init'), (2, 'id_tokens'), (3, 'api'), (4, 'operations'), (5, 'account_policies');
INSERT INTO accounts (id, name, domain, created_at) VALUES (1, 'Example Corp', 'example.com', 1);
INSERT INTO virtual_accounts (id, account_id, name, created_at) VALUES (1, 1, 'Lab', 1);
INSERT INTO reports (va_id, udi, report_id, entitlement_tag, count, end_time, status, received_at, envelope) VALUES
    (1, 'PID:C9300,SN:1', 7, 'regid.a', 2, 900, 'ACCEPTED', 10, '{\"payload\":\"one\"}'),
    (1, 'PID:C9300,SN:1', 8, 'regid.a', 3, 1800, 'ACCEPTED', 11, '{\"payload\":\"two\"}'),
    (1, 'PID:C9300,SN:2', 7, 'regid.b', 1, 900, 'REJECTED', 12, '{\"payload\":\"three\"}');
";

fn report(udi: &str, report_id: i64) -> ReceivedReport {
    ReceivedReport {
        va_id: 1,
        udi: udi.to_owned(),
        report_id,
        entitlement_tag: "regid.a".to_owned(),
        count: 1,
        end_time: 2_700,
        status: "ACCEPTED".to_owned(),
        received_at: 20,
        envelope: "{}".to_owned(),
    }
}

/// The reports of the version-5 database are found, by UDI and report id, after the upgrade;
/// a replay of them stores nothing; new reports of an old UDI and of a new one are stored.
async fn reports_survive(store: &Store) {
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.report_count(1).await.unwrap(), 3);
    assert_eq!(
        tx.report_status(1, "PID:C9300,SN:2", 7).await.unwrap().as_deref(),
        Some("REJECTED")
    );
    assert_eq!(tx.report_status(1, "PID:C9300,SN:2", 8).await.unwrap(), None);
    let keys = [
        (1, "PID:C9300,SN:1".to_owned(), 7),
        (1, "PID:C9300,SN:1".to_owned(), 9),
        (1, "PID:C9300,SN:2".to_owned(), 7),
    ];
    let mut found = tx.existing_reports(&keys).await.unwrap();
    found.sort();
    assert_eq!(found, vec![keys[0].clone(), keys[2].clone()]);
    // Report 8 of SN:1 was stored before the upgrade: a write that names it again is refused.
    let batch =
        [report("PID:C9300,SN:1", 8), report("PID:C9300,SN:1", 9), report("PID:C9300,SN:3", 1)];
    let err = tx.ingest_write(&IngestWrite { reports: &batch, ..Default::default() }).await;
    assert!(matches!(err, Err(StoreError::Duplicate { what: "report", .. })), "{err:?}");
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    tx.ingest_write(&IngestWrite { reports: &batch[1..], ..Default::default() }).await.unwrap();
    let keys = [(1, "PID:C9300,SN:1".to_owned(), 9), (1, "PID:C9300,SN:3".to_owned(), 1)];
    let mut found = tx.existing_reports(&keys).await.unwrap();
    found.sort();
    assert_eq!(found, keys);
    assert_eq!(tx.report_count(1).await.unwrap(), 5);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_version_5_sqlite_database_keeps_its_reports() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(SQLITE_FILE);
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    for sql in SQLITE_V5 {
        pool.execute(sql).await.unwrap();
    }
    pool.execute(V5_DATA).await.unwrap();
    pool.close().await;
    let store = Store::open_dir(dir.path()).await.unwrap();
    reports_survive(&store).await;
    store.close().await;
}

#[tokio::test]
async fn a_version_5_postgres_database_keeps_its_reports() {
    let Some(url) = std::env::var("SLP_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SLP_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
        return;
    };
    sqlx::any::install_default_drivers();
    let schema = format!("slp_upgrade_{}", std::process::id());
    let admin = sqlx::AnyPool::connect(&url).await.unwrap();
    admin.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await.unwrap();
    admin.execute(format!("CREATE SCHEMA {schema}").as_str()).await.unwrap();
    {
        let mut conn = admin.acquire().await.unwrap();
        conn.execute(format!("SET search_path TO {schema}").as_str()).await.unwrap();
        for sql in POSTGRES_V5 {
            conn.execute(sql).await.unwrap();
        }
        conn.execute(V5_DATA).await.unwrap();
        // The rows above were given ids by hand: the sequences go on after them.
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('accounts', 'id'), 1); \
             SELECT setval(pg_get_serial_sequence('virtual_accounts', 'id'), 1);",
        )
        .await
        .unwrap();
        conn.execute("RESET search_path").await.unwrap();
    }
    let store =
        Store::connect(&url, &ConnectOptions { schema: Some(schema.clone()) }).await.unwrap();
    reports_survive(&store).await;
    store.close().await;
    admin.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await.unwrap();
    admin.close().await;
}

const SQLITE_V7: [&str; 2] = [
    include_str!("../migrations/sqlite/0006_report_udis.sql"),
    include_str!("../migrations/sqlite/0007_binding.sql"),
];

const POSTGRES_V7: [&str; 2] = [
    include_str!("../migrations/postgres/0006_report_udis.sql"),
    include_str!("../migrations/postgres/0007_binding.sql"),
];

/// What a version-7 database holds (on top of the version-5 schema, no data): two smart
/// accounts; SN:1 was reported in Example's Lab (report 7), then removed there and registered
/// in Rival's Squat, which reported it too (report 8) and holds it now, with usage; SN:2 is
/// Example's.
const V7_DATA: &str = "
CREATE TABLE slp_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO slp_migrations (version, name) VALUES
    (1, 'init'), (2, 'id_tokens'), (3, 'api'), (4, 'operations'), (5, 'account_policies'),
    (6, 'report_udis'), (7, 'binding');
INSERT INTO accounts (id, name, domain, created_at) VALUES
    (1, 'Example Corp', 'example.com', 1), (2, 'Rival Inc', 'rival.com', 1);
INSERT INTO virtual_accounts (id, account_id, name, created_at) VALUES (1, 1, 'Lab', 1), (2, 2, 'Squat', 1);
INSERT INTO udis (id, udi) VALUES (1, 'PID:C9300,SN:1'), (2, 'PID:C9300,SN:2');
INSERT INTO reports (va_id, udi_id, report_id, entitlement_tag, count, end_time, status, received_at, envelope) VALUES
    (1, 1, 7, 'regid.a', 2, 900, 'ACCEPTED', 10, '{\"payload\":\"one\"}'),
    (2, 1, 8, 'regid.a', 3, 1800, 'ACCEPTED', 11, '{\"payload\":\"two\"}'),
    (1, 2, 7, 'regid.b', 1, 900, 'ACCEPTED', 12, '{\"payload\":\"three\"}');
INSERT INTO product_instances (id, va_id, udi, hostname, public_key, first_seen, last_contact) VALUES
    (3, 1, 'PID:C9300,SN:2', 'sw2', 'KEY2', 5, 12),
    (5, 2, 'PID:C9300,SN:1', NULL, 'KEY1', 6, 11);
INSERT INTO usage (pi_id, entitlement_tag, feature, count, as_of, report_id) VALUES
    (5, 'regid.a', 'a', 3, 1800, 8);
";

fn report_in(va_id: i64, udi: &str, report_id: i64) -> ReceivedReport {
    ReceivedReport { va_id, ..report(udi, report_id) }
}

/// After migration 8 each smart account finds its own reports and product instances of a UDI
/// and nothing of the other's; the other account may now register the UDI and send the same
/// report ids; the usage of the instance survives.
async fn udis_are_scoped_after_the_upgrade(store: &Store) {
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.report_status(1, "PID:C9300,SN:1", 7).await.unwrap().as_deref(),
        Some("ACCEPTED")
    );
    assert_eq!(
        tx.report_status(2, "PID:C9300,SN:1", 8).await.unwrap().as_deref(),
        Some("ACCEPTED")
    );
    assert_eq!(tx.report_status(1, "PID:C9300,SN:1", 8).await.unwrap(), None);
    assert_eq!(tx.report_status(2, "PID:C9300,SN:1", 7).await.unwrap(), None);
    assert_eq!(
        tx.report_status(1, "PID:C9300,SN:2", 7).await.unwrap().as_deref(),
        Some("ACCEPTED")
    );
    let rival = tx.pi_by_udi(2, "PID:C9300,SN:1").await.unwrap().unwrap();
    assert_eq!((rival.id, rival.va_id, rival.account_id), (5, 2, 2));
    assert_eq!(tx.pi_by_udi(1, "PID:C9300,SN:1").await.unwrap(), None);
    let sw2 = tx.pi_by_udi(1, "PID:C9300,SN:2").await.unwrap().unwrap();
    assert_eq!((sw2.id, sw2.hostname.as_deref(), sw2.account_id), (3, Some("sw2"), 1));
    assert_eq!(tx.usage(5, "regid.a").await.unwrap().map(|u| u.count), Some(3));

    // Example registers SN:1 beside Rival's, and its reports 8 and 9 are its own.
    let mine = tx
        .insert_pi(&NewProductInstance {
            va_id: 1,
            account_id: 1,
            udi: "PID:C9300,SN:1".to_owned(),
            hostname: None,
            public_key: "KEY9".to_owned(),
            now: 30,
            key_seen: None,
        })
        .await
        .unwrap();
    assert!(mine.id > 5, "a new id: {}", mine.id);
    let batch = [report_in(1, "PID:C9300,SN:1", 8), report_in(1, "PID:C9300,SN:1", 9)];
    tx.ingest_write(&IngestWrite { reports: &batch, ..Default::default() }).await.unwrap();
    let holders = tx.pis_by_udi("PID:C9300,SN:1").await.unwrap();
    assert_eq!(holders.iter().map(|p| p.account_id).collect::<Vec<_>>(), [2, 1]);
    tx.commit().await.unwrap();
    // Rival's report 8 stays, and cannot be stored twice.
    let mut tx = store.begin().await.unwrap();
    let again = [report_in(2, "PID:C9300,SN:1", 8)];
    let err = tx.ingest_write(&IngestWrite { reports: &again, ..Default::default() }).await;
    assert!(matches!(err, Err(StoreError::Duplicate { what: "report", .. })), "{err:?}");
    drop(tx);
    let mut tx = store.read().await.unwrap();
    assert_eq!((tx.report_count(1).await.unwrap(), tx.report_count(2).await.unwrap()), (4, 1));
    let keys = [(1, "PID:C9300,SN:1".to_owned(), 8), (2, "PID:C9300,SN:1".to_owned(), 8)];
    let mut found = tx.existing_reports(&keys).await.unwrap();
    found.sort();
    assert_eq!(found, keys);
}

#[tokio::test]
async fn a_version_7_sqlite_database_scopes_its_udis() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(SQLITE_FILE);
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    for sql in SQLITE_V5.iter().chain(&SQLITE_V7) {
        pool.execute(*sql).await.unwrap();
    }
    pool.execute(V7_DATA).await.unwrap();
    // Instance 9 was registered and removed: its id is not handed out again.
    pool.execute("UPDATE sqlite_sequence SET seq = 9 WHERE name = 'product_instances'")
        .await
        .unwrap();
    pool.close().await;
    let store = Store::open_dir(dir.path()).await.unwrap();
    udis_are_scoped_after_the_upgrade(&store).await;
    let mut tx = store.read().await.unwrap();
    let mine = tx.pi_by_udi(1, "PID:C9300,SN:1").await.unwrap().unwrap();
    assert_eq!(mine.id, 10, "the ids go on after the highest ever given");
    drop(tx);
    store.close().await;
}

#[tokio::test]
async fn a_version_7_postgres_database_scopes_its_udis() {
    let Some(url) = std::env::var("SLP_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SLP_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
        return;
    };
    sqlx::any::install_default_drivers();
    let schema = format!("slp_upgrade7_{}", std::process::id());
    let admin = sqlx::AnyPool::connect(&url).await.unwrap();
    admin.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await.unwrap();
    admin.execute(format!("CREATE SCHEMA {schema}").as_str()).await.unwrap();
    {
        let mut conn = admin.acquire().await.unwrap();
        conn.execute(format!("SET search_path TO {schema}").as_str()).await.unwrap();
        for sql in POSTGRES_V5.iter().chain(&POSTGRES_V7) {
            conn.execute(*sql).await.unwrap();
        }
        conn.execute(V7_DATA).await.unwrap();
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('accounts', 'id'), 2); \
             SELECT setval(pg_get_serial_sequence('virtual_accounts', 'id'), 2); \
             SELECT setval(pg_get_serial_sequence('udis', 'id'), 2); \
             SELECT setval(pg_get_serial_sequence('product_instances', 'id'), 9);",
        )
        .await
        .unwrap();
        conn.execute("RESET search_path").await.unwrap();
    }
    let store =
        Store::connect(&url, &ConnectOptions { schema: Some(schema.clone()) }).await.unwrap();
    udis_are_scoped_after_the_upgrade(&store).await;
    store.close().await;
    admin.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await.unwrap();
    admin.close().await;
}

const SQLITE_V11: [&str; 11] = [
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_id_tokens.sql"),
    include_str!("../migrations/sqlite/0003_api.sql"),
    include_str!("../migrations/sqlite/0004_operations.sql"),
    include_str!("../migrations/sqlite/0005_account_policies.sql"),
    include_str!("../migrations/sqlite/0006_report_udis.sql"),
    include_str!("../migrations/sqlite/0007_binding.sql"),
    include_str!("../migrations/sqlite/0008_account_udis.sql"),
    include_str!("../migrations/sqlite/0009_users.sql"),
    include_str!("../migrations/sqlite/0010_va_description.sql"),
    include_str!("../migrations/sqlite/0011_unverified_binding.sql"),
];

const POSTGRES_V11: [&str; 11] = [
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_id_tokens.sql"),
    include_str!("../migrations/postgres/0003_api.sql"),
    include_str!("../migrations/postgres/0004_operations.sql"),
    include_str!("../migrations/postgres/0005_account_policies.sql"),
    include_str!("../migrations/postgres/0006_report_udis.sql"),
    include_str!("../migrations/postgres/0007_binding.sql"),
    include_str!("../migrations/postgres/0008_account_udis.sql"),
    include_str!("../migrations/postgres/0009_users.sql"),
    include_str!("../migrations/postgres/0010_va_description.sql"),
    include_str!("../migrations/postgres/0011_unverified_binding.sql"),
];

/// What a version-11 database holds: two ID tokens of Lab, kept by digest only; the activity
/// log tells who created the first (token 10 of another virtual account has a like message).
const V11_DATA: &str = "
CREATE TABLE slp_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO slp_migrations (version, name) VALUES
    (1, 'init'), (2, 'id_tokens'), (3, 'api'), (4, 'operations'), (5, 'account_policies'),
    (6, 'report_udis'), (7, 'binding'), (8, 'account_udis'), (9, 'users'),
    (10, 'va_description'), (11, 'unverified_binding');
INSERT INTO accounts (id, name, domain, created_at) VALUES (1, 'Example Corp', 'example.com', 1);
INSERT INTO virtual_accounts (id, account_id, name, created_at) VALUES
    (1, 1, 'Lab', 1), (2, 1, 'Branch', 1);
INSERT INTO id_tokens (id, va_id, token_hash, description, created_at, expires_at, max_uses, uses) VALUES
    (1, 1, 'aaaa', 'first (lab)', 10, 1000, NULL, 0),
    (2, 1, 'bbbb', 'second', 20, 1000, 3, 1);
INSERT INTO events (at, account_id, va_id, udi, message, actor) VALUES
    (10, 1, 2, NULL, 'ID token 1 created (elsewhere)', 'cli:wrong'),
    (10, 1, 1, NULL, 'ID token 1 created (first (lab))', 'api:ops (abc)'),
    (11, 1, 1, NULL, 'ID token 10 created (x)', 'cli:other');
";

/// After migration 12 the tokens are listed with their creator where the log names one, no
/// text, and `Allowed`; a new token keeps what it is given.
async fn tokens_get_their_creator(store: &Store) {
    let mut tx = store.begin().await.unwrap();
    let tokens = tx.tokens(1).await.unwrap();
    let seen: Vec<_> = tokens
        .iter()
        .map(|t| (t.id, t.token_text.clone(), t.created_by.clone(), t.export_controlled.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, None, Some("api:ops (abc)".to_owned()), "Allowed".to_owned()),
            (2, None, None, "Allowed".to_owned()),
        ]
    );
    assert_eq!(tx.token_by_hash("bbbb").await.unwrap().map(|t| t.uses), Some(1));
    let new = tx
        .insert_token(&IdToken {
            id: 0,
            va_id: 1,
            token_hash: "cccc".to_owned(),
            description: "new".to_owned(),
            created_at: 30,
            expires_at: 1000,
            max_uses: None,
            uses: 0,
            revoked_at: None,
            token_text: Some("v1:k:sealed".to_owned()),
            created_by: Some("cli:ops".to_owned()),
            export_controlled: "Not Allowed".to_owned(),
        })
        .await
        .unwrap();
    assert!(new.id > 2, "{}", new.id);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_version_11_sqlite_database_lists_its_tokens_with_their_creator() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(SQLITE_FILE);
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    {
        // Migration 8 rebuilds tables others refer to: as the runner, with foreign keys off.
        let mut conn = pool.acquire().await.unwrap();
        conn.execute("PRAGMA foreign_keys = OFF").await.unwrap();
        for sql in SQLITE_V11 {
            conn.execute(sql).await.unwrap();
        }
        conn.execute("PRAGMA foreign_keys = ON").await.unwrap();
        conn.execute(V11_DATA).await.unwrap();
    }
    pool.close().await;
    let store = Store::open_dir(dir.path()).await.unwrap();
    tokens_get_their_creator(&store).await;
    store.close().await;
}

#[tokio::test]
async fn a_version_11_postgres_database_lists_its_tokens_with_their_creator() {
    let Some(url) = std::env::var("SLP_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SLP_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
        return;
    };
    sqlx::any::install_default_drivers();
    let schema = format!("slp_upgrade11_{}", std::process::id());
    let admin = sqlx::AnyPool::connect(&url).await.unwrap();
    admin.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await.unwrap();
    admin.execute(format!("CREATE SCHEMA {schema}").as_str()).await.unwrap();
    {
        let mut conn = admin.acquire().await.unwrap();
        conn.execute(format!("SET search_path TO {schema}").as_str()).await.unwrap();
        for sql in POSTGRES_V11 {
            conn.execute(sql).await.unwrap();
        }
        conn.execute(V11_DATA).await.unwrap();
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('accounts', 'id'), 1); \
             SELECT setval(pg_get_serial_sequence('virtual_accounts', 'id'), 2); \
             SELECT setval(pg_get_serial_sequence('id_tokens', 'id'), 2);",
        )
        .await
        .unwrap();
        conn.execute("RESET search_path").await.unwrap();
    }
    let store =
        Store::connect(&url, &ConnectOptions { schema: Some(schema.clone()) }).await.unwrap();
    tokens_get_their_creator(&store).await;
    store.close().await;
    admin.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await.unwrap();
    admin.close().await;
}
