//! Usage files uploaded to a virtual account and the ACKs they were answered with.

use crate::paging::{Bind, Page, Paged, page_of};
use crate::records::*;
use crate::sql::{db, lead_and_list};
use crate::{Result, StoreError, Tx};

pub(crate) const UPLOAD: &str = "SELECT id, va_id, file_name, sha256, uploaded_at, status, \
     pi_count, report_count, ack FROM uploads";

/// The columns of an upload without its ACK (a list shows no ACK; ACKs are most of the table).
const UPLOAD_ROW: &str = "SELECT id, va_id, file_name, sha256, uploaded_at, status, pi_count, \
     report_count, '' AS ack FROM uploads";

impl Tx {
    pub async fn upload_by_sha(&mut self, va_id: i64, sha256: &str) -> Result<Option<Upload>> {
        sqlx::query_as(&format!("{UPLOAD} WHERE va_id = $1 AND sha256 = $2"))
            .bind(va_id)
            .bind(sha256)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("finding an upload"))
    }

    /// The uploads of a virtual account among `digests` (one statement; absent ones left out).
    pub async fn uploads_by_sha(&mut self, va_id: i64, digests: &[String]) -> Result<Vec<Upload>> {
        let mut out = Vec::new();
        for chunk in digests.chunks(1_000) {
            let (va, list) = lead_and_list(self.backend, chunk.len());
            let sql = format!("{UPLOAD} WHERE va_id = {va} AND sha256 IN ({list})");
            let mut query = sqlx::query_as(&sql).bind(va_id);
            for digest in chunk {
                query = query.bind(digest);
            }
            out.extend(query.fetch_all(&mut *self.tx).await.map_err(db("finding uploads"))?);
        }
        Ok(out)
    }

    pub async fn insert_upload(&mut self, new: &NewUpload) -> Result<Upload> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO uploads (va_id, file_name, sha256, uploaded_at, status, pi_count, report_count, ack) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (va_id, sha256) DO NOTHING RETURNING id",
        )
        .bind(new.va_id)
        .bind(&new.file_name)
        .bind(&new.sha256)
        .bind(new.uploaded_at)
        .bind(&new.status)
        .bind(new.pi_count)
        .bind(new.report_count)
        .bind(&new.ack)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("recording an upload"))?
        .ok_or_else(|| StoreError::Duplicate { what: "upload", value: new.file_name.clone() })?;
        Ok(Upload {
            id,
            va_id: new.va_id,
            file_name: new.file_name.clone(),
            sha256: new.sha256.clone(),
            uploaded_at: new.uploaded_at,
            status: new.status.clone(),
            pi_count: new.pi_count,
            report_count: new.report_count,
            ack: new.ack.clone(),
        })
    }

    pub async fn uploads(&mut self, va_id: i64) -> Result<Vec<Upload>> {
        sqlx::query_as(&format!("{UPLOAD} WHERE va_id = $1 ORDER BY id"))
            .bind(va_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing uploads"))
    }

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
        )
        .await
    }
}
