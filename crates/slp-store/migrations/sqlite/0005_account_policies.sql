-- A smart account's custom policy: in force for each of its virtual accounts that has no
-- custom policy of its own.
CREATE TABLE account_policies (
    account_id              INTEGER PRIMARY KEY REFERENCES accounts (id),
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
