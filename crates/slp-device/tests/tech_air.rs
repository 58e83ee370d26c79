//! The embedded wireless controller's licenses in `show license tech support`: a C9300-24 lists
//! `air-network-advantage` and `air-dna-advantage` as real C9300-24 stacks do (genieparser's
//! ShowLicenseTechSupport `golden_output_3_output.txt`, agent 5.5: `Count: 0`, `Status: NOT IN
//! USE(1)`, `Request Time: None`), never as in use, and nowhere else; families no capture shows
//! them for list none.

use slp_core::udi::Udi;
use slp_device::agent::{Device, InitOptions};
use slp_device::commands::{Mode, Session};
use slp_device::state::StateDir;

use crate::support::T0;

fn session(dir: &tempfile::TempDir, pid: &str, members: &[&str]) -> Session {
    let options = InitOptions {
        pid: pid.to_owned(),
        sn: "FOC1".to_owned(),
        hostname: "sw1".to_owned(),
        version: "17.9.4".to_owned(),
        standby: vec![],
        members: members.iter().map(|u| u.parse::<Udi>().unwrap()).collect(),
        boot_level: "network-advantage".to_owned(),
        factory_trust: false,
        authority_key: None,
    };
    let now = chrono::DateTime::parse_from_rfc3339(T0).unwrap().to_utc();
    Session::new(Device::init(StateDir::new(dir.path()), &options, now).unwrap(), Mode::Exec)
}

fn run(session: &mut Session, line: &str) -> String {
    let out = session.execute(line);
    assert!(out.ok, "{line}: {}", out.text);
    out.text
}

/// The `Handle:` block of `feature` in tech support's License Usage.
fn handle(tech: &str, feature: &str) -> Option<String> {
    let usage =
        &tech[tech.find("License Usage\n").unwrap()..tech.find("Product Information").unwrap()];
    usage
        .split("\n\n")
        .find(|block| block.contains(&format!("  License: {feature}\n")))
        .map(str::to_owned)
}

#[test]
fn a_c9300_24_lists_the_air_licenses_not_in_use_in_tech_support_only() {
    let dir = tempfile::tempdir().unwrap();
    // A stack of two C9300-24 units: one entry each, as the capture's three-unit stack shows.
    let mut s = session(&dir, "C9300-24UX", &["PID:C9300-24T,SN:FOC3"]);
    let tech = run(&mut s, "show license tech support");
    let na = handle(&tech, "air-network-advantage").expect(&tech);
    assert!(na.contains(
        "  Entitlement Tag: regid.2018-06.com.cisco.DNA_NWStack,1.0_e7244e71-3ad5-4608-8bf0-d12f67c80896\n  Description: air-network-advantage\n  Count: 0\n  Version: 1.0\n  Status: NOT IN USE(1)\n"
    ), "{na}");
    assert!(na.contains("  Request Time: None\n"), "{na}");
    assert!(na.contains("  Feature Description: air-network-advantage\n"), "{na}");
    assert!(na.contains("  License type: Perpetual\n"), "{na}");
    let dna = handle(&tech, "air-dna-advantage").expect(&tech);
    assert!(dna.contains(
        "  Entitlement Tag: regid.2017-08.com.cisco.AIR-DNA-A,1.0_b6308627-3ab0-4a11-a3d9-586911a0d790\n"
    ), "{dna}");
    assert!(
        dna.contains("  Status: NOT IN USE(1)\n") && dna.contains("  License type: Subscription\n"),
        "{dna}"
    );
    assert_eq!(tech.matches("  License: air-").count(), 2, "{tech}");
    // After the switch licenses, numbered on.
    let na_at = tech.find("License: air-network-advantage").unwrap();
    assert!(tech.find("License: network-advantage").unwrap() < na_at);

    // Never counted: not in the usage, the summary, `show license all` or a report.
    for command in ["show license usage", "show license summary", "show license all"] {
        let out = run(&mut s, command);
        assert!(!out.contains("air-"), "{command}: {out}");
    }
    run(&mut s, "license smart save usage all file bootflash:usage.txt");
    let saved = std::fs::read_to_string(dir.path().join("bootflash/usage.txt")).unwrap();
    assert!(!saved.contains("AIR-DNA-A") && !saved.contains("DNA_NWStack"), "{saved}");
}

#[test]
fn families_no_capture_shows_them_for_list_no_air_licenses() {
    for pid in ["C9300-48UXM", "C9500-32QC"] {
        let dir = tempfile::tempdir().unwrap();
        let mut s = session(&dir, pid, &[]);
        let tech = run(&mut s, "show license tech support");
        assert!(!tech.contains("air-"), "{pid}: {tech}");
    }
}
