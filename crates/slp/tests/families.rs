//! PID families end to end (issue #18, items 10 and 12): a mixed-PID stack's usage file reaches
//! the authority, which counts each license per entitlement tag, one per family; the
//! authority's In Use equals what the devices show, also for a license a reload stopped using.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::util::{Lab, T0, auth, upload};

const T1: &str = "2026-11-02T09:00:00Z";

fn tag(license: &str) -> String {
    slp_core::license::lookup(license).unwrap().entitlement_tag.to_owned()
}

/// Count per entitlement tag of what a device shows in use (`show license tech support`:
/// `Entitlement Tag:` and `Count:` of each handle).
pub(crate) fn shown_in_use(lab: &Lab, state: &str, now: &str) -> BTreeMap<String, i64> {
    let tech = lab.exec(state, now, &["show license tech support"]);
    let usage = tech.split("License Usage\n=============\n").nth(1).unwrap();
    let usage = usage.split("\n\n\n").next().unwrap_or(usage);
    let mut shown = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in usage.lines() {
        if let Some(tag) = line.trim().strip_prefix("Entitlement Tag: ") {
            current = Some(tag.to_owned());
        } else if let Some(count) = line.strip_prefix("  Count: ") {
            let tag = current.take().unwrap();
            *shown.entry(tag).or_insert(0) += count.trim().parse::<i64>().unwrap();
        }
    }
    shown
}

/// In Use per entitlement tag at the authority in `data`, virtual account `va` of example.com.
pub(crate) fn authority_in_use(
    lab: &Lab,
    data: &str,
    va: &str,
    now: &str,
) -> BTreeMap<String, i64> {
    let args = ["authority", "--data", data, "license", "list", "--account", "example.com"];
    let list = lab.ok(now, &[&args[..], &["--va", va, "--json"]].concat());
    let rows: Vec<Value> = serde_json::from_str(&list).unwrap();
    rows.iter()
        .map(|row| {
            (row["entitlement_tag"].as_str().unwrap().to_owned(), row["in_use"].as_i64().unwrap())
        })
        .collect()
}

#[test]
fn the_authority_counts_a_mixed_stack_per_family_and_what_devices_show() {
    let lab = Lab::new();
    auth(&lab, T0, &["account", "create", "--name", "Example Corp", "--domain", "example.com"]);
    auth(&lab, T0, &["va", "create", "--account", "example.com", "--name", "Lab"]);
    for (license, sku) in [
        ("C9300-24:network-advantage", "C9300-NW-A-24"),
        ("C9300-24:network-essentials", "C9300-NW-E-24"),
        ("C9300-48:network-advantage", "C9300-NW-A-48"),
    ] {
        auth(
            &lab,
            T0,
            &[
                "license",
                "add",
                "--account",
                "example.com",
                "--va",
                "Lab",
                "--tag",
                license,
                "--sku",
                sku,
                "--quantity",
                "10",
                "--type",
                "perpetual",
            ],
        );
    }
    for (license, sku) in
        [("C9300-24:dna-advantage", "C9300-DNA-A-24"), ("C9300-48:dna-advantage", "C9300-DNA-A-48")]
    {
        auth(
            &lab,
            T0,
            &[
                "license",
                "add",
                "--account",
                "example.com",
                "--va",
                "Lab",
                "--tag",
                license,
                "--sku",
                sku,
                "--quantity",
                "10",
                "--type",
                "subscription",
                "--expires",
                "2027-11-01",
            ],
        );
    }
    // A mixed stack (the units of a real capture: C9300-48UXM active, C9300-48U standby,
    // C9300-24U member) and a standalone C9300-24UX that boots network-essentials, as a
    // fresh lab's switches do, before both move to network-advantage with dna-advantage.
    lab.ok(
        T0,
        &[
            "device",
            "--state",
            "S",
            "init",
            "--pid",
            "C9300-48UXM",
            "--sn",
            "FOC1",
            "--hostname",
            "stack1",
            "--standby",
            "PID:C9300-48U,SN:FOC2",
            "--member",
            "PID:C9300-24U,SN:FOC3",
        ],
    );
    lab.ok(T0, &["device", "--state", "D", "init", "--pid", "C9300-24UX", "--sn", "FOC4"]);
    let boot = [
        "configure terminal",
        "license boot level network-advantage addon dna-advantage",
        "end",
        "copy running-config startup-config",
        "reload",
    ];
    for state in ["S", "D"] {
        let mut commands = boot.to_vec();
        commands.push("license smart save usage all file bootflash:usage.txt");
        lab.exec(state, T1, &commands);
        upload(&lab, T1, &format!("{state}/bootflash/usage.txt"), &format!("{state}-ack.txt"));
    }
    // The stack shows one row per family.
    let summary = lab.exec("S", T1, &["show license summary"]);
    assert!(
        summary.contains("network-advantage       (C9300-48 Network Advan...)       2 IN USE"),
        "{summary}"
    );
    assert!(
        summary.contains("network-advantage       (C9300-24 Network Advan...)       1 IN USE"),
        "{summary}"
    );

    // The authority counts each family under its own tag: 2 + 0 and 1 + 1.
    let counted = authority_in_use(&lab, "A", "Lab", T1);
    assert_eq!(counted[&tag("C9300-48:network-advantage")], 2, "{counted:?}");
    assert_eq!(counted[&tag("C9300-24:network-advantage")], 2, "{counted:?}");
    assert_eq!(counted[&tag("C9300-48:dna-advantage")], 2, "{counted:?}");
    assert_eq!(counted[&tag("C9300-24:dna-advantage")], 2, "{counted:?}");
    // The network-essentials the standalone switch booted with is not in use any more.
    assert_eq!(counted[&tag("C9300-24:network-essentials")], 0, "{counted:?}");

    // In Use equals, per license, the sum of what the devices show.
    let mut shown: BTreeMap<String, i64> = BTreeMap::new();
    for state in ["S", "D"] {
        for (tag, count) in shown_in_use(&lab, state, T1) {
            *shown.entry(tag).or_insert(0) += count;
        }
    }
    assert_counts_agree(&counted, &shown);
}

/// Per entitlement tag, the authority's In Use equals the devices' count (absent = 0).
#[track_caller]
pub(crate) fn assert_counts_agree(counted: &BTreeMap<String, i64>, shown: &BTreeMap<String, i64>) {
    for (tag, in_use) in counted {
        assert_eq!(shown.get(tag).copied().unwrap_or(0), *in_use, "{tag}: {shown:?} {counted:?}");
    }
    for (tag, count) in shown {
        assert_eq!(counted.get(tag).copied().unwrap_or(0), *count, "{tag}: {shown:?} {counted:?}");
    }
}
