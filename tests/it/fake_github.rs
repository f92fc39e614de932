//! Tests of the fake GitHub itself: plain HTTP (reqwest) for the wire format, octocrab for the
//! flows a real client takes (App JWT → installation token → paging).

use crate::support;

use std::io::Read as _;
use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::fake_github::{
    CommitSpec, DeliverySpec, FakeGitHub, Fault, Matcher, Permission, ReleaseSpec,
    ReviewCommentSpec, ReviewSpec, TokenKind, mint_jwt,
};
use support::webhook::{fixture_json, fixture_payload, recorded, sign};

const INSTALLATION: u64 = 7;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A fake with the hiring org's installation and one public repository, plus a live token.
async fn hiring() -> (FakeGitHub, String) {
    let gh = FakeGitHub::start().await;
    gh.installation(INSTALLATION)
        .organization("acme")
        .repos(&["acme/hiring"]);
    gh.repo("octocat/hello")
        .public()
        .file("README.md", "# hello\n");
    let token = gh.installation_token(INSTALLATION);
    (gh, token)
}

async fn get(gh: &FakeGitHub, token: Option<&str>, path: &str) -> reqwest::Response {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{path}", gh.url())
    };
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("token {t}"));
    }
    req.send().await.unwrap()
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn next_link(link: &str) -> Option<String> {
    link.split(", ").find_map(|part| {
        let (url, rel) = part.split_once("; ")?;
        (rel == "rel=\"next\"").then(|| url.trim_matches(['<', '>']).to_string())
    })
}

// ---------------------------------------------------------------- App JWT and tokens

#[tokio::test]
async fn app_endpoints_accept_only_a_valid_app_jwt() {
    let gh = FakeGitHub::start().await;
    let app_get = |jwt: String| {
        let url = format!("{}/app", gh.url());
        async move { client().get(url).bearer_auth(jwt).send().await.unwrap() }
    };

    let ok = app_get(gh.app_jwt()).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["id"], json!(gh.app_id()));
    assert_eq!(body["slug"], json!(gh.app_slug()));

    let t = now();
    let cases = [
        (mint_jwt(gh.app_id(), t - 700, t - 100), "'Expiration time'"),
        (
            mint_jwt(gh.app_id(), t - 60, t + 1200),
            "too far in the future",
        ),
        (mint_jwt(gh.app_id(), t + 300, t + 600), "'Issued at'"),
        (mint_jwt(gh.app_id() + 1, t - 60, t + 540), "'Issuer'"),
    ];
    for (jwt, message) in cases {
        let res = app_get(jwt).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let body: Value = res.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains(message),
            "{body} should say {message}"
        );
        assert!(body["documentation_url"].is_string());
    }

    // A valid token whose payload was changed no longer matches its signature.
    let good = gh.app_jwt();
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let forged = json!({"iat": t - 60, "exp": t + 540, "iss": gh.app_id(), "x": 1});
    parts[1] = engine.encode(forged.to_string());
    let res = app_get(parts.join(".")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["message"], "A JSON web token could not be decoded");

    // An installation token is not an App JWT.
    gh.installation(1).organization("acme");
    let token = gh.installation_token(1);
    assert_eq!(app_get(token).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        client()
            .get(format!("{}/app", gh.url()))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_installation_token_from_the_jwt_opens_later_calls_until_it_expires() {
    let gh = FakeGitHub::start().await;
    gh.installation(INSTALLATION)
        .organization("acme")
        .repos(&["acme/hiring"]);

    let res = client()
        .post(format!(
            "{}/app/installations/{INSTALLATION}/access_tokens",
            gh.url()
        ))
        .bearer_auth(gh.app_jwt())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ghs_"), "{token}");
    let expires = chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert!((expires - now() - 3600).abs() <= 5, "one hour on");
    assert_eq!(body["repository_selection"], "selected");
    assert_eq!(body["repositories"][0]["full_name"], "acme/hiring");

    let ok = get(&gh, Some(&token), "/repos/acme/hiring").await;
    assert_eq!(ok.status(), StatusCode::OK);
    let bearer = client()
        .get(format!("{}/repos/acme/hiring", gh.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);

    let none = get(&gh, None, "/repos/acme/hiring").await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["message"], "Bad credentials");
    assert!(body["documentation_url"].is_string());
    assert_eq!(
        get(&gh, Some("ghs_madeup"), "/repos/acme/hiring")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    gh.expire_tokens();
    assert_eq!(
        get(&gh, Some(&token), "/repos/acme/hiring").await.status(),
        StatusCode::UNAUTHORIZED
    );

    let kinds: Vec<TokenKind> = gh.requests().into_iter().map(|l| l.token_kind).collect();
    assert_eq!(
        kinds,
        vec![
            TokenKind::App,
            TokenKind::Installation(INSTALLATION),
            TokenKind::Installation(INSTALLATION),
            TokenKind::None,
            TokenKind::None,
            TokenKind::None,
        ]
    );
}

#[tokio::test]
async fn a_repo_scoped_token_and_a_suspended_installation_behave_as_on_github() {
    let gh = FakeGitHub::start().await;
    gh.installation(3).organization("acme").all_repos();
    gh.repo("acme/hiring").private();
    gh.repo("acme/secret").private();
    let post = |body: Value| {
        let url = format!("{}/app/installations/3/access_tokens", gh.url());
        let jwt = gh.app_jwt();
        async move {
            client()
                .post(url)
                .bearer_auth(jwt)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let res = post(json!({"repositories": ["hiring"]})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        get(&gh, Some(&token), "/repos/acme/hiring").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        get(&gh, Some(&token), "/repos/acme/secret").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(json!({"repositories": ["elsewhere"]})).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    gh.installation(3).suspended();
    assert_eq!(post(json!({})).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        get(&gh, Some(&token), "/repos/acme/hiring").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn octocrab_mints_a_token_with_its_own_jwt_and_reads_through_the_installation() {
    let gh = FakeGitHub::start().await;
    gh.installation(INSTALLATION)
        .organization("acme")
        .repos(&["acme/hiring"]);
    gh.repo("acme/hiring")
        .private()
        .file("README.md", "hiring\n");

    let key = jsonwebtoken::EncodingKey::from_rsa_pem(gh.private_key_pem().as_bytes()).unwrap();
    let app = octocrab::Octocrab::builder()
        .base_uri(gh.url())
        .unwrap()
        .app(octocrab::models::AppId(gh.app_id()), key)
        .build()
        .unwrap();
    let installations = app.apps().installations().send().await.unwrap();
    assert_eq!(installations.items[0].id.0, INSTALLATION);
    let crab = app
        .installation(octocrab::models::InstallationId(INSTALLATION))
        .unwrap();
    let repo = crab.repos("acme", "hiring").get().await.unwrap();
    assert_eq!(repo.full_name.as_deref(), Some("acme/hiring"));
    assert_eq!(repo.private, Some(true));

    let paths: Vec<String> = gh
        .requests()
        .into_iter()
        .map(|l| format!("{} {} {}", l.method, l.path_and_query, l.status))
        .collect();
    assert!(
        paths.contains(&format!(
            "POST /app/installations/{INSTALLATION}/access_tokens 201"
        )),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"GET /repos/acme/hiring 200".to_string()),
        "{paths:?}"
    );
}

// ---------------------------------------------------------------- pagination

#[tokio::test]
async fn pages_follow_github_link_headers_and_every_page_needs_the_token() {
    let (gh, token) = hiring().await;
    let issue = gh.issue("acme/hiring", 1).author("octocat");
    for i in 1..=7 {
        issue.comment_id("octocat", &format!("comment {i}"));
    }
    let repo_id = gh.repo("acme/hiring").id();

    let mut url = format!(
        "{}/repos/acme/hiring/issues/1/comments?per_page=3",
        gh.url()
    );
    let mut bodies = Vec::new();
    let mut links = Vec::new();
    loop {
        let res = get(&gh, Some(&token), &url).await;
        assert_eq!(res.status(), StatusCode::OK);
        let link = header(&res, "link");
        let page: Vec<Value> = res.json().await.unwrap();
        bodies.extend(page.iter().map(|c| c["body"].as_str().unwrap().to_string()));
        links.push(link.clone());
        match next_link(&link) {
            Some(next) => url = next,
            None => break,
        }
    }
    assert_eq!(links.len(), 3);
    assert_eq!(
        bodies,
        (1..=7).map(|i| format!("comment {i}")).collect::<Vec<_>>()
    );
    let base = format!("{}/repositories/{repo_id}/issues/1/comments", gh.url());
    assert_eq!(
        links[0],
        format!(
            "<{base}?per_page=3&page=2>; rel=\"next\", <{base}?per_page=3&page=3>; rel=\"last\""
        )
    );
    assert_eq!(
        links[1],
        format!(
            "<{base}?per_page=3&page=1>; rel=\"prev\", <{base}?per_page=3&page=3>; rel=\"next\", <{base}?per_page=3&page=3>; rel=\"last\", <{base}?per_page=3&page=1>; rel=\"first\""
        )
    );
    assert_eq!(
        links[2],
        format!(
            "<{base}?per_page=3&page=2>; rel=\"prev\", <{base}?per_page=3&page=1>; rel=\"first\""
        )
    );

    // Page 2 by its `/repositories/{id}` URL without the token: 401, like any other call.
    let page2 = next_link(&links[0]).unwrap();
    let res = get(&gh, None, &page2).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["message"], "Bad credentials");
}

#[test]
fn link_headers_have_the_shape_of_the_recorded_exchange() {
    // Same rels, in the same order, with the same query layout, as GitHub sent in
    // recorded/paginate-issues.json (5 pages of 3).
    let exchanges = recorded("paginate-issues.json");
    let recorded_links: Vec<String> = exchanges
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["headers"]["link"].as_str().unwrap().to_string())
        .collect();
    let ours: Vec<String> = (1..=5)
        .map(|page| {
            let query = if page == 1 {
                "per_page=3".to_string()
            } else {
                format!("per_page=3&page={page}")
            };
            support::fake_github::link_header(
                "https://api.github.com/repositories/1000/issues",
                &query,
                page,
                5,
            )
            .unwrap()
        })
        .collect();
    assert_eq!(ours, recorded_links);
}

#[tokio::test]
async fn octocrab_pages_through_three_pages_with_a_personal_token() {
    let gh = FakeGitHub::start().await;
    gh.add_personal_token("ghp_candidate", "octocat");
    let issue = gh.issue("octocat/hello", 3).author("octocat");
    for i in 1..=8 {
        issue.comment_id("hubot", &format!("c{i}"));
    }
    let crab = octocrab::Octocrab::builder()
        .base_uri(gh.url())
        .unwrap()
        .personal_token("ghp_candidate".to_string())
        .build()
        .unwrap();
    let first = crab
        .issues("octocat", "hello")
        .list_comments(3)
        .per_page(3)
        .send()
        .await
        .unwrap();
    assert_eq!(first.number_of_pages(), Some(3));
    let all = crab.all_pages(first).await.unwrap();
    assert_eq!(all.len(), 8);
    assert_eq!(all[7].body.as_deref(), Some("c8"));
    let pages: Vec<String> = gh
        .requests()
        .into_iter()
        .map(|l| format!("{} {:?}", l.status, l.token_kind))
        .collect();
    assert_eq!(pages.len(), 3);
    assert!(
        pages.iter().all(|p| p == "200 Personal(\"octocat\")"),
        "{pages:?}"
    );
}

// ---------------------------------------------------------------- conditional requests, rate limit

#[tokio::test]
async fn if_none_match_gets_304_without_spending_rate_limit() {
    let (gh, token) = hiring().await;
    let first = get(&gh, Some(&token), "/repos/octocat/hello").await;
    assert_eq!(first.status(), StatusCode::OK);
    let etag = header(&first, "etag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let remaining: u64 = header(&first, "x-ratelimit-remaining").parse().unwrap();
    assert_eq!(header(&first, "x-ratelimit-limit"), "5000");
    assert_eq!(header(&first, "x-ratelimit-resource"), "core");
    assert_eq!(
        header(&first, "x-ratelimit-used"),
        (5000 - remaining).to_string()
    );
    assert!(header(&first, "x-ratelimit-reset").parse::<i64>().unwrap() > now());
    assert!(!header(&first, "x-github-request-id").is_empty());

    let conditional = |tag: String| {
        let url = format!("{}/repos/octocat/hello", gh.url());
        let token = token.clone();
        async move {
            client()
                .get(url)
                .header("authorization", format!("token {token}"))
                .header("if-none-match", tag)
                .send()
                .await
                .unwrap()
        }
    };
    let not_modified = conditional(etag.clone()).await;
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        header(&not_modified, "x-ratelimit-remaining"),
        remaining.to_string()
    );
    assert_eq!(header(&not_modified, "etag"), etag);
    assert!(not_modified.bytes().await.unwrap().is_empty());
    // Weak comparison, as GitHub does.
    assert_eq!(
        conditional(format!("W/{etag}")).await.status(),
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(gh.rate_limit_remaining(), remaining);

    gh.repo("octocat/hello").description("changed");
    let changed = conditional(etag.clone()).await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(header(&changed, "etag"), etag);
    assert_eq!(
        header(&changed, "x-ratelimit-remaining"),
        (remaining - 1).to_string()
    );
}

#[tokio::test]
async fn an_exhausted_rate_limit_answers_403_until_reset() {
    let (gh, token) = hiring().await;
    gh.set_rate_limit_remaining(1);
    let last = get(&gh, Some(&token), "/repos/octocat/hello").await;
    assert_eq!(last.status(), StatusCode::OK);
    assert_eq!(header(&last, "x-ratelimit-remaining"), "0");
    let refused = get(&gh, Some(&token), "/repos/octocat/hello").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("API rate limit exceeded")
    );

    // /rate_limit itself is free and reports the state.
    let rl = get(&gh, Some(&token), "/rate_limit").await;
    assert_eq!(rl.status(), StatusCode::OK);
    let body: Value = rl.json().await.unwrap();
    assert_eq!(body["resources"]["core"]["remaining"], 0);
    assert_eq!(body["rate"]["limit"], 5000);
}

// ---------------------------------------------------------------- tarballs

fn unpack(
    bytes: &[u8],
) -> (
    Vec<String>,
    std::collections::BTreeMap<String, String>,
    Option<String>,
) {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut names = Vec::new();
    let mut files = std::collections::BTreeMap::new();
    let mut pax_comment = None;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type() == tar::EntryType::XGlobalHeader {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            pax_comment = text
                .split_once("comment=")
                .map(|(_, sha)| sha.trim().to_string());
            continue;
        }
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if entry.header().entry_type().is_file() {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            files.insert(name.clone(), text);
        }
        names.push(name);
    }
    (names, files, pax_comment)
}

#[tokio::test]
async fn tarball_redirects_to_a_gzip_with_githubs_top_directory() {
    let (gh, token) = hiring().await;
    let repo = gh
        .repo("octocat/hello")
        .file("src/hello/__init__.py", "VERSION = '1.0'\n")
        .file(".github/workflows/ci.yml", "on: push\n")
        .tag("v1.0.0");
    let sha = repo.head_sha();

    let res = get(&gh, Some(&token), "/repos/octocat/hello/tarball/v1.0.0").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = header(&res, "location");
    assert!(location.starts_with(&gh.url()), "{location}");

    // Codeload needs no Authorization for a public repository, as on GitHub.
    let archive = get(&gh, None, &location).await;
    assert_eq!(archive.status(), StatusCode::OK);
    assert_eq!(header(&archive, "content-type"), "application/x-gzip");
    let top = format!("octocat-hello-{}", &sha[..7]);
    assert!(header(&archive, "content-disposition").contains(&format!("{top}.tar.gz")));
    let (names, files, pax) = unpack(&archive.bytes().await.unwrap());
    assert_eq!(pax.as_deref(), Some(sha.as_str()));
    assert!(
        names.iter().all(|n| n.starts_with(&format!("{top}/"))),
        "{names:?}"
    );
    assert_eq!(files[&format!("{top}/README.md")], "# hello\n");
    assert_eq!(
        files[&format!("{top}/src/hello/__init__.py")],
        "VERSION = '1.0'\n"
    );
    assert!(names.contains(&format!("{top}/.github/workflows/")));

    // With reqwest's default redirect policy the client lands on the archive directly.
    let followed = reqwest::Client::new()
        .get(format!("{}/repos/octocat/hello/tarball", gh.url()))
        .header("authorization", format!("token {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(followed.status(), StatusCode::OK);
    assert_eq!(unpack(&followed.bytes().await.unwrap()).1.len(), 3);
}

#[tokio::test]
async fn a_private_tarball_link_carries_its_own_short_lived_token() {
    let (gh, token) = hiring().await;
    gh.repo("acme/hiring").private().file("a.txt", "a\n");
    let res = get(&gh, Some(&token), "/repos/acme/hiring/tarball/main").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = header(&res, "location");
    assert!(location.contains("?token="), "{location}");
    assert_eq!(get(&gh, None, &location).await.status(), StatusCode::OK);
    let bare = location.split('?').next().unwrap().to_string();
    assert_eq!(get(&gh, None, &bare).await.status(), StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn injected_status_faults_hit_matching_requests_the_given_number_of_times() {
    let (gh, token) = hiring().await;
    gh.fail_next(
        Matcher::exact("/repos/octocat/hello").method("GET"),
        Fault::Status(502),
        2,
    );
    let a = get(&gh, Some(&token), "/repos/octocat/hello").await;
    assert_eq!(a.status(), StatusCode::BAD_GATEWAY);
    assert!(!header(&a, "x-ratelimit-remaining").is_empty());
    // Another path is untouched.
    assert_eq!(
        get(&gh, Some(&token), "/users/octocat").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        get(&gh, Some(&token), "/repos/octocat/hello")
            .await
            .status(),
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        get(&gh, Some(&token), "/repos/octocat/hello")
            .await
            .status(),
        StatusCode::OK
    );

    // A prefix also matches the `/repositories/{id}` spelling of the same resource.
    let id = gh.repo("octocat/hello").id();
    gh.fail_next("/repos/octocat/hello", Fault::Status(503), 1);
    assert_eq!(
        get(&gh, Some(&token), &format!("/repositories/{id}/tags"))
            .await
            .status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn a_timeout_fault_holds_the_answer_past_the_clients_timeout() {
    let (gh, token) = hiring().await;
    gh.set_timeout_hold(Duration::from_secs(3));
    gh.fail_next(Matcher::any(), Fault::Timeout, 1);
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = impatient
        .get(format!("{}/repos/octocat/hello", gh.url()))
        .header("authorization", format!("token {token}"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // The next request is served at once.
    assert_eq!(
        get(&gh, Some(&token), "/repos/octocat/hello")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn rate_limit_faults_look_like_githubs() {
    let (gh, token) = hiring().await;
    gh.fail_next(
        "/repos/",
        Fault::SecondaryRateLimit {
            retry_after_secs: 2,
        },
        1,
    );
    let secondary = get(&gh, Some(&token), "/repos/octocat/hello").await;
    assert_eq!(secondary.status(), StatusCode::FORBIDDEN);
    assert_eq!(header(&secondary, "retry-after"), "2");
    assert_ne!(header(&secondary, "x-ratelimit-remaining"), "0");
    let body: Value = secondary.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("You have exceeded a secondary rate limit")
    );

    gh.fail_next(
        "/repos/",
        Fault::PrimaryRateLimit {
            reset_after_secs: 5,
        },
        1,
    );
    let primary = get(&gh, Some(&token), "/repos/octocat/hello").await;
    assert_eq!(primary.status(), StatusCode::FORBIDDEN);
    assert_eq!(header(&primary, "x-ratelimit-remaining"), "0");
    let reset: i64 = header(&primary, "x-ratelimit-reset").parse().unwrap();
    assert!((reset - now() - 5).abs() <= 2);
}

#[tokio::test]
async fn a_deleted_pull_request_answers_404_everywhere() {
    let (gh, token) = hiring().await;
    gh.pull("octocat/hello", 7)
        .author("octocat")
        .commit(CommitSpec::new("Add x").file("x.py", "x = 1\n"));
    assert_eq!(
        get(&gh, Some(&token), "/repos/octocat/hello/pulls/7")
            .await
            .status(),
        StatusCode::OK
    );
    gh.delete_pull("octocat/hello", 7);
    for path in ["", "/files", "/reviews", "/comments", "/commits"] {
        let res = get(
            &gh,
            Some(&token),
            &format!("/repos/octocat/hello/pulls/7{path}"),
        )
        .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["message"], "Not Found");
    }
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let (gh, token) = hiring().await;
    gh.set_latency(Duration::from_millis(150));
    let started = std::time::Instant::now();
    get(&gh, Some(&token), "/repos/octocat/hello").await;
    assert!(started.elapsed() >= Duration::from_millis(150));
}

// ---------------------------------------------------------------- visibility

#[tokio::test]
async fn private_repositories_are_invisible_without_access() {
    let gh = FakeGitHub::start().await;
    gh.installation(1)
        .organization("acme")
        .repos(&["acme/hiring"]);
    gh.installation(2)
        .organization("other")
        .repos(&["other/tools"]);
    gh.repo("acme/hiring").private().file("a", "a");
    gh.repo("octocat/hello").public().file("a", "a");
    gh.repo("bob/private")
        .private()
        .file("a", "a")
        .collaborator("carol", Permission::Read);
    gh.add_personal_token("ghp_alice", "alice");
    gh.add_personal_token("ghp_carol", "carol");
    let mine = gh.installation_token(1);
    let other = gh.installation_token(2);

    let status = |token: String, path: &'static str| {
        let url = format!("{}{path}", gh.url());
        async move {
            client()
                .get(url)
                .header("authorization", format!("token {token}"))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        status(mine.clone(), "/repos/acme/hiring").await,
        StatusCode::OK
    );
    assert_eq!(
        status(other.clone(), "/repos/acme/hiring").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(other.clone(), "/repos/acme/hiring/contents/a").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(other.clone(), "/repos/octocat/hello").await,
        StatusCode::OK
    );
    assert_eq!(
        status("ghp_alice".into(), "/repos/bob/private").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status("ghp_carol".into(), "/repos/bob/private").await,
        StatusCode::OK
    );
    assert_eq!(
        status("ghp_alice".into(), "/repos/octocat/hello").await,
        StatusCode::OK
    );
}

// ---------------------------------------------------------------- issues, comments, labels

/// A story that ends without reading what the bot wrote fails, as bors' harness does: an edit
/// after the last read counts as unread too.
#[tokio::test]
#[should_panic(expected = "bot comments it never read")]
async fn a_story_that_never_reads_the_bots_edit_fails() {
    let (gh, token) = hiring().await;
    gh.issue("acme/hiring", 1)
        .author("octocat")
        .title("Portfolio");
    let res = client()
        .post(format!("{}/repos/acme/hiring/issues/1/comments", gh.url()))
        .header("authorization", format!("token {token}"))
        .json(&json!({"body": "<!-- folio:evidence v1 -->\nfirst"}))
        .send()
        .await
        .unwrap();
    let id = res.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    assert_eq!(gh.bot_comments("acme/hiring", 1).len(), 1);
    client()
        .patch(format!(
            "{}/repos/acme/hiring/issues/comments/{id}",
            gh.url()
        ))
        .header("authorization", format!("token {token}"))
        .json(&json!({"body": "<!-- folio:evidence v1 -->\nsecond"}))
        .send()
        .await
        .unwrap();
    drop(gh);
}

#[tokio::test]
async fn the_app_comments_as_its_bot_and_edits_only_its_own_comments() {
    let (gh, token) = hiring().await;
    gh.issue("acme/hiring", 1)
        .author("octocat")
        .title("Portfolio: octocat")
        .body("### GitHub username\n\noctocat")
        .label("folio: submission");
    let someone_else = gh
        .issue("acme/hiring", 1)
        .comment_id("mallory", "<!-- folio:evidence v1 -->");

    let res = client()
        .post(format!("{}/repos/acme/hiring/issues/1/comments", gh.url()))
        .header("authorization", format!("token {token}"))
        .json(&json!({"body": "<!-- folio:evidence v1 -->\nhello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["user"]["login"], json!(gh.bot_login()));
    assert_eq!(created["user"]["type"], "Bot");
    assert_eq!(
        created["performed_via_github_app"]["slug"],
        json!(gh.app_slug())
    );
    let id = created["id"].as_u64().unwrap();

    let patch = |id: u64, body: &'static str| {
        let url = format!("{}/repos/acme/hiring/issues/comments/{id}", gh.url());
        let token = token.clone();
        async move {
            client()
                .patch(url)
                .header("authorization", format!("token {token}"))
                .json(&json!({"body": body}))
                .send()
                .await
                .unwrap()
        }
    };
    let edited = patch(id, "edited").await;
    assert_eq!(edited.status(), StatusCode::OK);
    assert_eq!(edited.json::<Value>().await.unwrap()["body"], "edited");
    assert_eq!(
        patch(someone_else, "hijack").await.status(),
        StatusCode::FORBIDDEN
    );

    let comments = gh.issue_comments("acme/hiring", 1);
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[1].body, "edited");
    assert!(comments[1].via_app);
    assert_eq!(comments[0].body, "<!-- folio:evidence v1 -->");

    let issue: Value = get(&gh, Some(&token), "/repos/acme/hiring/issues/1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(issue["user"]["login"], "octocat");
    assert_eq!(issue["labels"][0]["name"], "folio: submission");
    assert_eq!(issue["comments"], 2);
    assert!(issue.get("pull_request").is_none());

    // Not installed on octocat/hello: writing there is refused.
    gh.issue("octocat/hello", 2);
    let refused = client()
        .post(format!(
            "{}/repos/octocat/hello/issues/2/comments",
            gh.url()
        ))
        .header("authorization", format!("token {token}"))
        .json(&json!({"body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn reactions_on_comments_are_kept_once_per_user_and_kind() {
    let (gh, token) = hiring().await;
    gh.issue("acme/hiring", 1).author("octocat");
    let command = gh
        .issue("acme/hiring", 1)
        .comment_id("recruiter", "/folio refresh");
    let react = |id: u64, content: &'static str| {
        let url = format!(
            "{}/repos/acme/hiring/issues/comments/{id}/reactions",
            gh.url()
        );
        let token = token.clone();
        async move {
            client()
                .post(url)
                .header("authorization", format!("token {token}"))
                .json(&json!({ "content": content }))
                .send()
                .await
                .unwrap()
        }
    };
    let eyes = react(command, "eyes").await;
    assert_eq!(eyes.status(), StatusCode::CREATED);
    let eyes: Value = eyes.json().await.unwrap();
    assert_eq!(eyes["content"], "eyes");
    assert_eq!(eyes["user"]["login"], json!(gh.bot_login()));
    // The same reaction again is answered with the one already there (200), not a second one.
    let again = react(command, "eyes").await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], eyes["id"]);
    assert_eq!(react(command, "+1").await.status(), StatusCode::CREATED);
    assert_eq!(
        react(command, "thumbs").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(react(999_999, "eyes").await.status(), StatusCode::NOT_FOUND);
    let kinds: Vec<String> = gh
        .comment_reactions("acme/hiring", command)
        .into_iter()
        .map(|r| {
            assert_eq!(r.user, gh.bot_login());
            r.content
        })
        .collect();
    assert_eq!(kinds, ["eyes", "+1"]);
}

#[tokio::test]
async fn labels_are_added_created_and_removed() {
    let (gh, token) = hiring().await;
    gh.issue("acme/hiring", 4).author("octocat");
    let res = client()
        .post(format!("{}/repos/acme/hiring/issues/4/labels", gh.url()))
        .header("authorization", format!("token {token}"))
        .json(&json!({"labels": ["folio: evaluated"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let labels: Vec<Value> = res.json().await.unwrap();
    assert_eq!(labels[0]["name"], "folio: evaluated");
    assert_eq!(gh.issue_labels("acme/hiring", 4), vec!["folio: evaluated"]);

    let delete = |name: &'static str| {
        let url = format!("{}/repos/acme/hiring/issues/4/labels/{name}", gh.url());
        let token = token.clone();
        async move {
            client()
                .delete(url)
                .header("authorization", format!("token {token}"))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(delete("folio:%20evaluated").await.status(), StatusCode::OK);
    assert!(gh.issue_labels("acme/hiring", 4).is_empty());
    let missing = delete("folio:%20evaluated").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["message"],
        "Label does not exist"
    );
}

#[tokio::test]
async fn collaborator_permission_reports_legacy_permission_and_role_name() {
    let (gh, token) = hiring().await;
    gh.repo("acme/hiring")
        .collaborator("tess", Permission::Triage)
        .collaborator("max", Permission::Maintain);
    gh.user("stranger");
    let perm = |login: &'static str| {
        let gh_url = gh.url();
        let token = token.clone();
        async move {
            let res = client()
                .get(format!(
                    "{gh_url}/repos/acme/hiring/collaborators/{login}/permission"
                ))
                .header("authorization", format!("token {token}"))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let body: Value = res.json().await.unwrap();
            (status, body)
        }
    };
    let (_, tess) = perm("tess").await;
    assert_eq!(
        (tess["permission"].clone(), tess["role_name"].clone()),
        (json!("read"), json!("triage"))
    );
    assert_eq!(tess["user"]["login"], "tess");
    let (_, max) = perm("max").await;
    assert_eq!(
        (max["permission"].clone(), max["role_name"].clone()),
        (json!("write"), json!("maintain"))
    );
    let (_, owner) = perm("acme").await;
    assert_eq!(owner["role_name"], "admin");
    let (_, stranger) = perm("stranger").await;
    assert_eq!(stranger["role_name"], "read");
    let (status, _) = perm("nobody-at-all").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- repositories and pulls

#[tokio::test]
async fn repository_json_carries_fork_and_template_facts() {
    let (gh, token) = hiring().await;
    gh.repo("octocat/fork")
        .fork_of("upstream/lib")
        .file("a", "a");
    gh.repo("octocat/generated")
        .generated_from("acme/template")
        .file("a", "a");
    let fork: Value = get(&gh, Some(&token), "/repos/octocat/fork")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fork["fork"], true);
    assert_eq!(fork["parent"]["full_name"], "upstream/lib");
    assert_eq!(fork["owner"]["login"], "octocat");
    assert_eq!(fork["visibility"], "public");
    assert_eq!(fork["html_url"], "https://github.com/octocat/fork");
    assert_eq!(
        fork["url"],
        json!(format!("{}/repos/octocat/fork", gh.url()))
    );
    let generated: Value = get(&gh, Some(&token), "/repos/octocat/generated")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(generated["fork"], false);
    assert_eq!(
        generated["template_repository"]["full_name"],
        "acme/template"
    );
    assert_eq!(generated["template_repository"]["is_template"], true);
    // The result deserializes into octocrab's model, as Folio's client will read it.
    let _: octocrab::models::Repository = serde_json::from_value(generated).unwrap();
}

#[tokio::test]
async fn pull_requests_have_files_with_patches_reviews_and_review_comments() {
    let (gh, token) = hiring().await;
    let base = gh
        .repo("octocat/hello")
        .file("src/calc.py", "def add(a, b):\n    return a + b\n")
        .head_sha();
    let pull = gh
        .pull("octocat/hello", 7)
        .author("candidate")
        .title("Add subtraction")
        .body("Adds sub with tests")
        .commit(
            CommitSpec::new("Add sub")
                .file(
                    "src/calc.py",
                    "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
                )
                .file(
                    "tests/test_calc.py",
                    "from calc import sub\n\n\ndef test_sub():\n    assert sub(3, 1) == 2\n",
                ),
        )
        .review(
            ReviewSpec::new("reviewer", "CHANGES_REQUESTED")
                .body("See inline")
                .id(900),
        )
        .review_comment(
            ReviewCommentSpec::new("reviewer", "src/calc.py", "Could you add a docstring?")
                .line(6)
                .review(900)
                .id(901),
        )
        .review_comment(ReviewCommentSpec::new("candidate", "src/calc.py", "Done").reply_to(901))
        .check_run("tests", "success")
        .merged();
    let head = pull.head_sha();

    let pr: Value = get(&gh, Some(&token), "/repos/octocat/hello/pulls/7")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pr["number"], 7);
    assert_eq!(pr["user"]["login"], "candidate");
    assert_eq!(pr["merged"], true);
    assert_eq!(pr["state"], "closed");
    assert_eq!(pr["head"]["sha"], json!(head));
    assert_eq!(pr["base"]["sha"], json!(base));
    assert_eq!(pr["base"]["repo"]["full_name"], "octocat/hello");
    assert_eq!(pr["changed_files"], 2);
    assert_eq!(pr["html_url"], "https://github.com/octocat/hello/pull/7");
    let _: octocrab::models::pulls::PullRequest = serde_json::from_value(pr).unwrap();

    let files: Vec<Value> = get(&gh, Some(&token), "/repos/octocat/hello/pulls/7/files")
        .await
        .json()
        .await
        .unwrap();
    let calc = files
        .iter()
        .find(|f| f["filename"] == "src/calc.py")
        .unwrap();
    assert_eq!(calc["status"], "modified");
    assert_eq!(calc["additions"], 4);
    assert_eq!(calc["deletions"], 0);
    assert_eq!(
        calc["patch"],
        "@@ -1,2 +1,6 @@\n def add(a, b):\n     return a + b\n+\n+\n+def sub(a, b):\n+    return a - b"
    );
    let test = files
        .iter()
        .find(|f| f["filename"] == "tests/test_calc.py")
        .unwrap();
    assert_eq!(test["status"], "added");
    assert!(
        test["patch"]
            .as_str()
            .unwrap()
            .starts_with("@@ -0,0 +1,5 @@\n+from calc import sub")
    );

    let reviews: Vec<Value> = get(&gh, Some(&token), "/repos/octocat/hello/pulls/7/reviews")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reviews[0]["state"], "CHANGES_REQUESTED");
    assert_eq!(reviews[0]["user"]["login"], "reviewer");
    assert_eq!(reviews[0]["commit_id"], json!(head));

    let comments: Vec<Value> = get(&gh, Some(&token), "/repos/octocat/hello/pulls/7/comments")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(comments[0]["id"], 901);
    assert_eq!(comments[0]["pull_request_review_id"], 900);
    assert_eq!(comments[0]["line"], 6);
    assert_eq!(comments[0]["original_line"], 6);
    assert_eq!(comments[0]["commit_id"], json!(head));
    assert_eq!(comments[0]["original_commit_id"], json!(head));
    assert!(
        comments[0]["diff_hunk"]
            .as_str()
            .unwrap()
            .ends_with("+    return a - b")
    );
    assert_eq!(
        comments[0]["html_url"],
        "https://github.com/octocat/hello/pull/7#discussion_r901"
    );
    assert!(comments[0].get("in_reply_to_id").is_none());
    assert_eq!(comments[1]["in_reply_to_id"], 901);
    let _: Vec<octocrab::models::pulls::Comment> = serde_json::from_value(json!(comments)).unwrap();

    let commits: Vec<Value> = get(&gh, Some(&token), "/repos/octocat/hello/pulls/7/commits")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(commits.len(), 1);
    assert_eq!(commits[0]["author"]["login"], "candidate");
    assert_eq!(commits[0]["parents"][0]["sha"], json!(base));

    let runs: Value = get(
        &gh,
        Some(&token),
        &format!("/repos/octocat/hello/commits/{head}/check-runs"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(runs["total_count"], 1);
    assert_eq!(runs["check_runs"][0]["conclusion"], "success");
    assert_eq!(runs["check_runs"][0]["head_sha"], json!(head));
}

#[tokio::test]
async fn commits_filter_by_path_and_author_and_show_their_files() {
    let (gh, token) = hiring().await;
    gh.repo("octocat/hello")
        .commit(
            CommitSpec::new("CI")
                .author("alice")
                .file(".github/workflows/ci.yml", "on: push\n"),
        )
        .commit(
            CommitSpec::new("Lint")
                .author("bob")
                .file(".github/workflows/ci.yml", "on: push\njobs: {}\n"),
        )
        .commit(
            CommitSpec::new("Docs")
                .author("alice")
                .file("docs/index.md", "hi\n"),
        );
    let list = |q: &'static str| {
        let url = format!("{}/repos/octocat/hello/commits?{q}", gh.url());
        let token = token.clone();
        async move {
            let v: Vec<Value> = client()
                .get(url)
                .header("authorization", format!("token {token}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v.iter()
                .map(|c| c["commit"]["message"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("").await, vec!["Docs", "Lint", "CI", "Add README.md"]);
    assert_eq!(
        list("path=.github/workflows/ci.yml").await,
        vec!["Lint", "CI"]
    );
    assert_eq!(list("path=.github&author=alice").await, vec!["CI"]);
    assert_eq!(list("author=ALICE").await, vec!["Docs", "CI"]);

    let head = gh.repo("octocat/hello").head_sha();
    let detail: Value = get(
        &gh,
        Some(&token),
        &format!("/repos/octocat/hello/commits/{}", &head[..7]),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(detail["sha"], json!(head));
    assert_eq!(detail["files"][0]["filename"], "docs/index.md");
    assert_eq!(detail["stats"]["additions"], 1);
    assert!(
        detail["commit"]["author"]["date"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}

#[tokio::test]
async fn contents_are_base64_raw_or_a_listing_and_404_when_absent() {
    let (gh, token) = hiring().await;
    let text = "[project]\nname = \"hello\"\n".repeat(10);
    gh.repo("octocat/hello")
        .file("pyproject.toml", &text)
        .file(".github/folio.yml", "limits: {}\n");
    let file: Value = get(
        &gh,
        Some(&token),
        "/repos/octocat/hello/contents/pyproject.toml",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(file["encoding"], "base64");
    let encoded = file["content"].as_str().unwrap();
    assert!(encoded.lines().all(|l| l.len() <= 60));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.replace('\n', ""))
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), text);

    let raw = client()
        .get(format!(
            "{}/repos/octocat/hello/contents/.github/folio.yml",
            gh.url()
        ))
        .header("authorization", format!("token {token}"))
        .header("accept", "application/vnd.github.raw+json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.text().await.unwrap(), "limits: {}\n");

    let root: Vec<Value> = get(&gh, Some(&token), "/repos/octocat/hello/contents/")
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<(&str, &str)> = root
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        vec![
            (".github", "dir"),
            ("README.md", "file"),
            ("pyproject.toml", "file")
        ]
    );
    assert_eq!(
        get(
            &gh,
            Some(&token),
            "/repos/octocat/hello/contents/.github/missing.yml"
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn tags_and_releases_list_newest_first() {
    let (gh, token) = hiring().await;
    gh.repo("octocat/hello")
        .tag("v1.0.0")
        .file("CHANGELOG.md", "1.1\n")
        .tag("v1.1.0")
        .release(ReleaseSpec::new("v1.0.0").body("First").author("octocat"))
        .release(
            ReleaseSpec::new("v1.1.0")
                .body("Second")
                .asset("hello-1.1.0.tar.gz", "application/gzip", 1234)
                .asset("hello-1.1.0.tar.gz.sigstore.json", "application/json", 99),
        );
    let tags: Vec<Value> = get(&gh, Some(&token), "/repos/octocat/hello/tags")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tags[0]["name"], "v1.1.0");
    assert_eq!(tags[1]["name"], "v1.0.0");
    assert_eq!(
        tags[0]["commit"]["sha"],
        json!(gh.repo("octocat/hello").head_sha())
    );
    let releases: Vec<Value> = get(&gh, Some(&token), "/repos/octocat/hello/releases")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(releases[0]["tag_name"], "v1.1.0");
    assert_eq!(
        releases[0]["assets"][1]["name"],
        "hello-1.1.0.tar.gz.sigstore.json"
    );
    assert_eq!(releases[1]["body"], "First");
    assert_eq!(releases[1]["author"]["login"], "octocat");
}

// ---------------------------------------------------------------- search

#[tokio::test]
async fn search_finds_merged_bot_pull_requests_in_visible_repositories() {
    let (gh, token) = hiring().await;
    gh.pull("octocat/hello", 10)
        .author("dependabot[bot]")
        .title("Bump ruff")
        .merged();
    gh.pull("octocat/hello", 11)
        .author("dependabot[bot]")
        .title("Bump mypy")
        .closed();
    gh.pull("octocat/hello", 12)
        .author("renovate[bot]")
        .title("Update pytest")
        .merged();
    gh.pull("octocat/other", 13)
        .author("dependabot[bot]")
        .merged();
    gh.repo("someone/private").private();
    gh.pull("someone/private", 1)
        .author("dependabot[bot]")
        .merged();

    let search = |q: &'static str| {
        let url = format!("{}/search/issues", gh.url());
        let token = token.clone();
        async move {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("q", q)
                .finish();
            let res = client()
                .get(format!("{url}?{query}"))
                .header("authorization", format!("token {token}"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.headers()["x-ratelimit-resource"], "search");
            let v: Value = res.json().await.unwrap();
            let numbers: Vec<u64> = v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["number"].as_u64().unwrap())
                .collect();
            (v["total_count"].as_u64().unwrap(), numbers)
        }
    };
    assert_eq!(
        search("repo:octocat/hello is:pr is:merged author:app/dependabot").await,
        (1, vec![10])
    );
    assert_eq!(
        search("repo:octocat/hello author:renovate[bot]").await,
        (1, vec![12])
    );
    assert_eq!(search("is:pr is:merged author:app/dependabot").await.0, 2);
    assert_eq!(
        search("repo:octocat/hello is:pr -is:merged").await,
        (1, vec![11])
    );
    assert_eq!(search("Bump repo:octocat/hello").await.1, vec![11, 10]);
    let item: Value = {
        let res = get(
            &gh,
            Some(&token),
            "/search/issues?q=repo%3Aoctocat%2Fhello+is%3Amerged+ruff",
        )
        .await;
        res.json().await.unwrap()
    };
    assert!(item["items"][0]["pull_request"]["merged_at"].is_string());
    assert_eq!(item["items"][0]["user"]["type"], "Bot");
}

// ---------------------------------------------------------------- app setup and deliveries

#[tokio::test]
async fn the_manifest_code_converts_once_without_auth() {
    let gh = FakeGitHub::start().await;
    let code = gh.manifest_code();
    let url = format!("{}/app-manifests/{code}/conversions", gh.url());
    let res = client().post(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["id"], json!(gh.app_id()));
    assert_eq!(body["slug"], json!(gh.app_slug()));
    assert_eq!(body["pem"], json!(gh.private_key_pem()));
    assert_eq!(body["webhook_secret"], json!(gh.webhook_secret()));
    assert!(body["client_id"].is_string() && body["client_secret"].is_string());
    assert_eq!(
        client().post(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn deliveries_page_by_cursor_and_redelivery_attempts_are_recorded() {
    let gh = FakeGitHub::start().await;
    let ok = gh.push_delivery(DeliverySpec::new("issues").action("opened").installation(7));
    let failed = gh.push_delivery(
        DeliverySpec::new("issue_comment")
            .action("created")
            .status_code(500),
    );
    let timed_out = gh.push_delivery(DeliverySpec::new("issues").action("edited").timed_out());

    let jwt = gh.app_jwt();
    let first = client()
        .get(format!("{}/app/hook/deliveries?per_page=2", gh.url()))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let link = header(&first, "link");
    let page: Vec<Value> = first.json().await.unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["id"], json!(timed_out));
    assert_eq!(page[0]["status"], "timed out");
    assert_eq!(page[1]["id"], json!(failed));
    assert_eq!(page[1]["status"], "Invalid HTTP Response: 500");
    assert_eq!(page[1]["status_code"], 500);
    let next = next_link(&link).unwrap();
    assert!(next.contains("cursor="), "{next}");
    let second: Vec<Value> = client()
        .get(next)
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0]["id"], json!(ok));
    assert_eq!(second[0]["status"], "OK");
    assert_eq!(second[0]["installation_id"], 7);

    let res = client()
        .post(format!(
            "{}/app/hook/deliveries/{failed}/attempts",
            gh.url()
        ))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(gh.redelivery_requests(), vec![failed]);
    let all: Vec<Value> = client()
        .get(format!("{}/app/hook/deliveries", gh.url()))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all[0]["redelivery"], true);
    assert_eq!(
        all[0]["guid"],
        all.iter().find(|d| d["id"] == json!(failed)).unwrap()["guid"]
    );
}

// ---------------------------------------------------------------- webhook helpers

#[test]
fn sign_matches_githubs_documented_test_vector() {
    assert_eq!(
        sign("It's a Secret to Everybody", b"Hello, World!"),
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
}

#[test]
fn webhook_fixtures_are_read_from_the_repository() {
    let raw = fixture_payload("issues", "opened");
    let parsed = fixture_json("issues", "opened");
    assert_eq!(parsed["action"], "opened");
    assert!(!raw.is_empty());
    let with_installation = fixture_json("issue_comment", "created.with-installation");
    assert!(with_installation["installation"]["id"].is_u64());
}

// ---------------------------------------------------------------- properties of the generators

/// Applies a one-hunk unified diff to `old`, checking every context and removed line.
fn apply_hunk(old: &str, patch: &str) -> Result<Vec<String>, String> {
    let old: Vec<&str> = old.lines().collect();
    let mut lines = patch.split('\n');
    let header = lines.next().ok_or("empty patch")?;
    let ranges: Vec<&str> = header
        .trim_start_matches("@@ ")
        .trim_end_matches(" @@")
        .split(' ')
        .collect();
    let (start, count) = ranges[0]
        .trim_start_matches('-')
        .split_once(',')
        .ok_or("bad header")?;
    let (start, count): (usize, usize) = (start.parse().unwrap(), count.parse().unwrap());
    let mut at = if count == 0 { start } else { start - 1 };
    let mut out: Vec<String> = old[..at].iter().map(|s| s.to_string()).collect();
    for line in lines {
        let (tag, text) = line.split_at(1);
        match tag {
            " " | "-" => {
                if old.get(at) != Some(&text) {
                    return Err(format!(
                        "line {at}: expected {text:?}, found {:?}",
                        old.get(at)
                    ));
                }
                if tag == " " {
                    out.push(text.to_string());
                }
                at += 1;
            }
            "+" => out.push(text.to_string()),
            _ => return Err(format!("bad line {line:?}")),
        }
    }
    out.extend(old[at..].iter().map(|s| s.to_string()));
    Ok(out)
}

proptest::proptest! {
    #[test]
    fn generated_patches_turn_the_old_file_into_the_new_one(
        old in proptest::collection::vec("[abc]{0,2}", 0..14),
        new in proptest::collection::vec("[abc]{0,2}", 0..14),
    ) {
        let old_text = old.iter().map(|l| format!("{l}\n")).collect::<String>();
        let new_text = new.iter().map(|l| format!("{l}\n")).collect::<String>();
        let (patch, additions, deletions) = support::fake_github::unified_hunk(&old_text, &new_text);
        let applied = apply_hunk(&old_text, &patch).map_err(proptest::test_runner::TestCaseError::fail)?;
        proptest::prop_assert_eq!(applied, new);
        let plus = patch.lines().skip(1).filter(|l| l.starts_with('+')).count() as u64;
        let minus = patch.lines().skip(1).filter(|l| l.starts_with('-')).count() as u64;
        proptest::prop_assert_eq!((additions, deletions), (plus, minus));
    }

    #[test]
    fn following_next_links_visits_every_item_once(
        total in 0usize..260,
        per_page in proptest::option::of(0usize..130),
    ) {
        let items: Vec<Value> = (0..total).map(|i| json!(i)).collect();
        let base = "http://127.0.0.1:1/repositories/1/issues";
        let mut query = per_page.map(|n| format!("per_page={n}")).unwrap_or_default();
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let (page, link) = support::fake_github::paginate(items.clone(), &query, base);
            pages += 1;
            seen.extend(page);
            match link.as_deref().and_then(next_link) {
                Some(next) => query = next.split_once('?').unwrap().1.to_string(),
                None => break,
            }
            proptest::prop_assert!(pages <= 260);
        }
        proptest::prop_assert_eq!(seen, items);
        let size = per_page.filter(|n| *n > 0).unwrap_or(30).min(100);
        proptest::prop_assert_eq!(pages, total.div_ceil(size).max(1));
    }
}

#[tokio::test]
async fn installation_lookups_by_repository_and_account_need_the_jwt() {
    let gh = FakeGitHub::start().await;
    gh.installation(9)
        .organization("acme")
        .repos(&["acme/hiring"]);
    for path in ["/repos/acme/hiring/installation", "/orgs/acme/installation"] {
        let url = format!("{}{path}", gh.url());
        let res = client()
            .get(&url)
            .bearer_auth(gh.app_jwt())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["id"], 9);
        assert_eq!(body["account"]["login"], "acme");
        assert_eq!(body["target_type"], "Organization");
        let token = gh.installation_token(9);
        let res = client().get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[test]
fn delivery_headers_are_signed_over_the_body() {
    let body = fixture_payload("ping", "payload");
    let headers = support::webhook::delivery_headers("ping", "guid-1", "s3cret", &body);
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("x-github-event"), "ping");
    assert_eq!(get("x-github-delivery"), "guid-1");
    assert_eq!(get("x-hub-signature-256"), sign("s3cret", &body));
    assert!(get("user-agent").starts_with("GitHub-Hookshot/"));
}

/// Every answer Folio's client reads deserializes into octocrab's models through octocrab's own
/// calls: the fake's JSON is shaped like GitHub's, not only like the fields the tests check.
#[tokio::test]
async fn octocrab_reads_every_endpoint_into_its_models() {
    let gh = FakeGitHub::start().await;
    gh.installation(INSTALLATION)
        .organization("acme")
        .repos(&["acme/hiring"]);
    gh.issue("acme/hiring", 1)
        .author("octocat")
        .body("### GitHub username\n\noctocat")
        .comment("octocat", "please look");
    let repo = gh
        .repo("octocat/hello")
        .file("pyproject.toml", "[project]\nname = \"hello\"\n")
        .tag("v0.1.0")
        .release(
            ReleaseSpec::new("v0.1.0")
                .body("notes")
                .asset("a.whl", "application/zip", 10),
        )
        .collaborator("reviewer", Permission::Triage);
    let base = repo.head_sha();
    let pull = gh
        .pull("octocat/hello", 2)
        .author("octocat")
        .commit(CommitSpec::new("Add module").file("hello.py", "print('hi')\n"))
        .review(ReviewSpec::new("reviewer", "APPROVED"))
        .review_comment(ReviewCommentSpec::new("reviewer", "hello.py", "nice").line(1))
        .check_run("ci", "success")
        .merged();
    let head = pull.head_sha();

    let key = jsonwebtoken::EncodingKey::from_rsa_pem(gh.private_key_pem().as_bytes()).unwrap();
    let app = octocrab::Octocrab::builder()
        .base_uri(gh.url())
        .unwrap()
        .app(octocrab::models::AppId(gh.app_id()), key)
        .build()
        .unwrap();
    let me = app.apps().get().await.unwrap();
    assert_eq!(me.slug.as_deref(), Some(gh.app_slug().as_str()));
    let found = app
        .apps()
        .get_repository_installation("acme", "hiring")
        .await
        .unwrap();
    assert_eq!(found.id.0, INSTALLATION);
    let crab = app
        .installation(octocrab::models::InstallationId(INSTALLATION))
        .unwrap();

    let pr = crab.pulls("octocat", "hello").get(2).await.unwrap();
    assert_eq!(pr.head.sha, head);
    assert_eq!(pr.base.sha, base);
    let files = crab.pulls("octocat", "hello").list_files(2).await.unwrap();
    assert_eq!(files.items[0].filename, "hello.py");
    assert_eq!(
        files.items[0].patch.as_deref(),
        Some("@@ -0,0 +1,1 @@\n+print('hi')")
    );
    let reviews = crab
        .pulls("octocat", "hello")
        .list_reviews(2)
        .send()
        .await
        .unwrap();
    assert_eq!(
        reviews.items[0].state,
        Some(octocrab::models::pulls::ReviewState::Approved)
    );
    let comments = crab
        .pulls("octocat", "hello")
        .list_comments(Some(2))
        .send()
        .await
        .unwrap();
    assert_eq!(comments.items[0].body, "nice");
    let commits = crab
        .pulls("octocat", "hello")
        .pr_commits(2)
        .send()
        .await
        .unwrap();
    assert_eq!(commits.items[0].sha, head);
    let runs = crab
        .checks("octocat", "hello")
        .list_check_runs_for_git_ref(octocrab::params::repos::Commitish(head.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(runs.total_count, 1);
    let commit = crab
        .commits("octocat", "hello")
        .get(head.clone())
        .await
        .unwrap();
    assert_eq!(commit.files.unwrap()[0].filename, "hello.py");
    let history = crab
        .repos("octocat", "hello")
        .list_commits()
        .path("pyproject.toml")
        .send()
        .await
        .unwrap();
    assert_eq!(history.items.len(), 1);
    let tags = crab
        .repos("octocat", "hello")
        .list_tags()
        .send()
        .await
        .unwrap();
    assert_eq!(tags.items[0].name, "v0.1.0");
    let releases = crab
        .repos("octocat", "hello")
        .releases()
        .list()
        .send()
        .await
        .unwrap();
    assert_eq!(releases.items[0].assets[0].name, "a.whl");
    let mut content = crab
        .repos("octocat", "hello")
        .get_content()
        .path("pyproject.toml")
        .send()
        .await
        .unwrap();
    assert_eq!(
        content.take_items()[0].decoded_content().as_deref(),
        Some("[project]\nname = \"hello\"\n")
    );
    // octocrab's `get_contributor_permission` cannot read this endpoint: its `permission` enum
    // lacks "read"/"write", which GitHub sends (the legacy field; `role_name` is precise).
    let permission: Value = crab
        .get(
            "/repos/octocat/hello/collaborators/reviewer/permission",
            None::<&()>,
        )
        .await
        .unwrap();
    assert_eq!(permission["permission"], "read");
    assert_eq!(permission["role_name"], "triage");
    let found = crab
        .search()
        .issues_and_pull_requests("repo:octocat/hello is:pr is:merged")
        .send()
        .await
        .unwrap();
    assert_eq!(found.total_count, Some(1));
    let profile = crab.users("octocat").profile().await.unwrap();
    assert_eq!(profile.login, "octocat");
    let limits = crab.ratelimit().get().await.unwrap();
    assert_eq!(limits.resources.core.limit, 5000);

    let issues = crab.issues("acme", "hiring");
    let issue = issues.get(1).await.unwrap();
    assert_eq!(issue.user.login, "octocat");
    let listed = issues.list_comments(1).send().await.unwrap();
    assert_eq!(listed.items[0].body.as_deref(), Some("please look"));
    let posted = issues.create_comment(1, "evidence").await.unwrap();
    assert_eq!(posted.user.login, gh.bot_login());
    let updated = issues
        .update_comment(posted.id, "evidence v2")
        .await
        .unwrap();
    assert_eq!(updated.body.as_deref(), Some("evidence v2"));
    let labels = issues
        .add_labels(1, &["folio: evaluated".to_string()])
        .await
        .unwrap();
    assert_eq!(labels[0].name, "folio: evaluated");
    issues.remove_label(1, "folio: evaluated").await.unwrap();
    assert!(gh.issue_labels("acme/hiring", 1).is_empty());
    assert_eq!(gh.issue_comments("acme/hiring", 1)[1].body, "evidence v2");
}

// ---------------------------------------------------------------- webhook deliveries to the app

/// Event, delivery GUID, signature, body.
type Seen = (String, String, String, Vec<u8>);

#[derive(Clone, Default)]
struct Receiver {
    seen: std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
    answers: std::sync::Arc<std::sync::Mutex<Vec<u16>>>,
}

/// A stand-in for Folio's `/webhook`: records what arrives and answers the queued statuses.
async fn start_receiver(receiver: Receiver) -> String {
    async fn hook(
        axum::extract::State(r): axum::extract::State<Receiver>,
        headers: axum::http::HeaderMap,
        body: axum::body::Bytes,
    ) -> axum::http::StatusCode {
        let h = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_string();
        r.seen.lock().unwrap().push((
            h("x-github-event"),
            h("x-github-delivery"),
            h("x-hub-signature-256"),
            body.to_vec(),
        ));
        let mut answers = r.answers.lock().unwrap();
        let code = if answers.is_empty() {
            200
        } else {
            answers.remove(0)
        };
        axum::http::StatusCode::from_u16(code).unwrap()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/webhook", axum::routing::post(hook))
        .with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/webhook")
}

#[tokio::test]
async fn webhooks_are_built_from_state_signed_logged_and_redelivered() {
    let gh = FakeGitHub::start().await;
    gh.installation(INSTALLATION)
        .organization("acme")
        .repos(&["acme/hiring"]);
    gh.issue("acme/hiring", 5)
        .author("octocat")
        .body("### GitHub username\n\noctocat");
    let comment = gh
        .issue("acme/hiring", 5)
        .comment_id("maintainer", "/folio refresh");
    let receiver = Receiver::default();
    receiver.answers.lock().unwrap().extend([200, 500]);
    gh.webhook_to(&start_receiver(receiver.clone()).await);
    gh.set_webhook_secret("s3cret");

    let opened = gh
        .send_webhook(support::fake_github::Event::IssueOpened {
            repo: "acme/hiring".into(),
            number: 5,
        })
        .await;
    assert_eq!(opened, 200);
    let commented = gh
        .send_webhook(support::fake_github::Event::IssueCommentCreated {
            repo: "acme/hiring".into(),
            number: 5,
            comment_id: comment,
        })
        .await;
    assert_eq!(commented, 500);

    let seen = receiver.seen.lock().unwrap().clone();
    let (event, guid, signature, body) = &seen[0];
    assert_eq!(event, "issues");
    assert_eq!(signature, &sign("s3cret", body));
    let payload: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["action"], "opened");
    assert_eq!(payload["issue"]["number"], 5);
    assert_eq!(payload["issue"]["body"], "### GitHub username\n\noctocat");
    assert_eq!(payload["repository"]["full_name"], "acme/hiring");
    assert_eq!(payload["sender"]["login"], "octocat");
    assert_eq!(payload["installation"]["id"], INSTALLATION);
    let comment_payload: Value = serde_json::from_slice(&seen[1].3).unwrap();
    assert_eq!(comment_payload["comment"]["id"], json!(comment));
    assert_eq!(comment_payload["comment"]["body"], "/folio refresh");
    assert_eq!(comment_payload["sender"]["login"], "maintainer");
    // The payload parses with octocrab's webhook model, as Folio's receiver may use it.
    let parsed = octocrab::models::webhook_events::WebhookEvent::try_from_header_and_body(
        "issue_comment",
        &seen[1].3,
    )
    .unwrap();
    assert_eq!(parsed.installation.unwrap().id().0, INSTALLATION);

    let log = gh.deliveries();
    assert_eq!(log.len(), 2);
    assert_eq!((log[0].status_code, log[0].status.as_str()), (200, "OK"));
    assert_eq!(log[0].guid, *guid);
    assert_eq!(log[1].status_code, 500);
    assert_eq!(log[1].action.as_deref(), Some("created"));

    // Redelivering the failed one sends the same delivery again, with the same GUID.
    let res = client()
        .post(format!(
            "{}/app/hook/deliveries/{}/attempts",
            gh.url(),
            log[1].id
        ))
        .bearer_auth(gh.app_jwt())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let log = gh.wait_for_deliveries(3, Duration::from_secs(5)).await;
    assert_eq!(log.len(), 3);
    assert!(log[2].redelivery);
    assert_eq!(log[2].guid, log[1].guid);
    assert_eq!(log[2].status_code, 200);
    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(seen[2].1, seen[1].1);
    assert_eq!(seen[2].3, seen[1].3);
}
