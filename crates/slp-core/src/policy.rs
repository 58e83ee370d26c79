//! Reporting policies (reference: "Policy" and "Table 4: Policy: Cisco default").

use serde::{Deserialize, Serialize};

use crate::license::{Enforcement, Term};

/// The four classes a policy gives attributes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PolicyClass {
    UnenforcedPerpetual,
    UnenforcedSubscription,
    Enforced,
    Export,
}

impl PolicyClass {
    pub const ALL: [PolicyClass; 4] = [
        PolicyClass::UnenforcedPerpetual,
        PolicyClass::UnenforcedSubscription,
        PolicyClass::Enforced,
        PolicyClass::Export,
    ];

    /// The class that governs a license of this enforcement type and term.
    pub fn of(enforcement: Enforcement, term: Term) -> PolicyClass {
        match (enforcement, term) {
            (Enforcement::Unenforced, Term::Perpetual) => PolicyClass::UnenforcedPerpetual,
            (Enforcement::Unenforced, Term::Subscription) => PolicyClass::UnenforcedSubscription,
            (Enforcement::Enforced, _) => PolicyClass::Enforced,
            (Enforcement::ExportControlled, _) => PolicyClass::Export,
        }
    }

    /// The heading `show license status` prints for the class.
    pub fn heading(self) -> &'static str {
        match self {
            PolicyClass::UnenforcedPerpetual => "Unenforced/Non-Export Perpetual Attributes:",
            PolicyClass::UnenforcedSubscription => "Unenforced/Non-Export Subscription Attributes:",
            PolicyClass::Enforced => "Enforced (Perpetual/Subscription) License Attributes:",
            PolicyClass::Export => "Export (Perpetual/Subscription) License Attributes:",
        }
    }

    /// The key used in policy documents and on the command line.
    pub fn key(self) -> &'static str {
        match self {
            PolicyClass::UnenforcedPerpetual => "unenforced_perpetual",
            PolicyClass::UnenforcedSubscription => "unenforced_subscription",
            PolicyClass::Enforced => "enforced",
            PolicyClass::Export => "export",
        }
    }

    pub fn from_key(key: &str) -> Option<PolicyClass> {
        PolicyClass::ALL.into_iter().find(|it| it.key() == key)
    }
}

/// Reporting attributes of one class, in days; 0 means "no requirement".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributes {
    /// First report requirement: the first report must be acknowledged within this many days of first use.
    pub first: u32,
    /// Reporting frequency: later reports within this many days of the last ACK.
    pub ongoing: u32,
    /// Report on change: a usage change must be acknowledged within this many days.
    pub on_change: u32,
}

/// Where a policy came from; printed after every value as `(CISCO default)` or `(Customer Policy)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyOrigin {
    CiscoDefault,
    Customer,
}

impl PolicyOrigin {
    pub fn label(self) -> &'static str {
        match self {
            PolicyOrigin::CiscoDefault => "CISCO default",
            PolicyOrigin::Customer => "Customer Policy",
        }
    }
}

/// A complete reporting policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    pub origin: PolicyOrigin,
    pub ack_required: bool,
    pub unenforced_perpetual: Attributes,
    pub unenforced_subscription: Attributes,
    pub enforced: Attributes,
    pub export: Attributes,
}

impl Policy {
    /// The policy every product instance has when no other is installed.
    pub fn cisco_default() -> Policy {
        Policy {
            name: "Cisco default".to_owned(),
            origin: PolicyOrigin::CiscoDefault,
            ack_required: true,
            unenforced_perpetual: Attributes { first: 365, ongoing: 0, on_change: 90 },
            unenforced_subscription: Attributes { first: 90, ongoing: 90, on_change: 90 },
            enforced: Attributes { first: 0, ongoing: 0, on_change: 0 },
            export: Attributes { first: 0, ongoing: 0, on_change: 0 },
        }
    }

    pub fn attributes(&self, class: PolicyClass) -> Attributes {
        match class {
            PolicyClass::UnenforcedPerpetual => self.unenforced_perpetual,
            PolicyClass::UnenforcedSubscription => self.unenforced_subscription,
            PolicyClass::Enforced => self.enforced,
            PolicyClass::Export => self.export,
        }
    }

    pub fn set_attributes(&mut self, class: PolicyClass, attributes: Attributes) {
        match class {
            PolicyClass::UnenforcedPerpetual => self.unenforced_perpetual = attributes,
            PolicyClass::UnenforcedSubscription => self.unenforced_subscription = attributes,
            PolicyClass::Enforced => self.enforced = attributes,
            PolicyClass::Export => self.export = attributes,
        }
    }
}

/// Why policy attributes written as `first,ongoing,on_change` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid policy attributes {input:?}: expected three day counts FIRST,ONGOING,ON_CHANGE (0..=3650)"
)]
pub struct AttributesError {
    pub input: String,
}

impl std::str::FromStr for Attributes {
    type Err = AttributesError;
    fn from_str(input: &str) -> Result<Attributes, AttributesError> {
        let err = || AttributesError { input: input.to_owned() };
        let values: Vec<u32> = input
            .split(',')
            .map(|it| it.trim().parse::<u32>().ok().filter(|days| *days <= 3650))
            .collect::<Option<_>>()
            .ok_or_else(err)?;
        match values.as_slice() {
            [first, ongoing, on_change] => {
                Ok(Attributes { first: *first, ongoing: *ongoing, on_change: *on_change })
            }
            _ => Err(err()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cisco_default_matches_table_4() {
        let policy = Policy::cisco_default();
        let perpetual = policy.attributes(PolicyClass::UnenforcedPerpetual);
        assert_eq!((perpetual.first, perpetual.ongoing, perpetual.on_change), (365, 0, 90));
        let subscription = policy.attributes(PolicyClass::UnenforcedSubscription);
        assert_eq!(
            (subscription.first, subscription.ongoing, subscription.on_change),
            (90, 90, 90)
        );
        assert_eq!(
            policy.attributes(PolicyClass::Export),
            Attributes { first: 0, ongoing: 0, on_change: 0 }
        );
        assert!(policy.ack_required);
    }

    #[test]
    fn attributes_parse_from_triples() {
        assert_eq!(
            "30,60,60".parse::<Attributes>().unwrap(),
            Attributes { first: 30, ongoing: 60, on_change: 60 }
        );
        assert!("30,60".parse::<Attributes>().is_err());
        assert!("30,x,1".parse::<Attributes>().is_err());
        assert!("1,1,9999".parse::<Attributes>().is_err());
    }
}
