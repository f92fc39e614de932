-- A submission is an issue of a repository, whatever the repository is called now: GitHub's
-- numeric id stays across a rename, so that the submission (and its purge clock) follows the
-- issue. NULL for submissions stored before the id was kept, until an event brings it.
ALTER TABLE submissions ADD COLUMN repo_id BIGINT;
CREATE UNIQUE INDEX submissions_identity ON submissions (installation_id, repo_id, issue_number);

-- The SHA-256 (hex) of a delivery's signed body: the same body under a new delivery id is a
-- replay, and a duplicate like a known id. NULL for deliveries recorded before.
ALTER TABLE deliveries ADD COLUMN body_hash TEXT;
CREATE UNIQUE INDEX deliveries_body_hash ON deliveries (body_hash);
