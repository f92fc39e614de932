//! Durable storage (SPEC §7): deliveries, the job queue, submissions, evaluations and caches.
//!
//! One trait, two implementations: SQLite (the embedded default) and PostgreSQL (several
//! replicas). Most SQL is shared through `impl_store_methods!`; what differs is given per
//! backend: the job claim's lock clause, and the write paths SQLite runs on its own writer
//! thread (the webhook's group commit, cache writes). Timestamps are Unix milliseconds
//! everywhere.

mod attempts;
mod postgres;
mod sqlite;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

pub use attempts::{AnalysisAttempts, AnalysisKey};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is out of space; the caller should answer 503.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot open database: {0}")]
    Open(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A statement failed on SQLite's writer thread (which speaks to SQLite without sqlx).
    #[error("database error: {0}")]
    Write(String),
}

impl StoreError {
    pub(crate) fn classify(e: sqlx::Error) -> Self {
        let text = e.to_string();
        let lower = text.to_ascii_lowercase();
        // PostgreSQL SQLSTATEs of a server that is away or out of room, not of a bad query:
        // class 08 (connection), 53 (insufficient resources: disk full, too many
        // connections), 57P01-57P03 (shut down, terminated, cannot connect now), 55000 (e.g.
        // the database does not allow connections at the moment).
        let away_code = match &e {
            sqlx::Error::Database(db) => db.code().is_some_and(|c| {
                c.starts_with("08") || c.starts_with("53") || c.starts_with("57P") || c == "55000"
            }),
            _ => false,
        };
        let unavailable = away_code
            || matches!(
                e,
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::Io(_)
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::Protocol(_)
            )
            || lower.contains("database or disk is full")
            || lower.contains("readonly database")
            || lower.contains("disk i/o error")
            || lower.contains("database is locked")
            || lower.contains("no space left");
        if unavailable {
            Self::Unavailable(text)
        } else {
            Self::Database(e)
        }
    }
}

/// The system clock's time in milliseconds; callers move to an injected [`crate::clock::Clock`].
pub fn now_ms() -> i64 {
    use crate::clock::Clock;
    crate::clock::SystemClock.now().as_millis()
}

/// A delivery to record, with the job it asks for (if any).
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub guid: String,
    pub event: String,
    pub action: Option<String>,
    pub installation_id: Option<i64>,
    pub received_at: i64,
    /// The tracking issue the delivery is about (repository, number), so that erasing the
    /// submission erases the delivery too.
    pub issue: Option<(String, i64)>,
    pub job: Option<NewJob>,
}

/// A cache entry an evaluation read, linked to its submission so that erasure finds it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum CacheLink {
    /// An `http_cache` row: (scope, url).
    Http { scope: String, url: String },
    /// A `repo_snapshots` row: (repository, commit).
    Snapshot { repo: String, commit: String },
}

impl CacheLink {
    pub(crate) fn parts(&self) -> (&'static str, &str, &str) {
        match self {
            Self::Http { scope, url } => ("http", scope, url),
            Self::Snapshot { repo, commit } => ("snapshot", repo, commit),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: String,
    /// Jobs with the same key coalesce while pending and never run twice at once.
    pub dedupe_key: String,
    pub payload: String,
    /// Who asked (a `/folio refresh` author); kept across coalescing.
    pub actor: Option<String>,
    pub run_at: i64,
    /// The installation the job works for; claims prefer installations with fewer running
    /// jobs.
    pub installation_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Newly recorded; `job_id` is the pending job it created or joined.
    Accepted { job_id: Option<i64> },
    /// The delivery id was seen before: acknowledged, nothing enqueued.
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub dedupe_key: String,
    pub payload: String,
    pub actor: Option<String>,
    pub delivery: Option<String>,
    pub state: String,
    /// Including the current run.
    pub attempts: i64,
    pub run_at: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    pub pending: i64,
    pub running: i64,
    pub dead: i64,
    pub done: i64,
    /// Age of the oldest pending job that is due, in milliseconds.
    pub oldest_due_age_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub id: i64,
    pub installation_id: i64,
    pub repo: String,
    pub issue_number: i64,
    pub candidate: Option<String>,
    pub author: Option<String>,
    pub confirmed_by: Option<String>,
    /// The candidate and the links' hash the confirmation was given for.
    pub confirmed_candidate: Option<String>,
    pub confirmed_links: Option<String>,
    pub state: String,
    pub closed_at: Option<i64>,
}

/// A maintainer's confirmation of someone else's submission, bound to what it confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub by: String,
    pub candidate: String,
    /// [`crate::submission::ParsedSubmission::links_hash`] of the confirmed links.
    pub links: String,
}

impl Submission {
    /// Whether a maintainer confirmed exactly this candidate and these links.
    pub fn confirmed_for(&self, candidate: &str, links: &str) -> bool {
        self.confirmed_by.is_some()
            && self
                .confirmed_candidate
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(candidate))
            && self.confirmed_links.as_deref() == Some(links)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationRecord {
    pub submission_id: i64,
    pub outcome: String,
    pub report_json: Option<String>,
    pub comment_id: Option<i64>,
    pub content_hash: Option<String>,
    pub api_requests: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedResponse {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body: Vec<u8>,
    pub stored_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeCounts {
    pub submissions: u64,
    pub http_cache: u64,
    pub snapshots: u64,
    pub jobs: u64,
    pub deliveries: u64,
}

/// What an erasure deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub submissions: u64,
    pub evaluations: u64,
    pub jobs: u64,
    pub deliveries: u64,
    /// Cached API responses and repository snapshots read for the submission alone.
    pub cached: u64,
}

impl std::ops::AddAssign for Erased {
    fn add_assign(&mut self, o: Self) {
        self.submissions += o.submissions;
        self.evaluations += o.evaluations;
        self.jobs += o.jobs;
        self.deliveries += o.deliveries;
        self.cached += o.cached;
    }
}

/// The kinds of job that work on one tracking issue, by the prefix of their dedupe key.
pub(crate) const ISSUE_JOB_PREFIXES: [&str; 3] = ["issue", "issue-state", "forget"];

/// The dedupe key of a job of kind `prefix` (one of [`ISSUE_JOB_PREFIXES`]) on an issue: the
/// queue coalesces on it, and erasure finds an issue's jobs by it.
pub(crate) fn issue_job_key(prefix: &str, repo: &str, issue_number: i64) -> String {
    format!("{prefix}:{}#{issue_number}", repo.to_ascii_lowercase())
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    pub evaluated: i64,
    pub needs_info: i64,
    pub failed: i64,
    pub other: i64,
}

/// [`AnalysisAttempts`] is part of every store: crash-loop protection for the analysis.
#[async_trait]
pub trait Store: AnalysisAttempts + Send + Sync + 'static {
    fn backend(&self) -> &'static str;
    async fn migrate(&self) -> Result<(), StoreError>;
    async fn ping(&self) -> Result<(), StoreError>;

    /// Records a batch of deliveries and their jobs in ONE transaction (group commit). The
    /// outcomes are in input order. A delivery id seen before, in the database or earlier in
    /// the batch, is a duplicate.
    async fn ingest(&self, batch: Vec<NewDelivery>) -> Result<Vec<IngestOutcome>, StoreError>;

    /// Enqueues a job outside a delivery (CLI retries, reconciliation, scheduled work).
    async fn enqueue(&self, job: &NewJob) -> Result<i64, StoreError>;

    /// Claims the next due job: a pending one whose key has no running job, or a running one
    /// whose lease expired (its worker died). `None` when there is nothing to do.
    async fn claim(&self, owner: &str, lease: Duration) -> Result<Option<Job>, StoreError>;
    /// Extends the lease; false when the lease was lost (another worker reclaimed it).
    async fn heartbeat(&self, id: i64, owner: &str, lease: Duration) -> Result<bool, StoreError>;
    /// At startup of a single-node store (SQLite), every job still marked running was cut off
    /// by the crash or kill that ended the last process: its lease ends now, so that it runs
    /// again at once instead of after the lease. Replicas (PostgreSQL) rely on short leases
    /// renewed while a job works. Returns how many jobs were released.
    async fn release_orphans(&self) -> Result<u64, StoreError>;
    async fn complete(&self, id: i64, owner: &str) -> Result<bool, StoreError>;
    /// Schedules a retry, or marks the job dead when `retry_at` is `None`.
    async fn fail(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<bool, StoreError>;
    /// Gives an unfinished job back (shutdown, deferral): it runs again at `run_at`, and this
    /// run is not counted as an attempt.
    async fn release(&self, id: i64, owner: &str, run_at: i64) -> Result<bool, StoreError>;
    /// As `release`, keeping why the job waits (a rate limit) for `folio jobs list`.
    async fn defer(
        &self,
        id: i64,
        owner: &str,
        run_at: i64,
        reason: &str,
    ) -> Result<bool, StoreError>;
    async fn job(&self, id: i64) -> Result<Option<Job>, StoreError>;
    async fn list_jobs(&self, state: Option<&str>, limit: i64) -> Result<Vec<Job>, StoreError>;
    /// Re-queues a dead job; false when it is not dead.
    async fn retry_dead(&self, id: i64) -> Result<bool, StoreError>;
    async fn queue_stats(&self) -> Result<QueueStats, StoreError>;
    async fn delivery_count(&self) -> Result<i64, StoreError>;

    async fn upsert_installation(
        &self,
        id: i64,
        account_login: &str,
        account_type: &str,
    ) -> Result<(), StoreError>;
    async fn set_installation_suspended(&self, id: i64, suspended: bool) -> Result<(), StoreError>;
    /// Deletes the installation and every candidate's data that came through it.
    async fn delete_installation(&self, id: i64) -> Result<u64, StoreError>;
    async fn installation_count(&self) -> Result<i64, StoreError>;
    async fn installation_suspended(&self, id: i64) -> Result<bool, StoreError>;
    /// Whether Folio already made (or found) its labels in this repository.
    async fn labels_made(&self, repo: &str) -> Result<bool, StoreError>;
    async fn record_labels_made(&self, installation_id: i64, repo: &str) -> Result<(), StoreError>;
    /// Links the cache entries an evaluation read to its submission, for erasure.
    async fn link_cache(&self, submission_id: i64, links: &[CacheLink]) -> Result<(), StoreError>;

    async fn upsert_submission(
        &self,
        installation_id: i64,
        repo: &str,
        issue_number: i64,
        candidate: Option<&str>,
        author: Option<&str>,
    ) -> Result<Submission, StoreError>;
    async fn submission(
        &self,
        repo: &str,
        issue_number: i64,
    ) -> Result<Option<Submission>, StoreError>;
    /// Records a maintainer's confirmation of this candidate and these links; `None` clears
    /// it (the candidate or the links changed since).
    async fn confirm_submission(
        &self,
        id: i64,
        confirmation: Option<&Confirmation>,
    ) -> Result<(), StoreError>;
    async fn set_issue_state(
        &self,
        repo: &str,
        issue_number: i64,
        closed_at: Option<i64>,
    ) -> Result<(), StoreError>;
    /// Erases a deleted issue's candidate data; `running_job` is the job doing it (its row
    /// stays until it finishes).
    async fn delete_submission(
        &self,
        repo: &str,
        issue_number: i64,
        running_job: Option<i64>,
    ) -> Result<u64, StoreError>;
    /// Deletes every submission naming the login as candidate or author (`folio forget`).
    async fn forget_login(&self, login: &str) -> Result<u64, StoreError>;
    /// Erases one tracking issue's candidate data (`/folio forget`): the submission, its
    /// evaluations and its jobs, dead ones too, and remembers the issue as forgotten so that
    /// Folio leaves it alone. `running_job` is the job doing the erasure: its row stays until
    /// it finishes, without who asked.
    async fn forget_submission(
        &self,
        repo: &str,
        issue_number: i64,
        running_job: Option<i64>,
    ) -> Result<Erased, StoreError>;
    /// `Some(answered)` when the issue was forgotten; `answered` once the reply is posted.
    async fn forgotten(&self, repo: &str, issue_number: i64) -> Result<Option<bool>, StoreError>;
    async fn mark_forget_answered(&self, repo: &str, issue_number: i64) -> Result<(), StoreError>;
    /// A maintainer's `/folio refresh` (a new consent): the issue is evaluated again.
    async fn clear_forgotten(&self, repo: &str, issue_number: i64) -> Result<bool, StoreError>;
    /// Submissions opened by the author since `since` (for the per-day limit).
    async fn submissions_by_author_since(
        &self,
        installation_id: i64,
        author: &str,
        since: i64,
    ) -> Result<i64, StoreError>;

    async fn record_evaluation(&self, rec: &EvaluationRecord) -> Result<(), StoreError>;
    async fn last_evaluation(
        &self,
        submission_id: i64,
    ) -> Result<Option<EvaluationRecord>, StoreError>;
    /// The comment id Folio last posted on this submission's issue, if any.
    async fn last_comment_id(&self, submission_id: i64) -> Result<Option<i64>, StoreError>;
    async fn evaluations_since(&self, submission_id: i64, since: i64) -> Result<i64, StoreError>;
    /// Outcome counts since `since`, for the status page (no names).
    async fn outcome_counts(&self, since: i64) -> Result<OutcomeCounts, StoreError>;

    async fn cache_get(&self, scope: &str, url: &str)
    -> Result<Option<CachedResponse>, StoreError>;
    async fn cache_put(
        &self,
        scope: &str,
        url: &str,
        response: &CachedResponse,
    ) -> Result<(), StoreError>;
    async fn snapshot_get(&self, repo: &str, commit: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn snapshot_put(&self, repo: &str, commit: &str, data: &[u8]) -> Result<(), StoreError>;

    /// Applies the retention periods (SPEC §7).
    async fn purge(
        &self,
        now: i64,
        closed_issue_days: u32,
        cache_days: u32,
    ) -> Result<PurgeCounts, StoreError>;

    /// Redelivery bookkeeping: how many times a failed delivery was asked for again.
    async fn redelivery_attempts(&self, delivery_id: i64) -> Result<i64, StoreError>;
    async fn record_redelivery(&self, delivery_id: i64, guid: &str) -> Result<(), StoreError>;
    async fn has_delivery(&self, guid: &str) -> Result<bool, StoreError>;

    /// Takes or renews the lease `name` for `owner` until `ttl` from now; false while another
    /// owner's lease runs. For work one replica should do at a time.
    async fn try_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError>;
}

pub type DynStore = Arc<dyn Store>;

/// Opens the store named by the URL (`sqlite://PATH` or `postgres://...`).
pub async fn connect(url: &str) -> Result<DynStore, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::Open(
            "the database URL must start with sqlite:// or postgres://".into(),
        ))
    }
}

/// The upsert of disposable caches, the same SQL on both backends.
pub(crate) const UPSERT_CACHE: &str = "INSERT INTO http_cache (scope, url, etag, last_modified, body, stored_at) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (scope, url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, \
     body = excluded.body, stored_at = excluded.stored_at";
pub(crate) const UPSERT_SNAPSHOT: &str = "INSERT INTO repo_snapshots (repo, commit_sha, data, stored_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (repo, commit_sha) DO UPDATE SET data = excluded.data, stored_at = excluded.stored_at";

/// The decisions of a group commit that do not depend on the backend: which deliveries to
/// insert, which jobs to upsert once the database has said which deliveries were new, and what
/// each request is answered. Both backends' `ingest_batch` are thin around it.
pub(crate) struct IngestPlan<'a> {
    batch: &'a [NewDelivery],
    first: Vec<bool>,
}

impl<'a> IngestPlan<'a> {
    pub(crate) fn new(batch: &'a [NewDelivery]) -> Self {
        Self {
            batch,
            first: first_in_batch(batch),
        }
    }

    /// The first occurrence of each delivery id, in id order: concurrent batches (PostgreSQL
    /// runs several writers) then take their row locks in one order and never wait on each
    /// other in a cycle, which would cost PostgreSQL's deadlock_timeout (1 s) and fail a batch.
    pub(crate) fn deliveries(&self) -> Vec<&'a NewDelivery> {
        let mut unique: Vec<&NewDelivery> = self
            .batch
            .iter()
            .zip(&self.first)
            .filter(|(_, f)| **f)
            .map(|(d, _)| d)
            .collect();
        unique.sort_unstable_by(|a, b| a.guid.cmp(&b.guid));
        unique
    }

    /// Given the delivery ids the database took as new, which deliveries are fresh and the
    /// coalesced jobs to upsert, in key order (for the same lock-order reason).
    pub(crate) fn jobs(&self, inserted: &HashSet<&str>) -> (Vec<bool>, Vec<NewJob>) {
        let fresh: Vec<bool> = self
            .batch
            .iter()
            .zip(&self.first)
            .map(|(d, f)| *f && inserted.contains(d.guid.as_str()))
            .collect();
        let mut jobs = coalesce_batch(self.batch, &fresh);
        jobs.sort_unstable_by(|a, b| a.dedupe_key.cmp(&b.dedupe_key));
        (fresh, jobs)
    }

    /// The answer for each delivery, in input order.
    pub(crate) fn outcomes(
        &self,
        fresh: &[bool],
        job_ids: &HashMap<String, i64>,
    ) -> Vec<IngestOutcome> {
        self.batch
            .iter()
            .zip(fresh)
            .map(|(d, is_new)| {
                if *is_new {
                    IngestOutcome::Accepted {
                        job_id: d
                            .job
                            .as_ref()
                            .and_then(|j| job_ids.get(&j.dedupe_key).copied()),
                    }
                } else {
                    IngestOutcome::Duplicate
                }
            })
            .collect()
    }
}

/// Groups the jobs of a batch by key, keeping the newest payload and any actor, so that one
/// multi-row upsert never touches a row twice (PostgreSQL rejects that).
pub(crate) fn coalesce_batch(batch: &[NewDelivery], fresh: &[bool]) -> Vec<NewJob> {
    let mut out: Vec<NewJob> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (d, is_new) in batch.iter().zip(fresh) {
        let (true, Some(job)) = (*is_new, &d.job) else {
            continue;
        };
        if let Some(&i) = index.get(job.dedupe_key.as_str()) {
            let existing = &mut out[i];
            existing.payload = job.payload.clone();
            existing.kind = job.kind.clone();
            existing.run_at = existing.run_at.min(job.run_at);
            if job.actor.is_some() {
                existing.actor = job.actor.clone();
            }
        } else {
            index.insert(job.dedupe_key.as_str(), out.len());
            out.push(job.clone());
        }
    }
    out
}

/// Marks which deliveries of a batch are first occurrences within the batch.
pub(crate) fn first_in_batch(batch: &[NewDelivery]) -> Vec<bool> {
    let mut seen = std::collections::HashSet::with_capacity(batch.len());
    batch.iter().map(|d| seen.insert(d.guid.as_str())).collect()
}

/// The job claim, the same on both backends but for the lock clause (`$lock`): PostgreSQL adds
/// `FOR UPDATE SKIP LOCKED` so replicas never wait on each other's claims. A claim prefers the
/// installation with the fewest running jobs, then the oldest job.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, ",
            "attempts = attempts + 1, updated_at = $3 ",
            "WHERE id = (SELECT j.id FROM jobs j WHERE ",
            "(j.state = 'pending' AND j.run_at <= $3 AND NOT EXISTS ",
            "(SELECT 1 FROM jobs r WHERE r.dedupe_key = j.dedupe_key AND r.state = 'running')) ",
            "OR (j.state = 'running' AND j.lease_until <= $3) ",
            "ORDER BY (SELECT count(*) FROM jobs r WHERE r.state = 'running' AND r.installation_id = j.installation_id), ",
            "j.run_at, j.id LIMIT 1",
            $lock,
            ") RETURNING id, kind, dedupe_key, payload, actor, delivery, state, attempts, run_at, ",
            "lease_owner, lease_until, last_error, created_at, updated_at"
        )
    };
}
pub(crate) use claim_sql;

/// How a delivery's job coalesces with the pending job of its key, on both backends: the
/// newest payload wins, an actor is kept, and the earlier run time stands.
macro_rules! job_upsert_conflict {
    () => {
        concat!(
            " ON CONFLICT (dedupe_key) WHERE state = 'pending' DO UPDATE SET ",
            "payload = excluded.payload, kind = excluded.kind, ",
            "actor = COALESCE(excluded.actor, jobs.actor), ",
            "run_at = CASE WHEN excluded.run_at < jobs.run_at THEN excluded.run_at ELSE jobs.run_at END, ",
            "updated_at = excluded.updated_at ",
            "RETURNING id, dedupe_key"
        )
    };
}
pub(crate) use job_upsert_conflict;

/// Trait methods whose SQL is the same on both backends.
macro_rules! impl_store_methods {
    ($ty:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl crate::store::Store for $ty {
        fn backend(&self) -> &'static str {
            Self::BACKEND
        }

        async fn migrate(&self) -> Result<(), crate::store::StoreError> {
            self.run_migrations().await
        }

        async fn claim(
            &self,
            owner: &str,
            lease: std::time::Duration,
        ) -> Result<Option<crate::store::Job>, crate::store::StoreError> {
            self.claim_next(owner, lease).await
        }

        async fn ping(&self) -> Result<(), crate::store::StoreError> {
            sqlx::query("SELECT 1")
                .execute(&self.pool)
                .await
                .map_err(crate::store::StoreError::classify)?;
            Ok(())
        }

        async fn ingest(
            &self,
            batch: Vec<crate::store::NewDelivery>,
        ) -> Result<Vec<crate::store::IngestOutcome>, crate::store::StoreError> {
            self.ingest_batch(batch).await
        }

        async fn enqueue(&self, job: &crate::store::NewJob) -> Result<i64, crate::store::StoreError> {
            use sqlx::Row;
            let now = crate::store::now_ms();
            let row = sqlx::query(
                "INSERT INTO jobs (kind, dedupe_key, payload, actor, state, attempts, run_at, created_at, updated_at, installation_id) \
                 VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $6, $7) \
                 ON CONFLICT (dedupe_key) WHERE state = 'pending' DO UPDATE SET \
                 payload = excluded.payload, actor = COALESCE(excluded.actor, jobs.actor), \
                 updated_at = excluded.updated_at RETURNING id",
            )
            .bind(&job.kind)
            .bind(&job.dedupe_key)
            .bind(&job.payload)
            .bind(&job.actor)
            .bind(job.run_at)
            .bind(now)
            .bind(job.installation_id)
            .fetch_one(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(row.try_get(0)?)
        }

        async fn release_orphans(&self) -> Result<u64, crate::store::StoreError> {
            if Self::BACKEND != "sqlite" {
                return Ok(0);
            }
            Ok(sqlx::query("UPDATE jobs SET lease_until = 0 WHERE state = 'running'")
                .execute(&self.pool)
                .await
                .map_err(crate::store::StoreError::classify)?
                .rows_affected())
        }

        async fn heartbeat(
            &self,
            id: i64,
            owner: &str,
            lease: std::time::Duration,
        ) -> Result<bool, crate::store::StoreError> {
            let now = crate::store::now_ms();
            let r = sqlx::query(
                "UPDATE jobs SET lease_until = $1, updated_at = $2 WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
            )
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .bind(id)
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(r.rows_affected() == 1)
        }

        async fn complete(&self, id: i64, owner: &str) -> Result<bool, crate::store::StoreError> {
            let r = sqlx::query(
                "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = $1 \
                 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
            )
            .bind(crate::store::now_ms())
            .bind(id)
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(r.rows_affected() == 1)
        }

        async fn fail(
            &self,
            id: i64,
            owner: &str,
            error: &str,
            retry_at: Option<i64>,
        ) -> Result<bool, crate::store::StoreError> {
            self.requeue_or_finish(id, owner, Some(error), retry_at, false).await
        }

        async fn release(
            &self,
            id: i64,
            owner: &str,
            run_at: i64,
        ) -> Result<bool, crate::store::StoreError> {
            self.requeue_or_finish(id, owner, None, Some(run_at), true).await
        }

        async fn defer(
            &self,
            id: i64,
            owner: &str,
            run_at: i64,
            reason: &str,
        ) -> Result<bool, crate::store::StoreError> {
            self.requeue_or_finish(id, owner, Some(reason), Some(run_at), true)
                .await
        }

        async fn job(&self, id: i64) -> Result<Option<crate::store::Job>, crate::store::StoreError> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {} FROM jobs WHERE id = $1", crate::store::JOB_COLUMNS)))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(crate::store::StoreError::classify)?;
            row.map(|r| crate::store::job_from_row(&r)).transpose()
        }

        async fn list_jobs(
            &self,
            state: Option<&str>,
            limit: i64,
        ) -> Result<Vec<crate::store::Job>, crate::store::StoreError> {
            let rows = match state {
                Some(s) => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM jobs WHERE state = $1 ORDER BY id DESC LIMIT $2",
                    crate::store::JOB_COLUMNS
                )))
                .bind(s.to_string())
                .bind(limit)
                .fetch_all(&self.pool)
                .await,
                None => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM jobs ORDER BY id DESC LIMIT $1",
                    crate::store::JOB_COLUMNS
                )))
                .bind(limit)
                .fetch_all(&self.pool)
                .await,
            }
            .map_err(crate::store::StoreError::classify)?;
            rows.iter().map(crate::store::job_from_row).collect()
        }

        async fn retry_dead(&self, id: i64) -> Result<bool, crate::store::StoreError> {
            use sqlx::Row;
            let mut tx = self.pool.begin().await.map_err(crate::store::StoreError::classify)?;
            let row = sqlx::query("SELECT dedupe_key FROM jobs WHERE id = $1 AND state = 'dead'")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else { return Ok(false) };
            let key: String = row.try_get(0)?;
            let pending = sqlx::query("SELECT 1 FROM jobs WHERE dedupe_key = $1 AND state = 'pending'")
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await?;
            if pending.is_some() {
                // A newer request for the same issue is already queued; it will do the work.
                sqlx::query("UPDATE jobs SET state = 'superseded', updated_at = $1 WHERE id = $2")
                    .bind(crate::store::now_ms())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query(
                    "UPDATE jobs SET state = 'pending', attempts = 0, run_at = $1, updated_at = $1 WHERE id = $2",
                )
                .bind(crate::store::now_ms())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await.map_err(crate::store::StoreError::classify)?;
            Ok(true)
        }

        async fn queue_stats(&self) -> Result<crate::store::QueueStats, crate::store::StoreError> {
            use sqlx::Row;
            let rows = sqlx::query("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await
                .map_err(crate::store::StoreError::classify)?;
            let mut stats = crate::store::QueueStats::default();
            for r in rows {
                let state: String = r.try_get(0)?;
                let n: i64 = r.try_get(1)?;
                match state.as_str() {
                    "pending" => stats.pending = n,
                    "running" => stats.running = n,
                    "dead" => stats.dead = n,
                    "done" => stats.done = n,
                    _ => {}
                }
            }
            let now = crate::store::now_ms();
            let oldest: Option<i64> = sqlx::query(
                "SELECT MIN(run_at) FROM jobs WHERE state = 'pending' AND run_at <= $1",
            )
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?
            .try_get(0)?;
            stats.oldest_due_age_ms = oldest.map(|t| (now - t).max(0)).unwrap_or(0);
            Ok(stats)
        }

        async fn delivery_count(&self) -> Result<i64, crate::store::StoreError> {
            use sqlx::Row;
            Ok(sqlx::query("SELECT COUNT(*) FROM deliveries")
                .fetch_one(&self.pool)
                .await
                .map_err(crate::store::StoreError::classify)?
                .try_get(0)?)
        }

        async fn try_lease(
            &self,
            name: &str,
            owner: &str,
            ttl: std::time::Duration,
        ) -> Result<bool, crate::store::StoreError> {
            let now = crate::store::now_ms();
            let taken = sqlx::query(
                "INSERT INTO leases (name, owner, until) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until \
                 WHERE leases.owner = excluded.owner OR leases.until < $4 \
                 RETURNING owner",
            )
            .bind(name)
            .bind(owner)
            .bind(now + ttl.as_millis() as i64)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(taken.is_some())
        }

        async fn has_delivery(&self, guid: &str) -> Result<bool, crate::store::StoreError> {
            Ok(sqlx::query("SELECT 1 FROM deliveries WHERE guid = $1")
                .bind(guid)
                .fetch_optional(&self.pool)
                .await
                .map_err(crate::store::StoreError::classify)?
                .is_some())
        }

        async fn upsert_installation(
            &self,
            id: i64,
            account_login: &str,
            account_type: &str,
        ) -> Result<(), crate::store::StoreError> {
            let now = crate::store::now_ms();
            sqlx::query(
                "INSERT INTO installations (id, account_login, account_type, suspended, created_at, updated_at) \
                 VALUES ($1, $2, $3, 0, $4, $4) ON CONFLICT (id) DO UPDATE SET \
                 account_login = excluded.account_login, account_type = excluded.account_type, updated_at = excluded.updated_at",
            )
            .bind(id)
            .bind(account_login)
            .bind(account_type)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(())
        }

        async fn set_installation_suspended(
            &self,
            id: i64,
            suspended: bool,
        ) -> Result<(), crate::store::StoreError> {
            sqlx::query("UPDATE installations SET suspended = $1, updated_at = $2 WHERE id = $3")
                .bind(i64::from(suspended))
                .bind(crate::store::now_ms())
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(crate::store::StoreError::classify)?;
            Ok(())
        }

        async fn installation_suspended(&self, id: i64) -> Result<bool, crate::store::StoreError> {
            use sqlx::Row;
            let row = sqlx::query("SELECT suspended FROM installations WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(crate::store::StoreError::classify)?;
            Ok(match row {
                Some(r) => r.try_get::<i64, _>(0)? != 0,
                None => false,
            })
        }

        async fn delete_installation(&self, id: i64) -> Result<u64, crate::store::StoreError> {
            use sqlx::Row;
            let mut tx = self.pool.begin().await.map_err(crate::store::StoreError::classify)?;
            let issues = sqlx::query("SELECT repo, issue_number FROM submissions WHERE installation_id = $1")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
            let mut erased = crate::store::Erased::default();
            for row in issues {
                let repo: String = row.try_get(0)?;
                let number: i64 = row.try_get(1)?;
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
            tx.commit().await.map_err(crate::store::StoreError::classify)?;
            self.finish_erasure().await?;
            Ok(erased.submissions)
        }

        async fn labels_made(&self, repo: &str) -> Result<bool, crate::store::StoreError> {
            Ok(sqlx::query("SELECT 1 FROM repo_labels WHERE repo = LOWER($1)")
                .bind(repo)
                .fetch_optional(&self.pool)
                .await
                .map_err(crate::store::StoreError::classify)?
                .is_some())
        }

        async fn record_labels_made(
            &self,
            installation_id: i64,
            repo: &str,
        ) -> Result<(), crate::store::StoreError> {
            sqlx::query(
                "INSERT INTO repo_labels (repo, installation_id, made_at) VALUES (LOWER($1), $2, $3) \
                 ON CONFLICT (repo) DO UPDATE SET installation_id = excluded.installation_id, made_at = excluded.made_at",
            )
            .bind(repo)
            .bind(installation_id)
            .bind(crate::store::now_ms())
            .execute(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(())
        }

        async fn link_cache(
            &self,
            submission_id: i64,
            links: &[crate::store::CacheLink],
        ) -> Result<(), crate::store::StoreError> {
            self.insert_cache_links(submission_id, links).await
        }

        async fn installation_count(&self) -> Result<i64, crate::store::StoreError> {
            use sqlx::Row;
            Ok(sqlx::query("SELECT COUNT(*) FROM installations WHERE suspended = 0")
                .fetch_one(&self.pool)
                .await
                .map_err(crate::store::StoreError::classify)?
                .try_get(0)?)
        }

        async fn upsert_submission(
            &self,
            installation_id: i64,
            repo: &str,
            issue_number: i64,
            candidate: Option<&str>,
            author: Option<&str>,
        ) -> Result<crate::store::Submission, crate::store::StoreError> {
            let now = crate::store::now_ms();
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO submissions (installation_id, repo, issue_number, candidate, author, state, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'open', $6, $6) ON CONFLICT (repo, issue_number) DO UPDATE SET \
                 installation_id = excluded.installation_id, \
                 candidate = COALESCE(excluded.candidate, submissions.candidate), \
                 author = COALESCE(excluded.author, submissions.author), updated_at = excluded.updated_at \
                 RETURNING {}",
                crate::store::SUBMISSION_COLUMNS
            )))
            .bind(installation_id)
            .bind(repo)
            .bind(issue_number)
            .bind(candidate)
            .bind(author)
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            crate::store::submission_from_row(&row)
        }

        async fn submission(
            &self,
            repo: &str,
            issue_number: i64,
        ) -> Result<Option<crate::store::Submission>, crate::store::StoreError> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM submissions WHERE repo = $1 AND issue_number = $2",
                crate::store::SUBMISSION_COLUMNS
            )))
            .bind(repo)
            .bind(issue_number)
            .fetch_optional(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            row.map(|r| crate::store::submission_from_row(&r)).transpose()
        }

        async fn confirm_submission(
            &self,
            id: i64,
            confirmation: Option<&crate::store::Confirmation>,
        ) -> Result<(), crate::store::StoreError> {
            sqlx::query(
                "UPDATE submissions SET confirmed_by = $1, confirmed_candidate = $2, confirmed_links = $3, \
                 updated_at = $4 WHERE id = $5",
            )
            .bind(confirmation.map(|c| c.by.as_str()))
            .bind(confirmation.map(|c| c.candidate.as_str()))
            .bind(confirmation.map(|c| c.links.as_str()))
            .bind(crate::store::now_ms())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(())
        }

        async fn set_issue_state(
            &self,
            repo: &str,
            issue_number: i64,
            closed_at: Option<i64>,
        ) -> Result<(), crate::store::StoreError> {
            sqlx::query(
                "UPDATE submissions SET state = $1, closed_at = $2, updated_at = $3 WHERE repo = $4 AND issue_number = $5",
            )
            .bind(if closed_at.is_some() { "closed" } else { "open" })
            .bind(closed_at)
            .bind(crate::store::now_ms())
            .bind(repo)
            .bind(issue_number)
            .execute(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(())
        }

        async fn delete_submission(
            &self,
            repo: &str,
            issue_number: i64,
            running_job: Option<i64>,
        ) -> Result<u64, crate::store::StoreError> {
            let mut tx = self.pool.begin().await.map_err(crate::store::StoreError::classify)?;
            let erased = Self::erase_issue(&mut tx, repo, issue_number, running_job).await?;
            tx.commit().await.map_err(crate::store::StoreError::classify)?;
            self.finish_erasure().await?;
            Ok(erased.submissions)
        }

        async fn forget_login(&self, login: &str) -> Result<u64, crate::store::StoreError> {
            use sqlx::Row;
            let mut tx = self.pool.begin().await.map_err(crate::store::StoreError::classify)?;
            let issues = sqlx::query(
                "SELECT repo, issue_number FROM submissions WHERE LOWER(candidate) = LOWER($1) OR LOWER(author) = LOWER($1)",
            )
            .bind(login)
            .fetch_all(&mut *tx)
            .await?;
            let mut erased = crate::store::Erased::default();
            for row in issues {
                let repo: String = row.try_get(0)?;
                let number: i64 = row.try_get(1)?;
                erased += Self::erase_issue(&mut tx, &repo, number, None).await?;
            }
            tx.commit().await.map_err(crate::store::StoreError::classify)?;
            self.finish_erasure().await?;
            Ok(erased.submissions)
        }

        async fn forget_submission(
            &self,
            repo: &str,
            issue_number: i64,
            running_job: Option<i64>,
        ) -> Result<crate::store::Erased, crate::store::StoreError> {
            let mut tx = self.pool.begin().await.map_err(crate::store::StoreError::classify)?;
            let erased = Self::erase_issue(&mut tx, repo, issue_number, running_job).await?;
            sqlx::query(
                "INSERT INTO forgotten_issues (repo, issue_number, forgotten_at, answered) VALUES (LOWER($1), $2, $3, 0) \
                 ON CONFLICT (repo, issue_number) DO NOTHING",
            )
            .bind(repo)
            .bind(issue_number)
            .bind(crate::store::now_ms())
            .execute(&mut *tx)
            .await?;
            tx.commit().await.map_err(crate::store::StoreError::classify)?;
            self.finish_erasure().await?;
            Ok(erased)
        }

        async fn forgotten(
            &self,
            repo: &str,
            issue_number: i64,
        ) -> Result<Option<bool>, crate::store::StoreError> {
            use sqlx::Row;
            let row = sqlx::query(
                "SELECT answered FROM forgotten_issues WHERE repo = LOWER($1) AND issue_number = $2",
            )
            .bind(repo)
            .bind(issue_number)
            .fetch_optional(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(match row {
                Some(r) => Some(r.try_get::<i64, _>(0)? != 0),
                None => None,
            })
        }

        async fn mark_forget_answered(
            &self,
            repo: &str,
            issue_number: i64,
        ) -> Result<(), crate::store::StoreError> {
            sqlx::query(
                "UPDATE forgotten_issues SET answered = 1 WHERE repo = LOWER($1) AND issue_number = $2",
            )
            .bind(repo)
            .bind(issue_number)
            .execute(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(())
        }

        async fn clear_forgotten(
            &self,
            repo: &str,
            issue_number: i64,
        ) -> Result<bool, crate::store::StoreError> {
            Ok(sqlx::query("DELETE FROM forgotten_issues WHERE repo = LOWER($1) AND issue_number = $2")
                .bind(repo)
                .bind(issue_number)
                .execute(&self.pool)
                .await
                .map_err(crate::store::StoreError::classify)?
                .rows_affected() > 0)
        }

        async fn submissions_by_author_since(
            &self,
            installation_id: i64,
            author: &str,
            since: i64,
        ) -> Result<i64, crate::store::StoreError> {
            use sqlx::Row;
            Ok(sqlx::query(
                "SELECT COUNT(*) FROM submissions WHERE installation_id = $1 AND LOWER(author) = LOWER($2) AND created_at >= $3",
            )
            .bind(installation_id)
            .bind(author)
            .bind(since)
            .fetch_one(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?
            .try_get(0)?)
        }

        async fn record_evaluation(
            &self,
            rec: &crate::store::EvaluationRecord,
        ) -> Result<(), crate::store::StoreError> {
            sqlx::query(
                "INSERT INTO evaluations (submission_id, outcome, report_json, comment_id, content_hash, api_requests, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(rec.submission_id)
            .bind(&rec.outcome)
            .bind(&rec.report_json)
            .bind(rec.comment_id)
            .bind(&rec.content_hash)
            .bind(rec.api_requests)
            .bind(rec.created_at)
            .execute(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(())
        }

        async fn last_evaluation(
            &self,
            submission_id: i64,
        ) -> Result<Option<crate::store::EvaluationRecord>, crate::store::StoreError> {
            use sqlx::Row;
            let row = sqlx::query(
                "SELECT submission_id, outcome, report_json, comment_id, content_hash, api_requests, created_at \
                 FROM evaluations WHERE submission_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
            )
            .bind(submission_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(match row {
                Some(r) => Some(crate::store::EvaluationRecord {
                    submission_id: r.try_get(0)?,
                    outcome: r.try_get(1)?,
                    report_json: r.try_get(2)?,
                    comment_id: r.try_get(3)?,
                    content_hash: r.try_get(4)?,
                    api_requests: r.try_get(5)?,
                    created_at: r.try_get(6)?,
                }),
                None => None,
            })
        }

        async fn last_comment_id(
            &self,
            submission_id: i64,
        ) -> Result<Option<i64>, crate::store::StoreError> {
            use sqlx::Row;
            let row = sqlx::query(
                "SELECT comment_id FROM evaluations WHERE submission_id = $1 AND comment_id IS NOT NULL \
                 ORDER BY created_at DESC, id DESC LIMIT 1",
            )
            .bind(submission_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(match row {
                Some(r) => r.try_get(0)?,
                None => None,
            })
        }

        async fn evaluations_since(
            &self,
            submission_id: i64,
            since: i64,
        ) -> Result<i64, crate::store::StoreError> {
            use sqlx::Row;
            Ok(sqlx::query(
                "SELECT COUNT(*) FROM evaluations WHERE submission_id = $1 AND created_at >= $2 AND outcome <> 'rate_limited'",
            )
            .bind(submission_id)
            .bind(since)
            .fetch_one(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?
            .try_get(0)?)
        }

        async fn outcome_counts(
            &self,
            since: i64,
        ) -> Result<crate::store::OutcomeCounts, crate::store::StoreError> {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT outcome, COUNT(*) FROM evaluations WHERE created_at >= $1 GROUP BY outcome",
            )
            .bind(since)
            .fetch_all(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            let mut c = crate::store::OutcomeCounts::default();
            for r in rows {
                let o: String = r.try_get(0)?;
                let n: i64 = r.try_get(1)?;
                match o.as_str() {
                    "evaluated" => c.evaluated += n,
                    "needs_info" => c.needs_info += n,
                    "failed" => c.failed += n,
                    _ => c.other += n,
                }
            }
            Ok(c)
        }

        async fn cache_get(
            &self,
            scope: &str,
            url: &str,
        ) -> Result<Option<crate::store::CachedResponse>, crate::store::StoreError> {
            use sqlx::Row;
            let row = sqlx::query(
                "SELECT etag, last_modified, body, stored_at FROM http_cache WHERE scope = $1 AND url = $2",
            )
            .bind(scope)
            .bind(url)
            .fetch_optional(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(match row {
                Some(r) => Some(crate::store::CachedResponse {
                    etag: r.try_get(0)?,
                    last_modified: r.try_get(1)?,
                    body: r.try_get(2)?,
                    stored_at: r.try_get(3)?,
                }),
                None => None,
            })
        }

        async fn cache_put(
            &self,
            scope: &str,
            url: &str,
            resp: &crate::store::CachedResponse,
        ) -> Result<(), crate::store::StoreError> {
            self.put_cache_entry(scope, url, resp).await
        }

        async fn snapshot_get(
            &self,
            repo: &str,
            commit: &str,
        ) -> Result<Option<Vec<u8>>, crate::store::StoreError> {
            use sqlx::Row;
            let row = sqlx::query("SELECT data FROM repo_snapshots WHERE repo = $1 AND commit_sha = $2")
                .bind(repo)
                .bind(commit)
                .fetch_optional(&self.pool)
                .await
                .map_err(crate::store::StoreError::classify)?;
            Ok(match row {
                Some(r) => Some(r.try_get(0)?),
                None => None,
            })
        }

        async fn snapshot_put(
            &self,
            repo: &str,
            commit: &str,
            data: &[u8],
        ) -> Result<(), crate::store::StoreError> {
            self.put_snapshot(repo, commit, data).await
        }

        async fn purge(
            &self,
            now: i64,
            closed_issue_days: u32,
            cache_days: u32,
        ) -> Result<crate::store::PurgeCounts, crate::store::StoreError> {
            const DAY: i64 = 86_400_000;
            let closed_cutoff = now - i64::from(closed_issue_days) * DAY;
            let cache_cutoff = now - i64::from(cache_days) * DAY;
            let mut tx = self.pool.begin().await.map_err(crate::store::StoreError::classify)?;
            use sqlx::Row;
            // An expired submission goes the way of any erasure: with its jobs, deliveries and
            // what was fetched for it alone.
            let expired = sqlx::query(
                "SELECT repo, issue_number FROM submissions WHERE state = 'closed' AND closed_at IS NOT NULL AND closed_at < $1",
            )
            .bind(closed_cutoff)
            .fetch_all(&mut *tx)
            .await?;
            let mut erased = crate::store::Erased::default();
            for row in expired {
                let repo: String = row.try_get(0)?;
                let number: i64 = row.try_get(1)?;
                erased += Self::erase_issue(&mut tx, &repo, number, None).await?;
            }
            let submissions = erased.submissions;
            // Links left by an evaluation that finished after its submission was erased.
            sqlx::query(
                "DELETE FROM submission_cache WHERE submission_id NOT IN (SELECT id FROM submissions)",
            )
            .execute(&mut *tx)
            .await?;
            let http_cache = sqlx::query("DELETE FROM http_cache WHERE stored_at < $1")
                .bind(cache_cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let snapshots = sqlx::query("DELETE FROM repo_snapshots WHERE stored_at < $1")
                .bind(cache_cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            // Finished jobs and old delivery ids are operational history, kept as long as the
            // cache: long enough to dedupe any redelivery GitHub would still make.
            let jobs = sqlx::query(
                "DELETE FROM jobs WHERE state IN ('done', 'superseded') AND updated_at < $1",
            )
            .bind(cache_cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let deliveries = sqlx::query("DELETE FROM deliveries WHERE received_at < $1")
                .bind(cache_cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await.map_err(crate::store::StoreError::classify)?;
            Ok(crate::store::PurgeCounts {
                submissions,
                http_cache,
                snapshots,
                jobs,
                deliveries,
            })
        }

        async fn redelivery_attempts(&self, delivery_id: i64) -> Result<i64, crate::store::StoreError> {
            use sqlx::Row;
            let row = sqlx::query("SELECT attempts FROM redeliveries WHERE delivery_id = $1")
                .bind(delivery_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(crate::store::StoreError::classify)?;
            Ok(match row {
                Some(r) => r.try_get(0)?,
                None => 0,
            })
        }

        async fn record_redelivery(
            &self,
            delivery_id: i64,
            guid: &str,
        ) -> Result<(), crate::store::StoreError> {
            sqlx::query(
                "INSERT INTO redeliveries (delivery_id, guid, attempts, last_attempt) VALUES ($1, $2, 1, $3) \
                 ON CONFLICT (delivery_id) DO UPDATE SET attempts = redeliveries.attempts + 1, last_attempt = excluded.last_attempt",
            )
            .bind(delivery_id)
            .bind(guid)
            .bind(crate::store::now_ms())
            .execute(&self.pool)
            .await
            .map_err(crate::store::StoreError::classify)?;
            Ok(())
        }
        }

        impl $ty {
            /// The one erasure path (`folio forget`, `/folio forget`): one issue's submission,
            /// its evaluations and every job on the issue, but the running `keep` job, whose
            /// row loses who asked.
            async fn erase_issue(
                tx: &mut sqlx::Transaction<'_, $db>,
                repo: &str,
                issue_number: i64,
                keep: Option<i64>,
            ) -> Result<crate::store::Erased, sqlx::Error> {
                let [a, b, c] = crate::store::ISSUE_JOB_PREFIXES
                    .map(|p| crate::store::issue_job_key(p, repo, issue_number));
                let keep = keep.unwrap_or(-1);
                let jobs = sqlx::query("DELETE FROM jobs WHERE dedupe_key IN ($1, $2, $3) AND id <> $4")
                    .bind(a)
                    .bind(b)
                    .bind(c)
                    .bind(keep)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected();
                sqlx::query("UPDATE jobs SET actor = NULL WHERE id = $1")
                    .bind(keep)
                    .execute(&mut **tx)
                    .await?;
                let deliveries = sqlx::query(
                    "DELETE FROM deliveries WHERE LOWER(repo) = LOWER($1) AND issue_number = $2",
                )
                .bind(repo)
                .bind(issue_number)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                // What was fetched for this submission alone: an entry another submission read
                // too is still in use and stays (it expires with the cache).
                let mut cached = 0;
                for statement in [
                    "DELETE FROM http_cache WHERE (scope, url) IN (SELECT l.k1, l.k2 FROM submission_cache l \
                     WHERE l.kind = 'http' AND l.submission_id IN \
                     (SELECT id FROM submissions WHERE LOWER(repo) = LOWER($1) AND issue_number = $2) \
                     AND NOT EXISTS (SELECT 1 FROM submission_cache o WHERE o.kind = l.kind AND o.k1 = l.k1 \
                     AND o.k2 = l.k2 AND o.submission_id <> l.submission_id))",
                    "DELETE FROM repo_snapshots WHERE (repo, commit_sha) IN (SELECT l.k1, l.k2 FROM submission_cache l \
                     WHERE l.kind = 'snapshot' AND l.submission_id IN \
                     (SELECT id FROM submissions WHERE LOWER(repo) = LOWER($1) AND issue_number = $2) \
                     AND NOT EXISTS (SELECT 1 FROM submission_cache o WHERE o.kind = l.kind AND o.k1 = l.k1 \
                     AND o.k2 = l.k2 AND o.submission_id <> l.submission_id))",
                    "DELETE FROM submission_cache WHERE submission_id IN \
                     (SELECT id FROM submissions WHERE LOWER(repo) = LOWER($1) AND issue_number = $2)",
                ] {
                    let n = sqlx::query(statement)
                        .bind(repo)
                        .bind(issue_number)
                        .execute(&mut **tx)
                        .await?
                        .rows_affected();
                    if !statement.starts_with("DELETE FROM submission_cache") {
                        cached += n;
                    }
                }
                let evaluations = sqlx::query(
                    "DELETE FROM evaluations WHERE submission_id IN \
                     (SELECT id FROM submissions WHERE LOWER(repo) = LOWER($1) AND issue_number = $2)",
                )
                .bind(repo)
                .bind(issue_number)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                let submissions = sqlx::query(
                    "DELETE FROM submissions WHERE LOWER(repo) = LOWER($1) AND issue_number = $2",
                )
                .bind(repo)
                .bind(issue_number)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                Ok(crate::store::Erased {
                    submissions,
                    evaluations,
                    jobs,
                    deliveries,
                    cached,
                })
            }
        }
    };
}

pub(crate) use impl_store_methods;

/// Shared helper: move a running job back to pending (retry or release), or to dead, or to
/// superseded when a newer pending job for the same key exists (the unique index allows only
/// one pending job per key).
macro_rules! impl_requeue {
    ($ty:ty) => {
        impl $ty {
            async fn requeue_or_finish(
                &self,
                id: i64,
                owner: &str,
                error: Option<&str>,
                retry_at: Option<i64>,
                uncount: bool,
            ) -> Result<bool, crate::store::StoreError> {
                use crate::store::StoreError;
                use sqlx::Row;
                let now = crate::store::now_ms();
                let mut tx = self.pool.begin().await.map_err(StoreError::classify)?;
                let row = sqlx::query(
                    "SELECT dedupe_key FROM jobs WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
                )
                .bind(id)
                .bind(owner)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else { return Ok(false) };
                let key: String = row.try_get(0)?;
                let next_state = match retry_at {
                    None => "dead",
                    Some(_) => {
                        let pending = sqlx::query(
                            "SELECT 1 FROM jobs WHERE dedupe_key = $1 AND state = 'pending'",
                        )
                        .bind(&key)
                        .fetch_optional(&mut *tx)
                        .await?;
                        if pending.is_some() { "superseded" } else { "pending" }
                    }
                };
                sqlx::query(
                    "UPDATE jobs SET state = $1, run_at = $2, lease_owner = NULL, lease_until = NULL, \
                     last_error = COALESCE($3, last_error), attempts = attempts - $4, updated_at = $5 WHERE id = $6",
                )
                .bind(next_state)
                .bind(retry_at.unwrap_or(now))
                .bind(error)
                .bind(if uncount { 1_i64 } else { 0_i64 })
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await.map_err(StoreError::classify)?;
                Ok(true)
            }
        }
    };
}

pub(crate) use impl_requeue;

pub(crate) const JOB_COLUMNS: &str = "id, kind, dedupe_key, payload, actor, delivery, state, attempts, run_at, lease_owner, lease_until, last_error, created_at, updated_at";

pub(crate) const SUBMISSION_COLUMNS: &str = "id, installation_id, repo, issue_number, candidate, author, confirmed_by, confirmed_candidate, confirmed_links, state, closed_at";

pub(crate) fn job_from_row<R: sqlx::Row>(r: &R) -> Result<Job, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Job {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        dedupe_key: r.try_get("dedupe_key")?,
        payload: r.try_get("payload")?,
        actor: r.try_get("actor")?,
        delivery: r.try_get("delivery")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        run_at: r.try_get("run_at")?,
        lease_owner: r.try_get("lease_owner")?,
        lease_until: r.try_get("lease_until")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub(crate) fn submission_from_row<R: sqlx::Row>(r: &R) -> Result<Submission, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Submission {
        id: r.try_get("id")?,
        installation_id: r.try_get("installation_id")?,
        repo: r.try_get("repo")?,
        issue_number: r.try_get("issue_number")?,
        candidate: r.try_get("candidate")?,
        author: r.try_get("author")?,
        confirmed_by: r.try_get("confirmed_by")?,
        confirmed_candidate: r.try_get("confirmed_candidate")?,
        confirmed_links: r.try_get("confirmed_links")?,
        state: r.try_get("state")?,
        closed_at: r.try_get("closed_at")?,
    })
}
