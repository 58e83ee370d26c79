//! The secret that keeps ID token text at rest. Cisco's token list shows each token
//! (`tokens[].token`, which public scripts read to register devices), so the authority keeps the
//! text, but sealed: ChaCha20-Poly1305 with a key derived (HKDF-SHA256) from 32 random bytes in
//! a file outside the database (`token-text.key` in the data directory, created 0600 on first
//! use, or `--token-key-file`). A copy of the database alone gives digests and ciphertexts, no
//! token. Each sealed text is bound to its row's token digest (the AEAD's associated data), so
//! a ciphertext moved to another row does not open; it names the key it was sealed with, so a
//! wrong key file is told apart from a damaged row.
//!
//! Sealed form: `v1:<key id>:<base64 of nonce (12 bytes) ‖ ciphertext and tag>`.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};

use crate::{AuthorityError, Result};

/// The file name of the token key in an authority's data directory.
pub const TOKEN_KEY_FILE: &str = "token-text.key";

const VERSION: &str = "v1";

/// The key ID tokens are sealed with.
#[derive(Clone)]
pub struct TokenKey {
    key: Key,
    /// 16 hex characters naming the key (not the key: a digest of it).
    id: String,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKey").field("id", &self.id).finish_non_exhaustive()
    }
}

fn key_error(path: &Path, reason: impl Into<String>) -> AuthorityError {
    AuthorityError::TokenKey { path: path.display().to_string(), reason: reason.into() }
}

impl TokenKey {
    /// The key derived from a 32-byte secret.
    pub fn from_secret(secret: &[u8; 32]) -> TokenKey {
        let hkdf = Hkdf::<Sha256>::new(Some(b"slp id token text"), secret);
        let mut okm = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit (255 × 32): expand cannot fail.
        if hkdf.expand(b"chacha20poly1305 v1", &mut okm).is_err() {
            okm = Sha256::digest(secret).into();
        }
        let digest = Sha256::digest([b"slp token key id\0".as_slice(), &okm].concat());
        let id = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        TokenKey { key: Key::from(okm), id }
    }

    /// The key of the file at `path`: read it, or create it (mode 0600, a fresh random secret)
    /// when there is none. A file others may read, or one that does not hold a base64 secret of
    /// 32 bytes, is refused naming the file.
    pub fn load_or_create(path: &Path) -> Result<TokenKey> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::read(path, &text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Self::create(path),
            Err(err) => Err(key_error(path, format!("cannot be read: {err}"))),
        }
    }

    fn read(path: &Path, text: &str) -> Result<TokenKey> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|err| key_error(path, format!("cannot be read: {err}")))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(key_error(
                    path,
                    format!(
                        "may be read by others (mode {:o}): `chmod 600 {}`",
                        mode & 0o777,
                        path.display()
                    ),
                ));
            }
        }
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|err| key_error(path, format!("does not hold a base64 secret: {err}")))?;
        let secret: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            key_error(path, format!("holds {} bytes, not the 32 of a token key", bytes.len()))
        })?;
        Ok(Self::from_secret(&secret))
    }

    fn create(path: &Path) -> Result<TokenKey> {
        let secret: [u8; 32] = rand::random();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = match options.open(path) {
            Ok(file) => file,
            // Another process made it first: use theirs.
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                return Self::load_or_create(path);
            }
            Err(err) => return Err(key_error(path, format!("cannot be created: {err}"))),
        };
        file.write_all(format!("{}\n", BASE64.encode(secret)).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|err| key_error(path, format!("cannot be written: {err}")))?;
        tracing::info!(path = %path.display(), "token key created");
        Ok(Self::from_secret(&secret))
    }

    /// The token key of a data directory: `dir/token-text.key`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(TOKEN_KEY_FILE)
    }

    /// The key's name (a digest of it), as sealed texts carry it.
    pub fn key_id(&self) -> &str {
        &self.id
    }

    /// `text` sealed for the row whose token digest is `token_hash`.
    pub(crate) fn seal(&self, token_hash: &str, text: &str) -> String {
        let nonce: [u8; 12] = rand::random();
        let cipher = ChaCha20Poly1305::new(&self.key);
        let payload = Payload { msg: text.as_bytes(), aad: token_hash.as_bytes() };
        // Encryption fails only for a message longer than 256 GiB.
        let sealed = cipher.encrypt(Nonce::from_slice(&nonce), payload).unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{VERSION}:{}:{}", self.id, BASE64.encode(bytes))
    }

    /// The text sealed for `token_hash`, or why it does not open.
    pub(crate) fn open(&self, token_hash: &str, sealed: &str) -> Result<String, String> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(version), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err("not a sealed token text".to_owned());
        };
        if version != VERSION {
            return Err(format!("sealed in an unknown form {version:?}"));
        }
        if id != self.id {
            return Err(format!("sealed with token key {id}, not this authority's {}", self.id));
        }
        let bytes = BASE64.decode(data).map_err(|err| format!("unreadable: {err}"))?;
        if bytes.len() < 12 {
            return Err("too short".to_owned());
        }
        let (nonce, sealed) = bytes.split_at(12);
        let cipher = ChaCha20Poly1305::new(&self.key);
        let payload = Payload { msg: sealed, aad: token_hash.as_bytes() };
        let text = cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| "does not open: damaged, or not this token's".to_owned())?;
        String::from_utf8(text).map_err(|_| "is not text".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_text_opens_only_for_its_row_and_key() {
        let key = TokenKey::from_secret(&[7; 32]);
        let sealed = key.seal("digest-a", "ODFjNWU3NjUtMDYwZS0");
        assert!(sealed.starts_with(&format!("v1:{}:", key.key_id())), "{sealed}");
        assert!(!sealed.contains("ODFjNWU3NjUtMDYwZS0"), "{sealed}");
        assert_eq!(key.open("digest-a", &sealed).as_deref(), Ok("ODFjNWU3NjUtMDYwZS0"));
        assert_ne!(key.seal("digest-a", "x"), key.seal("digest-a", "x"), "a fresh nonce each time");
        let moved = key.open("digest-b", &sealed).unwrap_err();
        assert!(moved.contains("does not open"), "{moved}");
        let other = TokenKey::from_secret(&[8; 32]);
        let wrong = other.open("digest-a", &sealed).unwrap_err();
        assert!(wrong.contains(key.key_id()) && wrong.contains(other.key_id()), "{wrong}");
        let mut damaged = sealed.clone();
        damaged.pop();
        damaged.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(key.open("digest-a", &damaged).is_err());
        assert!(key.open("digest-a", "plain text").is_err());
    }

    #[test]
    fn the_key_file_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = TokenKey::path_in(dir.path());
        let made = TokenKey::load_or_create(&path).unwrap();
        let again = TokenKey::load_or_create(&path).unwrap();
        assert_eq!(made.key_id(), again.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
            assert_eq!(mode.ok(), Some(0o600));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let open = TokenKey::load_or_create(&path).unwrap_err().to_string();
            assert!(open.contains("chmod 600") && open.contains(TOKEN_KEY_FILE), "{open}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(&path, "c2hvcnQ=\n").unwrap();
        let short = TokenKey::load_or_create(&path).unwrap_err().to_string();
        assert!(short.contains("holds 5 bytes"), "{short}");
    }
}
