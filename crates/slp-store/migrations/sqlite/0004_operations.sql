-- Operations: who made each change (the activity log's actor), license moves between smart
-- accounts that a licensing-operations user approves or rejects, and the claims that make a
-- scheduled job run once across replicas.
ALTER TABLE events ADD COLUMN actor TEXT;

CREATE TABLE move_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    va_id           INTEGER NOT NULL REFERENCES virtual_accounts (id),
    target_account  TEXT NOT NULL,
    target_va       TEXT NOT NULL,
    feature         TEXT NOT NULL,
    entitlement_tag TEXT NOT NULL,
    quantity        INTEGER NOT NULL,
    reason          TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    requested_at    INTEGER NOT NULL,
    status          TEXT NOT NULL,
    decided_by      TEXT,
    decided_at      INTEGER,
    decision_note   TEXT
);
CREATE INDEX move_requests_by_account ON move_requests (account_id, id);

CREATE TABLE job_runs (
    name    TEXT PRIMARY KEY,
    next_at INTEGER NOT NULL,
    last_at INTEGER,
    runner  TEXT
);
