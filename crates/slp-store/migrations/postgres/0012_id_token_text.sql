-- ID tokens as Cisco's token list shows them (`tokens[{token, exportControlled, createdBy, …}]`).
-- `token_text` is the token itself, sealed by the authority (ChaCha20-Poly1305, bound to the
-- row's `token_hash`) with a key derived from a secret kept outside the database (the token
-- key file); lookups still go by `token_hash`. Tokens created before this migration, or while
-- the authority had no token key, have none: lists show their `token` as null.
ALTER TABLE id_tokens ADD COLUMN token_text TEXT;
-- Who created the token (`cli:alice`, `api:ops (…)`), backfilled from the activity log.
ALTER TABLE id_tokens ADD COLUMN created_by TEXT;
-- `Allowed` or `Not Allowed`, as the create call gave it (older tokens: `Allowed`).
ALTER TABLE id_tokens ADD COLUMN export_controlled TEXT NOT NULL DEFAULT 'Allowed';
UPDATE id_tokens SET created_by = (
    SELECT e.actor FROM events e
    WHERE e.va_id = id_tokens.va_id AND e.message LIKE 'ID token ' || id_tokens.id || ' created (%'
    ORDER BY e.id LIMIT 1
);
