-- Crash-loop protection: an analysis that aborts the process (an abort, an out-of-memory kill,
-- a stack overflow) is not a panic that Folio can catch. A row is written before a
-- repository's analysis starts and deleted when it returns; a row still present when the job
-- runs again counts the starts that never ended. Rows go with their submission (erasure).
CREATE TABLE analysis_attempts (
    submission_id BIGINT NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    repo TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    unclean_ends BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    PRIMARY KEY (submission_id, repo, commit_sha)
);
