-- The admin reads at scale (millions of users and audit entries) walk an
-- index and stop after one page, instead of scanning a table.
--
-- User search is a prefix match, run as a range on an index in byte order:
-- SQLite's default BINARY collation already is, so the existing
-- users_username_lower (lower(username)) and users_email (email) serve it.
--
-- The audit log is read newest first, filtered by one field, from a keyset
-- cursor (`id < before`): an index on (field, id) starts at the cursor and
-- yields the page in order. (SQLite appends the rowid, which is `id`, to
-- every index, so (actor) already acted as (actor, id); it is replaced to
-- keep both databases' indexes alike.) `target` serves a user's own
-- activity (actor = me OR target = me).
DROP INDEX audit_log_actor;
CREATE INDEX audit_log_actor_id ON audit_log (actor, id);
CREATE INDEX audit_log_action_id ON audit_log (action, id);
-- Both action and outcome: without it, a rare pair (role.grant + failure)
-- would walk every entry of the outcome.
CREATE INDEX audit_log_action_outcome_id ON audit_log (action, outcome, id);
CREATE INDEX audit_log_outcome_id ON audit_log (outcome, id);
CREATE INDEX audit_log_target_id ON audit_log (target, id);
