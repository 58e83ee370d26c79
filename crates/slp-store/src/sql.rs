//! SQL helpers every resource module shares: error mapping and parameter marks.

use crate::{Backend, StoreError};

/// Maps a database error to [`StoreError::Database`] naming the operation.
pub(crate) fn db(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Database { op, source }
}

/// Maps a unique-constraint violation to [`StoreError::Duplicate`], other errors as [`db`].
pub(crate) fn unique(
    op: &'static str,
    what: &'static str,
    value: &str,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    let value = value.to_owned();
    move |source| {
        let duplicate = source.as_database_error().is_some_and(|err| err.is_unique_violation());
        if duplicate {
            StoreError::Duplicate { what, value }
        } else {
            StoreError::Database { op, source }
        }
    }
}

/// `count` parameter marks numbered from `first`: `$first, …` on PostgreSQL, `?, …` on SQLite.
/// SQLite is given anonymous marks in long statements because sqlx binds each numbered one by
/// asking SQLite its name, which SQLite finds by a walk over every numbered parameter: binding
/// thousands of them took a quadratic time. A statement must use one kind throughout, each mark
/// once and in binding order.
pub(crate) fn marks(backend: Backend, first: usize, count: usize) -> Vec<String> {
    match backend {
        Backend::Sqlite => vec!["?".to_owned(); count],
        Backend::Postgres => (first..first + count).map(|i| format!("${i}")).collect(),
    }
}

/// `WHERE`-ready `first_mark IN (rest…)` halves: the mark of one leading value and the list of
/// `count` marks after it (see [`marks`]).
pub(crate) fn lead_and_list(backend: Backend, count: usize) -> (String, String) {
    let all = marks(backend, 1, count + 1);
    (all[0].clone(), all[1..].join(", "))
}

/// `($1, $2, …), ($k+1, …), …`: the VALUES of a multi-row insert of `rows` rows (see [`marks`]).
pub(crate) fn placeholders(backend: Backend, rows: usize, columns: usize) -> String {
    use std::fmt::Write as _;
    // Written straight into one string: a multi-row insert has thousands of marks.
    let mut sql = String::with_capacity(rows * (columns * 4 + 4));
    let mut next = 1;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    let _ = write!(sql, "${next}");
                }
            }
            next += 1;
        }
        sql.push(')');
    }
    sql
}
