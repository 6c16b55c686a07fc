-- Zero trust: time-bound role grants, the devices users register (with the
-- compliance state an admin sets), and the policy decisions for analytics.
ALTER TABLE user_roles ADD COLUMN granted_at TIMESTAMP;
ALTER TABLE user_roles ADD COLUMN granted_by TEXT;
-- A grant with an expiry lapses by itself (just-in-time elevation).
ALTER TABLE user_roles ADD COLUMN expires_at TIMESTAMP;

CREATE TABLE devices (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label         TEXT NOT NULL,
    compliant     BOOLEAN NOT NULL,
    registered_at TIMESTAMP NOT NULL,
    last_seen_at  TIMESTAMP,
    reviewed_at   TIMESTAMP,
    reviewed_by   TEXT
);
CREATE INDEX devices_user_id ON devices (user_id);

-- Every deny in full, and allowed changes (non-GET) in full; allowed reads
-- are only counted, in decision_counts.
CREATE TABLE access_decisions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    decided_at TIMESTAMP NOT NULL,
    user_id    TEXT,
    method     TEXT NOT NULL,
    route      TEXT NOT NULL,
    outcome    TEXT NOT NULL CHECK (outcome IN ('allow', 'deny')),
    reason     TEXT NOT NULL,
    client_ip  TEXT,
    device_id  TEXT,
    request_id TEXT
);
CREATE INDEX access_decisions_decided_at ON access_decisions (decided_at);

-- Allowed decisions per route and minute, written in batches.
CREATE TABLE decision_counts (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    minute  TIMESTAMP NOT NULL,
    route   TEXT NOT NULL,
    allowed BIGINT NOT NULL
);
CREATE INDEX decision_counts_minute ON decision_counts (minute);
