//! What several of the store's methods share (the one erasure path, the queue's way back
//! from running, the purge), and the longer of its methods.

use sqlx::{AssertSqlSafe, Transaction};

use super::{Backend, SqlStore};
use crate::store::{
    CachedResponse, Erased, EvaluationOutcome, EvaluationRecord, ISSUE_JOB_PREFIXES, Job, JobState,
    OutcomeCounts, PurgeCounts, QueueStats, StoreError, Submission, UnknownState, issue_job_key,
};

const DAY_MS: i64 = 86_400_000;

impl<B: Backend> SqlStore<B>
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
    /// Whether a pending job waits on the key.
    pub(super) async fn pending_on(
        tx: &mut Transaction<'_, B>,
        key: &str,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM jobs WHERE dedupe_key = $1 AND state = 'pending'")
                .bind(key)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(found.is_some())
    }

    /// Moves a running job back to pending (retry or release), or to dead, or to superseded
    /// when a newer pending job for the same key exists (the unique index allows only one
    /// pending job per key).
    pub(super) async fn requeue_or_finish(
        &self,
        id: i64,
        owner: &str,
        error: Option<&str>,
        retry_at: Option<i64>,
        uncount: bool,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        let key: Option<String> = sqlx::query_scalar(
            "SELECT dedupe_key FROM jobs WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind(id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(key) = key else { return Ok(false) };
        let next = match retry_at {
            None => JobState::Dead,
            Some(_) if Self::pending_on(&mut tx, &key).await? => JobState::Superseded,
            Some(_) => JobState::Pending,
        };
        sqlx::query(
            "UPDATE jobs SET state = $1, run_at = $2, lease_owner = NULL, lease_until = NULL, \
             last_error = COALESCE($3, last_error), attempts = attempts - $4, updated_at = $5 WHERE id = $6",
        )
        .bind(next.as_str())
        .bind(retry_at.unwrap_or(now))
        .bind(error)
        .bind(i64::from(uncount))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The one erasure path (`folio forget`, `/folio forget`, deleted issues and
    /// installations, expiry): one issue's submission, its evaluations, what was fetched for
    /// it alone and every job on the issue, but the running `keep` job, whose row loses who
    /// asked.
    pub(super) async fn erase_issue(
        tx: &mut Transaction<'_, B>,
        repo: &str,
        issue_number: i64,
        keep: Option<i64>,
    ) -> Result<Erased, StoreError> {
        let [a, b, c] = ISSUE_JOB_PREFIXES.map(|p| issue_job_key(p, repo, issue_number));
        let keep = keep.unwrap_or(-1);
        let jobs = sqlx::query("DELETE FROM jobs WHERE dedupe_key IN ($1, $2, $3) AND id <> $4")
            .bind(a)
            .bind(b)
            .bind(c)
            .bind(keep)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE jobs SET actor = NULL WHERE id = $1")
            .bind(keep)
            .execute(&mut **tx)
            .await?;
        let mut counts = [0; 6];
        // What was fetched for this submission alone: an entry another submission read too
        // is still in use and stays (it expires with the cache).
        const OF_ISSUE: &str =
            "(SELECT id FROM submissions WHERE LOWER(repo) = LOWER($1) AND issue_number = $2)";
        let statements = [
            "DELETE FROM deliveries WHERE LOWER(repo) = LOWER($1) AND issue_number = $2"
                .to_string(),
            format!(
                "DELETE FROM http_cache WHERE (scope, url) IN (SELECT l.k1, l.k2 FROM submission_cache l \
                 WHERE l.kind = 'http' AND l.submission_id IN {OF_ISSUE} \
                 AND NOT EXISTS (SELECT 1 FROM submission_cache o WHERE o.kind = l.kind AND o.k1 = l.k1 \
                 AND o.k2 = l.k2 AND o.submission_id <> l.submission_id))"
            ),
            format!(
                "DELETE FROM repo_snapshots WHERE (repo, commit_sha) IN (SELECT l.k1, l.k2 FROM submission_cache l \
                 WHERE l.kind = 'snapshot' AND l.submission_id IN {OF_ISSUE} \
                 AND NOT EXISTS (SELECT 1 FROM submission_cache o WHERE o.kind = l.kind AND o.k1 = l.k1 \
                 AND o.k2 = l.k2 AND o.submission_id <> l.submission_id))"
            ),
            format!("DELETE FROM submission_cache WHERE submission_id IN {OF_ISSUE}"),
            format!("DELETE FROM evaluations WHERE submission_id IN {OF_ISSUE}"),
            "DELETE FROM submissions WHERE LOWER(repo) = LOWER($1) AND issue_number = $2"
                .to_string(),
        ];
        for (count, statement) in counts.iter_mut().zip(statements) {
            let r = sqlx::query(sqlx::AssertSqlSafe(statement))
                .bind(repo)
                .bind(issue_number)
                .execute(&mut **tx)
                .await?;
            *count = B::rows(&r);
        }
        let [
            deliveries,
            http,
            snapshots,
            _links,
            evaluations,
            submissions,
        ] = counts;
        Ok(Erased {
            submissions,
            evaluations,
            jobs: B::rows(&jobs),
            deliveries,
            cached: http + snapshots,
        })
    }

    /// Applies the retention periods: a submission closed `closed_issue_days` ago goes the
    /// way of any erasure; caches, finished jobs and delivery ids go after `cache_days`.
    pub(super) async fn purge_expired(
        &self,
        now: i64,
        closed_issue_days: u32,
        cache_days: u32,
    ) -> Result<PurgeCounts, StoreError> {
        let closed_cutoff = now - i64::from(closed_issue_days) * DAY_MS;
        let cache_cutoff = now - i64::from(cache_days) * DAY_MS;
        let mut tx = self.pool.begin().await?;
        let expired: Vec<(String, i64)> = sqlx::query_as(
            "SELECT repo, issue_number FROM submissions WHERE state = 'closed' AND closed_at IS NOT NULL AND closed_at < $1",
        )
        .bind(closed_cutoff)
        .fetch_all(&mut *tx)
        .await?;
        let mut erased = Erased::default();
        for (repo, number) in expired {
            erased += Self::erase_issue(&mut tx, &repo, number, None).await?;
        }
        // Links left by an evaluation that finished after its submission was erased.
        sqlx::query(
            "DELETE FROM submission_cache WHERE submission_id NOT IN (SELECT id FROM submissions)",
        )
        .execute(&mut *tx)
        .await?;
        // Finished jobs and old delivery ids are operational history, kept as long as the
        // cache: long enough to dedupe any redelivery GitHub would still make.
        let mut counts = [0; 4];
        for (count, statement) in counts.iter_mut().zip([
            "DELETE FROM http_cache WHERE stored_at < $1",
            "DELETE FROM repo_snapshots WHERE stored_at < $1",
            "DELETE FROM jobs WHERE state IN ('done', 'superseded') AND updated_at < $1",
            "DELETE FROM deliveries WHERE received_at < $1",
        ]) {
            let r = sqlx::query(statement)
                .bind(cache_cutoff)
                .execute(&mut *tx)
                .await?;
            *count = B::rows(&r);
        }
        tx.commit().await?;
        let [http_cache, snapshots, jobs, deliveries] = counts;
        Ok(PurgeCounts {
            submissions: erased.submissions,
            http_cache,
            snapshots,
            jobs,
            deliveries,
        })
    }

    /// The queue's counts by state, and how long the oldest due job has waited.
    pub(super) async fn stats(&self) -> Result<QueueStats, StoreError> {
        let counts: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        let mut stats = QueueStats::default();
        for (state, n) in counts {
            match state.parse::<JobState>() {
                Ok(JobState::Pending) => stats.pending = n,
                Ok(JobState::Running) => stats.running = n,
                Ok(JobState::Dead) => stats.dead = n,
                Ok(JobState::Done) => stats.done = n,
                Ok(JobState::Superseded) => {}
                Err(e) => return Err(StoreError::Corrupt(e.to_string())),
            }
        }
        let now = self.now();
        let oldest: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(run_at) FROM jobs WHERE state = 'pending' AND run_at <= $1",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        stats.oldest_due_age_ms = oldest.map(|t| (now - t).max(0)).unwrap_or(0);
        Ok(stats)
    }

    /// Deletes the installation and every candidate's data that came through it.
    pub(super) async fn erase_installation(&self, id: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let issues: Vec<(String, i64)> =
            sqlx::query_as("SELECT repo, issue_number FROM submissions WHERE installation_id = $1")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        let mut erased = Erased::default();
        for (repo, number) in issues {
            erased += Self::erase_issue(&mut tx, &repo, number, None).await?;
        }
        sqlx::query("DELETE FROM http_cache WHERE scope = $1")
            .bind(format!("installation:{id}"))
            .execute(&mut *tx)
            .await?;
        for statement in [
            "DELETE FROM deliveries WHERE installation_id = $1",
            "DELETE FROM jobs WHERE installation_id = $1 AND state <> 'running'",
            "DELETE FROM repo_labels WHERE installation_id = $1",
            "DELETE FROM installations WHERE id = $1",
        ] {
            sqlx::query(statement).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        B::finish_erasure(self).await?;
        Ok(erased.submissions)
    }

    /// Re-queues a dead job; false when it is not dead.
    pub(super) async fn requeue_dead(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let key: Option<String> =
            sqlx::query_scalar("SELECT dedupe_key FROM jobs WHERE id = $1 AND state = 'dead'")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(key) = key else { return Ok(false) };
        // A newer request for the same issue is already queued: it will do the work.
        let sql = if Self::pending_on(&mut tx, &key).await? {
            "UPDATE jobs SET state = 'superseded', updated_at = $1 WHERE id = $2"
        } else {
            "UPDATE jobs SET state = 'pending', attempts = 0, run_at = $1, updated_at = $1 WHERE id = $2"
        };
        sqlx::query(sql)
            .bind(self.now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes every submission naming the login as candidate or author.
    pub(super) async fn erase_login(&self, login: &str) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let issues: Vec<(String, i64)> = sqlx::query_as(
            "SELECT repo, issue_number FROM submissions WHERE LOWER(candidate) = LOWER($1) OR LOWER(author) = LOWER($1)",
        )
        .bind(login)
        .fetch_all(&mut *tx)
        .await?;
        let mut erased = Erased::default();
        for (repo, number) in issues {
            erased += Self::erase_issue(&mut tx, &repo, number, None).await?;
        }
        tx.commit().await?;
        B::finish_erasure(self).await?;
        Ok(erased.submissions)
    }

    /// Outcome counts since `since`, for the status page.
    pub(super) async fn count_outcomes(&self, since: i64) -> Result<OutcomeCounts, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT outcome, COUNT(*) FROM evaluations WHERE created_at >= $1 GROUP BY outcome",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut c = OutcomeCounts::default();
        for (outcome, n) in rows {
            let outcome: EvaluationOutcome = outcome
                .parse()
                .map_err(|e: UnknownState| StoreError::Corrupt(e.to_string()))?;
            match outcome {
                EvaluationOutcome::Evaluated => c.evaluated += n,
                EvaluationOutcome::NeedsInfo => c.needs_info += n,
                EvaluationOutcome::Failed => c.failed += n,
                EvaluationOutcome::AwaitingConfirmation
                | EvaluationOutcome::ConfigError
                | EvaluationOutcome::RateLimited => c.other += n,
            }
        }
        Ok(c)
    }

    /// Creates or updates an issue's submission, following a rename when the id is known.
    pub(super) async fn upsert_issue(
        &self,
        installation_id: i64,
        repo: &str,
        repo_id: Option<i64>,
        issue_number: i64,
        candidate: Option<&str>,
        author: Option<&str>,
    ) -> Result<Submission, StoreError> {
        if let Some(repo_id) = repo_id {
            crate::store::Store::follow_rename(self, repo_id, repo, issue_number).await?;
            // Another repository held this name before (it was renamed, and no event has
            // come from it since): its submission gives the name up, keeping a placeholder
            // until its own next event names it again.
            sqlx::query(
                "UPDATE submissions SET repo = 'renamed-repository-' || CAST(repo_id AS TEXT), updated_at = $1 \
                 WHERE repo = $2 AND issue_number = $3 AND repo_id IS NOT NULL AND repo_id <> $4",
            )
            .bind(self.now())
            .bind(repo)
            .bind(issue_number)
            .bind(repo_id)
            .execute(&self.pool)
            .await?;
        }
        // A submission stored before its repository's id was known takes the id now.
        let sql = format!(
            "INSERT INTO submissions (installation_id, repo, repo_id, issue_number, candidate, author, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $7) ON CONFLICT (repo, issue_number) DO UPDATE SET \
             installation_id = excluded.installation_id, \
             repo_id = COALESCE(excluded.repo_id, submissions.repo_id), \
             candidate = COALESCE(excluded.candidate, submissions.candidate), \
             author = COALESCE(excluded.author, submissions.author), updated_at = excluded.updated_at \
             RETURNING {}",
            crate::store::SUBMISSION_COLUMNS
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(installation_id)
            .bind(repo)
            .bind(repo_id)
            .bind(issue_number)
            .bind(candidate)
            .bind(author)
            .bind(self.now())
            .fetch_one(&self.pool)
            .await?)
    }
}
