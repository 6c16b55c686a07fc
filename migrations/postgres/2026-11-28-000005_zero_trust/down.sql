DROP TABLE decision_counts;
DROP TABLE access_decisions;
DROP TABLE devices;
ALTER TABLE user_roles DROP COLUMN expires_at;
ALTER TABLE user_roles DROP COLUMN granted_by;
ALTER TABLE user_roles DROP COLUMN granted_at;
