//! The authority's operations and brute-force defence over a real loopback socket: security
//! headers, closed CORS, request ids, `/metrics`, `/healthz` and `/readyz` (SQLite and, when
//! `SLP_TEST_POSTGRES_URL` is set, PostgreSQL), and wrong OAuth secrets and bearer tokens
//! answered with 429 until the virtual clock passes the window. No sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

use std::sync::Arc;

use chrono::{DateTime, Duration};
use reqwest::StatusCode;
use serde_json::Value;
use slp_authority::{Authority, Role};
use slp_clock::VirtualClock;
use slp_store::Store;

const SA: &str = "example.com";
const BASE: &str = "/services/api/smart-accounts-and-licensing";

struct Served {
    url: String,
    clock: Arc<VirtualClock>,
    authority: Arc<Authority>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server.await.unwrap().unwrap();
    }
}

async fn serve_on(store: Store, dir: tempfile::TempDir) -> Served {
    let at = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").unwrap().to_utc();
    let clock = Arc::new(VirtualClock::frozen(at));
    let authority = Arc::new(Authority::open(store, clock.clone()).await.unwrap());
    authority.create_account("Example Corp", SA).await.unwrap();
    authority.create_va(SA, "Lab").await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server =
        tokio::spawn(slp_authority::serve(authority.clone(), listener, None, async move {
            let _ = stopped.await;
        }));
    Served { url, clock, authority, _dir: dir, stop: Some(stop), server }
}

async fn serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    serve_on(store, dir).await
}

async fn token(c: &reqwest::Client, url: &str, id: &str, secret: &str) -> reqwest::Response {
    c.post(format!("{url}/oauth2/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)])
        .send()
        .await
        .unwrap()
}

fn assert_secure(response: &reqwest::Response, what: &str) {
    let h = response.headers();
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert!(h["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    assert_eq!(h["cache-control"], "no-store", "{what}");
    assert!(h.get("access-control-allow-origin").is_none(), "{what}");
    assert!(h.get("x-request-id").is_some(), "{what}");
}

/// Reads `/metrics` with a Prometheus text parser.
async fn metrics(c: &reqwest::Client, url: &str) -> prometheus_parse::Scrape {
    let text = c.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap();
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .and_then(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => Some(v),
            _ => None,
        })
}

#[tokio::test]
async fn wrong_oauth_secrets_get_429_and_the_right_one_too_until_the_window_passes() {
    let served = serve().await;
    let c = reqwest::Client::new();
    let (credentials, _) = served.authority.create_client(SA, "ci", Role::Admin).await.unwrap();
    let id = credentials.client_id.as_str();
    for i in 0..10 {
        let response = token(&c, &served.url, id, &format!("guess-{i}")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "guess {i}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
    }
    let refused = token(&c, &served.url, id, "guess-10").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "30");
    assert_secure(&refused, "429");
    // The attacker who now guesses right learns nothing until the window passes.
    let right = token(&c, &served.url, id, &credentials.client_secret).await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = right.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("too many failed logins"), "{body}");
    // So does HTTP Basic with the same client id.
    let basic = c
        .post(format!("{}/oauth2/token", served.url))
        .basic_auth(id, Some(&credentials.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::TOO_MANY_REQUESTS);
    served.clock.advance(Duration::seconds(29));
    assert_eq!(
        token(&c, &served.url, id, &credentials.client_secret).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    served.clock.advance(Duration::seconds(1));
    let right = token(&c, &served.url, id, &credentials.client_secret).await;
    assert_eq!(right.status(), StatusCode::OK);
    let body: Value = right.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();
    let search = c
        .get(format!("{}{BASE}/v2/accounts/search", served.url))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(search.status(), StatusCode::OK);
    assert_secure(&search, "an authenticated answer");

    // Another client of the same address is not locked out by these ten failures.
    let (other, _) = served.authority.create_client(SA, "other", Role::Viewer).await.unwrap();
    assert_eq!(
        token(&c, &served.url, &other.client_id, &other.client_secret).await.status(),
        StatusCode::OK
    );
    let scrape = metrics(&c, &served.url).await;
    assert_eq!(value(&scrape, "slp_auth_failures_total", &[]), Some(10.0));
    assert_eq!(value(&scrape, "slp_auth_limited_total", &[]), Some(4.0));
    assert_eq!(
        value(&scrape, "slp_http_requests_total", &[("route", "/oauth2/token"), ("status", "401")]),
        Some(10.0)
    );
    served.stop().await;
}

#[tokio::test]
async fn an_address_guessing_bearer_tokens_is_refused_then_let_back_in() {
    let served = serve().await;
    let c = reqwest::Client::new();
    let (credentials, _) = served.authority.create_client(SA, "ci", Role::Admin).await.unwrap();
    let body: Value = token(&c, &served.url, &credentials.client_id, &credentials.client_secret)
        .await
        .json()
        .await
        .unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();
    let search = format!("{}{BASE}/v2/accounts/search", served.url);
    for i in 0..50 {
        let response = c.get(&search).bearer_auth(format!("forged-{i}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "forged token {i}");
    }
    let refused = c.get(&search).bearer_auth(&access).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "6");
    served.clock.advance(Duration::seconds(6));
    let search = c.get(&search).bearer_auth(&access).send().await.unwrap();
    assert_eq!(search.status(), StatusCode::OK);
    served.stop().await;
}

#[tokio::test]
async fn every_route_answers_with_security_headers_and_no_cors() {
    let served = serve().await;
    let c = reqwest::Client::new();
    let url = &served.url;
    let cases = [
        (c.get(format!("{url}/openapi.json")), StatusCode::OK),
        (c.get(format!("{url}/healthz")), StatusCode::OK),
        (c.get(format!("{url}/readyz")), StatusCode::OK),
        (c.get(format!("{url}{BASE}/v2/accounts/search")), StatusCode::UNAUTHORIZED),
        (c.get(format!("{url}/no/such/path")), StatusCode::NOT_FOUND),
        (c.post(format!("{url}/licservice/license")).body("{}"), StatusCode::BAD_REQUEST),
    ];
    for (request, status) in cases {
        let response = request.header("x-request-id", "req-42").send().await.unwrap();
        let what = response.url().path().to_owned();
        assert_eq!(response.status(), status, "{what}");
        assert_secure(&response, &what);
        assert_eq!(response.headers()["x-request-id"], "req-42", "{what}");
    }
    let preflight = c
        .request(reqwest::Method::OPTIONS, format!("{url}/oauth2/token"))
        .header("origin", "https://portal.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::FORBIDDEN);
    assert!(preflight.headers().get("access-control-allow-origin").is_none());
    // A browser page of another origin cannot get a token by form post either.
    let (credentials, _) = served.authority.create_client(SA, "ci", Role::Admin).await.unwrap();
    let cross = c
        .post(format!("{url}/oauth2/token"))
        .header("origin", "https://portal.example")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let scrape = metrics(&c, url).await;
    assert_eq!(
        value(&scrape, "slp_http_requests_total", &[("route", "/openapi.json"), ("status", "200")]),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, "slp_authority_reportusage_reports_total", &[("status", "accepted")]),
        Some(0.0)
    );
    assert_eq!(value(&scrape, "slp_authority_usage_queue_depth", &[]), Some(0.0));
    served.stop().await;
}

async fn readyz(url: &str) -> (StatusCode, Value) {
    let response = reqwest::get(format!("{url}/readyz")).await.unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn readyz_follows_the_database(served: Served) {
    assert_eq!(readyz(&served.url).await.0, StatusCode::OK);
    served.authority.store().close().await;
    let (status, body) = readyz(&served.url).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["message"], "authority not ready: the database does not answer");
    let health = reqwest::get(format!("{}/healthz", served.url)).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "the process still answers");
    served.stop().await;
}

#[tokio::test]
async fn readyz_is_503_once_the_sqlite_database_is_closed() {
    readyz_follows_the_database(serve().await).await;
}

#[tokio::test]
async fn readyz_is_503_once_the_postgres_database_is_closed() {
    use sqlx::Executor;
    let Some(url) = std::env::var("SLP_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SLP_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
        return;
    };
    let schema = format!("slp_ops_readyz_{}", std::process::id());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&url).await.unwrap();
    let drop_schema = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
    admin.execute(drop_schema.as_str()).await.unwrap();
    let options = slp_store::ConnectOptions { schema: Some(schema.clone()) };
    let store = Store::connect(&url, &options).await.unwrap();
    readyz_follows_the_database(serve_on(store, tempfile::tempdir().unwrap()).await).await;
    admin.execute(drop_schema.as_str()).await.unwrap();
}

/// A trust request over smart transport with `token`: (HTTP status, reply).
async fn trust_with(c: &reqwest::Client, url: &str, token: &str) -> reqwest::Response {
    let udi = slp_core::udi::Udi::new("C9300-24UX", "FOC1").unwrap();
    let request = slp_wire::online::Request {
        header: slp_wire::online::Header {
            kind: slp_wire::online::MessageType::TrustRequest,
            version: slp_wire::online::VERSION.to_owned(),
            nonce: "n".to_owned(),
            timestamp: 0,
            udi: slp_wire::rum::Sudi::of(&udi),
        },
        data: slp_wire::online::Data {
            smart_license: Some("<smartLicense></smartLicense>".to_owned()),
            id_token: Some(token.to_owned()),
            ..Default::default()
        },
    };
    c.post(format!("{url}{}", slp_wire::online::SMART_PATH)).json(&request).send().await.unwrap()
}

#[tokio::test]
async fn an_address_guessing_id_tokens_at_the_device_endpoint_gets_429() {
    let served = serve().await;
    let c = reqwest::Client::new();
    let (real, _) = served.authority.create_token(SA, "Lab", "lab", 30, None).await.unwrap();
    for i in 0..50 {
        let response = trust_with(&c, &served.url, &format!("guess-{i}")).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "guess {i}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("not known to this authority"),
            "{body}"
        );
    }
    // Past the address's limit every trust request is refused, the real token's too, and the
    // token is not used.
    let refused = trust_with(&c, &served.url, &real).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "6");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["status"], "ERROR");
    assert!(body["message"].as_str().unwrap().contains("too many failed logins"), "{body}");
    let tokens = served.authority.tokens(SA, "Lab").await.unwrap();
    assert_eq!(tokens[0].uses, 0);
    let scrape = metrics(&c, &served.url).await;
    assert_eq!(value(&scrape, "slp_auth_failures_total", &[]), Some(50.0));
    // Once one refill has passed, a guess is answered again (and counted).
    served.clock.advance(Duration::seconds(6));
    let response = trust_with(&c, &served.url, "guess-50").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        trust_with(&c, &served.url, "guess-51").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    served.stop().await;
}
