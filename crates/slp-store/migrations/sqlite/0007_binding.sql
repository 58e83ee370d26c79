-- Who may bind a UDI to a device key. `first_contact` is the virtual account's rule for a UDI
-- never seen before: 'allow' binds it to the first key that proves possession (trust on first
-- use), 'deny' only with an ID token of the virtual account or an operator's grant.
-- `bind_grants` are the operator's grants: key `key_id` may bind UDI `udi` in the virtual
-- account once (a replacement device, or an approved first contact); `used_at` is set when it
-- does.
ALTER TABLE virtual_accounts ADD COLUMN first_contact TEXT NOT NULL DEFAULT 'allow'
    CHECK (first_contact IN ('allow', 'deny'));

CREATE TABLE bind_grants (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    va_id      INTEGER NOT NULL REFERENCES virtual_accounts (id),
    udi        TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX bind_grants_by_udi ON bind_grants (va_id, udi);
