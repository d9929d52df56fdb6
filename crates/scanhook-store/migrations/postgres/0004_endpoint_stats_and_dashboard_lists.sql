-- What the dashboard reads: an endpoint's health from its attempt log, a project's scans,
-- and the delivery log by event type and by time (as sqlite/0018).

-- Attempts by endpoint and time; each names its endpoint (copied from its delivery when
-- logged) and whether it failed (exactly when it has an error). The index covers what the
-- stats count and sample.
ALTER TABLE attempts ADD COLUMN webhook_id TEXT COLLATE "C", ADD COLUMN failed BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE attempts a SET webhook_id = d.webhook_id, failed = (a.error IS NOT NULL)
    FROM deliveries d WHERE d.id = a.delivery_id;
CREATE INDEX attempts_webhook ON attempts(webhook_id, started_at, id, failed, latency_ms);
-- An endpoint's last failure, however long ago, without walking its successes.
CREATE INDEX attempts_webhook_failed ON attempts(webhook_id, started_at, id) WHERE failed;

-- A project's scans newest first, all or of one status.
CREATE INDEX scans_list ON scans(project_id, id);
CREATE INDEX scans_status ON scans(project_id, status, id);

-- Deliveries by event type, and by the time they were made (as events_time).
CREATE INDEX deliveries_event_type ON deliveries(account_id, event_type, id);
CREATE INDEX deliveries_time ON deliveries(account_id, created_at);
