ALTER TABLE app_instances DROP COLUMN session_key_ids;
