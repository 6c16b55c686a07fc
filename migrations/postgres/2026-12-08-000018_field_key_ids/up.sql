-- The key id of each encrypted value (`v1:<kid>:…`), kept by the database
-- and indexed with the row id, so start-up and `backend keys status` find
-- which key ids hold rows, and the first and last row under each, with a
-- few index seeks however large the table (services/field_keys.rs).
-- NULL for a value not in the `v1` format.
-- STORED (PostgreSQL has no virtual generated columns before 18): adding
-- it rewrites the two tables once, under a lock.
ALTER TABLE user_mfa ADD COLUMN field_key_id TEXT GENERATED ALWAYS AS (
    CASE WHEN substr(secret, 1, 3) = 'v1:' AND strpos(substr(secret, 4), ':') > 1
        THEN substr(secret, 4, strpos(substr(secret, 4), ':') - 1) END) STORED;
CREATE INDEX user_mfa_field_key_id ON user_mfa (field_key_id, user_id);
ALTER TABLE user_ssn ADD COLUMN field_key_id TEXT GENERATED ALWAYS AS (
    CASE WHEN substr(ciphertext, 1, 3) = 'v1:' AND strpos(substr(ciphertext, 4), ':') > 1
        THEN substr(ciphertext, 4, strpos(substr(ciphertext, 4), ':') - 1) END) STORED;
CREATE INDEX user_ssn_field_key_id ON user_ssn (field_key_id, user_id);
