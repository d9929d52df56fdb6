-- Scans: one run of a scanner against a project, from start to its one end.

CREATE TABLE scans (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    project_id      TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    status          TEXT NOT NULL,  -- running | completed | failed | timed_out
    target          TEXT,
    rules           TEXT NOT NULL,  -- JSON array
    started_at      INTEGER NOT NULL,
    deadline_at     INTEGER NOT NULL,
    ended_at        INTEGER,
    error_code      TEXT,
    error_message   TEXT
);
CREATE INDEX scans_account ON scans(account_id, id);
CREATE INDEX scans_running ON scans(deadline_at) WHERE status = 'running';
