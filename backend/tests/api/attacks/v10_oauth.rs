//! ASVS 5.0 V10 (OAuth and OIDC): consent, scopes, metadata.
