-- Ordered endpoints (format.ordering = "fifo"). webhooks.fifo_next: the last sequence
-- number drawn for one of its deliveries; NULL for unordered endpoints (the store's mirror
-- of the setting, written with the format). deliveries.fifo_seq: its place in its
-- endpoint's queue (order of acceptance); NULL for unordered endpoints and test events.
-- A FIFO delivery waiting its turn is pending with next_attempt_at NULL: only the head is due.
ALTER TABLE webhooks ADD COLUMN fifo_next INTEGER;
ALTER TABLE deliveries ADD COLUMN fifo_seq INTEGER;
-- The head of a queue: its lowest waiting delivery.
CREATE INDEX deliveries_fifo_waiting ON deliveries(webhook_id, fifo_seq)
    WHERE status = 'pending' AND next_attempt_at IS NULL;
-- Whether a queue has a delivery due or in flight.
CREATE INDEX deliveries_fifo_moving ON deliveries(webhook_id)
    WHERE status = 'pending' AND next_attempt_at IS NOT NULL AND fifo_seq IS NOT NULL;
