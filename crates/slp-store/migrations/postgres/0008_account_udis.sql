-- A UDI is scoped to its smart account: what one smart account's clients upload never
-- affects, blocks or reveals another's product instances. `udis` and `product_instances`
-- are unique per (smart account, UDI), so reports, keyed by (UDI id, report id), are unique
-- per smart account too.

-- Each UDI keeps its id in the smart account of its oldest report; its reports in any other
-- smart account (a device removed there and registered here) get an id of that account.
ALTER TABLE udis ADD COLUMN account_id BIGINT REFERENCES accounts (id);
UPDATE udis u SET account_id = (
    SELECT va.account_id FROM reports r JOIN virtual_accounts va ON va.id = r.va_id
    WHERE r.udi_id = u.id ORDER BY r.id LIMIT 1);
DELETE FROM udis WHERE account_id IS NULL;
ALTER TABLE udis ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE udis DROP CONSTRAINT udis_udi_key;
INSERT INTO udis (account_id, udi)
SELECT DISTINCT va.account_id, u.udi
FROM reports r JOIN virtual_accounts va ON va.id = r.va_id JOIN udis u ON u.id = r.udi_id
WHERE va.account_id <> u.account_id
ORDER BY va.account_id, u.udi;
UPDATE reports r SET udi_id = s.id
FROM udis u, virtual_accounts va, udis s
WHERE u.id = r.udi_id AND va.id = r.va_id AND va.account_id <> u.account_id
  AND s.account_id = va.account_id AND s.udi = u.udi;
ALTER TABLE udis ADD CONSTRAINT udis_account_id_udi_key UNIQUE (account_id, udi);

ALTER TABLE product_instances ADD COLUMN account_id BIGINT REFERENCES accounts (id);
UPDATE product_instances p SET account_id = va.account_id
FROM virtual_accounts va WHERE va.id = p.va_id;
ALTER TABLE product_instances ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE product_instances DROP CONSTRAINT product_instances_udi_key;
ALTER TABLE product_instances
    ADD CONSTRAINT product_instances_account_id_udi_key UNIQUE (account_id, udi);
