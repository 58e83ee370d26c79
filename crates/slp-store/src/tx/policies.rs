//! Custom reporting policies of smart and virtual accounts.

use crate::records::*;
use crate::sql::db;
use crate::{Result, Tx};

/// The columns of `policies` and `account_policies` after their key (explicit: sqlx's SQLite
/// driver caches `SELECT *` column lists across migrations).
const POLICY_COLUMNS: &str = "name, ack_required, perpetual_first, perpetual_ongoing, perpetual_on_change, \
     subscription_first, subscription_ongoing, subscription_on_change, enforced_first, enforced_ongoing, \
     enforced_on_change, export_first, export_ongoing, export_on_change, updated_at";

/// A stored policy row, as its columns are.
#[derive(sqlx::FromRow)]
struct PolicyRow {
    name: String,
    ack_required: i64,
    perpetual_first: i64,
    perpetual_ongoing: i64,
    perpetual_on_change: i64,
    subscription_first: i64,
    subscription_ongoing: i64,
    subscription_on_change: i64,
    enforced_first: i64,
    enforced_ongoing: i64,
    enforced_on_change: i64,
    export_first: i64,
    export_ongoing: i64,
    export_on_change: i64,
    updated_at: i64,
}

/// A smart account's policy row with its key (read for a virtual account that inherits it).
#[derive(sqlx::FromRow)]
struct AccountPolicyRow {
    account_id: i64,
    #[sqlx(flatten)]
    policy: PolicyRow,
}

impl PolicyRow {
    fn record(self, owner: PolicyOwner) -> PolicyRecord {
        let class = |first, ongoing, on_change| PolicyClassRecord { first, ongoing, on_change };
        PolicyRecord {
            owner,
            name: self.name,
            ack_required: self.ack_required != 0,
            unenforced_perpetual: class(
                self.perpetual_first,
                self.perpetual_ongoing,
                self.perpetual_on_change,
            ),
            unenforced_subscription: class(
                self.subscription_first,
                self.subscription_ongoing,
                self.subscription_on_change,
            ),
            enforced: class(self.enforced_first, self.enforced_ongoing, self.enforced_on_change),
            export: class(self.export_first, self.export_ongoing, self.export_on_change),
            updated_at: self.updated_at,
        }
    }
}

impl Tx {
    /// The custom policy of a smart or virtual account itself (not inherited).
    pub async fn policy(&mut self, owner: PolicyOwner) -> Result<Option<PolicyRecord>> {
        let (table, key, id) = owner.place();
        let row: Option<PolicyRow> =
            sqlx::query_as(&format!("SELECT {POLICY_COLUMNS} FROM {table} WHERE {key} = $1"))
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(db("reading a policy"))?;
        Ok(row.map(|row| row.record(owner)))
    }

    /// The custom policy in force for a virtual account: its own, else its smart account's,
    /// else none (the Cisco default applies).
    pub async fn policy_in_force(&mut self, va_id: i64) -> Result<Option<PolicyRecord>> {
        if let Some(own) = self.policy(PolicyOwner::VirtualAccount(va_id)).await? {
            return Ok(Some(own));
        }
        let row: Option<AccountPolicyRow> = sqlx::query_as(&format!(
            "SELECT p.account_id, {} FROM account_policies p \
             JOIN virtual_accounts v ON v.account_id = p.account_id WHERE v.id = $1",
            POLICY_COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ")
        ))
        .bind(va_id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("reading a smart account's policy"))?;
        Ok(row.map(|row| row.policy.record(PolicyOwner::SmartAccount(row.account_id))))
    }

    /// Creates or replaces a smart or virtual account's custom policy.
    pub async fn set_policy(&mut self, record: &PolicyRecord) -> Result<()> {
        let c = [
            record.unenforced_perpetual,
            record.unenforced_subscription,
            record.enforced,
            record.export,
        ];
        let (table, key, id) = record.owner.place();
        let updates: Vec<String> =
            POLICY_COLUMNS.split(", ").map(|c| format!("{c} = excluded.{c}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({key}, {POLICY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT ({key}) DO UPDATE SET {}",
            updates.join(", ")
        );
        let mut query =
            sqlx::query(&sql).bind(id).bind(&record.name).bind(i64::from(record.ack_required));
        for class in c {
            query = query.bind(class.first).bind(class.ongoing).bind(class.on_change);
        }
        query
            .bind(record.updated_at)
            .execute(&mut *self.tx)
            .await
            .map_err(db("storing a policy"))?;
        Ok(())
    }

    /// Removes a smart or virtual account's custom policy; true when there was one.
    pub async fn clear_policy(&mut self, owner: PolicyOwner) -> Result<bool> {
        let (table, key, id) = owner.place();
        let done = sqlx::query(&format!("DELETE FROM {table} WHERE {key} = $1"))
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("removing a policy"))?;
        Ok(done.rows_affected() > 0)
    }
}
