-- The relay's own database (R/relay.db). Times are epoch seconds (UTC).

-- Preferences: one row per key (connected, account, va, authority_url, client_id, …).
CREATE TABLE prefs (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The product-instance inventory. A pull device has a host; a push device is known by its UDI
-- (added by hand, or on first push when the relay does not validate devices).
CREATE TABLE devices (
    id             INTEGER PRIMARY KEY,
    host           TEXT UNIQUE,
    udi            TEXT UNIQUE,
    hostname       TEXT,
    connect_method TEXT NOT NULL,
    username       TEXT,
    password       TEXT,
    last_contact   INTEGER,
    comm_alert     TEXT,
    unknown        INTEGER NOT NULL DEFAULT 0,
    added_at       INTEGER NOT NULL
);

-- Units of an HA set (standby, members) and the active UDI that speaks for them.
CREATE TABLE units (
    unit_udi   TEXT PRIMARY KEY,
    active_udi TEXT NOT NULL
);

-- What the relay forwards to the authority: one row per upstream request (reportusage or
-- authrequest) with the poll id the authority gave.
CREATE TABLE upstream (
    id           INTEGER PRIMARY KEY,
    action       TEXT NOT NULL,
    poll_id      TEXT NOT NULL,
    sent_at      INTEGER NOT NULL,
    completed_at INTEGER
);

-- Answers for devices: ACK, trust code, authorization code documents, from the authority
-- (connected) or from an imported file (disconnected).
CREATE TABLE answers (
    id             INTEGER PRIMARY KEY,
    udi            TEXT NOT NULL,
    xml            TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    source         TEXT NOT NULL,
    received_at    INTEGER NOT NULL,
    delivered_poll TEXT,
    delivered_at   INTEGER,
    installed_at   INTEGER,
    UNIQUE (udi, sha256)
);
CREATE INDEX answers_udi ON answers (udi);

-- Documents received from devices (pushed or pulled), kept byte for byte.
CREATE TABLE documents (
    id             INTEGER PRIMARY KEY,
    udi            TEXT NOT NULL,
    kind           TEXT NOT NULL,
    content_key    TEXT NOT NULL,
    sha256         TEXT NOT NULL UNIQUE,
    report_ids     TEXT NOT NULL,
    hostname       TEXT,
    software_tag   TEXT,
    xml            TEXT NOT NULL,
    source         TEXT NOT NULL,
    received_at    INTEGER NOT NULL,
    poll_id        TEXT NOT NULL UNIQUE,
    unverified     INTEGER NOT NULL DEFAULT 0,
    upstream_id    INTEGER REFERENCES upstream (id),
    upstream_index INTEGER,
    exported_at    INTEGER,
    answer_id      INTEGER REFERENCES answers (id),
    rejected       TEXT
);
CREATE INDEX documents_udi_key ON documents (udi, content_key);
CREATE INDEX documents_pending ON documents (answer_id, upstream_id);
