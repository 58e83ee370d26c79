//! The management plane's configuration lines (issue #19): `enable secret`, `ip ssh version`,
//! `line vty` / `line console` and their `(config-line)` sub-mode, `logging console`,
//! `netconf-yang`, `ip http …`, `restconf`; the EXEC lines scripts send on connect
//! (`terminal length/width`, `show install summary`). Each is shown in `show running-config`
//! where IOS-XE 17.9 prints it; bad input is refused, saying what is wrong, and changes nothing.

use slp_device::commands::Mode;

use crate::support::{ok, refused, sw1};

#[test]
fn management_lines_are_kept_and_shown_where_ios_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    let m = |s: &slp_device::commands::Session| s.device.state.running.settings.management.clone();
    assert!(!m(&s).ssh_enabled() && !m(&s).netconf_enabled() && !m(&s).restconf_enabled());
    ok(
        &mut s,
        &[
            "conf t",
            "enable secret En4ble",
            "no logging console",
            "ip ssh version 2",
            "line vty 0 4",
        ],
    );
    assert_eq!(s.prompt(), "sw1(config-line)#");
    ok(&mut s, &["transport input ssh", "login local", "exec-timeout 0 0", "exit"]);
    assert_eq!(s.mode, Mode::Config);
    // unicon's connect lines: a global line in the sub-mode leaves it.
    ok(&mut s, &["line console 0", "exec-timeout 0", "line vty 0 4", "exec-timeout 30"]);
    ok(
        &mut s,
        &[
            "netconf-yang",
            "ip http server",
            "ip http authentication local",
            "ip http secure-server",
            "restconf",
            "end",
        ],
    );
    let mgmt = m(&s);
    assert!(mgmt.ssh_enabled() && mgmt.netconf_enabled() && mgmt.https_enabled());
    assert!(mgmt.restconf_enabled());
    assert_eq!(mgmt.vty_exec_timeout, Some((30, 0)));
    assert_eq!(mgmt.console_exec_timeout, Some((0, 0)));
    assert!(mgmt.enable_secret.as_deref().unwrap().starts_with("$9$"));
    let config = ok(&mut s, &["show running-config"]);
    let secret = mgmt.enable_secret.unwrap();
    assert!(
        config.contains(&format!(
            "hostname sw1\n!\nno logging console\nenable secret 9 {secret}\n!\n"
        )),
        "{config}"
    );
    assert!(
        config.contains(
            "ip http server\nip http authentication local\nip http secure-server\nip ssh version 2\n"
        ),
        "{config}"
    );
    assert!(
        config.contains(
            "line con 0\n exec-timeout 0 0\n stopbits 1\nline vty 0 4\n exec-timeout 30 0\n login local\n transport input ssh\nline vty 5 15\n login local\n transport input ssh\n!\n"
        ),
        "{config}"
    );
    assert!(config.ends_with("!\nnetconf-yang\nrestconf\n!\nend\n"), "{config}");
    // The `no` forms take each back.
    ok(
        &mut s,
        &[
            "configure terminal",
            "no enable secret",
            "logging console",
            "no netconf-yang",
            "no restconf",
            "no ip http secure-server",
            "line vty 0 15",
            "transport input none",
            "end",
        ],
    );
    let mgmt = m(&s);
    assert!(mgmt.enable_secret.is_none() && !mgmt.no_logging_console);
    assert!(!mgmt.ssh_enabled() && !mgmt.netconf_enabled() && !mgmt.https_enabled());
    let config = ok(&mut s, &["show running-config"]);
    assert!(!config.contains("enable secret") && !config.contains("netconf-yang"), "{config}");
    assert!(config.contains(" transport input none\n"), "{config}");
}

#[test]
fn bad_management_lines_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    ok(&mut s, &["configure terminal"]);
    let before = s.device.state.running.clone();
    let text = refused(&mut s, "enable secret 9 not-a-type-9-secret");
    assert!(text.contains("Invalid encrypted secret"), "{text}");
    let text = refused(&mut s, "ip ssh version 1");
    assert!(text.contains("SSH version 1 is not supported"), "{text}");
    let text = refused(&mut s, "line vty 5 3");
    assert!(text.contains("Invalid line range 5 3"), "{text}");
    assert_eq!(s.mode, Mode::Config);
    refused(&mut s, "line vty 16");
    ok(&mut s, &["line console 0"]);
    let text = refused(&mut s, "transport input ssh");
    assert!(text.contains("vty lines, not the console"), "{text}");
    refused(&mut s, "transport input ftp");
    refused(&mut s, "exec-timeout 35792");
    assert_eq!(s.device.state.running, before);
}

#[test]
fn exec_lines_of_connecting_scripts_answer_as_a_switch() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sw1(&dir);
    for line in
        ["term len 0", "terminal length 512", "term width 511", "terminal width 0", "enable"]
    {
        ok(&mut s, &[line]);
    }
    refused(&mut s, "terminal length 513");
    assert_eq!(s.prompt(), "sw1#");
    let install = ok(&mut s, &["show install summary"]);
    assert!(install.starts_with("[ Switch 1 ] Installed Package(s) Information:\n"), "{install}");
    assert!(install.contains("\nIMG   C    17.09.04.0.1\n"), "{install}");
    assert!(install.contains("Auto abort timer: inactive"), "{install}");
    let help = ok(&mut s, &["terminal ?"]);
    assert!(help.contains("length") && help.contains("width"), "{help}");
    ok(&mut s, &["configure terminal", "line vty 0 4"]);
    let help = ok(&mut s, &["transport input ?"]);
    for word in ["all", "none", "ssh", "telnet"] {
        assert!(help.contains(word), "{help}");
    }
}
