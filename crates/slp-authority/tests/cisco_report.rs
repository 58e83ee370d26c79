//! `reportusage`, `authrequest` and `poll` with the bodies exactly as Cisco's public scripts
//! build them (PROTOCOL.md §7.3), on SQLite and, when `SLP_TEST_POSTGRES_URL` is set,
//! PostgreSQL:
//!
//! - gve-sw/gve_devnet_smart_licensing_using_policy_offline_reservation_tools,
//!   `02 - report license usage.py` + `smartaccount.py`: `{sudi, usage: [{payload,
//!   signature}]}` per entry (no `header`, no `hostname`), an authrequest `"count": "1"`, the
//!   poll's `timestamp` as a string and `poll_id` sent back as the number it was given.
//! - dbrown92700/SmartLicensing `rum_report.py`: `null` for every optional member and Cisco's
//!   extra members, and a poll body with `type` beside `action`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

use std::future::Future;
use std::sync::Arc;

use crate::support::{Device, tag};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::DateTime;
use serde_json::{Value, json};
use slp_authority::*;
use slp_clock::VirtualClock;
use slp_core::udi::Udi;
use slp_store::Store;
use slp_wire::docs::{self, AuthRequestItem, Key, RumAck};
use slp_wire::rum::Sudi;
use slp_wire::xml::{Document, Kind, Signed};
use tower::ServiceExt;

const SA: &str = "example.com";
const VA: &str = "Lab";
const BASE: &str = "/services/api/smart-accounts-and-licensing";
/// 2026-11-15T10:00:00Z, the fixture's clock, in epoch milliseconds.
const NOW_MS: i64 = 1_794_736_800_000;

struct Fixture {
    authority: Arc<Authority>,
    router: Router,
    token: String,
    /// The numeric virtual account id, as `/v2/accounts/search` gives it to the scripts.
    va_id: String,
    _dir: tempfile::TempDir,
}

async fn fixture_on(store: Store, dir: tempfile::TempDir) -> Fixture {
    let at = DateTime::parse_from_rfc3339("2026-11-15T10:00:00Z").expect("a time").to_utc();
    let clock = Arc::new(VirtualClock::frozen(at));
    let authority = Arc::new(Authority::open(store, clock).await.expect("authority opens"));
    authority.create_account("Example Corp", SA).await.expect("account");
    authority.create_va(SA, VA).await.expect("virtual account");
    for (feature, sku, quantity) in
        [("network-advantage", "C9300-NW-A", 10), ("hseck9", "C9K-HSEC", 2)]
    {
        let spec = LicenseSpec {
            tag: feature.to_owned(),
            sku: sku.to_owned(),
            quantity,
            term: None,
            enforcement: None,
            expires: None,
        };
        authority.add_license(SA, VA, &spec).await.expect("licenses");
    }
    let router = router(authority.clone());
    let (credentials, _) =
        authority.create_client(SA, "script", Role::Admin).await.expect("an API client");
    let mut f =
        Fixture { authority, router, token: String::new(), va_id: String::new(), _dir: dir };
    let form = format!(
        "client_id={}&client_secret={}&grant_type=client_credentials",
        credentials.client_id, credentials.client_secret
    );
    let request = Request::post("/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("a request");
    let reply = f.send(request).await;
    f.token = reply.1["access_token"].as_str().expect("a token").to_owned();
    let search = f.call(Method::GET, "/v2/accounts/search", None).await;
    f.va_id = search.1["accounts"][0]["virtual_accounts"][0]["virtual_account_id"].to_string();
    f
}

/// Runs `test` on SQLite, then on PostgreSQL when `SLP_TEST_POSTGRES_URL` is set.
async fn on_both<F, Fut>(name: &str, test: F)
where
    F: Fn(Fixture) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = Store::open_dir(dir.path()).await.expect("SQLite opens");
    test(fixture_on(store, dir).await).await;
    let Some(url) = std::env::var("SLP_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SLP_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
        return;
    };
    use sqlx::Executor;
    let schema = format!("slp_cisco_{name}_{}", std::process::id());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&url).await.expect("PostgreSQL");
    let drop_schema = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
    admin.execute(drop_schema.as_str()).await.expect("drop");
    let options = slp_store::ConnectOptions { schema: Some(schema.clone()) };
    let store = Store::connect(&url, &options).await.expect("PostgreSQL opens");
    let f = fixture_on(store, tempfile::tempdir().expect("a temp dir")).await;
    let authority = f.authority.clone();
    test(f).await;
    authority.store().close().await;
    admin.execute(drop_schema.as_str()).await.expect("drop");
}

impl Fixture {
    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.router.clone().oneshot(request).await.expect("an answer");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// A request as `smartaccount.py` sends it: bearer token, the numeric account ids and
    /// `X-CSW-REQUESTING-SYSTEM`, the body as `json.dumps` text.
    async fn call(&self, method: Method, rest: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{BASE}{rest}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        if !self.va_id.is_empty() {
            request = request.header("X-CSW-VIRTUAL-ACCOUNT-ID", &self.va_id).header(
                "X-CSW-REQUESTING-SYSTEM",
                r#"{"udi_pid": "C9300-24UX", "udi_serial_number": "FOC1"}"#,
            );
        }
        let body = match body {
            Some(value) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(value.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).expect("a request")).await
    }

    /// `getPollRequest`: `timestamp` as a string, `poll_id` as it came.
    async fn poll(&self, poll_id: &Value, action: &str) -> (StatusCode, Value) {
        let body = json!({"data": {"timestamp": format!("{NOW_MS}"), "nonce": "dft0qRN2fLw4kpaR",
            "poll_id": poll_id, "action": action}});
        self.call(Method::POST, "/v2/accounts/poll", Some(&body)).await
    }
}

/// What the public scripts make of a product instance's saved usage.
trait ScriptShapes {
    /// One RUM report as the device signs it: `count` × network-advantage, ten minutes ago.
    fn one(&self, id: u64, count: u64) -> String;
    async fn register(&self, f: &Fixture);
    fn gve_usage(&self, reports: &[String]) -> Value;
    fn dbrown_upload(&self, reports: &[String]) -> Value;
}

impl ScriptShapes for Device {
    fn one(&self, id: u64, count: u64) -> String {
        self.report(id, "network-advantage", count, NOW_MS / 1000 - 600)
    }

    /// The device's saved usage file with its system information, uploaded once: the
    /// authority knows the device and its key.
    async fn register(&self, f: &Fixture) {
        let file = Document { reports: vec![self.one(1, 1)], items: vec![self.system_info()] };
        f.authority.upload(SA, VA, "usage.txt", file.to_xml().as_bytes()).await.expect("upload");
    }

    /// `parseXML()` of `02 - report license usage.py`: each `<RUMReport>`'s payload (compact,
    /// as the device wrote it) and signature, nothing else.
    fn gve_usage(&self, reports: &[String]) -> Value {
        let usage: Vec<Value> = reports
            .iter()
            .map(|text| {
                let item: Value = serde_json::from_str(text).expect("a RUM report");
                json!({"payload": item["payload"], "signature": item["signature"]})
            })
            .collect();
        json!([{"sudi": self.sudi_json(), "usage": usage}])
    }

    /// `create_rum_payload()` of `rum_report.py`.
    fn dbrown_upload(&self, reports: &[String]) -> Value {
        let usages: Vec<Value> = reports
            .iter()
            .map(|text| {
                let item: Value = serde_json::from_str(text).expect("a RUM report");
                json!({"payload": item["payload"], "signature": item["signature"],
                    "is_consuming": null, "is_ha": null, "reporting_device": null, "errors": null})
            })
            .collect();
        json!({
            "data": {
                "sudi": self.sudi_json(),
                "timestamp": NOW_MS,
                "nonce": "n",
                "product_instance_identifier": null,
                "reports": [{
                    "sudi": self.sudi_json(),
                    "hostname": format!("sw-{}", self.udi.sn),
                    "software_tag_identifier": "regid.sw",
                    "nonce": "n",
                    "timestamp": NOW_MS,
                    "trust_requests": null,
                    "transaction_id": null,
                    "requesting_user_id": null,
                    "locale": null,
                    "license_pool_id": null,
                    "product_instance_controller_id": null,
                    "usage": usages
                }]
            },
            "requesting_user_id": null,
            "locale": null
        })
    }
}

/// `sendUsageReport()`: `{"data": {timestamp, nonce, reports}}`.
fn gve_report(reports: Value) -> Value {
    json!({"data": {"timestamp": NOW_MS, "nonce": "aB3dE5gH7jK9mN1p", "reports": reports}})
}

/// The report ids an ACK acknowledges, with their status.
fn acked(smart_license: &Value) -> Vec<(u64, String)> {
    let bytes = BASE64.decode(smart_license.as_str().expect("base64 text")).expect("base64");
    let xml = String::from_utf8(bytes).expect("UTF-8");
    let doc = Document::parse(&xml).expect("an ACK document");
    let ack: RumAck = doc.of(Kind::RumAck).next().expect("an ACK").json().expect("ACK JSON");
    ack.reports.iter().map(|r| (r.report_id, r.status.clone())).collect()
}

/// The 202 reply, member for member as Cisco's: `poll_id` a JSON number, `null` members, the
/// request's nonce and timestamp echoed.
fn assert_cisco_accepted(reply: &(StatusCode, Value), action: &str, nonce: &str) {
    assert_eq!(reply.0, StatusCode::ACCEPTED, "{}", reply.1);
    let body = &reply.1;
    assert_eq!(body["status"], "OK_POLL");
    assert!(body["poll_id"].is_u64(), "poll_id is a number: {body}");
    assert_eq!(body["poll_interval"], 300);
    assert_eq!(body["action"], action);
    assert_eq!(body["nonce"], nonce);
    assert_eq!(body["timestamp"], NOW_MS);
    for member in ["message_code", "message", "type"] {
        assert!(body.get(member).is_some_and(Value::is_null), "{member} is null: {body}");
    }
}

#[tokio::test]
async fn gve_usage_report_of_a_known_device_is_acknowledged() {
    on_both("gve_known", |f| async move {
        let sw = Device::new("FOC1").at(NOW_MS);
        sw.register(&f).await;
        let body = gve_report(sw.gve_usage(&[sw.one(2, 3)]));
        let reply = f.call(Method::POST, "/v2/devices/reportusage", Some(&body)).await;
        assert_cisco_accepted(&reply, "acknowledgements", "aB3dE5gH7jK9mN1p");

        let (status, poll) = f.poll(&reply.1["poll_id"], "acknowledgements").await;
        assert_eq!(status, StatusCode::OK, "{poll}");
        assert_eq!(poll["status"], "COMPLETE");
        assert_eq!((&poll["message_code"], &poll["message"]), (&json!(""), &json!("")));
        assert_eq!(poll["nonce"], "dft0qRN2fLw4kpaR");
        assert_eq!(poll["type"], "acknowledgements");
        let acks = &poll["data"]["acknowledgements"];
        assert_eq!(acks[0]["sudi"], sw.sudi_json());
        assert_eq!(acked(&acks[0]["smart_license"]), [(2, "ACCEPTED".to_owned())]);
        let pis = f.authority.product_instances(SA, VA).await.expect("instances");
        let usage: Vec<i64> = pis[0].usage.iter().map(|u| u.count).collect();
        assert_eq!(usage, [3], "the report's count is the product instance's usage");
    })
    .await;
}

#[tokio::test]
async fn dbrown_usage_report_with_nulls_and_extra_members_is_acknowledged() {
    on_both("dbrown", |f| async move {
        let sw = Device::new("FOC1").at(NOW_MS);
        sw.register(&f).await;
        let body = sw.dbrown_upload(&[sw.one(2, 2), sw.one(3, 2)]);
        let reply = f.call(Method::POST, "/v2/devices/reportusage", Some(&body)).await;
        assert_cisco_accepted(&reply, "acknowledgements", "n");
        // `create_poll_payload()`: the reply's timestamp, nonce and poll_id, `type` and `action`.
        let poll = json!({"data": {"timestamp": reply.1["timestamp"], "nonce": reply.1["nonce"],
            "poll_id": reply.1["poll_id"], "type": "authorizations", "action": "acknowledgements"}});
        let (status, poll) = f.call(Method::POST, "/v2/accounts/poll", Some(&poll)).await;
        assert_eq!(status, StatusCode::OK, "{poll}");
        let acks = &poll["data"]["acknowledgements"];
        assert_eq!(acks[0]["software_tag_identifier"], "regid.sw");
        assert_eq!(
            acked(&acks[0]["smart_license"]),
            [(2, "ACCEPTED".to_owned()), (3, "ACCEPTED".to_owned())]
        );
    })
    .await;
}

#[tokio::test]
async fn a_replayed_gve_report_gets_the_same_poll_id_and_ack() {
    on_both("gve_replay", |f| async move {
        let sw = Device::new("FOC1").at(NOW_MS);
        sw.register(&f).await;
        let body = gve_report(sw.gve_usage(&[sw.one(2, 1)]));
        let first = f.call(Method::POST, "/v2/devices/reportusage", Some(&body)).await;
        let again = f.call(Method::POST, "/v2/devices/reportusage", Some(&body)).await;
        assert_cisco_accepted(&again, "acknowledgements", "aB3dE5gH7jK9mN1p");
        assert_eq!(first.1["poll_id"], again.1["poll_id"]);
        // The poll id sent back as a string is the same poll.
        let text = Value::String(again.1["poll_id"].to_string());
        let (status, poll) = f.poll(&text, "acknowledgements").await;
        assert_eq!(status, StatusCode::OK, "{poll}");
        assert_eq!(acked(&poll["data"]["acknowledgements"][0]["smart_license"]).len(), 1);
    })
    .await;
}

#[tokio::test]
async fn authrequest_with_counts_as_strings_is_served_and_polled_as_cisco_answers() {
    on_both("authrequest_text", |f| async move {
        let sw = Device::new("FOC1").at(NOW_MS);
        let items = vec![AuthRequestItem::new(
            Sudi::of(&sw.udi),
            vec![Key { entitlement: tag("hseck9").to_owned(), count: 1 }],
        )];
        let signed = |item: &Signed| {
            serde_json::to_value(slp_wire::cssm::report::SignedJson::of(item)).expect("JSON")
        };
        // `requestAuthCode()`'s entry, with slp's signed request beside it.
        let body = json!({"data": {"timestamp": NOW_MS, "nonce": "random1234", "licenses": [{
            "sudi": sw.sudi_json(),
            "hostname": "Test-Device-01",
            "keys": [{"entitlement": tag("hseck9"), "count": "1"}],
            "confirm_code": null,
            "remove_code": null,
            "auth_request": signed(&docs::sign_json(Kind::AuthRequest, &items, &sw.key)),
            "system_info": signed(&sw.system_info()),
        }]}});
        let reply = f.call(Method::POST, "/v2/devices/authrequest", Some(&body)).await;
        assert_cisco_accepted(&reply, "authorizations", "random1234");
        let (status, poll) = f.poll(&reply.1["poll_id"], "authorizations").await;
        assert_eq!(status, StatusCode::OK, "{poll}");
        let result = &poll["data"]["authorizations"][0];
        assert_eq!(result["status"], "SUCCESS", "{poll}");
        assert_eq!(result["sudi"], sw.sudi_json());
        assert!(result["smart_license"].is_string());
        assert_eq!(result["auth_status"], json!([]));
        assert_eq!(result["correlation_id"], poll["correlation_id"]);
        for member in ["product_instance_identifier", "error_code"] {
            assert!(result.get(member).is_some(), "{member} is sent: {result}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_count_that_is_not_a_number_is_refused_with_its_place() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let f = fixture_on(Store::open_dir(dir.path()).await.expect("SQLite"), dir).await;
    let body = json!({"data": {"timestamp": NOW_MS, "nonce": "random1234", "licenses": [{
        "sudi": {"udi_pid": "C8000V", "udi_serial_number": "ASDF1234"},
        "hostname": "Test-Device-01",
        "keys": [{"entitlement": tag("hseck9"), "count": "one"}]}]}});
    let (status, reply) = f.call(Method::POST, "/v2/devices/authrequest", Some(&body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    let message = reply["message"].as_str().unwrap_or_default();
    assert!(message.contains("data.licenses[0].keys[0].count"), "{message}");
    assert!(message.contains("\"one\" is not a whole number"), "{message}");
}

/// A RUM report as a Cisco device signs it (the C9800-CL 17.9 layout, PROTOCOL.md §1.2):
/// `signing_type: "builtin"` with the software tag as `key`, which slp cannot verify.
fn builtin_report(udi: &Udi, id: u64, count: u64) -> String {
    let end = NOW_MS / 1000 - 600;
    let payload = json!({"version": "2.0",
        "asset_identification": {"report_id": id,
            "asset": {"name": "regid.2018-05.com.cisco.WLC_9500C,1.0_85665885-b4f4-4caf-aebc-7e6a9d0c6f6a"},
            "instance": {"sudi": {"udi_pid": udi.pid, "udi_serial_number": udi.sn}}},
        "signature": {"signing_type": "builtin", "key": "regid", "value": "AAAA"},
        "meta": {"entitlement_tag": tag("network-advantage"), "utility_enabled": false,
            "software_version": "17.09.02",
            "ha_udi": [{"role": "Active", "sudi": {"udi_pid": udi.pid, "udi_serial_number": udi.sn}}]},
        "measurements": [{"log_time": end, "metric_name": "ENTITLEMENT", "start_time": end - 3600,
            "end_time": end, "sample_interval": 3600, "num_samples": 1,
            "meta": {"termination_reason": "CurrentUsageRequested"},
            "value": {"type": "COUNT", "value": count.to_string()}}]});
    json!({"payload": payload.to_string(), "header": {"type": "rum"},
        "signature": {"sudi": {"udi_pid": udi.pid, "udi_serial_number": udi.sn},
            "signing_type": "builtin",
            "key": "regid.2018-05.com.cisco.WLC_9500C,1.0_85665885-b4f4-4caf-aebc-7e6a9d0c6f6a",
            "value": "bm90IGEgc2lnbmF0dXJlIHNscCBjYW4gY2hlY2s="}})
    .to_string()
}

#[tokio::test]
async fn gve_usage_from_a_never_seen_device_binds_it_unverified_until_it_shows_its_key() {
    on_both("gve_first_contact", |f| async move {
        // `02 - report license usage.py` for a device the authority never saw: no system_info.
        let wlc = Device::new("FOC9").at(NOW_MS);
        let body = gve_report(wlc.gve_usage(&[builtin_report(&wlc.udi, 1, 3)]));
        let reply = f.call(Method::POST, "/v2/devices/reportusage", Some(&body)).await;
        assert_cisco_accepted(&reply, "acknowledgements", "aB3dE5gH7jK9mN1p");
        let (_, poll) = f.poll(&reply.1["poll_id"], "acknowledgements").await;
        let acks = &poll["data"]["acknowledgements"];
        assert_eq!(acked(&acks[0]["smart_license"]), [(1, "ACCEPTED".to_owned())]);
        let pis = f.authority.product_instances(SA, VA).await.expect("instances");
        assert_eq!(pis.len(), 1);
        assert_eq!(pis[0].key_status, "unverified");
        assert!(pis[0].key_seen.as_deref().is_some_and(|s| s.starts_with("builtin:")));
        assert_eq!(pis[0].usage.iter().map(|u| u.count).collect::<Vec<_>>(), [3]);
        let events = f.authority.events(SA, Some(VA), None).await.expect("events");
        assert!(
            events.iter().any(|e| e.message.contains("registered unverified")),
            "the activity log tells the binding is unverified"
        );

        // Its later reports are taken the same way.
        let body = gve_report(wlc.gve_usage(&[builtin_report(&wlc.udi, 2, 4)]));
        let reply = f.call(Method::POST, "/v2/devices/reportusage", Some(&body)).await;
        assert_cisco_accepted(&reply, "acknowledgements", "aB3dE5gH7jK9mN1p");
        let pis = f.authority.product_instances(SA, VA).await.expect("instances");
        assert_eq!(pis[0].usage.iter().map(|u| u.count).collect::<Vec<_>>(), [4]);

        // Its slp system information shows a real key: the binding is verified, not taken over.
        wlc.register(&f).await;
        let pis = f.authority.product_instances(SA, VA).await.expect("instances");
        assert_eq!(pis[0].key_status, "verified");
        assert_eq!(pis[0].key_id, wlc.key.key_id());
        assert_eq!(pis[0].key_seen, None);

        // From then on, reports slp cannot verify are refused: the key is bound (issue #16).
        let body = gve_report(wlc.gve_usage(&[builtin_report(&wlc.udi, 3, 5)]));
        let (status, reply) = f.call(Method::POST, "/v2/devices/reportusage", Some(&body)).await;
        assert!(status.is_client_error(), "{status} {reply}");
        assert!(reply.to_string().contains("FOC9"), "the refusal names the UDI: {reply}");
    })
    .await;
}

#[tokio::test]
async fn usage_signed_with_a_key_the_authority_never_saw_binds_unverified() {
    on_both("gve_unknown_key", |f| async move {
        // slp's Ed25519 signature, but the key was never shown (no system_info, no trust).
        let sw = Device::new("FOC7").at(NOW_MS);
        let body = gve_report(sw.gve_usage(&[sw.one(1, 2)]));
        let reply = f.call(Method::POST, "/v2/devices/reportusage", Some(&body)).await;
        assert_cisco_accepted(&reply, "acknowledgements", "aB3dE5gH7jK9mN1p");
        let pis = f.authority.product_instances(SA, VA).await.expect("instances");
        assert_eq!(pis[0].key_status, "unverified");
        assert_eq!(pis[0].key_seen, Some(format!("ed25519:{}", sw.key.key_id())));
    })
    .await;
}

#[tokio::test]
async fn unverified_usage_for_a_device_bound_to_a_key_is_refused() {
    on_both("gve_takeover", |f| async move {
        let sw = Device::new("FOC1").at(NOW_MS);
        sw.register(&f).await;
        // Another sender, with Cisco's unverifiable signing, for the bound UDI.
        let body = gve_report(sw.gve_usage(&[builtin_report(&sw.udi, 9, 100)]));
        let (status, reply) = f.call(Method::POST, "/v2/devices/reportusage", Some(&body)).await;
        assert!(status.is_client_error(), "{status} {reply}");
        let pis = f.authority.product_instances(SA, VA).await.expect("instances");
        assert_eq!(pis[0].key_status, "verified");
        assert_eq!(pis[0].usage.iter().map(|u| u.count).collect::<Vec<_>>(), [1]);
    })
    .await;
}

#[tokio::test]
async fn first_contact_deny_refuses_usage_from_a_never_seen_device() {
    on_both("gve_deny", |f| async move {
        f.authority.set_first_contact(SA, VA, slp_store::FirstContact::Deny).await.expect("deny");
        let wlc = Device::new("FOC9").at(NOW_MS);
        let body = gve_report(wlc.gve_usage(&[builtin_report(&wlc.udi, 1, 3)]));
        let (status, reply) = f.call(Method::POST, "/v2/devices/reportusage", Some(&body)).await;
        assert!(status.is_client_error(), "{status} {reply}");
        assert!(reply.to_string().contains("denies first contact"), "{reply}");
        assert!(f.authority.product_instances(SA, VA).await.expect("instances").is_empty());
    })
    .await;
}

/// `requestAuthCode()` (`01 - reserve license.py`) for `udi`: one `entitlement` by PID and
/// serial number, the count as the string `"1"`.
fn gve_reserve(udi: &Udi, entitlement: &str) -> Value {
    json!({"data": {"timestamp": NOW_MS, "nonce": "Rsv0123456789abc", "licenses": [{
        "sudi": {"udi_pid": udi.pid, "udi_serial_number": udi.sn},
        "hostname": "wlc1",
        "keys": [{"entitlement": entitlement, "count": "1"}]}]}})
}

/// `removeDeviceLicense()` (`03 - remove license.py`) for `udi`: `keys: []` and the
/// `remove_code` the device printed.
fn gve_remove(udi: &Udi, remove_code: &str) -> Value {
    json!({"data": {"timestamp": NOW_MS, "nonce": "Rmv0123456789abc", "licenses": [{
        "sudi": {"udi_pid": udi.pid, "udi_serial_number": udi.sn},
        "hostname": "wlc1",
        "keys": [],
        "remove_code": remove_code}]}})
}

#[tokio::test]
async fn a_device_bound_unverified_is_reserved_and_returned_by_pid_and_serial() {
    on_both("gve_unverified_slac", |f| async move {
        // First contact through `02 - report license usage.py`: bound unverified.
        let wlc = Device::new("FOC9");
        let body = gve_report(wlc.gve_usage(&[builtin_report(&wlc.udi, 1, 3)]));
        let reply = f.call(Method::POST, "/v2/devices/reportusage", Some(&body)).await;
        assert_cisco_accepted(&reply, "acknowledgements", "aB3dE5gH7jK9mN1p");
        let pis = f.authority.product_instances(SA, VA).await.expect("instances");
        assert_eq!(pis[0].key_status, "unverified");

        // `01 - reserve license.py` for it.
        let reply = f
            .call(
                Method::POST,
                "/v2/devices/authrequest",
                Some(&gve_reserve(&wlc.udi, tag("hseck9"))),
            )
            .await;
        assert_cisco_accepted(&reply, "authorizations", "Rsv0123456789abc");
        let (status, poll) = f.poll(&reply.1["poll_id"], "authorizations").await;
        assert_eq!(status, StatusCode::OK, "{poll}");
        let entry = &poll["data"]["authorizations"][0];
        assert_eq!(entry["status"], "SUCCESS", "{poll}");
        let text = BASE64.decode(entry["smart_license"].as_str().expect("a code")).expect("base64");
        let doc = Document::parse(std::str::from_utf8(&text).expect("UTF-8")).expect("a document");
        let code: docs::Authorization =
            doc.of(Kind::Authorization).next().expect("a code").json().expect("JSON");
        let remove_code = code.return_code.expect("a return code");

        // `03 - remove license.py`: the return code gives it back.
        let reply = f
            .call(
                Method::POST,
                "/v2/devices/authrequest",
                Some(&gve_remove(&wlc.udi, &remove_code)),
            )
            .await;
        assert_cisco_accepted(&reply, "authorizations", "Rmv0123456789abc");
        let (status, poll) = f.poll(&reply.1["poll_id"], "authorizations").await;
        assert_eq!(status, StatusCode::OK, "{poll}");
        let entry = &poll["data"]["authorizations"][0];
        assert_eq!(entry["status"], "SUCCESS", "{poll}");
        assert!(entry["smart_license"].is_null(), "{poll}");
    })
    .await;
}

/// The one entry of an `authorizations` poll answer.
async fn authorization_entry(f: &Fixture, reply: &(StatusCode, Value)) -> Value {
    assert_eq!(reply.0, StatusCode::ACCEPTED, "{}", reply.1);
    let (status, poll) = f.poll(&reply.1["poll_id"], "authorizations").await;
    assert_eq!(status, StatusCode::OK, "{poll}");
    poll["data"]["authorizations"][0].clone()
}

#[tokio::test]
async fn reservations_by_pid_and_serial_carry_the_product_instance_identifier() {
    on_both("gve_piid", |f| async move {
        // `01 - reserve license.py` for a device the authority never saw.
        let fresh = Udi::new("C8000V", "ASDF1234").expect("a UDI");
        let reply = f
            .call(
                Method::POST,
                "/v2/devices/authrequest",
                Some(&gve_reserve(&fresh, tag("hseck9"))),
            )
            .await;
        let entry = authorization_entry(&f, &reply).await;
        assert_eq!(entry["status"], "SUCCESS", "{entry}");
        // As the Postman sample's answer: a UUID, `5278df84-7316-4332-88be-62623dd30b9e`.
        let piid = entry["product_instance_identifier"].as_str().expect("a PIID").to_owned();
        let groups: Vec<usize> = piid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{piid}");
        assert!(piid.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{piid}");

        // `03 - remove license.py`: the return names the same product instance.
        let text = BASE64.decode(entry["smart_license"].as_str().expect("a code")).expect("base64");
        let doc = Document::parse(std::str::from_utf8(&text).expect("UTF-8")).expect("a document");
        let code: docs::Authorization =
            doc.of(Kind::Authorization).next().expect("a code").json().expect("JSON");
        let remove = gve_remove(&fresh, &code.return_code.expect("a return code"));
        let reply = f.call(Method::POST, "/v2/devices/authrequest", Some(&remove)).await;
        let entry = authorization_entry(&f, &reply).await;
        assert_eq!(entry["status"], "SUCCESS", "{entry}");
        assert_eq!(entry["product_instance_identifier"], piid.as_str());

        // Another device has another one; a FAILED entry has none.
        let other = Udi::new("C8000V", "ASDF5678").expect("a UDI");
        let reply = f
            .call(
                Method::POST,
                "/v2/devices/authrequest",
                Some(&gve_reserve(&other, tag("hseck9"))),
            )
            .await;
        let entry = authorization_entry(&f, &reply).await;
        assert_eq!(entry["status"], "SUCCESS", "{entry}");
        assert!(
            entry["product_instance_identifier"].as_str().is_some_and(|p| p != piid),
            "{entry}"
        );
        let reply = f
            .call(
                Method::POST,
                "/v2/devices/authrequest",
                Some(&gve_reserve(&other, tag("hseck9"))),
            )
            .await;
        let entry = authorization_entry(&f, &reply).await;
        // The same body again is a replay: the stored answer.
        assert_eq!(entry["status"], "SUCCESS", "{entry}");
        let mut body = gve_reserve(&other, tag("hseck9"));
        body["data"]["nonce"] = json!("Rsv-three-000000");
        body["data"]["licenses"][0]["keys"][0]["count"] = json!("2");
        let reply = f.call(Method::POST, "/v2/devices/authrequest", Some(&body)).await;
        let entry = authorization_entry(&f, &reply).await;
        assert_eq!(entry["status"], "FAILED", "1 hseck9 left: {entry}");
        assert!(entry["product_instance_identifier"].is_null(), "{entry}");
    })
    .await;
}

/// A Cisco device's saved SLAC request forwarded as a document item (what a relay sends for
/// it: `auth_request` with the file's `<data>`, no slp system information), and its return.
#[tokio::test]
async fn a_device_bound_unverified_is_served_from_its_saved_request_and_return() {
    on_both("unverified_items", |f| async move {
        // First contact through `02 - report license usage.py`: bound unverified.
        let wlc = Device::new("FOC9");
        let body = gve_report(wlc.gve_usage(&[builtin_report(&wlc.udi, 1, 3)]));
        let reply = f.call(Method::POST, "/v2/devices/reportusage", Some(&body)).await;
        assert_cisco_accepted(&reply, "acknowledgements", "aB3dE5gH7jK9mN1p");

        // Its `license smart authorization request save` file, as an item the authority
        // cannot verify (Cisco's signature, or none): the request is served from its keys,
        // as the reserve step for a device named by PID and serial number.
        let items = vec![AuthRequestItem::new(
            Sudi::of(&wlc.udi),
            vec![Key { entitlement: tag("hseck9").to_owned(), count: 1 }],
        )];
        let data = serde_json::to_string(&items).expect("JSON");
        let body = json!({"data": {"timestamp": NOW_MS, "nonce": "itemreq000000000", "licenses": [{
            "sudi": wlc.sudi(), "hostname": "wlc1",
            "auth_request": {"data": data,
                "signature": {"alg": "sha256WithRSA", "key": "cisco", "value": "AAAA"}}}]}});
        let reply = f.call(Method::POST, "/v2/devices/authrequest", Some(&body)).await;
        let entry = authorization_entry(&f, &reply).await;
        assert_eq!(entry["status"], "SUCCESS", "{entry}");
        let text = BASE64.decode(entry["smart_license"].as_str().expect("a code")).expect("base64");
        let doc = Document::parse(std::str::from_utf8(&text).expect("UTF-8")).expect("a document");
        let code: docs::Authorization =
            doc.of(Kind::Authorization).next().expect("a code").json().expect("JSON");
        assert_eq!(code.entitlements[0].feature, "hseck9");
        let licenses = f.authority.licenses(SA, VA).await.expect("licenses");
        let hsec = licenses.iter().find(|l| l.license == "hseck9").expect("hseck9");
        assert_eq!(hsec.reserved, 1);

        // Its return file, unsigned: the return code in it gives the code back.
        let ret = docs::AuthReturn {
            sudi: Sudi::of(&wlc.udi),
            code_id: code.code_id.clone(),
            return_code: code.return_code.clone().expect("a return code"),
            timestamp: "2026-11-15T10:00:00Z".to_owned(),
        };
        let body = json!({"data": {"timestamp": NOW_MS, "nonce": "itemret000000000", "licenses": [{
            "sudi": wlc.sudi(), "auth_return": {"data": serde_json::to_string(&ret).expect("JSON")}}]}});
        let reply = f.call(Method::POST, "/v2/devices/authrequest", Some(&body)).await;
        let entry = authorization_entry(&f, &reply).await;
        assert_eq!(entry["status"], "SUCCESS", "{entry}");
        let licenses = f.authority.licenses(SA, VA).await.expect("licenses");
        let hsec = licenses.iter().find(|l| l.license == "hseck9").expect("hseck9");
        assert_eq!(hsec.reserved, 0, "returned");

        // A device bound to a verified key still has its requests checked against that key.
        let sw = Device::new("FOC1");
        sw.register(&f).await;
        let items = vec![AuthRequestItem::new(
            Sudi::of(&sw.udi),
            vec![Key { entitlement: tag("hseck9").to_owned(), count: 1 }],
        )];
        let forged = docs::sign_json(Kind::AuthRequest, &items, &slp_wire::keys::KeyPair::generate());
        let body = json!({"data": {"nonce": "forged0000000000", "licenses": [{"sudi": sw.sudi(),
            "auth_request": slp_wire::cssm::report::SignedJson::of(&forged)}]}});
        let (status, reply) = f.call(Method::POST, "/v2/devices/authrequest", Some(&body)).await;
        assert!(status.is_client_error(), "{status} {reply}");
        assert!(reply.to_string().contains("FOC1"), "{reply}");
    })
    .await;
}
