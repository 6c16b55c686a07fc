-- Accounts, their roles and their server-side sessions.
CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
-- Usernames are unique regardless of case, so "Alice" cannot impersonate "alice".
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));
CREATE UNIQUE INDEX users_email ON users (email);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL CHECK (role IN ('admin', 'auditor', 'user')),
    PRIMARY KEY (user_id, role)
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    -- HMAC-SHA-256 of the cookie value under SESSION_KEY; the token itself is never stored.
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP,
    client_ip    TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_user_id ON sessions (user_id);
