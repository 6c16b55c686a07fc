DROP TABLE oauth_grants;
DROP INDEX oauth_consent_requests_expires_at;
DROP TABLE oauth_consent_requests;
