//! The relay's operations over a real loopback socket: security headers and closed CORS on
//! the push endpoint, request ids, `/metrics` (requests, documents waiting), `/readyz`
//! following the database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{Dev, relay};
use reqwest::StatusCode;
use slp_relay::api::ApiOptions;
use slp_wire::online;

struct Served {
    url: String,
    t: crate::common::TestRelay,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn serve() -> Served {
    let t = relay().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(slp_relay::api::serve(
        t.relay.clone(),
        listener,
        None,
        async move {
            let _ = stopped.await;
        },
        ApiOptions::default(),
    ));
    Served { url, t, stop, server }
}

impl Served {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}

fn assert_secure(response: &reqwest::Response, what: &str) {
    let h = response.headers();
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert!(h["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    assert_eq!(h["cache-control"], "no-store", "{what}");
    assert!(h.get("access-control-allow-origin").is_none(), "{what}");
}

fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
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
async fn the_push_endpoint_has_security_headers_request_ids_and_metrics() {
    let served = serve().await;
    let c = reqwest::Client::new();
    let push_url = format!("{}{}", served.url, online::CSLU_PATH);
    let dev = Dev::new("FOC1");
    let push = c
        .post(&push_url)
        .header("x-request-id", "dev-FOC1-1")
        .json(&dev.push(dev.usage(&[1, 2], "a")))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), StatusCode::OK);
    assert_secure(&push, "push");
    assert_eq!(push.headers()["x-request-id"], "dev-FOC1-1");
    let malformed = c.post(&push_url).body("{not json").send().await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_secure(&malformed, "400");
    let missing = c.get(format!("{}/nothing", served.url)).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_secure(&missing, "404");
    let preflight = c
        .request(reqwest::Method::OPTIONS, &push_url)
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::FORBIDDEN);
    assert!(preflight.headers().get("access-control-allow-origin").is_none());

    let metrics = c.get(format!("{}/metrics", served.url)).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    assert_secure(&metrics, "/metrics");
    let text = metrics.text().await.unwrap();
    let route = online::CSLU_PATH;
    assert_eq!(
        value(&text, "slp_http_requests_total", &[("route", route), ("status", "200")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "slp_http_requests_total", &[("route", route), ("status", "400")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value(&text, "slp_relay_documents_waiting", &[("stage", "send")]), Some(1.0));
    assert_eq!(value(&text, "slp_relay_documents_waiting", &[("stage", "answer")]), Some(0.0));
    assert_eq!(value(&text, "slp_relay_answers_undelivered", &[]), Some(0.0));
    served.stop().await;
}

#[tokio::test]
async fn readyz_is_503_once_the_relay_database_is_closed() {
    let served = serve().await;
    let c = reqwest::Client::new();
    let ready = c.get(format!("{}/readyz", served.url)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    served.t.relay.store().close().await;
    let ready = c.get(format!("{}/readyz", served.url)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["message"], "relay not ready: the database does not answer");
    let health = c.get(format!("{}/healthz", served.url)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    served.stop().await;
}
