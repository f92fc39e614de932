//! PostgreSQL backend: for several replicas on one database. Jobs are claimed with
//! `FOR UPDATE SKIP LOCKED`, so replicas never wait on each other's claims, and the unique index
//! on running jobs per key makes a second claim of the same issue fail instead of running twice.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use super::{
    CachedResponse, IngestOutcome, IngestPlan, Job, NewDelivery, StoreError, impl_requeue,
    impl_store_methods,
};

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// A few statements of many rows: an evaluation reads hundreds of cache entries.
    async fn insert_cache_links(
        &self,
        submission_id: i64,
        links: &[super::CacheLink],
    ) -> Result<(), StoreError> {
        for chunk in links.chunks(500) {
            let parts: Vec<(&str, &str, &str)> = chunk.iter().map(|l| l.parts()).collect();
            let kinds: Vec<&str> = parts.iter().map(|p| p.0).collect();
            let k1: Vec<&str> = parts.iter().map(|p| p.1).collect();
            let k2: Vec<&str> = parts.iter().map(|p| p.2).collect();
            sqlx::query(
                "INSERT INTO submission_cache (submission_id, kind, k1, k2) \
                 SELECT $1, k, a, b FROM UNNEST($2::text[], $3::text[], $4::text[]) AS t(k, a, b) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(submission_id)
            .bind(kinds)
            .bind(k1)
            .bind(k2)
            .execute(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        }
        Ok(())
    }

    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| StoreError::Open(format!("{e}")))?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl_requeue!(PgStore);

impl PgStore {
    /// After an erasure: dead tuples of the erased rows are reclaimed now rather than whenever
    /// autovacuum comes by.
    async fn finish_erasure(&self) -> Result<(), StoreError> {
        sqlx::query(
            "VACUUM submissions, evaluations, jobs, deliveries, http_cache, repo_snapshots, submission_cache",
        )
            .execute(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }
}

const CLAIM_SQL: &str = super::claim_sql!(" FOR UPDATE SKIP LOCKED");

impl PgStore {
    /// The deliveries, then the jobs of those that were new, in one transaction. (One
    /// statement with data-modifying CTEs was tried: fewer round trips, but the server's
    /// planning and executor start-up for it cost more CPU than the round trips saved.)
    async fn ingest_batch(
        &self,
        batch: Vec<NewDelivery>,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let plan = IngestPlan::new(&batch);
        let mut tx = self.pool.begin().await.map_err(StoreError::classify)?;
        let inserted = insert_deliveries(&mut tx, &plan.deliveries())
            .await
            .map_err(StoreError::classify)?;
        let (fresh, jobs) = plan.jobs(&inserted.iter().map(String::as_str).collect());
        let mut job_ids = std::collections::HashMap::new();
        if !jobs.is_empty() {
            for (id, key) in upsert_jobs(&mut tx, &jobs, super::now_ms())
                .await
                .map_err(StoreError::classify)?
            {
                job_ids.insert(key, id);
            }
        }
        tx.commit().await.map_err(StoreError::classify)?;
        Ok(plan.outcomes(&fresh, &job_ids))
    }

    async fn put_cache_entry(
        &self,
        scope: &str,
        url: &str,
        resp: &CachedResponse,
    ) -> Result<(), StoreError> {
        sqlx::query(super::UPSERT_CACHE)
            .bind(scope)
            .bind(url)
            .bind(&resp.etag)
            .bind(&resp.last_modified)
            .bind(&resp.body)
            .bind(resp.stored_at)
            .execute(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }

    async fn put_snapshot(&self, repo: &str, commit: &str, data: &[u8]) -> Result<(), StoreError> {
        sqlx::query(super::UPSERT_SNAPSHOT)
            .bind(repo)
            .bind(commit)
            .bind(data)
            .bind(super::now_ms())
            .execute(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }

    const BACKEND: &'static str = "postgres";

    async fn run_migrations(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Open(format!("migrations failed: {e}")))
    }

    async fn claim_next(&self, owner: &str, lease: Duration) -> Result<Option<Job>, StoreError> {
        let now = super::now_ms();
        let result = sqlx::query(CLAIM_SQL)
            .bind(owner)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .fetch_optional(&self.pool)
            .await;
        match result {
            Ok(row) => row.map(|r| super::job_from_row(&r)).transpose(),
            // Another replica claimed a job for the same key at the same moment; the unique
            // index stopped the second run. Nothing to do this round.
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("23505") => Ok(None),
            Err(e) => Err(StoreError::classify(e)),
        }
    }
}

impl_store_methods!(PgStore, sqlx::Postgres);

/// One statement for any batch size: the rows travel as arrays (`UNNEST`), so the prepared
/// statement is reused instead of a new multi-row statement being parsed for every batch size.
const INSERT_DELIVERIES: &str = "INSERT INTO deliveries (guid, event, action, installation_id, received_at, repo, issue_number) \
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[], $7::int8[]) \
    ON CONFLICT (guid) DO NOTHING RETURNING guid";

const UPSERT_JOBS: &str = concat!(
    "INSERT INTO jobs (kind, dedupe_key, payload, actor, delivery, state, attempts, run_at, created_at, updated_at, installation_id) ",
    "SELECT k, d, p, a, NULL, 'pending', 0, r, $6, $6, i ",
    "FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $7::int8[]) AS t(k, d, p, a, r, i)",
    super::job_upsert_conflict!()
);

async fn insert_deliveries(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    rows: &[&super::NewDelivery],
) -> Result<Vec<String>, sqlx::Error> {
    let guids: Vec<&str> = rows.iter().map(|d| d.guid.as_str()).collect();
    let events: Vec<&str> = rows.iter().map(|d| d.event.as_str()).collect();
    let actions: Vec<Option<&str>> = rows.iter().map(|d| d.action.as_deref()).collect();
    let installations: Vec<Option<i64>> = rows.iter().map(|d| d.installation_id).collect();
    let received: Vec<i64> = rows.iter().map(|d| d.received_at).collect();
    let repos: Vec<Option<&str>> = rows
        .iter()
        .map(|d| d.issue.as_ref().map(|i| i.0.as_str()))
        .collect();
    let issues: Vec<Option<i64>> = rows.iter().map(|d| d.issue.as_ref().map(|i| i.1)).collect();
    sqlx::query_scalar(INSERT_DELIVERIES)
        .bind(guids)
        .bind(events)
        .bind(actions)
        .bind(installations)
        .bind(received)
        .bind(repos)
        .bind(issues)
        .fetch_all(&mut **tx)
        .await
}

async fn upsert_jobs(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    jobs: &[super::NewJob],
    now: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    let keys: Vec<&str> = jobs.iter().map(|j| j.dedupe_key.as_str()).collect();
    let payloads: Vec<&str> = jobs.iter().map(|j| j.payload.as_str()).collect();
    let actors: Vec<Option<&str>> = jobs.iter().map(|j| j.actor.as_deref()).collect();
    let run_at: Vec<i64> = jobs.iter().map(|j| j.run_at).collect();
    let installations: Vec<Option<i64>> = jobs.iter().map(|j| j.installation_id).collect();
    sqlx::query_as(UPSERT_JOBS)
        .bind(kinds)
        .bind(keys)
        .bind(payloads)
        .bind(actors)
        .bind(run_at)
        .bind(now)
        .bind(installations)
        .fetch_all(&mut **tx)
        .await
}
