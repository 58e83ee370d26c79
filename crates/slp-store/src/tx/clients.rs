//! OAuth2 API clients of smart accounts and the access tokens issued to them (only SHA-256
//! digests of secrets and tokens are stored).

use crate::records::*;
use crate::sql::{db, unique};
use crate::{Result, Tx};

const CLIENT: &str = "SELECT id, client_id, secret_hash, account_id, name, role, created_at, \
     revoked_at FROM api_clients";

impl Tx {
    pub async fn insert_client(&mut self, new: &NewApiClient) -> Result<ApiClient> {
        let (id,): (i64,) = self
            .guarded_fetch_one(
                sqlx::query_as(
                    "INSERT INTO api_clients (client_id, secret_hash, account_id, name, role, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(&new.client_id)
                .bind(&new.secret_hash)
                .bind(new.account_id)
                .bind(&new.name)
                .bind(&new.role)
                .bind(new.created_at),
            )
            .await
            .map_err(unique("creating an API client", "API client", &new.name))?;
        Ok(ApiClient {
            id,
            client_id: new.client_id.clone(),
            secret_hash: new.secret_hash.clone(),
            account_id: new.account_id,
            name: new.name.clone(),
            role: new.role.clone(),
            created_at: new.created_at,
            revoked_at: None,
        })
    }

    pub async fn client_by_client_id(&mut self, client_id: &str) -> Result<Option<ApiClient>> {
        sqlx::query_as(&format!("{CLIENT} WHERE client_id = $1"))
            .bind(client_id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("finding an API client"))
    }

    /// The API clients of a smart account, revoked ones included.
    pub async fn clients(&mut self, account_id: i64) -> Result<Vec<ApiClient>> {
        sqlx::query_as(&format!("{CLIENT} WHERE account_id = $1 ORDER BY name"))
            .bind(account_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing API clients"))
    }

    /// Revokes a client and drops its access tokens.
    pub async fn revoke_client(&mut self, id: i64, now: i64) -> Result<()> {
        sqlx::query("UPDATE api_clients SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("revoking an API client"))?;
        sqlx::query("DELETE FROM api_tokens WHERE client = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("revoking an API client"))?;
        Ok(())
    }

    /// Records an access token issued to the client with row id `client`.
    pub async fn insert_api_token(
        &mut self,
        token_hash: &str,
        client: i64,
        issued_at: i64,
        expires_at: i64,
    ) -> Result<()> {
        self.guarded_execute(
            sqlx::query(
                "INSERT INTO api_tokens (token_hash, client, issued_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(client)
            .bind(issued_at)
            .bind(expires_at),
        )
        .await
        .map_err(unique("issuing an access token", "access token", "(digest)"))?;
        Ok(())
    }

    /// The access token with this digest and its client, if it was issued (expired or not).
    pub async fn api_token(&mut self, token_hash: &str) -> Result<Option<ApiToken>> {
        let token: Option<ApiToken> = sqlx::query_as(
            "SELECT t.token_hash, t.issued_at, t.expires_at, t.user_id, c.id, c.client_id, \
             c.secret_hash, c.account_id, c.name, c.role, c.created_at, c.revoked_at \
             FROM api_tokens t JOIN api_clients c ON c.id = t.client WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db("finding an access token"))?;
        let Some(mut token) = token else { return Ok(None) };
        if let Some(id) = token.user_id {
            token.user = self.user_by_id(id).await?;
        }
        Ok(Some(token))
    }

    /// Deletes access tokens that expired before `before`; how many.
    pub async fn purge_api_tokens(&mut self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE expires_at < $1")
            .bind(before)
            .execute(&mut *self.tx)
            .await
            .map_err(db("purging expired access tokens"))?;
        Ok(done.rows_affected())
    }
}
