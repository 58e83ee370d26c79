-- A virtual account's description, as Cisco's "create virtual account" call gives it
-- (`{"name", "description", …}`) and virtual-account lists show it.
ALTER TABLE virtual_accounts ADD COLUMN description TEXT NOT NULL DEFAULT '';
