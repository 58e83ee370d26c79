-- A smart account's custom policy: in force for each of its virtual accounts that has no
-- custom policy of its own.
CREATE TABLE account_policies (
    account_id              BIGINT PRIMARY KEY REFERENCES accounts (id),
    name                    TEXT NOT NULL,
    ack_required            BIGINT NOT NULL,
    perpetual_first         BIGINT NOT NULL,
    perpetual_ongoing       BIGINT NOT NULL,
    perpetual_on_change     BIGINT NOT NULL,
    subscription_first      BIGINT NOT NULL,
    subscription_ongoing    BIGINT NOT NULL,
    subscription_on_change  BIGINT NOT NULL,
    enforced_first          BIGINT NOT NULL,
    enforced_ongoing        BIGINT NOT NULL,
    enforced_on_change      BIGINT NOT NULL,
    export_first            BIGINT NOT NULL,
    export_ongoing          BIGINT NOT NULL,
    export_on_change        BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);
