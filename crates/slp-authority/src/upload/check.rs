//! The ingest's decisions: a pure check of one document against the facts loaded for it.
//!
//! [`read`] takes the document apart (its system information, trust requests, reports,
//! authorization requests and returns) and names the UDIs it speaks for; the caller loads the
//! [`Facts`] of those UDIs from the store; [`plan`] decides, from the two alone, what the ingest
//! does — which product instances to register, bind or re-bind, which trust codes to issue,
//! which reports to record, which codes to issue and take back — or refuses the document with
//! the reason (naming the UDI, report id or key). No IO, no clock: the time is a fact.

use std::collections::{BTreeMap, BTreeSet};

use slp_store::{BindGrant, FirstContact, ProductInstance};
use slp_wire::docs::{AuthRequestItem, AuthReturn, SystemInfo, TrustRequest};
use slp_wire::keys;
use slp_wire::xml::{Document, Kind, Signed};

use super::Checked;
use crate::error::BindRefusal;
use crate::sanity::ReportWindow;
use crate::{AuthorityError, Result};

/// A document taken apart, its own signatures (system information, trust requests) checked.
pub(crate) struct Reading<'a> {
    pub(crate) file: &'a str,
    pub(crate) reports: &'a [Checked],
    pub(crate) info: Option<SystemInfo>,
    /// The UDI of the system information (the active unit of an HA set).
    pub(crate) active: Option<String>,
    /// The units the system information speaks for, with the key it claims for them.
    pub(crate) claimed: BTreeMap<String, String>,
    /// Trust requests: UDI → the device key they offer.
    pub(crate) trust: BTreeMap<String, String>,
    /// Authorization requests, each with the UDI that signed it (its first entry's).
    auth_requests: Vec<(&'a Signed, String, Vec<AuthRequestItem>)>,
    returns: Vec<(&'a Signed, String, AuthReturn)>,
}

/// What the store knows that the decisions depend on, loaded for the UDIs of a [`Reading`].
pub(crate) struct Facts<'a> {
    /// The smart account's domain and the virtual account's name (for refusals).
    pub(crate) account: &'a str,
    pub(crate) va: &'a str,
    pub(crate) va_id: i64,
    pub(crate) first_contact: FirstContact,
    /// Whether the request came with an ID token of this virtual account.
    pub(crate) token: bool,
    /// The product instances of the smart account, by UDI (of this or another virtual account).
    pub(crate) pis: BTreeMap<String, ProductInstance>,
    /// For a UDI registered in another virtual account: that account's name.
    pub(crate) elsewhere: BTreeMap<String, String>,
    /// The operator's unused bind grants, by UDI.
    pub(crate) grants: BTreeMap<String, Vec<BindGrant>>,
}

/// What the ingest of a document does; [`plan`] decides it and the apply step carries it out.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The active unit (HA) the document speaks for, when it has system information.
    pub(crate) active: Option<String>,
    /// The hostname of the system information, given to its units.
    pub(crate) hostname: Option<String>,
    /// The units the system information names.
    pub(crate) units: BTreeSet<String>,
    /// Every UDI the document names, with what happens to its binding.
    pub(crate) binds: BTreeMap<String, Bind>,
    /// Trust codes to issue: UDI → device key.
    pub(crate) trust: BTreeMap<String, String>,
    /// Authorization codes to issue, by UDI.
    pub(crate) requests: Vec<(String, AuthRequestItem)>,
    /// Authorization codes to take back, by UDI.
    pub(crate) returns: Vec<(String, AuthReturn)>,
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
    reports: &'a [Checked],
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
            let active = info.sudi.udi().map_err(&wire)?.to_string();
            item.verify(&info.public_key, &format!("system information of {active}"))
                .map_err(&wire)?;
            Some(info)
        }
        None => None,
    };
    let mut claimed: BTreeMap<String, String> = BTreeMap::new();
    let mut active: Option<String> = None;
    if let Some(info) = &info {
        let udi = info.sudi.udi().map_err(&wire)?.to_string();
        claimed.insert(udi.clone(), info.public_key.clone());
        active = Some(udi);
        for unit in &info.device_list {
            let udi = unit.sudi.udi().map_err(&wire)?.to_string();
            claimed.insert(udi, info.public_key.clone());
        }
    }
    let in_units = |udi: &str| -> Result<()> {
        if info.is_some() && !claimed.contains_key(udi) {
            return Err(refused(
                file,
                format!(
                    "{udi} is not a unit of the product instance that wrote the file ({})",
                    active.as_deref().unwrap_or("?")
                ),
            ));
        }
        Ok(())
    };
    let mut trust: BTreeMap<String, String> = BTreeMap::new();
    for item in doc.of(Kind::TrustRequest) {
        let request: TrustRequest = item.json().map_err(&wire)?;
        let udi = request.sudi.udi().map_err(&wire)?.to_string();
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
        in_units(&checked.udi)?;
        window.check(file, &checked.udi, &checked.report, now)?;
    }
    let mut auth_requests = Vec::new();
    for item in doc.of(Kind::AuthRequest) {
        let items: Vec<AuthRequestItem> = item.json().map_err(&wire)?;
        let mut signer: Option<String> = None;
        for request in &items {
            let udi = request.sudi.udi().map_err(&wire)?.to_string();
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
        let udi = ret.sudi.udi().map_err(&wire)?.to_string();
        in_units(&udi)?;
        returns.push((item, udi, ret));
    }
    Ok(Reading { file, reports, info, active, claimed, trust, auth_requests, returns })
}

impl Reading<'_> {
    /// Every UDI the document names.
    pub(crate) fn udis(&self) -> BTreeSet<String> {
        let mut udis: BTreeSet<String> = self.claimed.keys().cloned().collect();
        udis.extend(self.trust.keys().cloned());
        udis.extend(self.reports.iter().map(|r| r.udi.clone()));
        for (_, _, items) in &self.auth_requests {
            udis.extend(items.iter().filter_map(|r| r.sudi.udi().ok()).map(|u| u.to_string()));
        }
        udis.extend(self.returns.iter().map(|(_, u, _)| u.clone()));
        udis
    }

    /// The device key the document offers for `udi` (its system information's or trust
    /// request's).
    pub(crate) fn offered_key(&self, udi: &str) -> Option<&String> {
        self.claimed.get(udi).or_else(|| self.trust.get(udi))
    }

    /// Whether binding `udi` could need a proof, given its product instance `bound` (if any)
    /// and the virtual account's first-contact rule: the facts then need its grants.
    pub(crate) fn may_need_proof(
        &self,
        udi: &str,
        bound: Option<&ProductInstance>,
        first_contact: FirstContact,
    ) -> bool {
        match (self.offered_key(udi), bound) {
            (Some(key), Some(pi)) => *key != pi.public_key,
            (Some(_), None) => first_contact == FirstContact::Deny,
            (None, _) => false,
        }
    }
}

/// Decides the ingest of the document `reading` holds from `facts`: the [`Plan`], or the
/// refusal of the whole document.
pub(crate) fn plan(mut reading: Reading<'_>, facts: &Facts<'_>) -> Result<Plan> {
    let file = reading.file;
    let wire = wire(file);
    let not_registered = |udi: &str| {
        refused(
            file,
            format!(
                "{udi} is not registered and the file has no <smartLicenseSystemInfo> with its device key"
            ),
        )
    };
    let bound_key = |udi: &str| -> Result<String> {
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
            let udi = request.sudi.udi().map_err(&wire)?.to_string();
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
    let mut udis: BTreeSet<String> = reading.claimed.keys().cloned().collect();
    udis.extend(reading.trust.keys().cloned());
    udis.extend(reading.reports.iter().map(|r| r.udi.clone()));
    udis.extend(requests.iter().map(|(u, _)| u.clone()));
    udis.extend(returns.iter().map(|(u, _)| u.clone()));
    let proof_for = |udi: &str, key: &str| -> Option<Proof> {
        if facts.token {
            return Some(Proof::Token { va: facts.va.to_owned() });
        }
        let offered = key_id(key);
        let grants = facts.grants.get(udi)?;
        grants
            .iter()
            .find(|g| g.key_id == offered && g.used_at.is_none() && g.va_id == facts.va_id)
            .cloned()
            .map(Proof::Grant)
    };
    let refusal = |udi: &str, bound: Option<String>, key: &str| BindRefusal {
        file: file.to_owned(),
        udi: udi.to_owned(),
        account: facts.account.to_owned(),
        va: facts.va.to_owned(),
        bound,
        offered: key_id(key),
    };
    let mut binds: BTreeMap<String, Bind> = BTreeMap::new();
    for udi in &udis {
        // A UDI is scoped to its smart account: another account's instance of it is neither
        // looked at nor touched (nor told of).
        if let Some(other) = facts.elsewhere.get(udi) {
            return Err(AuthorityError::UdiElsewhere {
                file: file.to_owned(),
                udi: udi.clone(),
                va: facts.va.to_owned(),
                location: format!("virtual account {other:?}"),
            });
        }
        let existing = facts.pis.get(udi).cloned();
        let bind = match (reading.offered_key(udi).cloned(), existing) {
            (Some(key), Some(pi)) if key != pi.public_key => {
                if reading.trust.get(udi) != Some(&key) {
                    return Err(AuthorityError::KeyMismatch {
                        file: file.to_owned(),
                        udi: udi.clone(),
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
            (None, None) => return Err(not_registered(udi)),
        };
        binds.insert(udi.clone(), bind);
    }
    // Every report must carry its device's signature.
    for checked in reading.reports {
        let key = binds.get(&checked.udi).map(|b| b.key.as_str()).unwrap_or_default();
        if checked.verified_with.as_deref() != Some(key) {
            checked.parsed.verify(key).map_err(|e| AuthorityError::Report {
                file: file.to_owned(),
                udi: checked.udi.clone(),
                report_id: checked.report.report_id,
                reason: e.to_string(),
            })?;
        }
        if checked.report.report_id > i64::MAX as u64 {
            return Err(AuthorityError::Report {
                file: file.to_owned(),
                udi: checked.udi.clone(),
                report_id: checked.report.report_id,
                reason: "report id out of range".to_owned(),
            });
        }
    }
    Ok(Plan {
        active: reading.active,
        hostname: reading.info.and_then(|i| i.hostname),
        units: reading.claimed.into_keys().collect(),
        binds,
        trust: reading.trust,
        requests,
        returns,
    })
}
