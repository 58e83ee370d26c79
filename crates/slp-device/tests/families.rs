//! PID families (issue #18, items 10 and 12): each unit counts its licenses under its own
//! family's entitlement tag, as real devices print them; a mixed stack has one usage row and
//! one RUM chain per family; PIDs and levels with no known tag are refused; a chain that ends
//! (a license no longer in use after a reload) says so in its last report.

// Test code: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use slp_core::ledger::Selection;
use slp_core::license;
use slp_core::udi::Udi;
use slp_device::agent::{Device, InitOptions};
use slp_device::commands::{Mode, Session};
use slp_device::state::StateDir;

use crate::support::{T0, at, ok};

fn udi(text: &str) -> Udi {
    text.parse().unwrap()
}

fn options(pid: &str, standby: &[&str], members: &[&str], boot_level: &str) -> InitOptions {
    InitOptions {
        pid: pid.to_owned(),
        sn: "FOC1".to_owned(),
        hostname: "stack1".to_owned(),
        version: "17.9.4".to_owned(),
        standby: standby.iter().map(|u| udi(u)).collect(),
        members: members.iter().map(|u| udi(u)).collect(),
        boot_level: boot_level.to_owned(),
        factory_trust: false,
        authority_key: None,
    }
}

fn session(dir: &tempfile::TempDir, options: &InitOptions) -> Session {
    let device = Device::init(StateDir::new(dir.path()), options, at(T0)).unwrap();
    Session::new(device, Mode::Exec)
}

/// Sets the boot level with its add-on, saves and reloads.
fn boot(session: &mut Session, level: &str) {
    ok(
        session,
        &[
            "configure terminal",
            &format!("license boot level {level}"),
            "end",
            "copy running-config startup-config",
            "reload",
        ],
    );
}

fn tag(family: &str, feature: &str) -> &'static str {
    license::lookup(&format!("{family}:{feature}")).unwrap().entitlement_tag
}

#[test]
fn a_mixed_stack_counts_each_unit_under_its_own_family() {
    // The guide's C9300X stack (chapter "Installing SLAC"): a C9300X-24HX active, a
    // C9300X-48HXN standby and a C9300X-48HX member.
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(
        &dir,
        &options(
            "C9300X-24HX",
            &["PID:C9300X-48HXN,SN:FOC2"],
            &["PID:C9300X-48HX,SN:FOC3"],
            "network-advantage",
        ),
    );
    boot(&mut s, "network-advantage addon dna-advantage");
    // The guide's `show license summary` of that stack, row for row.
    let summary = ok(&mut s, &["show license summary"]);
    let rows: Vec<&str> = summary.lines().skip_while(|l| !l.contains("-----")).skip(1).collect();
    assert_eq!(
        rows,
        vec![
            "  network-advantage       (C9300-24 Network Advan...)       1 IN USE",
            "  dna-advantage           (C9300-24 DNA Advantage)          1 IN USE",
            "  network-advantage       (C9300-48 Network Advan...)       2 IN USE",
            "  dna-advantage           (C9300-48 DNA Advantage)          2 IN USE",
        ],
        "{summary}"
    );
    // `show license usage`: one entry per family, each with its own name and count.
    let usage = ok(&mut s, &["show license usage"]);
    for (entry, count) in [
        ("network-advantage (C9300-24 Network Advantage):", 1),
        ("dna-advantage (C9300-24 DNA Advantage):", 1),
        ("network-advantage (C9300-48 Network Advantage):", 2),
        ("dna-advantage (C9300-48 DNA Advantage):", 2),
    ] {
        let block = usage.split(entry).nth(1).unwrap_or_else(|| panic!("{entry} in\n{usage}"));
        assert!(block.contains(&format!("  Count: {count}\n")), "{entry}\n{usage}");
    }
    // The tech support names each family's real tag.
    let tech = ok(&mut s, &["show license tech support"]);
    for family in ["C9300-24", "C9300-48"] {
        for feature in ["network-advantage", "dna-advantage"] {
            let line = format!("  Entitlement Tag: {}", tag(family, feature));
            assert!(tech.contains(&line), "{line}\n{tech}");
        }
    }
    // One RUM chain per entitlement: the reports carry the family's tag and the family's count.
    let ledger = &s.device.state.ledger;
    for (family, count) in [("C9300-24", 1), ("C9300-48", 2)] {
        for feature in ["network-advantage", "dna-advantage"] {
            let open = ledger.open_report(tag(family, feature)).unwrap();
            assert_eq!((open.feature.as_str(), open.count), (feature, count), "{family}");
        }
    }
    // The member leaves: the C9300-48 count falls to 1, the C9300-24 stays.
    ok(&mut s, &["test platform stack remove PID:C9300X-48HX,SN:FOC3"]);
    let summary = ok(&mut s, &["show license summary"]);
    assert!(summary.contains("(C9300-48 Network Advan...)       1 IN USE"), "{summary}");
    assert!(summary.contains("(C9300-24 Network Advan...)       1 IN USE"), "{summary}");
}

#[test]
fn a_family_that_leaves_the_stack_ends_its_chains() {
    let dir = tempfile::tempdir().unwrap();
    let mut s =
        session(&dir, &options("C9300-24UX", &[], &["PID:C9300-48P,SN:FOC3"], "network-advantage"));
    let na48 = tag("C9300-48", "network-advantage");
    assert_eq!(s.device.state.ledger.open_report(na48).unwrap().count, 1);
    ok(&mut s, &["test platform stack remove PID:C9300-48P,SN:FOC3"]);
    let summary = ok(&mut s, &["show license summary"]);
    assert!(!summary.contains("C9300-48"), "{summary}");
    assert!(s.device.state.ledger.open_report(na48).is_none());
    let last = s.device.state.ledger.reports.values().rfind(|r| r.entitlement_tag == na48);
    assert!(last.unwrap().ended, "the C9300-48 chain ends with the member's departure");
}

#[test]
fn pids_of_unknown_families_are_refused() {
    // A PID of no family slp knows the tags of: init names it and the families it knows.
    let dir = tempfile::tempdir().unwrap();
    let err = Device::init(
        StateDir::new(dir.path()),
        &options("C9200L-48P-4G", &[], &[], "network-essentials"),
        at(T0),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("PID C9200L-48P-4G"), "{err}");
    assert!(err.contains("C9300-24") && err.contains("C9500X"), "{err}");
    assert!(!dir.path().join("state.json").exists(), "nothing is created");
    // A stack member of an unknown family too.
    let dir = tempfile::tempdir().unwrap();
    let err = Device::init(
        StateDir::new(dir.path()),
        &options("C9300-24UX", &[], &["PID:C9200-24T,SN:X1"], "network-advantage"),
        at(T0),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("PID C9200-24T"), "{err}");
}

#[test]
fn levels_without_a_real_tag_report_under_slps_own_as_the_guide_names_them() {
    // No real output shows the tag of a C9300-48's network-essentials or of dna-essentials;
    // the guide allows both and names them (its RTU migration example, a C9300-24 + C9300-48
    // stack at network-essentials with dna-essentials). They report under slp's own tags.
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(
        &dir,
        &options("C9300-24UX", &[], &["PID:C9300-48P,SN:FOC3"], "network-essentials"),
    );
    boot(&mut s, "network-essentials addon dna-essentials");
    let summary = ok(&mut s, &["show license summary"]);
    let rows: Vec<&str> = summary.lines().skip_while(|l| !l.contains("-----")).skip(1).collect();
    assert_eq!(
        rows,
        vec![
            "  network-essentials      (C9300-24 Network Essen...)       1 IN USE",
            "  dna-essentials          (C9300-24 DNA Essentials)         1 IN USE",
            "  network-essentials      (C9300-48 Network Essen...)       1 IN USE",
            "  dna-essentials          (C9300-48 DNA Essentials)         1 IN USE",
        ],
        "{summary}"
    );
    let tech = ok(&mut s, &["show license tech support"]);
    assert!(
        tech.contains(
            "  Entitlement Tag: regid.2026-12.invalid.slp.C9300-48_network_essentials,1.0\n"
        ),
        "{tech}"
    );
    assert!(
        tech.contains(&format!("  Entitlement Tag: {}\n", tag("C9300-24", "network-essentials"))),
        "the real C9300-24 tag stays\n{tech}"
    );
}

#[test]
fn each_family_reports_its_own_software_id() {
    for (pid, software) in [
        ("C9300-24UX", "regid.2017-05.com.cisco.C9300,v1_727af1d9-6c39-4444-b301-863f81445b72"),
        ("C9407R", "regid.2017-05.com.cisco.C9400,v1_ad928212-d182-407e-ac85-29e213602efa"),
        ("C9500X-28C8D", "regid.2017-05.com.cisco.C9500,v1_7435cf27-0075-4bfb-b67c-b42f3054e82a"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut s = session(&dir, &options(pid, &[], &[], "network-advantage"));
        let tech = ok(&mut s, &["show license tech support"]);
        assert!(tech.contains(&format!("Software ID: {software}")), "{pid}\n{tech}");
    }
}

#[test]
fn a_chain_closed_at_a_reload_and_not_continued_ends_at_zero() {
    // Item 12: a fresh device boots network-essentials, the lab moves it to network-advantage
    // with dna-advantage and reloads. The network-essentials chain closes at the reload and
    // does not continue: its last report must say so, or whoever counts usage from the latest
    // report counts it in use for ever.
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(&dir, &options("C9300-24UX", &[], &[], "network-essentials"));
    boot(&mut s, "network-advantage addon dna-advantage");
    let ne = tag("C9300-24", "network-essentials");
    let na = tag("C9300-24", "network-advantage");
    let ledger = &s.device.state.ledger;
    let now = s.device.now;
    let reports: Vec<_> = ledger.select(Selection::All, now);
    let ne_last = reports.iter().rfind(|r| r.entitlement_tag == ne).unwrap();
    assert!(ne_last.ended, "{ne_last:?}");
    let signed = slp_wire::rum::Envelope::parse(ne_last.envelope.as_deref().unwrap()).unwrap();
    let report = signed.report().unwrap();
    assert_eq!(report.final_count(), 0, "the chain's last measurement says it stopped");
    assert_eq!(report.measurements.first().unwrap().count, 1, "the usage it measured stays");
    // The licenses in use after the reload continue: nothing of theirs has ended.
    assert!(ledger.open_report(na).is_some());
    assert!(reports.iter().all(|r| r.entitlement_tag == ne || !r.ended));
    // `show license usage` lists only what is in use, as the authority must count it.
    let usage = ok(&mut s, &["show license usage"]);
    assert!(!usage.contains("network-essentials"), "{usage}");
}

#[test]
fn a_state_with_a_made_up_tag_moves_to_the_familys_tag_when_opened() {
    // An earlier slp release reported network-essentials under a tag it had made up.
    let old = "regid.2017-03.com.cisco.essentialsk9,1.0_53d3a7a1-9f0e-4f8a-9c1e-2f6e0b7c4a11";
    let dir = tempfile::tempdir().unwrap();
    let mut device = Device::init(
        StateDir::new(dir.path()),
        &options("C9300-24UX", &[], &[], "network-essentials"),
        at(T0),
    )
    .unwrap();
    for report in device.state.ledger.reports.values_mut() {
        report.entitlement_tag = old.to_owned();
    }
    device.save().unwrap();
    let device = Device::open(StateDir::new(dir.path()), at("2026-11-02T09:00:00Z")).unwrap();
    let ledger = &device.state.ledger;
    assert!(ledger.open_report(old).is_none());
    assert!(ledger.reports.values().any(|r| r.entitlement_tag == old && r.ended));
    let ne = tag("C9300-24", "network-essentials");
    assert_eq!(ledger.open_report(ne).unwrap().count, 1);
}
