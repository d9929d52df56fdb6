-- Claims of a delivery since its last recorded outcome. Each claim adds one, an outcome
-- resets it, a release (shutdown) takes its claim back: a value above zero at claim time
-- counts leases that expired with no outcome, i.e. workers that crashed or hung on it.
-- The engine parks a delivery that keeps doing that (DispatchConfig::max_expired_leases).
--
-- Deliveries also have a fourth status, 'held': made for an endpoint scanhook disabled
-- after failures, kept until it is enabled again (then sent, or given up as dead).

ALTER TABLE deliveries ADD COLUMN claims_since_outcome INTEGER NOT NULL DEFAULT 0;
