//! `--limit/--offset` of the list commands: without them a list is read whole, a page of
//! [`MAX_PAGE_SIZE`] rows at a time (so no single read or API request is unbounded); with
//! `--limit` one page is printed and its place in the list is told on stderr.

use std::future::Future;

use clap::Args;

use crate::paging::{self, MAX_PAGE_SIZE};
use crate::{Page, Paged};

#[derive(Debug, Clone, Copy, Args)]
pub(super) struct PageArgs {
    /// Print one page of at most N rows (1 to 1000) instead of the whole list (which is read
    /// a page at a time).
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// With --limit: skip the first M rows of the list.
    #[arg(long, value_name = "M", requires = "limit")]
    offset: Option<u64>,
}

impl PageArgs {
    /// Every page of the list (`fetch` reads one), or the one page `--limit/--offset` name.
    pub(super) async fn collect<T, F, Fut>(self, mut fetch: F) -> anyhow::Result<Vec<T>>
    where
        F: FnMut(Page) -> Fut,
        Fut: Future<Output = anyhow::Result<Paged<T>>>,
    {
        if self.limit.is_some() {
            let page = paging::page(self.limit, self.offset)?;
            let got = fetch(page).await?;
            let first = page.offset + 1;
            let last = page.offset + got.items.len() as i64;
            if got.items.is_empty() {
                eprintln!("no rows at offset {} (the list has {})", page.offset, got.total);
            } else {
                eprintln!("rows {first}-{last} of {}", got.total);
            }
            return Ok(got.items);
        }
        let mut all = Vec::new();
        let mut offset = 0_i64;
        loop {
            let got = fetch(Page::new(MAX_PAGE_SIZE as i64, offset)).await?;
            let n = got.items.len() as i64;
            all.extend(got.items);
            if n < MAX_PAGE_SIZE as i64 {
                return Ok(all);
            }
            offset += n;
        }
    }

    /// For lists computed whole (licenses, alerts, virtual accounts with their counts): the
    /// rows `--limit/--offset` name, or all of them.
    pub(super) async fn pick<T>(self, rows: Vec<T>) -> anyhow::Result<Vec<T>> {
        let rows = std::sync::Mutex::new(Some(rows));
        self.collect(|page| {
            let rows = rows.lock().ok().and_then(|mut r| r.take()).unwrap_or_default();
            async move { Ok(paging::slice(rows, page)) }
        })
        .await
    }
}
