//! Disconnected mode: files instead of the network (PROTOCOL.md §1.6).
//!
//! Export ("Export to CSSM") writes Cisco's upload shape:
//!
//! ```text
//! UD_SA_<ts>.tar.gz
//! ├── manifest.mf            JAR-style: Manifest-Version, Created-By {"uuid"}, Smart-Account, …,
//! │                          blank line, Name: /UD_VA_<ts>.tar.gz, Specification-VA, …
//! └── UD_VA_<ts>.tar.gz
//!     └── dev_<pid>_<sn>_<ts>.xml   one <smartLicense> per product instance
//! ```
//!
//! or, with `--format xml`, the per-device files into a folder (what `slp authority usage
//! upload` takes). Import ("Import from CSSM") reads the ACK bundle of the same shape (inner
//! members `ACK_<uploaded name>`) or a single `<smartLicense>` ACK file; every member is checked
//! before anything is stored — signed by the pinned authority key, for a device in the
//! inventory — and each answer is kept for the device it names. The archive
//! format and its hostile-input checks live in [`slp_wire::bundle`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use slp_wire::bundle::{self, BUNDLE_LIMIT};
use slp_wire::xml::{Document, Kind, Signed};

use crate::check;
use crate::intake::NewAnswer;
use crate::store::{self, Bind, DocumentRow};
use crate::{Relay, RelayError, Result};

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `UD_SA_<ts>.tar.gz` (Cisco's upload shape).
    #[default]
    Bundle,
    /// One `<smartLicense>` file per device into a folder.
    Xml,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The bundle, or the folder of files.
    pub path: PathBuf,
    /// (file name, UDI, reports) per device.
    pub files: Vec<(String, String, usize)>,
}

/// What an import stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// (member or file name, UDI) per answer.
    pub answers: Vec<(String, String)>,
    /// Answers that were new (the rest were already stored).
    pub new: usize,
}

fn stamp(now: chrono::DateTime<chrono::Utc>) -> String {
    now.format("%Y%m%dT%H%M%S").to_string()
}

fn file_safe(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

/// One device's documents as the single file the authority takes: every report once, the
/// latest system information, the latest trust request per unit, each request or return once.
pub fn merge_device(docs: &[&DocumentRow]) -> Result<(Document, usize)> {
    let mut reports: Vec<String> = Vec::new();
    let mut info: Option<Signed> = None;
    let mut trust: BTreeMap<String, Signed> = BTreeMap::new();
    let mut requests: Vec<Signed> = Vec::new();
    for doc in docs {
        let parsed = Document::parse(&doc.xml).map_err(|e| RelayError::Refused {
            udi: doc.udi.clone(),
            reason: format!("stored document {} is unreadable: {e}", doc.id),
        })?;
        for report in parsed.reports {
            if !reports.contains(&report) {
                reports.push(report);
            }
        }
        for item in parsed.items {
            match item.kind {
                Kind::SystemInfo => info = Some(item),
                Kind::TrustRequest => {
                    let udi = item
                        .json::<slp_wire::docs::TrustRequest>()
                        .ok()
                        .and_then(|t| t.sudi.udi().ok())
                        .map(|u| u.to_string())
                        .unwrap_or_default();
                    trust.insert(udi, item);
                }
                _ => {
                    if !requests.contains(&item) {
                        requests.push(item);
                    }
                }
            }
        }
    }
    let count = reports.len();
    let mut items: Vec<Signed> = info.into_iter().collect();
    items.extend(trust.into_values());
    items.extend(requests);
    Ok((Document { reports, items }, count))
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| RelayError::Io { path: path.to_owned(), source };
    slp_host::write_atomic(path, bytes).map_err(io)
}

impl Relay {
    /// Writes every document still waiting for an ACK: a bundle at `out` (a file, or a folder
    /// to put `UD_SA_<ts>.tar.gz` in), or with [`Format::Xml`] one file per device into the
    /// folder `out`. `Ok(None)` when nothing waits.
    pub async fn export(&self, out: &Path, format: Format) -> Result<Option<Exported>> {
        let now = self.clock.now();
        let ts = stamp(now);
        let (docs, prefs) = {
            let mut conn = self.store.pool().acquire().await.map_err(RelayError::Database)?;
            let docs =
                store::documents_where(&mut conn, "answer_id IS NULL AND rejected IS NULL", None)
                    .await?;
            (docs, crate::read_prefs(&mut conn).await?)
        };
        if docs.is_empty() {
            return Ok(None);
        }
        let mut by_device: BTreeMap<String, Vec<&DocumentRow>> = BTreeMap::new();
        for doc in &docs {
            by_device.entry(doc.udi.clone()).or_default().push(doc);
        }
        let mut members = Vec::new();
        let mut files = Vec::new();
        for (udi, docs) in &by_device {
            let (merged, reports) = merge_device(docs)?;
            let (pid, sn) = udi
                .strip_prefix("PID:")
                .and_then(|rest| rest.split_once(",SN:"))
                .unwrap_or((udi.as_str(), ""));
            let name = format!("dev_{}_{}_{ts}.xml", file_safe(pid), file_safe(sn));
            members.push((name.clone(), merged.to_xml().into_bytes()));
            files.push((name, udi.clone(), reports));
        }
        let path = match format {
            Format::Xml => {
                std::fs::create_dir_all(out)
                    .map_err(|source| RelayError::Io { path: out.to_owned(), source })?;
                for (name, bytes) in &members {
                    write_atomic(&out.join(name), bytes)?;
                }
                out.to_owned()
            }
            Format::Bundle => {
                let sa = prefs.smart_account.clone().unwrap_or_default();
                let va = prefs.virtual_account.clone().unwrap_or_default();
                let mtime = u64::try_from(now.timestamp()).unwrap_or(0);
                let at = bundle::Stamp {
                    creator: &prefs.relay_uuid,
                    smart_account: &sa,
                    virtual_account: &va,
                    ts: &ts,
                    mtime,
                };
                let outer = bundle::write_upload(&members, at).map_err(bundle_error)?;
                let path = if out.is_dir() {
                    out.join(format!("UD_SA_{ts}.tar.gz"))
                } else {
                    out.to_owned()
                };
                write_atomic(&path, &outer)?;
                path
            }
        };
        let mut tx = self.store.begin().await?;
        for doc in &docs {
            store::exec(
                &mut tx,
                "UPDATE documents SET exported_at = ? WHERE id = ?",
                &[Bind::Int(now.timestamp()), Bind::Int(doc.id)],
            )
            .await?;
        }
        tx.commit().await.map_err(RelayError::Database)?;
        tracing::info!(path = %path.display(), devices = files.len(), "usage exported");
        Ok(Some(Exported { path, files }))
    }

    /// Imports an ACK bundle (`.tar.gz` or `.tar`) or a single `<smartLicense>` ACK file.
    pub async fn import(&self, path: &Path) -> Result<Imported> {
        let file = path.display().to_string();
        let meta = std::fs::metadata(path)
            .map_err(|source| RelayError::Io { path: path.to_owned(), source })?;
        if meta.len() > BUNDLE_LIMIT {
            return Err(RelayError::Bundle {
                file,
                member: String::new(),
                reason: format!("larger than {BUNDLE_LIMIT} bytes"),
            });
        }
        let bytes = std::fs::read(path)
            .map_err(|source| RelayError::Io { path: path.to_owned(), source })?;
        // Every answer must be signed by the authority key the operator pinned (or a connected
        // relay learned): a file from anywhere else is refused as a whole.
        let pinned = self
            .prefs()
            .await?
            .authority_key
            .ok_or_else(|| RelayError::NoAuthorityKey { what: file.clone() })?;
        let mut answers = Vec::new();
        if slp_wire::slac_csv::is_codes(&bytes) {
            // The authority's SLAC codes CSV: one code per line, each for the UDI it names.
            let text = String::from_utf8_lossy(&bytes);
            let rows =
                slp_wire::slac_csv::read_codes(&text, &file).map_err(|e| RelayError::Csv {
                    file: e.file,
                    line: usize::try_from(e.line).unwrap_or(0),
                    reason: e.reason,
                })?;
            for (line, udi, code) in rows {
                let what = format!("{file}: line {line}");
                let named = check::trusted_answer(&code, &what, &pinned)?;
                if named != udi.to_string() {
                    return Err(RelayError::Csv {
                        file: file.clone(),
                        line: usize::try_from(line).unwrap_or(0),
                        reason: format!("the code is for {named}, but the line names {udi}"),
                    });
                }
                answers.push((
                    format!("line {line}"),
                    NewAnswer { udi: named, xml: code, documents: None, what },
                ));
            }
        } else if bundle::is_archive(&bytes) {
            for (member, text) in bundle::read_ack(&bytes, &file).map_err(bundle_error)? {
                let what = format!("{file}: member {member:?}");
                let udi = check::trusted_answer(&text, &what, &pinned).map_err(|e| match e {
                    RelayError::BadAnswer { reason, .. } => {
                        RelayError::Bundle { file: file.clone(), member: member.clone(), reason }
                    }
                    other => other,
                })?;
                answers.push((member, NewAnswer { udi, xml: text, documents: None, what }));
            }
        } else {
            let text = String::from_utf8(bytes).map_err(|_| RelayError::BadAnswer {
                what: file.clone(),
                reason: "neither a tar(.gz) bundle nor UTF-8 <smartLicense> text".into(),
            })?;
            let udi = check::trusted_answer(&text, &file, &pinned)?;
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            answers.push((name, NewAnswer { udi, xml: text, documents: None, what: file.clone() }));
        }
        let list: Vec<NewAnswer> = answers.iter().map(|(_, a)| a.clone()).collect();
        let new = self.store_answers(&list, &format!("import {file}")).await?;
        tracing::info!(file = %file, answers = answers.len(), new, "answers imported");
        Ok(Imported { answers: answers.into_iter().map(|(m, a)| (m, a.udi)).collect(), new })
    }
}

fn bundle_error(e: bundle::BundleError) -> RelayError {
    RelayError::Bundle { file: e.file, member: e.member, reason: e.reason }
}
