//! Licenses: enforcement type, term, and the catalog of licenses slp devices know.

use serde::{Deserialize, Serialize};

use crate::udi::Udi;

/// How a license is enforced (reference: "License Enforcement Types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Enforcement {
    Unenforced,
    Enforced,
    ExportControlled,
}

impl Enforcement {
    /// The words `show license usage` prints in `Enforcement type:`.
    pub fn show_word(self) -> &'static str {
        match self {
            Enforcement::Unenforced => "NOT ENFORCED",
            Enforcement::Enforced => "ENFORCED",
            Enforcement::ExportControlled => "EXPORT RESTRICTED",
        }
    }

    /// The command-line spelling (`unenforced`, `enforced`, `export-controlled`).
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Unenforced => "unenforced",
            Enforcement::Enforced => "enforced",
            Enforcement::ExportControlled => "export-controlled",
        }
    }

    pub fn parse(word: &str) -> Option<Enforcement> {
        match word.to_ascii_lowercase().as_str() {
            "unenforced" | "not-enforced" => Some(Enforcement::Unenforced),
            "enforced" => Some(Enforcement::Enforced),
            "export-controlled" | "export" => Some(Enforcement::ExportControlled),
            _ => None,
        }
    }

    /// Whether using the license needs an installed authorization code (SLAC).
    pub fn needs_authorization(self) -> bool {
        self != Enforcement::Unenforced
    }
}

/// How long a license is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Term {
    Perpetual,
    Subscription,
}

impl Term {
    pub fn as_str(self) -> &'static str {
        match self {
            Term::Perpetual => "perpetual",
            Term::Subscription => "subscription",
        }
    }

    /// The words `show license usage` prints in `License type:`.
    pub fn show_word(self) -> &'static str {
        match self {
            Term::Perpetual => "Perpetual",
            Term::Subscription => "Subscription",
        }
    }

    pub fn parse(word: &str) -> Option<Term> {
        match word.to_ascii_lowercase().as_str() {
            "perpetual" => Some(Term::Perpetual),
            "subscription" | "term" => Some(Term::Subscription),
            _ => None,
        }
    }
}

/// One license a product instance can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseInfo {
    /// Short feature name used in the CLI, e.g. `network-advantage`.
    pub feature: &'static str,
    /// ISO 19770-2 entitlement tag carried in RUM reports.
    pub entitlement_tag: &'static str,
    pub enforcement: Enforcement,
    pub term: Term,
    /// Display name suffix; the family is put in front (`C9300-24 Network Advantage`).
    display_suffix: &'static str,
    /// Fixed display name, used instead of family + suffix.
    fixed_display: Option<&'static str>,
    pub description: Option<&'static str>,
}

impl LicenseInfo {
    /// The display name the device prints in parentheses, e.g. `C9300-24 Network Advantage`.
    pub fn display_name(&self, udi: &Udi) -> String {
        match self.fixed_display {
            Some(name) => name.to_owned(),
            None => format!("{} {}", udi.family(), self.display_suffix),
        }
    }
}

const CATALOG: &[LicenseInfo] = &[
    LicenseInfo {
        feature: "network-advantage",
        entitlement_tag: "regid.2017-03.com.cisco.advantagek9,1.0_bd1da96e-ec1d-412b-a50e-53846b347d53",
        enforcement: Enforcement::Unenforced,
        term: Term::Perpetual,
        display_suffix: "Network Advantage",
        fixed_display: None,
        description: None,
    },
    LicenseInfo {
        feature: "network-essentials",
        entitlement_tag: "regid.2017-03.com.cisco.essentialsk9,1.0_53d3a7a1-9f0e-4f8a-9c1e-2f6e0b7c4a11",
        enforcement: Enforcement::Unenforced,
        term: Term::Perpetual,
        display_suffix: "Network Essentials",
        fixed_display: None,
        description: None,
    },
    LicenseInfo {
        feature: "dna-advantage",
        entitlement_tag: "regid.2017-05.com.cisco.dna_advantage,1.0_b6308627-3ab0-4a11-a3d9-586911a0d790",
        enforcement: Enforcement::Unenforced,
        term: Term::Subscription,
        display_suffix: "DNA Advantage",
        fixed_display: None,
        description: None,
    },
    LicenseInfo {
        feature: "dna-essentials",
        entitlement_tag: "regid.2017-05.com.cisco.dna_essentials,1.0_f5b3c4a2-7d61-4b0e-8f37-3e9a1c2d5b60",
        enforcement: Enforcement::Unenforced,
        term: Term::Subscription,
        display_suffix: "DNA Essentials",
        fixed_display: None,
        description: None,
    },
    LicenseInfo {
        feature: "hseck9",
        entitlement_tag: "regid.2021-05.com.cisco.C9K_HSEC,1.0_90fdf411-3823-45bd-bd8c-5a5d0e0e1ea2",
        enforcement: Enforcement::ExportControlled,
        term: Term::Perpetual,
        display_suffix: "",
        fixed_display: Some("Cat9K HSEC"),
        description: Some("HSEC Key for Export Compliance on Cat9K Series Switches"),
    },
];

/// Looks a license up by its feature name (`network-advantage`) or entitlement tag.
pub fn lookup(name_or_tag: &str) -> Option<&'static LicenseInfo> {
    CATALOG.iter().find(|it| it.feature == name_or_tag || it.entitlement_tag == name_or_tag)
}

/// Every license in the catalog.
pub fn catalog() -> &'static [LicenseInfo] {
    CATALOG
}

/// The feature name for an entitlement tag, or the tag itself when slp does not know it.
pub fn feature_name(tag: &str) -> String {
    lookup(tag).map(|it| it.feature.to_owned()).unwrap_or_else(|| tag.to_owned())
}

/// The boot levels `license boot level` accepts, and their add-ons.
pub const BOOT_LEVELS: &[&str] = &["network-advantage", "network-essentials"];
pub const ADDONS: &[&str] = &["dna-advantage", "dna-essentials"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_finds_by_name_and_tag() {
        let na = lookup("network-advantage").unwrap();
        assert_eq!(lookup(na.entitlement_tag).unwrap().feature, "network-advantage");
        let udi = Udi::new("C9300-24UX", "FOC1").unwrap();
        assert_eq!(na.display_name(&udi), "C9300-24 Network Advantage");
        assert_eq!(lookup("hseck9").unwrap().display_name(&udi), "Cat9K HSEC");
        assert_eq!(feature_name("regid.x"), "regid.x");
    }
}
