-- Every column that holds an ID compares byte by byte (COLLATE "C"), as the IDs' own
-- primary keys already did. A join or foreign key between a "C" column and one of the
-- database's default collation cannot use the index of the other side: the delivery
-- log's last-error lookup, cascading deletes and retention read whole tables. ULIDs also
-- sort by time only byte by byte. Each change rebuilds the column's indexes.
ALTER TABLE api_keys ALTER COLUMN account_id TYPE TEXT COLLATE "C";
ALTER TABLE webhooks ALTER COLUMN account_id TYPE TEXT COLLATE "C";
ALTER TABLE events ALTER COLUMN account_id TYPE TEXT COLLATE "C",
    ALTER COLUMN target_webhook_id TYPE TEXT COLLATE "C";
ALTER TABLE deliveries ALTER COLUMN account_id TYPE TEXT COLLATE "C",
    ALTER COLUMN event_id TYPE TEXT COLLATE "C",
    ALTER COLUMN webhook_id TYPE TEXT COLLATE "C";
ALTER TABLE attempts ALTER COLUMN delivery_id TYPE TEXT COLLATE "C";
ALTER TABLE projects ALTER COLUMN account_id TYPE TEXT COLLATE "C";
ALTER TABLE scans ALTER COLUMN account_id TYPE TEXT COLLATE "C",
    ALTER COLUMN project_id TYPE TEXT COLLATE "C";
ALTER TABLE violations ALTER COLUMN account_id TYPE TEXT COLLATE "C",
    ALTER COLUMN project_id TYPE TEXT COLLATE "C",
    ALTER COLUMN first_scan_id TYPE TEXT COLLATE "C",
    ALTER COLUMN last_scan_id TYPE TEXT COLLATE "C";
ALTER TABLE violation_history ALTER COLUMN violation_id TYPE TEXT COLLATE "C",
    ALTER COLUMN scan_id TYPE TEXT COLLATE "C";
ALTER TABLE audit_log ALTER COLUMN account_id TYPE TEXT COLLATE "C",
    ALTER COLUMN key_id TYPE TEXT COLLATE "C",
    ALTER COLUMN target_id TYPE TEXT COLLATE "C";
