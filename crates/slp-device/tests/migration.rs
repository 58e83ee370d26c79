//! The guide's migration chapters (issue #18): a device created in its state before Smart
//! Licensing Using Policy (Smart Licensing, SLR, RTU, evaluation) shows what the guide's
//! "Before Upgrade" columns show, and after `install` of a 17.x release what the "After
//! Upgrade" columns show: licenses IN USE, the transport of the guide's table, SLR
//! authorization codes kept, the registration's ID token sent as a trust request. Downgrades
//! print Table 5's outcome.

// Test code: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use slp_core::udi::Udi;
use slp_device::agent::{Device, InitOptions};
use slp_device::commands::{Mode, Session};
use slp_device::migration::{self, PriorModel, PriorOptions, PriorTransport};
use slp_device::state::{StateDir, Transport, TrustInstalled};

use crate::support::{T0, at, refused};

const T1: &str = "2026-11-02T09:00:00Z";

fn prior(model: PriorModel) -> PriorOptions {
    PriorOptions {
        model,
        smart_account: None,
        virtual_account: None,
        id_token: None,
        transport: None,
        url: None,
        addon: None,
        eval_days_left: None,
    }
}

/// A C9500-16X (with a standby when `ha`) created in `prior`'s state on `version`.
fn device(
    dir: &tempfile::TempDir,
    version: &str,
    level: &str,
    ha: bool,
    options: &PriorOptions,
) -> Device {
    let init = InitOptions {
        pid: "C9500-16X".to_owned(),
        sn: "FCW2233A5ZV".to_owned(),
        hostname: "sw1".to_owned(),
        version: version.to_owned(),
        standby: if ha { vec![Udi::new("C9500-16X", "FCW2233A5ZY").unwrap()] } else { vec![] },
        members: vec![],
        boot_level: level.to_owned(),
        factory_trust: false,
        authority_key: None,
    };
    let mut device = Device::init(StateDir::new(dir.path()), &init, at(T0)).unwrap();
    migration::make_pre_slp(&mut device, options).unwrap();
    device.save().unwrap();
    device
}

#[track_caller]
fn run(session: &mut Session, line: &str) -> String {
    let out = session.execute(line);
    assert!(out.ok, "{line}: {}", out.text);
    out.text
}

/// Reopens the session's device at `now` after installing `version`; returns what install printed.
fn install(session: Session, version: &str, now: &str) -> (Session, String) {
    let dir = session.device.dir.clone();
    drop(session);
    let mut device = Device::open(dir, at(now)).unwrap();
    let lines = migration::install(&mut device, version).unwrap();
    device.save().unwrap();
    (Session::new(device, Mode::Exec), lines.join("\n"))
}

#[test]
fn smart_licensing_registered_keeps_transport_and_converts_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let options = PriorOptions {
        smart_account: Some("SA-Eg-Company-01".to_owned()),
        virtual_account: Some("SLE_Test".to_owned()),
        id_token: Some("NjA1ZmRkYzQtYzA4Yi00".to_owned()),
        transport: Some(PriorTransport::Smart),
        url: Some("https://cssm.example/licservice/license".to_owned()),
        addon: Some("dna-advantage".to_owned()),
        ..prior(PriorModel::SmartLicensing)
    };
    let mut session =
        Session::new(device(&dir, "16.12.4", "network-advantage", true, &options), Mode::Exec);

    // Before the upgrade: the guide's Smart Licensing summary, REGISTERED and AUTHORIZED.
    let summary = run(&mut session, "show license summary");
    assert!(summary.starts_with("Smart Licensing is ENABLED\n"), "{summary}");
    assert!(summary.contains("  Status: REGISTERED\n"), "{summary}");
    assert!(summary.contains("  Smart Account: SA-Eg-Company-01\n"), "{summary}");
    assert!(summary.contains("  Virtual Account: SLE_Test\n"), "{summary}");
    assert!(summary.contains("  Next Renewal Attempt: Apr 30 09:00:00 2027 UTC\n"), "{summary}");
    assert!(summary.contains("  Next Communication Attempt: Dec 01 09:00:00 2026 UTC\n"));
    // The family's display name (`C9500… Network Advantage`) as the license name too.
    let row = summary.lines().find(|l| l.contains("Network Advantage)")).unwrap();
    assert!(row.trim_start().starts_with("C9500"), "{row}");
    assert!(row.ends_with("2 AUTHORIZED"), "{row}");
    let version = run(&mut session, "show version");
    assert!(version.contains("\nSmart Licensing Status: REGISTERED/AUTHORIZED\n"), "{version}");
    let status = run(&mut session, "show license status");
    assert!(status.contains("Transport:\n  Type: Smart\n"), "{status}");
    assert!(status.contains("  Registration Expires: Nov 01 09:00:00 2027 UTC\n"), "{status}");
    assert!(status.contains("  Communication Deadline: Jan 30 09:00:00 2027 UTC\n"), "{status}");
    let usage = run(&mut session, "show license usage");
    assert!(usage.contains("  Status: AUTHORIZED on Nov 01 09:00:00 2026 UTC\n"), "{usage}");
    // Smart Licensing Using Policy's commands are not there yet.
    let text = refused(&mut session, "license smart sync all");
    assert!(text.contains("16.12.4") && text.contains("slp device install"), "{text}");
    refused(&mut session, "show license rum id all");
    // `show license all` is not modelled before the upgrade: refused, naming what is.
    let text = refused(&mut session, "show license all");
    assert!(text.contains("show license summary, status, usage, udi, reservation"), "{text}");
    assert!(session.device.state.ledger.reports.is_empty(), "no RUM reports before SLP");

    let (mut session, printed) = install(session, "17.9.4", T1);
    assert!(printed.contains("migrated from Smart Licensing"), "{printed}");
    assert!(printed.contains("transport type smart"), "{printed}");
    // After: licenses IN USE, unenforced; the transport and its URL kept.
    let summary = run(&mut session, "show license summary");
    assert!(!summary.contains("License Reservation"), "{summary}");
    for feature in ["network-advantage", "dna-advantage"] {
        let row = summary.lines().find(|l| l.trim_start().starts_with(feature)).unwrap();
        assert!(row.ends_with("2 IN USE"), "{row}");
    }
    let usage = run(&mut session, "show license usage");
    assert!(usage.contains("  Status: Not Applicable\n"), "{usage}");
    assert!(usage.contains("  Enforcement type: NOT ENFORCED\n"), "{usage}");
    let status = run(&mut session, "show license status");
    assert!(status.contains("  Type: Smart\n"), "{status}");
    assert!(status.contains("  URL: https://cssm.example/licservice/license\n"), "{status}");
    assert_eq!(session.device.state.running.transport, Transport::Smart);
    assert_eq!(session.device.state.startup.transport, Transport::Smart);
    // The ID token waits for the first contact, which asks for trust with it.
    assert_eq!(
        session.device.state.migration.conversion_token.as_deref(),
        Some("NjA1ZmRkYzQtYzA4Yi00")
    );
    let conversation = migration::begin_contact(&mut session.device).expect("a contact");
    assert!(format!("{conversation:?}").contains("NjA1ZmRkYzQtYzA4Yi00"), "{conversation:?}");
    assert!(session.device.state.migration.conversion_token.is_none(), "converted once");
    assert!(!session.device.state.ledger.reports.is_empty(), "usage is measured from the upgrade");
}

#[test]
fn slr_authorization_codes_survive_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let options =
        PriorOptions { addon: Some("dna-advantage".to_owned()), ..prior(PriorModel::Slr) };
    let mut session =
        Session::new(device(&dir, "16.12.4", "network-advantage", true, &options), Mode::Exec);
    let summary = run(&mut session, "show license summary");
    assert!(
        summary.starts_with("Smart Licensing is ENABLED\nLicense Reservation is ENABLED\n"),
        "{summary}"
    );
    assert!(summary.contains("  Status: REGISTERED - SPECIFIC LICENSE RESERVATION\n"));
    assert!(summary.contains("  Status: AUTHORIZED - RESERVED\n"), "{summary}");
    let before = run(&mut session, "show license reservation");
    assert!(before.starts_with("License reservation: ENABLED\n"), "{before}");
    assert!(before.contains("  Active: PID:C9500-16X,SN:FCW2233A5ZV\n"), "{before}");
    assert!(before.contains("  Standby: PID:C9500-16X,SN:FCW2233A5ZY\n"), "{before}");
    assert!(
        before.contains("    Reservation status: SPECIFIC INSTALLED on Nov 01 09:00:00 2026 UTC\n")
    );
    assert!(before.contains("    Total reserved count: 2\n"), "{before}");
    assert!(before.contains("        License type: TERM\n        Start Date: 2026-NOV-01 UTC\n"));
    let codes: Vec<String> = before
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Last Confirmation code: ").map(str::to_owned))
        .collect();
    assert_eq!(codes.len(), 2, "{before}");
    assert!(codes.iter().all(|c| c.len() == 8), "{codes:?}");

    let (mut session, printed) = install(session, "17.9.4", T1);
    assert!(printed.contains("transport type off"), "{printed}");
    let summary = run(&mut session, "show license summary");
    assert!(summary.starts_with("License Reservation is ENABLED\n\n"), "{summary}");
    let status = run(&mut session, "show license status");
    assert!(status.contains("  Type: Transport Off\n"), "{status}");
    assert!(status.contains("License Reservation is ENABLED\n\nSmart Licensing Using Policy:"));
    let all = run(&mut session, "show license all");
    assert!(
        all.contains(
            "Smart Licensing is ENABLED\nLicense Reservation is ENABLED\n\nExport Authorization Key:"
        ),
        "{all}"
    );
    // The SLR codes are the migrated ones: same confirmation codes, SPECIFIC INSTALLED.
    for code in &codes {
        assert!(all.contains(&format!("      Last Confirmation code: {code}\n")), "{all}");
    }
    assert!(all.contains("      Status: SPECIFIC INSTALLED on Nov 01 09:00:00 2026 UTC\n"));
    assert!(all.contains(
        "  License type: Perpetual\n  Reservation:\n    Reservation status: SPECIFIC INSTALLED\n    Total reserved count: 2\n"
    ), "{all}");
    assert!(all.contains("Specified license reservations:\n"), "{all}");
    assert!(
        all.contains(
            "        Authorization type: SPECIFIC INSTALLED on Nov 01 09:00:00 2026 UTC\n"
        )
    );
    // Unenforced: no export authorization key.
    assert!(all.contains("Export Authorization Key:\n  Features Authorized:\n    <none>\n"));
    assert_eq!(run(&mut session, "show license reservation"), all);

    // "Returning an Authorization Code … for all authorization codes - SLAC and SLR": the
    // return code on screen, then `no license smart reservation`.
    let out = run(&mut session, "license smart authorization return all offline");
    assert!(out.starts_with("Enter this return code in Cisco Smart Software Manager portal:\n"));
    assert!(out.contains("UDI: PID:C9500-16X,SN:FCW2233A5ZY\n"), "{out}");
    let code = out.lines().find_map(|l| l.strip_prefix("Return code: ")).unwrap().to_owned();
    let groups: Vec<usize> = code.split('-').map(str::len).collect();
    assert_eq!(groups, [6, 6, 6, 6, 6, 6, 6, 6, 3], "{code}");
    assert_eq!(out.matches("%SMART_LIC-6-AUTHORIZATION_REMOVED").count(), 2, "{out}");
    let auth = run(&mut session, "show license authorization");
    assert!(
        auth.contains(&format!("      Status: NOT INSTALLED\n      Last return code: {code}\n"))
    );
    assert!(!auth.contains("SPECIFIC INSTALLED on"), "{auth}");
    // Returned already: nothing of the SLR is left to return.
    refused(&mut session, "license smart authorization return local offline");
    run(&mut session, "configure terminal");
    run(&mut session, "no license smart reservation");
    run(&mut session, "end");
    let summary = run(&mut session, "show license summary");
    assert!(!summary.contains("License Reservation"), "{summary}");
    assert!(!run(&mut session, "show license usage").contains("Reservation:"));
}

#[test]
fn rtu_levels_are_in_use_after_the_upgrade_with_cslu() {
    let dir = tempfile::tempdir().unwrap();
    let options =
        PriorOptions { addon: Some("dna-essentials".to_owned()), ..prior(PriorModel::Rtu) };
    let mut session =
        Session::new(device(&dir, "16.8.1", "network-essentials", true, &options), Mode::Exec);
    let rtu = run(&mut session, "show license right-to-use");
    assert_eq!(
        rtu.matches("License Level on Reboot: network-essentials+dna-essentials Subscription")
            .count(),
        2,
        "{rtu}"
    );
    let row = rtu.lines().find(|l| l.starts_with("2 ") && l.contains("dna-essentials")).unwrap();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["2", "dna-essentials", "Subscription", "CSSM", "Managed"]
    );
    let summary = run(&mut session, "show license right-to-use summary");
    assert!(
        summary.contains("License Level In Use: network-essentials+dna-essentials Subscription\n")
    );
    let usage = run(&mut session, "show license right-to-use usage");
    let yes: Vec<&str> = usage.lines().filter(|l| l.ends_with("yes")).collect();
    assert_eq!(yes.len(), 4, "two licenses in use on two slots: {usage}");
    assert!(usage.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()
        == ["1", "network-essentials", "Permanent", "00:00:00", "yes", "yes"]));
    // "show license all … displays information about the current licensing model for all
    // except the RTU licensing model."
    refused(&mut session, "show license summary");

    let (mut session, printed) = install(session, "17.9.4", T1);
    assert!(printed.contains("transport type cslu"), "{printed}");
    refused(&mut session, "show license right-to-use");
    let summary = run(&mut session, "show license summary");
    for feature in ["network-essentials", "dna-essentials"] {
        let row = summary.lines().find(|l| l.trim_start().starts_with(feature)).unwrap();
        assert!(row.ends_with("2 IN USE"), "{row}");
    }
    let status = run(&mut session, "show license status");
    assert!(status.contains("  Type: cslu\n"), "{status}");
    // An HA pair with no trust code prints the one-line form (genieparser's real captures).
    assert!(status.contains("\nTrust Code Installed: <none>\n"), "{status}");
    // The Cisco default policy: the add-on (subscription) must be reported within 90 days.
    assert!(status.contains("  Next ACK deadline: Jan 31 09:00:00 2027 UTC\n"), "{status}");
    // "reporting is required only if the policy, or, system messages indicate that it is".
    let events: Vec<&str> = session.device.state.events.iter().map(|e| e.text.as_str()).collect();
    assert!(
        events.contains(
            &"%SMART_LIC-6-REPORTING_REQUIRED: A Usage report acknowledgement will be required in 90 days."
        ),
        "{events:?}"
    );
}

#[test]
fn evaluation_licenses_are_in_use_and_smart_transport_becomes_off() {
    let dir = tempfile::tempdir().unwrap();
    let options = PriorOptions {
        transport: Some(PriorTransport::Smart),
        eval_days_left: Some(89),
        ..prior(PriorModel::Eval)
    };
    let mut session =
        Session::new(device(&dir, "16.12.4", "network-advantage", false, &options), Mode::Exec);
    let summary = run(&mut session, "show license summary");
    assert!(summary.contains("  Status: UNREGISTERED\n"), "{summary}");
    // As real 16.x Catalyst 9300 captures print it.
    let version = run(&mut session, "show version");
    assert!(version.contains("\nSmart Licensing Status: UNREGISTERED/EVAL MODE\n"), "{version}");
    assert!(summary.contains("  Status: EVAL MODE\n"), "{summary}");
    assert!(
        summary.contains("  Evaluation Period Remaining: 89 days, 0 hours, 0 minutes, 0 seconds\n")
    );
    let row = summary.lines().find(|l| l.contains("Network Advantage)")).unwrap();
    assert!(row.trim_start().starts_with("(C9500"), "no license name in EVAL MODE: {row}");
    assert!(row.ends_with("1 EVAL MODE"), "{row}");
    let usage = run(&mut session, "show license usage");
    assert!(
        usage.contains("\n(C9500") && usage.contains(" Advantage):\n  Description: \n"),
        "{usage}"
    );
    let (mut session, printed) = install(session, "17.9.4", "2026-11-01T11:22:30Z");
    assert!(printed.contains("transport type off"), "{printed}");
    let summary = run(&mut session, "show license summary");
    assert!(!summary.contains("EVAL"), "{summary}");
    let version = run(&mut session, "show version");
    assert!(
        version.contains("\nSmart Licensing Status: Registration Not Applicable/Not Applicable\n")
    );
    let row = summary.lines().find(|l| l.trim_start().starts_with("network-advantage")).unwrap();
    assert!(row.ends_with("1 IN USE"), "{row}");
    assert!(run(&mut session, "show license status").contains("  Type: Transport Off\n"));
}

#[test]
fn evaluation_with_callhome_becomes_cslu_and_counts_down() {
    let dir = tempfile::tempdir().unwrap();
    let session_device =
        device(&dir, "17.3.1", "network-advantage", false, &prior(PriorModel::Eval));
    drop(session_device);
    let mut later = Device::open(StateDir::new(dir.path()), at("2026-11-01T11:22:30Z")).unwrap();
    let text = migration::show::summary(&later);
    assert!(
        text.contains("  Evaluation Period Remaining: 89 days, 21 hours, 37 minutes, 30 seconds\n"),
        "{text}"
    );
    migration::install(&mut later, "17.9.4").unwrap();
    assert_eq!(later.state.running.transport, Transport::Cslu);
}

#[test]
fn downgrades_print_the_guides_outcome() {
    // Standalone, connected directly to CSSM, trust established: 16.12.4 renews trust.
    let dir = tempfile::tempdir().unwrap();
    let init = InitOptions {
        pid: "C9300-24UX".to_owned(),
        sn: "FOC2233A5ZV".to_owned(),
        hostname: "sw1".to_owned(),
        version: "17.9.4".to_owned(),
        standby: vec![],
        members: vec![],
        boot_level: "network-advantage".to_owned(),
        factory_trust: false,
        authority_key: None,
    };
    let mut device = Device::init(StateDir::new(dir.path()), &init, at(T0)).unwrap();
    device.state.running.transport = Transport::Smart;
    device.state.trust.insert(
        "PID:C9300-24UX,SN:FOC2233A5ZV".to_owned(),
        TrustInstalled { trust_id: 7, installed_at: at(T0) },
    );
    let mut renewable = device.state.clone();
    renewable.account = Some(slp_device::state::AccountInfo {
        smart_account: "Example Corp".to_owned(),
        virtual_account: "Lab".to_owned(),
        as_of: at(T0),
    });
    device.state = renewable.clone();
    let printed = migration::install(&mut device, "16.12.4").unwrap().join("\n");
    assert!(printed.contains("No further action is required. The product instance attempts to renew trust with CSSM after downgrade."), "{printed}");
    let summary = migration::show::summary(&device);
    assert!(summary.contains("  Status: REGISTERED\n  Smart Account: Example Corp\n"), "{summary}");
    assert!(device.state.ledger.reports.is_empty() && device.state.trust.is_empty());

    // The same device to 16.12.3, a release not in the guide's first row: reregister.
    device.state = renewable.clone();
    device.state.software_version = "17.9.4".to_owned();
    device.state.migration = Default::default();
    let printed = migration::install(&mut device, "16.12.3").unwrap().join("\n");
    assert!(printed.contains("license smart register idtoken idtoken command"), "{printed}");
    assert!(migration::show::summary(&device).contains("  Status: EVAL MODE\n"));

    // Without trust (any other topology): restore licenses the Smart Licensing way.
    device.state = renewable;
    device.state.software_version = "17.9.4".to_owned();
    device.state.migration = Default::default();
    device.state.trust.clear();
    let printed = migration::install(&mut device, "17.3.1").unwrap().join("\n");
    assert!(printed.contains("Restore licenses to a registered and authorized state"), "{printed}");
    // And back up again: the migration of an evaluation device.
    let printed = migration::install(&mut device, "17.9.4").unwrap().join("\n");
    assert!(printed.contains("migrated from evaluation licenses"), "{printed}");
}

#[test]
fn downgrade_of_an_ha_set_asks_to_reregister_all() {
    let dir = tempfile::tempdir().unwrap();
    let options = PriorOptions {
        smart_account: Some("SA".to_owned()),
        virtual_account: Some("VA".to_owned()),
        transport: Some(PriorTransport::Smart),
        ..prior(PriorModel::SmartLicensing)
    };
    let mut device = device(&dir, "16.12.4", "network-advantage", true, &options);
    migration::install(&mut device, "17.9.4").unwrap();
    for unit in device.state.units.clone() {
        device
            .state
            .trust
            .insert(unit.udi.to_string(), TrustInstalled { trust_id: 1, installed_at: at(T0) });
    }
    let printed = migration::install(&mut device, "16.12.4").unwrap().join("\n");
    assert!(printed.contains("license smart register idtoken idtoken all command"), "{printed}");
}

#[test]
fn within_slp_across_17_7_1_recommends_a_round_of_reporting() {
    let dir = tempfile::tempdir().unwrap();
    let options = prior(PriorModel::Eval);
    let mut device = device(&dir, "16.12.4", "network-advantage", false, &options);
    migration::install(&mut device, "17.3.2").unwrap();
    let printed = migration::install(&mut device, "17.9.4").unwrap().join("\n");
    assert!(
        printed.contains("completing one round of usage reporting as a standard practice when upgrading from an earlier release that supports Smart Licensing Using Policy, to Cisco IOS XE Cupertino 17.7.1 or a later release."),
        "{printed}"
    );
    let printed = migration::install(&mut device, "17.9.5").unwrap().join("\n");
    assert!(!printed.contains("round of usage reporting"), "{printed}");
}

#[test]
fn prior_models_are_checked_against_the_release() {
    let p = prior(PriorModel::SmartLicensing);
    assert!(migration::check_prior(&p, "16.12.4").is_err(), "a registration needs its accounts");
    let eval = prior(PriorModel::Eval);
    assert!(migration::check_prior(&eval, "17.9.4").is_err(), "17.9.4 already runs SLP");
    assert!(migration::check_prior(&eval, "16.8.1").is_err(), "16.8.1 runs RTU");
    assert!(migration::check_prior(&prior(PriorModel::Rtu), "16.12.4").is_err());
    assert!(migration::check_prior(&prior(PriorModel::Rtu), "16.8.1").is_ok());
    let too_long = PriorOptions { eval_days_left: Some(91), ..prior(PriorModel::Eval) };
    assert!(migration::check_prior(&too_long, "16.12.4").is_err());
    assert!(migration::Release::parse("17.03.02").unwrap() == migration::FIRST_SLP);
    assert!(migration::Release::parse("seventeen").is_err());
}

/// Records where each message went and what it carried, answering with an error reply.
#[derive(Default)]
struct Recorder {
    sent: std::sync::Mutex<Vec<(String, String)>>,
}

impl slp_device::uplink::Uplink for Recorder {
    fn send(
        &self,
        url: &str,
        request: &slp_wire::online::Request,
    ) -> Result<slp_wire::online::Response, slp_device::uplink::CommError> {
        self.sent.lock().unwrap().push((url.to_owned(), format!("{request:?}")));
        Err(slp_device::uplink::CommError::new("recorded"))
    }
}

/// The guide's example "Smart Licensing to Smart Licensing Using Policy": a registered HA pair
/// on the default (Call Home) transport keeps `Type: Callhome` after the upgrade, and its ID
/// token becomes a trust request at the first contact, sent through the active Call Home
/// profile's destination (held back while Call Home cannot send).
#[test]
fn smart_licensing_registered_with_callhome_keeps_callhome_and_converts_through_call_home() {
    let dir = tempfile::tempdir().unwrap();
    let options = PriorOptions {
        smart_account: Some("SA-Eg-Company-01".to_owned()),
        virtual_account: Some("SLE_Test".to_owned()),
        id_token: Some("NjA1ZmRkYzQtYzA4Yi00".to_owned()),
        addon: Some("dna-advantage".to_owned()),
        ..prior(PriorModel::SmartLicensing)
    };
    let mut session =
        Session::new(device(&dir, "16.12.4", "network-advantage", true, &options), Mode::Exec);
    let before = run(&mut session, "show license status");
    assert!(before.contains("Transport:\n  Type: Callhome\n"), "{before}");

    let (mut session, printed) = install(session, "17.9.4", T1);
    assert!(printed.contains("transport type callhome"), "{printed}");
    assert!(printed.contains("converted to a trust code at the first contact"), "{printed}");
    let status = run(&mut session, "show license status");
    // The guide's "After Upgrade": the type alone (the URL is the Call Home profile's).
    assert!(status.contains("\nTransport:\n  Type: Callhome\n"), "{status}");
    assert!(!status.contains("URL:"), "{status}");
    assert!(status.contains("\nTrust Code Installed: <none>\n"), "{status}");
    assert_eq!(session.device.state.running.transport, Transport::Callhome);
    assert_eq!(session.device.state.startup.transport, Transport::Callhome);
    let config = run(&mut session, "show running-config");
    assert!(config.contains("\nlicense smart transport callhome\n"), "{config}");

    // Call Home off: nothing can carry the token, it waits.
    run(&mut session, "configure terminal");
    run(&mut session, "no service call-home");
    run(&mut session, "end");
    assert!(migration::begin_contact(&mut session.device).is_none());
    assert!(session.device.state.migration.conversion_token.is_some(), "kept for later");

    // Call Home on, CiscoTAC-1 pointing at the authority: the first contact is the trust
    // request with the registration's ID token, sent to the profile's destination.
    for line in [
        "configure terminal",
        "service call-home",
        "call-home",
        "profile \"CiscoTAC-1\"",
        "destination address http http://cssm.example/its/service/oddce/services/DDCEService",
        "end",
    ] {
        run(&mut session, line);
    }
    let conversation = migration::begin_contact(&mut session.device).expect("a contact");
    let uplink = Recorder::default();
    let _ = session.device.converse(conversation, &uplink);
    let sent = uplink.sent.lock().unwrap().clone();
    let (url, request) = sent.first().expect("a message");
    assert_eq!(url, "http://cssm.example/its/service/oddce/services/DDCEService");
    assert!(request.contains("NjA1ZmRkYzQtYzA4Yi00"), "{request}");
    assert!(request.contains("TrustRequest"), "{request}");
    assert!(session.device.state.migration.conversion_token.is_none(), "converted once");
}

/// The guide's SLR example prints `Derived Licenses:` after `Purchased Licenses:` in `show
/// license all`: the entitlement tag of each reserved license, while the codes are installed.
#[test]
fn slr_upgrade_lists_derived_licenses_after_purchased_licenses() {
    let dir = tempfile::tempdir().unwrap();
    let options =
        PriorOptions { addon: Some("dna-advantage".to_owned()), ..prior(PriorModel::Slr) };
    let session =
        Session::new(device(&dir, "16.12.4", "network-advantage", true, &options), Mode::Exec);
    let (mut session, _) = install(session, "17.9.4", T1);
    let all = run(&mut session, "show license all");
    // The guide's tags (its text wraps them after the comma).
    assert!(
        all.contains(
            "\nPurchased Licenses:\n  No Purchase Information Available\n\nDerived Licenses:\n  Entitlement Tag: regid.2017-03.com.cisco.advantagek9-Nyquist-C9500,1.0_f1563759-2e03-4a4c-bec5-5feec525a12c\n  Entitlement Tag: regid.2017-07.com.cisco.C9500-DNA-16X-A,1.0_ef3574d1-156b-486a-864f-9f779ff3ee49\n\nUsage Report Summary:\n"
        ),
        "{all}"
    );
    assert!(run(&mut session, "show license authorization").contains("\nDerived Licenses:\n"));
    // Returned codes derive nothing.
    run(&mut session, "license smart authorization return all offline");
    let all = run(&mut session, "show license all");
    assert!(!all.contains("Derived Licenses:"), "{all}");
    assert!(all.contains("\nPurchased Licenses:\n  No Purchase Information Available\n"));
}

/// The guide's "Evaluation or Expired to Smart Licensing Using Policy" for an expired evaluation
/// (`--eval-days-left 0`): before, `EVAL EXPIRED` (`show version` as a real 16.x capture prints
/// it); after, every license `IN USE` and unenforced, the Cisco default policy, transport off
/// (smart before), no trust code, reporting per the default policy.
#[test]
fn expired_evaluation_upgrades_to_in_use_under_the_cisco_default_policy() {
    let dir = tempfile::tempdir().unwrap();
    let options = PriorOptions {
        transport: Some(PriorTransport::Smart),
        addon: Some("dna-advantage".to_owned()),
        eval_days_left: Some(0),
        ..prior(PriorModel::Eval)
    };
    let mut session =
        Session::new(device(&dir, "16.12.4", "network-advantage", true, &options), Mode::Exec);
    let summary = run(&mut session, "show license summary");
    assert!(summary.contains("  Status: UNREGISTERED\n"), "{summary}");
    assert!(summary.contains("  Export-Controlled Functionality: NOT ALLOWED\n"), "{summary}");
    assert!(summary.contains("  Status: EVAL EXPIRED on Nov 01 09:00:00 2026 UTC\n"), "{summary}");
    assert!(!summary.contains("Evaluation Period Remaining"), "{summary}");
    let rows: Vec<&str> = summary.lines().filter(|l| l.contains("Advantage)")).collect();
    assert_eq!(rows.len(), 2, "{summary}");
    assert!(rows.iter().all(|r| r.ends_with("2 EVAL EXPIRED")), "{summary}");
    let usage = run(&mut session, "show license usage");
    assert!(usage.contains("  Status: EVAL EXPIRED on Nov 01 09:00:00 2026 UTC\n"), "{usage}");
    assert_eq!(usage.matches("  Status: EVAL EXPIRED\n").count(), 2, "{usage}");
    let status = run(&mut session, "show license status");
    assert!(status.contains("Transport:\n  Type: Smart\n"), "{status}");
    assert!(status.contains("  Status: EVAL EXPIRED on Nov 01 09:00:00 2026 UTC\n"), "{status}");
    let version = run(&mut session, "show version");
    assert!(version.contains("\nSmart Licensing Status: UNREGISTERED/EVAL EXPIRED\n"), "{version}");

    let (mut session, printed) = install(session, "17.9.4", T1);
    assert!(printed.contains("migrated from evaluation licenses"), "{printed}");
    assert!(printed.contains("transport type off"), "{printed}");
    // "All licenses are migrated and IN USE. There are no EVAL MODE licenses."
    let summary = run(&mut session, "show license summary");
    assert!(!summary.contains("EVAL"), "{summary}");
    for feature in ["network-advantage", "dna-advantage"] {
        let row = summary.lines().find(|l| l.trim_start().starts_with(feature)).unwrap();
        assert!(row.ends_with("2 IN USE"), "{row}");
    }
    let usage = run(&mut session, "show license usage");
    assert!(usage.contains("License Authorization: \n  Status: Not Applicable\n"), "{usage}");
    assert_eq!(usage.matches("  Enforcement type: NOT ENFORCED\n").count(), 2, "{usage}");
    assert!(usage.contains("  License type: Subscription\n"), "{usage}");
    let status = run(&mut session, "show license status");
    assert!(status.contains("Transport:\n  Type: Transport Off\n"), "{status}");
    assert!(status.contains("  Reporting ACK required: yes (CISCO default)\n"), "{status}");
    assert!(status.contains("  Last ACK received: <none>\n"), "{status}");
    // The subscription add-on's first report within 90 days of the default policy.
    assert!(status.contains("  Next ACK deadline: Jan 31 09:00:00 2027 UTC\n"), "{status}");
    assert!(status.contains("\nTrust Code Installed: <none>\n"), "{status}");
    let version = run(&mut session, "show version");
    assert!(
        version.contains("\nSmart Licensing Status: Registration Not Applicable/Not Applicable\n")
    );
}

/// "Downgrades Within the Smart Licensing Using Policy Environment": from 17.7.1 or later to an
/// earlier SLP release, the guide's advice to complete one round of usage reporting; the device
/// stays on Smart Licensing Using Policy with its usage. Within the same side of 17.7.1, no advice.
#[test]
fn downgrade_within_slp_across_17_7_1_recommends_a_round_of_reporting() {
    let dir = tempfile::tempdir().unwrap();
    let init = InitOptions {
        pid: "C9500-16X".to_owned(),
        sn: "FCW2233A5ZV".to_owned(),
        hostname: "sw1".to_owned(),
        version: "17.9.4".to_owned(),
        standby: vec![],
        members: vec![],
        boot_level: "network-advantage".to_owned(),
        factory_trust: false,
        authority_key: None,
    };
    let mut device = Device::init(StateDir::new(dir.path()), &init, at(T0)).unwrap();
    let reports = device.state.ledger.reports.len();
    assert!(reports > 0, "usage measured on 17.9.4");
    let printed = migration::install(&mut device, "17.6.1").unwrap().join("\n");
    assert!(
        printed.contains("We recommend completing one round of usage reporting as a standard practice when downgrading from Cisco IOS XE Cupertino 17.7.1 or a later release to an earlier release supporting Smart Licensing Using Policy."),
        "{printed}"
    );
    assert!(!printed.contains("when upgrading"), "{printed}");
    assert_eq!(device.state.software_version, "17.6.1");
    assert!(device.state.migration.pre_slp.is_none(), "still Smart Licensing Using Policy");
    assert!(device.state.ledger.reports.len() >= reports, "its usage kept");
    device.save().unwrap();
    let mut session = Session::new(device, Mode::Exec);
    let status = run(&mut session, "show license status");
    assert!(status.contains("Smart Licensing Using Policy:\n  Status: ENABLED\n"), "{status}");
    let printed = migration::install(&mut session.device, "17.3.2").unwrap().join("\n");
    assert!(!printed.contains("round of usage reporting"), "{printed}");
}
