-- Users of a smart account: a username, a role (admin, reporter or viewer, as API clients) and
-- an argon2id hash of the password (a PHC string: salt and parameters with it). They log in
-- with the OAuth2 password grant through an API client, and to the web console. Access tokens
-- issued to a user name the user as well as the client.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (account_id, username)
);

ALTER TABLE api_tokens ADD COLUMN user_id INTEGER REFERENCES users (id);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
