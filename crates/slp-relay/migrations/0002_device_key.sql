-- The device key a UDI is bound to: the key of its first signed document (trust on first use).
-- A document of that UDI signed by another key is refused until the operator re-binds it
-- (`slp relay pi rebind --udi UDI`), so one device's answers are never handed to another key.
ALTER TABLE devices ADD COLUMN device_key TEXT;
-- The device key that signed a stored document (NULL: it had no system information); a poll on
-- a document of another key than the UDI's bound one gets nothing.
ALTER TABLE documents ADD COLUMN device_key TEXT;
