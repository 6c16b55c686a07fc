ALTER TABLE sessions DROP COLUMN oauth_scope;
DROP TABLE oauth_codes;
DROP TABLE oauth_clients;
