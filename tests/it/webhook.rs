//! Webhook ingress through the real router and the real database.

use crate::harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use folio::store::Job;
use folio::webhook::event;
use folio::worker::{JobError, JobHandler};
use harness::*;

const FORM: &str = "### GitHub username\n\noctocat\n\n### Pull requests\n\nhttps://github.com/octocat/hello/pull/7\n\n### Repositories\n\n_No response_\n\n### Notes\n\n_No response_";

/// Every example payload of the events Folio models, parsed into the internal event type.
#[test]
fn real_payloads_parse_into_events() {
    let root = format!(
        "{}/tests/fixtures/github/webhooks",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut parsed = Vec::new();
    for event_name in [
        "ping",
        "installation",
        "installation_repositories",
        "issues",
        "issue_comment",
    ] {
        let mut files: Vec<_> = std::fs::read_dir(format!("{root}/{event_name}"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        for f in files {
            let body = std::fs::read(format!("{root}/{event_name}/{f}")).unwrap();
            let ev = event::parse(event_name, &body).unwrap();
            parsed.push((format!("{event_name}/{f}"), ev));
        }
    }
    assert!(parsed.len() > 40);
    insta::assert_yaml_snapshot!(parsed);
}

#[tokio::test]
async fn every_real_payload_is_acknowledged_through_the_router() {
    let app = spawn(Some(Arc::new(Idle))).await;
    let root = format!(
        "{}/tests/fixtures/github/webhooks",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut n = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap();
        let event_name = dir.file_name().into_string().unwrap();
        for f in std::fs::read_dir(dir.path()).unwrap() {
            let f = f.unwrap();
            let body = std::fs::read(f.path()).unwrap();
            n += 1;
            let resp = app.deliver(&event_name, &format!("guid-{n}"), &body).await;
            assert!(
                resp.status().is_success(),
                "{event_name}/{:?}: {}",
                f.file_name(),
                resp.status()
            );
        }
    }
    assert!(n > 80);
    app.stop().await;
}

#[tokio::test]
async fn bad_signatures_are_rejected_and_nothing_is_stored() {
    let app = spawn(Some(Arc::new(Idle))).await;
    let body = submission_opened(1, FORM);
    let url = format!("{}/webhook", app.url);
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        (
            "wrong secret",
            Some(folio::webhook::verify::sign("other", &body)),
        ),
        ("short", Some("sha256=abcd".into())),
        ("not hex", Some(format!("sha256={}", "g".repeat(64)))),
        (
            "sha1",
            Some("sha1=7d38cdd689735b008b3c702edd92eea23791c5f6".into()),
        ),
    ];
    for (name, sig) in cases {
        let mut req = app
            .http
            .post(&url)
            .header("X-GitHub-Event", "issues")
            .header("X-GitHub-Delivery", format!("d-{name}"))
            .body(body.clone());
        if let Some(s) = sig {
            req = req.header("X-Hub-Signature-256", s);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{name}");
    }
    assert_eq!(app.store.delivery_count().await.unwrap(), 0);
    assert_eq!(app.store.queue_stats().await.unwrap().pending, 0);
    app.stop().await;
}

#[tokio::test]
async fn broken_json_huge_bodies_and_unknown_events() {
    let app = spawn(Some(Arc::new(Idle))).await;
    let resp = app.deliver("issues", "a", b"{not json").await;
    assert_eq!(resp.status(), 400);
    let resp = app.deliver("issues", "b", b"").await;
    assert_eq!(resp.status(), 400);
    let resp = app.deliver("star", "c", br#"{"action":"created"}"#).await;
    assert_eq!(resp.status(), 200);
    let resp = app
        .deliver(
            "issues",
            "d",
            br#"{"action":"opened","installation":{"id":1}}"#,
        )
        .await;
    assert_eq!(
        resp.status(),
        200,
        "missing fields are acknowledged and ignored"
    );
    let resp = app
        .deliver("issues", "e", br#"{"action":"typed","issue":{"number":1}}"#)
        .await;
    assert_eq!(resp.status(), 200, "unknown actions are acknowledged");

    let huge = vec![b' '; 25 * 1024 * 1024 + 10];
    let resp = app
        .http
        .post(format!("{}/webhook", app.url))
        .header("X-GitHub-Event", "issues")
        .header("X-GitHub-Delivery", "huge")
        .header(
            "X-Hub-Signature-256",
            folio::webhook::verify::sign(SECRET, &huge),
        )
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(app.store.delivery_count().await.unwrap(), 0);
    assert_eq!(app.store.queue_stats().await.unwrap().pending, 0);
    // Still up.
    let resp = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_slow_client_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut env, dir) = sqlite_env();
    let config = dir.path().join("folio.toml");
    std::fs::write(&config, "[webhook]\nrequest_timeout_seconds = 1\n").unwrap();
    env.insert("FOLIO_LOG".into(), "warn".into());
    let settings = folio::config::Settings::load_from(Some(&config), &env).unwrap();
    assert_eq!(settings.webhook.request_timeout, Duration::from_secs(1));
    let store = folio::store::connect(&settings.database_url).await.unwrap();
    store.migrate().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = folio::server::start(settings, store.clone(), listener, Some(Arc::new(Idle)))
        .await
        .unwrap();
    let mut stream = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    stream
        .write_all(
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nX-GitHub-Event: issues\r\nX-Hub-Signature-256: sha256=abababababababababababababababababababababababababababababababab\r\n\r\n{\"a\"",
        )
        .await
        .unwrap();
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("the server answered within 5 s")
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert_eq!(store.delivery_count().await.unwrap(), 0);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn no_secret_means_setup_mode() {
    let (mut env, dir) = sqlite_env();
    env.remove("FOLIO_WEBHOOK_SECRET");
    let app = spawn_with(env, Some(dir), Some(Arc::new(Idle))).await;
    let resp = app.deliver("ping", "p", b"{}").await;
    assert_eq!(resp.status(), 503);
    let resp = app
        .http
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let page = app
        .http
        .get(format!("{}/", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The setup page asks for the setup token, from loopback too; the form that registers
    // the app on GitHub comes only with it.
    assert!(
        page.contains("<form id=\"token\" method=\"post\""),
        "{page}"
    );
    assert!(!page.contains("<form id=\"register\""), "{page}");
    app.stop().await;
}

#[tokio::test]
async fn a_redelivery_is_acknowledged_but_enqueued_once() {
    let app = spawn(Some(Arc::new(Idle))).await;
    let body = submission_opened(5, FORM);
    let first = app.deliver("issues", "same-guid", &body).await;
    assert_eq!(first.status(), 202);
    let again = app.deliver("issues", "same-guid", &body).await;
    assert_eq!(again.status(), 200);
    let v: serde_json::Value = again.json().await.unwrap();
    assert_eq!(v["status"], "duplicate");
    assert_eq!(app.store.delivery_count().await.unwrap(), 1);
    let jobs = app.store.list_jobs(None, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    app.stop().await;
}

/// A signed body captured and sent again under a new delivery id is a replay: acknowledged
/// as a duplicate, with no second delivery and no second job. Erasing the issue's
/// submission still takes the delivery.
#[tokio::test]
async fn a_signed_body_replayed_under_a_new_delivery_id_is_a_duplicate() {
    let app = spawn(Some(Arc::new(Idle))).await;
    let body = submission_opened(6, FORM);
    let first = app.deliver("issues", "original", &body).await;
    assert_eq!(first.status(), 202);
    let replay = app.deliver("issues", "replayed", &body).await;
    assert_eq!(replay.status(), 200);
    let v: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(v["status"], "duplicate");
    assert_eq!(app.store.delivery_count().await.unwrap(), 1);
    assert_eq!(app.store.list_jobs(None, 10).await.unwrap().len(), 1);
    app.store
        .delete_submission("acme/hiring", 6, None)
        .await
        .unwrap();
    assert_eq!(app.store.delivery_count().await.unwrap(), 0);
    app.stop().await;
}

#[tokio::test]
async fn concurrent_duplicates_and_one_issue_coalesce() {
    let app = spawn(Some(Arc::new(Idle))).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let http = app.http.clone();
        let url = format!("{}/webhook", app.url);
        // Distinct deliveries have distinct bodies (the same body under a new id is a replay).
        let mut v: serde_json::Value = serde_json::from_slice(&submission_opened(9, FORM)).unwrap();
        v["issue"]["updated_at"] = format!("2026-12-04T10:00:{:02}Z", i % 20).into();
        let body = serde_json::to_vec(&v).unwrap();
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .header("X-GitHub-Event", "issues")
                // 20 distinct deliveries, each sent twice, all for one issue.
                .header("X-GitHub-Delivery", format!("g-{}", i % 20))
                .header(
                    "X-Hub-Signature-256",
                    folio::webhook::verify::sign(SECRET, &body),
                )
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().is_success());
    }
    assert_eq!(app.store.delivery_count().await.unwrap(), 20);
    // A worker (which never finishes here) may claim a job at any moment, so the queue may
    // hold one pending job, or one running, or one running and one pending behind it; what
    // must hold is at most one of each for the issue, and at least one.
    let jobs = app.store.list_jobs(None, 100).await.unwrap();
    let pending = jobs.iter().filter(|j| j.state == "pending").count();
    let running = jobs.iter().filter(|j| j.state == "running").count();
    assert!(
        pending <= 1,
        "at most one pending job for one issue: {jobs:?}"
    );
    assert!(
        running <= 1,
        "at most one running job for one issue: {jobs:?}"
    );
    assert!(pending + running >= 1, "{jobs:?}");
    assert_eq!(pending + running, jobs.len(), "{jobs:?}");
    app.stop().await;
}

#[tokio::test]
async fn installation_events_update_the_store() {
    let app = spawn(None).await;
    let created = fixture("installation", "created.payload.json");
    assert_eq!(
        app.deliver("installation", "i1", &created).await.status(),
        202
    );
    wait_for(|| async { app.store.installation_count().await.unwrap() == 1 }).await;
    // The example payloads use different installation ids; delete the one that was created.
    let deleted = with_installation(&fixture("installation", "deleted.payload.json"), 957387);
    assert_eq!(
        app.deliver("installation", "i2", &deleted).await.status(),
        202
    );
    wait_for(|| async { app.store.installation_count().await.unwrap() == 0 }).await;
    app.stop().await;
}

/// `/metrics` and the status page tell about traffic and queue depth: they are on the admin
/// listener, and the public port (where webhooks and strangers arrive) answers 404 for them.
/// The probes stay public, where Kubernetes reaches them.
#[tokio::test]
async fn metrics_and_the_status_page_are_on_the_admin_listener_only() {
    // Configured, so that `/` is not the setup page.
    let gh = crate::support::fake_github::FakeGitHub::start().await;
    gh.set_webhook_secret(SECRET);
    let app = spawn_for_github(&gh.url(), gh.app_id(), &gh.private_key_pem()).await;
    assert_ne!(app.url, app.admin_url);
    app.deliver("ping", "m1", &fixture("ping", "payload.json"))
        .await;
    let get = |url: String| {
        let http = app.http.clone();
        async move { http.get(url).send().await.unwrap() }
    };
    let metrics = get(format!("{}/metrics", app.admin_url)).await;
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("folio_webhook_deliveries_total"), "{text}");
    assert!(text.contains("folio_queue_depth"), "{text}");
    let status = get(format!("{}/", app.admin_url)).await;
    assert_eq!(status.status(), 200);
    let html = status.text().await.unwrap();
    assert!(html.contains("queue: pending"), "{html}");

    for path in ["/metrics", "/"] {
        let res = get(format!("{}{path}", app.url)).await;
        assert_eq!(res.status(), 404, "{path} on the public port");
        let body = res.text().await.unwrap();
        assert!(!body.contains("folio_"), "{path}: {body}");
        assert!(!body.contains("queue"), "{path}: {body}");
    }
    for path in ["/healthz", "/privacy"] {
        let res = get(format!("{}{path}", app.url)).await;
        assert_eq!(res.status(), 200, "{path} on the public port");
    }
    let res = get(format!("{}/readyz", app.url)).await;
    assert_eq!(res.status(), 200);
    // And nothing of the public port is served on the admin one.
    let res = app
        .http
        .post(format!("{}/webhook", app.admin_url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    app.stop().await;
}

/// A handler that never runs anything: these tests look at ingestion only.
struct Idle;

#[async_trait]
impl JobHandler for Idle {
    async fn handle(&self, _job: &Job) -> Result<(), JobError> {
        std::future::pending().await
    }
    async fn on_dead(&self, _job: &Job, _error: &str) {}
}

#[allow(dead_code)]
struct Counting(AtomicUsize);

#[async_trait]
impl JobHandler for Counting {
    async fn handle(&self, _job: &Job) -> Result<(), JobError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn on_dead(&self, _job: &Job, _error: &str) {}
}

async fn wait_for<F, Fut>(mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not met within 5 s");
}

/// Sends a request's head (and `body_part` of its body) on a raw connection, and returns the
/// connection, so that a test controls exactly what the server has received.
async fn raw_request(
    url: &str,
    headers: &[(&str, String)],
    body_part: &[u8],
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let addr = url.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("POST /webhook HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(body_part).await.unwrap();
    conn
}

/// The status line the server answered with, if it answered within `wait`.
async fn status_within(conn: &mut tokio::net::TcpStream, wait: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(wait, conn.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf[..n]).to_string();
    Some(text.lines().next().unwrap_or_default().to_string())
}

fn delivery_headers(signature: Option<&str>, length: usize) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("X-GitHub-Event", "ping".to_string()),
        ("X-GitHub-Delivery", "raw-1".to_string()),
        ("Content-Type", "application/json".to_string()),
        ("Content-Length", length.to_string()),
    ];
    if let Some(s) = signature {
        h.push(("X-Hub-Signature-256", s.to_string()));
    }
    h
}

#[tokio::test]
async fn a_request_without_a_well_formed_signature_is_refused_before_its_body_arrives() {
    let app = spawn(Some(Arc::new(Idle))).await;
    // 20 MB announced, none of it sent: the answer must not wait for it.
    for signature in [None, Some("sha256=not-hex"), Some("sha1=abc")] {
        let mut conn = raw_request(&app.url, &delivery_headers(signature, 20_000_000), b"").await;
        let status = status_within(&mut conn, Duration::from_secs(3)).await;
        assert_eq!(
            status.as_deref(),
            Some("HTTP/1.1 401 Unauthorized"),
            "{signature:?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn an_announced_body_over_the_limit_is_refused_at_once() {
    let app = spawn(Some(Arc::new(Idle))).await;
    let well_formed = format!("sha256={}", "ab".repeat(32));
    let mut conn = raw_request(
        &app.url,
        &delivery_headers(Some(&well_formed), 30_000_000),
        b"",
    )
    .await;
    let status = status_within(&mut conn, Duration::from_secs(3)).await;
    assert_eq!(status.as_deref(), Some("HTTP/1.1 413 Payload Too Large"));
    app.stop().await;
}

#[tokio::test]
async fn a_full_in_flight_body_budget_answers_503_and_frees_itself() {
    let app = spawn_with_webhook_settings("max_inflight_bytes = 65536\n").await;
    let forged = format!("sha256={}", "cd".repeat(32));

    // A slow sender holds 60,000 of the 65,536 bytes while it trickles its body.
    let mut slow = raw_request(&app.url, &delivery_headers(Some(&forged), 60_000), b"{").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut second = raw_request(&app.url, &delivery_headers(Some(&forged), 10_000), b"").await;
    let status = status_within(&mut second, Duration::from_secs(3)).await;
    assert_eq!(status.as_deref(), Some("HTTP/1.1 503 Service Unavailable"));
    assert_eq!(
        status_within(&mut slow, Duration::from_millis(100)).await,
        None
    );

    // When the slow sender goes away its bytes are given back, and a genuine delivery passes.
    drop(slow);
    let body = fixture("ping", "payload.json");
    let mut accepted = None;
    for _ in 0..50 {
        let r = app.deliver("ping", "after-the-slow-one", &body).await;
        if r.status() != 503 {
            accepted = Some(r.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(accepted.is_some_and(|s| s.is_success()), "{accepted:?}");
    app.stop().await;
}

/// True when the server closes the connection (or answers) within `wait`.
async fn closed_within(conn: &mut tokio::net::TcpStream, wait: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 1024];
    loop {
        match tokio::time::timeout(wait, conn.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // An answer (such as 408) before the close is fine; keep reading to the close.
            Ok(Ok(_)) => continue,
        }
    }
}

async fn spawn_with_webhook_settings(extra: &str) -> TestApp {
    let (env, dir) = sqlite_env();
    std::fs::write(
        dir.path().join("folio.toml"),
        format!("{TEST_CONFIG}[webhook]\n{extra}"),
    )
    .unwrap();
    spawn_with(env, Some(dir), Some(Arc::new(Idle))).await
}

#[tokio::test]
async fn a_request_head_sent_slowly_is_cut_off() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_with_webhook_settings("header_read_timeout_seconds = 1\n").await;
    let addr = app.url.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    conn.write_all(b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: ping\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut conn, Duration::from_secs(4)).await,
        "a half-sent request head must not hold the connection"
    );
    app.stop().await;
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_and_the_service_recovers() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_with_webhook_settings("max_connections = 3\n").await;
    let addr = app.url.trim_start_matches("http://").to_string();
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        held.push(c);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = tokio::net::TcpStream::connect(&addr).await.unwrap();
    assert!(closed_within(&mut extra, Duration::from_secs(2)).await);

    drop(held);
    let mut healthy = false;
    for _ in 0..50 {
        if let Ok(r) = app.http.get(format!("{}/healthz", app.url)).send().await
            && r.status().is_success()
        {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        healthy,
        "once the held connections are gone, /healthz answers"
    );
    app.stop().await;
}
