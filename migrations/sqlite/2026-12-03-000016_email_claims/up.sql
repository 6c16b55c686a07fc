-- An e-mail address on an account is a claim until its owner proves it
-- (issue 19 sends the proof). Only proven addresses are unique and sign in:
-- a registration with an address another account has proven creates a real
-- account like any other (username reserved, password works, the address
-- unproven), so registering tells nobody whether an address is in use.
-- Accounts from before this change had unique addresses: they count as
-- proven.
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;
UPDATE users SET email_verified_at = created_at;
DROP INDEX users_email;
-- Admin search by e-mail prefix still walks this index.
CREATE INDEX users_email ON users (email);
CREATE UNIQUE INDEX users_email_verified ON users (email) WHERE email_verified_at IS NOT NULL;
