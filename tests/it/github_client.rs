//! Folio's own GitHub client (`folio::github`) against the fake GitHub: App JWT → installation
//! token, `Link` pagination where every page needs the token, token renewal, and conditional
//! requests that GitHub does not bill.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use folio::config::{GithubSettings, Secret};
use folio::github::GitHub;
use serde_json::Value;
use support::fake_github::{FakeGitHub, ReviewCommentSpec, TokenKind};

const INSTALLATION: u64 = 7;

fn settings() -> GithubSettings {
    GithubSettings {
        request_timeout: Duration::from_secs(5),
        max_retries: 3,
        retry_base: Duration::from_millis(20),
        max_concurrent_requests: 4,
        max_response_bytes: 16 << 20,
    }
}

async fn client(gh: &FakeGitHub, cache: Option<folio::store::DynStore>) -> Arc<GitHub> {
    let api = url::Url::parse(&gh.url()).expect("url");
    let creds = GitHub::app(gh.app_id(), &Secret::new(gh.private_key_pem())).expect("key");
    Arc::new(GitHub::new(&api, Some(creds), cache, settings()).expect("client"))
}

fn world(gh: &FakeGitHub) {
    gh.installation(INSTALLATION)
        .organization("acme")
        .repos(&["acme/hiring"]);
    let mut pull = gh.pull("octocat/hello", 1).author("octocat");
    for n in 0..250u64 {
        pull = pull.review_comment(
            ReviewCommentSpec::new("reviewer", "src/x.py", &format!("comment {n}")).line(1),
        );
    }
}

#[tokio::test]
async fn the_client_pages_through_three_pages_and_every_page_carries_the_token() {
    let gh = FakeGitHub::start().await;
    world(&gh);
    let github = client(&gh, None).await;
    let session = github.session(Some(INSTALLATION as i64));
    gh.reset_log();
    let comments: Vec<Value> = session
        .get_all("/repos/octocat/hello/pulls/1/comments", 1000)
        .await
        .expect("all pages");
    assert_eq!(comments.len(), 250);
    let bodies: Vec<&str> = comments.iter().filter_map(|c| c["body"].as_str()).collect();
    assert!(bodies.contains(&"comment 0") && bodies.contains(&"comment 249"));

    let pages: Vec<_> = gh
        .requests()
        .into_iter()
        .filter(|r| r.path_and_query.contains("/comments"))
        .collect();
    assert_eq!(pages.len(), 3, "{pages:#?}");
    for p in &pages {
        assert_eq!(p.status, 200, "{p:?}");
        assert_eq!(p.token_kind, TokenKind::Installation(INSTALLATION), "{p:?}");
    }
    // The token was minted once, with the App JWT.
    let mints: Vec<_> = gh
        .requests()
        .into_iter()
        .filter(|r| r.path_and_query.contains("/access_tokens"))
        .collect();
    assert_eq!(mints.len(), 1);
    assert_eq!(mints[0].token_kind, TokenKind::App);
    // Every request is counted, the token mint included; only the pages are billed.
    assert_eq!(session.counters.requests(), 4);
    assert_eq!(session.counters.billed(), 3);
}

#[tokio::test]
async fn an_expired_installation_token_is_replaced_and_the_call_succeeds() {
    let gh = FakeGitHub::start().await;
    world(&gh);
    let github = client(&gh, None).await;
    let session = github.session(Some(INSTALLATION as i64));
    let _: Value = session
        .get_json("/repos/octocat/hello/pulls/1")
        .await
        .expect("first call");
    gh.expire_tokens();
    let pr: Value = session
        .get_json("/repos/octocat/hello/pulls/1")
        .await
        .expect("a fresh token is minted");
    assert_eq!(pr["number"], 1);
    let mints = gh
        .requests()
        .iter()
        .filter(|r| r.path_and_query.contains("/access_tokens"))
        .count();
    assert_eq!(mints, 2);
}

#[tokio::test]
async fn a_repeated_read_is_a_free_304_served_from_the_database_cache() {
    let gh = FakeGitHub::start().await;
    world(&gh);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = folio::store::connect(&format!(
        "sqlite://{}",
        dir.path().join("cache.db").display()
    ))
    .await
    .expect("store");
    store.migrate().await.expect("migrate");
    let github = client(&gh, Some(store.clone())).await;

    let first = github.session(Some(INSTALLATION as i64));
    let a: Vec<Value> = first
        .get_all("/repos/octocat/hello/pulls/1/comments", 1000)
        .await
        .expect("first read");
    let remaining = gh.rate_limit_remaining();

    // A later evaluation (a new session, even a new client sharing the database) reads again.
    let github2 = client(&gh, Some(store)).await;
    let second = github2.session(Some(INSTALLATION as i64));
    let b: Vec<Value> = second
        .get_all("/repos/octocat/hello/pulls/1/comments", 1000)
        .await
        .expect("second read");
    assert_eq!(a, b);
    assert_eq!(second.counters.not_modified(), 3, "every page answered 304");
    assert_eq!(second.counters.billed(), 0);
    assert_eq!(
        gh.rate_limit_remaining(),
        remaining,
        "GitHub billed nothing"
    );
}

/// Search has its own small budget (30 a minute); spending it must not make the client
/// believe the core budget is gone.
#[tokio::test]
async fn an_exhausted_search_budget_does_not_hold_back_core_requests() {
    let gh = FakeGitHub::start().await;
    world(&gh);
    let github = client(&gh, None).await;
    let session = github.session(Some(INSTALLATION as i64));
    let mut refused = 0;
    for _ in 0..30 {
        if session
            .search_issues("is:pr is:merged author:app/dependabot repo:octocat/hello")
            .await
            .is_err()
        {
            refused += 1;
        }
    }
    assert!(refused > 0, "the search budget ran out");
    session
        .ensure_budget(50)
        .expect("the core budget is untouched by searches");
    let _: Value = session
        .get_json("/repos/octocat/hello/pulls/1")
        .await
        .expect("core request");
}
