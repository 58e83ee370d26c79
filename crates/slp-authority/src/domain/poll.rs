//! Poll results as stored: what `poll` answers for a `reportusage` or `authrequest` once its
//! work is done. Written by the group commit ([`crate::domain::group`]) and the authorization
//! path, read by `poll` ([`crate::domain::cssm`]).

use serde::{Deserialize, Serialize};
use slp_wire::cssm::report::AuthorizationResult;
use slp_wire::rum::Sudi;

/// How a poll result is stored. An acknowledgement of `reportusage` names the upload record
/// (of the poll's virtual account, by digest) that holds its ACK, so that each ACK is stored
/// once; [`Authority::poll`] gives it its `smart_license` when it is read. Results stored by
/// earlier versions hold the `smart_license` itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredPollResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) acknowledgements: Option<Vec<StoredAcknowledgement>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) authorizations: Option<Vec<AuthorizationResult>>,
}

/// An [`Acknowledgement`] as stored: its ACK inline or in an upload record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredAcknowledgement {
    pub(crate) sudi: Sudi,
    pub(crate) software_tag_identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) smart_license: Option<String>,
    /// Hex SHA-256 of the upload whose record holds the ACK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ack_upload: Option<String>,
}
