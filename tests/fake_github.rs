//! Tests of the fake GitHub itself, with a plain HTTP client.

mod support;

use support::fake_github::FakeGitHub;

#[tokio::test]
async fn smoke() {
    let gh = FakeGitHub::start().await;
    let client = reqwest::Client::new();
    let res = client
        .get(format!("{}/app", gh.url()))
        .bearer_auth(gh.app_jwt())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
