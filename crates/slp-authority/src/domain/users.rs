//! Users of a smart account: people who log in with a username and password, each with a role
//! (admin, reporter or viewer — the roles of API clients, with the same scope: their smart
//! account). Scripts written for Cisco's API log them in with the OAuth2 password grant through
//! an API client ([`Authority::issue_user_token`](crate::Authority::issue_user_token)); the web
//! console checks them with [`Authority::login_user`].
//!
//! Passwords are kept only as argon2id hashes (PHC strings: parameters and a random salt with
//! the hash), a slow hash because people choose guessable passwords. Hashing and checking run
//! on the blocking pool, never inside a database transaction. An unknown username costs the
//! same check as a wrong password, so the answer's time does not tell which names exist.

use std::sync::OnceLock;

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use serde::Serialize;
use slp_store::{NewUser, StoreError, User};

use crate::domain::principal::Role;
use crate::{Authority, AuthorityError, Result, check_name, rfc3339_ts};

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted (bounds the work of one check).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    pub username: String,
    pub role: String,
    pub smart_account: String,
    pub created: String,
}

fn user_view(user: &User, account: &str) -> UserView {
    UserView {
        username: user.username.clone(),
        role: user.role.clone(),
        smart_account: account.to_owned(),
        created: rfc3339_ts(user.created_at),
    }
}

/// Refuses a password too short or too long; the message never shows it.
fn check_password(username: &str, password: &str) -> Result<()> {
    let bad = |reason: String| AuthorityError::Invalid {
        field: "password",
        value: format!("(of user {username})"),
        reason,
    };
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(bad(format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(bad(format!("must be at most {MAX_PASSWORD_BYTES} bytes")));
    }
    Ok(())
}

/// The argon2id hash of `password` with a fresh random salt, as a PHC string.
async fn hash_password(password: String) -> Result<String> {
    let hashed = tokio::task::spawn_blocking(move || {
        let salt =
            SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|err| err.to_string())?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| err.to_string())
    })
    .await
    .map_err(|err| err.to_string())
    .and_then(|hashed| hashed);
    hashed.map_err(|reason| AuthorityError::Invalid {
        field: "password",
        value: "(hidden)".to_owned(),
        reason: format!("cannot be hashed: {reason}"),
    })
}

/// A hash no password matches, checked in place of an unknown user's so that both cost alike.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).ok();
        let secret = format!("{:x}", rand::random::<u128>());
        salt.and_then(|salt| {
            Argon2::default().hash_password(secret.as_bytes(), &salt).ok().map(|h| h.to_string())
        })
        .unwrap_or_default()
    })
}

/// Whether `password` is the one `user`'s hash was made from; `None` checks against a decoy
/// (and is never right).
pub(crate) async fn password_matches(user: Option<&User>, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let known = user.is_some();
    let hash = user.map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
        })
    })
    .await
    .unwrap_or(false);
    known && matches
}

/// The refusal of a wrong username or password: names the account and username, never which
/// of the two was wrong.
pub(crate) fn wrong_login(account: &str, username: &str) -> AuthorityError {
    AuthorityError::Unauthorized {
        reason: format!(
            "wrong username or password for user {username:?} of smart account {account:?}"
        ),
    }
}

impl Authority {
    /// Adds a user to a smart account with `role`; the password is kept as an argon2id hash.
    pub async fn add_user(
        &self,
        account: &str,
        username: &str,
        role: Role,
        password: &str,
    ) -> Result<UserView> {
        let username = check_name("username", username)?;
        check_password(&username, password)?;
        let password_hash = hash_password(password.to_owned()).await?;
        let now = self.now().timestamp();
        let mut tx = self.store.begin().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        let user = tx
            .insert_user(&NewUser {
                account_id: account_row.id,
                username: username.clone(),
                password_hash,
                role: role.as_str().to_owned(),
                created_at: now,
            })
            .await
            .map_err(|err| match err {
                StoreError::Duplicate { .. } => AuthorityError::Invalid {
                    field: "username",
                    value: username.clone(),
                    reason: format!(
                        "smart account {:?} has a user of that name already",
                        account_row.domain
                    ),
                },
                other => other.into(),
            })?;
        tx.log(self.event(
            &account_row,
            None,
            format!("user {username:?} added with role {}", role.as_str()),
        ))
        .await?;
        tx.commit().await?;
        tracing::info!(account = %account_row.domain, user = %username, role = role.as_str(), "user added");
        Ok(user_view(&user, &account_row.domain))
    }

    /// The users of a smart account, by username.
    pub async fn users(&self, account: &str) -> Result<Vec<UserView>> {
        let mut tx = self.store.read().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        Ok(tx
            .users(account_row.id)
            .await?
            .iter()
            .map(|u| user_view(u, &account_row.domain))
            .collect())
    }

    /// Removes a user of a smart account; the access tokens it holds stop working at once.
    pub async fn remove_user(&self, account: &str, username: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        let user = tx.user(account_row.id, username.trim()).await?.ok_or_else(|| {
            AuthorityError::Invalid {
                field: "username",
                value: username.to_owned(),
                reason: format!("no such user in smart account {:?}", account_row.domain),
            }
        })?;
        tx.delete_user(user.id).await?;
        tx.log(self.event(&account_row, None, format!("user {:?} removed", user.username))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a new password for a user of a smart account (kept as an argon2id hash, like
    /// [`Authority::add_user`]'s). The access tokens the user holds stop working at once: a
    /// password changed because it leaked must not leave the sessions opened with it. Cisco's
    /// API has no call for this (Cisco's users change their password at Cisco's login
    /// service), so it is the operator's command only: `slp authority user passwd`.
    pub async fn set_user_password(
        &self,
        account: &str,
        username: &str,
        password: &str,
    ) -> Result<UserView> {
        let username = username.trim();
        check_password(username, password)?;
        let password_hash = hash_password(password.to_owned()).await?;
        let mut tx = self.store.begin().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        let user =
            tx.user(account_row.id, username).await?.ok_or_else(|| AuthorityError::Invalid {
                field: "username",
                value: username.to_owned(),
                reason: format!("no such user in smart account {:?}", account_row.domain),
            })?;
        tx.set_user_password(user.id, &password_hash).await?;
        tx.log(self.event(
            &account_row,
            None,
            format!("password of user {:?} changed; its access tokens revoked", user.username),
        ))
        .await?;
        tx.commit().await?;
        tracing::info!(account = %account_row.domain, user = %user.username, "user password changed");
        Ok(user_view(&user, &account_row.domain))
    }

    /// Checks a user's password (the web console's login): the user as listed, or
    /// [`AuthorityError::Unauthorized`] naming the account and username.
    pub async fn login_user(
        &self,
        account: &str,
        username: &str,
        password: &str,
    ) -> Result<UserView> {
        let (account_row, user) = {
            let mut tx = self.store.read().await?;
            let account_row = Self::resolve_account(&mut tx, account).await?;
            let user = tx.user(account_row.id, username.trim()).await?;
            (account_row, user)
        };
        if !password_matches(user.as_ref(), password).await {
            return Err(wrong_login(&account_row.domain, username.trim()));
        }
        let user = user.ok_or_else(|| wrong_login(&account_row.domain, username.trim()))?;
        Ok(user_view(&user, &account_row.domain))
    }
}
