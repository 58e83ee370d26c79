//! API clients: OAuth2 client credentials per smart account, and the bearer access tokens they
//! get from `POST /oauth2/token`.
//!
//! Only SHA-256 digests of client secrets and access tokens are stored (both are 256 random
//! bits, so a fast digest is enough). Access tokens live in the database with their expiry
//! (from the [`slp_clock::Clock`]), so they survive a restart and every replica on one
//! database accepts them.

use serde::Serialize;
use slp_store::{ApiClient, NewApiClient};
use slp_wire::cssm::oauth::TokenReply;

use crate::{Authority, AuthorityError, Result, check_name, rfc3339_ts};

/// Seconds an access token is valid (`expires_in`).
pub const TOKEN_LIFETIME_SECS: i64 = 3600;

pub use super::principal::{Principal, Role, Scope};

/// A new client's credentials; the secret is shown only this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}

/// An API client as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub role: String,
    pub smart_account: String,
    pub created: String,
    /// `Active` or `Revoked`.
    pub status: String,
}

/// The reply of `POST /oauth2/token` (the contract's [`TokenReply`]).
pub type AccessToken = TokenReply;

/// Why a token request was refused, as the token endpoint names it (RFC 6749 §5.2).
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// The client id or secret is wrong, or the client is revoked (`invalid_client`).
    #[error("{0}")]
    InvalidClient(String),
    /// The user's username or password is wrong (`invalid_grant`).
    #[error("{0}")]
    InvalidGrant(String),
    /// Anything else (the database).
    #[error(transparent)]
    Other(#[from] AuthorityError),
}

impl From<slp_store::StoreError> for GrantError {
    fn from(err: slp_store::StoreError) -> GrantError {
        GrantError::Other(err.into())
    }
}

pub(crate) fn digest(text: &str) -> String {
    slp_core::text::sha256_hex(text.as_bytes())
}

/// Compares two digests without an early exit.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 256 random bits as 64 lowercase hex digits: safe in a shell, a form body and a command-line
/// argument (a base64url secret may start with `-`, which argument parsers take for a flag).
fn random_secret() -> String {
    slp_core::text::hex(&rand::random::<[u8; 32]>())
}

fn client_view(client: &ApiClient, account: &str) -> ClientView {
    ClientView {
        client_id: client.client_id.clone(),
        name: client.name.clone(),
        role: client.role.clone(),
        smart_account: account.to_owned(),
        created: rfc3339_ts(client.created_at),
        status: if client.revoked_at.is_some() { "Revoked" } else { "Active" }.to_owned(),
    }
}

impl Authority {
    /// Creates an API client of a smart account; returns its credentials (the secret is not
    /// kept, only its digest) and its row.
    pub async fn create_client(
        &self,
        account: &str,
        name: &str,
        role: Role,
    ) -> Result<(ClientCredentials, ClientView)> {
        let name = check_name("API client name", name)?;
        let now = self.now().timestamp();
        let credentials = ClientCredentials {
            client_id: format!("slp-{}", uuid::Uuid::new_v4().simple()),
            client_secret: random_secret(),
        };
        let mut tx = self.store.begin().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        let client = tx
            .insert_client(&NewApiClient {
                client_id: credentials.client_id.clone(),
                secret_hash: digest(&credentials.client_secret),
                account_id: account_row.id,
                name: name.clone(),
                role: role.as_str().to_owned(),
                created_at: now,
            })
            .await?;
        tx.log(self.event(
            &account_row,
            None,
            format!(
                "API client {name:?} ({}) created with role {}",
                client.client_id,
                role.as_str()
            ),
        ))
        .await?;
        tx.commit().await?;
        tracing::info!(account = %account_row.domain, client = %name, role = role.as_str(), "API client created");
        Ok((credentials, client_view(&client, &account_row.domain)))
    }

    /// The API clients of a smart account.
    pub async fn clients(&self, account: &str) -> Result<Vec<ClientView>> {
        let mut tx = self.store.read().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        Ok(tx
            .clients(account_row.id)
            .await?
            .iter()
            .map(|c| client_view(c, &account_row.domain))
            .collect())
    }

    /// Revokes an API client: its secret and every token it holds stop working at once.
    pub async fn revoke_client(&self, account: &str, client_id: &str) -> Result<()> {
        let now = self.now().timestamp();
        let mut tx = self.store.begin().await?;
        let account_row = Self::resolve_account(&mut tx, account).await?;
        let client = tx
            .client_by_client_id(client_id.trim())
            .await?
            .filter(|c| c.account_id == account_row.id)
            .ok_or_else(|| AuthorityError::Invalid {
                field: "client id",
                value: client_id.to_owned(),
                reason: format!("no such API client in smart account {:?}", account_row.domain),
            })?;
        tx.revoke_client(client.id, now).await?;
        tx.log(self.event(
            &account_row,
            None,
            format!("API client {:?} ({}) revoked", client.name, client.client_id),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// OAuth2 client-credentials grant: checks the client and issues an access token valid
    /// for [`TOKEN_LIFETIME_SECS`].
    pub async fn issue_token(&self, client_id: &str, client_secret: &str) -> Result<AccessToken> {
        let now = self.now().timestamp();
        let refused = || AuthorityError::Unauthorized {
            reason: "invalid client credentials: unknown client_id or wrong client_secret"
                .to_owned(),
        };
        let mut tx = self.store.begin().await?;
        let client = tx.client_by_client_id(client_id.trim()).await?.ok_or_else(refused)?;
        if !same(&client.secret_hash, &digest(client_secret)) {
            return Err(refused());
        }
        if client.revoked_at.is_some() {
            return Err(AuthorityError::Unauthorized {
                reason: format!("API client {:?} has been revoked", client.name),
            });
        }
        let token = random_secret();
        tx.purge_api_tokens(now).await?;
        tx.insert_api_token(&digest(&token), client.id, now, now + TOKEN_LIFETIME_SECS).await?;
        tx.commit().await?;
        tracing::debug!(client = %client.name, "access token issued");
        Ok(bearer(token))
    }

    /// OAuth2 password grant (RFC 6749 §4.3): API client `client_id` (checked with its secret
    /// when one is given) logs in user `username` of its smart account; the access token acts
    /// with the user's role. A wrong client is [`GrantError::InvalidClient`], a wrong username
    /// or password [`GrantError::InvalidGrant`] (naming the account and username).
    pub async fn issue_user_token(
        &self,
        client_id: &str,
        client_secret: Option<&str>,
        username: &str,
        password: &str,
    ) -> Result<AccessToken, GrantError> {
        let username = username.trim();
        let (client, account, user) = {
            let mut tx = self.store.read().await?;
            let client = tx.client_by_client_id(client_id.trim()).await?.ok_or_else(|| {
                GrantError::InvalidClient(format!("unknown client_id {:?}", client_id.trim()))
            })?;
            if client_secret.is_some_and(|secret| !same(&client.secret_hash, &digest(secret))) {
                return Err(GrantError::InvalidClient(format!(
                    "wrong client_secret for client_id {:?}",
                    client.client_id
                )));
            }
            if client.revoked_at.is_some() {
                return Err(GrantError::InvalidClient(format!(
                    "API client {:?} has been revoked",
                    client.name
                )));
            }
            let account = tx.account(client.account_id).await?.ok_or_else(|| {
                GrantError::InvalidClient(format!(
                    "the smart account of API client {:?} is gone",
                    client.name
                ))
            })?;
            let user = tx.user(account.id, username).await?;
            (client, account, user)
        };
        // Checked outside any transaction: the slow hash must not hold the write lock.
        if !crate::domain::users::password_matches(user.as_ref(), password).await {
            return Err(GrantError::InvalidGrant(
                crate::domain::users::wrong_login(&account.domain, username).to_string(),
            ));
        }
        let user = user.ok_or_else(|| {
            GrantError::InvalidGrant(
                crate::domain::users::wrong_login(&account.domain, username).to_string(),
            )
        })?;
        let now = self.now().timestamp();
        let token = random_secret();
        let mut tx = self.store.begin().await?;
        tx.purge_api_tokens(now).await?;
        tx.insert_user_token(&digest(&token), client.id, user.id, now, now + TOKEN_LIFETIME_SECS)
            .await?;
        tx.commit().await?;
        tracing::debug!(client = %client.name, user = %user.username, "access token issued to a user");
        Ok(bearer(token))
    }

    /// The client a bearer access token was issued to, if the token is valid now.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal> {
        let now = self.now().timestamp();
        let mut tx = self.store.read().await?;
        let token = tx.api_token(&digest(access_token.trim())).await?.ok_or_else(|| {
            AuthorityError::Unauthorized {
                reason: "the access token is not valid: get one from POST /oauth2/token".to_owned(),
            }
        })?;
        if now >= token.expires_at {
            return Err(AuthorityError::Unauthorized {
                reason: format!(
                    "the access token expired at {}: get a new one from POST /oauth2/token",
                    rfc3339_ts(token.expires_at)
                ),
            });
        }
        let client = token.client;
        if client.revoked_at.is_some() {
            return Err(AuthorityError::Unauthorized {
                reason: format!("API client {:?} has been revoked", client.name),
            });
        }
        let role = match &token.user {
            Some(user) => Role::parse(&user.role).ok_or_else(|| AuthorityError::Unauthorized {
                reason: format!("user {:?} has an unknown role {:?}", user.username, user.role),
            })?,
            None => Role::parse(&client.role).ok_or_else(|| AuthorityError::Unauthorized {
                reason: format!(
                    "API client {:?} has an unknown role {:?}",
                    client.name, client.role
                ),
            })?,
        };
        let account =
            tx.account(client.account_id).await?.ok_or_else(|| AuthorityError::Unauthorized {
                reason: format!("the smart account of API client {:?} is gone", client.name),
            })?;
        Ok(Principal {
            client_id: client.client_id,
            name: client.name,
            user: token.user.map(|u| u.username),
            role,
            account_id: account.id,
            account_domain: account.domain,
            account_name: account.name,
        })
    }
}

fn bearer(access_token: String) -> AccessToken {
    TokenReply { access_token, token_type: "Bearer".to_owned(), expires_in: TOKEN_LIFETIME_SECS }
}

#[cfg(test)]
mod tests {
    use super::random_secret;

    #[test]
    fn secrets_are_hex_and_never_look_like_flags() {
        for _ in 0..500 {
            let secret = random_secret();
            assert_eq!(secret.len(), 64);
            assert!(
                secret.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                "{secret}"
            );
        }
    }
}
