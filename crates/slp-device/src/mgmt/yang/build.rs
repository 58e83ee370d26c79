//! Instance data of the `licensing` container from a [`Device`]: each value goes in by its leaf
//! name, which the builder looks up in the schema (an unknown name is a bug the tests catch).

use std::fmt::Display;

use slp_core::Timestamp;
use slp_core::ledger::ReportState;
use slp_core::license::{self, Enforcement};
use slp_core::policy::{PolicyClass, PolicyOrigin};

use super::schema::{self, Kind, Node};
use super::{Content, Data, Tree};
use crate::agent::Device;
use crate::state::{DEFAULT_CALLHOME_URL, DEFAULT_SMART_URL, Transport};

/// `yang:date-and-time` as IOS-XE writes it: `2021-03-01T10:00:00+00:00`.
pub fn date_time(at: Timestamp) -> String {
    at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// Builds the children of one schema node.
pub(super) struct Builder {
    schema: &'static Node,
    out: Vec<Data>,
}

impl Builder {
    pub(super) fn new(schema: &'static Node) -> Builder {
        Builder { schema, out: Vec::new() }
    }

    fn node(&self, name: &str) -> Option<&'static Node> {
        let node = self.schema.child(name);
        if node.is_none() {
            tracing::error!(parent = self.schema.name, leaf = name, "no such node in the model");
            debug_assert!(false, "{name} is not a child of {}", self.schema.name);
        }
        node
    }

    pub(super) fn leaf(&mut self, name: &str, value: impl Display) -> &mut Self {
        if let Some(schema) = self.node(name) {
            self.out.push(Data { schema, content: Content::Leaf(value.to_string()) });
        }
        self
    }

    pub(super) fn opt(&mut self, name: &str, value: Option<impl Display>) -> &mut Self {
        if let Some(value) = value {
            self.leaf(name, value);
        }
        self
    }

    pub(super) fn time(&mut self, name: &str, at: Option<Timestamp>) -> &mut Self {
        self.opt(name, at.map(date_time))
    }

    /// A container (left out when nothing went into it).
    pub(super) fn container(&mut self, name: &str, fill: impl FnOnce(&mut Builder)) -> &mut Self {
        if let Some(schema) = self.node(name) {
            let mut inner = Builder::new(schema);
            fill(&mut inner);
            if !inner.out.is_empty() {
                self.out.push(inner.finish_data());
            }
        }
        self
    }

    /// One entry of a list.
    pub(super) fn entry(&mut self, name: &str, fill: impl FnOnce(&mut Builder)) -> &mut Self {
        if let Some(schema) = self.node(name) {
            debug_assert!(matches!(schema.kind, Kind::List { .. }));
            let mut inner = Builder::new(schema);
            fill(&mut inner);
            self.out.push(inner.finish_data());
        }
        self
    }

    fn finish_data(self) -> Data {
        Data { schema: self.schema, content: Content::Inner(self.finish()) }
    }

    /// The children in schema order (list entries keep their order).
    pub(super) fn finish(self) -> Vec<Data> {
        let schema = self.schema;
        let mut out = self.out;
        out.sort_by_key(|d| schema.index_of(d.name()));
        out
    }
}

fn transport_type(transport: Transport) -> &'static str {
    match transport {
        Transport::Callhome => "transport-type-callhome",
        Transport::Cslu => "transport-type-cslu",
        Transport::Off => "transport-type-off",
        Transport::Smart => "transport-type-smart",
    }
}

fn udi(b: &mut Builder, udi: &slp_core::udi::Udi) {
    b.leaf("pid", &udi.pid).leaf("sn", &udi.sn);
}

/// The `licensing` container of `device` as it is now: config and state.
pub fn licensing(device: &Device) -> Tree {
    let mut root = Builder::new(&schema::LICENSING);
    root.container("config", |b| config(b, device));
    root.container("state", |b| state(b, device));
    Tree {
        nodes: vec![Data { schema: &schema::LICENSING, content: Content::Inner(root.finish()) }],
    }
}

fn config(b: &mut Builder, device: &Device) {
    let running = &device.state.running;
    let licensing = &running.settings.licensing;
    b.leaf("enable", true);
    b.opt("custom-id", licensing.custom_id.as_ref());
    b.container("privacy", |b| {
        b.leaf("hostname", running.privacy_hostname).leaf("version", running.privacy_version);
    });
    b.container("utility", |b| {
        b.leaf("utility-enable", licensing.utility);
        b.container("customer-info", |b| {
            for (field, value) in &licensing.customer_info {
                let name = if field == "postalcode" { "postal-code" } else { field.as_str() };
                b.leaf(name, value);
            }
        });
    });
    b.container("usage", |b| {
        b.opt("interval", running.usage_interval);
    });
    b.container("transport", |b| {
        b.leaf("transport-type", transport_type(running.transport));
        b.container("transport-smart", |b| {
            b.container("urls", |b| {
                b.opt("url-registration", running.url_smart.as_ref());
                b.opt("url-utility", licensing.url_utility.as_ref());
            });
        });
        b.container("transport-cslu", |b| {
            b.opt("url-cslu", running.url_cslu.as_ref());
        });
    });
}

fn state(b: &mut Builder, device: &Device) {
    b.leaf("always-enabled", true).leaf("smart-enabled", true);
    // The smart agent's version, as `show license tech support` prints it.
    b.leaf("version", crate::show::tech::AGENT_VERSION);
    b.container("state-info", |b| state_info(b, device));
}

fn state_info(b: &mut Builder, device: &Device) {
    let state = &device.state;
    let running = &state.running;
    let licensing = &running.settings.licensing;
    b.opt("custom-id", licensing.custom_id.as_ref());
    b.container("registration", |b| match &state.account {
        Some(account) => {
            b.leaf("registration-state", "reg-state-complete");
            b.leaf("export-control-allowed", !state.authorizations.is_empty());
            b.container("registration-complete", |b| {
                b.leaf("complete-time", date_time(account.as_of));
                b.leaf("smart-account", &account.smart_account);
                b.leaf("virtual-account", &account.virtual_account);
            });
        }
        None => {
            b.leaf("registration-state", "reg-state-not-registered");
            b.leaf("export-control-allowed", !state.authorizations.is_empty());
        }
    });
    b.container("authorization", |b| {
        if state.authorizations.is_empty() {
            b.leaf("authorization-state", "auth-state-none");
        } else {
            b.leaf("authorization-state", "auth-state-authorized");
            b.container("authorization-authorized", |b| {
                b.leaf("last-comm-status-success", state.comm.failing_since.is_none());
                b.opt("fail-message", state.comm.last_error.as_ref());
                b.time("last-comm-time", state.last_push.or(state.last_ack));
                b.time("next-comm-time", device.next_report_push());
                b.time("comm-deadline-time", device.next_ack_deadline());
            });
        }
    });
    b.container("utility", |b| {
        b.leaf("enabled", licensing.utility);
        b.leaf("reporting", "utility-reporting-type-none");
        b.container("customer-info", |b| {
            for (field, value) in &licensing.customer_info {
                let name = if field == "postalcode" { "postal-code" } else { field.as_str() };
                b.leaf(name, value);
            }
        });
    });
    b.container("transport", |b| {
        b.leaf("transport-type", transport_type(running.transport));
        let url = match running.transport {
            Transport::Cslu => Some(crate::config::ip::cslu_url(running)),
            Transport::Smart => {
                Some(running.url_smart.clone().unwrap_or_else(|| DEFAULT_SMART_URL.to_owned()))
            }
            Transport::Callhome => Some(
                running.url_callhome.clone().unwrap_or_else(|| DEFAULT_CALLHOME_URL.to_owned()),
            ),
            Transport::Off => None,
        };
        b.container("url-settings", |b| {
            b.opt("url-registration", url.as_ref());
            b.opt("url-utility", licensing.url_utility.as_ref().or(url.as_ref()));
        });
    });
    b.container("privacy", |b| {
        b.leaf("hostname", running.privacy_hostname).leaf("version", running.privacy_version);
    });
    b.container("evaluation", |b| {
        b.leaf("eval-in-use", false).leaf("eval-expired", false);
    });
    b.container("udi", |b| udi(b, &state.active().udi));
    let authorized: Vec<&str> = state
        .authorizations
        .values()
        .flat_map(|a| a.entitlements.iter().map(|e| e.tag.as_str()))
        .collect();
    for (info, count) in device.current_usage() {
        if count == 0 {
            continue;
        }
        b.entry("usage", |b| {
            b.leaf("entitlement-tag", info.entitlement_tag);
            b.leaf("short-name", info.feature);
            b.leaf("license-name", info.display_name());
            b.leaf("description", info.description.unwrap_or(info.display_name()));
            b.leaf("count", count);
            let compliant = !info.enforcement.needs_authorization()
                || authorized.contains(&info.entitlement_tag);
            b.leaf(
                "enforcement-mode",
                if compliant { "enforcement-in-compliance" } else { "enforcement-waiting" },
            );
            b.leaf("post-paid", false);
        });
    }
    b.container("policy", |b| {
        let policy = state.effective_policy();
        b.leaf(
            "policy-type",
            match policy.origin {
                PolicyOrigin::CiscoDefault => "cisco-default",
                PolicyOrigin::Customer => "custom",
            },
        );
        b.leaf("policy-name", &policy.name);
        b.time("install-time", state.policy.as_ref().map(|p| p.installed_at));
        b.leaf("ack-required", policy.ack_required);
        for (name, class) in [
            ("policy-enforced", PolicyClass::Enforced),
            ("policy-export", PolicyClass::Export),
            ("policy-subscription", PolicyClass::UnenforcedSubscription),
            ("policy-perpetual", PolicyClass::UnenforcedPerpetual),
        ] {
            let a = policy.attributes(class);
            b.container(name, |b| {
                b.leaf("reporting-first-time", a.first)
                    .leaf("reporting-ongoing", a.ongoing)
                    .leaf("reporting-macd", a.on_change);
            });
        }
    });
    for unit in &state.units {
        let key = unit.udi.to_string();
        let installed = state.trust.get(&key);
        if installed.is_none() && !state.factory_trust {
            continue;
        }
        b.entry("trust-code", |b| {
            b.leaf("key_udi", &key);
            b.container("udi", |b| udi(b, &unit.udi));
            b.time("install-time", installed.map(|t| t.installed_at));
        });
    }
    let active = &state.active().udi;
    for report in state.ledger.reports.values() {
        let word = match report.state {
            ReportState::Closed => "closed",
            ReportState::Pending => "pending",
            ReportState::Unacknowledged => "unacknowledged",
            ReportState::Open | ReportState::Acknowledged => continue,
        };
        b.entry("rum-reports-closed-keys", |b| {
            b.leaf("rum-report-key", report.id).leaf("rum-report-id", report.id);
            b.container("udi", |b| udi(b, active));
            b.time("start-time", Some(report.start));
            b.time("end-time", report.end);
            b.leaf("state", word);
        });
    }
    b.container("rum-ack", |b| {
        b.time("last-received-time", state.last_ack);
        b.time("next-report-deadline", device.next_ack_deadline());
    });
    b.container("imported-authorizations", |b| {
        for unit in &state.units {
            let key = unit.udi.to_string();
            let Some(auth) = state.authorizations.get(&key) else { continue };
            b.entry("overall-status", |b| {
                b.leaf("key_udi", &key);
                b.container("udi", |b| udi(b, &unit.udi));
                b.entry("installed-list", |b| {
                    b.leaf("install-type", "auth-code");
                    b.time("install-time", Some(auth.installed_at));
                });
            });
        }
        let mut totals: Vec<(&str, &str, u64)> = Vec::new();
        for entitlement in state.authorizations.values().flat_map(|a| &a.entitlements) {
            match totals.iter_mut().find(|(tag, _, _)| *tag == entitlement.tag) {
                Some(total) => total.2 += entitlement.count,
                None => totals.push((&entitlement.tag, &entitlement.feature, entitlement.count)),
            }
        }
        for (tag, feature, count) in totals {
            let info = license::by_tag(tag);
            b.entry("authorization-list", |b| {
                b.leaf("entitlement-tag", tag);
                b.leaf("short-name", feature);
                if let Some(info) = info {
                    b.leaf("license-name", info.display_name());
                    b.leaf("description", info.description.unwrap_or(info.display_name()));
                }
                b.leaf("total-count", count);
                let enforcement = info.map(|i| match i.enforcement {
                    Enforcement::Unenforced => "unenforced",
                    Enforcement::Enforced => "enforced",
                    Enforcement::ExportControlled => "export",
                });
                b.opt("license-enforcement-type", enforcement);
            });
        }
    });
}
