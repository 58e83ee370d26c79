//! The authority's HTTP API (Cisco CSSM paths, OAuth2 client credentials): through
//! `tower::ServiceExt::oneshot` on `router()`, and once over a real socket. SQLite in a temp
//! dir, a frozen virtual clock, no sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

use std::sync::Arc;

use crate::support::{Device, Postgres, signed_json, tag};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use slp_authority::*;
use slp_clock::VirtualClock;
use slp_store::Store;
use slp_wire::docs::{self, AuthRequestItem, AuthReturn, Authorization, Key, RumAck};
use slp_wire::rum::Sudi;
use slp_wire::xml::{Document, Kind};
use tower::ServiceExt;

const SA: &str = "example.com";
const VA: &str = "Lab";
const BASE: &str = "/services/api/smart-accounts-and-licensing";
const T: i64 = 1_794_736_800; // 2026-11-15T09:20:00Z, before the clock

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

struct Fixture {
    dir: tempfile::TempDir,
    clock: Arc<VirtualClock>,
    authority: Arc<Authority>,
    router: Router,
}

/// Example Corp (example.com) / Lab with 10 network-advantage, 1 dna-advantage and 2 hseck9,
/// and Other Corp (other.com) / Main.
async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    fixture_on(store, dir).await
}

async fn fixture_on(store: Store, dir: tempfile::TempDir) -> Fixture {
    let clock = Arc::new(VirtualClock::frozen(at("2026-11-15T10:00:00Z")));
    let authority = Arc::new(Authority::open(store, clock.clone()).await.unwrap());
    authority.create_account("Example Corp", SA).await.unwrap();
    authority.create_va(SA, VA).await.unwrap();
    authority.create_account("Other Corp", "other.com").await.unwrap();
    authority.create_va("other.com", "Main").await.unwrap();
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
    let router = router(authority.clone());
    Fixture { dir, clock, authority, router }
}

/// A reply: status and JSON body (Null when the body is not JSON).
struct Reply {
    status: StatusCode,
    body: Value,
    headers: axum::http::HeaderMap,
}

impl Reply {
    fn message(&self) -> String {
        self.body["message"].as_str().unwrap_or_default().to_owned()
    }
}

impl Fixture {
    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, body, headers }
    }

    /// A JSON request with an optional bearer token and the X-CSW headers.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        va: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(va) = va {
            request = request.header("X-CSW-VIRTUAL-ACCOUNT-ID", va);
        }
        let body = match body {
            Some(value) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(value).unwrap())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    async fn token_for(&self, client_id: &str, secret: &str) -> Reply {
        let form =
            format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
        let request = Request::post("/oauth2/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        self.send(request).await
    }

    /// A new API client of `account` with `role`, and an access token for it.
    async fn token(&self, account: &str, name: &str, role: Role) -> String {
        let (credentials, _) = self.authority.create_client(account, name, role).await.unwrap();
        let reply = self.token_for(&credentials.client_id, &credentials.client_secret).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["access_token"].as_str().unwrap().to_owned()
    }

    async fn in_use(&self, feature: &str) -> (i64, i64) {
        let row = self
            .authority
            .licenses(SA, VA)
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.license == feature)
            .unwrap();
        (row.in_use, row.reserved)
    }
}

/// A product instance: a key and a UDI.
/// The SLAC entries of `authrequest` a device sends.
trait SlacEntries {
    fn license_entry(&self, feature: &str, count: u64) -> Value;
    fn return_entry(&self, code_id: &str) -> Value;
}

impl SlacEntries for Device {
    fn license_entry(&self, feature: &str, count: u64) -> Value {
        let items = vec![AuthRequestItem::new(
            Sudi::of(&self.udi),
            vec![Key { entitlement: tag(feature).to_owned(), count }],
        )];
        json!({
            "sudi": self.sudi_json(),
            "software_tag_identifier": "regid.sw",
            "keys": [{"entitlement": tag(feature), "count": count}],
            "auth_request": signed_json(&docs::sign_json(Kind::AuthRequest, &items, &self.key)),
            "system_info": signed_json(&self.system_info()),
        })
    }

    fn return_entry(&self, code_id: &str) -> Value {
        let ret = AuthReturn {
            sudi: Sudi::of(&self.udi),
            code_id: code_id.to_owned(),
            return_code: "AAAAAA-BBBBBB".to_owned(),
            timestamp: "2026-11-15T10:00:00Z".to_owned(),
        };
        json!({
            "sudi": self.sudi_json(),
            "auth_return": signed_json(&docs::sign_json(Kind::AuthReturn, &ret, &self.key)),
            "system_info": signed_json(&self.system_info()),
        })
    }
}

fn report_usage(entries: Vec<Value>, nonce: &str) -> Value {
    json!({"data": {"timestamp": 1_794_736_800_000_i64, "nonce": nonce, "reports": entries}})
}

fn auth_request(entries: Vec<Value>, nonce: &str) -> Value {
    json!({"data": {"timestamp": 1_794_736_800_000_i64, "nonce": nonce, "licenses": entries}})
}

/// `poll_id` of a 202 reply: a JSON number, as Cisco sends it (it may exceed 2^53).
fn poll_id_text(poll_id: &Value) -> String {
    poll_id
        .as_u64()
        .map(|id| id.to_string())
        .unwrap_or_else(|| panic!("poll_id {poll_id} is not a number"))
}

fn poll_body(poll_id: &str, action: &str) -> Value {
    json!({"data": {"poll_id": poll_id, "action": action}})
}

fn decode(smart_license: &Value) -> String {
    String::from_utf8(BASE64.decode(smart_license.as_str().unwrap()).unwrap()).unwrap()
}

fn path(rest: &str) -> String {
    format!("{BASE}{rest}")
}

// ---- OAuth2 ---------------------------------------------------------------------------------

#[tokio::test]
async fn tokens_are_issued_expire_and_survive_a_restart() {
    let f = fixture().await;
    let (credentials, view) = f.authority.create_client(SA, "ops", Role::Admin).await.unwrap();
    assert_eq!((view.role.as_str(), view.status.as_str()), ("admin", "Active"));
    let reply = f.token_for(&credentials.client_id, &credentials.client_secret).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 3600);
    let token = reply.body["access_token"].as_str().unwrap().to_owned();

    let search = path("/v2/accounts/search");
    let reply = f.call(Method::GET, &search, Some(&token), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    // Another authority process on the same database accepts the token.
    let store = Store::open_dir(f.dir.path()).await.unwrap();
    let replica = Arc::new(Authority::open(store, f.clock.clone()).await.unwrap());
    let response = router(replica)
        .oneshot(
            Request::get(&search)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Past expires_in the token is refused, with a message that says so.
    f.clock.advance(Duration::seconds(3601));
    let reply = f.call(Method::GET, &search, Some(&token), None, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.message().contains("expired at 2026-11-15T11:00:00Z"), "{}", reply.body);
    assert_eq!(reply.body["status"], "ERROR");

    // Wrong secret, unknown client, wrong grant, missing grant.
    let reply = f.token_for(&credentials.client_id, "wrong").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body["error"], "invalid_client");
    let reply = f.token_for("nobody", &credentials.client_secret).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let request = Request::post("/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=authorization_code&code=c&client_id=a&client_secret=b"))
        .unwrap();
    let reply = f.send(request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"], "unsupported_grant_type");
    let request = Request::post("/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("client_id=a&client_secret=b"))
        .unwrap();
    let reply = f.send(request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.message().contains("grant_type is missing"), "{}", reply.body);

    // HTTP Basic client authentication works too; a revoked client gets nothing.
    let basic = BASE64.encode(format!("{}:{}", credentials.client_id, credentials.client_secret));
    let request = Request::post("/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, format!("Basic {basic}"))
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();
    let reply = f.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let fresh = reply.body["access_token"].as_str().unwrap().to_owned();
    f.authority.revoke_client(SA, &credentials.client_id).await.unwrap();
    let reply = f.call(Method::GET, &search, Some(&fresh), None, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = f.token_for(&credentials.client_id, &credentials.client_secret).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.message().contains("revoked"), "{}", reply.body);
}

#[tokio::test]
async fn missing_or_invalid_tokens_are_refused() {
    let f = fixture().await;
    let search = path("/v2/accounts/search");
    let reply = f.call(Method::GET, &search, None, None, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.message().contains("missing Authorization header"), "{}", reply.body);
    assert!(reply.headers.contains_key(header::WWW_AUTHENTICATE));

    let reply = f.call(Method::GET, &search, Some("not-a-token"), None, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.message().contains("access token is not valid"), "{}", reply.body);

    let request = Request::get(&search)
        .header(header::AUTHORIZATION, "Basic abc")
        .body(Body::empty())
        .unwrap();
    let reply = f.send(request).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.message().contains("not a Bearer token"), "{}", reply.body);

    // Reporting needs a token before anything else is looked at.
    let body = report_usage(vec![], "n");
    let reply =
        f.call(Method::POST, &path("/v2/devices/reportusage"), None, Some(VA), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_client_sees_only_its_smart_account() {
    let f = fixture().await;
    let ours = f.token(SA, "ops", Role::Admin).await;
    let theirs = f.token("other.com", "ops", Role::Admin).await;

    // Search lists only the client's own account.
    let reply = f.call(Method::GET, &path("/v2/accounts/search"), Some(&theirs), None, None).await;
    let accounts = reply.body["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["domain"], "other.com");

    for (method, rest, body) in [
        (Method::GET, "/v1/accounts/example.com/customer/virtual-accounts", None),
        (
            Method::POST,
            "/v1/accounts/example.com/customer/virtual-accounts",
            Some(json!({"name": "X"})),
        ),
        (Method::POST, "/v1/accounts/example.com/licenses", Some(json!({"virtualAccounts": [VA]}))),
        (Method::GET, "/v1/accounts/example.com/virtual-accounts/Lab/devices", None),
    ] {
        let reply = f.call(method, &path(rest), Some(&theirs), None, body.as_ref()).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{rest}: {}", reply.body);
        assert!(
            reply.message().contains("scoped to smart account \"other.com\""),
            "{}",
            reply.body
        );
    }
    // An account that does not exist is refused the same way (no probing).
    let reply = f
        .call(
            Method::GET,
            &path("/v1/accounts/nope.com/customer/virtual-accounts"),
            Some(&theirs),
            None,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // Reporting into another smart account by header.
    let sw1 = Device::new("FOC1");
    let body =
        report_usage(vec![sw1.usage_entry(&[sw1.report(100, "network-advantage", 1, T)])], "n1");
    let request = Request::post(path("/v2/devices/reportusage"))
        .header(header::AUTHORIZATION, format!("Bearer {theirs}"))
        .header("X-CSW-SMART-ACCOUNT-ID", SA)
        .header("X-CSW-VIRTUAL-ACCOUNT-ID", VA)
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    let reply = f.send(request).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert!(f.authority.product_instances(SA, VA).await.unwrap().is_empty());

    // Our poll id is not theirs to read.
    let reply = f
        .call(Method::POST, &path("/v2/devices/reportusage"), Some(&ours), Some(VA), Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let poll_id = poll_id_text(&reply.body["poll_id"]);
    let reply = f
        .call(
            Method::POST,
            &path("/v2/accounts/poll"),
            Some(&theirs),
            None,
            Some(&poll_body(&poll_id, "acknowledgements")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
}

#[tokio::test]
async fn every_client_reads_the_authority_key_and_nobody_without_a_token() {
    let f = fixture().await;
    let viewer = f.token(SA, "dashboard", Role::Viewer).await;
    let path = format!("{BASE}/v1/authority/key");
    let reply = f.call(Method::GET, &path, Some(&viewer), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["publicKey"], f.authority.public_key());
    assert_eq!(reply.body["keyId"], f.authority.key_id());
    let reply = f.call(Method::GET, &path, None, None, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
}

#[tokio::test]
async fn roles_limit_what_a_client_may_do() {
    let f = fixture().await;
    let reporter = f.token(SA, "relay", Role::Reporter).await;
    let viewer = f.token(SA, "dashboard", Role::Viewer).await;
    let sw1 = Device::new("FOC1");
    let body =
        report_usage(vec![sw1.usage_entry(&[sw1.report(100, "network-advantage", 1, T)])], "n1");
    let usage = path("/v2/devices/reportusage");

    let reply = f.call(Method::POST, &usage, Some(&viewer), Some(VA), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.message().contains("role viewer"), "{}", reply.body);
    let reply = f.call(Method::POST, &usage, Some(&reporter), Some(VA), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let poll_id = poll_id_text(&reply.body["poll_id"]);
    let poll = poll_body(&poll_id, "acknowledgements");
    let reply =
        f.call(Method::POST, &path("/v2/accounts/poll"), Some(&reporter), None, Some(&poll)).await;
    assert_eq!(reply.status, StatusCode::OK);

    // A reporting script looks its account up first, with the same token (issue #17).
    let search = path("/v2/accounts/search");
    let reply = f.call(Method::GET, &search, Some(&reporter), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let licenses = path("/v1/accounts/example.com/licenses");
    let reply = f.call(Method::POST, &licenses, Some(&reporter), None, Some(&json!({}))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.message().contains("role reporter"), "{}", reply.body);
    let reply = f.call(Method::GET, &search, Some(&viewer), None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = f.call(Method::POST, &licenses, Some(&viewer), None, Some(&json!({}))).await;
    assert_eq!(reply.status, StatusCode::OK, "read-only queries sent as POST are reads");
    let vas = path("/v1/accounts/example.com/customer/virtual-accounts");
    let reply =
        f.call(Method::POST, &vas, Some(&viewer), None, Some(&json!({"name": "New"}))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply =
        f.call(Method::POST, &vas, Some(&reporter), None, Some(&json!({"name": "New"}))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

// ---- reporting ------------------------------------------------------------------------------

#[tokio::test]
async fn reportusage_then_poll_gives_the_ack_a_file_upload_gives() {
    let f = fixture().await;
    let token = f.token(SA, "ops", Role::Admin).await;
    let sw1 = Device::new("FOC1");
    let reports =
        [sw1.report(100, "network-advantage", 1, T), sw1.report(101, "dna-advantage", 1, T)];

    // Numeric ids from /v2/accounts/search, as Cisco's samples send them.
    let reply = f.call(Method::GET, &path("/v2/accounts/search"), Some(&token), None, None).await;
    let account = &reply.body["accounts"][0];
    assert_eq!(account["domain"], SA);
    let sa_id = account["account_id"].as_i64().unwrap().to_string();
    let lab = &account["virtual_accounts"][0];
    assert_eq!((lab["name"].as_str(), lab["default"].as_bool()), (Some(VA), Some(true)));
    let va_id = lab["virtual_account_id"].as_i64().unwrap().to_string();

    let body = report_usage(vec![sw1.usage_entry(&reports)], "nonce-1");
    let request = Request::post(path("/v2/devices/reportusage"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("X-CSW-SMART-ACCOUNT-ID", &sa_id)
        .header("X-CSW-VIRTUAL-ACCOUNT-ID", &va_id)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    let reply = f.send(request).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.body["status"], "OK_POLL");
    assert_eq!(reply.body["action"], "acknowledgements");
    assert_eq!(reply.body["poll_interval"], 300);
    assert_eq!(reply.body["nonce"], "nonce-1");
    assert_eq!(reply.body["timestamp"], at("2026-11-15T10:00:00Z").timestamp_millis());
    let poll_id = poll_id_text(&reply.body["poll_id"]);
    assert!(poll_id.parse::<u64>().is_ok(), "{poll_id}");

    let poll = poll_body(&poll_id, "acknowledgements");
    let reply =
        f.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&poll)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "COMPLETE");
    assert_eq!(reply.body["type"], "acknowledgements");
    assert!(reply.body["correlation_id"].as_str().is_some_and(|c| !c.is_empty()));
    let acks = reply.body["data"]["acknowledgements"].as_array().unwrap();
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0]["sudi"], sw1.sudi_json());
    assert_eq!(acks[0]["software_tag_identifier"], "regid.sw");
    let ack_xml = decode(&acks[0]["smart_license"]);

    // The ACK verifies with the authority key and acknowledges both reports.
    let doc = Document::parse(&ack_xml).unwrap();
    let item = doc.of(Kind::RumAck).next().unwrap();
    item.verify(&f.authority.public_key(), "ACK").unwrap();
    let ack: RumAck = item.json().unwrap();
    let statuses: Vec<(u64, &str)> =
        ack.reports.iter().map(|r| (r.report_id, r.status.as_str())).collect();
    assert_eq!(statuses, [(100, "ACCEPTED"), (101, "ACCEPTED")]);
    assert_eq!(doc.of(Kind::TrustCode).count(), 1);

    // The file the device would have saved is the same document: uploading it is a replay
    // that returns the very same ACK.
    let outcome = f.authority.upload(SA, VA, "usage.txt", &sw1.usage_file(&reports)).await.unwrap();
    assert!(outcome.replayed, "the converted document is byte-identical to the device's file");
    assert_eq!(outcome.ack, ack_xml);
    assert_eq!(f.in_use("network-advantage").await, (1, 0));

    // An action that does not match, and an unknown poll id.
    let wrong = poll_body(&poll_id, "authorizations");
    let reply =
        f.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&wrong)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.message().contains("data.action"), "{}", reply.body);
    let unknown = poll_body("12345", "acknowledgements");
    let reply =
        f.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&unknown)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["status"], "ERROR");
    assert!(reply.message().contains("12345"), "{}", reply.body);
    let numeric = json!({"data": {"poll_id": poll_id.parse::<u64>().unwrap()}});
    let reply =
        f.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&numeric)).await;
    assert_eq!(reply.status, StatusCode::OK, "a numeric poll id works too: {}", reply.body);
}

#[tokio::test]
async fn replayed_reportusage_is_idempotent() {
    let f = fixture().await;
    let token = f.token(SA, "ops", Role::Admin).await;
    let sw1 = Device::new("FOC1");
    let reports = [sw1.report(100, "network-advantage", 3, T)];
    let body = report_usage(vec![sw1.usage_entry(&reports)], "nonce-1");
    let usage = path("/v2/devices/reportusage");

    let first = f.call(Method::POST, &usage, Some(&token), Some(VA), Some(&body)).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    f.clock.advance(Duration::minutes(5));
    let second = f.call(Method::POST, &usage, Some(&token), Some(VA), Some(&body)).await;
    assert_eq!(second.status, StatusCode::ACCEPTED);
    assert_eq!(first.body["poll_id"], second.body["poll_id"], "same request, same poll id");
    let poll = poll_body(&poll_id_text(&first.body["poll_id"]), "acknowledgements");
    let a = f.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&poll)).await;
    let b = f.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&poll)).await;
    assert_eq!(a.body, b.body);
    assert_eq!(f.in_use("network-advantage").await, (3, 0), "not doubled");

    // The same reports under a new request nonce: a new poll id, the same stored ACK.
    let again = report_usage(vec![sw1.usage_entry(&reports)], "nonce-2");
    let third = f.call(Method::POST, &usage, Some(&token), Some(VA), Some(&again)).await;
    assert_eq!(third.status, StatusCode::ACCEPTED);
    assert_ne!(third.body["poll_id"], first.body["poll_id"]);
    let poll = poll_body(&poll_id_text(&third.body["poll_id"]), "acknowledgements");
    let c = f.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&poll)).await;
    assert_eq!(
        c.body["data"]["acknowledgements"][0]["smart_license"],
        a.body["data"]["acknowledgements"][0]["smart_license"]
    );
    assert_eq!(f.in_use("network-advantage").await, (3, 0));
    assert_eq!(f.authority.uploads(SA, VA).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_poll_result_stored_with_its_ack_inline_still_reads() {
    // Results stored before each ACK was kept once (in its upload record) hold it inline.
    let f = fixture().await;
    let token = f.token(SA, "ops", Role::Admin).await;
    let sw1 = Device::new("FOC1");
    let body =
        report_usage(vec![sw1.usage_entry(&[sw1.report(1, "network-advantage", 1, T)])], "n");
    let usage = path("/v2/devices/reportusage");
    let reply = f.call(Method::POST, &usage, Some(&token), Some(VA), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let poll = poll_body(&poll_id_text(&reply.body["poll_id"]), "acknowledgements");
    let reply =
        f.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&poll)).await;
    let ack = reply.body["data"]["acknowledgements"][0].clone();
    assert!(decode(&ack["smart_license"]).contains("<smartLicense"), "{ack}");

    let mut tx = f.authority.store().begin().await.unwrap();
    let account = tx.account_by_key(SA).await.unwrap().unwrap();
    let va = tx.va_by_name(account.id, VA).await.unwrap();
    let inline = json!({"acknowledgements": [{
        "sudi": ack["sudi"],
        "software_tag_identifier": "regid.sw",
        "smart_license": "PGlubGluZS8+",
    }]});
    tx.insert_poll(&slp_store::PollRecord {
        poll_id: 77,
        va_id: va.unwrap().id,
        action: "acknowledgements".to_owned(),
        correlation_id: "c-77".to_owned(),
        result: inline.to_string(),
        created_at: 0,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let old = poll_body("77", "acknowledgements");
    let reply =
        f.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&old)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["data"]["acknowledgements"][0]["smart_license"], "PGlubGluZS8+");
    assert_eq!(reply.body["correlation_id"], "c-77");
}

/// The report statuses of the ACK of every entry of a reportusage poll result.
fn ack_statuses(f: &Fixture, poll: &Value) -> Vec<Vec<(u64, String)>> {
    poll["data"]["acknowledgements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let doc = Document::parse(&decode(&entry["smart_license"])).unwrap();
            let item = doc.of(Kind::RumAck).next().unwrap();
            item.verify(&f.authority.public_key(), "ACK").unwrap();
            let ack: RumAck = item.json().unwrap();
            ack.reports.into_iter().map(|r| (r.report_id, r.status)).collect()
        })
        .collect()
}

#[tokio::test]
async fn a_report_sent_twice_is_counted_once_within_and_across_requests() {
    let f = fixture().await;
    let token = f.token(SA, "ops", Role::Admin).await;
    let sw1 = Device::new("FOC1");
    let usage = path("/v2/devices/reportusage");
    let r = |id: u64, count: u64| sw1.report(id, "network-advantage", count, T + id as i64);
    // Two entries of one request overlap in report 2 (a relay that forwarded it twice).
    let body = report_usage(
        vec![sw1.usage_entry(&[r(1, 1), r(2, 2)]), sw1.usage_entry(&[r(2, 2), r(3, 3)])],
        "overlap-1",
    );
    let reply = f.call(Method::POST, &usage, Some(&token), Some(VA), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let poll = poll_body(&poll_id_text(&reply.body["poll_id"]), "acknowledgements");
    let result =
        f.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&poll)).await;
    let accepted = |ids: &[(u64, &str)]| -> Vec<(u64, String)> {
        ids.iter().map(|(id, s)| (*id, (*s).to_owned())).collect()
    };
    assert_eq!(
        ack_statuses(&f, &result.body),
        [
            accepted(&[(1, "ACCEPTED"), (2, "ACCEPTED")]),
            accepted(&[(2, "DUPLICATE"), (3, "ACCEPTED")])
        ]
    );
    assert_eq!(f.in_use("network-advantage").await, (3, 0), "usage of the latest report, 3");

    // A later request repeats report 3 and brings report 4.
    let body = report_usage(vec![sw1.usage_entry(&[r(3, 3), r(4, 5)])], "overlap-2");
    let reply = f.call(Method::POST, &usage, Some(&token), Some(VA), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let poll = poll_body(&poll_id_text(&reply.body["poll_id"]), "acknowledgements");
    let result =
        f.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&poll)).await;
    assert_eq!(ack_statuses(&f, &result.body), [accepted(&[(3, "DUPLICATE"), (4, "ACCEPTED")])]);
    assert_eq!(f.in_use("network-advantage").await, (5, 0));
    let pis = f.authority.product_instances(SA, VA).await.unwrap();
    assert_eq!(pis.len(), 1, "one product instance, registered once");
    // `/metrics` counts them the same way (slp_authority_reportusage_reports_total).
    let lane = f.authority.ingest_lane();
    assert_eq!((lane.accepted, lane.duplicate), (4, 2), "{lane:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_committed_together_keep_their_own_outcome() {
    let f = Arc::new(fixture().await);
    let token = f.token(SA, "ops", Role::Admin).await;
    let devices: Vec<Device> = (1..=4).map(|i| Device::new(&format!("GRP{i}"))).collect();
    let mut bodies = Vec::new();
    for (i, device) in devices.iter().enumerate() {
        let mut entry = device.usage_entry(&[device.report(10, "network-advantage", 1, T)]);
        if i == 2 {
            let payload = entry["usage"][0]["payload"].as_str().unwrap().replace("\"1\"", "\"7\"");
            entry["usage"][0]["payload"] = json!(payload);
        }
        bodies.push(report_usage(vec![entry], &format!("group-{i}")));
    }
    // The store's writer is held, so the requests queue up and are committed in groups (the
    // first runner takes what has arrived when its turn comes; the next, the rest).
    assert_eq!(f.authority.ingest_lane(), IngestLane::default(), "nothing committed yet");
    let writer = f.authority.store().begin().await.unwrap();
    let mut calls = Vec::new();
    for body in bodies {
        let (caller, token) = (f.clone(), token.clone());
        calls.push(tokio::spawn(async move {
            let usage = path("/v2/devices/reportusage");
            caller.call(Method::POST, &usage, Some(&token), Some(VA), Some(&body)).await
        }));
    }
    while f.authority.usage_requests_pending() < 4 {
        tokio::task::yield_now().await;
    }
    writer.rollback().await.unwrap();
    let mut replies = Vec::new();
    for call in calls {
        replies.push(call.await.unwrap());
    }
    for (i, reply) in replies.iter().enumerate() {
        if i == 2 {
            assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
            assert!(reply.message().contains("SN:GRP3"), "{}", reply.body);
        } else {
            assert_eq!(reply.status, StatusCode::ACCEPTED, "request {i}: {}", reply.body);
            let poll = poll_body(&poll_id_text(&reply.body["poll_id"]), "acknowledgements");
            let result = f
                .call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&poll))
                .await;
            assert_eq!(ack_statuses(&f, &result.body), [vec![(10, "ACCEPTED".to_owned())]]);
        }
    }
    // The refused request left nothing; the others are all there.
    let mut udis: Vec<String> =
        f.authority.product_instances(SA, VA).await.unwrap().into_iter().map(|pi| pi.udi).collect();
    udis.sort();
    assert_eq!(
        udis,
        ["PID:C9300-24UX,SN:GRP1", "PID:C9300-24UX,SN:GRP2", "PID:C9300-24UX,SN:GRP4"]
    );
    assert_eq!(f.in_use("network-advantage").await, (3, 0));
    assert_eq!(f.authority.uploads(SA, VA).await.unwrap().len(), 3);
    // The lane counts what was committed: the three good requests, not the refused one.
    let lane = f.authority.ingest_lane();
    assert_eq!((lane.requests, lane.reports), (3, 3), "{lane:?}");
    assert_eq!((lane.accepted, lane.duplicate), (3, 0), "{lane:?}");
    assert!((1..=3).contains(&lane.groups), "{lane:?}");
    assert!(lane.commit > std::time::Duration::ZERO, "{lane:?}");
}

#[tokio::test]
async fn a_tampered_report_is_refused_and_nothing_is_stored() {
    let f = fixture().await;
    let token = f.token(SA, "ops", Role::Admin).await;
    let sw1 = Device::new("FOC1");
    let sw2 = Device::new("FOC2");
    let good = sw1.usage_entry(&[sw1.report(100, "network-advantage", 1, T)]);
    let mut bad = sw2.usage_entry(&[sw2.report(200, "network-advantage", 1, T)]);
    let payload = bad["usage"][0]["payload"].as_str().unwrap().replace("\"1\"", "\"9\"");
    bad["usage"][0]["payload"] = json!(payload);
    let body = report_usage(vec![good, bad], "n1");
    let reply = f
        .call(Method::POST, &path("/v2/devices/reportusage"), Some(&token), Some(VA), Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    let message = reply.message();
    assert!(message.contains("data.reports[1]"), "{message}");
    assert!(message.contains("RUM report 200 of PID:C9300-24UX,SN:FOC2 rejected"), "{message}");
    // All or nothing: the good entry before it is not kept either.
    assert!(f.authority.product_instances(SA, VA).await.unwrap().is_empty());
    assert!(f.authority.uploads(SA, VA).await.unwrap().is_empty());
    assert_eq!(f.in_use("network-advantage").await, (0, 0));
}

#[tokio::test]
async fn a_report_signed_by_another_key_than_its_entry_names_is_refused() {
    let f = fixture().await;
    let token = f.token(SA, "ops", Role::Admin).await;
    let sw1 = Device::new("FOC1");
    // The same UDI with another key (a device that is not the one the entry speaks for).
    let impostor = Device::new("FOC1");
    let mut entry = sw1.usage_entry(&[
        sw1.report(1, "network-advantage", 1, T),
        impostor.report(2, "network-advantage", 5, T + 60),
    ]);
    assert_ne!(entry["usage"][0]["signature"], entry["usage"][1]["signature"]);
    let body = report_usage(vec![entry.take()], "impostor");
    let reply = f
        .call(Method::POST, &path("/v2/devices/reportusage"), Some(&token), Some(VA), Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    let message = reply.message();
    assert!(message.contains("RUM report 2 of PID:C9300-24UX,SN:FOC1 rejected"), "{message}");
    assert!(
        message.contains(&impostor.key.key_id()),
        "names the key it was signed with: {message}"
    );
    assert!(f.authority.product_instances(SA, VA).await.unwrap().is_empty());
    assert_eq!(f.in_use("network-advantage").await, (0, 0));
}

#[tokio::test]
async fn bad_bodies_get_clear_errors() {
    let f = fixture().await;
    let token = f.token(SA, "ops", Role::Admin).await;
    let usage = path("/v2/devices/reportusage");

    // A field missing deep inside: the message names its path.
    let body = json!({"data": {"reports": [{"sudi": {"udi_pid": "C9300-24UX"}}]}});
    let reply = f.call(Method::POST, &usage, Some(&token), Some(VA), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let message = reply.message();
    assert!(
        message.contains("data.reports[0].sudi") && message.contains("udi_serial_number"),
        "{message}"
    );

    let body = json!({"data": {"reports": [{"sudi": {"udi_pid": "C9300", "udi_serial_number": "S1"}, "usage": [{"payload": 5}]}]}});
    let reply = f.call(Method::POST, &usage, Some(&token), Some(VA), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.message().contains("data.reports[0].usage[0].payload"), "{}", reply.body);

    // Not JSON at all.
    let request = Request::post(&usage)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("X-CSW-VIRTUAL-ACCOUNT-ID", VA)
        .body(Body::from("{\"data\": "))
        .unwrap();
    let reply = f.send(request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.message().starts_with("malformed JSON body"), "{}", reply.body);

    // An empty entry, no reports, a missing or unknown virtual account.
    let sw1 = Device::new("FOC1");
    let body = report_usage(vec![json!({"sudi": sw1.sudi_json()})], "n");
    let reply = f.call(Method::POST, &usage, Some(&token), Some(VA), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.message().contains("data.reports[0]: carries no usage"), "{}", reply.body);
    let reply = f
        .call(Method::POST, &usage, Some(&token), Some(VA), Some(&report_usage(vec![], "n")))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.message().contains("data.reports: is empty"), "{}", reply.body);
    let body =
        report_usage(vec![sw1.usage_entry(&[sw1.report(1, "network-advantage", 1, T)])], "n");
    let reply = f.call(Method::POST, &usage, Some(&token), None, Some(&body)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.message().contains("X-CSW-VIRTUAL-ACCOUNT-ID"), "{}", reply.body);
    let reply = f.call(Method::POST, &usage, Some(&token), Some("Nowhere"), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.message().contains("\"Nowhere\""), "{}", reply.body);

    // The system information of another device.
    let sw2 = Device::new("FOC2");
    let mut entry = sw1.usage_entry(&[sw1.report(1, "network-advantage", 1, T)]);
    entry["system_info"] = signed_json(&sw2.system_info());
    let reply = f
        .call(Method::POST, &usage, Some(&token), Some(VA), Some(&report_usage(vec![entry], "n")))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.message().contains("data.reports[0].system_info"), "{}", reply.body);

    // Unknown endpoints and methods answer in the same JSON shape.
    let reply = f.call(Method::GET, &path("/v9/nothing"), Some(&token), None, None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["status"], "ERROR");
    let reply = f.call(Method::GET, &usage, Some(&token), None, None).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.body["status"], "ERROR");
    assert!(f.authority.product_instances(SA, VA).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_oversize_body_gets_413() {
    let f = fixture().await;
    let token = f.token(SA, "ops", Role::Admin).await;
    let big = vec![b' '; api::MAX_BODY_BYTES + 1];
    let request = Request::post(path("/v2/devices/reportusage"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("X-CSW-VIRTUAL-ACCOUNT-ID", VA)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(big))
        .unwrap();
    let reply = f.send(request).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.body["status"], "ERROR");
    assert!(
        reply.message().contains("larger than the authority's limit of 8388608 bytes"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn authrequest_issues_reserves_and_returns_slacs() {
    let f = fixture().await;
    let token = f.token(SA, "ops", Role::Admin).await;
    let key = f.authority.public_key();
    let sw1 = Device::new("FOC1");
    let sw2 = Device::new("FOC2");
    let auth = path("/v2/devices/authrequest");
    let poll = path("/v2/accounts/poll");

    // sw1 asks for one hseck9, sw2 for three (only one would be left): sw1 SUCCESS, sw2 FAILED.
    let body =
        auth_request(vec![sw1.license_entry("hseck9", 1), sw2.license_entry("hseck9", 3)], "a1");
    let reply = f.call(Method::POST, &auth, Some(&token), Some(VA), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.body["action"], "authorizations");
    let poll_id = poll_id_text(&reply.body["poll_id"]);
    let reply = f
        .call(Method::POST, &poll, Some(&token), None, Some(&poll_body(&poll_id, "authorizations")))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["type"], "authorizations");
    let results = reply.body["data"]["authorizations"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["status"], "SUCCESS");
    assert_eq!(results[0]["sudi"], sw1.sudi_json());
    let answer = Document::parse(&decode(&results[0]["smart_license"])).unwrap();
    let item = answer.of(Kind::Authorization).next().unwrap();
    item.verify(&key, "SLAC").unwrap();
    let code: Authorization = item.json().unwrap();
    assert_eq!(code.sudi, Sudi::of(&sw1.udi));
    assert_eq!((code.entitlements[0].feature.as_str(), code.entitlements[0].count), ("hseck9", 1));
    assert_eq!(results[1]["status"], "FAILED");
    assert!(results[1]["smart_license"].is_null(), "Cisco sends null: {}", results[1]);
    let message = results[1]["status_message"].as_str().unwrap();
    assert!(message.contains("not enough hseck9") && message.contains("FOC2"), "{message}");
    assert_eq!(f.in_use("hseck9").await, (0, 1), "one reserved, nothing for the failed entry");
    assert_eq!(f.authority.product_instances(SA, VA).await.unwrap().len(), 1);

    // The same request again: the same poll id, no second code.
    let again = f.call(Method::POST, &auth, Some(&token), Some(VA), Some(&body)).await;
    assert_eq!(poll_id_text(&again.body["poll_id"]), poll_id);
    assert_eq!(f.in_use("hseck9").await, (0, 1));

    // keys that disagree with the signed request are refused (its content: 422).
    let mut entry = sw2.license_entry("hseck9", 1);
    entry["keys"] = json!([{"entitlement": tag("hseck9"), "count": 2}]);
    let reply = f
        .call(Method::POST, &auth, Some(&token), Some(VA), Some(&auth_request(vec![entry], "a2")))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.message().contains("data.licenses[0].keys"), "{}", reply.body);

    // The return puts the key back.
    let body = auth_request(vec![sw1.return_entry(&code.code_id)], "a3");
    let reply = f.call(Method::POST, &auth, Some(&token), Some(VA), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let poll_id = poll_id_text(&reply.body["poll_id"]);
    let reply = f
        .call(Method::POST, &poll, Some(&token), None, Some(&poll_body(&poll_id, "authorizations")))
        .await;
    assert_eq!(reply.body["data"]["authorizations"][0]["status"], "SUCCESS", "{}", reply.body);
    assert_eq!(f.in_use("hseck9").await, (0, 0));

    // A badly signed request is refused as a whole.
    let mut entry = sw2.license_entry("hseck9", 1);
    entry["auth_request"]["data"] =
        json!(entry["auth_request"]["data"].as_str().unwrap().replace("FOC2", "FOC9"));
    entry["keys"] = json!([]);
    let reply = f
        .call(Method::POST, &auth, Some(&token), Some(VA), Some(&auth_request(vec![entry], "a4")))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
}

// ---- listings -------------------------------------------------------------------------------

#[tokio::test]
async fn accounts_licenses_devices_and_summary() {
    let f = fixture().await;
    let token = f.token(SA, "ops", Role::Admin).await;
    let sw1 = Device::new("FOC1");
    let body = report_usage(
        vec![sw1.usage_entry(&[
            sw1.report(100, "network-advantage", 4, T),
            sw1.report(101, "dna-advantage", 2, T),
        ])],
        "n1",
    );
    let reply = f
        .call(Method::POST, &path("/v2/devices/reportusage"), Some(&token), Some(VA), Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);

    // Virtual accounts: list, create, duplicate.
    let vas = path("/v1/accounts/example.com/customer/virtual-accounts");
    let reply = f
        .call(
            Method::POST,
            &vas,
            Some(&token),
            None,
            Some(&json!({"name": "Branch", "description": "b"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["virtualAccount"]["name"], "Branch");
    let reply =
        f.call(Method::POST, &vas, Some(&token), None, Some(&json!({"name": "Branch"}))).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(reply.message().contains("\"Branch\" already exists"), "{}", reply.body);
    let reply =
        f.call(Method::POST, &vas, Some(&token), None, Some(&json!({"description": "b"}))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.message().contains("name"), "{}", reply.body);
    let reply = f.call(Method::GET, &vas, Some(&token), None, None).await;
    let names: Vec<(&str, &str)> = reply.body["virtualAccounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["isDefault"].as_str().unwrap()))
        .collect();
    // Cisco writes isDefault as a string (issue #17).
    assert_eq!(names, [("Branch", "false"), ("Lab", "true")]);

    // Licenses of Lab.
    let reply = f
        .call(
            Method::POST,
            &path("/v1/accounts/example.com/licenses"),
            Some(&token),
            None,
            Some(&json!({"virtualAccounts": [VA]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let licenses = reply.body["licenses"].as_array().unwrap();
    let find = |name: &str| licenses.iter().find(|l| l["license"] == name).unwrap().clone();
    let na = find("network-advantage");
    assert_eq!(
        (&na["quantity"], &na["inUse"], &na["available"], &na["reserved"]),
        (&json!(10), &json!(4), &json!(6), &json!(0))
    );
    assert_eq!(
        (na["status"].as_str(), na["virtualAccount"].as_str()),
        (Some("In Compliance"), Some(VA))
    );
    assert_eq!(na["billingType"], "PREPAID");
    assert_eq!(na["licenseDetails"][0]["licenseType"], "PERPETUAL");
    assert_eq!(na["licenseDetails"][0]["startDate"], "2026-11-15");
    assert_eq!(na["licenseDetails"][0]["endDate"], Value::Null);
    let dna = find("dna-advantage");
    assert_eq!((&dna["inUse"], dna["status"].as_str()), (&json!(2), Some("Out Of Compliance")));
    assert_eq!(dna["licenseDetails"][0]["licenseType"], "TERM");
    assert_eq!(dna["licenseDetails"][0]["endDate"], "2027-11-01");
    let reply = f
        .call(
            Method::POST,
            &path("/v1/accounts/example.com/licenses"),
            Some(&token),
            None,
            Some(&json!({"virtualAccounts": ["Nope"]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    // Devices of Lab.
    let reply = f
        .call(
            Method::GET,
            &path("/v1/accounts/example.com/virtual-accounts/Lab/devices"),
            Some(&token),
            None,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["totalRecords"], 1);
    let device = &reply.body["devices"][0];
    assert_eq!(device["hostName"], "sw-FOC1");
    assert_eq!(device["sudi"], json!({"udiPid": "C9300-24UX", "udiSerialNumber": "FOC1"}));
    assert_eq!(device["lastContactDate"], "2026-11-15T10:00:00Z");
    let usage: Vec<(&str, i64)> = device["licenseUsage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["license"].as_str().unwrap(), u["quantity"].as_i64().unwrap()))
        .collect();
    assert_eq!(usage, [("dna-advantage", 2), ("network-advantage", 4)]);

    // The v3 summary, filtered by tag.
    let request = Request::post(path("/v3/licenses/summary"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("X-CSW-VIRTUAL-ACCOUNT-ID", VA)
        .body(Body::from(json!({"tags": [tag("dna-advantage")]}).to_string()))
        .unwrap();
    let reply = f.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "SUCCESS");
    let summary = reply.body["summary"].as_array().unwrap();
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0]["tag"], tag("dna-advantage"));
    assert_eq!(summary[0]["compliance_status"], "OUT_OF_COMPLIANCE");
    assert_eq!(
        (&summary[0]["prepaid_entitled"], &summary[0]["prepaid_inuse"]),
        (&json!(1), &json!(2))
    );
    let reply = f.call(Method::POST, &path("/v3/licenses/summary"), Some(&token), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let hsec = reply.body["summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["display_name"] == "Cat9K HSEC") // Cisco's display name (issue #17)
        .cloned()
        .unwrap();
    assert_eq!(
        (hsec["enforced"].as_bool(), hsec["export_restricted"].as_bool()),
        (Some(true), Some(true))
    );
}

// ---- over a real socket ---------------------------------------------------------------------

#[tokio::test]
async fn the_api_over_a_real_socket() {
    let f = fixture().await;
    let (credentials, _) = f.authority.create_client(SA, "relay", Role::Reporter).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(f.authority.clone(), listener, None, async {
        let _ = stopped.await;
    }));
    let base = format!("http://{addr}");
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

    let sw1 = Device::new("FOC1");
    let body =
        report_usage(vec![sw1.usage_entry(&[sw1.report(100, "network-advantage", 2, T)])], "s1");
    let response = http
        .post(format!("{base}{BASE}/v2/devices/reportusage"))
        .bearer_auth(&bearer)
        .header("X-CSW-SMART-ACCOUNT-ID", SA)
        .header("X-CSW-VIRTUAL-ACCOUNT-ID", VA)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let accepted: Value = response.json().await.unwrap();
    let response = http
        .post(format!("{base}{BASE}/v2/accounts/poll"))
        .bearer_auth(&bearer)
        .json(&poll_body(&poll_id_text(&accepted["poll_id"]), "acknowledgements"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let complete: Value = response.json().await.unwrap();
    let ack = decode(&complete["data"]["acknowledgements"][0]["smart_license"]);
    assert!(Document::parse(&ack).unwrap().of(Kind::RumAck).next().is_some());
    assert_eq!(f.in_use("network-advantage").await, (2, 0));

    // The device endpoint is served on the same socket.
    let response = http.post(format!("{base}/licservice/license")).body("{}").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(http.get(format!("{base}{BASE}/v2/accounts/search")).send().await.is_err(), "stopped");
}

// ---- PostgreSQL: two replicas on one database ------------------------------------------------

/// Two authority replicas on one PostgreSQL database (when `SLP_TEST_POSTGRES_URL` is set):
/// a token from one works on the other, the same report sent to both at once is counted
/// once, either answers the poll, and a failed license entry is undone alone.
/// Two replicas (fixtures) on one fresh PostgreSQL schema, and the schema; `None` when
/// `SLP_TEST_POSTGRES_URL` is not set.
async fn postgres_replicas(name: &str) -> Option<(Fixture, Fixture, Postgres)> {
    let (store, pg) = Postgres::store(name).await?;
    let a = fixture_on(store, tempfile::tempdir().unwrap()).await;
    let b = replica_of(&a, pg.another_store().await).await;
    Some((a, b, pg))
}

/// A second authority (replica) on `store`, sharing `a`'s clock.
async fn replica_of(a: &Fixture, store: Store) -> Fixture {
    let authority = Arc::new(Authority::open(store, a.clock.clone()).await.unwrap());
    Fixture {
        dir: tempfile::tempdir().unwrap(),
        clock: a.clock.clone(),
        router: router(authority.clone()),
        authority,
    }
}

#[tokio::test]
async fn two_replicas_on_postgres() {
    let Some((a, b, drop_schema)) = postgres_replicas("api_test").await else { return };
    let token = a.token(SA, "ops", Role::Admin).await;

    let sw1 = Device::new("FOC1");
    let body =
        report_usage(vec![sw1.usage_entry(&[sw1.report(100, "network-advantage", 2, T)])], "r1");
    let usage = path("/v2/devices/reportusage");
    let (first, second) = tokio::join!(
        a.call(Method::POST, &usage, Some(&token), Some(VA), Some(&body)),
        b.call(Method::POST, &usage, Some(&token), Some(VA), Some(&body)),
    );
    assert_eq!((first.status, second.status), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(first.body["poll_id"], second.body["poll_id"]);
    assert_eq!(a.in_use("network-advantage").await, (2, 0), "counted once");
    assert_eq!(a.authority.uploads(SA, VA).await.unwrap().len(), 1);
    let poll = poll_body(&poll_id_text(&first.body["poll_id"]), "acknowledgements");
    let from_b =
        b.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&poll)).await;
    assert_eq!(from_b.status, StatusCode::OK, "{}", from_b.body);
    let from_a =
        a.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&poll)).await;
    assert_eq!(from_a.body, from_b.body);

    // The same report in two different documents, one per replica at once: both are taken,
    // one ACK says ACCEPTED for it and the other DUPLICATE, and it is counted once.
    let report = sw1.report(101, "network-advantage", 3, T + 900);
    let next = sw1.report(102, "network-advantage", 3, T + 1800);
    let (one, two) = (
        report_usage(vec![sw1.usage_entry(std::slice::from_ref(&report))], "r2"),
        report_usage(vec![sw1.usage_entry(&[report, next])], "r3"),
    );
    let (first, second) = tokio::join!(
        a.call(Method::POST, &usage, Some(&token), Some(VA), Some(&one)),
        b.call(Method::POST, &usage, Some(&token), Some(VA), Some(&two)),
    );
    assert_eq!((first.status, second.status), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    let mut statuses = Vec::new();
    for reply in [&first, &second] {
        let poll = poll_body(&poll_id_text(&reply.body["poll_id"]), "acknowledgements");
        let result =
            a.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&poll)).await;
        statuses.extend(ack_statuses(&a, &result.body).concat());
    }
    statuses.retain(|(id, _)| *id == 101);
    statuses.sort();
    assert_eq!(statuses, [(101, "ACCEPTED".to_owned()), (101, "DUPLICATE".to_owned())]);
    assert_eq!(a.in_use("network-advantage").await, (3, 0), "counted once");

    let sw2 = Device::new("FOC2");
    let body =
        auth_request(vec![sw1.license_entry("hseck9", 1), sw2.license_entry("hseck9", 5)], "a1");
    let reply = b
        .call(Method::POST, &path("/v2/devices/authrequest"), Some(&token), Some(VA), Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let poll = poll_body(&poll_id_text(&reply.body["poll_id"]), "authorizations");
    let reply =
        a.call(Method::POST, &path("/v2/accounts/poll"), Some(&token), None, Some(&poll)).await;
    let results = reply.body["data"]["authorizations"].as_array().unwrap();
    let statuses: Vec<&str> = results.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["SUCCESS", "FAILED"]);
    assert_eq!(a.in_use("hseck9").await, (0, 1));
    assert_eq!(a.authority.product_instances(SA, VA).await.unwrap().len(), 1);

    // Expiry is the same on both.
    a.clock.advance(Duration::hours(2));
    let reply = b.call(Method::GET, &path("/v2/accounts/search"), Some(&token), None, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    a.authority.store().close().await;
    b.authority.store().close().await;
    drop_schema.drop_schema().await;
}

#[tokio::test]
async fn license_transfer_over_the_api() {
    let f = fixture().await;
    f.authority.create_va(SA, "Branch").await.unwrap();
    let admin = f.token(SA, "ops", Role::Admin).await;
    let viewer = f.token(SA, "look", Role::Viewer).await;
    let other = f.token("other.com", "them", Role::Admin).await;
    let url = path("/v1/accounts/example.com/virtual-accounts/Lab/licenses/transfer");
    let body = |quantity: i64, preview: bool| {
        json!({"preview": preview, "licenses": [{"license": "network-advantage", "licenseType": "PERPETUAL",
            "quantity": quantity, "targetVirtualAccount": "Branch", "precedence": "LONGEST_TERM_FIRST"}]})
    };
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&body(4, true))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["preview"], true);
    assert_eq!(reply.body["licenses"][0]["moves"][0]["quantity"], 4);
    assert_eq!(f.in_use("network-advantage").await, (0, 0));
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&body(4, false))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["licenses"][0]["status"], "SUCCESS");
    assert_eq!(reply.body["licenses"][0]["targetVirtualAccount"], "Branch");
    let lab = f.authority.licenses(SA, VA).await.unwrap();
    assert_eq!(lab.iter().find(|l| l.license == "network-advantage").unwrap().purchased, 6);

    // Over-transfer, a viewer, another smart account, a bad precedence, a malformed body.
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&body(7, false))).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert_eq!(reply.body["status"], "ERROR");
    assert!(reply.message().contains("only 6 available"), "{}", reply.body);
    let reply = f.call(Method::POST, &url, Some(&viewer), None, Some(&body(1, false))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = f.call(Method::POST, &url, Some(&other), None, Some(&body(1, false))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert!(reply.message().contains("scoped to smart account \"other.com\""), "{}", reply.body);
    let mut bad = body(1, false);
    bad["licenses"][0]["precedence"] = json!("SHORTEST_TERM_FIRST");
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&bad)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.message().contains("licenses[0].precedence"), "{}", reply.body);
    let reply = f
        .call(Method::POST, &url, Some(&admin), None, Some(&json!({"licenses": [{"quantity": 1}]})))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.message().contains("licenses[0]"), "{}", reply.body);
    let lab = f.authority.licenses(SA, VA).await.unwrap();
    assert_eq!(lab.iter().find(|l| l.license == "network-advantage").unwrap().purchased, 6);
}

#[tokio::test]
async fn id_tokens_over_the_api() {
    let f = fixture().await;
    let admin = f.token(SA, "ops", Role::Admin).await;
    let viewer = f.token(SA, "look", Role::Viewer).await;
    let other = f.token("other.com", "them", Role::Admin).await;
    let url = path("/v1/accounts/example.com/virtual-accounts/Lab/tokens");
    let body = json!({"description": "branch rollout", "expiresAfterDays": 30, "maxUses": 2,
        "exportControlled": "Allowed"});
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let info = &reply.body["tokenInfo"];
    let token = info["token"].as_str().unwrap().to_owned();
    assert_eq!((info["maxUses"].as_i64(), info["usesRemaining"].as_i64()), (Some(2), Some(2)));
    assert_eq!(info["expirationDate"], "2026-12-15T10:00:00Z");
    assert_eq!(info["status"], "Active");

    // This authority has no token key: it keeps the digest only, and its list shows
    // `token: null` (with a key, `cisco_manage` shows the text listed).
    let reply = f.call(Method::GET, &url, Some(&viewer), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let listed = &reply.body["tokens"][0];
    assert_eq!(listed["description"], "branch rollout");
    assert!(listed.get("token").is_some_and(Value::is_null), "{listed}");
    assert!(!reply.body.to_string().contains(&token));

    // Errors: a viewer creating, another smart account, a bad lifetime, an unknown token.
    let reply = f.call(Method::POST, &url, Some(&viewer), None, Some(&body)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = f.call(Method::GET, &url, Some(&other), None, None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply =
        f.call(Method::POST, &url, Some(&admin), None, Some(&json!({"expiresAfterDays": 0}))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.message().contains("1 to 365 days"), "{}", reply.body);
    let revoke = format!("{url}/revoke");
    let reply = f
        .call(Method::POST, &revoke, Some(&admin), None, Some(&json!({"tokens": [token, "bogus"]})))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert!(reply.message().starts_with("tokens[1]: not an ID token"), "{}", reply.body);
    let reply = f.call(Method::GET, &url, Some(&admin), None, None).await;
    assert_eq!(reply.body["tokens"][0]["status"], "Active", "nothing revoked by a refused call");

    let reply =
        f.call(Method::POST, &revoke, Some(&admin), None, Some(&json!({"tokens": [token]}))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = f.call(Method::GET, &url, Some(&admin), None, None).await;
    assert_eq!(reply.body["tokens"][0]["status"], "Revoked");
}

#[tokio::test]
async fn id_tokens_are_revoked_by_id_all_or_nothing() {
    let f = fixture().await;
    let admin = f.token(SA, "ops", Role::Admin).await;
    let url = path("/v1/accounts/example.com/virtual-accounts/Lab/tokens");
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&json!({}))).await;
    let id = reply.body["tokenInfo"]["id"].as_i64().unwrap();
    let revoke = format!("{url}/revoke");
    let reply =
        f.call(Method::POST, &revoke, Some(&admin), None, Some(&json!({"ids": [id, 999]}))).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert!(reply.message().starts_with("ids[1]: 999: not an ID token"), "{}", reply.body);
    let reply = f.call(Method::GET, &url, Some(&admin), None, None).await;
    assert_eq!(reply.body["tokens"][0]["status"], "Active", "nothing revoked by a refused call");
    let reply = f.call(Method::POST, &revoke, Some(&admin), None, Some(&json!({}))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let reply =
        f.call(Method::POST, &revoke, Some(&admin), None, Some(&json!({"ids": [id]}))).await;
    assert_eq!((reply.status, &reply.body["revoked"]), (StatusCode::OK, &json!([id])));
    let reply = f.call(Method::GET, &url, Some(&admin), None, None).await;
    assert_eq!(reply.body["tokens"][0]["status"], "Revoked");
}

#[tokio::test]
async fn reporting_policies_per_smart_and_virtual_account_over_the_api() {
    let f = fixture().await;
    let admin = f.token(SA, "ops", Role::Admin).await;
    let viewer = f.token(SA, "look", Role::Viewer).await;
    let other = f.token("other.com", "them", Role::Admin).await;
    f.authority.create_va(SA, "Prod").await.unwrap();
    let account_url = path("/v1/accounts/example.com/reporting-policy");
    let lab_url = path("/v1/accounts/example.com/virtual-accounts/Lab/reporting-policy");
    let prod_url = path("/v1/accounts/example.com/virtual-accounts/Prod/reporting-policy");

    // Nothing set: the Cisco default, for the account and for a virtual account.
    let reply = f.call(Method::GET, &lab_url, Some(&viewer), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        (&reply.body["origin"], &reply.body["setFor"]),
        (&json!("CISCO default"), &json!("default"))
    );
    assert_eq!(
        reply.body["unenforcedPerpetual"],
        json!({"first": 365, "ongoing": 0, "onChange": 90})
    );

    let body = json!({"name": "Account Policy", "unenforcedPerpetual": {"first": 30, "ongoing": 45, "onChange": 60}});
    let reply = f.call(Method::PUT, &account_url, Some(&admin), None, Some(&body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        (&reply.body["setFor"], &reply.body["ackRequired"]),
        (&json!("smart account"), &json!(true))
    );
    let body = json!({"name": "Prod Policy", "ackRequired": false,
        "enforced": {"first": 10, "ongoing": 20, "onChange": 30}});
    let reply = f.call(Method::PUT, &prod_url, Some(&admin), None, Some(&body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let reply = f.call(Method::GET, &lab_url, Some(&viewer), None, None).await;
    assert_eq!(
        (&reply.body["name"], &reply.body["setFor"]),
        (&json!("Account Policy"), &json!("smart account"))
    );
    assert_eq!(reply.body["unenforcedPerpetual"]["ongoing"], 45);
    let reply = f.call(Method::GET, &prod_url, Some(&viewer), None, None).await;
    assert_eq!(
        (&reply.body["name"], &reply.body["ackRequired"]),
        (&json!("Prod Policy"), &json!(false))
    );
    assert_eq!(reply.body["enforced"]["onChange"], 30);

    // The signed file a device imports carries the policy in force.
    let request = Request::get(format!("{lab_url}/download"))
        .header(header::AUTHORIZATION, format!("Bearer {viewer}"))
        .body(Body::empty())
        .unwrap();
    let response = f.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/xml");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let xml = String::from_utf8(bytes.to_vec()).unwrap();
    // Shaped like CSSM's download: the policy element is the root.
    assert!(xml.lines().nth(1).unwrap().starts_with("<smartLicensePolicy><data>"), "{xml}");
    assert!(!xml.contains("<smartLicense>"), "{xml}");
    let doc = Document::parse(&xml).unwrap();
    let item = doc.of(Kind::Policy).next().unwrap();
    item.verify(&f.authority.public_key(), "policy").unwrap();
    let policy: docs::PolicyDoc = item.json().unwrap();
    assert_eq!(policy.name, "Account Policy");

    // Errors: a viewer writing, another smart account, a bad class, an unknown member, nothing to remove.
    let reply = f.call(Method::PUT, &lab_url, Some(&viewer), None, Some(&body)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = f.call(Method::GET, &lab_url, Some(&other), None, None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let bad = json!({"name": "X", "export": {"first": 4000, "ongoing": 1, "onChange": 1}});
    let reply = f.call(Method::PUT, &lab_url, Some(&admin), None, Some(&bad)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.message().starts_with("export: day counts must be 0..=3650"), "{}", reply.body);
    let reply = f
        .call(Method::PUT, &lab_url, Some(&admin), None, Some(&json!({"name": "X", "exports": {}})))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.message().contains("unknown field `exports`"), "{}", reply.body);
    let reply = f.call(Method::DELETE, &lab_url, Some(&admin), None, None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert!(reply.message().contains("has no custom policy"), "{}", reply.body);
    let reply = f.call(Method::GET, &lab_url, Some(&viewer), None, None).await;
    assert_eq!(reply.body["name"], "Account Policy", "refused calls changed nothing");

    // Removing the account's policy: Lab is back on the Cisco default.
    let reply = f.call(Method::DELETE, &account_url, Some(&admin), None, None).await;
    assert_eq!((reply.status, &reply.body["setFor"]), (StatusCode::OK, &json!("default")));
    let reply = f.call(Method::GET, &lab_url, Some(&viewer), None, None).await;
    assert_eq!(reply.body["origin"], "CISCO default");

    // The account-wide activity log names who did it; ?virtualAccount= narrows it.
    let events = path("/v1/accounts/example.com/events");
    let reply = f.call(Method::GET, &events, Some(&viewer), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let messages: Vec<&str> = reply.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("custom policy \"Account Policy\" set for the smart account")),
        "{messages:?}"
    );
    assert!(
        reply.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["user"].as_str().is_some_and(|u| u.starts_with("api:ops")))
    );
    let reply = f
        .call(Method::GET, &format!("{events}?virtualAccount=Prod"), Some(&viewer), None, None)
        .await;
    let rows = reply.body["events"].as_array().unwrap();
    assert!(
        !rows.is_empty() && rows.iter().all(|e| e["virtualAccount"] == "Prod"),
        "{}",
        reply.body
    );
    let reply = f
        .call(Method::GET, &format!("{events}?virtualAccount=Nope"), Some(&viewer), None, None)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
}

#[tokio::test]
async fn virtual_accounts_are_renamed_and_deleted_over_the_api() {
    let f = fixture().await;
    f.authority.create_va(SA, "Spare").await.unwrap();
    let admin = f.token(SA, "ops", Role::Admin).await;
    let viewer = f.token(SA, "look", Role::Viewer).await;
    let other = f.token("other.com", "them", Role::Admin).await;
    let base = path("/v1/accounts/example.com/customer/virtual-accounts");

    let rename = format!("{base}/Spare/rename");
    let reply =
        f.call(Method::POST, &rename, Some(&viewer), None, Some(&json!({"name": "Old"}))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = f.call(Method::POST, &rename, Some(&admin), None, Some(&json!({"name": VA}))).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "a name in use: {}", reply.body);
    let reply =
        f.call(Method::POST, &rename, Some(&admin), None, Some(&json!({"name": "Old"}))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["message"], "virtual account \"Spare\" renamed to \"Old\"");

    // Lab holds licenses: refused, named; an empty one goes; another account's is out of scope.
    let reply = f.call(Method::POST, &format!("{base}/Lab/delete"), Some(&admin), None, None).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(reply.message().contains("still holds 3 license(s)"), "{}", reply.body);
    let delete = |domain: &str, va: &str| {
        path(&format!("/v1/accounts/{domain}/virtual-accounts/{va}/delete"))
    };
    let reply = f.call(Method::POST, &delete("other.com", "Main"), Some(&admin), None, None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = f.call(Method::POST, &delete(SA, "Old"), Some(&other), None, None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = f.call(Method::POST, &delete(SA, "Old"), Some(&admin), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = f.call(Method::GET, &base, Some(&admin), None, None).await;
    let names: Vec<&str> = reply.body["virtualAccounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [VA]);
}

#[tokio::test]
async fn usage_files_are_uploaded_listed_and_their_acks_downloaded_over_the_api() {
    let f = fixture().await;
    let reporter = f.token(SA, "relay", Role::Reporter).await;
    let viewer = f.token(SA, "look", Role::Viewer).await;
    let base = path("/v1/accounts/example.com/virtual-accounts/Lab/usage-files");
    let upload = |token: &str, name: &str, body: Vec<u8>| {
        Request::post(format!("{base}?name={name}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(body))
            .unwrap()
    };
    let sw1 = Device::new("FOC1");
    let file = sw1.usage_file(&[sw1.report(100, "network-advantage", 1, T)]);
    let reply = f.send(upload(&reporter, "all_rum.txt", file.clone())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["files"][0]["accepted"], 1);
    let ack = reply.body["ack"].as_str().unwrap().to_owned();
    assert!(ack.contains("<smartLicenseRumAck>"));

    // A relay's bundle: every file in one go, the ACK bundle back in base64.
    let sw2 = Device::new("FOC2");
    let files = vec![(
        "dev_C9300-24UX_FOC2_20261115T100000.xml".to_owned(),
        sw2.usage_file(&[sw2.report(200, "network-advantage", 2, T)]),
    )];
    let at = slp_wire::bundle::Stamp {
        creator: "relay",
        smart_account: SA,
        virtual_account: VA,
        ts: "20261115T100000",
        mtime: 0,
    };
    let bundle = slp_wire::bundle::write_upload(&files, at).unwrap();
    let reply = f.send(upload(&reporter, "UD_SA.tar.gz", bundle)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let ack_bundle = BASE64.decode(reply.body["ackBundle"].as_str().unwrap()).unwrap();
    assert_eq!(slp_wire::bundle::read_ack(&ack_bundle, "ack").unwrap().len(), 1);
    assert_eq!(f.in_use("network-advantage").await, (3, 0));

    // The status table and the ACK again.
    let reply = f.call(Method::GET, &base, Some(&viewer), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let rows = reply.body["usageFiles"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["file_name"], "all_rum.txt");
    let sha = rows[0]["sha256"].as_str().unwrap();
    let request = Request::get(format!("{base}/{sha}/ack"))
        .header(header::AUTHORIZATION, format!("Bearer {viewer}"))
        .body(Body::empty())
        .unwrap();
    let response = f.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    assert_eq!(String::from_utf8(bytes.to_vec()).unwrap(), ack);
    let reply = f.call(Method::GET, &format!("{base}/beef/ack"), Some(&viewer), None, None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);

    // Errors: a viewer uploading, an archive with `../`, an oversize body, a tampered file.
    let reply = f.send(upload(&viewer, "x.txt", file.clone())).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let mut header_block = tar::Header::new_old();
    header_block.as_old_mut().name[..9].copy_from_slice(b"../ev.xml");
    header_block.set_size(0);
    header_block.set_cksum();
    let mut evil = header_block.as_bytes().to_vec();
    evil.resize(2048, 0);
    let reply = f.send(upload(&reporter, "evil.tar", evil)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    assert!(
        reply.message().contains("member \"../ev.xml\": path with `..` refused"),
        "{}",
        reply.body
    );
    let reply = f.send(upload(&reporter, "big.txt", vec![b' '; api::MAX_BODY_BYTES + 1])).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", reply.body);
    let tampered = String::from_utf8(sw1.usage_file(&[sw1.report(101, "network-advantage", 5, T)]))
        .unwrap()
        .replace(r#"\"value\":\"5\""#, r#"\"value\":\"0\""#);
    let reply = f.send(upload(&reporter, "t.txt", tampered.into_bytes())).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    assert!(reply.message().contains("t.txt"), "{}", reply.body);
    let reply = f.call(Method::GET, &base, Some(&viewer), None, None).await;
    assert_eq!(reply.body["usageFiles"].as_array().unwrap().len(), 2, "nothing more stored");
}

#[tokio::test]
async fn the_activity_log_says_who_and_when() {
    let f = fixture().await;
    f.authority.create_va(SA, "Branch").await.unwrap();
    let admin = f.token(SA, "ops", Role::Admin).await;
    let viewer = f.token(SA, "look", Role::Viewer).await;
    let other = f.token("other.com", "them", Role::Admin).await;
    // A change made locally (the fixture's authority logs as `system`) and one by an operator.
    slp_authority::actor::acting_as("cli:alice".to_owned(), async {
        f.authority.create_token(SA, VA, "rollout", 30, None).await.unwrap();
    })
    .await;
    // One over the API.
    let url = path("/v1/accounts/example.com/virtual-accounts/Lab/licenses/transfer");
    let body = json!({"licenses": [{"license": "network-advantage", "quantity": 2,
        "targetVirtualAccount": "Branch", "precedence": "LONGEST_TERM_FIRST"}]});
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let events_url = path("/v1/accounts/example.com/virtual-accounts/Lab/events");
    let reply = f.call(Method::GET, &events_url, Some(&viewer), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let events = reply.body["events"].as_array().unwrap();
    assert_eq!(reply.body["totalRecords"], events.len());
    let by = |needle: &str| {
        events
            .iter()
            .find(|e| e["message"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {events:?}"))
    };
    let transfer = by("transferred");
    let clients = f.authority.clients(SA).await.unwrap();
    let ops_id = clients.iter().find(|c| c.name == "ops").unwrap().client_id.clone();
    assert_eq!(transfer["user"], format!("api:ops ({ops_id})"));
    assert_eq!(transfer["eventTime"], "2026-11-15T10:00:00Z");
    assert_eq!(by("ID token")["user"], "cli:alice");
    assert_eq!(by("10 network-advantage")["user"], "system");
    // The CLI shows the same (`event list`).
    let local = f.authority.events(SA, Some(VA), None).await.unwrap();
    assert!(local.iter().any(|e| e.actor.as_deref() == Some("cli:alice")));

    // Another smart account's client, and an unknown virtual account.
    let reply = f.call(Method::GET, &events_url, Some(&other), None, None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = f
        .call(
            Method::GET,
            &path("/v1/accounts/example.com/virtual-accounts/Nope/events"),
            Some(&viewer),
            None,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert!(reply.message().contains("\"Nope\""), "{}", reply.body);
}

#[tokio::test]
async fn license_moves_between_smart_accounts_are_requests_an_operator_decides() {
    let f = fixture().await;
    let admin = f.token(SA, "ops", Role::Admin).await;
    let viewer = f.token(SA, "look", Role::Viewer).await;
    let reporter = f.token(SA, "feeder", Role::Reporter).await;
    let other = f.token("other.com", "them", Role::Admin).await;
    let url = path("/v1/accounts/example.com/virtual-accounts/Lab/licenses/move-requests");
    let body = |quantity: i64, target: &str| {
        json!({"targetSmartAccount": target, "targetVirtualAccount": "Main",
            "license": "network-advantage", "quantity": quantity, "reason": "divestiture"})
    };
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&body(4, "other.com"))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let first = reply.body["moveRequest"].clone();
    assert_eq!(first["status"], "PENDING");
    assert_eq!(first["targetAccount"], "other.com");
    assert!(first["requestedBy"].as_str().unwrap().starts_with("api:ops ("), "{first}");
    // Nothing moved yet.
    let purchased = |account: &'static str, va: &'static str| {
        let authority = f.authority.clone();
        async move {
            authority
                .licenses(account, va)
                .await
                .unwrap()
                .into_iter()
                .find(|l| l.license == "network-advantage")
                .map_or(0, |l| l.purchased)
        }
    };
    assert_eq!((purchased(SA, VA).await, purchased("other.com", "Main").await), (10, 0));

    // Refused at once: too many, the same smart account, an unknown target, no reason, a
    // reporter, another smart account's client.
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&body(11, "other.com"))).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(reply.message().contains("only 10 available"), "{}", reply.body);
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&body(1, SA))).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&body(1, "nowhere.com"))).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert!(reply.message().contains("nowhere.com"), "{}", reply.body);
    let mut no_reason = body(1, "other.com");
    no_reason["reason"] = json!(" ");
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&no_reason)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let reply =
        f.call(Method::POST, &url, Some(&reporter), None, Some(&body(1, "other.com"))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = f.call(Method::POST, &url, Some(&other), None, Some(&body(1, "other.com"))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&json!({"quantity": 1}))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);

    // The list: a viewer sees it; the other smart account's client does not.
    let list = path("/v1/accounts/example.com/licenses/move-requests");
    let reply = f.call(Method::GET, &list, Some(&viewer), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["moveRequests"].as_array().unwrap().len(), 1);
    let reply = f.call(Method::GET, &list, Some(&other), None, None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let id = first["id"].as_i64().unwrap();
    let reply = f.call(Method::GET, &format!("{list}/{id}"), Some(&viewer), None, None).await;
    assert_eq!(reply.body["moveRequest"]["id"], id);
    let reply = f.call(Method::GET, &format!("{list}/abc"), Some(&viewer), None, None).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let reply =
        f.call(Method::GET, &format!("{list}/{}", id + 99), Some(&viewer), None, None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);

    // The operator approves: the licenses move; a second decision is refused.
    let (approved, moved) = slp_authority::actor::acting_as("cli:licops".to_owned(), async {
        f.authority.approve_move(id, "case 123").await.unwrap()
    })
    .await;
    assert_eq!(approved.status, "APPROVED");
    assert_eq!(approved.decided_by.as_deref(), Some("cli:licops"));
    assert_eq!((moved.quantity, moved.to.as_str()), (4, "other.com/Main"));
    assert_eq!((purchased(SA, VA).await, purchased("other.com", "Main").await), (6, 4));
    let err = f.authority.reject_move(id, "too late").await.unwrap_err();
    assert!(err.to_string().contains("was approved already by cli:licops"), "{err}");
    let theirs = f.authority.events("other.com", Some("Main"), None).await.unwrap();
    assert!(
        theirs.iter().any(|e| e.message.contains("request 1 approved by cli:licops")),
        "{theirs:?}"
    );

    // A request that can no longer be met stays pending when approval fails; a rejection
    // keeps its reason and moves nothing.
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&body(5, "other.com"))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let second = reply.body["moveRequest"]["id"].as_i64().unwrap();
    let reply = f.call(Method::POST, &url, Some(&admin), None, Some(&body(6, "other.com"))).await;
    let third = reply.body["moveRequest"]["id"].as_i64().unwrap();
    f.authority.approve_move(second, "").await.unwrap();
    let err = f.authority.approve_move(third, "").await.unwrap_err();
    assert!(err.to_string().contains("only 1 available"), "{err}");
    assert_eq!(f.authority.move_request(third, None).await.unwrap().status, "PENDING");
    assert!(f.authority.reject_move(third, " ").await.is_err(), "a rejection needs a reason");
    let rejected = f.authority.reject_move(third, "not enough left").await.unwrap();
    assert_eq!(
        (rejected.status.as_str(), rejected.decision_note.as_deref()),
        ("REJECTED", Some("not enough left"))
    );
    assert_eq!((purchased(SA, VA).await, purchased("other.com", "Main").await), (1, 9));
    assert!(matches!(
        f.authority.approve_move(999, "").await,
        Err(AuthorityError::MoveRequestNotFound(999))
    ));
}

impl Device {
    /// The file `license smart authorization request save` writes.
    fn slac_request_file(&self, feature: &str) -> Vec<u8> {
        let items = vec![AuthRequestItem::new(
            Sudi::of(&self.udi),
            vec![Key { entitlement: tag(feature).to_owned(), count: 1 }],
        )];
        let request = docs::sign_json(Kind::AuthRequest, &items, &self.key);
        Document { reports: Vec::new(), items: vec![self.system_info(), request] }
            .to_xml()
            .into_bytes()
    }

    /// The file `license smart authorization return` writes.
    fn return_file(&self, code_id: &str) -> String {
        let ret = AuthReturn {
            sudi: Sudi::of(&self.udi),
            code_id: code_id.to_owned(),
            return_code: "AAAAAA-BBBBBB".to_owned(),
            timestamp: "2026-11-15T10:00:00Z".to_owned(),
        };
        let item = docs::sign_json(Kind::AuthReturn, &ret, &self.key);
        Document { reports: Vec::new(), items: vec![self.system_info(), item] }.to_xml()
    }
}

#[tokio::test]
async fn devices_are_transferred_and_removed_over_the_api() {
    let f = fixture().await;
    f.authority.create_va(SA, "Branch").await.unwrap();
    let admin = f.token(SA, "ops", Role::Admin).await;
    let viewer = f.token(SA, "look", Role::Viewer).await;
    let other = f.token("other.com", "them", Role::Admin).await;
    let sw1 = Device::new("FOC1");
    let sw2 = Device::new("FOC2");
    let end = T - 60;
    for sw in [&sw1, &sw2] {
        let file = sw.usage_file(&[sw.report(1, "network-advantage", 2, end)]);
        f.authority.upload(SA, VA, "u.txt", &file).await.unwrap();
    }
    let slac = f.authority.upload(SA, VA, "slac.txt", &sw2.slac_request_file("hseck9")).await;
    let ack = Document::parse(&slac.unwrap().ack).unwrap();
    let code: Authorization = ack.of(Kind::Authorization).next().unwrap().json().unwrap();
    assert_eq!(f.in_use("network-advantage").await, (4, 0));
    assert_eq!(f.in_use("hseck9").await, (0, 1));

    // Transfer sw1 to Branch: its usage counts there now.
    let transfer = path("/v1/accounts/example.com/virtual-accounts/Lab/devices/transfer");
    let body = |sw: &Device, to: &str| json!({"productInstances": [{"sudi": sw.sudi_json(), "targetVirtualAccount": to}]});
    let reply =
        f.call(Method::POST, &transfer, Some(&admin), None, Some(&body(&sw1, "Branch"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["productInstances"][0]["status"], "SUCCESS");
    assert_eq!(reply.body["productInstances"][0]["targetVirtualAccount"], "Branch");
    assert_eq!(f.in_use("network-advantage").await, (2, 0));
    let branch = f.authority.licenses(SA, "Branch").await.unwrap();
    let na = branch.iter().find(|l| l.license == "network-advantage").unwrap();
    assert_eq!(
        (na.in_use, na.purchased),
        (2, 0),
        "counted in Branch, which has none: insufficient"
    );
    let devices = f.authority.product_instances(SA, "Branch").await.unwrap();
    assert_eq!(devices.iter().map(|d| d.udi.as_str()).collect::<Vec<_>>(), [sw1.udi.to_string()]);

    // Errors change nothing: unknown device, same VA, unknown VA, a viewer, another account,
    // a malformed body; a list with one bad entry moves none.
    let reply =
        f.call(Method::POST, &transfer, Some(&admin), None, Some(&body(&sw1, "Branch"))).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert!(reply.message().contains("PID:C9300-24UX,SN:FOC1 not found"), "{}", reply.body);
    let reply = f.call(Method::POST, &transfer, Some(&admin), None, Some(&body(&sw2, VA))).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    let reply =
        f.call(Method::POST, &transfer, Some(&admin), None, Some(&body(&sw2, "Nope"))).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    let reply =
        f.call(Method::POST, &transfer, Some(&viewer), None, Some(&body(&sw2, "Branch"))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply =
        f.call(Method::POST, &transfer, Some(&other), None, Some(&body(&sw2, "Branch"))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = f
        .call(
            Method::POST,
            &transfer,
            Some(&admin),
            None,
            Some(&json!({"productInstances": [{"sudi": {}}]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.message().contains("productInstances[0]"), "{}", reply.body);
    let mixed = json!({"productInstances": [
        {"sudi": sw2.sudi_json(), "targetVirtualAccount": "Branch"},
        {"sudi": {"udi_pid": "C9300-24UX", "udi_serial_number": "NOPE"}, "targetVirtualAccount": "Branch"}]});
    let reply = f.call(Method::POST, &transfer, Some(&admin), None, Some(&mixed)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert_eq!(f.authority.product_instances(SA, VA).await.unwrap().len(), 1, "sw2 stayed");

    // Remove sw2: refused while it holds its SLAC; with the device's return code it goes and
    // the reservation is freed.
    let remove = path("/v1/accounts/example.com/virtual-accounts/Lab/devices/remove");
    let reply = f
        .call(
            Method::POST,
            &remove,
            Some(&admin),
            None,
            Some(&json!({"productInstances": [{"sudi": sw2.sudi_json()}]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(reply.message().contains(&code.code_id), "{}", reply.body);
    assert_eq!(f.in_use("hseck9").await, (0, 1));
    let with_return = json!({"productInstances": [{"sudi": sw2.sudi_json(), "returnCode": sw2.return_file(&code.code_id)}]});
    let reply = f.call(Method::POST, &remove, Some(&admin), None, Some(&with_return)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["productInstances"][0]["authorizationCodes"][0], code.code_id.as_str());
    assert_eq!(f.in_use("hseck9").await, (0, 0));
    assert_eq!(f.in_use("network-advantage").await, (0, 0));
    assert!(f.authority.product_instances(SA, VA).await.unwrap().is_empty());

    // Each device's own event log.
    let events = path(&format!(
        "/v1/accounts/example.com/virtual-accounts/Lab/events?udi={}",
        "PID:C9300-24UX,SN:FOC2"
    ));
    let reply = f.call(Method::GET, &events, Some(&viewer), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let messages: Vec<&str> = reply.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(messages.last().unwrap().contains("removed"), "{messages:?}");
    assert!(messages.iter().all(|m| !m.contains("transferred")), "only sw2's events: {messages:?}");
    let reply = f
        .call(Method::GET, &path("/v1/accounts/example.com/virtual-accounts/Branch/events?udi=PID:C9300-24UX,SN:FOC1"), Some(&viewer), None, None)
        .await;
    assert!(
        reply.body["events"][0]["message"].as_str().unwrap().contains("transferred"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn alerts_for_insufficient_expiring_and_late_instances() {
    let f = fixture().await;
    let viewer = f.token(SA, "look", Role::Viewer).await;
    let url = path("/v1/accounts/example.com/alerts");
    let alerts = |reply: &Reply| -> Vec<(String, String)> {
        reply.body["alerts"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", reply.body))
            .iter()
            .map(|a| {
                (a["kind"].as_str().unwrap().to_owned(), a["message"].as_str().unwrap().to_owned())
            })
            .collect()
    };
    let reply = f.call(Method::GET, &url, Some(&viewer), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(alerts(&reply), [], "a healthy account has none");

    // Subscriptions ending in 20 and 50 days; a device on a subscription license that uses
    // more network-advantage than purchased.
    for (sku, quantity, expires) in
        [("C9300-DNA-A-1Y", 3, "2026-12-05"), ("C9300-DNA-A-2Y", 2, "2027-01-04")]
    {
        let spec = LicenseSpec {
            tag: "dna-advantage".to_owned(),
            sku: sku.to_owned(),
            quantity,
            term: None,
            enforcement: None,
            expires: Some(expires.parse().unwrap()),
        };
        f.authority.add_license(SA, VA, &spec).await.unwrap();
    }
    let sw1 = Device::new("FOC1");
    let file = sw1.usage_file(&[
        sw1.report(1, "network-advantage", 12, T - 60),
        sw1.report(2, "dna-advantage", 1, T - 60),
    ]);
    f.authority.upload(SA, VA, "u.txt", &file).await.unwrap();

    let reply = f.call(Method::GET, &url, Some(&viewer), None, None).await;
    let got = alerts(&reply);
    let kinds: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["INSUFFICIENT_LICENSES", "LICENSES_EXPIRING_30", "LICENSES_EXPIRING_60"],
        "{got:?}"
    );
    assert!(
        got[0].1.contains("12 network-advantage in use or reserved, 10 purchased (short by 2)"),
        "{got:?}"
    );
    assert!(got[1].1.contains("expire within 30 days, on 2026-12-05"), "{got:?}");

    // 47 days on: the first subscription expired, the second ends within 30 days; sw1 (on a
    // subscription: 90-day frequency by the Cisco default) is not late yet. (Access tokens
    // last an hour, so each step takes a new one.)
    f.clock.set(at("2027-01-01T10:00:00Z"));
    let viewer = f.token(SA, "look2", Role::Viewer).await;
    let got = alerts(&f.call(Method::GET, &url, Some(&viewer), None, None).await);
    let kinds: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["INSUFFICIENT_LICENSES", "LICENSES_EXPIRED", "LICENSES_EXPIRING_30"],
        "{got:?}"
    );

    // 100 days after its last contact, sw1 is past its ACK deadline.
    f.clock.set(at("2027-02-24T10:00:00Z"));
    let viewer = f.token(SA, "look3", Role::Viewer).await;
    let other = f.token("other.com", "them2", Role::Admin).await;
    let reply =
        f.call(Method::GET, &format!("{url}?virtualAccount=Lab"), Some(&viewer), None, None).await;
    let late = reply.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "ACK_DEADLINE_PASSED")
        .cloned();
    let late = late.unwrap_or_else(|| panic!("{}", reply.body));
    assert_eq!(late["udi"], sw1.udi.to_string());
    assert_eq!(late["severity"], "Major");
    assert!(late["message"].as_str().unwrap().contains("(90 days)"), "{late}");
    // The CLI's view is the same.
    let local = f.authority.alerts(SA, Some(VA)).await.unwrap();
    assert_eq!(local.len(), reply.body["alerts"].as_array().unwrap().len());

    // Scope and unknown names.
    let reply = f.call(Method::GET, &url, Some(&other), None, None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply =
        f.call(Method::GET, &format!("{url}?virtualAccount=Nope"), Some(&viewer), None, None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
}

/// Two replicas on one database wake up together, many times: each due job runs once between
/// them, and the next day once again.
async fn scheduled_jobs_run_once_across(a: &Fixture, b: &Fixture) {
    // A subscription that will have expired by the second day.
    let spec = LicenseSpec {
        tag: "dna-advantage".to_owned(),
        sku: "C9300-DNA-A-1M".to_owned(),
        quantity: 4,
        term: None,
        enforcement: None,
        expires: Some("2026-11-16".parse().unwrap()),
    };
    a.authority.add_license(SA, VA, &spec).await.unwrap();
    let expiry_events = |f: &Fixture| {
        let authority = f.authority.clone();
        async move {
            authority
                .events(SA, Some(VA), None)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.message.contains("C9300-DNA-A-1M) expired"))
                .count()
        }
    };
    for day in 0..2 {
        let mut runs = Vec::new();
        for _ in 0..4 {
            let (x, y) = tokio::join!(
                a.authority.run_due_jobs("replica-a"),
                b.authority.run_due_jobs("replica-b")
            );
            runs.extend(x.unwrap());
            runs.extend(y.unwrap());
        }
        let mut jobs: Vec<&str> = runs.iter().map(|r| r.job.as_str()).collect();
        jobs.sort_unstable();
        assert_eq!(jobs, ["alert-digest", "license-expiry", "token-purge"], "day {day}: {runs:?}");
        a.clock.advance(Duration::days(1));
    }
    assert_eq!(expiry_events(a).await, 1, "the expiry is logged once, by one replica");
    let digests = a
        .authority
        .events(SA, Some(VA), None)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.message.starts_with("alerts:"))
        .collect::<Vec<_>>();
    assert_eq!(digests.len(), 2, "one digest a day: {digests:?}");
    assert!(digests.iter().all(|e| e.actor.as_deref() == Some("system")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_jobs_run_once_across_replicas_on_sqlite() {
    let a = fixture().await;
    let b = replica_of(&a, Store::open_dir(a.dir.path()).await.unwrap()).await;
    scheduled_jobs_run_once_across(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_jobs_run_once_across_replicas_on_postgres() {
    let Some((a, b, drop_schema)) = postgres_replicas("jobs_test").await else { return };
    scheduled_jobs_run_once_across(&a, &b).await;
    drop_schema.drop_schema().await;
}

// ---- the OpenAPI document -------------------------------------------------------------------

#[tokio::test]
async fn openapi_document_matches_its_snapshot_and_every_path_is_routed() {
    let document = openapi();
    let snapshot_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let text = serde_json::to_string_pretty(&document).unwrap() + "\n";
    if std::env::var("SLP_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(&snapshot_path, &text).unwrap();
    }
    let snapshot = std::fs::read_to_string(&snapshot_path).unwrap();
    assert!(
        snapshot == text,
        "the API's routes changed: review and update the snapshot with SLP_UPDATE_SNAPSHOTS=1 cargo test -p slp-authority --test authority openapi"
    );

    // Served as is.
    let f = fixture().await;
    let reply = f.call(Method::GET, "/openapi.json", None, None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, document);

    // Every documented method and path reaches a handler (no fallback 404/405): without a
    // token it is refused with 401 (or, for the token endpoint, 400 for the missing form).
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{}", paths.len());
    for (path, methods) in paths {
        for (method, operation) in methods.as_object().unwrap() {
            let concrete = path
                .replace("{domain}", "example.com")
                .replace("{va}", "Lab")
                .replace("{sha256}", "00")
                .replace("{id}", "1");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let reply = f.call(method.clone(), &concrete, None, None, None).await;
            let expected = if operation.get("security") == Some(&json!([])) {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNAUTHORIZED
            };
            assert_eq!(reply.status, expected, "{method} {path}: {}", reply.body);
        }
    }
    // And a path that is not documented is not served.
    let reply =
        f.call(Method::GET, &path("/v1/accounts/example.com/nothing"), None, None, None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

/// Defect 1 over the CSSM API (what a connected relay sends): a `reportusage` entry from a
/// second device with the genuine one's UDI and a trust request of its own key is refused (422
/// naming the UDI and both keys), nothing changes; the operator's grant lets that key through
/// once. The VA listing shows the first-contact rule. On SQLite and PostgreSQL.
async fn takeover_over_reportusage(f: &Fixture) {
    let token = f.token(SA, "relay", Role::Reporter).await;
    let usage = path("/v2/devices/reportusage");
    let genuine = Device::new("FOC1");
    let body = report_usage(
        vec![genuine.usage_entry(&[genuine.report(1, "network-advantage", 1, T)])],
        "g1",
    );
    let reply = f.call(Method::POST, &usage, Some(&token), Some(VA), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let before = (
        format!("{:?}", f.authority.product_instances(SA, VA).await.unwrap()),
        f.authority.events(SA, Some(VA), None).await.unwrap().len(),
        f.in_use("network-advantage").await,
    );

    let impostor = Device::new("FOC1");
    let attack = report_usage(
        vec![impostor.usage_entry(&[impostor.report(2, "network-advantage", 5, T + 60)])],
        "i1",
    );
    let reply = f.call(Method::POST, &usage, Some(&token), Some(VA), Some(&attack)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    let message = reply.message();
    assert!(
        message.contains("PID:C9300-24UX,SN:FOC1 is bound to device key")
            && message.contains(&genuine.key.key_id())
            && message.contains(&impostor.key.key_id()),
        "{message}"
    );
    let after = (
        format!("{:?}", f.authority.product_instances(SA, VA).await.unwrap()),
        f.authority.events(SA, Some(VA), None).await.unwrap().len(),
        f.in_use("network-advantage").await,
    );
    assert_eq!(after, before, "nothing changed");

    // The genuine device goes on reporting.
    let body = report_usage(
        vec![genuine.usage_entry(&[genuine.report(3, "network-advantage", 2, T + 120)])],
        "g2",
    );
    let reply = f.call(Method::POST, &usage, Some(&token), Some(VA), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(f.in_use("network-advantage").await, (2, 0));

    // The operator allows the new key: it binds once, through the same group commit.
    f.authority.grant_bind(SA, VA, &genuine.udi.to_string(), &impostor.key.key_id()).await.unwrap();
    let reply = f.call(Method::POST, &usage, Some(&token), Some(VA), Some(&attack)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let pis = f.authority.product_instances(SA, VA).await.unwrap();
    assert_eq!(pis[0].key_id, impostor.key.key_id());
    let body = report_usage(
        vec![genuine.usage_entry(&[genuine.report(4, "network-advantage", 1, T + 180)])],
        "g3",
    );
    let reply = f.call(Method::POST, &usage, Some(&token), Some(VA), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "the grant was used once");

    // The VA listing shows the rule.
    f.authority.set_first_contact(SA, VA, slp_store::FirstContact::Deny).await.unwrap();
    let list = path(&format!("/v1/accounts/{SA}/customer/virtual-accounts"));
    let viewer = f.token(SA, "viewer", Role::Viewer).await;
    let reply = f.call(Method::GET, &list, Some(&viewer), None, None).await;
    assert_eq!(reply.body["virtualAccounts"][0]["firstContact"], "deny", "{}", reply.body);
}

#[tokio::test]
async fn a_takeover_over_reportusage_is_refused_on_sqlite() {
    takeover_over_reportusage(&fixture().await).await;
}

#[tokio::test]
async fn a_takeover_over_reportusage_is_refused_on_postgres() {
    let Some((a, _b, drop_schema)) = postgres_replicas("takeover").await else { return };
    takeover_over_reportusage(&a).await;
    a.authority.store().close().await;
    drop_schema.drop_schema().await;
}
