//! Starting a real Folio (router, ingestor, workers, database) for integration tests, in the
//! spirit of zero-to-production's `spawn_app`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use folio::config::Settings;
use folio::server::Running;
use folio::store::DynStore;
use folio::worker::JobHandler;

pub const SECRET: &str = "test-webhook-secret";

pub const TEST_CONFIG: &str = "[queue]\nlease_seconds = 3\npoll_interval_ms = 20\nshutdown_grace_seconds = 1\nbackoff_base_seconds = 1\nbackoff_max_seconds = 2\n";

pub struct TestApp {
    pub url: String,
    /// The admin listener: `/metrics` and the status page.
    pub admin_url: String,
    pub store: DynStore,
    pub running: Option<Running>,
    pub http: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

pub fn base_env(db_url: &str) -> HashMap<String, String> {
    let mut env = HashMap::new();
    env.insert("FOLIO_DATABASE_URL".into(), db_url.to_string());
    env.insert("FOLIO_LISTEN".into(), "127.0.0.1:0".into());
    env.insert("FOLIO_ADMIN_LISTEN".into(), "127.0.0.1:0".into());
    env.insert("FOLIO_WEBHOOK_SECRET".into(), SECRET.into());
    env.insert(
        "FOLIO_CREDENTIALS_PATH".into(),
        "/nonexistent/folio-credentials.json".into(),
    );
    env
}

/// A fresh SQLite database in a temporary directory.
pub fn sqlite_env() -> (HashMap<String, String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("folio.db").display());
    (base_env(&url), dir)
}

pub async fn spawn_with(
    env: HashMap<String, String>,
    dir: Option<tempfile::TempDir>,
    handler: Option<Arc<dyn JobHandler>>,
) -> TestApp {
    // Short timings so that tests don't wait for production-sized leases and grace periods.
    let config = dir.as_ref().map(|d| {
        let path = d.path().join("folio.toml");
        if !path.exists() {
            std::fs::write(&path, TEST_CONFIG).expect("write config");
        }
        path
    });
    let settings = Settings::load_from(config.as_deref(), &env).expect("settings");
    let store = folio::store::connect(&settings.database_url)
        .await
        .expect("store");
    store.migrate().await.expect("migrate");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let running = folio::server::start(settings, store.clone(), listener, handler)
        .await
        .expect("start");
    TestApp {
        url: format!("http://{}", running.addr),
        admin_url: format!("http://{}", running.admin_addr),
        store,
        running: Some(running),
        http: story_client(),
        _dir: dir,
    }
}

/// A story's HTTP client: every request has a deadline, so a hung server fails the story
/// with a message instead of hanging the suite.
pub fn story_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

pub async fn spawn(handler: Option<Arc<dyn JobHandler>>) -> TestApp {
    let (env, dir) = sqlite_env();
    spawn_with(env, Some(dir), handler).await
}

impl TestApp {
    /// Sends a delivery signed with the test secret.
    pub async fn deliver(&self, event: &str, guid: &str, body: &[u8]) -> reqwest::Response {
        self.http
            .post(format!("{}/webhook", self.url))
            .header("X-GitHub-Event", event)
            .header("X-GitHub-Delivery", guid)
            .header(
                "X-Hub-Signature-256",
                folio::webhook::verify::sign(SECRET, body),
            )
            .header("Content-Type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("request")
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("stop");
        }
    }
}

pub fn fixture(event: &str, name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/github/webhooks/{event}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A GitHub-like payload with an installation, for events whose fixtures lack one.
pub fn with_installation(body: &[u8], installation_id: i64) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(body).expect("json");
    v["installation"] = serde_json::json!({"id": installation_id, "node_id": "x"});
    serde_json::to_vec(&v).expect("json")
}

/// An issues.opened payload for a form submission on acme/hiring.
pub fn submission_opened(number: i64, body: &str) -> Vec<u8> {
    let mut v: serde_json::Value =
        serde_json::from_slice(&fixture("issues", "opened.payload.json")).expect("json");
    v["issue"]["number"] = number.into();
    v["issue"]["body"] = body.into();
    v["repository"]["full_name"] = "acme/hiring".into();
    v["installation"] = serde_json::json!({"id": 42, "node_id": "x"});
    serde_json::to_vec(&v).expect("json")
}

/// Settings for a Folio that talks to a fake GitHub as its App, with short GitHub timeouts
/// and retries so that fault stories finish in seconds.
pub const GITHUB_TEST_CONFIG: &str =
    "[github]\nrequest_timeout_seconds = 5\nmax_retries = 4\nretry_base_ms = 50\n";

pub fn github_env(
    db_url: &str,
    api_url: &str,
    app_id: u64,
    private_key_pem: &str,
) -> HashMap<String, String> {
    let mut env = base_env(db_url);
    env.insert("FOLIO_GITHUB_API_URL".into(), api_url.to_string());
    env.insert("FOLIO_APP_ID".into(), app_id.to_string());
    env.insert("FOLIO_PRIVATE_KEY".into(), private_key_pem.to_string());
    env
}

/// A Folio on a fresh SQLite database, wired to the fake GitHub at `api_url` as app `app_id`.
pub async fn spawn_for_github(api_url: &str, app_id: u64, private_key_pem: &str) -> TestApp {
    spawn_for_github_with(api_url, app_id, private_key_pem, "").await
}

/// As [`spawn_for_github`], with `extra` TOML lines appended to the test configuration
/// (e.g. `max_attempts = 2` under `[queue]`).
pub async fn spawn_for_github_with(
    api_url: &str,
    app_id: u64,
    private_key_pem: &str,
    extra: &str,
) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("folio.db").display());
    std::fs::write(
        dir.path().join("folio.toml"),
        format!("{TEST_CONFIG}{extra}\n{GITHUB_TEST_CONFIG}"),
    )
    .expect("write config");
    let env = github_env(&url, api_url, app_id, private_key_pem);
    spawn_with(env, Some(dir), None).await
}

impl TestApp {
    /// The report JSON of the last evaluation, after asserting that it was evaluated.
    pub async fn last_report(&self, repo: &str, number: u64) -> serde_json::Value {
        let sub = self
            .store
            .submission(repo, number as i64)
            .await
            .expect("store")
            .expect("a submission was recorded");
        let eval = self
            .store
            .last_evaluation(sub.id)
            .await
            .expect("store")
            .expect("an evaluation was recorded");
        assert_eq!(eval.outcome, "evaluated");
        serde_json::from_str(eval.report_json.as_deref().expect("report json")).expect("json")
    }

    /// The SQLite database file, when the app runs on one in its temporary directory.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self._dir
            .as_ref()
            .map(|d| d.path().join("folio.db"))
            .filter(|p| p.exists())
    }

    /// Waits until no job is pending or running (retries included), or panics after `timeout`.
    pub async fn wait_idle(&self, timeout: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        // A delivery's job is committed before the 2xx, so an empty queue right after a
        // delivery means the job already ran; but give the workers a moment to claim it.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        loop {
            let stats = self.store.queue_stats().await.expect("queue stats");
            if stats.pending == 0 && stats.running == 0 {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!("jobs still queued after {timeout:?}: {stats:?}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
}

/// What `folio serve` processes need to run against a fake GitHub on database `db_url`: a
/// directory (for the config file and logs), the test config file, and the environment.
pub fn process_setup(
    db_url: Option<&str>,
    api_url: &str,
    app_id: u64,
    private_key_pem: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    HashMap<String, String>,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_url.map_or_else(
        || format!("sqlite://{}", dir.path().join("folio.db").display()),
        str::to_string,
    );
    let config = dir.path().join("folio.toml");
    std::fs::write(&config, format!("{TEST_CONFIG}{GITHUB_TEST_CONFIG}")).expect("config");
    let env = github_env(&db, api_url, app_id, private_key_pem);
    (dir, config, env)
}

/// A fresh, empty PostgreSQL database on the server at `admin_url`; returns its URL.
pub async fn fresh_pg_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("folio_test_{}", fastrand::u64(..));
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("FOLIO_TEST_POSTGRES_URL must point at a reachable server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let mut u = url::Url::parse(admin_url).expect("url");
    u.set_path(&format!("/{name}"));
    u.to_string()
}

/// A job handler that finishes every job at once, for tests whose subject is not the jobs.
pub struct FinishAtOnce;

#[async_trait::async_trait]
impl JobHandler for FinishAtOnce {
    async fn handle(&self, _job: &folio::store::Job) -> Result<(), folio::worker::JobError> {
        Ok(())
    }
    async fn on_dead(&self, _job: &folio::store::Job, _error: &str) {}
}

/// A real `folio serve` process, for stories that kill it (SIGKILL) or run several replicas.
pub struct FolioProcess {
    pub url: String,
    child: std::process::Child,
    pub log: std::path::PathBuf,
}

impl FolioProcess {
    /// Starts the binary with exactly `env` (plus PATH) and `--config config`, on a free port,
    /// and waits until `/healthz` answers.
    pub async fn start(
        env: &HashMap<String, String>,
        config: &std::path::Path,
        log: std::path::PathBuf,
    ) -> FolioProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let out = std::fs::File::create(&log).expect("log file");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_folio"))
            .arg("--config")
            .arg(config)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .env("FOLIO_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("start folio serve");
        let url = format!("http://127.0.0.1:{port}");
        let mut process = FolioProcess { url, child, log };
        let http = story_client();
        for _ in 0..300 {
            if let Ok(r) = http.get(format!("{}/healthz", process.url)).send().await
                && r.status().is_success()
            {
                return process;
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!(
                    "folio serve exited with {status}: {}",
                    std::fs::read_to_string(&process.log).unwrap_or_default()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        process.kill();
        panic!("folio serve did not become healthy");
    }

    /// The process id, to read its memory figures from `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown hook runs, as when a machine dies.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for FolioProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
