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
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open(format!("{e}")))?;
        let checkpointer = pool.clone();
        tokio::spawn(async move {
            while !checkpointer.is_closed() {
                tokio::time::sleep(Duration::from_millis(500)).await;
                // PASSIVE never blocks writers; TRUNCATE now and then keeps the WAL small.
                let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&checkpointer)
                    .await;
            }
        });
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

impl_store_common!(sqlx::Sqlite);
impl_requeue!(SqliteStore);

const CLAIM_SQL: &str = "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, \
    attempts = attempts + 1, updated_at = $3 \
    WHERE id = (SELECT j.id FROM jobs j WHERE \
      (j.state = 'pending' AND j.run_at <= $3 AND NOT EXISTS \
         (SELECT 1 FROM jobs r WHERE r.dedupe_key = j.dedupe_key AND r.state = 'running')) \
      OR (j.state = 'running' AND j.lease_until <= $3) \
      ORDER BY j.run_at, j.id LIMIT 1) \
    RETURNING id, kind, dedupe_key, payload, actor, delivery, state, attempts, run_at, lease_owner, lease_until, last_error, created_at, updated_at";

impl SqliteStore {
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
