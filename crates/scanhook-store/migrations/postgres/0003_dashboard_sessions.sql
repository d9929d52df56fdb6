-- Dashboard sessions and portal links, stored by the SHA-256 of their token (never the
-- token). Deleting the API key a session came from (signed in with, or that made its
-- portal link) deletes the session and the link.
-- ID columns compare byte by byte (COLLATE "C"), as the IDs' own primary keys do, so the
-- cascades from accounts and API keys use these tables' indexes.
CREATE TABLE sessions (
    token_hash   TEXT COLLATE "C" PRIMARY KEY,
    account_id   TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key_id       TEXT COLLATE "C" NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    is_admin     BOOLEAN NOT NULL,
    read_only    BOOLEAN NOT NULL,
    event_types  TEXT,            -- JSON array of patterns, or NULL for no limit
    created_at   BIGINT NOT NULL,
    idle_until   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_key ON sessions(key_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE portal_links (
    token_hash   TEXT COLLATE "C" PRIMARY KEY,
    account_id   TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key_id       TEXT COLLATE "C" NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    read_only    BOOLEAN NOT NULL,
    event_types  TEXT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);
CREATE INDEX portal_links_key ON portal_links(key_id);
CREATE INDEX portal_links_expires ON portal_links(expires_at);
