//! ASVS 5.0 V16 (security logging): the audit log's integrity and the logs' availability.
