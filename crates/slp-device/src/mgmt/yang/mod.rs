//! The `cisco-smart-license` YANG model (namespace [`NAMESPACE`], revision [`REVISION`]): one
//! Rust description of the tree slp implements ([`schema`], written out in docs/yang.md), from
//! which the instance data of a device is built ([`licensing`]) and encoded as XML (NETCONF,
//! RESTCONF `+xml`) and JSON (RFC 7951, RESTCONF `+json`); NETCONF subtree filters
//! ([`Tree::filter`]), RESTCONF paths ([`Tree::select`]), edits (a `<config>` payload or a
//! RESTCONF body → the IOS configuration lines a user would type, [`edit`]) and the model's
//! RPCs (input → EXEC lines → `<output>`, [`rpc`]) all walk the same schema.

use serde_json::{Map, Value};

mod build;
pub mod edit;
pub mod filter;
pub mod rpc;
pub mod schema;
pub mod xml;

pub use build::licensing;
pub use edit::{delete_lines_json, edit_lines_json, edit_lines_xml};
pub use rpc::{RpcCall, rpc_input_json, rpc_input_xml, rpc_lines, rpc_output};
use schema::{Kind, Node, Type};

/// The module's XML namespace.
pub const NAMESPACE: &str = "http://cisco.com/ns/yang/cisco-smart-license";
/// The module name (the JSON member prefix and RESTCONF path prefix).
pub const MODULE: &str = "cisco-smart-license";
/// The revision slp implements, advertised in NETCONF `<hello>` and RESTCONF's yang-library.
pub const REVISION: &str = "2021-03-01";

/// Why a request on the model was refused: each names the bad path, leaf or value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YangError {
    #[error("unknown element {name:?} in {parent}")]
    UnknownElement { parent: String, name: String },
    #[error("unknown namespace {ns:?} on element {name:?}: the model's namespace is {NAMESPACE}")]
    UnknownNamespace { name: String, ns: String },
    #[error("invalid value {value:?} for {path}: {reason}")]
    InvalidValue { path: String, value: String, reason: String },
    #[error("{path} is state data (config false): it cannot be edited")]
    NotConfig { path: String },
    #[error("{path} needs {name}")]
    Missing { path: String, name: String },
    #[error("{path} already exists (operation create)")]
    DataExists { path: String },
    #[error("{path} does not exist (operation delete)")]
    DataMissing { path: String },
    #[error(
        "invalid operation {value:?} on {path}: expected merge, replace, create, delete or remove"
    )]
    BadOperation { path: String, value: String },
    #[error("{path}: {reason}")]
    NotSupported { path: String, reason: String },
    #[error("invalid path {path:?}: {reason}")]
    BadPath { path: String, reason: String },
    #[error("unknown RPC {name:?}: the model defines {known}")]
    UnknownRpc { name: String, known: String },
    #[error("malformed request: {0}")]
    Malformed(String),
}

impl YangError {
    /// The RFC 6241 Appendix A `error-tag` (RESTCONF uses the same tags, RFC 8040 §7).
    pub fn error_tag(&self) -> &'static str {
        match self {
            YangError::UnknownElement { .. } | YangError::UnknownRpc { .. } => "unknown-element",
            YangError::UnknownNamespace { .. } => "unknown-namespace",
            YangError::InvalidValue { .. }
            | YangError::NotConfig { .. }
            | YangError::BadPath { .. } => "invalid-value",
            YangError::Missing { .. } => "missing-element",
            YangError::DataExists { .. } => "data-exists",
            YangError::DataMissing { .. } => "data-missing",
            YangError::BadOperation { .. } => "bad-attribute",
            YangError::NotSupported { .. } => "operation-not-supported",
            YangError::Malformed(_) => "malformed-message",
        }
    }

    /// The `error-type`: `protocol` for a message that cannot be read, `application` else.
    pub fn error_type(&self) -> &'static str {
        match self {
            YangError::Malformed(_) => "rpc",
            YangError::BadOperation { .. } => "protocol",
            _ => "application",
        }
    }

    /// The data path the error is about (`error-path`), as `/licensing/config/…`.
    pub fn path(&self) -> Option<&str> {
        match self {
            YangError::UnknownElement { parent, .. } => Some(parent),
            YangError::InvalidValue { path, .. }
            | YangError::NotConfig { path }
            | YangError::Missing { path, .. }
            | YangError::DataExists { path }
            | YangError::DataMissing { path }
            | YangError::BadOperation { path, .. }
            | YangError::NotSupported { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The element named in `error-info` (`bad-element`), when there is one.
    pub fn bad_element(&self) -> Option<&str> {
        match self {
            YangError::UnknownElement { name, .. } | YangError::UnknownNamespace { name, .. } => {
                Some(name)
            }
            YangError::UnknownRpc { name, .. } => Some(name),
            YangError::Missing { name, .. } => Some(name),
            YangError::InvalidValue { path, .. } | YangError::NotConfig { path } => {
                path.rsplit('/').next()
            }
            _ => None,
        }
    }
}

/// One node of instance data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    pub schema: &'static Node,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A container or list entry: its children in schema order (list entries repeat).
    Inner(Vec<Data>),
    /// A leaf's value in its canonical text form.
    Leaf(String),
}

impl Data {
    pub fn name(&self) -> &'static str {
        self.schema.name
    }

    pub fn children(&self) -> &[Data] {
        match &self.content {
            Content::Inner(children) => children,
            Content::Leaf(_) => &[],
        }
    }

    pub fn value(&self) -> Option<&str> {
        match &self.content {
            Content::Leaf(value) => Some(value),
            Content::Inner(_) => None,
        }
    }

    /// A child leaf's value (the key of a list entry, say).
    pub fn leaf(&self, name: &str) -> Option<&str> {
        self.children().iter().find(|c| c.name() == name).and_then(Data::value)
    }

    /// The list key's value, for a list entry.
    pub fn key(&self) -> Option<&str> {
        match self.schema.kind {
            Kind::List { key } => self.leaf(key),
            _ => None,
        }
    }

    fn config_only(&self, inherited: bool) -> Option<Data> {
        let config = self.schema.config.unwrap_or(inherited);
        if !config {
            return None;
        }
        match &self.content {
            Content::Leaf(_) => Some(self.clone()),
            Content::Inner(children) => {
                let kept: Vec<Data> =
                    children.iter().filter_map(|c| c.config_only(config)).collect();
                if kept.is_empty() && !children.is_empty() {
                    return None;
                }
                Some(Data { schema: self.schema, content: Content::Inner(kept) })
            }
        }
    }

    fn write_xml(&self, out: &mut String, top: bool) {
        let name = self.schema.name;
        out.push('<');
        out.push_str(name);
        if top {
            out.push_str(" xmlns=\"");
            out.push_str(NAMESPACE);
            out.push('"');
        }
        match &self.content {
            Content::Leaf(value) if value.is_empty() => out.push_str("/>"),
            Content::Leaf(value) => {
                out.push('>');
                out.push_str(&xml::escape(value));
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
            Content::Inner(children) if children.is_empty() => out.push_str("/>"),
            Content::Inner(children) => {
                out.push('>');
                for child in children {
                    child.write_xml(out, false);
                }
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
    }

    fn json_value(&self) -> Value {
        match &self.content {
            Content::Leaf(value) => leaf_json(self.schema.leaf_type(), value),
            Content::Inner(children) => Value::Object(members(children, None)),
        }
    }
}

/// A leaf's RFC 7951 JSON value.
fn leaf_json(ty: Option<Type>, value: &str) -> Value {
    match ty {
        Some(Type::Bool) => Value::Bool(value == "true"),
        Some(Type::Uint { .. }) => {
            value.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::String(value.into()))
        }
        Some(Type::Empty) => Value::Array(vec![Value::Null]),
        _ => Value::String(value.to_owned()),
    }
}

/// JSON members for sibling data nodes: list entries gathered into one array; names qualified
/// with the module (`cisco-smart-license:licensing`) when `qualify`.
fn members(nodes: &[Data], qualify: Option<&str>) -> Map<String, Value> {
    let mut map = Map::new();
    for node in nodes {
        let name = match qualify {
            Some(module) => format!("{module}:{}", node.name()),
            None => node.name().to_owned(),
        };
        let value = node.json_value();
        if matches!(node.schema.kind, Kind::List { .. }) {
            match map.entry(name).or_insert_with(|| Value::Array(Vec::new())) {
                Value::Array(entries) => entries.push(value),
                other => *other = Value::Array(vec![value]),
            }
        } else {
            map.insert(name, value);
        }
    }
    map
}

/// Instance data: the `licensing` container (from [`licensing`]), a part of it (from
/// [`Tree::select`] or [`Tree::filter`]), or an RPC's `output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// The top nodes (one, or the entries of a selected list).
    pub nodes: Vec<Data>,
}

impl Tree {
    /// The configuration only (`<get-config>`, RESTCONF `content=config`).
    pub fn config_only(&self) -> Tree {
        Tree { nodes: self.nodes.iter().filter_map(|n| n.config_only(true)).collect() }
    }

    /// The data at `path` (from [`parse_path`], starting at `licensing`): `Ok(None)` when the
    /// path is in the model but holds no data (a list entry that does not exist).
    pub fn select(&self, path: &[Segment]) -> Result<Option<Tree>, YangError> {
        check_path(path)?;
        let mut current: Vec<&Data> = self.nodes.iter().collect();
        for (depth, segment) in path.iter().enumerate() {
            let candidates: Vec<&Data> = if depth == 0 {
                current.into_iter().filter(|d| d.name() == segment.name).collect()
            } else {
                current
                    .into_iter()
                    .flat_map(|d| d.children().iter())
                    .filter(|d| d.name() == segment.name)
                    .collect()
            };
            current = match &segment.key {
                Some(key) => candidates.into_iter().filter(|d| d.key() == Some(key)).collect(),
                None => candidates,
            };
            if current.is_empty() {
                return Ok(None);
            }
        }
        Ok(Some(Tree { nodes: current.into_iter().cloned().collect() }))
    }

    /// XML, each top node carrying `xmlns` = [`NAMESPACE`].
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            node.write_xml(&mut out, true);
        }
        out
    }

    /// The top nodes' children as XML, each with the namespace: an RPC's output leaves as
    /// they go into `<rpc-reply>`.
    pub fn children_xml(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            for child in node.children() {
                child.write_xml(&mut out, true);
            }
        }
        out
    }

    /// RFC 7951 JSON: `{"cisco-smart-license:licensing": {…}}`.
    pub fn to_json(&self) -> Value {
        Value::Object(members(&self.nodes, Some(MODULE)))
    }

    /// Whether there is no data.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// One step of a data path: `name` or a list entry `name=key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub name: String,
    pub key: Option<String>,
}

/// Reads a RESTCONF-style path below the datastore: `licensing/state/state-info/udi`,
/// `cisco-smart-license:licensing/state/state-info/usage=regid.2017-…`. A module prefix is
/// allowed on any segment but must name this module; keys are percent-decoded.
pub fn parse_path(path: &str) -> Result<Vec<Segment>, YangError> {
    let bad = |reason: String| YangError::BadPath { path: path.to_owned(), reason };
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Err(bad("empty path".into()));
    }
    let mut segments = Vec::new();
    for part in trimmed.split('/') {
        let (name, key) = match part.split_once('=') {
            Some((name, key)) => (name, Some(percent_decode(key).map_err(bad)?)),
            None => (part, None),
        };
        let name = match name.split_once(':') {
            Some((module, _)) if module != MODULE => {
                return Err(YangError::UnknownNamespace {
                    name: name.to_owned(),
                    ns: module.to_owned(),
                });
            }
            Some((_, name)) => name,
            None => name,
        };
        if name.is_empty() {
            return Err(bad("empty segment".into()));
        }
        segments.push(Segment { name: name.to_owned(), key });
    }
    check_path(&segments)?;
    Ok(segments)
}

/// The schema node at the end of `path`, checking every name and key against the model.
pub fn schema_at(path: &[Segment]) -> Result<&'static Node, YangError> {
    let Some(first) = path.first() else {
        return Err(YangError::BadPath { path: String::new(), reason: "empty path".into() });
    };
    if first.name != schema::LICENSING.name {
        return Err(YangError::UnknownElement { parent: "/".into(), name: first.name.clone() });
    }
    let mut node: &'static Node = &schema::LICENSING;
    let mut shown = String::from("/licensing");
    if first.key.is_some() {
        return Err(YangError::BadPath { path: shown, reason: "licensing is not a list".into() });
    }
    for segment in &path[1..] {
        node = node.child(&segment.name).ok_or_else(|| YangError::UnknownElement {
            parent: shown.clone(),
            name: segment.name.clone(),
        })?;
        shown.push('/');
        shown.push_str(&segment.name);
        if segment.key.is_some() && !matches!(node.kind, Kind::List { .. }) {
            return Err(YangError::BadPath {
                path: shown,
                reason: format!("{} is not a list: it takes no key", segment.name),
            });
        }
    }
    Ok(node)
}

fn check_path(path: &[Segment]) -> Result<(), YangError> {
    schema_at(path).map(|_| ())
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or_else(|| format!("bad escape in {text:?}"))?;
            let byte = u8::from_str_radix(hex, 16)
                .map_err(|_| format!("bad escape %{hex} in {text:?}"))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("key {text:?} is not UTF-8"))
}

/// Checks `value` against a leaf type; returns it in canonical form.
pub fn check_value(ty: Type, value: &str, path: &str) -> Result<String, YangError> {
    let bad = |reason: String| YangError::InvalidValue {
        path: path.to_owned(),
        value: value.to_owned(),
        reason,
    };
    match ty {
        Type::Str { min, max } => {
            let len = value.chars().count();
            if len < min || len > max {
                return Err(bad(format!("length {len} is outside {min}..{max}")));
            }
            Ok(value.to_owned())
        }
        Type::Bool => match value.trim() {
            "true" => Ok("true".into()),
            "false" => Ok("false".into()),
            _ => Err(bad("expected true or false".into())),
        },
        Type::Uint { min, max, .. } => {
            let n: u64 =
                value.trim().parse().map_err(|_| bad(format!("expected a number {min}..{max}")))?;
            if n < min || n > max {
                return Err(bad(format!("{n} is outside {min}..{max}")));
            }
            Ok(n.to_string())
        }
        Type::Uint64 => value
            .trim()
            .parse::<u64>()
            .map(|n| n.to_string())
            .map_err(|_| bad("expected an unsigned 64-bit number".into())),
        Type::DateTime => {
            chrono::DateTime::parse_from_rfc3339(value.trim()).map_err(|_| {
                bad("expected a date-and-time like 2021-03-01T00:00:00+00:00".into())
            })?;
            Ok(value.trim().to_owned())
        }
        Type::Uri => {
            let value = value.trim();
            let scheme_ok = value.split_once(':').is_some_and(|(scheme, rest)| {
                !scheme.is_empty()
                    && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                    && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                    && !rest.is_empty()
            });
            if !scheme_ok || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(bad(
                    "expected a URI like http://cslu.example.com:8182/cslu/v1/pi".into()
                ));
            }
            Ok(value.to_owned())
        }
        Type::Empty => {
            if value.trim().is_empty() {
                Ok(String::new())
            } else {
                Err(bad("an empty leaf takes no value".into()))
            }
        }
        Type::Enum(names) => {
            let value = value.trim();
            // An XML value may carry the module prefix of an identity-like enum; an enum has none.
            if names.contains(&value) {
                Ok(value.to_owned())
            } else {
                Err(bad(format!("expected one of {}", names.join(", "))))
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
