-- Look-alike findings (same tool, rule, file and message, so the same fingerprint) are
-- violations of their own, told apart by place (scanhook_core::scan::matching): several
-- open violations may share a fingerprint. line_hash is the hash of the flagged line's
-- text where the scanner gave it.
DROP INDEX violations_open;
CREATE INDEX violations_group ON violations(project_id, tool, category, status, fingerprint);
ALTER TABLE violations ADD COLUMN line_hash TEXT;

-- What happened to each violation, oldest first: detected, resolved (by a scan or by
-- hand), reopened (a later scan found it again).
CREATE TABLE violation_history (
    seq          INTEGER PRIMARY KEY,
    violation_id TEXT NOT NULL REFERENCES violations(id) ON DELETE CASCADE,
    action       TEXT NOT NULL,  -- detected | resolved | reopened
    at           INTEGER NOT NULL,
    scan_id      TEXT,
    by           TEXT            -- who resolved it: "scan", or the name given by hand
);
CREATE INDEX violation_history_violation ON violation_history(violation_id, seq);
CREATE INDEX violation_history_scan ON violation_history(scan_id, action);

INSERT INTO violation_history (violation_id, action, at, scan_id)
    SELECT id, 'detected', created_at, first_scan_id FROM violations ORDER BY created_at, id;
INSERT INTO violation_history (violation_id, action, at, scan_id, by)
    SELECT id, 'resolved', resolved_at, CASE WHEN resolved_by = 'scan' THEN last_scan_id END, resolved_by
    FROM violations WHERE status = 'resolved' AND resolved_at IS NOT NULL ORDER BY resolved_at, id;
