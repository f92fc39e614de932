-- Which installation a job works for, so that claims share the workers fairly between
-- installations: one org's burst of submissions must not starve another's.
ALTER TABLE jobs ADD COLUMN installation_id BIGINT;
CREATE INDEX jobs_running_installation ON jobs (installation_id) WHERE state = 'running';

-- Work that one replica should do at a time (reconciling missed deliveries): a lease by name,
-- taken over only once it has expired.
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    owner  TEXT NOT NULL,
    until  BIGINT NOT NULL
);
