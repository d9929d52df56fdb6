-- Files are relative to the project's root. A violation keeps the URI its scanner wrote
-- when that differs (an absolute file:// URI of the machine that ran it); a scan keeps the
-- root it was given, which its absolute paths are made relative to.

ALTER TABLE violations ADD COLUMN uri TEXT;
ALTER TABLE scans ADD COLUMN root TEXT;
