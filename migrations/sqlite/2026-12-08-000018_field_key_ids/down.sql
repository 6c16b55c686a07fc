DROP INDEX user_ssn_field_key_id;
ALTER TABLE user_ssn DROP COLUMN field_key_id;
DROP INDEX user_mfa_field_key_id;
ALTER TABLE user_mfa DROP COLUMN field_key_id;
