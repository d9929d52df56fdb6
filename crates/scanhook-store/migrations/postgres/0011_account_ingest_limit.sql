-- An account's own ingest limit, as sqlite/0025. NULL: the deployment's.
ALTER TABLE accounts ADD COLUMN ingest_rate BIGINT;
ALTER TABLE accounts ADD COLUMN ingest_burst BIGINT;
