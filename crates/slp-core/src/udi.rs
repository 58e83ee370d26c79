//! Product-instance identities: the UDI (`PID:<pid>,SN:<sn>`) and HA roles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A unique device identifier: product id and serial number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Udi {
    pub pid: String,
    pub sn: String,
}

/// Why a UDI string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid UDI {input:?}: expected PID:<pid>,SN:<serial> with letters, digits, '-', '_' or '.'"
)]
pub struct UdiError {
    pub input: String,
}

/// Longest PID or serial number, in bytes.
pub const MAX_PART_LEN: usize = 64;
/// A PID or serial number as [`Udi::new`] takes it, as a regex (for API schemas).
pub const PART_PATTERN: &str = "^[A-Za-z0-9._-]{1,64}$";

impl Udi {
    /// Builds a UDI after checking that both parts are non-empty and use only safe characters
    /// ([`PART_PATTERN`]).
    pub fn new(pid: &str, sn: &str) -> Result<Udi, UdiError> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= MAX_PART_LEN
                && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if ok(pid) && ok(sn) {
            Ok(Udi { pid: pid.to_owned(), sn: sn.to_owned() })
        } else {
            Err(UdiError { input: format!("PID:{pid},SN:{sn}") })
        }
    }
}

impl fmt::Display for Udi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PID:{},SN:{}", self.pid, self.sn)
    }
}

impl FromStr for Udi {
    type Err = UdiError;
    fn from_str(input: &str) -> Result<Udi, UdiError> {
        let err = || UdiError { input: input.to_owned() };
        let (pid, sn) = input.trim().split_once(',').ok_or_else(err)?;
        let pid = pid.trim().strip_prefix("PID:").ok_or_else(err)?;
        let sn = sn.trim().strip_prefix("SN:").ok_or_else(err)?;
        Udi::new(pid, sn).map_err(|_| err())
    }
}

/// The role of one unit in a high-availability set or stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HaRole {
    Active,
    Standby,
    Member,
}

impl HaRole {
    pub fn as_str(self) -> &'static str {
        match self {
            HaRole::Active => "Active",
            HaRole::Standby => "Standby",
            HaRole::Member => "Member",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udi_round_trips_and_rejects_garbage() {
        let udi: Udi = "PID:C9300-24UX,SN:FOC2233A5ZV".parse().unwrap();
        assert_eq!(udi.pid, "C9300-24UX");
        assert_eq!(udi.to_string(), "PID:C9300-24UX,SN:FOC2233A5ZV");
        assert!("PID:../x,SN:1".parse::<Udi>().is_err());
        assert!("C9300,FOC".parse::<Udi>().is_err());
        assert!(PART_PATTERN.ends_with(&format!("{{1,{MAX_PART_LEN}}}$")));
        assert!(Udi::new(&"A".repeat(MAX_PART_LEN), "1").is_ok());
        assert!(Udi::new(&"A".repeat(MAX_PART_LEN + 1), "1").is_err());
    }
}
