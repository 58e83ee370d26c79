//! Deadline arithmetic: `Next ACK deadline`, `Reporting push interval` and `Next report push`.
//!
//! The ACK deadline, from the reference's "Policy" section (Table 4, "Policy: Cisco default")
//! and its migration examples:
//! - A product instance that never consumed a license has no reporting requirement at all.
//! - First report: each class must be acknowledged within `first` days of its first use
//!   (RTU and SLR migrations: deadline 90 days after first use, from the subscription class).
//! - Reporting frequency: after an ACK, each class in use must be acknowledged again within
//!   `ongoing` days of that ACK. A class no longer in use whose usage is not acknowledged yet
//!   (a closed report waits for its ACK) keeps that deadline: removing a license does not
//!   postpone reporting the usage it had.
//! - Report on change: every usage change (a license added, removed or changed, 0 → n, n → 0,
//!   and the HA events that count as changes) must be acknowledged within `on_change` days.
//! - 0 means "no requirement" for that attribute; no ACK deadline if the policy needs no ACK.
//!
//! The push schedule ([`push_interval_days`], [`next_report_push`]) follows "Setting the
//! Transport Type, URL, and Reporting Interval", step 5 (`license smart usage interval`): "By
//! default the RUM report is sent every 30 days"; a configured interval applies as is, except
//! with transport off, where the lower of it and the policy's reporting frequency applies; 0
//! means never push; without a configured interval, the policy decides whether reports are sent
//! at all. The guide's examples ("Example: Smart Licensing to Smart Licensing Using Policy":
//! `Reporting push interval: 30 days`, `Next report push` 30 days after `Last report push`, the
//! ACK due 90 days after the last one) push well before the deadline: a push is how the ACK is
//! obtained, so it is due before the ACK is.

use std::collections::BTreeMap;

use chrono::Duration;

use crate::Timestamp;
use crate::policy::{Policy, PolicyClass};

/// The settle time between a usage change and the push that reports it.
pub const SETTLE: Duration = Duration::minutes(2);
/// Device-initiated pushes are throttled to one a day.
pub const THROTTLE: Duration = Duration::days(1);
/// The push interval when neither configuration nor policy sets one.
pub const DEFAULT_PUSH_INTERVAL_DAYS: u32 = 30;

/// What the deadline rules need to know about a product instance.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub policy: &'a Policy,
    /// Classes of the licenses in use now.
    pub in_use: &'a [PolicyClass],
    /// Classes with a closed report still waiting for its ACK.
    pub unacknowledged: &'a [PolicyClass],
    /// When each class was first used (never cleared).
    pub first_use: &'a BTreeMap<PolicyClass, Timestamp>,
    pub last_ack: Option<Timestamp>,
    /// Usage changes not yet covered by an ACK: when, and the class of the license that changed.
    pub pending_changes: &'a [(Timestamp, PolicyClass)],
    pub last_push: Option<Timestamp>,
    /// `license smart usage interval`, if configured.
    pub usage_interval: Option<u32>,
    pub transport_off: bool,
}

fn days(n: u32) -> Duration {
    Duration::days(i64::from(n))
}

/// The time by which an ACK must have been received, or `None` when no reporting is required.
pub fn next_ack_deadline(facts: &Facts<'_>) -> Option<Timestamp> {
    if facts.first_use.is_empty() || !facts.policy.ack_required {
        return None;
    }
    let mut candidates = Vec::new();
    for (class, first_use) in facts.first_use {
        let first = facts.policy.attributes(*class).first;
        let unacknowledged = facts.last_ack.is_none_or(|ack| ack < *first_use);
        if first > 0 && unacknowledged {
            candidates.push(*first_use + days(first));
        }
    }
    if let Some(ack) = facts.last_ack {
        for class in facts.in_use.iter().chain(facts.unacknowledged) {
            let ongoing = facts.policy.attributes(*class).ongoing;
            if ongoing > 0 {
                candidates.push(ack + days(ongoing));
            }
        }
    }
    for (at, class) in facts.pending_changes {
        let on_change = facts.policy.attributes(*class).on_change;
        if on_change > 0 {
            candidates.push(*at + days(on_change));
        }
    }
    candidates.into_iter().min()
}

/// The smallest non-zero reporting frequency among the classes in use.
fn policy_frequency(facts: &Facts<'_>) -> Option<u32> {
    facts
        .in_use
        .iter()
        .map(|class| facts.policy.attributes(*class).ongoing)
        .filter(|d| *d > 0)
        .min()
}

/// The push interval in days (`Reporting push interval`); 0 = never push.
///
/// "Setting the Transport Type, URL, and Reporting Interval", step 5: a configured
/// `license smart usage interval` applies as is (0: never), with transport off the lower of it
/// and the policy's reporting frequency; by default "the RUM report is sent every 30 days" (the
/// guide's examples show `Reporting push interval: 30 days` under the Cisco default policy,
/// whose subscription frequency is 90 days), or more often when the policy asks for reports
/// more often than that.
pub fn push_interval_days(facts: &Facts<'_>) -> u32 {
    let policy = policy_frequency(facts);
    match facts.usage_interval {
        Some(0) => 0,
        Some(configured) if facts.transport_off => policy.map_or(configured, |p| p.min(configured)),
        Some(configured) => configured,
        None => policy.map_or(DEFAULT_PUSH_INTERVAL_DAYS, |p| p.min(DEFAULT_PUSH_INTERVAL_DAYS)),
    }
}

/// When the next report is due to be pushed, or `None` when no push is scheduled.
///
/// - Nothing is pushed with a push interval of 0 or by a product instance that never consumed
///   a license ("Policy", the note on never consuming a license).
/// - A usage change, reload, switchover or unit added or removed that no push has carried yet
///   is pushed [`SETTLE`] after it ("High Availability": these events update `Next report
///   push`; the guide's examples push two minutes after first use: first use 10:27:59, `Next
///   report push: Oct 28 10:29:59 2020`). The earliest such event after the last push counts.
/// - Otherwise one push interval after the last push ([`push_interval_days`]), as long as
///   reporting is still required (a configured interval, the policy's reporting frequency, or
///   an ACK deadline); the first push of all comes [`SETTLE`] after first use.
/// - Never later than one day before `Next ACK deadline`: the push is what obtains the ACK (with
///   the answer, or at the next contact through CSLU), so with a 90-day deadline and the
///   default 30-day interval the device pushes at 30 and 60 days, and a longer configured
///   interval or a shorter policy window still leaves a push before the deadline, with a day for
///   the retries of "%SMART_LIC-3-COMM_FAILED". Past the deadline (no ACK came) the device pushes
///   once a day.
/// - At most one push a day ([`THROTTLE`]; "RUM report throttling", from 17.9.1; `license smart
///   sync` is not throttled).
pub fn next_report_push(facts: &Facts<'_>) -> Option<Timestamp> {
    let interval = push_interval_days(facts);
    if interval == 0 || facts.first_use.is_empty() {
        return None;
    }
    let deadline = next_ack_deadline(facts);
    let unpushed_change = facts
        .pending_changes
        .iter()
        .map(|(at, _)| *at)
        .filter(|at| facts.last_push.is_none_or(|push| push < *at))
        .min();
    let periodic = facts.usage_interval.is_some() || policy_frequency(facts).is_some();
    let base = match (unpushed_change, facts.last_push) {
        (Some(change), _) => change + SETTLE,
        (None, Some(push)) if periodic || deadline.is_some() => push + days(interval),
        (None, Some(_)) => return None,
        (None, None) => *facts.first_use.values().min()? + SETTLE,
    };
    let base = match deadline {
        Some(deadline) => base.min(deadline - THROTTLE),
        None => base,
    };
    Some(match facts.last_push {
        Some(push) => base.max(push + THROTTLE),
        None => base,
    })
}

/// How long a device keeps retrying a failed push at the short interval after it was due.
pub const RETRY_WINDOW: Duration = Duration::hours(4);
/// The short retry interval inside the window.
pub const RETRY_SHORT: Duration = Duration::minutes(5);
/// The interval after the window ("the system resets the interval to 15 minutes").
pub const RETRY_LONG: Duration = Duration::minutes(15);

/// When to try a failed push again (reference, `%SMART_LIC-3-COMM_FAILED`): keep trying for up to
/// four hours after the scheduled time, then every 15 minutes until communication is restored.
pub fn next_retry(scheduled: Timestamp, failed_at: Timestamp) -> Timestamp {
    if failed_at < scheduled + RETRY_WINDOW {
        (failed_at + RETRY_SHORT).min(scheduled + RETRY_WINDOW)
    } else {
        failed_at + RETRY_LONG
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::policy::Attributes;

    fn at(s: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    struct Case {
        name: &'static str,
        policy: Policy,
        in_use: Vec<PolicyClass>,
        unacknowledged: Vec<PolicyClass>,
        first_use: Vec<(PolicyClass, &'static str)>,
        last_ack: Option<&'static str>,
        pending: Vec<(&'static str, PolicyClass)>,
        last_push: Option<&'static str>,
        interval: Option<u32>,
        transport_off: bool,
        deadline: Option<&'static str>,
        push_interval: u32,
        push: Option<&'static str>,
    }

    fn base() -> Case {
        Case {
            name: "",
            policy: Policy::cisco_default(),
            in_use: vec![],
            unacknowledged: vec![],
            first_use: vec![],
            last_ack: None,
            pending: vec![],
            last_push: None,
            interval: None,
            transport_off: true,
            deadline: None,
            push_interval: DEFAULT_PUSH_INTERVAL_DAYS,
            push: None,
        }
    }

    fn custom(first: u32, ongoing: u32, on_change: u32) -> Policy {
        let mut policy = Policy::cisco_default();
        policy.origin = crate::policy::PolicyOrigin::Customer;
        for class in PolicyClass::ALL {
            policy.set_attributes(class, Attributes { first, ongoing, on_change });
        }
        policy
    }

    use PolicyClass::{Export, UnenforcedPerpetual as Perp, UnenforcedSubscription as Sub};

    #[test]
    fn retries_for_four_hours_then_every_fifteen_minutes() {
        let due = at("2026-01-01T00:00:00Z");
        assert_eq!(next_retry(due, due), at("2026-01-01T00:05:00Z"));
        assert_eq!(next_retry(due, at("2026-01-01T03:58:00Z")), at("2026-01-01T04:00:00Z"));
        assert_eq!(next_retry(due, at("2026-01-01T04:00:00Z")), at("2026-01-01T04:15:00Z"));
        assert_eq!(next_retry(due, at("2026-01-02T10:00:00Z")), at("2026-01-02T10:15:00Z"));
    }

    #[test]
    fn deadline_rules() {
        let t0 = "2020-10-28T10:27:59Z";
        let cases = vec![
            Case { name: "never consumed: no reporting at all", ..base() },
            Case {
                name: "first report, perpetual only: 365 days after first use",
                in_use: vec![Perp],
                first_use: vec![(Perp, t0)],
                pending: vec![(t0, Perp)],
                deadline: Some("2021-01-26T10:27:59Z"), // on change (90) is sooner than first (365)
                push: Some("2020-10-28T10:29:59Z"),
                ..base()
            },
            Case {
                name: "first report without a change: perpetual first use only",
                in_use: vec![Perp],
                first_use: vec![(Perp, t0)],
                deadline: Some("2021-10-28T10:27:59Z"),
                push: Some("2020-10-28T10:29:59Z"),
                ..base()
            },
            Case {
                name: "RTU migration example: subscription first report 90 days",
                in_use: vec![Perp, Sub],
                first_use: vec![(Perp, t0), (Sub, t0)],
                deadline: Some("2021-01-26T10:27:59Z"),
                push: Some("2020-10-28T10:29:59Z"),
                ..base()
            },
            Case {
                name: "reporting frequency: 90 days after the last ACK, pushes every 30 days",
                in_use: vec![Perp, Sub],
                first_use: vec![(Perp, t0), (Sub, t0)],
                last_ack: Some("2021-01-01T00:00:00Z"),
                last_push: Some("2020-12-31T00:00:00Z"),
                deadline: Some("2021-04-01T00:00:00Z"),
                push: Some("2021-01-30T00:00:00Z"),
                ..base()
            },
            Case {
                name: "the guide's example after migration: push 30 days after the last, ACK due in 90",
                in_use: vec![Perp, Sub],
                first_use: vec![(Perp, "2020-09-22T11:08:58Z"), (Sub, "2020-09-22T11:08:58Z")],
                last_ack: Some("2020-09-22T13:49:38Z"),
                last_push: Some("2020-09-22T12:05:43Z"),
                transport_off: false,
                deadline: Some("2020-12-21T13:49:38Z"),
                push: Some("2020-10-22T12:05:43Z"),
                ..base()
            },
            Case {
                name: "a reload after a push that awaits its ACK: pushed two minutes after it",
                in_use: vec![Perp],
                first_use: vec![(Perp, t0)],
                pending: vec![(t0, Perp), ("2020-11-07T08:00:00Z", Perp)],
                last_push: Some("2020-10-28T10:29:59Z"),
                transport_off: false,
                deadline: Some("2021-01-26T10:27:59Z"),
                push: Some("2020-11-07T08:02:00Z"),
                ..base()
            },
            Case {
                name: "no ACK after pushes: the last push comes a day before the deadline",
                in_use: vec![Sub],
                first_use: vec![(Sub, t0)],
                last_push: Some("2020-12-27T10:29:59Z"),
                transport_off: false,
                deadline: Some("2021-01-26T10:27:59Z"),
                push: Some("2021-01-25T10:27:59Z"),
                ..base()
            },
            Case {
                name: "overdue: one push a day",
                in_use: vec![Sub],
                first_use: vec![(Sub, t0)],
                last_push: Some("2021-01-25T10:27:59Z"),
                transport_off: false,
                deadline: Some("2021-01-26T10:27:59Z"),
                push: Some("2021-01-26T10:27:59Z"),
                ..base()
            },
            Case {
                name: "perpetual after ACK: no frequency, no further requirement",
                in_use: vec![Perp],
                first_use: vec![(Perp, t0)],
                last_ack: Some("2021-01-01T00:00:00Z"),
                last_push: Some("2020-12-31T00:00:00Z"),
                deadline: None,
                push: None,
                ..base()
            },
            Case {
                name: "report on change after an ACK",
                in_use: vec![Perp],
                first_use: vec![(Perp, t0)],
                last_ack: Some("2021-01-01T00:00:00Z"),
                pending: vec![("2021-02-01T00:00:00Z", Perp)],
                last_push: Some("2020-12-31T00:00:00Z"),
                deadline: Some("2021-05-02T00:00:00Z"),
                push: Some("2021-02-01T00:02:00Z"),
                ..base()
            },
            Case {
                name: "a subscription removed after an ACK: its unacknowledged usage keeps the deadline",
                in_use: vec![Perp],
                unacknowledged: vec![Sub],
                first_use: vec![(Perp, t0), (Sub, t0)],
                last_ack: Some("2021-01-01T00:00:00Z"),
                pending: vec![("2021-03-01T00:00:00Z", Sub)],
                last_push: Some("2020-12-31T00:00:00Z"),
                deadline: Some("2021-04-01T00:00:00Z"),
                push_interval: 30,
                push: Some("2021-03-01T00:02:00Z"),
                ..base()
            },
            Case {
                name: "policy without ACK requirement",
                policy: Policy { ack_required: false, ..Policy::cisco_default() },
                in_use: vec![Sub],
                first_use: vec![(Sub, t0)],
                push: Some("2020-10-28T10:29:59Z"),
                ..base()
            },
            Case {
                name: "export-controlled under Cisco default: zeros mean no requirement",
                in_use: vec![Export],
                first_use: vec![(Export, t0)],
                pending: vec![(t0, Export)],
                deadline: None,
                push: Some("2020-10-28T10:29:59Z"),
                ..base()
            },
            Case {
                name: "custom policy 30/60/60",
                policy: custom(30, 60, 60),
                in_use: vec![Perp],
                first_use: vec![(Perp, t0)],
                deadline: Some("2020-11-27T10:27:59Z"),
                push: Some("2020-10-28T10:29:59Z"),
                ..base()
            },
            Case {
                name: "usage interval 0: never push",
                in_use: vec![Sub],
                first_use: vec![(Sub, t0)],
                interval: Some(0),
                deadline: Some("2021-01-26T10:27:59Z"),
                push_interval: 0,
                push: None,
                ..base()
            },
            Case {
                name: "usage interval with transport off: lower of interval and policy",
                in_use: vec![Sub],
                first_use: vec![(Sub, t0)],
                last_ack: Some("2021-01-01T00:00:00Z"),
                last_push: Some("2021-01-01T00:00:00Z"),
                interval: Some(100),
                deadline: Some("2021-04-01T00:00:00Z"),
                push_interval: 90,
                // 90 days after the last push is the deadline itself: a day before it.
                push: Some("2021-03-31T00:00:00Z"),
                ..base()
            },
            Case {
                name: "custom policy with a 20-day frequency: pushes every 20 days",
                policy: custom(20, 20, 20),
                in_use: vec![Sub],
                first_use: vec![(Sub, t0)],
                last_ack: Some("2021-01-01T00:00:00Z"),
                last_push: Some("2021-01-01T00:00:00Z"),
                transport_off: false,
                deadline: Some("2021-01-21T00:00:00Z"),
                push_interval: 20,
                // 20 days after the last push is the deadline: a day before it.
                push: Some("2021-01-20T00:00:00Z"),
                ..base()
            },
            Case {
                name: "a configured interval longer than the ACK window: still a push before it",
                in_use: vec![Sub],
                first_use: vec![(Sub, t0)],
                last_ack: Some("2021-01-01T00:00:00Z"),
                last_push: Some("2021-01-01T00:00:00Z"),
                interval: Some(100),
                transport_off: false,
                deadline: Some("2021-04-01T00:00:00Z"),
                push_interval: 100,
                push: Some("2021-03-31T00:00:00Z"),
                ..base()
            },
            Case {
                name: "usage interval with transport on: the interval",
                in_use: vec![Sub],
                first_use: vec![(Sub, t0)],
                last_ack: Some("2021-01-01T00:00:00Z"),
                last_push: Some("2021-01-01T00:00:00Z"),
                interval: Some(40),
                transport_off: false,
                deadline: Some("2021-04-01T00:00:00Z"),
                push_interval: 40,
                push: Some("2021-02-10T00:00:00Z"),
                ..base()
            },
            Case {
                name: "throttle: a change right after a push waits a day",
                in_use: vec![Perp],
                first_use: vec![(Perp, t0)],
                pending: vec![("2021-01-01T01:00:00Z", Perp)],
                last_push: Some("2021-01-01T00:00:00Z"),
                transport_off: false,
                deadline: Some("2021-04-01T01:00:00Z"),
                push: Some("2021-01-02T00:00:00Z"),
                ..base()
            },
        ];
        for case in cases {
            let first_use: BTreeMap<PolicyClass, Timestamp> =
                case.first_use.iter().map(|(class, t)| (*class, at(t))).collect();
            let pending: Vec<(Timestamp, PolicyClass)> =
                case.pending.iter().map(|(t, class)| (at(t), *class)).collect();
            let facts = Facts {
                policy: &case.policy,
                in_use: &case.in_use,
                unacknowledged: &case.unacknowledged,
                first_use: &first_use,
                last_ack: case.last_ack.map(at),
                pending_changes: &pending,
                last_push: case.last_push.map(at),
                usage_interval: case.interval,
                transport_off: case.transport_off,
            };
            assert_eq!(next_ack_deadline(&facts), case.deadline.map(at), "deadline: {}", case.name);
            assert_eq!(push_interval_days(&facts), case.push_interval, "interval: {}", case.name);
            assert_eq!(next_report_push(&facts), case.push.map(at), "push: {}", case.name);
            // The push comes before the ACK is due, unless the last push was on the deadline's
            // eve (then one a day).
            if let (Some(deadline), Some(push)) =
                (next_ack_deadline(&facts), next_report_push(&facts))
                && facts.last_push.is_none_or(|last| last + THROTTLE < deadline - THROTTLE)
            {
                assert!(push < deadline, "push before deadline: {}", case.name);
            }
        }
    }
}
