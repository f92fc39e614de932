//! Durable storage: deliveries, the job queue, submissions, evaluations and caches.
//!
//! One trait, two implementations: SQLite (the embedded default) and PostgreSQL (several
//! replicas), both one generic `sql::SqlStore`: the SQL is written once, and what differs is
//! given per backend (`sql::Backend`): migrations, the job claim's lock clause, and the write
//! paths SQLite runs on its own writer thread (the webhook's group commit, cache writes).
//! Timestamps are Unix milliseconds everywhere, read from the store's injected clock.

mod error;
mod ingest_plan;
mod postgres;
mod sql;
mod sqlite;
mod states;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

pub use error::StoreError;
pub(crate) use ingest_plan::IngestPlan;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use states::{EvaluationOutcome, JobState, SubmissionState, UnknownState};

use crate::clock::SharedClock;

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
    /// SHA-256 of the signed body (hex): the same body under a new delivery id is a replay,
    /// a duplicate like a known id.
    pub body_hash: Option<String>,
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
    /// The delivery id (or the same signed body) was seen before: acknowledged, nothing
    /// enqueued.
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub dedupe_key: String,
    pub payload: String,
    pub actor: Option<String>,
    pub delivery: Option<String>,
    #[sqlx(try_from = "String")]
    pub state: JobState,
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

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Submission {
    pub id: i64,
    pub installation_id: i64,
    /// The repository's full name as last seen: it follows renames.
    pub repo: String,
    /// GitHub's id of the repository, which stays across renames: with the installation and
    /// the issue number, the submission's identity. `None` for a submission stored before
    /// ids were kept, until an event with the id comes.
    pub repo_id: Option<i64>,
    pub issue_number: i64,
    pub candidate: Option<String>,
    pub author: Option<String>,
    pub confirmed_by: Option<String>,
    /// The candidate and the links' hash the confirmation was given for.
    pub confirmed_candidate: Option<String>,
    pub confirmed_links: Option<String>,
    #[sqlx(try_from = "String")]
    pub state: SubmissionState,
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

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EvaluationRecord {
    pub submission_id: i64,
    #[sqlx(try_from = "String")]
    pub outcome: EvaluationOutcome,
    pub report_json: Option<String>,
    pub comment_id: Option<i64>,
    pub content_hash: Option<String>,
    pub api_requests: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> &'static str;
    /// Where the store's "now" comes from (leases, run times, purge ages, row stamps); the
    /// rest of the service reads the same clock.
    fn clock(&self) -> &SharedClock;
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
    async fn list_jobs(&self, state: Option<JobState>, limit: i64) -> Result<Vec<Job>, StoreError>;
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

    /// Creates or updates the submission of an issue. With the repository's id, a submission
    /// stored under an earlier name of the repository is found and takes the new name.
    #[allow(clippy::too_many_arguments)]
    async fn upsert_submission(
        &self,
        installation_id: i64,
        repo: &str,
        repo_id: Option<i64>,
        issue_number: i64,
        candidate: Option<&str>,
        author: Option<&str>,
    ) -> Result<Submission, StoreError>;
    async fn submission(
        &self,
        repo: &str,
        issue_number: i64,
    ) -> Result<Option<Submission>, StoreError>;
    /// The repository `repo_id` is now called `repo`: its issue's submission takes the name,
    /// so that lookups, erasure and the purge by name find it.
    async fn follow_rename(
        &self,
        repo_id: i64,
        repo: &str,
        issue_number: i64,
    ) -> Result<(), StoreError>;
    /// Records a maintainer's confirmation of this candidate and these links; `None` clears
    /// it (the candidate or the links changed since).
    async fn confirm_submission(
        &self,
        id: i64,
        confirmation: Option<&Confirmation>,
    ) -> Result<(), StoreError>;
    /// Opens or closes (from `closed_at`, which starts the purge clock) an issue's
    /// submission, found by the repository's id when given.
    async fn set_issue_state(
        &self,
        repo: &str,
        repo_id: Option<i64>,
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

    /// Applies the retention periods: closed issues' submissions after `closed_issue_days`,
    /// caches, finished jobs and delivery ids after `cache_days`.
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

/// Opens the store named by the URL (`sqlite://PATH` or `postgres://...`) on the system clock.
pub async fn connect(url: &str) -> Result<DynStore, StoreError> {
    connect_with_clock(url, crate::clock::system()).await
}

/// Opens the store named by the URL, reading "now" from `clock`.
pub async fn connect_with_clock(url: &str, clock: SharedClock) -> Result<DynStore, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect_with_clock(url, clock).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect_with_clock(url, clock).await?))
    } else {
        Err(StoreError::Open(
            "the database URL must start with sqlite:// or postgres://".into(),
        ))
    }
}

pub(crate) const JOB_COLUMNS: &str = "id, kind, dedupe_key, payload, actor, delivery, state, attempts, run_at, lease_owner, lease_until, last_error, created_at, updated_at";

pub(crate) const SUBMISSION_COLUMNS: &str = "id, installation_id, repo, repo_id, issue_number, candidate, author, confirmed_by, confirmed_candidate, confirmed_links, state, closed_at";
