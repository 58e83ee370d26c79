-- Reports are keyed by an integer id of their UDI instead of the UDI text. Every ingested
-- report is looked up in, and inserted into, the unique index of that key: on integers it
-- is a fraction of the size, and an ingest writes a fraction of the pages to the log. The
-- text of each UDI is stored once, in `udis`, whose rows are never deleted (a product
-- instance removed and registered again keeps its reports' UDI id).
CREATE TABLE udis (
    id  INTEGER PRIMARY KEY,
    udi TEXT NOT NULL UNIQUE
);
INSERT INTO udis (udi) SELECT DISTINCT udi FROM reports ORDER BY udi;

CREATE TABLE reports_by_udi_id (
    id              INTEGER PRIMARY KEY,
    va_id           INTEGER NOT NULL REFERENCES virtual_accounts (id),
    udi_id          INTEGER NOT NULL REFERENCES udis (id),
    report_id       INTEGER NOT NULL,
    entitlement_tag TEXT NOT NULL,
    count           INTEGER NOT NULL,
    end_time        INTEGER NOT NULL,
    status          TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    envelope        TEXT NOT NULL,
    UNIQUE (udi_id, report_id)
);
INSERT INTO reports_by_udi_id
    (id, va_id, udi_id, report_id, entitlement_tag, count, end_time, status, received_at, envelope)
SELECT r.id, r.va_id, u.id, r.report_id, r.entitlement_tag, r.count, r.end_time, r.status,
       r.received_at, r.envelope
FROM reports r JOIN udis u ON u.udi = r.udi
ORDER BY r.id;
DROP TABLE reports;
ALTER TABLE reports_by_udi_id RENAME TO reports;
