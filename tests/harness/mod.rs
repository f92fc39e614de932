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
    pub store: DynStore,
    pub running: Option<Running>,
    pub http: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

pub fn base_env(db_url: &str) -> HashMap<String, String> {
    let mut env = HashMap::new();
    env.insert("FOLIO_DATABASE_URL".into(), db_url.to_string());
    env.insert("FOLIO_LISTEN".into(), "127.0.0.1:0".into());
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
        store,
        running: Some(running),
        http: reqwest::Client::new(),
        _dir: dir,
    }
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
