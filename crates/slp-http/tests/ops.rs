//! The layers of `slp_http::ops::wrap` over a real loopback socket: a small router with Basic
//! auth and a form login stands for a role. Virtual clock, no sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Form;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration};
use reqwest::header::HeaderValue;
use slp_clock::VirtualClock;
use slp_http::ops::{self, AuthFailed, BoxFuture, Login, Ops, Probe, Sample};

const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("content-security-policy", ops::CONTENT_SECURITY_POLICY),
    ("cross-origin-resource-policy", "same-origin"),
    ("cache-control", "no-store"),
];

fn clock() -> Arc<VirtualClock> {
    Arc::new(VirtualClock::frozen(
        DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").unwrap().to_utc(),
    ))
}

/// Basic auth `admin:right` on `/private`; a form login (`name`, `secret`) on `/login`.
fn role_router() -> Router {
    async fn private(headers: HeaderMap) -> Response {
        let expected = format!("Basic {}", base64_of("admin:right"));
        match headers.get("authorization").and_then(|v| v.to_str().ok()) {
            Some(value) if value == expected => "secret data".into_response(),
            _ => StatusCode::UNAUTHORIZED.into_response(),
        }
    }
    #[derive(serde::Deserialize)]
    struct LoginForm {
        name: String,
        secret: String,
    }
    async fn login(guard: Login, Form(form): Form<LoginForm>) -> Response {
        if let Err(limited) = guard.attempt(&form.name) {
            return limited.into_response();
        }
        if form.secret == "right" {
            return "token".into_response();
        }
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response
            .extensions_mut()
            .insert(AuthFailed { name: Some(form.name), reason: "wrong secret".to_owned() });
        response
    }
    Router::new()
        .route("/private", get(private))
        .route("/login", post(login))
        .route("/public", get(|| async { "hello" }).post(|body: String| async move { body }))
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A probe whose readiness a test switches.
struct Switch(Arc<Mutex<bool>>);

impl Probe for Switch {
    fn ready(&self) -> BoxFuture<'_, Result<(), String>> {
        let up = *self.0.lock().unwrap();
        Box::pin(async move { if up { Ok(()) } else { Err("the store is closed".to_owned()) } })
    }
    fn samples(&self) -> BoxFuture<'_, Vec<Sample>> {
        Box::pin(async {
            vec![
                Sample::gauge("slp_test_queue_depth", "Queue depth", 3.0),
                Sample::counter("slp_test_reports", "Reports", 5.0).label("status", "accepted"),
                Sample::counter("slp_test_reports", "Reports", 2.0).label("status", "duplicate"),
            ]
        })
    }
}

struct Server {
    url: String,
    clock: Arc<VirtualClock>,
    up: Arc<Mutex<bool>>,
}

async fn start() -> Server {
    let clock = clock();
    let up = Arc::new(Mutex::new(true));
    let ops =
        Ops::builder("test", clock.clone()).probe(Switch(up.clone())).body_limit(1024).build();
    let router = ops::wrap(role_router(), &ops);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap();
    });
    Server { url: format!("http://{addr}"), clock, up }
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn assert_secure(response: &reqwest::Response, what: &str) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(
            response.headers().get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{what}: header {name}"
        );
    }
    assert!(response.headers().get("access-control-allow-origin").is_none(), "{what}: CORS");
    assert!(response.headers().get("x-request-id").is_some(), "{what}: request id");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_a_request_id() {
    let server = start().await;
    let c = client();
    let cases = [
        ("/public", StatusCode::OK),
        ("/private", StatusCode::UNAUTHORIZED),
        ("/no-such-route", StatusCode::NOT_FOUND),
        ("/healthz", StatusCode::OK),
        ("/readyz", StatusCode::OK),
    ];
    for (path, status) in cases {
        let response = c.get(format!("{}{path}", server.url)).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert_secure(&response, path);
    }
    // A sane id is echoed; an insane one is replaced by a fresh one.
    let response = c
        .get(format!("{}/public", server.url))
        .header("x-request-id", "abc-123.XYZ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123.XYZ");
    let response = c
        .get(format!("{}/public", server.url))
        .header("x-request-id", HeaderValue::from_bytes(b"evil id\twith tab").unwrap())
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id, "evil id\twith tab");
    assert_eq!(id.len(), 36, "a generated UUID: {id}");
    let other = c.get(format!("{}/public", server.url)).send().await.unwrap();
    assert_ne!(other.headers()["x-request-id"], id.as_str(), "each request gets its own id");
}

#[tokio::test]
async fn cross_origin_requests_and_preflights_are_refused() {
    let server = start().await;
    let c = client();
    let preflight = c
        .request(reqwest::Method::OPTIONS, format!("{}/public", server.url))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::FORBIDDEN);
    assert_secure(&preflight, "preflight");
    let body: serde_json::Value = preflight.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("cross-origin"), "{body}");
    // A simple cross-origin form post (no preflight) never reaches the handler either.
    let post = c
        .post(format!("{}/login", server.url))
        .header("origin", "https://evil.example")
        .form(&[("name", "admin"), ("secret", "right")])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::FORBIDDEN);
    assert!(post.headers().get("access-control-allow-origin").is_none());
    // The server's own origin is fine.
    let host = server.url.trim_start_matches("http://");
    let same = c
        .post(format!("{}/login", server.url))
        .header("origin", format!("http://{host}"))
        .form(&[("name", "admin"), ("secret", "right")])
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::OK);
}

#[tokio::test]
async fn bodies_headers_and_uris_are_bounded() {
    let server = start().await;
    let c = client();
    let big = c.post(format!("{}/public", server.url)).body(vec![b'x'; 2048]).send().await.unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_secure(&big, "413");
    let body: serde_json::Value = big.json().await.unwrap();
    assert_eq!(body["message"], "the request body is larger than the test's limit of 1024 bytes");
    let small = c.post(format!("{}/public", server.url)).body("ok").send().await.unwrap();
    assert_eq!(small.status(), StatusCode::OK);

    let mut many = c.get(format!("{}/public", server.url));
    for i in 0..70 {
        many = many.header(format!("x-filler-{i}"), "1");
    }
    let many = many.send().await.unwrap();
    assert_eq!(many.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let body: serde_json::Value = many.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("the limit is 64"), "{body}");

    let fat = c
        .get(format!("{}/public", server.url))
        .header("x-filler", "y".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(fat.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);

    let long = c.get(format!("{}/public?q={}", server.url, "z".repeat(9000))).send().await.unwrap();
    assert_eq!(long.status(), StatusCode::URI_TOO_LONG);
}

#[tokio::test]
async fn readyz_is_503_with_the_reason_while_the_store_is_gone() {
    let server = start().await;
    let c = client();
    *server.up.lock().unwrap() = false;
    let response = c.get(format!("{}/readyz", server.url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], "test not ready: the store is closed");
    let health = c.get(format!("{}/healthz", server.url)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "the process is still up");
    *server.up.lock().unwrap() = true;
    let response = c.get(format!("{}/readyz", server.url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// Reads the exposition with a Prometheus text parser; the value of `name` with `labels`.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("the exposition parses");
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

async fn scrape(url: &str) -> String {
    let response = client().get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_status_and_the_role_samples() {
    let server = start().await;
    let c = client();
    for _ in 0..3 {
        c.get(format!("{}/public", server.url)).send().await.unwrap();
    }
    c.get(format!("{}/private", server.url)).send().await.unwrap();
    // A raw URI never becomes a label: unmatched paths fold into one series.
    c.get(format!("{}/nothing/{}", server.url, "a1b2c3")).send().await.unwrap();
    let text = scrape(&server.url).await;
    let requests = |route, status| {
        value(
            &text,
            "slp_http_requests_total",
            &[("method", "GET"), ("route", route), ("status", status)],
        )
    };
    assert_eq!(requests("/public", "200"), Some(3.0), "{text}");
    assert_eq!(requests("/private", "401"), Some(1.0), "{text}");
    assert_eq!(requests("unmatched", "404"), Some(1.0), "{text}");
    assert!(!text.contains("a1b2c3"), "{text}");
    assert_eq!(
        value(
            &text,
            "slp_http_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/public")]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(value(&text, "slp_test_queue_depth", &[]), Some(3.0), "{text}");
    assert_eq!(value(&text, "slp_test_reports_total", &[("status", "duplicate")]), Some(2.0));
    assert_eq!(value(&text, "slp_auth_failures_total", &[]), Some(0.0), "{text}");
    // The scrape itself is counted by the next one.
    let again = scrape(&server.url).await;
    assert_eq!(
        value(&again, "slp_http_requests_total", &[("route", "/metrics"), ("status", "200")]),
        Some(1.0)
    );
}

#[tokio::test]
async fn metrics_are_refused_to_a_client_of_unknown_address() {
    use tower::ServiceExt;
    let ops = Ops::builder("test", clock()).build();
    let router = ops::wrap(role_router(), &ops);
    let request = axum::http::Request::get("/metrics").body(axum::body::Body::empty()).unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

/// Everything the tracing subscriber of a test writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn wrong_passwords_get_429_even_the_right_one_until_the_window_passes() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let server = start().await;
    let c = client();
    let private = format!("{}/private", server.url);
    for i in 0..10 {
        let response = c
            .get(&private)
            .basic_auth("admin", Some(format!("guess{i}")))
            .header("x-request-id", format!("attack-{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let refused = c.get(&private).basic_auth("admin", Some("guess10")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "30");
    assert_secure(&refused, "429");
    // The right password is refused too while the window lasts.
    let right = c.get(&private).basic_auth("admin", Some("right")).send().await.unwrap();
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = right.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("try again in 30 s"), "{body}");
    server.clock.advance(Duration::seconds(29));
    let right = c.get(&private).basic_auth("admin", Some("right")).send().await.unwrap();
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(right.headers()["retry-after"], "1");
    server.clock.advance(Duration::seconds(1));
    let right = c.get(&private).basic_auth("admin", Some("right")).send().await.unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert_eq!(right.text().await.unwrap(), "secret data");

    // Each failure was logged at warn with the user, the address and the request id.
    let text = log.text();
    let failures: Vec<&str> =
        text.lines().filter(|l| l.contains("authentication failed")).collect();
    assert_eq!(failures.len(), 10, "{text}");
    assert!(failures[3].contains("WARN"), "{}", failures[3]);
    assert!(failures[3].contains("user=\"admin\""), "{}", failures[3]);
    assert!(failures[3].contains("peer=127.0.0.1"), "{}", failures[3]);
    assert!(failures[3].contains("request_id=attack-3"), "{}", failures[3]);
    assert!(failures[9].contains("refused_for_secs=30"), "{}", failures[9]);

    let text = scrape(&server.url).await;
    assert_eq!(value(&text, "slp_auth_failures_total", &[]), Some(10.0), "{text}");
    assert_eq!(value(&text, "slp_auth_limited_total", &[]), Some(3.0), "{text}");
}

#[tokio::test]
async fn a_form_login_is_limited_by_its_name_and_a_sprayer_by_its_address() {
    let server = start().await;
    let c = client();
    let login = format!("{}/login", server.url);
    for i in 0..10 {
        let response = c
            .post(&login)
            .form(&[("name", "ops"), ("secret", &format!("g{i}"))])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let right = c.post(&login).form(&[("name", "ops"), ("secret", "right")]).send().await.unwrap();
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(right.headers()["retry-after"], "30");
    // Another name still may log in from here...
    let other = c.post(&login).form(&[("name", "dev"), ("secret", "right")]).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    // ...until the address has failed 50 times over any names.
    for i in 0..40 {
        let response = c
            .post(&login)
            .form(&[("name", format!("spray{i}")), ("secret", "x".to_owned())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "spray {i}");
    }
    let other = c.post(&login).form(&[("name", "dev"), ("secret", "right")]).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(other.headers()["retry-after"], "6");
    server.clock.advance(Duration::seconds(6));
    let other = c.post(&login).form(&[("name", "dev"), ("secret", "right")]).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::OK);
}

/// 20 guesses of one name sent at once, while the check of the first ones has not answered:
/// only the name's burst (10) reaches the credential check; the rest get 429 at once.
#[tokio::test]
async fn concurrent_guesses_cannot_outrun_the_limit_of_a_name() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Semaphore;
    struct Gate {
        entered: AtomicUsize,
        open: Semaphore,
    }
    let gate = Arc::new(Gate { entered: AtomicUsize::new(0), open: Semaphore::new(0) });
    let inner = gate.clone();
    let slow_login = move |guard: Login| {
        let gate = inner.clone();
        async move {
            if let Err(limited) = guard.attempt("ops") {
                return limited.into_response();
            }
            gate.entered.fetch_add(1, Ordering::SeqCst);
            // The credential check is slow (a database): it answers once the test says so.
            let _permit = gate.open.acquire().await.unwrap();
            let mut response = StatusCode::UNAUTHORIZED.into_response();
            response
                .extensions_mut()
                .insert(AuthFailed { name: Some("ops".to_owned()), reason: "wrong".to_owned() });
            response
        }
    };
    let ops = Ops::builder("test", clock()).build();
    let router = ops::wrap(Router::new().route("/login", post(slow_login)), &ops);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/login", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap();
    });
    let c = client();
    let mut calls = Vec::new();
    for _ in 0..20 {
        let (c, url) = (c.clone(), url.clone());
        calls.push(tokio::spawn(async move { c.post(url).send().await.unwrap().status() }));
    }
    // Wait until every guess is either answered (refused) or inside the check.
    let decided = |calls: &[tokio::task::JoinHandle<StatusCode>]| {
        gate.entered.load(Ordering::SeqCst) + calls.iter().filter(|c| c.is_finished()).count()
    };
    while decided(&calls) < 20 {
        tokio::task::yield_now().await;
    }
    // Only the burst is inside the check; the others were refused while it runs.
    assert_eq!(gate.entered.load(Ordering::SeqCst), 10, "only the burst reached the check");
    gate.open.add_permits(100);
    let mut statuses = Vec::new();
    for call in calls {
        statuses.push(call.await.unwrap());
    }
    assert_eq!(gate.entered.load(Ordering::SeqCst), 10, "only the burst reached the check");
    let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    let failed = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert_eq!((failed, limited), (10, 10), "{statuses:?}");
}
