//! The account-management API as public scripts written for Cisco's Smart Software Manager call
//! it (PROTOCOL.md §7.2), each request as the script sends it and each reply read as the script
//! reads it:
//!
//! - CiscoSE/Smart-Licensing-Dashboard `sa_sdk.py` (`GET …/v2/accounts/`, `POST …/licenses`
//!   `{"limit": 100, "offset": 0, "virtualAccounts": []}`) and `CSSMJSONParser.py` (reads
//!   `accountName`, `accountDomain`, `accountStatus`, `accountType`, `roles[].role`,
//!   `roles[].virtualAccount`, and per license `quantity`, `inUse`, `available`, `ahaApps`,
//!   `billingType`, `pendingQuantity`, `reserved`, `isPortable`, `status`, `licenseDetails`);
//! - abhaskar2907/cisco-smart-license ansible roles (`accounts/search?domain=D`,
//!   `virtualAccounts[?isDefault=='true']`, VA create `{name, description}`, device transfer
//!   with Cisco's full `sudi`, `devices[*]`, `totalRecords`; `cloud_device.yml` on
//!   `https://swapi.cisco.com//services/api/…/devices`, whose export `gen_docx.py` and
//!   `cloud_mail_merge.py` read per device `instanceName`, `productTagName`, `sudi` and
//!   `sudi.udiSerialNumber`);
//! - a Nautobot plugin (VA create `{"name", "description", "isDefault": "false",
//!   "commerceAccessLevel": "PUBLIC"}` on `…/CUSTOMER/virtual-accounts`, license transfer with
//!   `precedence`);
//! - aawarner/Smart-Licensing-Transfer-Tool `SL-Transfer-App.py` (license transfer, reads
//!   `status`);
//! - CiscoDevNet/smart-license-app `resources/tokens.py` (`getSLToken`: `tokens[0].token` of
//!   the list; `createSLToken`: `tokenInfo.token`) and the ansible role `sl_transfer/tasks/
//!   token.yml` (create when `tokens | length == 0`, then `tokens[*].token | first`).
//!
//! Storage matters for the VA description: it runs on SQLite and, with
//! `SLP_TEST_POSTGRES_URL`, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use slp_authority::*;
use slp_clock::VirtualClock;
use slp_core::license;
use slp_core::udi::Udi;
use slp_store::Store;
use slp_wire::docs::{self, DeviceEntry, SystemInfo, TrustRequest};
use slp_wire::keys::KeyPair;
use slp_wire::rum::{self, HaUdi, Measurement, ReportInput, Sudi};
use slp_wire::xml::{Document, Kind};
use tower::ServiceExt;

const SA: &str = "example.com";
const VA: &str = "Lab";
const API: &str = "/services/api/smart-accounts-and-licensing";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn tag(feature: &str) -> &'static str {
    license::lookup(feature).unwrap().entitlement_tag
}

struct Fixture {
    _dir: tempfile::TempDir,
    authority: Arc<Authority>,
    router: Router,
}

struct Reply {
    status: StatusCode,
    body: Value,
}

/// Example Corp (example.com) with Lab (10 network-advantage, 2 hseck9, 1 dna-advantage that
/// has expired by now) and Branch; Other Corp (other.com) / Main. The clock is at
/// 2026-11-15T10:00:00Z.
async fn fixture_on(store: Store, dir: tempfile::TempDir) -> Fixture {
    let clock = Arc::new(VirtualClock::frozen(at("2026-10-01T10:00:00Z")));
    // The token key in the data directory, as `slp authority --data DIR` keeps it.
    let key = TokenKey::load_or_create(&TokenKey::path_in(dir.path())).unwrap();
    let authority =
        Arc::new(Authority::open(store, clock.clone()).await.unwrap().with_token_key(key));
    authority.create_account("Example Corp", SA).await.unwrap();
    authority.create_va(SA, VA).await.unwrap();
    authority.create_va(SA, "Branch").await.unwrap();
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
        add("hseck9", "C9K-HSEC", 2, None),
        add("dna-advantage", "C9300-DNA-A", 1, Some("2026-11-01")),
    ] {
        authority.add_license(SA, VA, &spec).await.unwrap();
    }
    clock.set(at("2026-11-15T10:00:00Z"));
    let router = router(authority.clone());
    Fixture { _dir: dir, authority, router }
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    fixture_on(store, dir).await
}

impl Fixture {
    /// A request as Python `requests` / ansible `uri` send it: bearer token, JSON content type.
    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json");
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let response = self.router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    /// A new API client of `account` with `role`, and an access token for it.
    async fn token(&self, account: &str, name: &str, role: Role) -> String {
        let (credentials, _) = self.authority.create_client(account, name, role).await.unwrap();
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            credentials.client_id, credentials.client_secret
        );
        let request = Request::post("/oauth2/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A switch (PID C9300-24UX) that has reported 4 network-advantage in `va`.
    async fn switch_reporting(&self, va: &str, sn: &str) {
        self.switch_using(va, sn, 4).await;
    }

    /// A switch (PID C9300-24UX, software tag `regid.sw`) that has reported `count`
    /// network-advantage in `va`.
    async fn switch_using(&self, va: &str, sn: &str, count: u64) {
        self.switch_named(va, sn, count, Some(&format!("sw-{sn}"))).await;
    }

    /// [`Fixture::switch_using`] with the hostname its system information gives.
    async fn switch_named(&self, va: &str, sn: &str, count: u64, hostname: Option<&str>) {
        let key = KeyPair::generate();
        let udi = Udi::new("C9300-24UX", sn).unwrap();
        let info = SystemInfo {
            sudi: Sudi::of(&udi),
            timestamp: 0,
            nonce: "n".to_owned(),
            hostname: hostname.map(str::to_owned),
            software_tag_identifier: "regid.sw".to_owned(),
            software_version: None,
            public_key: key.public_b64(),
            device_list: vec![DeviceEntry {
                sudi: Sudi::of(&udi),
                hostname: None,
                role: "Active".to_owned(),
                software_tag_identifier: "regid.sw".to_owned(),
            }],
        };
        let trust = TrustRequest {
            sudi: Sudi::of(&udi),
            public_key: key.public_b64(),
            nonce: "n".to_owned(),
            timestamp: "2026-11-15T09:00:00Z".to_owned(),
        };
        let end = at("2026-11-15T09:20:00Z").timestamp();
        let report = rum::sign_report(
            &ReportInput {
                report_id: 1,
                udi: udi.clone(),
                software_tag: "regid.sw".to_owned(),
                entitlement_tag: tag("network-advantage").to_owned(),
                software_version: None,
                ha_udi: vec![HaUdi { role: "Active".to_owned(), sudi: Sudi::of(&udi) }],
                measurements: vec![Measurement {
                    log_time: end,
                    start_time: end - 3600,
                    end_time: end,
                    count,
                    termination_reason: None,
                }],
            },
            &key,
        );
        let document = Document {
            reports: vec![report],
            items: vec![
                docs::sign_json(Kind::SystemInfo, &info, &key),
                docs::sign_json(Kind::TrustRequest, &trust, &key),
            ],
        };
        self.authority.upload(SA, va, "usage.xml", document.to_xml().as_bytes()).await.unwrap();
    }
}

fn path(rest: &str) -> String {
    format!("{API}{rest}")
}

/// What `CSSMJSONParser.convert_json_to_dataframe` reads of one account of `GET /v2/accounts`
/// with its licenses merged in by `sa_sdk.retrieve_and_process_licenses`: one row per license
/// detail of a virtual account role.
fn parser_rows(account: &Value) -> Vec<(String, String, i64, i64, bool, String)> {
    let mut rows = Vec::new();
    for field in ["accountName", "accountDomain", "accountStatus", "accountType"] {
        assert!(account[field].is_string(), "{field} missing in {account}");
    }
    for role in account["roles"].as_array().unwrap() {
        let name = role["role"].as_str().unwrap();
        if !["Virtual Account Administrator", "Virtual Account User"].contains(&name) {
            continue;
        }
        let va = role["virtualAccount"].as_str().unwrap().to_owned();
        for license in role["licenses"].as_array().into_iter().flatten() {
            for field in ["billingType", "pendingQuantity", "reserved", "isPortable", "status"] {
                assert!(!license[field].is_null(), "{field} missing in {license}");
            }
            for detail in license["licenseDetails"].as_array().unwrap() {
                assert!(detail.get("startDate").is_some() && detail.get("endDate").is_some());
                rows.push((
                    va.clone(),
                    license["license"].as_str().unwrap().to_owned(),
                    license["quantity"].as_i64().unwrap(),
                    license["inUse"].as_i64().unwrap(),
                    license["ahaApps"].as_bool().unwrap(),
                    detail["status"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    rows
}

#[tokio::test]
async fn v2_accounts_lists_the_callers_account_with_cisco_role_names() {
    let f = fixture().await;
    let admin = f.token(SA, "dashboard", Role::Admin).await;
    // sa_sdk.list_accounts: GET with a trailing slash is identity's; the plain path here.
    let reply = f.call(Method::GET, &path("/v2/accounts"), &admin, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let accounts = reply.body["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1, "only the caller's own account: {}", reply.body);
    let account = &accounts[0];
    assert_eq!(
        (
            account["accountName"].as_str(),
            account["accountDomain"].as_str(),
            account["accountStatus"].as_str(),
            account["accountType"].as_str()
        ),
        (Some("Example Corp"), Some(SA), Some("ACTIVE"), Some("CUSTOMER"))
    );
    let roles: Vec<(&str, Option<&str>)> = account["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["role"].as_str().unwrap(), r["virtualAccount"].as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("Smart Account Administrator", None),
            ("Virtual Account Administrator", Some("Branch")),
            ("Virtual Account Administrator", Some("Lab")),
        ]
    );
    // The ansible role builds `accountDomain + '/customer'` from each account.
    let domains: Vec<String> = accounts
        .iter()
        .map(|a| format!("{}/customer", a["accountDomain"].as_str().unwrap()))
        .collect();
    assert_eq!(domains, ["example.com/customer"]);

    // A viewer is a user, not an administrator.
    let viewer = f.token(SA, "report", Role::Viewer).await;
    let reply = f.call(Method::GET, &path("/v2/accounts"), &viewer, None).await;
    let roles: Vec<&str> = reply.body["accounts"][0]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["Smart Account User", "Virtual Account User", "Virtual Account User"]);

    // A reporter (a relay, a reservation script) reads its account's identity too (issue
    // #17), as a user.
    let reporter = f.token(SA, "relay", Role::Reporter).await;
    let reply = f.call(Method::GET, &path("/v2/accounts"), &reporter, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["accounts"][0]["roles"][0]["role"], "Smart Account User");
}

#[tokio::test]
async fn the_dashboard_reads_accounts_and_licenses_as_cisco_sends_them() {
    let f = fixture().await;
    f.switch_reporting(VA, "FOC1").await;
    let token = f.token(SA, "dashboard", Role::Viewer).await;
    let reply = f.call(Method::GET, &path("/v2/accounts"), &token, None).await;
    let mut account = reply.body["accounts"][0].clone();
    // sa_sdk.list_licenses(domain, []): every virtual account's licenses.
    let reply = f
        .call(
            Method::POST,
            &path(&format!("/v1/accounts/{SA}/licenses")),
            &token,
            Some(json!({"limit": 100, "offset": 0, "virtualAccounts": []})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // retrieve_and_process_licenses: group by virtualAccount into the matching role.
    for role in account["roles"].as_array_mut().unwrap() {
        if let Some(va) = role["virtualAccount"].as_str().map(str::to_owned) {
            let licenses: Vec<Value> = reply.body["licenses"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["virtualAccount"] == va.as_str())
                .cloned()
                .collect();
            role["licenses"] = json!(licenses);
        }
    }
    let mut rows = parser_rows(&account);
    rows.sort();
    // An expired subscription no longer counts in `quantity`; its detail says EXPIRED.
    let expected = [
        (VA, "dna-advantage", 0, 0, false, "EXPIRED"),
        (VA, "hseck9", 2, 0, false, "ACTIVE"),
        (VA, "network-advantage", 10, 4, false, "ACTIVE"),
    ];
    let expected: Vec<(String, String, i64, i64, bool, String)> = expected
        .iter()
        .map(|(va, l, q, u, a, s)| (va.to_string(), l.to_string(), *q, *u, *a, s.to_string()))
        .collect();
    assert_eq!(rows, expected);
    // Display names beside the tags: the name devices of the tag's PID family print.
    let names: Vec<(&str, &str)> = reply.body["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["entitlementTag"].as_str().unwrap(), l["displayName"].as_str().unwrap()))
        .collect();
    assert!(names.contains(&(tag("network-advantage"), "C9300-24 Network Advantage")), "{names:?}");
    assert!(names.contains(&(tag("hseck9"), "Cat9K HSEC")), "{names:?}");
}

#[tokio::test]
async fn accounts_search_by_domain_finds_only_the_callers_account() {
    let f = fixture().await;
    let token = f.token(SA, "ansible", Role::Admin).await;
    // cloud_va.yml: `{{ api }}/accounts/search?domain={{ domain_name }}`, prints `json.accounts`.
    let reply =
        f.call(Method::GET, &path(&format!("/v1/accounts/search?domain={SA}")), &token, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let accounts = reply.body["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(
        (
            accounts[0]["domain"].as_str(),
            accounts[0]["name"].as_str(),
            accounts[0]["status"].as_str()
        ),
        (Some(SA), Some("Example Corp"), Some("ACTIVE"))
    );
    // Another smart account is not the caller's to see: no account, and nothing about it.
    for other in ["other.com", "nowhere.example"] {
        let reply = f
            .call(Method::GET, &path(&format!("/v1/accounts/search?domain={other}")), &token, None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["accounts"], json!([]), "{other}");
    }
}

#[tokio::test]
async fn virtual_account_lists_mark_the_default_with_the_string_true() {
    let f = fixture().await;
    let token = f.token(SA, "ansible", Role::Viewer).await;
    // list.yml: `{{ api }}/accounts/{{ domain }}/customer/virtual-accounts`, then
    // `virtualAccounts[?isDefault=='true' || isDefault=='yes']`.
    let reply = f
        .call(
            Method::GET,
            &path(&format!("/v1/accounts/{SA}/customer/virtual-accounts")),
            &token,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let vas = reply.body["virtualAccounts"].as_array().unwrap();
    let default: Vec<&str> = vas
        .iter()
        .filter(|v| v["isDefault"] == "true" || v["isDefault"] == "yes")
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(default, [VA], "Lab was created first");
    assert!(vas.iter().all(|v| v["isDefault"].is_string()), "{}", reply.body);
}

/// VA create as the ansible role and the Nautobot plugin send it; the description is stored
/// and shown in lists.
async fn create_va_keeps_the_description(f: &Fixture) {
    let token = f.token(SA, "automation", Role::Admin).await;
    // roles/va/tasks/create.yml: body {name, description}.
    let reply = f
        .call(
            Method::POST,
            &path(&format!("/v1/accounts/{SA}/customer/virtual-accounts")),
            &token,
            Some(json!({"name": "auto_va_1", "description": "This is auto_va_1"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["virtualAccount"]["description"], "This is auto_va_1");
    assert_eq!(reply.body["virtualAccount"]["isDefault"], "false");
    // Nautobot plugin: `…/CUSTOMER/virtual-accounts`, isDefault and commerceAccessLevel as text.
    let reply = f
        .call(
            Method::POST,
            &path(&format!("/v1/accounts/{SA}/CUSTOMER/virtual-accounts")),
            &token,
            Some(json!({"name": "Campus", "description": "campus switches", "isDefault": "false",
                "commerceAccessLevel": "PUBLIC"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let reply = f
        .call(
            Method::GET,
            &path(&format!("/v1/accounts/{SA}/CUSTOMER/virtual-accounts")),
            &token,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let described: Vec<(&str, &str)> = reply.body["virtualAccounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["description"].as_str().unwrap()))
        .collect();
    assert_eq!(
        described,
        [
            ("Branch", ""),
            ("Campus", "campus switches"),
            (VA, ""),
            ("auto_va_1", "This is auto_va_1"),
        ]
    );
    // The local view (`slp authority va list`) shows it too.
    let vas = f.authority.vas(SA).await.unwrap();
    let campus = vas.iter().find(|v| v.name == "Campus").unwrap();
    assert_eq!(campus.description, "campus switches");
}

#[tokio::test]
async fn create_va_keeps_the_description_on_sqlite() {
    create_va_keeps_the_description(&fixture().await).await;
}

#[tokio::test]
async fn create_va_keeps_the_description_on_postgres() {
    use sqlx::Executor;
    let Some(url) = std::env::var("SLP_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SLP_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
        return;
    };
    let schema = format!("slp_cisco_manage_{}", std::process::id());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&url).await.unwrap();
    let drop_schema = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
    admin.execute(drop_schema.as_str()).await.unwrap();
    let options = slp_store::ConnectOptions { schema: Some(schema.clone()) };
    let store = Store::connect(&url, &options).await.unwrap();
    let f = fixture_on(store, tempfile::tempdir().unwrap()).await;
    create_va_keeps_the_description(&f).await;
    admin.execute(drop_schema.as_str()).await.unwrap();
}

#[tokio::test]
async fn devices_carry_display_names_and_transfer_with_ciscos_full_sudi() {
    let f = fixture().await;
    f.switch_reporting(VA, "FOC1").await;
    let token = f.token(SA, "ansible", Role::Admin).await;
    // cloud_device.yml: `…/virtual-accounts/{{ item.name | replace(' ','%20') }}/devices`,
    // reads `json.totalRecords` and `json.devices`.
    let reply = f
        .call(
            Method::GET,
            &path(&format!("/v1/accounts/{SA}/virtual-accounts/{VA}/devices")),
            &token,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["totalRecords"], 1);
    let usage = &reply.body["devices"][0]["licenseUsage"][0];
    assert_eq!(
        (usage["license"].as_str(), usage["displayName"].as_str(), usage["quantity"].as_i64()),
        (Some("network-advantage"), Some("C9300-24 Network Advantage"), Some(4))
    );
    // group_vars/cloud.yml `productInstances`: sudi with Cisco's null members, productTagName.
    let body = json!({"productInstances": [{
        "sudi": {"suvi": null, "uuid": "", "hostIdentifier": null, "udiPid": "C9300-24UX",
                 "udiSerialNumber": "FOC1", "udiVid": null, "macAddress": null},
        "productTagName": "",
        "targetVirtualAccount": "Branch"
    }]});
    let reply = f
        .call(
            Method::POST,
            &path(&format!("/v1/accounts/{SA}/virtual-accounts/{VA}/devices/transfer")),
            &token,
            Some(body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = f
        .call(
            Method::GET,
            &path(&format!("/v1/accounts/{SA}/virtual-accounts/Branch/devices")),
            &token,
            None,
        )
        .await;
    assert_eq!(reply.body["devices"][0]["sudi"]["udiSerialNumber"], "FOC1", "{}", reply.body);
}

#[tokio::test]
async fn license_transfer_as_the_transfer_tool_sends_it() {
    let f = fixture().await;
    let token = f.token(SA, "transfer-tool", Role::Admin).await;
    // SL-Transfer-App.py transferLicenses: {license, licenseType, quantity, targetVirtualAccount},
    // then `result["status"]`, "ERROR" on failure.
    let url = path(&format!("/v1/accounts/{SA}/virtual-accounts/{VA}/licenses/transfer"));
    let body = json!({"licenses": [{"license": "network-advantage", "licenseType": "PERPETUAL",
        "quantity": 3, "targetVirtualAccount": "Branch"}]});
    let reply = f.call(Method::POST, &url, &token, Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "SUCCESS");
    // Nautobot plugin: the same with precedence.
    let body = json!({"licenses": [{"license": "network-advantage", "licenseType": "PERPETUAL",
        "quantity": 2, "targetVirtualAccount": "Branch", "precedence": "LONGEST_TERM_FIRST"}]});
    let reply = f.call(Method::POST, &url, &token, Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = f
        .call(
            Method::POST,
            &path(&format!("/v1/accounts/{SA}/licenses")),
            &token,
            Some(json!({"virtualAccounts": ["Branch"], "limit": 50, "offset": 0})),
        )
        .await;
    let branch = &reply.body["licenses"][0];
    assert_eq!(
        (branch["license"].as_str(), branch["quantity"].as_i64()),
        (Some("network-advantage"), Some(5))
    );
    // More than is available: refused, and the script sees no SUCCESS.
    let body = json!({"licenses": [{"license": "network-advantage", "licenseType": "PERPETUAL",
        "quantity": 998, "targetVirtualAccount": "Branch"}]});
    let reply = f.call(Method::POST, &url, &token, Some(body)).await;
    assert!(reply.status.is_client_error(), "{}", reply.body);
    assert_ne!(reply.body["status"], "SUCCESS");
}

#[tokio::test]
async fn the_v3_summary_gives_display_names_and_detail_status() {
    let f = fixture().await;
    let token = f.token(SA, "summary", Role::Viewer).await;
    let reply = f
        .call(Method::POST, &path("/v3/licenses/summary"), &token, Some(json!({"tags": []})))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let by_tag = |feature: &str| {
        reply.body["summary"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["tag"] == tag(feature))
            .cloned()
            .unwrap()
    };
    let na = by_tag("network-advantage");
    assert_eq!(na["display_name"], "C9300-24 Network Advantage");
    assert_eq!(na["license_details"][0]["status"], "ACTIVE");
    let dna = by_tag("dna-advantage");
    assert_eq!(dna["display_name"], "C9300-24 DNA Advantage");
    assert_eq!(dna["license_details"][0]["status"], "EXPIRED");
}

#[tokio::test]
async fn devices_carry_the_members_of_ciscos_get_devices_answer() {
    let f = fixture().await;
    f.switch_reporting(VA, "FOC1").await;
    let token = f.token(SA, "ansible", Role::Viewer).await;
    // cloud_device.yml: `https://swapi.cisco.com//services/api/smart-accounts-and-licensing/v1/
    // accounts/{{ domain_name }}/virtual-accounts/{{ item.name | replace(' ','%20') }}/devices`.
    let url = format!("/{API}/v1/accounts/{SA}/virtual-accounts/{VA}/devices");
    let reply = f.call(Method::GET, &url, &token, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        (&reply.body["status"], &reply.body["statusMessage"]),
        (&json!("SUCCESS"), &json!(""))
    );
    assert_eq!(reply.body["totalRecords"], 1);
    let device = &reply.body["devices"][0];
    // `get_cloud_devices()` of gen_docx.py, and `get_device_list()` of cloud_mail_merge.py.
    assert_eq!(device["instanceName"], "sw-FOC1");
    assert_eq!(device["productTagName"], "regid.sw", "the software tag its reports name");
    assert_eq!(device["sudi"]["udiSerialNumber"], "FOC1");
    assert_eq!(device["sudi"]["udiPid"], "C9300-24UX");
    // The other members of Cisco's answer (the gve-sw Postman sample).
    assert_eq!(device["displayName"], "sw-FOC1");
    assert_eq!(device["hostName"], "sw-FOC1");
    assert_eq!(device["virtualAccount"], VA);
    assert_eq!(device["status"], "In Compliance");
    for member in ["productName", "productDescription", "productType"] {
        assert_eq!(device[member], "", "{member}: {device}");
    }
    assert_eq!(device["registrationDate"], "2026-11-15T10:00:00Z");
    assert_eq!(device["lastContactDate"], "2026-11-15T10:00:00Z");
    assert_eq!(device["licenseUsage"][0]["quantity"], 4);

    // More network-advantage in use than the virtual account has: its users are out of
    // compliance.
    f.switch_using(VA, "FOC2", 7).await;
    let reply = f.call(Method::GET, &url, &token, None).await;
    let devices = reply.body["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2, "{}", reply.body);
    assert!(devices.iter().all(|d| d["status"] == "Out Of Compliance"), "{}", reply.body);

    // A product instance without a hostname is named as Cisco names it.
    f.switch_named(VA, "FOC3", 1, None).await;
    let reply = f.call(Method::GET, &url, &token, None).await;
    let device = &reply.body["devices"][2];
    assert_eq!(device["sudi"]["udiSerialNumber"], "FOC3", "{}", reply.body);
    assert_eq!(device["instanceName"], "UDI_PID:C9300-24UX; UDI_SN:FOC3; ");
    assert_eq!(device["displayName"], "UDI_PID:C9300-24UX; UDI_SN:FOC3; ");
    assert!(device["hostName"].is_null(), "{device}");
}

/// `SmartLicensePortal.__init__` of dbrown92700/SmartLicensing `smart_license.py`: the
/// password grant as a form body to `/as/token.oauth2`; the status and the JSON answer.
async fn dbrown_login(f: &Fixture, client: &ClientCredentials, password: &str) -> Reply {
    let payload = format!(
        "client_id={}&client_secret={}&grant_type=password&username={}&password={}",
        client.client_id, client.client_secret, "alice", password
    );
    let request = Request::post("/as/token.oauth2")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(payload))
        .unwrap();
    let response = f.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

#[tokio::test]
async fn a_changed_password_logs_in_and_ends_the_old_passwords_sessions() {
    let f = fixture().await;
    let (client, _) = f.authority.create_client(SA, "scripts", Role::Reporter).await.unwrap();
    f.authority.add_user(SA, "alice", Role::Viewer, "first-password-1").await.unwrap();
    let old = dbrown_login(&f, &client, "first-password-1").await;
    assert_eq!(old.status, StatusCode::OK, "{}", old.body);
    let old_token = old.body["access_token"].as_str().unwrap().to_owned();
    let accounts = f.call(Method::GET, &path("/v2/accounts"), &old_token, None).await;
    assert_eq!(accounts.status, StatusCode::OK, "{}", accounts.body);

    // `slp authority user passwd --account example.com --username alice`.
    let view = f.authority.set_user_password(SA, " alice ", "second-password-2").await.unwrap();
    assert_eq!((view.username.as_str(), view.role.as_str()), ("alice", "viewer"));

    // The old password is refused, and so is the token it got.
    let refused = dbrown_login(&f, &client, "first-password-1").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(refused.body["error"], "invalid_grant", "{}", refused.body);
    let accounts = f.call(Method::GET, &path("/v2/accounts"), &old_token, None).await;
    assert_eq!(accounts.status, StatusCode::UNAUTHORIZED, "{}", accounts.body);
    // The new one logs in, with the user's role.
    let new = dbrown_login(&f, &client, "second-password-2").await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.body);
    let token = new.body["access_token"].as_str().unwrap();
    let accounts = f.call(Method::GET, &path("/v2/accounts"), token, None).await;
    assert_eq!(accounts.body["accounts"][0]["roles"][0]["role"], "Smart Account User");
    let events = f.authority.events(SA, None, None).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.message == "password of user \"alice\" changed; its access tokens revoked"),
        "{events:?}"
    );

    // A short password, an unknown user or account: refused by name, nothing changed.
    let short = f.authority.set_user_password(SA, "alice", "short").await.unwrap_err().to_string();
    assert!(short.contains("alice") && short.contains("at least 8"), "{short}");
    let nobody =
        f.authority.set_user_password(SA, "bob", "long-enough-3").await.unwrap_err().to_string();
    assert!(nobody.contains("bob") && nobody.contains("no such user"), "{nobody}");
    let elsewhere = f
        .authority
        .set_user_password("nowhere.example", "alice", "long-enough-3")
        .await
        .unwrap_err()
        .to_string();
    assert!(elsewhere.contains("nowhere.example"), "{elsewhere}");
    assert_eq!(dbrown_login(&f, &client, "second-password-2").await.status, StatusCode::OK);
}

/// `getSLToken` / `createSLToken` of smart-license-app and `token.yml` of the ansible role:
/// the list shows the token text, and the other members of Cisco's list.
#[tokio::test]
async fn token_lists_show_the_token_text_as_ciscos_do() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let f = fixture_on(store, tempfile::TempDir::new_in(dir.path()).unwrap()).await;
    let token = f.token(SA, "ansible", Role::Admin).await;
    let tokens = path(&format!("/v1/accounts/{SA}/virtual-accounts/{VA}/tokens"));

    // token.yml: fetch tokens; none, so create one with `token_create`; fetch again.
    let list = f.call(Method::GET, &tokens, &token, None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.body["tokens"].as_array().map(Vec::len), Some(0), "{}", list.body);
    let token_create = json!({"expiresAfterDays": 5,
        "description": "license migration token from automation", "exportControlled": "Allowed"});
    let created = f.call(Method::POST, &tokens, &token, Some(token_create)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let first = created.body["tokenInfo"]["token"].as_str().unwrap().to_owned();
    // createSLToken's body, as the string it sends.
    let payload = "{\"description\": \"SL Token Automation\",\"expiresAfterDays\": 30,\"exportControlled\": \"Not Allowed\"}";
    let request = Request::post(&tokens)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from(payload))
        .unwrap();
    let response = f.router.clone().oneshot(request).await.unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let reply: Value = serde_json::from_slice(&bytes).unwrap();
    let second = reply["tokenInfo"]["token"].as_str().unwrap().to_owned();

    let list = f.call(Method::GET, &tokens, &token, None).await;
    let rows = list.body["tokens"].as_array().unwrap();
    // `json_query('tokens[*].token') | first` and `response.json()['tokens'][0]['token']`.
    let texts: Vec<&str> = rows.iter().filter_map(|t| t["token"].as_str()).collect();
    assert_eq!(texts, [first.as_str(), second.as_str()], "{}", list.body);
    assert_eq!(rows[0]["token"], first.as_str());
    let row = &rows[1];
    assert_eq!(row["description"], "SL Token Automation");
    assert_eq!(row["exportControlled"], "Not Allowed");
    assert_eq!(row["expirationDate"], "2026-12-15T10:00:00Z");
    assert_eq!(row["status"], "Active");
    assert!(row["createdBy"].as_str().is_some_and(|by| by.contains("ansible")), "{row}");
    assert_eq!(rows[0]["exportControlled"], "Allowed");

    // The database alone does not hold the text: it is sealed with the key file.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            let found = bytes.windows(first.len()).any(|w| w == first.as_bytes());
            assert!(!found, "{} holds the token text", path.display());
        }
    }

    // The commented revoke task of token.yml: each listed text, as `tokens: [item]`.
    let revoke = path(&format!("/v1/accounts/{SA}/virtual-accounts/{VA}/tokens/revoke"));
    let reply = f.call(Method::POST, &revoke, &token, Some(json!({"tokens": [first]}))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let list = f.call(Method::GET, &tokens, &token, None).await;
    assert_eq!(list.body["tokens"][0]["status"], "Revoked");
    assert_eq!(list.body["tokens"][0]["token"], first.as_str(), "a revoked token still shows");

    // A token from before slp kept the text: listed with `token: null`, skipped by the
    // projection; the creator found in the activity log by the migration is shown.
    let mut tx = f.authority.store().begin().await.unwrap();
    let lab = tx.va_by_name(1, VA).await.unwrap().unwrap();
    tx.insert_token(&slp_store::IdToken {
        id: 0,
        va_id: lab.id,
        token_hash: "0".repeat(64),
        description: "from 2025".to_owned(),
        created_at: at("2025-12-01T00:00:00Z").timestamp(),
        expires_at: at("2026-12-01T00:00:00Z").timestamp(),
        max_uses: None,
        uses: 0,
        revoked_at: None,
        token_text: None,
        created_by: None,
        export_controlled: "Allowed".to_owned(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let list = f.call(Method::GET, &tokens, &token, None).await;
    let old = &list.body["tokens"][2];
    assert_eq!(old["description"], "from 2025", "{}", list.body);
    assert!(old.get("token").is_some_and(Value::is_null), "{old}");
    let texts: Vec<&str> = list.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["token"].as_str())
        .collect();
    assert_eq!(texts.len(), 2);

    // Opened again with another key file, the authority cannot open the texts: it lists them
    // as null (and logs why) rather than failing.
    let other_dir = tempfile::tempdir().unwrap();
    let other = TokenKey::load_or_create(&TokenKey::path_in(other_dir.path())).unwrap();
    let clock = Arc::new(VirtualClock::frozen(at("2026-11-15T10:00:00Z")));
    let reopened = Authority::open(f.authority.store().clone(), clock.clone())
        .await
        .unwrap()
        .with_token_key(other);
    let views = reopened.tokens(SA, VA).await.unwrap();
    assert!(views.iter().all(|t| t.token.is_none()), "{views:?}");
    // With its own key file it shows them again.
    let own = TokenKey::load_or_create(&TokenKey::path_in(f._dir.path())).unwrap();
    let reopened =
        Authority::open(f.authority.store().clone(), clock).await.unwrap().with_token_key(own);
    let views = reopened.tokens(SA, VA).await.unwrap();
    assert_eq!(views[1].token.as_deref(), Some(second.as_str()));

    // An unknown export flag is refused by name.
    let bad = json!({"description": "x", "expiresAfterDays": 5, "exportControlled": "Maybe"});
    let reply = f.call(Method::POST, &tokens, &token, Some(bad)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.body.to_string().contains("exportControlled"), "{}", reply.body);
}
