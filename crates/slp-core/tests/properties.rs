//! Property tests of the deadline and ledger rules: no sequence of usage changes, reloads, saves,
//! ACK imports (fresh, replayed, stale, in any order), and clock steps forward or back can move
//! `Next ACK deadline` later without an ACK that acknowledges reports still waiting for one, or
//! lose a report that no imported ACK named; and `Next report push` always comes before `Next ACK
//! deadline` unless the last push was the day before it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration};
use proptest::prelude::*;
use slp_core::Timestamp;
use slp_core::ack::{self, Ack, Record};
use slp_core::deadline::{Facts, THROTTLE, next_ack_deadline, next_report_push};
use slp_core::ledger::{CloseReason, Ledger, Report, ReportState, Selection};
use slp_core::policy::{Attributes, Policy, PolicyClass};

/// The licenses of the model and their classes.
const FEATURES: [(&str, PolicyClass); 3] = [
    ("network-advantage", PolicyClass::UnenforcedPerpetual),
    ("dna-advantage", PolicyClass::UnenforcedSubscription),
    ("hsec", PolicyClass::Export),
];

#[derive(Debug, Clone)]
enum Op {
    /// The clock moves by this many hours (negative: set back).
    Step(i64),
    SetUsage(usize, u64),
    Reload,
    /// `save usage all`, uploaded: the authority issues an ACK for the saved reports, its clock
    /// this many hours off the device's.
    SaveAndUpload(i64),
    /// Imports the n-th ACK issued so far (modulo their number): fresh, replayed or stale.
    Import(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (-48i64..24 * 120).prop_map(Op::Step),
        (0..FEATURES.len(), 0u64..3).prop_map(|(f, n)| Op::SetUsage(f, n)),
        Just(Op::Reload),
        (-24i64..24).prop_map(Op::SaveAndUpload),
        (0usize..8).prop_map(Op::Import),
    ]
}

fn attributes() -> impl Strategy<Value = Attributes> {
    (0u32..120, 0u32..120, 0u32..120).prop_map(|(first, ongoing, on_change)| Attributes {
        first,
        ongoing,
        on_change,
    })
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::cisco_default()),
        (attributes(), attributes(), attributes()).prop_map(|(p, s, e)| {
            let mut policy = Policy::cisco_default();
            policy.set_attributes(PolicyClass::UnenforcedPerpetual, p);
            policy.set_attributes(PolicyClass::UnenforcedSubscription, s);
            policy.set_attributes(PolicyClass::Export, e);
            policy
        }),
    ]
}

/// One ACK as the authority issued it.
#[derive(Debug, Clone)]
struct Issued {
    id: String,
    issued: Timestamp,
    reports: Vec<u64>,
}

/// A product instance reduced to what the deadline and ledger rules see.
#[derive(Debug, Clone, PartialEq)]
struct Model {
    now: Timestamp,
    ledger: Ledger,
    usage: BTreeMap<usize, u64>,
    first_use: BTreeMap<PolicyClass, Timestamp>,
    pending_changes: Vec<(Timestamp, PolicyClass)>,
    last_ack: Option<Timestamp>,
    last_push: Option<Timestamp>,
}

fn class_of(feature: &str) -> PolicyClass {
    FEATURES.iter().find(|(f, _)| *f == feature).map_or(PolicyClass::Export, |(_, c)| *c)
}

impl Model {
    fn new(now: Timestamp) -> Model {
        Model {
            now,
            ledger: Ledger::default(),
            usage: BTreeMap::new(),
            first_use: BTreeMap::new(),
            pending_changes: Vec::new(),
            last_ack: None,
            last_push: None,
        }
    }

    fn deadline(&self, policy: &Policy) -> Option<Timestamp> {
        self.schedule(policy, None, true).0
    }

    /// `Next ACK deadline` and `Next report push` with this usage interval and transport.
    fn schedule(
        &self,
        policy: &Policy,
        usage_interval: Option<u32>,
        transport_off: bool,
    ) -> (Option<Timestamp>, Option<Timestamp>) {
        let mut in_use: Vec<PolicyClass> =
            self.usage.iter().filter(|(_, n)| **n > 0).map(|(f, _)| FEATURES[*f].1).collect();
        in_use.sort();
        in_use.dedup();
        let mut unacknowledged: Vec<PolicyClass> = self
            .ledger
            .reports
            .values()
            .filter(|r| r.in_storage())
            .map(|r| class_of(&r.feature))
            .collect();
        unacknowledged.sort();
        unacknowledged.dedup();
        let facts = Facts {
            policy,
            in_use: &in_use,
            unacknowledged: &unacknowledged,
            first_use: &self.first_use,
            last_ack: self.last_ack,
            pending_changes: &self.pending_changes,
            last_push: self.last_push,
            usage_interval,
            transport_off,
        };
        (next_ack_deadline(&facts), next_report_push(&facts))
    }

    fn set_usage(&mut self, feature: usize, count: u64) {
        let mut sign = |r: &Report| format!("signed:{}:{}", r.id, r.count);
        let (name, class) = FEATURES[feature];
        if self.ledger.set_usage(name, name, count, self.now, &mut sign) {
            if count > 0 {
                self.first_use.entry(class).or_insert(self.now);
            }
            if !self.pending_changes.contains(&(self.now, class)) {
                self.pending_changes.push((self.now, class));
            }
        }
        self.usage.insert(feature, count);
    }

    fn reload(&mut self) {
        let mut sign = |r: &Report| format!("signed:{}:{}", r.id, r.count);
        self.ledger.close_open(CloseReason::ProductReload, self.now, &mut sign);
        let usage: Vec<(usize, u64)> = self.usage.iter().map(|(f, n)| (*f, *n)).collect();
        for (feature, count) in usage {
            self.set_usage(feature, count);
        }
    }

    /// `save usage all`: closes the open reports and returns the ids saved.
    fn save(&mut self) -> Vec<u64> {
        let mut sign = |r: &Report| format!("signed:{}:{}", r.id, r.count);
        self.ledger.close_open(CloseReason::CurrentUsageRequested, self.now, &mut sign);
        let ids: Vec<u64> =
            self.ledger.select(Selection::All, self.now).iter().map(|r| r.id).collect();
        self.ledger.mark_pending(&ids);
        self.last_push = Some(self.now);
        ids
    }

    fn import(&mut self, issued: &Issued) -> ack::Effect {
        let ack = Ack { id: &issued.id, issued: issued.issued, reports: &issued.reports };
        ack::install(
            Record {
                ledger: &mut self.ledger,
                pending_changes: &mut self.pending_changes,
                last_ack: &mut self.last_ack,
            },
            &ack,
            self.now,
        )
    }
}

/// `a` is later than `b`, where no deadline at all is the latest.
fn later(a: Option<Timestamp>, b: Option<Timestamp>) -> bool {
    match (a, b) {
        (None, Some(_)) => true,
        (Some(a), Some(b)) => a > b,
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn the_report_push_comes_before_the_ack_deadline(
        policy in policy(),
        usage_interval in proptest::option::of(0u32..200),
        transport_off in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().to_utc();
        let mut model = Model::new(start);
        let mut issued: Vec<Issued> = Vec::new();
        for op in ops {
            match &op {
                Op::Step(hours) => model.now += Duration::hours(*hours),
                Op::SetUsage(feature, count) => model.set_usage(*feature, *count),
                Op::Reload => model.reload(),
                Op::SaveAndUpload(skew) => {
                    let ids = model.save();
                    if !ids.is_empty() {
                        issued.push(Issued {
                            id: format!("ack-{}", issued.len()),
                            issued: model.now + Duration::hours(*skew),
                            reports: ids,
                        });
                    }
                }
                Op::Import(n) => {
                    if !issued.is_empty() {
                        let ack = issued[n % issued.len()].clone();
                        model.import(&ack);
                    }
                }
            }
            let (deadline, push) = model.schedule(&policy, usage_interval, transport_off);
            if let (Some(deadline), Some(push)) = (deadline, push)
                && model.last_push.is_none_or(|last| last + THROTTLE < deadline - THROTTLE)
            {
                prop_assert!(
                    push < deadline,
                    "after {:?}: Next report push {} is not before Next ACK deadline {}",
                    op, push, deadline
                );
            }
        }
    }

    #[test]
    fn only_an_ack_of_waiting_reports_moves_the_deadline_later(
        policy in policy(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().to_utc();
        let mut model = Model::new(start);
        let mut issued: Vec<Issued> = Vec::new();
        // Reports the authority holds and the ACKs imported so far named.
        let mut uploaded: BTreeSet<u64> = BTreeSet::new();
        let mut acked_by_import: BTreeSet<u64> = BTreeSet::new();
        let mut closed_ever: BTreeSet<u64> = BTreeSet::new();
        for op in ops {
            let before = model.clone();
            let deadline_before = model.deadline(&policy);
            let mut new_ack = false;
            match &op {
                Op::Step(hours) => model.now += Duration::hours(*hours),
                Op::SetUsage(feature, count) => model.set_usage(*feature, *count),
                Op::Reload => model.reload(),
                Op::SaveAndUpload(skew) => {
                    let ids = model.save();
                    uploaded.extend(ids.iter().copied());
                    if !ids.is_empty() {
                        issued.push(Issued {
                            id: format!("ack-{}", issued.len()),
                            issued: model.now + Duration::hours(*skew),
                            reports: ids,
                        });
                    }
                }
                Op::Import(n) => {
                    if !issued.is_empty() {
                        let ack = issued[n % issued.len()].clone();
                        let effect = model.import(&ack);
                        if effect.is_new() {
                            new_ack = true;
                            acked_by_import.extend(effect.acknowledged.iter().copied());
                        } else {
                            prop_assert_eq!(&model, &before, "an ACK with nothing new changed the device");
                        }
                    }
                }
            }
            let deadline_after = model.deadline(&policy);
            if !new_ack {
                prop_assert!(
                    !later(deadline_after, deadline_before),
                    "{:?} moved the deadline from {:?} to {:?} without a new ACK",
                    op, deadline_before, deadline_after
                );
            }
            prop_assert!(
                model.last_ack >= before.last_ack,
                "{:?} moved Last ACK received back", op
            );
            // No report is ever lost: every closed report keeps its payload until an imported
            // ACK named it, and only reports the authority holds are acknowledged.
            for report in model.ledger.reports.values() {
                if report.state != ReportState::Open {
                    closed_ever.insert(report.id);
                }
                match report.state {
                    ReportState::Open => {}
                    ReportState::Acknowledged => {
                        prop_assert!(acked_by_import.contains(&report.id));
                        prop_assert!(uploaded.contains(&report.id));
                        prop_assert!(!report.in_storage());
                    }
                    _ => prop_assert!(report.in_storage(), "report {} lost its payload", report.id),
                }
            }
            for id in &closed_ever {
                prop_assert!(model.ledger.reports.contains_key(id), "report {} disappeared", id);
            }
        }
    }
}
