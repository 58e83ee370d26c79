//! Storing what devices send and handing back what the authority answers.
//!
//! - [`Relay::accept`]: a checked device document is stored once: the same bytes, or the same
//!   reports and requests of the same device, give the stored document's poll id again.
//! - [`Relay::poll`]: the answers for the device not yet handed out (or handed out on this very
//!   poll id, so a repeated poll gets the same answer), merged into one document.
//! - [`Relay::store_answers`]: answers from the authority or an imported file, each linked to
//!   the documents it answers; an answer for a device not in the inventory is refused.

use sqlx::SqliteConnection;

use crate::check::{self, Checked, DocKind};
use crate::store::{self, Bind};
use crate::{ConnectMethod, Relay, RelayError, Result, read_prefs};

/// Where a document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Pushed to `/cslu/v1/pi`.
    Push,
    /// Pulled by `collect` from the inventory device with this id.
    Pull { device_id: i64 },
}

/// The outcome of [`Relay::accept`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub udi: String,
    /// `None` when the document carried nothing to forward (system information only).
    pub poll_id: Option<String>,
    /// False when an identical document was already stored.
    pub new: bool,
    pub reports: usize,
    pub kind: DocKind,
}

/// One answer to store, for the device it names.
#[derive(Debug, Clone)]
pub struct NewAnswer {
    pub udi: String,
    pub xml: String,
    /// The documents it answers, when known exactly (upstream); otherwise matched by UDI and
    /// report ids.
    pub documents: Option<Vec<i64>>,
    /// Where it came from (file and member, or poll), for errors.
    pub what: String,
}

fn poll_id_of(sha: &str) -> String {
    // 63 bits of the document's SHA-256, as a decimal string (Cisco poll ids exceed 2^53).
    let mut value: u64 = 0;
    for pair in sha.as_bytes().chunks(2).take(8) {
        let byte = std::str::from_utf8(pair).ok().and_then(|p| u8::from_str_radix(p, 16).ok());
        value = (value << 8) | u64::from(byte.unwrap_or(0));
    }
    (value & (u64::MAX >> 1)).max(1).to_string()
}

/// The active UDI that speaks for `udi` (itself unless it is a known standby or member).
pub(crate) async fn active_of(conn: &mut SqliteConnection, udi: &str) -> Result<String> {
    let row: Option<(String,)> = sqlx::query_as("SELECT active_udi FROM units WHERE unit_udi = ?")
        .bind(udi)
        .fetch_optional(conn)
        .await
        .map_err(RelayError::Database)?;
    Ok(row.map_or_else(|| udi.to_owned(), |r| r.0))
}

impl Relay {
    /// Checks and stores a device document. `claimed` is the UDI of a push message header.
    pub async fn accept(
        &self,
        text: &str,
        claimed: Option<&str>,
        source: Source,
    ) -> Result<Accepted> {
        let checked = check::check(text, claimed)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let prefs = read_prefs(&mut tx).await?;
        let device = match source {
            Source::Pull { device_id } => Some(device_id),
            Source::Push => store::device_by_udi(&mut tx, &checked.udi).await?.map(|d| d.id),
        };
        if prefs.validate_device && source == Source::Push {
            let known = match store::device_by_udi(&mut tx, &checked.udi).await? {
                Some(d) => !d.unknown,
                None => false,
            };
            if !known {
                tracing::warn!(udi = %checked.udi, "push from a device not in the inventory refused");
                return Err(RelayError::UnknownDevice { udi: checked.udi });
            }
        }
        let device_id = match (device, source) {
            (Some(id), Source::Pull { .. }) => {
                learn_udi(&mut tx, id, &checked.udi).await?;
                id
            }
            (Some(id), Source::Push) => id,
            (None, _) => {
                store::insert_device(
                    &mut tx,
                    &store::NewDevice {
                        udi: Some(&checked.udi),
                        hostname: checked.hostname.as_deref(),
                        connect_method: ConnectMethod::Push.as_str(),
                        ..store::NewDevice::default()
                    },
                    now,
                )
                .await?
            }
        };
        bind_key(&mut tx, device_id, &checked).await?;
        store::exec(
            &mut tx,
            "UPDATE devices SET unknown = 0 WHERE id = ?",
            &[Bind::Int(device_id)],
        )
        .await?;
        store::touch_device(&mut tx, device_id, now, checked.hostname.as_deref()).await?;
        for unit in checked.units.iter().skip(1) {
            check_unit(&mut tx, &checked, unit).await?;
            store::exec(
                &mut tx,
                "INSERT INTO units (unit_udi, active_udi) VALUES (?, ?) ON CONFLICT (unit_udi) DO UPDATE SET active_udi = excluded.active_udi",
                &[Bind::Text(unit), Bind::Text(&checked.udi)],
            )
            .await?;
        }
        let reports = checked.report_ids.len();
        if !checked.has_content {
            tx.commit().await.map_err(RelayError::Database)?;
            tracing::info!(udi = %checked.udi, "document with nothing to forward (system information only)");
            return Ok(Accepted {
                udi: checked.udi,
                poll_id: None,
                new: false,
                reports,
                kind: checked.kind,
            });
        }
        let sha = slp_core::text::sha256_hex(text.as_bytes());
        if let Some(poll_id) = existing(&mut tx, &checked, &sha).await? {
            tx.commit().await.map_err(RelayError::Database)?;
            tracing::info!(udi = %checked.udi, poll_id = %poll_id, "document already stored: same poll id");
            return Ok(Accepted {
                udi: checked.udi,
                poll_id: Some(poll_id),
                new: false,
                reports,
                kind: checked.kind,
            });
        }
        let poll_id = poll_id_of(&sha);
        let ids = serde_json::to_string(&checked.report_ids).unwrap_or_else(|_| "[]".into());
        let source_text = match source {
            Source::Push => "push",
            Source::Pull { .. } => "pull",
        };
        store::exec(
            &mut tx,
            "INSERT INTO documents (udi, kind, content_key, sha256, report_ids, hostname, software_tag, xml, source, received_at, poll_id, unverified, device_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                Bind::Text(&checked.udi),
                Bind::Text(checked.kind.as_str()),
                Bind::Text(&checked.content_key),
                Bind::Text(&sha),
                Bind::Text(&ids),
                Bind::OptText(checked.hostname.as_deref()),
                Bind::OptText(checked.software_tag.as_deref()),
                Bind::Text(text),
                Bind::Text(source_text),
                Bind::Int(now),
                Bind::Text(&poll_id),
                Bind::Int(i64::try_from(checked.unverified).unwrap_or(i64::MAX)),
                Bind::OptText(checked.device_key.as_deref()),
            ],
        )
        .await?;
        tx.commit().await.map_err(RelayError::Database)?;
        tracing::info!(
            udi = %checked.udi,
            kind = checked.kind.as_str(),
            reports,
            unverified = checked.unverified,
            poll_id = %poll_id,
            source = source_text,
            "document stored"
        );
        Ok(Accepted {
            udi: checked.udi,
            poll_id: Some(poll_id),
            new: true,
            reports,
            kind: checked.kind,
        })
    }

    /// A device asks for the answer to `poll_id`. `Ok(None)`: not ready yet.
    pub async fn poll(&self, udi: &str, poll_id: &str) -> Result<Option<String>> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let doc = store::document_by_poll(&mut tx, poll_id)
            .await?
            .ok_or_else(|| RelayError::PollNotFound { poll_id: poll_id.to_owned() })?;
        if doc.udi != udi {
            return Err(RelayError::Refused {
                udi: udi.to_owned(),
                reason: format!("poll id {poll_id} belongs to another product instance"),
            });
        }
        if let Some(device) = store::device_by_udi(&mut tx, udi).await? {
            // A document signed by another key than the one the UDI is bound to (or by none)
            // does not collect the bound device's answers.
            if let Some(bound) = store::device_key(&mut tx, device.id).await? {
                let (signed,): (Option<String>,) =
                    sqlx::query_as("SELECT device_key FROM documents WHERE poll_id = ?")
                        .bind(poll_id)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(RelayError::Database)?;
                if signed.as_deref() != Some(bound.as_str()) {
                    tracing::warn!(
                        udi,
                        poll_id,
                        "poll on a document not signed by the bound device key refused"
                    );
                    return Err(RelayError::Refused {
                        udi: udi.to_owned(),
                        reason: format!(
                            "poll id {poll_id} is of a document not signed by the device key {udi} is bound to ({})",
                            crate::key_id_of(&bound)
                        ),
                    });
                }
            }
            store::touch_device(&mut tx, device.id, now, None).await?;
        }
        if let Some(reason) = &doc.rejected
            && doc.answer_id.is_none()
        {
            tx.commit().await.map_err(RelayError::Database)?;
            return Err(RelayError::Refused {
                udi: udi.to_owned(),
                reason: format!("the authority refused the document: {reason}"),
            });
        }
        let answers = store::answers_where(
            &mut tx,
            "udi = ? AND installed_at IS NULL AND (delivered_poll IS NULL OR delivered_poll = ?)",
            &[udi, poll_id],
        )
        .await?;
        if answers.is_empty() {
            tx.commit().await.map_err(RelayError::Database)?;
            tracing::debug!(udi, poll_id, "poll: no answer yet");
            return Ok(None);
        }
        let texts: Vec<String> = answers.iter().map(|a| a.xml.clone()).collect();
        let merged = check::merge_answers(&texts)?;
        for answer in &answers {
            store::exec(
                &mut tx,
                "UPDATE answers SET delivered_poll = ?, delivered_at = ? WHERE id = ? AND delivered_poll IS NULL",
                &[Bind::Text(poll_id), Bind::Int(now), Bind::Int(answer.id)],
            )
            .await?;
        }
        tx.commit().await.map_err(RelayError::Database)?;
        tracing::info!(udi, poll_id, answers = answers.len(), "poll: answer handed to the device");
        Ok(Some(merged))
    }

    /// Stores answers, all or nothing; returns how many were new.
    pub async fn store_answers(&self, answers: &[NewAnswer], source: &str) -> Result<usize> {
        let mut tx = self.store.begin().await?;
        let new = store_answers_in(&mut tx, answers, source, self.now()).await?;
        tx.commit().await.map_err(RelayError::Database)?;
        Ok(new)
    }
}

pub(crate) async fn store_answers_in(
    tx: &mut SqliteConnection,
    answers: &[NewAnswer],
    source: &str,
    now: i64,
) -> Result<usize> {
    let mut new = 0;
    for answer in answers {
        let udi = active_of(tx, &answer.udi).await?;
        // An answer for a device the relay does not know is refused (the caller's transaction
        // then stores nothing): it answers nothing this relay sent.
        if store::device_by_udi(tx, &udi).await?.is_none_or(|d| d.unknown) {
            return Err(RelayError::UnknownAnswerDevice {
                what: answer.what.clone(),
                udi: answer.udi.clone(),
            });
        }
        let (id, inserted) = store::insert_answer(tx, &udi, &answer.xml, source, now).await?;
        if inserted {
            new += 1;
        }
        let targets = match &answer.documents {
            Some(ids) => ids.clone(),
            None => {
                let acked = check::acked_report_ids(&answer.xml);
                let authorization = check::has_authorization(&answer.xml);
                store::documents_where(tx, "udi = ? AND answer_id IS NULL", Some(&udi))
                    .await?
                    .into_iter()
                    .filter(|d| match DocKind::parse(&d.kind) {
                        Some(DocKind::AuthRequest) => authorization,
                        _ => d.report_ids.iter().all(|r| acked.contains(r)),
                    })
                    .map(|d| d.id)
                    .collect()
            }
        };
        for doc in &targets {
            store::exec(
                tx,
                "UPDATE documents SET answer_id = ? WHERE id = ? AND answer_id IS NULL",
                &[Bind::Int(id), Bind::Int(*doc)],
            )
            .await?;
        }
        tracing::info!(udi = %udi, answer = id, new = inserted, documents = targets.len(), source, "answer stored");
    }
    Ok(new)
}

/// Trust on first use of the device key: the first signed document binds the UDI's inventory
/// row to its key; a document signed by another key, or by none, is refused until the operator
/// re-binds (`slp relay pi rebind`). Nothing is stored when refused (the caller's transaction
/// is dropped).
async fn bind_key(conn: &mut SqliteConnection, device_id: i64, checked: &Checked) -> Result<()> {
    let bound = store::device_key(conn, device_id).await?;
    match (bound, &checked.device_key) {
        (Some(bound), Some(key)) if bound != *key => {
            let err = RelayError::KeyMismatch {
                udi: checked.udi.clone(),
                key_id: crate::key_id_of(key),
                bound_id: crate::key_id_of(&bound),
            };
            tracing::warn!(udi = %checked.udi, error = %err, "document signed by another device key refused");
            Err(err)
        }
        (Some(bound), None) => {
            let err = RelayError::Unsigned {
                udi: checked.udi.clone(),
                bound_id: crate::key_id_of(&bound),
            };
            tracing::warn!(udi = %checked.udi, error = %err, "document without the device key refused");
            Err(err)
        }
        (None, Some(key)) => {
            store::set_device_key(conn, device_id, Some(key)).await?;
            tracing::info!(udi = %checked.udi, key_id = %crate::key_id_of(key), "device key bound on first contact");
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A unit of the document's HA set must not be a UDI bound to another key, nor a unit of
/// another active UDI bound to another key: else its answers would go to this document's key.
async fn check_unit(conn: &mut SqliteConnection, checked: &Checked, unit: &str) -> Result<()> {
    let mut owners = vec![unit.to_owned()];
    let active = active_of(conn, unit).await?;
    if active != unit && active != checked.udi {
        owners.push(active);
    }
    for owner in owners {
        let Some(device) = store::device_by_udi(conn, &owner).await? else { continue };
        let Some(bound) = store::device_key(conn, device.id).await? else { continue };
        if checked.device_key.as_deref() != Some(bound.as_str()) {
            let err = RelayError::UnitClaimed {
                udi: checked.udi.clone(),
                unit: unit.to_owned(),
                key_id: checked
                    .device_key
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), crate::key_id_of),
                bound_id: crate::key_id_of(&bound),
                bound_udi: owner,
            };
            tracing::warn!(udi = %checked.udi, unit, error = %err, "document claiming a unit bound to another key refused");
            return Err(err);
        }
    }
    Ok(())
}

async fn existing(
    conn: &mut SqliteConnection,
    checked: &Checked,
    sha: &str,
) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT poll_id FROM documents WHERE sha256 = ? OR (udi = ? AND content_key = ?) ORDER BY id LIMIT 1",
    )
    .bind(sha)
    .bind(&checked.udi)
    .bind(&checked.content_key)
    .fetch_optional(conn)
    .await
    .map_err(RelayError::Database)?;
    Ok(row.map(|r| r.0))
}

/// A pulled device told its UDI: record it on its inventory row (merging a push-only row of the
/// same UDI into it).
async fn learn_udi(conn: &mut SqliteConnection, device_id: i64, udi: &str) -> Result<()> {
    if let Some(other) = store::device_by_udi(conn, udi).await?
        && other.id != device_id
    {
        if other.host.is_some() {
            return Err(RelayError::Invalid {
                what: format!("device {}", other.host.unwrap_or_default()),
                reason: format!("{udi} is already in the inventory under another host"),
            });
        }
        store::exec(conn, "DELETE FROM devices WHERE id = ?", &[Bind::Int(other.id)]).await?;
    }
    store::exec(
        conn,
        "UPDATE devices SET udi = ?, unknown = 0 WHERE id = ?",
        &[Bind::Text(udi), Bind::Int(device_id)],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_ids_are_decimal_63_bit() {
        let id = poll_id_of("ffffffffffffffff00");
        assert_eq!(id, (u64::MAX >> 1).to_string());
        assert_eq!(poll_id_of("0000000000000000"), "1");
    }
}
