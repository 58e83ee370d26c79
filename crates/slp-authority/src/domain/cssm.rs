//! The authority's operations in the shape of Cisco's CSSM REST API (PROTOCOL.md §7.2/§7.3):
//! the [`Authority`] methods the HTTP handlers call, reading and answering the request and reply
//! types of the one contract, [`slp_wire::cssm`] (`reportusage`, `authrequest` and `poll` in
//! [`slp_wire::cssm::report`]; some types of §7.2 are still here) ([`crate::http`] only adds HTTP). Every method takes the authenticated
//! [`Principal`] and keeps to its smart account; its role was checked by the route (`crate::http`).
//!
//! `reportusage` and `authrequest` convert each entry of the request into the same
//! `<smartLicense>` document a device saves to a file and run it through the file-upload path
//! ([`Authority::upload`]): verification, idempotency on (UDI, report id), key binding and the
//! usage rule are identical. slp's additions to Cisco's request shape, both signed items
//! `{"data": "<json text>", "signature": {"alg", "key", "value"}}`: `system_info` (the signed
//! `<smartLicenseSystemInfo>`) and `trust_requests` (signed `<smartLicenseTrustRequest>`s) on a
//! report entry; `system_info`, `auth_request`, `auth_return` (and `trust_request`) on a
//! license entry; an entry as Cisco's scripts send it (`{sudi, usage: [{payload, signature}]}`)
//! is a document of reports alone. A license entry without `auth_request` / `auth_return` is Cisco's own shape:
//! the reserve step for a device named by PID and serial number (`keys`), and the return by the
//! `remove_code` the device printed ([`Authority::auth_request`]). So is an entry whose
//! `auth_request` / `auth_return` cannot be verified because its product instance is bound
//! unverified (first contact by reports slp cannot check) and the entry offers no device key:
//! its keys are reserved and its return code returns, as for a device never seen.
//!
//! The answer is stored under a poll id derived from the request's content (SHA-256 of action,
//! virtual account and body; for `reportusage`, of each entry's document digest and the entry
//! fields outside it), so a replayed request gets the same poll id and the same ACK, and any
//! replica on the same database answers the poll.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::DateTime;
use serde::Serialize;
use sha2::{Digest, Sha256};
use slp_core::license::Term;
use slp_core::udi::Udi;
use slp_store::{Account, PollRecord, Tx, VirtualAccount};
use slp_wire::cssm::report::{
    ACKNOWLEDGEMENTS, AUTHORIZATIONS, Acknowledgement, AuthRequestData, AuthorizationResult,
    COMPLETE, LicenseEntry, OK_POLL, POLL_INTERVAL_SECS, PollAccepted, PollComplete,
    PollResultData, ReportUsageData, SignedJson, UsageEntry, UsageItem,
};
use slp_wire::docs::{AuthRequestItem, AuthReturn, Key, SystemInfo, TrustRequest};
use slp_wire::keys;
use slp_wire::rum::Sudi;
use slp_wire::xml::{Document, Kind};

use crate::domain::poll::StoredPollResult;
use crate::domain::principal::Principal;
use crate::domain::upload;
use crate::{Authority, AuthorityError, Result};

// ---- conversion -------------------------------------------------------------------------------

/// A request that breaks what `/openapi.json` states (400), naming the member.
fn bad(field: String, reason: impl Into<String>) -> AuthorityError {
    AuthorityError::Request { field, reason: reason.into() }
}

/// A request of the documented shape whose signed content is refused (422): the JSON text of a
/// signed item, which the document cannot describe, naming the member.
fn refused(field: String, reason: impl Into<String>) -> AuthorityError {
    AuthorityError::Refused { file: field, reason: reason.into() }
}

fn udi_of(sudi: &Sudi, field: &str) -> Result<Udi> {
    sudi.udi().map_err(|e| bad(format!("{field}.sudi"), e.to_string()))
}

/// Checks that a system information item is for the entry's UDI; returns its software tag.
fn system_info_of(item: &SignedJson, udi: &Udi, field: &str) -> Result<SystemInfo> {
    let data = format!("{field}.system_info.data");
    let info: SystemInfo =
        serde_json::from_str(&item.data).map_err(|e| refused(data.clone(), e.to_string()))?;
    let own = info.sudi.udi().map_err(|e| refused(data, e.to_string()))?;
    if own != *udi {
        return Err(refused(
            format!("{field}.system_info"),
            format!("is the system information of {own}, not of {udi} named in {field}.sudi"),
        ));
    }
    Ok(info)
}

/// The device key an entry names: its system information's, else its trust request's.
fn entry_key(entry: &UsageEntry) -> Option<String> {
    let info =
        entry.system_info.as_ref().and_then(|i| serde_json::from_str::<SystemInfo>(&i.data).ok());
    let trust = || {
        entry
            .trust_requests
            .iter()
            .find_map(|r| serde_json::from_str::<TrustRequest>(&r.data).ok())
            .map(|t| t.public_key)
    };
    info.map(|i| i.public_key).or_else(trust)
}

/// The (key, bytes, signature) of every signature in a reportusage request whose key the entry
/// itself names (system information and trust requests carry the device key; reports are
/// signed with it, [`entry_key`]), for one batch check. Malformed items are left out: the
/// ingest refuses them with their names.
fn signature_triples(data: &ReportUsageData) -> (Vec<(String, String, String)>, Vec<EntryReports>) {
    let mut triples = Vec::new();
    let mut entries = Vec::new();
    for entry in &data.reports {
        if let Some(info) = &entry.system_info
            && let Ok(parsed) = serde_json::from_str::<SystemInfo>(&info.data)
            && let Some(signature) = &info.signature
        {
            triples.push((parsed.public_key, info.data.clone(), signature.value.clone()));
        }
        for request in &entry.trust_requests {
            if let (Ok(parsed), Some(signature)) =
                (serde_json::from_str::<TrustRequest>(&request.data), &request.signature)
            {
                triples.push((parsed.public_key, request.data.clone(), signature.value.clone()));
            }
        }
        entries.push(entry_key(entry).map(|key| {
            let first = triples.len();
            for envelope in &entry.usage {
                triples.push((
                    key.clone(),
                    envelope.payload.clone(),
                    envelope.signature.value.clone(),
                ));
            }
            (key, first..triples.len())
        }));
    }
    (triples, entries)
}

/// Of one entry of a reportusage request: the key it names and where its reports' signatures
/// are among the request's triples ([`signature_triples`]), in the entry's order.
type EntryReports = Option<(String, std::ops::Range<usize>)>;

/// One report entry as the document `license smart save usage` writes: the reports, then the
/// system information, then the trust requests. Deterministic, so a replayed entry is
/// byte-identical to the first and gets the stored ACK.
pub fn usage_document(entry: &UsageEntry, field: &str) -> Result<(Udi, String, Document)> {
    let udi = udi_of(&entry.sudi, field)?;
    if entry.usage.is_empty() && entry.trust_requests.is_empty() && entry.system_info.is_none() {
        return Err(bad(field.to_owned(), "carries no usage, trust_requests or system_info"));
    }
    let mut tag = entry.software_tag_identifier.clone().unwrap_or_default();
    let mut items = Vec::new();
    if let Some(info) = &entry.system_info {
        let parsed = system_info_of(info, &udi, field)?;
        if tag.is_empty() {
            tag = parsed.software_tag_identifier;
        }
        items.push(info.to_item(Kind::SystemInfo));
    }
    items.extend(entry.trust_requests.iter().map(|t| t.to_item(Kind::TrustRequest)));
    let mut reports = Vec::new();
    for (i, item) in entry.usage.iter().enumerate() {
        let text = serde_json::to_string(&item.envelope())
            .map_err(|e| bad(format!("{field}.usage[{i}]"), e.to_string()))?;
        reports.push(text);
    }
    Ok((udi, tag, Document { reports, items }))
}

/// One license entry as a document: system information, trust request, authorization request,
/// authorization return (the order a device writes them).
pub fn license_document(entry: &LicenseEntry, field: &str) -> Result<(Udi, String, Document)> {
    let udi = udi_of(&entry.sudi, field)?;
    if entry.auth_request.is_none() && entry.auth_return.is_none() {
        return Err(bad(field.to_owned(), "carries neither auth_request nor auth_return"));
    }
    let mut tag = entry.software_tag_identifier.clone().unwrap_or_default();
    let mut items = Vec::new();
    if let Some(info) = &entry.system_info {
        let parsed = system_info_of(info, &udi, field)?;
        if tag.is_empty() {
            tag = parsed.software_tag_identifier;
        }
        items.push(info.to_item(Kind::SystemInfo));
    }
    if let Some(trust) = &entry.trust_request {
        items.push(trust.to_item(Kind::TrustRequest));
    }
    if let Some(request) = &entry.auth_request {
        let asked: Vec<AuthRequestItem> = serde_json::from_str(&request.data)
            .map_err(|e| refused(format!("{field}.auth_request.data"), e.to_string()))?;
        if !entry.keys.is_empty() {
            let signed: Vec<&Key> =
                asked.iter().filter(|a| a.sudi == entry.sudi).flat_map(|a| a.keys.iter()).collect();
            let given: Vec<&Key> = entry.keys.iter().collect();
            if signed != given {
                return Err(refused(
                    format!("{field}.keys"),
                    format!("do not match the keys the signed auth_request asks for {udi}"),
                ));
            }
        }
        items.push(request.to_item(Kind::AuthRequest));
    }
    if let Some(ret) = &entry.auth_return {
        items.push(ret.to_item(Kind::AuthReturn));
    }
    Ok((udi, tag, Document { reports: Vec::new(), items }))
}

/// What one `authrequest` entry asks, checked before the store is touched.
struct LicensePlan {
    field: String,
    sudi: Sudi,
    udi: Udi,
    tag: String,
    remove_code: Option<String>,
    request: LicenseRequest,
}

enum LicenseRequest {
    /// A device-signed request and/or return, as the document a device saves; with what it
    /// asks read unverified, for a device bound without a key ([`Unverifiable`]).
    Signed(String, Option<Unverifiable>),
    /// Keys for a device named by PID and serial number alone (none: a return only); `true`:
    /// `request replace`.
    Reserve(Udi, Vec<Key>, bool),
}

/// What a request and/or return item asks when its signature cannot be checked: the entry
/// offers no device key (no `system_info`, no `trust_request`), so only a device bound with a
/// key could verify it. For a device bound unverified (first contact by reports slp cannot
/// verify, e.g. Cisco's `builtin`), such an entry is the reserve step by PID and serial
/// number, authorized like it by the caller's role: its keys are reserved and its return
/// code returns a code.
struct Unverifiable {
    udi: Udi,
    keys: Vec<Key>,
    replace: bool,
    return_code: Option<String>,
}

/// [`Unverifiable`] of an entry with document items, if it offers no device key.
fn unverifiable(entry: &LicenseEntry, field: &str) -> Result<Option<Unverifiable>> {
    if entry.system_info.is_some() || entry.trust_request.is_some() {
        return Ok(None);
    }
    let udi = entry.sudi.udi().map_err(|e| bad(format!("{field}.sudi"), e.to_string()))?;
    let mut keys = entry.keys.clone();
    let mut replace = false;
    if let Some(request) = &entry.auth_request {
        let asked: Vec<AuthRequestItem> = serde_json::from_str(&request.data)
            .map_err(|e| refused(format!("{field}.auth_request.data"), e.to_string()))?;
        let own: Vec<&AuthRequestItem> = asked.iter().filter(|a| a.sudi == entry.sudi).collect();
        if keys.is_empty() {
            keys = own.iter().flat_map(|a| a.keys.iter().cloned()).collect();
        }
        replace = own.iter().any(|a| a.replace);
    }
    let mut return_code = None;
    if let Some(ret) = &entry.auth_return {
        let ret: AuthReturn = serde_json::from_str(&ret.data)
            .map_err(|e| refused(format!("{field}.auth_return.data"), e.to_string()))?;
        return_code = Some(ret.return_code.trim().to_owned()).filter(|c| !c.is_empty());
    }
    Ok(Some(Unverifiable { udi, keys, replace, return_code }))
}

fn license_plan(entry: &LicenseEntry, field: &str) -> Result<LicensePlan> {
    let remove_code =
        entry.remove_code.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    let (udi, tag, request) = if entry.auth_request.is_some() || entry.auth_return.is_some() {
        let (udi, tag, doc) = license_document(entry, field)?;
        (udi, tag, LicenseRequest::Signed(doc.to_xml(), unverifiable(entry, field)?))
    } else {
        let udi = udi_of(&entry.sudi, field)?;
        if entry.keys.is_empty() && remove_code.is_none() {
            return Err(bad(
                field.to_owned(),
                "asks for nothing: give keys to reserve, a remove_code to return a code, or a signed auth_request / auth_return",
            ));
        }
        let tag = entry.software_tag_identifier.clone().unwrap_or_default();
        (udi.clone(), tag, LicenseRequest::Reserve(udi, entry.keys.clone(), false))
    };
    Ok(LicensePlan {
        field: field.to_owned(),
        sudi: entry.sudi.clone(),
        udi,
        tag,
        remove_code,
        request,
    })
}

/// The poll id of a request: 63 bits of SHA-256 over action, virtual account and content.
fn poll_id_of<T: Serialize>(action: &str, va_id: i64, body: &T) -> Result<i64> {
    let json = serde_json::to_vec(body).map_err(|e| bad("data".to_owned(), e.to_string()))?;
    let mut hasher = Sha256::new();
    hasher.update(b"slp-poll\0");
    hasher.update(action.as_bytes());
    hasher.update(b"\0");
    hasher.update(va_id.to_be_bytes());
    hasher.update(b"\0");
    hasher.update(&json);
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let id = i64::from_be_bytes(first) & i64::MAX;
    Ok(id.max(1))
}

/// The poll id of a `reportusage` request: 63 bits of SHA-256 over the virtual account and
/// the request's content, like [`poll_id_of`], but taking each entry's document by its digest
/// (computed anyway) instead of writing the whole body out again. The entry's fields that are
/// not in its document are hashed beside it.
fn usage_poll_id(
    va_id: i64,
    data: &ReportUsageData,
    entries: &[crate::domain::group::UsageEntryJob],
) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(b"slp-poll\0reportusage\0");
    hasher.update(va_id.to_be_bytes());
    let field = |hasher: &mut Sha256, text: Option<&str>| match text {
        Some(text) => {
            hasher.update([1]);
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
        None => hasher.update([0]),
    };
    let number = |hasher: &mut Sha256, n: Option<i64>| match n {
        Some(n) => {
            hasher.update([1]);
            hasher.update(n.to_be_bytes());
        }
        None => hasher.update([0]),
    };
    number(&mut hasher, data.timestamp);
    field(&mut hasher, data.nonce.as_deref());
    for (entry, job) in data.reports.iter().zip(entries) {
        field(&mut hasher, Some(&entry.sudi.udi_pid));
        field(&mut hasher, Some(&entry.sudi.udi_serial_number));
        field(&mut hasher, entry.hostname.as_deref());
        field(&mut hasher, entry.software_tag_identifier.as_deref());
        field(&mut hasher, entry.nonce.as_deref());
        number(&mut hasher, entry.timestamp);
        field(&mut hasher, Some(job.document.sha256()));
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (i64::from_be_bytes(first) & i64::MAX).max(1)
}

/// The `error_code` of a refusal that concerns one license entry against the pool (reported
/// as `FAILED` in the poll result), as opposed to a malformed or badly signed request (refused
/// as a whole: `None`).
fn refusal_code(err: &AuthorityError) -> Option<&'static str> {
    match err {
        AuthorityError::Insufficient { .. } => Some("INSUFFICIENT_LICENSES"),
        AuthorityError::UnknownEntitlement { .. } => Some("UNKNOWN_ENTITLEMENT"),
        AuthorityError::BadReturn { .. } => Some("INVALID_RETURN"),
        _ => None,
    }
}

fn parse_id(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

pub(crate) fn date(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .map(|at| at.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| ts.to_string())
}

pub(crate) fn license_type(term: &str) -> String {
    match Term::parse(term) {
        Some(Term::Perpetual) => "PERPETUAL".to_owned(),
        Some(Term::Subscription) => "TERM".to_owned(),
        None => term.to_uppercase(),
    }
}

impl Authority {
    // ---- scoping ------------------------------------------------------------------------------

    pub(crate) async fn scoped_account(
        tx: &mut Tx,
        principal: &Principal,
        given: &str,
    ) -> Result<Account> {
        let given = given.trim();
        let found = match parse_id(given) {
            Some(id) => tx.account(id).await?,
            None => tx.account_by_key(given).await?,
        };
        let account = found.filter(|a| a.id == principal.account_id);
        principal.require_account(account.is_some(), given)?;
        account.ok_or_else(|| AuthorityError::AccountNotFound(given.to_owned()))
    }

    pub(crate) async fn scoped_va(
        tx: &mut Tx,
        account: &Account,
        given: &str,
    ) -> Result<VirtualAccount> {
        let given = given.trim();
        if let Some(id) = parse_id(given)
            && let Some(va) = tx.va(id).await?.filter(|va| va.account_id == account.id)
        {
            return Ok(va);
        }
        tx.va_by_name(account.id, given).await?.ok_or_else(|| AuthorityError::VaNotFound {
            account: account.domain.clone(),
            va: given.to_owned(),
        })
    }

    /// The smart and virtual account named by the `X-CSW-SMART-ACCOUNT-ID` and
    /// `X-CSW-VIRTUAL-ACCOUNT-ID` headers: numeric ids (from `/v2/accounts/search`), or a domain
    /// / name and a virtual account name. No smart account header means the client's own.
    pub async fn va_by_ids(
        &self,
        principal: &Principal,
        smart_account: Option<&str>,
        virtual_account: Option<&str>,
    ) -> Result<(Account, VirtualAccount)> {
        let mut tx = self.store.read().await?;
        let account = Self::scoped_account(
            &mut tx,
            principal,
            smart_account.unwrap_or(&principal.account_domain),
        )
        .await?;
        let va = virtual_account.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
            bad(
                "X-CSW-VIRTUAL-ACCOUNT-ID".to_owned(),
                "header is missing: give the virtual account id from /v2/accounts/search or its name",
            )
        })?;
        let va = Self::scoped_va(&mut tx, &account, va).await?;
        Ok((account, va))
    }

    // ---- reporting ----------------------------------------------------------------------------

    /// `reportusage`: ingests every entry, all or nothing, and stores the acknowledgements under
    /// the returned poll id.
    pub async fn report_usage(
        &self,
        principal: &Principal,
        smart_account: Option<&str>,
        virtual_account: Option<&str>,
        data: &ReportUsageData,
    ) -> Result<PollAccepted> {
        if data.reports.is_empty() {
            return Err(bad("data.reports".to_owned(), "is empty"));
        }
        let mut documents = Vec::new();
        for (i, entry) in data.reports.iter().enumerate() {
            let field = format!("data.reports[{i}]");
            let (udi, tag, doc) = usage_document(entry, &field)?;
            let label = format!("reportusage {field} of {udi}");
            let envelopes = entry.usage.iter().map(UsageItem::envelope).collect::<Vec<_>>();
            documents.push((label, entry.sudi.clone(), tag, doc, envelopes, udi));
        }
        // Without the header, the virtual account Cisco's `license_pool_id` names.
        let pool = data.reports.iter().find_map(|e| e.license_pool_id).map(|id| id.to_string());
        let virtual_account = virtual_account.or(pool.as_deref());
        let (account, va) = self.va_by_ids(principal, smart_account, virtual_account).await?;
        // The CPU work is done on a blocking thread before the store's writer is taken, so that
        // requests do it in parallel: the signatures are checked in one batch (the ingest below
        // finds them checked) and every document is read.
        let (triples, entry_reports) = signature_triples(data);
        let (account_name, va_id, va_name) = (account.name.clone(), va.id, va.name.clone());
        let issued_at = crate::rfc3339(self.now());
        let authority = self.key.clone();
        let parsed = tokio::task::spawn_blocking(move || {
            let borrowed: Vec<keys::Triple<'_>> =
                triples.iter().map(|(k, b, s)| (k.as_str(), b.as_bytes(), s.as_str())).collect();
            let good = keys::verify_batch_each(&borrowed);
            documents
                .into_iter()
                .zip(entry_reports)
                .map(|((label, sudi, tag, doc, envelopes, udi), reports)| {
                    let parsed = upload::parse_built(&label, doc, envelopes).map(|mut parsed| {
                        if let Some((key, range)) = reports
                            && let Some(good) = good.get(range)
                        {
                            parsed.mark_verified(&key, good);
                        }
                        let va = (va_id, va_name.as_str());
                        parsed.presign(&udi, &account_name, va, &issued_at, &authority);
                        parsed
                    });
                    (sudi, tag, udi, parsed)
                })
                .collect::<Vec<_>>()
        })
        .await
        // Only a bug (a panic in the pure code above) ends the task early: it is not the
        // client's fault, so it is not answered as a bad request; the panic goes on.
        .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()));
        let mut entries = Vec::new();
        for (sudi, tag, udi, parsed) in parsed {
            let document = parsed?;
            entries.push(crate::domain::group::UsageEntryJob { sudi, tag, udi, document });
        }
        let poll_id = usage_poll_id(va.id, data, &entries);
        let job =
            crate::domain::group::UsageJob { account, va, entries, poll_id, actor: self.actor() };
        self.commit_usage(job).await?;
        Ok(self.accepted(poll_id, ACKNOWLEDGEMENTS, data.nonce.as_deref(), data.timestamp))
    }

    /// `authrequest`: each entry is handled on its own; an entry the pool cannot serve
    /// (insufficient or unknown license, bad return) is `FAILED` in the poll result and changes
    /// nothing, while a malformed or badly signed entry refuses the whole request.
    ///
    /// An entry with a signed `auth_request` / `auth_return` is ingested like the file a device
    /// saves (trust and first-contact rules apply). An entry without one is CSSM's reserve step
    /// for a device named by PID and serial number alone, authorized by the caller's role and
    /// scope: its `keys` are reserved as a new code, and its `remove_code` (a return code the
    /// device printed) gives a code back — `keys: []` with a `remove_code` is Cisco's return.
    pub async fn auth_request(
        &self,
        principal: &Principal,
        smart_account: Option<&str>,
        virtual_account: Option<&str>,
        data: &AuthRequestData,
    ) -> Result<PollAccepted> {
        if data.licenses.is_empty() {
            return Err(bad("data.licenses".to_owned(), "is empty"));
        }
        let mut plans = Vec::new();
        for (i, entry) in data.licenses.iter().enumerate() {
            plans.push(license_plan(entry, &format!("data.licenses[{i}]"))?);
        }
        let pool_id = data.license_pool_id.map(|id| id.to_string());
        let virtual_account =
            virtual_account.filter(|v| !v.trim().is_empty()).or(pool_id.as_deref());
        let (account, va) = self.va_by_ids(principal, smart_account, virtual_account).await?;
        let poll_id = poll_id_of(AUTHORIZATIONS, va.id, data)?;
        let mut tx = self.store.begin().await?;
        tx.lock_va(va.id).await?;
        if let Some(existing) = Self::existing_poll(&mut tx, poll_id, &va, AUTHORIZATIONS).await? {
            tracing::info!(poll_id, va = %va.name, "replayed authrequest: stored result");
            let (nonce, at) = (data.nonce.as_deref(), data.timestamp);
            return Ok(self.accepted(existing.poll_id, AUTHORIZATIONS, nonce, at));
        }
        let mut results = Vec::new();
        for plan in plans {
            let label = format!("authrequest {} of {}", plan.field, plan.udi);
            tx.savepoint("slp_license_entry").await?;
            let (sudi, tag) = (plan.sudi.clone(), plan.tag.clone());
            let piid = self.product_instance_identifier(account.id, &plan.udi.to_string());
            match self.license_entry_in(&mut tx, &account, &va, &label, plan).await {
                Ok((smart_license, status_message)) => {
                    tx.release("slp_license_entry").await?;
                    let done =
                        AuthorizationResult::success(sudi, tag, smart_license, status_message);
                    results.push(AuthorizationResult {
                        product_instance_identifier: Some(piid),
                        ..done
                    });
                }
                Err(err) => match refusal_code(&err) {
                    Some(code) => {
                        tx.rollback_to("slp_license_entry").await?;
                        tracing::info!(entry = %label, error = %err, "authorization request entry refused");
                        let failed = AuthorizationResult::failed(sudi, tag, err.to_string());
                        results.push(AuthorizationResult {
                            error_code: Some(code.to_owned()),
                            ..failed
                        });
                    }
                    None => return Err(err),
                },
            }
        }
        let result = StoredPollResult { acknowledgements: None, authorizations: Some(results) };
        self.store_poll(&mut tx, poll_id, &va, AUTHORIZATIONS, &result).await?;
        tx.commit().await?;
        Ok(self.accepted(poll_id, AUTHORIZATIONS, data.nonce.as_deref(), data.timestamp))
    }

    /// Cisco's `product_instance_identifier` of `udi` in smart account `account_id`: a UUID
    /// derived from the authority's key, the account and the UDI, so that it is the same in
    /// every answer about that product instance (a reservation by PID and serial number, a
    /// signed request, a return) without being stored, and differs between authorities.
    pub(crate) fn product_instance_identifier(&self, account_id: i64, udi: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"slp-product-instance\0");
        hasher.update(self.key.public_b64().as_bytes());
        hasher.update(b"\0");
        hasher.update(account_id.to_be_bytes());
        hasher.update(udi.as_bytes());
        let digest = hasher.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
    }

    /// One entry of an `authrequest` inside the request's transaction: its `remove_code` first,
    /// then its signed document or its keys. Returns the `smart_license` (base64 of the answer
    /// document, when there is one) and the status message.
    async fn license_entry_in(
        &self,
        tx: &mut Tx,
        account: &Account,
        va: &VirtualAccount,
        label: &str,
        plan: LicensePlan,
    ) -> Result<(Option<String>, String)> {
        let mut said = Vec::new();
        let (remove_code, request) = match plan.request {
            LicenseRequest::Signed(_, Some(asked))
                if tx
                    .pi_by_udi(account.id, &plan.udi.to_string())
                    .await?
                    .is_some_and(|pi| pi.va_id == va.id && pi.is_unverified()) =>
            {
                tracing::info!(entry = %label, "request of a product instance bound unverified: served as a reservation by PID and serial number");
                said.push(format!(
                    "{} is bound unverified: its request is served by PID and serial number",
                    plan.udi
                ));
                let remove_code = plan.remove_code.or(asked.return_code);
                if asked.keys.is_empty() && remove_code.is_none() {
                    return Err(bad(
                        plan.field,
                        "asks for nothing: its auth_request names no keys and its auth_return no return code",
                    ));
                }
                (remove_code, LicenseRequest::Reserve(asked.udi, asked.keys, asked.replace))
            }
            request => (plan.remove_code, request),
        };
        if let Some(code) = &remove_code {
            if self.return_by_code_in(tx, account, va, &plan.udi, code, label).await? {
                said.push(format!("authorization code returned by return code {code}"));
            } else {
                said.push(format!("the code of return code {code} was returned already"));
            }
        }
        let answer = match request {
            LicenseRequest::Signed(xml, _) => {
                let outcome = self.upload_in(tx, account, va, label, xml.as_bytes()).await?;
                said.push(format!(
                    "{} authorization code(s), {} return(s)",
                    outcome.authorizations, outcome.returns
                ));
                Some(outcome.ack)
            }
            LicenseRequest::Reserve(udi, keys, replace) if !keys.is_empty() => {
                let doc = self.reserve_in(tx, account, va, &udi, keys, replace, label).await?;
                said.push("1 authorization code(s), 0 return(s)".to_owned());
                Some(doc.to_xml())
            }
            LicenseRequest::Reserve(..) => None,
        };
        Ok((answer.map(|xml| BASE64.encode(xml.as_bytes())), said.join("; ")))
    }

    pub(crate) async fn existing_poll(
        tx: &mut Tx,
        poll_id: i64,
        va: &VirtualAccount,
        action: &str,
    ) -> Result<Option<PollRecord>> {
        let found = tx.poll(poll_id).await?;
        let owner = found.as_ref().map(|p| (p.va_id, p.action.clone()));
        Self::poll_of_request(poll_id, owner, va, action)?;
        Ok(found)
    }

    /// Whether a poll stored as `owner` (virtual account, action) is this request's: a
    /// replay (`true`), none (`false`), or another request's (an error).
    pub(crate) fn poll_of_request(
        poll_id: i64,
        owner: Option<(i64, String)>,
        va: &VirtualAccount,
        action: &str,
    ) -> Result<bool> {
        match owner {
            Some((va_id, stored)) if va_id == va.id && stored == action => Ok(true),
            Some(_) => Err(AuthorityError::Request {
                field: "data".to_owned(),
                reason: format!(
                    "poll id {poll_id} collides with another request; change the nonce"
                ),
            }),
            None => Ok(false),
        }
    }

    /// The record of a poll result.
    pub(crate) fn poll_record(
        &self,
        poll_id: i64,
        va: &VirtualAccount,
        action: &str,
        result: &StoredPollResult,
    ) -> Result<PollRecord> {
        let result =
            serde_json::to_string(result).map_err(|e| bad("data".to_owned(), e.to_string()))?;
        Ok(PollRecord {
            poll_id,
            va_id: va.id,
            action: action.to_owned(),
            correlation_id: uuid::Uuid::new_v4().to_string(),
            result,
            created_at: self.now().timestamp(),
        })
    }

    pub(crate) async fn store_poll(
        &self,
        tx: &mut Tx,
        poll_id: i64,
        va: &VirtualAccount,
        action: &str,
        result: &StoredPollResult,
    ) -> Result<()> {
        tx.insert_poll(&self.poll_record(poll_id, va, action, result)?).await?;
        Ok(())
    }

    /// The 202 reply, as Cisco's: the request's nonce and timestamp echoed, `poll_id` a number.
    fn accepted(
        &self,
        poll_id: i64,
        action: &str,
        nonce: Option<&str>,
        timestamp: Option<i64>,
    ) -> PollAccepted {
        PollAccepted {
            status: OK_POLL.to_owned(),
            message_code: None,
            message: None,
            timestamp: Some(timestamp.unwrap_or_else(|| self.now().timestamp_millis())),
            nonce: nonce.unwrap_or_default().to_owned(),
            kind: None,
            poll_id: poll_id.unsigned_abs(),
            poll_interval: Some(POLL_INTERVAL_SECS),
            action: action.to_owned(),
        }
    }

    /// `poll`: the stored result of a `reportusage` or `authrequest` of the client's account.
    pub async fn poll(
        &self,
        principal: &Principal,
        poll_id: &str,
        action: Option<&str>,
    ) -> Result<PollComplete> {
        let id = parse_id(poll_id).ok_or_else(|| {
            bad(
                "data.poll_id".to_owned(),
                format!(
                    "must be a whole number ≥ 0 (the poll_id a reportusage or authrequest answered with), got {:?}",
                    crate::sanity::shortened(poll_id)
                ),
            )
        })?;
        let mut tx = self.store.read().await?;
        let record = tx.poll(id).await?;
        let mut owned = None;
        if let Some(record) = record
            && let Some(va) = tx.va(record.va_id).await?
            && va.account_id == principal.account_id
        {
            owned = Some(record);
        }
        let record = owned.ok_or_else(|| AuthorityError::PollNotFound(poll_id.to_owned()))?;
        if let Some(action) = action.map(str::trim).filter(|a| !a.is_empty())
            && action != record.action
        {
            return Err(AuthorityError::PollOfOtherAction {
                poll_id: poll_id.to_owned(),
                action: record.action,
                asked: action.to_owned(),
            });
        }
        let unreadable = |reason: String| AuthorityError::Request {
            field: "data.poll_id".to_owned(),
            reason: format!("the stored result is unreadable: {reason}"),
        };
        let stored: StoredPollResult =
            serde_json::from_str(&record.result).map_err(|e| unreadable(e.to_string()))?;
        let acknowledgements = match stored.acknowledgements {
            Some(stored) => {
                let digests: Vec<String> =
                    stored.iter().filter_map(|a| a.ack_upload.clone()).collect();
                let uploads = if digests.is_empty() {
                    Vec::new()
                } else {
                    tx.uploads_by_sha(record.va_id, &digests).await?
                };
                let mut acknowledgements = Vec::with_capacity(stored.len());
                for ack in stored {
                    let smart_license = match (ack.smart_license, ack.ack_upload) {
                        (Some(inline), _) => inline,
                        (None, Some(digest)) => {
                            let upload = uploads.iter().find(|u| u.sha256 == digest);
                            let upload = upload.ok_or_else(|| {
                                unreadable(format!("the upload {digest} holding its ACK is gone"))
                            })?;
                            BASE64.encode(upload.ack.as_bytes())
                        }
                        (None, None) => return Err(unreadable("an ACK is missing".to_owned())),
                    };
                    acknowledgements.push(Acknowledgement {
                        sudi: ack.sudi,
                        software_tag_identifier: ack.software_tag_identifier,
                        smart_license,
                    });
                }
                Some(acknowledgements)
            }
            None => None,
        };
        let authorizations = stored.authorizations.map(|results| {
            results
                .into_iter()
                .map(|result| AuthorizationResult {
                    correlation_id: Some(record.correlation_id.clone()),
                    ..result
                })
                .collect()
        });
        let data = PollResultData { acknowledgements, authorizations };
        Ok(PollComplete {
            status: COMPLETE.to_owned(),
            message_code: String::new(),
            message: String::new(),
            timestamp: Some(self.now().timestamp_millis()),
            nonce: String::new(),
            kind: record.action,
            correlation_id: record.correlation_id,
            data,
        })
    }
}
