-- What a project's page reads exactly: its events (its alerts among them), its violations
-- counted by status and severity, and the audit log by time (as sqlite/0019).

-- Events name the project they are about: the scope a derived event is emitted with,
-- NULL for the rest. Rows from before carry the project their payload names when they are
-- of a derived type and it is a project of their account. The payload is read as the text
-- scanhook wrote (compact JSON), not parsed: a payload holding \u0000 cannot be read as
-- PostgreSQL's json, and a string value's quotes are escaped, so only a key matches.
ALTER TABLE events ADD COLUMN project_id TEXT COLLATE "C";
UPDATE events e SET project_id = p.id
    FROM projects p
    WHERE e.target_webhook_id IS NULL
      AND (e.type IN ('project.created', 'project.deleted', 'score.changed', 'alert.triggered')
           OR e.type LIKE 'scan.%' OR e.type LIKE 'violation.%' OR e.type LIKE 'issue.%')
      AND p.account_id = e.account_id
      AND p.id = substring(e.data FROM '"project_?[Ii]d":"(proj_[0-9A-Za-z]+)"');
-- Partial: events of no project (most of the traffic) cost no index entry.
CREATE INDEX events_project ON events(account_id, project_id, id) WHERE project_id IS NOT NULL;
CREATE INDEX events_project_type ON events(account_id, project_id, type, id) WHERE project_id IS NOT NULL;

-- A project's violations counted by status and severity from the index alone.
CREATE INDEX violations_severity ON violations(project_id, status, severity);

-- The audit log by time (as events_time).
CREATE INDEX audit_log_time ON audit_log(account_id, at);
