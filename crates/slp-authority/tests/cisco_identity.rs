//! Identity as Cisco's clients use it, over a real loopback socket: the token endpoint at
//! Cisco's SSO paths with the parameters where public scripts put them (query string, form
//! body, JSON body, HTTP Basic), the password grant for users of a smart account, failed
//! logins limited, and the gateway's tolerance of doubled slashes, doubled prefixes and
//! trailing slashes. SQLite in a temp dir, a frozen virtual clock, no sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

use std::sync::Arc;

use chrono::{DateTime, Duration};
use reqwest::StatusCode;
use serde_json::{Value, json};
use slp_authority::{Authority, AuthorityError, ClientCredentials, Role, UserView};
use slp_clock::VirtualClock;
use slp_store::Store;

const SA: &str = "example.com";
const VA: &str = "Lab";
const BASE: &str = "/services/api/smart-accounts-and-licensing";
const ALICE_PASSWORD: &str = "correct horse battery staple";

struct Served {
    url: String,
    clock: Arc<VirtualClock>,
    authority: Arc<Authority>,
    http: reqwest::Client,
    client: ClientCredentials,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server.await.unwrap().unwrap();
    }

    /// Reads a reply's status and JSON body.
    async fn read(response: reqwest::Response) -> (StatusCode, Value) {
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    async fn bearer_get(&self, url: &str, token: &str) -> (StatusCode, Value) {
        Self::read(self.http.get(url).bearer_auth(token).send().await.unwrap()).await
    }

    async fn bearer_post(&self, url: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .header("cache-control", "no-cache")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        Self::read(response).await
    }

    /// aawarner/Smart-Licensing-Transfer-Tool's `getSLToken`: a password grant, its payload a
    /// hand-built form string, to cloudsso's path.
    async fn password_grant(
        &self,
        client_secret: &str,
        username: &str,
        password: &str,
    ) -> (StatusCode, Value) {
        let payload = format!(
            "client_id={}&client_secret={client_secret}&username={username}&password={password}&grant_type=password",
            self.client.client_id
        );
        let response = self
            .http
            .post(format!("{}/as/token.oauth2", self.url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .header("cache-control", "no-cache")
            .body(payload)
            .send()
            .await
            .unwrap();
        Self::read(response).await
    }
}

/// Example Corp (example.com) / Lab with network-advantage licenses, Other Corp (other.com),
/// an API client "scripts" (reporter) of example.com and its user alice (viewer).
async fn serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let at = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").unwrap().to_utc();
    let clock = Arc::new(VirtualClock::frozen(at));
    let authority = Arc::new(Authority::open(store, clock.clone()).await.unwrap());
    authority.create_account("Example Corp", SA).await.unwrap();
    authority.create_va(SA, VA).await.unwrap();
    authority.create_account("Other Corp", "other.com").await.unwrap();
    authority.create_va("other.com", "Main").await.unwrap();
    let spec = slp_authority::LicenseSpec {
        tag: "network-advantage".to_owned(),
        sku: "C9300-NW-A".to_owned(),
        quantity: 10,
        term: None,
        enforcement: None,
        expires: None,
    };
    authority.add_license(SA, VA, &spec).await.unwrap();
    let (client, _) = authority.create_client(SA, "scripts", Role::Reporter).await.unwrap();
    authority.add_user(SA, "alice", Role::Viewer, ALICE_PASSWORD).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server =
        tokio::spawn(slp_authority::serve(authority.clone(), listener, None, async move {
            let _ = stopped.await;
        }));
    let http = reqwest::Client::new();
    Served { url, clock, authority, http, client, _dir: dir, stop: Some(stop), server }
}

fn token_of(body: &Value) -> String {
    assert_eq!(body["token_type"], "Bearer", "{body}");
    assert_eq!(body["expires_in"], 3600, "{body}");
    body["access_token"].as_str().unwrap_or_else(|| panic!("no access_token in {body}")).to_owned()
}

// ---- the token endpoint as Cisco's clients call it -----------------------------------------

#[tokio::test]
async fn client_credentials_in_the_query_string_with_an_empty_body() {
    let s = serve().await;
    // Brandon Rumer's RecomVer (and other Cisco API samples): the parameters in cloudsso's URL,
    // a form content type, no body.
    let url = format!(
        "{}/as/token.oauth2?grant_type=client_credentials&client_id={}&client_secret={}",
        s.url, s.client.client_id, s.client.client_secret
    );
    let response = s
        .http
        .post(&url)
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cache-control", "no-cache")
        .send()
        .await
        .unwrap();
    let (status, body) = Served::read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = token_of(&body);
    let (status, body) = s
        .bearer_get(
            &format!("{}/services/api/smart-accounts-and-licensing/v1/authority/key", s.url),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    s.stop().await;
}

#[tokio::test]
async fn client_credentials_as_a_form_at_each_sso_path() {
    let s = serve().await;
    // gve_devnet smartaccount.py (cloudsso) and the CiscoDevNet MCP server's auth.py
    // (id.cisco.com): a form body with grant_type, client_id, client_secret.
    for path in ["/as/token.oauth2", "/oauth2/default/v1/token", "/oauth2/token"] {
        let response = s
            .http
            .post(format!("{}{path}", s.url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", s.client.client_id.as_str()),
                ("client_secret", s.client.client_secret.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let (status, body) = Served::read(response).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        token_of(&body);
    }
    s.stop().await;
}

#[tokio::test]
async fn client_credentials_by_http_basic_to_id_cisco_com() {
    let s = serve().await;
    // A TokenManager for id.cisco.com: the body is `grant_type=client_credentials`, the client
    // in an `Authorization: Basic` header.
    let response = s
        .http
        .post(format!("{}/oauth2/default/v1/token", s.url))
        .header("Accept", "*/*")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .basic_auth(&s.client.client_id, Some(&s.client.client_secret))
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let (status, body) = Served::read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    token_of(&body);
    s.stop().await;
}

#[tokio::test]
async fn client_credentials_as_a_json_body() {
    let s = serve().await;
    let response = s
        .http
        .post(format!("{}/oauth2/token", s.url))
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": s.client.client_id,
            "client_secret": s.client.client_secret,
        }))
        .send()
        .await
        .unwrap();
    let (status, body) = Served::read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    token_of(&body);
    // A JSON body that is not a token request is named as such.
    let response = s
        .http
        .post(format!("{}/oauth2/token", s.url))
        .json(&json!({"grant_type": ["client_credentials"]}))
        .send()
        .await
        .unwrap();
    let (status, body) = Served::read(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("JSON body"), "{body}");
    s.stop().await;
}

// ---- the password grant ---------------------------------------------------------------------

#[tokio::test]
async fn a_password_grant_acts_with_the_users_role_and_scope() {
    let s = serve().await;
    let (status, body) = s.password_grant(&s.client.client_secret, "alice", ALICE_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = token_of(&body);

    // What the transfer tool does next: read the licenses (alice is a viewer: allowed)…
    let licenses = format!("{}{BASE}/v1/accounts/{SA}/licenses", s.url);
    let (status, body) = s
        .bearer_post(&licenses, &token, &json!({"virtualAccounts": [VA], "limit": 50, "offset": 0}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["licenses"][0]["quantity"], 10, "{body}");
    // …and transfer licenses, which a viewer may not, though the client (a reporter) could
    // not either: the user's role decides, and the refusal names the user.
    let transfer =
        format!("{}{BASE}/v1/accounts/{SA}/virtual-accounts/{VA}/licenses/transfer", s.url);
    let body = json!({"licenses": [{"license": "network-advantage", "licenseType": "PERPETUAL",
        "quantity": 1, "targetVirtualAccount": "Other"}]});
    let (status, reply) = s.bearer_post(&transfer, &token, &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    let message = reply["message"].as_str().unwrap();
    assert!(
        message.contains("user \"alice\" (through API client \"scripts\") has role viewer"),
        "{message}"
    );
    // A reporter-only request is refused to the viewer though the client is a reporter.
    let poll = format!("{}{BASE}/v2/accounts/poll", s.url);
    let (status, reply) = s.bearer_post(&poll, &token, &json!({"data": {"poll_id": "1"}})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    // The user's smart account is its scope.
    let other = format!("{}{BASE}/v1/accounts/other.com/customer/virtual-accounts", s.url);
    let (status, reply) = s.bearer_get(&other, &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    assert!(
        reply["message"].as_str().unwrap().contains("scoped to smart account \"example.com\""),
        "{reply}"
    );

    // An admin user through the same reporter client may transfer.
    s.authority.add_user(SA, "bob", Role::Admin, "bobs long password").await.unwrap();
    let (status, body) =
        s.password_grant(&s.client.client_secret, "bob", "bobs long password").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let admin = token_of(&body);
    s.authority.create_va(SA, "Other").await.unwrap();
    let (status, reply) = s
        .bearer_post(
            &transfer,
            &admin,
            &json!({"licenses": [{"license": "network-advantage",
        "licenseType": "PERPETUAL", "quantity": 1, "targetVirtualAccount": "Other"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    // The activity log says who: the user, through the client.
    let events = s.authority.events(SA, None, None).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.actor.as_deref().is_some_and(|u| u.starts_with("api:bob via scripts"))),
        "{events:?}"
    );

    // Removing the user ends its token at once.
    s.authority.remove_user(SA, "alice").await.unwrap();
    let (status, _) = s.bearer_post(&licenses, &token, &json!({"virtualAccounts": [VA]})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

#[tokio::test]
async fn a_password_grant_needs_the_client_secret_only_when_given() {
    let s = serve().await;
    // A public client: the client id and the user's credentials, no secret.
    let response = s
        .http
        .post(format!("{}/oauth2/token", s.url))
        .form(&[
            ("grant_type", "password"),
            ("client_id", s.client.client_id.as_str()),
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = Served::read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A secret that is given must be right.
    let (status, body) = s.password_grant("not-the-secret", "alice", ALICE_PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client", "{body}");
    // In the query string, as with client credentials.
    let url = format!(
        "{}/as/token.oauth2?grant_type=password&client_id={}&username=alice&password=correct%20horse%20battery%20staple",
        s.url, s.client.client_id
    );
    let response = s
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    let (status, body) = Served::read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    s.stop().await;
}

#[tokio::test]
async fn a_wrong_password_or_user_is_refused_with_invalid_grant() {
    let s = serve().await;
    let (status, body) = s.password_grant(&s.client.client_secret, "alice", "wrong password").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains("user \"alice\" of smart account \"example.com\""),
        "{description}"
    );
    assert!(!description.contains("wrong password\""), "the password is not echoed: {description}");
    // An unknown user reads the same: which names exist is not told.
    let (status, body) =
        s.password_grant(&s.client.client_secret, "mallory", "wrong password").await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    // A user of another smart account is not a user of the client's.
    s.authority.add_user("other.com", "olga", Role::Admin, "olgas long password").await.unwrap();
    let (status, body) =
        s.password_grant(&s.client.client_secret, "olga", "olgas long password").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("\"olga\" of smart account \"example.com\""),
        "{body}"
    );
    // Missing members are named.
    let response = s
        .http
        .post(format!("{}/oauth2/token", s.url))
        .form(&[
            ("grant_type", "password"),
            ("client_id", s.client.client_id.as_str()),
            ("password", "x"),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = Served::read(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert!(
        body["error_description"].as_str().unwrap().starts_with("username is missing"),
        "{body}"
    );
    // An unknown grant is named too.
    let response = s
        .http
        .post(format!("{}/oauth2/token", s.url))
        .form(&[("grant_type", "authorization_code"), ("code", "c")])
        .send()
        .await
        .unwrap();
    let (status, body) = Served::read(response).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    s.stop().await;
}

#[tokio::test]
async fn wrong_passwords_count_as_failed_logins_until_the_window_passes() {
    let s = serve().await;
    for i in 0..10 {
        let (status, body) =
            s.password_grant(&s.client.client_secret, "alice", &format!("guess-{i}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "guess {i}: {body}");
    }
    // Past the limit even the right password gets 429 with Retry-After.
    let response = s
        .http
        .post(format!("{}/as/token.oauth2", s.url))
        .form(&[
            ("grant_type", "password"),
            ("client_id", s.client.client_id.as_str()),
            ("client_secret", s.client.client_secret.as_str()),
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_some());
    s.clock.advance(Duration::minutes(10));
    let (status, body) = s.password_grant(&s.client.client_secret, "alice", ALICE_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    s.stop().await;
}

#[tokio::test]
async fn the_console_login_checks_a_users_password() {
    let s = serve().await;
    let alice: UserView = s.authority.login_user(SA, "alice", ALICE_PASSWORD).await.unwrap();
    assert_eq!((alice.username.as_str(), alice.role.as_str()), ("alice", "viewer"));
    let err = s.authority.login_user(SA, "alice", "nope nope nope").await.unwrap_err();
    assert!(matches!(err, AuthorityError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("user \"alice\" of smart account \"example.com\""), "{err}");
    let err = s.authority.login_user("other.com", "alice", ALICE_PASSWORD).await.unwrap_err();
    assert!(err.to_string().contains("\"other.com\""), "{err}");
    s.stop().await;
}

// ---- the gateway's path tolerance ---------------------------------------------------------

#[tokio::test]
async fn doubled_slashes_prefixes_and_trailing_slashes_reach_the_endpoint() {
    let s = serve().await;
    let (status, body) = s.password_grant(&s.client.client_secret, "alice", ALICE_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = token_of(&body);
    let host = &s.url;
    // GETs as public scripts spell them.
    for url in [
        format!("{host}/services/api/services/api/smart-accounts-and-licensing/v2/accounts/search"),
        format!("{host}//services/api/smart-accounts-and-licensing/v2/accounts/search"),
        format!("{host}/services/api/smart-accounts-and-licensing/v2/accounts/search/"),
        format!(
            "{host}/services/api/smart-accounts-and-licensing/v1/accounts/{SA}/customer/virtual-accounts/"
        ),
    ] {
        let (status, body) = s.bearer_get(&url, &token).await;
        assert_eq!(status, StatusCode::OK, "{url}: {body}");
    }
    // POSTs: the licenses of a smart account after a doubled slash (a public usage script) and
    // the license summary under a doubled prefix.
    let url =
        format!("{host}//services/api/smart-accounts-and-licensing/v1/accounts/{SA}/licenses");
    let (status, body) = s
        .bearer_post(&url, &token, &json!({"virtualAccounts": [VA], "limit": 50, "offset": 0}))
        .await;
    assert_eq!(status, StatusCode::OK, "{url}: {body}");
    assert_eq!(body["licenses"][0]["quantity"], 10, "{body}");
    let url = format!(
        "{host}/services/api/services/api/smart-accounts-and-licensing/v3/licenses/summary"
    );
    let (status, body) = s.bearer_post(&url, &token, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{url}: {body}");
    // The token endpoint too, with a trailing slash.
    let response = s
        .http
        .post(format!("{host}/oauth2/token/"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", s.client.client_id.as_str()),
            ("client_secret", s.client.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // A path that is not an endpoint however it is spelled stays a 404 naming it.
    let (status, body) = s.bearer_get(&format!("{host}//services/api/nothing/"), &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body["message"].as_str().unwrap().contains("/services/api/nothing"), "{body}");
    s.stop().await;
}

#[test]
fn gateway_paths_are_read_as_cisco_reads_them() {
    use slp_authority::api::gateway_path;
    let search = format!("{BASE}/v2/accounts/search");
    assert_eq!(gateway_path(&search), None, "a plain path is left alone");
    assert_eq!(gateway_path("/"), None);
    for spelled in [
        "//services/api/smart-accounts-and-licensing/v2/accounts/search".to_owned(),
        "/services/api/services/api/smart-accounts-and-licensing/v2/accounts/search".to_owned(),
        format!("{BASE}{BASE}/v2/accounts/search"),
        format!("{BASE}/v2/accounts/search/"),
        "/services//api/smart-accounts-and-licensing///v2/accounts/search//".to_owned(),
    ] {
        assert_eq!(gateway_path(&spelled).as_deref(), Some(search.as_str()), "{spelled}");
    }
    // Only a whole doubled segment is a doubled prefix.
    assert_eq!(gateway_path("/services/api/services/apix"), None);
}
