//! The model's RPCs: input checked against the schema, the EXEC lines a user would type for
//! it, and the `output` (`return-code` of `error-enum`, plus the RPC's own output leaves).

use serde_json::Value;

use super::schema::{self, Rpc};
use super::xml::Element;
use super::{Content, Data, MODULE, NAMESPACE, Tree, YangError, check_value};
use crate::service::ExecOutput;

/// An RPC call with its checked input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcCall {
    pub rpc: &'static Rpc,
    /// Input leaves given, in canonical form.
    pub input: Vec<(&'static str, String)>,
}

impl RpcCall {
    pub fn name(&self) -> &'static str {
        self.rpc.name
    }

    pub fn get(&self, leaf: &str) -> Option<&str> {
        self.input.iter().find(|(name, _)| *name == leaf).map(|(_, value)| value.as_str())
    }

    fn flag(&self, leaf: &str) -> bool {
        self.get(leaf) == Some("true")
    }
}

fn known() -> String {
    schema::RPCS.iter().map(|r| r.name).collect::<Vec<_>>().join(", ")
}

fn find(name: &str) -> Result<&'static Rpc, YangError> {
    let local = match name.split_once(':') {
        Some((module, local)) if module == MODULE => local,
        Some((module, _)) => {
            return Err(YangError::UnknownNamespace {
                name: name.to_owned(),
                ns: module.to_owned(),
            });
        }
        None => name,
    };
    schema::rpc_named(local)
        .ok_or_else(|| YangError::UnknownRpc { name: name.to_owned(), known: known() })
}

fn finish(rpc: &'static Rpc, mut input: Vec<(&'static str, String)>) -> Result<RpcCall, YangError> {
    for mandatory in rpc.mandatory {
        if !input.iter().any(|(name, _)| name == mandatory) {
            return Err(YangError::Missing {
                path: format!("/{}/input", rpc.name),
                name: (*mandatory).to_owned(),
            });
        }
    }
    input.sort_by_key(|(name, _)| rpc.input.index_of(name));
    Ok(RpcCall { rpc, input })
}

fn input_leaf(rpc: &'static Rpc, name: &str) -> Result<&'static schema::Node, YangError> {
    rpc.input.child(name).ok_or_else(|| YangError::UnknownElement {
        parent: format!("/{}/input", rpc.name),
        name: name.to_owned(),
    })
}

/// An RPC element of a NETCONF `<rpc>` (`<id-token-trust xmlns="…cisco-smart-license">`).
pub fn rpc_input_xml(el: &Element) -> Result<RpcCall, YangError> {
    if el.ns.as_deref() != Some(NAMESPACE) {
        return Err(YangError::UnknownNamespace {
            name: el.name.clone(),
            ns: el.ns.clone().unwrap_or_default(),
        });
    }
    let rpc = find(&el.name)?;
    let mut input: Vec<(&'static str, String)> = Vec::new();
    for child in &el.children {
        if child.ns.as_deref() != Some(NAMESPACE) {
            return Err(YangError::UnknownNamespace {
                name: child.name.clone(),
                ns: child.ns.clone().unwrap_or_default(),
            });
        }
        let leaf = input_leaf(rpc, &child.name)?;
        let path = format!("/{}/input/{}", rpc.name, leaf.name);
        if input.iter().any(|(name, _)| *name == leaf.name) {
            return Err(YangError::InvalidValue {
                path,
                value: child.text.clone(),
                reason: "given twice".into(),
            });
        }
        let ty = leaf.leaf_type().unwrap_or(schema::Type::Str { min: 0, max: 0 });
        input.push((leaf.name, check_value(ty, &child.text, &path)?));
    }
    finish(rpc, input)
}

/// A RESTCONF operation: `name` (`cisco-smart-license:rum-save-usage-all`) and its body
/// (`{"cisco-smart-license:input": {…}}`, or nothing).
pub fn rpc_input_json(name: &str, body: &Value) -> Result<RpcCall, YangError> {
    let rpc = find(name)?;
    let members = match body {
        Value::Null => serde_json::Map::new(),
        Value::Object(top) if top.is_empty() => serde_json::Map::new(),
        Value::Object(top) => {
            let (key, inner) =
                top.iter().next().ok_or_else(|| YangError::Malformed("empty body".into()))?;
            if top.len() != 1 || (key != "input" && key != &format!("{MODULE}:input")) {
                return Err(YangError::Malformed(format!(
                    "the body must be {{\"{MODULE}:input\": {{…}}}}"
                )));
            }
            match inner {
                Value::Object(members) => members.clone(),
                _ => return Err(YangError::Malformed("input is not a JSON object".into())),
            }
        }
        _ => return Err(YangError::Malformed("the body is not a JSON object".into())),
    };
    let mut input = Vec::new();
    for (key, value) in &members {
        let local = key.strip_prefix(&format!("{MODULE}:")).unwrap_or(key);
        let leaf = input_leaf(rpc, local)?;
        let path = format!("/{}/input/{}", rpc.name, leaf.name);
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            other => {
                return Err(YangError::InvalidValue {
                    path,
                    value: other.to_string(),
                    reason: "not a leaf value".into(),
                });
            }
        };
        let ty = leaf.leaf_type().unwrap_or(schema::Type::Str { min: 0, max: 0 });
        input.push((leaf.name, check_value(ty, &text, &path)?));
    }
    finish(rpc, input)
}

/// One word for the CLI (a file path or token with a space cannot be typed as one).
fn word(value: &str) -> Option<&str> {
    (!value.is_empty() && !value.chars().any(char::is_whitespace)).then_some(value)
}

/// The EXEC lines the RPC runs; none for the legacy (pre-policy) RPCs and for what this device
/// has no command for (their `return-code` is `notsupported`).
pub fn rpc_lines(call: &RpcCall) -> Vec<String> {
    let scope = |local: bool| if local { "local" } else { "all" };
    let file = call.get("file-path").and_then(word);
    let line = match (call.name(), file) {
        ("id-token-trust", _) => call.get("id-token").and_then(word).map(|token| {
            let mut line =
                format!("license smart trust idtoken {token} {}", scope(!call.flag("all-ha")));
            if call.flag("force") {
                line.push_str(" force");
            }
            line
        }),
        ("rum-save-usage-all", Some(file)) => {
            Some(format!("license smart save usage all file {file}"))
        }
        ("rum-save-usage-unreported", Some(file)) => {
            Some(format!("license smart save usage unreported file {file}"))
        }
        ("rum-save-usage-days", Some(file)) => {
            call.get("days").map(|days| format!("license smart save usage days {days} file {file}"))
        }
        ("authorization-request-online", _) => call.get("feature-name").and_then(word).map(|f| {
            let kind = if call.get("add") == Some("false") { "replace" } else { "add" };
            format!("license smart authorization request {kind} {f} {}", scope(call.flag("local")))
        }),
        ("authorization-code-return-online", _) => {
            Some(format!("license smart authorization return {} online", scope(call.flag("local"))))
        }
        ("authorization-code-return-offline", file) => Some(match file {
            Some(file) => format!(
                "license smart authorization return {} offline {file}",
                scope(call.flag("local"))
            ),
            None => {
                format!("license smart authorization return {} offline", scope(call.flag("local")))
            }
        }),
        ("import-file", Some(file)) => Some(format!("license smart import {file}")),
        _ => None,
    };
    line.into_iter().collect()
}

/// The `error-enum` value that fits a refused command's text.
fn refusal(call: &RpcCall, text: &str) -> &'static str {
    let text = text.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&["no such file", "not found", "does not exist", "cannot open", "no file"]) {
        "notfound"
    } else if has(&["transport"]) {
        "transporttype"
    } else if has(&["in use"]) && call.name().starts_with("authorization-code-return") {
        "invalidrequest"
    } else if has(&["no authorization", "not installed", "nothing to return"]) {
        "noauthorizationinstalled"
    } else if has(&["signature"]) {
        "verifysignaturefailed"
    } else if has(&["already installed"]) {
        "alreadyexists"
    } else if has(&["communication", "connect", "unreachable", "timed out", "timeout", "send"]) {
        "commsend"
    } else if has(&["invalid", "unknown", "% incomplete", "% unrecognized"]) {
        "BadInputParams"
    } else {
        "invalidrequest"
    }
}

/// A return or confirmation code in a command's output: dash-separated alphanumeric groups.
fn code_in(text: &str) -> Option<String> {
    let pattern = regex::Regex::new(r"\b[A-Za-z0-9]{4,}(?:-[A-Za-z0-9]{4,}){2,}\b").ok()?;
    pattern.find_iter(text).last().map(|m| m.as_str().to_owned())
}

/// The RPC's `output` after its lines ran (`outputs`, one per line of [`rpc_lines`]).
pub fn rpc_output(call: &RpcCall, outputs: &[ExecOutput]) -> Tree {
    let rpc = call.rpc;
    let failed = outputs.iter().find(|o| !o.ok);
    let code = match (outputs.is_empty(), failed) {
        (true, _) => "notsupported",
        (false, Some(failed)) => refusal(call, &failed.text),
        // The model: "On success the return code will be error-enum:registrationinprogress".
        (false, None) if call.name() == "id-token-trust" => "registrationinprogress",
        (false, None) => "success",
    };
    let mut children = Vec::new();
    let mut push = |name: &str, value: String| {
        if let Some(schema) = rpc.output.child(name) {
            children.push(Data { schema, content: Content::Leaf(value) });
        }
    };
    push("return-code", code.to_owned());
    if failed.is_none() && !outputs.is_empty() {
        let text: String = outputs.iter().map(|o| o.text.as_str()).collect();
        if let Some(found) = code_in(&text) {
            push("authorization-return-string", found.clone());
            push("confirmation-codes", found);
        }
    }
    Tree { nodes: vec![Data { schema: &rpc.output, content: Content::Inner(children) }] }
}
