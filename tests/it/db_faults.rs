//! The database going away for a moment: a webhook gets 503 quickly (so that GitHub records a
//! failure that reconciliation asks for again), `/readyz` says 503, and once the database is
//! back nothing is lost.

use crate::harness;
use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use folio::config::Settings;
use folio::store::{SqliteStore, Store};
use harness::SECRET;
use support::fake_github::{APP_ID, Event, FakeGitHub};

async fn status(http: &reqwest::Client, url: &str) -> u16 {
    http.get(url)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn wait_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn admin(admin_url: &str, sql: String) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("admin connection");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .expect("admin statement");
}

/// PostgreSQL stops taking connections and ours are cut: webhooks get 503 within the pool's
/// acquire timeout, GitHub logs the failure, and once the database is back Folio's own
/// reconciliation loop has GitHub redeliver it.
#[tokio::test]
async fn postgres_outage_answers_503_and_the_delivery_comes_back() {
    let Ok(admin_url) = std::env::var("FOLIO_TEST_POSTGRES_URL") else {
        eprintln!("FOLIO_TEST_POSTGRES_URL is not set; the PostgreSQL outage test is skipped");
        return;
    };
    let name = format!("folio_outage_{}", fastrand::u64(..));
    admin(&admin_url, format!("CREATE DATABASE {name}")).await;
    let mut db_url = url::Url::parse(&admin_url).expect("url");
    db_url.set_path(&format!("/{name}"));

    let gh = FakeGitHub::start().await;
    gh.set_webhook_secret(SECRET);
    gh.installation(42)
        .organization("acme")
        .repos(&["acme/hiring"]);
    gh.issue("acme/hiring", 1)
        .author("octocat")
        .body("### GitHub username\n\noctocat");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = harness::base_env(db_url.as_str());
    env.insert("FOLIO_GITHUB_API_URL".into(), gh.url());
    env.insert("FOLIO_APP_ID".into(), APP_ID.to_string());
    env.insert("FOLIO_PRIVATE_KEY".into(), gh.private_key_pem());
    env.insert("FOLIO_RECONCILE_INTERVAL".into(), "1".into());
    let app = harness::spawn_with(env, Some(dir), Some(Arc::new(harness::FinishAtOnce))).await;
    gh.webhook_to(&format!("{}/webhook", app.url));
    let ready = format!("{}/readyz", app.url);
    assert_eq!(status(&app.http, &ready).await, 200);

    admin(
        &admin_url,
        format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"),
    )
    .await;
    admin(
        &admin_url,
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    )
    .await;

    let started = Instant::now();
    let answered = gh
        .send_webhook(Event::IssueOpened {
            repo: "acme/hiring".into(),
            number: 1,
        })
        .await;
    assert_eq!(answered, 503);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "503 took {:?}",
        started.elapsed()
    );
    assert_eq!(status(&app.http, &ready).await, 503);
    let guid = gh.deliveries()[0].guid.clone();

    admin(
        &admin_url,
        format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"),
    )
    .await;
    wait_until("/readyz to recover", || async {
        status(&app.http, &ready).await == 200
    })
    .await;
    let store = app.store.clone();
    wait_until("the redelivered delivery to be stored", || {
        let store = store.clone();
        let guid = guid.clone();
        async move { store.has_delivery(&guid).await.unwrap_or(false) }
    })
    .await;
    assert_eq!(gh.redelivery_requests().len(), 1);
    assert_eq!(app.store.delivery_count().await.unwrap(), 1);
    app.stop().await;
    admin(&admin_url, format!("DROP DATABASE {name} WITH (FORCE)")).await;
}

/// SQLite out of room (`SQLITE_FULL`, simulated with `max_page_count` on every pooled
/// connection, as a small full disk cannot be mounted here): webhooks get 503 with a clear
/// error, what was committed before stays, and once there is room again the same deliveries
/// are taken.
#[tokio::test]
async fn sqlite_full_answers_503_and_loses_nothing_once_fixed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("folio.db").display());
    let env = harness::base_env(&url);
    std::fs::write(dir.path().join("folio.toml"), harness::TEST_CONFIG).expect("config");
    let settings =
        Settings::load_from(Some(&dir.path().join("folio.toml")), &env).expect("settings");
    let sqlite = SqliteStore::connect(&url).await.expect("store");
    sqlite.migrate().await.expect("migrate");
    let pool = sqlite.pool().clone();
    let store: folio::store::DynStore = Arc::new(sqlite);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let running = folio::server::start(
        settings,
        store.clone(),
        listener,
        Some(Arc::new(harness::FinishAtOnce)),
    )
    .await
    .expect("start");
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();
    let deliver = |guid: String, number: i64| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let body = harness::submission_opened(number, "### GitHub username\n\noctocat");
            support::webhook::deliver(
                &http,
                &format!("{base}/webhook"),
                "issues",
                &guid,
                SECRET,
                &body,
            )
            .await
            .expect("request")
        }
    };
    assert_eq!(deliver("before".into(), 1).await.status().as_u16(), 202);

    // Every connection of the pool is capped at the pages the file has now.
    let set_cap = |cap: Option<i64>| {
        let pool = pool.clone();
        async move {
            let mut held = Vec::new();
            for _ in 0..pool.options().get_max_connections() {
                held.push(pool.acquire().await.expect("connection"));
            }
            for conn in &mut held {
                let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
                    .fetch_one(&mut **conn)
                    .await
                    .expect("page_count");
                let limit = cap.unwrap_or(pages);
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "PRAGMA max_page_count = {limit}"
                )))
                .execute(&mut **conn)
                .await
                .expect("max_page_count");
            }
        }
    };
    set_cap(None).await;
    let mut refused = Vec::new();
    for n in 0..200 {
        let guid = format!("full-{n}");
        let resp = deliver(guid.clone(), 100 + n).await;
        match resp.status().as_u16() {
            202 => continue,
            503 => {
                let text = resp.text().await.expect("body");
                assert!(text.contains("disk is full"), "{text}");
                refused.push((guid, 100 + n));
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
    let (guid, number) = refused.pop().expect("the capped database never filled up");
    assert!(!store.has_delivery(&guid).await.unwrap());
    assert!(store.has_delivery("before").await.unwrap());

    // Room again: GitHub's redelivery of the same delivery is taken.
    set_cap(Some(1_073_741_823)).await;
    assert_eq!(deliver(guid.clone(), number).await.status().as_u16(), 202);
    assert!(store.has_delivery(&guid).await.unwrap());
    assert!(store.has_delivery("before").await.unwrap());
    running.stop().await.expect("stop");
}
