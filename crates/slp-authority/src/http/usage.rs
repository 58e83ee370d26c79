//! Usage data files over the API (slp's addition, the CSSM web UI's "Usage Data Files" tab):
//!
//! - `POST …/virtual-accounts/{va}/usage-files?name=FILE` with the file as the body: a device's
//!   saved usage, SLAC request or return, or a relay's bundle (told apart by content). Replies
//!   with what was processed and the ACK (`ack` text, or `ackBundle` base64 for a bundle).
//! - `GET …/virtual-accounts/{va}/usage-files[?limit=N&offset=M]`: the status table, a page at
//!   a time ([`crate::paging`]), with `totalRecords`.
//! - `GET …/virtual-accounts/{va}/usage-files/{sha256}/ack`: the ACK document again.
//!
//! Bodies over [`super::MAX_BODY_BYTES`] get 413.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use base64::Engine;
use slp_wire::cssm::manage::{FileResult, SUCCESS, UploadQuery, Uploaded, UsageFiles};

use super::paging::Paging;
use super::{ApiError, VaScope};
use crate::{Authority, UploadOutcome};

fn file_result(file_name: String, o: &UploadOutcome) -> FileResult {
    let n = |count: usize| u64::try_from(count).unwrap_or(u64::MAX);
    FileResult {
        file_name,
        replayed: o.replayed,
        product_instances: n(o.product_instances),
        accepted: n(o.accepted),
        duplicate: n(o.duplicate),
        trust_codes: n(o.trust_codes),
        authorizations: n(o.authorizations),
        returns: n(o.returns),
    }
}

pub(super) async fn upload(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
    Query(query): Query<UploadQuery>,
    body: Bytes,
) -> Result<Json<Uploaded>, ApiError> {
    if body.is_empty() {
        return Err(ApiError::BadRequest("the request body (the usage file) is empty".into()));
    }
    let name = query.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "upload".into());
    if slp_wire::bundle::is_archive(&body) {
        let outcome = authority.upload_bundle(&account.domain, &va.name, &name, &body).await?;
        let files = outcome.files.iter().map(|(n, o)| file_result(n.clone(), o)).collect();
        let ack_bundle = base64::engine::general_purpose::STANDARD.encode(&outcome.ack);
        return Ok(Json(Uploaded {
            status: SUCCESS.to_owned(),
            files,
            ack: None,
            ack_bundle: Some(ack_bundle),
        }));
    }
    let outcome = authority.upload(&account.domain, &va.name, &name, &body).await?;
    let files = vec![file_result(name, &outcome)];
    Ok(Json(Uploaded {
        status: SUCCESS.to_owned(),
        files,
        ack: Some(outcome.ack),
        ack_bundle: None,
    }))
}

pub(super) async fn list(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
    Paging(page): Paging,
) -> Result<Json<UsageFiles>, ApiError> {
    let files = authority.uploads_page(&account.domain, &va.name, page).await?;
    Ok(Json(UsageFiles {
        status: SUCCESS.to_owned(),
        total_records: files.total,
        usage_files: files.items,
    }))
}

pub(super) async fn ack(
    State(authority): State<Arc<Authority>>,
    VaScope { account, va, .. }: VaScope,
    Path((_, _, sha256)): Path<(String, String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let text =
        authority.upload_ack(&account.domain, &va.name, &sha256).await.map_err(|e| match e {
            crate::AuthorityError::Invalid { field: "usage file", .. } => {
                ApiError::NotFound(e.to_string())
            }
            other => other.into(),
        })?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], text))
}
