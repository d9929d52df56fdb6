-- An endpoint's delivery health, as sqlite/0023: 'healthy' or 'failing', changed only by
-- an update guarded by the old value, so each change is announced once across nodes.
ALTER TABLE webhooks ADD COLUMN health TEXT NOT NULL DEFAULT 'healthy';
