-- Every SESSION_KEY key id ever configured, with a fingerprint of its key
-- (HMAC-SHA-256 of a fixed label under the key: it reveals nothing of the
-- key). A server whose SESSION_KEY gives a recorded id other key material
-- refuses to start: the rows under that id would silently stop verifying.
-- `backend keys status` counts the rows under each id.
CREATE TABLE session_key_ids (
    key_id        TEXT PRIMARY KEY NOT NULL,
    fingerprint   TEXT NOT NULL,
    first_seen_at TIMESTAMP NOT NULL
);
