//! Crash-loop protection for the analysis of one repository. `catch_unwind` turns a panic
//! into a warning, but an abort, an out-of-memory kill or a stack overflow ends the process,
//! and the job that was running is claimed again after the restart, with the same file. So the
//! start of each repository's analysis is written down before it runs, and cleared when it
//! returns: a record still there when the job runs again is a start that never ended.
//!
//! A trait of its own (a supertrait of [`super::Store`]), implemented apart from the shared
//! store methods, so that it stays one self-contained piece of each backend.

use async_trait::async_trait;
use sqlx::Row;

use super::StoreError;

/// Which analysis: a repository at a commit, for one submission.
#[derive(Debug, Clone, Copy)]
pub struct AnalysisKey<'a> {
    pub submission_id: i64,
    /// `owner/name`, lower-cased by the caller.
    pub repo: &'a str,
    pub commit_sha: &'a str,
}

#[async_trait]
pub trait AnalysisAttempts {
    /// How many analyses of this repository at this commit started for this submission and
    /// never returned (0 when none).
    async fn unclean_analysis_ends(&self, key: AnalysisKey<'_>) -> Result<i64, StoreError>;
    /// Written before the analysis starts: counted as unclean until [`Self::analysis_ended`].
    async fn analysis_started(&self, key: AnalysisKey<'_>) -> Result<(), StoreError>;
    /// The analysis returned (with findings or a warning): nothing is held against it.
    async fn analysis_ended(&self, key: AnalysisKey<'_>) -> Result<(), StoreError>;
}

const SELECT_UNCLEAN: &str = "SELECT unclean_ends FROM analysis_attempts \
     WHERE submission_id = $1 AND repo = $2 AND commit_sha = $3";
const UPSERT_STARTED: &str = "INSERT INTO analysis_attempts \
     (submission_id, repo, commit_sha, unclean_ends, started_at) VALUES ($1, $2, $3, 1, $4) \
     ON CONFLICT (submission_id, repo, commit_sha) DO UPDATE \
     SET unclean_ends = analysis_attempts.unclean_ends + 1, started_at = excluded.started_at";
const DELETE_ENDED: &str = "DELETE FROM analysis_attempts \
     WHERE submission_id = $1 AND repo = $2 AND commit_sha = $3";

// The same statements on both backends; each is one row on the pool (the SQLite writer is for
// multi-row writes).
#[async_trait]
impl AnalysisAttempts for super::SqliteStore {
    async fn unclean_analysis_ends(&self, key: AnalysisKey<'_>) -> Result<i64, StoreError> {
        let row = sqlx::query(SELECT_UNCLEAN)
            .bind(key.submission_id)
            .bind(key.repo)
            .bind(key.commit_sha)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::classify)?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>(0)?,
            None => 0,
        })
    }

    async fn analysis_started(&self, key: AnalysisKey<'_>) -> Result<(), StoreError> {
        sqlx::query(UPSERT_STARTED)
            .bind(key.submission_id)
            .bind(key.repo)
            .bind(key.commit_sha)
            .bind(super::now_ms())
            .execute(self.pool())
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }

    async fn analysis_ended(&self, key: AnalysisKey<'_>) -> Result<(), StoreError> {
        sqlx::query(DELETE_ENDED)
            .bind(key.submission_id)
            .bind(key.repo)
            .bind(key.commit_sha)
            .execute(self.pool())
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }
}

#[async_trait]
impl AnalysisAttempts for super::PgStore {
    async fn unclean_analysis_ends(&self, key: AnalysisKey<'_>) -> Result<i64, StoreError> {
        let row = sqlx::query(SELECT_UNCLEAN)
            .bind(key.submission_id)
            .bind(key.repo)
            .bind(key.commit_sha)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::classify)?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>(0)?,
            None => 0,
        })
    }

    async fn analysis_started(&self, key: AnalysisKey<'_>) -> Result<(), StoreError> {
        sqlx::query(UPSERT_STARTED)
            .bind(key.submission_id)
            .bind(key.repo)
            .bind(key.commit_sha)
            .bind(super::now_ms())
            .execute(self.pool())
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }

    async fn analysis_ended(&self, key: AnalysisKey<'_>) -> Result<(), StoreError> {
        sqlx::query(DELETE_ENDED)
            .bind(key.submission_id)
            .bind(key.repo)
            .bind(key.commit_sha)
            .execute(self.pool())
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }
}
