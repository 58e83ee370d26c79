//! What a platform (a PID) offers beyond the base and add-on licenses: the HSECK9 key and the
//! cryptographic feature that uses it. The guide's table "Licenses that Require SLAC,
//! Supported Platforms, and Releases" names the platforms; on every other PID the key is not
//! offered (no SLAC request, no release command, not in the platform's mapping table).
//!
//! A modular chassis (Catalyst 9400, 9600) supports the key only with its newer supervisor; slp
//! models such a device by the supervisor's PID (`C9400X-SUP-2`, `C9600X-SUP-2`).

/// The cryptographic feature that holds the HSECK9 key on a platform, with the command that
/// releases the key once the feature is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoFeature {
    /// IPsec (Catalyst 9300X, 9400X-SUP-2/2XL): `platform hsec-license-release`.
    Ipsec,
    /// WAN MACsec (Catalyst 9500X, 9600X-SUP-2 with the C9600-LC-40YL4CD line card):
    /// `platform wanmacsec hsec-license-release`.
    WanMacsec,
}

/// PID prefixes of the platforms that support the HSECK9 key, with their feature.
const PLATFORMS: &[(&str, CryptoFeature)] = &[
    ("C9300X-", CryptoFeature::Ipsec),
    ("C9400X-SUP-2", CryptoFeature::Ipsec),
    ("C9500X-", CryptoFeature::WanMacsec),
    ("C9600X-SUP-2", CryptoFeature::WanMacsec),
];

/// The cryptographic feature that uses the HSECK9 key on `pid`, or `None` where the key is not
/// offered.
pub fn hsec_feature(pid: &str) -> Option<CryptoFeature> {
    let pid = pid.to_ascii_uppercase();
    PLATFORMS.iter().find(|(prefix, _)| pid.starts_with(prefix)).map(|(_, feature)| *feature)
}

/// Whether `pid` supports the HSECK9 key.
pub fn supports_hsec(pid: &str) -> bool {
    hsec_feature(pid).is_some()
}

/// The platforms that offer the key, for messages.
pub const HSEC_PLATFORMS: &str = "Catalyst 9300X, 9400X-SUP-2/2XL, 9500X and 9600X-SUP-2";
/// The platforms whose IPsec uses the key, for messages.
pub const IPSEC_PLATFORMS: &str = "Catalyst 9300X and 9400X-SUP-2/2XL";

/// The command that releases the key on `pid`, as the guide gives it.
pub fn release_command(pid: &str) -> &'static str {
    match hsec_feature(pid) {
        Some(CryptoFeature::WanMacsec) => "platform wanmacsec hsec-license-release",
        _ => "platform hsec-license-release",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_platforms_offer_the_key_and_no_other() {
        assert_eq!(hsec_feature("C9300X-24HX"), Some(CryptoFeature::Ipsec));
        assert_eq!(hsec_feature("C9300X-48HXN"), Some(CryptoFeature::Ipsec));
        assert_eq!(hsec_feature("C9400X-SUP-2XL"), Some(CryptoFeature::Ipsec));
        assert_eq!(hsec_feature("C9500X-28C8D"), Some(CryptoFeature::WanMacsec));
        assert_eq!(hsec_feature("C9600X-SUP-2"), Some(CryptoFeature::WanMacsec));
        for pid in ["C9300-24UX", "C9300-48UXM", "C9300L-24P-4G", "C9500-48Y4C", "C9400-SUP-1"] {
            assert_eq!(hsec_feature(pid), None, "{pid}");
        }
    }
}
