-- Periodic jobs (the scan sweeper, retention) run on one node at a time: the node that
-- holds a job's lease runs it and renews the lease; another takes over once it expires.
CREATE TABLE job_leases (
    name  TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until INTEGER NOT NULL
);
