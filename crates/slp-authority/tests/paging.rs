//! Every list of the authority API answers a page at a time (issue #16, defect 8): `limit` and
//! `offset` (query parameters of GET lists, body members of `POST …/licenses`), 100 rows by
//! default, at most 1000 (more is refused, naming the maximum), `totalRecords` for the whole
//! list. On SQLite, and on PostgreSQL when `SLP_TEST_POSTGRES_URL` is set. Through
//! `tower::ServiceExt::oneshot` on `router()`, a frozen virtual clock, no sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use slp_authority::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use slp_authority::*;
use slp_clock::VirtualClock;
use slp_core::license;
use slp_store::{NewEvent, NewMoveRequest, NewProductInstance, NewUpload, Store, Usage};
use tower::ServiceExt;

const SA: &str = "example.com";
const VA: &str = "Lab";
const BASE: &str = "/services/api/smart-accounts-and-licensing";
/// Rows seeded in each list: more than two default pages.
const ROWS: usize = 250;

struct Fixture {
    authority: Arc<Authority>,
    router: Router,
    token: String,
    _dir: tempfile::TempDir,
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// Example Corp / Lab with [`ROWS`] rows in each list: product instances (each with usage, so
/// each is past its ACK deadline: an alert), usage files, events, ID tokens, move requests and
/// virtual accounts; and an admin API client.
async fn fixture(store: Store, dir: tempfile::TempDir) -> Fixture {
    let clock = Arc::new(VirtualClock::frozen(at("2026-11-15T10:00:00Z")));
    let authority = Arc::new(Authority::open(store.clone(), clock).await.unwrap());
    authority.create_account("Example Corp", SA).await.unwrap();
    authority.create_va(SA, VA).await.unwrap();
    authority
        .add_license(
            SA,
            VA,
            &LicenseSpec {
                // A subscription: its policy class has an ACK deadline.
                tag: "dna-advantage".to_owned(),
                sku: "C9300-DNA-A".to_owned(),
                quantity: 10,
                term: None,
                enforcement: None,
                expires: Some("2030-01-01".parse().unwrap()),
            },
        )
        .await
        .unwrap();
    let tag = license::lookup("dna-advantage").unwrap().entitlement_tag;
    let old = at("2024-01-01T00:00:00Z").timestamp();
    let key = slp_wire::keys::KeyPair::generate().public_b64();
    let mut tx = store.begin().await.unwrap();
    let account = tx.account_by_key(SA).await.unwrap().unwrap();
    let va = tx.va_by_name(account.id, VA).await.unwrap().unwrap();
    for i in 0..ROWS {
        let udi = format!("PID:C9300-24UX,SN:P{i:04}");
        let pi = tx
            .insert_pi(&NewProductInstance {
                va_id: va.id,
                account_id: account.id,
                udi: udi.clone(),
                hostname: Some(format!("sw{i:04}")),
                public_key: key.clone(),
                now: old,
                key_seen: None,
            })
            .await
            .unwrap();
        tx.set_usage(&Usage {
            pi_id: pi.id,
            udi: udi.clone(),
            entitlement_tag: tag.to_owned(),
            feature: "dna-advantage".to_owned(),
            count: 1,
            as_of: old,
            report_id: 1,
        })
        .await
        .unwrap();
        tx.insert_upload(&NewUpload {
            va_id: va.id,
            file_name: format!("usage-{i:04}.txt"),
            sha256: format!("{i:064}"),
            uploaded_at: old + i as i64,
            status: "Processed".to_owned(),
            pi_count: 1,
            report_count: 1,
            ack: "x".repeat(1000),
        })
        .await
        .unwrap();
        tx.log(NewEvent {
            at: old + i as i64,
            account_id: Some(account.id),
            va_id: Some(va.id),
            udi: (i % 2 == 0).then(|| "PID:C9300-24UX,SN:P0000".to_owned()),
            message: format!("event {i:04}"),
            actor: "test".to_owned(),
        })
        .await
        .unwrap();
        tx.insert_move_request(&NewMoveRequest {
            account_id: account.id,
            va_id: va.id,
            target_account: "other.com".to_owned(),
            target_va: "Main".to_owned(),
            feature: "network-advantage".to_owned(),
            entitlement_tag: tag.to_owned(),
            quantity: 1,
            reason: format!("move {i:04}"),
            requested_by: "test".to_owned(),
            requested_at: old,
        })
        .await
        .unwrap();
        tx.insert_va(account.id, &format!("VA-{i:04}"), old).await.unwrap();
    }
    tx.commit().await.unwrap();
    for i in 0..ROWS {
        authority.create_token(SA, VA, &format!("token {i:04}"), 30, None).await.unwrap();
    }
    let (credentials, _) = authority.create_client(SA, "viewer", Role::Viewer).await.unwrap();
    let router = router(authority.clone());
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        credentials.client_id, credentials.client_secret
    );
    let request = Request::post("/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let reply = send(&router, request).await;
    assert_eq!(reply.0, StatusCode::OK, "{}", reply.1);
    let token = reply.1["access_token"].as_str().unwrap().to_owned();
    Fixture { authority, router, token, _dir: dir }
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

impl Fixture {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let request = Request::get(format!("{BASE}{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .body(Body::empty())
            .unwrap();
        send(&self.router, request).await
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let request = Request::post(format!("{BASE}{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap();
        send(&self.router, request).await
    }
}

/// One GET list: its path (with `?` or `&` ready for more parameters), the member that holds
/// its rows, how many rows it has and the row a name is read from.
struct List {
    path: String,
    key: &'static str,
    total: usize,
    /// A text that tells the rows apart, in the list's order.
    name: fn(&Value) -> String,
}

fn lists() -> Vec<List> {
    let va = format!("/v1/accounts/{SA}/virtual-accounts/{VA}");
    vec![
        List {
            path: format!("{va}/usage-files?"),
            key: "usageFiles",
            total: ROWS,
            name: |v| v["file_name"].as_str().unwrap().to_owned(),
        },
        List {
            path: format!("{va}/devices?"),
            key: "devices",
            total: ROWS,
            name: |v| v["sudi"]["udiSerialNumber"].as_str().unwrap().to_owned(),
        },
        List {
            path: format!("{va}/tokens?"),
            key: "tokens",
            total: ROWS,
            name: |v| v["description"].as_str().unwrap().to_owned(),
        },
        // The Lab's events: its creation, its licenses, the seeded ones and one per ID token.
        List {
            path: format!("{va}/events?"),
            key: "events",
            total: 2 + 2 * ROWS,
            name: |v| format!("{}{}", v["eventTime"], v["message"]),
        },
        // And the smart account's creation and its API client.
        List {
            path: format!("/v1/accounts/{SA}/events?"),
            key: "events",
            total: 4 + 2 * ROWS,
            name: |v| format!("{}{}", v["eventTime"], v["message"]),
        },
        List {
            path: format!("{va}/events?udi=PID:C9300-24UX,SN:P0000&"),
            key: "events",
            total: ROWS / 2,
            name: |v| v["message"].as_str().unwrap().to_owned(),
        },
        List {
            path: format!("/v1/accounts/{SA}/licenses/move-requests?"),
            key: "moveRequests",
            total: ROWS,
            name: |v| v["reason"].as_str().unwrap().to_owned(),
        },
        List {
            path: format!("/v1/accounts/{SA}/customer/virtual-accounts?"),
            key: "virtualAccounts",
            total: ROWS + 1,
            name: |v| v["name"].as_str().unwrap().to_owned(),
        },
        // One alert per instance past its ACK deadline, one for the pool (250 in use of 10).
        List {
            path: format!("/v1/accounts/{SA}/alerts?virtualAccount={VA}&"),
            key: "alerts",
            total: ROWS + 1,
            name: |v| format!("{}{}", v["kind"].as_str().unwrap(), v["udi"].as_str().unwrap_or("")),
        },
    ]
}

async fn every_list_pages_with_limit_offset_and_a_maximum(f: &Fixture) {
    for list in lists() {
        // No limit: the default page, and the length of the whole list.
        let (status, body) = f.get(&list.path).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", list.path);
        let first = body[list.key].as_array().unwrap();
        assert_eq!(first.len(), DEFAULT_PAGE_SIZE as usize, "{}", list.path);
        assert_eq!(body["totalRecords"], json!(list.total), "{}", list.path);
        // Every row once, in the list's order, when paged through.
        let mut names = Vec::new();
        let mut offset = 0;
        while offset < list.total {
            let (status, body) = f.get(&format!("{}limit=70&offset={offset}", list.path)).await;
            assert_eq!(status, StatusCode::OK, "{}: {body}", list.path);
            let rows = body[list.key].as_array().unwrap();
            assert_eq!(rows.len(), 70.min(list.total - offset), "{} at {offset}", list.path);
            names.extend(rows.iter().map(list.name));
            offset += 70;
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), list.total, "{}: a row twice or missing", list.path);
        assert_eq!(
            names[..DEFAULT_PAGE_SIZE as usize],
            first.iter().map(list.name).collect::<Vec<_>>(),
            "{}",
            list.path
        );
        // Past the end: no rows, the total still told.
        let (status, body) = f.get(&format!("{}offset=100000", list.path)).await;
        assert_eq!(status, StatusCode::OK, "{}", list.path);
        assert_eq!(body[list.key], json!([]), "{}", list.path);
        assert_eq!(body["totalRecords"], json!(list.total), "{}", list.path);
        // The maximum is allowed; a larger page, or a huge one, is refused by name.
        let (status, body) = f.get(&format!("{}limit={MAX_PAGE_SIZE}", list.path)).await;
        assert_eq!(status, StatusCode::OK, "{}", list.path);
        assert_eq!(body[list.key].as_array().unwrap().len(), list.total, "{}", list.path);
        for bad in [format!("{}", MAX_PAGE_SIZE + 1), "1000000000000".to_owned(), "0".to_owned()] {
            let (status, body) = f.get(&format!("{}limit={bad}", list.path)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{} limit={bad}: {body}", list.path);
            let message = body["message"].as_str().unwrap();
            assert!(
                message.contains("limit") && message.contains(&bad) && message.contains("1000"),
                "{}: {message}",
                list.path
            );
        }
        for (param, bad) in [("limit", "-5"), ("limit", "ten"), ("offset", "-1")] {
            let (status, body) = f.get(&format!("{}{param}={bad}", list.path)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{} {param}={bad}", list.path);
            let message = body["message"].as_str().unwrap();
            assert!(message.contains(param) && message.contains(bad), "{message}");
        }
    }
}

async fn licenses_page_by_body_members(f: &Fixture) {
    let path = format!("/v1/accounts/{SA}/licenses");
    let (status, body) = f.post(&path, &json!({"limit": 1, "offset": 0})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["licenses"].as_array().unwrap().len(), 1);
    assert_eq!(body["totalRecords"], json!(1));
    let (status, body) = f.post(&path, &json!({"offset": 1})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["licenses"], json!([]));
    let (status, body) = f.post(&path, &json!({"limit": MAX_PAGE_SIZE + 1})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("limit"), "{body}");
    let (status, body) = f.post(&path, &json!({"limit": -5})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("limit"), "{body}");
}

/// `?status=PENDING` keeps the pending move requests; another status is refused by name.
async fn move_requests_filter_pending(f: &Fixture) {
    let path = format!("/v1/accounts/{SA}/licenses/move-requests?status=PENDING&limit=5");
    let (status, body) = f.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totalRecords"], json!(ROWS));
    let path = format!("/v1/accounts/{SA}/licenses/move-requests?status=DONE");
    let (status, body) = f.get(&path).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("DONE"), "{body}");
}

async fn all_of_it(f: &Fixture) {
    every_list_pages_with_limit_offset_and_a_maximum(f).await;
    licenses_page_by_body_members(f).await;
    move_requests_filter_pending(f).await;
    // A refused page changed nothing.
    assert_eq!(f.authority.uploads(SA, VA).await.unwrap().len(), ROWS);
}

#[tokio::test]
async fn lists_page_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let f = fixture(store, dir).await;
    all_of_it(&f).await;
}

#[tokio::test]
async fn lists_page_on_postgres() {
    use sqlx::Executor;
    let Some(url) = std::env::var("SLP_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SLP_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
        return;
    };
    let schema = format!("slp_paging_{}", std::process::id());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&url).await.unwrap();
    let drop_schema = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
    admin.execute(drop_schema.as_str()).await.unwrap();
    let options = slp_store::ConnectOptions { schema: Some(schema.clone()) };
    let store = Store::connect(&url, &options).await.unwrap();
    let f = fixture(store.clone(), tempfile::tempdir().unwrap()).await;
    all_of_it(&f).await;
    store.close().await;
    admin.execute(drop_schema.as_str()).await.unwrap();
}

/// The OpenAPI document names the page parameters of every GET list.
#[test]
fn the_openapi_document_names_limit_and_offset() {
    let document = openapi();
    for list in lists() {
        let path = list.path.split('?').next().unwrap();
        let template = path
            .replace(&format!("/accounts/{SA}/"), "/accounts/{domain}/")
            .replace(&format!("/virtual-accounts/{VA}/"), "/virtual-accounts/{va}/");
        let operation = &document["paths"][format!("{BASE}{template}")]["get"];
        let names: Vec<&str> = operation["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{template} is not in the document"))
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(names.contains(&"limit") && names.contains(&"offset"), "{template}: {names:?}");
        assert_eq!(operation["parameters"][names.len() - 2]["schema"]["maximum"], json!(1000));
    }
}
