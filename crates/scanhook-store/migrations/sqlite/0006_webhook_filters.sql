-- Webhooks may take only some projects' events, and only violations and issues at or above
-- a severity.

ALTER TABLE webhooks ADD COLUMN projects TEXT NOT NULL DEFAULT '[]';  -- JSON array; empty: all
ALTER TABLE webhooks ADD COLUMN min_severity TEXT;
