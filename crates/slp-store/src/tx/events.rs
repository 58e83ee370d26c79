//! The activity log.

use crate::paging::{Bind, EventFilter, Page, Paged, page_of};
use crate::records::*;
use crate::sql::db;
use crate::{Result, Tx};

const EVENT: &str = "SELECT id, at, account_id, va_id, udi, message, actor FROM events";

impl Tx {
    pub async fn log(&mut self, new: NewEvent) -> Result<()> {
        sqlx::query(
            "INSERT INTO events (at, account_id, va_id, udi, message, actor) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new.at)
        .bind(new.account_id)
        .bind(new.va_id)
        .bind(&new.udi)
        .bind(&new.message)
        .bind(&new.actor)
        .execute(&mut *self.tx)
        .await
        .map_err(db("writing the event log"))?;
        Ok(())
    }

    /// Events of an account (and optionally one of its virtual accounts), oldest first.
    pub async fn events(&mut self, account_id: i64, va_id: Option<i64>) -> Result<Vec<Event>> {
        match va_id {
            Some(va_id) => {
                sqlx::query_as(&format!("{EVENT} WHERE account_id = $1 AND va_id = $2 ORDER BY id"))
                    .bind(account_id)
                    .bind(va_id)
                    .fetch_all(&mut *self.tx)
                    .await
            }
            None => {
                sqlx::query_as(&format!("{EVENT} WHERE account_id = $1 ORDER BY id"))
                    .bind(account_id)
                    .fetch_all(&mut *self.tx)
                    .await
            }
        }
        .map_err(db("reading the event log"))
    }

    /// Events about one product instance of a virtual account, oldest first.
    pub async fn events_of_udi(&mut self, va_id: i64, udi: &str) -> Result<Vec<Event>> {
        sqlx::query_as(&format!("{EVENT} WHERE va_id = $1 AND udi = $2 ORDER BY id"))
            .bind(va_id)
            .bind(udi)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("reading the event log"))
    }

    /// A page of the event log, oldest first: of a smart account, or one of its virtual
    /// accounts, or one product instance.
    pub async fn events_page(
        &mut self,
        filter: EventFilter<'_>,
        page: Page,
    ) -> Result<Paged<Event>> {
        let mut clauses = vec!["account_id = $1".to_owned()];
        let mut binds = vec![Bind::Int(filter.account_id)];
        if let Some(va_id) = filter.va_id {
            binds.push(Bind::Int(va_id));
            clauses.push(format!("va_id = ${}", binds.len()));
        }
        if let Some(udi) = filter.udi {
            binds.push(Bind::Text(udi));
            clauses.push(format!("udi = ${}", binds.len()));
        }
        let filter = clauses.join(" AND ");
        page_of(
            self,
            "reading the event log",
            &format!("{EVENT} WHERE {filter} ORDER BY id"),
            &format!("SELECT COUNT(*) FROM events WHERE {filter}"),
            &binds,
            page,
        )
        .await
    }
}
