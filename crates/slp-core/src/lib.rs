//! slp's pure domain: no IO, no async, no clock reads (time is passed in).
//!
//! - [`udi`]: product-instance identities and HA roles.
//! - [`license`]: enforcement types, terms and the catalog of known licenses.
//! - [`policy`]: reporting policies, the Cisco default, and which class a license falls in.
//! - [`deadline`]: the arithmetic of `Next ACK deadline`, `Next report push` and the push interval.
//! - [`ledger`]: the RUM report ledger of one product instance (open, closed, pending, acknowledged).
//! - [`ack`]: installing a RUM ACK: times from the ACK, a replayed or stale ACK moves nothing.
//! - [`text`]: hex, hex SHA-256 and RFC 3339 forms, written once for every crate.
//!
//! Types here derive `serde` only because the device keeps them in its local state file; that
//! file is not a wire format. Everything that crosses a process boundary lives in `slp-wire`.

pub mod ack;
pub mod deadline;
pub mod ledger;
pub mod license;
pub mod policy;
pub mod text;
pub mod udi;

/// Seconds since the Unix epoch, UTC; the unit of every timestamp in the domain.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
