//! What differs between the backends, and the SQL both backends' own paths share.

use async_trait::async_trait;
use sqlx::Pool;

use super::SqlStore;
use crate::store::{CacheLink, CachedResponse, IngestOutcome, NewDelivery, StoreError};

/// What differs between the backends. Public in name only: the module is private, and the
/// two implementations are `sqlx::Sqlite` and `sqlx::Postgres`.
#[async_trait]
pub trait Backend: sqlx::Database {
    const BACKEND: &'static str;
    /// Ends the claim's choice of a job: PostgreSQL's `FOR UPDATE SKIP LOCKED`, so that
    /// replicas never wait on each other's claims.
    const CLAIM_LOCK: &'static str;
    /// One process owns the database (SQLite): a job still running at startup was cut off.
    const SINGLE_NODE: bool;
    type Extra: Send + Sync + 'static;

    async fn migrate(pool: &Pool<Self>) -> Result<(), StoreError>;
    /// Records a batch of deliveries and their jobs in one transaction.
    async fn ingest(
        store: &SqlStore<Self>,
        batch: Vec<NewDelivery>,
    ) -> Result<Vec<IngestOutcome>, StoreError>;
    async fn link_cache(
        store: &SqlStore<Self>,
        submission_id: i64,
        links: &[CacheLink],
    ) -> Result<(), StoreError>;
    async fn cache_put(
        store: &SqlStore<Self>,
        scope: &str,
        url: &str,
        resp: &CachedResponse,
    ) -> Result<(), StoreError>;
    async fn snapshot_put(
        store: &SqlStore<Self>,
        repo: &str,
        commit: &str,
        data: &[u8],
    ) -> Result<(), StoreError>;
    /// After an erasure: what the database keeps of deleted rows outside its tables goes.
    async fn finish_erasure(store: &SqlStore<Self>) -> Result<(), StoreError>;
    /// `rows_affected`, which sqlx gives each backend's result but no trait.
    fn rows(result: &Self::QueryResult) -> u64;
}

/// The job claim, the same on both backends but for the lock clause. A claim prefers the
/// installation with the fewest running jobs, then the oldest job.
pub(super) const CLAIM_HEAD: &str = "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, \
    attempts = attempts + 1, updated_at = $3 \
    WHERE id = (SELECT j.id FROM jobs j WHERE \
    (j.state = 'pending' AND j.run_at <= $3 AND NOT EXISTS \
    (SELECT 1 FROM jobs r WHERE r.dedupe_key = j.dedupe_key AND r.state = 'running')) \
    OR (j.state = 'running' AND j.lease_until <= $3) \
    ORDER BY (SELECT count(*) FROM jobs r WHERE r.state = 'running' AND r.installation_id = j.installation_id), \
    j.run_at, j.id LIMIT 1";

/// How a job coalesces with the pending job of its key, on both backends (and in both
/// backends' group commits): the newest payload wins, an actor is kept, and the earlier run
/// time stands.
pub(crate) const JOB_UPSERT_CONFLICT: &str = " ON CONFLICT (dedupe_key) WHERE state = 'pending' DO UPDATE SET \
    payload = excluded.payload, kind = excluded.kind, \
    actor = COALESCE(excluded.actor, jobs.actor), \
    run_at = CASE WHEN excluded.run_at < jobs.run_at THEN excluded.run_at ELSE jobs.run_at END, \
    updated_at = excluded.updated_at \
    RETURNING id, dedupe_key";

/// The upserts of disposable caches, the same SQL on both backends.
pub(crate) const UPSERT_CACHE: &str = "INSERT INTO http_cache (scope, url, etag, last_modified, body, stored_at) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (scope, url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, \
     body = excluded.body, stored_at = excluded.stored_at";
pub(crate) const UPSERT_SNAPSHOT: &str = "INSERT INTO repo_snapshots (repo, commit_sha, data, stored_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (repo, commit_sha) DO UPDATE SET data = excluded.data, stored_at = excluded.stored_at";
