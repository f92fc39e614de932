//! `GET /privacy`: the candidate's terms, headed by the retention periods this service was
//! configured with.

use crate::harness::{self, TEST_CONFIG};

async fn privacy_page(extra_config: &str) -> (reqwest::StatusCode, String, String) {
    let (env, dir) = harness::sqlite_env();
    std::fs::write(
        dir.path().join("folio.toml"),
        format!("{TEST_CONFIG}{extra_config}"),
    )
    .expect("write config");
    let app = harness::spawn_with(env, Some(dir), None).await;
    let res = app
        .http
        .get(format!("{}/privacy", app.url))
        .send()
        .await
        .expect("GET /privacy");
    let status = res.status();
    let content_type = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = res.text().await.expect("body");
    app.stop().await;
    (status, content_type, body)
}

/// The block before the terms: the periods this service applies.
fn periods(body: &str) -> &str {
    body.split_once("\n---\n")
        .map(|(head, _)| head)
        .unwrap_or_else(|| panic!("no periods block before the terms:\n{body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terms_page_shows_the_configured_retention_periods() {
    let (status, content_type, body) = privacy_page("").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/markdown; charset=utf-8");
    let head = periods(&body);
    assert!(
        head.contains("**90 days after the issue is closed**"),
        "{head}"
    );
    assert!(head.contains("**7 days**"), "{head}");
    for section in [
        "## What Folio reads",
        "## Who can see it",
        "## How to withdraw",
    ] {
        assert!(body.contains(section), "{section} missing from the page");
    }

    let (status, _, body) =
        privacy_page("\n[retention]\nclosed_issue_days = 45\ncache_days = 2\n").await;
    assert_eq!(status, 200);
    let head = periods(&body);
    assert!(
        head.contains("**45 days after the issue is closed**"),
        "{head}"
    );
    assert!(head.contains("**2 days**"), "{head}");
    assert!(!head.contains("90 days"), "{head}");
}
