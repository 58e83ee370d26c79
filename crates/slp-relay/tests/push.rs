//! The push endpoint `/cslu/v1/pi` through the router (tower `oneshot`), and the store under it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{Auth, Dev, relay};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use slp_relay::api::{ApiOptions, router};
use slp_relay::{PiSpec, PrefsChange};
use slp_wire::online::{self, MessageType, Response, Status};
use tower::ServiceExt;

async fn send(
    relay: &std::sync::Arc<slp_relay::Relay>,
    options: ApiOptions,
    body: Vec<u8>,
) -> (StatusCode, Response) {
    send_to(relay, options, online::CSLU_PATH, body).await
}

async fn send_to(
    relay: &std::sync::Arc<slp_relay::Relay>,
    options: ApiOptions,
    path: &str,
    body: Vec<u8>,
) -> (StatusCode, Response) {
    let request = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let response = router(relay.clone(), options).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let reply: Response = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!("reply is not an online::Response ({e}): {}", String::from_utf8_lossy(&bytes))
    });
    (status, reply)
}

async fn message(
    relay: &std::sync::Arc<slp_relay::Relay>,
    request: &online::Request,
) -> (StatusCode, Response) {
    send(relay, ApiOptions::default(), serde_json::to_vec(request).unwrap()).await
}

#[tokio::test]
async fn push_is_stored_once_polled_and_answered_after_an_imported_ack() {
    let t = relay().await;
    let dev = Dev::new("FOC1");
    let (status, reply) = message(&t.relay, &dev.push(dev.usage(&[101, 102], "a"))).await;
    assert_eq!((status, reply.status), (StatusCode::OK, Status::OkPoll), "{reply:?}");
    let poll_id = reply.poll_id.clone().unwrap();
    assert_eq!(reply.poll_interval, Some(slp_relay::POLL_INTERVAL_SECS));

    // Identical bytes, and the same reports with a new nonce: the same poll id, nothing new.
    let (_, again) = message(&t.relay, &dev.push(dev.usage(&[101, 102], "a"))).await;
    assert_eq!(again.poll_id.as_deref(), Some(poll_id.as_str()));
    let (_, renonced) = message(&t.relay, &dev.push(dev.usage(&[101, 102], "b"))).await;
    assert_eq!(renonced.poll_id.as_deref(), Some(poll_id.as_str()));
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM documents")
        .fetch_one(t.relay.store().pool())
        .await
        .unwrap();
    assert_eq!(count, 1);

    // Inventory: learned on first push, with Last Contact and the pending ACK.
    let list = t.relay.pi_list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].udi.as_deref(), Some("PID:C9300-24UX,SN:FOC1"));
    assert_eq!(list[0].hostname.as_deref(), Some("sw-FOC1"));
    assert_eq!(list[0].last_contact.as_deref(), Some(crate::common::T0));
    assert_eq!(list[0].alerts, vec!["ACK pending"]);

    let (status, reply) = message(&t.relay, &dev.poll(&poll_id)).await;
    assert_eq!((status, reply.status), (StatusCode::OK, Status::NoData));

    // The ACK comes back by file, signed by the authority whose key the operator pinned.
    let auth = Auth::new();
    auth.pin(&t.relay).await;
    let ack = auth.ack(&dev, &[101, 102]);
    let file = t.dir.path().join("ack.xml");
    std::fs::write(&file, &ack).unwrap();
    let imported = t.relay.import(&file).await.unwrap();
    assert_eq!(imported.answers, vec![("ack.xml".to_owned(), dev.udi_text())]);
    assert_eq!(t.relay.pi_list().await.unwrap()[0].alerts, vec!["ACK ready"]);

    let (status, reply) = message(&t.relay, &dev.poll(&poll_id)).await;
    assert_eq!((status, reply.status), (StatusCode::OK, Status::Ok), "{reply:?}");
    let answer = reply.smart_license.unwrap();
    assert!(answer.contains("<smartLicenseRumAck>"), "{answer}");
    // A repeated poll gets the same answer; the inventory is clear.
    let (_, again) = message(&t.relay, &dev.poll(&poll_id)).await;
    assert_eq!(again.smart_license.as_deref(), Some(answer.as_str()));
    assert!(t.relay.pi_list().await.unwrap()[0].alerts.is_empty());
    // Importing the same file again stores nothing new.
    assert_eq!(t.relay.import(&file).await.unwrap().new, 0);

    // Another device may not poll this id; an unknown id is 404.
    let other = Dev::new("FOC9");
    let (status, reply) = message(&t.relay, &other.poll(&poll_id)).await;
    assert_eq!((status, reply.status), (StatusCode::UNPROCESSABLE_ENTITY, Status::Error));
    assert!(reply.message.unwrap().contains("another product instance"));
    let (status, _) = message(&t.relay, &dev.poll("12345")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, reply) =
        message(&t.relay, &dev.message(MessageType::Hello, Default::default())).await;
    assert_eq!((status, reply.status), (StatusCode::OK, Status::Ok));
}

#[tokio::test]
async fn tampered_or_foreign_documents_are_refused_and_nothing_is_stored() {
    let t = relay().await;
    let dev = Dev::new("FOC1");
    let good = dev.usage(&[7], "a");
    // A report whose counted value was changed after signing.
    let tampered = good.replace(r#"\"value\":\"1\""#, r#"\"value\":\"9\""#);
    assert_ne!(tampered, good, "the fixture must change the report");
    let (status, reply) = message(&t.relay, &dev.push(tampered)).await;
    assert_eq!((status, reply.status), (StatusCode::UNPROCESSABLE_ENTITY, Status::Error));
    let text = reply.message.unwrap();
    assert!(text.contains("PID:C9300-24UX,SN:FOC1") && text.contains("RUM report 7"), "{text}");

    // A report signed by another key than the system information's.
    let intruder = Dev { key: slp_wire::keys::KeyPair::generate(), ..Dev::new("FOC1") };
    let mixed = good.replacen(
        &good[good.find("<RUMReport>").unwrap()..good.find("</RUMReport>").unwrap() + 12],
        &format!("<RUMReport><![CDATA[{}]]></RUMReport>", intruder.report(8, 1)),
        1,
    );
    let (_, reply) = message(&t.relay, &dev.push(mixed)).await;
    assert_eq!(reply.status, Status::Error);
    assert!(reply.message.unwrap().contains("RUM report 8"));

    // The header names another device than the document.
    let other = Dev::new("FOC2");
    let (_, reply) = message(&t.relay, &other.push(good.clone())).await;
    assert!(reply.message.unwrap().contains("the message header names PID:C9300-24UX,SN:FOC2"));

    // Not XML; an ACK pushed as if it were usage.
    let (_, reply) = message(&t.relay, &dev.push("<smartLicense><oops>".into())).await;
    assert!(reply.message.unwrap().contains("malformed XML"));
    let (_, reply) = message(&t.relay, &dev.push(Auth::new().ack(&dev, &[1]))).await;
    assert!(reply.message.unwrap().contains("only the authority issues"));

    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM documents")
        .fetch_one(t.relay.store().pool())
        .await
        .unwrap();
    assert_eq!(count, 0);
    let (status, _) = message(&t.relay, &dev.push(good)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn validate_device_refuses_unknown_udis_until_added() {
    let t = relay().await;
    t.relay
        .set_prefs(PrefsChange { validate_device: Some(true), ..PrefsChange::default() })
        .await
        .unwrap();
    let dev = Dev::new("FOC1");
    let (status, reply) = message(&t.relay, &dev.push(dev.usage(&[1], "a"))).await;
    assert_eq!((status, reply.status), (StatusCode::FORBIDDEN, Status::Error));
    let text = reply.message.unwrap();
    assert!(text.contains("PID:C9300-24UX,SN:FOC1 is not in the relay's inventory"), "{text}");
    assert!(t.relay.pi_list().await.unwrap().is_empty(), "nothing stored for an unknown device");

    t.relay.pi_add(PiSpec { udi: Some(dev.udi_text()), ..PiSpec::default() }).await.unwrap();
    let (status, reply) = message(&t.relay, &dev.push(dev.usage(&[1], "a"))).await;
    assert_eq!((status, reply.status), (StatusCode::OK, Status::OkPoll), "{reply:?}");
}

#[tokio::test]
async fn oversize_and_malformed_messages_get_clear_http_errors() {
    let t = relay().await;
    let dev = Dev::new("FOC1");
    let small = ApiOptions { body_limit: 2048 };
    let big = serde_json::to_vec(&dev.push(dev.usage(&[1, 2, 3, 4, 5], "a"))).unwrap();
    assert!(big.len() > 2048);
    let (status, reply) = send(&t.relay, small, big).await;
    assert_eq!((status, reply.status), (StatusCode::PAYLOAD_TOO_LARGE, Status::Error));
    assert!(reply.message.unwrap().contains("larger than the relay's limit of 2048 bytes"));

    // A declared Content-Length over the limit is refused before reading.
    let request = Request::post(online::CSLU_PATH)
        .header("content-length", "999999999")
        .body(Body::from("{}"))
        .unwrap();
    let response = router(t.relay.clone(), small).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let (status, reply) = send(&t.relay, ApiOptions::default(), b"{not json".to_vec()).await;
    assert_eq!((status, reply.status), (StatusCode::BAD_REQUEST, Status::Error));
    assert!(reply.message.unwrap().contains("malformed device message"));
    let (status, reply) =
        message(&t.relay, &dev.message(MessageType::Usage, Default::default())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(reply.message.unwrap().contains("data.smart_license is missing"));
    let (status, reply) =
        message(&t.relay, &dev.message(MessageType::TrustRequest, Default::default())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.message.unwrap().contains("directly to the authority"));
}

#[tokio::test]
async fn reordered_pushes_are_all_kept_and_each_report_goes_out_once() {
    use slp_relay::bundle::Format;
    use slp_relay::intake::Source;
    let t = relay().await;
    let dev = Dev::new("FOC1");
    let udi = dev.udi_text();
    // The newer document arrives first, the older one (a delayed retry) after it.
    let newer = t.relay.accept(&dev.usage(&[3, 4], "b"), Some(&udi), Source::Push).await.unwrap();
    let older = t.relay.accept(&dev.usage(&[1, 2], "a"), Some(&udi), Source::Push).await.unwrap();
    assert_ne!(newer.poll_id, older.poll_id, "both are kept");
    // The newer one replayed after the older: recognised, not stored again.
    let again = t.relay.accept(&dev.usage(&[3, 4], "c"), Some(&udi), Source::Push).await.unwrap();
    assert_eq!(again.poll_id, newer.poll_id);
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM documents")
        .fetch_one(t.relay.store().pool())
        .await
        .unwrap();
    assert_eq!(count, 2);

    // The export carries every report once, whatever the order they came in.
    let out = t.dir.path().join("xml");
    let exported = t.relay.export(&out, Format::Xml).await.unwrap().unwrap();
    assert_eq!(exported.files.len(), 1);
    assert_eq!(exported.files[0].2, 4);
    let text = std::fs::read_to_string(out.join(&exported.files[0].0)).unwrap();
    let doc = slp_wire::xml::Document::parse(&text).unwrap();
    let mut ids: Vec<u64> = doc
        .reports
        .iter()
        .map(|r| slp_wire::rum::Envelope::parse(r).unwrap().report().unwrap().report_id)
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3, 4]);
}

#[tokio::test]
async fn an_impostor_with_the_same_udi_gets_no_poll_id_and_no_answer() {
    let t = relay().await;
    let dev = Dev::new("FOC1");
    let (status, reply) = message(&t.relay, &dev.push(dev.usage(&[101, 102], "a"))).await;
    assert_eq!(status, StatusCode::OK, "{reply:?}");
    let poll_id = reply.poll_id.unwrap();

    // Another key claims the same UDI and pushes the same report ids (a fresh signature): before,
    // it was answered with the genuine device's poll id and could collect its answer.
    let impostor = Dev { key: slp_wire::keys::KeyPair::generate(), ..Dev::new("FOC1") };
    let before: Vec<(String,)> = sqlx::query_as("SELECT poll_id FROM documents ORDER BY id")
        .fetch_all(t.relay.store().pool())
        .await
        .unwrap();
    let (status, reply) = message(&t.relay, &impostor.push(impostor.usage(&[101, 102], "a"))).await;
    assert_eq!((status, reply.status), (StatusCode::FORBIDDEN, Status::Error), "{reply:?}");
    assert_eq!(reply.poll_id, None);
    let text = reply.message.unwrap();
    assert!(
        text.contains("is bound to device key") && text.contains("slp relay pi rebind --udi"),
        "{text}"
    );
    // Other reports of the impostor: refused too; nothing stored.
    let (status, _) = message(&t.relay, &impostor.push(impostor.usage(&[555], "b"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let after: Vec<(String,)> = sqlx::query_as("SELECT poll_id FROM documents ORDER BY id")
        .fetch_all(t.relay.store().pool())
        .await
        .unwrap();
    assert_eq!(after, before);

    // The genuine device's answer goes to the genuine device.
    let auth = Auth::new();
    auth.pin(&t.relay).await;
    let file = t.dir.path().join("ack.xml");
    std::fs::write(&file, auth.ack(&dev, &[101, 102])).unwrap();
    t.relay.import(&file).await.unwrap();
    let (status, reply) = message(&t.relay, &dev.poll(&poll_id)).await;
    assert_eq!((status, reply.status), (StatusCode::OK, Status::Ok), "{reply:?}");

    // The operator re-binds (the device was really replaced): the new key's next push binds it,
    // and the old key is refused from then on.
    assert!(t.relay.pi_rebind(&dev.udi_text()).await.unwrap().is_some());
    let (status, reply) = message(&t.relay, &impostor.push(impostor.usage(&[555], "c"))).await;
    assert_eq!(status, StatusCode::OK, "{reply:?}");
    let (status, _) = message(&t.relay, &dev.push(dev.usage(&[103], "d"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let unknown = t.relay.pi_rebind("PID:C9300-24UX,SN:NOPE").await.unwrap_err().to_string();
    assert!(unknown.contains("SN:NOPE is not in the inventory"), "{unknown}");
}

/// A document of `evil` whose system information lists `victim` as a unit of its HA set.
fn claiming_as_unit(evil: &Dev, victim: &Dev, ids: &[u64]) -> String {
    use slp_wire::docs::{self, DeviceEntry, SystemInfo};
    use slp_wire::xml::{Document, Kind};
    let entry = |dev: &Dev, role: &str| DeviceEntry {
        sudi: dev.sudi(),
        role: role.to_owned(),
        software_tag_identifier: crate::common::TAG.to_owned(),
        hostname: None,
    };
    let info = docs::sign_json(
        Kind::SystemInfo,
        &SystemInfo {
            sudi: evil.sudi(),
            timestamp: 1_790_000_000_000,
            nonce: "x".to_owned(),
            hostname: Some(evil.hostname.clone()),
            software_tag_identifier: crate::common::TAG.to_owned(),
            software_version: Some("17.09.04".to_owned()),
            public_key: evil.key.public_b64(),
            device_list: vec![entry(evil, "Active"), entry(victim, "Standby")],
        },
        &evil.key,
    );
    Document { reports: ids.iter().map(|id| evil.report(*id, 1)).collect(), items: vec![info] }
        .to_xml()
}

#[tokio::test]
async fn a_device_cannot_claim_another_devices_udi_as_its_standby_to_collect_its_answers() {
    let t = relay().await;
    let dev = Dev::new("FOC1");
    let (status, reply) = message(&t.relay, &dev.push(dev.usage(&[101, 102], "a"))).await;
    assert_eq!(status, StatusCode::OK, "{reply:?}");
    let poll_id = reply.poll_id.unwrap();

    // Another key, under a UDI of its own, names FOC1 a standby unit of its HA set.
    let evil = Dev::new("EVIL1");
    let (status, reply) =
        message(&t.relay, &evil.push(claiming_as_unit(&evil, &dev, &[900]))).await;
    assert_eq!((status, reply.status), (StatusCode::FORBIDDEN, Status::Error), "{reply:?}");
    let text = reply.message.unwrap();
    assert!(
        text.contains("PID:C9300-24UX,SN:FOC1") && text.contains("bound to device key"),
        "{text}"
    );
    let (units,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM units")
        .fetch_one(t.relay.store().pool())
        .await
        .unwrap();
    assert_eq!(units, 0, "nothing stored");

    // FOC1's ACK goes to FOC1.
    let auth = Auth::new();
    auth.pin(&t.relay).await;
    let file = t.dir.path().join("ack.xml");
    std::fs::write(&file, auth.ack(&dev, &[101, 102])).unwrap();
    t.relay.import(&file).await.unwrap();
    let (status, reply) = message(&t.relay, &dev.poll(&poll_id)).await;
    assert_eq!((status, reply.status), (StatusCode::OK, Status::Ok), "{reply:?}");
}

#[tokio::test]
async fn a_relay_database_of_the_earlier_version_binds_its_devices_on_upgrade() {
    let t = relay().await;
    let dev = Dev::new("FOC1");
    let (_, reply) = message(&t.relay, &dev.push(dev.usage(&[101, 102], "a"))).await;
    let poll_id = reply.poll_id.unwrap();
    t.relay.store().close().await;
    // Back to schema version 1, as an earlier slp left it.
    {
        use sqlx::Connection;
        let url = format!("sqlite:{}", t.dir.path().join("relay.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        for sql in [
            "ALTER TABLE devices DROP COLUMN device_key",
            "ALTER TABLE documents DROP COLUMN device_key",
            "DELETE FROM relay_migrations WHERE version = 2",
        ] {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    }
    let relay =
        std::sync::Arc::new(slp_relay::Relay::open(t.dir.path(), t.clock.clone()).await.unwrap());

    // The device is bound to the key of its stored document: an impostor is refused, and the
    // genuine device's poll of its earlier poll id still works.
    let impostor = Dev { key: slp_wire::keys::KeyPair::generate(), ..Dev::new("FOC1") };
    let (status, _) = message(&relay, &impostor.push(impostor.usage(&[555], "b"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, reply) = message(&relay, &dev.poll(&poll_id)).await;
    assert_eq!((status, reply.status), (StatusCode::OK, Status::NoData), "{reply:?}");
}

/// The guide has devices of an SSM On-Prem deployment push to `http://<ip>/cslu/v1/pi/<tenant
/// ID>`: the relay takes that form of the URL as the plain one, and a deeper path is not found.
#[tokio::test]
async fn the_on_prem_tenant_url_reaches_the_push_endpoint() {
    let t = relay().await;
    let dev = Dev::new("FOC1");
    let body = serde_json::to_vec(&dev.push(dev.usage(&[101], "a"))).unwrap();
    let tenant = format!("{}/Lab-1", online::CSLU_PATH);
    let (status, reply) = send_to(&t.relay, ApiOptions::default(), &tenant, body).await;
    assert_eq!((status, reply.status), (StatusCode::OK, Status::OkPoll), "{reply:?}");
    let poll_id = reply.poll_id.clone().unwrap();
    // The same relay answers the poll on either form.
    let (status, reply) = message(&t.relay, &dev.poll(&poll_id)).await;
    assert_eq!((status, reply.status), (StatusCode::OK, Status::NoData), "{reply:?}");

    let deeper = format!("{}/Lab-1/extra", online::CSLU_PATH);
    let request = Request::post(deeper.as_str())
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&dev.poll(&poll_id)).unwrap()))
        .unwrap();
    let response = router(t.relay.clone(), ApiOptions::default()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
