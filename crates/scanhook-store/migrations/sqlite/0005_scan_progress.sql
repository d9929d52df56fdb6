-- Progress of running scans; scan.progress is sent at most once per interval.

ALTER TABLE scans ADD COLUMN percent INTEGER;
ALTER TABLE scans ADD COLUMN progress_message TEXT;
ALTER TABLE scans ADD COLUMN progress_sent_at INTEGER;
