-- Brute-force protection per account, independent of the client's address:
-- consecutive failed sign-in attempts (passwords and second-factor codes) and
-- a temporary lock.
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TIMESTAMP;
