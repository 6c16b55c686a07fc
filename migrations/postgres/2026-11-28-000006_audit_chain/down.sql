-- Ids were assigned explicitly: move the identity past them first.
SELECT setval(pg_get_serial_sequence('audit_log', 'id'), COALESCE(MAX(id), 0) + 1, false)
    FROM audit_log;
ALTER TABLE audit_log ALTER COLUMN id SET GENERATED ALWAYS;
ALTER TABLE audit_log DROP COLUMN hash, DROP COLUMN prev_hash;
