//! The authority's tests, one binary: the domain (`authority`, `authz`, `scope`, `sanity`,
//! `paging`, `ops`), the HTTP API (`api`, with the `/openapi.json` snapshot) and Cisco's API
//! as public scripts call it (`cisco_*`); `support` is the shared fixture.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

mod api;
mod authority;
mod authz;
mod cisco_identity;
mod cisco_manage;
mod cisco_report;
mod cisco_slac;
mod ops;
mod paging;
mod sanity;
mod scope;
mod support;
