-- ID tokens: a device presents one to establish trust directly with the authority.
-- Only a SHA-256 of the token is kept.
CREATE TABLE id_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    va_id       INTEGER NOT NULL REFERENCES virtual_accounts (id),
    token_hash  TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    max_uses    INTEGER,
    uses        INTEGER NOT NULL DEFAULT 0,
    revoked_at  INTEGER
);
