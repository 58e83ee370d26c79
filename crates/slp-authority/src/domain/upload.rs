//! Usage upload: a `<smartLicense>` file from a device in, a signed ACK document out.
//!
//! Three steps. [`parse`] (or [`parse_built`], for a document built from a request's entry)
//! reads the file into a [`Parsed`] document — its digest, items and RUM reports — before the
//! store's writer is taken; a request's documents have their report signatures checked in one
//! batch ([`Parsed::mark_verified`]) and their likely answers signed ([`Parsed::presign`]) then
//! too, on a blocking thread. [`Authority::ingest`], in one store transaction, returns the
//! stored ACK of a byte-identical earlier upload, or checks: [`check::read`] takes the document
//! apart, the store's facts about the UDIs and reports it names are loaded, and the pure
//! [`check::plan`] decides (bindings and their proofs, signatures, which reports are new) or
//! refuses the document. The apply step then writes: register/re-bind instances, issue trust
//! codes, store reports and usage, take returns and issue SLACs (refused there when the stored
//! codes or the pool say so), build and record the ACK. Any refusal returns before commit, so
//! nothing is stored.
//!
//! The store work of the documents of one request (or of a group of requests committed
//! together, [`crate::domain::group`]) goes through one [`IngestBatch`]: what they will read is
//! looked up at once ahead, and what they write is written at once at the end.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};
use slp_core::license::{self, Enforcement, Term};
use slp_core::udi::Udi;
use slp_store::{
    Account, AccountUdi, NewAuthorization, NewEvent, NewProductInstance, NewUpload,
    ProductInstance, ReceivedReport, ReportKey, Tx, Usage, VirtualAccount,
};
use slp_wire::bundle;
use slp_wire::docs::{
    self, AckedReport, AuthRequestItem, Authorization, Granted, PolicyDoc, RumAck, TrustCode,
    TrustRequest,
};
use slp_wire::keys;
use slp_wire::rum::{Envelope, Report, Sudi};
use slp_wire::xml::{Document, Kind, Signed};

mod check;

use self::check::{Change, Facts, Plan, Proof, Take, key_id};
use crate::{Authority, AuthorityError, BundleOutcome, Result, UploadOutcome, policy_of, rfc3339};

/// A document read as far as it can be without the store: its SHA-256, its items and its RUM
/// reports, and what was done ahead of the store's writer (signatures checked, answers
/// signed).
pub(crate) struct Parsed {
    file: String,
    /// Hex SHA-256 of the document's bytes.
    sha256: String,
    doc: Document,
    reports: Vec<ParsedReport>,
    /// The ACK signed ahead ([`Parsed::presign`]), on the guess that every report of the
    /// document is new. The ingest uses it when it says what the ingest would (everything
    /// compared but the ACK's id and the time) and signs its own otherwise.
    presigned_ack: Option<(RumAck, Signed)>,
    /// A trust code signed ahead for each trust request, used likewise.
    presigned_trust: Vec<(TrustCode, Signed)>,
}

/// A RUM report of a document: its JSON text, the envelope and its payload. Its signature is
/// checked by [`check::plan`] (unless found good ahead: `verified_with`).
struct ParsedReport {
    envelope: String,
    parsed: Envelope,
    report: Report,
    /// The device key its signature was found good with before the store's writer was taken
    /// ([`Parsed::mark_verified`]); the ingest checks it again only with another key.
    verified_with: Option<String>,
}

impl ParsedReport {
    /// The UDI the report is for (and signed for: [`parse`] refuses any other).
    fn udi(&self) -> &Udi {
        &self.report.udi
    }
}

impl Parsed {
    fn new(file: &str, sha256: String, doc: Document, reports: Vec<ParsedReport>) -> Parsed {
        Parsed {
            file: file.to_owned(),
            sha256,
            doc,
            reports,
            presigned_ack: None,
            presigned_trust: Vec::new(),
        }
    }

    /// Keeps which reports were found signed with `key` (the device key the request names for
    /// the document): `good` tells, for each report in order, whether the batch check
    /// ([`slp_wire::keys::verify_batch_each`]) found its signature over its payload good with
    /// `key`; a report also needs to name `key` and be of the verifiable kind, as
    /// [`Envelope::verify`] asks. The ingest, in the store's writer, does not check those
    /// again; any other it checks with the key the UDI is bound to and names the failure.
    pub(crate) fn mark_verified(&mut self, key: &str, good: &[bool]) {
        let Ok(key_id) = keys::key_id(key) else { return };
        for (report, good) in self.reports.iter_mut().zip(good) {
            if *good && report.parsed.is_verifiable() && report.parsed.signature.key == key_id {
                report.verified_with = Some(key.to_owned());
            }
        }
    }

    /// Signs, ahead, what the ingest will give this document if all its reports are new to the
    /// store: the ACK of a document with one system information (one ACK, for `head`, listing
    /// every report) and reports, and a trust code for each trust request, from smart and
    /// virtual account `account` / `va` (id `va_id`). Signing is most of the work of ingesting
    /// a document after the signature checks; done here, in parallel, it stays out of the
    /// store's writer. Whatever is not signed here (other documents, a guess that fails) the
    /// ingest signs.
    pub(crate) fn presign(
        &mut self,
        head: &Udi,
        account: &str,
        (va_id, va): (i64, &str),
        issued_at: &str,
        authority: &slp_wire::keys::KeyPair,
    ) {
        for item in self.doc.of(Kind::TrustRequest) {
            let Ok(request) = item.json::<TrustRequest>() else { continue };
            let Ok(udi) = request.sudi.udi() else { continue };
            let code = TrustCode {
                trust_id: trust_id_of(va_id, &udi, &request.public_key),
                sudi: request.sudi,
                public_key: request.public_key,
                smart_account: account.to_owned(),
                virtual_account: va.to_owned(),
                issued_at: issued_at.to_owned(),
                authority_key: authority.public_b64(),
            };
            let signed = docs::sign_json(Kind::TrustCode, &code, authority);
            self.presigned_trust.push((code, signed));
        }
        if self.reports.is_empty() || self.doc.of(Kind::SystemInfo).count() != 1 {
            return;
        }
        let ack = RumAck {
            ack_id: uuid::Uuid::new_v4().to_string(),
            issued_at: issued_at.to_owned(),
            sudi: Sudi::of(head),
            smart_account: account.to_owned(),
            virtual_account: va.to_owned(),
            reports: self.reports.iter().map(|report| acked_report(report, true)).collect(),
            authority_key: authority.public_b64(),
        };
        let signed = docs::sign_json(Kind::RumAck, &ack, authority);
        self.presigned_ack = Some((ack, signed));
    }

    /// Hex SHA-256 of the document's bytes.
    pub(crate) fn sha256(&self) -> &str {
        &self.sha256
    }

    /// (UDI, report id) of every report.
    pub(crate) fn report_keys(&self) -> impl Iterator<Item = (&Udi, i64)> + '_ {
        self.reports.iter().filter_map(|r| Some((r.udi(), i64::try_from(r.report.report_id).ok()?)))
    }
}

/// Reads `bytes` (a `<smartLicense>` document) named `file`: UTF-8, XML, and every RUM report.
pub(crate) fn parse(file: &str, bytes: &[u8]) -> Result<Parsed> {
    let sha256 = slp_core::text::sha256_hex(bytes);
    let text = std::str::from_utf8(bytes).map_err(|err| AuthorityError::Refused {
        file: file.to_owned(),
        reason: format!("not UTF-8 text: {err}"),
    })?;
    let doc = Document::parse(text)
        .map_err(|source| AuthorityError::Wire { file: file.to_owned(), error: source })?;
    let reports = read_reports(file, &doc, None)?;
    Ok(Parsed::new(file, sha256, doc, reports))
}

/// [`parse`] of a document built from a request's entry (`reportusage`), whose reports
/// `envelopes` are parsed already (`doc.reports` holds their JSON text): the same as parsing
/// the document's XML — its digest, and what [`Document::parse`] would give back — without
/// writing the XML out and reading it in again.
pub(crate) fn parse_built(
    file: &str,
    mut doc: Document,
    envelopes: Vec<Envelope>,
) -> Result<Parsed> {
    let sha256 = slp_core::text::sha256_hex(doc.to_xml().as_bytes());
    // What the XML reader does to the items: text trimmed, empty data refused.
    let mut missing = None;
    for item in &mut doc.items {
        item.data = item.data.trim().to_owned();
        if let Some(signature) = &mut item.signature {
            signature.value = signature.value.trim().to_owned();
        }
        if item.data.is_empty() && missing.is_none() {
            missing = Some(slp_wire::WireError::Missing {
                what: format!("<data> of <{}>", item.kind.element()),
            });
        }
    }
    if let Some(error) = missing {
        return Err(AuthorityError::Wire { file: file.to_owned(), error });
    }
    let reports = read_reports(file, &doc, Some(envelopes))?;
    Ok(Parsed::new(file, sha256, doc, reports))
}

/// The id of the trust code for device key `public_key` of `udi` in virtual account `va_id`:
/// the first 53 bits of a SHA-256 over the three (an integer any JSON reader keeps exact),
/// never 0. Derived rather than counted, so that the code can be signed before the store's
/// writer is taken; the same device, key and virtual account always get the same id.
pub(crate) fn trust_id_of(va_id: i64, udi: &Udi, public_key: &str) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(b"slp-trust\0");
    hasher.update(va_id.to_be_bytes());
    for part in [udi.to_string().as_str(), public_key.trim()] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) >> 11).max(1)
}

/// How the ACK names a report: `ACCEPTED` when it is `new`, else `DUPLICATE`.
fn acked_report(report: &ParsedReport, new: bool) -> AckedReport {
    AckedReport {
        report_id: report.report.report_id,
        sudi: Sudi::of(report.udi()),
        status: if new { "ACCEPTED" } else { "DUPLICATE" }.to_owned(),
        reason: None,
    }
}

/// Every RUM report of a document, parsed (or given parsed, in `doc.reports`' order); the
/// first malformed one refuses the file, as does one signed for another UDI than its payload's.
fn read_reports(
    file: &str,
    doc: &Document,
    envelopes: Option<Vec<Envelope>>,
) -> Result<Vec<ParsedReport>> {
    let refused = |reason: String| AuthorityError::Refused { file: file.to_owned(), reason };
    let mut given = envelopes.map(Vec::into_iter);
    let mut reports = Vec::new();
    for (index, text) in doc.reports.iter().enumerate() {
        let envelope = match given.as_mut().and_then(Iterator::next) {
            Some(envelope) => envelope,
            None => Envelope::parse(text)
                .map_err(|e| refused(format!("RUM report #{} is malformed: {e}", index + 1)))?,
        };
        let signed_for = &envelope.signature.sudi;
        let report = envelope.report().map_err(|e| {
            refused(format!("RUM report #{} of {signed_for} is malformed: {e}", index + 1))
        })?;
        if !signed_for.is(&report.udi) {
            return Err(AuthorityError::Report {
                file: file.to_owned(),
                udi: report.udi.to_string(),
                report_id: report.report_id,
                reason: format!("signed for {signed_for}, not the UDI in its payload"),
            });
        }
        reports.push(ParsedReport {
            envelope: text.clone(),
            parsed: envelope,
            report,
            verified_with: None,
        });
    }
    Ok(reports)
}

impl Authority {
    /// Takes a usage file (saved usage, SLAC request or SLAC return) for a virtual account and
    /// returns the ACK document to give back to the device. See the module docs of the crate.
    pub async fn upload(
        &self,
        account: &str,
        va: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<UploadOutcome> {
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        let outcome = self.upload_in(&mut tx, &account_row, &va_row, file_name, bytes).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// [`Authority::upload`] of a document that came with an ID token of the virtual account
    /// (checked by the caller): the token is the proof that lets a new device key bind a UDI
    /// (a replacement device, or a first contact the virtual account denies).
    pub(crate) async fn upload_with_token(
        &self,
        tx: &mut Tx,
        account_row: &Account,
        va_row: &VirtualAccount,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<UploadOutcome> {
        self.upload_one(tx, account_row, va_row, file_name, bytes, true).await
    }

    /// Takes a usage bundle (`UD_SA_<ts>.tar.gz` as a relay exports it, PROTOCOL.md §1.6): every
    /// device file of it in one transaction, so one bad file stores nothing. Returns the ACK
    /// bundle (`ACK_<inner>` holding `ACK_<device file>` per file) that `slp relay import`
    /// reads. A manifest that names another smart or virtual account is refused.
    pub async fn upload_bundle(
        &self,
        account: &str,
        va: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<BundleOutcome> {
        let read = bundle::read_upload(bytes, file_name)?;
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        if let Some(named) = &read.manifest.smart_account
            && *named != account_row.domain
            && *named != account_row.name
        {
            return Err(AuthorityError::Refused {
                file: file_name.to_owned(),
                reason: format!(
                    "the manifest is for smart account {named:?}, not {:?}",
                    account_row.domain
                ),
            });
        }
        if let Some(named) = &read.manifest.virtual_account
            && *named != va_row.name
        {
            return Err(AuthorityError::Refused {
                file: file_name.to_owned(),
                reason: format!(
                    "the manifest is for virtual account {named:?}, not {:?}",
                    va_row.name
                ),
            });
        }
        let mut files = Vec::new();
        let mut acks = Vec::new();
        for (inner, member, data) in &read.files {
            let label = if inner.is_empty() {
                format!("{file_name}: {member}")
            } else {
                format!("{file_name}: {inner}/{member}")
            };
            let outcome = self.upload_in(&mut tx, &account_row, &va_row, &label, data).await?;
            let base = member.rsplit('/').next().unwrap_or(member);
            acks.push((inner.clone(), format!("ACK_{base}"), outcome.ack.clone().into_bytes()));
            files.push((member.clone(), outcome));
        }
        let now = self.now();
        let ts = now.format("%Y%m%dT%H%M%S").to_string();
        let at = bundle::Stamp {
            creator: "slp-authority",
            smart_account: &account_row.domain,
            virtual_account: &va_row.name,
            ts: &ts,
            mtime: u64::try_from(now.timestamp()).unwrap_or(0),
        };
        let ack = bundle::write_ack(&acks, at)?;
        tx.commit().await?;
        tracing::info!(file = %file_name, va = %va_row.name, files = files.len(), "usage bundle processed");
        Ok(BundleOutcome { ack, files })
    }

    /// "Authorize License Enforced Features" for devices named by PID and serial number (no
    /// device request): one SLAC of `count` × `license` (feature name or entitlement tag) per
    /// UDI, all in one transaction — if one cannot be issued, none is. `what` names the source
    /// (a CSV file, `--udi`) in errors. Returns (UDI, `<smartLicense>` document) per code.
    pub async fn generate_codes(
        &self,
        account: &str,
        va: &str,
        udis: &[String],
        license: &str,
        count: u64,
        what: &str,
    ) -> Result<Vec<(String, String)>> {
        if udis.is_empty() {
            return Err(AuthorityError::Invalid {
                field: "devices",
                value: what.to_owned(),
                reason: "names no device to generate a code for".to_owned(),
            });
        }
        let entitlement = license::lookup(license)
            .map_or_else(|| license.to_owned(), |it| it.entitlement_tag.to_owned());
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        tx.lock_va(va_row.id).await?;
        let batch = IngestBatch::default();
        let job = Job {
            authority: self,
            file: what.to_owned(),
            account: account_row,
            va: va_row,
            now: self.now(),
            batch: &batch,
        };
        let pool = tx.licenses(job.va.id).await?;
        let mut seen = BTreeSet::new();
        let mut codes = Vec::new();
        for text in udis {
            let udi = text.parse::<Udi>().map_err(|e| AuthorityError::Invalid {
                field: "UDI",
                value: text.clone(),
                reason: format!("{what}: {e}"),
            })?;
            if !seen.insert(udi.clone()) {
                return Err(AuthorityError::Invalid {
                    field: "UDI",
                    value: udi.to_string(),
                    reason: format!("{what}: listed twice"),
                });
            }
            let keys = vec![docs::Key { entitlement: entitlement.clone(), count }];
            let doc = job.reserve(&mut tx, &pool, &udi, keys, false).await?;
            codes.push((udi.to_string(), doc.to_xml()));
        }
        batch.flush(&mut tx).await?;
        tx.commit().await?;
        tracing::info!(source = %what, codes = codes.len(), "authorization codes generated");
        Ok(codes)
    }

    /// CSSM's reserve step inside the caller's transaction: one SLAC of `keys` for a device
    /// named by PID and serial number alone (no device-signed request); with `replace`, the
    /// UDI's open codes of the same entitlements are returned for it (`request replace`).
    /// `what` names the request in errors. Returns the `<smartLicense>` document holding the
    /// code.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn reserve_in(
        &self,
        tx: &mut Tx,
        account_row: &Account,
        va_row: &VirtualAccount,
        udi: &Udi,
        keys: Vec<docs::Key>,
        replace: bool,
        what: &str,
    ) -> Result<Document> {
        tx.lock_va(va_row.id).await?;
        let batch = IngestBatch::default();
        let job = Job {
            authority: self,
            file: what.to_owned(),
            account: account_row.clone(),
            va: va_row.clone(),
            now: self.now(),
            batch: &batch,
        };
        let pool = tx.licenses(va_row.id).await?;
        let doc = job.reserve(tx, &pool, udi, keys, replace).await?;
        batch.flush(tx).await?;
        Ok(doc)
    }

    /// The return code of authorization code `code_id`: 24 base62 characters in four groups
    /// (the look of Cisco's), derived from the authority's signature of the code id, so that
    /// only this authority makes it and it needs no storage. It rides in the signed code, the
    /// device prints it when it gives the code back, and [`Authority::return_by_code_in`]
    /// recognizes it as Cisco's `remove_code`.
    pub(crate) fn return_code_of(&self, code_id: &str) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let signature = self.key.sign(format!("slp-return-code\0{code_id}").as_bytes());
        let digest = Sha256::digest(signature.as_bytes());
        let chars: Vec<char> = digest
            .iter()
            .take(24)
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        chars.chunks(6).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join("-")
    }

    /// Gives back the authorization code of `udi` in `va_row` whose return code is
    /// `remove_code` (Cisco's return by `remove_code`, no device-signed document), inside the
    /// caller's transaction: its keys go back to the pool. A code returned already with that
    /// return code is a success that changes nothing (`Ok(false)`). `what` names the request
    /// in errors.
    pub(crate) async fn return_by_code_in(
        &self,
        tx: &mut Tx,
        account_row: &Account,
        va_row: &VirtualAccount,
        udi: &Udi,
        remove_code: &str,
        what: &str,
    ) -> Result<bool> {
        tx.lock_va(va_row.id).await?;
        let remove_code = remove_code.trim();
        let udi_string = udi.to_string();
        let rows: Vec<slp_store::Authorization> = tx
            .authorizations(va_row.id)
            .await?
            .into_iter()
            .filter(|r| r.udi == udi_string)
            .collect();
        let matches = |r: &slp_store::Authorization| {
            r.return_code.as_deref() == Some(remove_code)
                || self.return_code_of(&r.code_id) == remove_code
        };
        let Some(found) = rows.iter().find(|r| matches(r)) else {
            let elsewhere = tx
                .open_authorizations_of(account_row.id, &udi_string)
                .await?
                .into_iter()
                .any(|r| r.va_id != va_row.id && matches(&r));
            let reason = if elsewhere {
                format!(
                    "it is the return code of a code issued to {udi} in another virtual account than {:?}",
                    va_row.name
                )
            } else {
                format!(
                    "it is not the return code of any authorization code issued to {udi} in virtual account {:?}",
                    va_row.name
                )
            };
            return Err(AuthorityError::BadReturn {
                file: what.to_owned(),
                udi: udi_string,
                code_id: format!("by return code {remove_code}"),
                reason,
            });
        };
        let code_id = found.code_id.clone();
        let features: Vec<&str> =
            rows.iter().filter(|r| r.code_id == code_id).map(|r| r.feature.as_str()).collect();
        let now = self.now();
        let changed = tx.return_authorization(&code_id, remove_code, now.timestamp()).await?;
        if changed > 0 {
            let batch = IngestBatch::default();
            let job = Job {
                authority: self,
                file: what.to_owned(),
                account: account_row.clone(),
                va: va_row.clone(),
                now,
                batch: &batch,
            };
            job.note(job.event(
                Some(udi),
                format!(
                    "authorization code {code_id} of {udi} returned by return code {remove_code}: {} back in the pool",
                    features.join(", ")
                ),
            ));
            batch.flush(tx).await?;
        }
        Ok(changed > 0)
    }

    /// [`Authority::upload`] inside the caller's transaction (the API ingests several documents
    /// of one request all or nothing). The caller commits.
    pub(crate) async fn upload_in(
        &self,
        tx: &mut Tx,
        account_row: &Account,
        va_row: &VirtualAccount,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<UploadOutcome> {
        self.upload_one(tx, account_row, va_row, file_name, bytes, false).await
    }

    /// Parses and ingests one document in the caller's transaction; `token` as for
    /// [`Authority::ingest`].
    async fn upload_one(
        &self,
        tx: &mut Tx,
        account_row: &Account,
        va_row: &VirtualAccount,
        file_name: &str,
        bytes: &[u8],
        token: bool,
    ) -> Result<UploadOutcome> {
        let parsed = parse(file_name, bytes)?;
        let batch = IngestBatch::default();
        let outcome = self.ingest(tx, &batch, account_row, va_row, &parsed, token).await?;
        batch.flush(tx).await?;
        Ok(outcome)
    }

    /// Ingests the document `parsed` for virtual account `va_row` in the caller's transaction,
    /// its store work in `batch` (whose writes the caller makes with [`IngestBatch::flush`]
    /// before committing): the stored ACK of a byte-identical earlier upload, or the document
    /// checked, planned ([`check::plan`]) and applied. `token` tells whether the request came
    /// with an ID token of the virtual account (checked by the caller): the proof that lets a
    /// new device key bind a UDI (a replacement device, or a first contact the virtual account
    /// denies).
    pub(crate) async fn ingest(
        &self,
        tx: &mut Tx,
        batch: &IngestBatch,
        account_row: &Account,
        va_row: &VirtualAccount,
        parsed: &Parsed,
        token: bool,
    ) -> Result<UploadOutcome> {
        let now = self.now();
        tx.lock_va(va_row.id).await?;
        if let Some((ack, pi_count)) = batch.upload_by_sha(tx, va_row.id, &parsed.sha256).await? {
            tracing::info!(file = %parsed.file, va = %va_row.name, "byte-identical upload: stored ACK returned");
            return Ok(UploadOutcome {
                ack,
                replayed: true,
                product_instances: usize::try_from(pi_count).unwrap_or(0),
                accepted: 0,
                duplicate: 0,
                trust_codes: 0,
                authorizations: 0,
                returns: 0,
                policy: false,
            });
        }
        let job = Job {
            authority: self,
            file: parsed.file.clone(),
            account: account_row.clone(),
            va: va_row.clone(),
            now,
            batch,
        };
        let (window, now_ts) = (self.report_window, now.timestamp());
        let reading = check::read(&parsed.file, &parsed.doc, &parsed.reports, window, now_ts)?;
        let facts = job.facts(tx, &reading, token).await?;
        let plan = check::plan(reading, &facts)?;
        job.apply(tx, parsed, plan).await
    }
}

/// The store work of a batch of documents ingested in one transaction — the documents of one
/// request, or every document of a group of `reportusage` requests committed together
/// ([`crate::domain::group`]) — so that the store is asked once per batch rather than once per
/// document: read ahead (the policy in force; the uploads, product instances, reports and polls
/// looked up at once by [`IngestBatch::prefetch`]), and written behind (what the documents
/// register, take and log, written at once by [`IngestBatch::flush`] before the commit). A later
/// document of the batch sees what an earlier one changed: its product instances, reports and
/// uploads are found here before the store is asked.
#[derive(Default)]
pub(crate) struct IngestBatch {
    policy: std::sync::Mutex<Option<(i64, Option<slp_store::PolicyRecord>)>>,
    events: std::sync::Mutex<Vec<NewEvent>>,
    /// Looked up ahead, by virtual account and digest; each answer is used once (a second
    /// document with the same digest finds the first one's record in `uploads`).
    known_uploads: std::sync::Mutex<BTreeMap<(i64, String), Option<slp_store::Upload>>>,
    /// Usage from this batch's reports, newest per instance and license, with the smart
    /// account of the instance, written by `flush`.
    usage: std::sync::Mutex<BTreeMap<(i64, String), (i64, Usage)>>,
    /// Uploads recorded by this batch, written by `flush`.
    uploads: std::sync::Mutex<Vec<NewUpload>>,
    /// Looked up ahead, by (smart account, UDI); each answer is used once, so that a product
    /// instance changed by one document is read from the store by the next.
    known_pis: std::sync::Mutex<BTreeMap<AccountUdi, Option<ProductInstance>>>,
    /// Product instances registered by this batch, written by `flush`. Until then each has a
    /// placeholder id below zero (`-1 - index`) and later documents of the batch find it
    /// here; the usage rows of its reports name it by UDI.
    new_pis: std::sync::Mutex<Vec<ProductInstance>>,
    /// Whether a report (smart account, UDI, report id) is stored already or taken by this
    /// batch: looked up ahead ([`IngestBatch::prefetch`]) or when a document first names it.
    known_reports: std::sync::Mutex<BTreeMap<ReportKey, bool>>,
    /// Reports new to the store, taken by this batch's documents, written by `flush`.
    reports: std::sync::Mutex<Vec<ReceivedReport>>,
    /// Contact recorded by this batch: product instance id → (hostname, when), written by
    /// `flush`.
    touches: std::sync::Mutex<BTreeMap<i64, (Option<String>, i64)>>,
    /// Looked up ahead ([`IngestBatch::prefetch`]): poll id → (virtual account, action) of a
    /// stored poll, `None` when there is none.
    known_polls: std::sync::Mutex<BTreeMap<i64, Option<(i64, String)>>>,
    /// Poll results recorded by this batch, written by `flush`.
    polls: std::sync::Mutex<Vec<slp_store::PollRecord>>,
}

impl IngestBatch {
    /// Looks up at once (one round trip on SQLite: [`Tx::ingest_lookup`]) what the documents of
    /// a group will ask for: the uploads of each virtual account by digest, the reports (smart
    /// account, UDI, report id), the product instances of `udis` (smart account, UDI) and the
    /// polls of `poll_ids`.
    pub(crate) async fn prefetch(
        &self,
        tx: &mut Tx,
        digests: &[(i64, Vec<String>)],
        udis: &[AccountUdi],
        reports: &[ReportKey],
        poll_ids: &[i64],
    ) -> Result<()> {
        let found = tx.ingest_lookup(digests, reports, udis, poll_ids).await?;
        if let Ok(mut known) = self.known_uploads.lock() {
            for (va_id, digests) in digests {
                for digest in digests {
                    let hit =
                        found.uploads.iter().find(|u| u.va_id == *va_id && u.sha256 == *digest);
                    known.insert((*va_id, digest.clone()), hit.cloned());
                }
            }
        }
        let stored: BTreeSet<&ReportKey> = found.reports.iter().collect();
        if let Ok(mut known) = self.known_reports.lock() {
            for key in reports {
                known.insert(key.clone(), stored.contains(key));
            }
        }
        if let Ok(mut known) = self.known_pis.lock() {
            let registered: BTreeMap<(i64, &str), &ProductInstance> =
                found.pis.iter().map(|pi| ((pi.account_id, pi.udi.as_str()), pi)).collect();
            for (account, udi) in udis {
                let pi = registered.get(&(*account, udi.as_str())).map(|pi| (*pi).clone());
                known.insert((*account, udi.clone()), pi);
            }
        }
        if let Ok(mut known) = self.known_polls.lock() {
            for id in poll_ids {
                let owner = found.polls.iter().find(|(poll_id, _, _)| poll_id == id);
                known.insert(*id, owner.map(|(_, va_id, action)| (*va_id, action.clone())));
            }
        }
        Ok(())
    }

    /// Whose poll `poll_id` is, if stored or recorded by this group: (virtual account,
    /// action). `None` when it was not looked up ahead.
    pub(crate) fn poll_owner(&self, poll_id: i64) -> Option<Option<(i64, String)>> {
        let pending = self.polls.lock().ok().and_then(|polls| {
            polls.iter().find(|p| p.poll_id == poll_id).map(|p| (p.va_id, p.action.clone()))
        });
        if pending.is_some() {
            return Some(pending);
        }
        self.known_polls.lock().ok().and_then(|known| known.get(&poll_id).cloned())
    }

    /// Records a poll result for `flush` to write.
    pub(crate) fn add_poll(&self, record: slp_store::PollRecord) {
        if let Ok(mut polls) = self.polls.lock() {
            polls.push(record);
        }
    }

    /// The earlier upload of these bytes, if any: recorded by this batch, looked up ahead,
    /// or in the store.
    async fn upload_by_sha(
        &self,
        tx: &mut Tx,
        va_id: i64,
        digest: &str,
    ) -> Result<Option<(String, i64)>> {
        let pending = self.uploads.lock().ok().and_then(|uploads| {
            uploads
                .iter()
                .find(|u| u.va_id == va_id && u.sha256 == digest)
                .map(|u| (u.ack.clone(), u.pi_count))
        });
        if pending.is_some() {
            return Ok(pending);
        }
        let ahead = self
            .known_uploads
            .lock()
            .ok()
            .and_then(|mut known| known.remove(&(va_id, digest.to_owned())));
        let found = match ahead {
            Some(found) => found,
            None => tx.upload_by_sha(va_id, digest).await?,
        };
        Ok(found.map(|u| (u.ack, u.pi_count)))
    }

    /// The product instance of `udi` in smart account `account`: registered by this batch,
    /// looked up ahead, or in the store.
    async fn pi_by_udi(
        &self,
        tx: &mut Tx,
        account: i64,
        udi: &Udi,
    ) -> Result<Option<ProductInstance>> {
        let udi = udi.to_string();
        let pending = self.new_pis.lock().ok().and_then(|new| {
            new.iter().find(|pi| pi.account_id == account && pi.udi == udi).cloned()
        });
        if pending.is_some() {
            return Ok(pending);
        }
        let ahead =
            self.known_pis.lock().ok().and_then(|mut known| known.remove(&(account, udi.clone())));
        match ahead {
            Some(found) => Ok(found),
            None => Ok(tx.pi_by_udi(account, &udi).await?),
        }
    }

    /// Which of `reports` (UDI, report id, of smart account `account`) are stored already or
    /// taken by an earlier document of the batch: looked up ahead, or now in the store.
    async fn known_reports(
        &self,
        tx: &mut Tx,
        account: i64,
        reports: &BTreeSet<(Udi, u64)>,
    ) -> Result<BTreeMap<Udi, BTreeSet<u64>>> {
        let keys: Vec<(ReportKey, &(Udi, u64))> = reports
            .iter()
            .filter_map(|key| {
                let id = i64::try_from(key.1).ok()?;
                Some(((account, key.0.to_string(), id), key))
            })
            .collect();
        let unknown: Vec<ReportKey> = match self.known_reports.lock() {
            Ok(known) => keys
                .iter()
                .map(|(key, _)| key)
                .filter(|key| !known.contains_key(*key))
                .cloned()
                .collect(),
            Err(_) => Vec::new(),
        };
        let stored: BTreeSet<ReportKey> = if unknown.is_empty() {
            BTreeSet::new()
        } else {
            tx.existing_reports(&unknown).await?.into_iter().collect()
        };
        let mut found: BTreeMap<Udi, BTreeSet<u64>> = BTreeMap::new();
        if let Ok(mut known) = self.known_reports.lock() {
            for key in unknown {
                let stored = stored.contains(&key);
                known.insert(key, stored);
            }
            for (key, (udi, id)) in keys {
                if known.get(&key).copied().unwrap_or(false) {
                    found.entry(udi.clone()).or_default().insert(*id);
                }
            }
        }
        Ok(found)
    }

    /// Takes the reports of `rows` (of smart account `account`, new to the store and to the
    /// batch, as [`check::plan`] found them) for this batch; `flush` stores them.
    fn take_reports(&self, account: i64, rows: Vec<ReceivedReport>) {
        if let (Ok(mut known), Ok(mut pending)) = (self.known_reports.lock(), self.reports.lock()) {
            for row in &rows {
                known.insert((account, row.udi.clone(), row.report_id), true);
            }
            pending.extend(rows);
        }
    }

    /// Keeps `usage` (of product instance `usage.pi_id` of smart account `account`) for
    /// `flush`, unless the batch holds newer usage of the instance and license already: usage
    /// is what the latest report says (CSSM: "as per the last received RUM report").
    fn record_usage(&self, account: i64, usage: Usage) {
        if let Ok(mut pending) = self.usage.lock() {
            match pending.entry((usage.pi_id, usage.entitlement_tag.clone())) {
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert((account, usage));
                }
                std::collections::btree_map::Entry::Occupied(mut slot) => {
                    let held = &slot.get().1;
                    if (usage.as_of, usage.report_id) > (held.as_of, held.report_id) {
                        slot.insert((account, usage));
                    }
                }
            }
        }
    }

    /// Registers a product instance (`flush` writes it): the record with its placeholder id.
    fn register(&self, new: &NewProductInstance) -> ProductInstance {
        let mut pending = self.new_pis.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let pi = new.registered(-1 - i64::try_from(pending.len()).unwrap_or(i64::MAX - 1));
        pending.push(pi.clone());
        pi
    }

    /// Changes a product instance registered by this batch (`pi_id` below zero); `false`
    /// when it is not one.
    fn change_new(&self, pi_id: i64, change: impl FnOnce(&mut ProductInstance)) -> bool {
        let Some(index) = pi_id.checked_neg().and_then(|n| usize::try_from(n - 1).ok()) else {
            return false;
        };
        let mut pending = self.new_pis.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match pending.get_mut(index) {
            Some(pi) if pi_id < 0 => {
                change(pi);
                true
            }
            _ => false,
        }
    }

    /// Binds product instance `pi_id` to another device key.
    async fn rebind(&self, tx: &mut Tx, pi_id: i64, key: &str) -> Result<()> {
        let changed = self.change_new(pi_id, |pi| {
            pi.public_key = key.to_owned();
            pi.key_seen = None;
        });
        if !changed {
            tx.rebind_pi(pi_id, key).await?;
        }
        Ok(())
    }

    /// Records the trust code issued to product instance `pi_id`.
    async fn trust(&self, tx: &mut Tx, pi_id: i64, trust_id: i64, now: i64) -> Result<()> {
        let recorded = self.change_new(pi_id, |pi| {
            pi.trust_id = Some(trust_id);
            pi.trusted_at = Some(now);
        });
        if !recorded {
            tx.set_pi_trust(pi_id, trust_id, now).await?;
        }
        Ok(())
    }

    /// Records contact with product instance `pi_id` at `now` (`flush` writes it).
    fn touch(&self, pi_id: i64, hostname: Option<String>, now: i64) {
        let changed = self.change_new(pi_id, |pi| {
            pi.last_contact = now;
            if hostname.is_some() {
                pi.hostname.clone_from(&hostname);
            }
        });
        if changed {
            return;
        }
        if let Ok(mut touches) = self.touches.lock() {
            let slot = touches.entry(pi_id).or_insert((None, now));
            slot.1 = now;
            if hostname.is_some() {
                slot.0 = hostname;
            }
        }
    }

    /// Writes the reports, contact, usage, events and upload records of every document
    /// ingested so far. A report taken by this batch but stored meanwhile by another (a
    /// replica that did not wait for the same lock) refuses the whole batch: its ACKs would
    /// have said ACCEPTED for a report counted elsewhere.
    pub(crate) async fn flush(&self, tx: &mut Tx) -> Result<()> {
        fn take<T: Default>(slot: &std::sync::Mutex<T>) -> T {
            slot.lock().map(|mut held| std::mem::take(&mut *held)).unwrap_or_default()
        }
        let touches = take(&self.touches);
        let mut by_time: BTreeMap<i64, Vec<(i64, Option<String>)>> = BTreeMap::new();
        for (pi_id, (hostname, at)) in touches {
            by_time.entry(at).or_default().push((pi_id, hostname));
        }
        let touches: Vec<slp_store::Contact> = by_time.into_iter().collect();
        // Usage names its product instance by UDI: those registered by this batch have
        // their ids only once written, in the same round trip.
        let usage: Vec<(i64, Usage)> = take(&self.usage).into_values().collect();
        let (new_pis, reports, events, uploads, polls) = (
            take(&self.new_pis),
            take(&self.reports),
            take(&self.events),
            take(&self.uploads),
            take(&self.polls),
        );
        // Every report was found new in this transaction; one stored meanwhile by another
        // replica refuses the whole batch.
        tx.ingest_write(&slp_store::IngestWrite {
            new_pis: &new_pis,
            reports: &reports,
            touches: &touches,
            events: &events,
            usage: &usage,
            uploads: &uploads,
            polls: &polls,
        })
        .await?;
        Ok(())
    }
}

struct Job<'a> {
    authority: &'a Authority,
    file: String,
    account: Account,
    va: VirtualAccount,
    now: chrono::DateTime<chrono::Utc>,
    /// Shared with the other documents of the batch; events are kept here.
    batch: &'a IngestBatch,
}

impl Job<'_> {
    fn refused(&self, reason: String) -> AuthorityError {
        AuthorityError::Refused { file: self.file.clone(), reason }
    }

    /// Keeps an event for the log; [`IngestBatch::flush`] writes them all in one statement.
    fn note(&self, event: NewEvent) {
        if let Ok(mut events) = self.batch.events.lock() {
            events.push(event);
        }
    }

    /// The custom policy in force for the job's virtual account, looked up once per batch.
    async fn policy_in_force(&self, tx: &mut Tx) -> Result<Option<slp_store::PolicyRecord>> {
        let cached = self.batch.policy.lock().ok().and_then(|p| p.clone());
        if let Some((va_id, policy)) = cached
            && va_id == self.va.id
        {
            return Ok(policy);
        }
        let policy = tx.policy_in_force(self.va.id).await?;
        if let Ok(mut slot) = self.batch.policy.lock() {
            *slot = Some((self.va.id, policy.clone()));
        }
        Ok(policy)
    }

    fn event(&self, udi: Option<&Udi>, message: String) -> NewEvent {
        NewEvent {
            at: self.now.timestamp(),
            account_id: Some(self.account.id),
            va_id: Some(self.va.id),
            udi: udi.map(Udi::to_string),
            message,
            actor: self.authority.actor(),
        }
    }

    /// One SLAC of `keys` for a device named by PID and serial number alone, as a document:
    /// refused when the UDI is registered in another virtual account of the smart account.
    async fn reserve(
        &self,
        tx: &mut Tx,
        pool: &[slp_store::License],
        udi: &Udi,
        keys: Vec<docs::Key>,
        replace: bool,
    ) -> Result<Document> {
        // A UDI is scoped to its smart account: only this account's instance of it counts.
        if let Some(pi) = tx.pi_by_udi(self.account.id, &udi.to_string()).await?
            && pi.va_id != self.va.id
        {
            let other = tx.va(pi.va_id).await?;
            return Err(AuthorityError::UdiElsewhere {
                file: self.file.clone(),
                udi: udi.to_string(),
                va: self.va.name.clone(),
                location: format!(
                    "virtual account {:?}",
                    other.map(|v| v.name).unwrap_or_default()
                ),
            });
        }
        let request = AuthRequestItem { replace, ..AuthRequestItem::new(Sudi::of(udi), keys) };
        let signed = self.issue(tx, pool, udi, &request).await?;
        Ok(Document { reports: Vec::new(), items: vec![signed] })
    }

    /// Issues one authorization code (SLAC) for `udi` from `pool` (the virtual account's
    /// licenses): reserves the keys, replaces open codes when asked, logs the event.
    async fn issue(
        &self,
        tx: &mut Tx,
        pool: &[slp_store::License],
        udi: &Udi,
        request: &AuthRequestItem,
    ) -> Result<Signed> {
        let udi_string = udi.to_string();
        let now_ts = self.now.timestamp();
        let issued_at = rfc3339(self.now);
        let authority_key = self.authority.public_key();
        let code_id = uuid::Uuid::new_v4().to_string();
        let mut granted: Vec<Granted> = Vec::new();
        for key in &request.keys {
            let entries: Vec<_> = pool
                .iter()
                .filter(|e| {
                    e.entitlement_tag == key.entitlement
                        && Enforcement::parse(&e.enforcement)
                            .is_some_and(Enforcement::needs_authorization)
                        && e.expires_at.is_none_or(|at| at > now_ts)
                })
                .collect();
            let Some(first) = entries.first() else {
                return Err(AuthorityError::UnknownEntitlement {
                    file: self.file.clone(),
                    udi: udi_string,
                    entitlement: key.entitlement.clone(),
                    va: self.va.name.clone(),
                });
            };
            if request.replace {
                for open in tx.open_authorizations_of(self.account.id, &udi_string).await? {
                    if open.entitlement_tag == key.entitlement && open.va_id == self.va.id {
                        let note = format!("REPLACED-BY-{code_id}");
                        tx.return_authorization(&open.code_id, &note, now_ts).await?;
                        self.note(self.event(
                            Some(udi),
                            format!(
                                "authorization code {} of {udi} replaced by {code_id}",
                                open.code_id
                            ),
                        ));
                    }
                }
            }
            let purchased = crate::total(entries.iter().map(|e| e.quantity));
            let reserved = tx.reserved(self.va.id, &key.entitlement).await?;
            let available = purchased.saturating_sub(reserved);
            let requested = i64::try_from(key.count).unwrap_or(i64::MAX);
            if key.count == 0 || requested > available {
                return Err(AuthorityError::Insufficient {
                    file: self.file.clone(),
                    udi: udi_string,
                    feature: first.feature.clone(),
                    va: self.va.name.clone(),
                    requested: key.count,
                    available,
                });
            }
            tx.insert_authorization(&NewAuthorization {
                code_id: code_id.clone(),
                va_id: self.va.id,
                udi: udi_string.clone(),
                entitlement_tag: key.entitlement.clone(),
                feature: first.feature.clone(),
                count: requested,
                issued_at: now_ts,
            })
            .await?;
            let end = entries.iter().filter_map(|e| e.expires_at).min();
            granted.push(Granted {
                entitlement: key.entitlement.clone(),
                feature: first.feature.clone(),
                count: key.count,
                license_type: Term::parse(&first.term)
                    .map_or_else(|| first.term.clone(), |t| t.as_str().to_owned()),
                end_date: end.map(crate::rfc3339_ts),
            });
        }
        if granted.is_empty() {
            return Err(
                self.refused(format!("the authorization request of {udi} asks for nothing"))
            );
        }
        let sudi = request.sudi.clone();
        let features: Vec<String> =
            granted.iter().map(|g| format!("{} x{}", g.feature, g.count)).collect();
        let code = Authorization {
            code_id: code_id.clone(),
            sudi,
            issued_at: issued_at.clone(),
            smart_account: self.account.name.clone(),
            virtual_account: self.va.name.clone(),
            entitlements: granted,
            authority_key: authority_key.clone(),
            return_code: Some(self.authority.return_code_of(&code_id)),
        };
        let signed = docs::sign_json(Kind::Authorization, &code, &self.authority.key);
        self.note(self.event(
            Some(udi),
            format!("authorization code {code_id} issued to {udi}: {}", features.join(", ")),
        ));
        Ok(signed)
    }

    /// What [`check::plan`] needs to know of the store (and of the batch) for the UDIs and
    /// reports `reading` names; `token`: whether the request came with an ID token of the
    /// job's virtual account.
    async fn facts<'f>(
        &'f self,
        tx: &mut Tx,
        reading: &check::Reading<'_>,
        token: bool,
    ) -> Result<Facts<'f>> {
        let mut facts = Facts {
            account: &self.account.domain,
            va: &self.va.name,
            va_id: self.va.id,
            first_contact: self.va.first_contact,
            token,
            pis: BTreeMap::new(),
            elsewhere: BTreeMap::new(),
            grants: BTreeMap::new(),
            known_reports: BTreeMap::new(),
        };
        for udi in reading.udis() {
            let Some(pi) = self.batch.pi_by_udi(tx, self.account.id, &udi).await? else {
                if !facts.token && reading.may_need_proof(&udi, None, facts.first_contact) {
                    let grants = tx.bind_grants(self.va.id, &udi.to_string()).await?;
                    facts.grants.insert(udi.clone(), grants);
                }
                continue;
            };
            if pi.va_id != self.va.id {
                let other = tx.va(pi.va_id).await?;
                facts.elsewhere.insert(udi.clone(), other.map(|v| v.name).unwrap_or_default());
            } else if !facts.token && reading.may_need_proof(&udi, Some(&pi), facts.first_contact) {
                let grants = tx.bind_grants(self.va.id, &udi.to_string()).await?;
                facts.grants.insert(udi.clone(), grants);
            }
            facts.pis.insert(udi, pi);
        }
        let reports = reading.report_keys();
        if !reports.is_empty() {
            facts.known_reports = self.batch.known_reports(tx, self.account.id, &reports).await?;
        }
        Ok(facts)
    }

    /// Carries out `plan` for the document `parsed` in the store's transaction (through the
    /// batch) and builds its ACK: it writes, signs what was not signed ahead, and logs. What the
    /// document binds and which of its reports are new is the plan's; only what the stored
    /// authorization codes and licenses tell is found out here, as they are written (a return
    /// of a code not issued to the UDI, a request the pool cannot serve).
    async fn apply(&self, tx: &mut Tx, parsed: &Parsed, plan: Plan) -> Result<UploadOutcome> {
        let reports = parsed.reports.as_slice();
        let now_ts = self.now.timestamp();
        let issued_at = rfc3339(self.now);
        let authority_key = self.authority.public_key();
        let Plan { active, hostname, units, binds, trust, requests, returns, takes } = plan;

        // ---- product instances ---------------------------------------------------------------
        let mut pis: BTreeMap<Udi, ProductInstance> = BTreeMap::new();
        for (udi, bind) in binds {
            let unit_hostname = if units.contains(&udi) { hostname.clone() } else { None };
            let pi = match bind.change {
                Change::Register(proof) => {
                    if let Some(proof) = &proof {
                        self.use_proof(tx, &udi, proof).await?;
                    }
                    let pi = self.batch.register(&NewProductInstance {
                        va_id: self.va.id,
                        account_id: self.account.id,
                        udi: udi.to_string(),
                        hostname: unit_hostname,
                        public_key: bind.key.clone(),
                        now: now_ts,
                        key_seen: None,
                    });
                    let proof = proof.map(|p| format!(", {}", p.describe()));
                    self.note(self.event(
                        Some(&udi),
                        format!(
                            "product instance {udi} registered with device key {}{}",
                            key_id(&bind.key),
                            proof.unwrap_or_default()
                        ),
                    ));
                    pi
                }
                Change::Keep(pi) => {
                    self.batch.touch(pi.id, unit_hostname, now_ts);
                    pi
                }
                Change::RegisterUnverified { seen, proof } => {
                    if let Some(proof) = &proof {
                        self.use_proof(tx, &udi, proof).await?;
                    }
                    let pi = self.batch.register(&NewProductInstance {
                        va_id: self.va.id,
                        account_id: self.account.id,
                        udi: udi.to_string(),
                        hostname: unit_hostname,
                        public_key: String::new(),
                        now: now_ts,
                        key_seen: Some(seen.clone()),
                    });
                    let proof = proof.map(|p| format!(", {}", p.describe()));
                    self.note(self.event(
                        Some(&udi),
                        format!(
                            "product instance {udi} registered unverified: its reports are signed {seen}, which the authority cannot verify; system information or a trust request with its device key verifies it{}",
                            proof.unwrap_or_default()
                        ),
                    ));
                    tracing::info!(%udi, %seen, "product instance registered unverified");
                    pi
                }
                Change::Verify(mut pi) => {
                    self.batch.touch(pi.id, unit_hostname, now_ts);
                    self.batch.rebind(tx, pi.id, &bind.key).await?;
                    self.note(self.event(
                        Some(&udi),
                        format!(
                            "product instance {udi} verified: bound to device key {} (its reports were signed {}, unverified)",
                            key_id(&bind.key),
                            pi.key_seen.as_deref().unwrap_or("?")
                        ),
                    ));
                    pi.public_key = bind.key.clone();
                    pi.key_seen = None;
                    pi
                }
                Change::Rebind(mut pi, proof) => {
                    self.use_proof(tx, &udi, &proof).await?;
                    self.batch.touch(pi.id, unit_hostname, now_ts);
                    self.batch.rebind(tx, pi.id, &bind.key).await?;
                    self.note(self.event(
                        Some(&udi),
                        format!(
                            "product instance {udi} re-bound from device key {} to {} by a trust request, {}",
                            key_id(&pi.public_key),
                            key_id(&bind.key),
                            proof.describe()
                        ),
                    ));
                    tracing::warn!(%udi, "product instance re-bound to a new device key");
                    pi.public_key = bind.key.clone();
                    pi
                }
            };
            pis.insert(udi, pi);
        }
        let pi_of = |udi: &Udi| -> Result<ProductInstance> {
            pis.get(udi).cloned().ok_or_else(|| self.refused(format!("{udi} was not resolved")))
        };

        // ---- trust codes --------------------------------------------------------------------
        let mut trust_codes: Vec<Signed> = Vec::new();
        for (udi, public_key) in &trust {
            let pi = pi_of(udi)?;
            let trust_id = trust_id_of(self.va.id, udi, public_key);
            self.batch
                .trust(tx, pi.id, i64::try_from(trust_id).unwrap_or(i64::MAX), now_ts)
                .await?;
            let sudi = Sudi::of(udi);
            // Signed ahead when it says the same (its time aside).
            let ahead = parsed.presigned_trust.iter().find(|(code, _)| {
                let TrustCode {
                    trust_id: ahead_id,
                    sudi: ahead_sudi,
                    public_key: ahead_public,
                    smart_account,
                    virtual_account,
                    issued_at: _,
                    authority_key: ahead_key,
                } = code;
                *ahead_id == trust_id
                    && *ahead_sudi == sudi
                    && ahead_public == public_key
                    && *smart_account == self.account.name
                    && *virtual_account == self.va.name
                    && *ahead_key == authority_key
            });
            trust_codes.push(match ahead {
                Some((_, signed)) => signed.clone(),
                None => {
                    let code = TrustCode {
                        trust_id,
                        sudi,
                        public_key: public_key.clone(),
                        smart_account: self.account.name.clone(),
                        virtual_account: self.va.name.clone(),
                        issued_at: issued_at.clone(),
                        authority_key: authority_key.clone(),
                    };
                    docs::sign_json(Kind::TrustCode, &code, &self.authority.key)
                }
            });
            self.note(self.event(Some(udi), format!("trust code {trust_id} issued to {udi}")));
        }

        // ---- reports and usage --------------------------------------------------------------
        // The reports the plan found new are taken for the batch (stored by `IngestBatch::flush`
        // in one multi-row statement), and their usage kept if newest: usage is what the latest
        // report says, per product instance and license.
        let mut rows: Vec<ReceivedReport> = Vec::new();
        for (checked, take) in reports.iter().zip(&takes) {
            let Take::New { count } = *take else { continue };
            let report = &checked.report;
            let pi = pi_of(checked.udi())?;
            let row = ReceivedReport {
                va_id: self.va.id,
                udi: checked.udi().to_string(),
                report_id: i64::try_from(report.report_id).unwrap_or(i64::MAX),
                entitlement_tag: report.entitlement_tag.clone(),
                count,
                end_time: report.end_time(),
                status: "ACCEPTED".to_owned(),
                received_at: now_ts,
                envelope: checked.envelope.clone(),
            };
            self.batch.record_usage(
                self.account.id,
                Usage {
                    pi_id: pi.id,
                    udi: row.udi.clone(),
                    feature: license::feature_name(&row.entitlement_tag),
                    entitlement_tag: row.entitlement_tag.clone(),
                    count,
                    as_of: row.end_time,
                    report_id: row.report_id,
                },
            );
            rows.push(row);
        }
        let accepted = rows.len();
        let duplicate = reports.len() - accepted;
        self.batch.take_reports(self.account.id, rows);
        let acked: Vec<AckedReport> = reports
            .iter()
            .zip(&takes)
            .map(|(checked, take)| acked_report(checked, take.is_new()))
            .collect();
        let mut tally: BTreeMap<&Udi, (usize, usize)> = BTreeMap::new();
        for (checked, take) in reports.iter().zip(&takes) {
            let (new, again) = tally.entry(checked.udi()).or_default();
            if take.is_new() {
                *new += 1;
            } else {
                *again += 1;
            }
        }
        for (udi, (new, again)) in tally {
            self.note(self.event(
                Some(udi),
                format!("{new} RUM report(s) accepted, {again} duplicate, from {udi}"),
            ));
        }

        // ---- authorization returns, then requests --------------------------------------------
        for (udi, ret) in &returns {
            let rows = tx.authorization_code(&ret.code_id).await?;
            let udi_string = udi.to_string();
            let bad = |reason: &str| AuthorityError::BadReturn {
                file: self.file.clone(),
                udi: udi_string.clone(),
                code_id: ret.code_id.clone(),
                reason: reason.to_owned(),
            };
            let mine: Vec<_> =
                rows.iter().filter(|r| r.udi == udi_string && r.va_id == self.va.id).collect();
            if mine.is_empty() {
                return Err(bad(&format!(
                    "it was not issued to {udi} in virtual account {:?}",
                    self.va.name
                )));
            }
            if mine.iter().all(|r| r.returned_at.is_some()) {
                // The same return sent again (the device did not get the first answer, or sends
                // it once more after a switchover): taken again, nothing changes. Another
                // return code for a code returned already is refused.
                if mine.iter().all(|r| r.return_code.as_deref() == Some(ret.return_code.as_str())) {
                    continue;
                }
                return Err(bad("it was returned already"));
            }
            tx.return_authorization(&ret.code_id, &ret.return_code, now_ts).await?;
            let features: Vec<&str> = mine.iter().map(|r| r.feature.as_str()).collect();
            self.note(self.event(
                Some(udi),
                format!(
                    "authorization code {} returned by {udi} (return code {}): {} back in the pool",
                    ret.code_id,
                    ret.return_code,
                    features.join(", ")
                ),
            ));
        }
        let mut authorizations: Vec<Signed> = Vec::new();
        if !requests.is_empty() {
            let pool = tx.licenses(self.va.id).await?;
            for (udi, request) in &requests {
                authorizations.push(self.issue(tx, &pool, udi, request).await?);
            }
        }

        // ---- the ACK ------------------------------------------------------------------------
        let mut items: Vec<Signed> = Vec::new();
        if !reports.is_empty() || !trust.is_empty() {
            // One ACK per product instance the reports come from (the active, for an HA set).
            let mut heads: Vec<&Udi> = Vec::new();
            if let Some(active) = &active {
                heads.push(active);
            } else {
                for r in reports {
                    if !heads.contains(&r.udi()) {
                        heads.push(r.udi());
                    }
                }
                for udi in trust.keys() {
                    if heads.is_empty() {
                        heads.push(udi);
                    }
                }
            }
            for head in heads {
                let sudi = Sudi::of(head);
                let listed: Vec<AckedReport> = if active.is_some() {
                    acked.clone()
                } else {
                    let of_head = reports.iter().map(|r| r.udi() == head);
                    acked
                        .iter()
                        .zip(of_head)
                        .filter(|(_, mine)| *mine)
                        .map(|(a, _)| a.clone())
                        .collect()
                };
                // Signed ahead when it says the same (its id and time aside): compared field by
                // field, without building the ACK first.
                let ahead = parsed.presigned_ack.as_ref().filter(|(ack, _)| {
                    let RumAck {
                        ack_id: _,
                        issued_at: _,
                        sudi: ahead_sudi,
                        smart_account,
                        virtual_account,
                        reports,
                        authority_key: ahead_key,
                    } = ack;
                    *ahead_sudi == sudi
                        && *smart_account == self.account.name
                        && *virtual_account == self.va.name
                        && *reports == listed
                        && *ahead_key == authority_key
                });
                items.push(match ahead {
                    Some((_, signed)) => signed.clone(),
                    None => {
                        let ack = RumAck {
                            ack_id: uuid::Uuid::new_v4().to_string(),
                            issued_at: issued_at.clone(),
                            sudi,
                            smart_account: self.account.name.clone(),
                            virtual_account: self.va.name.clone(),
                            reports: listed,
                            authority_key: authority_key.clone(),
                        };
                        docs::sign_json(Kind::RumAck, &ack, &self.authority.key)
                    }
                });
            }
        }
        let policy = match self.policy_in_force(tx).await? {
            Some(record) => {
                let doc = PolicyDoc::from_policy(
                    &policy_of(&record),
                    issued_at.clone(),
                    &self.account.name,
                    &self.va.name,
                    authority_key.clone(),
                );
                items.push(docs::sign_json(Kind::Policy, &doc, &self.authority.key));
                true
            }
            None => false,
        };
        let (trust_count, auth_count) = (trust_codes.len(), authorizations.len());
        items.extend(trust_codes);
        items.extend(authorizations);
        let ack = Document { reports: Vec::new(), items }.to_xml();

        let product_instances = pis.len();
        let report_count = i64::try_from(reports.len()).unwrap_or(i64::MAX);
        if let Ok(mut uploads) = self.batch.uploads.lock() {
            uploads.push(NewUpload {
                va_id: self.va.id,
                file_name: self.file.clone(),
                sha256: parsed.sha256.clone(),
                uploaded_at: now_ts,
                status: "Processed".to_owned(),
                pi_count: i64::try_from(product_instances).unwrap_or(i64::MAX),
                report_count,
                ack: ack.clone(),
            });
        }
        self.note(self.event(
            active.as_ref(),
            format!(
                "usage file {:?} processed: {product_instances} product instance(s), {accepted} report(s) accepted, {duplicate} duplicate, {trust_count} trust code(s), {auth_count} authorization code(s), {} return(s)",
                self.file,
                returns.len()
            ),
        ))
        ;
        tracing::info!(
            file = %self.file,
            va = %self.va.name,
            accepted,
            duplicate,
            trust_codes = trust_count,
            authorizations = auth_count,
            "usage file processed"
        );
        Ok(UploadOutcome {
            ack,
            replayed: false,
            product_instances,
            accepted,
            duplicate,
            trust_codes: trust_count,
            authorizations: auth_count,
            returns: returns.len(),
            policy,
        })
    }

    /// Uses up the operator's grant `proof` names (an ID token is not used up); a grant used
    /// meanwhile by another replica refuses the binding.
    async fn use_proof(&self, tx: &mut Tx, udi: &Udi, proof: &Proof) -> Result<()> {
        let Proof::Grant(grant) = proof else { return Ok(()) };
        let (udi_string, at) = (udi.to_string(), self.now.timestamp());
        let taken = tx.take_bind_grant(self.va.id, &udi_string, &grant.key_id, at).await?;
        if taken.is_none() {
            return Err(self.refused(format!(
                "the operator's grant for device key {} of {udi} was used meanwhile",
                grant.key_id
            )));
        }
        Ok(())
    }
}
