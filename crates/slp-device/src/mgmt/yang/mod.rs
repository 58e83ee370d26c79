//! The `cisco-smart-license` YANG model (namespace [`NAMESPACE`], revision [`REVISION`]): one
//! Rust description of the tree slp implements (written out in docs/yang.md), from which the
//! instance data of a device is built and encoded as XML (NETCONF, RESTCONF `+xml`) and JSON
//! (RFC 7951, RESTCONF `+json`).

/// The module's XML namespace.
pub const NAMESPACE: &str = "http://cisco.com/ns/yang/cisco-smart-license";
/// The module name (the JSON member prefix and RESTCONF path prefix).
pub const MODULE: &str = "cisco-smart-license";
/// The revision slp implements, advertised in NETCONF `<hello>` and RESTCONF's yang-library.
pub const REVISION: &str = "2021-03-01";
