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

/// The key id of a base64 public key.
pub fn key_id(public_b64: &str) -> Result<String> {
    let bytes = B64
        .decode(public_b64.trim())
        .map_err(|err| WireError::Key { what: "public key".to_owned(), reason: err.to_string() })?;
    Ok(key_id_of(&bytes))
}

/// Checks a base64 signature over `bytes` against a base64 public key; `what` names the document.
pub fn verify(public_b64: &str, bytes: &[u8], signature_b64: &str, what: &str) -> Result<()> {
    let key_err = |reason: String| WireError::Key { what: what.to_owned(), reason };
    let public = B64.decode(public_b64.trim()).map_err(|err| key_err(err.to_string()))?;
    let public: [u8; 32] =
        public.try_into().map_err(|_| key_err("expected 32 bytes".to_owned()))?;
    let public = VerifyingKey::from_bytes(&public).map_err(|err| key_err(err.to_string()))?;
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
}
