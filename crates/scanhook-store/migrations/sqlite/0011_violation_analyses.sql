-- A violation belongs to the analysis that found it: the tool, and an optional category
-- (GitHub code scanning's word). A completed scan resolves only open violations of the
-- analyses it covered, so a linter's scan never closes a SAST scanner's findings. '' is
-- "none named": every violation stored before this version, and scans that name nothing,
-- which therefore go on resolving each other as before.

ALTER TABLE violations ADD COLUMN tool TEXT NOT NULL DEFAULT '';
ALTER TABLE violations ADD COLUMN category TEXT NOT NULL DEFAULT '';
DROP INDEX violations_open;
CREATE UNIQUE INDEX violations_open ON violations(project_id, tool, category, fingerprint) WHERE status = 'open';

-- The analysis a scan was started for (native findings take it), and the analyses the
-- completed scan covered (JSON array of {tool, category}).
ALTER TABLE scans ADD COLUMN tool TEXT NOT NULL DEFAULT '';
ALTER TABLE scans ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE scans ADD COLUMN covered TEXT;
