//! Text forms used everywhere, written once: lower-case hex, hex SHA-256, RFC 3339 times.

use chrono::{DateTime, SecondsFormat};
use sha2::{Digest, Sha256};

use crate::Timestamp;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Lower-case hex SHA-256 of `bytes` (64 characters).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `2026-12-07T12:00:00Z`: whole seconds, UTC.
pub fn rfc3339(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// [`rfc3339`] of seconds since the epoch; a value outside chrono's range prints as the number.
pub fn rfc3339_ts(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0).map(rfc3339).unwrap_or_else(|| ts.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(rfc3339_ts(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_ts(i64::MAX), i64::MAX.to_string());
    }
}
