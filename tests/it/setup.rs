//! First-run setup through the GitHub App Manifest flow, against the fake GitHub: the page, the
//! `state` check, the code conversion, the credentials file, and webhooks served at once.

use crate::harness;
use crate::support;

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use folio::config::Settings;
use reqwest::StatusCode;
use serde_json::Value;
use support::fake_github::FakeGitHub;
use support::webhook::{fixture_payload, sign};
use tower::ServiceExt as _;

const PUBLIC: &str = "https://folio.example.org";
const WEB: &str = "https://github.example.org";

struct Setup {
    app: harness::TestApp,
    gh: FakeGitHub,
    credentials: std::path::PathBuf,
}

/// A Folio with no app credentials and no webhook secret, talking to a fake GitHub.
async fn unconfigured() -> Setup {
    let gh = FakeGitHub::start().await;
    let (mut env, dir) = harness::sqlite_env();
    env.remove("FOLIO_WEBHOOK_SECRET");
    let credentials = dir.path().join("secrets").join("folio-credentials.json");
    std::fs::create_dir_all(credentials.parent().unwrap()).unwrap();
    env.insert(
        "FOLIO_CREDENTIALS_PATH".into(),
        credentials.display().to_string(),
    );
    env.insert("FOLIO_GITHUB_API_URL".into(), gh.url());
    env.insert("FOLIO_WEB_URL".into(), WEB.into());
    env.insert("FOLIO_PUBLIC_URL".into(), PUBLIC.into());
    let app = harness::spawn_with(env, Some(dir), None).await;
    Setup {
        app,
        gh,
        credentials,
    }
}

/// Undoes the page's HTML escaping of attribute values.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of `attr` on the first tag that contains `marker` (a fragment like `name="x"`).
fn attribute(html: &str, marker: &str, attr: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let key = format!("{attr}=\"");
    let v = tag.find(&key)? + key.len();
    let len = tag[v..].find('"')?;
    Some(unescape(&tag[v..v + len]))
}

struct Page {
    action: String,
    state: String,
    manifest: Value,
}

fn parse_page(html: &str) -> Page {
    let action = attribute(html, "id=\"register\"", "action").expect("register form action");
    assert_eq!(
        attribute(html, "id=\"register\"", "method").as_deref(),
        Some("post")
    );
    let manifest = attribute(html, "name=\"manifest\"", "value").expect("manifest field");
    let state = action
        .split_once("?state=")
        .map(|(_, s)| s.to_string())
        .expect("state in the action");
    Page {
        action,
        state,
        manifest: serde_json::from_str(&manifest).expect("manifest is JSON"),
    }
}

async fn get(app: &harness::TestApp, path: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.url))
        .send()
        .await
        .unwrap()
}

async fn page(app: &harness::TestApp) -> Page {
    let res = get(app, "/").await;
    assert_eq!(res.status(), StatusCode::OK);
    parse_page(&res.text().await.unwrap())
}

async fn ping(app: &harness::TestApp, secret: &str) -> reqwest::Response {
    let body = fixture_payload("ping", "with-app_id.payload.json");
    app.http
        .post(format!("{}/webhook", app.url))
        .header("X-GitHub-Event", "ping")
        .header("X-GitHub-Delivery", "setup-ping-1")
        .header("X-Hub-Signature-256", sign(secret, &body))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn setup_page_posts_the_filled_in_manifest_to_github() {
    let s = unconfigured().await;
    let res = get(&s.app, "/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains(&format!("form-action 'self' {WEB}")), "{csp}");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("<button id=\"register-button\" type=\"submit\">"),
        "{html}"
    );
    assert!(
        html.contains("id=\"private-repository\"") && html.contains("mentioned this"),
        "the setup page advises a private hiring repository: {html}"
    );
    let p = parse_page(&html);
    assert!(
        p.action
            .starts_with(&format!("{WEB}/settings/apps/new?state=")),
        "{}",
        p.action
    );
    assert_eq!(p.state.len(), 64);
    let m = &p.manifest;
    assert_eq!(m["url"], PUBLIC);
    assert_eq!(m["hook_attributes"]["url"], format!("{PUBLIC}/webhook"));
    assert_eq!(m["hook_attributes"]["active"], true);
    assert_eq!(m["redirect_url"], format!("{PUBLIC}/setup/callback"));
    assert_eq!(m["name"], "Folio");
    assert_eq!(
        m["default_events"],
        serde_json::json!(["issues", "issue_comment"])
    );
    assert_eq!(m["default_permissions"]["issues"], "write");
    assert_eq!(m["public"], false);

    // Each view mints its own state.
    assert_ne!(page(&s.app).await.state, p.state);

    let res = get(&s.app, "/?org=acme-hiring").await;
    assert_eq!(res.status(), StatusCode::OK);
    let org = parse_page(&res.text().await.unwrap());
    assert!(
        org.action.starts_with(&format!(
            "{WEB}/organizations/acme-hiring/settings/apps/new?state="
        )),
        "{}",
        org.action
    );
    let res = get(&s.app, "/?org=acme%2F..%2Fx").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    s.app.stop().await;
}

#[tokio::test]
async fn manifest_flow_stores_the_credentials_and_opens_webhooks() {
    let s = unconfigured().await;
    let app = &s.app;
    // Not set up: webhooks are refused, and so is readiness.
    assert_eq!(
        ping(app, &s.gh.webhook_secret()).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        get(app, "/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    let p = page(app).await;
    // A state this Folio never issued, or none, is refused before GitHub is called.
    let code = s.gh.manifest_code();
    let bad = get(
        app,
        &format!("/setup/callback?code={code}&state={}", "0".repeat(64)),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let none = get(app, &format!("/setup/callback?code={code}")).await;
    assert_eq!(none.status(), StatusCode::BAD_REQUEST);
    assert!(!s.credentials.exists());

    let res = get(
        app,
        &format!("/setup/callback?code={code}&state={}", p.state),
    )
    .await;
    let status = res.status();
    let html = res.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{html}");
    let install = attribute(&html, "id=\"install\"", "href").expect("install link");
    assert!(
        html.contains("id=\"private-repository\""),
        "the advice is repeated where the operator picks the repository: {html}"
    );
    assert_eq!(
        install,
        format!(
            "https://github.com/apps/{}/installations/new",
            s.gh.app_slug()
        )
    );

    // The file: private, complete, and readable by the next start.
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(&s.credentials).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(&s.credentials).unwrap()).unwrap();
    assert_eq!(stored["app_id"], s.gh.app_id());
    assert_eq!(stored["pem"], s.gh.private_key_pem());
    assert_eq!(stored["webhook_secret"], s.gh.webhook_secret());
    let leftovers: Vec<_> = std::fs::read_dir(s.credentials.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "temporary files left: {leftovers:?}");
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert(
        "FOLIO_CREDENTIALS_PATH".into(),
        s.credentials.display().to_string(),
    );
    let reloaded = Settings::load_from(None, &env).unwrap();
    assert_eq!(reloaded.app.map(|a| a.app_id), Some(s.gh.app_id()));
    assert_eq!(reloaded.webhook_secrets.len(), 1);

    // Without a restart: a delivery signed with the new secret is taken, a wrong one is not.
    let ok = ping(app, &s.gh.webhook_secret()).await;
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(
        ping(app, harness::SECRET).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(app, "/readyz").await.status(), StatusCode::OK);

    // Setup is closed: the callback is gone and `/` is the status page.
    let again = get(
        app,
        &format!(
            "/setup/callback?code={}&state={}",
            s.gh.manifest_code(),
            p.state
        ),
    )
    .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let status_page = get(app, "/").await.text().await.unwrap();
    assert!(status_page.contains("installations"), "{status_page}");
    assert!(!status_page.contains("name=\"manifest\""));
    s.app.stop().await;
}

#[tokio::test]
async fn a_state_works_once_even_when_the_exchange_fails() {
    let s = unconfigured().await;
    let p = page(&s.app).await;
    // GitHub refuses an unknown code; the state is spent all the same.
    let res = get(
        &s.app,
        &format!("/setup/callback?code=nosuchcode&state={}", p.state),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    let code = s.gh.manifest_code();
    let res = get(
        &s.app,
        &format!("/setup/callback?code={code}&state={}", p.state),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(!s.credentials.exists());
    // A fresh state from the page still works.
    let p2 = page(&s.app).await;
    let res = get(
        &s.app,
        &format!("/setup/callback?code={code}&state={}", p2.state),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(s.credentials.exists());
    s.app.stop().await;
}

/// The router as the server runs it, with a chosen peer address.
async fn get_from(s: &Setup, peer: &str, uri: &str) -> StatusCode {
    let state = s.app.running.as_ref().unwrap().state.clone();
    let addr: SocketAddr = peer.parse().unwrap();
    let req = axum::http::Request::builder()
        .uri(uri)
        .extension(ConnectInfo(addr))
        .body(axum::body::Body::empty())
        .unwrap();
    folio::server::router(state)
        .oneshot(req)
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_remote_visitor_needs_the_setup_token() {
    let s = unconfigured().await;
    let token = s
        .app
        .running
        .as_ref()
        .unwrap()
        .state
        .setup
        .token()
        .expose()
        .to_string();
    assert_eq!(
        get_from(&s, "203.0.113.7:4000", "/").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get_from(
            &s,
            "203.0.113.7:4000",
            &format!("/?token={}", "f".repeat(64))
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get_from(&s, "203.0.113.7:4000", &format!("/?token={token}")).await,
        StatusCode::OK
    );
    assert_eq!(get_from(&s, "[::1]:4000", "/").await, StatusCode::OK);
    assert_eq!(
        get_from(&s, "[::ffff:127.0.0.1]:4000", "/").await,
        StatusCode::OK
    );

    // Over a real connection from loopback, but relayed by a proxy: the visitor is elsewhere.
    let res = s
        .app
        .http
        .get(format!("{}/", s.app.url))
        .header("X-Forwarded-For", "198.51.100.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = s
        .app
        .http
        .get(format!("{}/?token={token}", s.app.url))
        .header("X-Forwarded-For", "198.51.100.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The token is carried in the organization form so that the visitor keeps access.
    let html = res.text().await.unwrap();
    assert_eq!(
        attribute(&html, "name=\"token\"", "value").as_deref(),
        Some(token.as_str())
    );
    s.app.stop().await;
}

#[tokio::test]
async fn two_tabs_finishing_at_once_register_one_app() {
    let s = unconfigured().await;
    let (p1, p2) = (page(&s.app).await, page(&s.app).await);
    let (c1, c2) = (s.gh.manifest_code(), s.gh.manifest_code());
    let u1 = format!("/setup/callback?code={c1}&state={}", p1.state);
    let u2 = format!("/setup/callback?code={c2}&state={}", p2.state);
    let (r1, r2) = tokio::join!(get(&s.app, &u1), get(&s.app, &u2));
    let mut statuses = [r1.status(), r2.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::NOT_FOUND]);
    s.app.stop().await;
}
