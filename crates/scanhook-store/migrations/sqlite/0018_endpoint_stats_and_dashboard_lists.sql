-- What the dashboard reads: an endpoint's health from its attempt log, a project's scans,
-- and the delivery log by event type and by time. Every one is served by an index
-- (sqlite/plans.rs checks each query's plan).

-- Attempts by endpoint and time. Each attempt names its endpoint (copied from its delivery
-- when logged) and whether it failed (an attempt fails exactly when it has an error: the
-- sender gives every failure one). The index covers what the stats count and sample, so
-- a window of the log is counted from the index alone.
ALTER TABLE attempts ADD COLUMN webhook_id TEXT;
ALTER TABLE attempts ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;
UPDATE attempts SET
    webhook_id = (SELECT d.webhook_id FROM deliveries d WHERE d.id = attempts.delivery_id),
    failed = (error IS NOT NULL);
CREATE INDEX attempts_webhook ON attempts(webhook_id, started_at, id, failed, latency_ms);
-- An endpoint's last failure, however long ago, without walking its successes.
CREATE INDEX attempts_webhook_failed ON attempts(webhook_id, started_at, id) WHERE failed = 1;

-- A project's scans newest first, all or of one status.
CREATE INDEX scans_list ON scans(project_id, id);
CREATE INDEX scans_status ON scans(project_id, status, id);

-- Deliveries by event type, and by the time they were made (as events_time).
CREATE INDEX deliveries_event_type ON deliveries(account_id, event_type, id);
CREATE INDEX deliveries_time ON deliveries(account_id, created_at);
