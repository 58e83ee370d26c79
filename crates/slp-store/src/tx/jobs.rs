//! Scheduled jobs: which replica runs each run of a periodic job.

use crate::sql::db;
use crate::{Result, Tx};

impl Tx {
    /// Claims the run of job `name` due at or before `now`, moving its next run to `next_at`.
    /// One compare-and-set on the job's row, so among replicas on one database exactly one
    /// claim of a given run succeeds (the row lock serialises them; the others see the new
    /// `next_at` and get false). A job never seen before is due at once.
    pub async fn claim_job(
        &mut self,
        name: &str,
        now: i64,
        next_at: i64,
        runner: &str,
    ) -> Result<bool> {
        sqlx::query(
            "INSERT INTO job_runs (name, next_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(now)
        .execute(&mut *self.tx)
        .await
        .map_err(db("claiming a scheduled job"))?;
        let done = sqlx::query(
            "UPDATE job_runs SET next_at = $1, last_at = $2, runner = $3 WHERE name = $4 AND next_at <= $2",
        )
        .bind(next_at)
        .bind(now)
        .bind(runner)
        .bind(name)
        .execute(&mut *self.tx)
        .await
        .map_err(db("claiming a scheduled job"))?;
        Ok(done.rows_affected() == 1)
    }

    /// When job `name` last ran and by whom.
    pub async fn job_run(
        &mut self,
        name: &str,
    ) -> Result<Option<(i64, Option<i64>, Option<String>)>> {
        sqlx::query_as("SELECT next_at, last_at, runner FROM job_runs WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("reading a scheduled job"))
    }
}
