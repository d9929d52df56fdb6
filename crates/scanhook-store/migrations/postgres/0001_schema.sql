-- The PostgreSQL schema: the end state of SQLite's migrations 0001-0015, in one step.
-- Column for column the same as SQLite's, so that rows copy between the two as they are:
-- times are BIGINT milliseconds since the Unix epoch (UTC), exactly SQLite's values, so the
-- contract's millisecond precision holds without rounding; JSON documents are TEXT as
-- stored (sealed secrets inside them are the same `enc:v1:` text, sealed in Rust by
-- crypto.rs); flags are BOOLEAN. IDs compare bytewise (COLLATE "C", as in SQLite), so the
-- newest-first order and the cursors of lists do not depend on the database's locale.
-- The applied version is in schema_version (postgres/schema.rs).

CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    is_admin    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL
);
-- At most one admin (default) account: of nodes that start at once, one insert wins.
CREATE UNIQUE INDEX accounts_one_admin ON accounts(is_admin) WHERE is_admin;

CREATE TABLE api_keys (
    id          TEXT COLLATE "C" PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE webhooks (
    id                         TEXT COLLATE "C" PRIMARY KEY,
    account_id                 TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    url                        TEXT NOT NULL,
    description                TEXT,
    events                     TEXT NOT NULL,  -- JSON array of patterns
    secret                     TEXT NOT NULL,  -- sealed
    headers                    TEXT NOT NULL,  -- JSON object, sensitive values sealed
    active                     BOOLEAN NOT NULL,
    disabled_reason            TEXT,
    disabled_at                BIGINT,
    consecutive_failures       BIGINT NOT NULL DEFAULT 0,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL,
    projects                   TEXT NOT NULL DEFAULT '[]',  -- JSON array; empty: all
    min_severity               TEXT,
    format                     TEXT NOT NULL DEFAULT '{}',  -- DeliveryFormat, bearer token sealed
    previous_secret            TEXT,                        -- sealed
    previous_secret_expires_at BIGINT,
    sensitive_headers          TEXT NOT NULL DEFAULT '[]'   -- JSON array of lowercase names
);
CREATE INDEX webhooks_account ON webhooks(account_id, id);

CREATE TABLE events (
    id                TEXT COLLATE "C" PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    type              TEXT NOT NULL,
    timestamp         BIGINT NOT NULL,
    data              TEXT NOT NULL,
    target_webhook_id TEXT,
    delivery_count    BIGINT NOT NULL,
    idempotency_key   TEXT,
    request_hash      TEXT
);
CREATE INDEX events_account ON events(account_id, id);
CREATE UNIQUE INDEX events_idempotency ON events(account_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_time ON events(account_id, timestamp);
CREATE INDEX events_keyed ON events(timestamp) WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_type ON events(account_id, type, id);

CREATE TABLE deliveries (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    account_id           TEXT NOT NULL,
    event_id             TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    event_type           TEXT NOT NULL,
    webhook_id           TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    status               TEXT NOT NULL,   -- pending | succeeded | dead | held
    attempt_count        BIGINT NOT NULL DEFAULT 0,
    round_attempts       BIGINT NOT NULL DEFAULT 0,
    next_attempt_at      BIGINT,
    lease_owner          TEXT,
    lease_until          BIGINT,
    last_status_code     BIGINT,
    last_error           TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    claims_since_outcome BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_account ON deliveries(account_id, id);
CREATE INDEX deliveries_event ON deliveries(event_id);
CREATE INDEX deliveries_finished ON deliveries(updated_at) WHERE status IN ('succeeded', 'dead');
CREATE INDEX deliveries_status ON deliveries(account_id, status, id);
CREATE INDEX deliveries_webhook ON deliveries(webhook_id, status, id);
CREATE INDEX deliveries_webhook_all ON deliveries(webhook_id, id);

CREATE TABLE attempts (
    id               TEXT COLLATE "C" PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    number           BIGINT NOT NULL,
    started_at       BIGINT NOT NULL,
    latency_ms       BIGINT NOT NULL,
    status_code      BIGINT,
    error            TEXT,
    request_headers  TEXT NOT NULL,  -- JSON array of [name, value]
    request_body     TEXT,           -- NULL: the event's canonical envelope
    response_headers TEXT,
    response_body    TEXT
);
CREATE INDEX attempts_delivery ON attempts(delivery_id);
CREATE INDEX attempts_bodies ON attempts(started_at) WHERE response_body IS NOT NULL OR request_body <> '';

CREATE TABLE projects (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    account_id           TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    target               TEXT,
    score_drop_threshold BIGINT NOT NULL,
    scan_time_limit_secs BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX projects_account ON projects(account_id, id);

CREATE TABLE scans (
    id               TEXT COLLATE "C" PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    status           TEXT NOT NULL,  -- running | completed | failed | timed_out
    target           TEXT,
    rules            TEXT NOT NULL,  -- JSON array
    started_at       BIGINT NOT NULL,
    deadline_at      BIGINT NOT NULL,
    ended_at         BIGINT,
    error_code       TEXT,
    error_message    TEXT,
    files_scanned    BIGINT,
    score            BIGINT,
    grade            TEXT,
    percent          BIGINT,
    progress_message TEXT,
    progress_sent_at BIGINT,
    tool             TEXT NOT NULL DEFAULT '',
    category         TEXT NOT NULL DEFAULT '',
    covered          TEXT,           -- JSON array of {tool, category}
    root             TEXT
);
CREATE INDEX scans_account ON scans(account_id, id);
CREATE INDEX scans_running ON scans(deadline_at) WHERE status = 'running';
CREATE INDEX scans_ended ON scans(ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX scans_project ON scans(project_id, status, ended_at);

CREATE TABLE violations (
    id            TEXT COLLATE "C" PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    fingerprint   TEXT NOT NULL,
    rule          TEXT NOT NULL,
    severity      TEXT NOT NULL,
    file          TEXT NOT NULL,
    line          BIGINT NOT NULL,
    message       TEXT NOT NULL,
    suggestion    TEXT,
    status        TEXT NOT NULL,  -- open | resolved
    first_scan_id TEXT NOT NULL,
    last_scan_id  TEXT NOT NULL,
    resolved_by   TEXT,
    resolved_at   BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    tool          TEXT NOT NULL DEFAULT '',
    category      TEXT NOT NULL DEFAULT '',
    uri           TEXT,
    line_hash     TEXT
);
CREATE INDEX violations_project ON violations(project_id, status, id);
CREATE INDEX violations_group ON violations(project_id, tool, category, status, fingerprint);
CREATE INDEX violations_first_scan ON violations(first_scan_id);
CREATE INDEX violations_last_scan ON violations(last_scan_id);
CREATE INDEX violations_list ON violations(project_id, id);

-- `seq` is given by default and may be given explicitly, so copied rows keep theirs.
CREATE TABLE violation_history (
    seq          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    violation_id TEXT NOT NULL REFERENCES violations(id) ON DELETE CASCADE,
    action       TEXT NOT NULL,  -- detected | resolved | reopened
    at           BIGINT NOT NULL,
    scan_id      TEXT,
    "by"         TEXT            -- who resolved it: "scan", or the name given by hand
);
CREATE INDEX violation_history_violation ON violation_history(violation_id, seq);
CREATE INDEX violation_history_scan ON violation_history(scan_id, action);

CREATE TABLE audit_log (
    id          TEXT COLLATE "C" PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key_id      TEXT NOT NULL,
    at          BIGINT NOT NULL,
    action      TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    changes     TEXT NOT NULL  -- JSON object
);
CREATE INDEX audit_log_account ON audit_log(account_id, id);
CREATE INDEX audit_log_action ON audit_log(account_id, action, id);
CREATE INDEX audit_log_target ON audit_log(account_id, target_id, id);

-- Periodic jobs (the scan sweeper, retention) run on one node at a time: the node that
-- holds a job's lease runs it and renews the lease; another takes over once it expires.
CREATE TABLE job_leases (
    name  TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until BIGINT NOT NULL
);
