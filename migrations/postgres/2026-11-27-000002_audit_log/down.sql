DROP TRIGGER audit_log_no_update_or_delete ON audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE audit_log;
