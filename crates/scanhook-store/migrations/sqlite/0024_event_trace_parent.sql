-- The W3C traceparent of the event's ingest (the producer's trace, or the ingest span's),
-- so that deliveries made later, by any node, continue its trace. NULL: none was known.
ALTER TABLE events ADD COLUMN trace_parent TEXT;
