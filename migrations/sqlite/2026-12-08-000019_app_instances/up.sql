-- Each running server: which field key ids it holds (ids only, never a
-- key; the current one first, comma-separated) and when it last said it
-- is alive. Written at start, refreshed every 30 s, removed on a clean
-- stop. `backend rotate-keys` refuses while a live instance lacks the new
-- key; `backend keys status` shows them.
CREATE TABLE app_instances (
    id            TEXT PRIMARY KEY NOT NULL,
    label         TEXT NOT NULL,
    field_key_ids TEXT NOT NULL,
    started_at    TIMESTAMP NOT NULL,
    heartbeat_at  TIMESTAMP NOT NULL
);
CREATE INDEX app_instances_heartbeat_at ON app_instances (heartbeat_at);
