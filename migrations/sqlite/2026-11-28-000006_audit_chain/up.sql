-- The audit log becomes a hash chain (see backend/src/security/audit_chain.rs):
-- each entry stores the previous entry's hash and its own, SHA-256 in hex.
-- Rows written before this migration keep both NULL: they form a prefix the
-- chain starts after (from the genesis value), reported as "legacy" by
-- verification. They are not backfilled, since that would mean rewriting
-- audit rows. From now on `audit::record` assigns ids itself (the last id
-- plus one, under the write lock), so chained ids have no gaps.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
