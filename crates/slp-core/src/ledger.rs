//! The RUM report ledger of one product instance.
//!
//! One report chain per license (per entitlement tag: a mixed-PID stack has one chain per PID
//! family for the same feature): a license in use always has exactly one OPEN report; a usage
//! change, a reload or a request for current usage closes it (and opens the next one, chained
//! with `previous`/`next`). The report that ends a chain — the license is no longer in use —
//! is marked [`Report::ended`]: its last measurement says 0, so whoever counts usage from the
//! latest report of each license (the authority) sees that it stopped. A report is signed at the moment it closes and is immutable from then
//! on. It is kept, byte for byte, until an ACK names it; only then is its payload dropped
//! (storage state DELETED). Nothing un-acknowledged is ever removed.

use std::collections::BTreeMap;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Report states: YANG `rum-report-state-enum` (open, closed, pending, unacknowledged, acknowledged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReportState {
    /// Still collecting usage.
    Open,
    /// Closed, never sent or saved.
    Closed,
    /// Sent or saved to a file, waiting for its ACK.
    Pending,
    /// Read through the management API at least once, not acknowledged.
    Unacknowledged,
    /// Acknowledged; the payload is deleted from storage.
    Acknowledged,
}

impl ReportState {
    /// The word `show license rum` prints.
    pub fn show_word(self) -> &'static str {
        match self {
            ReportState::Open => "OPEN",
            ReportState::Closed => "CLOSED",
            ReportState::Pending => "PENDING",
            ReportState::Unacknowledged => "UNACK",
            ReportState::Acknowledged => "ACK",
        }
    }
}

/// Why a report was closed; carried in the measurement's `termination_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloseReason {
    /// Someone asked for current usage (save usage, sync, pull).
    CurrentUsageRequested,
    /// The product reloaded.
    ProductReload,
    /// The license count changed.
    UsageChange,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::CurrentUsageRequested => "CurrentUsageRequested",
            CloseReason::ProductReload => "ProductReload",
            CloseReason::UsageChange => "UsageChange",
        }
    }
}

/// One RUM report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub id: u64,
    pub feature: String,
    pub entitlement_tag: String,
    pub state: ReportState,
    pub previous: Option<u64>,
    pub next: Option<u64>,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    /// The license count measured over the report's interval.
    pub count: u64,
    pub close_reason: Option<CloseReason>,
    /// The chain ends with this report: the license was not in use any more when it closed
    /// (its count fell to 0, or the reload it closed at does not use it). The signed report
    /// then ends with a measurement of count 0 at its end time.
    #[serde(default)]
    pub ended: bool,
    /// The signed report (`{payload, header, signature}` JSON), present from close until ACK.
    pub envelope: Option<String>,
    pub acknowledged_at: Option<Timestamp>,
    /// The ACK that acknowledged this report.
    pub transaction_id: Option<String>,
}

impl Report {
    /// Whether the report's payload is still stored.
    pub fn in_storage(&self) -> bool {
        self.envelope.is_some()
    }
}

/// Which reports `license smart save usage` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    All,
    Unreported,
    Days(u32),
    ReportId(u64),
}

/// Signs a report at the moment it closes and returns its envelope.
pub type Signer<'a> = &'a mut dyn FnMut(&Report) -> String;

/// All RUM reports of one product instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub reports: BTreeMap<u64, Report>,
    last_id: u64,
}

impl Ledger {
    /// The open report of a license (by entitlement tag), if it is in use.
    pub fn open_report(&self, entitlement_tag: &str) -> Option<&Report> {
        self.reports
            .values()
            .find(|it| it.entitlement_tag == entitlement_tag && it.state == ReportState::Open)
    }

    /// The entitlement tags with an open report.
    pub fn open_tags(&self) -> Vec<(String, String)> {
        self.reports
            .values()
            .filter(|it| it.state == ReportState::Open)
            .map(|it| (it.feature.clone(), it.entitlement_tag.clone()))
            .collect()
    }

    /// Records the current count of a license. A change closes the open report (reason
    /// `UsageChange`) and, when the count is not zero, opens the next one. Returns whether
    /// the usage changed.
    pub fn set_usage(
        &mut self,
        feature: &str,
        entitlement_tag: &str,
        count: u64,
        now: Timestamp,
        sign: Signer<'_>,
    ) -> bool {
        let open = self.open_report(entitlement_tag).map(|it| (it.id, it.count));
        match open {
            Some((_, open_count)) if open_count == count => false,
            Some((id, _)) => {
                self.close(id, CloseReason::UsageChange, now, count == 0, sign);
                if count > 0 {
                    self.open(feature, entitlement_tag, count, now, Some(id));
                }
                true
            }
            None if count > 0 => {
                let previous = self.last_of(entitlement_tag);
                self.open(feature, entitlement_tag, count, now, previous);
                true
            }
            None => false,
        }
    }

    /// Closes every open report for `reason` and opens its continuation with the same count
    /// (none at a reload: the licenses the reloaded product uses open anew). Returns the ids
    /// closed.
    pub fn close_open(
        &mut self,
        reason: CloseReason,
        now: Timestamp,
        sign: Signer<'_>,
    ) -> Vec<u64> {
        self.close_open_ending(reason, now, &|_| false, sign)
    }

    /// [`Ledger::close_open`], where `ends(tag)` says which licenses are not in use after the
    /// close (a reload to another license level): their chains end there ([`Report::ended`]).
    pub fn close_open_ending(
        &mut self,
        reason: CloseReason,
        now: Timestamp,
        ends: &dyn Fn(&str) -> bool,
        sign: Signer<'_>,
    ) -> Vec<u64> {
        let open: Vec<(u64, String, String, u64)> = self
            .reports
            .values()
            .filter(|it| it.state == ReportState::Open)
            .map(|it| (it.id, it.feature.clone(), it.entitlement_tag.clone(), it.count))
            .collect();
        let mut closed = Vec::new();
        for (id, feature, tag, count) in open {
            let ended = ends(&tag);
            self.close(id, reason, now, ended, sign);
            closed.push(id);
            if reason != CloseReason::ProductReload && !ended {
                self.open(&feature, &tag, count, now, Some(id));
            }
        }
        closed
    }

    /// The reports a save or an upload should carry, oldest first. Only reports whose payload is
    /// still stored can be sent.
    pub fn select(&self, selection: Selection, now: Timestamp) -> Vec<&Report> {
        self.reports
            .values()
            .filter(|it| it.in_storage())
            .filter(|it| match selection {
                Selection::All => true,
                Selection::Unreported => it.state == ReportState::Closed,
                Selection::Days(days) => {
                    it.end.is_some_and(|end| end >= now - Duration::days(i64::from(days)))
                }
                Selection::ReportId(id) => it.id == id,
            })
            .collect()
    }

    /// Marks reports as sent or saved (waiting for an ACK).
    pub fn mark_pending(&mut self, ids: &[u64]) {
        for id in ids {
            if let Some(report) = self.reports.get_mut(id)
                && matches!(report.state, ReportState::Closed | ReportState::Unacknowledged)
            {
                report.state = ReportState::Pending;
            }
        }
    }

    /// Marks reports as read through the management API.
    pub fn mark_read(&mut self, ids: &[u64]) {
        for id in ids {
            if let Some(report) = self.reports.get_mut(id)
                && report.state == ReportState::Closed
            {
                report.state = ReportState::Unacknowledged;
            }
        }
    }

    /// Applies an ACK: the named reports become acknowledged and their payload is deleted.
    /// Ids the ledger does not hold, or holds open, are ignored. Returns the ids newly acknowledged.
    pub fn acknowledge(&mut self, ids: &[u64], transaction_id: &str, now: Timestamp) -> Vec<u64> {
        let mut done = Vec::new();
        for id in ids {
            if let Some(report) = self.reports.get_mut(id)
                && report.state != ReportState::Open
                && report.state != ReportState::Acknowledged
            {
                report.state = ReportState::Acknowledged;
                report.envelope = None;
                report.acknowledged_at = Some(now);
                report.transaction_id = Some(transaction_id.to_owned());
                done.push(*id);
            }
        }
        done
    }

    /// The ids among `ids` of reports still waiting for an ACK (closed, not acknowledged), in
    /// the order given, each once: what an ACK naming `ids` would acknowledge.
    pub fn waiting_among(&self, ids: &[u64]) -> Vec<u64> {
        let mut out: Vec<u64> = Vec::new();
        for id in ids {
            if let Some(report) = self.reports.get(id)
                && report.state != ReportState::Open
                && report.state != ReportState::Acknowledged
                && !out.contains(id)
            {
                out.push(*id);
            }
        }
        out
    }

    /// Reports that are closed and not yet acknowledged.
    pub fn waiting_for_ack(&self) -> usize {
        self.reports.values().filter(|it| it.in_storage()).count()
    }

    fn last_of(&self, entitlement_tag: &str) -> Option<u64> {
        self.reports
            .values()
            .filter(|it| it.entitlement_tag == entitlement_tag)
            .map(|it| it.id)
            .next_back()
    }

    fn next_id(&mut self, now: Timestamp) -> u64 {
        let seed = u64::try_from(now.timestamp()).unwrap_or(0);
        let id = seed.max(self.last_id + 1);
        self.last_id = id;
        id
    }

    fn open(
        &mut self,
        feature: &str,
        tag: &str,
        count: u64,
        now: Timestamp,
        previous: Option<u64>,
    ) {
        let id = self.next_id(now);
        if let Some(prev) = previous.and_then(|prev| self.reports.get_mut(&prev)) {
            prev.next = Some(id);
        }
        self.reports.insert(
            id,
            Report {
                id,
                feature: feature.to_owned(),
                entitlement_tag: tag.to_owned(),
                state: ReportState::Open,
                previous,
                next: None,
                start: now,
                end: None,
                count,
                close_reason: None,
                ended: false,
                envelope: None,
                acknowledged_at: None,
                transaction_id: None,
            },
        );
    }

    fn close(
        &mut self,
        id: u64,
        reason: CloseReason,
        now: Timestamp,
        ended: bool,
        sign: Signer<'_>,
    ) {
        let Some(report) = self.reports.get_mut(&id) else { return };
        report.state = ReportState::Closed;
        report.end = Some(now);
        report.close_reason = Some(reason);
        report.ended = ended;
        let envelope = sign(report);
        report.envelope = Some(envelope);
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    fn at(s: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn signer() -> impl FnMut(&Report) -> String {
        |report: &Report| format!("signed:{}:{}", report.id, report.count)
    }

    #[test]
    fn usage_changes_chain_reports_and_acks_delete_payloads() {
        let mut ledger = Ledger::default();
        let mut sign = signer();
        let t0 = at("2026-01-01T00:00:00Z");
        assert!(ledger.set_usage("network-advantage", "tag", 1, t0, &mut sign));
        assert!(!ledger.set_usage("network-advantage", "tag", 1, t0, &mut sign));
        let first = ledger.open_report("tag").unwrap().id;
        assert_eq!(first, u64::try_from(t0.timestamp()).unwrap());

        let t1 = t0 + Duration::days(3);
        assert!(ledger.set_usage("network-advantage", "tag", 2, t1, &mut sign));
        let second = ledger.open_report("tag").unwrap().clone();
        assert_eq!(second.previous, Some(first));
        assert_eq!(ledger.reports[&first].next, Some(second.id));
        assert_eq!(ledger.reports[&first].state, ReportState::Closed);
        assert_eq!(ledger.reports[&first].envelope.as_deref(), Some(&*format!("signed:{first}:1")));

        // n -> 0 closes the chain without opening a new report.
        let t2 = t1 + Duration::days(1);
        assert!(ledger.set_usage("network-advantage", "tag", 0, t2, &mut sign));
        assert!(ledger.open_report("tag").is_none());
        assert!(ledger.reports[&second.id].ended, "the chain ends with the report closed at 0");
        assert!(!ledger.reports[&first].ended);

        let saved: Vec<u64> = ledger.select(Selection::All, t2).iter().map(|it| it.id).collect();
        assert_eq!(saved, vec![first, second.id]);
        ledger.mark_pending(&saved);
        assert_eq!(ledger.select(Selection::Unreported, t2).len(), 0);

        let acked = ledger.acknowledge(&[first, 999], "ack-1", t2);
        assert_eq!(acked, vec![first]);
        assert!(!ledger.reports[&first].in_storage());
        assert_eq!(ledger.waiting_for_ack(), 1);
        // A second ACK of the same report changes nothing.
        assert!(ledger.acknowledge(&[first], "ack-2", t2).is_empty());
    }

    #[test]
    fn requesting_current_usage_closes_and_continues() {
        let mut ledger = Ledger::default();
        let mut sign = signer();
        let t0 = at("2026-01-01T00:00:00Z");
        ledger.set_usage("dna-advantage", "tag", 2, t0, &mut sign);
        let closed = ledger.close_open(
            CloseReason::CurrentUsageRequested,
            t0 + Duration::hours(1),
            &mut sign,
        );
        assert_eq!(closed.len(), 1);
        let open = ledger.open_report("tag").unwrap();
        assert_eq!(open.count, 2);
        assert_eq!(open.previous, Some(closed[0]));
        assert!(open.id > closed[0]);
    }

    #[test]
    fn a_reload_ends_the_chains_it_does_not_continue() {
        let mut ledger = Ledger::default();
        let mut sign = signer();
        let t0 = at("2026-01-01T00:00:00Z");
        ledger.set_usage("network-essentials", "ne", 1, t0, &mut sign);
        ledger.set_usage("network-advantage", "na-24", 1, t0, &mut sign);
        // Same feature, another PID family's tag: a chain of its own.
        ledger.set_usage("network-advantage", "na-48", 2, t0, &mut sign);
        assert_eq!(ledger.open_tags().len(), 3);
        let t1 = t0 + Duration::hours(1);
        let closed =
            ledger.close_open_ending(CloseReason::ProductReload, t1, &|tag| tag == "ne", &mut sign);
        assert_eq!(closed.len(), 3);
        let ended: Vec<&str> = closed
            .iter()
            .filter(|id| ledger.reports[*id].ended)
            .map(|id| ledger.reports[id].entitlement_tag.as_str())
            .collect();
        assert_eq!(ended, vec!["ne"]);
        assert!(ledger.open_tags().is_empty(), "a reload opens nothing itself");
    }
}
