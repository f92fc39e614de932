-- Tracking issues whose candidate data was erased on `/folio forget`: Folio ignores them until
-- a maintainer's `/folio refresh`. Only the issue's place is kept, never who it was about.
CREATE TABLE forgotten_issues (
    repo         TEXT NOT NULL,
    issue_number BIGINT NOT NULL,
    forgotten_at BIGINT NOT NULL,
    answered     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (repo, issue_number)
);
