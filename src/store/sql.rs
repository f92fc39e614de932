//! The store over SQL, written once for both backends: [`SqlStore`] is generic over the sqlx
//! database, and what differs (migrations, the claim's lock clause, SQLite's writer thread)
//! comes from [`Backend`]. Erasure, the queue's state changes and the purge, which several
//! methods share, are in `sql/shared.rs`.
//!
//! The bounds below say what the shared SQL needs of a backend's types. Rust does not carry a
//! trait's where clauses on other types over to its users, so each generic `impl` block
//! states them (twice: here and in `shared.rs`).

mod backend;
mod shared;

pub use backend::Backend;
use backend::CLAIM_HEAD;
pub(super) use backend::{JOB_UPSERT_CONFLICT, UPSERT_CACHE, UPSERT_SNAPSHOT};

use std::time::Duration;

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, Pool};

use super::{
    CacheLink, CachedResponse, Confirmation, Erased, EvaluationRecord, IngestOutcome, Job,
    JobState, NewDelivery, NewJob, OutcomeCounts, PurgeCounts, QueueStats, Store, StoreError,
    Submission,
};
use crate::clock::SharedClock;

/// A store on one SQL database.
pub struct SqlStore<B: Backend> {
    pub(super) pool: Pool<B>,
    pub(super) clock: SharedClock,
    /// What the backend keeps beside the pool (SQLite: its writer thread).
    pub(super) extra: B::Extra,
}

impl<B: Backend> SqlStore<B> {
    pub(super) fn now(&self) -> i64 {
        self.clock.now().as_millis()
    }

    /// The connection pool, for tests and tools that read the database directly.
    pub fn pool(&self) -> &Pool<B> {
        &self.pool
    }
}

#[async_trait]
impl<B: Backend> Store for SqlStore<B>
where
    for<'c> &'c mut B::Connection: sqlx::Executor<'c, Database = B>,
    B::Arguments: sqlx::IntoArguments<B>,
    for<'q> i64: sqlx::Encode<'q, B> + sqlx::Decode<'q, B> + sqlx::Type<B>,
    for<'q> &'q str: sqlx::Encode<'q, B> + sqlx::Type<B>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, B>,
    for<'q> Option<i64>: sqlx::Encode<'q, B>,
    for<'q> String: sqlx::Encode<'q, B> + sqlx::Decode<'q, B> + sqlx::Type<B>,
    for<'q> Vec<u8>: sqlx::Decode<'q, B> + sqlx::Type<B>,
    usize: sqlx::ColumnIndex<B::Row>,
    for<'r> Job: sqlx::FromRow<'r, B::Row>,
    for<'r> Submission: sqlx::FromRow<'r, B::Row>,
    for<'r> EvaluationRecord: sqlx::FromRow<'r, B::Row>,
    for<'r> CachedResponse: sqlx::FromRow<'r, B::Row>,
{
    fn backend(&self) -> &'static str {
        B::BACKEND
    }

    fn clock(&self) -> &SharedClock {
        &self.clock
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        B::migrate(&self.pool).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn ingest(&self, batch: Vec<NewDelivery>) -> Result<Vec<IngestOutcome>, StoreError> {
        B::ingest(self, batch).await
    }

    async fn enqueue(&self, job: &NewJob) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO jobs (kind, dedupe_key, payload, actor, state, attempts, run_at, created_at, updated_at, installation_id) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $6, $7) \
             ON CONFLICT (dedupe_key) WHERE state = 'pending' DO UPDATE SET \
             payload = excluded.payload, actor = COALESCE(excluded.actor, jobs.actor), \
             updated_at = excluded.updated_at RETURNING id",
        )
        .bind(job.kind.as_str())
        .bind(job.dedupe_key.as_str())
        .bind(job.payload.as_str())
        .bind(job.actor.as_deref())
        .bind(job.run_at)
        .bind(self.now())
        .bind(job.installation_id)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn claim(&self, owner: &str, lease: Duration) -> Result<Option<Job>, StoreError> {
        let now = self.clock.now();
        let sql = format!(
            "{CLAIM_HEAD}{}) RETURNING {}",
            B::CLAIM_LOCK,
            super::JOB_COLUMNS
        );
        let claimed = sqlx::query_as(AssertSqlSafe(sql))
            .bind(owner)
            .bind(now.plus(lease).as_millis())
            .bind(now.as_millis())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::from);
        match claimed {
            // Another replica claimed a job for the same key at the same moment; the unique
            // index stopped the second run. Nothing to do this round.
            Err(StoreError::Conflict(_)) => Ok(None),
            other => other,
        }
    }

    async fn heartbeat(&self, id: i64, owner: &str, lease: Duration) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let r = sqlx::query(
            "UPDATE jobs SET lease_until = $1, updated_at = $2 WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
        )
        .bind(now.plus(lease).as_millis())
        .bind(now.as_millis())
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(B::rows(&r) == 1)
    }

    async fn release_orphans(&self) -> Result<u64, StoreError> {
        if !B::SINGLE_NODE {
            return Ok(0);
        }
        let r = sqlx::query("UPDATE jobs SET lease_until = 0 WHERE state = 'running'")
            .execute(&self.pool)
            .await?;
        Ok(B::rows(&r))
    }

    async fn complete(&self, id: i64, owner: &str) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = $1 \
             WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(self.now())
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(B::rows(&r) == 1)
    }

    async fn fail(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        self.requeue_or_finish(id, owner, Some(error), retry_at, false)
            .await
    }

    async fn release(&self, id: i64, owner: &str, run_at: i64) -> Result<bool, StoreError> {
        self.requeue_or_finish(id, owner, None, Some(run_at), true)
            .await
    }

    async fn defer(
        &self,
        id: i64,
        owner: &str,
        run_at: i64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.requeue_or_finish(id, owner, Some(reason), Some(run_at), true)
            .await
    }

    async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {} FROM jobs WHERE id = $1", super::JOB_COLUMNS);
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn list_jobs(&self, state: Option<JobState>, limit: i64) -> Result<Vec<Job>, StoreError> {
        let columns = super::JOB_COLUMNS;
        let query = match state {
            Some(s) => sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {columns} FROM jobs WHERE state = $1 ORDER BY id DESC LIMIT $2"
            )))
            .bind(s.as_str()),
            None => sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {columns} FROM jobs ORDER BY id DESC LIMIT $1"
            ))),
        };
        Ok(query.bind(limit).fetch_all(&self.pool).await?)
    }

    async fn retry_dead(&self, id: i64) -> Result<bool, StoreError> {
        self.requeue_dead(id).await
    }

    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        self.stats().await
    }

    async fn delivery_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM deliveries")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn upsert_installation(
        &self,
        id: i64,
        account_login: &str,
        account_type: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO installations (id, account_login, account_type, suspended, created_at, updated_at) \
             VALUES ($1, $2, $3, 0, $4, $4) ON CONFLICT (id) DO UPDATE SET \
             account_login = excluded.account_login, account_type = excluded.account_type, updated_at = excluded.updated_at",
        )
        .bind(id)
        .bind(account_login)
        .bind(account_type)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_installation_suspended(&self, id: i64, suspended: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE installations SET suspended = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(suspended))
            .bind(self.now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_installation(&self, id: i64) -> Result<u64, StoreError> {
        self.erase_installation(id).await
    }

    async fn installation_count(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM installations WHERE suspended = 0")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn installation_suspended(&self, id: i64) -> Result<bool, StoreError> {
        let suspended: Option<i64> =
            sqlx::query_scalar("SELECT suspended FROM installations WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(suspended.is_some_and(|s| s != 0))
    }

    async fn labels_made(&self, repo: &str) -> Result<bool, StoreError> {
        let row: Option<i64> =
            sqlx::query_scalar("SELECT installation_id FROM repo_labels WHERE repo = LOWER($1)")
                .bind(repo)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some())
    }

    async fn record_labels_made(&self, installation_id: i64, repo: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO repo_labels (repo, installation_id, made_at) VALUES (LOWER($1), $2, $3) \
             ON CONFLICT (repo) DO UPDATE SET installation_id = excluded.installation_id, made_at = excluded.made_at",
        )
        .bind(repo)
        .bind(installation_id)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn link_cache(&self, submission_id: i64, links: &[CacheLink]) -> Result<(), StoreError> {
        B::link_cache(self, submission_id, links).await
    }

    async fn upsert_submission(
        &self,
        installation_id: i64,
        repo: &str,
        repo_id: Option<i64>,
        issue_number: i64,
        candidate: Option<&str>,
        author: Option<&str>,
    ) -> Result<Submission, StoreError> {
        self.upsert_issue(
            installation_id,
            repo,
            repo_id,
            issue_number,
            candidate,
            author,
        )
        .await
    }

    async fn submission(
        &self,
        repo: &str,
        issue_number: i64,
    ) -> Result<Option<Submission>, StoreError> {
        let sql = format!(
            "SELECT {} FROM submissions WHERE repo = $1 AND issue_number = $2",
            super::SUBMISSION_COLUMNS
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(repo)
            .bind(issue_number)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn follow_rename(
        &self,
        repo_id: i64,
        repo: &str,
        issue_number: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE submissions SET repo = $1, updated_at = $2 \
             WHERE repo_id = $3 AND issue_number = $4 AND repo <> $1",
        )
        .bind(repo)
        .bind(self.now())
        .bind(repo_id)
        .bind(issue_number)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn confirm_submission(
        &self,
        id: i64,
        confirmation: Option<&Confirmation>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE submissions SET confirmed_by = $1, confirmed_candidate = $2, confirmed_links = $3, \
             updated_at = $4 WHERE id = $5",
        )
        .bind(confirmation.map(|c| c.by.as_str()))
        .bind(confirmation.map(|c| c.candidate.as_str()))
        .bind(confirmation.map(|c| c.links.as_str()))
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_issue_state(
        &self,
        repo: &str,
        repo_id: Option<i64>,
        issue_number: i64,
        closed_at: Option<i64>,
    ) -> Result<(), StoreError> {
        if let Some(repo_id) = repo_id {
            self.follow_rename(repo_id, repo, issue_number).await?;
        }
        let state = match closed_at {
            Some(_) => super::SubmissionState::Closed,
            None => super::SubmissionState::Open,
        };
        sqlx::query(
            // Not another repository's submission that had this name before.
            "UPDATE submissions SET state = $1, closed_at = $2, updated_at = $3 WHERE repo = $4 AND issue_number = $5 \
             AND ($6 IS NULL OR repo_id IS NULL OR repo_id = $6)",
        )
        .bind(state.as_str())
        .bind(closed_at)
        .bind(self.now())
        .bind(repo)
        .bind(issue_number)
        .bind(repo_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_submission(
        &self,
        repo: &str,
        issue_number: i64,
        running_job: Option<i64>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let erased = Self::erase_issue(&mut tx, repo, issue_number, running_job).await?;
        tx.commit().await?;
        B::finish_erasure(self).await?;
        Ok(erased.submissions)
    }

    async fn forget_login(&self, login: &str) -> Result<u64, StoreError> {
        self.erase_login(login).await
    }

    async fn forget_submission(
        &self,
        repo: &str,
        issue_number: i64,
        running_job: Option<i64>,
    ) -> Result<Erased, StoreError> {
        let mut tx = self.pool.begin().await?;
        let erased = Self::erase_issue(&mut tx, repo, issue_number, running_job).await?;
        sqlx::query(
            "INSERT INTO forgotten_issues (repo, issue_number, forgotten_at, answered) VALUES (LOWER($1), $2, $3, 0) \
             ON CONFLICT (repo, issue_number) DO NOTHING",
        )
        .bind(repo)
        .bind(issue_number)
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        B::finish_erasure(self).await?;
        Ok(erased)
    }

    async fn forgotten(&self, repo: &str, issue_number: i64) -> Result<Option<bool>, StoreError> {
        let answered: Option<i64> = sqlx::query_scalar(
            "SELECT answered FROM forgotten_issues WHERE repo = LOWER($1) AND issue_number = $2",
        )
        .bind(repo)
        .bind(issue_number)
        .fetch_optional(&self.pool)
        .await?;
        Ok(answered.map(|a| a != 0))
    }

    async fn mark_forget_answered(&self, repo: &str, issue_number: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE forgotten_issues SET answered = 1 WHERE repo = LOWER($1) AND issue_number = $2",
        )
        .bind(repo)
        .bind(issue_number)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn clear_forgotten(&self, repo: &str, issue_number: i64) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "DELETE FROM forgotten_issues WHERE repo = LOWER($1) AND issue_number = $2",
        )
        .bind(repo)
        .bind(issue_number)
        .execute(&self.pool)
        .await?;
        Ok(B::rows(&r) > 0)
    }

    async fn submissions_by_author_since(
        &self,
        installation_id: i64,
        author: &str,
        since: i64,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM submissions WHERE installation_id = $1 AND LOWER(author) = LOWER($2) AND created_at >= $3",
        )
        .bind(installation_id)
        .bind(author)
        .bind(since)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn record_evaluation(&self, rec: &EvaluationRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO evaluations (submission_id, outcome, report_json, comment_id, content_hash, api_requests, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(rec.submission_id)
        .bind(rec.outcome.as_str())
        .bind(rec.report_json.as_deref())
        .bind(rec.comment_id)
        .bind(rec.content_hash.as_deref())
        .bind(rec.api_requests)
        .bind(rec.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn last_evaluation(
        &self,
        submission_id: i64,
    ) -> Result<Option<EvaluationRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT submission_id, outcome, report_json, comment_id, content_hash, api_requests, created_at \
             FROM evaluations WHERE submission_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(submission_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn last_comment_id(&self, submission_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT comment_id FROM evaluations WHERE submission_id = $1 AND comment_id IS NOT NULL \
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(submission_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn evaluations_since(&self, submission_id: i64, since: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM evaluations WHERE submission_id = $1 AND created_at >= $2 AND outcome <> 'rate_limited'",
        )
        .bind(submission_id)
        .bind(since)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn outcome_counts(&self, since: i64) -> Result<OutcomeCounts, StoreError> {
        self.count_outcomes(since).await
    }

    async fn cache_get(
        &self,
        scope: &str,
        url: &str,
    ) -> Result<Option<CachedResponse>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT etag, last_modified, body, stored_at FROM http_cache WHERE scope = $1 AND url = $2",
        )
        .bind(scope)
        .bind(url)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn cache_put(
        &self,
        scope: &str,
        url: &str,
        response: &CachedResponse,
    ) -> Result<(), StoreError> {
        B::cache_put(self, scope, url, response).await
    }

    async fn snapshot_get(&self, repo: &str, commit: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT data FROM repo_snapshots WHERE repo = $1 AND commit_sha = $2",
        )
        .bind(repo)
        .bind(commit)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn snapshot_put(&self, repo: &str, commit: &str, data: &[u8]) -> Result<(), StoreError> {
        B::snapshot_put(self, repo, commit, data).await
    }

    async fn purge(
        &self,
        now: i64,
        closed_issue_days: u32,
        cache_days: u32,
    ) -> Result<PurgeCounts, StoreError> {
        self.purge_expired(now, closed_issue_days, cache_days).await
    }

    async fn redelivery_attempts(&self, delivery_id: i64) -> Result<i64, StoreError> {
        let attempts: Option<i64> =
            sqlx::query_scalar("SELECT attempts FROM redeliveries WHERE delivery_id = $1")
                .bind(delivery_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(attempts.unwrap_or(0))
    }

    async fn record_redelivery(&self, delivery_id: i64, guid: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO redeliveries (delivery_id, guid, attempts, last_attempt) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (delivery_id) DO UPDATE SET attempts = redeliveries.attempts + 1, last_attempt = excluded.last_attempt",
        )
        .bind(delivery_id)
        .bind(guid)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn has_delivery(&self, guid: &str) -> Result<bool, StoreError> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT guid FROM deliveries WHERE guid = $1")
                .bind(guid)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    async fn try_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let taken: Option<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, owner, until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until \
             WHERE leases.owner = excluded.owner OR leases.until < $4 \
             RETURNING owner",
        )
        .bind(name)
        .bind(owner)
        .bind(now.plus(ttl).as_millis())
        .bind(now.as_millis())
        .fetch_optional(&self.pool)
        .await?;
        Ok(taken.is_some())
    }
}
