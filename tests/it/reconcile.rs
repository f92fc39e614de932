//! Missed deliveries: Folio reads the app's delivery log on the fake GitHub and asks for the
//! failed deliveries again, once each time they fail, never for what it already has, and never
//! more than three times.

use crate::harness;
use crate::support;

use std::sync::Arc;
use std::time::Duration;

use folio::config::Settings;
use folio::github::Session;
use folio::reconcile::{Report, run_once};
use harness::{SECRET, TestApp};
use support::fake_github::{APP_ID, DeliverySpec, Event, FakeGitHub};

const FORM: &str = "### GitHub username\n\noctocat";

/// A fake GitHub whose app signs deliveries with Folio's secret, and a running Folio on
/// SQLite. Folio's own reconciliation loop is off (no App credentials in its settings), so
/// each story decides when a pass runs; `settings` has the credentials for those passes.
struct Story {
    gh: FakeGitHub,
    app: TestApp,
    settings: Settings,
    session: Session,
}

impl Story {
    async fn start() -> Story {
        let gh = FakeGitHub::start().await;
        gh.set_webhook_secret(SECRET);
        gh.installation(42)
            .organization("acme")
            .repos(&["acme/hiring"]);
        let (mut env, dir) = harness::sqlite_env();
        env.insert("FOLIO_GITHUB_API_URL".into(), gh.url());
        let app = harness::spawn_with(
            env.clone(),
            Some(dir),
            Some(Arc::new(harness::FinishAtOnce)),
        )
        .await;
        env.insert("FOLIO_APP_ID".into(), APP_ID.to_string());
        env.insert("FOLIO_PRIVATE_KEY".into(), gh.private_key_pem());
        let settings = Settings::load_from(None, &env).expect("settings");
        let creds = settings.app.clone().expect("app credentials");
        let session = folio::reconcile::app_session(&settings, &creds).expect("session");
        Story {
            gh,
            app,
            settings,
            session,
        }
    }

    async fn reconcile(&self) -> Report {
        run_once(
            &self.session,
            &self.app.store,
            &self.settings.reconcile,
            folio::clock::Clock::now(&folio::clock::SystemClock).as_millis(),
        )
        .await
        .expect("reconciliation")
    }

    /// An issue opened while Folio could not be reached: GitHub logged it as failed.
    async fn missed_issue(&self, number: u64) -> String {
        self.gh
            .issue("acme/hiring", number)
            .author("octocat")
            .body(FORM);
        self.gh.webhook_to(&unreachable_url().await);
        let status = self
            .gh
            .send_webhook(Event::IssueOpened {
                repo: "acme/hiring".into(),
                number,
            })
            .await;
        assert_eq!(status, 0, "the delivery should have failed to connect");
        let log = self.gh.deliveries();
        log.last().expect("a logged delivery").guid.clone()
    }

    fn folio_reachable(&self) {
        self.gh.webhook_to(&format!("{}/webhook", self.app.url));
    }
}

/// A loopback address nobody listens on.
async fn unreachable_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}/webhook")
}

#[tokio::test]
async fn a_failed_delivery_is_redelivered_once_and_then_stored() {
    let story = Story::start().await;
    let guid = story.missed_issue(1).await;
    assert!(!story.app.store.has_delivery(&guid).await.unwrap());

    story.folio_reachable();
    let report = story.reconcile().await;
    assert_eq!(report.redelivered.len(), 1, "{report:?}");
    let log = story
        .gh
        .wait_for_deliveries(2, Duration::from_secs(5))
        .await;
    let again = &log[1];
    assert!(again.redelivery);
    assert_eq!(again.guid, guid);
    assert_eq!((again.status_code, again.status.as_str()), (202, "OK"));
    assert!(story.app.store.has_delivery(&guid).await.unwrap());

    // The next pass finds it delivered and asks for nothing.
    let report = story.reconcile().await;
    assert!(report.redelivered.is_empty(), "{report:?}");
    assert_eq!(story.gh.redelivery_requests().len(), 1);
    story.app.stop().await;
}

#[tokio::test]
async fn a_delivery_that_succeeded_is_not_asked_for() {
    let story = Story::start().await;
    story.gh.push_delivery(
        DeliverySpec::new("issues")
            .action("opened")
            .status_code(202),
    );
    // Failed first, then redelivered successfully by someone else (same guid).
    story.gh.push_delivery(
        DeliverySpec::new("issues")
            .action("edited")
            .guid("11111111-2222-3333-4444-555555555555")
            .status_code(503),
    );
    story.gh.push_delivery(
        DeliverySpec::new("issues")
            .action("edited")
            .guid("11111111-2222-3333-4444-555555555555")
            .redelivery()
            .status_code(202),
    );

    let report = story.reconcile().await;
    assert_eq!(report.listed, 3);
    assert!(report.redelivered.is_empty(), "{report:?}");
    assert_eq!(report.succeeded_later, 1);
    assert!(story.gh.redelivery_requests().is_empty());
    story.app.stop().await;
}

#[tokio::test]
async fn a_delivery_already_stored_is_not_asked_for() {
    let story = Story::start().await;
    // Folio committed it, but GitHub gave up waiting for the answer.
    let body = harness::submission_opened(3, FORM);
    let resp = story.app.deliver("issues", "stored-guid", &body).await;
    assert!(resp.status().is_success());
    story.gh.push_delivery(
        DeliverySpec::new("issues")
            .action("opened")
            .guid("stored-guid")
            .timed_out(),
    );

    let report = story.reconcile().await;
    assert!(report.redelivered.is_empty(), "{report:?}");
    assert_eq!(report.already_stored, 1);
    assert!(story.gh.redelivery_requests().is_empty());
    story.app.stop().await;
}

#[tokio::test]
async fn after_three_attempts_it_stops() {
    let story = Story::start().await;
    let guid = story.missed_issue(4).await;
    // Folio stays unreachable: every redelivery fails too.
    for attempt in 1..=3 {
        let report = story.reconcile().await;
        assert_eq!(report.redelivered.len(), 1, "attempt {attempt}: {report:?}");
        // Until GitHub has logged this redelivery, a pass must not ask again.
        let log = story
            .gh
            .wait_for_deliveries(1 + attempt, Duration::from_secs(15))
            .await;
        assert_eq!(log.len(), 1 + attempt);
        assert!(log.iter().all(|d| d.guid == guid && d.status_code == 0));
    }
    for _ in 0..2 {
        let report = story.reconcile().await;
        assert!(report.redelivered.is_empty(), "{report:?}");
        assert_eq!(report.exhausted, 1);
    }
    assert_eq!(story.gh.redelivery_requests().len(), 3);
    story.app.stop().await;
}

#[tokio::test]
async fn a_redelivery_on_its_way_is_not_asked_for_again() {
    let story = Story::start().await;
    story.missed_issue(5).await;
    // A receiver that takes the connection but never answers: GitHub logs the redelivery
    // only when it gives up waiting, and until then it is on its way.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    story
        .gh
        .webhook_to(&format!("http://{}/webhook", silent.local_addr().unwrap()));

    let first = story.reconcile().await;
    assert_eq!(first.redelivered.len(), 1, "{first:?}");
    let second = story.reconcile().await;
    assert!(second.redelivered.is_empty(), "{second:?}");
    assert_eq!(second.in_flight, 1);
    assert_eq!(story.gh.redelivery_requests().len(), 1);
    story.app.stop().await;
}

#[tokio::test]
async fn pages_are_followed_back_to_the_lookback_window() {
    let story = Story::start().await;
    let too_old = story.gh.push_delivery(
        DeliverySpec::new("issues")
            .action("opened")
            .status_code(500)
            .at("2020-01-01T00:00:00Z"),
    );
    let old_failure = story.gh.push_delivery(
        DeliverySpec::new("issues")
            .action("opened")
            .status_code(500),
    );
    // A deliberate rejection would be rejected again: not asked for.
    story.gh.push_delivery(
        DeliverySpec::new("issues")
            .action("opened")
            .status_code(401),
    );
    // 120 newer successes push the failure onto the second page (100 a page).
    for _ in 0..120 {
        story
            .gh
            .push_delivery(DeliverySpec::new("issues").action("labeled"));
    }

    let report = story.reconcile().await;
    assert_eq!(report.redelivered, vec![old_failure as i64], "{report:?}");
    assert_eq!(report.listed, 122);
    let pages: Vec<String> = story
        .gh
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path_and_query.starts_with("/app/hook/deliveries"))
        .map(|r| r.path_and_query)
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages[1].contains("cursor="), "{pages:?}");
    assert!(!story.gh.redelivery_requests().contains(&too_old));
    story.app.stop().await;
}

#[tokio::test]
async fn folio_reconciles_by_itself_at_startup() {
    let gh = FakeGitHub::start().await;
    gh.set_webhook_secret(SECRET);
    let failed = gh.push_delivery(DeliverySpec::new("issues").action("opened").timed_out());
    let (mut env, dir) = harness::sqlite_env();
    env.insert("FOLIO_GITHUB_API_URL".into(), gh.url());
    env.insert("FOLIO_APP_ID".into(), APP_ID.to_string());
    env.insert("FOLIO_PRIVATE_KEY".into(), gh.private_key_pem());
    env.insert("FOLIO_RECONCILE_INTERVAL".into(), "3600".into());
    let app = harness::spawn_with(env, Some(dir), Some(Arc::new(harness::FinishAtOnce))).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while gh.redelivery_requests().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(gh.redelivery_requests(), vec![failed]);
    app.stop().await;
}
