//! A relay refuses a pushed report with an absurd count (issue #16, defect 4) by its report id,
//! measurement and value, and stores nothing: it never forwards what the authority refuses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{Dev, relay};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use slp_relay::api::{ApiOptions, router};
use slp_wire::online::{self, Response, Status};
use slp_wire::xml::Document;
use tower::ServiceExt;

#[tokio::test]
async fn a_pushed_report_with_an_absurd_count_is_refused_and_not_stored() {
    let t = relay().await;
    let dev = Dev::new("FOC1");
    let mut doc = Document::parse(&dev.usage(&[], "a")).unwrap();
    doc.reports = vec![dev.report(101, 1), dev.report(102, i64::MAX as u64)];
    let request = dev.push(doc.to_xml());
    let response = router(t.relay.clone(), ApiOptions::default())
        .oneshot(
            Request::post(online::CSLU_PATH)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&request).unwrap()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let reply: Response = serde_json::from_slice(&bytes).unwrap();
    assert_ne!(status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.status, Status::Error);
    let message = reply.message.unwrap_or_default();
    assert!(message.contains("RUM report #2"), "{message}");
    assert!(
        message.contains(
            "report 102, measurement 1: count 9223372036854775807 is above the maximum of 1000000"
        ),
        "{message}"
    );
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM documents")
        .fetch_one(t.relay.store().pool())
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing stored");
}
