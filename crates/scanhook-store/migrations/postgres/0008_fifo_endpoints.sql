-- Ordered endpoints (format.ordering = "fifo"), as sqlite/0022. webhooks.fifo_next: the
-- last sequence number drawn for one of its deliveries (drawn under the endpoint's row
-- lock, so sequence order is commit order); NULL for unordered endpoints.
-- deliveries.fifo_seq: its place in its endpoint's queue; NULL for unordered endpoints and
-- test events. A FIFO delivery waiting its turn is pending with next_attempt_at NULL.
ALTER TABLE webhooks ADD COLUMN fifo_next BIGINT;
ALTER TABLE deliveries ADD COLUMN fifo_seq BIGINT;
CREATE INDEX deliveries_fifo_waiting ON deliveries(webhook_id, fifo_seq)
    WHERE status = 'pending' AND next_attempt_at IS NULL;
CREATE INDEX deliveries_fifo_moving ON deliveries(webhook_id)
    WHERE status = 'pending' AND next_attempt_at IS NOT NULL AND fifo_seq IS NOT NULL;
