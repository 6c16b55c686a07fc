DROP TABLE session_key_ids;
