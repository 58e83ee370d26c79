//! Users of a smart account: a username, a role and a password hash (the authority hashes;
//! the store keeps the PHC string it is given). Unique per (smart account, username). A user
//! logs in through an API client (the OAuth2 password grant) and gets an access token that
//! names both; removing a user drops its access tokens.

use crate::sql::{db, unique};
use crate::{Result, Tx};

/// A user of one smart account.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub account_id: i64,
    pub username: String,
    /// A PHC string (`$argon2id$v=19$…`): algorithm, parameters, salt and hash.
    pub password_hash: String,
    /// `admin`, `reporter` or `viewer`.
    pub role: String,
    pub created_at: i64,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub account_id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
}

const USER: &str = "SELECT id, account_id, username, password_hash, role, created_at FROM users";

impl Tx {
    /// Creates a user; [`crate::StoreError::Duplicate`] when the smart account has one of that
    /// name.
    pub async fn insert_user(&mut self, new: &NewUser) -> Result<User> {
        let (id,): (i64,) = self
            .guarded_fetch_one(
                sqlx::query_as(
                    "INSERT INTO users (account_id, username, password_hash, role, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(new.account_id)
                .bind(&new.username)
                .bind(&new.password_hash)
                .bind(&new.role)
                .bind(new.created_at),
            )
            .await
            .map_err(unique("creating a user", "user", &new.username))?;
        Ok(User {
            id,
            account_id: new.account_id,
            username: new.username.clone(),
            password_hash: new.password_hash.clone(),
            role: new.role.clone(),
            created_at: new.created_at,
        })
    }

    /// The user `username` of a smart account.
    pub async fn user(&mut self, account_id: i64, username: &str) -> Result<Option<User>> {
        sqlx::query_as(&format!("{USER} WHERE account_id = $1 AND username = $2"))
            .bind(account_id)
            .bind(username)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("finding a user"))
    }

    /// The users of a smart account, by username.
    pub async fn users(&mut self, account_id: i64) -> Result<Vec<User>> {
        sqlx::query_as(&format!("{USER} WHERE account_id = $1 ORDER BY username"))
            .bind(account_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db("listing users"))
    }

    /// The user with row id `id` (the user an access token acts for).
    pub(crate) async fn user_by_id(&mut self, id: i64) -> Result<Option<User>> {
        sqlx::query_as(&format!("{USER} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db("finding the user of an access token"))
    }

    /// Replaces the password hash of the user with row id `id` and drops its access tokens
    /// (a changed password ends the sessions of the old one); whether the user was there.
    pub async fn set_user_password(&mut self, id: i64, password_hash: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("changing a user's password"))?;
        sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("changing a user's password"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a user and its access tokens; whether it was there.
    pub async fn delete_user(&mut self, id: i64) -> Result<bool> {
        sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("removing a user"))?;
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db("removing a user"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Records an access token issued through the client with row id `client` to the user
    /// with row id `user`.
    pub async fn insert_user_token(
        &mut self,
        token_hash: &str,
        client: i64,
        user: i64,
        issued_at: i64,
        expires_at: i64,
    ) -> Result<()> {
        self.guarded_execute(
            sqlx::query(
                "INSERT INTO api_tokens (token_hash, client, user_id, issued_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(client)
            .bind(user)
            .bind(issued_at)
            .bind(expires_at),
        )
        .await
        .map_err(unique("issuing an access token", "access token", "(digest)"))?;
        Ok(())
    }
}
