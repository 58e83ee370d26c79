//! Installing a RUM ACK on a product instance: the one rule every way an ACK arrives goes through
//! (file import, a relay's poll answer, smart transport, the management API).
//!
//! - Times come from the ACK: `Last ACK received` becomes the ACK's issue time as the authority
//!   signed it (never later than the device's own clock, so an authority clock running ahead
//!   cannot push the deadline out), never the moment of import.
//! - Only an ACK that acknowledges a report still waiting for one moves anything. An ACK that
//!   names nothing new (a replay, a second copy of the same answer) changes nothing.
//! - An ACK issued before the last one installed never moves `Last ACK received` back (the
//!   record only grows); the waiting reports it names are acknowledged, because the authority
//!   holds them, and report ids only grow, so an old ACK can never name a newer report.

use crate::Timestamp;
use crate::ledger::Ledger;
use crate::policy::PolicyClass;

/// What an ACK says, as the authority signed it.
#[derive(Debug, Clone, Copy)]
pub struct Ack<'a> {
    /// The ACK's id (recorded on each report it acknowledges).
    pub id: &'a str,
    /// When the authority issued it.
    pub issued: Timestamp,
    /// The report ids it accepts (ACCEPTED or DUPLICATE).
    pub reports: &'a [u64],
}

/// What installing an ACK does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    /// Reports it acknowledges for the first time.
    pub acknowledged: Vec<u64>,
    /// `Last ACK received` afterwards.
    pub last_ack: Option<Timestamp>,
}

impl Effect {
    /// Whether the ACK tells the device anything it did not know.
    pub fn is_new(&self) -> bool {
        !self.acknowledged.is_empty()
    }
}

/// What installing `ack` would do, without doing it.
pub fn effect(
    ledger: &Ledger,
    last_ack: Option<Timestamp>,
    ack: &Ack<'_>,
    now: Timestamp,
) -> Effect {
    let acknowledged = ledger.waiting_among(ack.reports);
    let last_ack = if acknowledged.is_empty() {
        last_ack
    } else {
        let at = ack.issued.min(now);
        Some(last_ack.map_or(at, |last| last.max(at)))
    };
    Effect { acknowledged, last_ack }
}

/// The device's ACK record: what [`install`] changes.
#[derive(Debug)]
pub struct Record<'a> {
    pub ledger: &'a mut Ledger,
    /// Usage changes not yet covered by an ACK.
    pub pending_changes: &'a mut Vec<(Timestamp, PolicyClass)>,
    pub last_ack: &'a mut Option<Timestamp>,
}

/// Installs `ack`: the reports it newly names become acknowledged (payload deleted), the usage
/// changes they cover are settled and `Last ACK received` follows [`effect`]. An ACK that is not
/// new changes nothing.
pub fn install(record: Record<'_>, ack: &Ack<'_>, now: Timestamp) -> Effect {
    let effect = effect(record.ledger, *record.last_ack, ack, now);
    if !effect.is_new() {
        return effect;
    }
    let acked = record.ledger.acknowledge(&effect.acknowledged, ack.id, now);
    // A change is covered once a report closed at or after it is acknowledged.
    let covered_until =
        acked.iter().filter_map(|id| record.ledger.reports.get(id)).filter_map(|r| r.end).max();
    if let Some(until) = covered_until {
        record.pending_changes.retain(|(at, _)| *at > until);
    }
    *record.last_ack = effect.last_ack;
    effect
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration};

    use super::*;
    use crate::ledger::Report;

    fn at(s: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn times_come_from_the_ack_and_a_replay_changes_nothing() {
        let mut ledger = Ledger::default();
        let mut sign = |r: &Report| format!("signed:{}", r.id);
        let t0 = at("2026-01-01T00:00:00Z");
        ledger.set_usage("dna-advantage", "tag", 1, t0, &mut sign);
        let closed =
            ledger.close_open(crate::ledger::CloseReason::CurrentUsageRequested, t0, &mut sign);
        let mut pending = vec![(t0, PolicyClass::UnenforcedSubscription)];
        let mut last_ack = None;
        let issued = t0 + Duration::days(1);
        let now = t0 + Duration::days(2);
        let ack = Ack { id: "ack-1", issued, reports: &closed };
        let first = install(
            Record { ledger: &mut ledger, pending_changes: &mut pending, last_ack: &mut last_ack },
            &ack,
            now,
        );
        assert_eq!(first.acknowledged, closed);
        assert_eq!(last_ack, Some(issued), "the ACK's own time, not the import's");
        assert!(pending.is_empty());

        // Months later, the same file again: nothing new, nothing moves.
        let before = ledger.clone();
        let later = now + Duration::days(120);
        let replay = install(
            Record { ledger: &mut ledger, pending_changes: &mut pending, last_ack: &mut last_ack },
            &ack,
            later,
        );
        assert!(!replay.is_new());
        assert_eq!(last_ack, Some(issued));
        assert_eq!(ledger, before);
    }

    #[test]
    fn an_ack_from_the_future_counts_from_now_and_an_old_one_never_moves_back() {
        let mut ledger = Ledger::default();
        let mut sign = |r: &Report| format!("signed:{}", r.id);
        let t0 = at("2026-01-01T00:00:00Z");
        ledger.set_usage("a", "tag", 1, t0, &mut sign);
        let first = ledger.close_open(crate::ledger::CloseReason::UsageChange, t0, &mut sign);
        let t1 = t0 + Duration::days(10);
        let second = ledger.close_open(crate::ledger::CloseReason::UsageChange, t1, &mut sign);
        let mut pending = Vec::new();
        let mut last_ack = None;
        let now = t1 + Duration::days(1);
        let future = Ack { id: "f", issued: now + Duration::days(365), reports: &second };
        install(
            Record { ledger: &mut ledger, pending_changes: &mut pending, last_ack: &mut last_ack },
            &future,
            now,
        );
        assert_eq!(last_ack, Some(now));
        // An older ACK naming a report still waiting acknowledges it, but keeps the record.
        let old = Ack { id: "o", issued: t0 + Duration::days(1), reports: &first };
        let effect = install(
            Record { ledger: &mut ledger, pending_changes: &mut pending, last_ack: &mut last_ack },
            &old,
            now + Duration::days(1),
        );
        assert_eq!(effect.acknowledged, first);
        assert_eq!(last_ack, Some(now));
    }
}
