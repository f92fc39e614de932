//! First-run setup: registering the GitHub App through GitHub's App Manifest flow.
//!
//! While Folio has no app credentials, `/` asks for the one-time setup token (`setup_token`);
//! a POST with the right token answers a page whose button posts the manifest
//! (`deploy/github-app-manifest.json`, with URLs filled from `FOLIO_PUBLIC_URL`) to GitHub.
//! GitHub creates the app and sends the browser back to `/setup/callback` with a one-time
//! `code`, which Folio exchanges for the app id, private key and webhook secret. Those are
//! written to `FOLIO_CREDENTIALS_PATH` (mode 0600) and swapped into the running service.
//!
//! Whoever completes this flow owns the app that Folio will trust. Where the visitor connects
//! from proves nothing (behind a plain reverse proxy everyone arrives from loopback), so the
//! token is always required. It travels only in a POSTed form, never in a URL, where it would
//! reach browser history, proxy logs and `Referer` headers. The pages answer only a `Host` that
//! names this service, so that a page on another site cannot reach them through DNS
//! rebinding. The callback accepts only a `state` that the token-checked page handed out, once.
//! After setup the routes close and the token is deleted.

use std::sync::Arc;

use anyhow::Context as _;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use tracing::{info, warn};

use crate::config::{AppCredentials, Secret, StoredCredentials};
use crate::github::GhError;
use crate::github::types::ManifestConversion;
use crate::private_file::{self, IfExists};
use crate::state::AppState;

/// The manifest as committed; the URLs in it are placeholders replaced at runtime.
pub const MANIFEST_TEMPLATE: &str = include_str!("../deploy/github-app-manifest.json");

/// The setup form is two short fields; anything longer is not from it.
pub(crate) const MAX_FORM_BYTES: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "the setup token is missing or wrong: run `folio setup-token` where Folio runs to print it"
    )]
    Forbidden,
    #[error(
        "this page answers only at the address in FOLIO_PUBLIC_URL, or at localhost, 127.0.0.1 or [::1]"
    )]
    MisdirectedHost,
    #[error("the request has no valid Host header")]
    NoHost,
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
            SetupError::MisdirectedHost => StatusCode::MISDIRECTED_REQUEST,
            SetupError::NoHost => StatusCode::BAD_REQUEST,
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

/// Host names that always reach the machine itself; an operator may use them through an SSH
/// tunnel or `kubectl port-forward`.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// Whether the request's `Host` is `FOLIO_PUBLIC_URL`'s host or a loopback name (any port).
///
/// A browser sends the name it resolved, so a page on `attacker.example` whose name was
/// rebound to this machine's address still says `Host: attacker.example` and is refused.
pub fn check_host(public_url: &url::Url, headers: &HeaderMap) -> Result<(), SetupError> {
    let raw = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or(SetupError::NoHost)?;
    let host = host_name(raw).ok_or(SetupError::NoHost)?;
    let public = public_url
        .host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase());
    if public.as_deref() == Some(host.as_str()) || LOOPBACK_HOSTS.contains(&host.as_str()) {
        Ok(())
    } else {
        Err(SetupError::MisdirectedHost)
    }
}

/// The host part of a `Host` header, lower-cased, without its port or a trailing dot; IPv6
/// addresses keep their brackets. `None` for anything that is not a bare host[:port].
fn host_name(raw: &str) -> Option<String> {
    let authority: axum::http::uri::Authority = raw.trim().parse().ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
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

/// The fields of the setup form (`POST /`).
#[derive(Debug, Default)]
pub struct SetupForm {
    pub token: Option<String>,
    pub org: Option<String>,
}

impl SetupForm {
    /// Lenient on purpose: an extra field from a browser extension must not break setup.
    pub fn parse(body: &[u8]) -> Self {
        let mut f = SetupForm::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            match k.as_ref() {
                "token" => f.token = Some(v.into_owned()),
                "org" => f.org = Some(v.into_owned()),
                _ => {}
            }
        }
        f
    }
}

/// `GET /` on the public listener: the form that asks for the setup token. It hands out
/// nothing (no `state`), so it needs no token itself.
pub async fn entry(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match token_page(&state, &headers) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn token_page(state: &AppState, headers: &HeaderMap) -> Result<Response, SetupError> {
    if state.configured() {
        return Err(SetupError::Closed);
    }
    check_host(&state.settings.public_url, headers)?;
    let version = crate::model::FOLIO_VERSION;
    let body = format!(
        "<h1>Folio {version}: set up the GitHub App</h1>\
         <p>This Folio has no GitHub App yet. Registering one takes the one-time setup token, so \
         that nobody else can register an app of their own on this Folio. Print it where Folio \
         runs: <code>folio setup-token</code> (in a container, <code>docker exec CONTAINER folio \
         setup-token</code> or <code>kubectl exec POD -- folio setup-token</code>). It is \
         <code>FOLIO_SETUP_TOKEN</code> if you set one, else Folio keeps it in a private file \
         beside its credentials file until setup is done.</p>\
         <form id=\"token\" method=\"post\" action=\"/\">\
         <p><label>Setup token <input name=\"token\" type=\"password\" autocomplete=\"off\" required></label></p>\
         <p><label>Organization that will own the app (leave empty for your own account) \
         <input name=\"org\" pattern=\"[A-Za-z0-9-]{{1,39}}\"></label></p>\
         <button id=\"token-button\" type=\"submit\">Continue</button></form>\
         {PRIVATE_REPO_ADVICE}"
    );
    let mut res = page_response(StatusCode::OK, "Folio: setup", &body);
    set_csp(&mut res, "'self'");
    Ok(res)
}

/// `POST /` on the public listener: with the setup token, the page that registers the app.
pub async fn register(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match registration_page(&state, &headers, &SetupForm::parse(&body)) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The registration page for a visitor who presented the setup token.
pub fn registration_page(
    state: &AppState,
    headers: &HeaderMap,
    form: &SetupForm,
) -> Result<Response, SetupError> {
    if state.configured() {
        return Err(SetupError::Closed);
    }
    check_host(&state.settings.public_url, headers)?;
    let token = form.token.as_deref().unwrap_or("");
    if !state.setup.token_matches(token) {
        return Err(SetupError::Forbidden);
    }
    let org = form.org.as_deref().map(str::trim).filter(|o| !o.is_empty());
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
    let version = crate::model::FOLIO_VERSION;
    // The token goes back in the organization form's hidden field (a POST body, like the one
    // it came in), so that changing the organization needs no second paste.
    let body = format!(
        "<h1>Folio {version}: set up the GitHub App</h1>\
         <p>The button below registers a GitHub App from Folio's \
         manifest: permissions <em>issues: write; pull requests, contents, metadata, checks: read</em>, \
         events <em>issues</em> and <em>issue comment</em>, webhooks sent to \
         <code>{webhook}</code>. The app will belong to {owner}.</p>\
         <form id=\"register\" method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"manifest\" value=\"{manifest}\">\
         <button id=\"register-button\" type=\"submit\">Register the GitHub App on GitHub</button>\
         </form>\
         <h2>Register it under an organization instead</h2>\
         <form id=\"organization\" method=\"post\" action=\"/\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
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
        token = escape(token),
        org = escape(org.unwrap_or("")),
        path = escape(&state.settings.credentials_path.display().to_string()),
        public = escape(public),
    );
    let mut res = page_response(StatusCode::OK, "Folio: setup", &body);
    set_csp(
        &mut res,
        &format!("'self' {}", origin(&state.settings.web_url)),
    );
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

/// Forms may post only where the page says; nothing loads from elsewhere, nothing frames it.
fn set_csp(res: &mut Response, form_action: &str) {
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; frame-ancestors 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
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

/// `GET /setup/callback?code=…&state=…`: GitHub sends the browser here after creating the app.
pub async fn callback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, SetupError> {
    if state.configured() {
        return Err(SetupError::Closed);
    }
    check_host(&state.settings.public_url, &headers)?;
    let presented = q.state.as_deref().unwrap_or("");
    // The state both ties the callback to a page this Folio served and proves that the visitor
    // presented the setup token there, so the callback needs no token of its own.
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
        tokio::task::spawn_blocking(move || {
            write_credentials(&path, &creds)?;
            // Setup is over: the token must not open anything again, even after a restart
            // that loses the credentials file.
            let removed = crate::setup_token::remove(&path);
            Ok::<_, anyhow::Error>((creds, removed))
        })
        .await
    };
    let stored = match written {
        Ok(Ok((stored, removed))) => {
            if let Err(e) = removed {
                warn!(error = %format!("{e:#}"), "cannot delete the setup token file; delete it by hand");
            }
            stored
        }
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
    state.setup.close();
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

/// Exchanges the code for the new App's credentials, through the one GitHub client factory.
async fn convert(state: &AppState, code: &str) -> Result<ManifestConversion, SetupError> {
    let api = state.settings.github_api_url.as_str().trim_end_matches('/');
    // No credentials: the code itself is the credential, and it works once.
    let gh = crate::github::client(&state.settings, None, None)
        .map_err(|e| SetupError::Internal(format!("cannot build the GitHub client: {e}")))?;
    gh.convert_manifest(code).await.map_err(|e| match e {
        GhError::NotFound(_) => SetupError::GitHub(
            "the code is unknown or expired (codes last one hour and work once); start again"
                .into(),
        ),
        GhError::Transport { message, .. } => {
            SetupError::GitHub(format!("cannot reach {api}: {message}"))
        }
        GhError::Decode { message, .. } => {
            SetupError::GitHub(format!("unexpected conversion answer: {message}"))
        }
        other => SetupError::GitHub(format!("the conversion failed: {other}")),
    })
}

/// Writes the credentials where `Settings::load` will find them next time: whole (a crash
/// never leaves a half-written file) and private (mode 0600).
pub fn write_credentials(path: &std::path::Path, creds: &StoredCredentials) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(creds).context("encoding the credentials")?;
    private_file::write(path, &json, IfExists::Replace)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::state::SetupGate;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn host(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn only_the_public_host_or_a_loopback_name_is_answered() {
        let public = url::Url::parse("https://Folio.Example.com/folio").unwrap();
        for ok in [
            "folio.example.com",
            "FOLIO.example.com:443",
            "folio.example.com.",
            "localhost",
            "localhost:3000",
            "127.0.0.1:3000",
            "[::1]",
            "[::1]:3000",
        ] {
            assert!(check_host(&public, &host(ok)).is_ok(), "{ok}");
        }
        for rebound in [
            "attacker.example",
            "folio.example.com.attacker.example",
            "127.0.0.2",
            "10.0.0.5:3000",
            "[::2]",
            "0.0.0.0",
        ] {
            assert!(
                matches!(
                    check_host(&public, &host(rebound)),
                    Err(SetupError::MisdirectedHost)
                ),
                "{rebound}"
            );
        }
        for broken in ["", "user@folio.example.com", "folio.example.com/x", "a b"] {
            assert!(
                matches!(check_host(&public, &host(broken)), Err(SetupError::NoHost)),
                "{broken:?}"
            );
        }
        assert!(matches!(
            check_host(&public, &HeaderMap::new()),
            Err(SetupError::NoHost)
        ));
        assert_eq!(
            SetupError::MisdirectedHost.status(),
            StatusCode::MISDIRECTED_REQUEST
        );
        // A public URL on an address works by that address.
        let by_ip = url::Url::parse("http://192.0.2.10:3000").unwrap();
        assert!(check_host(&by_ip, &host("192.0.2.10:3000")).is_ok());
        assert!(check_host(&by_ip, &host("192.0.2.11:3000")).is_err());
    }

    #[test]
    fn the_token_matches_exactly_and_not_once_closed() {
        let gate = SetupGate::new(Some(Secret::new(TOKEN)));
        assert!(gate.token_matches(TOKEN));
        for wrong in [
            "",
            "nope",
            &TOKEN[..31],
            &format!("{TOKEN}0"),
            &TOKEN.to_uppercase(),
        ] {
            assert!(!gate.token_matches(wrong), "{wrong:?}");
        }
        gate.close();
        assert!(!gate.token_matches(TOKEN));
        let none = SetupGate::new(None);
        assert!(!none.token_matches(""));
    }

    #[test]
    fn the_form_gives_token_and_organization() {
        let f = SetupForm::parse(b"token=a%2Bb+c&org=acme&extra=1");
        assert_eq!(f.token.as_deref(), Some("a+b c"));
        assert_eq!(f.org.as_deref(), Some("acme"));
        let empty = SetupForm::parse(b"");
        assert!(empty.token.is_none() && empty.org.is_none());
    }

    #[test]
    fn states_are_random_and_work_once() {
        let a = SetupGate::new(None);
        let b = SetupGate::new(None);
        let s1 = a.issue_state().unwrap();
        let s2 = a.issue_state().unwrap();
        assert_ne!(s1, s2);
        assert_eq!(s1.len(), 64);
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
        let gate = SetupGate::new(None);
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
