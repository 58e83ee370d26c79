//! Checking a `<smartLicense>` document a device pushed or the relay pulled, before anything is
//! stored: well formed, a device document (no authority-issued items), the system information
//! signed by the key it names, and every report and request signed by that same key.
//!
//! A report whose signature slp cannot check (Cisco's `builtin`) is accepted and counted as
//! *unverified* (PROTOCOL.md Decision 1: a relay forwards it; the authority decides).

use sha2::{Digest, Sha256};
use slp_wire::docs::{AuthRequestItem, AuthReturn, SystemInfo, TrustRequest};
use slp_wire::rum::{Envelope, Sudi};
use slp_wire::xml::{Document, Kind};

use crate::RelayError;

/// What a device document asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// RUM reports and/or trust requests: the answer is an ACK.
    Usage,
    /// A SLAC request: the answer holds authorization codes.
    AuthRequest,
    /// A SLAC return.
    AuthReturn,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Usage => "usage",
            DocKind::AuthRequest => "auth_request",
            DocKind::AuthReturn => "auth_return",
        }
    }

    pub fn parse(text: &str) -> Option<DocKind> {
        match text {
            "usage" => Some(DocKind::Usage),
            "auth_request" => Some(DocKind::AuthRequest),
            "auth_return" => Some(DocKind::AuthReturn),
            _ => None,
        }
    }

    /// The authority API `action` that answers this kind.
    pub fn action(self) -> &'static str {
        match self {
            DocKind::Usage => "acknowledgements",
            DocKind::AuthRequest | DocKind::AuthReturn => "authorizations",
        }
    }
}

/// A checked device document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The active UDI (`PID:…,SN:…`) that wrote the document.
    pub udi: String,
    pub sudi: Sudi,
    pub kind: DocKind,
    /// Report ids carried, sorted.
    pub report_ids: Vec<u64>,
    /// Every unit the document speaks for (the active first).
    pub units: Vec<String>,
    pub hostname: Option<String>,
    pub software_tag: Option<String>,
    /// Identifies what the document asks for regardless of nonces and timestamps: the same
    /// reports and requests of the same device give the same key.
    pub content_key: String,
    /// Reports kept byte for byte whose signature slp cannot check.
    pub unverified: usize,
    /// The device key of the system information (every signed item was verified against it);
    /// `None` when the document has no system information.
    pub device_key: Option<String>,
    /// Whether there is anything to forward (reports or requests).
    pub has_content: bool,
}

fn udi_text(sudi: &Sudi) -> Result<String, String> {
    sudi.udi().map(|u| u.to_string()).map_err(|e| e.to_string())
}

/// Checks `text`. `claimed` is the UDI of the message header (push), if any.
pub fn check(text: &str, claimed: Option<&str>) -> Result<Checked, RelayError> {
    let who = claimed.unwrap_or("the device").to_owned();
    let refuse = |udi: &str, reason: String| RelayError::Refused { udi: udi.to_owned(), reason };
    let doc = Document::parse(text).map_err(|e| refuse(&who, e.to_string()))?;
    if let Some(item) = doc.items.iter().find(|it| {
        matches!(it.kind, Kind::RumAck | Kind::Policy | Kind::TrustCode | Kind::Authorization)
    }) {
        return Err(refuse(
            &who,
            format!(
                "the document holds <{}>, which only the authority issues; send usage or requests",
                item.kind.element()
            ),
        ));
    }
    let infos: Vec<_> = doc.of(Kind::SystemInfo).collect();
    if infos.len() > 1 {
        return Err(refuse(
            &who,
            "the document holds more than one <smartLicenseSystemInfo>".into(),
        ));
    }
    let info: Option<SystemInfo> = match infos.first() {
        Some(item) => {
            let info: SystemInfo = item.json().map_err(|e| refuse(&who, e.to_string()))?;
            let udi = udi_text(&info.sudi).map_err(|e| refuse(&who, e))?;
            item.verify(&info.public_key, &format!("system information of {udi}"))
                .map_err(|e| refuse(&udi, e.to_string()))?;
            Some(info)
        }
        None => None,
    };
    let mut units: Vec<String> = Vec::new();
    let mut active: Option<(String, Sudi)> = None;
    if let Some(info) = &info {
        let udi = udi_text(&info.sudi).map_err(|e| refuse(&who, e))?;
        units.push(udi.clone());
        for unit in &info.device_list {
            let u = udi_text(&unit.sudi).map_err(|e| refuse(&udi, e))?;
            if !units.contains(&u) {
                units.push(u);
            }
        }
        active = Some((udi, info.sudi.clone()));
    }
    if let (Some(claimed), Some((udi, _))) = (claimed, &active)
        && claimed != udi
    {
        return Err(refuse(
            claimed,
            format!(
                "the message header names {claimed} but the document's system information is for {udi}"
            ),
        ));
    }
    let in_units = |udi: &str, what: &str| -> Result<(), RelayError> {
        match &active {
            Some((active, _)) if !units.iter().any(|u| u == udi) => {
                Err(refuse(active, format!("{what} is for {udi}, which is not a unit of {active}")))
            }
            _ => Ok(()),
        }
    };
    let key = info.as_ref().map(|i| i.public_key.clone());

    // ---- reports ----------------------------------------------------------------------------
    let mut report_ids = Vec::new();
    let mut unverified = 0;
    let mut first_report_sudi: Option<Sudi> = None;
    for (index, text) in doc.reports.iter().enumerate() {
        let envelope = Envelope::parse(text)
            .map_err(|e| refuse(&who, format!("RUM report #{} is malformed: {e}", index + 1)))?;
        let report = envelope
            .report()
            .map_err(|e| refuse(&who, format!("RUM report #{} is malformed: {e}", index + 1)))?;
        let udi = report.udi.to_string();
        let signed_for = udi_text(&envelope.signature.sudi).map_err(|e| refuse(&udi, e))?;
        if signed_for != udi {
            return Err(refuse(
                &udi,
                format!(
                    "RUM report {} is signed for {signed_for}, not the UDI in its payload",
                    report.report_id
                ),
            ));
        }
        in_units(&udi, &format!("RUM report {}", report.report_id))?;
        if envelope.is_verifiable() {
            let Some(key) = &key else {
                return Err(refuse(
                    &udi,
                    format!(
                        "RUM report {} is signed but the document has no <smartLicenseSystemInfo> with the device key",
                        report.report_id
                    ),
                ));
            };
            envelope.verify(key).map_err(|e| {
                refuse(&udi, format!("RUM report {} of {udi}: {e}", report.report_id))
            })?;
        } else {
            unverified += 1;
        }
        first_report_sudi.get_or_insert_with(|| Sudi::of(&report.udi));
        report_ids.push(report.report_id);
    }
    report_ids.sort_unstable();

    // ---- requests: signed by the device key of the system information -----------------------
    let mut trust_udis = Vec::new();
    let mut auth_parts = Vec::new();
    for item in &doc.items {
        let (what, udis): (&str, Vec<String>) = match item.kind {
            Kind::SystemInfo => continue,
            Kind::TrustRequest => {
                let request: TrustRequest = item.json().map_err(|e| refuse(&who, e.to_string()))?;
                if key.as_deref().is_some_and(|k| k != request.public_key) {
                    let udi = udi_text(&request.sudi).unwrap_or_default();
                    return Err(refuse(
                        &who,
                        format!(
                            "the trust request of {udi} names another key than the system information"
                        ),
                    ));
                }
                let udi = udi_text(&request.sudi).map_err(|e| refuse(&who, e))?;
                trust_udis.push(udi.clone());
                ("trust request", vec![udi])
            }
            Kind::AuthRequest => {
                let items: Vec<AuthRequestItem> =
                    item.json().map_err(|e| refuse(&who, e.to_string()))?;
                let udis = items
                    .iter()
                    .map(|i| udi_text(&i.sudi))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| refuse(&who, e))?;
                auth_parts.push(item.data.clone());
                ("authorization request", udis)
            }
            Kind::AuthReturn => {
                let ret: AuthReturn = item.json().map_err(|e| refuse(&who, e.to_string()))?;
                auth_parts.push(ret.code_id.clone());
                ("authorization return", vec![udi_text(&ret.sudi).map_err(|e| refuse(&who, e))?])
            }
            Kind::RumAck | Kind::Policy | Kind::TrustCode | Kind::Authorization => continue,
        };
        let Some(key) = &key else {
            return Err(refuse(
                &who,
                format!(
                    "the {what} cannot be verified: the document has no <smartLicenseSystemInfo> with the device key"
                ),
            ));
        };
        for udi in &udis {
            in_units(udi, &format!("the {what}"))?;
        }
        let label = format!("{what} of {}", udis.first().map_or("?", String::as_str));
        item.verify(key, &label).map_err(|e| {
            refuse(active.as_ref().map_or(who.as_str(), |a| a.0.as_str()), e.to_string())
        })?;
    }

    let has_auth_request = doc.of(Kind::AuthRequest).next().is_some();
    let has_auth_return = doc.of(Kind::AuthReturn).next().is_some();
    let kind = match (has_auth_request, has_auth_return) {
        (true, _) => DocKind::AuthRequest,
        (false, true) => DocKind::AuthReturn,
        (false, false) => DocKind::Usage,
    };
    if kind != DocKind::Usage && !doc.reports.is_empty() {
        return Err(refuse(
            &who,
            "the document mixes RUM reports with an authorization request or return; send them separately".into(),
        ));
    }
    let (udi, sudi) = match active {
        Some(active) => active,
        None => {
            let sudi = first_report_sudi
                .ok_or_else(|| refuse(&who, "the document names no product instance".into()))?;
            let udi = udi_text(&sudi).map_err(|e| refuse(&who, e))?;
            if let Some(claimed) = claimed
                && claimed != udi
            {
                return Err(refuse(
                    claimed,
                    format!("the message header names {claimed} but the reports are of {udi}"),
                ));
            }
            units.push(udi.clone());
            (udi, sudi)
        }
    };
    trust_udis.sort();
    let mut hasher = Sha256::new();
    hasher.update(kind.as_str().as_bytes());
    hasher.update(b"\0");
    hasher.update(udi.as_bytes());
    for id in &report_ids {
        hasher.update(b"\0r");
        hasher.update(id.to_string().as_bytes());
    }
    for t in &trust_udis {
        hasher.update(b"\0t");
        hasher.update(t.as_bytes());
    }
    for part in &auth_parts {
        hasher.update(b"\0a");
        hasher.update(part.as_bytes());
    }
    let content_key = slp_core::text::hex(&hasher.finalize());
    Ok(Checked {
        udi,
        sudi,
        kind,
        has_content: !report_ids.is_empty() || !trust_udis.is_empty() || !auth_parts.is_empty(),
        report_ids,
        units,
        hostname: info.as_ref().and_then(|i| i.hostname.clone()),
        software_tag: info.as_ref().map(|i| i.software_tag_identifier.clone()),
        content_key,
        unverified,
        device_key: key,
    })
}

/// The device an answer document is for (see [`answer_udi`]), checked against the authority
/// key the relay pinned: every item must be signed by `pinned`, else
/// [`RelayError::UntrustedAnswer`] names the answer, the UDI and both key ids.
pub fn trusted_answer(text: &str, what: &str, pinned: &str) -> Result<String, RelayError> {
    let (udi, key) = answer_of(text, what)?;
    if key != pinned {
        return Err(RelayError::UntrustedAnswer {
            what: what.to_owned(),
            udi,
            key_id: crate::key_id_of(&key),
            pinned_id: crate::key_id_of(pinned),
        });
    }
    Ok(udi)
}

/// The device an answer document (ACK, trust code, authorization code) is for: the sudi of its
/// RUM ACK, else of its first authorization code, else of its first trust code. Every signed
/// item must verify against the authority key it names, and all must name the same key.
pub fn answer_udi(text: &str, what: &str) -> Result<String, RelayError> {
    answer_of(text, what).map(|(udi, _)| udi)
}

/// [`answer_udi`] with the authority key every item is signed by.
fn answer_of(text: &str, what: &str) -> Result<(String, String), RelayError> {
    use slp_wire::docs::{Authorization, PolicyDoc, RumAck, TrustCode};
    let bad = |reason: String| RelayError::BadAnswer { what: what.to_owned(), reason };
    let doc = Document::parse(text).map_err(|e| bad(e.to_string()))?;
    if !doc.reports.is_empty() {
        return Err(bad(
            "it holds RUM reports: that is usage to export to the authority, not an answer".into(),
        ));
    }
    let mut ack = None;
    let mut auth = None;
    let mut trust = None;
    let mut authority: Option<String> = None;
    for item in &doc.items {
        let key = match item.kind {
            Kind::RumAck => {
                let a: RumAck = item.json().map_err(|e| bad(e.to_string()))?;
                ack.get_or_insert(a.sudi);
                a.authority_key
            }
            Kind::Authorization => {
                let a: Authorization = item.json().map_err(|e| bad(e.to_string()))?;
                auth.get_or_insert(a.sudi);
                a.authority_key
            }
            Kind::TrustCode => {
                let t: TrustCode = item.json().map_err(|e| bad(e.to_string()))?;
                trust.get_or_insert(t.sudi);
                t.authority_key
            }
            Kind::Policy => {
                let p: PolicyDoc = item.json().map_err(|e| bad(e.to_string()))?;
                p.authority_key
            }
            Kind::SystemInfo | Kind::TrustRequest | Kind::AuthRequest | Kind::AuthReturn => {
                return Err(bad(format!(
                    "it holds <{}>, which a device sends; import only what the authority returns",
                    item.kind.element()
                )));
            }
        };
        item.verify(&key, item.kind.element()).map_err(|e| bad(e.to_string()))?;
        match &authority {
            Some(k) if *k != key => {
                return Err(bad("its items are signed by different authority keys".into()));
            }
            _ => authority = Some(key),
        }
    }
    let sudi = ack
        .or(auth)
        .or(trust)
        .ok_or_else(|| bad("it holds no RUM ACK, trust code or authorization code".into()))?;
    let authority = authority.ok_or_else(|| bad("it holds no signed item".into()))?;
    Ok((udi_text(&sudi).map_err(bad)?, authority))
}

/// Report ids an answer acknowledges (empty when it holds no RUM ACK).
pub fn acked_report_ids(text: &str) -> Vec<u64> {
    let Ok(doc) = Document::parse(text) else { return Vec::new() };
    doc.of(Kind::RumAck)
        .filter_map(|item| item.json::<slp_wire::docs::RumAck>().ok())
        .flat_map(|ack| ack.reports.into_iter().map(|r| r.report_id))
        .collect()
}

/// Whether an answer holds an authorization code.
pub fn has_authorization(text: &str) -> bool {
    Document::parse(text).is_ok_and(|doc| doc.of(Kind::Authorization).next().is_some())
}

/// One document made of several: the items of every answer, in order (a device imports them
/// all at once; every item is signed on its own).
pub fn merge_answers(texts: &[String]) -> Result<String, RelayError> {
    let mut merged = Document::default();
    for text in texts {
        let doc = Document::parse(text).map_err(|e| RelayError::BadAnswer {
            what: "stored answer".into(),
            reason: e.to_string(),
        })?;
        for item in doc.items {
            if !merged.items.contains(&item) {
                merged.items.push(item);
            }
        }
    }
    Ok(merged.to_xml())
}
