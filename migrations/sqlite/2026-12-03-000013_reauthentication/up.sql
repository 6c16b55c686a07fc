-- When the session last proved who is at the keyboard (a login, a password
-- re-entered, or a second factor): account-security changes need it recent
-- (REAUTH_WINDOW_SECS). NULL for sessions opened by an OAuth client.
ALTER TABLE sessions ADD COLUMN reauthenticated_at TIMESTAMP;
