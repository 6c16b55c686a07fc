-- TOTP multi-factor authentication.
-- The secret is stored only encrypted (AES-256-GCM, bound to table, column and
-- user id); last_used_step makes each code usable once.
CREATE TABLE user_mfa (
    user_id        TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret         TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    enabled_at     TIMESTAMP,
    last_used_step BIGINT
);

-- Single-use recovery codes, stored as HMACs.
CREATE TABLE recovery_codes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX recovery_codes_user_id ON recovery_codes (user_id);

-- A password that was right, waiting for its second factor. The token is
-- short-lived, single-use, and allows a few attempts.
CREATE TABLE mfa_challenges (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    used_at         TIMESTAMP,
    failed_attempts INTEGER NOT NULL DEFAULT 0
);

-- When this session last proved the second factor (login or step-up).
ALTER TABLE sessions ADD COLUMN mfa_verified_at TIMESTAMP;
