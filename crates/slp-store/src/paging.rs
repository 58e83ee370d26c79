//! Paged reads of the lists the API and the command line show: the database does the paging
//! (`LIMIT`/`OFFSET` over an indexed order, with a `COUNT(*)` of the same filter for the total),
//! so a page costs the same however long the list is and nothing reads a whole table to show a
//! slice of it. Both queries run in the caller's transaction, so on SQLite (a read transaction
//! sees one snapshot) the total and the page agree.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::records::*;
use crate::tx::{self, db};
use crate::{Result, Tx};

/// One page of a list: at most `limit` rows after skipping `offset`. The store takes any
/// non-negative numbers; the authority decides the default and the largest page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    /// Rows `offset .. offset + limit`.
    pub fn new(limit: i64, offset: i64) -> Page {
        Page { limit: limit.max(0), offset: offset.max(0) }
    }
}

/// A page of rows and how many rows the whole list has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
}

impl<T> Paged<T> {
    /// The same page with each row changed by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged { items: self.items.into_iter().map(f).collect(), total: self.total }
    }
}

/// Which events to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFilter<'a> {
    pub account_id: i64,
    pub va_id: Option<i64>,
    pub udi: Option<&'a str>,
}

/// Reads the rows of one page and the count of the same filter.
async fn page_of<T>(
    tx: &mut Tx,
    op: &'static str,
    select: &str,
    count: &str,
    binds: &[Bind<'_>],
    page: Page,
    map: fn(&AnyRow) -> sqlx::Result<T>,
) -> Result<Paged<T>> {
    let n = binds.len();
    let select = format!("{select} LIMIT ${} OFFSET ${}", n + 1, n + 2);
    let mut query = sqlx::query(&select);
    for bind in binds {
        query = bind.apply(query);
    }
    let rows =
        query.bind(page.limit).bind(page.offset).fetch_all(&mut *tx.tx).await.map_err(db(op))?;
    let items = rows.iter().map(map).collect::<sqlx::Result<Vec<T>>>().map_err(db(op))?;
    // A page that starts at the first row and is not full holds the whole list.
    let total = if page.offset == 0 && (items.len() as i64) < page.limit {
        items.len() as i64
    } else {
        let mut query = sqlx::query(count);
        for bind in binds {
            query = bind.apply(query);
        }
        let row = query.fetch_one(&mut *tx.tx).await.map_err(db(op))?;
        row.try_get::<i64, _>(0).map_err(db(op))?
    };
    Ok(Paged { items, total })
}

#[derive(Debug, Clone, Copy)]
enum Bind<'a> {
    Int(i64),
    Text(&'a str),
}

impl Bind<'_> {
    fn apply<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        match *self {
            Bind::Int(v) => query.bind(v),
            Bind::Text(v) => query.bind(v.to_owned()),
        }
    }
}

/// The columns of an upload without its ACK (a list shows no ACK; ACKs are most of the table).
const UPLOAD_ROW: &str = "SELECT id, va_id, file_name, sha256, uploaded_at, status, pi_count, report_count, '' AS ack FROM uploads";
const EVENT: &str = "SELECT id, at, account_id, va_id, udi, message, actor FROM events";
const MOVE: &str = "SELECT id, account_id, va_id, target_account, target_va, feature, entitlement_tag, quantity, reason, requested_by, requested_at, status, decided_by, decided_at, decision_note FROM move_requests";

impl Tx {
    /// A page of the usage files of a virtual account, oldest first (their `ack` left empty:
    /// [`Tx::upload_by_sha`] reads one).
    pub async fn uploads_page(&mut self, va_id: i64, page: Page) -> Result<Paged<Upload>> {
        page_of(
            self,
            "listing uploads",
            &format!("{UPLOAD_ROW} WHERE va_id = $1 ORDER BY id"),
            "SELECT COUNT(*) FROM uploads WHERE va_id = $1",
            &[Bind::Int(va_id)],
            page,
            tx::upload,
        )
        .await
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
            tx::event,
        )
        .await
    }

    /// A page of the product instances of a virtual account, by UDI.
    pub async fn pis_page(&mut self, va_id: i64, page: Page) -> Result<Paged<ProductInstance>> {
        page_of(
            self,
            "listing product instances",
            &format!("{} WHERE va_id = $1 ORDER BY udi", tx::PI),
            "SELECT COUNT(*) FROM product_instances WHERE va_id = $1",
            &[Bind::Int(va_id)],
            page,
            tx::pi,
        )
        .await
    }

    /// The usage of the product instances with the given ids (a page of [`Tx::pis_page`]).
    pub async fn usage_of_pis(&mut self, pi_ids: &[i64]) -> Result<Vec<Usage>> {
        let mut out = Vec::new();
        // One statement per bounded chunk: a page is at most a few thousand instances.
        for chunk in pi_ids.chunks(500) {
            let marks = tx::marks(self.backend, 1, chunk.len()).join(", ");
            let sql = format!(
                "SELECT u.pi_id, p.udi, u.entitlement_tag, u.feature, u.count, u.as_of, u.report_id \
                 FROM usage u JOIN product_instances p ON p.id = u.pi_id WHERE u.pi_id IN ({marks}) \
                 ORDER BY p.udi, u.feature"
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            let rows = query.fetch_all(&mut *self.tx).await.map_err(db("reading usage"))?;
            for row in &rows {
                out.push(tx::usage(row).map_err(db("reading usage"))?);
            }
        }
        Ok(out)
    }

    /// The open (not returned) authorization codes held by the given UDIs of a virtual account.
    pub async fn open_authorizations_of_udis(
        &mut self,
        va_id: i64,
        udis: &[String],
    ) -> Result<Vec<Authorization>> {
        let mut out = Vec::new();
        for chunk in udis.chunks(500) {
            let marks = tx::marks(self.backend, 2, chunk.len()).join(", ");
            let first = match self.backend {
                crate::Backend::Sqlite => "?",
                crate::Backend::Postgres => "$1",
            };
            let sql = format!(
                "{} WHERE va_id = {first} AND returned_at IS NULL AND udi IN ({marks}) ORDER BY id",
                tx::AUTHORIZATION
            );
            let mut query = sqlx::query(&sql).bind(va_id);
            for udi in chunk {
                query = query.bind(udi.clone());
            }
            let rows =
                query.fetch_all(&mut *self.tx).await.map_err(db("listing authorization codes"))?;
            for row in &rows {
                out.push(tx::authorization(row).map_err(db("listing authorization codes"))?);
            }
        }
        Ok(out)
    }

    /// A page of the ID tokens of a virtual account, oldest first.
    pub async fn tokens_page(&mut self, va_id: i64, page: Page) -> Result<Paged<IdToken>> {
        page_of(
            self,
            "listing ID tokens",
            &format!("{} WHERE va_id = $1 ORDER BY id", tx::TOKEN),
            "SELECT COUNT(*) FROM id_tokens WHERE va_id = $1",
            &[Bind::Int(va_id)],
            page,
            tx::id_token,
        )
        .await
    }

    /// A page of the virtual accounts of a smart account, by name.
    pub async fn vas_page(&mut self, account_id: i64, page: Page) -> Result<Paged<VirtualAccount>> {
        page_of(
            self,
            "listing virtual accounts",
            &format!("{} WHERE account_id = $1 ORDER BY name", tx::VA),
            "SELECT COUNT(*) FROM virtual_accounts WHERE account_id = $1",
            &[Bind::Int(account_id)],
            page,
            tx::va,
        )
        .await
    }

    /// The id of a smart account's first virtual account (its default), if it has any.
    pub async fn first_va_id(&mut self, account_id: i64) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT MIN(id) FROM virtual_accounts WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db("listing virtual accounts"))?;
        row.try_get::<Option<i64>, _>(0).map_err(db("listing virtual accounts"))
    }

    /// A page of move requests, newest first: of one smart account or all, optionally only
    /// the pending ones.
    pub async fn move_requests_page(
        &mut self,
        account_id: Option<i64>,
        pending_only: bool,
        page: Page,
    ) -> Result<Paged<MoveRequest>> {
        let mut clauses = Vec::new();
        let mut binds = Vec::new();
        if let Some(id) = account_id {
            binds.push(Bind::Int(id));
            clauses.push(format!("account_id = ${}", binds.len()));
        }
        if pending_only {
            clauses.push("status = 'PENDING'".to_owned());
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        page_of(
            self,
            "reading move requests",
            &format!("{MOVE}{filter} ORDER BY id DESC"),
            &format!("SELECT COUNT(*) FROM move_requests{filter}"),
            &binds,
            page,
            tx::move_request,
        )
        .await
    }
}
