//! Scheduled jobs, run once per period across every replica on one database.
//!
//! Each run of a job is claimed with one compare-and-set on its `job_runs` row
//! ([`slp_store::Tx::claim_job`]) in the same transaction as the job's work: among replicas
//! that wake up together, exactly one claim succeeds (PostgreSQL's row lock and SQLite's
//! single writer serialise them; the losers see the moved `next_at`), and if the work fails
//! the claim rolls back with it, so the next wake-up retries. No advisory lock outlives a
//! transaction, and a replica that dies mid-job leaves nothing held.
//!
//! | job | every | does |
//! |---|---|---|
//! | `license-expiry` | day | logs each pool entry that expired since the last run |
//! | `alert-digest` | day | logs each virtual account's alerts (insufficient, expiring, late instances) |
//! | `token-purge` | hour | deletes expired API access tokens |

use serde::Serialize;

use crate::{Authority, Result, actor, date_ts};

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// The jobs and their periods (seconds).
pub const JOBS: [(&str, i64); 3] =
    [("license-expiry", DAY), ("alert-digest", DAY), ("token-purge", HOUR)];

/// One job run this replica made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobRun {
    pub job: String,
    pub runner: String,
    /// What it did (`3 event(s) logged`, `12 token(s) purged`).
    pub summary: String,
}

impl Authority {
    /// Runs every job that is due and not claimed by another replica; `runner` names this
    /// replica in `job_runs` and in the log. Returns the runs this call made.
    pub async fn run_due_jobs(&self, runner: &str) -> Result<Vec<JobRun>> {
        actor::acting_as("system".to_owned(), async {
            let mut out = Vec::new();
            for (job, period) in JOBS {
                let now = self.now().timestamp();
                let mut tx = self.store.begin().await?;
                let previous = tx.job_run(job).await?.and_then(|(_, last, _)| last);
                if !tx.claim_job(job, now, now + period, runner).await? {
                    tx.rollback().await?;
                    continue;
                }
                let summary = match job {
                    "license-expiry" => {
                        let mut logged = 0;
                        for account in tx.accounts().await? {
                            for va in tx.vas(account.id).await? {
                                for entry in tx.licenses(va.id).await? {
                                    let Some(expires) = entry.expires_at else { continue };
                                    if expires > now || previous.is_some_and(|p| expires <= p) {
                                        continue;
                                    }
                                    let message = format!(
                                        "{} {} license(s) ({}) expired on {}",
                                        entry.quantity,
                                        entry.feature,
                                        entry.sku,
                                        date_ts(expires)
                                    );
                                    tx.log(self.event(&account, Some(&va), message)).await?;
                                    logged += 1;
                                }
                            }
                        }
                        format!("{logged} expiry event(s) logged")
                    }
                    "alert-digest" => {
                        let mut logged = 0;
                        for account in tx.accounts().await? {
                            for va in tx.vas(account.id).await? {
                                let alerts = self.alerts(&account.domain, Some(&va.name)).await?;
                                if alerts.is_empty() {
                                    continue;
                                }
                                let major = alerts.iter().filter(|a| a.severity == "Major").count();
                                let message = format!(
                                    "alerts: {major} major, {} minor: {}",
                                    alerts.len() - major,
                                    alerts
                                        .iter()
                                        .map(|a| a.kind.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                );
                                tx.log(self.event(&account, Some(&va), message)).await?;
                                logged += 1;
                            }
                        }
                        format!("{logged} alert digest(s) logged")
                    }
                    _ => format!("{} access token(s) purged", tx.purge_api_tokens(now).await?),
                };
                tx.commit().await?;
                tracing::info!(job, runner, summary = %summary, "scheduled job ran");
                out.push(JobRun { job: job.to_owned(), runner: runner.to_owned(), summary });
            }
            Ok(out)
        })
        .await
    }
}
