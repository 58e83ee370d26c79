//! Cisco's SLAC reservation flow on `POST {BASE}/v2/devices/authrequest`, with the request
//! bodies exactly as public tools send them: the reserve step for a device named by PID and
//! serial number alone (gve-sw/gve_devnet_smart_licensing_using_policy_offline_reservation_tools,
//! `01 - reserve license.py`), the return by the `remove_code` the device printed (`03 - remove
//! license.py`), each answered through `POST {BASE}/v2/accounts/poll`. On SQLite, and on
//! PostgreSQL when `SLP_TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::DateTime;
use serde_json::{Value, json};
use slp_authority::*;
use slp_clock::VirtualClock;
use slp_core::license;
use slp_store::Store;
use slp_wire::docs::Authorization;
use slp_wire::rum::Sudi;
use slp_wire::xml::{Document, Kind};
use tower::ServiceExt;

const SA: &str = "example.com";
const VA: &str = "Lab";
const BASE: &str = "https://swapi.example/services/api/smart-accounts-and-licensing/";
const PID: &str = "C9300-24UX";
const SERIAL: &str = "FOC2233A5ZV";
const HOSTNAME: &str = "sw1";

struct Fixture {
    authority: Arc<Authority>,
    router: Router,
}

/// Example Corp (example.com) / Lab with 2 export-controlled hseck9 licenses and 10
/// network-advantage; Other Corp (other.com) / Main.
async fn fixture_on(store: Store) -> Fixture {
    let now = DateTime::parse_from_rfc3339("2026-11-15T10:00:00Z").unwrap().to_utc();
    let clock = Arc::new(VirtualClock::frozen(now));
    let authority = Arc::new(Authority::open(store, clock).await.unwrap());
    authority.create_account("Example Corp", SA).await.unwrap();
    authority.create_va(SA, VA).await.unwrap();
    authority.create_account("Other Corp", "other.com").await.unwrap();
    authority.create_va("other.com", "Main").await.unwrap();
    for (tag, sku, quantity) in [("hseck9", "C9K-HSEC", 2), ("network-advantage", "C9300-NW-A", 10)]
    {
        let spec = LicenseSpec {
            tag: tag.to_owned(),
            sku: sku.to_owned(),
            quantity,
            term: None,
            enforcement: None,
            expires: None,
        };
        authority.add_license(SA, VA, &spec).await.unwrap();
    }
    let router = router(authority.clone());
    Fixture { authority, router }
}

/// Runs `scenario` on SQLite, then on PostgreSQL when `SLP_TEST_POSTGRES_URL` is set.
async fn on_both<F, Fut>(name: &str, scenario: F)
where
    F: Fn(Fixture) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    scenario(fixture_on(Store::open_dir(dir.path()).await.unwrap()).await).await;
    let Some(url) = std::env::var("SLP_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SLP_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
        return;
    };
    use sqlx::Executor;
    let schema = format!("slp_{name}_{}", std::process::id());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&url).await.unwrap();
    let drop_schema = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
    admin.execute(drop_schema.as_str()).await.unwrap();
    let options = slp_store::ConnectOptions { schema: Some(schema.clone()) };
    scenario(fixture_on(Store::connect(&url, &options).await.unwrap()).await).await;
    admin.execute(drop_schema.as_str()).await.unwrap();
}

/// A reply: status and JSON body.
struct Reply {
    status: StatusCode,
    body: Value,
}

/// The scripts' `SmartAccount` helper: a bearer token, the account ids and the device headers.
struct Script<'a> {
    f: &'a Fixture,
    token: String,
    smart_account_id: String,
    virtual_account_id: String,
}

impl Fixture {
    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    /// `getAuthToken`: a new API client of `account` with `role`, its token from client
    /// credentials in a form body.
    async fn token(&self, account: &str, role: Role) -> String {
        static CLIENTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = CLIENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("script-{n}");
        let (credentials, _) = self.authority.create_client(account, &name, role).await.unwrap();
        let form = format!(
            "client_id={}&client_secret={}&grant_type=client_credentials",
            credentials.client_id, credentials.client_secret
        );
        let request = Request::post("/oauth2/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        let reply = self.send(request).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["access_token"].as_str().unwrap().to_owned()
    }

    /// The scripts' helper for a client of `account` with `role`: its token, and the ids of
    /// `getAccountIDs` (`GET v2/accounts/search`, the smart account by domain, the virtual
    /// account by name) looked up by an admin of the account.
    async fn script(&self, account: &str, va: &str, role: Role) -> Script<'_> {
        let token = self.token(account, role).await;
        let admin = self.token(account, Role::Admin).await;
        let request = Request::get(url("v2/accounts/search"))
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap();
        let reply = self.send(request).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let mut ids = (String::new(), String::new());
        for smart_account in reply.body["accounts"].as_array().unwrap() {
            if smart_account["domain"].as_str().unwrap().eq_ignore_ascii_case(account) {
                ids.0 = smart_account["account_id"].to_string();
                for virtual_account in smart_account["virtual_accounts"].as_array().unwrap() {
                    if virtual_account["name"] == va {
                        ids.1 = virtual_account["virtual_account_id"].to_string();
                    }
                }
            }
        }
        Script { f: self, token, smart_account_id: ids.0, virtual_account_id: ids.1 }
    }

    /// (purchased, reserved) of hseck9 in example.com / Lab.
    async fn hseck9(&self) -> (i64, i64) {
        let rows = self.authority.licenses(SA, VA).await.unwrap();
        let row = rows.into_iter().find(|l| l.license == "hseck9").unwrap();
        (row.purchased, row.reserved)
    }
}

/// `BASE_URL + path` as the scripts build it, without the host.
fn url(rest: &str) -> String {
    BASE.trim_start_matches("https://swapi.example").to_owned() + rest
}

fn hsec_tag() -> &'static str {
    license::lookup("hseck9").unwrap().entitlement_tag
}

impl Script<'_> {
    /// A POST with the device headers of `createDeviceHeaders`, the body as `json.dumps` sends it.
    async fn post(&self, rest: &str, body: &Value) -> Reply {
        let requesting = json!({"udi_pid": PID, "udi_serial_number": SERIAL}).to_string();
        let request = Request::post(url(rest))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .header("X-CSW-SMART-ACCOUNT-ID", &self.smart_account_id)
            .header("X-CSW-VIRTUAL-ACCOUNT-ID", &self.virtual_account_id)
            .header("X-CSW-REQUESTING-SYSTEM", requesting)
            .body(Body::from(body.to_string()))
            .unwrap();
        self.f.send(request).await
    }

    /// `requestAuthCode(pid, serial, hostname)` with `LICENSE_TAG` = `entitlement` and the
    /// count sent as the string `count`; the poll id of the reply.
    async fn request_auth_code(&self, entitlement: &str, count: &str, nonce: &str) -> Value {
        let body = json!({
            "data": {
                "timestamp": 1_794_736_800_000_i64,
                "nonce": nonce,
                "licenses": [{
                    "sudi": {"udi_pid": PID, "udi_serial_number": SERIAL},
                    "hostname": HOSTNAME,
                    "keys": [{"entitlement": entitlement, "count": count}],
                }],
            }
        });
        let reply = self.post("v2/devices/authrequest", &body).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        assert_eq!(reply.body["status"], "OK_POLL", "{}", reply.body);
        reply.body["poll_id"].clone()
    }

    /// `removeDeviceLicense(pid, serial, hostname, remove_code)`.
    async fn remove_device_license(&self, remove_code: &str, nonce: &str) -> Value {
        let body = json!({
            "data": {
                "timestamp": 1_794_736_800_000_i64,
                "nonce": nonce,
                "licenses": [{
                    "sudi": {"udi_pid": PID, "udi_serial_number": SERIAL},
                    "hostname": HOSTNAME,
                    "keys": [],
                    "remove_code": remove_code,
                }],
            }
        });
        let reply = self.post("v2/devices/authrequest", &body).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        reply.body["poll_id"].clone()
    }

    /// `getPollRequest(poll_id, "authorizations")` until `COMPLETE`; the one entry's result.
    async fn poll(&self, poll_id: &Value, nonce: &str) -> Value {
        let body = json!({
            "data": {
                "timestamp": "1794736801000",
                "nonce": nonce,
                "poll_id": poll_id,
                "action": "authorizations",
            }
        });
        let reply = self.post("v2/accounts/poll", &body).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["status"], "COMPLETE", "{}", reply.body);
        let entries = reply.body["data"]["authorizations"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{}", reply.body);
        entries[0].clone()
    }
}

/// The authorization code of a `SUCCESS` entry, checked against the authority's key.
fn code_of(entry: &Value, authority: &Authority) -> Authorization {
    let text = BASE64.decode(entry["smart_license"].as_str().unwrap()).unwrap();
    let doc = Document::parse(std::str::from_utf8(&text).unwrap()).unwrap();
    let item = doc.of(Kind::Authorization).next().expect("an authorization code");
    item.verify(&authority.public_key(), "SLAC").unwrap();
    item.json().unwrap()
}

#[tokio::test]
async fn a_pid_and_serial_alone_reserve_a_code_and_its_remove_code_returns_it() {
    on_both("slac_reserve", |f| async move {
        let sa = f.script(SA, VA, Role::Reporter).await;
        assert_eq!(f.hseck9().await, (2, 0));

        // 01 - reserve license.py: one hseck9 for a device that never reported.
        let poll_id = sa.request_auth_code(hsec_tag(), "1", "AbCdEfGh12345678").await;
        let entry = sa.poll(&poll_id, "AbCdEfGh12345678").await;
        assert_eq!(entry["status"], "SUCCESS", "{entry}");
        assert!(entry["error_code"].is_null(), "{entry}");
        assert_eq!(entry["sudi"], json!({"udi_pid": PID, "udi_serial_number": SERIAL}));
        let code = code_of(&entry, &f.authority);
        assert_eq!(code.sudi, Sudi { udi_pid: PID.into(), udi_serial_number: SERIAL.into() });
        assert_eq!(
            (code.entitlements[0].feature.as_str(), code.entitlements[0].count),
            ("hseck9", 1)
        );
        assert_eq!(
            (code.smart_account.as_str(), code.virtual_account.as_str()),
            ("Example Corp", VA)
        );
        let remove_code = code.return_code.clone().expect("the code carries its return code");
        let groups: Vec<&str> = remove_code.split('-').collect();
        assert!(
            groups.len() == 4
                && groups
                    .iter()
                    .all(|g| g.len() == 6 && g.chars().all(|c| c.is_ascii_alphanumeric())),
            "{remove_code}"
        );
        assert_eq!(f.hseck9().await, (2, 1), "one key reserved");

        // A wrong remove code changes nothing and says why.
        let poll_id =
            sa.remove_device_license("AAAAAA-BBBBBB-CCCCCC-DDDDDD", "wrong0remove0code").await;
        let entry = sa.poll(&poll_id, "wrong0remove0code").await;
        assert_eq!(entry["status"], "FAILED", "{entry}");
        assert_eq!(entry["error_code"], "INVALID_RETURN", "{entry}");
        let message = entry["status_message"].as_str().unwrap();
        assert!(
            message.contains("AAAAAA-BBBBBB-CCCCCC-DDDDDD")
                && message.contains("is not the return code")
                && message.contains(SERIAL),
            "{message}"
        );
        assert_eq!(f.hseck9().await, (2, 1));

        // 03 - remove license.py: the return code the device printed gives the key back.
        let poll_id = sa.remove_device_license(&remove_code, "Zz9Yy8Xx7Ww6Vv5U").await;
        let entry = sa.poll(&poll_id, "Zz9Yy8Xx7Ww6Vv5U").await;
        assert_eq!(entry["status"], "SUCCESS", "{entry}");
        assert!(entry["error_code"].is_null(), "the script reads error_code: {entry}");
        assert!(
            entry.get("smart_license").is_some_and(Value::is_null),
            "smart_license is null: {entry}"
        );
        assert_eq!(f.hseck9().await, (2, 0), "the key is back in the pool");

        // The pool serves the freed key again.
        let poll_id = sa.request_auth_code(hsec_tag(), "2", "again00000000000").await;
        let entry = sa.poll(&poll_id, "again00000000000").await;
        assert_eq!(entry["status"], "SUCCESS", "{entry}");
        assert_eq!(f.hseck9().await, (2, 2));
    })
    .await;
}

#[tokio::test]
async fn a_reservation_the_pool_cannot_serve_fails_with_a_named_error() {
    on_both("slac_refused", |f| async move {
        let sa = f.script(SA, VA, Role::Admin).await;

        // More than the pool holds.
        let poll_id = sa.request_auth_code(hsec_tag(), "3", "three00000000000").await;
        let entry = sa.poll(&poll_id, "three00000000000").await;
        assert_eq!(entry["status"], "FAILED", "{entry}");
        assert_eq!(entry["error_code"], "INSUFFICIENT_LICENSES", "{entry}");
        assert!(entry["smart_license"].is_null(), "{entry}");
        let message = entry["status_message"].as_str().unwrap();
        assert!(
            message.contains("not enough hseck9") && message.contains("requested 3, available 2"),
            "{message}"
        );

        // An entitlement the virtual account has no enforced license of.
        let tag = "regid.2099-01.com.cisco.NOPE,1.0_00000000-0000-0000-0000-000000000000";
        let poll_id = sa.request_auth_code(tag, "1", "unknown000000000").await;
        let entry = sa.poll(&poll_id, "unknown000000000").await;
        assert_eq!(entry["status"], "FAILED", "{entry}");
        assert_eq!(entry["error_code"], "UNKNOWN_ENTITLEMENT", "{entry}");
        assert!(entry["status_message"].as_str().unwrap().contains(tag), "{entry}");

        // An unenforced license needs no authorization code.
        let na = license::lookup("network-advantage").unwrap().entitlement_tag;
        let poll_id = sa.request_auth_code(na, "1", "unenforced000000").await;
        let entry = sa.poll(&poll_id, "unenforced000000").await;
        assert_eq!(entry["error_code"], "UNKNOWN_ENTITLEMENT", "{entry}");
        assert_eq!(f.hseck9().await, (2, 0), "nothing reserved");

        // A count that is not a number is refused as a bad request, naming it.
        let body = json!({"data": {"nonce": "n", "licenses": [{
            "sudi": {"udi_pid": PID, "udi_serial_number": SERIAL},
            "keys": [{"entitlement": hsec_tag(), "count": "one"}],
        }]}});
        let reply = sa.post("v2/devices/authrequest", &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert!(reply.body["message"].as_str().unwrap().contains("\"one\" is not a whole number"));

        // An entry asking for nothing.
        let body = json!({"data": {"nonce": "n", "licenses": [{
            "sudi": {"udi_pid": PID, "udi_serial_number": SERIAL}, "keys": [],
        }]}});
        let reply = sa.post("v2/devices/authrequest", &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert!(
            reply.body["message"].as_str().unwrap().contains("data.licenses[0]: asks for nothing")
        );
    })
    .await;
}

#[tokio::test]
async fn a_reservation_needs_the_reporter_or_admin_role_of_the_smart_account() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture_on(Store::open_dir(dir.path()).await.unwrap()).await;

    // A viewer may look but not reserve.
    let viewer = f.script(SA, VA, Role::Viewer).await;
    let body = json!({"data": {"nonce": "n", "licenses": [{
        "sudi": {"udi_pid": PID, "udi_serial_number": SERIAL},
        "keys": [{"entitlement": hsec_tag(), "count": "1"}],
    }]}});
    let reply = viewer.post("v2/devices/authrequest", &body).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);

    // Another smart account's client cannot reach example.com's pool with its ids.
    let mine = f.script(SA, VA, Role::Admin).await;
    let mut other = f.script("other.com", "Main", Role::Admin).await;
    other.smart_account_id = mine.smart_account_id.clone();
    other.virtual_account_id = mine.virtual_account_id.clone();
    let reply = other.post("v2/devices/authrequest", &body).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(f.hseck9().await, (2, 0), "nothing reserved");

    f.authority.create_va(SA, "Branch").await.unwrap();
    let lab = mine.request_auth_code(hsec_tag(), "1", "lab0000000000000").await;
    assert_eq!(mine.poll(&lab, "lab0000000000000").await["status"], "SUCCESS");
    let code = code_of(&mine.poll(&lab, "lab0000000000000").await, &f.authority);
    // The code's return code is refused in another virtual account.
    let branch = f.script(SA, "Branch", Role::Admin).await;
    let poll_id = branch
        .remove_device_license(code.return_code.as_deref().unwrap(), "branch0000000000")
        .await;
    let entry = branch.poll(&poll_id, "branch0000000000").await;
    assert_eq!(entry["error_code"], "INVALID_RETURN", "{entry}");
    assert!(
        entry["status_message"].as_str().unwrap().contains("another virtual account"),
        "{entry}"
    );
    assert_eq!(f.hseck9().await, (2, 1), "still reserved");
}
