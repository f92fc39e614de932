//! PostgreSQL backend: for several replicas on one database. Jobs are claimed with
//! `FOR UPDATE SKIP LOCKED`, so replicas never wait on each other's claims, and the unique index
//! on running jobs per key makes a second claim of the same issue fail instead of running twice.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPoolOptions, PgQueryResult};
use sqlx::{AssertSqlSafe, Pool, Postgres};

use super::sql::{Backend, JOB_UPSERT_CONFLICT, SqlStore, UPSERT_CACHE, UPSERT_SNAPSHOT};
use super::{
    CacheLink, CachedResponse, IngestOutcome, IngestPlan, NewDelivery, NewJob, StoreError,
};
use crate::clock::SharedClock;

pub type PgStore = SqlStore<Postgres>;

impl SqlStore<Postgres> {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_clock(url, crate::clock::system()).await
    }

    pub async fn connect_with_clock(url: &str, clock: SharedClock) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| StoreError::Open(format!("{e}")))?;
        Ok(Self {
            pool,
            clock,
            extra: (),
        })
    }
}

#[async_trait]
impl Backend for Postgres {
    const BACKEND: &'static str = "postgres";
    const CLAIM_LOCK: &'static str = " FOR UPDATE SKIP LOCKED";
    const SINGLE_NODE: bool = false;
    type Extra = ();

    async fn migrate(pool: &Pool<Self>) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(pool)
            .await
            .map_err(|e| StoreError::Open(format!("migrations failed: {e}")))
    }

    /// The deliveries, then the jobs of those that were new, in one transaction. (One
    /// statement with data-modifying CTEs costs the server more in planning and executor
    /// start-up than the round trips it saves.)
    async fn ingest(
        store: &PgStore,
        batch: Vec<NewDelivery>,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let plan = IngestPlan::new(&batch);
        let mut tx = store.pool.begin().await?;
        let inserted = insert_deliveries(&mut tx, &plan.deliveries()).await?;
        let (fresh, jobs) = plan.jobs(&inserted.iter().map(String::as_str).collect());
        let mut job_ids = HashMap::new();
        if !jobs.is_empty() {
            for (id, key) in upsert_jobs(&mut tx, &jobs, store.now()).await? {
                job_ids.insert(key, id);
            }
        }
        tx.commit().await?;
        Ok(plan.outcomes(&fresh, &job_ids))
    }

    /// A few statements of many rows: an evaluation reads hundreds of cache entries.
    async fn link_cache(
        store: &PgStore,
        submission_id: i64,
        links: &[CacheLink],
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
            .execute(&store.pool)
            .await?;
        }
        Ok(())
    }

    async fn cache_put(
        store: &PgStore,
        scope: &str,
        url: &str,
        resp: &CachedResponse,
    ) -> Result<(), StoreError> {
        sqlx::query(UPSERT_CACHE)
            .bind(scope)
            .bind(url)
            .bind(&resp.etag)
            .bind(&resp.last_modified)
            .bind(&resp.body)
            .bind(resp.stored_at)
            .execute(&store.pool)
            .await?;
        Ok(())
    }

    async fn snapshot_put(
        store: &PgStore,
        repo: &str,
        commit: &str,
        data: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query(UPSERT_SNAPSHOT)
            .bind(repo)
            .bind(commit)
            .bind(data)
            .bind(store.now())
            .execute(&store.pool)
            .await?;
        Ok(())
    }

    /// Dead tuples of the erased rows are reclaimed now rather than whenever autovacuum
    /// comes by.
    async fn finish_erasure(store: &PgStore) -> Result<(), StoreError> {
        sqlx::query(
            "VACUUM submissions, evaluations, jobs, deliveries, http_cache, repo_snapshots, submission_cache",
        )
        .execute(&store.pool)
        .await?;
        Ok(())
    }

    fn rows(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }
}

/// One statement for any batch size: the rows travel as arrays (`UNNEST`), so the prepared
/// statement is reused instead of a new multi-row statement being parsed for every batch size.
/// A delivery whose id or body was seen before is not inserted (no conflict target: either
/// unique index).
const INSERT_DELIVERIES: &str = "INSERT INTO deliveries (guid, event, action, installation_id, received_at, repo, issue_number, body_hash) \
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[], $7::int8[], $8::text[]) \
    ON CONFLICT DO NOTHING RETURNING guid";

async fn insert_deliveries(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    rows: &[&NewDelivery],
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
    let bodies: Vec<Option<&str>> = rows.iter().map(|d| d.body_hash.as_deref()).collect();
    sqlx::query_scalar(INSERT_DELIVERIES)
        .bind(guids)
        .bind(events)
        .bind(actions)
        .bind(installations)
        .bind(received)
        .bind(repos)
        .bind(issues)
        .bind(bodies)
        .fetch_all(&mut **tx)
        .await
}

async fn upsert_jobs(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    jobs: &[NewJob],
    now: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    let keys: Vec<&str> = jobs.iter().map(|j| j.dedupe_key.as_str()).collect();
    let payloads: Vec<&str> = jobs.iter().map(|j| j.payload.as_str()).collect();
    let actors: Vec<Option<&str>> = jobs.iter().map(|j| j.actor.as_deref()).collect();
    let run_at: Vec<i64> = jobs.iter().map(|j| j.run_at).collect();
    let installations: Vec<Option<i64>> = jobs.iter().map(|j| j.installation_id).collect();
    let sql = format!(
        "INSERT INTO jobs (kind, dedupe_key, payload, actor, delivery, state, attempts, run_at, created_at, updated_at, installation_id) \
         SELECT k, d, p, a, NULL, 'pending', 0, r, $6, $6, i \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $7::int8[]) AS t(k, d, p, a, r, i)\
         {JOB_UPSERT_CONFLICT}"
    );
    sqlx::query_as(AssertSqlSafe(sql))
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
