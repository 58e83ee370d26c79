//! Unit tests of the model: instance data, encoders, filters, paths, edits and RPCs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use super::edit::{Op, delete_lines_json};
use super::*;
use crate::agent::{Device, InitOptions};
use crate::commands::{Mode, Session};
use crate::state::StateDir;

pub(crate) fn sw1(dir: &tempfile::TempDir) -> Session {
    let options = InitOptions {
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
    let now = chrono::DateTime::parse_from_rfc3339("2024-03-01T10:00:00Z").unwrap().to_utc();
    let device = Device::init(StateDir::new(dir.path()), &options, now).unwrap();
    Session::new(device, Mode::Exec)
}

fn configure(session: &mut Session, lines: &[&str]) {
    for line in ["configure terminal"].iter().chain(lines).chain(&["end"]) {
        let out = session.execute(line);
        assert!(out.ok, "{line}: {}", out.text);
    }
}

fn path(text: &str) -> Vec<Segment> {
    parse_path(text).unwrap()
}

#[test]
fn a_new_device_reads_as_the_model_spells_it() {
    let dir = tempfile::tempdir().unwrap();
    let session = sw1(&dir);
    let tree = licensing(&session.device);
    let json = tree.to_json();
    let top = &json["cisco-smart-license:licensing"];
    assert_eq!(top["config"]["transport"]["transport-type"], "transport-type-cslu");
    assert_eq!(top["config"]["enable"], true);
    let info = &top["state"]["state-info"];
    assert_eq!(info["udi"]["pid"], "C9300-24UX");
    assert_eq!(info["udi"]["sn"], "FOC2233A5ZV");
    assert_eq!(info["registration"]["registration-state"], "reg-state-not-registered");
    assert_eq!(info["policy"]["policy-type"], "cisco-default");
    assert_eq!(info["policy"]["policy-perpetual"]["reporting-first-time"], 365);
    // network-advantage is in use: one usage entry, an array as RFC 7951 lists are.
    let usage = info["usage"].as_array().unwrap();
    assert!(!usage.is_empty());
    assert_eq!(usage[0]["enforcement-mode"], "enforcement-in-compliance");
    assert!(usage[0]["entitlement-tag"].as_str().unwrap().starts_with("regid."));
    let xml = tree.to_xml();
    assert!(xml.starts_with(&format!("<licensing xmlns=\"{NAMESPACE}\"><config>")), "{xml}");
    assert!(xml.contains("<transport-type>transport-type-cslu</transport-type>"));
    assert!(xml.contains("<pid>C9300-24UX</pid>"));
}

#[test]
fn uint64_leaves_are_json_strings_and_uint32_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = sw1(&dir);
    let out = session.execute("license smart save usage all file bootflash:u.txt");
    assert!(out.ok, "{}", out.text);
    let json = licensing(&session.device).to_json();
    let info = &json["cisco-smart-license:licensing"]["state"]["state-info"];
    let keys = info["rum-reports-closed-keys"].as_array().expect("closed reports after a save");
    assert!(keys[0]["rum-report-key"].is_string(), "{keys:?}");
    assert!(info["usage"][0]["count"].is_number());
}

#[test]
fn config_only_leaves_out_state() {
    let dir = tempfile::tempdir().unwrap();
    let session = sw1(&dir);
    let config = licensing(&session.device).config_only();
    let json = config.to_json();
    assert!(json["cisco-smart-license:licensing"].get("state").is_none());
    assert!(json["cisco-smart-license:licensing"].get("config").is_some());
}

#[test]
fn paths_select_containers_leaves_and_list_entries() {
    let dir = tempfile::tempdir().unwrap();
    let session = sw1(&dir);
    let tree = licensing(&session.device);
    let udi =
        tree.select(&path("cisco-smart-license:licensing/state/state-info/udi")).unwrap().unwrap();
    assert_eq!(
        udi.to_json(),
        json!({"cisco-smart-license:udi": {"pid": "C9300-24UX", "sn": "FOC2233A5ZV"}})
    );
    let pid = tree.select(&path("licensing/state/state-info/udi/pid")).unwrap().unwrap();
    assert_eq!(pid.to_xml(), format!("<pid xmlns=\"{NAMESPACE}\">C9300-24UX</pid>"));
    let all = tree.select(&path("licensing/state/state-info/usage")).unwrap().unwrap();
    let tag = all.nodes[0].key().unwrap().to_owned();
    let encoded = tag.replace('.', "%2E");
    let one = tree
        .select(&path(&format!("licensing/state/state-info/usage={encoded}")))
        .unwrap()
        .unwrap();
    assert_eq!(one.nodes.len(), 1);
    assert!(one.to_json()["cisco-smart-license:usage"].is_array());
    assert_eq!(tree.select(&path("licensing/state/state-info/usage=nope")).unwrap(), None);
    assert!(
        matches!(parse_path("licensing/state/nope"), Err(YangError::UnknownElement { name, .. }) if name == "nope")
    );
    assert!(matches!(
        parse_path("other-module:licensing"),
        Err(YangError::UnknownNamespace { .. })
    ));
    assert!(matches!(parse_path("licensing/state=1"), Err(YangError::BadPath { .. })));
    assert!(parse_path("").is_err());
    assert!(parse_path("licensing/state/state-info/usage=%zz").is_err());
}

fn filter(text: &str) -> xml::Element {
    xml::parse(text).unwrap()
}

#[test]
fn subtree_filters_select_contain_and_match() {
    let dir = tempfile::tempdir().unwrap();
    let session = sw1(&dir);
    let tree = licensing(&session.device);
    let f = filter(&format!(
        r#"<filter type="subtree"><licensing xmlns="{NAMESPACE}"><state><state-info><udi/></state-info></state></licensing></filter>"#
    ));
    let got = tree.filter(&f).unwrap().to_xml();
    assert_eq!(
        got,
        format!(
            "<licensing xmlns=\"{NAMESPACE}\"><state><state-info><udi><pid>C9300-24UX</pid><sn>FOC2233A5ZV</sn></udi></state-info></state></licensing>"
        )
    );
    // A content match that holds selects its siblings; one that fails selects nothing.
    let hit = filter(&format!(
        r#"<filter><licensing xmlns="{NAMESPACE}"><state><state-info><udi><pid>C9300-24UX</pid><sn/></udi></state-info></state></licensing></filter>"#
    ));
    assert!(tree.filter(&hit).unwrap().to_xml().contains("<sn>FOC2233A5ZV</sn>"));
    let miss = filter(&format!(
        r#"<filter><licensing xmlns="{NAMESPACE}"><state><state-info><udi><pid>C9500</pid></udi></state-info></state></licensing></filter>"#
    ));
    assert!(tree.filter(&miss).unwrap().is_empty());
    // Only content matches: the whole entry.
    let only = filter(&format!(
        r#"<filter><licensing xmlns="{NAMESPACE}"><state><state-info><udi><pid>C9300-24UX</pid></udi></state-info></state></licensing></filter>"#
    ));
    assert!(tree.filter(&only).unwrap().to_xml().contains("<sn>FOC2233A5ZV</sn>"));
    // Another namespace matches nothing; an unknown element of ours is an error.
    let other = filter(r#"<filter><licensing xmlns="urn:other"/></filter>"#);
    assert!(tree.filter(&other).unwrap().is_empty());
    let unknown =
        filter(&format!(r#"<filter><licensing xmlns="{NAMESPACE}"><stat/></licensing></filter>"#));
    assert!(
        matches!(tree.filter(&unknown), Err(YangError::UnknownElement { name, .. }) if name == "stat")
    );
    assert!(tree.filter(&filter("<filter/>")).unwrap().is_empty());
}

fn config_xml(inner: &str) -> xml::Element {
    xml::parse(&format!(
        r#"<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><licensing xmlns="{NAMESPACE}"><config>{inner}</config></licensing></config>"#
    ))
    .unwrap()
}

#[test]
fn config_payloads_become_the_lines_a_user_types() {
    let lines = edit_lines_xml(
        &config_xml(
            "<transport><transport-type>transport-type-cslu</transport-type><transport-cslu><url-cslu>http://10.0.0.5:8182/cslu/v1/pi</url-cslu></transport-cslu></transport><usage><interval>30</interval></usage><privacy><hostname>true</hostname></privacy><custom-id>lab-7</custom-id>",
        ),
        Op::Merge,
        None,
    )
    .unwrap();
    assert_eq!(
        lines,
        [
            "license smart custom_id lab-7",
            "license smart privacy hostname",
            "license smart usage interval 30",
            "license smart transport cslu",
            "license smart url cslu http://10.0.0.5:8182/cslu/v1/pi",
        ]
    );
    let removed = edit_lines_xml(
        &config_xml(r#"<transport><transport-cslu><url-cslu nc:operation="remove"/></transport-cslu></transport>"#),
        Op::Merge,
        None,
    )
    .unwrap();
    assert_eq!(removed, ["no license smart url cslu"]);
}

#[test]
fn bad_config_payloads_name_what_is_wrong() {
    let err =
        edit_lines_xml(&config_xml("<usage><interval>400</interval></usage>"), Op::Merge, None)
            .unwrap_err();
    assert!(
        matches!(&err, YangError::InvalidValue { path, value, .. } if path == "/licensing/config/usage/interval" && value == "400"),
        "{err}"
    );
    assert_eq!(err.error_tag(), "invalid-value");
    let err = edit_lines_xml(
        &config_xml("<transport><transport-type>cslu</transport-type></transport>"),
        Op::Merge,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("transport-type-cslu"), "{err}");
    let err = edit_lines_xml(&config_xml("<colour>red</colour>"), Op::Merge, None).unwrap_err();
    assert!(matches!(&err, YangError::UnknownElement { name, .. } if name == "colour"));
    let err = edit_lines_xml(
        &config_xml(r#"<custom-id nc:operation="frob">x</custom-id>"#),
        Op::Merge,
        None,
    )
    .unwrap_err();
    assert_eq!(err.error_tag(), "bad-attribute");
    let err = edit_lines_xml(&config_xml("<custom-id>two words</custom-id>"), Op::Merge, None)
        .unwrap_err();
    assert!(err.to_string().contains("one word"));
    let err = edit_lines_xml(&config_xml("<transport><transport-cslu><url-cslu>not a uri</url-cslu></transport-cslu></transport>"), Op::Merge, None).unwrap_err();
    assert_eq!(err.error_tag(), "invalid-value");
    let other = xml::parse(
        r#"<config><native xmlns="http://cisco.com/ns/yang/Cisco-IOS-XE-native"/></config>"#,
    )
    .unwrap();
    assert_eq!(
        edit_lines_xml(&other, Op::Merge, None).unwrap_err().error_tag(),
        "unknown-namespace"
    );
    let state = xml::parse(&format!(r#"<config><licensing xmlns="{NAMESPACE}"><state><smart-enabled>false</smart-enabled></state></licensing></config>"#)).unwrap();
    assert!(matches!(edit_lines_xml(&state, Op::Merge, None), Err(YangError::NotConfig { .. })));
    let err = edit_lines_xml(
        &config_xml("<usage><customer-tags><tag1>x</tag1></customer-tags></usage>"),
        Op::Merge,
        None,
    )
    .unwrap_err();
    assert_eq!(err.error_tag(), "operation-not-supported");
}

#[test]
fn create_delete_and_replace_follow_the_running_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = sw1(&dir);
    configure(&mut session, &["license smart url cslu http://a.example:8182/cslu/v1/pi"]);
    let current = licensing(&session.device).config_only();
    let url = "<transport><transport-cslu><url-cslu nc:operation=\"create\">http://b.example/x</url-cslu></transport-cslu></transport>";
    assert_eq!(
        edit_lines_xml(&config_xml(url), Op::Merge, Some(&current)).unwrap_err().error_tag(),
        "data-exists"
    );
    let del = "<usage><interval nc:operation=\"delete\"/></usage>";
    assert_eq!(
        edit_lines_xml(&config_xml(del), Op::Merge, Some(&current)).unwrap_err().error_tag(),
        "data-missing"
    );
    // Replace the transport container: the URL not named goes.
    let replace = "<transport nc:operation=\"replace\"><transport-type>transport-type-smart</transport-type></transport>";
    let lines = edit_lines_xml(&config_xml(replace), Op::Merge, Some(&current)).unwrap();
    assert_eq!(lines, ["license smart transport smart", "no license smart url cslu"]);
    // default-operation none: leaves without an operation are left alone.
    let none =
        edit_lines_xml(&config_xml("<custom-id>x</custom-id>"), Op::None, Some(&current)).unwrap();
    assert!(none.is_empty());
    // Every generated line is one the device takes.
    let mut all = vec![];
    all.extend(lines);
    all.extend(
        edit_lines_xml(
            &config_xml("<utility><utility-enable>true</utility-enable><customer-info><postal-code>1000</postal-code></customer-info></utility><privacy><version>true</version></privacy>"),
            Op::Merge,
            None,
        )
        .unwrap(),
    );
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    configure(&mut session, &refs);
    let json = licensing(&session.device).to_json();
    let config = &json["cisco-smart-license:licensing"]["config"];
    assert_eq!(config["transport"]["transport-type"], "transport-type-smart");
    assert_eq!(config["utility"]["customer-info"]["postal-code"], "1000");
    assert_eq!(config["privacy"]["version"], true);
}

#[test]
fn restconf_bodies_become_lines_too() {
    let body =
        json!({"cisco-smart-license:transport-cslu": {"url-cslu": "http://relay:8182/cslu/v1/pi"}});
    let lines =
        edit_lines_json(&path("licensing/config/transport/transport-cslu"), &body, false).unwrap();
    assert_eq!(lines, ["license smart url cslu http://relay:8182/cslu/v1/pi"]);
    let put = edit_lines_json(
        &path("licensing/config/usage"),
        &json!({"cisco-smart-license:usage": {"interval": 7}}),
        true,
    )
    .unwrap();
    assert_eq!(put[0], "license smart usage interval 7");
    let err = edit_lines_json(
        &path("licensing/config/privacy"),
        &json!({"cisco-smart-license:privacy": {"hostname": "yes"}}),
        false,
    )
    .unwrap_err();
    assert_eq!(err.error_tag(), "invalid-value");
    let err =
        edit_lines_json(&path("licensing/state"), &json!({"cisco-smart-license:state": {}}), false)
            .unwrap_err();
    assert!(matches!(err, YangError::NotConfig { .. }));
    let err = edit_lines_json(
        &path("licensing/config"),
        &json!({"cisco-smart-license:usage": {}}),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, YangError::BadPath { .. }));
    assert_eq!(
        delete_lines_json(&path("licensing/config/transport/transport-cslu/url-cslu")).unwrap(),
        ["no license smart url cslu"]
    );
}

#[test]
fn rpcs_become_exec_lines_and_outputs() {
    let call = rpc_input_json(
        "cisco-smart-license:id-token-trust",
        &json!({"cisco-smart-license:input": {"id-token": "T0K", "all-ha": true, "force": true}}),
    )
    .unwrap();
    assert_eq!(rpc_lines(&call), ["license smart trust idtoken T0K all force"]);
    let el = xml::parse(&format!(
        r#"<rum-save-usage-days xmlns="{NAMESPACE}"><file-path>bootflash:u.txt</file-path><days>30</days></rum-save-usage-days>"#
    ))
    .unwrap();
    let call = rpc_input_xml(&el).unwrap();
    assert_eq!(rpc_lines(&call), ["license smart save usage days 30 file bootflash:u.txt"]);
    let ok = crate::service::ExecOutput {
        prompt: "sw1#".into(),
        command: String::new(),
        text: String::new(),
        ok: true,
    };
    assert_eq!(
        rpc_output(&call, std::slice::from_ref(&ok)).children_xml(),
        format!("<return-code xmlns=\"{NAMESPACE}\">success</return-code>")
    );
    let refused = crate::service::ExecOutput {
        ok: false,
        text: "% Error: no such file bootflash:x\n".into(),
        ..ok.clone()
    };
    assert_eq!(
        rpc_output(&call, &[refused]).to_json(),
        json!({"cisco-smart-license:output": {"return-code": "notfound"}})
    );
    let legacy = rpc_input_json("de-register", &serde_json::Value::Null).unwrap();
    assert!(rpc_lines(&legacy).is_empty());
    assert_eq!(
        rpc_output(&legacy, &[]).to_json()["cisco-smart-license:output"]["return-code"],
        "notsupported"
    );
    assert!(matches!(rpc_input_json("sync", &json!({})), Err(YangError::UnknownRpc { .. })));
    assert!(
        matches!(rpc_input_json("import-file", &json!({})), Err(YangError::Missing { name, .. }) if name == "file-path")
    );
    let bad =
        rpc_input_json("rum-save-usage-days", &json!({"input": {"file-path": "f", "days": 0}}))
            .unwrap_err();
    assert!(matches!(bad, YangError::InvalidValue { .. }));
    let unknown =
        xml::parse(&format!(r#"<import-file xmlns="{NAMESPACE}"><path>x</path></import-file>"#))
            .unwrap();
    assert!(
        matches!(rpc_input_xml(&unknown), Err(YangError::UnknownElement { name, .. }) if name == "path")
    );
}

#[test]
fn every_enum_and_container_of_a_busy_device_is_in_the_schema() {
    // The builder asserts (in debug builds) that every name it writes is in the schema; a
    // device with trust, a closed report and customer settings touches most of the tree.
    let dir = tempfile::tempdir().unwrap();
    let mut session = sw1(&dir);
    configure(
        &mut session,
        &[
            "license smart custom_id c1",
            "license smart utility",
            "license smart utility customer_info city Oslo",
        ],
    );
    assert!(session.execute("license smart save usage all file bootflash:all.txt").ok);
    let tree = licensing(&session.device);
    let json = tree.to_json();
    assert_eq!(json["cisco-smart-license:licensing"]["state"]["state-info"]["custom-id"], "c1");
    assert_eq!(
        json["cisco-smart-license:licensing"]["state"]["state-info"]["utility"]["customer-info"]["city"],
        "Oslo"
    );
}

#[test]
fn docs_yang_md_shows_the_tree_slp_implements() {
    let tree = schema::pyang_tree();
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/yang.md"))
        .unwrap_or_default();
    if doc.contains(&tree) {
        return;
    }
    if std::env::var_os("SLP_WRITE_TREE").is_some() {
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/yang-tree.txt"), &tree)
            .unwrap();
    }
    panic!("docs/yang.md does not hold the tree of schema.rs; it is:\n{tree}");
}
