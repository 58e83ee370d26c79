//! Edits of the configuration: a NETCONF `<config>` payload or a RESTCONF JSON body, checked
//! against the schema first (nothing is changed when any of it is wrong), then turned into the
//! IOS configuration lines a user would type (`license smart url cslu …`, `no …`).

use serde_json::Value;

use super::schema::{self, Kind, Node};
use super::xml::Element;
use super::{Data, MODULE, NAMESPACE, Segment, Tree, YangError, check_value, schema_at};

/// The NETCONF base namespace, which the `operation` attribute belongs to.
pub const BASE_NS: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";

/// An edit operation (RFC 6241 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Merge,
    Replace,
    Create,
    Delete,
    Remove,
    /// `default-operation none`: containment only.
    None,
}

impl Op {
    pub fn parse(word: &str) -> Option<Op> {
        Some(match word {
            "merge" => Op::Merge,
            "replace" => Op::Replace,
            "create" => Op::Create,
            "delete" => Op::Delete,
            "remove" => Op::Remove,
            "none" => Op::None,
            _ => return None,
        })
    }
}

/// One node of an edit, checked against the schema.
#[derive(Debug, Clone)]
pub struct EditNode {
    pub schema: &'static Node,
    /// `licensing/config/…`
    pub path: String,
    pub op: Option<Op>,
    pub value: Option<String>,
    pub children: Vec<EditNode>,
}

fn shown(path: &str) -> String {
    format!("/{path}")
}

/// Reads a `<licensing>` element (and below) of a `<config>` payload.
pub fn from_xml(el: &Element, schema: &'static Node, parent: &str) -> Result<EditNode, YangError> {
    let path = if parent.is_empty() { el.name.clone() } else { format!("{parent}/{}", el.name) };
    match el.ns.as_deref() {
        Some(NAMESPACE) => {}
        Some(ns) => {
            return Err(YangError::UnknownNamespace { name: el.name.clone(), ns: ns.to_owned() });
        }
        None => {
            return Err(YangError::UnknownNamespace { name: el.name.clone(), ns: String::new() });
        }
    }
    if schema.config == Some(false) {
        return Err(YangError::NotConfig { path: shown(&path) });
    }
    let mut op = None;
    for attr in &el.attrs {
        if attr.name == "operation" && attr.ns.as_deref().is_none_or(|ns| ns == BASE_NS) {
            op = Some(Op::parse(&attr.value).filter(|op| *op != Op::None).ok_or_else(|| {
                YangError::BadOperation { path: shown(&path), value: attr.value.clone() }
            })?);
        }
    }
    match schema.kind {
        Kind::Leaf(ty) => {
            if !el.children.is_empty() {
                return Err(YangError::InvalidValue {
                    path: shown(&path),
                    value: format!("<{}>", el.children[0].name),
                    reason: "a leaf holds a value, not elements".into(),
                });
            }
            let removing = matches!(op, Some(Op::Delete | Op::Remove));
            let value = if removing && el.trimmed().is_empty() {
                None
            } else {
                Some(check_value(ty, &el.text, &shown(&path))?)
            };
            Ok(EditNode { schema, path, op, value, children: Vec::new() })
        }
        _ => {
            if !el.trimmed().is_empty() {
                return Err(YangError::InvalidValue {
                    path: shown(&path),
                    value: el.trimmed().to_owned(),
                    reason: "a container holds elements, not text".into(),
                });
            }
            let mut children = Vec::new();
            for child in &el.children {
                let node = schema.child(&child.name).ok_or_else(|| YangError::UnknownElement {
                    parent: shown(&path),
                    name: child.name.clone(),
                })?;
                children.push(from_xml(child, node, &path)?);
            }
            children.sort_by_key(|c| schema.index_of(c.schema.name));
            Ok(EditNode { schema, path, op, value: None, children })
        }
    }
}

/// Reads the JSON value of the node `schema` at `path` (RFC 7951).
pub fn from_json(value: &Value, schema: &'static Node, path: &str) -> Result<EditNode, YangError> {
    if schema.config == Some(false) {
        return Err(YangError::NotConfig { path: shown(path) });
    }
    match schema.kind {
        Kind::Leaf(ty) => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                Value::Array(a) if a.len() == 1 && a[0].is_null() => String::new(),
                other => {
                    return Err(YangError::InvalidValue {
                        path: shown(path),
                        value: other.to_string(),
                        reason: "not a leaf value".into(),
                    });
                }
            };
            // RFC 7951: booleans are JSON booleans, numbers up to 32 bits JSON numbers.
            if matches!(ty, schema::Type::Bool) && !value.is_boolean() {
                return Err(YangError::InvalidValue {
                    path: shown(path),
                    value: value.to_string(),
                    reason: "expected a JSON true or false".into(),
                });
            }
            let value = check_value(ty, &text, &shown(path))?;
            Ok(EditNode {
                schema,
                path: path.to_owned(),
                op: None,
                value: Some(value),
                children: Vec::new(),
            })
        }
        _ => {
            let Value::Object(members) = value else {
                return Err(YangError::InvalidValue {
                    path: shown(path),
                    value: value.to_string(),
                    reason: "a container is a JSON object".into(),
                });
            };
            let mut children = Vec::new();
            for (name, child) in members {
                let local = member_name(name)?;
                let node = schema.child(local).ok_or_else(|| YangError::UnknownElement {
                    parent: shown(path),
                    name: name.clone(),
                })?;
                children.push(from_json(child, node, &format!("{path}/{local}"))?);
            }
            children.sort_by_key(|c| schema.index_of(c.schema.name));
            Ok(EditNode { schema, path: path.to_owned(), op: None, value: None, children })
        }
    }
}

/// `cisco-smart-license:x` or `x` → `x`; another module is refused.
fn member_name(name: &str) -> Result<&str, YangError> {
    match name.split_once(':') {
        Some((module, local)) if module == MODULE => Ok(local),
        Some((module, _)) => {
            Err(YangError::UnknownNamespace { name: name.to_owned(), ns: module.to_owned() })
        }
        None => Ok(name),
    }
}

/// A leaf to set or to unset.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Set(String, String),
    Unset(String),
}

fn exists(current: Option<&Tree>, path: &str) -> Option<bool> {
    let tree = current?;
    let mut nodes: Vec<&Data> = tree.nodes.iter().collect();
    for (i, name) in path.split('/').enumerate() {
        nodes = if i == 0 {
            nodes.into_iter().filter(|d| d.name() == name).collect()
        } else {
            nodes.into_iter().flat_map(|d| d.children()).filter(|d| d.name() == name).collect()
        };
    }
    Some(!nodes.is_empty())
}

/// Every config leaf under `schema` (at `path`).
fn leaves_under(schema: &'static Node, path: &str, out: &mut Vec<String>) {
    if schema.is_leaf() {
        out.push(path.to_owned());
        return;
    }
    for child in schema.children {
        if child.config != Some(false) {
            leaves_under(child, &format!("{path}/{}", child.name), out);
        }
    }
}

fn unset_all(node: &EditNode, current: Option<&Tree>, changes: &mut Vec<Change>) {
    let mut leaves = Vec::new();
    leaves_under(node.schema, &node.path, &mut leaves);
    for leaf in leaves {
        if exists(current, &leaf) != Some(false) {
            changes.push(Change::Unset(leaf));
        }
    }
}

fn walk(
    node: &EditNode,
    inherited: Op,
    current: Option<&Tree>,
    changes: &mut Vec<Change>,
) -> Result<(), YangError> {
    let op = node.op.unwrap_or(inherited);
    if op == Op::Create && exists(current, &node.path) == Some(true) {
        return Err(YangError::DataExists { path: shown(&node.path) });
    }
    if op == Op::Delete && exists(current, &node.path) == Some(false) {
        return Err(YangError::DataMissing { path: shown(&node.path) });
    }
    if node.schema.is_leaf() {
        match (op, &node.value) {
            (Op::Delete | Op::Remove, _) => changes.push(Change::Unset(node.path.clone())),
            (Op::None, _) => {}
            (_, Some(value)) => changes.push(Change::Set(node.path.clone(), value.clone())),
            (_, None) => {}
        }
        return Ok(());
    }
    match op {
        Op::Delete | Op::Remove => unset_all(node, current, changes),
        Op::Replace => {
            // What the payload does not name goes.
            for child in node.schema.children.iter().filter(|c| c.config != Some(false)) {
                match node.children.iter().find(|c| c.schema.name == child.name) {
                    Some(given) => walk(given, Op::Replace, current, changes)?,
                    None => {
                        let absent = EditNode {
                            schema: child,
                            path: format!("{}/{}", node.path, child.name),
                            op: None,
                            value: None,
                            children: Vec::new(),
                        };
                        unset_all(&absent, current, changes);
                    }
                }
            }
        }
        _ => {
            for child in &node.children {
                walk(child, op, current, changes)?;
            }
        }
    }
    Ok(())
}

/// The configuration line for one change of a config leaf (`licensing/config/…`).
fn line(change: &Change) -> Result<Option<String>, YangError> {
    let (path, value) = match change {
        Change::Set(path, value) => (path.as_str(), Some(value.as_str())),
        Change::Unset(path) => (path.as_str(), None),
    };
    let rel = path.strip_prefix("licensing/config/").unwrap_or(path);
    let word = |value: &str| -> Result<String, YangError> {
        if value.is_empty() || value.chars().any(char::is_whitespace) {
            return Err(YangError::InvalidValue {
                path: shown(path),
                value: value.to_owned(),
                reason: "the CLI takes one word: no spaces".into(),
            });
        }
        Ok(value.to_owned())
    };
    let on = |value: Option<&str>| value == Some("true");
    let toggle = |value: Option<&str>, cmd: &str| {
        if on(value) { Some(cmd.to_owned()) } else { Some(format!("no {cmd}")) }
    };
    let set_or_no = |value: Option<&str>, cmd: &str| -> Result<Option<String>, YangError> {
        Ok(Some(match value {
            Some(v) => format!("{cmd} {}", word(v)?),
            None => format!("no {cmd}"),
        }))
    };
    Ok(match rel {
        // state always-enabled: config enable is accepted and ignored, as the model says.
        "enable" => None,
        "custom-id" => set_or_no(value, "license smart custom_id")?,
        "privacy/hostname" => toggle(value, "license smart privacy hostname"),
        "privacy/version" => toggle(value, "license smart privacy version"),
        "utility/utility-enable" => toggle(value, "license smart utility"),
        "usage/interval" => set_or_no(value, "license smart usage interval")?,
        "transport/transport-type" => match value {
            Some(v) => {
                let kw = v.strip_prefix("transport-type-").unwrap_or(v);
                Some(format!("license smart transport {kw}"))
            }
            None => Some("no license smart transport".to_owned()),
        },
        "transport/transport-smart/url-default" => {
            on(value).then(|| "license smart url default".to_owned())
        }
        "transport/transport-smart/urls/url-registration" => {
            set_or_no(value, "license smart url smart")?
        }
        "transport/transport-smart/urls/url-utility" => {
            set_or_no(value, "license smart url utility")?
        }
        "transport/transport-cslu/url-cslu" => set_or_no(value, "license smart url cslu")?,
        _ => {
            if let Some(field) = rel.strip_prefix("utility/customer-info/") {
                let field = if field == "postal-code" { "postalcode" } else { field };
                set_or_no(value, &format!("license smart utility customer_info {field}"))?
            } else if value.is_none() {
                // Nothing to remove where the device has no such setting.
                None
            } else {
                return Err(YangError::NotSupported {
                    path: shown(path),
                    reason: "the device has no configuration command for this leaf".into(),
                });
            }
        }
    })
}

/// The lines for an edit rooted at `root` (`licensing`), in schema order, each once.
pub fn plan(
    root: &EditNode,
    default: Op,
    current: Option<&Tree>,
) -> Result<Vec<String>, YangError> {
    let mut changes = Vec::new();
    walk(root, default, current, &mut changes)?;
    let mut lines: Vec<String> = Vec::new();
    for change in &changes {
        if let Some(line) = line(change)?
            && !lines.contains(&line)
        {
            lines.push(line);
        }
    }
    Ok(lines)
}

/// The configuration lines of a NETCONF `<edit-config>`: `config` is the `<config>` element,
/// `default` the `default-operation`, `current` the running configuration (for `create` and
/// `delete`, and to leave out removals of what is not configured).
pub fn edit_lines_xml(
    config: &Element,
    default: Op,
    current: Option<&Tree>,
) -> Result<Vec<String>, YangError> {
    let mut lines = Vec::new();
    for top in &config.children {
        match top.ns.as_deref() {
            Some(NAMESPACE) if top.name == schema::LICENSING.name => {}
            Some(NAMESPACE) | None => {
                return Err(YangError::UnknownElement {
                    parent: "/".into(),
                    name: top.name.clone(),
                });
            }
            Some(ns) => {
                return Err(YangError::UnknownNamespace {
                    name: top.name.clone(),
                    ns: ns.to_owned(),
                });
            }
        }
        let root = from_xml(top, &schema::LICENSING, "")?;
        lines.extend(plan(&root, default, current)?);
    }
    Ok(lines)
}

/// Wraps the edit of the node at `path` into a `licensing` edit.
fn wrap(path: &[Segment], target: EditNode) -> EditNode {
    let mut node = target;
    for depth in (0..path.len() - 1).rev() {
        let schema = schema_at(&path[..=depth]).unwrap_or(&schema::LICENSING);
        let node_path =
            path[..=depth].iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join("/");
        node = EditNode { schema, path: node_path, op: None, value: None, children: vec![node] };
    }
    node
}

/// The configuration lines of a RESTCONF `PUT` (`replace`) or `PATCH` (merge) of the resource at
/// `path` (empty for the datastore) with `body`, `{"cisco-smart-license:<node>": …}`.
pub fn edit_lines_json(
    path: &[Segment],
    body: &Value,
    replace: bool,
) -> Result<Vec<String>, YangError> {
    let full: Vec<Segment> = if path.is_empty() {
        vec![Segment { name: schema::LICENSING.name.to_owned(), key: None }]
    } else {
        path.to_vec()
    };
    let schema = schema_at(&full)?;
    let Value::Object(members) = body else {
        return Err(YangError::Malformed("the body is not a JSON object".into()));
    };
    let mut entries = members.iter();
    let (Some((name, value)), None) = (entries.next(), entries.next()) else {
        return Err(YangError::Malformed(format!(
            "the body must hold one member, \"{MODULE}:{}\"",
            schema.name
        )));
    };
    if member_name(name)? != schema.name {
        return Err(YangError::BadPath {
            path: name.clone(),
            reason: format!("the body's member must be the target {MODULE}:{}", schema.name),
        });
    }
    let node_path = full.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join("/");
    for depth in 1..full.len() {
        if schema_at(&full[..=depth])?.config == Some(false) {
            return Err(YangError::NotConfig { path: shown(&node_path) });
        }
    }
    let mut target = from_json(value, schema, &node_path)?;
    if replace {
        target.op = Some(Op::Replace);
    }
    plan(&wrap(&full, target), Op::Merge, None)
}

/// The configuration lines of a RESTCONF `DELETE` of the config node at `path`.
pub fn delete_lines_json(path: &[Segment]) -> Result<Vec<String>, YangError> {
    let schema = schema_at(path)?;
    let node_path = path.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join("/");
    for depth in 1..path.len() {
        if schema_at(&path[..=depth])?.config == Some(false) {
            return Err(YangError::NotConfig { path: shown(&node_path) });
        }
    }
    let target = EditNode {
        schema,
        path: node_path,
        op: Some(Op::Remove),
        value: None,
        children: Vec::new(),
    };
    plan(&wrap(path, target), Op::Merge, None)
}
