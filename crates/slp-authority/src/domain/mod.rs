//! The authority's domain: accounts and virtual accounts (with pools and licenses, on
//! [`crate::Authority`] itself), ingest ([`upload`], [`group`]), the Cisco-shaped report side
//! and polls ([`cssm`]), account management ([`manage`]), transfers, moves, product instances,
//! alerts, bindings, ID tokens and device messages ([`direct`]), API clients and users, and who
//! a change is logged under ([`actor`]). Nothing here knows HTTP or roles: [`crate::http`]
//! authorizes a request and resolves its [`clients::Scope`] before calling in.

pub mod actor;
pub(crate) mod alerts;
pub(crate) mod binding;
pub mod clients;
pub mod cssm;
pub(crate) mod devices;
pub mod direct;
pub(crate) mod group;
pub(crate) mod manage;
pub(crate) mod moves;
pub(crate) mod transfer;
pub(crate) mod upload;
pub mod users;
