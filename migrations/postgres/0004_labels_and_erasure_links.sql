-- Repositories where Folio made its labels (at install, or at the repository's first
-- submission), so that it checks them once. Lower-case full names; no candidate data.
CREATE TABLE repo_labels (
    repo            TEXT PRIMARY KEY,
    installation_id BIGINT NOT NULL,
    made_at         BIGINT NOT NULL
);

-- A delivery about a tracking issue names it, so that erasing the submission erases the
-- deliveries too.
ALTER TABLE deliveries ADD COLUMN repo TEXT;
ALTER TABLE deliveries ADD COLUMN issue_number BIGINT;
CREATE INDEX deliveries_issue ON deliveries (repo, issue_number);

-- What an evaluation read from the caches: erasing a submission erases the cached responses
-- and repository snapshots fetched for it, unless another submission read them too.
-- kind 'http': (scope, url) of http_cache; kind 'snapshot': (repo, commit_sha) of
-- repo_snapshots.
CREATE TABLE submission_cache (
    submission_id BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    k1            TEXT NOT NULL,
    k2            TEXT NOT NULL,
    PRIMARY KEY (submission_id, kind, k1, k2)
);
CREATE INDEX submission_cache_entry ON submission_cache (kind, k1, k2);
