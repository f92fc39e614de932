//! SQLite backend: the embedded default. WAL mode so readers never block the writer, and
//! `synchronous = FULL` so that a committed delivery survives a power cut (the promise behind
//! every 2xx). Group commit in the webhook path amortises the fsync.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{Job, StoreError, impl_requeue, impl_store_common, impl_store_methods};

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Open(format!("{url}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // Checkpoints run in the background (below), not inside a webhook's commit, so
            // that one unlucky delivery does not wait for the database file's fsync.
            .pragma("wal_autocheckpoint", "0");
        // One connection: SQLite takes one writer at a time anyway, and queueing here (in
        // order, woken as soon as the connection is free) beats several connections meeting
        // in SQLite's busy handler, which sleeps up to 100 ms between tries and made the
        // webhook's p99 latency hundreds of milliseconds under load.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            // A connection always goes back to the pool fully durable, even when a relaxed
            // cache write was cancelled half-way (see `disposable_writer`).
            .after_release(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA synchronous = FULL")
                        .execute(&mut *conn)
                        .await?;
                    Ok(true)
                })
            })
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await
            .map_err(|e| StoreError::Open(format!("{e}")))?;
        // Checkpoints get their own connection: PASSIVE never blocks the writer, so they run
        // beside the commits instead of between them.
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open(format!("{e}")))?;
        let main = pool.clone();
        tokio::spawn(async move {
            while !main.is_closed() {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&checkpointer)
                    .await;
            }
            checkpointer.close().await;
        });
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

impl_store_common!(sqlx::Sqlite);
impl_requeue!(SqliteStore);

const CLAIM_SQL: &str = super::claim_sql!("");

impl SqliteStore {
    /// The connection for writes of disposable data (the HTTP cache, repository snapshots):
    /// a lost entry costs one request, so these commits skip the fsync (`synchronous =
    /// NORMAL`). With one connection for everything, an evaluation's hundreds of cache writes
    /// would otherwise queue seconds of fsyncs ahead of deliveries and job claims.
    async fn disposable_writer(
        &self,
    ) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::classify)?;
        sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        Ok(conn)
    }

    const BACKEND: &'static str = "sqlite";

    async fn run_migrations(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Open(format!("migrations failed: {e}")))
    }

    async fn claim_next(&self, owner: &str, lease: Duration) -> Result<Option<Job>, StoreError> {
        let now = super::now_ms();
        let row = sqlx::query(CLAIM_SQL)
            .bind(owner)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        row.map(|r| super::job_from_row(&r)).transpose()
    }
}

impl_store_methods!(SqliteStore, sqlx::Sqlite);

/// One statement for any batch size: the rows travel as one JSON array, so the prepared
/// statement is reused from the connection's cache instead of a new multi-row statement being
/// prepared for every batch size.
const INSERT_DELIVERIES: &str = "INSERT INTO deliveries (guid, event, action, installation_id, received_at) \
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each($1) WHERE true \
    ON CONFLICT (guid) DO NOTHING RETURNING guid";

const UPSERT_JOBS: &str = concat!(
    "INSERT INTO jobs (kind, dedupe_key, payload, actor, delivery, state, attempts, run_at, created_at, updated_at, installation_id) ",
    "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, NULL, 'pending', 0, value ->> 4, $2, $2, value ->> 5 ",
    "FROM json_each($1) WHERE true",
    super::job_upsert_conflict!()
);

async fn insert_deliveries(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    rows: &[&super::NewDelivery],
) -> Result<Vec<String>, sqlx::Error> {
    let json = serde_json::to_string(
        &rows
            .iter()
            .map(|d| {
                (
                    &d.guid,
                    &d.event,
                    &d.action,
                    d.installation_id,
                    d.received_at,
                )
            })
            .collect::<Vec<_>>(),
    )
    .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query_scalar(INSERT_DELIVERIES)
        .bind(json)
        .fetch_all(&mut **tx)
        .await
}

async fn upsert_jobs(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    jobs: &[super::NewJob],
    now: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let json = serde_json::to_string(
        &jobs
            .iter()
            .map(|j| {
                (
                    &j.kind,
                    &j.dedupe_key,
                    &j.payload,
                    &j.actor,
                    j.run_at,
                    j.installation_id,
                )
            })
            .collect::<Vec<_>>(),
    )
    .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query_as(UPSERT_JOBS)
        .bind(json)
        .bind(now)
        .fetch_all(&mut **tx)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CachedResponse, Store};

    async fn synchronous(store: &SqliteStore) -> i64 {
        sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(store.pool())
            .await
            .expect("pragma")
    }

    /// Cache writes skip the fsync, but the one connection must go back to `FULL` (2) for the
    /// deliveries and jobs that follow, even when the cache write is cancelled half-way.
    #[tokio::test]
    async fn relaxed_cache_writes_leave_the_connection_fully_durable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::connect(&url).await.expect("connect");
        store.migrate().await.expect("migrate");
        assert_eq!(synchronous(&store).await, 2);
        let resp = CachedResponse {
            etag: Some("\"x\"".into()),
            last_modified: None,
            body: b"{}".to_vec(),
            stored_at: 1,
        };
        store.cache_put("s", "/u", &resp).await.expect("put");
        assert_eq!(synchronous(&store).await, 2);
        let cancelled = store.disposable_writer().await.expect("conn");
        drop(cancelled);
        assert_eq!(synchronous(&store).await, 2);
        assert_eq!(store.cache_get("s", "/u").await.expect("get"), Some(resp));
    }
}
