-- KEY_PROVIDER=pkcs11: the field data keys (what FIELD_KEYS holds in files
-- mode), stored only wrapped — AES-256-GCM under a key-encryption key that
-- never leaves the HSM, named by its label. The server unwraps them through
-- the HSM at start; the newest is the current one. Unused in files mode.
CREATE TABLE field_data_keys (
    key_id     TEXT PRIMARY KEY NOT NULL,
    kek_label  TEXT NOT NULL,
    wrapped    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
