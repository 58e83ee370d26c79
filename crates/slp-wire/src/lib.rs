//! Every format that crosses a process boundary (see PROTOCOL.md "Decisions").
//!
//! - [`keys`]: Ed25519 key pairs, key ids, signing and verification.
//! - [`rum`]: one RUM report — Cisco's version 2.0 payload carried as a string, signed as bytes.
//! - [`xml`]: `<smartLicense>` documents: saved usage, SLAC requests and returns, ACKs, policies,
//!   trust and authorization codes.
//! - [`online`]: the push protocol of device-initiated messages (relay and smart transport).
//! - [`bundle`]: the offline upload and ACK bundles (tar.gz with a manifest), read safely.
//! - [`slac_csv`]: the SLAC request and code CSV files between a relay and the authority.
//! - [`docs`]: the typed JSON carried in each signed `<data>` element.
//! - [`cssm`]: Cisco's Smart Software Manager REST API and its token endpoint, request and reply
//!   bodies (the one contract of the authority, the relay, the bench and the remote CLI).
//!
//! This crate is an API boundary: its types are plain data and a change to them is a change to
//! the wire format. Unknown JSON members are ignored so that formats can grow.

pub mod bundle;
pub mod cssm;
pub mod docs;
pub mod keys;
pub mod online;
pub mod rum;
pub mod slac_csv;
pub mod tolerant;
pub mod xml;

/// Why a document could not be read or trusted. Every variant names what was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The XML is not well formed or not a `<smartLicense>` document.
    #[error("malformed XML: {reason}")]
    Xml { reason: String },
    /// A JSON member is missing or has the wrong type.
    #[error("malformed {what}: {reason}")]
    Json { what: String, reason: String },
    /// A signature does not match the signed bytes.
    #[error("signature check failed for {what}")]
    Signature { what: String },
    /// A key could not be read.
    #[error("invalid key for {what}: {reason}")]
    Key { what: String, reason: String },
    /// A required element is absent.
    #[error("{what} is missing")]
    Missing { what: String },
}

pub type Result<T, E = WireError> = std::result::Result<T, E>;
