-- A receiver's 429 or 503 with Retry-After pauses its endpoint: nothing is sent to it
-- before this time (ms since the epoch), on any node. NULL: never paused.
ALTER TABLE webhooks ADD COLUMN retry_not_before INTEGER;
