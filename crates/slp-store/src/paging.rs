//! Paged reads of the lists the API and the command line show: the database does the paging
//! (`LIMIT`/`OFFSET` over an indexed order, with a `COUNT(*)` of the same filter for the total),
//! so a page costs the same however long the list is and nothing reads a whole table to show a
//! slice of it. Both queries run in the caller's transaction, so on SQLite (a read transaction
//! sees one snapshot) the total and the page agree. Each resource module has its own `…_page`
//! reads, over [`page_of`].

use sqlx::FromRow;
use sqlx::any::AnyRow;

use crate::sql::db;
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

/// Reads the rows of one page and the count of the same filter (the resource modules' `…_page`
/// reads).
pub(crate) async fn page_of<T>(
    tx: &mut Tx,
    op: &'static str,
    select: &str,
    count: &str,
    binds: &[Bind<'_>],
    page: Page,
) -> Result<Paged<T>>
where
    T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    let n = binds.len();
    let select = format!("{select} LIMIT ${} OFFSET ${}", n + 1, n + 2);
    let mut query = sqlx::query_as(&select);
    for bind in binds {
        query = match *bind {
            Bind::Int(v) => query.bind(v),
            Bind::Text(v) => query.bind(v.to_owned()),
        };
    }
    let items: Vec<T> =
        query.bind(page.limit).bind(page.offset).fetch_all(&mut *tx.tx).await.map_err(db(op))?;
    // A page that starts at the first row and is not full holds the whole list.
    let total = if page.offset == 0 && (items.len() as i64) < page.limit {
        items.len() as i64
    } else {
        let mut query = sqlx::query_scalar(count);
        for bind in binds {
            query = match *bind {
                Bind::Int(v) => query.bind(v),
                Bind::Text(v) => query.bind(v.to_owned()),
            };
        }
        query.fetch_one(&mut *tx.tx).await.map_err(db(op))?
    };
    Ok(Paged { items, total })
}

/// A value bound to a page's statements.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bind<'a> {
    Int(i64),
    Text(&'a str),
}
