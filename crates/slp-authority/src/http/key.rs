//! `GET /v1/authority/key`: the authority's public signing key and its key id, for a relay in
//! connected mode to pin at its first sync (and for anyone to compare with `slp authority key
//! show`). Every ACK, policy, trust code and authorization code verifies against this key.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::ApiError;
use crate::Authority;
use crate::domain::clients::Scope;

/// The reply: `{"status": "SUCCESS", "publicKey": …, "keyId": …}`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct KeyReply {
    status: &'static str,
    public_key: String,
    key_id: String,
}

pub(super) async fn show(
    State(authority): State<Arc<Authority>>,
    _scope: Scope,
) -> Result<Json<KeyReply>, ApiError> {
    let public_key = authority.public_key();
    Ok(Json(KeyReply { status: "SUCCESS", key_id: authority.key_id(), public_key }))
}
