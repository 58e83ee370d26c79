//! Ed25519 key pairs, key ids and signatures, all text-encoded (base64) for documents.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{Result, WireError};

/// A signing key pair.
#[derive(Clone)]
pub struct KeyPair {
    signing: SigningKey,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").field("key_id", &self.key_id()).finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A fresh random key pair.
    pub fn generate() -> KeyPair {
        KeyPair { signing: SigningKey::generate(&mut rand::rngs::OsRng) }
    }

    /// The key pair stored as base64 of the 32-byte secret.
    pub fn from_secret_b64(secret: &str, what: &str) -> Result<KeyPair> {
        let bytes = B64
            .decode(secret.trim())
            .map_err(|err| WireError::Key { what: what.to_owned(), reason: err.to_string() })?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| WireError::Key {
            what: what.to_owned(),
            reason: "expected 32 bytes".to_owned(),
        })?;
        Ok(KeyPair { signing: SigningKey::from_bytes(&bytes) })
    }

    pub fn secret_b64(&self) -> String {
        B64.encode(self.signing.to_bytes())
    }

    pub fn public_b64(&self) -> String {
        B64.encode(self.signing.verifying_key().to_bytes())
    }

    /// Hex SHA-256 prefix of the public key (PROTOCOL.md §1.3).
    pub fn key_id(&self) -> String {
        key_id_of(&self.signing.verifying_key().to_bytes())
    }

    /// Base64 Ed25519 signature over `bytes`.
    pub fn sign(&self, bytes: &[u8]) -> String {
        B64.encode(self.signing.sign(bytes).to_bytes())
    }
}

fn key_id_of(public: &[u8]) -> String {
    let digest = Sha256::digest(public);
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Reads a public key to pin: the base64 Ed25519 key itself, or the output of
/// `slp authority key show` (its `Public key:` line). Returns the base64 key; the error says
/// what is wrong with it.
pub fn parse_public_key_text(text: &str) -> Result<String> {
    let bad = |reason: String| WireError::Key { what: "public key".to_owned(), reason };
    let key = text
        .lines()
        .find_map(|line| {
            let line = line.trim();
            line.get(..11)
                .filter(|head| head.eq_ignore_ascii_case("public key:"))
                .and_then(|_| line.get(11..))
                .map(str::trim)
        })
        .unwrap_or_else(|| text.trim());
    let bytes =
        B64.decode(key).map_err(|e| bad(format!("{key:?} is not a base64 public key: {e}")))?;
    if bytes.len() != 32 {
        return Err(bad(format!(
            "{key:?} is {} bytes, not a 32-byte Ed25519 public key (give the output of `slp authority key show`)",
            bytes.len()
        )));
    }
    Ok(key.to_owned())
}

/// The key id of a base64 public key.
pub fn key_id(public_b64: &str) -> Result<String> {
    let bytes = B64
        .decode(public_b64.trim())
        .map_err(|err| WireError::Key { what: "public key".to_owned(), reason: err.to_string() })?;
    Ok(key_id_of(&bytes))
}

/// Signatures already found good in this process, by [`verified_digest`]. Verifying is a pure
/// function of (key, bytes, signature), so a digest that binds all three (SHA-256) stands for
/// the check. It lets a server verify a request's signatures in one batch, in parallel and
/// outside its database writer ([`verify_batch`]), and then run its usual per-item checks,
/// which find them here. Bounded: cleared when full.
struct Verified {
    digests: std::sync::Mutex<std::collections::HashSet<[u8; 32]>>,
}

/// At most this many digests are remembered (32 bytes each).
const VERIFIED_CAPACITY: usize = 262_144;

fn verified() -> &'static Verified {
    static VERIFIED: std::sync::OnceLock<Verified> = std::sync::OnceLock::new();
    VERIFIED.get_or_init(|| Verified { digests: std::sync::Mutex::new(Default::default()) })
}

impl Verified {
    fn contains(&self, digest: &[u8; 32]) -> bool {
        self.digests.lock().map(|set| set.contains(digest)).unwrap_or(false)
    }

    fn insert(&self, new: impl IntoIterator<Item = [u8; 32]>) {
        if let Ok(mut set) = self.digests.lock() {
            for digest in new {
                if set.len() >= VERIFIED_CAPACITY {
                    set.clear();
                }
                set.insert(digest);
            }
        }
    }
}

/// SHA-256 over the key, the signature and the bytes (lengths framed), as text encodings.
fn verified_digest(public_b64: &str, bytes: &[u8], signature_b64: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in [public_b64.trim().as_bytes(), signature_b64.trim().as_bytes(), bytes] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Decoded public key, or `None` when it is not well-formed.
fn decode_key(public_b64: &str) -> Option<VerifyingKey> {
    let public: [u8; 32] = B64.decode(public_b64.trim()).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&public).ok()
}

/// Decoded signature, or `None` when it is not well-formed.
fn decode_signature(signature_b64: &str) -> Option<Signature> {
    let signature: [u8; 64] = B64.decode(signature_b64.trim()).ok()?.try_into().ok()?;
    Some(Signature::from_bytes(&signature))
}

/// One signature to check: base64 public key, signed bytes, base64 signature.
pub type Triple<'a> = (&'a str, &'a [u8], &'a str);

/// Checks many signatures at once (Ed25519 batch verification) and remembers the good ones, so
/// that a later [`verify`] of the same key, bytes and signature needs no curve arithmetic.
/// Returns how many were found good. Nothing is reported for bad ones: the caller's own
/// [`verify`] finds them again and names them. CPU-bound: run it off the async threads.
///
/// The batch coalesces the signatures of one key into one term of the check (ed25519-zebra's
/// batch verifier): a device signs its system information and every report with one key, so
/// a request of `n` signatures from `m` devices costs a multiscalar multiplication of
/// `n + m + 1` points instead of `2n + 1`. A weak key (of small order, which "verifies" forged
/// signatures in any cofactored check) is never batched: its signatures are left to
/// [`verify`], which decides on each.
pub fn verify_batch(triples: &[Triple<'_>]) -> usize {
    verify_batch_each(triples).into_iter().filter(|good| *good).count()
}

/// A signature not found good before: (index among the triples, [`verified_digest`], key,
/// signature, signed bytes).
type Pending<'a> = (usize, [u8; 32], VerifyingKey, Signature, &'a [u8]);

/// [`verify_batch`], telling for each triple (in order) whether its signature is good.
pub fn verify_batch_each(triples: &[Triple<'_>]) -> Vec<bool> {
    let cache = verified();
    let mut good = vec![false; triples.len()];
    let mut todo: Vec<Pending<'_>> = Vec::new();
    // A device signs all its reports with one key: each key is decoded once a batch.
    let mut keys: std::collections::HashMap<&str, Option<VerifyingKey>> = Default::default();
    for (index, (public, bytes, signature)) in triples.iter().enumerate() {
        let digest = verified_digest(public, bytes, signature);
        if cache.contains(&digest) {
            good[index] = true;
            continue;
        }
        let key =
            *keys.entry(public).or_insert_with(|| decode_key(public).filter(|key| !key.is_weak()));
        if let (Some(key), Some(sig)) = (key, decode_signature(signature)) {
            todo.push((index, digest, key, sig, bytes));
        }
    }
    let mut batch = ed25519_zebra::batch::Verifier::new();
    for (_, _, key, signature, bytes) in &todo {
        let key = ed25519_zebra::VerificationKeyBytes::from(key.to_bytes());
        batch.queue((key, *signature, *bytes));
    }
    let all_good = batch.verify(rand::thread_rng()).is_ok();
    // Some signature is bad: find the good ones one by one.
    let found: Vec<(usize, [u8; 32])> = todo
        .iter()
        .filter(|t| all_good || t.2.verify(t.4, &t.3).is_ok())
        .map(|t| (t.0, t.1))
        .collect();
    for (index, _) in &found {
        good[*index] = true;
    }
    cache.insert(found.into_iter().map(|(_, digest)| digest));
    good
}

/// Checks a base64 signature over `bytes` against a base64 public key; `what` names the document.
pub fn verify(public_b64: &str, bytes: &[u8], signature_b64: &str, what: &str) -> Result<()> {
    let digest = verified_digest(public_b64, bytes, signature_b64);
    if verified().contains(&digest) {
        return Ok(());
    }
    verify_uncached(public_b64, bytes, signature_b64, what)?;
    verified().insert([digest]);
    Ok(())
}

fn verify_uncached(public_b64: &str, bytes: &[u8], signature_b64: &str, what: &str) -> Result<()> {
    let key_err = |reason: String| WireError::Key { what: what.to_owned(), reason };
    let public = B64.decode(public_b64.trim()).map_err(|err| key_err(err.to_string()))?;
    let public: [u8; 32] =
        public.try_into().map_err(|_| key_err("expected 32 bytes".to_owned()))?;
    let public = VerifyingKey::from_bytes(&public).map_err(|err| key_err(err.to_string()))?;
    if public.is_weak() {
        return Err(key_err(
            "a weak key (of small order): any signature could be forged for it".to_owned(),
        ));
    }
    let bad = || WireError::Signature { what: what.to_owned() };
    let signature = B64.decode(signature_b64.trim()).map_err(|_| bad())?;
    let signature: [u8; 64] = signature.try_into().map_err(|_| bad())?;
    public.verify(bytes, &Signature::from_bytes(&signature)).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_tamper() {
        let pair = KeyPair::generate();
        let restored = KeyPair::from_secret_b64(&pair.secret_b64(), "test").unwrap();
        assert_eq!(restored.public_b64(), pair.public_b64());
        assert_eq!(key_id(&pair.public_b64()).unwrap(), pair.key_id());
        let signature = pair.sign(b"payload");
        verify(&pair.public_b64(), b"payload", &signature, "doc").unwrap();
        let err = verify(&pair.public_b64(), b"payl0ad", &signature, "doc").unwrap_err();
        assert_eq!(err.to_string(), "signature check failed for doc");
        assert!(KeyPair::from_secret_b64("c2hvcnQ=", "device key").is_err());
    }

    #[test]
    fn a_batch_remembers_the_good_signatures_only() {
        let pair = KeyPair::generate();
        let other = KeyPair::generate();
        let messages: Vec<Vec<u8>> = (0..8).map(|i| format!("report {i}").into_bytes()).collect();
        let mut signatures: Vec<String> = messages.iter().map(|m| pair.sign(m)).collect();
        // One forged by another key: the batch fails, the other seven are still found good.
        signatures[3] = other.sign(&messages[3]);
        let public = pair.public_b64();
        let triples: Vec<Triple<'_>> = messages
            .iter()
            .zip(&signatures)
            .map(|(m, s)| (public.as_str(), m.as_slice(), s.as_str()))
            .collect();
        assert_eq!(verify_batch(&triples), 7);
        let each: Vec<usize> = (0..8).filter(|i| verify_batch_each(&triples)[*i]).collect();
        assert_eq!(each, [0, 1, 2, 4, 5, 6, 7], "each signature told apart, the forged one too");
        for (i, (m, s)) in messages.iter().zip(&signatures).enumerate() {
            let result = verify(&public, m, s, "report");
            assert_eq!(result.is_ok(), i != 3, "signature {i}");
        }
        // A remembered signature still binds its bytes: other bytes are checked afresh.
        assert!(verify(&public, b"report 9", &signatures[0], "report").is_err());
        assert_eq!(verify_batch(&triples), 7, "the good ones are remembered");

        // Keys are decoded once a batch; an unreadable one spoils only its own signatures.
        let fresh: Vec<Vec<u8>> = (0..4).map(|i| format!("usage {i}").into_bytes()).collect();
        let signed: Vec<String> = fresh.iter().map(|m| pair.sign(m)).collect();
        let mut triples: Vec<Triple<'_>> = fresh
            .iter()
            .zip(&signed)
            .map(|(m, s)| (public.as_str(), m.as_slice(), s.as_str()))
            .collect();
        triples.push(("not a key", fresh[0].as_slice(), signed[0].as_str()));
        assert_eq!(verify_batch(&triples), 4);
        assert!(verify("not a key", &fresh[0], &signed[0], "report").is_err());
    }

    #[test]
    fn a_batch_of_several_devices_finds_each_good_and_each_forged_signature() {
        // Three devices, each signing several reports (their terms coalesce by key).
        let devices: Vec<KeyPair> = (0..3).map(|_| KeyPair::generate()).collect();
        let publics: Vec<String> = devices.iter().map(KeyPair::public_b64).collect();
        let mut items: Vec<(usize, Vec<u8>, String)> = Vec::new();
        for (d, device) in devices.iter().enumerate() {
            for r in 0..(d + 2) {
                let message = format!("device {d} report {r}").into_bytes();
                let signature = device.sign(&message);
                items.push((d, message, signature));
            }
        }
        let triples = |items: &[(usize, Vec<u8>, String)]| -> Vec<(String, Vec<u8>, String)> {
            items.iter().map(|(d, m, s)| (publics[*d].clone(), m.clone(), s.clone())).collect()
        };
        let owned = triples(&items);
        let borrowed: Vec<Triple<'_>> =
            owned.iter().map(|(k, m, s)| (k.as_str(), m.as_slice(), s.as_str())).collect();
        assert_eq!(verify_batch(&borrowed), items.len());

        // Device 1's second report signed by device 2: only that one is not found good, and
        // the swap of two devices' signatures is not hidden by coalescing their terms.
        let mut forged = items.clone();
        for item in &mut forged {
            item.1.extend_from_slice(b" (again)");
            item.2 = devices[item.0].sign(&item.1);
        }
        let wrong = forged.iter().position(|(d, _, _)| *d == 1).unwrap_or(0) + 1;
        forged[wrong].2 = devices[2].sign(&forged[wrong].1);
        let owned = triples(&forged);
        let borrowed: Vec<Triple<'_>> =
            owned.iter().map(|(k, m, s)| (k.as_str(), m.as_slice(), s.as_str())).collect();
        assert_eq!(verify_batch(&borrowed), forged.len() - 1);
        for (i, (key, message, signature)) in owned.iter().enumerate() {
            assert_eq!(verify(key, message, signature, "report").is_ok(), i != wrong, "item {i}");
        }
    }

    #[test]
    fn a_weak_key_verifies_nothing() {
        // The identity point is a key of small order: R = identity and s = 0 "sign" any bytes
        // under it in a cofactored check, and in a plain one.
        let mut point = [0u8; 32];
        point[0] = 1;
        let weak = B64.encode(point);
        let mut forged = [0u8; 64];
        forged[0] = 1;
        let forged = B64.encode(forged);
        let err = verify(&weak, b"any usage", &forged, "report of X").unwrap_err();
        assert!(err.to_string().contains("weak key"), "{err}");
        assert_eq!(verify_batch(&[(weak.as_str(), b"any usage".as_slice(), forged.as_str())]), 0);
        assert!(verify(&weak, b"any usage", &forged, "report of X").is_err(), "not remembered");
    }
}
