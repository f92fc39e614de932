//! SQLite backend: the embedded default. WAL mode so readers never block the writer, and
//! every 2xx backed by a write-ahead log on disk.
//!
//! The hot write paths (the webhook's group commits, cache writes) run on a writer thread of
//! their own, through `rusqlite` on the pool's one connection (locked away from sqlx's
//! connection thread for a bounded turn): through sqlx, each statement, returned row, begin
//! and commit is a round trip to sqlx's thread, a large share of a commit under webhook
//! load. The writer merges the group commits queued behind the one
//! committing into its next transaction, and commits them without waiting for the disk; a
//! sync thread answers them once an fsync of the log that started after their commit has
//! returned (`sync_loop`). Everything else keeps `synchronous = FULL`.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{TransactionBehavior, params};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::{Pool, Sqlite};
use tokio::sync::oneshot;

use super::sql::{Backend, JOB_UPSERT_CONFLICT, SqlStore, UPSERT_CACHE, UPSERT_SNAPSHOT};
use super::{CacheLink, CachedResponse, IngestOutcome, IngestPlan, NewDelivery, StoreError};
use crate::clock::SharedClock;

pub type SqliteStore = SqlStore<Sqlite>;

/// The way to the writer thread.
pub struct Writer(mpsc::Sender<WriteTask>);

type IngestReply = oneshot::Sender<Result<Vec<IngestOutcome>, StoreError>>;

/// Work for the writer thread.
enum WriteTask {
    /// A group commit. Those queued together are merged into one transaction: one fsync for
    /// all of them.
    Ingest {
        batch: Vec<NewDelivery>,
        reply: IngestReply,
    },
    /// Anything else.
    Other(Work),
}

/// Called with the locked connection, or with why there is none.
type Work = Box<dyn FnOnce(Result<&mut rusqlite::Connection, StoreError>) + Send>;

/// The file SQLite would create for `url`, if it creates one on disk: not for an in-memory
/// database (sqlx names those `file:…`) nor for a read-only one.
fn file_to_create(url: &str, options: &SqliteConnectOptions) -> Option<std::path::PathBuf> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let mode = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "mode")
        .map(|(_, v)| v.into_owned());
    if matches!(mode.as_deref(), Some("memory" | "ro")) {
        return None;
    }
    let file = options.get_filename();
    let name = file.to_string_lossy();
    if name.is_empty() || name == ":memory:" || name.starts_with("file:") {
        return None;
    }
    Some(file.to_path_buf())
}

impl SqlStore<Sqlite> {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_clock(url, crate::clock::system()).await
    }

    pub async fn connect_with_clock(url: &str, clock: SharedClock) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Open(format!("{url}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // Checkpoints run in the background (below), not inside a webhook's commit, so
            // that one unlucky delivery does not wait for the database file's fsync.
            .pragma("wal_autocheckpoint", "0")
            // When the log starts over, it is cut back to this size instead of staying at its
            // largest.
            .pragma("journal_size_limit", "67108864")
            // Deleted rows are overwritten, not only unlinked: an erased candidate's login must
            // not linger in free pages of the database file.
            .pragma("secure_delete", "on");
        // The database holds candidates' data: private whatever the umask (SQLite would create
        // it 0644 less the umask; its -wal and -shm files take the database file's mode).
        if let Some(file) = file_to_create(url, &options) {
            crate::private_file::create_empty_if_missing(&file)
                .map_err(|e| StoreError::Open(format!("{e:#}")))?;
        }
        // One connection: SQLite takes one writer at a time anyway, and queueing here (in
        // order, woken as soon as the connection is free) beats several connections meeting
        // in SQLite's busy handler, which sleeps up to 100 ms between tries and made the
        // webhook's p99 latency hundreds of milliseconds under load.
        // The wait in line is long enough for a burst (an evaluation's hundreds of cache reads
        // on a loaded machine) and still ends for a database that is stuck.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await
            .map_err(|e| StoreError::Open(format!("{e}")))?;
        // Checkpoints get their own connection: PASSIVE never blocks the writer, so they run
        // beside the commits instead of between them.
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
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
        let wal = {
            let mut path = options.get_filename().as_os_str().to_owned();
            path.push("-wal");
            std::path::PathBuf::from(path)
        };
        let (syncer, committed) = mpsc::channel::<Committed>();
        let synced_wal = wal.clone();
        std::thread::Builder::new()
            .name("folio-sqlite-sync".into())
            .spawn(move || sync_loop(&synced_wal, &committed))
            .map_err(|e| StoreError::Open(format!("cannot start the sync thread: {e}")))?;
        let (writer, tasks) = mpsc::channel::<WriteTask>();
        let runtime = tokio::runtime::Handle::current();
        let thread_pool = pool.clone();
        let thread_clock = clock.clone();
        std::thread::Builder::new()
            .name("folio-sqlite-writer".into())
            .spawn(move || write_loop(&runtime, &thread_pool, &thread_clock, &tasks, &syncer, &wal))
            .map_err(|e| StoreError::Open(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            pool,
            clock,
            extra: Writer(writer),
        })
    }

    /// Runs `work` on the writer thread. The work runs to its end even when the caller stops
    /// waiting, so a transaction or a pragma is never left half-done on the shared connection.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut rusqlite::Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let task = WriteTask::Other(Box::new(move |conn| {
            let _ = reply.send(conn.and_then(|c| work(c).map_err(StoreError::from)));
        }));
        self.send(task, answer).await
    }

    async fn send<T>(
        &self,
        task: WriteTask,
        answer: oneshot::Receiver<Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let stopped = || StoreError::Unavailable("the SQLite writer thread has stopped".into());
        self.extra.0.send(task).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// How many queued writes run on one hand-over of the connection before it goes back to the
/// pool, where job claims and reads wait their turn.
const MAX_TASKS_PER_TURN: usize = 8;

/// The writer thread: takes the pool's connection, locks its handle away from sqlx's own
/// thread, and runs the queued tasks on it before giving it back, so a burst pays for one
/// hand-over.
fn write_loop(
    runtime: &tokio::runtime::Handle,
    pool: &SqlitePool,
    clock: &SharedClock,
    tasks: &mpsc::Receiver<WriteTask>,
    syncer: &mpsc::Sender<Committed>,
    wal: &std::path::Path,
) {
    while let Ok(first) = tasks.recv() {
        // A bounded turn: job claims and reads queue for the same connection.
        let mut turn = vec![first];
        while turn.len() < MAX_TASKS_PER_TURN {
            match tasks.try_recv() {
                Ok(next) => turn.push(next),
                Err(_) => break,
            }
        }
        runtime.block_on(async {
            let mut conn = match pool.acquire().await {
                Ok(c) => c,
                Err(e) => return fail(turn, &StoreError::from(e)),
            };
            let mut locked = match conn.lock_handle().await {
                Ok(l) => l,
                Err(e) => return fail(turn, &StoreError::from(e)),
            };
            // SAFETY: while `locked` lives, sqlx's connection thread makes no call on this
            // handle, and the `rusqlite::Connection` (which does not close the handle when
            // dropped, and finalizes its statements) is dropped before `locked`.
            #[allow(unsafe_code)]
            let raw = unsafe { rusqlite::Connection::from_handle(locked.as_raw_handle().as_ptr()) };
            let mut db = match raw {
                Ok(db) => db,
                Err(e) => return fail(turn, &StoreError::from(e)),
            };
            run_turn(&mut db, turn, clock, syncer);
            bound_the_log(&db, wal);
            drop(db);
            drop(locked);
        });
    }
}

/// The log size past which the writer checkpoints between its own transactions.
const LOG_RESTART_BYTES: u64 = 32 << 20;

/// Keeps the write-ahead log from growing without end under steady writes. The background
/// checkpoint (PASSIVE) copies frames into the database but can never catch up with a writer
/// that appends all the time, so the log is never started over and grows by hundreds of
/// megabytes under webhook load. Run by the writer between its transactions, nothing is appended meanwhile, so the
/// checkpoint completes (the background one has copied most frames already) and the next
/// transaction starts the log over from its beginning.
fn bound_the_log(db: &rusqlite::Connection, wal: &std::path::Path) {
    let big = std::fs::metadata(wal).is_ok_and(|m| m.len() > LOG_RESTART_BYTES);
    if big {
        // Busy (the background checkpoint is running) just means: next turn.
        let _ = db.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

/// Group commits whose transaction is committed but not yet on disk, with their answers.
type Committed = Vec<(IngestReply, Vec<IngestOutcome>)>;

/// Runs a turn's tasks: the group commits merged into one transaction, the rest in order.
///
/// The group commit's transaction commits without waiting for the disk (`synchronous =
/// NORMAL`), and its answers go to the sync thread, which replies once the write-ahead log
/// holding it is on disk. The fsync, most of a commit's time under webhook load, then no
/// longer stands between one commit and the next.
fn run_turn(
    db: &mut rusqlite::Connection,
    turn: Vec<WriteTask>,
    clock: &SharedClock,
    syncer: &mpsc::Sender<Committed>,
) {
    let mut merged = Vec::new();
    let mut replies = Vec::new();
    for task in turn {
        match task {
            WriteTask::Ingest { batch, reply } => {
                replies.push((reply, batch.len()));
                merged.extend(batch);
            }
            WriteTask::Other(work) => work(Ok(&mut *db)),
        }
    }
    if replies.is_empty() {
        return;
    }
    let now = clock.now().as_millis();
    match without_waiting_for_disk(db, |db| ingest_sync(db, &merged, now)) {
        Ok(outcomes) => {
            let mut rest = outcomes.into_iter();
            let answers: Committed = replies
                .into_iter()
                .map(|(reply, n)| (reply, rest.by_ref().take(n).collect()))
                .collect();
            if let Err(mpsc::SendError(answers)) = syncer.send(answers) {
                for (reply, _) in answers {
                    let _ = reply.send(Err(StoreError::Unavailable(
                        "the SQLite sync thread has stopped".into(),
                    )));
                }
            }
        }
        Err(e) => {
            let e = StoreError::from(e);
            for (reply, _) in replies {
                let _ = reply.send(Err(e.duplicate()));
            }
        }
    }
}

/// The sync thread: one fsync of the write-ahead log for every commit queued since the last,
/// then their answers. A commit's frames are in the log before it reaches this queue, so an
/// fsync that starts after takes them to disk; the log is opened anew each time, so a log
/// that SQLite removed and created again is never synced through a stale descriptor (when it
/// is gone, its commits were checkpointed into the database file, which SQLite syncs).
fn sync_loop(wal: &std::path::Path, committed: &mpsc::Receiver<Committed>) {
    while let Ok(mut answers) = committed.recv() {
        while let Ok(more) = committed.try_recv() {
            answers.extend(more);
        }
        let synced = match std::fs::File::open(wal) {
            Ok(file) => file.sync_data(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        };
        for (reply, outcomes) in answers {
            let _ = reply.send(match &synced {
                Ok(()) => Ok(outcomes),
                Err(e) => Err(StoreError::Unavailable(format!(
                    "could not sync the write-ahead log: {e}"
                ))),
            });
        }
    }
}

fn fail(turn: Vec<WriteTask>, e: &StoreError) {
    for task in turn {
        match task {
            WriteTask::Ingest { reply, .. } => {
                let _ = reply.send(Err(e.duplicate()));
            }
            WriteTask::Other(work) => work(Err(e.duplicate())),
        }
    }
}

/// A delivery whose id or body was seen before is not inserted (no conflict target: either
/// unique index).
const INSERT_DELIVERY: &str = "INSERT INTO deliveries (guid, event, action, installation_id, received_at, repo, issue_number, body_hash) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING";

const UPSERT_JOB: &str = "INSERT INTO jobs (kind, dedupe_key, payload, actor, delivery, state, attempts, run_at, created_at, updated_at, installation_id) \
    VALUES (?1, ?2, ?3, ?4, NULL, 'pending', 0, ?5, ?6, ?6, ?7)";

/// One group commit: the deliveries, then their coalesced jobs, in one transaction.
fn ingest_sync(
    conn: &mut rusqlite::Connection,
    batch: &[NewDelivery],
    now: i64,
) -> Result<Vec<IngestOutcome>, rusqlite::Error> {
    let plan = IngestPlan::new(batch);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut inserted = HashSet::new();
    {
        let mut insert = tx.prepare(INSERT_DELIVERY)?;
        for d in plan.deliveries() {
            let rows = insert.execute(params![
                d.guid,
                d.event,
                d.action,
                d.installation_id,
                d.received_at,
                d.issue.as_ref().map(|i| i.0.as_str()),
                d.issue.as_ref().map(|i| i.1),
                d.body_hash
            ])?;
            if rows > 0 {
                inserted.insert(d.guid.as_str());
            }
        }
    }
    let (fresh, jobs) = plan.jobs(&inserted);
    let mut job_ids = HashMap::with_capacity(jobs.len());
    if !jobs.is_empty() {
        let mut upsert = tx.prepare(&format!("{UPSERT_JOB}{JOB_UPSERT_CONFLICT}"))?;
        for j in &jobs {
            let (id, key): (i64, String) = upsert.query_row(
                params![
                    j.kind,
                    j.dedupe_key,
                    j.payload,
                    j.actor,
                    j.run_at,
                    now,
                    j.installation_id
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            job_ids.insert(key, id);
        }
    }
    tx.commit()?;
    Ok(plan.outcomes(&fresh, &job_ids))
}

/// Runs `work` with commits that do not wait for the disk (`synchronous = NORMAL`), then puts
/// the connection back to `FULL` whatever happened: everything else on it (job claims, state
/// changes) stays fully durable.
fn without_waiting_for_disk<T>(
    conn: &mut rusqlite::Connection,
    work: impl FnOnce(&mut rusqlite::Connection) -> Result<T, rusqlite::Error>,
) -> Result<T, rusqlite::Error> {
    conn.execute_batch("PRAGMA synchronous = NORMAL")?;
    let result = work(conn);
    conn.execute_batch("PRAGMA synchronous = FULL")?;
    result
}

/// Writes disposable data (the HTTP cache, repository snapshots) without waiting for the
/// disk: a lost entry costs one request, and with one connection for everything an
/// evaluation's hundreds of cache writes would otherwise queue seconds of fsyncs ahead of
/// deliveries and job claims.
fn write_disposable(
    conn: &mut rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<(), rusqlite::Error> {
    without_waiting_for_disk(conn, |c| c.execute(sql, params).map(|_| ()))
}

#[async_trait]
impl Backend for Sqlite {
    const BACKEND: &'static str = "sqlite";
    const CLAIM_LOCK: &'static str = "";
    const SINGLE_NODE: bool = true;
    type Extra = Writer;

    async fn migrate(pool: &Pool<Self>) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(pool)
            .await
            .map_err(|e| StoreError::Open(format!("migrations failed: {e}")))
    }

    async fn ingest(
        store: &SqliteStore,
        batch: Vec<NewDelivery>,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let task = WriteTask::Ingest { batch, reply };
        store.send(task, answer).await
    }

    /// On the writer thread, in one transaction: hundreds of rows written through the pool's
    /// side of the shared connection stalled it under concurrent load.
    async fn link_cache(
        store: &SqliteStore,
        submission_id: i64,
        links: &[CacheLink],
    ) -> Result<(), StoreError> {
        if links.is_empty() {
            return Ok(());
        }
        let rows: Vec<(String, String, String)> = links
            .iter()
            .map(|l| {
                let (kind, k1, k2) = l.parts();
                (kind.to_string(), k1.to_string(), k2.to_string())
            })
            .collect();
        store
            .write(move |conn| {
                without_waiting_for_disk(conn, |c| {
                    let tx = c.transaction()?;
                    {
                        let mut insert = tx.prepare(
                            "INSERT INTO submission_cache (submission_id, kind, k1, k2) VALUES (?1, ?2, ?3, ?4) \
                             ON CONFLICT DO NOTHING",
                        )?;
                        for (kind, k1, k2) in &rows {
                            insert.execute(params![submission_id, kind, k1, k2])?;
                        }
                    }
                    tx.commit()
                })
            })
            .await
    }

    async fn cache_put(
        store: &SqliteStore,
        scope: &str,
        url: &str,
        resp: &CachedResponse,
    ) -> Result<(), StoreError> {
        let (scope, url, resp) = (scope.to_string(), url.to_string(), resp.clone());
        store
            .write(move |conn| {
                write_disposable(
                    conn,
                    UPSERT_CACHE,
                    params![
                        scope,
                        url,
                        resp.etag,
                        resp.last_modified,
                        resp.body,
                        resp.stored_at
                    ],
                )
            })
            .await
    }

    async fn snapshot_put(
        store: &SqliteStore,
        repo: &str,
        commit: &str,
        data: &[u8],
    ) -> Result<(), StoreError> {
        let (repo, commit, data) = (repo.to_string(), commit.to_string(), data.to_vec());
        let now = store.now();
        store
            .write(move |conn| {
                write_disposable(conn, UPSERT_SNAPSHOT, params![repo, commit, data, now])
            })
            .await
    }

    /// The log, which still holds the deleted rows' old pages, is copied into the (securely
    /// overwritten) database file and cut to nothing.
    async fn finish_erasure(store: &SqliteStore) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&store.pool)
            .await?;
        Ok(())
    }

    fn rows(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CachedResponse, NewJob, Store};

    async fn synchronous(store: &SqliteStore) -> i64 {
        sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(store.pool())
            .await
            .expect("pragma")
    }

    async fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::connect(&url).await.expect("connect");
        store.migrate().await.expect("migrate");
        (dir, store)
    }

    /// Cache writes skip the fsync, but the one connection must go back to `FULL` (2) for the
    /// deliveries and jobs that follow, even when the caller stops waiting half-way.
    #[tokio::test]
    async fn relaxed_cache_writes_leave_the_connection_fully_durable() {
        let (_dir, store) = open().await;
        assert_eq!(synchronous(&store).await, 2);
        let resp = CachedResponse {
            etag: Some("\"x\"".into()),
            last_modified: None,
            body: b"{}".to_vec(),
            stored_at: 1,
        };
        store.cache_put("s", "/u", &resp).await.expect("put");
        assert_eq!(synchronous(&store).await, 2);
        let abandoned = store.cache_put("s", "/v", &resp);
        // Polled once (the work is queued), then dropped.
        let _ = tokio::time::timeout(Duration::ZERO, abandoned).await;
        assert_eq!(synchronous(&store).await, 2);
        assert_eq!(store.cache_get("s", "/u").await.expect("get"), Some(resp));
        // Group commits wait for the log's fsync on their own thread, not through the setting.
        let ping = NewDelivery {
            guid: "g".into(),
            event: "ping".into(),
            action: None,
            installation_id: None,
            received_at: 1,
            issue: None,
            body_hash: None,
            job: None,
        };
        store.ingest(vec![ping]).await.expect("ingest");
        assert_eq!(synchronous(&store).await, 2);
    }

    /// A database that cannot grow reports a full disk as such, through sqlx and through the
    /// writer thread alike, not as an ordinary database error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_database_is_reported_as_a_full_disk() {
        let (_dir, store) = open().await;
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(store.pool())
            .await
            .expect("pages");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "PRAGMA max_page_count = {pages}"
        )))
        .execute(store.pool())
        .await
        .expect("cap");
        let blob = vec![7u8; 1 << 20];
        let through_writer = store.snapshot_put("o/r", "c", &blob).await;
        assert!(
            matches!(through_writer, Err(StoreError::DiskFull(_))),
            "{through_writer:?}"
        );
        let through_sqlx = store
            .upsert_installation(1, &"x".repeat(1 << 20), "User")
            .await;
        assert!(
            matches!(through_sqlx, Err(StoreError::DiskFull(_))),
            "{through_sqlx:?}"
        );
        assert!(through_sqlx.expect_err("full").is_unavailable());
    }

    /// Back-to-back writes do not grow the log past the restart size by much: the writer
    /// checkpoints between its own transactions and the log starts over.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_stays_bounded_under_steady_writes() {
        let (dir, store) = open().await;
        let blob = vec![7u8; 1 << 20];
        for n in 0..96 {
            store
                .snapshot_put("o/r", &format!("{n:040}"), &blob)
                .await
                .expect("put");
        }
        let wal = std::fs::metadata(dir.path().join("t.db-wal"))
            .expect("wal")
            .len();
        assert!(wal < 64 << 20, "the log grew to {wal} bytes");
    }

    /// Batches queued together commit as one transaction, and each caller still gets its own
    /// outcomes, in its own order: a delivery id in two of them is new in exactly one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn merged_group_commits_answer_each_batch_in_order() {
        let (_dir, store) = open().await;
        let one = |guid: &str| NewDelivery {
            guid: guid.into(),
            event: "ping".into(),
            action: None,
            installation_id: None,
            received_at: 1,
            issue: None,
            body_hash: None,
            job: None,
        };
        let batches: Vec<Vec<NewDelivery>> = (0..8)
            .map(|b| {
                let mut v: Vec<NewDelivery> = (0..5).map(|i| one(&format!("{b}-{i}"))).collect();
                v.push(one("shared"));
                v
            })
            .collect();
        let answers =
            futures::future::join_all(batches.iter().map(|b| store.ingest(b.clone()))).await;
        let mut shared_new = 0;
        for (b, answer) in answers.into_iter().enumerate() {
            let out = answer.expect("ingest");
            assert_eq!(out.len(), 6, "batch {b}");
            assert!(
                out[..5]
                    .iter()
                    .all(|o| *o == IngestOutcome::Accepted { job_id: None }),
                "batch {b}: {out:?}"
            );
            if out[5] != IngestOutcome::Duplicate {
                shared_new += 1;
            }
        }
        assert_eq!(shared_new, 1);
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries")
            .fetch_one(store.pool())
            .await
            .expect("count");
        assert_eq!(stored, 41);
    }

    /// The writer thread and sqlx's own statements share the connection in turn: interleaved
    /// group commits and reads see each other's work, and a failed statement rolls back its
    /// whole batch without leaving a transaction open for the next one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writer_thread_and_pool_take_turns_on_the_one_connection() {
        let (_dir, store) = open().await;
        let delivery = |guid: &str, key: &str| NewDelivery {
            guid: guid.into(),
            event: "issues".into(),
            action: Some("opened".into()),
            installation_id: Some(1),
            received_at: 1,
            issue: None,
            body_hash: None,
            job: Some(NewJob {
                kind: "evaluate".into(),
                dedupe_key: key.into(),
                payload: "{}".into(),
                actor: None,
                run_at: 0,
                installation_id: Some(1),
            }),
        };
        let mut handles = Vec::new();
        let store = std::sync::Arc::new(store);
        for w in 0..4 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                for i in 0..25 {
                    let batch = vec![delivery(&format!("{w}-{i}"), &format!("k{}", i % 5))];
                    store.ingest(batch).await.expect("ingest");
                    store.queue_stats().await.expect("stats");
                }
            }));
        }
        for h in handles {
            h.await.expect("task");
        }
        let stats = store.queue_stats().await.expect("stats");
        assert_eq!(
            stats.pending, 5,
            "100 deliveries on 5 keys coalesce into 5 jobs"
        );
        // A job row the upsert cannot write (NOT NULL kind) fails the batch, and only it.
        let mut bad = delivery("bad", "k-bad");
        let mut good = delivery("good", "k-good");
        bad.job.as_mut().expect("job").payload = "x".into();
        sqlx::query("CREATE TRIGGER refuse BEFORE INSERT ON jobs WHEN NEW.payload = 'x' BEGIN SELECT RAISE(ABORT, 'refused'); END")
            .execute(store.pool())
            .await
            .expect("trigger");
        assert!(matches!(
            store.ingest(vec![good.clone(), bad]).await,
            Err(StoreError::Write(_))
        ));
        good.guid = "good-2".into();
        assert!(store.ingest(vec![good]).await.is_ok());
        let guids: Vec<String> = sqlx::query_scalar(
            "SELECT guid FROM deliveries WHERE guid LIKE 'good%' OR guid = 'bad'",
        )
        .fetch_all(store.pool())
        .await
        .expect("guids");
        assert_eq!(
            guids,
            vec!["good-2".to_string()],
            "the failed batch left nothing"
        );
    }
}
