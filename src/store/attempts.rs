//! Crash-loop protection for the analysis of one repository. `catch_unwind` turns a panic
//! into a warning, but an abort, an out-of-memory kill or a stack overflow ends the process,
//! and the job that was running is claimed again after the restart, with the same file. So the
//! start of each repository's analysis is written down before it runs, and cleared when it
//! returns: a record still there when the job runs again is a start that never ended.
//!
//! The statements are the store's (`Store::analysis_started` and its two siblings); the key
//! and the SQL live here, beside this explanation.

/// Which analysis: a repository at a commit, for one submission.
#[derive(Debug, Clone, Copy)]
pub struct AnalysisKey<'a> {
    pub submission_id: i64,
    /// `owner/name`, lower-cased by the caller.
    pub repo: &'a str,
    pub commit_sha: &'a str,
}

pub(super) const SELECT_UNCLEAN: &str = "SELECT unclean_ends FROM analysis_attempts \
     WHERE submission_id = $1 AND repo = $2 AND commit_sha = $3";
pub(super) const UPSERT_STARTED: &str = "INSERT INTO analysis_attempts \
     (submission_id, repo, commit_sha, unclean_ends, started_at) VALUES ($1, $2, $3, 1, $4) \
     ON CONFLICT (submission_id, repo, commit_sha) DO UPDATE \
     SET unclean_ends = analysis_attempts.unclean_ends + 1, started_at = excluded.started_at";
pub(super) const DELETE_ENDED: &str = "DELETE FROM analysis_attempts \
     WHERE submission_id = $1 AND repo = $2 AND commit_sha = $3";
