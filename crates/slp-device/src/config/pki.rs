//! `crypto pki trustpoint NAME` and its `ca-trustpoint` sub-mode, as far as the guide configures
//! it for SSM On-Prem ("Ensure that you configure steps 13, 14, and 15 exactly as shown":
//! `crypto pki trustpoint SLA-TrustPoint`, `enrollment terminal`, `revocation-check none`).
//!
//! A new Catalyst 9000 ships with `SLA-TrustPoint` (`enrollment pkcs12`, `revocation-check
//! crl`, real captures) and its Cisco Licensing Root CA certificate chain. slp models the
//! trustpoint's settings only: the chain is Cisco's certificate, which slp does not carry (the
//! device trusts its peers through `trustpool.pem`, see `slp device init --ca`).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

/// The trustpoint smart licensing uses.
pub const SLA_TRUSTPOINT: &str = "SLA-TrustPoint";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trustpoints(pub BTreeMap<String, Trustpoint>);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trustpoint {
    /// `enrollment {pkcs12|terminal|selfsigned}`.
    pub enrollment: Option<String>,
    /// `revocation-check {crl|none|ocsp}`.
    pub revocation_check: Option<String>,
}

impl Default for Trustpoints {
    fn default() -> Trustpoints {
        Trustpoints(BTreeMap::from([(
            SLA_TRUSTPOINT.to_owned(),
            Trustpoint {
                enrollment: Some("pkcs12".to_owned()),
                revocation_check: Some("crl".to_owned()),
            },
        )]))
    }
}

impl Trustpoints {
    /// `crypto pki trustpoint …` blocks, each closed by `!` as IOS prints them.
    pub fn lines(&self) -> String {
        let mut out = String::new();
        for (name, tp) in &self.0 {
            let _ = writeln!(out, "crypto pki trustpoint {name}");
            if let Some(enrollment) = &tp.enrollment {
                let _ = writeln!(out, " enrollment {enrollment}");
            }
            if let Some(check) = &tp.revocation_check {
                let _ = writeln!(out, " revocation-check {check}");
            }
            out.push_str("!\n");
        }
        out
    }
}
