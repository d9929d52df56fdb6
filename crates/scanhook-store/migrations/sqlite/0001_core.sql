-- The core engine: accounts, keys, endpoints, events, deliveries and their attempts.
-- Times are integer milliseconds since the Unix epoch (UTC).

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    is_admin    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE webhooks (
    id                   TEXT PRIMARY KEY,
    account_id           TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    url                  TEXT NOT NULL,
    description          TEXT,
    events               TEXT NOT NULL,  -- JSON array of patterns
    secret               TEXT NOT NULL,
    headers              TEXT NOT NULL,  -- JSON object
    active               INTEGER NOT NULL,
    disabled_reason      TEXT,
    disabled_at          INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX webhooks_account ON webhooks(account_id, id);

CREATE TABLE events (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    type              TEXT NOT NULL,
    timestamp         INTEGER NOT NULL,
    data              TEXT NOT NULL,
    target_webhook_id TEXT,
    delivery_count    INTEGER NOT NULL,
    idempotency_key   TEXT,
    request_hash      TEXT
);
CREATE INDEX events_account ON events(account_id, id);
CREATE UNIQUE INDEX events_idempotency ON events(account_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL,
    event_id         TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    event_type       TEXT NOT NULL,
    webhook_id       TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    status           TEXT NOT NULL,   -- pending | succeeded | dead
    attempt_count    INTEGER NOT NULL DEFAULT 0,
    round_attempts   INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    lease_owner      TEXT,
    lease_until      INTEGER,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_account ON deliveries(account_id, id);
CREATE INDEX deliveries_webhook ON deliveries(webhook_id, status);
CREATE INDEX deliveries_event ON deliveries(event_id);

CREATE TABLE attempts (
    id               TEXT PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    number           INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    latency_ms       INTEGER NOT NULL,
    status_code      INTEGER,
    error            TEXT,
    request_headers  TEXT NOT NULL,  -- JSON array of [name, value]
    request_body     TEXT,           -- NULL: the event's canonical envelope
    response_headers TEXT,
    response_body    TEXT
);
CREATE INDEX attempts_delivery ON attempts(delivery_id);
