-- Workshop mode (APP_WORKSHOP=1): which participant solved which challenge.
-- A challenge counts as solved when the server observed the attempt (see
-- backend/src/security/workshop.rs); one row per participant and challenge.
CREATE TABLE workshop_solves (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    challenge_id TEXT NOT NULL,
    solved_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, challenge_id)
);
