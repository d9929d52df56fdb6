-- Projects: what scans run against, with their alert settings.

CREATE TABLE projects (
    id                   TEXT PRIMARY KEY,
    account_id           TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    target               TEXT,
    score_drop_threshold INTEGER NOT NULL,
    scan_time_limit_secs INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX projects_account ON projects(account_id, id);
