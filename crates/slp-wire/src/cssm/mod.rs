//! Cisco's Smart Software Manager API as it is on the wire: every request and reply body of the
//! CSSM REST API (PROTOCOL.md §7) and of the OAuth2 token endpoint, written once. The authority's
//! handlers, the relay's upstream client, `slp bench` and the remote CLI all read and write these
//! types, so a change to the contract is a compile error on both sides.
//!
//! Reading is tolerant the way Cisco's gateway is ([`tolerant`]): `null` for any optional member,
//! counts and ids sent as strings, members real clients leave out.
//!
//! - [`report`]: Smart Licensing Using Policy endpoints — `reportusage`, `authrequest`, `poll`.
//! - [`manage`]: accounts, virtual accounts, licenses, product instances, tokens, transfers.
//! - [`oauth`]: the token endpoint's parameters and reply.
//! - [`limits`]: the bounds on what the API reads, shared by the handlers and `/openapi.json`.

pub mod limits;
pub mod manage;
pub mod oauth;
pub mod report;
pub use crate::tolerant;

/// The path prefix of Cisco's Smart Software Manager API.
pub const BASE: &str = "/services/api/smart-accounts-and-licensing";
