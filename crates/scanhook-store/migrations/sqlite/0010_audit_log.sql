-- The audit log: one row per management action (scanhook_core::audit::AuditAction), with
-- the key that acted and what changed (JSON, secrets already redacted). Rows are kept when
-- the key or the target is deleted: the log outlives what it describes.

CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key_id      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    action      TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    changes     TEXT NOT NULL  -- JSON object
);
CREATE INDEX audit_log_account ON audit_log(account_id, id);
