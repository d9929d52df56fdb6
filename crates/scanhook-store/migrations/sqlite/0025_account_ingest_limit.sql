-- An account's own ingest limit, set by the admin (PATCH /v1/accounts/{id}): events per
-- second and burst. NULL: the deployment's (SCANHOOK_INGEST_RATE / _BURST).
ALTER TABLE accounts ADD COLUMN ingest_rate INTEGER;
ALTER TABLE accounts ADD COLUMN ingest_burst INTEGER;
