-- The device a session was opened or first used on (issue 16, item 5): a
-- session keeps that device's posture even when a request names none.
ALTER TABLE sessions ADD COLUMN device_id TEXT;
