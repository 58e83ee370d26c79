-- slp authority store, SQLite. Timestamps are Unix seconds (UTC).
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    domain     TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE virtual_accounts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE licenses (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    va_id           INTEGER NOT NULL REFERENCES virtual_accounts (id),
    feature         TEXT NOT NULL,
    entitlement_tag TEXT NOT NULL,
    sku             TEXT NOT NULL,
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    term            TEXT NOT NULL,
    enforcement     TEXT NOT NULL,
    starts_at       INTEGER NOT NULL,
    expires_at      INTEGER,
    added_at        INTEGER NOT NULL
);
CREATE INDEX licenses_by_va ON licenses (va_id, entitlement_tag);

CREATE TABLE product_instances (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    va_id        INTEGER NOT NULL REFERENCES virtual_accounts (id),
    udi          TEXT NOT NULL UNIQUE,
    hostname     TEXT,
    public_key   TEXT NOT NULL,
    trust_id     INTEGER,
    trusted_at   INTEGER,
    first_seen   INTEGER NOT NULL,
    last_contact INTEGER NOT NULL
);
CREATE INDEX product_instances_by_va ON product_instances (va_id);

CREATE TABLE usage (
    pi_id           INTEGER NOT NULL REFERENCES product_instances (id),
    entitlement_tag TEXT NOT NULL,
    feature         TEXT NOT NULL,
    count           INTEGER NOT NULL,
    as_of           INTEGER NOT NULL,
    report_id       INTEGER NOT NULL,
    PRIMARY KEY (pi_id, entitlement_tag)
);

CREATE TABLE reports (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    va_id           INTEGER NOT NULL REFERENCES virtual_accounts (id),
    udi             TEXT NOT NULL,
    report_id       INTEGER NOT NULL,
    entitlement_tag TEXT NOT NULL,
    count           INTEGER NOT NULL,
    end_time        INTEGER NOT NULL,
    status          TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    envelope        TEXT NOT NULL,
    UNIQUE (udi, report_id)
);

CREATE TABLE uploads (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    va_id        INTEGER NOT NULL REFERENCES virtual_accounts (id),
    file_name    TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    uploaded_at  INTEGER NOT NULL,
    status       TEXT NOT NULL,
    pi_count     INTEGER NOT NULL,
    report_count INTEGER NOT NULL,
    ack          TEXT NOT NULL,
    UNIQUE (va_id, sha256)
);

CREATE TABLE authorizations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    code_id         TEXT NOT NULL,
    va_id           INTEGER NOT NULL REFERENCES virtual_accounts (id),
    udi             TEXT NOT NULL,
    entitlement_tag TEXT NOT NULL,
    feature         TEXT NOT NULL,
    count           INTEGER NOT NULL CHECK (count > 0),
    issued_at       INTEGER NOT NULL,
    returned_at     INTEGER,
    return_code     TEXT,
    UNIQUE (code_id, entitlement_tag)
);
CREATE INDEX authorizations_by_va ON authorizations (va_id, entitlement_tag);
CREATE INDEX authorizations_by_udi ON authorizations (udi);

CREATE TABLE policies (
    va_id                   INTEGER PRIMARY KEY REFERENCES virtual_accounts (id),
    name                    TEXT NOT NULL,
    ack_required            INTEGER NOT NULL,
    perpetual_first         INTEGER NOT NULL,
    perpetual_ongoing       INTEGER NOT NULL,
    perpetual_on_change     INTEGER NOT NULL,
    subscription_first      INTEGER NOT NULL,
    subscription_ongoing    INTEGER NOT NULL,
    subscription_on_change  INTEGER NOT NULL,
    enforced_first          INTEGER NOT NULL,
    enforced_ongoing        INTEGER NOT NULL,
    enforced_on_change      INTEGER NOT NULL,
    export_first            INTEGER NOT NULL,
    export_ongoing          INTEGER NOT NULL,
    export_on_change        INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    account_id INTEGER,
    va_id      INTEGER,
    udi        TEXT,
    message    TEXT NOT NULL
);
CREATE INDEX events_by_va ON events (va_id, id);
