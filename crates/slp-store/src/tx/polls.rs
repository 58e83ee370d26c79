//! Stored answers to `reportusage` and `authrequest` requests, by poll id.

use crate::records::*;
use crate::sql::db;
use crate::{Result, Tx};

impl Tx {
    pub async fn poll(&mut self, poll_id: i64) -> Result<Option<PollRecord>> {
        sqlx::query_as(
            "SELECT poll_id, va_id, action, correlation_id, result, created_at FROM polls WHERE poll_id = $1",
        )
        .bind(poll_id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("finding a poll"))
    }

    /// Records a poll result unless one with the same id exists; returns the stored record
    /// (the earlier one when a concurrent or replayed request got there first).
    pub async fn insert_poll(&mut self, record: &PollRecord) -> Result<PollRecord> {
        sqlx::query(
            "INSERT INTO polls (poll_id, va_id, action, correlation_id, result, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (poll_id) DO NOTHING",
        )
        .bind(record.poll_id)
        .bind(record.va_id)
        .bind(&record.action)
        .bind(&record.correlation_id)
        .bind(&record.result)
        .bind(record.created_at)
        .execute(&mut *self.tx)
        .await
        .map_err(db("recording a poll result"))?;
        Ok(self.poll(record.poll_id).await?.unwrap_or_else(|| record.clone()))
    }
}
