-- Secrets at rest. Endpoint secrets (current and rotated-out), bearer tokens (inside the
-- format document) and sensitive extra header values are stored sealed with the
-- deployment's key (AES-256-GCM, `enc:v1:` + base64); `meta.key_check` holds a known text
-- sealed with it, so a start with another key stops before anything is signed.
-- The scanhook_* functions are the store's own (sqlite/sealed.rs), registered before
-- migrations run: this migration seals the rows written by older versions, and redacts
-- the credentials older versions logged in attempts' request headers.

CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Lowercase names of extra headers the user marked sensitive (JSON array).
ALTER TABLE webhooks ADD COLUMN sensitive_headers TEXT NOT NULL DEFAULT '[]';

UPDATE webhooks SET
    secret = scanhook_seal(secret),
    previous_secret = scanhook_seal(previous_secret),
    format = scanhook_seal_format(format),
    headers = scanhook_seal_headers(headers, sensitive_headers);

UPDATE attempts SET request_headers = scanhook_redact_logged(request_headers);

INSERT INTO meta (name, value) VALUES ('key_check', scanhook_seal('scanhook key check'));
