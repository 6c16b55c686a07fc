-- The admin reads at scale (millions of users and audit entries) walk an
-- index and stop after one page, instead of scanning a table.
--
-- User search is a prefix match, run as a range (`>= q AND < next(q)`) on
-- the indexes on lower(username) and email. Such a range is exactly the
-- prefix only in byte order; the database's default collation may be a
-- linguistic one (en_US sorts "a_b" between "ab" and "ac"), so both columns
-- compare bytewise, as SQLite does (lower() keeps its input's collation).
-- Equality, and so uniqueness, is unchanged; their indexes are rebuilt.
-- No extension (pg_trgm) is needed.
ALTER TABLE users
    ALTER COLUMN username TYPE TEXT COLLATE "C",
    ALTER COLUMN email TYPE TEXT COLLATE "C";

-- The audit log is read newest first, filtered by one field, from a keyset
-- cursor (`id < before`): an index on (field, id) starts at the cursor and
-- yields the page in order. (actor, id) replaces (actor). `target` serves a
-- user's own activity (actor = me OR target = me).
DROP INDEX audit_log_actor;
CREATE INDEX audit_log_actor_id ON audit_log (actor, id);
CREATE INDEX audit_log_action_id ON audit_log (action, id);
-- Both action and outcome: without it, a rare pair (role.grant + failure)
-- would walk every entry of the outcome.
CREATE INDEX audit_log_action_outcome_id ON audit_log (action, outcome, id);
CREATE INDEX audit_log_outcome_id ON audit_log (outcome, id);
CREATE INDEX audit_log_target_id ON audit_log (target, id);
