//! What the device's management API tells `/readyz` and `/metrics` (`slp_http::ops::Probe`):
//! its state file reads, and its RUM reports by state. Both read `state.json` as saved (every
//! command is saved before it answers), so neither waits for the session.

use slp_core::ledger::ReportState;
use slp_http::ops::{BoxFuture, Probe, Sample};

use crate::state::{DeviceState, StateDir};

pub(super) struct DeviceProbe(pub(super) StateDir);

impl DeviceProbe {
    async fn load(&self) -> Result<DeviceState, String> {
        let dir = self.0.clone();
        match tokio::task::spawn_blocking(move || dir.load()).await {
            Ok(Ok(state)) => Ok(state),
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "readiness: the device state does not read");
                Err("the device state does not read".to_owned())
            }
            Err(err) => Err(format!("reading the device state failed: {err}")),
        }
    }
}

impl Probe for DeviceProbe {
    fn ready(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.load().await.map(drop) })
    }

    fn samples(&self) -> BoxFuture<'_, Vec<Sample>> {
        Box::pin(async move {
            let Ok(state) = self.load().await else { return Vec::new() };
            let states = [
                ReportState::Open,
                ReportState::Closed,
                ReportState::Pending,
                ReportState::Unacknowledged,
                ReportState::Acknowledged,
            ];
            let reports = state.ledger.reports.values();
            let count = |wanted: ReportState| {
                state.ledger.reports.values().filter(|r| r.state == wanted).count() as f64
            };
            let pending = reports
                .filter(|r| !matches!(r.state, ReportState::Open | ReportState::Acknowledged))
                .count();
            let mut samples = vec![Sample::gauge(
                "slp_device_reports_pending",
                "RUM reports closed and not yet acknowledged (waiting to be sent or for their ACK)",
                pending as f64,
            )];
            for wanted in states {
                samples.push(
                    Sample::gauge("slp_device_reports", "RUM reports by state", count(wanted))
                        .label("state", wanted.show_word()),
                );
            }
            samples
        })
    }
}
