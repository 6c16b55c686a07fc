-- Each user's data key (DEK), only ever stored wrapped by the field keys:
-- `wrapped` is a `v1:<kid>:…` value (AES-256-GCM, bound to
-- user_data_keys/wrapped/<user_id>). The user's encrypted fields are `v2:…`
-- values under it (security/user_keys.rs). Deleting a row crypto-shreds
-- that user's fields: nothing else can decrypt them.
-- `kek_id`, the field key id that wraps the DEK, is generated from
-- `wrapped` like `field_key_id` of the encrypted columns (migration
-- 000018) and indexed with the user id, so start-up and `keys status` find
-- the first and last key under each field key with index seeks.
CREATE TABLE user_data_keys (
    user_id    TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    wrapped    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    kek_id     TEXT GENERATED ALWAYS AS (
        CASE WHEN substr(wrapped, 1, 3) = 'v1:' AND strpos(substr(wrapped, 4), ':') > 1
            THEN substr(wrapped, 4, strpos(substr(wrapped, 4), ':') - 1) END) STORED
);
CREATE INDEX user_data_keys_kek_id ON user_data_keys (kek_id, user_id);
