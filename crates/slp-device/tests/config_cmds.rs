//! The configuration commands of the guide beyond `license …` (issue #18, "The rest of the
//! guide"): Call Home for the callhome transport, `ip name-server` / `ip domain name` for
//! `cslu-local` discovery, `ip http client source-interface`, `ntp server`, `crypto pki
//! trustpoint SLA-TrustPoint`, `license smart url utility`, `license smart utility`,
//! `license smart custom_id` — each shown in `show running-config` as a 17.x device prints it,
//! saved by `write memory`, and acting where the guide says it acts.

// Test code: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Mutex;

use slp_device::agent::Device;
use slp_device::commands::{Mode, Session, Step};
use slp_device::state::StateDir;
use slp_device::uplink::{CommError, Uplink};
use slp_wire::online::{Request, Response};

use crate::support::{T0, at, ok, refused, sw1};

/// Runs `lines`; every one must succeed. Returns what they printed.
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|line| line.trim_start().strip_prefix(label))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {label} in {text}"))
}

/// Records where each message went, answering every one with an error reply.
#[derive(Default)]
struct Recorder {
    urls: Mutex<Vec<String>>,
}

impl Uplink for Recorder {
    fn send(&self, url: &str, _request: &Request) -> Result<Response, CommError> {
        self.urls.lock().unwrap().push(url.to_owned());
        Err(CommError::new("recorded"))
    }
}

/// Runs `license smart sync all` over `uplink`; returns the URLs it sent to, or the refusal.
fn sync_urls(session: &mut Session, uplink: &Recorder) -> Result<Vec<String>, String> {
    uplink.urls.lock().unwrap().clear();
    match session.begin("license smart sync all") {
        Step::Converse(conversation) => {
            let result = session.device.converse(conversation, uplink);
            session.finish(result);
            let mut urls = uplink.urls.lock().unwrap().clone();
            urls.dedup();
            Ok(urls)
        }
        Step::Done(output) => Err(output.text),
    }
}

/// The block of `show running-config` that starts with `head` (up to the next `!`).
fn block<'a>(config: &'a str, head: &str) -> &'a str {
    let start =
        config.find(&format!("\n{head}\n")).unwrap_or_else(|| panic!("{head}: {config}")) + 1;
    let end = config[start..].find("\n!").map_or(config.len(), |e| start + e + 1);
    &config[start..end]
}

/// A new device's configuration carries what a new Catalyst 9000 on 17.x ships with: `service
/// call-home`, the `call-home` block with CiscoTAC-1 active over HTTP, and `SLA-TrustPoint`.
#[test]
fn a_new_device_ships_call_home_and_the_sla_trustpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    let config = ok(&mut s, &["show running-config"]);
    assert!(config.contains("\nservice call-home\nhostname sw1\n"), "{config}");
    assert_eq!(
        block(&config, "crypto pki trustpoint SLA-TrustPoint"),
        "crypto pki trustpoint SLA-TrustPoint\n enrollment pkcs12\n revocation-check crl\n"
    );
    assert_eq!(
        block(&config, "call-home"),
        "call-home\n ! If contact email address in call-home is configured as sch-smart-licensing@cisco.com\n ! the email address configured in Cisco Smart License Portal will be used as contact email address to send SCH notifications.\n contact-email-addr sch-smart-licensing@cisco.com\n profile \"CiscoTAC-1\"\n  active\n  destination transport-method http\n"
    );
    let section = ok(&mut s, &["show running-config | section call-home"]);
    assert!(section.starts_with("service call-home\ncall-home\n"), "{section}");
    assert!(section.contains("  destination transport-method http\n"), "{section}");
    // `show call-home profile all`, as real captures lay it out (genieparser
    // ShowCallHomeProfileAll golden output: the labels and indentation).
    let profiles = ok(&mut s, &["show call-home profile all"]);
    for line in [
        "Profile Name: CiscoTAC-1\n",
        "    Profile status: ACTIVE\n",
        "    Profile mode: Full Reporting\n",
        "    Reporting Data: Smart Call Home, Smart Licensing\n",
        "    Preferred Message Format: xml\n",
        "    Message Size Limit: 3145728 Bytes\n",
        "    Transport Method: http\n",
        "    HTTP  address: https://tools.cisco.com/its/service/oddce/services/DDCEService\n",
        "    Other address(es): default\n",
        "    Alert-group               Severity\n",
        "    ------------------------  ------------\n",
        "    crash                     debugging\n",
        "    Syslog-Pattern            Severity\n",
        "    .*                        major\n",
    ] {
        assert!(profiles.contains(line), "{line:?} in {profiles}");
    }
    assert!(profiles.contains("Periodic inventory info message is scheduled every "), "{profiles}");
}

/// The guide's "Configuring Call Home as the Transport Mode", step by step: prompts, the
/// running configuration, `show call-home profile`, `write memory` and a reload.
#[test]
fn call_home_is_configured_as_the_guide_shows() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    ok(&mut s, &["configure terminal", "license smart transport callhome"]);
    ok(
        &mut s,
        &["license smart url https://tools.cisco.com/its/service/oddce/services/DDCEService"],
    );
    ok(&mut s, &["service call-home", "call-home"]);
    assert_eq!(s.prompt(), "sw1(cfg-call-home)#");
    ok(&mut s, &["contact-email-addr username@example.com", "profile CiscoTAC-1"]);
    assert_eq!(s.prompt(), "sw1(cfg-call-home-profile)#");
    ok(
        &mut s,
        &[
            "active",
            "destination transport-method http",
            "no destination transport-method email",
            "destination address http https://tools.cisco.com/its/service/oddce/services/DDCEService",
            "destination address http http://cssm.example/its/service",
            "no destination address http https://tools.cisco.com/its/service/oddce/services/DDCEService",
        ],
    );
    let bad = refused(&mut s, "destination address http tools.cisco.com");
    assert!(bad.contains("http://"), "{bad}");
    ok(&mut s, &["exit"]);
    assert_eq!(s.prompt(), "sw1(cfg-call-home)#");
    ok(&mut s, &["http-proxy 198.51.100.10 port 5000", "profile Ops", "no active", "end"]);
    assert_eq!(s.prompt(), "sw1#");

    let config = ok(&mut s, &["show running-config"]);
    assert_eq!(
        block(&config, "call-home"),
        "call-home\n contact-email-addr username@example.com\n http-proxy \"198.51.100.10\" port 5000\n profile \"CiscoTAC-1\"\n  active\n  destination address http http://cssm.example/its/service\n  destination transport-method http\n profile \"Ops\"\n  no active\n"
    );
    let tac = ok(&mut s, &["show call-home profile CiscoTAC-1"]);
    assert!(tac.starts_with("Profile Name: CiscoTAC-1\n"), "{tac}");
    assert!(!tac.contains("Profile Name: Ops"), "{tac}");
    assert_eq!(field(&tac, "HTTP  address:"), "http://cssm.example/its/service");
    let ops = ok(&mut s, &["show call-home profile Ops"]);
    assert_eq!(field(&ops, "Profile status:"), "INACTIVE");
    assert_eq!(field(&ops, "Transport Method:"), "email");
    assert_eq!(field(&ops, "Email address(es):"), "Not yet set up");
    let missing = refused(&mut s, "show call-home profile Nope");
    assert!(missing.contains("Nope"), "{missing}");
    let smart = ok(&mut s, &["show call-home smart-licensing"]);
    assert_eq!(
        smart,
        "Current smart-licensing transport settings:\n Smart-license messages: enabled\n Profile: CiscoTAC-1 (status: ACTIVE)\n Destination  URL(s):  http://cssm.example/its/service\n"
    );

    // Saved by `write memory`, kept over a reload; unsaved changes are not.
    ok(
        &mut s,
        &["write memory", "configure terminal", "call-home", "no contact-email-addr", "end"],
    );
    s.device.reload();
    let config = ok(&mut s, &["show running-config"]);
    assert!(config.contains(" contact-email-addr username@example.com\n"), "{config}");
    assert!(config.contains("  destination address http http://cssm.example/its/service\n"));
}

/// With transport callhome, messages go to the active profile's HTTP destination; without
/// `service call-home` (or with no active HTTP profile) nothing can be sent, and sync says why.
#[test]
fn callhome_transport_sends_through_the_active_profile() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    let uplink = Recorder::default();
    ok(&mut s, &["configure terminal", "license smart transport callhome", "end"]);
    // CiscoTAC-1's built-in destination.
    let urls = sync_urls(&mut s, &uplink).unwrap();
    assert_eq!(urls, vec!["https://tools.cisco.com/its/service/oddce/services/DDCEService"]);
    // `license smart url` when the profile has no address of its own.
    ok(&mut s, &["configure terminal", "license smart url http://cssm.example/a", "end"]);
    assert_eq!(sync_urls(&mut s, &uplink).unwrap(), vec!["http://cssm.example/a"]);
    // The profile's own destination.
    ok(
        &mut s,
        &[
            "configure terminal",
            "call-home",
            "profile \"CiscoTAC-1\"",
            "destination address http http://cssm.example/b",
            "end",
        ],
    );
    assert_eq!(sync_urls(&mut s, &uplink).unwrap(), vec!["http://cssm.example/b"]);
    // The agent prints the type alone; the URL is the call-home profile's (real captures).
    let status = ok(&mut s, &["show license status"]);
    assert_eq!(field(&status, "Type:"), "Callhome");
    assert!(!status.contains("URL:"), "{status}");
    let call_home = ok(&mut s, &["show call-home smart-licensing"]);
    assert_eq!(field(&call_home, "Destination  URL(s):"), "http://cssm.example/b");

    ok(&mut s, &["configure terminal", "no service call-home", "end"]);
    let why = sync_urls(&mut s, &uplink).unwrap_err();
    assert!(why.contains("service call-home"), "{why}");
    let config = ok(&mut s, &["show running-config"]);
    assert!(config.contains("\nno service call-home\n"), "{config}");

    ok(
        &mut s,
        &[
            "configure terminal",
            "service call-home",
            "call-home",
            "profile CiscoTAC-1",
            "no active",
            "end",
        ],
    );
    let why = sync_urls(&mut s, &uplink).unwrap_err();
    assert!(why.contains("active"), "{why}");
    // Another active profile with HTTP carries the messages.
    ok(
        &mut s,
        &[
            "configure terminal",
            "call-home",
            "profile Ops",
            "destination transport-method http",
            "destination address http http://ops.example/c",
            "end",
        ],
    );
    assert_eq!(sync_urls(&mut s, &uplink).unwrap(), vec!["http://ops.example/c"]);
}

/// The network settings of "Setting Up a Connection to CSSM", as a 17.x device prints them,
/// interface names expanded; bad values refused; saved by `write memory`.
#[test]
fn ip_settings_and_ntp_are_shown_and_saved() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    ok(
        &mut s,
        &[
            "configure terminal",
            "ip name-server 209.165.201.1 209.165.200.225",
            "ip name-server vrf Mgmt-vrf 209.165.201.14 209.165.200.230",
            "ip domain lookup source-interface vlan100",
            "ip domain-name example.com",
            "ip domain name vrf Mgmt-vrf cisco.com",
            "ip http client source-interface gigabitethernet0/0",
            "ntp server 198.51.100.100 version 2 prefer",
            "ntp server 198.51.100.101",
            "end",
            "write memory",
        ],
    );
    let config = ok(&mut s, &["show running-config"]);
    assert!(
        config.contains(
            "ip name-server 209.165.201.1 209.165.200.225\nip name-server vrf Mgmt-vrf 209.165.201.14 209.165.200.230\nip domain lookup source-interface Vlan100\nip domain name example.com\nip domain name vrf Mgmt-vrf cisco.com\n"
        ),
        "{config}"
    );
    assert!(config.contains("\nip http client source-interface GigabitEthernet0/0\n"), "{config}");
    assert!(
        config.contains(
            "\nntp server 198.51.100.100 version 2 prefer\nntp server 198.51.100.101\n!\nend\n"
        ),
        "{config}"
    );
    assert_eq!(s.device.state.startup, s.device.state.running);

    ok(&mut s, &["configure terminal"]);
    // The guide's own example has 192.168.1.300, which no device accepts.
    let bad = refused(&mut s, "ip name-server 192.168.1.300");
    assert!(bad.contains("192.168.1.300"), "{bad}");
    assert!(refused(&mut s, "ip http client source-interface bogus0").contains("bogus0"));
    assert!(refused(&mut s, "ip domain name bad..name").contains("bad..name"));
    ok(
        &mut s,
        &[
            "no ip name-server 209.165.201.1",
            "no ip domain name",
            "no ip http client source-interface",
            "no ntp server 198.51.100.101",
            "end",
        ],
    );
    let config = ok(&mut s, &["show running-config"]);
    assert!(config.contains("\nip name-server 209.165.200.225\n"), "{config}");
    assert!(!config.contains("ip domain name example.com"), "{config}");
    assert!(!config.contains("ip http client"), "{config}");
    assert!(!config.contains("198.51.100.101"), "{config}");
    // A configured NTP server: the clock counts as synchronized (no `*`, tech support True).
    let clock = ok(&mut s, &["show clock"]);
    assert!(!clock.starts_with('*'), "{clock}");
    let tech = ok(&mut s, &["show license tech support"]);
    assert!(tech.contains("\nClock sync-ed with NTP: True\n"), "{tech}");
    ok(
        &mut s,
        &[
            "configure terminal",
            "no ntp server 198.51.100.100",
            "no ntp server 198.51.100.101",
            "end",
        ],
    );
    assert!(ok(&mut s, &["show clock"]).starts_with('*'));
    let tech = ok(&mut s, &["show license tech support"]);
    assert!(tech.contains("\nClock sync-ed with NTP: False\n"), "{tech}");
}

/// Zero-touch discovery: with transport cslu and no `license smart url cslu`, the device looks
/// for `cslu-local`, completed with `ip domain name` when one is configured.
#[test]
fn cslu_local_discovery_completes_the_name_with_the_domain() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    let uplink = Recorder::default();
    let status = ok(&mut s, &["show license status"]);
    assert_eq!(field(&status, "Cslu address:"), "http://cslu-local:8182/cslu/v1/pi");
    assert_eq!(sync_urls(&mut s, &uplink).unwrap(), vec!["http://cslu-local:8182/cslu/v1/pi"]);

    ok(
        &mut s,
        &["configure terminal", "ip name-server 192.0.2.53", "ip domain name example.com", "end"],
    );
    let status = ok(&mut s, &["show license status"]);
    assert_eq!(field(&status, "Cslu address:"), "http://cslu-local.example.com:8182/cslu/v1/pi");
    assert_eq!(
        sync_urls(&mut s, &uplink).unwrap(),
        vec!["http://cslu-local.example.com:8182/cslu/v1/pi"]
    );
    // A configured URL wins.
    ok(
        &mut s,
        &["configure terminal", "license smart url cslu http://192.168.0.1:8182/cslu/v1/pi", "end"],
    );
    assert_eq!(sync_urls(&mut s, &uplink).unwrap(), vec!["http://192.168.0.1:8182/cslu/v1/pi"]);
}

/// `crypto pki trustpoint SLA-TrustPoint` as the guide configures it for SSM On-Prem.
#[test]
fn the_sla_trustpoint_is_configured_in_its_sub_mode() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    ok(&mut s, &["configure terminal", "crypto pki trustpoint SLA-TrustPoint"]);
    assert_eq!(s.prompt(), "sw1(ca-trustpoint)#");
    ok(&mut s, &["enrollment terminal", "revocation-check none", "exit"]);
    assert_eq!(s.prompt(), "sw1(config)#");
    ok(&mut s, &["end"]);
    let config = ok(&mut s, &["show running-config"]);
    assert_eq!(
        block(&config, "crypto pki trustpoint SLA-TrustPoint"),
        "crypto pki trustpoint SLA-TrustPoint\n enrollment terminal\n revocation-check none\n"
    );
}

/// A global configuration command typed in a sub-mode runs and leaves the sub-mode, as on IOS.
#[test]
fn a_global_command_in_a_sub_mode_leaves_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    ok(&mut s, &["configure terminal", "call-home", "profile CiscoTAC-1"]);
    ok(&mut s, &["license smart transport callhome"]);
    assert_eq!(s.prompt(), "sw1(config)#");
    assert_eq!(s.device.state.running.transport, slp_device::state::Transport::Callhome);
    ok(&mut s, &["crypto pki trustpoint SLA-TrustPoint"]);
    // Not a command anywhere: the sub-mode stays.
    let bad = refused(&mut s, "bogus command");
    assert!(bad.contains("Invalid input"), "{bad}");
    assert_eq!(s.prompt(), "sw1(ca-trustpoint)#");
}

/// `license smart url utility`, `license smart utility … customer_info` and `license smart
/// custom_id`: accepted, shown and saved; the custom ID in `show license status`; utility
/// stays DISABLED (the guide: "Although available on the CLI, this option is not supported").
#[test]
fn utility_and_custom_id_settings_are_kept_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    let status = ok(&mut s, &["show license status"]);
    assert_eq!(field(&status, "Custom Id:"), "<empty>");
    // The keyword without its URL is incomplete, never taken for the Call Home URL.
    ok(&mut s, &["configure terminal"]);
    for line in ["license smart url utility", "license smart url cslu", "license smart url util"] {
        assert_eq!(refused(&mut s, line), "% Incomplete command.\n", "{line}");
    }
    ok(&mut s, &["end"]);
    assert_eq!(s.device.state.running.url_callhome, None);
    ok(
        &mut s,
        &[
            "configure terminal",
            "license smart url utility https://utility.example/its",
            "license smart utility",
            "license smart utility customer_info name Acme",
            "license smart utility customer_info country US",
            "license smart custom_id BLD-7",
            "end",
            "write memory",
        ],
    );
    let config = ok(&mut s, &["show running-config | include license smart"]);
    assert!(
        config.contains(
            "license smart custom_id BLD-7\nlicense smart url utility https://utility.example/its\nlicense smart utility\nlicense smart utility customer_info country US\nlicense smart utility customer_info name Acme\n"
        ),
        "{config}"
    );
    let status = ok(&mut s, &["show license status"]);
    assert_eq!(field(&status, "Custom Id:"), "BLD-7");
    assert!(status.starts_with("Utility:\n  Status: DISABLED\n"), "{status}");
    let tech = ok(&mut s, &["show license tech support"]);
    assert_eq!(field(&tech, "Custom Id:"), "BLD-7");
    // The transport URL is not the utility URL.
    assert_eq!(field(&status, "Cslu address:"), "http://cslu-local:8182/cslu/v1/pi");
    ok(
        &mut s,
        &["configure terminal", "no license smart custom_id", "no license smart utility", "end"],
    );
    let config = ok(&mut s, &["show running-config"]);
    assert!(!config.contains("custom_id") && !config.contains("customer_info"), "{config}");
}

/// A state file written before these settings existed loads with a new device's settings.
#[test]
fn an_older_state_file_loads_with_the_factory_settings() {
    let dir = tempfile::tempdir().unwrap();
    let s = sw1(&dir);
    let path = StateDir::new(dir.path()).state_file();
    drop(s);
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for config in ["running", "startup"] {
        json[config].as_object_mut().unwrap().remove("settings").unwrap();
    }
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    let device = Device::open(StateDir::new(dir.path()), at(T0)).unwrap();
    assert_eq!(device.state.running.settings, slp_device::config::Settings::default());
    let mut s = Session::new(device, Mode::Exec);
    let config = ok(&mut s, &["show running-config"]);
    assert!(config.contains(" profile \"CiscoTAC-1\"\n  active\n"), "{config}");
}

/// `?` in the new sub-modes lists their commands with texts that fit them.
#[test]
fn help_in_the_call_home_sub_modes() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    ok(&mut s, &["configure terminal", "call-home"]);
    let help = s.help("?");
    assert!(help.contains("contact-email-addr"), "{help}");
    assert!(help.contains("profile"), "{help}");
    ok(&mut s, &["profile CiscoTAC-1"]);
    let help = s.help("destination ?");
    assert!(help.contains("  address"), "{help}");
    assert!(help.contains("  transport-method"), "{help}");
    let help = s.help("destination transport-method ?");
    assert!(help.contains("Send messages by HTTP"), "{help}");
    ok(&mut s, &["end", "configure terminal"]);
    let help = s.help("license smart privacy ?");
    assert!(help.contains("Withhold the hostname from reports"), "{help}");
    let help = s.help("license smart ?");
    assert!(help.contains("Usage reporting settings"), "{help}");
    assert!(!help.contains("Display license usage information"), "{help}");
}

/// One HTTP exchange on loopback: returns the request's head (request line and headers) once
/// it has come, after answering 404 (no reporting endpoint there).
fn one_exchange() -> (u16, std::thread::JoinHandle<String>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = reader.into_inner();
        stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
        head
    });
    (port, handle)
}

/// `ip host NAME ADDR` (the guide's static mapping "if automatic DNS mapping is not
/// available"): the device reaches a name no resolver knows at the address configured for it.
#[test]
fn ip_host_maps_a_name_for_the_devices_http_client() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    let (port, server) = one_exchange();
    let url = format!("http://cssm.invalid:{port}/its/service/oddce/services/DDCEService");
    ok(
        &mut s,
        &[
            "configure terminal",
            "license smart transport callhome",
            &format!("license smart url {url}"),
            "ip host cssm.invalid 127.0.0.1",
            "end",
        ],
    );
    let config = ok(&mut s, &["show running-config | include ip host"]);
    assert_eq!(config, "ip host cssm.invalid 127.0.0.1\n");
    let out = ok(&mut s, &["license smart sync all"]);
    let head = server.join().unwrap();
    assert!(
        head.starts_with("POST /its/service/oddce/services/DDCEService HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase().contains(&format!("host: cssm.invalid:{port}\r\n")),
        "{head}"
    );
    // The peer answered (404): the failure names it, reached by its name.
    assert!(out.contains(&format!("HTTP 404 Not Found from {url}")), "{out}");
}
