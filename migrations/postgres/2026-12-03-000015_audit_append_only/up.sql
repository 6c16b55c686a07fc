-- TRUNCATE fires no row trigger: without this statement trigger the owner
-- (or any role granted TRUNCATE) could empty the append-only audit log.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
