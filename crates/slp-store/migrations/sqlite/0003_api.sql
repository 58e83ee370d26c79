-- The authority's REST API: OAuth2 client credentials, their access tokens, and the results
-- of reportusage/authrequest requests that clients poll for. Secrets and tokens are kept only
-- as SHA-256 digests.
CREATE TABLE api_clients (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id   TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    UNIQUE (account_id, name)
);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    client     INTEGER NOT NULL REFERENCES api_clients (id),
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX api_tokens_by_expiry ON api_tokens (expires_at);

CREATE TABLE polls (
    poll_id        INTEGER PRIMARY KEY,
    va_id          INTEGER NOT NULL REFERENCES virtual_accounts (id),
    action         TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    result         TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX polls_by_va ON polls (va_id);
