ALTER TABLE sessions DROP COLUMN mfa_verified_at;
DROP TABLE mfa_challenges;
DROP TABLE recovery_codes;
DROP TABLE user_mfa;
