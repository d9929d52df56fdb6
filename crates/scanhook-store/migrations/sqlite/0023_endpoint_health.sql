-- An endpoint's delivery health (scanhook_core::opevents::Health): 'healthy' or 'failing'.
-- Kept on the endpoint so that every node and every restart agrees, and each change
-- (endpoint.failing / endpoint.recovered) is written, and announced, once: the update is
-- guarded by the old value.
ALTER TABLE webhooks ADD COLUMN health TEXT NOT NULL DEFAULT 'healthy';
