//! Settings: named values the authority keeps (its signing key, its identity).

use crate::sql::db;
use crate::{Result, Tx};

impl Tx {
    pub async fn setting(&mut self, name: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("reading a setting"))
    }

    /// The setting's value; `value` is stored first if the setting is absent. Replicas racing
    /// on first open all get the one value that won.
    pub async fn setting_or_insert(&mut self, name: &str, value: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&mut *self.tx)
        .await
        .map_err(db("storing a setting"))?;
        Ok(self.setting(name).await?.unwrap_or_else(|| value.to_owned()))
    }
}
