//! What the authority tells `/readyz` and `/metrics` (`slp_http::ops::Probe`).

use std::sync::Arc;

use slp_http::ops::{BoxFuture, Probe, Sample};

use crate::{Authority, KEY_SETTING, Result};

impl Authority {
    /// Whether the database answers: reads the signing key's setting in a read transaction.
    pub async fn ready(&self) -> Result<()> {
        let mut tx = self.store.read().await?;
        tx.setting(KEY_SETTING).await?;
        tx.rollback().await?;
        Ok(())
    }
}

/// The authority's readiness (its database answers) and metrics: the group commit of
/// `reportusage` ([`Authority::ingest_lane`]: reports accepted and duplicate, groups, requests)
/// and its queue depth ([`Authority::usage_requests_pending`]).
pub(super) struct AuthorityProbe(pub(super) Arc<Authority>);

impl Probe for AuthorityProbe {
    fn ready(&self) -> BoxFuture<'_, std::result::Result<(), String>> {
        Box::pin(async move {
            self.0.ready().await.map_err(|err| {
                tracing::warn!(error = %err, "readiness: the authority database does not answer");
                "the database does not answer".to_owned()
            })
        })
    }

    fn samples(&self) -> BoxFuture<'_, Vec<Sample>> {
        let lane = self.0.ingest_lane();
        let pending = self.0.usage_requests_pending();
        let reports = "Reports of reportusage requests committed, by ACK status";
        Box::pin(std::future::ready(vec![
            Sample::counter("slp_authority_reportusage_reports", reports, lane.accepted as f64)
                .label("status", "accepted"),
            Sample::counter("slp_authority_reportusage_reports", reports, lane.duplicate as f64)
                .label("status", "duplicate"),
            Sample::counter(
                "slp_authority_reportusage_requests",
                "reportusage requests committed",
                lane.requests as f64,
            ),
            Sample::counter(
                "slp_authority_reportusage_groups",
                "Group commits of reportusage requests (one transaction each)",
                lane.groups as f64,
            ),
            Sample::gauge(
                "slp_authority_usage_queue_depth",
                "reportusage requests verified and waiting for (or in) the group commit",
                pending as f64,
            ),
        ]))
    }
}
