//! The ingest's decisions: a pure check of one document against the facts loaded for it.
//!
//! [`read`] takes the document apart (its system information, trust requests, reports,
//! authorization requests and returns) and names the UDIs and reports it speaks for; the caller
//! loads the [`Facts`] of those from the store (and from the earlier documents of its batch);
//! [`plan`] decides, from the two alone, what the ingest does — which product instances to
//! register, bind or re-bind, which trust codes to issue, which reports are new and which are
//! duplicates, which codes to issue and take back — or refuses the document with the reason
//! (naming the UDI, report id or key). No IO, no clock: the time is a fact.

use std::collections::{BTreeMap, BTreeSet};

use slp_core::udi::Udi;
use slp_store::{BindGrant, FirstContact, ProductInstance};
use slp_wire::docs::{AuthRequestItem, AuthReturn, SystemInfo, TrustRequest};
use slp_wire::keys;
use slp_wire::xml::{Document, Kind, Signed};

use super::ParsedReport;
use crate::error::BindRefusal;
use crate::sanity::ReportWindow;
use crate::{AuthorityError, Result};

/// A document taken apart, its own signatures (system information, trust requests) checked.
pub(crate) struct Reading<'a> {
    pub(crate) file: &'a str,
    reports: &'a [ParsedReport],
    info: Option<SystemInfo>,
    /// The UDI of the system information (the active unit of an HA set).
    active: Option<Udi>,
    /// The units the system information speaks for, with the key it claims for them.
    claimed: BTreeMap<Udi, String>,
    /// Trust requests: UDI → the device key they offer.
    trust: BTreeMap<Udi, String>,
    /// Authorization requests, each with the UDI that signed it (its first entry's).
    auth_requests: Vec<(&'a Signed, Udi, Vec<AuthRequestItem>)>,
    returns: Vec<(&'a Signed, Udi, AuthReturn)>,
}

/// What the store knows that the decisions depend on, loaded for the UDIs and reports of a
/// [`Reading`].
pub(crate) struct Facts<'a> {
    /// The smart account's domain and the virtual account's name (for refusals).
    pub(crate) account: &'a str,
    pub(crate) va: &'a str,
    pub(crate) va_id: i64,
    pub(crate) first_contact: FirstContact,
    /// Whether the request came with an ID token of this virtual account.
    pub(crate) token: bool,
    /// The product instances of the smart account, by UDI (of this or another virtual account).
    pub(crate) pis: BTreeMap<Udi, ProductInstance>,
    /// For a UDI registered in another virtual account: that account's name.
    pub(crate) elsewhere: BTreeMap<Udi, String>,
    /// The operator's unused bind grants, by UDI.
    pub(crate) grants: BTreeMap<Udi, Vec<BindGrant>>,
    /// The report ids, by UDI, of the document's reports that the smart account holds already
    /// or that an earlier document of the batch took.
    pub(crate) known_reports: BTreeMap<Udi, BTreeSet<u64>>,
}

/// What the ingest of a document does; [`plan`] decides it and the apply step carries it out.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The active unit (HA) the document speaks for, when it has system information.
    pub(crate) active: Option<Udi>,
    /// The hostname of the system information, given to its units.
    pub(crate) hostname: Option<String>,
    /// The units the system information names.
    pub(crate) units: BTreeSet<Udi>,
    /// Every UDI the document names, with what happens to its binding.
    pub(crate) binds: BTreeMap<Udi, Bind>,
    /// Trust codes to issue: UDI → device key.
    pub(crate) trust: BTreeMap<Udi, String>,
    /// Authorization codes to issue, by UDI.
    pub(crate) requests: Vec<(Udi, AuthRequestItem)>,
    /// Authorization codes to take back, by UDI.
    pub(crate) returns: Vec<(Udi, AuthReturn)>,
    /// What becomes of each report of the document, in its order.
    pub(crate) takes: Vec<Take>,
}

/// What becomes of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Take {
    /// New to the smart account and to the batch: stored, its final count the usage of its
    /// product instance if it is the latest; ACKed `ACCEPTED`.
    New { count: i64 },
    /// Held already, taken by an earlier document of the batch, or earlier in this document:
    /// ACKed `DUPLICATE`, nothing stored.
    Duplicate,
}

impl Take {
    pub(crate) fn is_new(self) -> bool {
        matches!(self, Take::New { .. })
    }
}

/// A UDI's binding: the key it is (or becomes) bound to, and the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bind {
    pub(crate) key: String,
    pub(crate) change: Change,
}

/// What happens to a UDI's binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Registered already with this key: contact recorded.
    Keep(ProductInstance),
    /// Never seen: registered, with the proof it needed (`None`: a first contact allowed).
    Register(Option<Proof>),
    /// Bound to another key: re-bound, with its proof.
    Rebind(ProductInstance, Proof),
    /// Never seen, and its reports carry a signature slp cannot verify (Cisco's `builtin`, or
    /// a key id the authority was never shown): registered without a device key, recording what
    /// the reports named (`seen`), with the proof a denied first contact needed.
    RegisterUnverified { seen: String, proof: Option<Proof> },
    /// Bound without a verified key: the document's verified key (system information or
    /// trust request) becomes its binding. Not a takeover: there was no key to take over.
    Verify(ProductInstance),
}

impl Bind {
    /// Whether the UDI stays bound without a verified key (its reports are not checked).
    pub(crate) fn is_unverified(&self) -> bool {
        match &self.change {
            Change::RegisterUnverified { .. } => true,
            Change::Keep(pi) => pi.is_unverified(),
            _ => false,
        }
    }
}

/// What an unverifiable report's signature names, as an unverified binding records it:
/// `<signing type>:<key>` (`builtin:<software tag>`, `ed25519:<key id>`).
pub(crate) fn seen_key(checked: &ParsedReport) -> String {
    let signature = &checked.parsed.signature;
    format!("{}:{}", signature.signing_type, signature.key)
}

/// Why a new key may bind a UDI: the request's ID token, or an operator's grant (used up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Proof {
    Token { va: String },
    Grant(BindGrant),
}

impl Proof {
    /// How the activity log tells it.
    pub(crate) fn describe(&self) -> String {
        match self {
            Proof::Token { va } => format!("proven by an ID token of virtual account {va:?}"),
            Proof::Grant(g) => format!(
                "allowed by {} (grant {} of {})",
                g.granted_by,
                g.id,
                crate::rfc3339_ts(g.granted_at)
            ),
        }
    }
}

/// The id of a device key as logs and refusals show it.
pub(crate) fn key_id(public_b64: &str) -> String {
    keys::key_id(public_b64).unwrap_or_else(|_| "(unreadable)".to_owned())
}

fn refused(file: &str, reason: String) -> AuthorityError {
    AuthorityError::Refused { file: file.to_owned(), reason }
}

fn wire(file: &str) -> impl Fn(slp_wire::WireError) -> AuthorityError + '_ {
    move |error| AuthorityError::Wire { file: file.to_owned(), error }
}

/// Takes document `doc` (named `file`, its RUM reports read into `reports`) apart: refuses what
/// a device never sends, checks the signatures of its system information and trust requests
/// and the time window of its reports (`window` at `now`).
pub(crate) fn read<'a>(
    file: &'a str,
    doc: &'a Document,
    reports: &'a [ParsedReport],
    window: ReportWindow,
    now: i64,
) -> Result<Reading<'a>> {
    let wire = wire(file);
    if let Some(item) = doc.items.iter().find(|it| {
        matches!(it.kind, Kind::RumAck | Kind::Policy | Kind::TrustCode | Kind::Authorization)
    }) {
        return Err(refused(
            file,
            format!(
                "holds <{}>, which the authority issues; upload the file a device saved (usage, authorization request or return)",
                item.kind.element()
            ),
        ));
    }
    let infos: Vec<&Signed> = doc.of(Kind::SystemInfo).collect();
    if infos.len() > 1 {
        return Err(refused(file, "holds more than one <smartLicenseSystemInfo>".to_owned()));
    }
    if doc.reports.is_empty() && doc.items.is_empty() {
        return Err(refused(file, "holds no RUM reports and no requests".to_owned()));
    }
    // System information: proof of possession of the device key.
    let info: Option<SystemInfo> = match infos.first() {
        Some(item) => {
            let info: SystemInfo = item.json().map_err(&wire)?;
            crate::sanity::check_system_info(file, &info)?;
            let active = info.sudi.udi().map_err(&wire)?;
            item.verify(&info.public_key, &format!("system information of {active}"))
                .map_err(&wire)?;
            Some(info)
        }
        None => None,
    };
    let mut claimed: BTreeMap<Udi, String> = BTreeMap::new();
    let mut active: Option<Udi> = None;
    if let Some(info) = &info {
        let udi = info.sudi.udi().map_err(&wire)?;
        claimed.insert(udi.clone(), info.public_key.clone());
        active = Some(udi);
        for unit in &info.device_list {
            let udi = unit.sudi.udi().map_err(&wire)?;
            claimed.insert(udi, info.public_key.clone());
        }
    }
    let in_units = |udi: &Udi| -> Result<()> {
        if info.is_some() && !claimed.contains_key(udi) {
            let active = active.as_ref().map_or_else(|| "?".to_owned(), Udi::to_string);
            return Err(refused(
                file,
                format!(
                    "{udi} is not a unit of the product instance that wrote the file ({active})"
                ),
            ));
        }
        Ok(())
    };
    let mut trust: BTreeMap<Udi, String> = BTreeMap::new();
    for item in doc.of(Kind::TrustRequest) {
        let request: TrustRequest = item.json().map_err(&wire)?;
        let udi = request.sudi.udi().map_err(&wire)?;
        in_units(&udi)?;
        item.verify(&request.public_key, &format!("trust request of {udi}")).map_err(&wire)?;
        if let Some(key) = claimed.get(&udi)
            && *key != request.public_key
        {
            return Err(refused(
                file,
                format!("the trust request of {udi} names another key than the system information"),
            ));
        }
        trust.insert(udi, request.public_key);
    }
    for checked in reports {
        in_units(checked.udi())?;
        window.check(file, &checked.report, now)?;
    }
    let mut auth_requests = Vec::new();
    for item in doc.of(Kind::AuthRequest) {
        let items: Vec<AuthRequestItem> = item.json().map_err(&wire)?;
        let mut signer: Option<Udi> = None;
        for request in &items {
            let udi = request.sudi.udi().map_err(&wire)?;
            in_units(&udi)?;
            signer.get_or_insert(udi);
        }
        let Some(signer) = signer else {
            return Err(refused(file, "an authorization request names no UDI".to_owned()));
        };
        auth_requests.push((item, signer, items));
    }
    let mut returns = Vec::new();
    for item in doc.of(Kind::AuthReturn) {
        let ret: AuthReturn = item.json().map_err(&wire)?;
        let udi = ret.sudi.udi().map_err(&wire)?;
        in_units(&udi)?;
        returns.push((item, udi, ret));
    }
    Ok(Reading { file, reports, info, active, claimed, trust, auth_requests, returns })
}

impl Reading<'_> {
    /// Every UDI the document names.
    pub(crate) fn udis(&self) -> BTreeSet<Udi> {
        let mut udis: BTreeSet<Udi> = self.claimed.keys().cloned().collect();
        udis.extend(self.trust.keys().cloned());
        udis.extend(self.reports.iter().map(|r| r.udi().clone()));
        for (_, _, items) in &self.auth_requests {
            udis.extend(items.iter().filter_map(|r| r.sudi.udi().ok()));
        }
        udis.extend(self.returns.iter().map(|(_, u, _)| u.clone()));
        udis
    }

    /// Every report the document holds: (UDI, report id).
    pub(crate) fn report_keys(&self) -> BTreeSet<(Udi, u64)> {
        self.reports.iter().map(|r| (r.udi().clone(), r.report.report_id)).collect()
    }

    /// The device key the document offers for `udi` (its system information's or trust
    /// request's).
    pub(crate) fn offered_key(&self, udi: &Udi) -> Option<&String> {
        self.claimed.get(udi).or_else(|| self.trust.get(udi))
    }

    /// Whether binding `udi` could need a proof, given its product instance `bound` (if any)
    /// and the virtual account's first-contact rule: the facts then need its grants.
    pub(crate) fn may_need_proof(
        &self,
        udi: &Udi,
        bound: Option<&ProductInstance>,
        first_contact: FirstContact,
    ) -> bool {
        match (self.offered_key(udi), bound) {
            (Some(key), Some(pi)) => *key != pi.public_key && !pi.is_unverified(),
            (_, None) => first_contact == FirstContact::Deny,
            (None, Some(_)) => false,
        }
    }
}

/// Decides the ingest of the document `reading` holds from `facts`: the [`Plan`], or the
/// refusal of the whole document.
pub(crate) fn plan(mut reading: Reading<'_>, facts: &Facts<'_>) -> Result<Plan> {
    let file = reading.file;
    let wire = wire(file);
    let not_registered = |udi: &Udi| {
        refused(
            file,
            format!(
                "{udi} is not registered and the file has no <smartLicenseSystemInfo> with its device key"
            ),
        )
    };
    let bound_key = |udi: &Udi| -> Result<String> {
        match facts.pis.get(udi) {
            Some(pi) => Ok(pi.public_key.clone()),
            None => Err(not_registered(udi)),
        }
    };
    // Authorization requests are signed by the active; returns by their unit. The key is the
    // claimed one or the bound one.
    let mut requests = Vec::new();
    for (item, signer, items) in std::mem::take(&mut reading.auth_requests) {
        let key = match reading.active.as_ref().and_then(|a| reading.claimed.get(a)) {
            Some(key) => key.clone(),
            None => bound_key(&signer)?,
        };
        item.verify(&key, &format!("authorization request of {signer}")).map_err(&wire)?;
        for request in items {
            let udi = request.sudi.udi().map_err(&wire)?;
            requests.push((udi, request));
        }
    }
    let mut returns = Vec::new();
    for (item, udi, ret) in std::mem::take(&mut reading.returns) {
        let key = match reading.claimed.get(&udi) {
            Some(key) => key.clone(),
            None => bound_key(&udi)?,
        };
        item.verify(&key, &format!("authorization return of {udi}")).map_err(&wire)?;
        returns.push((udi, ret));
    }
    // Bind every UDI to its product instance and key.
    let mut udis: BTreeSet<Udi> = reading.claimed.keys().cloned().collect();
    udis.extend(reading.trust.keys().cloned());
    udis.extend(reading.reports.iter().map(|r| r.udi().clone()));
    udis.extend(requests.iter().map(|(u, _)| u.clone()));
    udis.extend(returns.iter().map(|(u, _)| u.clone()));
    let proof_for_id = |udi: &Udi, offered: String| -> Option<Proof> {
        if facts.token {
            return Some(Proof::Token { va: facts.va.to_owned() });
        }
        let grants = facts.grants.get(udi)?;
        grants
            .iter()
            .find(|g| g.key_id == offered && g.used_at.is_none() && g.va_id == facts.va_id)
            .cloned()
            .map(Proof::Grant)
    };
    let proof_for = |udi: &Udi, key: &str| proof_for_id(udi, key_id(key));
    let refusal = |udi: &Udi, bound: Option<String>, key: &str| BindRefusal {
        file: file.to_owned(),
        udi: udi.to_string(),
        account: facts.account.to_owned(),
        va: facts.va.to_owned(),
        bound,
        offered: key_id(key),
    };
    let mut binds: BTreeMap<Udi, Bind> = BTreeMap::new();
    for udi in &udis {
        // A UDI is scoped to its smart account: another account's instance of it is neither
        // looked at nor touched (nor told of).
        if let Some(other) = facts.elsewhere.get(udi) {
            return Err(AuthorityError::UdiElsewhere {
                file: file.to_owned(),
                udi: udi.to_string(),
                va: facts.va.to_owned(),
                location: format!("virtual account {other:?}"),
            });
        }
        let existing = facts.pis.get(udi).cloned();
        let bind = match (reading.offered_key(udi).cloned(), existing) {
            (Some(key), Some(pi)) if pi.is_unverified() => Bind { key, change: Change::Verify(pi) },
            (Some(key), Some(pi)) if key != pi.public_key => {
                if reading.trust.get(udi) != Some(&key) {
                    return Err(AuthorityError::KeyMismatch {
                        file: file.to_owned(),
                        udi: udi.to_string(),
                        bound: key_id(&pi.public_key),
                        found: key_id(&key),
                    });
                }
                // A new key for a bound UDI: a device takeover unless proven.
                let Some(proof) = proof_for(udi, &key) else {
                    let bound = Some(key_id(&pi.public_key));
                    return Err(AuthorityError::BindRefused(Box::new(refusal(udi, bound, &key))));
                };
                Bind { key, change: Change::Rebind(pi, proof) }
            }
            (Some(key), None) if facts.first_contact == FirstContact::Deny => {
                let Some(proof) = proof_for(udi, &key) else {
                    return Err(AuthorityError::FirstContactDenied(Box::new(refusal(
                        udi, None, &key,
                    ))));
                };
                Bind { key, change: Change::Register(Some(proof)) }
            }
            (Some(key), None) => Bind { key, change: Change::Register(None) },
            (Some(key), Some(pi)) => Bind { key, change: Change::Keep(pi) },
            (None, Some(pi)) => Bind { key: pi.public_key.clone(), change: Change::Keep(pi) },
            (None, None) => {
                // Only reports name it (requests and returns need its key, above): usage from a
                // product instance never seen, signed in a way slp cannot check.
                let Some(first) = reading.reports.iter().find(|r| r.udi() == udi) else {
                    return Err(not_registered(udi));
                };
                let seen = seen_key(first);
                let proof = match facts.first_contact {
                    FirstContact::Allow => None,
                    FirstContact::Deny => {
                        let offered = first.parsed.signature.key.clone();
                        let Some(proof) = proof_for_id(udi, offered.clone()) else {
                            return Err(AuthorityError::FirstContactDenied(Box::new(
                                BindRefusal {
                                    file: file.to_owned(),
                                    udi: udi.to_string(),
                                    account: facts.account.to_owned(),
                                    va: facts.va.to_owned(),
                                    bound: None,
                                    offered,
                                },
                            )));
                        };
                        Some(proof)
                    }
                };
                Bind { key: String::new(), change: Change::RegisterUnverified { seen, proof } }
            }
        };
        binds.insert(udi.clone(), bind);
    }
    // Every report must carry its device's signature.
    for checked in reading.reports {
        let bind = binds.get(checked.udi());
        let key = bind.map(|b| b.key.as_str()).unwrap_or_default();
        if bind.is_some_and(Bind::is_unverified) {
            // Taken as reported: nothing to check it with (see `Change::RegisterUnverified`).
        } else if checked.verified_with.as_deref() != Some(key) {
            checked.parsed.verify(key).map_err(|e| AuthorityError::Report {
                file: file.to_owned(),
                udi: checked.udi().to_string(),
                report_id: checked.report.report_id,
                reason: e.to_string(),
            })?;
        }
        if checked.report.report_id > i64::MAX as u64 {
            return Err(AuthorityError::Report {
                file: file.to_owned(),
                udi: checked.udi().to_string(),
                report_id: checked.report.report_id,
                reason: "report id out of range".to_owned(),
            });
        }
    }
    // Which reports are new: the first of each (UDI, report id) in the document, unless the
    // smart account holds it or an earlier document of the batch took it. The count of each
    // first one must fit the store.
    let mut seen: BTreeSet<(&Udi, u64)> = BTreeSet::new();
    let mut takes = Vec::with_capacity(reading.reports.len());
    for checked in reading.reports {
        let (udi, report) = (checked.udi(), &checked.report);
        if !seen.insert((udi, report.report_id)) {
            takes.push(Take::Duplicate);
            continue;
        }
        let count = i64::try_from(report.final_count()).map_err(|_| AuthorityError::Report {
            file: file.to_owned(),
            udi: udi.to_string(),
            report_id: report.report_id,
            reason: "count out of range".to_owned(),
        })?;
        let known = facts.known_reports.get(udi).is_some_and(|ids| ids.contains(&report.report_id));
        takes.push(if known { Take::Duplicate } else { Take::New { count } });
    }
    Ok(Plan {
        active: reading.active,
        hostname: reading.info.and_then(|i| i.hostname),
        units: reading.claimed.into_keys().collect(),
        binds,
        trust: reading.trust,
        requests,
        returns,
        takes,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    //! The decisions as a table: a document and the facts → the plan, or the refusal.

    use slp_core::udi::Udi;
    use slp_wire::docs::{self, AuthRequestItem, SystemInfo, TrustRequest};
    use slp_wire::keys::KeyPair;
    use slp_wire::rum::{
        self, Envelope, EnvelopeSignature, Header, Measurement, ReportInput, Sudi,
    };
    use slp_wire::xml::{Document, Kind, Signed};

    use super::*;

    const NOW: i64 = 1_794_736_800;

    fn udi(sn: &str) -> Udi {
        Udi::new("C9300-24UX", sn).expect("a UDI")
    }

    fn info(unit: &Udi, key: &KeyPair) -> Signed {
        let info = SystemInfo {
            sudi: Sudi::of(unit),
            timestamp: NOW * 1000,
            nonce: "n".to_owned(),
            hostname: Some("sw1".to_owned()),
            software_tag_identifier: "regid.sw".to_owned(),
            software_version: None,
            public_key: key.public_b64(),
            device_list: Vec::new(),
        };
        docs::sign_json(Kind::SystemInfo, &info, key)
    }

    fn trust(unit: &Udi, key: &KeyPair) -> Signed {
        let request = TrustRequest {
            sudi: Sudi::of(unit),
            public_key: key.public_b64(),
            nonce: "n".to_owned(),
            timestamp: NOW.to_string(),
        };
        docs::sign_json(Kind::TrustRequest, &request, key)
    }

    fn input(unit: &Udi, id: u64, end: i64) -> ReportInput {
        ReportInput {
            report_id: id,
            udi: unit.clone(),
            software_tag: "regid.sw".to_owned(),
            entitlement_tag: "regid.na".to_owned(),
            software_version: None,
            ha_udi: Vec::new(),
            measurements: vec![Measurement {
                log_time: end,
                start_time: end - 60,
                end_time: end,
                count: 1,
                termination_reason: None,
            }],
        }
    }

    fn report(unit: &Udi, id: u64, key: &KeyPair) -> String {
        rum::sign_report(&input(unit, id, NOW - 600), key)
    }

    /// Cisco's `builtin` signing, which slp cannot check.
    fn builtin(unit: &Udi, id: u64) -> String {
        let signed: Envelope =
            serde_json::from_str(&report(unit, id, &KeyPair::generate())).expect("a report");
        let envelope = Envelope {
            header: Header::default(),
            signature: EnvelopeSignature {
                signing_type: "builtin".to_owned(),
                key: "regid.sw".to_owned(),
                value: "AAAA".to_owned(),
                ..signed.signature.clone()
            },
            ..signed
        };
        serde_json::to_string(&envelope).expect("JSON")
    }

    fn pi(unit: &Udi, key: Option<&KeyPair>, va_id: i64) -> ProductInstance {
        ProductInstance {
            id: 7,
            va_id,
            account_id: 1,
            udi: unit.to_string(),
            hostname: None,
            public_key: key.map(KeyPair::public_b64).unwrap_or_default(),
            trust_id: None,
            trusted_at: None,
            first_seen: NOW - 86_400,
            last_contact: NOW - 86_400,
            key_seen: key.is_none().then(|| "builtin:regid.sw".to_owned()),
        }
    }

    fn grant(unit: &Udi, key_id: String) -> BindGrant {
        BindGrant {
            id: 3,
            va_id: 1,
            udi: unit.to_string(),
            key_id,
            granted_by: "ops".to_owned(),
            granted_at: NOW - 60,
            used_at: None,
        }
    }

    fn facts() -> Facts<'static> {
        Facts {
            account: "example.com",
            va: "Lab",
            va_id: 1,
            first_contact: FirstContact::Allow,
            token: false,
            pis: BTreeMap::new(),
            elsewhere: BTreeMap::new(),
            grants: BTreeMap::new(),
            known_reports: BTreeMap::new(),
        }
    }

    /// What a plan does to each UDI, then to each report, in short.
    fn outline(plan: &Plan, reports: &[ParsedReport]) -> Vec<String> {
        let binds = plan.binds.iter().map(|(udi, bind)| {
            let what = match &bind.change {
                Change::Keep(pi) if pi.is_unverified() => "keep unverified".to_owned(),
                Change::Keep(_) => "keep".to_owned(),
                Change::Register(None) => "register".to_owned(),
                Change::Register(Some(Proof::Token { .. })) => "register by token".to_owned(),
                Change::Register(Some(Proof::Grant(_))) => "register by grant".to_owned(),
                Change::Rebind(_, Proof::Token { .. }) => "rebind by token".to_owned(),
                Change::Rebind(_, Proof::Grant(_)) => "rebind by grant".to_owned(),
                Change::RegisterUnverified { seen, .. } => {
                    format!("register unverified {seen}")
                }
                Change::Verify(_) => "verify".to_owned(),
            };
            format!("{udi}: {what}")
        });
        let takes = reports.iter().zip(&plan.takes).map(|(r, take)| {
            let what = match take {
                Take::New { .. } => "new",
                Take::Duplicate => "duplicate",
            };
            format!("{} report {}: {what}", r.udi(), r.report.report_id)
        });
        binds.chain(takes).collect()
    }

    /// Runs the check of `doc` against `facts`: the plan's outline, or the refusal's text.
    fn decide(doc: Document, facts: &Facts<'_>) -> std::result::Result<Vec<String>, String> {
        let parsed =
            super::super::parse("usage.txt", doc.to_xml().as_bytes()).map_err(|e| e.to_string())?;
        let reading = read("usage.txt", &parsed.doc, &parsed.reports, ReportWindow::default(), NOW)
            .map_err(|e| e.to_string())?;
        let plan = plan(reading, facts).map_err(|e| e.to_string())?;
        Ok(outline(&plan, &parsed.reports))
    }

    #[test]
    fn a_count_beyond_the_store_is_refused_by_the_plan() {
        // The wire reader refuses a count above `rum::MAX_COUNT` first; the plan still checks
        // that the count it stores fits.
        let (a, k1) = (udi("FOC1"), KeyPair::generate());
        let doc = Document { reports: vec![report(&a, 1, &k1)], items: vec![info(&a, &k1)] };
        let mut parsed = super::super::parse("usage.txt", doc.to_xml().as_bytes()).unwrap();
        parsed.reports[0].report.measurements[0].count = u64::MAX;
        parsed.reports[0].verified_with = Some(k1.public_b64());
        let reading =
            read("usage.txt", &parsed.doc, &parsed.reports, ReportWindow::default(), NOW).unwrap();
        let err = plan(reading, &facts()).unwrap_err().to_string();
        assert!(err.contains("report 1") && err.contains("count out of range"), "{err}");
    }

    #[test]
    fn every_decision_of_the_ingest() {
        let (k1, k2) = (KeyPair::generate(), KeyPair::generate());
        let (a, b) = (udi("FOC1"), udi("FOC2"));
        let doc = |reports: Vec<String>, items: Vec<Signed>| Document { reports, items };
        let name = |u: &Udi| u.to_string();
        let with_pi = |key: Option<&KeyPair>| {
            let mut f = facts();
            f.pis.insert(a.clone(), pi(&a, key, 1));
            f
        };
        let deny = || Facts { first_contact: FirstContact::Deny, ..facts() };
        let token = |f: Facts<'static>| Facts { token: true, ..f };
        let granted = |mut f: Facts<'static>, key: String| {
            f.grants.insert(a.clone(), vec![grant(&a, key)]);
            f
        };
        let elsewhere = {
            let mut f = facts();
            f.pis.insert(a.clone(), pi(&a, Some(&k1), 2));
            f.elsewhere.insert(a.clone(), "Other".to_owned());
            f
        };
        let late = rum::sign_report(&input(&a, 5, NOW + 3 * 86_400), &k1);
        let request = docs::sign_json(
            Kind::AuthRequest,
            &vec![AuthRequestItem::new(
                Sudi::of(&a),
                vec![docs::Key { entitlement: "regid.hsec".to_owned(), count: 1 }],
            )],
            &k1,
        );
        let ack = docs::sign_json(Kind::RumAck, &serde_json::json!({}), &k1);
        let ok = |lines: &[&str]| Ok::<_, String>(lines.iter().map(|s| s.to_string()).collect());
        let new = |u: &Udi, id: u64| format!("{} report {id}: new", name(u));
        let again = |u: &Udi, id: u64| format!("{} report {id}: duplicate", name(u));
        let register = format!("{}: register", name(&a));
        let known = |mut f: Facts<'static>, ids: &[u64]| {
            f.known_reports.insert(a.clone(), ids.iter().copied().collect());
            f
        };
        let mut over = input(&a, 6, NOW - 600);
        over.measurements[0].count = rum::MAX_COUNT + 1;
        let over = rum::sign_report(&over, &k1);
        let unverified = format!("{}: register unverified builtin:regid.sw", name(&a));
        let unknown_key = format!("{}: register unverified ed25519:{}", name(&a), k2.key_id());
        let keep = format!("{}: keep", name(&a));
        type Expected = std::result::Result<Vec<String>, String>;
        // (case, document, facts, the outline expected, or text the refusal holds)
        let cases: Vec<(&str, Document, Facts<'static>, Expected)> = vec![
            (
                "first contact allowed: registered",
                doc(vec![report(&a, 1, &k1)], vec![info(&a, &k1)]),
                facts(),
                ok(&[&register, &new(&a, 1)]),
            ),
            (
                "first contact denied: refused",
                doc(vec![report(&a, 1, &k1)], vec![info(&a, &k1)]),
                deny(),
                Err("denies first contact".to_owned()),
            ),
            (
                "first contact denied, ID token: registered",
                doc(vec![report(&a, 1, &k1)], vec![info(&a, &k1)]),
                token(deny()),
                ok(&[&format!("{}: register by token", name(&a)), &new(&a, 1)]),
            ),
            (
                "first contact denied, operator grant for the key: registered",
                doc(vec![report(&a, 1, &k1)], vec![info(&a, &k1)]),
                granted(deny(), k1.key_id()),
                ok(&[&format!("{}: register by grant", name(&a)), &new(&a, 1)]),
            ),
            (
                "first contact denied, grant for another key: refused",
                doc(vec![report(&a, 1, &k1)], vec![info(&a, &k1)]),
                granted(deny(), k2.key_id()),
                Err("denies first contact".to_owned()),
            ),
            (
                "known device, reports only: kept",
                doc(vec![report(&a, 2, &k1)], vec![]),
                with_pi(Some(&k1)),
                ok(&[&keep, &new(&a, 2)]),
            ),
            (
                "bound device, another key without trust request: key mismatch",
                doc(vec![report(&a, 2, &k2)], vec![info(&a, &k2)]),
                with_pi(Some(&k1)),
                Err(format!("is bound to device key {}", k1.key_id())),
            ),
            (
                "takeover by trust request without proof: refused",
                doc(vec![], vec![info(&a, &k2), trust(&a, &k2)]),
                with_pi(Some(&k1)),
                Err("may bind it only with proof".to_owned()),
            ),
            (
                "re-bind by trust request with an operator grant",
                doc(vec![], vec![info(&a, &k2), trust(&a, &k2)]),
                granted(with_pi(Some(&k1)), k2.key_id()),
                ok(&[&format!("{}: rebind by grant", name(&a))]),
            ),
            (
                "re-bind by trust request with an ID token",
                doc(vec![], vec![info(&a, &k2), trust(&a, &k2)]),
                token(with_pi(Some(&k1))),
                ok(&[&format!("{}: rebind by token", name(&a))]),
            ),
            (
                "report signed with another key than the bound one: refused, naming it",
                doc(vec![report(&a, 4, &k2)], vec![]),
                with_pi(Some(&k1)),
                Err("report 4".to_owned()),
            ),
            (
                "UDI of another virtual account: refused",
                doc(vec![report(&a, 1, &k1)], vec![info(&a, &k1)]),
                elsewhere,
                Err("virtual account \"Other\"".to_owned()),
            ),
            (
                "report outside the time window: refused",
                doc(vec![late], vec![info(&a, &k1)]),
                facts(),
                Err("later than the authority's clock".to_owned()),
            ),
            (
                "report of a unit the system information does not name: refused",
                doc(vec![report(&b, 1, &k1)], vec![info(&a, &k1)]),
                facts(),
                Err("is not a unit of the product instance".to_owned()),
            ),
            (
                "authorization request of an unknown device without system information",
                doc(vec![], vec![request.clone()]),
                facts(),
                Err("is not registered".to_owned()),
            ),
            (
                "authorization request of a known device: kept, its key checks the request",
                doc(vec![], vec![request]),
                with_pi(Some(&k1)),
                ok(&[&keep]),
            ),
            (
                "a document the authority issues: refused",
                doc(vec![], vec![ack]),
                facts(),
                Err("which the authority issues".to_owned()),
            ),
            (
                "two system informations: refused",
                doc(vec![], vec![info(&a, &k1), info(&a, &k1)]),
                facts(),
                Err("more than one".to_owned()),
            ),
            (
                "Cisco builtin reports of a never-seen device: bound unverified",
                doc(vec![builtin(&a, 1)], vec![]),
                facts(),
                ok(&[&unverified, &new(&a, 1)]),
            ),
            (
                "reports signed with a key never shown: bound unverified",
                doc(vec![report(&a, 1, &k2)], vec![]),
                facts(),
                ok(&[&unknown_key, &new(&a, 1)]),
            ),
            (
                "unverified first contact in a denying virtual account: refused",
                doc(vec![builtin(&a, 1)], vec![]),
                deny(),
                Err("denies first contact".to_owned()),
            ),
            (
                "unverified first contact, ID token: bound unverified",
                doc(vec![builtin(&a, 1)], vec![]),
                token(deny()),
                ok(&[&unverified, &new(&a, 1)]),
            ),
            (
                "later builtin reports of an unverified device: kept",
                doc(vec![builtin(&a, 2)], vec![]),
                with_pi(None),
                ok(&[&format!("{}: keep unverified", name(&a)), &new(&a, 2)]),
            ),
            (
                "system information of an unverified device: verified, not a takeover",
                doc(vec![report(&a, 3, &k1)], vec![info(&a, &k1)]),
                with_pi(None),
                ok(&[&format!("{}: verify", name(&a)), &new(&a, 3)]),
            ),
            (
                "builtin reports for a device bound to a key: refused",
                doc(vec![builtin(&a, 5)], vec![]),
                with_pi(Some(&k1)),
                Err("signing type builtin".to_owned()),
            ),
            (
                "the same report twice in a document: the second a duplicate",
                doc(vec![report(&a, 1, &k1), report(&a, 1, &k1)], vec![info(&a, &k1)]),
                facts(),
                ok(&[&register, &new(&a, 1), &again(&a, 1)]),
            ),
            (
                "a report known from an earlier upload (or document of the batch): a duplicate",
                doc(vec![report(&a, 2, &k1), report(&a, 3, &k1)], vec![]),
                known(with_pi(Some(&k1)), &[2]),
                ok(&[&keep, &again(&a, 2), &new(&a, 3)]),
            ),
            (
                "a report id known for another UDI only: new",
                doc(vec![report(&b, 2, &k1)], vec![info(&b, &k1)]),
                known(facts(), &[2]),
                ok(&[&format!("{}: register", name(&b)), &new(&b, 2)]),
            ),
            (
                "a count over the bound: refused, naming the report",
                doc(vec![over], vec![info(&a, &k1)]),
                facts(),
                Err("count 1000001 is above the maximum".to_owned()),
            ),
        ];
        for (case, document, facts, expected) in cases {
            let got = decide(document, &facts);
            match (&got, &expected) {
                (Err(text), Err(part)) => assert!(text.contains(part.as_str()), "{case}: {text}"),
                _ => assert_eq!(got, expected, "{case}"),
            }
        }
    }
}
