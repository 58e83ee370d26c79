//! Running the binary.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// A scratch directory with helpers to run `slp` in it at a given virtual time.
pub struct Lab {
    pub dir: tempfile::TempDir,
}

impl Lab {
    pub fn new() -> Lab {
        Lab { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `slp --now <now> <args>` in the lab directory.
    pub fn run(&self, now: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_slp"))
            .current_dir(self.dir.path())
            .arg("--now")
            .arg(now)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run slp")
    }

    /// Like [`Lab::run`] but the command must succeed; returns stdout.
    #[track_caller]
    pub fn ok(&self, now: &str, args: &[&str]) -> String {
        let out = self.run(now, args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "slp {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
        stdout
    }

    /// The command must fail; returns stdout + stderr.
    #[track_caller]
    pub fn fails(&self, now: &str, args: &[&str]) -> String {
        let out = self.run(now, args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "slp {args:?} should have failed but printed:\n{text}");
        text
    }

    /// Runs device commands (`slp device --state <state> exec …`).
    #[track_caller]
    pub fn exec(&self, state: &str, now: &str, commands: &[&str]) -> String {
        let mut args = vec!["device", "--state", state, "exec"];
        args.extend_from_slice(commands);
        self.ok(now, &args)
    }

    /// Feeds lines to `slp device --state <state> shell` and returns what it printed.
    pub fn shell(&self, state: &str, now: &str, input: &str) -> String {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_slp"))
            .current_dir(self.dir.path())
            .args(["--now", now, "device", "--state", state, "shell"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn shell");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
        let out = child.wait_with_output().expect("shell output");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_else(|err| panic!("read {name}: {err}"))
    }
}

/// The value after `label` on the first line that contains it, e.g. `field(out, "Last ACK received:")`.
#[track_caller]
pub fn field(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|line| line.trim_start().strip_prefix(label).map(|rest| rest.trim().to_owned()))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
}

/// Creates stack1 in `S`: active FOC1, standby FOC2 and, with `member`, member FOC3 (C9300-48UXM).
pub fn init_stack(lab: &Lab, now: &str, member: bool) {
    init_stack_of(lab, now, member, "C9300-48UXM");
}

/// [`init_stack`] of Catalyst 9300X units (C9300X-48HX), the platform that offers HSECK9.
pub fn init_stack_x(lab: &Lab, now: &str, member: bool) {
    init_stack_of(lab, now, member, "C9300X-48HX");
}

fn init_stack_of(lab: &Lab, now: &str, member: bool, pid: &str) {
    let standby = format!("PID:{pid},SN:FOC2");
    let third = format!("PID:{pid},SN:FOC3");
    let mut args = vec![
        "device",
        "--state",
        "S",
        "init",
        "--pid",
        pid,
        "--sn",
        "FOC1",
        "--hostname",
        "stack1",
        "--standby",
        &standby,
    ];
    if member {
        args.extend_from_slice(&["--member", &third]);
    }
    lab.ok(now, &args);
}

/// Creates a standalone C9300 named sw1 in `D`.
pub fn init_sw1(lab: &Lab, now: &str) {
    init_sw1_of(lab, now, "C9300-24UX");
}

/// [`init_sw1`] as a Catalyst 9300X (C9300X-24HX), the platform that offers HSECK9.
pub fn init_sw1x(lab: &Lab, now: &str) {
    init_sw1_of(lab, now, "C9300X-24HX");
}

fn init_sw1_of(lab: &Lab, now: &str, pid: &str) {
    lab.ok(
        now,
        &[
            "device",
            "--state",
            "D",
            "init",
            "--pid",
            pid,
            "--sn",
            "FOC2233A5ZV",
            "--hostname",
            "sw1",
            "--version",
            "17.9.4",
        ],
    );
}

/// When the authority of [`authority`] is set up.
pub const T0: &str = "2026-11-01T09:00:00Z";

/// `slp authority --data A <args>`, which must succeed.
pub fn auth(lab: &Lab, now: &str, args: &[&str]) -> String {
    let mut all = vec!["authority", "--data", "A"];
    all.extend_from_slice(args);
    lab.ok(now, &all)
}

pub fn auth_fails(lab: &Lab, now: &str, args: &[&str]) -> String {
    let mut all = vec!["authority", "--data", "A"];
    all.extend_from_slice(args);
    lab.fails(now, &all)
}

/// An authority in `A` with Example Corp (example.com) / Lab and the three licenses.
pub fn authority(lab: &Lab) {
    auth(lab, T0, &["account", "create", "--name", "Example Corp", "--domain", "example.com"]);
    auth(lab, T0, &["va", "create", "--account", "example.com", "--name", "Lab"]);
    let pool: [(&str, &str, &str, &[&str]); 3] = [
        ("network-advantage", "C9300-NW-A", "10", &["--type", "perpetual"]),
        (
            "dna-advantage",
            "C9300-DNA-A",
            "1",
            &["--type", "subscription", "--expires", "2027-11-01"],
        ),
        ("hseck9", "C9K-HSEC", "2", &["--type", "perpetual", "--enforcement", "export-controlled"]),
    ];
    for (tag, sku, quantity, rest) in pool {
        let mut args = vec!["license", "add", "--account", "example.com", "--va", "Lab"];
        args.extend_from_slice(&["--tag", tag, "--sku", sku, "--quantity", quantity]);
        args.extend_from_slice(rest);
        auth(lab, T0, &args);
    }
}

/// `usage upload` of `file` into example.com / Lab, writing the ACK to `ack`.
pub fn upload(lab: &Lab, now: &str, file: &str, ack: &str) -> String {
    auth(
        lab,
        now,
        &["usage", "upload", "--account", "example.com", "--va", "Lab", file, "--ack", ack],
    )
}

/// A running `slp` service process; killed on drop.
pub struct Running {
    pub child: std::process::Child,
    /// The base URL from its `listening on …` line.
    pub url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `slp --now <now> <args>` and waits for its readiness line `listening on <url>`.
pub fn start_service(lab: &Lab, now: &str, args: &[&str]) -> Running {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_slp"))
        .current_dir(lab.dir.path())
        .arg("--now")
        .arg(now)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the service");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the address");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Running { child, url }
}

/// `slp device --state <state> run` on an OS-chosen port.
pub fn start_device(lab: &Lab, state: &str, now: &str) -> Running {
    start_service(lab, now, &["device", "--state", state, "run", "--mgmt", "127.0.0.1:0"])
}

/// The running device's local control endpoints (token from run.json).
pub fn control(lab: &Lab, state: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
    let info: serde_json::Value =
        serde_json::from_str(&lab.read(&format!("{state}/run.json"))).unwrap();
    let url = format!("{}{path}", info["url"].as_str().unwrap());
    reqwest::blocking::Client::new()
        .post(url)
        .bearer_auth(info["token"].as_str().unwrap())
        .json(&body)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// Purchased, in use and balance of `feature` in example.com / Lab (`license list`).
pub fn pool_figures(lab: &Lab, now: &str, feature: &str) -> [String; 3] {
    let licenses = auth(lab, now, &["license", "list", "--account", "example.com", "--va", "Lab"]);
    let row: Vec<&str> = licenses
        .lines()
        .find(|l| l.starts_with(feature))
        .unwrap_or_else(|| panic!("no {feature} in:\n{licenses}"))
        .split_whitespace()
        .collect();
    [row[4].to_owned(), row[5].to_owned(), row[6].to_owned()]
}

/// The authority of [`authority`] with an ID token (`SL`, 30 days) of its `Lab` VA made at `T0`,
/// served on loopback from `now`. Returns the server (keep it running) and the token.
pub fn served_with_token(lab: &Lab, now: &str) -> (Running, String) {
    authority(lab);
    let token = auth(
        lab,
        T0,
        &[
            "token",
            "create",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "--description",
            "SL",
            "--expires-after-days",
            "30",
        ],
    )
    .trim()
    .to_owned();
    let server =
        start_service(lab, now, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    (server, token)
}

/// The Python with the real clients (genie/pyats, netmiko, unicon, ncclient, requests):
/// `SLP_GENIE_PYTHON`, else the CI venv if it exists. Without one the caller's test is skipped
/// (saying what it needs), except under CI, where a missing client is a failure.
pub fn client_python(needs: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var("SLP_GENIE_PYTHON") {
        return Some(PathBuf::from(path));
    }
    let default = std::env::var("HOME")
        .ok()
        .map(|home| PathBuf::from(home).join(".cache/slp-ci-venv/bin/python"));
    if let Some(path) = default.filter(|path| path.exists()) {
        return Some(path);
    }
    assert!(
        std::env::var("CI").is_err(),
        "SLP_GENIE_PYTHON must name a Python with {needs} under CI"
    );
    eprintln!("skipping: set SLP_GENIE_PYTHON to a Python with {needs}");
    None
}
