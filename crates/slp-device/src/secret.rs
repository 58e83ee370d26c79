//! Device user secrets as IOS stores `username … secret 9 …`: type 9 is scrypt (N = 16384,
//! r = 1, p = 1) over the password with a 14-character salt, the 32-byte key written in Cisco's
//! base64 alphabet (`./0-9A-Za-z`, no padding): `$9$<salt>$<43 characters>`.
//!
//! The device never keeps a password in plain text: `username U privilege 15 password P` stores
//! the type 9 hash of `P` (and `show running-config` shows it as `secret 9 …`), and a state file
//! of an earlier version that holds plain passwords is migrated on load.

use base64::Engine;
use base64::alphabet::Alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::Rng;
use subtle::ConstantTimeEq;

/// How a type 9 secret starts.
pub const TYPE9_PREFIX: &str = "$9$";
const CISCO64: &str = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SALT_LEN: usize = 14;
const HASH_LEN: usize = 43;

fn engine() -> Option<GeneralPurpose> {
    let alphabet = Alphabet::new(CISCO64).ok()?;
    Some(GeneralPurpose::new(
        &alphabet,
        GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone),
    ))
}

fn derive(password: &str, salt: &str) -> Option<[u8; 32]> {
    let params = scrypt::Params::new(14, 1, 1, 32).ok()?;
    let mut key = [0u8; 32];
    scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, &mut key).ok()?;
    Some(key)
}

/// The type 9 secret of `password` with `salt` (14 characters of Cisco's base64 alphabet).
pub fn type9_with_salt(password: &str, salt: &str) -> Option<String> {
    if salt.len() != SALT_LEN || !salt.chars().all(|c| CISCO64.contains(c)) {
        return None;
    }
    let key = derive(password, salt)?;
    Some(format!("{TYPE9_PREFIX}{salt}${}", engine()?.encode(key)))
}

/// The type 9 secret of `password` with a fresh random salt.
pub fn type9(password: &str) -> String {
    let alphabet = CISCO64.as_bytes();
    let mut rng = rand::thread_rng();
    let salt: String =
        (0..SALT_LEN).map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())])).collect();
    // Both inputs are well formed, so this cannot fail; a failure would leave no usable secret.
    type9_with_salt(password, &salt).unwrap_or_default()
}

/// Whether `text` is a well-formed type 9 secret (`$9$` + 14 + `$` + 43 characters).
pub fn is_type9(text: &str) -> bool {
    let Some(rest) = text.strip_prefix(TYPE9_PREFIX) else { return false };
    let Some((salt, hash)) = rest.split_once('$') else { return false };
    salt.len() == SALT_LEN
        && hash.len() == HASH_LEN
        && salt.chars().chain(hash.chars()).all(|c| CISCO64.contains(c))
}

/// Whether `password` matches the type 9 `secret`. The comparison of the derived key takes the
/// same time wherever the first difference is.
pub fn verify(secret: &str, password: &str) -> bool {
    if !is_type9(secret) {
        return false;
    }
    let Some((salt, hash)) =
        secret.strip_prefix(TYPE9_PREFIX).and_then(|rest| rest.split_once('$'))
    else {
        return false;
    };
    let (Some(key), Some(engine)) = (derive(password, salt), engine()) else { return false };
    let Ok(expected) = engine.decode(hash) else { return false };
    bool::from(expected.as_slice().ct_eq(key.as_slice()))
}

/// Equality of two secrets (tokens) in time that depends only on their lengths.
pub fn same_token(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    // Comparing digests hides even the length of the expected token.
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(expected.as_bytes());
    bool::from(given.as_slice().ct_eq(expected.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type9_matches_the_published_vector_and_verifies() {
        // hashcat's example for mode 9300 (Cisco-IOS $9$), password "hashcat".
        let known = "$9$2MJBozw/9R3UsU$2lFhcKvpghcyw8deP25GOfyZaagyUOGBymkryvOdfo6";
        assert_eq!(type9_with_salt("hashcat", "2MJBozw/9R3UsU").as_deref(), Some(known));
        assert!(is_type9(known));
        assert!(verify(known, "hashcat"));
        assert!(!verify(known, "hashcaT"));
        assert!(!verify(known, ""));
        let fresh = type9("s3cret");
        assert!(is_type9(&fresh), "{fresh}");
        assert!(verify(&fresh, "s3cret") && !verify(&fresh, "s3cre"));
        assert_ne!(fresh, type9("s3cret"), "every secret gets its own salt");
        for bad in [
            "s3cret",
            "$9$short$x",
            "$8$2MJBozw/9R3UsU$2lFhcKvpghcyw8deP25GOfyZaagyUOGBymkryvOdfo6",
        ] {
            assert!(!is_type9(bad), "{bad}");
            assert!(!verify(bad, "s3cret"), "{bad}");
        }
    }

    #[test]
    fn tokens_compare_by_value() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abd", "abc"));
        assert!(!same_token("ab", "abc"));
    }
}
