-- Indexes for retention (scanhook_core::retention: each pruning batch finds its rows
-- through one of these, oldest first, without walking what must be kept) and for every
-- list filter, so that no list query walks an account's whole history (sqlite/plans.rs
-- checks each filter combination's plan).

-- Retention.
CREATE INDEX attempts_bodies ON attempts(started_at) WHERE response_body IS NOT NULL OR request_body <> '';
CREATE INDEX deliveries_finished ON deliveries(updated_at) WHERE status IN ('succeeded', 'dead');
CREATE INDEX events_time ON events(account_id, timestamp);
CREATE INDEX events_keyed ON events(timestamp) WHERE idempotency_key IS NOT NULL;
CREATE INDEX scans_ended ON scans(ended_at) WHERE ended_at IS NOT NULL;
-- A scan named by a violation is kept; these answer "is it named?" (and serve a project
-- deletion's cascade, which had to scan every scan).
CREATE INDEX violations_first_scan ON violations(first_scan_id);
CREATE INDEX violations_last_scan ON violations(last_scan_id);
-- A project's scans: the previous score at completion, and retention's "latest scored".
CREATE INDEX scans_project ON scans(project_id, status, ended_at);

-- Lists. Events by type (by time: events_time above).
CREATE INDEX events_type ON events(account_id, type, id);
-- Deliveries by status; by endpoint, with or without a status (also the held and dead
-- deliveries an enable or a replay takes); by event: deliveries_event.
CREATE INDEX deliveries_status ON deliveries(account_id, status, id);
DROP INDEX deliveries_webhook;
CREATE INDEX deliveries_webhook ON deliveries(webhook_id, status, id);
CREATE INDEX deliveries_webhook_all ON deliveries(webhook_id, id);
-- A project's violations newest first (by status: violations_project).
CREATE INDEX violations_list ON violations(project_id, id);
-- The audit log by action and by target.
CREATE INDEX audit_log_action ON audit_log(account_id, action, id);
CREATE INDEX audit_log_target ON audit_log(account_id, target_id, id);
