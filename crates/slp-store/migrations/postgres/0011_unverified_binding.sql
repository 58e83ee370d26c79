-- An unverified binding: a UDI first seen in reports slp cannot verify (Cisco's `builtin`
-- signing, or an Ed25519 key id the authority was never shown), accepted because its virtual
-- account allows first contact. Such a product instance has no device key (`public_key` is
-- empty) and `key_seen` records what its reports named: `builtin:<key>` or `ed25519:<key id>`.
-- A verified key (system information or a trust request) replaces it and clears `key_seen`.
ALTER TABLE product_instances ADD COLUMN key_seen TEXT;
