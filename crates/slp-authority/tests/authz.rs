//! One authorization path (issue #17): the roles each route declares in the route table
//! (`slp_authority::api::endpoint_table()`, the table `/openapi.json` is built from) are its
//! check. This walks EVERY route with roles and proves: no token is 401; a token of each role
//! the route does not declare is 403; a token of another smart account is 403 (or 404); a
//! token of each declared role is not refused (no 401/403). Path parameters are real names
//! made here. SQLite in a temp dir, a frozen virtual clock.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::DateTime;
use serde_json::{Value, json};
use slp_authority::api::{Endpoint, endpoint_table, router};
use slp_authority::{Authority, LicenseSpec, MoveSpec, Role};
use slp_clock::VirtualClock;
use slp_core::udi::Udi;
use slp_store::Store;
use slp_wire::docs::{self, DeviceEntry, SystemInfo, TrustRequest};
use slp_wire::keys::KeyPair;
use slp_wire::rum::Sudi;
use slp_wire::xml::{Document, Kind};
use tower::ServiceExt;

const SA: &str = "example.com";
const VA: &str = "Lab";
const OTHER: &str = "other.com";

struct World {
    _dir: tempfile::TempDir,
    router: Router,
    /// Tokens of example.com by role, and of other.com by role.
    ours: BTreeMap<&'static str, String>,
    theirs: BTreeMap<&'static str, String>,
    /// Path parameters: `{domain}`, `{va}`, `{id}` (a move request), `{sha256}` (an upload).
    params: BTreeMap<&'static str, String>,
}

struct Reply {
    status: StatusCode,
    body: Value,
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_dir(dir.path()).await.unwrap();
        let clock = Arc::new(VirtualClock::frozen(
            DateTime::parse_from_rfc3339("2026-11-15T10:00:00Z").unwrap().to_utc(),
        ));
        let authority = Arc::new(Authority::open(store, clock).await.unwrap());
        authority.create_account("Example Corp", SA).await.unwrap();
        authority.create_va(SA, VA).await.unwrap();
        authority.create_account("Other Corp", OTHER).await.unwrap();
        authority.create_va(OTHER, "Main").await.unwrap();
        let spec = LicenseSpec {
            tag: "network-advantage".to_owned(),
            sku: "C9300-NW-A".to_owned(),
            quantity: 10,
            term: None,
            enforcement: None,
            expires: None,
        };
        authority.add_license(SA, VA, &spec).await.unwrap();
        let moved = authority
            .request_move(&MoveSpec {
                account: SA.to_owned(),
                va: VA.to_owned(),
                target_account: OTHER.to_owned(),
                target_va: "Main".to_owned(),
                license: "network-advantage".to_owned(),
                quantity: 1,
                reason: "divestiture".to_owned(),
            })
            .await
            .expect("a move request");
        let upload = usage_file();
        authority.upload(SA, VA, "all_rum.txt", &upload).await.expect("an upload");
        let router = router(authority.clone());
        let mut world = World {
            _dir: dir,
            router,
            ours: BTreeMap::new(),
            theirs: BTreeMap::new(),
            params: BTreeMap::new(),
        };
        for role in Role::ALL {
            let name = role.as_str();
            let ours = world.token(&authority, SA, &format!("ours-{name}"), role).await;
            world.ours.insert(name, ours);
            let theirs = world.token(&authority, OTHER, &format!("theirs-{name}"), role).await;
            world.theirs.insert(name, theirs);
        }
        let files = world
            .call(
                Method::GET,
                &format!(
                    "{}/v1/accounts/{SA}/virtual-accounts/{VA}/usage-files",
                    slp_authority::api::BASE
                ),
                Some(&world.ours["admin"].clone()),
                None,
            )
            .await;
        let sha256 = files.body["usageFiles"][0]["sha256"].as_str().expect("an uploaded file");
        world.params.insert("domain", SA.to_owned());
        world.params.insert("va", VA.to_owned());
        world.params.insert("id", moved.id.to_string());
        world.params.insert("sha256", sha256.to_owned());
        world
    }

    async fn token(&self, authority: &Authority, account: &str, name: &str, role: Role) -> String {
        let (credentials, _) = authority.create_client(account, name, role).await.unwrap();
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            credentials.client_id, credentials.client_secret
        );
        let request = Request::post("/oauth2/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        let reply = self.send(request).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["access_token"].as_str().unwrap().to_owned()
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    /// A request as a reporting script sends it: the bearer token, the smart account header
    /// (where the path names none) and an empty JSON object as the body of a POST or PUT.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        account_header: Option<&str>,
    ) -> Reply {
        let mut request = Request::builder().method(method.clone()).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(account) = account_header {
            request = request
                .header("X-CSW-SMART-ACCOUNT-ID", account)
                .header("X-CSW-VIRTUAL-ACCOUNT-ID", VA);
        }
        let body = if method == Method::POST || method == Method::PUT {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(json!({}).to_string())
        } else {
            Body::empty()
        };
        self.send(request.body(body).unwrap()).await
    }

    /// The route's path with its parameters filled in.
    fn concrete(&self, endpoint: &Endpoint) -> String {
        let mut path = endpoint.path.clone();
        for (name, value) in &self.params {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        assert!(!path.contains('{'), "a path parameter of {} is not filled", endpoint.path);
        path
    }
}

/// A file `license smart save usage` writes for a device that asks for trust only.
fn usage_file() -> Vec<u8> {
    let key = KeyPair::generate();
    let udi = Udi::new("C9300-24UX", "FOC1").unwrap();
    let info = SystemInfo {
        sudi: Sudi::of(&udi),
        timestamp: 0,
        nonce: "n".to_owned(),
        hostname: Some("sw-1".to_owned()),
        software_tag_identifier: "regid.sw".to_owned(),
        software_version: None,
        public_key: key.public_b64(),
        device_list: vec![DeviceEntry {
            sudi: Sudi::of(&udi),
            role: "Active".to_owned(),
            software_tag_identifier: "regid.sw".to_owned(),
            hostname: None,
        }],
    };
    let trust = TrustRequest {
        sudi: Sudi::of(&udi),
        public_key: key.public_b64(),
        nonce: "n".to_owned(),
        timestamp: "2026-11-15T10:00:00Z".to_owned(),
    };
    Document {
        reports: Vec::new(),
        items: vec![
            docs::sign_json(Kind::SystemInfo, &info, &key),
            docs::sign_json(Kind::TrustRequest, &trust, &key),
        ],
    }
    .to_xml()
    .into_bytes()
}

#[tokio::test]
async fn every_route_with_roles_is_checked_by_the_roles_it_declares() {
    let world = World::new().await;
    let table = endpoint_table();
    let guarded: Vec<&Endpoint> = table.iter().filter(|e| !e.roles.is_empty()).collect();
    assert!(guarded.len() >= 40, "only {} routes with roles", guarded.len());
    for endpoint in guarded {
        let method: Method = endpoint.method.parse().unwrap();
        let path = world.concrete(endpoint);
        let what = format!("{} {}", endpoint.method, endpoint.path);
        // The smart account comes from the path, else from the header.
        let header = (!endpoint.path.contains("{domain}")).then_some(SA);

        let reply = world.call(method.clone(), &path, None, header).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{what} without a token: {}",
            reply.body
        );
        assert!(
            reply.body["message"].as_str().unwrap_or_default().contains("Authorization"),
            "{what}: {}",
            reply.body
        );

        for role in Role::ALL.map(Role::as_str) {
            let token = &world.ours[role];
            let reply = world.call(method.clone(), &path, Some(token), header).await;
            if endpoint.roles.contains(&role) {
                assert!(
                    ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&reply.status),
                    "{what} refuses the declared role {role}: {} {}",
                    reply.status,
                    reply.body
                );
                let message = reply.body["message"].as_str().unwrap_or_default();
                assert!(!message.starts_with("no such endpoint"), "{what}: {}", reply.body);
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::FORBIDDEN,
                    "{what} lets role {role} in: {}",
                    reply.body
                );
                let message = reply.body["message"].as_str().unwrap_or_default();
                assert!(
                    message.contains(&format!("API client \"ours-{role}\" has role {role}"))
                        && message.contains(&path),
                    "{what}: the refusal names the client, its role and the endpoint: {message}"
                );
            }
        }

        // A client of the other smart account, with a role the route declares.
        let role = endpoint.roles[0];
        let reply = world.call(method.clone(), &path, Some(&world.theirs[role]), header).await;
        assert!(
            [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&reply.status),
            "{what} lets another smart account's {role} in: {} {}",
            reply.status,
            reply.body
        );
    }
}

#[tokio::test]
async fn an_unknown_virtual_account_is_404_and_another_smart_account_403() {
    let world = World::new().await;
    let base = slp_authority::api::BASE;
    let devices = format!("{base}/v1/accounts/{SA}/virtual-accounts/Nowhere/devices");
    let reply = world.call(Method::GET, &devices, Some(&world.ours["viewer"]), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert!(reply.body["message"].as_str().unwrap().contains("Nowhere"), "{}", reply.body);
    // Their virtual account, named in our path or theirs, is out of our scope.
    let theirs = format!("{base}/v1/accounts/{OTHER}/virtual-accounts/Main/devices");
    let reply = world.call(Method::GET, &theirs, Some(&world.ours["viewer"]), None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert!(
        reply.body["message"].as_str().unwrap().contains("scoped to smart account \"example.com\""),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_reservation_script_searches_its_account_first_with_a_reporter_token() {
    // Public reservation scripts call the account search with the token they report with.
    let world = World::new().await;
    let base = slp_authority::api::BASE;
    for path in [
        format!("{base}/v2/accounts"),
        format!("{base}/v2/accounts/search"),
        format!("{base}/v1/accounts/search?domain={SA}"),
    ] {
        let reply = world.call(Method::GET, &path, Some(&world.ours["reporter"]), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        assert!(reply.body.to_string().contains(SA), "{path}: {}", reply.body);
    }
}
