//! `slp device run` in process: what the management API does while a peer does not answer, the
//! one-writer lock, the clock endpoint's bounds, the modes of the files that hold secrets, and
//! logins against type 9 secrets.

// Test code: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use slp_clock::VirtualClock;
use slp_device::agent::{Device, InitOptions};
use slp_device::commands::{Mode, Session};
use slp_device::mgmt::Planes;
use slp_device::service::{RUN_FILE, RunInfo, ServeOptions, serve};
use slp_device::state::StateDir;

use crate::support::{T0, at};

/// A device in `root` configured with `commands` (config mode), saved.
fn device(root: &Path, commands: &[&str]) -> StateDir {
    let dir = StateDir::new(root);
    let options = InitOptions {
        pid: "C9300-24UX".to_owned(),
        sn: "FOC1".to_owned(),
        hostname: "sw1".to_owned(),
        version: "17.9.4".to_owned(),
        standby: vec![],
        members: vec![],
        boot_level: "network-advantage".to_owned(),
        factory_trust: false,
        authority_key: None,
    };
    let device = Device::init(dir.clone(), &options, at(T0)).unwrap();
    let mut session = Session::new(device, Mode::Exec);
    for line in ["configure terminal"].iter().chain(commands).chain(["end"].iter()) {
        let output = session.execute(line);
        assert!(output.ok, "{line}: {}", output.text);
    }
    dir
}

/// A running device service; stops when dropped.
struct Service {
    url: String,
    token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), slp_device::DeviceError>>,
}

impl Service {
    async fn start(dir: &StateDir) -> Service {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<String>();
        let clock = Arc::new(VirtualClock::frozen(at(T0)));
        let dir = dir.clone();
        let task = tokio::spawn(async move {
            let mut ready_tx = Some(ready_tx);
            serve(
                dir,
                clock,
                listener,
                None,
                async {
                    let _ = stopped.await;
                },
                ServeOptions { manual_ticks: true },
                Planes::default(),
                move |url| {
                    if let Some(tx) = ready_tx.take() {
                        let _ = tx.send(url.to_owned());
                    }
                },
            )
            .await
        });
        let url = ready_rx.await.expect("the service started");
        Service { url, token: String::new(), stop: Some(stop), task }
    }

    fn with_token(mut self, dir: &StateDir) -> Service {
        let text = std::fs::read_to_string(dir.root().join(RUN_FILE)).unwrap();
        let info: RunInfo = serde_json::from_str(&text).unwrap();
        assert_eq!(info.url, self.url);
        self.token = info.token;
        self
    }

    async fn exec(&self, commands: &[&str]) -> Value {
        reqwest::Client::new()
            .post(format!("{}/slp/v1/exec", self.url))
            .bearer_auth(&self.token)
            .json(&json!({ "commands": commands }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap().unwrap();
    }
}

fn text_of(reply: &Value) -> String {
    reply["outputs"].as_array().unwrap().iter().map(|o| o["text"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_answers_while_a_sync_waits_on_a_peer_that_never_answers() {
    // A peer that accepts connections and never says a word.
    let peer = TcpListener::bind("127.0.0.1:0").unwrap();
    let peer_url = format!("http://{}/cslu/v1/pi", peer.local_addr().unwrap());
    let (accepted_tx, accepted_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let (socket, _) = peer.accept().unwrap();
        // Hand the open connection over; it is closed when the test drops it.
        let _ = accepted_tx.send(socket);
    });
    let tmp = tempfile::tempdir().unwrap();
    let url_line = format!("license smart url cslu {peer_url}");
    let dir = device(
        &tmp.path().join("D"),
        &["license smart transport cslu", &url_line, "username admin privilege 15 password s3cret"],
    );
    let service = Service::start(&dir).await.with_token(&dir);

    let sync = {
        let (url, token) = (service.url.clone(), service.token.clone());
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{url}/slp/v1/exec"))
                .bearer_auth(token)
                .json(&json!({ "commands": ["license smart sync all"] }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    // The sync's message is on the wire: the peer has its connection.
    let socket = accepted_rx.await.unwrap();

    let status = service.exec(&["show license status"]).await;
    assert!(text_of(&status).contains("Transport:"), "{status}");
    let list = reqwest::Client::new()
        .get(format!("{}/smartlic-service/list", service.url))
        .basic_auth("admin", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    let list: Value = list.json().await.unwrap();
    assert!(list["usage_list"].as_array().is_some_and(|l| !l.is_empty()), "{list}");
    // The scheduler does not queue behind the sync either: it skips its turn.
    let tick: Value = reqwest::Client::new()
        .post(format!("{}/slp/v1/tick", service.url))
        .bearer_auth(&service.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tick["messages"], json!([]), "{tick}");
    assert!(!sync.is_finished(), "the show and the list answered while the sync still waited");

    // The peer hangs up: the sync ends as a communication failure, logged and scheduled.
    drop(socket);
    let synced = sync.await.unwrap();
    assert!(text_of(&synced).contains("%SMART_LIC-3-COMM_FAILED"), "{synced}");
    let after = service.exec(&["show logging"]).await;
    assert!(
        text_of(&after).contains("COMM_FAILED"),
        "the failure was applied to the device: {after}"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_service_on_the_same_state_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = device(&tmp.path().join("D"), &[]);
    let service = Service::start(&dir).await.with_token(&dir);
    let run_before = std::fs::read_to_string(dir.root().join(RUN_FILE)).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let clock = Arc::new(VirtualClock::frozen(at(T0)));
    let err = serve(
        dir.clone(),
        clock,
        listener,
        None,
        async {},
        ServeOptions::default(),
        Planes::default(),
        |_| panic!("the second service must not start"),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains(&dir.root().display().to_string()), "{err}");
    assert!(err.contains(&service.url), "{err}");
    assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
    assert_eq!(std::fs::read_to_string(dir.root().join(RUN_FILE)).unwrap(), run_before);
    // The first one still serves.
    let out = service.exec(&["show license udi"]).await;
    assert!(text_of(&out).contains("FOC1"), "{out}");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_device_past_its_ack_deadline_logs_a_reminder_a_day() {
    // network-advantage from T0: the change must be acknowledged within 90 days (Jan 30).
    let tmp = tempfile::tempdir().unwrap();
    let dir = device(&tmp.path().join("D"), &["license smart transport off"]);
    let service = Service::start(&dir).await.with_token(&dir);
    let post = |path: &str, body: Value| {
        let (url, token) = (format!("{}{path}", service.url), service.token.clone());
        async move {
            let request = reqwest::Client::new().post(url).bearer_auth(token);
            request.json(&body).send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    let reminder = "%SMART_LIC-6-REPORTING_REQUIRED: A Usage report acknowledgement will be required in 0 days.";
    post("/slp/v1/clock", json!({"set": "2027-01-30T08:59:00Z"})).await;
    assert_eq!(post("/slp/v1/tick", json!({})).await["messages"], json!([]));
    post("/slp/v1/clock", json!({"set": "2027-01-31T10:00:00Z"})).await;
    let tick = post("/slp/v1/tick", json!({})).await;
    assert_eq!(tick["messages"], json!([reminder, reminder]), "{tick}");
    assert_eq!(post("/slp/v1/tick", json!({})).await["messages"], json!([]), "each once");
    let log = text_of(&service.exec(&["show logging", "show license status"]).await);
    for day in ["Jan 30", "Jan 31"] {
        assert!(log.contains(&format!("*{day} 2027 09:00:00.000 UTC: {reminder}")), "{log}");
    }
    assert!(log.contains("Next ACK deadline: Jan 30 09:00:00 2027 UTC"), "{log}");
    service.stop().await;
    // The reminders were saved with the device.
    let state = StateDir::new(tmp.path().join("D")).load().unwrap();
    assert_eq!(state.events.iter().filter(|e| e.text == reminder).count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_endpoint_refuses_absurd_steps_and_keeps_its_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = device(&tmp.path().join("D"), &[]);
    let service = Service::start(&dir).await.with_token(&dir);
    let clock = |body: Value| {
        let (url, token) = (service.url.clone(), service.token.clone());
        async move {
            let response = reqwest::Client::new()
                .post(format!("{url}/slp/v1/clock"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, before) = clock(json!({"advance_secs": 0})).await;
    assert_eq!(status, 200, "{before}");
    for step in [json!(-1_000_000_000_000_i64), json!(1_i64 << 62), json!(i64::MIN), json!(1.5)] {
        let (status, body) = clock(json!({ "advance_secs": step })).await;
        assert_eq!(status, 400, "{step}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(&step.to_string()), "{message}");
    }
    let (status, body) = clock(json!({"set": "0001-01-01T00:00:00Z"})).await;
    assert_eq!(status, 400, "{body}");
    let (_, after) = clock(json!({"advance_secs": 0})).await;
    assert_eq!(after["now"], before["now"], "no refused step moved the clock");
    let (status, body) = clock(json!({"advance_secs": 3600})).await;
    assert_eq!((status, body["now"].as_str()), (200, Some("2026-11-01T10:00:00+00:00")));
    // Without the exec token (or with the device user's password) the step is refused, and
    // the answer says which credential the endpoint takes.
    let refused = reqwest::Client::new()
        .post(format!("{}/slp/v1/clock", service.url))
        .basic_auth("admin", Some("s3cret"))
        .json(&json!({"advance_secs": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["www-authenticate"], "Bearer realm=\"slp-device\"");
    let body: Value = refused.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("exec token from run.json"), "{body}");
    let (_, after) = clock(json!({"advance_secs": 0})).await;
    assert_eq!(after["now"], "2026-11-01T10:00:00+00:00", "the refused step moved nothing");
    service.stop().await;
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_files_are_the_owners_alone_and_passwords_are_kept_as_type9_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("D");
    let dir = device(&root, &["username admin privilege 15 password s3cret-pw"]);
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&root.join("bootflash")), 0o700);
    assert_eq!(mode(&root.join("state.json")), 0o600);
    let state = std::fs::read_to_string(root.join("state.json")).unwrap();
    assert!(!state.contains("s3cret-pw"), "the password is not in state.json");
    assert!(state.contains("\"$9$"), "its type 9 secret is");
    // A temp file left by a writer that was killed before its rename (an earlier version made
    // them 0644), with the device key in it.
    let leftover = root.join(".state.json.tmp-99999");
    std::fs::write(&leftover, &state).unwrap();

    let service = Service::start(&dir).await.with_token(&dir);
    assert_eq!(mode(&root.join(RUN_FILE)), 0o600, "run.json holds the exec token");
    assert_eq!(mode(&root.join(".lock")), 0o600);
    assert!(!leftover.exists(), "the leftover temp file was removed");

    let list = |user: &'static str, password: &'static str| {
        let url = format!("{}/smartlic-service/list", service.url);
        async move {
            reqwest::Client::new()
                .get(url)
                .basic_auth(user, Some(password))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(list("admin", "s3cret-pw").await, 200);
    assert_eq!(list("admin", "s3cret-pw").await, 200, "a remembered login");
    assert_eq!(list("admin", "s3cret-pX").await, 401);
    assert_eq!(list("admin", "s3cret-p").await, 401);
    assert_eq!(list("nobody", "s3cret-pw").await, 401);
    // A secret given as IOS shows it works the same, and the config never shows a password.
    let secret = slp_device::secret::type9_with_salt("other-pw", "2MJBozw/9R3UsU").unwrap();
    let line = format!("username ops privilege 15 secret 9 {secret}");
    let out = service.exec(&["configure terminal", &line, "end", "show running-config"]).await;
    let text = text_of(&out);
    assert!(text.contains(&format!("username ops privilege 15 secret 9 {secret}")), "{text}");
    assert!(text.contains("username admin privilege 15 secret 9 $9$"), "{text}");
    assert!(!text.contains("s3cret-pw"), "{text}");
    assert_eq!(list("ops", "other-pw").await, 200);
    let bad = service
        .exec(&["configure terminal", "username x privilege 15 secret 9 not-a-hash", "end"])
        .await;
    assert!(text_of(&bad).contains("% Invalid encrypted secret"), "{bad}");
    service.stop().await;
    assert_eq!(mode(&root.join("state.json")), 0o600);
    assert!(!std::fs::read_to_string(root.join("state.json")).unwrap().contains("other-pw"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_with_plain_passwords_still_loads_and_is_migrated() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("D");
    let dir = device(&root, &[]);
    // What an earlier version wrote: the password itself.
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("state.json")).unwrap()).unwrap();
    state["running"]["users"] = json!({"admin": "plain-old"});
    state["startup"]["users"] = json!({"admin": "plain-old"});
    std::fs::write(root.join("state.json"), serde_json::to_string(&state).unwrap()).unwrap();

    let service = Service::start(&dir).await.with_token(&dir);
    let text = std::fs::read_to_string(root.join("state.json")).unwrap();
    assert!(!text.contains("plain-old"), "migrated when the service opened it");
    let status = reqwest::Client::new()
        .get(format!("{}/smartlic-service/list", service.url))
        .basic_auth("admin", Some("plain-old"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200, "the old password still logs in");
    service.stop().await;
}
