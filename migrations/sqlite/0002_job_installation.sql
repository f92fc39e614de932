-- Which installation a job works for, so that claims share the workers fairly between
-- installations: one org's burst of submissions must not starve another's.
ALTER TABLE jobs ADD COLUMN installation_id BIGINT;
CREATE INDEX jobs_running_installation ON jobs (installation_id) WHERE state = 'running';
