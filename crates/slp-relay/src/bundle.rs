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
//! before anything is stored, and each answer is kept for the device it names.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use slp_wire::xml::{Document, Kind, Signed};

use crate::check;
use crate::intake::NewAnswer;
use crate::store::{self, Bind, DocumentRow};
use crate::{Relay, RelayError, Result};

/// Largest member of a bundle.
pub const MEMBER_LIMIT: u64 = 16 * 1024 * 1024;
/// Largest bundle (compressed or not) and largest total of its members.
pub const BUNDLE_LIMIT: u64 = 256 * 1024 * 1024;
/// Most members of one archive.
pub const MEMBER_COUNT_LIMIT: usize = 100_000;

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

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| RelayError::Io { path: path.to_owned(), source };
    let tmp = path.with_extension("part");
    {
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

fn tar_gz(members: &[(String, Vec<u8>)], mtime: u64) -> Result<Vec<u8>> {
    let io = |source| RelayError::Io { path: PathBuf::from("<bundle>"), source };
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, bytes.as_slice()).map_err(io)?;
    }
    builder.into_inner().map_err(io)?.finish().map_err(io)
}

/// Builds an ACK bundle in the shape the authority returns (tests and tools): `manifest.mf` +
/// `ACK_UD_VA_<ts>.tar.gz` with the given `ACK_…` members.
pub fn ack_bundle(
    members: &[(String, Vec<u8>)],
    smart_account: &str,
    virtual_account: &str,
    ts: &str,
) -> Result<Vec<u8>> {
    let inner_name = format!("ACK_UD_VA_{ts}.tar.gz");
    let inner = tar_gz(members, 0)?;
    let manifest = format!(
        "Manifest-Version: 1.0\nCreated-By: {{\"uuid\": \"authority\"}}\nSmart-Account: {smart_account}\n\nName: /{inner_name}\nSpecification-VA: {virtual_account}\n"
    );
    tar_gz(&[("manifest.mf".to_owned(), manifest.into_bytes()), (inner_name, inner)], 0)
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
                let inner_name = format!("UD_VA_{ts}.tar.gz");
                let mtime = u64::try_from(now.timestamp()).unwrap_or(0);
                let inner = tar_gz(&members, mtime)?;
                let manifest = format!(
                    "Manifest-Version: 1.0\nCreated-By: {{\"uuid\": \"{}\"}}\nSmart-Account: {sa}\nSmart-Account-ID: {sa}\n\nName: /{inner_name}\nSpecification-VA: {va}\nSpecification-VA-ID: {va}\n",
                    prefs.relay_uuid
                );
                let outer = tar_gz(
                    &[("manifest.mf".to_owned(), manifest.into_bytes()), (inner_name, inner)],
                    mtime,
                )?;
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
        let mut answers = Vec::new();
        if is_archive(&bytes) {
            for (member, text) in read_ack_bundle(&bytes, &file)? {
                let udi = check::answer_udi(&text, &format!("{file}: member {member:?}")).map_err(
                    |e| match e {
                        RelayError::BadAnswer { reason, .. } => RelayError::Bundle {
                            file: file.clone(),
                            member: member.clone(),
                            reason,
                        },
                        other => other,
                    },
                )?;
                answers.push((member, NewAnswer { udi, xml: text, documents: None }));
            }
            if answers.is_empty() {
                return Err(RelayError::Bundle {
                    file,
                    member: String::new(),
                    reason: "holds no ACK_… member".into(),
                });
            }
        } else {
            let text = String::from_utf8(bytes).map_err(|_| RelayError::BadAnswer {
                what: file.clone(),
                reason: "neither a tar(.gz) bundle nor UTF-8 <smartLicense> text".into(),
            })?;
            let udi = check::answer_udi(&text, &file)?;
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            answers.push((name, NewAnswer { udi, xml: text, documents: None }));
        }
        let list: Vec<NewAnswer> = answers.iter().map(|(_, a)| a.clone()).collect();
        let new = self.store_answers(&list, &format!("import {file}")).await?;
        tracing::info!(file = %file, answers = answers.len(), new, "answers imported");
        Ok(Imported { answers: answers.into_iter().map(|(m, a)| (m, a.udi)).collect(), new })
    }
}

fn is_archive(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b]) || bytes.get(257..262) == Some(b"ustar")
}

/// Reads a (gzipped) tar fully into memory, checking names, types and sizes.
fn read_tar(bytes: &[u8], file: &str, within: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let bad = |member: &str, reason: String| RelayError::Bundle {
        file: file.to_owned(),
        member: format!("{within}{member}"),
        reason,
    };
    let reader: Box<dyn Read> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(bytes).take(BUNDLE_LIMIT + 1))
    } else {
        Box::new(bytes)
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| bad("", format!("not a tar archive: {e}")))?;
    let mut out = Vec::new();
    let mut total: u64 = 0;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad("", format!("unreadable archive: {e}")))?;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let path = Path::new(&name);
        if path.is_absolute() || name.starts_with('/') || name.starts_with('\\') {
            return Err(bad(&name, "absolute path refused".into()));
        }
        if path
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::RootDir | Component::Prefix(_)))
            || name.split(['/', '\\']).any(|p| p == "..")
        {
            return Err(bad(&name, "path with `..` refused".into()));
        }
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(bad(&name, format!("{kind:?} entries are refused; only regular files")));
        }
        let size = entry.header().size().map_err(|e| bad(&name, e.to_string()))?;
        if size > MEMBER_LIMIT {
            return Err(bad(&name, format!("{size} bytes, over the limit of {MEMBER_LIMIT}")));
        }
        total += size;
        if total > BUNDLE_LIMIT || out.len() >= MEMBER_COUNT_LIMIT {
            return Err(bad(&name, "the archive is too large".into()));
        }
        let mut data = Vec::new();
        (&mut entry)
            .take(MEMBER_LIMIT + 1)
            .read_to_end(&mut data)
            .map_err(|e| bad(&name, e.to_string()))?;
        let clean = name.trim_start_matches("./").to_owned();
        out.push((clean, data));
    }
    Ok(out)
}

/// The ACK documents of an ACK bundle: `manifest.mf` (optional) + one or more inner
/// `*.tar.gz` whose members are `ACK_*` `<smartLicense>` files. Any other member is refused.
fn read_ack_bundle(bytes: &[u8], file: &str) -> Result<Vec<(String, String)>> {
    let outer = read_tar(bytes, file, "")?;
    let bad = |member: &str, reason: String| RelayError::Bundle {
        file: file.to_owned(),
        member: member.to_owned(),
        reason,
    };
    let mut out = Vec::new();
    // A bundle may also be flat: ACK files directly in the outer archive.
    for (name, data) in outer {
        let base = name.rsplit('/').next().unwrap_or(&name).to_owned();
        if base == "manifest.mf" || base == "manifest.json" {
            String::from_utf8(data)
                .map_err(|_| bad(&name, "the manifest is not UTF-8 text".into()))?;
            continue;
        }
        if base.ends_with(".tar.gz") || base.ends_with(".tgz") || base.ends_with(".tar") {
            for (inner, inner_data) in read_tar(&data, file, &format!("{name}/"))? {
                let inner_base = inner.rsplit('/').next().unwrap_or(&inner).to_owned();
                let label = format!("{name}/{inner}");
                if !inner_base.starts_with("ACK_") {
                    return Err(bad(
                        &label,
                        "unknown member: an ACK bundle holds only ACK_… files".into(),
                    ));
                }
                let text = String::from_utf8(inner_data)
                    .map_err(|_| bad(&label, "not UTF-8 text".into()))?;
                out.push((label, text));
            }
            continue;
        }
        if base.starts_with("ACK_") {
            let text = String::from_utf8(data).map_err(|_| bad(&name, "not UTF-8 text".into()))?;
            out.push((name, text));
            continue;
        }
        return Err(bad(
            &name,
            "unknown member: expected manifest.mf, an inner ACK_….tar.gz or ACK_… files".into(),
        ));
    }
    Ok(out)
}

/// Archive members: (name, bytes).
pub type Members = Vec<(String, Vec<u8>)>;

/// Reads the members of a bundle written by [`Relay::export`] (tests and tools):
/// (`manifest.mf` text, [(inner member name, bytes)]).
pub fn read_upload_bundle(bytes: &[u8], file: &str) -> Result<(String, Members)> {
    let outer = read_tar(bytes, file, "")?;
    let mut manifest = String::new();
    let mut members = Vec::new();
    for (name, data) in outer {
        if name == "manifest.mf" {
            manifest = String::from_utf8_lossy(&data).into_owned();
        } else {
            members.extend(read_tar(&data, file, &format!("{name}/"))?);
        }
    }
    Ok((manifest, members))
}
