-- A UDI is scoped to its smart account: what one smart account's clients upload never
-- affects, blocks or reveals another's product instances. `udis` and `product_instances`
-- are unique per (smart account, UDI), so reports, keyed by (UDI id, report id), are unique
-- per smart account too. SQLite cannot drop a UNIQUE constraint, so both tables are rebuilt
-- (the runner turns foreign keys off for this migration and checks them before committing).

-- Each UDI keeps its id in the smart account of its oldest report; its reports in any other
-- smart account (a device removed there and registered here) get an id of that account.
CREATE TABLE udis_scoped (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    udi        TEXT NOT NULL,
    UNIQUE (account_id, udi)
);
INSERT INTO udis_scoped (id, account_id, udi)
SELECT u.id,
       (SELECT va.account_id FROM reports r JOIN virtual_accounts va ON va.id = r.va_id
        WHERE r.udi_id = u.id ORDER BY r.id LIMIT 1),
       u.udi
FROM udis u
WHERE EXISTS (SELECT 1 FROM reports r WHERE r.udi_id = u.id)
ORDER BY u.id;
INSERT INTO udis_scoped (account_id, udi)
SELECT DISTINCT va.account_id, u.udi
FROM reports r JOIN virtual_accounts va ON va.id = r.va_id JOIN udis u ON u.id = r.udi_id
WHERE NOT EXISTS (SELECT 1 FROM udis_scoped s WHERE s.account_id = va.account_id AND s.udi = u.udi)
ORDER BY va.account_id, u.udi;
UPDATE reports
SET udi_id = (SELECT s.id FROM udis_scoped s, udis u, virtual_accounts va
              WHERE u.id = reports.udi_id AND va.id = reports.va_id
                AND s.account_id = va.account_id AND s.udi = u.udi)
WHERE (SELECT va.account_id FROM virtual_accounts va WHERE va.id = reports.va_id)
   <> (SELECT s.account_id FROM udis_scoped s WHERE s.id = reports.udi_id);
DROP TABLE udis;
ALTER TABLE udis_scoped RENAME TO udis;

CREATE TABLE product_instances_scoped (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    va_id        INTEGER NOT NULL REFERENCES virtual_accounts (id),
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    udi          TEXT NOT NULL,
    hostname     TEXT,
    public_key   TEXT NOT NULL,
    trust_id     INTEGER,
    trusted_at   INTEGER,
    first_seen   INTEGER NOT NULL,
    last_contact INTEGER NOT NULL,
    UNIQUE (account_id, udi)
);
INSERT INTO product_instances_scoped
    (id, va_id, account_id, udi, hostname, public_key, trust_id, trusted_at, first_seen, last_contact)
SELECT p.id, p.va_id, va.account_id, p.udi, p.hostname, p.public_key, p.trust_id, p.trusted_at,
       p.first_seen, p.last_contact
FROM product_instances p JOIN virtual_accounts va ON va.id = p.va_id
ORDER BY p.id;
-- Ids of removed instances are not handed out again.
DELETE FROM sqlite_sequence WHERE name = 'product_instances_scoped';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'product_instances_scoped',
       MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'product_instances'), 0),
           COALESCE((SELECT MAX(id) FROM product_instances_scoped), 0));
DROP TABLE product_instances;
ALTER TABLE product_instances_scoped RENAME TO product_instances;
CREATE INDEX product_instances_by_va ON product_instances (va_id);
