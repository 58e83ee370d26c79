//! The `cisco-smart-license` YANG model's readers of outside input (`slp_device::mgmt::yang`),
//! as NETCONF and RESTCONF hand them what a client sent: subtree filters and `<config>`
//! payloads (edit-config → CLI lines), RPC inputs in XML and JSON, RESTCONF paths and JSON
//! bodies (PUT/PATCH/DELETE → CLI lines, GET → the selected data, encoded back).
//!
//! The first byte picks the reader (its value modulo 6); the rest is UTF-8 text. Where a reader
//! takes two inputs (a path and a body, an RPC name and its input), the first line is the first.
#![no_main]

#[path = "../common.rs"]
mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use slp_device::mgmt::yang::edit::Op;
use slp_device::mgmt::yang::{self, Tree, xml};

/// The instance data of a new device, as `get` and RESTCONF GET see it.
fn tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let device = common::new_switch(dir.path());
        yang::licensing(&device)
    })
}

fn encode(tree: &Tree) {
    let _ = tree.to_xml();
    let _ = tree.children_xml();
    let _ = tree.to_json();
}

fn edit_ops() -> [Op; 6] {
    [Op::Merge, Op::Replace, Op::Create, Op::Delete, Op::Remove, Op::None]
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let (first, body) = text.split_once('\n').unwrap_or((text, ""));
    match selector % 6 {
        // A RESTCONF path: GET of the data (and of config only) it selects, DELETE.
        0 => {
            if let Ok(path) = yang::parse_path(text) {
                let _ = yang::schema_at(&path);
                if let Ok(Some(selected)) = tree().select(&path) {
                    encode(&selected);
                }
                if let Ok(Some(selected)) = tree().config_only().select(&path) {
                    encode(&selected);
                }
                let _ = yang::delete_lines_json(&path);
            }
        }
        // A RESTCONF PUT/PATCH: the path, then the JSON body.
        1 => {
            let path = if first.is_empty() {
                Vec::new()
            } else {
                match yang::parse_path(first) {
                    Ok(path) => path,
                    Err(_) => return,
                }
            };
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(body) {
                let _ = yang::edit_lines_json(&path, &value, false);
                let _ = yang::edit_lines_json(&path, &value, true);
            }
        }
        // A RESTCONF operation: its name, then its JSON input (empty: no body).
        2 => {
            let value = if body.trim().is_empty() {
                serde_json::Value::Null
            } else {
                match serde_json::from_str(body) {
                    Ok(value) => value,
                    Err(_) => return,
                }
            };
            if let Ok(call) = yang::rpc_input_json(first, &value) {
                let _ = yang::rpc_lines(&call);
                encode(&yang::rpc_output(&call, &[]));
            }
        }
        // An edit-config's <config>, with every default-operation, against the running data.
        3 => {
            if let Ok(config) = xml::parse(text) {
                for op in edit_ops() {
                    let _ = yang::edit_lines_xml(&config, op, Some(tree()));
                    let _ = yang::edit_lines_xml(&config, op, None);
                }
            }
        }
        // A get's subtree <filter>, on all data and on config only.
        4 => {
            if let Ok(filter) = xml::parse(text) {
                if let Ok(chosen) = tree().filter(&filter) {
                    encode(&chosen);
                }
                if let Ok(chosen) = tree().config_only().filter(&filter) {
                    encode(&chosen);
                }
            }
        }
        // A model RPC element in an <rpc>.
        _ => {
            if let Ok(element) = xml::parse(text)
                && let Ok(call) = yang::rpc_input_xml(&element)
            {
                let _ = yang::rpc_lines(&call);
                encode(&yang::rpc_output(&call, &[]));
            }
        }
    }
});
