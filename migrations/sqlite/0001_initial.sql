-- Timestamps are Unix milliseconds (BIGINT) so that both backends share the same Rust types.

CREATE TABLE installations (
    id            BIGINT PRIMARY KEY,
    account_login TEXT NOT NULL,
    account_type  TEXT NOT NULL DEFAULT 'User',
    suspended     INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE deliveries (
    guid            TEXT PRIMARY KEY,
    event           TEXT NOT NULL,
    action          TEXT,
    installation_id BIGINT,
    received_at     BIGINT NOT NULL
);
CREATE INDEX deliveries_received ON deliveries (received_at);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    dedupe_key   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    actor        TEXT,
    delivery     TEXT,
    state        TEXT NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_at       BIGINT NOT NULL,
    lease_owner  TEXT,
    lease_until  BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
-- At most one pending and one running job per key: coalescing, and no job for one issue on
-- two workers at once.
CREATE UNIQUE INDEX jobs_one_pending ON jobs (dedupe_key) WHERE state = 'pending';
CREATE UNIQUE INDEX jobs_one_running ON jobs (dedupe_key) WHERE state = 'running';
CREATE INDEX jobs_claim ON jobs (state, run_at);

CREATE TABLE submissions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    installation_id BIGINT NOT NULL,
    repo            TEXT NOT NULL,
    issue_number    BIGINT NOT NULL,
    candidate       TEXT,
    author          TEXT,
    confirmed_by    TEXT,
    state           TEXT NOT NULL DEFAULT 'open',
    closed_at       BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (repo, issue_number)
);
CREATE INDEX submissions_candidate ON submissions (candidate);
CREATE INDEX submissions_installation ON submissions (installation_id);

CREATE TABLE evaluations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id BIGINT NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    outcome       TEXT NOT NULL,
    report_json   TEXT,
    comment_id    BIGINT,
    content_hash  TEXT,
    api_requests  BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);
CREATE INDEX evaluations_submission ON evaluations (submission_id, created_at);

CREATE TABLE http_cache (
    scope         TEXT NOT NULL,
    url           TEXT NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    body          BLOB NOT NULL,
    stored_at     BIGINT NOT NULL,
    PRIMARY KEY (scope, url)
);

CREATE TABLE repo_snapshots (
    repo       TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    data       BLOB NOT NULL,
    stored_at  BIGINT NOT NULL,
    PRIMARY KEY (repo, commit_sha)
);

CREATE TABLE redeliveries (
    delivery_id  BIGINT PRIMARY KEY,
    guid         TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_attempt BIGINT NOT NULL
);
