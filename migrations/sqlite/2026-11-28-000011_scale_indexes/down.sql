DROP INDEX audit_log_target_id;
DROP INDEX audit_log_outcome_id;
DROP INDEX audit_log_action_outcome_id;
DROP INDEX audit_log_action_id;
DROP INDEX audit_log_actor_id;
CREATE INDEX audit_log_actor ON audit_log (actor);
