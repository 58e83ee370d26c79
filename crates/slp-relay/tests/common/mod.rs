//! Test fixtures: a signed device, an authority key that signs ACKs, a relay in a temp dir.

#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use slp_clock::VirtualClock;
use slp_core::udi::Udi;
use slp_relay::Relay;
use slp_wire::docs::{self, AckedReport, DeviceEntry, RumAck, SystemInfo, TrustRequest};
use slp_wire::keys::KeyPair;
use slp_wire::online::{self, Data, Header, MessageType, Request};
use slp_wire::rum::{self, Measurement, ReportInput, Sudi};
use slp_wire::xml::{Document, Kind};

pub const T0: &str = "2026-11-01T10:00:00Z";

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

pub struct TestRelay {
    pub dir: tempfile::TempDir,
    pub clock: Arc<VirtualClock>,
    pub relay: Arc<Relay>,
}

pub async fn relay() -> TestRelay {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::frozen(at(T0)));
    let relay = Arc::new(Relay::open(dir.path(), clock.clone()).await.unwrap());
    TestRelay { dir, clock, relay }
}

/// A product instance that signs its documents.
pub struct Dev {
    pub udi: Udi,
    pub key: KeyPair,
    pub hostname: String,
}

pub const TAG: &str = "regid.2017-05.com.cisco.C9300,v1_727af1d9-6c39-4444-b301-863f81445b72";

impl Dev {
    pub fn new(sn: &str) -> Dev {
        Dev {
            udi: Udi::new("C9300-24UX", sn).unwrap(),
            key: KeyPair::generate(),
            hostname: format!("sw-{sn}"),
        }
    }

    pub fn udi_text(&self) -> String {
        self.udi.to_string()
    }

    pub fn sudi(&self) -> Sudi {
        Sudi::of(&self.udi)
    }

    pub fn report(&self, id: u64, count: u64) -> String {
        rum::sign_report(
            &ReportInput {
                report_id: id,
                udi: self.udi.clone(),
                software_tag: TAG.to_owned(),
                entitlement_tag: "regid.2017-03.com.cisco.advantagek9".to_owned(),
                software_version: Some("17.09.04".to_owned()),
                ha_udi: vec![],
                measurements: vec![Measurement {
                    log_time: 1_790_000_000,
                    start_time: 1_789_990_000,
                    end_time: 1_790_000_000,
                    count,
                    termination_reason: None,
                }],
            },
            &self.key,
        )
    }

    pub fn system_info(&self, nonce: &str) -> slp_wire::xml::Signed {
        docs::sign_json(
            Kind::SystemInfo,
            &SystemInfo {
                sudi: self.sudi(),
                timestamp: 1_790_000_000_000,
                nonce: nonce.to_owned(),
                hostname: Some(self.hostname.clone()),
                software_tag_identifier: TAG.to_owned(),
                software_version: Some("17.09.04".to_owned()),
                public_key: self.key.public_b64(),
                device_list: vec![DeviceEntry {
                    sudi: self.sudi(),
                    role: "Active".to_owned(),
                    software_tag_identifier: TAG.to_owned(),
                    hostname: None,
                }],
            },
            &self.key,
        )
    }

    /// A usage document with the given reports, system info and a trust request.
    pub fn usage(&self, ids: &[u64], nonce: &str) -> String {
        let trust = docs::sign_json(
            Kind::TrustRequest,
            &TrustRequest {
                sudi: self.sudi(),
                public_key: self.key.public_b64(),
                nonce: nonce.to_owned(),
                timestamp: T0.to_owned(),
            },
            &self.key,
        );
        Document {
            reports: ids.iter().map(|id| self.report(*id, 1)).collect(),
            items: vec![self.system_info(nonce), trust],
        }
        .to_xml()
    }

    pub fn message(&self, kind: MessageType, data: Data) -> Request {
        Request {
            header: Header {
                kind,
                version: online::VERSION.to_owned(),
                nonce: "n".to_owned(),
                timestamp: 1,
                udi: self.sudi(),
            },
            data,
        }
    }

    pub fn push(&self, xml: String) -> Request {
        self.message(MessageType::Usage, Data { smart_license: Some(xml), ..Data::default() })
    }

    pub fn poll(&self, poll_id: &str) -> Request {
        self.message(
            MessageType::Poll,
            Data { poll_id: Some(poll_id.to_owned()), ..Data::default() },
        )
    }
}

/// An authority key that signs ACKs.
pub struct Auth {
    pub key: KeyPair,
}

impl Auth {
    pub fn new() -> Auth {
        Auth { key: KeyPair::generate() }
    }

    /// Pins this authority's key on the relay, as `prefs set --authority-key` does.
    pub async fn pin(&self, relay: &Relay) {
        relay
            .set_prefs(slp_relay::PrefsChange {
                authority_key: Some(self.key.public_b64()),
                ..slp_relay::PrefsChange::default()
            })
            .await
            .unwrap();
    }

    pub fn ack(&self, dev: &Dev, ids: &[u64]) -> String {
        let ack = RumAck {
            ack_id: format!("ack-{}", ids.iter().map(u64::to_string).collect::<Vec<_>>().join("-")),
            issued_at: T0.to_owned(),
            sudi: dev.sudi(),
            smart_account: "Example Corp".to_owned(),
            virtual_account: "Lab".to_owned(),
            reports: ids
                .iter()
                .map(|id| AckedReport {
                    report_id: *id,
                    sudi: dev.sudi(),
                    status: "ACCEPTED".to_owned(),
                    reason: None,
                })
                .collect(),
            authority_key: self.key.public_b64(),
        };
        Document { reports: vec![], items: vec![docs::sign_json(Kind::RumAck, &ack, &self.key)] }
            .to_xml()
    }
}
