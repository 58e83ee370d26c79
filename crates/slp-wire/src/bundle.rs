//! Offline bundles (PROTOCOL.md §1.6): the Cisco-shaped upload a relay exports and the ACK
//! bundle the authority gives back.
//!
//! ```text
//! UD_SA_<ts>.tar.gz                        ACK_UD_SA_<ts>.tar.gz
//! ├── manifest.mf                          ├── manifest.mf
//! └── UD_VA_<ts>.tar.gz                    └── ACK_UD_VA_<ts>.tar.gz
//!     └── dev_<pid>_<sn>_<ts>.xml              └── ACK_dev_<pid>_<sn>_<ts>.xml
//! ```
//!
//! The manifest is JAR-style `Key: value` lines. Archives come from other machines, so reading
//! one is hostile-input safe: absolute paths, `..`, links, devices and FIFOs are refused; the
//! number of members, each member's size and the total uncompressed size (across nested
//! archives) are capped; every refusal names the archive and the member. Nothing is written
//! to disk while reading.

use std::io::Read;
use std::path::{Component, Path};

/// Largest member of a bundle.
pub const MEMBER_LIMIT: u64 = 16 * 1024 * 1024;
/// Largest bundle (compressed or not) and largest total of its members, nested ones included.
pub const BUNDLE_LIMIT: u64 = 256 * 1024 * 1024;
/// Most members of one bundle, nested ones included.
pub const MEMBER_COUNT_LIMIT: usize = 100_000;

/// Why a bundle could not be read or written; names the archive and the member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {reason}", if member.is_empty() { String::new() } else { format!(": member {member:?}") })]
pub struct BundleError {
    /// The archive (its file name).
    pub file: String,
    /// The member, `outer/inner` for nested archives; empty for the archive itself.
    pub member: String,
    /// What is wrong.
    pub reason: String,
}

/// Archive members: (name, bytes).
pub type Members = Vec<(String, Vec<u8>)>;

/// True for a gzip stream or a tar archive, detected by content, not by file name: the gzip
/// magic, the `ustar` magic, or (old v7 archives have no magic) a first header block whose
/// checksum field matches its bytes.
pub fn is_archive(bytes: &[u8]) -> bool {
    is_gzip(bytes) || bytes.get(257..262) == Some(b"ustar") || v7_header(bytes)
}

fn v7_header(bytes: &[u8]) -> bool {
    let Some(block) = bytes.get(..512) else { return false };
    let field = String::from_utf8_lossy(&block[148..156]);
    let Ok(stored) = u32::from_str_radix(field.trim_matches(|c: char| c == ' ' || c == '\0'), 8)
    else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, b)| if (148..156).contains(&i) { u32::from(b' ') } else { u32::from(*b) })
        .sum();
    block[0] != 0 && sum == stored
}

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Reads archives while keeping count of what all of them (nested ones too) unpacked.
struct Reader<'a> {
    file: &'a str,
    total: u64,
    count: usize,
    total_limit: u64,
    count_limit: usize,
}

impl<'a> Reader<'a> {
    fn new(file: &'a str) -> Reader<'a> {
        Reader {
            file,
            total: 0,
            count: 0,
            total_limit: BUNDLE_LIMIT,
            count_limit: MEMBER_COUNT_LIMIT,
        }
    }

    fn bad(&self, member: &str, reason: impl Into<String>) -> BundleError {
        BundleError { file: self.file.to_owned(), member: member.to_owned(), reason: reason.into() }
    }

    /// Reads a (gzipped) tar fully into memory. `within` prefixes member names (`outer/`).
    fn read(&mut self, bytes: &[u8], within: &str) -> Result<Members, BundleError> {
        let limit = self.total_limit;
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
            return Err(self.bad(within, format!("larger than {limit} bytes")));
        }
        // The decoder is capped too: a small gzip stream must not unpack into gigabytes.
        let reader: Box<dyn Read> = if is_gzip(bytes) {
            Box::new(flate2::read::GzDecoder::new(bytes).take(limit + 1))
        } else {
            Box::new(bytes)
        };
        let mut archive = tar::Archive::new(reader);
        let owner = within.trim_end_matches('/');
        let entries =
            archive.entries().map_err(|e| self.bad(owner, format!("not a tar archive: {e}")))?;
        let mut out = Vec::new();
        for entry in entries {
            let mut entry =
                entry.map_err(|e| self.bad(owner, format!("unreadable archive: {e}")))?;
            let raw = entry.path_bytes().into_owned();
            let name = String::from_utf8_lossy(&raw).into_owned();
            let label = format!("{within}{name}");
            let path = Path::new(&name);
            if path.is_absolute() || name.starts_with('/') || name.starts_with('\\') {
                return Err(self.bad(&label, "absolute path refused"));
            }
            if path.components().any(|c| {
                matches!(c, Component::ParentDir | Component::RootDir | Component::Prefix(_))
            }) || name.split(['/', '\\']).any(|p| p == "..")
            {
                return Err(self.bad(&label, "path with `..` refused"));
            }
            let kind = entry.header().entry_type();
            if kind.is_dir() {
                continue;
            }
            if !kind.is_file() {
                return Err(
                    self.bad(&label, format!("{kind:?} entries are refused; only regular files"))
                );
            }
            let size = entry.header().size().map_err(|e| self.bad(&label, e.to_string()))?;
            if size > MEMBER_LIMIT {
                return Err(
                    self.bad(&label, format!("{size} bytes, over the limit of {MEMBER_LIMIT}"))
                );
            }
            self.total += size;
            self.count += 1;
            if self.total > limit {
                return Err(
                    self.bad(&label, format!("the bundle unpacks to more than {limit} bytes"))
                );
            }
            if self.count > self.count_limit {
                let most = self.count_limit;
                return Err(self.bad(&label, format!("the bundle has more than {most} members")));
            }
            let mut data = Vec::new();
            (&mut entry)
                .take(MEMBER_LIMIT + 1)
                .read_to_end(&mut data)
                .map_err(|e| self.bad(&label, e.to_string()))?;
            let clean = name.trim_start_matches("./").to_owned();
            out.push((clean, data));
        }
        Ok(out)
    }
}

/// Reads one (gzipped) tar: every regular member with its bytes, hostile input refused.
pub fn read_tar(bytes: &[u8], file: &str) -> Result<Members, BundleError> {
    Reader::new(file).read(bytes, "")
}

/// Writes members into a gzipped tar (regular files, mode 0644, the given mtime).
pub fn tar_gz(members: &[(String, Vec<u8>)], mtime: u64) -> Result<Vec<u8>, BundleError> {
    let io = |member: &str, e: std::io::Error| BundleError {
        file: "<new bundle>".to_owned(),
        member: member.to_owned(),
        reason: e.to_string(),
    };
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, bytes.as_slice()).map_err(|e| io(name, e))?;
    }
    builder.into_inner().map_err(|e| io("", e))?.finish().map_err(|e| io("", e))
}

/// The JAR-style manifest of a bundle: which smart and virtual account it is for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// `Created-By` (`{"uuid": "…"}` of the producer).
    pub created_by: Option<String>,
    /// `Smart-Account`.
    pub smart_account: Option<String>,
    /// `Specification-VA` of the first `Name:` section.
    pub virtual_account: Option<String>,
    /// The text as read.
    pub text: String,
}

impl Manifest {
    /// Parses `Key: value` lines; unknown keys are kept in `text` only.
    pub fn parse(text: &str) -> Manifest {
        let mut manifest = Manifest { text: text.to_owned(), ..Manifest::default() };
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let slot = match key.trim() {
                "Created-By" => &mut manifest.created_by,
                "Smart-Account" => &mut manifest.smart_account,
                "Specification-VA" => &mut manifest.virtual_account,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.to_owned());
            }
        }
        manifest
    }

    fn render(creator: &str, smart_account: &str, virtual_account: &str, inner: &str) -> String {
        format!(
            "Manifest-Version: 1.0\nCreated-By: {{\"uuid\": \"{creator}\"}}\nSmart-Account: {smart_account}\nSmart-Account-ID: {smart_account}\n\nName: /{inner}\nSpecification-VA: {virtual_account}\nSpecification-VA-ID: {virtual_account}\n"
        )
    }
}

/// An upload bundle read back: its manifest and the per-device files of its inner archive(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadBundle {
    pub manifest: Manifest,
    /// (inner archive name, member name, bytes) per device file.
    pub files: Vec<(String, String, Vec<u8>)>,
}

/// Where and for whom a bundle is written.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    /// Producer id for `Created-By`.
    pub creator: &'a str,
    pub smart_account: &'a str,
    pub virtual_account: &'a str,
    /// `YYYYmmddTHHMMSS`, used in the archive names.
    pub ts: &'a str,
    /// Seconds since the epoch for every tar header.
    pub mtime: u64,
}

/// Writes `UD_SA_<ts>.tar.gz`: `manifest.mf` + `UD_VA_<ts>.tar.gz` holding the device files.
pub fn write_upload(files: &[(String, Vec<u8>)], at: Stamp<'_>) -> Result<Vec<u8>, BundleError> {
    let inner_name = format!("UD_VA_{}.tar.gz", at.ts);
    let inner = tar_gz(files, at.mtime)?;
    let manifest = Manifest::render(at.creator, at.smart_account, at.virtual_account, &inner_name);
    tar_gz(&[("manifest.mf".to_owned(), manifest.into_bytes()), (inner_name, inner)], at.mtime)
}

fn base(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

fn is_inner_archive(name: &str) -> bool {
    let base = base(name);
    base.ends_with(".tar.gz") || base.ends_with(".tgz") || base.ends_with(".tar")
}

/// Reads an upload bundle: `manifest.mf` (optional) and one or more inner archives of device
/// files (`*.xml` or `*.txt`); a flat archive of device files is taken too. Anything else is
/// refused by name.
pub fn read_upload(bytes: &[u8], file: &str) -> Result<UploadBundle, BundleError> {
    let mut reader = Reader::new(file);
    let outer = reader.read(bytes, "")?;
    let mut manifest = Manifest::default();
    let mut files = Vec::new();
    let device_file = |name: &str| {
        let base = base(name);
        base.ends_with(".xml") || base.ends_with(".txt")
    };
    for (name, data) in outer {
        if base(&name) == "manifest.mf" {
            let text = String::from_utf8(data)
                .map_err(|_| reader.bad(&name, "the manifest is not UTF-8 text"))?;
            manifest = Manifest::parse(&text);
        } else if is_inner_archive(&name) {
            for (member, bytes) in reader.read(&data, &format!("{name}/"))? {
                if !device_file(&member) {
                    return Err(reader.bad(
                        &format!("{name}/{member}"),
                        "unknown member: an upload bundle holds only device files (*.xml, *.txt)",
                    ));
                }
                files.push((name.clone(), member, bytes));
            }
        } else if device_file(&name) {
            files.push((String::new(), name, data));
        } else {
            return Err(reader.bad(
                &name,
                "unknown member: expected manifest.mf, inner UD_VA_….tar.gz archives or device files",
            ));
        }
    }
    if files.is_empty() {
        return Err(reader.bad("", "holds no device files"));
    }
    Ok(UploadBundle { manifest, files })
}

/// Writes the ACK bundle: `manifest.mf` + `ACK_<inner>` holding `ACK_<device file>` members.
/// `acks` are (inner archive name, ACK member name, bytes); members of one inner archive stay
/// together, flat uploads (empty inner name) go into `ACK_UD_VA_<ts>.tar.gz`.
pub fn write_ack(
    acks: &[(String, String, Vec<u8>)],
    at: Stamp<'_>,
) -> Result<Vec<u8>, BundleError> {
    let mut groups: Vec<(String, Members)> = Vec::new();
    for (inner, member, bytes) in acks {
        let inner = if inner.is_empty() {
            format!("ACK_UD_VA_{}.tar.gz", at.ts)
        } else {
            format!("ACK_{}", base(inner))
        };
        match groups.iter_mut().find(|(name, _)| *name == inner) {
            Some((_, members)) => members.push((member.clone(), bytes.clone())),
            None => groups.push((inner, vec![(member.clone(), bytes.clone())])),
        }
    }
    let first = groups.first().map(|(n, _)| n.clone()).unwrap_or_default();
    let manifest = Manifest::render(at.creator, at.smart_account, at.virtual_account, &first);
    let mut outer = vec![("manifest.mf".to_owned(), manifest.into_bytes())];
    for (name, members) in groups {
        outer.push((name, tar_gz(&members, at.mtime)?));
    }
    tar_gz(&outer, at.mtime)
}

/// The ACK documents of an ACK bundle: (member label, text) for every `ACK_*` file, in inner
/// archives or flat. Any other member is refused by name.
pub fn read_ack(bytes: &[u8], file: &str) -> Result<Vec<(String, String)>, BundleError> {
    let mut reader = Reader::new(file);
    let outer = reader.read(bytes, "")?;
    let mut out = Vec::new();
    for (name, data) in outer {
        let base_name = base(&name).to_owned();
        if base_name == "manifest.mf" || base_name == "manifest.json" {
            String::from_utf8(data)
                .map_err(|_| reader.bad(&name, "the manifest is not UTF-8 text"))?;
        } else if is_inner_archive(&name) {
            for (inner, inner_data) in reader.read(&data, &format!("{name}/"))? {
                let label = format!("{name}/{inner}");
                if !base(&inner).starts_with("ACK_") {
                    return Err(
                        reader.bad(&label, "unknown member: an ACK bundle holds only ACK_… files")
                    );
                }
                let text = String::from_utf8(inner_data)
                    .map_err(|_| reader.bad(&label, "not UTF-8 text"))?;
                out.push((label, text));
            }
        } else if base_name.starts_with("ACK_") {
            let text = String::from_utf8(data).map_err(|_| reader.bad(&name, "not UTF-8 text"))?;
            out.push((name, text));
        } else {
            return Err(reader.bad(
                &name,
                "unknown member: expected manifest.mf, an inner ACK_….tar.gz or ACK_… files",
            ));
        }
    }
    if out.is_empty() {
        return Err(reader.bad("", "holds no ACK_… member"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Stamp<'static> {
        Stamp {
            creator: "relay-1",
            smart_account: "example.com",
            virtual_account: "Lab",
            ts: "20261101T100000",
            mtime: 1_793_000_000,
        }
    }

    /// A tar whose single header is written by hand, so that names and types the `tar`
    /// builder refuses to write can be tested.
    fn raw_tar(name: &str, kind: tar::EntryType, body: &[u8]) -> Vec<u8> {
        let mut header = tar::Header::new_old();
        {
            let bytes = header.as_old_mut();
            bytes.name[..name.len()].copy_from_slice(name.as_bytes());
        }
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(kind);
        if kind == tar::EntryType::Symlink || kind == tar::EntryType::Link {
            header.set_link_name("/etc/passwd").unwrap();
        }
        header.set_cksum();
        let mut out = header.as_bytes().to_vec();
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
        out
    }

    #[test]
    fn upload_and_ack_round_trip_with_the_cisco_names() {
        let files =
            vec![("dev_C9300_FOC1_20261101T100000.xml".to_owned(), b"<smartLicense/>".to_vec())];
        let bundle = write_upload(&files, at()).unwrap();
        assert!(is_archive(&bundle));
        assert!(is_archive(&raw_tar("old.xml", tar::EntryType::Regular, b"x")));
        assert!(!is_archive(b"<smartLicense></smartLicense>"));
        assert!(!is_archive(&[b' '; 1024]));
        let read = read_upload(&bundle, "UD_SA.tar.gz").unwrap();
        assert_eq!(read.manifest.smart_account.as_deref(), Some("example.com"));
        assert_eq!(read.manifest.virtual_account.as_deref(), Some("Lab"));
        assert!(read.manifest.text.contains("\nName: /UD_VA_20261101T100000.tar.gz\n"));
        assert_eq!(read.files.len(), 1);
        let (inner, member, bytes) = &read.files[0];
        assert_eq!(inner, "UD_VA_20261101T100000.tar.gz");
        let ack =
            write_ack(&[(inner.clone(), format!("ACK_{member}"), bytes.clone())], at()).unwrap();
        let acks = read_ack(&ack, "ACK.tar.gz").unwrap();
        assert_eq!(
            acks,
            vec![(
                "ACK_UD_VA_20261101T100000.tar.gz/ACK_dev_C9300_FOC1_20261101T100000.xml"
                    .to_owned(),
                "<smartLicense/>".to_owned()
            )]
        );
    }

    #[test]
    fn hostile_members_are_refused_by_name() {
        for (name, kind, reason) in [
            ("../evil.xml", tar::EntryType::Regular, "path with `..` refused"),
            ("a/../../evil.xml", tar::EntryType::Regular, "path with `..` refused"),
            ("/etc/evil.xml", tar::EntryType::Regular, "absolute path refused"),
            (
                "link.xml",
                tar::EntryType::Symlink,
                "Symlink entries are refused; only regular files",
            ),
            ("hard.xml", tar::EntryType::Link, "Link entries are refused; only regular files"),
            ("dev.xml", tar::EntryType::Char, "Char entries are refused; only regular files"),
            ("fifo.xml", tar::EntryType::Fifo, "Fifo entries are refused; only regular files"),
        ] {
            let bytes = raw_tar(name, kind, b"x");
            let err = read_upload(&bytes, "UD_SA.tar").unwrap_err();
            assert_eq!((err.member.as_str(), err.reason.as_str()), (name, reason), "{err}");
            assert!(err.to_string().starts_with("UD_SA.tar: member "), "{err}");
            let err = read_ack(&bytes, "ACK.tar").unwrap_err();
            assert_eq!(err.member, name);
        }
    }

    #[test]
    fn nested_hostile_members_name_the_inner_archive() {
        let inner = raw_tar("../../x.xml", tar::EntryType::Regular, b"x");
        let outer = tar_gz(&[("UD_VA_1.tar".to_owned(), inner)], 0).unwrap();
        let err = read_upload(&outer, "UD_SA.tar.gz").unwrap_err();
        assert_eq!(err.member, "UD_VA_1.tar/../../x.xml");
    }

    #[test]
    fn sizes_and_unknown_members_are_refused() {
        // A member over the limit: the header's size is checked before any byte is read.
        let mut big = raw_tar("big.xml", tar::EntryType::Regular, b"");
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..7].copy_from_slice(b"big.xml");
        header.set_size(MEMBER_LIMIT + 1);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        big[..512].copy_from_slice(header.as_bytes());
        let err = read_upload(&big, "UD_SA.tar").unwrap_err();
        assert!(err.reason.contains("over the limit of 16777216"), "{err}");

        // A gzip bomb: highly compressible members whose sum is over the total limit, here
        // lowered to 1 MiB (the real limit works the same way, at 256 MiB).
        let zeros = vec![0u8; 400 * 1024];
        let members: Vec<(String, Vec<u8>)> =
            (0..3).map(|i| (format!("d{i}.xml"), zeros.clone())).collect();
        let bomb = tar_gz(&members, 0).unwrap();
        assert!(bomb.len() < 8 * 1024);
        let mut reader = Reader { total_limit: 1024 * 1024, ..Reader::new("bomb.tar.gz") };
        let err = reader.read(&bomb, "").unwrap_err();
        assert_eq!(err.member, "d2.xml");
        assert_eq!(err.reason, "the bundle unpacks to more than 1048576 bytes");
        let mut reader = Reader { count_limit: 2, ..Reader::new("many.tar.gz") };
        let err = reader.read(&bomb, "").unwrap_err();
        assert_eq!(err.reason, "the bundle has more than 2 members");

        let odd = tar_gz(&[("notes.exe".to_owned(), b"x".to_vec())], 0).unwrap();
        let err = read_upload(&odd, "UD_SA.tar.gz").unwrap_err();
        assert_eq!(err.member, "notes.exe");
        let err = read_ack(&odd, "ACK.tar.gz").unwrap_err();
        assert_eq!(err.member, "notes.exe");
        let err = read_upload(b"just text", "x.tar").unwrap_err();
        assert!(err.to_string().starts_with("x.tar: unreadable archive"), "{err}");
    }
}
