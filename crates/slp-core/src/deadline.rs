//! Deadline arithmetic: `Next ACK deadline`, `Reporting push interval` and `Next report push`.
//!
//! The rules, from the reference's "Policy" section and its migration examples:
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
//! - The next push happens two minutes after a change (the agent's settle time), otherwise one
//!   push interval after the last push; device-initiated pushes are throttled to one a day.
//! - `license smart usage interval N` sets the push interval; 0 means never push; with transport
//!   off the lower of N and the policy's reporting frequency applies.

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
pub fn push_interval_days(facts: &Facts<'_>) -> u32 {
    match facts.usage_interval {
        Some(0) => 0,
        Some(configured) if facts.transport_off => {
            policy_frequency(facts).map_or(configured, |policy| policy.min(configured))
        }
        Some(configured) => configured,
        None => policy_frequency(facts).unwrap_or(DEFAULT_PUSH_INTERVAL_DAYS),
    }
}

/// When the next report is due to be pushed, or `None` when no push is scheduled.
pub fn next_report_push(facts: &Facts<'_>) -> Option<Timestamp> {
    let interval = push_interval_days(facts);
    if interval == 0 || facts.first_use.is_empty() {
        return None;
    }
    let earliest_change = facts.pending_changes.iter().map(|(at, _)| *at).min();
    let unpushed_change =
        earliest_change.filter(|at| facts.last_push.is_none_or(|push| push < *at));
    let periodic = facts.usage_interval.is_some() || policy_frequency(facts).is_some();
    let base = match (unpushed_change, facts.last_push) {
        (Some(change), _) => change + SETTLE,
        (None, Some(push)) if periodic || next_ack_deadline(facts).is_some() => {
            push + days(interval)
        }
        (None, Some(_)) => return None,
        (None, None) => *facts.first_use.values().min()? + SETTLE,
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
                push_interval: 90,
                push: Some("2020-10-28T10:29:59Z"),
                ..base()
            },
            Case {
                name: "reporting frequency: 90 days after the last ACK",
                in_use: vec![Perp, Sub],
                first_use: vec![(Perp, t0), (Sub, t0)],
                last_ack: Some("2021-01-01T00:00:00Z"),
                last_push: Some("2020-12-31T00:00:00Z"),
                deadline: Some("2021-04-01T00:00:00Z"),
                push_interval: 90,
                push: Some("2021-03-31T00:00:00Z"),
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
                push_interval: 90,
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
                push_interval: 60,
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
                push: Some("2021-04-01T00:00:00Z"),
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
        }
    }
}
