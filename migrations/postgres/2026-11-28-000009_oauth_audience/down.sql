ALTER TABLE sessions DROP COLUMN token_audience;
ALTER TABLE sessions DROP COLUMN oauth_client_id;
ALTER TABLE oauth_clients DROP COLUMN updated_at;
ALTER TABLE oauth_clients DROP COLUMN audience;
