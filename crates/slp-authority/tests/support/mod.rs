//! What the authority's integration tests share: a product instance that signs its own
//! documents ([`Device`]), license pool entries, and a PostgreSQL schema of its own per test.

use serde_json::{Value, json};
use slp_authority::LicenseSpec;
use slp_core::license;
use slp_core::udi::Udi;
use slp_store::Store;
use slp_wire::docs::{self, DeviceEntry, SystemInfo, TrustRequest};
use slp_wire::keys::KeyPair;
use slp_wire::rum::{self, HaUdi, Measurement, ReportInput, Sudi};
use slp_wire::xml::{Document, Kind, Signed};

/// The software tag every test device reports under.
pub const SOFTWARE_TAG: &str = "regid.sw";

/// The entitlement tag of a catalog feature (`network-advantage`).
pub fn tag(feature: &str) -> &'static str {
    license::lookup(feature).expect("a catalog feature").entitlement_tag
}

/// A pool entry of `quantity` × catalog `feature` under `sku`, catalog term and enforcement.
pub fn pool(feature: &str, sku: &str, quantity: i64) -> LicenseSpec {
    LicenseSpec {
        tag: feature.to_owned(),
        sku: sku.to_owned(),
        quantity,
        term: None,
        enforcement: None,
        expires: None,
    }
}

/// A signed item as Cisco-shaped request bodies carry it (`{data, signature}`).
pub fn signed_json(item: &Signed) -> Value {
    serde_json::to_value(slp_wire::cssm::report::SignedJson::of(item)).expect("signed item JSON")
}

/// A product instance: its own device key, a C9300 UDI, and what its system information says.
pub struct Device {
    pub key: KeyPair,
    pub udi: Udi,
    /// The hostname its system information names (`sw-<serial>` unless [`Device::named`]).
    pub hostname: String,
    /// The time its system information states, in milliseconds ([`Device::at`]; 0 by default).
    pub timestamp_ms: i64,
}

impl Device {
    /// A C9300-24UX with serial number `sn` and a new key.
    pub fn new(sn: &str) -> Device {
        Device {
            key: KeyPair::generate(),
            udi: Udi::new("C9300-24UX", sn).expect("a UDI"),
            hostname: format!("sw-{sn}"),
            timestamp_ms: 0,
        }
    }

    /// The same device naming itself `hostname`.
    pub fn named(mut self, hostname: &str) -> Device {
        hostname.clone_into(&mut self.hostname);
        self
    }

    /// The same device stating `ms` (milliseconds since the epoch) in its system information.
    pub fn at(mut self, ms: i64) -> Device {
        self.timestamp_ms = ms;
        self
    }

    pub fn sudi(&self) -> Sudi {
        Sudi::of(&self.udi)
    }

    /// Its SUDI as request bodies carry it.
    pub fn sudi_json(&self) -> Value {
        serde_json::to_value(self.sudi()).expect("SUDI JSON")
    }

    /// Its signed `<smartLicenseSystemInfo>`: a stand-alone device, active.
    pub fn system_info(&self) -> Signed {
        let info = SystemInfo {
            sudi: self.sudi(),
            timestamp: self.timestamp_ms,
            nonce: "n".to_owned(),
            hostname: Some(self.hostname.clone()),
            software_tag_identifier: SOFTWARE_TAG.to_owned(),
            software_version: None,
            public_key: self.key.public_b64(),
            device_list: vec![DeviceEntry {
                sudi: self.sudi(),
                role: "Active".to_owned(),
                software_tag_identifier: SOFTWARE_TAG.to_owned(),
                hostname: None,
            }],
        };
        docs::sign_json(Kind::SystemInfo, &info, &self.key)
    }

    /// Its signed trust request for its own key.
    pub fn trust_request(&self) -> Signed {
        let request = TrustRequest {
            sudi: self.sudi(),
            public_key: self.key.public_b64(),
            nonce: "n".to_owned(),
            timestamp: "2026-11-15T10:00:00Z".to_owned(),
        };
        docs::sign_json(Kind::TrustRequest, &request, &self.key)
    }

    /// RUM report `id` as the device signs it: `count` × `feature` for the hour before `end`
    /// (seconds).
    pub fn report(&self, id: u64, feature: &str, count: u64, end: i64) -> String {
        rum::sign_report(
            &ReportInput {
                report_id: id,
                udi: self.udi.clone(),
                software_tag: SOFTWARE_TAG.to_owned(),
                entitlement_tag: tag(feature).to_owned(),
                software_version: None,
                ha_udi: vec![HaUdi { role: "Active".to_owned(), sudi: self.sudi() }],
                measurements: vec![Measurement {
                    log_time: end,
                    start_time: end - 3600,
                    end_time: end,
                    count,
                    termination_reason: None,
                }],
            },
            &self.key,
        )
    }

    /// The file `license smart save usage` writes: `reports`, system information, trust request.
    pub fn usage_file(&self, reports: &[String]) -> Vec<u8> {
        Document {
            reports: reports.to_vec(),
            items: vec![self.system_info(), self.trust_request()],
        }
        .to_xml()
        .into_bytes()
    }

    /// The same as one `reportusage` entry: slp's signed `system_info` and `trust_requests`,
    /// and the members Cisco's clients add (`hostname`, `nonce`, `timestamp`, and
    /// `is_consuming` on each report), which the authority accepts and ignores.
    pub fn usage_entry(&self, reports: &[String]) -> Value {
        let usage: Vec<Value> = reports
            .iter()
            .map(|r| {
                let mut envelope: Value = serde_json::from_str(r).expect("report JSON");
                envelope["is_consuming"] = json!(true);
                envelope
            })
            .collect();
        json!({
            "sudi": self.sudi_json(),
            "hostname": self.hostname,
            "software_tag_identifier": SOFTWARE_TAG,
            "nonce": "e1",
            "timestamp": 1_794_736_800_000_i64,
            "trust_requests": [signed_json(&self.trust_request())],
            "usage": usage,
            "system_info": signed_json(&self.system_info()),
        })
    }
}

/// A PostgreSQL schema made for one test, dropped by [`Postgres::drop_schema`].
pub struct Postgres {
    admin: sqlx::AnyPool,
    drop: String,
    url: String,
    options: slp_store::ConnectOptions,
}

impl Postgres {
    /// A store in a fresh schema `slp_<name>_<pid>` of the database `SLP_TEST_POSTGRES_URL`
    /// names, or `None` (saying so) when it names none.
    pub async fn store(name: &str) -> Option<(Store, Postgres)> {
        use sqlx::Executor;
        let Some(url) = std::env::var("SLP_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())
        else {
            eprintln!("SLP_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
            return None;
        };
        let schema = format!("slp_{name}_{}", std::process::id());
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyPool::connect(&url).await.expect("connect to PostgreSQL");
        let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
        admin.execute(drop.as_str()).await.expect("drop an earlier schema");
        let options = slp_store::ConnectOptions { schema: Some(schema) };
        let store = Store::connect(&url, &options).await.expect("a PostgreSQL store");
        Some((store, Postgres { admin, drop, url, options }))
    }

    /// Another store on the same schema (a second replica).
    pub async fn another_store(&self) -> Store {
        Store::connect(&self.url, &self.options).await.expect("a second PostgreSQL store")
    }

    pub async fn drop_schema(self) {
        use sqlx::Executor;
        self.admin.execute(self.drop.as_str()).await.expect("drop the test schema");
    }
}
