-- Fails while two accounts claim one address: resolve those first.
DROP INDEX users_email_verified;
DROP INDEX users_email;
CREATE UNIQUE INDEX users_email ON users (email);
ALTER TABLE users DROP COLUMN email_verified_at;
