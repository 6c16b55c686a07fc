-- A consent page the server rendered for a signed-in browser session: the
-- validated authorization request, waiting for the user's answer. The page
-- carries only a random id; this row keeps its HMAC (under SESSION_KEY),
-- lives 10 minutes, belongs to the session that loaded the page, and is
-- deleted when the decision is taken (single use). The decision issues the
-- code from this row, never from posted fields.
CREATE TABLE oauth_consent_requests (
    id_hash        TEXT PRIMARY KEY NOT NULL,
    session_id     TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    -- Space-separated, as validated (sorted, no duplicates).
    scope          TEXT NOT NULL,
    state          TEXT,
    -- The S256 challenge (the only method accepted).
    code_challenge TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL
);
CREATE INDEX oauth_consent_requests_expires_at ON oauth_consent_requests (expires_at);

-- What each user has approved for each client (the union of the scopes of
-- every consent they gave it): a later request for more names the new scopes.
CREATE TABLE oauth_grants (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    -- Space-separated, sorted.
    scope      TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
