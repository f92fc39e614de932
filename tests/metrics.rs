//! `/metrics` after some traffic: deliveries by event and outcome, the queue, jobs, GitHub
//! requests with the rate limit left, and the HTTP cache's hits and misses. One test in this
//! binary, because the Prometheus recorder is global to the process.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed test step panics by design

#[path = "it/harness/mod.rs"]
mod harness;
#[path = "it/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use folio::config::Settings;
use folio::github::GitHub;
use folio::store::Job;
use folio::worker::{JobError, JobHandler};
use harness::SECRET;
use support::fake_github::{APP_ID, DeliverySpec, FakeGitHub};

/// Finishes every job at once: the worker's metrics are what is looked at.
struct Done;

#[async_trait]
impl JobHandler for Done {
    async fn handle(&self, _job: &Job) -> Result<(), JobError> {
        Ok(())
    }
    async fn on_dead(&self, _job: &Job, _error: &str) {}
}

/// The value of the first sample line that starts with `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_show_deliveries_queue_jobs_github_and_cache() {
    let gh = FakeGitHub::start().await;
    gh.set_webhook_secret(SECRET);
    gh.installation(42)
        .organization("acme")
        .repos(&["acme/hiring"]);
    // Something for the startup reconciliation to ask about (GitHub requests on the App JWT).
    gh.push_delivery(
        DeliverySpec::new("issues")
            .action("opened")
            .status_code(502),
    );
    let (mut env, dir) = harness::sqlite_env();
    env.insert("FOLIO_GITHUB_API_URL".into(), gh.url());
    env.insert("FOLIO_APP_ID".into(), APP_ID.to_string());
    env.insert("FOLIO_PRIVATE_KEY".into(), gh.private_key_pem());
    let settings = Settings::load_from(None, &env).expect("settings");
    let app = harness::spawn_with(env, Some(dir), Some(Arc::new(Done))).await;

    let body = harness::submission_opened(1, "### GitHub username\n\noctocat");
    assert_eq!(app.deliver("issues", "m-1", &body).await.status(), 202);
    assert_eq!(app.deliver("issues", "m-1", &body).await.status(), 200);
    let bad = app
        .http
        .post(format!("{}/webhook", app.url))
        .header("X-GitHub-Event", "issues")
        .header("X-GitHub-Delivery", "m-2")
        .header("X-Hub-Signature-256", format!("sha256={}", "0".repeat(64)))
        .body(body.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(bad.status(), 401);

    // The same document twice with an installation token: the second is a 304 from the cache.
    let creds =
        GitHub::app(APP_ID, &settings.app.as_ref().expect("app").private_key).expect("credentials");
    let client = Arc::new(
        GitHub::new(
            &settings.github_api_url,
            Some(creds),
            Some(app.store.clone()),
            settings.github.clone(),
        )
        .expect("client"),
    );
    let session = client.session(Some(42));
    for _ in 0..2 {
        let repo: serde_json::Value = session.get_json("/repos/acme/hiring").await.expect("repo");
        assert_eq!(repo["full_name"], "acme/hiring");
    }
    assert_eq!(session.counters.not_modified(), 1);

    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = app
            .http
            .get(format!("{}/metrics", app.admin_url))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        let job_done = sample(&text, "folio_jobs_total{").is_some();
        let reconciled = !gh.redelivery_requests().is_empty();
        if (job_done && reconciled) || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let expect = |series: &str| {
        sample(&text, series).unwrap_or_else(|| panic!("no sample for {series} in:\n{text}"))
    };
    assert_eq!(
        expect(r#"folio_webhook_deliveries_total{event="issues",outcome="accepted"}"#),
        1.0
    );
    assert_eq!(
        expect(r#"folio_webhook_deliveries_total{event="issues",outcome="duplicate"}"#),
        1.0
    );
    assert_eq!(
        expect(r#"folio_webhook_deliveries_total{event="none",outcome="bad_signature"}"#),
        1.0
    );
    expect(r#"folio_queue_depth{state="pending"}"#);
    expect("folio_queue_oldest_job_age_seconds");
    assert_eq!(
        expect(r#"folio_jobs_total{kind="evaluate",outcome="ok"}"#),
        1.0
    );
    assert!(expect(r#"folio_job_duration_seconds_count{kind="evaluate",outcome="ok"}"#) >= 1.0);
    assert!(expect(r#"folio_github_requests_total{status="200"}"#) >= 2.0);
    assert_eq!(expect(r#"folio_github_requests_total{status="304"}"#), 1.0);
    assert!(expect(r#"folio_github_requests_total{status="202"}"#) >= 1.0);
    expect("folio_github_rate_limit_remaining");
    assert_eq!(expect(r#"folio_github_cache_total{result="hit"}"#), 1.0);
    assert!(expect(r#"folio_github_cache_total{result="miss"}"#) >= 1.0);
    assert_eq!(
        expect(r#"folio_reconcile_redeliveries_total{outcome="requested"}"#),
        1.0
    );
    app.stop().await;
}
