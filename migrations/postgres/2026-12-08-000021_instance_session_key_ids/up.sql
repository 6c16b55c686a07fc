-- The SESSION_KEY key ids each running server holds (ids only, never a
-- key; the current one first, comma-separated), beside its field key ids:
-- `backend rotate-session-key promote` refuses to make a key current while
-- a live instance could not verify what it would store under it.
ALTER TABLE app_instances ADD COLUMN session_key_ids TEXT NOT NULL DEFAULT '';
