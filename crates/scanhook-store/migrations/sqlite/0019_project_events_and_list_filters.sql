-- What a project's page reads exactly: its events (its alerts among them), its violations
-- counted by status and severity, and the audit log by time. Every one is served by an
-- index (sqlite/plans.rs checks each query's plan).

-- Events name the project they are about: the scope a derived event is emitted with
-- (project, scan, violation and alert events), NULL for the rest. Rows from before carry
-- the project their payload names (`project_id` in alerts, `projectId` elsewhere) when
-- they are of a derived type and it is a project of their account.
ALTER TABLE events ADD COLUMN project_id TEXT;
UPDATE events SET project_id = (
        SELECT p.id FROM projects p
        WHERE p.account_id = events.account_id
          AND p.id = COALESCE(json_extract(events.data, '$.project_id'), json_extract(events.data, '$.projectId')))
    WHERE target_webhook_id IS NULL
      AND (type IN ('project.created', 'project.deleted', 'score.changed', 'alert.triggered')
           OR type LIKE 'scan.%' OR type LIKE 'violation.%' OR type LIKE 'issue.%')
      AND json_valid(data);
-- Partial: events of no project (most of the traffic) cost no index entry.
CREATE INDEX events_project ON events(account_id, project_id, id) WHERE project_id IS NOT NULL;
CREATE INDEX events_project_type ON events(account_id, project_id, type, id) WHERE project_id IS NOT NULL;

-- A project's violations counted by status and severity from the index alone.
CREATE INDEX violations_severity ON violations(project_id, status, severity);

-- The audit log by time (as events_time).
CREATE INDEX audit_log_time ON audit_log(account_id, at);
