-- How an endpoint wants its deliveries (signature scheme, bearer token, timeout, body
-- shape, header prefix) as one JSON document (scanhook_core::format::DeliveryFormat), and
-- the secret a rotation replaced, still used to sign until its grace period ends.

ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT '{}';
ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_expires_at INTEGER;
