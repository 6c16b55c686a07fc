-- A user's US Social Security number, only ever stored encrypted
-- (AES-256-GCM, bound to user_ssn/ciphertext/<user_id>, key from the secret
-- provider). No plaintext, no partial plaintext: the masked form is computed
-- from the decrypted value when it is shown.
CREATE TABLE user_ssn (
    user_id    TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ciphertext TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
