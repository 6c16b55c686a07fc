-- SQLite has no TRUNCATE: `DELETE FROM audit_log` without WHERE is its
-- truncate, and the row trigger audit_log_no_delete (2026-11-27-000002)
-- already refuses it (a table with a DELETE trigger never gets the
-- truncate optimisation). Nothing to add; kept so both engines have the
-- same migrations.
SELECT 1;
