-- An endpoint's rate bucket (scanhook_core::fair): GCRA's theoretical arrival time, in
-- microseconds since the epoch, drawn by the claims that lease its deliveries. NULL: never
-- drawn (a full bucket), and always for endpoints without a rate_limit.
ALTER TABLE webhooks ADD COLUMN rate_tat INTEGER;
-- Claims pass over endpoints at their cap by webhook_id: with it in the index, passing a
-- hanging endpoint's backlog reads the index only.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries(next_attempt_at, webhook_id) WHERE status = 'pending';
