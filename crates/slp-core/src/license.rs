//! Licenses: enforcement type, term, and the catalog of licenses slp devices know.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

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

/// One license a product instance can use: a feature as the product instances of one PID
/// family report it. Each family has its own entitlement tag (and name) for the same feature:
/// a C9300-48 reports `network-advantage` under another tag than a C9300-24, and a mixed
/// stack counts each under its own (`show license usage` has one entry per family).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseInfo {
    /// Short feature name used in the CLI, e.g. `network-advantage`.
    pub feature: &'static str,
    /// ISO 19770-2 entitlement tag carried in RUM reports.
    pub entitlement_tag: &'static str,
    pub enforcement: Enforcement,
    pub term: Term,
    /// The name the device prints in parentheses (`network-advantage (C9300-24 Network
    /// Advantage):`), exactly as real devices of the family print it.
    display: &'static str,
    /// `Description:` when it differs from the display name.
    pub description: Option<&'static str>,
    /// The family ([`Family::name`]) whose entitlement this is; empty for one every family
    /// shares (the HSECK9 key).
    pub family: &'static str,
}

impl LicenseInfo {
    /// The display name the device prints in parentheses, e.g. `C9300-24 Network Advantage`.
    pub fn display_name(&self) -> &'static str {
        self.display
    }
}

/// A PID family: the product instances that report their licenses under the same
/// entitlement tags. Only what real devices were seen to print is here (see [`FAMILIES`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// The family's name, as its display names start (`C9300-24`).
    pub name: &'static str,
    /// PID prefixes of the family.
    pids: &'static [&'static str],
    /// The software ID of the product (`Software ID:` of `show license tech support`,
    /// `asset.name` of its RUM reports).
    pub software_tag: &'static str,
    /// Its base and add-on licenses with a known entitlement tag.
    licenses: &'static [LicenseInfo],
}

impl Family {
    /// The family's license for `feature`. `None` when no real device of the family was seen
    /// to report the feature: slp does not make up a tag for it.
    pub fn license(&self, feature: &str) -> Option<&'static LicenseInfo> {
        if feature == HSEC.feature {
            return Some(&HSEC);
        }
        self.confirmed(feature)
            .or_else(|| OWN.iter().find(|l| l.family == self.name && l.feature == feature))
    }

    /// The family's license for `feature` with a tag real devices were seen to print.
    pub fn confirmed(&self, feature: &str) -> Option<&'static LicenseInfo> {
        self.licenses.iter().find(|l| l.feature == feature)
    }

    /// The features of the family's licenses, base levels first.
    pub fn features(&self) -> Vec<&'static str> {
        LEVELS.iter().copied().filter(|feature| self.license(feature).is_some()).collect()
    }

    /// The boot level a new device of the family starts with: network-essentials where the
    /// family has it, else network-advantage.
    pub fn default_boot_level(&self) -> &'static str {
        BOOT_LEVELS
            .iter()
            .rev()
            .copied()
            .find(|level| self.confirmed(level).is_some())
            .unwrap_or("network-advantage")
    }
}

/// A PID of no family slp knows the entitlement tags of.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no entitlement tags are known for PID {pid}: slp knows the PID families {known} (from real devices' output); a family it does not know would need tags it would have to make up"
)]
pub struct UnknownFamily {
    pub pid: String,
    pub known: String,
}

const fn license(
    family: &'static str,
    feature: &'static str,
    term: Term,
    tag: &'static str,
    display: &'static str,
) -> LicenseInfo {
    LicenseInfo {
        feature,
        entitlement_tag: tag,
        enforcement: Enforcement::Unenforced,
        term,
        display,
        description: None,
        family,
    }
}

const fn na(family: &'static str, tag: &'static str, display: &'static str) -> LicenseInfo {
    license(family, "network-advantage", Term::Perpetual, tag, display)
}

const fn ne(family: &'static str, tag: &'static str, display: &'static str) -> LicenseInfo {
    license(family, "network-essentials", Term::Perpetual, tag, display)
}

const fn dna_a(family: &'static str, tag: &'static str, display: &'static str) -> LicenseInfo {
    license(family, "dna-advantage", Term::Subscription, tag, display)
}

/// The HSECK9 key: one tag and name on every Catalyst 9000 that offers it (which ones do is
/// `slp_device::platform`'s business).
const HSEC: LicenseInfo = LicenseInfo {
    feature: "hseck9",
    entitlement_tag: "regid.2021-05.com.cisco.C9K_HSEC,1.0_90fdf411-3823-45bd-bd8c-5a5d0e0e1ea2",
    enforcement: Enforcement::ExportControlled,
    term: Term::Perpetual,
    display: "Cat9K HSEC",
    description: Some("HSEC Key for Export Compliance on Cat9K Series Switches"),
    family: "",
};

const C9300_SOFTWARE: &str =
    "regid.2017-05.com.cisco.C9300,v1_727af1d9-6c39-4444-b301-863f81445b72";
const C9500_SOFTWARE: &str =
    "regid.2017-05.com.cisco.C9500,v1_7435cf27-0075-4bfb-b67c-b42f3054e82a";
const C9500_NA: &str =
    "regid.2017-03.com.cisco.advantagek9-Nyquist-C9500,1.0_f1563759-2e03-4a4c-bec5-5feec525a12c";

/// Every family with the tags, names and software IDs real devices print. Sources: the
/// `show license tech support`, `show license usage`/`summary`/`all` golden outputs of
/// Genie's parser tests (github.com/CiscoTestAutomation/genieparser, iosxe/tests/ShowLicense*)
/// and the configuration guide (`C9500-DNA-16X-A`, and the C9300X stack whose C9300X-24HX
/// counts under "C9300-24" and C9300X-48HX/HXN under "C9300-48": the 9300X shares the 9300's
/// entitlements). A (family, feature) no real output shows is absent here — e.g. dna-essentials,
/// and network-essentials of a C9300-48: the guide prints their names but never their tags —
/// and reports under slp's own tag instead (`OWN`).
/// Catalyst 9200 and other PIDs are not here: no real output of theirs was found.
/// Chassis families also match the supervisor PID (`C9400X-SUP-2`, `C9600X-SUP-2`) that
/// `slp_device::platform` models such a device by.
pub const FAMILIES: &[Family] = &[
    Family {
        name: "C9300-24",
        pids: &["C9300-24", "C9300X-24"],
        software_tag: C9300_SOFTWARE,
        licenses: &[
            na(
                "C9300-24",
                "regid.2017-03.com.cisco.advantagek9,1.0_bd1da96e-ec1d-412b-a50e-53846b347d53",
                "C9300-24 Network Advantage",
            ),
            ne(
                "C9300-24",
                "regid.2017-03.com.cisco.essentialsk9,1.0_90406ae8-385e-43aa-ac98-91da0ea270e2",
                "C9300-24 Network Essentials",
            ),
            dna_a(
                "C9300-24",
                "regid.2017-05.com.cisco.c9300_dna_advantage,1.0_411773c3-2116-4c10-94a4-5d357fe6ff18",
                "C9300-24 DNA Advantage",
            ),
        ],
    },
    Family {
        name: "C9300-48",
        pids: &["C9300-48", "C9300X-48"],
        software_tag: C9300_SOFTWARE,
        licenses: &[
            na(
                "C9300-48",
                "regid.2017-05.com.cisco.C9300_48P_NW_Advantagek9,1.0_6a224fe3-c92e-4440-a9c1-5d0e53a54015",
                "C9300-48 Network Advantage",
            ),
            dna_a(
                "C9300-48",
                "regid.2017-05.com.cisco.C9300_48P_Dna_Advantage,1.0_60783b06-53ee-484c-b21e-615d3cf6837a",
                "C9300-48 DNA Advantage",
            ),
        ],
    },
    Family {
        name: "C9300L-48",
        pids: &["C9300L-48"],
        software_tag: "regid.2018-06.com.cisco.C9300L,1.0_03ebc7a2-6465-4dce-b28e-1f37001db25b",
        licenses: &[
            na(
                "C9300L-48",
                "regid.2018-06.com.cisco.C9300L_48P_NW_Advantage,1.0_6422d51b-5580-4c05-9269-e4f4c23728b9",
                "C9300L 48P Network Advantage",
            ),
            dna_a(
                "C9300L-48",
                "regid.2018-06.com.cisco.C9300L_48P_DNA_Advantage,1.0_ecb0e901-a493-434c-b502-5b96f690eab3",
                "C9300L 48P DNA Advantage",
            ),
        ],
    },
    Family {
        name: "C9350-24",
        pids: &["C9350-24"],
        software_tag: "regid.2023-08.com.cisco.C9350,1.0_e4e8bce9-f207-473c-a7c1-7091d8c83b9f",
        licenses: &[
            na(
                "C9350-24",
                "regid.2023-08.com.cisco.C9350_24P_NW_A,1.0_bf84bdef-3f01-416a-a619-4d98efbbede1",
                "C9350-24 Catalyst Network Advantage",
            ),
            dna_a(
                "C9350-24",
                "regid.2023-08.com.cisco.C9350_24P_DNX_A,1.0_e0fef355-0393-4db8-ae2e-2013b1ff759c",
                "C9350-24 Catalyst Software Subscription Advantage",
            ),
        ],
    },
    Family {
        name: "C9400",
        pids: &["C9404R", "C9407R", "C9410R", "C9400"],
        software_tag: "regid.2017-05.com.cisco.C9400,v1_ad928212-d182-407e-ac85-29e213602efa",
        licenses: &[
            na(
                "C9400",
                "regid.2017-05.com.cisco.advantagek9-C9400,1.0_61a546cd-1037-47cb-bbe6-7cad3217a7b3",
                "C9400 Network Advantage",
            ),
            dna_a(
                "C9400",
                "regid.2017-05.com.cisco.dna_advantage-C9400,1.0_6e77dbc1-0da3-466c-8414-97c8ee4d48ce",
                "C9400 DNA Advantage",
            ),
        ],
    },
    Family {
        name: "C9500-16X",
        pids: &["C9500-16X"],
        software_tag: C9500_SOFTWARE,
        licenses: &[
            na("C9500-16X", C9500_NA, "C9500 Network Advantage"),
            dna_a(
                "C9500-16X",
                "regid.2017-07.com.cisco.C9500-DNA-16X-A,1.0_ef3574d1-156b-486a-864f-9f779ff3ee49",
                "C9500-16X DNA Advantage",
            ),
        ],
    },
    Family {
        name: "C9500-32QC",
        pids: &["C9500-32QC"],
        software_tag: C9500_SOFTWARE,
        licenses: &[
            na("C9500-32QC", C9500_NA, "C9500 Network Advantage"),
            dna_a(
                "C9500-32QC",
                "regid.2018-01.com.cisco.C9500-DNA-32QC-A,1.0_1fd2bf73-201e-472b-a287-65f23ec80f3e",
                "C9500-32QC DNA Advantage",
            ),
        ],
    },
    Family {
        name: "C9500X",
        pids: &["C9500X-"],
        software_tag: C9500_SOFTWARE,
        licenses: &[
            na(
                "C9500X",
                "regid.2021-03.com.cisco.C9500X_NW_A,1.0_9cff48db-3555-4bf0-ae49-edfbb0a8327d",
                "Network Advantage License for Catalyst 9500X Switches",
            ),
            dna_a(
                "C9500X",
                "regid.2021-03.com.cisco.C9500X_DNA_A,1.0_ed879e7f-f17e-4a9e-a7c1-aee91e5d6ec3",
                "DNA Advantage License for Catalyst 9500X Switches",
            ),
        ],
    },
    Family {
        name: "C9600",
        pids: &["C9606R", "C9600"],
        software_tag: "regid.2018-10.com.cisco.C9600,1.0_8efb7c5b-26eb-4f25-8a23-1e5b2f24bc76",
        licenses: &[ne(
            "C9600",
            "regid.2018-11.com.cisco.C9600-NW-E,1.0_5dd8378e-df2c-493a-9c7e-4966cbe34aa3",
            "C9600 Network Essentials",
        )],
    },
];

/// The embedded wireless controller's licenses a family's devices list in `show license tech
/// support` though nothing uses them: real C9300-24 stacks (genieparser's ShowLicenseTechSupport
/// `golden_output_output.txt` and `golden_output_3_output.txt`, agents 5.3 and 5.5) print
/// `air-network-advantage` and `air-dna-advantage` after the switch licenses, `Count: 0`,
/// `Status: NOT IN USE(1)`, their feature name as description. No real `show license all` or
/// `show license usage` lists them, and no capture of another family shows them: they are
/// listed for the C9300-24 only, and never counted or reported.
const AIR: &[LicenseInfo] = &[
    license(
        "C9300-24",
        "air-network-advantage",
        Term::Perpetual,
        "regid.2018-06.com.cisco.DNA_NWStack,1.0_e7244e71-3ad5-4608-8bf0-d12f67c80896",
        "air-network-advantage",
    ),
    license(
        "C9300-24",
        "air-dna-advantage",
        Term::Subscription,
        "regid.2017-08.com.cisco.AIR-DNA-A,1.0_b6308627-3ab0-4a11-a3d9-586911a0d790",
        "air-dna-advantage",
    ),
];

impl Family {
    /// The wireless licenses the family's devices list as not in use (see [`AIR`]).
    pub fn air_licenses(&self) -> impl Iterator<Item = &'static LicenseInfo> + '_ {
        AIR.iter().filter(move |l| l.family == self.name)
    }
}

/// The family a bare feature name stands for where no PID is given (the authority's
/// `license add --tag network-advantage`): the C9300-24, whose tags the guide and most real
/// captures show.
pub const DEFAULT_FAMILY: &str = "C9300-24";

/// The family of a PID (the longest matching prefix, so `C9500X-28C8D` is a C9500X).
pub fn family_of(pid: &str) -> Result<&'static Family, UnknownFamily> {
    let upper = pid.trim().to_ascii_uppercase();
    FAMILIES
        .iter()
        .filter_map(|f| {
            let longest = f.pids.iter().filter(|p| upper.starts_with(*p)).map(|p| p.len()).max();
            longest.map(|len| (len, f))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, f)| f)
        .ok_or_else(|| UnknownFamily { pid: pid.to_owned(), known: known_families() })
}

/// The families slp knows, for messages: `C9300-24 (C9300-24…, C9300X-24…), …`.
pub fn known_families() -> String {
    FAMILIES
        .iter()
        .map(|f| {
            let pids: Vec<String> = f.pids.iter().map(|p| format!("{p}…")).collect();
            format!("{} ({})", f.name, pids.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The boot level a new device whose units have the PIDs `pids` starts with:
/// network-essentials where every unit's family has a known tag for it, else
/// network-advantage. PIDs of no known family are left to init to refuse, naming them.
pub fn default_boot_level(pids: &[&str]) -> &'static str {
    let everywhere = |level: &str| {
        pids.iter()
            .filter_map(|pid| family_of(pid).ok())
            .all(|family| family.confirmed(level).is_some())
    };
    if everywhere("network-essentials") { "network-essentials" } else { "network-advantage" }
}

fn family_named(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

/// Every license slp knows, each entitlement tag once.
pub fn catalog() -> Vec<&'static LicenseInfo> {
    let mut out: Vec<&'static LicenseInfo> = Vec::new();
    let own = OWN.iter();
    for info in
        FAMILIES.iter().flat_map(|f| f.licenses.iter()).chain(std::iter::once(&HSEC)).chain(own)
    {
        if !out.iter().any(|seen| seen.entitlement_tag == info.entitlement_tag) {
            out.push(info);
        }
    }
    out
}

/// The license reported under an entitlement tag.
pub fn by_tag(tag: &str) -> Option<&'static LicenseInfo> {
    FAMILIES
        .iter()
        .flat_map(|f| f.licenses.iter())
        .chain(std::iter::once(&HSEC))
        .chain(OWN.iter())
        .find(|it| it.entitlement_tag == tag)
}

/// Looks a license up by its entitlement tag, by `FAMILY:feature` (`C9300-48:network-advantage`)
/// or by a bare feature name, which stands for the [`DEFAULT_FAMILY`]'s license (the HSECK9
/// key is the same in every family).
pub fn lookup(name_or_tag: &str) -> Option<&'static LicenseInfo> {
    let input = name_or_tag.trim();
    if let Some(info) = by_tag(input) {
        return Some(info);
    }
    let (family, feature) = input.split_once(':').unwrap_or((DEFAULT_FAMILY, input));
    family_named(family)?.license(feature)
}

/// The feature name for an entitlement tag, or the tag itself when slp does not know it.
pub fn feature_name(tag: &str) -> String {
    by_tag(tag).map(|it| it.feature.to_owned()).unwrap_or_else(|| tag.to_owned())
}

/// The base levels and add-ons every family offers (the guide's `license boot level` table).
const LEVELS: &[&str] =
    &["network-advantage", "network-essentials", "dna-advantage", "dna-essentials"];

/// The prefix of slp's own entitlement tags. ISO 19770-2 tags name their registrant by a
/// domain; `.invalid` is reserved (RFC 2606), so no tag of this form can be mistaken for one
/// Cisco issued.
pub const OWN_TAG_PREFIX: &str = "regid.2026-12.invalid.slp.";

/// slp's own licenses for each (family, level) the guide allows but no real output shows the
/// tag of (e.g. dna-essentials, a C9300-48's network-essentials — the guide prints their names,
/// `C9300-48 Network Essen...`, `C9300-24 DNA Essentials`, never their tags). Rather than refuse
/// a level the guide allows, or make up a tag that looks like Cisco's, they report under a tag
/// of slp's own ([`OWN_TAG_PREFIX`]) with the family's name in the guide's form. Built once for
/// a fixed set (families × levels), so the leaked strings are bounded.
static OWN: LazyLock<Vec<LicenseInfo>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for family in FAMILIES {
        for &feature in LEVELS {
            if family.licenses.iter().any(|l| l.feature == feature) {
                continue;
            }
            let (term, words) = match feature {
                "network-advantage" => (Term::Perpetual, "Network Advantage"),
                "network-essentials" => (Term::Perpetual, "Network Essentials"),
                "dna-advantage" => (Term::Subscription, "DNA Advantage"),
                _ => (Term::Subscription, "DNA Essentials"),
            };
            let tag = format!("{OWN_TAG_PREFIX}{}_{},1.0", family.name, feature.replace('-', "_"));
            let display = format!("{} {words}", family.name);
            out.push(license(
                family.name,
                feature,
                term,
                Box::leak(tag.into_boxed_str()),
                Box::leak(display.into_boxed_str()),
            ));
        }
    }
    out
});

impl LicenseInfo {
    /// Whether the tag is slp's own ([`OWN_TAG_PREFIX`]), not one real devices print.
    pub fn is_own_tag(&self) -> bool {
        self.entitlement_tag.starts_with(OWN_TAG_PREFIX)
    }
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
        assert_eq!(na.display_name(), "C9300-24 Network Advantage");
        assert_eq!(lookup("hseck9").unwrap().display_name(), "Cat9K HSEC");
        assert_eq!(feature_name("regid.x"), "regid.x");
        let na48 = lookup("C9300-48:network-advantage").unwrap();
        assert_eq!(na48.display_name(), "C9300-48 Network Advantage");
        assert_ne!(na48.entitlement_tag, na.entitlement_tag);
        // No real output shows these tags: they report under slp's own, named as the guide does.
        let ne48 = lookup("C9300-48:network-essentials").unwrap();
        assert!(ne48.is_own_tag(), "{}", ne48.entitlement_tag);
        assert_eq!(ne48.display_name(), "C9300-48 Network Essentials");
        let dna_e = lookup("dna-essentials").unwrap();
        assert_eq!(dna_e.entitlement_tag, "regid.2026-12.invalid.slp.C9300-24_dna_essentials,1.0");
        assert_eq!(dna_e.display_name(), "C9300-24 DNA Essentials");
        assert_eq!(by_tag(dna_e.entitlement_tag).unwrap().feature, "dna-essentials");
        assert!(!na.is_own_tag());
        // Each tag once, whichever families share it.
        let tags: Vec<&str> = catalog().iter().map(|l| l.entitlement_tag).collect();
        let mut unique = tags.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(tags.len(), unique.len());
    }

    #[test]
    fn families_follow_real_devices() {
        // show license tech support of a C9300-24UX/C9300-48U stack (Genie golden output 4).
        let f24 = family_of("C9300-24UX").unwrap();
        assert_eq!(
            f24.license("network-essentials").unwrap().entitlement_tag,
            "regid.2017-03.com.cisco.essentialsk9,1.0_90406ae8-385e-43aa-ac98-91da0ea270e2"
        );
        assert_eq!(
            f24.license("dna-advantage").unwrap().entitlement_tag,
            "regid.2017-05.com.cisco.c9300_dna_advantage,1.0_411773c3-2116-4c10-94a4-5d357fe6ff18"
        );
        assert_eq!(family_of("C9300-48UXM").unwrap().name, "C9300-48");
        // The guide's C9300X stack counts under the C9300 families.
        assert_eq!(family_of("C9300X-24HX").unwrap().name, "C9300-24");
        assert_eq!(family_of("C9300X-48HXN").unwrap().name, "C9300-48");
        assert_eq!(family_of("C9500X-28C8D").unwrap().name, "C9500X");
        assert_eq!(family_of("C9500-16X").unwrap().name, "C9500-16X");
        assert_eq!(
            family_of("C9407R").unwrap().software_tag,
            family_of("C9410R").unwrap().software_tag
        );
        assert_eq!(family_of("C9600X-SUP-2").unwrap().default_boot_level(), "network-essentials");
        assert_eq!(family_of("C9300-48P").unwrap().default_boot_level(), "network-advantage");
        assert_eq!(family_of("C9300-24T").unwrap().default_boot_level(), "network-essentials");
        assert_eq!(default_boot_level(&["C9300-24UX"]), "network-essentials");
        assert_eq!(default_boot_level(&["C9300-24UX", "C9300-48P"]), "network-advantage");
        let err = family_of("C9200L-48P-4G").unwrap_err();
        assert_eq!(err.pid, "C9200L-48P-4G");
        assert!(err.to_string().contains("C9300-24"), "{err}");
        // No made-up UUID survives: the old invented network-essentials tag is unknown.
        assert!(
            by_tag("regid.2017-03.com.cisco.essentialsk9,1.0_53d3a7a1-9f0e-4f8a-9c1e-2f6e0b7c4a11")
                .is_none()
        );
    }
}
