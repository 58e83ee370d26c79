//! `slp lab`: the embedded default. One process runs the authority, the relay and six product
//! instances; the test drives every topology from outside with the ordinary commands, stops the
//! lab with SIGTERM and resumes it.
//!
//! The lab runs with `--speed 0` (a frozen clock), so nothing happens on a timer while the test
//! acts: every step below is caused by a command.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::util::{Lab, field};

const T: &str = "2026-11-22T10:00:00Z";

struct RunningLab {
    child: Child,
    banner: String,
    rest: BufReader<std::process::ChildStdout>,
}

impl Drop for RunningLab {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `slp --now T lab --data L --speed 0` and reads its banner up to the Ctrl-C line.
fn start_lab(lab: &Lab, now: &str) -> RunningLab {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slp"))
        .current_dir(lab.dir.path())
        .args(["--now", now, "lab", "--data", "L", "--speed", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the lab");
    let mut rest = BufReader::new(child.stdout.take().expect("stdout"));
    let mut banner = String::new();
    loop {
        let mut line = String::new();
        let read = rest.read_line(&mut line).expect("read the banner");
        assert!(read > 0, "the lab exited before it was ready:\n{banner}");
        banner.push_str(&line);
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    RunningLab { child, banner, rest }
}

/// Stops the lab with SIGTERM (what Ctrl-C does) and returns the rest of its output.
fn stop_lab(mut running: RunningLab) -> String {
    let pid = running.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(status.success());
    let mut rest = String::new();
    loop {
        let mut line = String::new();
        if running.rest.read_line(&mut line).expect("read") == 0 {
            break;
        }
        rest.push_str(&line);
    }
    let status = running.child.wait().expect("wait");
    assert!(status.success(), "the lab stops cleanly: {status}\n{rest}");
    rest
}

fn record(lab: &Lab) -> Value {
    serde_json::from_str(&lab.read("L/lab.json")).unwrap()
}

#[test]
fn the_lab_runs_every_topology_stops_cleanly_and_resumes() {
    let lab = Lab::new();
    let running = start_lab(&lab, T);
    let banner = running.banner.clone();
    assert!(banner.starts_with("slp lab ready: 6 product instance(s) in L"), "{banner}");
    for expected in [
        "TLS CA                 L/tls/ca.pem, new (every part serves HTTPS on it",
        "Authority (CSSM role)  https://127.0.0.1:",
        "Relay (CSLU role)      https://127.0.0.1:",
        "curl --cacert L/tls/ca.pem",
        "virtual accounts Lab and Branch",
        "relay push (transport cslu)",
        "relay pull (the relay collects)",
        "direct (transport smart, ID-token trust)",
        "air-gapped (usage by file)",
        "+ 2 unit(s)",
        "slp device --state L/devices/sw1 exec \"show license status\"",
    ] {
        assert!(banner.contains(expected), "{expected:?} missing from\n{banner}");
    }
    let rec = record(&lab);
    let secret = rec["admin_client"]["client_secret"].as_str().unwrap().to_owned();
    assert!(banner.contains(&secret), "the banner shows the admin client's credentials");
    // Every device is managed like a switch: SSH, NETCONF and HTTPS ports, shown and recorded;
    // the lab's device user logs in over SSH.
    for device in rec["devices"].as_array().unwrap() {
        let port = |name: &str| device[name].as_u64().unwrap();
        for name in ["ssh_port", "netconf_port", "https_port"] {
            assert_ne!(port(name), 0, "{name} of {device}");
        }
        let line = format!(
            "ssh 127.0.0.1 -p {}  netconf 127.0.0.1:{}  restconf https://127.0.0.1:{}/restconf",
            port("ssh_port"),
            port("netconf_port"),
            port("https_port")
        );
        assert!(banner.contains(&line), "{line:?} missing from\n{banner}");
    }
    let ssh = format!("127.0.0.1:{}", rec["devices"][0]["ssh_port"]).parse().unwrap();
    let password = rec["device_password"].as_str().unwrap();
    let (out, status) = crate::mgmt_ssh::exec_as(ssh, "admin", password, "show license udi");
    assert_eq!(status, Some(0), "{out}");
    assert!(out.contains("PID:"), "{out}");

    // TLS: the lab's keys are private; so is its record (it holds credentials and the ID token).
    #[cfg(unix)]
    for key in ["L/tls/ca.key", "L/tls/server.key", "L/lab.json"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(lab.path(key)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    #[cfg(unix)]
    for dir in ["L/relay", "L/authority", "L/devices/sw1"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(lab.path(dir)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{dir}");
    }
    let ca_pem = lab.read("L/tls/ca.pem");
    // The remote authority CLI reaches the lab's authority with the lab's CA, and is refused
    // without it (an authority whose certificate it cannot verify could be anyone).
    let authority_url = banner
        .lines()
        .find_map(|line| line.strip_prefix("Authority (CSSM role)  "))
        .unwrap()
        .trim()
        .to_owned();
    let admin = rec["admin_client"]["client_id"].as_str().unwrap().to_owned();
    let remote = |ca: Option<&str>| {
        let mut args = vec!["authority", "--url", &authority_url, "--client-id", &admin];
        args.extend(["--client-secret", &secret]);
        if let Some(ca) = ca {
            args.extend(["--ca", ca]);
        }
        args.extend(["pi", "list", "--account", "example.com", "--va", "Branch"]);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let args = remote(Some("L/tls/ca.pem"));
    let listed = lab.ok(T, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(listed.contains("FOC26LAB003"), "{listed}");
    let args = remote(None);
    let refused = lab.fails(T, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(refused.contains("certificate is not trusted"), "{refused}");
    assert!(refused.contains("give --ca FILE"), "{refused}");

    // Direct (topology 2): trusted with the lab's token and acknowledged at once; the second
    // direct switch holds an HSECK9 authorization code obtained online.
    let sw3 = lab.exec("L/devices/sw3", T, &["show license status"]);
    assert!(sw3.contains("Type: Smart"), "{sw3}");
    assert!(field(&sw3, "Trust Code Installed:").contains("Nov 22"), "{sw3}");
    assert!(field(&sw3, "Last ACK received:").starts_with("Nov 22 10:00:00 2026"), "{sw3}");
    let sw5 = lab.exec("L/devices/sw5", T, &["show license authorization"]);
    assert!(sw5.contains("SMART AUTHORIZATION INSTALLED"), "{sw5}");

    // Relay push (topology 1): the devices pushed at start; one forwarding cycle, one poll.
    let out = lab.ok(T, &["relay", "--data", "L/relay", "sync"]);
    assert!(out.contains("sent 2 document(s) to the authority, received 2 answer(s)"), "{out}");
    for (device, units) in [("L/devices/sw1", 1), ("L/devices/stack1", 3)] {
        let status = lab.exec(device, T, &["license smart sync all", "show license status"]);
        assert!(
            field(&status, "Last ACK received:").starts_with("Nov 22 10:00:00 2026"),
            "{status}"
        );
        let installed = if units == 1 {
            usize::from(status.contains("Trust Code Installed: Nov 22 10:00:00 2026"))
        } else {
            status.matches("    INSTALLED on Nov 22 10:00:00 2026").count()
        };
        assert_eq!(installed, units, "a trust code for every unit:\n{status}");
    }

    // The running device's management API is HTTPS; `exec` reached it there (run.json).
    assert!(lab.read("L/devices/sw1/run.json").contains("\"url\": \"https://127.0.0.1:"));

    // Relay pull: collect over the management API, forward, install the ACK on the device.
    let out = lab.ok(T, &["relay", "--data", "L/relay", "collect"]);
    assert!(out.contains("FOC26LAB002"), "{out}");
    lab.ok(T, &["relay", "--data", "L/relay", "sync"]);
    let sw2 = lab.exec("L/devices/sw2", T, &["show license status"]);
    assert!(field(&sw2, "Last ACK received:").starts_with("Nov 22 10:00:00 2026"), "{sw2}");

    // Air-gapped: usage by file to the running authority, the ACK back by file.
    lab.exec("L/devices/sw4", T, &["license smart save usage all file bootflash:usage.txt"]);
    lab.ok(
        T,
        &[
            "authority",
            "--data",
            "L/authority",
            "usage",
            "upload",
            "--account",
            "example.com",
            "--va",
            "Lab",
            "L/devices/sw4/bootflash/usage.txt",
            "--ack",
            "ack.txt",
        ],
    );
    let ack = lab.path("ack.txt").display().to_string();
    let sw4 = lab.exec(
        "L/devices/sw4",
        T,
        &[&format!("license smart import {ack}"), "show license status"],
    );
    assert!(field(&sw4, "Last ACK received:").starts_with("Nov 22 10:00:00 2026"), "{sw4}");

    // Item 12: per license, the authority's In Use is what the devices of each virtual account
    // show — nothing for the network-essentials the switches booted with before the lab's
    // reload to network-advantage; the mixed stack's C9300-24 member under the C9300-24 tags.
    for (va, devices) in
        [("Lab", &["sw1", "sw2", "stack1", "sw4"][..]), ("Branch", &["sw3", "sw5"])]
    {
        let counted = crate::families::authority_in_use(&lab, "L/authority", va, T);
        let mut shown = std::collections::BTreeMap::new();
        for device in devices {
            let state = format!("L/devices/{device}");
            for (tag, count) in crate::families::shown_in_use(&lab, &state, T) {
                *shown.entry(tag).or_insert(0) += count;
            }
        }
        crate::families::assert_counts_agree(&counted, &shown);
    }
    let ne = slp_core::license::lookup("C9300-24:network-essentials").unwrap().entitlement_tag;
    let lab_counts = crate::families::authority_in_use(&lab, "L/authority", "Lab", T);
    assert_eq!(lab_counts.get(ne).copied().unwrap_or(0), 0, "{lab_counts:?}");
    let na24 = slp_core::license::lookup("C9300-24:network-advantage").unwrap().entitlement_tag;
    let na48 = slp_core::license::lookup("C9300-48:network-advantage").unwrap().entitlement_tag;
    assert_eq!((lab_counts[na24], lab_counts[na48]), (3, 3), "{lab_counts:?}");
    // No false alert: every license in use is covered by the pool of its own tag.
    let alerts = lab.ok(
        T,
        &["authority", "--data", "L/authority", "alert", "list", "--account", "example.com"],
    );
    assert!(!alerts.contains("Insufficient"), "{alerts}");

    // The authority knows every product instance in the virtual account it reported to.
    let lab_va = lab.ok(
        T,
        &[
            "authority",
            "--data",
            "L/authority",
            "pi",
            "list",
            "--account",
            "example.com",
            "--va",
            "Lab",
        ],
    );
    for sn in ["FOC26LAB001", "FOC26LAB002", "FOC26LAB004", "FOC26LAB005"] {
        assert!(lab_va.contains(sn), "{sn} in\n{lab_va}");
    }
    let branch = lab.ok(
        T,
        &[
            "authority",
            "--data",
            "L/authority",
            "pi",
            "list",
            "--account",
            "example.com",
            "--va",
            "Branch",
        ],
    );
    assert!(branch.contains("FOC26LAB003") && branch.contains("FOC26LAB006"), "{branch}");

    // Ctrl-C (SIGTERM) stops every service; the devices' run files are gone.
    let rest = stop_lab(running);
    assert!(rest.contains("lab stopped at 2026-11-22T10:00:00Z"), "{rest}");
    assert!(!lab.path("L/devices/sw1/run.json").exists());

    // A second run resumes: nothing is seeded again, the credentials and the devices' state stay.
    let running = start_lab(&lab, T);
    assert!(
        running.banner.starts_with("slp lab resumed: 6 product instance(s)"),
        "{}",
        running.banner
    );
    assert_eq!(record(&lab)["admin_client"], rec["admin_client"]);
    assert!(
        running.banner.contains("TLS CA                 L/tls/ca.pem (every"),
        "{}",
        running.banner
    );
    assert_eq!(lab.read("L/tls/ca.pem"), ca_pem, "the second run reuses the lab's CA");
    let sw1 = lab.exec("L/devices/sw1", T, &["show license status"]);
    assert!(field(&sw1, "Last ACK received:").starts_with("Nov 22 10:00:00 2026"), "{sw1}");
    let accounts = lab.ok(T, &["authority", "--data", "L/authority", "account", "list"]);
    assert_eq!(accounts.matches("example.com").count(), 1, "{accounts}");
    stop_lab(running);

    // A lab never goes back in time.
    let out = lab.fails("2026-11-21T10:00:00Z", &["lab", "--data", "L"]);
    assert!(out.contains("is before the clock of the lab in L"), "{out}");
}

#[test]
fn bad_lab_options_are_refused() {
    let lab = Lab::new();
    let out = lab.fails(T, &["lab", "--data", "L", "--devices", "0"]);
    assert!(out.contains("--devices 0: a lab has 1 to 100 product instances"), "{out}");
    std::fs::create_dir_all(lab.path("L")).unwrap();
    std::fs::write(lab.path("L/lab.json"), "not json").unwrap();
    let out = lab.fails(T, &["lab", "--data", "L"]);
    assert!(out.contains("lab.json: not a lab record"), "{out}");
}
