//! End-to-end tests that run the real `slp` binary in temporary directories on a virtual clock.
//!
//! - `device_cli`: the IOS-style CLI of one device: modes, errors, HA, boot levels, paths.
//! - `airgapped`: the "No Connectivity to CSSM and No CSLU" topology between device and authority.
//! - `device_guide`: the guide's SLAC commands against a served authority: replace refused in
//!   use, returns after a switchover delivered once, the authority's count always the device's.
//! - `device_service`: `slp device run`: the management API and `exec` against a running device.
//! - `direct`: smart transport to the authority, ID-token trust.
//! - `genie`: show-command output fed to the public Genie IOS-XE parsers; parsed key paths
//!   equal those of real captures (version, history, summary, status, usage, rum id all).
//! - `genie_callhome`: `show call-home profile all` and `show call-home smart-licensing` through
//!   Genie, key paths as in real captures.
//! - `relay`: `slp relay` (CSLU): pull, push to a disconnected relay, push through a connected relay.
//! - `lab`: `slp lab`: every topology in one process, stop and resume.
//! - `migration`: a Smart Licensing switch upgraded to Smart Licensing Using Policy: its
//!   registration's ID token becomes trust, its usage reaches the authority; then a downgrade;
//!   an SLR pair keeps its codes and reports by file; a running switch converts at its first
//!   scheduled contact.
//! - `bench`: `slp bench ingest` runs and prints its figures.
//! - `callhome_proxy`: Call Home's own `http-proxy` carries the callhome transport's messages.
//! - `comm_stats`: tech support's `Communication Statistics` count the exchanges really made.
//! - `cisco_slac`: Cisco's SLAC files and reservation flow as public scripts drive them.
//! - `tls`: HTTPS on every server and client: plain HTTP refused off loopback, the connected
//!   relay topology and a device service over TLS on certificates made in the test.
//! - `authority_ops`: moves between smart accounts, the Who column, alerts, scheduled jobs.
//! - `show_fidelity`: show output laid out as a real 17.9 Catalyst 9300 prints it, pipes.
//! - `sanity`: absurd input refused: report times, the skew option, long text in tables.
//! - `ops`: failed logins limited and logged, `/metrics`, `/healthz`, `/readyz` of served roles.
//! - `paging`: long lists page, locally and over the API (`--limit/--offset`).
//! - `ncclient`: NETCONF driven by ncclient (iosxe handler): get with a subtree filter, get-config,
//!   edit-config of the CSLU URL, a refused edit, a model RPC, close-session.
//! - `users`: `slp authority user add|list|remove`, passwords from a file.
//! - `families`: PID families end to end: a mixed stack counted per family at the authority,
//!   whose In Use equals what the devices show.
//! - `restconf`: RESTCONF and `/smartlic-service/*` on the device's HTTPS server, driven with
//!   Python `requests` over HTTPS on the device's own certificate.
//! - `openapi_conformance`: schemathesis against the served `/openapi.json`.

// Test code: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod airgapped;
mod authority_ops;
mod bench;
mod callhome_proxy;
mod cisco_slac;
mod comm_stats;
mod device_cli;
mod device_guide;
mod device_service;
mod direct;
mod families;
mod genie;
mod genie_callhome;
mod genie_tech;
mod lab;
mod mgmt_ssh;
mod migration;
mod ncclient;
mod openapi_conformance;
mod ops;
mod paging;
mod relay;
mod restconf;
mod sanity;
mod show_fidelity;
mod tls;
mod users;
mod util;
