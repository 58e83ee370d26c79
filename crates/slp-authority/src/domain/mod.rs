//! The authority's domain, one module per noun: smart and virtual [`accounts`], license
//! [`pools`] (with their product instances and uploads), [`policies`], the activity log
//! ([`events`]), ingest ([`upload`] with its pure [`upload::check`], and the group commit in
//! [`group`]), the Cisco-shaped report side ([`cssm`]) and its stored [`poll`] results, account
//! management ([`manage`]), transfers, moves, product instances ([`devices`]), alerts, bindings,
//! ID tokens and device messages ([`direct`]) with the key their text is sealed with
//! ([`token_key`]), API [`clients`] and [`users`], who calls
//! ([`principal`]) and who a change is logged under ([`actor`]). Nothing here knows HTTP:
//! [`crate::http`] authorizes a request and resolves its [`principal::Scope`] before calling in.

pub(crate) mod accounts;
pub mod actor;
pub(crate) mod alerts;
pub(crate) mod binding;
pub mod clients;
pub mod cssm;
pub(crate) mod devices;
pub mod direct;
pub(crate) mod events;
pub(crate) mod group;
pub(crate) mod manage;
pub(crate) mod moves;
pub(crate) mod policies;
pub(crate) mod poll;
pub(crate) mod pools;
pub mod principal;
pub mod token_key;
pub(crate) mod transfer;
pub(crate) mod upload;
pub mod users;
