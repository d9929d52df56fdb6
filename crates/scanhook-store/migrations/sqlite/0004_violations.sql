-- Violations: a finding open on a project until a scan no longer finds it or someone
-- resolves it. One open violation per fingerprint and project.

CREATE TABLE violations (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    fingerprint   TEXT NOT NULL,
    rule          TEXT NOT NULL,
    severity      TEXT NOT NULL,
    file          TEXT NOT NULL,
    line          INTEGER NOT NULL,
    message       TEXT NOT NULL,
    suggestion    TEXT,
    status        TEXT NOT NULL,  -- open | resolved
    first_scan_id TEXT NOT NULL,
    last_scan_id  TEXT NOT NULL,
    resolved_by   TEXT,
    resolved_at   INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX violations_open ON violations(project_id, fingerprint) WHERE status = 'open';
CREATE INDEX violations_project ON violations(project_id, status, id);

ALTER TABLE scans ADD COLUMN files_scanned INTEGER;
ALTER TABLE scans ADD COLUMN score INTEGER;
ALTER TABLE scans ADD COLUMN grade TEXT;
