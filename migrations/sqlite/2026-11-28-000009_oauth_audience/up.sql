-- The resource server an OAuth client's access tokens are meant for: their
-- `aud` claim. NULL: this app's own API (JWT_AUDIENCE), which is the only
-- audience /api/v1 accepts.
ALTER TABLE oauth_clients ADD COLUMN audience TEXT;
ALTER TABLE oauth_clients ADD COLUMN updated_at TIMESTAMP;

-- Which client opened a session, and the audience its tokens carry (fixed
-- when the user granted it, so later edits of the client do not widen a
-- grant already given). Both NULL for a first-party session.
ALTER TABLE sessions ADD COLUMN oauth_client_id TEXT;
ALTER TABLE sessions ADD COLUMN token_audience TEXT;
