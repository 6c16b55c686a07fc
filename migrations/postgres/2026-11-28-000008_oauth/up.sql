-- OAuth 2.0 authorization server: registered clients and the single-use
-- authorization codes issued to them (authorization code flow with PKCE).
CREATE TABLE oauth_clients (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    -- HMAC-SHA-256 of the client secret under SESSION_KEY; NULL for a
    -- public client (no secret, PKCE only).
    secret_hash   TEXT,
    -- The registered redirect URIs, one per line, matched exactly.
    redirect_uris TEXT NOT NULL,
    -- The scopes the client may ask for, separated by spaces.
    scopes        TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    created_by    TEXT
);

-- Only the HMAC of a code is stored. A code lives 60 seconds and is good
-- once; session_id names the session its token request opened, so a second
-- use can revoke it.
CREATE TABLE oauth_codes (
    code_hash      TEXT PRIMARY KEY NOT NULL,
    client_id      TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scope          TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    used_at        TIMESTAMP,
    session_id     TEXT
);
CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);

-- A session opened by an OAuth client carries the scopes the user granted;
-- the policy decision point lets it use only what those scopes allow.
-- NULL: a first-party session (the browser app, API tokens), limited by roles only.
ALTER TABLE sessions ADD COLUMN oauth_scope TEXT;
