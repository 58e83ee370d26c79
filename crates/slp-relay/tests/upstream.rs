//! Connected mode against a fake authority (in-process axum on 127.0.0.1:0) that implements the
//! CSSM-style contract: OAuth2 client credentials, reportusage / authrequest / poll.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use crate::common::{Auth, Dev, relay};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use slp_relay::PrefsChange;
use slp_relay::intake::Source;

#[derive(Default)]
struct Fake {
    /// When set, every API call answers 503.
    down: bool,
    /// Bodies of reportusage calls.
    reports: Vec<Value>,
    /// poll id → result data.
    polls: Vec<(String, Value)>,
    tokens: usize,
    auth: Option<Arc<Auth>>,
    /// When set, answers are signed by this key instead (a forged answer on the wire).
    rogue: Option<Arc<Auth>>,
    /// Calls of `GET /v1/authority/key`.
    key_calls: usize,
}

type Shared = Arc<Mutex<Fake>>;

async fn token(
    State(fake): State<Shared>,
    Form(form): Form<Vec<(String, String)>>,
) -> (StatusCode, Json<Value>) {
    let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    if get("grant_type") != Some("client_credentials")
        || get("client_id") != Some("cid")
        || get("client_secret") != Some("sec")
    {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"})));
    }
    fake.lock().unwrap().tokens += 1;
    (
        StatusCode::OK,
        Json(json!({"access_token": "tok", "token_type": "Bearer", "expires_in": 3600})),
    )
}

fn check_headers(headers: &HeaderMap) -> Result<(), (StatusCode, Json<Value>)> {
    let h =
        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    if h("authorization") != "Bearer tok" {
        return Err((
            StatusCode::UNAUTHORIZED,
            Json(json!({"status": "ERROR", "message": "bad token"})),
        ));
    }
    if h("x-csw-smart-account-id") != "example.com" || h("x-csw-virtual-account-id") != "Lab" {
        return Err((
            StatusCode::BAD_REQUEST,
            Json(json!({"status": "ERROR", "message": "account headers"})),
        ));
    }
    Ok(())
}

async fn report_usage(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if let Err(e) = check_headers(&headers) {
        return e;
    }
    let mut fake = fake.lock().unwrap();
    if fake.down {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "ERROR", "message": "maintenance"})),
        );
    }
    let reports = body["data"]["reports"].as_array().cloned().unwrap_or_default();
    if reports.iter().any(|r| r["usage"].as_array().is_none_or(Vec::is_empty)) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"status": "ERROR", "message": "no usage"})),
        );
    }
    let auth = fake.rogue.clone().or_else(|| fake.auth.clone()).unwrap();
    let mut acks = Vec::new();
    for entry in &reports {
        let sudi = entry["sudi"].clone();
        let sn = sudi["udi_serial_number"].as_str().unwrap().to_owned();
        let ids: Vec<u64> = entry["usage"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                let payload: Value = serde_json::from_str(u["payload"].as_str().unwrap()).unwrap();
                payload["asset_identification"]["report_id"].as_u64().unwrap()
            })
            .collect();
        let ack = auth.ack(&Dev::new(&sn), &ids);
        acks.push(json!({"sudi": sudi, "software_tag_identifier": entry["software_tag_identifier"], "smart_license": B64.encode(ack)}));
    }
    // As Cisco: a JSON number above 2^53.
    let poll_id = 773_126_444_402_795_033u64 + fake.polls.len() as u64;
    fake.polls.push((poll_id.to_string(), json!({"acknowledgements": acks})));
    fake.reports.push(body);
    (
        StatusCode::ACCEPTED,
        Json(
            json!({"status": "OK_POLL", "poll_id": poll_id, "poll_interval": 300, "action": "acknowledgements"}),
        ),
    )
}

async fn poll(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if let Err(e) = check_headers(&headers) {
        return e;
    }
    let fake = fake.lock().unwrap();
    // Cisco's clients send the number back; a string is read too.
    let id = match &body["data"]["poll_id"] {
        Value::Number(n) => n.to_string(),
        other => other.as_str().unwrap_or_default().to_owned(),
    };
    match fake.polls.iter().find(|(p, _)| *p == id) {
        Some((_, data)) => (
            StatusCode::OK,
            Json(
                json!({"status": "COMPLETE", "type": "acknowledgements", "correlation_id": "c", "data": data}),
            ),
        ),
        None => {
            (StatusCode::NOT_FOUND, Json(json!({"status": "ERROR", "message": "no such poll"})))
        }
    }
}

async fn key(State(fake): State<Shared>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if bearer != "Bearer tok" {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"status": "ERROR", "message": "bad token"})),
        );
    }
    let mut fake = fake.lock().unwrap();
    if fake.down {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "ERROR", "message": "maintenance"})),
        );
    }
    fake.key_calls += 1;
    let public = fake.auth.as_ref().unwrap().key.public_b64();
    (StatusCode::OK, Json(json!({"status": "SUCCESS", "publicKey": public})))
}

async fn start_fake(fake: Shared) -> String {
    let prefix = slp_relay::upstream::API_PREFIX;
    let app = Router::new()
        .route("/oauth2/token", post(token))
        .route(&format!("{prefix}/v1/authority/key"), get(key))
        .route(&format!("{prefix}/v2/devices/reportusage"), post(report_usage))
        .route(&format!("{prefix}/v2/accounts/poll"), post(poll))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn forwards_usage_fetches_acks_and_survives_an_outage() {
    let auth = Arc::new(Auth::new());
    let fake: Shared = Arc::new(Mutex::new(Fake { auth: Some(auth.clone()), ..Fake::default() }));
    let url = start_fake(fake.clone()).await;
    let t = relay().await;
    t.relay
        .set_prefs(PrefsChange {
            connected: Some(true),
            smart_account: Some("example.com".into()),
            virtual_account: Some("Lab".into()),
            authority_url: Some(url),
            client_id: Some("cid".into()),
            client_secret: Some("sec".into()),
            ..PrefsChange::default()
        })
        .await
        .unwrap();
    let (a, b) = (Dev::new("FOC1"), Dev::new("FOC2"));
    let pa =
        t.relay.accept(&a.usage(&[11, 12], "x"), Some(&a.udi_text()), Source::Push).await.unwrap();
    let upstream = t.relay.http_upstream().await.unwrap();

    // The authority is down: nothing is lost, the device row says COMM FAILED.
    fake.lock().unwrap().down = true;
    let report = t.relay.sync(&upstream).await.unwrap();
    assert_eq!(report.sent, 0);
    assert!(report.failures[0].starts_with("%SMART_LIC-3-COMM_FAILED"), "{report:?}");
    let row = &t.relay.pi_list().await.unwrap()[0];
    assert!(
        row.alerts
            .iter()
            .any(|a| a.starts_with("COMM FAILED: authority") && a.contains("maintenance")),
        "{row:?}"
    );
    assert!(row.alerts.contains(&"ACK pending".to_owned()));

    // Back up: both devices go in one request; the answers come back on the poll.
    fake.lock().unwrap().down = false;
    let pb = t.relay.accept(&b.usage(&[21], "y"), Some(&b.udi_text()), Source::Push).await.unwrap();
    let report = t.relay.sync(&upstream).await.unwrap();
    assert_eq!((report.sent, report.answers, report.outstanding), (2, 2, 0), "{report:?}");
    assert!(report.failures.is_empty(), "{report:?}");
    {
        let fake = fake.lock().unwrap();
        assert_eq!(fake.tokens, 1, "the token is cached");
        let body = &fake.reports[0];
        assert!(body["data"]["timestamp"].is_i64() && body["data"]["nonce"].is_string());
        let entry = &body["data"]["reports"][0];
        assert_eq!(entry["sudi"], json!({"udi_pid": "C9300-24UX", "udi_serial_number": "FOC1"}));
        assert_eq!(entry["hostname"], "sw-FOC1");
        assert!(entry["usage"][0]["payload"].is_string(), "the payload stays a string");
        assert_eq!(entry["usage"][0]["header"]["type"], "rum");
        let info = &entry["system_info"];
        assert!(info["data"].as_str().unwrap().contains("\"public_key\""));
        assert_eq!(info["signature"]["alg"], "ed25519");
        assert_eq!(entry["trust_requests"].as_array().unwrap().len(), 1);
    }
    let rows = t.relay.pi_list().await.unwrap();
    assert!(rows.iter().all(|r| r.alerts == vec!["ACK ready"]), "{rows:?}");
    for (dev, accepted) in [(&a, &pa), (&b, &pb)] {
        let answer = t
            .relay
            .poll(&dev.udi_text(), accepted.poll_id.as_deref().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(answer.contains("smartLicenseRumAck"));
    }

    // Nothing is sent twice.
    let report = t.relay.sync(&upstream).await.unwrap();
    assert_eq!(report.sent, 0);
    assert_eq!(fake.lock().unwrap().reports.len(), 1);
    // The key was learned at the first sync that reached the authority, then kept pinned.
    assert_eq!(fake.lock().unwrap().key_calls, 1);
    assert_eq!(t.relay.prefs().await.unwrap().authority_key_id, Some(auth.key.key_id()));
}

#[tokio::test]
async fn answers_fetched_upstream_not_signed_by_the_pinned_key_are_refused() {
    let auth = Arc::new(Auth::new());
    let rogue = Arc::new(Auth::new());
    let fake: Shared = Arc::new(Mutex::new(Fake {
        auth: Some(auth.clone()),
        rogue: Some(rogue.clone()),
        ..Fake::default()
    }));
    let url = start_fake(fake.clone()).await;
    let t = relay().await;
    t.relay
        .set_prefs(PrefsChange {
            connected: Some(true),
            smart_account: Some("example.com".into()),
            virtual_account: Some("Lab".into()),
            authority_url: Some(url),
            client_id: Some("cid".into()),
            client_secret: Some("sec".into()),
            ..PrefsChange::default()
        })
        .await
        .unwrap();
    let dev = Dev::new("FOC1");
    let pushed =
        t.relay.accept(&dev.usage(&[11], "x"), Some(&dev.udi_text()), Source::Push).await.unwrap();
    let upstream = t.relay.http_upstream().await.unwrap();
    let report = t.relay.sync(&upstream).await.unwrap();
    assert_eq!(report.answers, 0, "{report:?}");
    let failure = report.failures.join("\n");
    assert!(
        failure.contains(&rogue.key.key_id())
            && failure.contains(&auth.key.key_id())
            && failure.contains(&dev.udi_text()),
        "the failure names the UDI and both keys: {failure}"
    );
    let (answers,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM answers")
        .fetch_one(t.relay.store().pool())
        .await
        .unwrap();
    assert_eq!(answers, 0, "nothing of the forged poll is stored");
    assert_eq!(
        t.relay.poll(&dev.udi_text(), pushed.poll_id.as_deref().unwrap()).await.unwrap(),
        None,
        "the device gets nothing"
    );
    let row = &t.relay.pi_list().await.unwrap()[0];
    assert!(row.alerts.contains(&"ACK pending".to_owned()), "{row:?}");
}

#[tokio::test]
async fn disconnected_relay_refuses_sync_and_wrong_credentials_are_reported() {
    let fake: Shared =
        Arc::new(Mutex::new(Fake { auth: Some(Arc::new(Auth::new())), ..Fake::default() }));
    let url = start_fake(fake).await;
    let t = relay().await;
    let err = t.relay.http_upstream().await.unwrap_err().to_string();
    assert!(err.contains("disconnected"), "{err}");
    t.relay
        .set_prefs(PrefsChange {
            connected: Some(true),
            smart_account: Some("example.com".into()),
            virtual_account: Some("Lab".into()),
            authority_url: Some(url),
            client_id: Some("cid".into()),
            client_secret: Some("wrong".into()),
            ..PrefsChange::default()
        })
        .await
        .unwrap();
    let dev = Dev::new("FOC1");
    t.relay.accept(&dev.usage(&[1], "x"), None, Source::Push).await.unwrap();
    let report = t.relay.sync(&t.relay.http_upstream().await.unwrap()).await.unwrap();
    assert!(
        report.failures[0].contains("token request for API client \"cid\" refused"),
        "the error names the client: {report:?}"
    );
    let (pending,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM documents WHERE upstream_id IS NULL")
            .fetch_one(t.relay.store().pool())
            .await
            .unwrap();
    assert_eq!(pending, 1, "kept for the next cycle");
}
