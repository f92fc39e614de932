//! First-run setup through the GitHub App Manifest flow, against the fake GitHub: the page, the
//! `state` check, the code conversion, the credentials file, and webhooks served at once.

use crate::harness;
use crate::support;

use std::collections::HashMap;
use std::path::PathBuf;

use folio::config::Settings;
use reqwest::StatusCode;
use serde_json::Value;
use support::fake_github::FakeGitHub;
use support::webhook::{fixture_payload, sign};

const PUBLIC: &str = "https://folio.example.org";
const PUBLIC_HOST: &str = "folio.example.org";
const WEB: &str = "https://github.example.org";

struct Setup {
    app: harness::TestApp,
    gh: FakeGitHub,
    credentials: PathBuf,
    /// Holds the credentials (and the setup token beside them) across restarts of the app.
    _secrets: tempfile::TempDir,
}

impl Setup {
    /// Where `folio serve` keeps the generated setup token: beside the credentials.
    fn token_file(&self) -> PathBuf {
        self.credentials
            .with_file_name("folio-credentials.setup-token")
    }

    /// The token, read as an operator would: from the file.
    fn token(&self) -> String {
        std::fs::read_to_string(self.token_file())
            .expect("the setup token file")
            .trim()
            .to_string()
    }
}

/// A Folio with no app credentials and no webhook secret, talking to a fake GitHub; `extra`
/// adds to its environment.
async fn unconfigured_with(extra: &[(&str, &str)]) -> Setup {
    let gh = FakeGitHub::start().await;
    let secrets = tempfile::tempdir().unwrap();
    let credentials = secrets.path().join("folio-credentials.json");
    let app = start(&gh, &credentials, extra).await;
    Setup {
        app,
        gh,
        credentials,
        _secrets: secrets,
    }
}

async fn unconfigured() -> Setup {
    unconfigured_with(&[]).await
}

async fn start(
    gh: &FakeGitHub,
    credentials: &std::path::Path,
    extra: &[(&str, &str)],
) -> harness::TestApp {
    let (mut env, dir) = harness::sqlite_env();
    env.remove("FOLIO_WEBHOOK_SECRET");
    env.insert(
        "FOLIO_CREDENTIALS_PATH".into(),
        credentials.display().to_string(),
    );
    env.insert("FOLIO_GITHUB_API_URL".into(), gh.url());
    env.insert("FOLIO_WEB_URL".into(), WEB.into());
    env.insert("FOLIO_PUBLIC_URL".into(), PUBLIC.into());
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    harness::spawn_with(env, Some(dir), None).await
}

/// `folio setup-token` as an operator runs it, with the service's settings.
fn setup_token_cli(credentials: &std::path::Path, extra: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_folio"))
        .arg("setup-token")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FOLIO_CREDENTIALS_PATH", credentials)
        .envs(extra.iter().copied())
        .output()
        .expect("run folio setup-token")
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

/// `POST /` with the setup form's fields.
async fn post_form(app: &harness::TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    app.http
        .post(format!("{}/", app.url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The registration page, reached with the setup token.
async fn page(s: &Setup) -> Page {
    let res = post_form(&s.app, &[("token", &s.token())]).await;
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
    // First the form that asks for the token: it hands out no state and no manifest.
    let res = get(&s.app, "/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("form-action 'self';"), "{csp}");
    let html = res.text().await.unwrap();
    assert_eq!(
        attribute(&html, "id=\"token\"", "method").as_deref(),
        Some("post")
    );
    assert!(html.contains("folio setup-token"), "{html}");
    assert!(!html.contains("name=\"manifest\""), "{html}");
    assert!(!html.contains(&s.token()), "the page never shows the token");
    assert!(html.contains("id=\"private-repository\""), "{html}");

    let res = post_form(&s.app, &[("token", &s.token())]).await;
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
    // The organization form posts the token back in its body, never in a URL.
    assert_eq!(
        attribute(&html, "id=\"organization\"", "method").as_deref(),
        Some("post")
    );
    assert_eq!(attribute(&html, "name=\"token\"", "value"), Some(s.token()));

    // Each view mints its own state.
    assert_ne!(page(&s).await.state, p.state);

    let res = post_form(&s.app, &[("token", &s.token()), ("org", "acme-hiring")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let org = parse_page(&res.text().await.unwrap());
    assert!(
        org.action.starts_with(&format!(
            "{WEB}/organizations/acme-hiring/settings/apps/new?state="
        )),
        "{}",
        org.action
    );
    let res = post_form(&s.app, &[("token", &s.token()), ("org", "acme/../x")]).await;
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

    let token = s.token();
    let p = page(&s).await;
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
    // The token is deleted and opens nothing any more; the status page is on the admin
    // listener only.
    assert!(!s.token_file().exists());
    assert_eq!(
        post_form(app, &[("token", &token)]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(app, "/").await.status(), StatusCode::NOT_FOUND);
    let status_page = app
        .http
        .get(format!("{}/", app.admin_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status_page.contains("installations"), "{status_page}");
    assert!(
        status_page.contains("GitHub App: configured"),
        "{status_page}"
    );
    assert!(!status_page.contains("name=\"manifest\""));
    let cli = setup_token_cli(&s.credentials, &[]);
    assert_eq!(cli.status.code(), Some(2));
    let err = String::from_utf8_lossy(&cli.stderr);
    assert!(err.contains("already set up"), "{err}");
    assert!(cli.stdout.is_empty());
    s.app.stop().await;
}

#[tokio::test]
async fn a_state_works_once_even_when_the_exchange_fails() {
    let s = unconfigured().await;
    let p = page(&s).await;
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
    let p2 = page(&s).await;
    let res = get(
        &s.app,
        &format!("/setup/callback?code={code}&state={}", p2.state),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(s.credentials.exists());
    s.app.stop().await;
}

/// A request with the `Host` header a browser would send for `host`.
async fn with_host(
    s: &Setup,
    method: reqwest::Method,
    path: &str,
    host: &str,
    form: Option<&[(&str, &str)]>,
) -> StatusCode {
    let mut req = s
        .app
        .http
        .request(method, format!("{}{path}", s.app.url))
        .header("Host", host);
    if let Some(fields) = form {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        req = req
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
    }
    req.send().await.unwrap().status()
}

#[tokio::test]
async fn the_setup_token_is_required_from_everywhere_and_only_in_a_posted_form() {
    let s = unconfigured().await;
    let token = s.token();
    assert_eq!(token.len(), 64);
    let wrong = "f".repeat(64);
    // From loopback, with no proxy header at all (as behind a bare `proxy_pass`), the token
    // is still needed.
    for fields in [
        vec![],
        vec![("token", "")],
        vec![("token", wrong.as_str())],
        vec![("token", &token[..63])],
    ] {
        let res = post_form(&s.app, &fields).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{fields:?}");
        let html = res.text().await.unwrap();
        assert!(!html.contains("name=\"manifest\""), "{html}");
        assert!(html.contains("folio setup-token"), "{html}");
    }
    // In a URL the token counts for nothing: the page only asks for it.
    let res = get(&s.app, &format!("/?token={token}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(!html.contains("name=\"manifest\""), "{html}");
    assert!(!html.contains(&token));
    // Posted in the form, it opens the registration page.
    let res = post_form(&s.app, &[("token", &token)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("name=\"manifest\""));
    s.app.stop().await;
}

#[tokio::test]
async fn setup_answers_only_the_public_host_or_a_loopback_name() {
    let s = unconfigured().await;
    let token = s.token();
    let form: &[(&str, &str)] = &[("token", &token)];
    use reqwest::Method;
    for host in [PUBLIC_HOST, "localhost:3000", "127.0.0.1", "[::1]:3000"] {
        assert_eq!(
            with_host(&s, Method::GET, "/", host, None).await,
            StatusCode::OK,
            "{host}"
        );
        assert_eq!(
            with_host(&s, Method::POST, "/", host, Some(form)).await,
            StatusCode::OK,
            "{host}"
        );
    }
    // A page on another site whose name was rebound to this machine's address.
    for host in ["attacker.example", "attacker.example:3000", "10.0.0.5"] {
        assert_eq!(
            with_host(&s, Method::GET, "/", host, None).await,
            StatusCode::MISDIRECTED_REQUEST,
            "{host}"
        );
        assert_eq!(
            with_host(&s, Method::POST, "/", host, Some(form)).await,
            StatusCode::MISDIRECTED_REQUEST,
            "{host}"
        );
    }
    // The callback too, before its state is looked at (so the state stays good).
    let p = page(&s).await;
    let callback = format!(
        "/setup/callback?code={}&state={}",
        s.gh.manifest_code(),
        p.state
    );
    assert_eq!(
        with_host(&s, Method::GET, &callback, "attacker.example", None).await,
        StatusCode::MISDIRECTED_REQUEST
    );
    assert!(!s.credentials.exists());
    assert_eq!(
        with_host(&s, Method::GET, &callback, PUBLIC_HOST, None).await,
        StatusCode::OK
    );
    assert!(s.credentials.exists());
    s.app.stop().await;
}

#[tokio::test]
async fn the_generated_token_survives_a_restart_and_setup_token_prints_it() {
    let gh = FakeGitHub::start().await;
    let secrets = tempfile::tempdir().unwrap();
    let credentials = secrets.path().join("folio-credentials.json");
    // Nothing has started yet: no token to print, said in one line, exit code 2.
    let none = setup_token_cli(&credentials, &[]);
    assert_eq!(none.status.code(), Some(2));
    let err = String::from_utf8_lossy(&none.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("no setup token yet"), "{err}");

    let app = start(&gh, &credentials, &[]).await;
    let s = Setup {
        app,
        gh,
        credentials,
        _secrets: secrets,
    };
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(s.token_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let printed = setup_token_cli(&s.credentials, &[]);
    assert_eq!(printed.status.code(), Some(0));
    let token = String::from_utf8(printed.stdout).unwrap();
    assert_eq!(token.trim(), s.token());

    // A restart keeps the token that the operator may already have copied.
    let Setup {
        app,
        gh,
        credentials,
        _secrets,
    } = s;
    app.stop().await;
    let app = start(&gh, &credentials, &[]).await;
    let s = Setup {
        app,
        gh,
        credentials,
        _secrets,
    };
    assert_eq!(s.token(), token.trim());
    assert_eq!(
        post_form(&s.app, &[("token", token.trim())]).await.status(),
        StatusCode::OK
    );
    s.app.stop().await;
}

#[tokio::test]
async fn an_operator_chosen_token_is_used_as_it_is() {
    let chosen = "an-operator-chosen-setup-token";
    let s = unconfigured_with(&[("FOLIO_SETUP_TOKEN", chosen)]).await;
    assert!(!s.token_file().exists(), "no file when the operator chose");
    assert_eq!(
        post_form(&s.app, &[("token", chosen)]).await.status(),
        StatusCode::OK
    );
    let printed = setup_token_cli(&s.credentials, &[("FOLIO_SETUP_TOKEN", chosen)]);
    assert_eq!(printed.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), chosen);
    s.app.stop().await;
}

#[tokio::test]
async fn two_tabs_finishing_at_once_register_one_app() {
    let s = unconfigured().await;
    let (p1, p2) = (page(&s).await, page(&s).await);
    let (c1, c2) = (s.gh.manifest_code(), s.gh.manifest_code());
    let u1 = format!("/setup/callback?code={c1}&state={}", p1.state);
    let u2 = format!("/setup/callback?code={c2}&state={}", p2.state);
    let (r1, r2) = tokio::join!(get(&s.app, &u1), get(&s.app, &u2));
    let mut statuses = [r1.status(), r2.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::NOT_FOUND]);
    s.app.stop().await;
}
