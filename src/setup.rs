//! First-run setup: registering the GitHub App through GitHub's App Manifest flow.
//!
//! While Folio has no app credentials, `/` serves a page whose button posts the manifest
//! (`deploy/github-app-manifest.json`, with URLs filled from `FOLIO_PUBLIC_URL`) to GitHub.
//! GitHub creates the app and sends the browser back to `/setup/callback` with a one-time
//! `code`, which Folio exchanges for the app id, private key and webhook secret. Those are
//! written to `FOLIO_CREDENTIALS_PATH` (mode 0600) and swapped into the running service.
//!
//! Whoever completes this flow owns the app that Folio will trust, so the page only opens to
//! a loopback visitor or to one who holds the setup token printed by `folio serve`; the
//! callback only accepts a `state` this page handed out, once. After setup the routes close.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use axum::Extension;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use tracing::{info, warn};

use crate::config::{AppCredentials, Secret, StoredCredentials};
use crate::state::{AppState, SetupGate, random_hex};

/// The manifest as committed; the URLs in it are placeholders replaced at runtime.
pub const MANIFEST_TEMPLATE: &str = include_str!("../deploy/github-app-manifest.json");

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "setup is only open from this machine, or with the setup link that `folio serve` printed at startup"
    )]
    Forbidden,
    #[error("setup is finished: this Folio already has its GitHub App credentials")]
    Closed,
    #[error("{0}")]
    BadRequest(String),
    #[error("GitHub did not complete the registration: {0}")]
    GitHub(String),
    #[error("{0}")]
    Internal(String),
}

impl SetupError {
    fn status(&self) -> StatusCode {
        match self {
            SetupError::Forbidden => StatusCode::FORBIDDEN,
            SetupError::Closed => StatusCode::NOT_FOUND,
            SetupError::BadRequest(_) => StatusCode::BAD_REQUEST,
            SetupError::GitHub(_) => StatusCode::BAD_GATEWAY,
            SetupError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for SetupError {
    fn into_response(self) -> Response {
        let body = format!(
            "<h1>Folio setup</h1><p>{}</p><p><a href=\"/\">Back</a></p>",
            escape(&self.to_string())
        );
        page_response(self.status(), "Folio setup", &body)
    }
}

/// Whether a visitor may use the setup page: from loopback, or holding the setup token.
///
/// A request that came through a proxy (it carries `Forwarded` or `X-Forwarded-For`) does not
/// count as loopback even if the proxy runs on this host, since the visitor is elsewhere.
pub fn check_access(
    gate: &SetupGate,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<(), SetupError> {
    if let Some(t) = token
        && gate.token_matches(t)
    {
        return Ok(());
    }
    let proxied = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h));
    match peer {
        Some(addr) if addr.ip().to_canonical().is_loopback() && !proxied => Ok(()),
        _ => Err(SetupError::Forbidden),
    }
}

/// The manifest with its URLs pointing at this service.
pub fn manifest(public_url: &url::Url) -> Result<serde_json::Value, SetupError> {
    let mut m: serde_json::Value = serde_json::from_str(MANIFEST_TEMPLATE)
        .map_err(|e| SetupError::Internal(format!("embedded app manifest: {e}")))?;
    let base = public_url.as_str().trim_end_matches('/');
    let obj = m
        .as_object_mut()
        .ok_or_else(|| SetupError::Internal("embedded app manifest is not an object".into()))?;
    obj.insert("url".into(), base.into());
    obj.insert(
        "redirect_url".into(),
        format!("{base}/setup/callback").into(),
    );
    obj.insert(
        "hook_attributes".into(),
        serde_json::json!({"url": format!("{base}/webhook"), "active": true}),
    );
    Ok(m)
}

/// Where the manifest is posted: the user's own account, or an organization.
pub fn registration_url(
    web_url: &url::Url,
    org: Option<&str>,
    state: &str,
) -> Result<String, SetupError> {
    let base = web_url.as_str().trim_end_matches('/');
    match org {
        None => Ok(format!("{base}/settings/apps/new?state={state}")),
        Some(o) if crate::submission::valid_login(o) => Ok(format!(
            "{base}/organizations/{o}/settings/apps/new?state={state}"
        )),
        Some(_) => Err(SetupError::BadRequest(
            "an organization name has 1 to 39 letters, digits or single hyphens".into(),
        )),
    }
}

#[derive(Debug, Default)]
pub struct PageQuery {
    pub token: Option<String>,
    pub org: Option<String>,
}

impl PageQuery {
    /// Lenient on purpose: the status page shares `/`, and a stray parameter must not break it.
    pub fn parse(query: Option<&str>) -> Self {
        let mut q = PageQuery::default();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "token" => q.token = Some(v.into_owned()),
                "org" => q.org = Some(v.into_owned()),
                _ => {}
            }
        }
        q
    }
}

/// `GET /` while Folio has no credentials.
pub fn page(
    state: &AppState,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    query: &PageQuery,
) -> Result<Response, SetupError> {
    check_access(&state.setup, peer, headers, query.token.as_deref())?;
    let org = query
        .org
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    let manifest = manifest(&state.settings.public_url)?;
    let manifest_json = serde_json::to_string(&manifest)
        .map_err(|e| SetupError::Internal(format!("app manifest: {e}")))?;
    // Checked before a state is minted, so that a mistyped organization costs none.
    registration_url(&state.settings.web_url, org, "")?;
    let st = state
        .setup
        .issue_state()
        .map_err(|e| SetupError::Internal(e.to_string()))?;
    let action = registration_url(&state.settings.web_url, org, &st)?;
    let public = state.settings.public_url.as_str().trim_end_matches('/');
    let owner = match org {
        Some(o) => format!("the organization <strong>{}</strong>", escape(o)),
        None => "your own GitHub account".to_string(),
    };
    // The token is echoed only to a visitor who presented it, so that the organization form
    // keeps working for them.
    let token_field = match query.token.as_deref() {
        Some(t) if state.setup.token_matches(t) => format!(
            "<input type=\"hidden\" name=\"token\" value=\"{}\">",
            escape(t)
        ),
        _ => String::new(),
    };
    let version = crate::model::FOLIO_VERSION;
    let body = format!(
        "<h1>Folio {version}: set up the GitHub App</h1>\
         <p>This Folio has no GitHub App yet. The button below registers one on GitHub from Folio's \
         manifest: permissions <em>issues: write; pull requests, contents, metadata, checks: read</em>, \
         events <em>issues</em> and <em>issue comment</em>, webhooks sent to \
         <code>{webhook}</code>. The app will belong to {owner}.</p>\
         <form id=\"register\" method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"manifest\" value=\"{manifest}\">\
         <button id=\"register-button\" type=\"submit\">Register the GitHub App on GitHub</button>\
         </form>\
         <h2>Register it under an organization instead</h2>\
         <form id=\"organization\" method=\"get\" action=\"/\">{token_field}\
         <label>Organization <input name=\"org\" value=\"{org}\" pattern=\"[A-Za-z0-9-]{{1,39}}\"></label> \
         <button type=\"submit\">Use this organization</button></form>\
         <p>GitHub sends you back here afterwards. Folio then stores the app's key and webhook \
         secret in <code>{path}</code> and starts taking webhooks at once.</p>\
         <p>If <code>{public}</code> is not the address GitHub should call, stop Folio, set \
         <code>FOLIO_PUBLIC_URL</code> and start it again.</p>\
         {PRIVATE_REPO_ADVICE}",
        webhook = escape(&format!("{public}/webhook")),
        action = escape(&action),
        manifest = escape(&manifest_json),
        org = escape(org.unwrap_or("")),
        path = escape(&state.settings.credentials_path.display().to_string()),
        public = escape(public),
    );
    let mut res = page_response(StatusCode::OK, "Folio: setup", &body);
    // The page's URL may hold the setup token; it must not reach GitHub as a Referer.
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {}; frame-ancestors 'none'",
        origin(&state.settings.web_url)
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(res)
}

/// Shown before and after registration: the choice of hiring repository is the operator's, and
/// its visibility decides who can see a candidate's job search.
const PRIVATE_REPO_ADVICE: &str = "<h2 id=\"private-repository\">Use a private hiring repository</h2>\
     <p>In a public repository, the tracking issue and Folio's comment are public, and GitHub \
     adds a \"mentioned this\" reference to every linked public pull request, which can \
     reveal that the candidate is looking for a job. Install Folio on a private repository that \
     only your hiring team can read.</p>";

fn origin(u: &url::Url) -> String {
    u.origin().ascii_serialization()
}

fn page_response(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body>{body}</body></html>",
        escape(title)
    );
    let mut res = (status, Html(html)).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
}

/// What `POST /app-manifests/{code}/conversions` answers (only the fields Folio keeps).
#[derive(Deserialize)]
struct ConversionBody {
    id: u64,
    #[serde(default)]
    slug: Option<String>,
    html_url: String,
    pem: String,
    webhook_secret: Option<String>,
}

/// `GET /setup/callback?code=…&state=…`: GitHub sends the browser here after creating the app.
pub async fn callback(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, SetupError> {
    if state.configured() {
        return Err(SetupError::Closed);
    }
    let presented = q.state.as_deref().unwrap_or("");
    // The state both ties the callback to a page this Folio served and proves that the visitor
    // passed the page's access check, so the callback needs no token of its own.
    if presented.is_empty() || !state.setup.take_state(presented) {
        return Err(SetupError::BadRequest(
            "the setup link is unknown, expired or already used: open the setup page again".into(),
        ));
    }
    let code = q.code.as_deref().unwrap_or("");
    if code.is_empty()
        || code.len() > 256
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(SetupError::BadRequest(
            "GitHub's answer has no usable code".into(),
        ));
    }

    let _one_at_a_time = state.setup.finishing.lock().await;
    if state.configured() {
        return Err(SetupError::Closed);
    }
    let conv = convert(&state, code).await?;
    let Some(webhook_secret) = conv.webhook_secret.filter(|s| !s.is_empty()) else {
        return Err(SetupError::GitHub(
            "the new app has no webhook secret; set one in its settings and configure Folio by hand"
                .into(),
        ));
    };
    jsonwebtoken::EncodingKey::from_rsa_pem(conv.pem.as_bytes()).map_err(|_| {
        SetupError::GitHub("the private key GitHub returned is not an RSA PEM key".into())
    })?;
    let html_url = url::Url::parse(&conv.html_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| SetupError::GitHub("the new app has no valid html_url".into()))?;

    let path = state.settings.credentials_path.clone();
    let creds = StoredCredentials {
        app_id: conv.id,
        pem: conv.pem,
        webhook_secret,
        slug: conv.slug,
    };
    let app_id = creds.app_id;
    let written = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || write_credentials(&path, &creds).map(|()| creds)).await
    };
    let stored = match written {
        Ok(Ok(stored)) => stored,
        Ok(Err(e)) => {
            warn!(error = %format!("{e:#}"), "cannot store the new app credentials");
            return Err(SetupError::Internal(format!(
                "GitHub created app {app_id} ({html_url}), but Folio could not write {}: {e:#}. \
                 Generate a private key in the app's settings and configure Folio by hand \
                 (FOLIO_APP_ID, FOLIO_PRIVATE_KEY_PATH, FOLIO_WEBHOOK_SECRET).",
                path.display()
            )));
        }
        Err(e) => return Err(SetupError::Internal(format!("storage task failed: {e}"))),
    };
    state.set_credentials(
        AppCredentials {
            app_id: stored.app_id,
            private_key: Secret::new(stored.pem),
        },
        Secret::new(stored.webhook_secret),
    );
    info!(app_id = stored.app_id, path = %path.display(), "GitHub App registered; webhooks enabled");

    let install = format!(
        "{}/installations/new",
        html_url.as_str().trim_end_matches('/')
    );
    let body = format!(
        "<h1>Folio is set up</h1>\
         <p>GitHub App {id} is registered and Folio now accepts its webhooks. Its credentials \
         are in <code>{path}</code> (keep that file private and backed up).</p>\
         <p><a id=\"install\" href=\"{install}\">Install the app</a> on your hiring repository, \
         then copy <code>deploy/issue-template/portfolio.yml</code> to \
         <code>.github/ISSUE_TEMPLATE/</code> there. Folio creates its labels in the repositories \
         you select (up to 5 at install; otherwise at each one's first submission).</p>\
         {PRIVATE_REPO_ADVICE}",
        id = stored.app_id,
        path = escape(&path.display().to_string()),
        install = escape(&install),
    );
    Ok(page_response(StatusCode::OK, "Folio: set up", &body))
}

async fn convert(state: &AppState, code: &str) -> Result<ConversionBody, SetupError> {
    let api = state.settings.github_api_url.as_str().trim_end_matches('/');
    let url = format!("{api}/app-manifests/{code}/conversions");
    let client = reqwest::Client::builder()
        .timeout(state.settings.github.request_timeout)
        .user_agent(concat!("folio/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SetupError::Internal(format!("cannot build the HTTP client: {e}")))?;
    // No authentication: the code itself is the credential, and it works once.
    let res = client
        .post(&url)
        .header(header::ACCEPT, "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28")
        .send()
        .await
        .map_err(|e| SetupError::GitHub(format!("cannot reach {api}: {e}")))?;
    let status = res.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(SetupError::GitHub(
            "the code is unknown or expired (codes last one hour and work once); start again"
                .into(),
        ));
    }
    if !status.is_success() {
        return Err(SetupError::GitHub(format!(
            "the conversion answered {status}"
        )));
    }
    res.json::<ConversionBody>()
        .await
        .map_err(|e| SetupError::GitHub(format!("unexpected conversion answer: {e}")))
}

/// Writes the credentials where `Settings::load` will find them next time: a private temporary
/// file in the same directory, then a rename, so a crash never leaves a half-written file.
pub fn write_credentials(path: &Path, creds: &StoredCredentials) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .context("FOLIO_CREDENTIALS_PATH has no file name")?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{name}.{}.tmp", &random_hex()?[..12]));
    let json = serde_json::to_vec_pretty(creds).context("encoding the credentials")?;
    let result = (|| -> anyhow::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut f = options
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(&json)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable; not every filesystem lets a directory be synced.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// For `server::index`: the peer address when the server was started with connect info.
pub fn peer(info: Option<Extension<ConnectInfo<SocketAddr>>>) -> Option<SocketAddr> {
    info.map(|Extension(ConnectInfo(addr))| addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn access_is_loopback_or_token() {
        let gate = SetupGate::new().unwrap();
        let none = HeaderMap::new();
        let token = gate.token().expose().to_string();
        assert!(check_access(&gate, addr("127.0.0.1:5000"), &none, None).is_ok());
        assert!(check_access(&gate, addr("127.8.9.10:5000"), &none, None).is_ok());
        assert!(check_access(&gate, addr("[::1]:5000"), &none, None).is_ok());
        assert!(check_access(&gate, addr("[::ffff:127.0.0.1]:5000"), &none, None).is_ok());
        for stranger in ["10.0.0.5:5000", "203.0.113.1:80", "[2001:db8::1]:443"] {
            assert!(matches!(
                check_access(&gate, addr(stranger), &none, None),
                Err(SetupError::Forbidden)
            ));
            assert!(check_access(&gate, addr(stranger), &none, Some("nope")).is_err());
            assert!(check_access(&gate, addr(stranger), &none, Some(&token[..63])).is_err());
            assert!(check_access(&gate, addr(stranger), &none, Some(&token)).is_ok());
        }
        // No peer address known: closed unless the token is given.
        assert!(check_access(&gate, None, &none, None).is_err());
        assert!(check_access(&gate, None, &none, Some(&token)).is_ok());
        let mut proxied = HeaderMap::new();
        proxied.insert("forwarded", HeaderValue::from_static("for=198.51.100.2"));
        assert!(check_access(&gate, addr("127.0.0.1:5000"), &proxied, None).is_err());
        assert!(check_access(&gate, addr("127.0.0.1:5000"), &proxied, Some(&token)).is_ok());
    }

    #[test]
    fn tokens_and_states_are_random_and_states_work_once() {
        let a = SetupGate::new().unwrap();
        let b = SetupGate::new().unwrap();
        assert_ne!(a.token().expose(), b.token().expose());
        assert_eq!(a.token().expose().len(), 64);
        let s1 = a.issue_state().unwrap();
        let s2 = a.issue_state().unwrap();
        assert_ne!(s1, s2);
        assert!(
            !b.take_state(&s1),
            "a state belongs to the gate that issued it"
        );
        assert!(!a.take_state(""));
        assert!(a.take_state(&s2));
        assert!(!a.take_state(&s2));
        assert!(a.take_state(&s1));
    }

    #[test]
    fn pending_states_are_capped_oldest_first() {
        let gate = SetupGate::new().unwrap();
        let first = gate.issue_state().unwrap();
        let rest: Vec<String> = (0..crate::state::MAX_PENDING_STATES)
            .map(|_| gate.issue_state().unwrap())
            .collect();
        assert!(!gate.take_state(&first));
        assert!(rest.iter().all(|s| gate.take_state(s)));
    }

    #[test]
    fn manifest_urls_follow_the_public_url() {
        let m = manifest(&url::Url::parse("https://ci.example.com/folio/").unwrap()).unwrap();
        assert_eq!(m["url"], "https://ci.example.com/folio");
        assert_eq!(
            m["hook_attributes"]["url"],
            "https://ci.example.com/folio/webhook"
        );
        assert_eq!(
            m["redirect_url"],
            "https://ci.example.com/folio/setup/callback"
        );
        // Everything else comes from the committed file.
        let committed: serde_json::Value = serde_json::from_str(MANIFEST_TEMPLATE).unwrap();
        assert_eq!(m["default_permissions"], committed["default_permissions"]);
        assert_eq!(m["default_events"], committed["default_events"]);
        assert_eq!(m["description"], committed["description"]);
    }

    #[test]
    fn registration_targets_account_or_organization() {
        let web = url::Url::parse("https://ghe.example.com").unwrap();
        assert_eq!(
            registration_url(&web, None, "abc").unwrap(),
            "https://ghe.example.com/settings/apps/new?state=abc"
        );
        assert_eq!(
            registration_url(&web, Some("acme-2"), "abc").unwrap(),
            "https://ghe.example.com/organizations/acme-2/settings/apps/new?state=abc"
        );
        for bad in [
            "",
            "-acme",
            "acme-",
            "a--b",
            "acme/x",
            "a b",
            &"x".repeat(40),
        ] {
            assert!(registration_url(&web, Some(bad), "abc").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn credentials_file_is_private_and_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.json");
        std::fs::write(&path, "old").unwrap();
        let creds = StoredCredentials {
            app_id: 7,
            pem: "PEM".into(),
            webhook_secret: "s3cret".into(),
            slug: Some("folio".into()),
        };
        write_credentials(&path, &creds).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let back: StoredCredentials =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!((back.app_id, back.pem.as_str()), (7, "PEM"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(!format!("{back:?}").contains("s3cret"));
        assert!(write_credentials(&dir.path().join("missing/creds.json"), &creds).is_err());
    }

    #[test]
    fn escape_covers_attribute_breakers() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
